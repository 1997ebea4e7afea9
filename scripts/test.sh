#!/usr/bin/env bash
# The one test command on a fresh Debian/Ubuntu machine. Run it from the repository root; safe to re-run.
#   bash scripts/test.sh [pytest arguments...]
# 1. apt-get installs whatever is missing of Orthanc, its DICOMweb plugin, Redis and gcc (for the loopback
#    bind shim), with a temporary policy-rc.d so no system service starts; skipped when all are present.
# 2. Creates .venv and runs `pip install -e '.[test]'` (again only when pyproject.toml changed).
# 3. Runs pytest, passing "$@" through.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PACKAGES=(orthanc orthanc-dicomweb redis-server gcc libc6-dev chromium
  tesseract-ocr tesseract-ocr-eng tesseract-ocr-jpn fonts-dejavu-core fonts-ipafont-gothic)  # OCR and its corpus

# shellcheck source=scripts/setup.sh
source scripts/setup.sh

install_debian_packages "${PACKAGES[@]}"
install_python_environment
exec .venv/bin/python -m pytest -q "$@"

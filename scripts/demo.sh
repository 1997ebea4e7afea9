#!/usr/bin/env bash
# Run the demo (a local Orthanc with sample studies behind the gateway) on a fresh Debian/Ubuntu machine.
# Run it from the repository root; safe to re-run.   bash scripts/demo.sh [demo arguments...]
# Same setup as scripts/test.sh, without Redis: missing Debian packages (policy-rc.d keeps services from
# starting), .venv, `pip install -e '.[test]'` when pyproject.toml changed; plus the prebuilt OHIF viewer
# (npm ci in ohif/). Then the gateway's demo command, which serves the viewer too.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PACKAGES=(orthanc orthanc-dicomweb gcc libc6-dev tesseract-ocr tesseract-ocr-eng tesseract-ocr-jpn)  # OCR of burned-in text

# shellcheck source=scripts/setup.sh
source scripts/setup.sh

install_debian_packages "${PACKAGES[@]}"
install_python_environment
install_viewer
exec .venv/bin/dicomweb-gateway demo "$@"

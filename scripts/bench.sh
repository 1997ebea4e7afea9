#!/usr/bin/env bash
# The proxy benchmark on a fresh Debian/Ubuntu machine, with the same set-up as the tests plus nginx for the
# pass-through target. Run it from the repository root:
#   bash scripts/bench.sh [bench/bench_proxy.py arguments...]
# nginx is installed with a temporary policy-rc.d, so its system service never starts; the benchmark runs its
# own nginx on 127.0.0.1 with a configuration of its own.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PACKAGES=(orthanc orthanc-dicomweb redis-server gcc libc6-dev nginx-light)

# shellcheck source=scripts/setup.sh
source scripts/setup.sh

install_debian_packages "${PACKAGES[@]}"
install_python_environment
exec .venv/bin/python bench/bench_proxy.py "$@"

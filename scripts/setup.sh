# Shared set-up for scripts/test.sh and scripts/demo.sh (sourced, not run): the Debian packages that are
# missing (a temporary policy-rc.d keeps their services from starting), then .venv with the package installed
# (`pip install -e '.[test]'`, again only when pyproject.toml changed).

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

install_debian_packages() {
  local missing=() package
  for package in "$@"; do installed "$package" || missing+=("$package"); done
  if [ ! -x .venv/bin/python ] && ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    missing+=(python3 python3-venv)
  fi
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "$(basename "$0"): installing ${missing[*]}" >&2
  local policy=/usr/sbin/policy-rc.d created=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null && as_root chmod 755 "$policy"
    created=1
  fi
  local rc=0
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q \
    && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
    || rc=$?
  [ "$created" -eq 1 ] && as_root rm -f "$policy"
  return "$rc"
}

install_python_environment() {
  [ -x .venv/bin/python ] || python3 -m venv .venv
  local stamp=.venv/.dicomweb-gateway-test-deps wanted
  wanted="$(sha256sum pyproject.toml | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    .venv/bin/python -m pip install -q -e '.[test]'
    echo "$wanted" >"$stamp"
  fi
}

install_viewer() {
  # The prebuilt OHIF viewer (npm @ohif/app) that the demo serves in front of the gateway.
  [ -d ohif/node_modules/@ohif/app/dist ] && return 0
  command -v npm >/dev/null || install_debian_packages nodejs npm
  (cd ohif && npm ci --no-audit --no-fund --loglevel=error)
}

#!/usr/bin/env bash
# Install the Debian packages concwatch needs to build and test, if any is missing.
# Debian 12; run as root (or with sudo available).
set -euo pipefail

PACKAGES=(gcc make cmake pkg-config python3
          libunwind-dev uthash-dev libdw-dev libelf-dev libcmocka-dev libcapstone-dev
          jq valgrind)  # jq, valgrind: the benchmark scripts in tests/bench

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

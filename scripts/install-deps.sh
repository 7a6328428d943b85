#!/usr/bin/env bash
# Installs what sipcontract needs to build and test on Debian 12 (apt-get; root or sudo).
# Packages already installed are not touched, so a second run is quick and offline.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config ccache git
  nlohmann-json3-dev libvalijson-dev libcpp-httplib-dev catch2
  libcli11-dev libre2-dev libpugixml-dev libsimdjson-dev liburiparser-dev libmimalloc-dev
  curl
)
if [ "${1:-}" = "--test" ]; then
  # what the test suite adds: sanitizer runtimes and libFuzzer (clang), load and benchmark tools,
  # python3 for the independent stand-in server of tests/standin
  packages+=(clang libclang-rt-14-dev wrk python3)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo (missing: ${missing[*]})" >&2; exit 2; }
  sudo=sudo
fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

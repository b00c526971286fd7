#!/usr/bin/env bash
# Installs the Debian packages qkern's build, tests, benches and CI need, when missing.
# Idempotent: a second run installs nothing. Run as root (or with sudo available).
#   scripts/setup.sh            the host build: compilers, test and bench libraries
#   scripts/setup.sh --ci       also the cross and firmware toolchains and qemu
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config python3
  doctest-dev librapidcheck-dev libgemmlowp-dev nlohmann-json3-dev
  libxsimd-dev xtl-dev libbenchmark-dev
  libxnnpack-dev libpthreadpool-dev
)
if [[ "${1:-}" == "--ci" ]]; then
  packages+=(
    g++-aarch64-linux-gnu qemu-user
    gcc-arm-none-eabi libstdc++-arm-none-eabi-picolibc picolibc-arm-none-eabi qemu-system-arm
  )
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q -o DPkg::Lock::Timeout=900
$SUDO apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=900 "${missing[@]}"

#!/usr/bin/env bash
# Firmware check: builds tests/firmware/core_firmware_test.cpp for a Cortex-M4 (picolibc,
# semihosting) with QKERN_SIMD=0, runs it under qemu-system-arm and exits with its status.
# Usage: scripts/firmware_test.sh [build folder, default build/firmware]
set -euo pipefail
out_dir="${1:-}"
if [[ -n "$out_dir" ]]; then out_dir="$(mkdir -p "$out_dir" && cd "$out_dir" && pwd)"; fi
cd "$(dirname "$0")/.."
out_dir="${out_dir:-build/firmware}"
mkdir -p "$out_dir"

run() {
  echo "+ $*"
  "$@"
}

CXX=arm-none-eabi-g++
CPU=(-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16)
CXXFLAGS=(-std=c++17 -Os -fno-exceptions -fno-rtti -fno-threadsafe-statics -fno-use-cxa-atexit
  -Wall -Wextra -Werror -DQKERN_SIMD=0 -I include -isystem /usr/include/gemmlowp)
LIBC=(--specs=picolibcpp.specs --oslib=semihost --crt0=hosted
  -Wl,--defsym=__flash=0x00000000 -Wl,--defsym=__flash_size=0x80000
  -Wl,--defsym=__ram=0x20000000 -Wl,--defsym=__ram_size=0x80000)

# With QKERN_SIMD=0 the umbrella header must not pull in any xsimd (or qkern/simd) header.
deps="$out_dir/qkern_umbrella.d"
echo '#include <qkern/qkern.hpp>' | run "$CXX" "${CPU[@]}" "${CXXFLAGS[@]}" --specs=picolibcpp.specs \
  -x c++ -M -MF "$deps" -
if grep -E 'xsimd|qkern/simd/' "$deps"; then
  echo "FAIL: qkern/qkern.hpp with QKERN_SIMD=0 includes the headers above" >&2
  exit 1
fi
echo "OK: qkern/qkern.hpp with QKERN_SIMD=0 includes no xsimd header"

elf="$out_dir/core_firmware_test.elf"
run "$CXX" "${CPU[@]}" "${CXXFLAGS[@]}" "${LIBC[@]}" tests/firmware/core_firmware_test.cpp -o "$elf"
run arm-none-eabi-size "$elf"

status=0
run timeout 120 qemu-system-arm -M mps2-an386 -cpu cortex-m4 -nographic -monitor none -serial none \
  -semihosting-config enable=on,target=native -kernel "$elf" || status=$?
echo "firmware test exit status: $status"
exit "$status"

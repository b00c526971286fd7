#!/usr/bin/env bash
# Cross-builds qkern's tests for aarch64 (NEON) and runs them under qemu-aarch64 via ctest.
# Only the doctest-only programs build there (rapidcheck is an x86_64 library): the seeded simd
# tests, which check every NEON primitive against the scalar core, and the seeded kernel tests.
# The tools (host programs whose tests start them through shell scripts, not the emulator)
# are left out.
#   scripts/cross_test.sh                 configure, build, run everything
#   scripts/cross_test.sh -R multiply     extra arguments go to ctest
# QKERN_CROSS_BUILD_DIR overrides the build folder (default build/aarch64).
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in aarch64-linux-gnu-g++ qemu-aarch64 cmake ninja; do
  if ! command -v "$tool" >/dev/null; then
    echo "cross_test: $tool not found (scripts/setup.sh --ci installs the cross toolchain and qemu)" >&2
    exit 1
  fi
done

build_dir="${QKERN_CROSS_BUILD_DIR:-build/aarch64}"
cmake -S . -B "$build_dir" -G Ninja \
  -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake \
  -DCMAKE_BUILD_TYPE=Release -DQKERN_WERROR=ON \
  -DQKERN_BUILD_BENCH=OFF -DQKERN_BUILD_EXAMPLES=OFF -DQKERN_BUILD_TOOLS=OFF >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" "$@"

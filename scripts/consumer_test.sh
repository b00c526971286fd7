#!/usr/bin/env bash
# Checks that a separate CMake project can use qkern: installed and found with
# find_package(qkern CONFIG), and included with add_subdirectory.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$root/build/consumer}"
rm -rf "$work"
mkdir -p "$work"

echo "consumer: installing qkern to $work/prefix"
cmake -S "$root" -B "$work/qkern" -G Ninja -DQKERN_BUILD_TESTS=OFF -DQKERN_BUILD_BENCH=OFF \
  -DQKERN_BUILD_EXAMPLES=OFF -DCMAKE_INSTALL_PREFIX="$work/prefix" >/dev/null
cmake --build "$work/qkern" >/dev/null
cmake --install "$work/qkern" >/dev/null

echo "consumer: find_package(qkern CONFIG) from the installed prefix"
cmake -S "$root/tests/consumer" -B "$work/installed" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/installed" >/dev/null
"$work/installed/consumer"

echo "consumer: add_subdirectory(qkern)"
cmake -S "$root/tests/consumer" -B "$work/subdirectory" -G Ninja -DQKERN_SOURCE_DIR="$root" >/dev/null
cmake --build "$work/subdirectory" >/dev/null
"$work/subdirectory/consumer"

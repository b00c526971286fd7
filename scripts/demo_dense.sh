#!/usr/bin/env bash
# The Dense-layer demo: installs what it needs, builds and runs qkern_demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release --target qkern_demo -j "$(nproc)" >/dev/null
./build/release/examples/qkern_demo

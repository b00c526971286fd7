#!/usr/bin/env bash
# The test suite: installs what it needs, builds (Release, -Werror) and runs every test,
# including the golden runner over ../shared/golden (or $QKERN_GOLDEN_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
ctest --preset release -j "$(nproc)"

#!/usr/bin/env bash
# The demo: installs what it needs, builds qkern_run (only that, in build/demo) and runs
# TFLite Micro's person detection model through qkern on its two test images. For each image it
# prints the per-layer table (every layer compared bit for bit with TFLite Micro's own tensors)
# and the final scores. Models come from ../shared/models (or $QKERN_MODELS_DIR).
# Exits non-zero if the build fails or any layer of either image differs from TFLite Micro.
set -euo pipefail
cd "$(dirname "$0")/.."

models="${QKERN_MODELS_DIR:-../shared/models}"
model="$models/person_detect/person_detect.tflite"
if [ ! -f "$model" ]; then
  echo "demo.sh: $model not found (set QKERN_MODELS_DIR to the folder of the shared models)" >&2
  exit 1
fi

bash scripts/setup.sh
build=build/demo
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DQKERN_BUILD_TESTS=OFF -DQKERN_BUILD_BENCH=OFF -DQKERN_BUILD_EXAMPLES=OFF -DQKERN_BUILD_TOOLS=ON >/dev/null
cmake --build "$build" --target qkern_run -j "${QKERN_JOBS:-$(nproc)}" >/dev/null

status=0
for image in person no_person; do
  echo "=== person_detect on testdata/$image.bmp"
  "$build/tools/qkern_run/qkern_run" "$model" \
    --input "$models/person_detect/testdata/$image.bmp" \
    --golden "$models/person_detect/golden/$image" \
    --labels "no person,person" || status=$?
  echo
done
if [ "$status" -eq 0 ]; then
  echo "demo.sh: both images, every layer bit-exact with TFLite Micro"
else
  echo "demo.sh: FAILED (qkern_run exit status $status)" >&2
fi
exit "$status"

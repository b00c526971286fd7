#!/usr/bin/env bash
# Fuzzes qkern_run's .tflite reader (and the prepare/inspect/eval steps a file controls) with
# libFuzzer under ASan and UBSan.
#
#   scripts/fuzz_reader.sh [SECONDS] [extra libFuzzer flags...]
#
# Builds tools/qkern_run/fuzz_tflite_reader.cpp with clang++ -fsanitize=fuzzer,address,undefined
# into build/fuzz/, seeds the corpus with the shared models (../shared/models, or
# $QKERN_MODELS_DIR), and runs for SECONDS (default 180). The corpus grows in
# build/fuzz/corpus; a crash is saved as build/fuzz/crash-* and the script exits non-zero.
# Replay one without libFuzzer: build/fuzz/fuzz_tflite_reader build/fuzz/crash-<hash>.
# QKERN_FUZZ_SIMD=0 builds qkern's scalar kernels only (the default, 1, is what qkern_run runs).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-180}"
shift || true
models="${QKERN_MODELS_DIR:-../shared/models}"
out=build/fuzz
mkdir -p "$out/corpus" "$out/seeds"

cxx="${CXX_FUZZ:-clang++}"
if ! command -v "$cxx" >/dev/null; then
  echo "fuzz_reader.sh: $cxx not found (install clang and libclang-rt-dev)" >&2
  exit 1
fi
# -O1 keeps the fuzzer fast; -fno-sanitize-recover makes any UBSan report a crash.
"$cxx" -std=c++17 -O1 -g -fno-omit-frame-pointer -DQKERN_SIMD="${QKERN_FUZZ_SIMD:-1}" \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -Wall -Wextra -Wshadow -Wconversion -Wno-sign-conversion \
  -Iinclude -Itools/qkern_run \
  tools/qkern_run/fuzz_tflite_reader.cpp -o "$out/fuzz_tflite_reader"

# Seeds: the small models whole (mobilenet_v2, 4 MB, would slow every mutation down).
for f in "$models"/hello_world_int8/*.tflite "$models"/micro_speech/*.tflite "$models"/person_detect/*.tflite; do
  [ -f "$f" ] && cp "$f" "$out/seeds/"
done
# Tokens the format is made of.
cat >"$out/tflite.dict" <<'EOF'
"TFL3"
"\x00\x00\x00\x00"
"\xff\xff\xff\xff"
"\xff\xff\xff\x7f"
"\x01\x00\x00\x00"
"\x04\x00"
"\x08\x00"
"\x09"
"\x00\x00\x80\x3f"
EOF

echo "fuzzing for ${seconds}s; corpus: $out/corpus, seeds: $out/seeds" >&2
"$out/fuzz_tflite_reader" "$out/corpus" "$out/seeds" \
  -dict="$out/tflite.dict" -max_total_time="$seconds" -max_len=400000 -timeout=20 -rss_limit_mb=2048 \
  -artifact_prefix="$out/" -print_final_stats=1 "$@"

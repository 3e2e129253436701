#!/usr/bin/env bash
# TF-Lite export benchmarks: the export's time in the web app (bench/tflite-export.mjs), then
# LiteRT's latency on an exported int8 MobileNetV2 classifier (trained and exported by the CLI
# on 4 × 30 sign-digit photos, the default head) against Google's int8 MobileNetV2 file
# (bench/tflite-latency.py). Arguments go to bench/tflite-export.mjs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
cargo build --release --bin magpie
CARGO_TARGET_DIR="$MAGPIE_WASM_TARGET_DIR" trunk build --release
node bench/tflite-export.mjs "$@"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
digits="$MAGPIE_ASSETS/datasets/sign-language-digits/Dataset"
for class in 0 1 2 3; do
  mkdir -p "$work/data/$class"
  find "$digits/$class" -type f | sort | head -30 | while read -r photo; do ln -s "$photo" "$work/data/$class/"; done
done
magpie="$CARGO_TARGET_DIR/release/magpie"
"$magpie" train --backbone mobilenet_v2 --data "$work/data" --out "$work/model.bpk" > /dev/null 2>&1
"$magpie" export --model "$work/model.bpk" --format tflite --precision int8 --calibration "$work/data" --out "$work/model.tflite"
echo
echo "LiteRT latency, one 224 px image: magpie's int8 export (MobileNetV2 and the default head) against Google's int8 MobileNetV2 (ImageNet head)"
"$MAGPIE_ONNX_PYTHON" bench/tflite-latency.py "$work/model.tflite" "$MAGPIE_ASSETS/models/tf2_mobilenet_v2_1.0_224_ptq.tflite"

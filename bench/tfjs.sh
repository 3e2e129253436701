#!/usr/bin/env bash
# Our pipeline vs TensorFlow.js, side by side in one headless Chromium (see bench/tfjs.mjs):
# builds the page and the native CLI (for the head-training embeddings), then prints the table
# and writes bench/results/tfjs.{json,md}. Arguments go to bench/tfjs.mjs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/weights.sh
source scripts/env.sh
cargo build --release --bin magpie
CARGO_TARGET_DIR="$MAGPIE_WASM_TARGET_DIR" trunk build --release
node bench/tfjs.mjs "$@"

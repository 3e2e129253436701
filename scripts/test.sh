#!/usr/bin/env bash
# Sets up everything, then runs every test: native (CPU and wgpu on Mesa lavapipe), the wasm
# build, and the browser tests (headless Chromium, WebGPU on SwiftShader and the CPU backend).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
echo "== native tests"
cargo test --release
echo "== web build"
CARGO_TARGET_DIR="$MAGPIE_WASM_TARGET_DIR" trunk build --release
echo "== browser tests"
node --test --test-concurrency=1 tests/browser/

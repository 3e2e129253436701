#!/usr/bin/env bash
# Sets up everything, then runs every test: native (CPU and wgpu on Mesa lavapipe), the wasm
# build, and the browser tests (headless Chromium, WebGPU on SwiftShader and the CPU backend).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
# The wasm build (its own target dir) runs beside the native tests: long single-crate compiles
# leave the second core idle otherwise.
mkdir -p "$MAGPIE_WASM_TARGET_DIR"
trunk_log="$MAGPIE_WASM_TARGET_DIR/trunk-build.log"
CARGO_TARGET_DIR="$MAGPIE_WASM_TARGET_DIR" trunk build --release > "$trunk_log" 2>&1 &
trunk_pid=$!
echo "== native tests"
cargo test --release
echo "== web build"
if ! wait "$trunk_pid"; then
  tail -n 60 "$trunk_log"
  echo "trunk build failed" >&2
  exit 1
fi
tail -n 3 "$trunk_log"
echo "== browser tests"
node --test --test-concurrency=1 tests/browser/

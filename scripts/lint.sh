#!/usr/bin/env bash
# The code checks CI runs before the tests: rustfmt, and clippy with every warning an error, for
# the native targets (library, CLI, tests) and for the browser's wasm library.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
echo "== cargo fmt --check"
cargo fmt --check
echo "== cargo clippy (native, all targets)"
cargo clippy --all-targets --quiet -- -D warnings
echo "== cargo clippy (wasm32 library)"
CARGO_TARGET_DIR="$MAGPIE_WASM_TARGET_DIR" cargo clippy --target wasm32-unknown-unknown --lib \
  --no-default-features --quiet -- -D warnings

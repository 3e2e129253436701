#!/usr/bin/env bash
# Sets up everything (tools, weights) and serves the app at http://127.0.0.1:8080.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
echo "serve: building the web app (trunk, a release wasm build: about 7 minutes the first time), then serving http://127.0.0.1:8080"
CARGO_TARGET_DIR="$MAGPIE_WASM_TARGET_DIR" exec trunk serve --release "$@"

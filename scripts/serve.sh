#!/usr/bin/env bash
# Sets up everything (tools, weights) and serves the app at http://127.0.0.1:8080, saying how long
# each phase took (setup's phases, then trunk's release build: bindgen and wasm-opt, as setup
# has compiled the wasm crate).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
bash scripts/setup.sh
source scripts/env.sh
echo "serve: set up in $((SECONDS - start)) s; building the web app (trunk --release: wasm-bindgen, then wasm-opt, about 6 minutes), then serving http://127.0.0.1:8080"
web_start=$SECONDS
CARGO_TARGET_DIR="$MAGPIE_WASM_TARGET_DIR" trunk serve --release "$@" 2>&1 | while IFS= read -r line; do
  printf '%s\n' "$line"
  case "$line" in
    *"serving static assets"*) echo "serve: web build took $((SECONDS - web_start)) s; ready $((SECONDS - start)) s after the start" ;;
  esac
done

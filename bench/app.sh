#!/usr/bin/env bash
# Start-up benchmark of the web app for each backbone (see bench/app.mjs): builds the page,
# then prints cold and warm page-open → ready → first-prediction times and download sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
CARGO_TARGET_DIR="$MAGPIE_WASM_TARGET_DIR" trunk build --release
backbones=("$@")
[ ${#backbones[@]} -gt 0 ] || backbones=(mobilenet_v2 efficientnet_lite0 mobilenet_v1_025)
echo "| backbone | cold: model ready / first live prediction | warm: model ready / first live prediction | page download (all files) |"
echo "|---|---|---|---|"
for backbone in "${backbones[@]}"; do node bench/app.mjs "$backbone"; done

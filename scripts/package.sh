#!/usr/bin/env bash
# Builds the embeddable package: a self-contained folder (ES modules, wasm, weights, types,
# package.json) another site can host statically, plus an npm tarball of it.
#   bash scripts/package.sh [OUT]      (default: dist-package/; the tarball lands beside it)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-dist-package}"
if [ ! -s dist/magpie_bg.wasm ] || [ ! -s www/weights/index.json ]; then
  bash scripts/setup.sh
  source scripts/env.sh
  CARGO_TARGET_DIR="$MAGPIE_WASM_TARGET_DIR" trunk build --release
fi
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
rm -rf "$out"
mkdir -p "$out/www/widget" "$out/www/core" "$out/www/ui" "$out/www/engine" "$out/www/weights"
cp dist/magpie.js dist/magpie_bg.wasm dist/magpie.d.ts NOTICES.md "$out/"
cp www/widgets.js www/widgets.d.ts "$out/www/"
cp www/widget/*.js "$out/www/widget/"
cp www/core/*.js "$out/www/core/"
cp www/ui/*.js "$out/www/ui/"
cp www/engine/*.js www/engine/*.d.ts "$out/www/engine/"
cp www/weights/index.json www/weights/index.js "$out/www/weights/"
for file in $(node -e 'for (const w of require("./www/weights/index.json")) console.log(w.file)'); do
  cp "www/weights/$file" "$out/www/weights/"
done
cat > "$out/package.json" <<JSON
{
  "name": "magpie-classifier",
  "version": "$version",
  "description": "Few-shot image classification in the browser: <magpie-classifier> and <magpie-trainer> widgets and the magpie JS API (Burn on WebGPU or CPU, in WebAssembly).",
  "license": "MIT OR Apache-2.0",
  "type": "module",
  "main": "./www/widgets.js",
  "module": "./www/widgets.js",
  "types": "./www/widgets.d.ts",
  "typesVersions": { "*": { "api": ["./www/engine/client.d.ts"] } },
  "exports": {
    ".": { "types": "./www/widgets.d.ts", "default": "./www/widgets.js" },
    "./api": { "types": "./www/engine/client.d.ts", "default": "./www/engine/client.js" },
    "./package.json": "./package.json"
  },
  "files": ["magpie.js", "magpie_bg.wasm", "magpie.d.ts", "NOTICES.md", "www/"],
  "sideEffects": ["./www/widgets.js", "./www/widget/*.js", "./www/engine/worker.js"]
}
JSON
(cd "$out" && npm pack --silent --pack-destination .. >/dev/null)
echo "package: $out ($(du -sh "$out" | cut -f1)); tarball: $(ls -1 "$(dirname "$out")"/magpie-classifier-*.tgz | tail -n1)"
# What a page downloads: the modules and the wasm always, one backbone's weights when used.
size() { printf '%s (%s gzipped)' "$(numfmt --to=iec --suffix=B "$(cat "$@" | wc -c)")" "$(numfmt --to=iec --suffix=B "$(cat "$@" | gzip -9 | wc -c)")"; }
echo "download: modules $(size "$out"/magpie.js "$out"/www/widgets.js "$out"/www/widget/*.js "$out"/www/engine/*.js), wasm $(size "$out/magpie_bg.wasm")"
for weights in "$out"/www/weights/*.bpk; do echo "  + $(basename "$weights") $(size "$weights")"; done

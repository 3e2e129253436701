#!/usr/bin/env bash
# Installs every tool the project needs, idempotently: Debian packages (Chromium, Mesa's Vulkan driver),
# the wasm target, trunk, wasm-bindgen-cli at the Cargo.lock version, and the npm packages
# (playwright-core, binaryen's wasm-opt), onnxruntime for the ONNX export's tests. Then fetches and converts the model weights.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
source scripts/env.sh

need_apt=()
for pkg in chromium mesa-vulkan-drivers libvulkan1 python3-pip python3-venv; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if ((${#need_apt[@]})); then
  echo "setup: apt-get install ${need_apt[*]}"
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q "${need_apt[@]}"
fi

rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

bindgen_version="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/[^0-9.]/,""); print}' Cargo.lock)"
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$bindgen_version" ]; then
  echo "setup: cargo install wasm-bindgen-cli $bindgen_version"
  # Not --locked: the registry mirror lacks a crate that wasm-bindgen-cli's own lock file pins.
  cargo install wasm-bindgen-cli --version "$bindgen_version" --force
fi

if ! trunk --version 2>/dev/null | grep -q '^trunk 0\.21\.'; then
  echo "setup: cargo install trunk 0.21"
  cargo install trunk --version "~0.21" --locked --force
fi

if [ ! -x node_modules/.bin/wasm-opt ] || [ ! -x node_modules/.bin/tsc ] || [ ! -d node_modules/playwright-core ] \
   || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
fi

# onnxruntime runs the ONNX export in the tests (tests/onnx/run.py), in a venv outside the clone.
onnx_venv="$(dirname "$MAGPIE_ONNX_PYTHON")/.."
if ! "$MAGPIE_ONNX_PYTHON" -c "import onnxruntime; assert onnxruntime.__version__ == '1.32.0'" 2>/dev/null; then
  echo "setup: pip install onnxruntime 1.32.0 (into $onnx_venv)"
  python3 -m venv "$onnx_venv"
  "$onnx_venv/bin/pip" install -q onnxruntime==1.32.0 numpy==2.4.6
fi

# trunk runs cargo offline (Trunk.toml): fetch every crate, the wasm-only ones included.
echo "setup: cargo fetch (every crate, for offline builds)"
cargo fetch --quiet

echo "setup: model weights"
bash scripts/weights.sh
echo "setup: done"

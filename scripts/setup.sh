#!/usr/bin/env bash
# Installs every tool the project needs, idempotently: Debian packages (Chromium, Mesa's Vulkan driver),
# the wasm target, trunk, wasm-bindgen-cli at the Cargo.lock version, and the npm packages
# (playwright-core, binaryen's wasm-opt), onnxruntime and LiteRT (ai-edge-litert) for the ONNX and TF-Lite exports' tests. Then fetches and converts the model weights.
# The wasm crate, the longest build and one that leaves a core idle for minutes (fat LTO), compiles
# in the background from the start; trunk then finds it built. Each phase says how long it took.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
source scripts/env.sh

setup_start=$SECONDS
phase_start=$SECONDS
# Prints how long the phase that just ended took.
took() {
  echo "setup: $1 took $((SECONDS - phase_start)) s"
  phase_start=$SECONDS
}

rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
# trunk's own cargo command (release profile "web", no default features, see index.html) with the
# same target dir, so trunk's build finds every artifact fresh.
mkdir -p "$MAGPIE_WASM_TARGET_DIR"
wasm_log="$MAGPIE_WASM_TARGET_DIR/setup-cargo.log"
CARGO_TARGET_DIR="$MAGPIE_WASM_TARGET_DIR" cargo build --target=wasm32-unknown-unknown --manifest-path Cargo.toml \
  --profile web --no-default-features > "$wasm_log" 2>&1 &
wasm_pid=$!
trap 'kill "$wasm_pid" 2>/dev/null || true' EXIT
echo "setup: building the wasm crate in the background (log: $wasm_log)"

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
took "Debian packages"

bindgen_version="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/[^0-9.]/,""); print}' Cargo.lock)"
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$bindgen_version" ]; then
  echo "setup: cargo install wasm-bindgen-cli $bindgen_version"
  # Not --locked: the registry mirror lacks a crate that wasm-bindgen-cli's own lock file pins.
  cargo install wasm-bindgen-cli --version "$bindgen_version" --force
fi

if ! trunk --version 2>/dev/null | grep -q '^trunk 0\.21\.'; then
  echo "setup: cargo install trunk 0.21"
  # No default features: no TLS stack and no update check (trunk runs offline here, Trunk.toml).
  cargo install trunk --version "~0.21" --locked --force --no-default-features
fi
took "wasm-bindgen and trunk"

if [ ! -x node_modules/.bin/wasm-opt ] || [ ! -x node_modules/.bin/tsc ] || [ ! -d node_modules/playwright-core ] \
   || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
fi

# The bundler consumer apps of the package's tests (tests/bundlers/*: Vite, webpack), each with
# its own lock file (the tests install the freshly packed tarball into them), and Teachable
# Machine's library as its users load it (tests/teachable-machine/).
for app in tests/bundlers/*/ tests/teachable-machine/; do
  if [ ! -d "$app/node_modules" ] || [ "$app/package-lock.json" -nt "$app/node_modules/.package-lock.json" ]; then
    echo "setup: npm ci in $app"
    (cd "$app" && npm ci --no-audit --no-fund)
  fi
done

# onnxruntime and LiteRT run the ONNX and TF-Lite exports in the tests (tests/onnx/run.py,
# tests/tflite/run.py), in a venv outside the clone.
onnx_venv="$(dirname "$MAGPIE_ONNX_PYTHON")/.."
if ! "$MAGPIE_ONNX_PYTHON" -c "import onnxruntime; assert onnxruntime.__version__ == '1.32.0'" 2>/dev/null; then
  echo "setup: pip install onnxruntime 1.32.0 (into $onnx_venv)"
  python3 -m venv "$onnx_venv"
  "$onnx_venv/bin/pip" install -q onnxruntime==1.32.0 numpy==2.4.6
fi
if ! "$MAGPIE_ONNX_PYTHON" -c "import importlib.metadata as m; assert m.version('ai-edge-litert') == '2.3.0'" 2>/dev/null; then
  echo "setup: pip install ai-edge-litert 2.3.0 (into $onnx_venv)"
  "$onnx_venv/bin/pip" install -q ai-edge-litert==2.3.0 numpy==2.4.6
fi
took "npm and Python packages"

# trunk runs cargo offline (Trunk.toml): fetch every crate, the wasm-only ones included.
echo "setup: cargo fetch (every crate, for offline builds)"
cargo fetch --quiet

took "cargo fetch"
echo "setup: model weights"
bash scripts/weights.sh
took "model weights (the native CLI build and the conversion)"
if ! wait "$wasm_pid"; then
  tail -n 40 "$wasm_log"
  echo "setup: the wasm build failed (log: $wasm_log)" >&2
  exit 1
fi
trap - EXIT
took "waiting for the wasm crate"
echo "setup: done in $((SECONDS - setup_start)) s"

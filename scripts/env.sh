# Sourced by the project's scripts: build caches live outside the clone, project tools come first on PATH.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/magpie/target}"
export MAGPIE_ASSETS="${MAGPIE_ASSETS:-$HOME/.cache/magpie/assets}"
export PATH="$root/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# The wasm build gets its own target dir, so it can build while a native build holds the other.
export MAGPIE_WASM_TARGET_DIR="${MAGPIE_WASM_TARGET_DIR:-$HOME/.cache/magpie/target-wasm}"
# Python with onnxruntime and LiteRT (scripts/setup.sh), for the tests of the ONNX and TF-Lite exports.
export MAGPIE_ONNX_PYTHON="${MAGPIE_ONNX_PYTHON:-$HOME/.cache/magpie/onnx-venv/bin/python}"

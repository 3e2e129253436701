# Sourced by the project's scripts: build caches live outside the clone, project tools come first on PATH.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/magpie/target}"
export MAGPIE_ASSETS="${MAGPIE_ASSETS:-$HOME/.cache/magpie/assets}"
export PATH="$root/node_modules/.bin:$HOME/.cargo/bin:$PATH"

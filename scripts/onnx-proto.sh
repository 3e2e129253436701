#!/usr/bin/env bash
# Regenerates third_party/onnx/onnx.rs (committed) from the vendored onnx.proto with prost-build, at
# the version of the `prost` crate in Cargo.toml (generated code and crate go together). protoc is
# Debian's protobuf-compiler; prost-build runs from a throwaway crate outside the clone.
# Not run by setup or CI: only when onnx.proto or the prost version changes.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if ! command -v protoc >/dev/null; then
  echo "onnx-proto: apt-get install protobuf-compiler"
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q protobuf-compiler
fi
prost="$(awk '/^name = "prost"$/{getline; gsub(/[^0-9.]/,""); print}' "$root/Cargo.lock")"
work="$HOME/.cache/magpie/onnx-proto-gen"
mkdir -p "$work/src"
cat >"$work/Cargo.toml" <<TOML
[package]
name = "onnx-proto-gen"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
prost-build = "=$prost"
TOML
cat >"$work/src/main.rs" <<'RS'
fn main() {
    let mut args = std::env::args().skip(1);
    let (proto, out) = (args.next().unwrap(), args.next().unwrap());
    let dir = std::path::Path::new(&proto).parent().unwrap().to_path_buf();
    prost_build::Config::new()
        .out_dir(out)
        .compile_protos(&[&proto], &[dir])
        .expect("onnx.proto compiles");
}
RS
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
echo "onnx-proto: prost-build $prost"
cargo run -q --release --manifest-path "$work/Cargo.toml" -- "$root/third_party/onnx/onnx.proto" "$out"
mv "$out/onnx.rs" "$root/third_party/onnx/onnx.rs"
echo "onnx-proto: wrote third_party/onnx/onnx.rs"

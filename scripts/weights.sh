#!/usr/bin/env bash
# Fetches the upstream artifacts (sha256-checked) and converts each backbone into the Burn
# records the app serves: www/weights/<backbone>.bpk (f32) and <backbone>.f16.bpk. Idempotent.
# VGG16 only when $MAGPIE_ASSETS/models/vgg16-397923af.pth is there (the user downloads it).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
python3 scripts/fetch_assets.py
cargo build --release --quiet --bin magpie
mkdir -p www/weights
magpie="$CARGO_TARGET_DIR/release/magpie"
backbones="mobilenet_v2 efficientnet_lite0 mobilenet_v1_025"
# VGG16 is opt-in: converted only when the user has put torchvision's checkpoint in place (README).
if [ -e "$MAGPIE_ASSETS/models/vgg16-397923af.pth" ]; then backbones="$backbones vgg16"; fi
for backbone in $backbones; do
  for precision in f32 f16; do
    if [ "$precision" = f16 ]; then out="www/weights/$backbone.f16.bpk"; flag=--f16; else out="www/weights/$backbone.bpk"; flag=; fi
    # Reconvert when the converter or the upstream files are newer than the record.
    if [ ! -s "$out" ] || [ "$magpie" -nt "$out" ]; then
      "$magpie" convert --backbone "$backbone" $flag --out "$out"
    fi
  done
done
# The backbone picker's list: every served record with its download size.
python3 - <<'PY'
import json, os
weights = "www/weights"
records = sorted(f for f in os.listdir(weights) if f.endswith(".f16.bpk"))
index = [{"id": f[: -len(".f16.bpk")], "bytes": os.path.getsize(os.path.join(weights, f))} for f in records]
with open(os.path.join(weights, "index.json"), "w") as out:
    json.dump(index, out, indent=1)
PY

#!/usr/bin/env bash
# Fetches the upstream artifacts (sha256-checked) and converts each backbone into the Burn
# records: www/weights/<backbone>.bpk (f32, for the CLI and tests) and the record the app serves
# (<backbone>.int8.bpk, or .f16.bpk for MobileNetV1 0.25), listed in www/weights/index.json. Idempotent.
# VGG16 only when $MAGPIE_ASSETS/models/vgg16-397923af.pth is there (the user downloads it).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
echo "weights: fetching the upstream model files"
python3 scripts/fetch_assets.py
echo "weights: building the magpie CLI that converts them (cargo build --release; about 10 minutes the first time)"
cargo build --release --bin magpie
mkdir -p www/weights
magpie="$CARGO_TARGET_DIR/release/magpie"
backbones="mobilenet_v2 efficientnet_lite0 mobilenet_v1_025"
# VGG16 is opt-in: converted only when the user has put torchvision's checkpoint in place (README).
if [ -e "$MAGPIE_ASSETS/models/vgg16-397923af.pth" ]; then backbones="$backbones vgg16"; fi
served=()
for backbone in $backbones; do
  # f32 for the CLI and the tests; the served record (int8, or f16 for MobileNetV1 0.25) for the app.
  for kind in f32 served; do
    if [ "$kind" = served ]; then out="www/weights/$("$magpie" served-name --backbone "$backbone")"; flag=--served; served+=("$out")
    else out="www/weights/$backbone.bpk"; flag=; fi
    # Reconvert when the converter or the upstream files are newer than the record.
    if [ ! -s "$out" ] || [ "$magpie" -nt "$out" ]; then
      echo "weights: converting $backbone into $out"
      "$magpie" convert --backbone "$backbone" $flag --out "$out"
    fi
  done
done
# The backbone picker's list (index.json: every served record, its file and download size), and
# the engine's map of them (index.js: each URL a literal `new URL("./file", import.meta.url)`,
# the form bundlers follow to emit the records with an app).
python3 - "${served[@]}" <<'PY'
import json, os, sys
index = [{"id": os.path.basename(f).split(".")[0], "file": os.path.basename(f), "bytes": os.path.getsize(f)} for f in sys.argv[1:]]
with open("www/weights/index.json", "w") as out:
    json.dump(index, out, indent=1)
with open("www/weights/index.js", "w") as out:
    out.write("// Written by scripts/weights.sh: the URL of each served weight record, by backbone id.\nexport default {\n")
    for record in index:
        out.write(f'  {json.dumps(record["id"])}: new URL({json.dumps("./" + record["file"])}, import.meta.url).href,\n')
    out.write("};\n")
PY

#!/usr/bin/env bash
# Regenerates tests/fixtures/efficientnet_lite0_reference.json from EfficientNet-Lite0's upstream
# model code (PyPI efficientnet-lite-pytorch 0.1.0) in a venv outside the clone. A one-off: the
# fixture is committed, and neither the tests nor CI run this.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
source "$root/scripts/env.sh"
venv="$HOME/.cache/magpie/ref-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
echo "reference: pip install torch, efficientnet-lite-pytorch (into $venv)"
"$venv/bin/pip" install -q torch efficientnet-lite-pytorch==0.1.0 numpy pillow
"$venv/bin/python" "$root/scripts/reference/efficientnet_lite0.py" "$MAGPIE_ASSETS" \
  "$root/tests/fixtures/efficientnet_lite0_reference.json"

#!/usr/bin/env bash
# Native wgpu (Vulkan) against native flex (CPU) on one machine, for a lent GPU machine (the
# `device` tool) and prepared here on the CPU (wgpu then runs on Mesa's lavapipe). A benchmark,
# not a test. Interleaved rounds (cpu, wgpu, cpu, wgpu…), each a fresh process:
#   - MobileNetV2 and EfficientNet-Lite0 features at batch 1 and 32: first call, warm call
#     (examples/backbone_timing.rs);
#   - the default head trained on 10 classes x 100 samples of Sign Language Digits, each with its
#     frame and default views (`magpie fewshot --shots 100`: embedding, then the head's train_ms);
#   - a few-shot run end to end (`magpie fewshot`, 10-shot, 1 seed), its wall time;
# then the median of rounds and the spread per figure, wgpu/cpu ratios, and how far the wgpu
# features are from the CPU's (max relative difference, bound 1e-3) on the shared photos.
#   bash bench/gpu.sh                 build here (release CLI and example), then run
#   bash bench/gpu.sh --prepared DIR  run with what DIR holds (bin/, weights/, data/, images/),
#                                     as `bash bench/gpu.sh --pack DIR` left it for the device
#   ROUNDS=3, SHOTS="100 10" (the fewshot runs) by default
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${ROUNDS:-3}"
shot_runs="${SHOTS:-100 10}"
mode="${1:-}"
if [ "$mode" = "--prepared" ]; then
  pack="$2"
else
  source scripts/env.sh
  python3 scripts/fetch_assets.py
  cargo build --release --bin magpie --example backbone_timing
  pack="${2:-bench/out/gpu-pack}"
  rm -rf "$pack"
  mkdir -p "$pack/bin" "$pack/weights" "$pack/data" "$pack/images"
  cp "$CARGO_TARGET_DIR/release/magpie" "$CARGO_TARGET_DIR/release/examples/backbone_timing" "$pack/bin/"
  cp www/weights/mobilenet_v2.bpk www/weights/efficientnet_lite0.bpk "$pack/weights/"
  cp -r "$MAGPIE_ASSETS/datasets/sign-language-digits/Dataset/." "$pack/data/"
  for photo in chelsea.png coffee.png bird.bmp hot_dog.jpg; do cp "$MAGPIE_ASSETS/images/$photo" "$pack/images/"; done
  echo "gpu: packed $pack ($(du -sh "$pack" | cut -f1))"
  [ "$mode" = "--pack" ] && exit 0
fi
pack="$(cd "$pack" && pwd)"
out="$(mktemp -d)"
export MAGPIE_WEIGHTS="$pack/weights"
echo "gpu: $(uname -m), $(nproc) cores"; if command -v nvidia-smi >/dev/null; then nvidia-smi -L; fi
for round in $(seq "$rounds"); do
  for backend in cpu wgpu; do
    echo "gpu: round $round, $backend"
    "$pack/bin/backbone_timing" "$backend" "$out/features-$backend.json" "$pack"/images/* \
      | sed "s/^{/{\"round\":$round,/" >> "$out/backbones.jsonl"
    # A fresh fewshot cache each run (it keeps embeddings under CARGO_TARGET_DIR otherwise).
    for shots in $shot_runs; do
      cache="$(mktemp -d)"
      start=$EPOCHREALTIME
      CARGO_TARGET_DIR="$cache" "$pack/bin/magpie" fewshot --data "$pack/data" --backend "$backend" \
        --shots "$shots" --seeds 1 > "$out/fewshot-$shots-$backend-$round.txt" 2> "$out/fewshot-$shots-$backend-$round.err"
      wall=$(python3 -c "print(round($EPOCHREALTIME - $start, 3))")
      echo "{\"round\":$round,\"backend\":\"$backend\",\"shots\":$shots,\"wall_s\":$wall}" >> "$out/fewshot.jsonl"
      rm -rf "$cache"
    done
  done
done
python3 - "$out" <<'PY'
import json, re, statistics, sys
from pathlib import Path
out = Path(sys.argv[1])
rows = {}
def add(backend, name, value):
    rows.setdefault(name, {}).setdefault(backend, []).append(value)
for line in (out / "backbones.jsonl").read_text().splitlines():
    r = json.loads(line)
    for key in ("load_ms", "b1_first_ms", "b1_warm_ms", "b32_first_ms", "b32_warm_ms"):
        add(r["backend"], f'{r["backbone"]} {key}', r[key])
for line in (out / "fewshot.jsonl").read_text().splitlines():
    r = json.loads(line)
    name = f'fewshot {r["shots"]}-shot'
    add(r["backend"], f"{name} wall s", r["wall_s"])
    err = (out / f'fewshot-{r["shots"]}-{r["backend"]}-{r["round"]}.err').read_text()
    m = re.search(r"embedded (\d+) views in ([\d.]+) s", err)
    if m:
        add(r["backend"], f"{name} embedding s ({m.group(1)} rows)", float(m.group(2)))
    txt = (out / f'fewshot-{r["shots"]}-{r["backend"]}-{r["round"]}.txt').read_text()
    m = re.search(r"^0\t([\d.]+)\t(\d+)$", txt, re.M)
    if m:
        add(r["backend"], f"{name} head train ms", float(m.group(2)))
        add(r["backend"], f"{name} accuracy", float(m.group(1)))
def cell(values):
    if not values:
        return "—"
    return f"{statistics.median(values):.4g} ({min(values):.4g}–{max(values):.4g})"
print("\n| figure | cpu (flex): median (range) | wgpu: median (range) | wgpu / cpu |")
print("|---|---|---|---|")
for name, by in rows.items():
    cpu, gpu = by.get("cpu", []), by.get("wgpu", [])
    ratio = f"{statistics.median(gpu) / statistics.median(cpu):.3g}x" if cpu and gpu and statistics.median(cpu) else "—"
    print(f"| {name} | {cell(cpu)} | {cell(gpu)} | {ratio} |")
cpu = json.loads((out / "features-cpu.json").read_text())
gpu = json.loads((out / "features-wgpu.json").read_text())
print("\nfeatures, wgpu against cpu (max |a-b| / max |a| per photo, worst photo; bound 1e-3):")
worst_all = 0.0
for backbone, photos in cpu.items():
    worst = max(max(abs(a - b) for a, b in zip(p, q)) / max(max(abs(a) for a in p), 1e-12)
                for p, q in zip(photos, gpu[backbone]))
    worst_all = max(worst_all, worst)
    print(f"  {backbone}: {worst:.2e}")
print("agreement:", "ok" if worst_all <= 1e-3 else "OVER 1e-3")
PY

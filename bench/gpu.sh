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
#   bash bench/gpu.sh                   build here (release CLI and example), pack, then run
#   bash bench/gpu.sh --pack             only pack: bench/out/gpu-pack.tar.xz (stripped binaries,
#                                        the served weights, 120 photos a class, 4 photos; about
#                                        40 MB, under the device's 64 MiB carry)
#   bash bench/gpu.sh --prepared FILE    run from such a pack (on the device: no build there).
#     The device call: carry [".gl", "bench/out/gpu-pack.tar.xz"] (.gl: the Vulkan loader debs, as
#     the device tool's README shows), command `for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig;
#     bash bench/gpu.sh --prepared bench/out/gpu-pack.tar.xz`, timeout 480 s.
#   ROUNDS=3, SHOTS="100 10" (the fewshot runs) by default
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${ROUNDS:-3}"
shot_runs="${SHOTS:-100 10}"
mode="${1:-}"
if [ "$mode" = "--prepared" ]; then
  tarball="$2"
else
  source scripts/env.sh
  python3 scripts/fetch_assets.py
  cargo build --release --bin magpie --example backbone_timing
  staging="$(mktemp -d)"
  mkdir -p "$staging/bin" "$staging/weights" "$staging/data" "$staging/images"
  cp "$CARGO_TARGET_DIR/release/magpie" "$CARGO_TARGET_DIR/release/examples/backbone_timing" "$staging/bin/"
  strip "$staging"/bin/*
  # The records the app serves (int8, dequantized on load), as the app's figures are for them.
  for backbone in mobilenet_v2 efficientnet_lite0; do cp "www/weights/$backbone.int8.bpk" "$staging/weights/"; done
  digits="$MAGPIE_ASSETS/datasets/sign-language-digits/Dataset"
  for class in "$digits"/*/; do
    name="$(basename "$class")"
    mkdir -p "$staging/data/$name"
    find "$class" -maxdepth 1 -type f | sort | sed -n '1,120p' | xargs -I{} cp {} "$staging/data/$name/"
  done
  for photo in chelsea.png coffee.png bird.bmp hot_dog.jpg; do cp "$MAGPIE_ASSETS/images/$photo" "$staging/images/"; done
  mkdir -p bench/out
  tarball="bench/out/gpu-pack.tar.xz"
  tar -C "$staging" -cJf "$tarball" .
  rm -rf "$staging"
  echo "gpu: packed $tarball ($(du -h "$tarball" | cut -f1))"
  [ "$mode" = "--pack" ] && exit 0
fi
pack="$(mktemp -d)"
tar -C "$pack" -xJf "$tarball"
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
        --weights "$pack/weights/mobilenet_v2.int8.bpk" --shots "$shots" --seeds 1 --max-test 20 > "$out/fewshot-$shots-$backend-$round.txt" 2> "$out/fewshot-$shots-$backend-$round.err"
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
        if key in r:
            add(r["backend"], f'{r["backbone"]} {key}', r[key])
    for key in ("b1_error", "b32_error"):
        if key in r:
            print(f'{r["backend"]} {r["backbone"]} {key[:-6]}: refused: {r[key]}')
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

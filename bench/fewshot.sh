#!/usr/bin/env bash
# Few-shot benchmark (not a test): every backbone x head x k in {1, 5, 10, 20}, 10 seeds, on
# Sign Language Digits, with the default pipeline (spatial features where the backbone has them,
# augmentation on). Prints each per-seed table
# (bench/out/fewshot-<backbone>.txt) and a summary beside the reference numbers measured outside
# this project (frozen MobileNetV2 features, Teachable Machine's head, 20 seeds). Then the
# fine-tune mode on MobileNetV2 (FINETUNE=0 skips it; it takes about 10 minutes on 2 cores), and
# the head of the Teachable Machine export (pooled features; EXPORT_HEAD=0 skips it).
#   bash bench/fewshot.sh [backbone ...]     extra magpie fewshot flags via FEWSHOT_FLAGS
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
python3 scripts/fetch_assets.py
cargo build --release --bin magpie
mkdir -p bench/out
backbones=("$@")
[ ${#backbones[@]} -gt 0 ] || backbones=(mobilenet_v2 efficientnet_lite0 mobilenet_v1_025)
data="$MAGPIE_ASSETS/datasets/sign-language-digits/Dataset"
for backbone in "${backbones[@]}"; do
  "$CARGO_TARGET_DIR/release/magpie" fewshot --data "$data" --backbone "$backbone" \
    --head linear,mlp,knn --shots 1,5,10,20 --seeds "${SEEDS:-10}" ${FEWSHOT_FLAGS:-} \
    | tee "bench/out/fewshot-$backbone.txt"
done
# Fine-tune mode (MobileNetV2's last 2 blocks with the MLP head): CPU-heavy, so 3 seeds.
if [ "${FINETUNE:-1}" = 1 ]; then
  "$CARGO_TARGET_DIR/release/magpie" fewshot --data "$data" --backbone mobilenet_v2 --head mlp \
    --shots 5,10,20 --seeds "${FINETUNE_SEEDS:-3}" --augment 2 --finetune 2 --epochs 20 \
    | tee bench/out/fewshot-finetune.txt
fi
# The head "Export model → Teachable Machine" trains (TM's MLP on the pooled embedding, on the
# same augmented views), for its accuracy beside the default head's (EXPORT_HEAD=0 skips it).
if [ "${EXPORT_HEAD:-1}" = 1 ]; then
  for backbone in "${backbones[@]}"; do
    "$CARGO_TARGET_DIR/release/magpie" fewshot --data "$data" --backbone "$backbone" --head mlp \
      --features pooled --shots 5,10,20 --seeds "${SEEDS:-10}" ${FEWSHOT_FLAGS:-} \
      | tee "bench/out/fewshot-tm-export-$backbone.txt"
  done
fi
echo
echo "reference (MobileNetV2 features, 20 seeds): TM head 5/10/20-shot 73.9/81.3/86.4 %;"
echo "  nearest centroid 72.3/78.4/81.7 %; TF.js KNN k=3 63.0/69.0/74.2 %"
printf '%-18s %-7s %-8s %5s  %-16s %s\n' backbone head features shots "accuracy %" "train ms"
for file in "${backbones[@]/#/bench/out/fewshot-}" bench/out/fewshot-finetune "${backbones[@]/#/bench/out/fewshot-tm-export-}"; do
  [ -f "$file.txt" ] || continue
  awk '/^# /{for(i=2;i<=NF;i++){split($i,kv,"="); v[kv[1]]=kv[2]}}
       /^mean_train_ms=/{split($0,t,"="); ms=t[2]}
       /^mean_accuracy=/{split($1,a,"="); split($2,s,"=");
         printf "%-18s %-7s %-8s %5s  %5.1f +- %-6.1f %s%s\n", v["backbone"], v["head"], v["features"], v["shots"], 100*a[2], 100*s[2], ms,
           (v["finetune"] > 0 ? "  (fine-tune " v["finetune"] " blocks, " v["augment"] " views)" : "")}' "$file.txt"
done

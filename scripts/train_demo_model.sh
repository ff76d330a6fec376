#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Reproduces samples/models/synth_mini_coco17.rpm, the detector shipped for the synthetic domain
# (the README demo's `rigpose reconstruct`): SimpleBaseline-mini (0.57 M parameters, 2.3 MB) at a
# 128x160 input, trained from scratch on CPU on synthetic captures rendered like the demo
# (1280x720 JPEG, blur and noise) but with other seeds, i.e. other subjects, rooms and cameras:
# 24 captures x 4 cameras x 40 frames (seeds 21-44, ring radius 3.5-5 m), merged into one COCO
# file; validated on a capture of yet another seed (99): PCK@0.05 of the ground-truth box. 28
# epochs (~30 min on 2 cores), 15 % of samples showing the whole frame (the tracker's first pass).
# Subject diversity is what generalises: a net trained on one seed's two subjects reaches PCK 0.95
# on a held-out camera of the same subjects and 0.15 on new ones; 8 seeds x 120 frames reached 0.91
# on seed 99 but 0.45 on the demo's seed 1 (its clothing is left/right asymmetric, as every
# studio subject's, and a few subjects do not cover the combinations).
#
# Usage: scripts/train_demo_model.sh [WORK_DIR] [OUT]   (defaults: build/train_demo_model,
#        samples/models/synth_mini_coco17.rpm). Re-running resumes from the checkpoint.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${1:-$HERE/build/train_demo_model}"
OUT="${2:-$HERE/samples/models/synth_mini_coco17.rpm}"
RIGPOSE="${RIGPOSE:-$HERE/build/cli/rigpose}"
EPOCHS="${EPOCHS:-28}"
mkdir -p "$WORK"
radii=(3.5 4 4.5 5)
for i in $(seq 0 23); do
  seed=$((21 + i))
  if [[ ! -f "$WORK/s$seed/annotations/person_keypoints.json" ]]; then
    "$RIGPOSE" synth --preset demo --out "$WORK/s$seed" --cameras 4 --frames 40 --subjects 1 \
      --radius "${radii[$((i % 4))]}" --motion walk,squat,arm_circles,jump,turn --calib none \
      --seed "$seed" --quiet --force
  fi
done
if [[ ! -f "$WORK/val/annotations/person_keypoints.json" ]]; then
  "$RIGPOSE" synth --preset demo --out "$WORK/val" --cameras 4 --frames 60 --subjects 1 \
    --motion walk,squat,arm_circles,jump,turn --calib none --seed 99 --quiet --force
fi
# One COCO file over the captures (image paths relative to WORK, ids made unique).
python3 - "$WORK" <<'PY'
import json, os, sys
work = sys.argv[1]
merged = None
for seed in range(21, 45):
    d = json.load(open(os.path.join(work, f"s{seed}", "annotations", "person_keypoints.json")))
    offset = seed * 10_000_000
    for im in d["images"]:
        im["id"] += offset
        im["file_name"] = f"s{seed}/" + im["file_name"]
    for a in d["annotations"]:
        a["id"] += offset
        a["image_id"] += offset
    if merged is None:
        merged = d
    else:
        merged["images"] += d["images"]
        merged["annotations"] += d["annotations"]
os.makedirs(os.path.join(work, "annotations"), exist_ok=True)
json.dump(merged, open(os.path.join(work, "annotations", "person_keypoints.json"), "w"))
PY
"$RIGPOSE" train --coco "$WORK/annotations/person_keypoints.json" --images "$WORK" \
  --val-coco "$WORK/val/annotations/person_keypoints.json" \
  --arch simplebaseline-mini --input-size 128x160 --epochs "$EPOCHS" --batch-size 32 --lr 1e-3 \
  --lr-milestones 20,25 --full-image-probability 0.15 --threads 1 --loader-threads 1 --seed 1 \
  --val-max 400 --checkpoint "$WORK/mini.ckpt" --resume --out "$OUT"

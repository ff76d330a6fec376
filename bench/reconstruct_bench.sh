#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Acceptance run of `rigpose reconstruct` on a long synthetic session:
#  1. renders a 4-camera capture of FRAMES frames (mp4, the demo's 1280x720 domain) with ground
#     truth;
#  2. reconstructs it under /usr/bin/time -v: peak memory (goal < 2 GB), throughput in frames/s
#     and the time per stage (from timing.json), MPJPE against the ground truth;
#  3. kills a second run of the first KILL_FRAMES frames with SIGKILL once KILL_AFTER 3D chunks
#     are committed, reruns it, and checks that the final files equal those of an uninterrupted
#     run of the same frames and that the rerun recomputed only the missing chunks.
#
# Usage: bench/reconstruct_bench.sh [WORK_DIR]        (default: build/bench_reconstruct)
# Environment (defaults in brackets): RIGPOSE [build/cli/rigpose]
#   MODEL [samples/models/synth_mini_coco17.rpm] FRAMES [10000] KILL_FRAMES [1200]
#   KILL_AFTER [2] CHUNK [300] THREADS [2] DEVICE [cpu]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${1:-$HERE/build/bench_reconstruct}"
RIGPOSE="${RIGPOSE:-$HERE/build/cli/rigpose}"
MODEL="${MODEL:-$HERE/samples/models/synth_mini_coco17.rpm}"
FRAMES="${FRAMES:-10000}"
KILL_FRAMES="${KILL_FRAMES:-1200}"
KILL_AFTER="${KILL_AFTER:-2}"
CHUNK="${CHUNK:-300}"
THREADS="${THREADS:-2}"
DEVICE="${DEVICE:-cpu}"

mkdir -p "$WORK"
CAPTURE="$WORK/capture_$FRAMES"
if [[ ! -f "$CAPTURE/rig.yaml" ]]; then
  echo "== rendering 4 cameras x $FRAMES frames (mp4, 1280x720)"
  /usr/bin/time -f "render: %e s, peak %M KB" "$RIGPOSE" synth --preset demo --out "$CAPTURE" \
    --frames "$FRAMES" --motion walk,squat,arm_circles,jump,turn --format mp4 --calib none \
    --seed 11 --quiet --force
fi
COMMON=(--rig "$CAPTURE/rig.yaml" --videos "$CAPTURE/videos" --model "$MODEL"
  --reference "$CAPTURE/gt/subject_00/poses3d.npy" --chunk-frames "$CHUNK" --threads "$THREADS"
  --device "$DEVICE" --quiet)

echo "== reconstruct $FRAMES frames"
rm -rf "$WORK/full"
/usr/bin/time -v "$RIGPOSE" reconstruct "${COMMON[@]}" --out "$WORK/full" \
  > "$WORK/full.log" 2> "$WORK/full.time"
grep -v "^\[" "$WORK/full.log" | head -20
grep -E "Maximum resident set size|Elapsed \(wall clock\)" "$WORK/full.time"
python3 - "$WORK/full/timing.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
s = t["this_run"]["stages"]
wall = t["this_run"]["seconds_wall"]
print(f"throughput: {t['frames'] / wall:.1f} frames/s over {t['frames']} frames ({wall:.0f} s wall)")
print("stages (s): " + ", ".join(f"{k} {v:.1f}" for k, v in s.items()))
PY

echo "== kill and resume on the first $KILL_FRAMES frames"
rm -rf "$WORK/ref" "$WORK/killed"
"$RIGPOSE" reconstruct "${COMMON[@]}" --max-frames "$KILL_FRAMES" --out "$WORK/ref" > /dev/null
"$RIGPOSE" reconstruct "${COMMON[@]}" --max-frames "$KILL_FRAMES" --out "$WORK/killed" > /dev/null &
PID=$!
target="$WORK/killed/.rigpose/chunks/3d/$(printf '%06d' $((KILL_AFTER - 1)))"
while kill -0 "$PID" 2> /dev/null && [[ ! -d "$target" ]]; do sleep 0.2; done
kill -9 "$PID" 2> /dev/null && echo "killed (SIGKILL) after $(ls "$WORK/killed/.rigpose/chunks/3d" | grep -vc tmp) committed 3D chunks"
wait "$PID" 2> /dev/null || true
"$RIGPOSE" reconstruct "${COMMON[@]}" --max-frames "$KILL_FRAMES" --out "$WORK/killed" | grep chunks
same=1
for f in poses3d.trc poses3d.csv poses3d.status.npy poses3d.cov.npy keypoints2d.npy; do
  if cmp -s "$WORK/ref/$f" "$WORK/killed/$f"; then echo "  $f: identical"; else echo "  $f: DIFFERS"; same=0; fi
done
python3 - "$WORK/killed/timing.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["this_run"]
print(f"  rerun: 2D chunks {r['chunks_2d_resumed']} resumed / {r['chunks_2d_computed']} computed, "
      f"3D chunks {r['chunks_3d_resumed']} resumed / {r['chunks_3d_computed']} computed, "
      f"{r['seconds_wall']:.1f} s")
PY
[[ $same == 1 ]] && echo "resume: OK" || { echo "resume: outputs differ"; exit 1; }

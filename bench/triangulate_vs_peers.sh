#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# rigpose triangulation vs aniposelib, PyTorch and OpenCV: one script, one run, ratios printed.
#
#   bench/triangulate_vs_peers.sh [BUILD_DIR]        (default: $RIGPOSE_BUILD_DIR or build)
#
# 1. makes a venv (RIGPOSE_BENCH_VENV, default BUILD_DIR/bench-venv) from python3 (or
#    /usr/bin/python3) and pip-installs aniposelib==$ANIPOSELIB_VERSION (pinned below);
# 2. builds BUILD_DIR/bench/triangulate_bench if it is missing (cmake --build, -j2) and exports
#    the shared data set to RIGPOSE_BENCH_DATA (default BUILD_DIR/bench-triangulate): rigs for
#    2/4/8/16/32 views as anipose TOML (mm), FRAMES x 17 joints of 2D keypoints (sigma 1.5 px)
#    with ground truth, and a 1000 x 17 x 4 walking sequence (sigma 2 px, 1 % outliers);
# 3. times aniposelib on it: triangulate_simple per point (jax.jit and eager; BUDGET_S seconds
#    each, joints/s extrapolated and marked so), CameraGroup.triangulate(undistort=True) batched,
#    and triangulate_optim on the sequence with the COCO-17 bones as constraints;
# 4. times the PyTorch batched-SVD DLT (torch.linalg.svd on [N, 2V, 4]; CPU, and CUDA when
#    torch sees a device) with TORCH_PYTHON (default: the venv's python if it imports torch, else
#    /usr/bin/python3 if that one does; skipped otherwise);
# 5. runs `triangulate_bench run` (rigpose DLT f64 1 thread / all threads, f32, robust, the dense
#    core, CUDA when a device exists, cv::triangulatePoints for 2 views, robust + RefineSequence)
#    and prints one table: joints/s, MPJPE mm and ratios vs each baseline, then the targets.
#
# Environment: ANIPOSELIB_VERSION, RIGPOSE_BENCH_VENV, RIGPOSE_BENCH_DATA, TORCH_PYTHON, FRAMES
# (default 2000), BUDGET_S (default 3), MIN_SECONDS (default 1). The machine should be otherwise
# idle: every number is wall time.
set -euo pipefail

ANIPOSELIB_VERSION=${ANIPOSELIB_VERSION:-0.8.0}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${1:-${RIGPOSE_BUILD_DIR:-build}}
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$ROOT/$BUILD_DIR" ;; esac
VENV=${RIGPOSE_BENCH_VENV:-$BUILD_DIR/bench-venv}
DATA=${RIGPOSE_BENCH_DATA:-$BUILD_DIR/bench-triangulate}
FRAMES=${FRAMES:-2000}
BUDGET_S=${BUDGET_S:-3}
MIN_SECONDS=${MIN_SECONDS:-1}
PEERS="$ROOT/bench/triangulate_vs_peers.py"
BIN="$BUILD_DIR/bench/triangulate_bench"

# shellcheck source=bench/peers_common.sh
source "$ROOT/bench/peers_common.sh"
bench_prepare_venv
bench_build triangulate_bench
"$BIN" export --out "$DATA" --frames "$FRAMES"

echo "== aniposelib"
"$VENV/bin/python" "$PEERS" anipose --data "$DATA" --json "$DATA/anipose.json" \
  --budget-s "$BUDGET_S" --min-seconds "$MIN_SECONDS"

echo "== PyTorch batched SVD"
if [ -z "${TORCH_PYTHON:-}" ]; then
  for candidate in "$VENV/bin/python" /usr/bin/python3; do
    if "$candidate" -c 'import torch, numpy' 2>/dev/null; then
      TORCH_PYTHON=$candidate
      break
    fi
  done
fi
rm -f "$DATA/torch.json"
if [ -n "${TORCH_PYTHON:-}" ]; then
  "$TORCH_PYTHON" "$PEERS" torch --data "$DATA" --json "$DATA/torch.json" \
    --min-seconds "$MIN_SECONDS"
else
  echo "no Python with torch + numpy found (set TORCH_PYTHON): PyTorch rows skipped"
fi

echo "== rigpose"
"$BIN" run --data "$DATA" --json "$DATA/rigpose.json" --min-seconds "$MIN_SECONDS"

"$VENV/bin/python" "$PEERS" report --data "$DATA" --rigpose "$DATA/rigpose.json" \
  --anipose "$DATA/anipose.json" --torch "$DATA/torch.json"
echo "date: $(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"

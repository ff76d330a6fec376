#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# rigpose multi-camera calibration vs aniposelib's, on the same synthetic board detections: one
# script, one run, one evaluation applied to every calibration, ratios printed.
#
#   bench/calibrate_vs_peers.sh [BUILD_DIR]        (default: $RIGPOSE_BUILD_DIR or build)
#
# 1. makes a venv (RIGPOSE_BENCH_VENV, default BUILD_DIR/bench-venv) from python3 (or
#    /usr/bin/python3) and pip-installs aniposelib==$ANIPOSELIB_VERSION (pinned below);
# 2. builds BUILD_DIR/bench/calibrate_bench if it is missing (cmake --build, -j2);
# 3. for each configuration of CONFIGS ("CAMERASxFRAMES", default "16x500 8x200"): exports a ring
#    of synthetic cameras and FRAMES board poses (9 x 6 chessboard, each seen only by the cameras
#    it faces, corners + N(0, NOISE px)) to RIGPOSE_BENCH_DATA/cC_fF (default
#    BUILD_DIR/bench-calibrate); runs `calibrate_bench run` (rigpose with the true intrinsics
#    fixed, and CalibrateIntrinsics + CalibrateRig refining them; median of REPEATS runs); runs
#    aniposelib's CameraGroup.calibrate_rows on the same detections (its default initialisation,
#    and with the true intrinsics kept; once each, at most ANIPOSE_TIMEOUT_S seconds each); then
#    evaluates every calibration the same way (triangulate each corner seen by >= 2 cameras,
#    reproject, RMS) and prints one table per configuration and the issue's targets
#    (DIR/table.md holds the same in Markdown).
#
# Environment: ANIPOSELIB_VERSION, RIGPOSE_BENCH_VENV, RIGPOSE_BENCH_DATA, CONFIGS, NOISE
# (default 0.3), REPEATS (default 3), ANIPOSE_TIMEOUT_S (default 3600), SEED (default 1). The
# machine should be otherwise idle: every number is wall time (load averages are printed).
set -euo pipefail

ANIPOSELIB_VERSION=${ANIPOSELIB_VERSION:-0.8.0}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${1:-${RIGPOSE_BUILD_DIR:-build}}
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$ROOT/$BUILD_DIR" ;; esac
VENV=${RIGPOSE_BENCH_VENV:-$BUILD_DIR/bench-venv}
DATA=${RIGPOSE_BENCH_DATA:-$BUILD_DIR/bench-calibrate}
CONFIGS=${CONFIGS:-16x500 8x200}
NOISE=${NOISE:-0.3}
REPEATS=${REPEATS:-3}
ANIPOSE_TIMEOUT_S=${ANIPOSE_TIMEOUT_S:-3600}
SEED=${SEED:-1}
PEERS="$ROOT/bench/calibrate_vs_peers.py"
BIN="$BUILD_DIR/bench/calibrate_bench"

# shellcheck source=bench/peers_common.sh
source "$ROOT/bench/peers_common.sh"
bench_prepare_venv
bench_build calibrate_bench

for config in $CONFIGS; do
  cameras=${config%x*}
  frames=${config#*x}
  dir="$DATA/c${cameras}_f${frames}"
  echo
  echo "=================== $cameras cameras x $frames board poses ==================="
  rm -rf "$dir"
  "$BIN" export --out "$dir" --cameras "$cameras" --frames "$frames" --noise "$NOISE" \
    --seed "$SEED"

  echo "== rigpose (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  "$BIN" run --data "$dir" --json "$dir/rigpose.json" --repeats "$REPEATS"

  for variant in true default; do
    echo "== aniposelib, $variant intrinsics (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    rc=0
    timeout "$ANIPOSE_TIMEOUT_S" "$VENV/bin/python" "$PEERS" anipose --data "$dir" \
      --variant "$variant" --json "$dir/anipose_$variant.json" || rc=$?
    if [ "$rc" -eq 124 ]; then
      echo "aniposelib ($variant) stopped after $ANIPOSE_TIMEOUT_S s"
      label="default init"
      [ "$variant" = true ] && label="true intr."
      printf '{"method": "aniposelib calibrate_rows, %s", "variant": "%s", "seconds": %s, "timed_out": true, "rig": null}\n' \
        "$label" "$variant" "$ANIPOSE_TIMEOUT_S" >"$dir/anipose_$variant.json"
    elif [ "$rc" -ne 0 ]; then
      echo "aniposelib ($variant) failed (exit $rc)" >&2
      exit "$rc"
    fi
  done

  echo "== report (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  "$VENV/bin/python" "$PEERS" report --data "$dir" --rigpose "$dir/rigpose.json" \
    --anipose "$dir/anipose_true.json" "$dir/anipose_default.json" \
    --markdown "$dir/table.md" --json "$dir/report.json"
done
echo
echo "date: $(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"

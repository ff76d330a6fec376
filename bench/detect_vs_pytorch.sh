#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Detector throughput: LibTorch (bench/detect_bench.cc, KeypointDetector::Detect) against PyTorch
# eager (bench/detect_vs_pytorch.py) on the same architecture and weights, in the same run, after
# a heatmap equivalence check on fixed crops. One table row per architecture.
#
#   bench/detect_vs_pytorch.sh [BUILD_DIR]          # default BUILD_DIR: build-detect-bench
#
# BUILD_DIR/bench/detect_bench is built when missing; a BUILD_DIR without a CMake cache is
# configured with -DRIGPOSE_MINIMAL=ON (LibTorch + Eigen only: works on the GPU machine, where
# LibTorch comes from the pip PyTorch) plus $CMAKE_ARGS (e.g. -DEigen3_DIR=...).
# Environment (defaults in brackets; cuda when the Python torch sees a GPU, else cpu):
#   DEVICE [cuda|cpu]  ARCHS ["hrnet-w32 simplebaseline-r18"]  FP16 [1] (CUDA only)
#   BATCH [cuda 64, cpu 8]  ITERS [cuda 50, cpu 3]  WARMUP [cuda 10, cpu 1]  THREADS [all cores]
#   PYTHON [/usr/bin/python3 when it has torch, else python3]  JOBS [2]  OUT [BUILD_DIR/detect-bench]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${1:-$ROOT/build-detect-bench}

if [ -z "${PYTHON:-}" ]; then
  if /usr/bin/python3 -c 'import torch' 2>/dev/null; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi
if [ -z "${DEVICE:-}" ]; then
  DEVICE=$("$PYTHON" -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")')
fi
case "$DEVICE" in
  cuda*) BATCH=${BATCH:-64} ITERS=${ITERS:-50} WARMUP=${WARMUP:-10} ;;
  *) BATCH=${BATCH:-8} ITERS=${ITERS:-3} WARMUP=${WARMUP:-1} ;;
esac
ARCHS=${ARCHS:-"hrnet-w32 simplebaseline-r18"}
FP16=${FP16:-1}
THREADS=${THREADS:-$(nproc)}
JOBS=${JOBS:-2}
OUT=${OUT:-$BUILD_DIR/detect-bench}

echo "== start $(date -u +%FT%TZ): load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
echo "== python $PYTHON: $("$PYTHON" -c 'import torch, numpy; print("torch", torch.__version__, "cuda", torch.version.cuda, "numpy", numpy.__version__)')"
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
fi

BIN=$BUILD_DIR/bench/detect_bench
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  # The pip PyTorch's LibTorch when it ships a CMake config (GPU machine), else the system one.
  TORCH_PREFIX=$("$PYTHON" -c 'import os, torch; p = torch.utils.cmake_prefix_path; print(p if os.path.isdir(os.path.join(p, "Torch")) else "")' 2>/dev/null || true)
  echo "== configure $BUILD_DIR (RIGPOSE_MINIMAL${TORCH_PREFIX:+, Torch from $TORCH_PREFIX})"
  # shellcheck disable=SC2086
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DRIGPOSE_MINIMAL=ON \
    -DRIGPOSE_WITH_OPEN3D=OFF -DRIGPOSE_BUILD_TESTS=OFF \
    ${TORCH_PREFIX:+"-DCMAKE_PREFIX_PATH=$TORCH_PREFIX"} ${CMAKE_ARGS:-}
fi
echo "== build detect_bench ($BIN)"
cmake --build "$BUILD_DIR" --target detect_bench -j "$JOBS"

mkdir -p "$OUT"
echo "== device $DEVICE, fp16 $FP16 (CUDA only), batch $BATCH, $ITERS iterations after $WARMUP warm-up, $THREADS CPU threads"
for arch in $ARCHS; do
  echo "== $arch: LibTorch (detect_bench)"
  "$BIN" --arch "$arch" --save-model "$OUT/$arch.rpm" --dump-heatmaps "$OUT/$arch.heatmaps.bin" \
    --device "$DEVICE" --fp16 "$FP16" --batch "$BATCH" --iters "$ITERS" --warmup "$WARMUP" \
    --threads "$THREADS" | tee "$OUT/$arch.libtorch.txt"
  echo "== $arch: PyTorch eager (detect_vs_pytorch.py)"
  "$PYTHON" "$ROOT/bench/detect_vs_pytorch.py" --model "$OUT/$arch.rpm" \
    --heatmaps "$OUT/$arch.heatmaps.bin" --device "$DEVICE" --fp16 "$FP16" --batch "$BATCH" \
    --iters "$ITERS" --warmup "$WARMUP" --threads "$THREADS" | tee "$OUT/$arch.pytorch.txt"
done

echo "== summary (crops/s: uint8 BGR crops in -> keypoints/heatmaps on the host; ratio = LibTorch / PyTorch)"
# shellcheck disable=SC2086  # ARCHS is a word list
"$PYTHON" - "$OUT" $ARCHS <<'EOF'
import json, sys
out, archs = sys.argv[1], sys.argv[2:]
def last_json(path, tag):
    lines = [l for l in open(path) if l.startswith('{"bench": "%s"' % tag)]
    return json.loads(lines[-1])
print("| device | arch | dtype | batch | LibTorch crops/s | PyTorch crops/s | PyTorch fwd-only crops/s "
      "| ratio | max abs diff (max abs heatmap) |")
print("|---|---|---|---:|---:|---:|---:|---:|---|")
for arch in archs:
    c = last_json("%s/%s.libtorch.txt" % (out, arch), "detect")
    p = last_json("%s/%s.pytorch.txt" % (out, arch), "detect_pytorch")
    print("| %s | %s | %s | %d | %.1f | %.1f | %.1f | %.2fx | %.2g (%.2g) |" % (
        c["device"], arch, c["dtype"], c["batch"], c["crops_per_s"], p["crops_per_s"],
        p["forward_crops_per_s"], c["crops_per_s"] / p["crops_per_s"], p["max_abs_diff"],
        p["max_abs_heatmap"]))
EOF

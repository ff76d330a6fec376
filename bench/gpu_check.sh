#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Everything that needs a CUDA GPU, in one command per stage, for a GPU machine without a Debian
# registry (LibTorch from the pip PyTorch there, Eigen and GoogleTest carried from here).
#
#   bench/gpu_check.sh prepare       # HERE (Debian machine): copy Eigen's headers + CMake config and
#                                    # GoogleTest's sources into .gpu/ (ignored; carry it)
#   bench/gpu_check.sh triangulate   # THERE: RIGPOSE_MINIMAL + CUDA build, core/triangulate tests
#                                    # (CUDA equivalence tests run instead of skipping), the GPU
#                                    # triangulation benchmark and the PyTorch batched-SVD baseline
#   bench/gpu_check.sh detect        # THERE: + LibTorch (CUDA), detect2d tests, detector throughput
#                                    # against PyTorch eager, MC-dropout scoring throughput
#
# Environment: BUILD_DIR [build-gpu], OUT [$BUILD_DIR/gpu-check] (logs and JSON), JOBS [nproc],
# ARCHS [90] (CUDA architectures), PYTHON [python3].
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STAGE=${1:-}
BUILD_DIR=${BUILD_DIR:-$ROOT/build-gpu}
OUT=${OUT:-$BUILD_DIR/gpu-check}
JOBS=${JOBS:-$(nproc)}
ARCHS=${ARCHS:-90}
PYTHON=${PYTHON:-python3}
CARRY=$ROOT/.gpu

case "$STAGE" in
  prepare)
    rm -rf "$CARRY"
    mkdir -p "$CARRY/eigen/include" "$CARRY/eigen/share/eigen3"
    cp -r /usr/include/eigen3 "$CARRY/eigen/include/"
    cp -r /usr/share/eigen3/cmake "$CARRY/eigen/share/eigen3/"
    cp -r /usr/src/googletest "$CARRY/googletest"
    du -sh "$CARRY"
    exit 0
    ;;
  triangulate | detect) ;;
  *)
    echo "usage: bench/gpu_check.sh prepare|triangulate|detect" >&2
    exit 2
    ;;
esac

mkdir -p "$OUT"
echo "== $(date -u +%FT%TZ) stage $STAGE on $(nproc) cores"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
command -v nvcc > /dev/null || export PATH=/usr/local/cuda/bin:$PATH
nvcc --version | tail -1
"$PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())'

ARGS=(-DCMAKE_BUILD_TYPE=Release -DRIGPOSE_MINIMAL=ON -DRIGPOSE_WITH_CUDA=ON
  -DRIGPOSE_CUDA_ARCHITECTURES="$ARCHS" -DRIGPOSE_WITH_OPEN3D=OFF)
if [ -d "$CARRY/eigen" ]; then ARGS+=(-DEigen3_DIR="$CARRY/eigen/share/eigen3/cmake"); fi
if [ -d "$CARRY/googletest" ]; then ARGS+=(-DRIGPOSE_GTEST_SOURCE_DIR="$CARRY/googletest"); fi
if [ "$STAGE" = detect ]; then
  TORCH_PREFIX=$("$PYTHON" -c 'import torch; print(torch.utils.cmake_prefix_path)')
  ARGS+=(-DRIGPOSE_WITH_TORCH=ON -DCMAKE_PREFIX_PATH="$TORCH_PREFIX")
else
  ARGS+=(-DRIGPOSE_WITH_TORCH=OFF)
fi
cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja "${ARGS[@]}" > "$OUT/configure.log" 2>&1 ||
  {
    tail -40 "$OUT/configure.log"
    exit 1
  }

if [ "$STAGE" = triangulate ]; then
  time cmake --build "$BUILD_DIR" -j "$JOBS" --target core_test triangulate_test triangulate_gpu_bench \
    > "$OUT/build.log" 2>&1 || {
    tail -60 "$OUT/build.log"
    exit 1
  }
  echo "== tests (core_test, triangulate_test)"
  for t in core_test triangulate_test; do
    "$BUILD_DIR/tests/$t" > "$OUT/$t.log" 2>&1 || true
    grep -E '^\[ *(FAILED|PASSED) ' "$OUT/$t.log" | sed "s/^/$t: /" | head -20
  done
  echo "== the CUDA tests, verbose"
  "$BUILD_DIR/tests/triangulate_test" --gtest_filter='*Cuda*' 2>&1 | tee "$OUT/cuda_tests.log" | grep -E '^\[ *(OK|FAILED|SKIPPED|PASSED) ' || true
  echo "== GPU triangulation benchmark"
  DUMP=$(mktemp -d)
  "$BUILD_DIR/bench/triangulate_gpu_bench" --dump "$DUMP" --json "$OUT/triangulate_gpu.json" |
    tee "$OUT/triangulate_gpu.txt"
  echo "== PyTorch batched SVD / eigh on the same data"
  PYTHONUNBUFFERED=1 "$PYTHON" "$ROOT/bench/triangulate_gpu_vs_torch.py" --dump "$DUMP" \
    --ours "$OUT/triangulate_gpu.json" --json "$OUT/triangulate_torch.json" | tee "$OUT/triangulate_torch.txt"
  rm -rf "$DUMP"
else
  time cmake --build "$BUILD_DIR" -j "$JOBS" --target detect2d_test detect_bench > "$OUT/build.log" 2>&1 || {
    tail -60 "$OUT/build.log"
    exit 1
  }
  echo "== detect2d tests"
  "$BUILD_DIR/tests/detect2d_test" > "$OUT/detect2d_test.log" 2>&1 || true
  grep -E '^\[ *(FAILED|PASSED|SKIPPED) ' "$OUT/detect2d_test.log" | head -20
  echo "== detector throughput against PyTorch eager"
  OUT="$OUT/detect" JOBS="$JOBS" bash "$ROOT/bench/detect_vs_pytorch.sh" "$BUILD_DIR" | tee "$OUT/detect.txt"
  echo "== MC-dropout scoring throughput (active learning: T passes per crop)"
  for arch in simplebaseline-r18 hrnet-w32; do
    for t in 0 8; do
      "$BUILD_DIR/bench/detect_bench" --arch "$arch" --dropout 0.2 --mc-dropout "$t" \
        --device cuda --fp16 1 --batch 64 --iters 30 --warmup 5 | tail -2 | tee -a "$OUT/mc_dropout.txt"
    done
  done
fi
echo "== done $(date -u +%FT%TZ)"

# SPDX-License-Identifier: BSD-3-Clause
# Sourced by bench/*_vs_peers.sh. Needs ANIPOSELIB_VERSION, VENV, BUILD_DIR set.
# bench_prepare_venv: a venv with aniposelib pinned, versions printed.
# bench_build TARGET: builds BUILD_DIR/bench/TARGET when it is missing.

bench_prepare_venv() {
  echo "== start: load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
  echo "== venv $VENV (aniposelib $ANIPOSELIB_VERSION)"
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV" 2>/dev/null || /usr/bin/python3 -m venv "$VENV"
  fi
  "$VENV/bin/python" -m pip install -q "aniposelib==$ANIPOSELIB_VERSION"
  "$VENV/bin/python" -m pip list 2>/dev/null |
    grep -i -E '^(aniposelib|jax|jaxlib|numpy|scipy|numba|opencv-contrib-python) ' | tr -s ' '
}

bench_build() {
  local target=$1
  local bin="$BUILD_DIR/bench/$target"
  echo "== $target ($bin)"
  if [ ! -x "$bin" ]; then
    if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
      echo "no $bin and no CMake build in $BUILD_DIR: configure it first, e.g." >&2
      echo "  cmake -S $ROOT -B $BUILD_DIR -G Ninja -DCMAKE_BUILD_TYPE=Release" >&2
      exit 2
    fi
    cmake --build "$BUILD_DIR" --target "$target" -j2
  fi
}

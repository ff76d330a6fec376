#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# rigpose set-up for a Debian 12 machine: installs the Debian packages that are missing
# (idempotent: a no-op when everything is there), configures, builds, then runs:
#   scripts/setup.sh demo   the main job on the embedded sample (README, first command)
#   scripts/setup.sh test   every test (README, second command)
#   scripts/setup.sh build  only install + build
# Environment: BUILD_DIR (default build), RIGPOSE_CMAKE_ARGS (extra CMake options),
#              JOBS (default: number of cores).
set -euo pipefail

cd "$(dirname "$0")/.."
MODE="${1:-build}"
BUILD_DIR="${BUILD_DIR:-build}"
JOBS="${JOBS:-$(nproc)}"

PACKAGES=(
  g++ cmake ninja-build ccache clang-format pkg-config
  libeigen3-dev libceres-dev libopencv-dev libopencv-contrib-dev
  libyaml-cpp-dev libtomlplusplus-dev nlohmann-json3-dev libcli11-dev libspdlog-dev
  libgtest-dev libbenchmark-dev
  libtorch-dev python3-torch python3-numpy
  libopen3d-dev open3d-gui-data libx11-dev xvfb xauth
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "setup: installing ${#missing[@]} missing Debian packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all ${#PACKAGES[@]} Debian packages present"
fi

# shellcheck disable=SC2086
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release ${RIGPOSE_CMAKE_ARGS:-}
cmake --build "$BUILD_DIR" -j "$JOBS"

case "$MODE" in
  build) ;;
  demo) bash scripts/demo.sh "$BUILD_DIR" ;;
  test)
    # The viewer's snapshot tests need a display: a virtual one when there is none (they skip,
    # saying so, where neither exists).
    if [ -z "${DISPLAY:-}" ] && command -v xvfb-run > /dev/null; then
      xvfb-run -a -s "-screen 0 1920x1080x24" \
        ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS"
    else
      ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS"
    fi
    ;;
  *) echo "usage: scripts/setup.sh [build|demo|test]" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The main job on the embedded sample: render a synthetic calibrated capture (rigpose synth
# --preset demo), inspect its rig, convert it through every writable format of the field
# (anipose in mm, Pose2Sim, FreeMoCap, EasyMocap) and back, check that nothing moved, and
# triangulate its 2D keypoints into a TRC compared with the 3D ground truth, then reconstruct it
# from its images (detect -> triangulate -> refine) with the shipped synthetic-domain detector.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${1:-build}"
RIGPOSE="$BUILD_DIR/cli/rigpose"
OUT="$(mktemp -d "${TMPDIR:-/tmp}/rigpose-demo.XXXXXX")"
trap 'rm -rf "$OUT"' EXIT

"$RIGPOSE" version
echo
# 1. A synthetic calibrated capture with exact ground truth: 4 cameras, 2 s of motion, chessboard
#    and ChArUco calibration sequences (seconds).
"$RIGPOSE" synth --preset demo --out "$OUT/capture" --quiet
echo
"$RIGPOSE" calib info "$OUT/capture/rig.yaml"
echo
# 2. Its calibration through every writable format of the field and back: nothing may move.
"$RIGPOSE" calib convert "$OUT/capture/rig.yaml" "$OUT/anipose.toml" --to-format anipose --out-units mm
"$RIGPOSE" calib convert "$OUT/anipose.toml" "$OUT/pose2sim.toml" --to-format pose2sim
"$RIGPOSE" calib convert "$OUT/pose2sim.toml" "$OUT/freemocap.toml" --to-format freemocap
mkdir -p "$OUT/easymocap"
"$RIGPOSE" calib convert "$OUT/freemocap.toml" "$OUT/easymocap" --to-format easymocap
"$RIGPOSE" calib convert "$OUT/easymocap" "$OUT/back.yaml"
echo
echo "round trip rigpose -> anipose(mm) -> Pose2Sim -> FreeMoCap -> EasyMocap -> rigpose:"
"$RIGPOSE" calib compare "$OUT/capture/rig.yaml" "$OUT/back.yaml" --max-center-difference 1e-9
echo
# 3. Triangulate the capture's 2D keypoints (robust DLT + Ceres sequence refinement) into a TRC
#    and compare it with the 3D ground truth.
"$RIGPOSE" triangulate --rig "$OUT/capture/rig.yaml" \
  --keypoints "$OUT/capture/gt/subject_00/keypoints2d.npy" --out "$OUT/poses.trc" \
  --method robust --refine sequence --reference "$OUT/capture/gt/subject_00/poses3d.npy" --quiet
echo
# 4. The main job from pixels: `rigpose reconstruct` on the capture's images with the detector
#    trained for the synthetic domain and shipped in samples/models (scripts/train_demo_model.sh):
#    2D detection with person tracking -> robust triangulation -> sequence refinement, in chunks
#    committed atomically (a killed run resumes), MPJPE against the ground truth per joint.
if "$RIGPOSE" version | grep -q "detector backend: LibTorch"; then
  "$RIGPOSE" reconstruct --rig "$OUT/capture/rig.yaml" --images "$OUT/capture/images" \
    --model samples/models/synth_mini_coco17.rpm \
    --reference "$OUT/capture/gt/subject_00/poses3d.npy" --out "$OUT/reconstruction" --quiet
else
  echo "(this build has no LibTorch: skipping rigpose reconstruct from images)"
fi
echo "demo: OK"

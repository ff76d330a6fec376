// SPDX-License-Identifier: BSD-3-Clause
// Reprojection statistics: how far the 3D poses land from the 2D keypoints, per camera.
// Used by `rigpose triangulate`, the calibration report and the data-loading acceptance tests.
#pragma once

#include <string>
#include <vector>

#include "core/keypoints.h"
#include "core/rig.h"

namespace rigpose {

struct ReprojectionOptions {
  float min_score = 0.f;  // 2D keypoints with score < min_score are ignored
};

struct CameraReprojectionStats {
  std::string camera;
  int count = 0;          // (frame, joint) pairs compared
  int behind_camera = 0;  // valid 3D points that do not project (z <= 0)
  double median_px = 0.0;
  double mean_px = 0.0;
  double rms_px = 0.0;
  double max_px = 0.0;
};

// For every frame f, camera c (keypoints camera c = rig camera c) and 3D joint j with
// joint_map[j] >= 0: distance between rig camera c's projection of poses(f, j) and
// keypoints(f, c, joint_map[j]) when both are valid/present. Sizes must agree (frames, cameras);
// contract violations throw std::invalid_argument.
std::vector<CameraReprojectionStats> ComputeReprojectionStats(
    const Rig& rig,
    const Poses3D& poses,
    const Keypoints2D& keypoints,
    const std::vector<int>& joint_map,
    const ReprojectionOptions& options = {});

}  // namespace rigpose

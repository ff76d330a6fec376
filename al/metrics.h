// SPDX-License-Identifier: BSD-3-Clause
// Accuracy metrics used to score selection strategies and reconstructions (FIELD.md §6).
#pragma once

#include <vector>

#include "core/keypoints.h"

namespace rigpose {

struct PoseErrorSummary {
  int count = 0;        // joint-frames compared (both valid)
  double mean_m = 0.0;  // MPJPE over compared joint-frames, metres
  double median_m = 0.0;
  std::vector<double> per_joint_mean_m;  // per joint (NaN where never compared)
};

// Absolute MPJPE: mean Euclidean distance over joint-frames valid in both. Shapes must match.
PoseErrorSummary ComputeMpjpe(const Poses3D& estimate, const Poses3D& reference);

// PA-MPJPE: per frame, the estimate is aligned to the reference by a similarity transform
// (Umeyama, reflections excluded) over the joints valid in both (>= 3), then MPJPE.
PoseErrorSummary ComputePaMpjpe(const Poses3D& estimate, const Poses3D& reference);

}  // namespace rigpose

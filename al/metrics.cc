// SPDX-License-Identifier: BSD-3-Clause
#include "al/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <Eigen/Geometry>

#include "core/error.h"

namespace rigpose {
namespace {

PoseErrorSummary Summarize(const std::vector<std::vector<double>>& per_joint) {
  PoseErrorSummary s;
  std::vector<double> all;
  for (const auto& errors : per_joint) {
    double sum = 0.0;
    for (double e : errors) sum += e;
    s.per_joint_mean_m.push_back(errors.empty() ? std::numeric_limits<double>::quiet_NaN()
                                                : sum / errors.size());
    all.insert(all.end(), errors.begin(), errors.end());
  }
  s.count = static_cast<int>(all.size());
  if (all.empty()) return s;
  double sum = 0.0;
  for (double e : all) sum += e;
  s.mean_m = sum / all.size();
  std::sort(all.begin(), all.end());
  const size_t n = all.size();
  s.median_m = n % 2 == 1 ? all[n / 2] : 0.5 * (all[n / 2 - 1] + all[n / 2]);
  return s;
}

void CheckShapes(const Poses3D& a, const Poses3D& b) {
  RIGPOSE_CHECK(a.num_frames() == b.num_frames() && a.num_joints() == b.num_joints(),
                "estimate " << a.num_frames() << "x" << a.num_joints() << " vs reference "
                            << b.num_frames() << "x" << b.num_joints());
}

}  // namespace

PoseErrorSummary ComputeMpjpe(const Poses3D& estimate, const Poses3D& reference) {
  CheckShapes(estimate, reference);
  std::vector<std::vector<double>> per_joint(estimate.num_joints());
  for (int f = 0; f < estimate.num_frames(); ++f) {
    for (int j = 0; j < estimate.num_joints(); ++j) {
      if (!estimate.IsValid(f, j) || !reference.IsValid(f, j)) continue;
      per_joint[j].push_back((estimate.Position(f, j) - reference.Position(f, j)).norm());
    }
  }
  return Summarize(per_joint);
}

PoseErrorSummary ComputePaMpjpe(const Poses3D& estimate, const Poses3D& reference) {
  CheckShapes(estimate, reference);
  std::vector<std::vector<double>> per_joint(estimate.num_joints());
  for (int f = 0; f < estimate.num_frames(); ++f) {
    std::vector<int> joints;
    for (int j = 0; j < estimate.num_joints(); ++j) {
      if (estimate.IsValid(f, j) && reference.IsValid(f, j)) joints.push_back(j);
    }
    if (joints.size() < 3) continue;
    Eigen::Matrix3Xd src(3, joints.size());
    Eigen::Matrix3Xd dst(3, joints.size());
    for (size_t i = 0; i < joints.size(); ++i) {
      src.col(i) = estimate.Position(f, joints[i]);
      dst.col(i) = reference.Position(f, joints[i]);
    }
    // Eigen::umeyama returns a proper rotation (det +1): reflections are excluded.
    const Eigen::Matrix4d t = Eigen::umeyama(src, dst, /*with_scaling=*/true);
    for (size_t i = 0; i < joints.size(); ++i) {
      const Eigen::Vector3d aligned =
          t.topLeftCorner<3, 3>() * src.col(i) + t.topRightCorner<3, 1>();
      per_joint[joints[i]].push_back((aligned - dst.col(i)).norm());
    }
  }
  return Summarize(per_joint);
}

}  // namespace rigpose

// SPDX-License-Identifier: BSD-3-Clause
#include <cmath>
#include <random>

#include <gtest/gtest.h>
#include <Eigen/Geometry>

#include "al/metrics.h"

namespace rigpose {
namespace {

Poses3D RandomPoses(int frames, int joints, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> n(0.0, 0.5);
  Poses3D p(frames, joints);
  for (int f = 0; f < frames; ++f) {
    for (int j = 0; j < joints; ++j) p.Set(f, j, Eigen::Vector3d(n(rng), n(rng), 1.0 + n(rng)));
  }
  return p;
}

TEST(ComputeMpjpe, Nominal) {
  const Poses3D reference = RandomPoses(5, 17, 1);
  Poses3D estimate = reference;
  for (int f = 0; f < 5; ++f)
    estimate.Set(f, 3, reference.Position(f, 3) + Eigen::Vector3d(0.03, 0.04, 0));
  estimate.SetInvalid(0, 4);
  const PoseErrorSummary s = ComputeMpjpe(estimate, reference);
  EXPECT_EQ(s.count, 5 * 17 - 1);
  EXPECT_NEAR(s.mean_m, 5 * 0.05 / (5 * 17 - 1), 1e-12);
  EXPECT_NEAR(s.per_joint_mean_m[3], 0.05, 1e-12);
  EXPECT_EQ(s.median_m, 0.0);
}

TEST(ComputePaMpjpe, RemovesSimilarityButNotReflection) {
  const Poses3D reference = RandomPoses(3, 17, 2);
  Poses3D moved = reference;
  Poses3D mirrored = reference;
  const Eigen::Matrix3d r =
      Eigen::AngleAxisd(0.7, Eigen::Vector3d(1, 2, 3).normalized()).toRotationMatrix();
  for (int f = 0; f < 3; ++f) {
    for (int j = 0; j < 17; ++j) {
      moved.Set(f, j, 1.3 * (r * reference.Position(f, j)) + Eigen::Vector3d(1, -2, 0.5));
      Eigen::Vector3d p = reference.Position(f, j);
      p.x() = -p.x();
      mirrored.Set(f, j, p);
    }
  }
  EXPECT_NEAR(ComputePaMpjpe(moved, reference).mean_m, 0.0, 1e-9);
  EXPECT_GT(ComputeMpjpe(moved, reference).mean_m, 0.5);
  EXPECT_GT(ComputePaMpjpe(mirrored, reference).mean_m, 0.05);
}

TEST(ComputeMpjpe, BadArgs) {
  EXPECT_THROW(ComputeMpjpe(Poses3D(2, 17), Poses3D(3, 17)), std::invalid_argument);
  EXPECT_THROW(ComputePaMpjpe(Poses3D(2, 17), Poses3D(2, 16)), std::invalid_argument);
}

}  // namespace
}  // namespace rigpose

// SPDX-License-Identifier: BSD-3-Clause
#include "core/keypoints.h"

#include <cmath>
#include <limits>
#include <stdexcept>

#include <gtest/gtest.h>

namespace rigpose {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

TEST(Keypoints2D, Layout) {
  Keypoints2D keypoints(4, 3, 5);
  EXPECT_EQ(keypoints.num_frames(), 4);
  EXPECT_EQ(keypoints.num_cameras(), 3);
  EXPECT_EQ(keypoints.num_joints(), 5);
  EXPECT_EQ(keypoints.size(), 4 * 3 * 5 * 3);
  // Row-major [F][C][J][3].
  for (int f = 0; f < 4; ++f) {
    for (int c = 0; c < 3; ++c) {
      for (int j = 0; j < 5; ++j) {
        EXPECT_EQ(keypoints.Offset(f, c, j), ((f * 3 + c) * 5 + j) * 3);
        keypoints.Set(f, c, j, 100.f * f + 10.f * c + j, -1.f * j, 0.5f);
      }
    }
  }
  const float* data = keypoints.data();
  EXPECT_EQ(data[keypoints.Offset(2, 1, 4)], 214.f);
  EXPECT_EQ(data[keypoints.Offset(2, 1, 4) + 1], -4.f);
  EXPECT_EQ(data[keypoints.Offset(2, 1, 4) + 2], 0.5f);
  EXPECT_EQ(keypoints.x(3, 2, 1), 321.f);
  EXPECT_EQ(keypoints.y(3, 2, 1), -1.f);
  EXPECT_EQ(keypoints.score(3, 2, 1), 0.5f);
  // The last element is the last triple.
  EXPECT_EQ(keypoints.Offset(3, 2, 4) + 3, keypoints.size());
}

TEST(Keypoints2D, AllMissingInitially) {
  const Keypoints2D keypoints(2, 2, 3);
  for (int64_t i = 0; i < keypoints.size(); ++i) EXPECT_EQ(keypoints.data()[i], 0.f);
  EXPECT_FALSE(keypoints.IsPresent(1, 1, 2));
  const Keypoints2D empty(0, 4, 17);
  EXPECT_EQ(empty.size(), 0);
}

TEST(Keypoints2D, IsPresent) {
  Keypoints2D keypoints(1, 1, 8);
  keypoints.Set(0, 0, 0, 10.f, 20.f, 0.9f);
  keypoints.Set(0, 0, 1, 10.f, 20.f, 0.f);    // score 0: missing
  keypoints.Set(0, 0, 2, 10.f, 20.f, -0.5f);  // negative score
  keypoints.Set(0, 0, 3, kNaN, 20.f, 0.9f);
  keypoints.Set(0, 0, 4, 10.f, kNaN, 0.9f);
  keypoints.Set(0, 0, 5, 10.f, 20.f, kNaN);
  keypoints.Set(0, 0, 6, std::numeric_limits<float>::infinity(), 20.f, 0.9f);
  keypoints.Set(0, 0, 7, 1.f, 2.f, 0.3f);
  keypoints.SetMissing(0, 0, 7);
  EXPECT_TRUE(keypoints.IsPresent(0, 0, 0));
  for (int j = 1; j < 8; ++j) EXPECT_FALSE(keypoints.IsPresent(0, 0, j)) << j;
  EXPECT_EQ(keypoints.x(0, 0, 7), 0.f);
  EXPECT_EQ(keypoints.y(0, 0, 7), 0.f);
  EXPECT_EQ(keypoints.score(0, 0, 7), 0.f);
}

TEST(Keypoints2D, OutOfRangeThrows) {
  Keypoints2D keypoints(2, 3, 4);
  EXPECT_THROW(keypoints.Offset(2, 0, 0), std::invalid_argument);
  EXPECT_THROW(keypoints.Offset(0, 3, 0), std::invalid_argument);
  EXPECT_THROW(keypoints.Offset(0, 0, 4), std::invalid_argument);
  EXPECT_THROW(keypoints.Offset(-1, 0, 0), std::invalid_argument);
  EXPECT_THROW(keypoints.Offset(0, -1, 0), std::invalid_argument);
  EXPECT_THROW(keypoints.Offset(0, 0, -1), std::invalid_argument);
  EXPECT_THROW(keypoints.x(2, 0, 0), std::invalid_argument);
  EXPECT_THROW(keypoints.IsPresent(0, 3, 0), std::invalid_argument);
  EXPECT_THROW(keypoints.Set(0, 0, 4, 1.f, 1.f, 1.f), std::invalid_argument);
  EXPECT_THROW(Keypoints2D(-1, 1, 1), std::invalid_argument);
  EXPECT_THROW(Keypoints2D(1, -1, 1), std::invalid_argument);
  EXPECT_THROW(Keypoints2D(1, 1, -1), std::invalid_argument);
  EXPECT_NO_THROW(keypoints.Offset(1, 2, 3));
}

TEST(Poses3D, Layout) {
  Poses3D poses(3, 5);
  EXPECT_EQ(poses.num_frames(), 3);
  EXPECT_EQ(poses.num_joints(), 5);
  EXPECT_EQ(poses.size(), 3 * 5 * 4);
  // Row-major [F][J][4].
  for (int f = 0; f < 3; ++f) {
    for (int j = 0; j < 5; ++j) {
      EXPECT_EQ(poses.Offset(f, j), (f * 5 + j) * 4);
      EXPECT_FALSE(poses.IsValid(f, j));
    }
  }
  poses.Set(2, 3, Eigen::Vector3d(1.5, -2.5, 3.25));
  const double* data = poses.data();
  EXPECT_EQ(data[(2 * 5 + 3) * 4 + 0], 1.5);
  EXPECT_EQ(data[(2 * 5 + 3) * 4 + 1], -2.5);
  EXPECT_EQ(data[(2 * 5 + 3) * 4 + 2], 3.25);
  EXPECT_EQ(data[(2 * 5 + 3) * 4 + 3], 1.0);
  EXPECT_TRUE(poses.IsValid(2, 3));
  EXPECT_EQ(poses.Position(2, 3), Eigen::Vector3d(1.5, -2.5, 3.25));
  EXPECT_EQ(poses.Offset(2, 4) + 4, poses.size());
}

TEST(Poses3D, IsValid) {
  Poses3D poses(1, 3);
  poses.Set(0, 0, Eigen::Vector3d(1, 2, 3));
  poses.SetInvalid(0, 0);
  EXPECT_FALSE(poses.IsValid(0, 0));
  EXPECT_EQ(poses.Position(0, 0), Eigen::Vector3d::Zero());
  // A valid flag with a NaN coordinate is not valid.
  poses.Set(0, 1, Eigen::Vector3d(1, std::nan(""), 3));
  EXPECT_FALSE(poses.IsValid(0, 1));
  poses.Set(0, 2, Eigen::Vector3d(1, 2, 3));
  poses.data()[poses.Offset(0, 2) + 2] = std::numeric_limits<double>::infinity();
  EXPECT_FALSE(poses.IsValid(0, 2));
  // A zero flag is invalid even with finite coordinates.
  poses.Set(0, 2, Eigen::Vector3d(1, 2, 3));
  poses.data()[poses.Offset(0, 2) + 3] = 0.0;
  EXPECT_FALSE(poses.IsValid(0, 2));
}

TEST(Poses3D, OutOfRangeThrows) {
  Poses3D poses(2, 3);
  EXPECT_THROW(poses.Offset(2, 0), std::invalid_argument);
  EXPECT_THROW(poses.Offset(0, 3), std::invalid_argument);
  EXPECT_THROW(poses.Offset(-1, 0), std::invalid_argument);
  EXPECT_THROW(poses.Offset(0, -1), std::invalid_argument);
  EXPECT_THROW(poses.Position(2, 0), std::invalid_argument);
  EXPECT_THROW(poses.IsValid(0, 3), std::invalid_argument);
  EXPECT_THROW(poses.Set(0, 3, Eigen::Vector3d::Zero()), std::invalid_argument);
  EXPECT_THROW(poses.SetInvalid(-1, 0), std::invalid_argument);
  EXPECT_THROW(Poses3D(-1, 1), std::invalid_argument);
  EXPECT_THROW(Poses3D(1, -1), std::invalid_argument);
  EXPECT_NO_THROW(poses.Offset(1, 2));
  // The message names the index and the extent.
  try {
    poses.Offset(5, 1);
    FAIL();
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("(5, 1)"), std::string::npos) << message;
    EXPECT_NE(message.find("(2, 3)"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace rigpose

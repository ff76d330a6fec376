// SPDX-License-Identifier: BSD-3-Clause
#include "core/joint_names.h"

#include <gtest/gtest.h>

#include "core/skeleton.h"

namespace rigpose {
namespace {

TEST(JointNameKey, MatchesTheNamingsOfTheField) {
  EXPECT_EQ(JointNameKey("LShoulder"), JointNameKey("left_shoulder"));
  EXPECT_EQ(JointNameKey("L_Shoulder"), JointNameKey("left-shoulder"));
  EXPECT_EQ(JointNameKey("RAnkle"), JointNameKey("right_ankle"));
  EXPECT_EQ(JointNameKey("Nose"), JointNameKey("nose"));
  EXPECT_EQ(JointNameKey("Head"), JointNameKey("head_top"));
  EXPECT_NE(JointNameKey("LShoulder"), JointNameKey("RShoulder"));
  EXPECT_NE(JointNameKey("LHip"), JointNameKey("Hip"));
  // Every joint of a skeleton keeps its own key.
  for (const std::string& name : SkeletonNames()) {
    const Skeleton& skeleton = GetSkeleton(name);
    for (size_t a = 0; a < skeleton.joint_names.size(); ++a) {
      for (size_t b = a + 1; b < skeleton.joint_names.size(); ++b) {
        EXPECT_NE(JointNameKey(skeleton.joint_names[a]), JointNameKey(skeleton.joint_names[b]))
            << name << ": " << skeleton.joint_names[a] << " / " << skeleton.joint_names[b];
      }
    }
  }
}

}  // namespace
}  // namespace rigpose

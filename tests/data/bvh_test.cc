// SPDX-License-Identifier: BSD-3-Clause
#include "data/bvh.h"

#include <algorithm>
#include <cmath>

#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/test_util.h"

namespace rigpose {
namespace {

constexpr const char* kTiny =
    "HIERARCHY\nROOT Hips\n{\n OFFSET 0 0 0\n CHANNELS 6 Xposition Yposition Zposition Zrotation "
    "Yrotation Xrotation\n JOINT Leg\n {\n  OFFSET 0 -2 0\n  CHANNELS 3 Zrotation Yrotation "
    "Xrotation\n  End Site\n  {\n   OFFSET 0 -3 0\n  }\n }\n}\nMOTION\nFrames: 2\nFrame Time: "
    "0.5\n1 2 3 0 0 0 0 0 0\n0 0 0 90 0 0 0 0 90\n";

TEST(ReadBvh, TinyHierarchyAndKinematics) {
  const std::string dir = test::ScratchDir("tiny");
  test::WriteText(dir + "/t.bvh", kTiny);
  const BvhMotion m = ReadBvh(dir + "/t.bvh");
  ASSERT_EQ(m.joints.size(), 3u);
  EXPECT_EQ(m.num_channels, 9);
  EXPECT_EQ(m.num_frames, 2);
  EXPECT_EQ(m.joints[2].name, "Leg_end");
  EXPECT_EQ(m.JointIndex("Leg"), 1);
  const auto f0 = BvhForwardKinematics(m, 0);
  EXPECT_LT((f0[2] - Eigen::Vector3d(1, -3, 3)).norm(), 1e-12);
  // Frame 1: root turned 90 deg about Z maps the leg's -Y offset onto +X; the leg's own 90 deg
  // about X leaves its -Y end-site offset pointing along -Z in the leg frame, then rotated by Z.
  const auto f1 = BvhForwardKinematics(m, 1);
  EXPECT_LT((f1[1] - Eigen::Vector3d(2, 0, 0)).norm(), 1e-12) << f1[1].transpose();
  EXPECT_LT((f1[2] - Eigen::Vector3d(2, 0, -3)).norm(), 1e-12) << f1[2].transpose();
  EXPECT_THROW(BvhForwardKinematics(m, 2), std::invalid_argument);
}

TEST(ReadBvh, CmuClipBonesRigidAndFeetOnTheFloor) {
  RIGPOSE_SKIP_IF_NO_DATA(path, "cmu_mocap_fairmotion/01_01.bvh");
  const BvhMotion m = ReadBvh(path);
  EXPECT_EQ(m.num_frames, 2752);
  EXPECT_NEAR(1.0 / m.frame_time_s, 120.0, 0.01);
  const int head = m.JointIndex("Head");
  const int left_foot = m.JointIndex("LeftFoot");
  const int right_foot = m.JointIndex("RightFoot");
  ASSERT_GE(head, 0);
  ASSERT_GE(left_foot, 0);
  ASSERT_GE(right_foot, 0);
  const auto first = BvhForwardKinematics(m, 0);
  double max_bone_change = 0.0;
  double lowest_foot = 1e9;
  for (int f = 0; f < m.num_frames; f += 7) {
    const auto p = BvhForwardKinematics(m, f);
    for (size_t j = 0; j < m.joints.size(); ++j) {
      const int parent = m.joints[j].parent;
      if (parent < 0) continue;
      const double length = (p[j] - p[parent]).norm();
      max_bone_change = std::max(max_bone_change, std::abs(length - m.joints[j].offset.norm()));
    }
    lowest_foot = std::min({lowest_foot, p[left_foot].y(), p[right_foot].y()});
    // Y up: the head stays above the feet.
    EXPECT_GT(p[head].y(), std::max(p[left_foot].y(), p[right_foot].y()) + 15.0) << "frame " << f;
  }
  EXPECT_LT(max_bone_change, 1e-6);
  // Ankles ~0.7 units (4 cm) above the floor, head ~25.5 units (1.44 m) at frame 0.
  EXPECT_NEAR(first[head].y(), 25.5, 1.0);
  EXPECT_GT(lowest_foot, -0.5);
  EXPECT_LT(lowest_foot, 2.0);
}

struct BadBvh {
  std::string name;
  std::string text;
  std::string expect;
};

TEST(ReadBvh, BadInputNamesFileAndLine) {
  const std::string t = kTiny;
  const std::vector<BadBvh> cases = {
      {"missing_brace",
       std::string(t).replace(t.find(" JOINT Leg\n {"), 13, " JOINT Leg\n"),
       "expected '{'"},
      {"unknown_channel",
       std::string(t).replace(t.find("Xrotation\n  End"), 9, "Wrotation"),
       "unknown channel"},
      {"short_row",
       std::string(t).replace(t.find("1 2 3 0 0 0 0 0 0"), 17, "1 2 3 0 0 0"),
       "has 6 values"},
      {"truncated", t.substr(0, t.find("0 0 0 90")), "ends after 1 of 2 frames"},
      {"not_a_number", std::string(t).replace(t.find("1 2 3"), 1, "x"), "expected a number"},
      {"missing_joint_name", "HIERARCHY\nROOT", "unexpected end of file"},
  };
  const std::string dir = test::ScratchDir("bad");
  for (const BadBvh& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = dir + "/" + c.name + ".bvh";
    test::WriteText(path, c.text);
    try {
      ReadBvh(path);
      ADD_FAILURE() << "no error";
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find(path + ":"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(c.expect), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace rigpose

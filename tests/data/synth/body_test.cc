// SPDX-License-Identifier: BSD-3-Clause
#include "data/synth/body.h"

#include <algorithm>
#include <cmath>

#include <gtest/gtest.h>
#include <Eigen/Geometry>

#include "core/error.h"
#include "tests/test_util.h"

namespace rigpose::synth {
namespace {

int J(const char* name) { return *BodySkeleton().JointIndex(name); }

double MaxBoneChange(const Poses3D& poses, const char* a, const char* b) {
  const double first = (poses.Position(0, J(a)) - poses.Position(0, J(b))).norm();
  double worst = 0;
  for (int f = 0; f < poses.num_frames(); ++f) {
    const double length = (poses.Position(f, J(a)) - poses.Position(f, J(b))).norm();
    worst = std::max(worst, std::abs(length - first));
  }
  return worst;
}

double LowestFoot(const Poses3D& poses, int f) {
  double lowest = 1e9;
  for (const char* name : {"left_heel",
                           "right_heel",
                           "left_big_toe",
                           "right_big_toe",
                           "left_small_toe",
                           "right_small_toe"}) {
    lowest = std::min(lowest, poses.Position(f, J(name)).z());
  }
  return lowest;
}

class ProceduralMotionTest : public ::testing::TestWithParam<MotionKind> {};

TEST_P(ProceduralMotionTest, RigidBonesFeetOnTheFloorLeftIsLeft) {
  const BodyShape shape = BodyShape::FromHeight(1.8);
  ProceduralMotionOptions options;
  options.clips = {GetParam(), MotionKind::kWalk};  // includes a blend into walking
  options.clip_duration_s = 3.0;
  const Poses3D poses = ProceduralMotion(shape, options, 240, 30.0);
  ASSERT_EQ(poses.num_frames(), 240);
  ASSERT_EQ(poses.num_joints(), 26);
  EXPECT_EQ(poses.skeleton, "halpe26");
  for (const auto& [a, b] :
       std::vector<std::pair<const char*, const char*>>{{"left_hip", "left_knee"},
                                                        {"right_knee", "right_ankle"},
                                                        {"left_shoulder", "left_elbow"},
                                                        {"right_elbow", "right_wrist"},
                                                        {"left_hip", "right_hip"},
                                                        {"left_shoulder", "right_shoulder"},
                                                        {"neck", "mid_hip"},
                                                        {"left_ear", "right_ear"},
                                                        {"left_ankle", "left_heel"}}) {
    EXPECT_LT(MaxBoneChange(poses, a, b), 1e-9) << a << "-" << b;
  }
  EXPECT_NEAR((poses.Position(0, J("left_hip")) - poses.Position(0, J("left_knee"))).norm(),
              0.245 * 1.8,
              1e-12);
  double highest_lowest = 0;
  for (int f = 0; f < poses.num_frames(); ++f) {
    const double lowest = LowestFoot(poses, f);
    EXPECT_GE(lowest, -1e-9) << "frame " << f;
    highest_lowest = std::max(highest_lowest, lowest);
    // The subject's left is on the left: (left - right) . (up x forward) > 0.
    const Eigen::Vector3d forward =
        poses.Position(f, J("nose")) -
        0.5 * (poses.Position(f, J("left_ear")) + poses.Position(f, J("right_ear")));
    const Eigen::Vector3d left_dir = Eigen::Vector3d::UnitZ().cross(forward);
    EXPECT_GT((poses.Position(f, J("left_ear")) - poses.Position(f, J("right_ear"))).dot(left_dir),
              0.0);
    // Head above the hips, in a plausible range.
    EXPECT_GT(poses.Position(f, J("head_top")).z(), poses.Position(f, J("mid_hip")).z());
    EXPECT_LT(poses.Position(f, J("head_top")).z(), 2.2);
  }
  if (GetParam() == MotionKind::kJump) {
    EXPECT_GT(highest_lowest, 0.15);  // flight
    EXPECT_LT(highest_lowest, 0.4);
  } else {
    EXPECT_LT(highest_lowest, 1e-9);  // always a foot on the floor
  }
}

INSTANTIATE_TEST_SUITE_P(Clips,
                         ProceduralMotionTest,
                         ::testing::ValuesIn(AllMotionKinds()),
                         [](const ::testing::TestParamInfo<MotionKind>& param_info) {
                           return std::string(MotionKindName(param_info.param));
                         });

TEST(ProceduralMotion, WalkMovesSquatStaysAndHipsDrop) {
  const BodyShape shape = BodyShape::FromHeight(1.7);
  ProceduralMotionOptions walk;
  walk.clips = {MotionKind::kWalk};
  const Poses3D w = ProceduralMotion(shape, walk, 60, 30.0);
  const double walked = (w.Position(59, J("mid_hip")) - w.Position(0, J("mid_hip"))).norm();
  EXPECT_GT(walked, 1.0);  // ~1.1 m/s for 2 s along a circle of radius 1 m
  ProceduralMotionOptions squat;
  squat.clips = {MotionKind::kSquat};
  const Poses3D s = ProceduralMotion(shape, squat, 96, 30.0);
  double lowest_hip = 1e9;
  double ankle_drift = 0;
  for (int f = 0; f < s.num_frames(); ++f) {
    lowest_hip = std::min(lowest_hip, s.Position(f, J("mid_hip")).z());
    ankle_drift = std::max(
        ankle_drift, (s.Position(f, J("left_ankle")) - s.Position(0, J("left_ankle"))).norm());
  }
  EXPECT_LT(lowest_hip, 0.6);  // standing hip height 0.53 * 1.7 + ... ~0.9 m
  EXPECT_LT(ankle_drift, 0.05);
}

TEST(BlendPoses, HeadingTakesTheShortArc) {
  BodyPose a;
  BodyPose b;
  a.heading_rad = 3.0;
  b.heading_rad = -3.0;
  const BodyPose mid = BlendPoses(a, b, 0.5);
  EXPECT_NEAR(std::cos(mid.heading_rad), -1.0, 1e-3);
}

TEST(BvhToBody, CmuClipRigidBonesFeetOnTheFloor) {
  RIGPOSE_SKIP_IF_NO_DATA(path, "cmu_mocap_fairmotion/01_01.bvh");
  const BvhMotion motion = ReadBvh(path);
  const Poses3D poses = BvhToBody(motion, path, {}, 300, 30.0);
  ASSERT_EQ(poses.num_frames(), 300);
  for (const auto& [a, b] :
       std::vector<std::pair<const char*, const char*>>{{"left_hip", "left_knee"},
                                                        {"right_knee", "right_ankle"},
                                                        {"left_shoulder", "left_elbow"},
                                                        {"right_elbow", "right_wrist"},
                                                        {"left_ankle", "left_big_toe"}}) {
    EXPECT_LT(MaxBoneChange(poses, a, b), 1e-6) << a << "-" << b;
  }
  double lowest_ankle = 1e9;
  double highest_ankle = -1e9;
  for (int f = 0; f < poses.num_frames(); ++f) {
    const double ankle =
        std::min(poses.Position(f, J("left_ankle")).z(), poses.Position(f, J("right_ankle")).z());
    lowest_ankle = std::min(lowest_ankle, ankle);
    highest_ankle = std::max(highest_ankle, ankle);
    EXPECT_GT(poses.Position(f, J("head_top")).z(), 1.2) << f;
    EXPECT_LT(poses.Position(f, J("head_top")).z(), 2.3) << f;
    EXPECT_LT(poses.Position(f, J("left_heel")).z(), poses.Position(f, J("left_knee")).z());
  }
  // Feet near the floor: the lower ankle stays within 2-15 cm of z = 0 while standing; the clip
  // has jumps, so only the lowest value is pinned.
  EXPECT_GT(lowest_ankle, 0.0);
  EXPECT_LT(lowest_ankle, 0.15);
  // Stature: CMU units (0.056444 m) detected from the rest pose.
  const double stature = poses.Position(0, J("head_top")).z();
  EXPECT_GT(stature, 1.5);
  EXPECT_LT(stature, 1.95);
}

TEST(BvhToBody, MissingJointNamesFileAndJoint) {
  const std::string dir = test::ScratchDir("bvh");
  test::WriteText(dir + "/nofoot.bvh",
                  "HIERARCHY\nROOT Hips\n{\n OFFSET 0 0 0\n CHANNELS 6 Xposition Yposition "
                  "Zposition Zrotation Yrotation Xrotation\n JOINT LeftUpLeg\n {\n  OFFSET 0.1 0 "
                  "0\n  CHANNELS 3 Zrotation Yrotation Xrotation\n  End Site\n  {\n   OFFSET 0 "
                  "-0.9 0\n  }\n }\n}\nMOTION\nFrames: 1\nFrame Time: 0.1\n0 1 0 0 0 0 0 0 0\n");
  const BvhMotion motion = ReadBvh(dir + "/nofoot.bvh");
  try {
    BvhToBody(motion, dir + "/nofoot.bvh", {}, 10, 30.0);
    FAIL() << "expected an error";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("nofoot.bvh"), std::string::npos) << what;
    EXPECT_NE(what.find("LeftLeg"), std::string::npos) << what;
    EXPECT_NE(what.find("the file has: Hips, LeftUpLeg"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace rigpose::synth

// SPDX-License-Identifier: BSD-3-Clause
#include "core/rig.h"

#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace rigpose {
namespace {

Camera MakeCamera(const std::string& name, const Eigen::Vector3d& center_in_world) {
  Camera camera;
  camera.name = name;
  camera.model_id = CameraModelId::kPinhole;
  camera.width = 1280;
  camera.height = 720;
  camera.params = {1000.0, 1000.0, 639.5, 359.5};
  camera.cam_from_world = Rigid3d(Eigen::Quaterniond::Identity(), -center_in_world);
  return camera;
}

TEST(NormaliseCameraName, Nominal) {
  EXPECT_EQ(NormaliseCameraName("cam_01"), "1");
  EXPECT_EQ(NormaliseCameraName("Cam1"), "1");
  EXPECT_EQ(NormaliseCameraName("cam01"), "1");
  EXPECT_EQ(NormaliseCameraName("CAMERA-001"), "1");
  EXPECT_EQ(NormaliseCameraName("camera 1"), "1");
  EXPECT_EQ(NormaliseCameraName("1"), "1");
  EXPECT_EQ(NormaliseCameraName("00_03"), "0_3");
  EXPECT_EQ(NormaliseCameraName("left"), "left");
  EXPECT_EQ(NormaliseCameraName("Left"), "left");
  EXPECT_EQ(NormaliseCameraName("cam_0"), "0");
  EXPECT_EQ(NormaliseCameraName("cam_000"), "0");
  EXPECT_EQ(NormaliseCameraName("kinect2_03"), "kinect_2_3");
}

TEST(NormaliseCameraName, DistinctNumbersStayDistinct) {
  EXPECT_NE(NormaliseCameraName("cam_10"), NormaliseCameraName("cam_1"));
  EXPECT_EQ(NormaliseCameraName("cam_10"), "10");
  EXPECT_NE(NormaliseCameraName("cam_01"), NormaliseCameraName("cam_11"));
  EXPECT_NE(NormaliseCameraName("00_03"), NormaliseCameraName("0_30"));
  EXPECT_NE(NormaliseCameraName("cam01_json"), NormaliseCameraName("cam01"));
}

TEST(RigMatchCamera, Exact) {
  Rig rig;
  rig.cameras = {MakeCamera("cam_01", Eigen::Vector3d::Zero()),
                 MakeCamera("cam_02", Eigen::Vector3d::UnitX())};
  EXPECT_EQ(rig.FindCamera("cam_02"), 1);
  EXPECT_EQ(rig.MatchCamera("cam_02"), 1);
  EXPECT_EQ(rig.MatchCamera("cam_01"), 0);
  EXPECT_FALSE(rig.FindCamera("cam02").has_value());
}

TEST(RigMatchCamera, Normalised) {
  Rig rig;
  rig.cameras = {MakeCamera("cam_01", Eigen::Vector3d::Zero()),
                 MakeCamera("cam_02", Eigen::Vector3d::UnitX()),
                 MakeCamera("cam_10", Eigen::Vector3d::UnitY())};
  EXPECT_EQ(rig.MatchCamera("Cam1"), 0);
  EXPECT_EQ(rig.MatchCamera("camera02"), 1);
  EXPECT_EQ(rig.MatchCamera("10"), 2);
  EXPECT_FALSE(rig.MatchCamera("cam_3").has_value());
  EXPECT_FALSE(rig.MatchCamera("cam01_json").has_value());
  EXPECT_FALSE(Rig().MatchCamera("cam_01").has_value());
}

TEST(RigMatchCamera, Ambiguous) {
  Rig rig;
  rig.cameras = {MakeCamera("cam_01", Eigen::Vector3d::Zero()),
                 MakeCamera("Cam1", Eigen::Vector3d::UnitX()),
                 MakeCamera("cam_02", Eigen::Vector3d::UnitY())};
  EXPECT_FALSE(rig.MatchCamera("cam01").has_value());
  EXPECT_FALSE(rig.MatchCamera("1").has_value());
  // An exact name still wins over the ambiguity.
  EXPECT_EQ(rig.MatchCamera("Cam1"), 1);
  EXPECT_EQ(rig.MatchCamera("cam_01"), 0);
  EXPECT_EQ(rig.MatchCamera("2"), 2);
}

TEST(RigProblems, Nominal) {
  Rig rig;
  rig.cameras = {MakeCamera("a", Eigen::Vector3d::Zero()),
                 MakeCamera("b", Eigen::Vector3d::UnitX())};
  EXPECT_TRUE(rig.Problems().empty());
  EXPECT_EQ(rig.CameraNames(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(rig.NumCameras(), 2);
}

TEST(RigProblems, DuplicateNames) {
  Rig rig;
  rig.cameras = {MakeCamera("cam_01", Eigen::Vector3d::Zero()),
                 MakeCamera("cam_02", Eigen::Vector3d::UnitX()),
                 MakeCamera("cam_01", Eigen::Vector3d::UnitY())};
  const std::vector<std::string> problems = rig.Problems();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("cam_01"), std::string::npos) << problems[0];
  EXPECT_NE(problems[0].find("duplicate"), std::string::npos) << problems[0];
}

TEST(RigProblems, EmptyNameAndCameraProblemsPrefixed) {
  Rig rig;
  rig.cameras = {MakeCamera("", Eigen::Vector3d::Zero()),
                 MakeCamera("bad", Eigen::Vector3d::UnitX())};
  rig.cameras[1].params[0] = -1.0;
  const std::vector<std::string> problems = rig.Problems();
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_NE(problems[0].find("empty name"), std::string::npos) << problems[0];
  EXPECT_EQ(problems[1].rfind("camera 'bad': ", 0), 0u) << problems[1];
  EXPECT_NE(problems[1].find("fx"), std::string::npos) << problems[1];
}

TEST(RigMaxCameraSeparation, Nominal) {
  Rig rig;
  EXPECT_EQ(rig.MaxCameraSeparation(), 0.0);
  rig.cameras = {MakeCamera("a", Eigen::Vector3d(1, 0, 0))};
  EXPECT_EQ(rig.MaxCameraSeparation(), 0.0);
  rig.cameras.push_back(MakeCamera("b", Eigen::Vector3d(-2, 0, 0)));
  rig.cameras.push_back(MakeCamera("c", Eigen::Vector3d(0, 1, 0)));
  EXPECT_NEAR(rig.MaxCameraSeparation(), 3.0, 1e-15);
  // Rotation does not move the centre.
  rig.cameras[2].cam_from_world =
      Rigid3d(Eigen::Quaterniond(Eigen::AngleAxisd(1.0, Eigen::Vector3d::UnitZ())),
              Eigen::Vector3d::Zero());
  rig.cameras[2].cam_from_world.translation =
      -(rig.cameras[2].cam_from_world.rotation * Eigen::Vector3d(0, 5, 0));
  EXPECT_NEAR(rig.MaxCameraSeparation(), std::hypot(2.0, 5.0), 1e-14);
}

}  // namespace
}  // namespace rigpose

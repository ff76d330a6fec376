// SPDX-License-Identifier: BSD-3-Clause
#include "core/camera.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <Eigen/Core>

namespace rigpose {
namespace {

Camera PinholeCamera() {
  Camera camera;
  camera.name = "cam_01";
  camera.model_id = CameraModelId::kPinhole;
  camera.width = 1920;
  camera.height = 1080;
  camera.params = {1400.0, 1410.0, 959.5, 539.5};
  return camera;
}

Camera OpenCVCamera() {
  Camera camera = PinholeCamera();
  camera.model_id = CameraModelId::kOpenCV;
  camera.params = {1400.0, 1410.0, 955.0, 542.0, -0.2, 0.05, 1e-3, -5e-4, 0.0};
  return camera;
}

Camera FisheyeCamera() {
  Camera camera = PinholeCamera();
  camera.model_id = CameraModelId::kOpenCVFisheye;
  camera.params = {900.0, 900.0, 959.5, 539.5, 0.02, -0.01, 0.005, -0.001};
  return camera;
}

bool AnyContains(const std::vector<std::string>& problems, const std::string& needle) {
  for (const std::string& p : problems) {
    if (p.find(needle) != std::string::npos) return true;
  }
  return false;
}

TEST(CameraProblems, Nominal) {
  EXPECT_TRUE(PinholeCamera().Problems().empty());
  EXPECT_TRUE(OpenCVCamera().Problems().empty());
  EXPECT_TRUE(FisheyeCamera().Problems().empty());
}

TEST(CameraProblems, WrongParamsCount) {
  Camera camera = OpenCVCamera();
  camera.params.pop_back();
  std::vector<std::string> problems = camera.Problems();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("needs 9 parameters, got 8"), std::string::npos) << problems[0];
  camera.params.clear();
  EXPECT_FALSE(camera.Problems().empty());
  // Pinhole parameters for a fisheye model.
  Camera fisheye = FisheyeCamera();
  fisheye.params = PinholeCamera().params;
  problems = fisheye.Problems();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("OPENCV_FISHEYE"), std::string::npos) << problems[0];
}

TEST(CameraProblems, NonFiniteParam) {
  for (double bad :
       {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
    for (size_t i = 0; i < OpenCVCamera().params.size(); ++i) {
      Camera camera = OpenCVCamera();
      camera.params[i] = bad;
      const std::vector<std::string> problems = camera.Problems();
      ASSERT_EQ(problems.size(), 1u) << i;
      EXPECT_NE(problems[0].find(CameraModelParamNames(camera.model_id)[i] + " is not finite"),
                std::string::npos)
          << problems[0];
    }
  }
}

TEST(CameraProblems, NonPositiveFocal) {
  for (double bad : {0.0, -3.0}) {
    Camera camera = PinholeCamera();
    camera.params[0] = bad;
    std::vector<std::string> problems = camera.Problems();
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_NE(problems[0].find("fx"), std::string::npos) << problems[0];
    EXPECT_NE(problems[0].find("must be > 0"), std::string::npos) << problems[0];
    camera = PinholeCamera();
    camera.params[1] = bad;
    problems = camera.Problems();
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_NE(problems[0].find("fy"), std::string::npos) << problems[0];
  }
}

TEST(CameraProblems, NonPositiveImageSize) {
  for (const auto& [width, height] :
       std::vector<std::pair<int, int>>{{0, 1080}, {-1920, 1080}, {1920, 0}, {1920, -1}}) {
    Camera camera = PinholeCamera();
    camera.width = width;
    camera.height = height;
    const std::vector<std::string> problems = camera.Problems();
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_NE(problems[0].find("image size"), std::string::npos) << problems[0];
  }
}

TEST(CameraProblems, NonFinitePose) {
  Camera camera = PinholeCamera();
  camera.cam_from_world.translation.y() = std::numeric_limits<double>::quiet_NaN();
  EXPECT_TRUE(AnyContains(camera.Problems(), "pose is not finite"));
  camera = PinholeCamera();
  camera.cam_from_world.rotation.w() = std::numeric_limits<double>::infinity();
  EXPECT_TRUE(AnyContains(camera.Problems(), "pose is not finite"));
}

TEST(CameraProblems, SeveralDefectsListed) {
  Camera camera = PinholeCamera();
  camera.params[0] = -1.0;
  camera.params[3] = std::numeric_limits<double>::quiet_NaN();
  camera.width = 0;
  const std::vector<std::string> problems = camera.Problems();
  EXPECT_EQ(problems.size(), 3u);
  EXPECT_TRUE(AnyContains(problems, "fx"));
  EXPECT_TRUE(AnyContains(problems, "cy is not finite"));
  EXPECT_TRUE(AnyContains(problems, "image size"));
}

TEST(Camera, Accessors) {
  const Camera camera = OpenCVCamera();
  EXPECT_EQ(camera.fx(), 1400.0);
  EXPECT_EQ(camera.fy(), 1410.0);
  EXPECT_EQ(camera.cx(), 955.0);
  EXPECT_EQ(camera.cy(), 542.0);
  EXPECT_EQ(camera.DistortionParams(), (std::vector<double>{-0.2, 0.05, 1e-3, -5e-4, 0.0}));
  EXPECT_TRUE(PinholeCamera().DistortionParams().empty());
  Eigen::Matrix3d k;
  k << 1400, 0, 955, 0, 1410, 542, 0, 0, 1;
  EXPECT_EQ(camera.CalibrationMatrix(), k);
}

TEST(CameraCenterInWorld, Nominal) {
  Camera camera = PinholeCamera();
  const Eigen::Vector3d center_in_world(1.0, -2.0, 3.5);
  const Eigen::Quaterniond cam_from_world_rotation(
      Eigen::AngleAxisd(0.7, Eigen::Vector3d(1, 2, -1).normalized()));
  // t = -R c.
  camera.cam_from_world =
      Rigid3d(cam_from_world_rotation, -(cam_from_world_rotation * center_in_world));
  EXPECT_LT((camera.CenterInWorld() - center_in_world).norm(), 1e-14);
  // The centre maps to the camera origin.
  EXPECT_LT((camera.cam_from_world * camera.CenterInWorld()).norm(), 1e-14);
  EXPECT_EQ(PinholeCamera().CenterInWorld(), Eigen::Vector3d::Zero());
}

TEST(CameraImgFromWorld, MatchesImgFromCam) {
  Camera camera = OpenCVCamera();
  camera.cam_from_world =
      Rigid3d::FromRodrigues(Eigen::Vector3d(0.1, -0.2, 0.05), Eigen::Vector3d(0.3, 0.1, 4.0));
  const Eigen::Vector3d point3D_in_world(0.2, -0.4, 1.0);
  const std::optional<Eigen::Vector2d> from_world = camera.ImgFromWorld(point3D_in_world);
  const std::optional<Eigen::Vector2d> from_cam =
      camera.ImgFromCam(camera.cam_from_world * point3D_in_world);
  ASSERT_TRUE(from_world && from_cam);
  EXPECT_EQ(*from_world, *from_cam);
  // Behind the camera in world terms.
  EXPECT_FALSE(camera
                   .ImgFromWorld(camera.CenterInWorld() - camera.cam_from_world.Inverse().rotation *
                                                              Eigen::Vector3d::UnitZ())
                   .has_value());
}

// From the definition in camera.cc: atan of the normalised x of the border pixels -0.5 and
// width - 0.5 through the principal point.
TEST(CameraHorizontalFovDeg, Pinhole) {
  Camera camera = PinholeCamera();
  const double expected_deg = (std::atan((camera.width - 0.5 - camera.cx()) / camera.fx()) -
                               std::atan((-0.5 - camera.cx()) / camera.fx())) *
                              180.0 / M_PI;
  EXPECT_NEAR(camera.HorizontalFovDeg(), expected_deg, 1e-12);
  // cx = (W - 1) / 2: symmetric, 2 atan(W / 2 / fx).
  ASSERT_EQ(camera.cx(), 0.5 * (camera.width - 1));
  EXPECT_NEAR(camera.HorizontalFovDeg(),
              2.0 * std::atan(camera.width / 2.0 / camera.fx()) * 180.0 / M_PI,
              1e-12);
  // A 90 degree lens.
  camera.params[0] = camera.width / 2.0;
  EXPECT_NEAR(camera.HorizontalFovDeg(), 90.0, 1e-12);
  // Off-centre principal point.
  camera.params[2] = 800.0;
  EXPECT_NEAR(camera.HorizontalFovDeg(),
              (std::atan((camera.width - 0.5 - 800.0) / camera.fx()) -
               std::atan((-0.5 - 800.0) / camera.fx())) *
                  180.0 / M_PI,
              1e-12);
}

TEST(CameraHorizontalFovDeg, Distorted) {
  // Barrel distortion widens the field of view over the same sensor.
  Camera barrel = PinholeCamera();
  barrel.model_id = CameraModelId::kOpenCV;
  barrel.params = {1400.0, 1410.0, 959.5, 539.5, -0.2, 0.0, 0.0, 0.0, 0.0};
  EXPECT_GT(barrel.HorizontalFovDeg(), PinholeCamera().HorizontalFovDeg());
  // An equidistant fisheye with no polynomial terms: angle = radius / f.
  Camera fisheye = FisheyeCamera();
  fisheye.params = {900.0, 900.0, 959.5, 539.5, 0.0, 0.0, 0.0, 0.0};
  EXPECT_NEAR(fisheye.HorizontalFovDeg(), 2.0 * 960.0 / 900.0 * 180.0 / M_PI, 1e-9);
}

TEST(CameraMaxDistortionPx, PinholeIsZero) { EXPECT_EQ(PinholeCamera().MaxDistortionPx(), 0.0); }

TEST(CameraMaxDistortionPx, Distorted) {
  EXPECT_GT(OpenCVCamera().MaxDistortionPx(), 1.0);
  EXPECT_GT(FisheyeCamera().MaxDistortionPx(), 1.0);
  // Zero coefficients distort nothing.
  Camera opencv_zero = OpenCVCamera();
  opencv_zero.params = {1400.0, 1410.0, 955.0, 542.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  EXPECT_NEAR(opencv_zero.MaxDistortionPx(), 0.0, 1e-9);
  // Radial only, centred: worst at the corners, where the pinhole position is known in closed
  // form from the undistorted radius.
  Camera radial = PinholeCamera();
  radial.model_id = CameraModelId::kOpenCV;
  radial.params = {1000.0, 1000.0, 959.5, 539.5, -0.1, 0.0, 0.0, 0.0, 0.0};
  const double corner_rd = std::hypot(960.0, 540.0) / 1000.0;
  // Solve r (1 - 0.1 r^2) = rd by bisection.
  double lo = 0.0;
  double hi = 2.0;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    (mid * (1.0 - 0.1 * mid * mid) < corner_rd ? lo : hi) = mid;
  }
  EXPECT_NEAR(radial.MaxDistortionPx(), 1000.0 * (lo - corner_rd), 1e-6);
}

}  // namespace
}  // namespace rigpose

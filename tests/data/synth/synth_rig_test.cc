// SPDX-License-Identifier: BSD-3-Clause
#include "data/synth/synth_rig.h"

#include <set>

#include <gtest/gtest.h>

#include "core/error.h"

namespace rigpose::synth {
namespace {

struct RigCase {
  RigLayout layout;
  int num_cameras;
  const char* resolution;
  int num_fisheye;
};

class MakeSynthRigTest : public ::testing::TestWithParam<RigCase> {};

TEST_P(MakeSynthRigTest, EveryCameraFramesTheVolumeWithRealisticIntrinsics) {
  const RigCase rc = GetParam();
  SynthRigOptions options;
  options.layout = rc.layout;
  options.num_cameras = rc.num_cameras;
  options.resolution = rc.resolution;
  options.num_fisheye = rc.num_fisheye;
  options.seed = 7;
  const Rig rig = MakeSynthRig(options);
  ASSERT_EQ(rig.NumCameras(), rc.num_cameras);
  EXPECT_TRUE(rig.Problems().empty());
  std::set<std::string> names;
  std::set<int> widths;
  for (const Camera& camera : rig.cameras) {
    names.insert(camera.name);
    widths.insert(camera.width);
    EXPECT_TRUE(camera.width == 1280 || camera.width == 1920) << camera.name;
    const bool fisheye = camera.model_id == CameraModelId::kOpenCVFisheye;
    if (!fisheye) {
      EXPECT_GE(camera.fx(), 800.0) << camera.name;
      EXPECT_LE(camera.fx(), 2200.0) << camera.name;
      ASSERT_EQ(camera.model_id, CameraModelId::kOpenCV);
      EXPECT_GE(camera.params[4], options.k1_min);
      EXPECT_LE(camera.params[4], options.k1_max);
    }
    // The centre of the volume and its floor centre project inside the image.
    for (const Eigen::Vector3d& p : {Eigen::Vector3d(0, 0, 1.0), Eigen::Vector3d(0, 0, 0.0)}) {
      const auto img = camera.ImgFromWorld(p);
      ASSERT_TRUE(img.has_value()) << camera.name;
      EXPECT_TRUE(camera.IsInImage(*img)) << camera.name << " " << img->transpose();
    }
    // Undistortion converges over the whole image (no fold inside it); a fisheye's corners may
    // lie beyond its 180 deg field of view.
    for (const Eigen::Vector2d& corner :
         {Eigen::Vector2d(0, 0), Eigen::Vector2d(camera.width - 1, camera.height - 1)}) {
      if (!fisheye) {
        EXPECT_TRUE(camera.CamRayFromImg(corner).has_value()) << camera.name;
      }
    }
    EXPECT_GT(camera.CenterInWorld().z(), 0.2);
    EXPECT_GT(camera.CenterInWorld().head<2>().norm(), options.volume_radius_m);
  }
  EXPECT_EQ(static_cast<int>(names.size()), rc.num_cameras);
  if (std::string(rc.resolution) == "mixed" && rc.num_cameras >= 16) {
    EXPECT_EQ(widths.size(), 2u);
  }
  int fisheye = 0;
  for (const Camera& camera : rig.cameras)
    fisheye += camera.model_id == CameraModelId::kOpenCVFisheye;
  EXPECT_EQ(fisheye, rc.num_fisheye);
}

INSTANTIATE_TEST_SUITE_P(Layouts,
                         MakeSynthRigTest,
                         ::testing::Values(RigCase{RigLayout::kRing, 2, "720p", 0},
                                           RigCase{RigLayout::kRing, 4, "720p", 1},
                                           RigCase{RigLayout::kRing, 64, "1080p", 0},
                                           RigCase{RigLayout::kDome, 17, "mixed", 3},
                                           RigCase{RigLayout::kDome, 64, "mixed", 0},
                                           RigCase{RigLayout::kRandom, 9, "720p", 2},
                                           RigCase{RigLayout::kRandom, 32, "mixed", 0}));

TEST(MakeSynthRig, SameSeedSameRigOtherSeedOtherRig) {
  SynthRigOptions options;
  options.num_cameras = 6;
  const Rig a = MakeSynthRig(options);
  const Rig b = MakeSynthRig(options);
  options.seed = 2;
  const Rig c = MakeSynthRig(options);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(a.cameras[i].params, b.cameras[i].params);
    EXPECT_EQ(a.cameras[i].cam_from_world.translation, b.cameras[i].cam_from_world.translation);
    EXPECT_NE(a.cameras[i].params, c.cameras[i].params);
  }
}

TEST(MakeSynthRig, PinholeWhenDistortionIsOff) {
  SynthRigOptions options;
  options.distortion = false;
  for (const Camera& camera : MakeSynthRig(options).cameras) {
    EXPECT_EQ(camera.model_id, CameraModelId::kPinhole);
  }
}

TEST(MakeSynthRig, BadArgs) {
  const auto expect_problem = [](const SynthRigOptions& o, const std::string& word) {
    try {
      MakeSynthRig(o);
      ADD_FAILURE() << "no error for " << word;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(word), std::string::npos) << e.what();
    }
  };
  SynthRigOptions o;
  o.num_cameras = 0;
  expect_problem(o, "number of cameras 0");
  o.num_cameras = 65;
  expect_problem(o, "number of cameras 65");
  o = SynthRigOptions();
  o.resolution = "huge";
  expect_problem(o, "resolution 'huge'");
  o = SynthRigOptions();
  o.radius_m = 1.0;
  expect_problem(o, "camera radius");
  o = SynthRigOptions();
  o.num_fisheye = 5;
  expect_problem(o, "fisheye");
  o = SynthRigOptions();
  o.k1_min = 0.2;
  o.k1_max = -0.2;
  expect_problem(o, "k1 range");
}

TEST(ParseResolution, NamesAndSizes) {
  EXPECT_EQ(*ParseResolution("720p"), Eigen::Vector2i(1280, 720));
  EXPECT_EQ(*ParseResolution("1080p"), Eigen::Vector2i(1920, 1080));
  EXPECT_EQ(*ParseResolution("640x480"), Eigen::Vector2i(640, 480));
  EXPECT_FALSE(ParseResolution("640x"));
  EXPECT_FALSE(ParseResolution("mixed"));
  EXPECT_FALSE(ParseResolution("4x4"));
}

TEST(LookAt, TargetOnTheOpticalAxisAndImageXHorizontal) {
  const Eigen::Vector3d center(3, -2, 2.5);
  const Eigen::Vector3d target(0.2, 0.1, 1.0);
  const Rigid3d cam_from_world = LookAt(center, target);
  const Eigen::Vector3d t = cam_from_world * target;
  EXPECT_NEAR(t.x(), 0.0, 1e-12);
  EXPECT_NEAR(t.y(), 0.0, 1e-12);
  EXPECT_GT(t.z(), 0.0);
  // The camera's x axis has no vertical component; y points down in the world.
  const Eigen::Matrix3d world_from_cam = cam_from_world.RotationMatrix().transpose();
  EXPECT_NEAR(world_from_cam.col(0).z(), 0.0, 1e-12);
  EXPECT_LT(world_from_cam.col(1).z(), 0.0);
}

}  // namespace
}  // namespace rigpose::synth

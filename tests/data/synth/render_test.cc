// SPDX-License-Identifier: BSD-3-Clause
#include "data/synth/render.h"

#include <cmath>

#include <gtest/gtest.h>
#include <Eigen/Geometry>

#include "data/synth/synth_random.h"
#include "data/synth/synth_rig.h"

namespace rigpose::synth {
namespace {

using Eigen::Vector3d;

Camera TestCamera(CameraModelId model, const Vector3d& center, const Vector3d& target) {
  Camera camera;
  camera.name = "cam";
  camera.model_id = model;
  camera.width = 640;
  camera.height = 480;
  switch (model) {
    case CameraModelId::kPinhole:
      camera.params = {600, 600, 319.5, 239.5};
      break;
    case CameraModelId::kOpenCV:
      camera.params = {600, 602, 322, 236, -0.3, 0.08, 4e-4, -3e-4, 0};
      break;
    case CameraModelId::kOpenCVFisheye:
      camera.params = {380, 380, 320, 240, 0.03, -0.01, 0.002, -0.001};
      break;
  }
  camera.cam_from_world = LookAt(center, target);
  return camera;
}

TEST(IntersectCapsule, AgreesWithRayMarching) {
  Rng rng(3);
  int hits = 0;
  for (int trial = 0; trial < 250; ++trial) {
    Capsule c;
    c.a = Vector3d(rng.Uniform(-1, 1), rng.Uniform(-1, 1), rng.Uniform(4, 6));
    c.b =
        trial % 7 == 0 ? c.a : Vector3d(rng.Uniform(-1, 1), rng.Uniform(-1, 1), rng.Uniform(4, 6));
    c.radius = rng.Uniform(0.05, 0.5);
    const Vector3d d = Vector3d(rng.Uniform(-0.25, 0.25), rng.Uniform(-0.25, 0.25), 1).normalized();
    const auto t = IntersectCapsule(Vector3d::Zero(), d, c);
    // March from the origin in 0.2 mm steps to the first point inside the capsule.
    double marched = -1;
    for (double s = 0; s < 10; s += 2e-4) {
      const Vector3d p = s * d;
      const Vector3d ab = c.b - c.a;
      const double len2 = ab.squaredNorm();
      const double u = len2 > 0 ? std::clamp((p - c.a).dot(ab) / len2, 0.0, 1.0) : 0.0;
      if ((p - (c.a + u * ab)).norm() <= c.radius) {
        marched = s;
        break;
      }
    }
    if (marched < 0) {
      EXPECT_FALSE(t.has_value()) << trial;
    } else {
      ASSERT_TRUE(t.has_value()) << trial;
      EXPECT_NEAR(*t, marched, 3e-4) << trial;
      ++hits;
    }
  }
  EXPECT_GT(hits, 25);
}

TEST(CameraRays, BearingsReprojectToTheirPixels) {
  for (CameraModelId model :
       {CameraModelId::kPinhole, CameraModelId::kOpenCV, CameraModelId::kOpenCVFisheye}) {
    const Camera camera = TestCamera(model, Vector3d(4, 0, 1.5), Vector3d(0, 0, 1));
    const CameraRays rays(camera);
    double worst = 0;
    for (int v = 0; v < camera.height; v += 7) {
      for (int u = 0; u < camera.width; u += 5) {
        ASSERT_GT(rays.Pixel(u, v).norm(), 0.5f);
        const auto img_pixel = camera.ImgFromCam(rays.At(u, v));
        const auto img_sub = camera.ImgFromCam(rays.At(u + 0.3, v - 0.2));
        worst = std::max(worst, (*img_pixel - Eigen::Vector2d(u, v)).norm());
        worst = std::max(worst, (*img_sub - Eigen::Vector2d(u + 0.3, v - 0.2)).norm());
      }
    }
    EXPECT_LT(worst, 0.01) << "model " << static_cast<int>(model);
  }
}

// A standing subject facing +X at the origin.
std::vector<Vector3d> StandingJoints(const BodyShape& shape) {
  BodyPose pose;
  for (int s = 0; s < 2; ++s) {
    pose.shoulder_abd[s] = 0.1;
    pose.hip_abd[s] = 0.05;
  }
  return BodyJoints(shape, pose);
}

int Joint(const char* name) { return *BodySkeleton().JointIndex(name); }

TEST(JointVisibility, ArmInFrontOfTheTorsoHidesTheHip) {
  const BodyShape shape = BodyShape::FromHeight(1.75);
  std::vector<Vector3d> joints = StandingJoints(shape);
  // The left forearm crosses in front of the belly at hip height, its hand in front of the right
  // hip; the camera faces the subject at hip height.
  const Vector3d right_hip = joints[Joint("right_hip")];
  const Vector3d left_hip = joints[Joint("left_hip")];
  joints[Joint("left_elbow")] = left_hip + Vector3d(0.28, 0.08, 0.05);
  joints[Joint("left_wrist")] = right_hip + Vector3d(0.28, -0.02, 0.0);
  const std::vector<Capsule> capsules = BodyCapsules(shape, Appearance(), joints, 0);
  const Camera camera = TestCamera(
      CameraModelId::kOpenCV, Vector3d(4, 0, right_hip.z()), Vector3d(0, 0, right_hip.z()));
  EXPECT_EQ(JointVisibility(camera, capsules, right_hip), 1);
  EXPECT_EQ(JointVisibility(camera, capsules, joints[Joint("left_wrist")]), 2);
  EXPECT_EQ(JointVisibility(camera, capsules, joints[Joint("left_elbow")]), 2);
  EXPECT_EQ(JointVisibility(camera, capsules, joints[Joint("nose")]), 2);
  EXPECT_EQ(JointVisibility(camera, capsules, joints[Joint("left_eye")]), 2);
  EXPECT_EQ(JointVisibility(camera, capsules, joints[Joint("right_knee")]), 2);
  // Without the arm across, the right hip is visible.
  const std::vector<Capsule> relaxed = BodyCapsules(shape, Appearance(), StandingJoints(shape), 0);
  EXPECT_EQ(JointVisibility(camera, relaxed, right_hip), 2);
}

TEST(JointVisibility, FarSideHiddenFromTheSideFaceHiddenFromBehind) {
  const BodyShape shape = BodyShape::FromHeight(1.75);
  const std::vector<Vector3d> joints = StandingJoints(shape);
  const std::vector<Capsule> capsules = BodyCapsules(shape, Appearance(), joints, 0);
  // A camera on the subject's right (-Y): the left arm, leg and eye are behind the body.
  const Camera side =
      TestCamera(CameraModelId::kPinhole, Vector3d(0, -4, 1.0), Vector3d(0, 0, 1.0));
  for (const char* hidden : {"left_elbow",
                             "left_wrist",
                             "left_knee",
                             "left_ankle",
                             "left_eye",
                             "left_ear",
                             "left_shoulder"}) {
    EXPECT_EQ(JointVisibility(side, capsules, joints[Joint(hidden)]), 1) << hidden;
  }
  for (const char* seen : {"right_elbow",
                           "right_wrist",
                           "right_knee",
                           "right_ankle",
                           "right_eye",
                           "right_ear",
                           "right_shoulder",
                           "nose"}) {
    EXPECT_EQ(JointVisibility(side, capsules, joints[Joint(seen)]), 2) << seen;
  }
  // From behind (-X) the face is hidden, the ears are not.
  const Camera back =
      TestCamera(CameraModelId::kPinhole, Vector3d(-4, 0, 1.6), Vector3d(0, 0, 1.2));
  EXPECT_EQ(JointVisibility(back, capsules, joints[Joint("nose")]), 1);
  EXPECT_EQ(JointVisibility(back, capsules, joints[Joint("left_eye")]), 1);
  EXPECT_EQ(JointVisibility(back, capsules, joints[Joint("left_ear")]), 2);
  // Out of the image: a camera looking away.
  const Camera away =
      TestCamera(CameraModelId::kPinhole, Vector3d(-4, 0, 1.6), Vector3d(-8, 0, 1.6));
  EXPECT_EQ(JointVisibility(away, capsules, joints[Joint("nose")]), 0);
}

TEST(RenderCapsules, DepthBufferAgreesWithVisibility) {
  const BodyShape shape = BodyShape::FromHeight(1.75);
  const std::vector<Vector3d> joints = StandingJoints(shape);
  const std::vector<Capsule> capsules = BodyCapsules(shape, Appearance(), joints, 0);
  int checked = 0;
  for (const Vector3d& center :
       {Vector3d(0, -4, 1.0), Vector3d(4, 0.5, 1.2), Vector3d(-3, 3, 2.0)}) {
    const Camera camera = TestCamera(CameraModelId::kOpenCV, center, Vector3d(0, 0, 1.0));
    const CameraRays rays(camera);
    cv::Mat image(camera.height, camera.width, CV_8UC3, cv::Scalar(0, 0, 0));
    cv::Mat depth;
    RenderCapsules(camera, rays, capsules, Lighting(), &image, &depth);
    EXPECT_GT(cv::countNonZero(depth < 1e6f), 2000);
    for (const Vector3d& joint : joints) {
      const int visibility = JointVisibility(camera, capsules, joint);
      if (visibility == 0) continue;
      const Eigen::Vector2d img = *camera.ImgFromWorld(joint);
      const float z = depth.at<float>(static_cast<int>(std::lround(img.y())),
                                      static_cast<int>(std::lround(img.x())));
      const double distance = (joint - camera.CenterInWorld()).norm();
      // The surface drawn at a joint's pixel: within its limb's radius in front when visible,
      // clearly in front when hidden (the pixel is rounded: 1 cm of slack).
      double own_radius = 0.0;
      for (const Capsule& c : capsules) {
        const Vector3d ab = c.b - c.a;
        const double len2 = ab.squaredNorm();
        const double u = len2 > 0 ? std::clamp((joint - c.a).dot(ab) / len2, 0.0, 1.0) : 0.0;
        if ((joint - (c.a + u * ab)).norm() < c.radius) own_radius = std::max(own_radius, c.radius);
      }
      if (visibility == 2) {
        EXPECT_GT(z, distance - own_radius - 0.01) << camera.CenterInWorld().transpose();
      } else {
        EXPECT_LT(z, distance - 0.01);
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 50);
}

TEST(RenderRoom, TexturedAndDeterministic) {
  const Camera camera = TestCamera(CameraModelId::kOpenCV, Vector3d(4, 1, 2), Vector3d(0, 0, 1));
  const CameraRays rays(camera);
  const cv::Mat a = RenderRoom(camera, rays, RandomRoom(5, 7.0), Lighting());
  const cv::Mat b = RenderRoom(camera, rays, RandomRoom(5, 7.0), Lighting());
  const cv::Mat c = RenderRoom(camera, rays, RandomRoom(6, 7.0), Lighting());
  EXPECT_EQ(cv::norm(a, b, cv::NORM_INF), 0.0);
  EXPECT_GT(cv::norm(a, c, cv::NORM_L1) / a.total(), 5.0);
  cv::Scalar mean, stddev;
  cv::meanStdDev(a, mean, stddev);
  EXPECT_GT(stddev[0] + stddev[1] + stddev[2], 15.0);  // textured, not flat
}

TEST(ApplySensor, NoiseAndBlurAreDeterministicAndSized) {
  cv::Mat flat(200, 300, CV_8UC3, cv::Scalar(100, 120, 140));
  SensorOptions options;
  options.blur_sigma_px = 0.0;
  options.noise_sigma = 3.0;
  cv::Mat a = flat.clone();
  cv::Mat b = flat.clone();
  cv::Mat c = flat.clone();
  ApplySensor(options, 1, &a);
  ApplySensor(options, 1, &b);
  ApplySensor(options, 2, &c);
  EXPECT_EQ(cv::norm(a, b, cv::NORM_INF), 0.0);
  EXPECT_GT(cv::norm(a, c, cv::NORM_INF), 0.0);
  cv::Mat signed_diff;
  cv::subtract(a, flat, signed_diff, cv::noArray(), CV_32F);
  cv::Scalar mean, stddev;
  cv::meanStdDev(signed_diff.reshape(1), mean, stddev);
  EXPECT_NEAR(stddev[0], 3.0, 0.3);
  EXPECT_NEAR(mean[0], 0.0, 0.2);
  options.jpeg_quality = 50;
  cv::Mat d = flat.clone();
  ApplySensor(options, 1, &d);
  EXPECT_EQ(d.size(), flat.size());
  EXPECT_EQ(d.type(), CV_8UC3);
}

}  // namespace
}  // namespace rigpose::synth

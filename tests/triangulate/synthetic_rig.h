// SPDX-License-Identifier: BSD-3-Clause
// Synthetic ground truth for the triangulation tests: a ring of cameras around a capture volume
// (z up, metres), alternating OPENCV (mild distortion) and PINHOLE models, and random points.
#pragma once

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <Eigen/Geometry>

#include "core/camera.h"
#include "core/keypoints.h"

namespace rigpose::test {

// cam_from_world of a camera at center_in_world looking at target_in_world, image y pointing
// down along world -z (the world is z up).
inline Rigid3d LookAt(const Eigen::Vector3d& center_in_world, const Eigen::Vector3d& target) {
  const Eigen::Vector3d forward = (target - center_in_world).normalized();
  const Eigen::Vector3d right = forward.cross(Eigen::Vector3d::UnitZ()).normalized();
  const Eigen::Vector3d down = forward.cross(right);
  Eigen::Matrix3d world_from_cam;
  world_from_cam << right, down, forward;
  const Eigen::Matrix3d cam_from_world = world_from_cam.transpose();
  return Rigid3d::FromMatrix(cam_from_world, -cam_from_world * center_in_world);
}

inline Camera SyntheticCamera(int index,
                              const Eigen::Vector3d& center_in_world,
                              std::mt19937* rng) {
  std::uniform_real_distribution<double> jitter(-0.3, 0.3);
  Camera camera;
  camera.name = "cam" + std::to_string(index);
  camera.width = 1920;
  camera.height = 1080;
  const double focal = 1400 + 100 * jitter(*rng);
  if (index % 2 == 0) {
    camera.model_id = CameraModelId::kOpenCV;
    camera.params = {focal,
                     focal * 1.001,
                     960 + 10 * jitter(*rng),
                     540 + 10 * jitter(*rng),
                     -0.12 + 0.1 * jitter(*rng),
                     0.03,
                     1e-3 * jitter(*rng),
                     -1e-3 * jitter(*rng),
                     -0.005};
  } else {
    camera.model_id = CameraModelId::kPinhole;
    camera.params = {focal, focal, 960 + 10 * jitter(*rng), 540 + 10 * jitter(*rng)};
  }
  const Eigen::Vector3d target(jitter(*rng), jitter(*rng), 1.0 + jitter(*rng));
  camera.cam_from_world = LookAt(center_in_world, target);
  return camera;
}

// num_cameras on a ring of radius 4.5-5.5 m at heights 1-3 m around the volume
// [-1, 1] x [-1, 1] x [0, 2] m.
inline std::vector<Camera> SyntheticRig(int num_cameras, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<Camera> cameras;
  for (int i = 0; i < num_cameras; ++i) {
    const double angle = 2.0 * 3.14159265358979323846 * (i + 0.3 * unit(rng)) / num_cameras;
    const double radius = 4.5 + unit(rng);
    const Eigen::Vector3d center(
        radius * std::cos(angle), radius * std::sin(angle), 1.0 + 2.0 * unit(rng));
    cameras.push_back(SyntheticCamera(i, center, &rng));
  }
  return cameras;
}

inline std::vector<Eigen::Vector3d> RandomPoints(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> xy(-1.0, 1.0);
  std::uniform_real_distribution<double> z(0.0, 2.0);
  std::vector<Eigen::Vector3d> points;
  for (int i = 0; i < n; ++i) points.emplace_back(xy(rng), xy(rng), z(rng));
  return points;
}

inline std::vector<Rigid3d> Poses(const std::vector<Camera>& cameras) {
  std::vector<Rigid3d> poses;
  for (const Camera& camera : cameras) poses.push_back(camera.cam_from_world);
  return poses;
}

// Keypoints of points_in_world[frame * num_joints + joint] in every camera, score 1, plus
// Gaussian pixel noise of noise_px (0: exact up to float rounding).
inline Keypoints2D ProjectKeypoints(const std::vector<Camera>& cameras,
                                    const std::vector<Eigen::Vector3d>& points_in_world,
                                    int num_frames,
                                    int num_joints,
                                    double noise_px,
                                    uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, noise_px > 0 ? noise_px : 1.0);
  const int num_cameras = static_cast<int>(cameras.size());
  Keypoints2D keypoints(num_frames, num_cameras, num_joints);
  for (int f = 0; f < num_frames; ++f) {
    for (int c = 0; c < num_cameras; ++c) {
      for (int j = 0; j < num_joints; ++j) {
        const auto img_point = cameras[c].ImgFromWorld(points_in_world[f * num_joints + j]);
        if (!img_point) continue;
        const double dx = noise_px > 0 ? noise(rng) : 0.0;
        const double dy = noise_px > 0 ? noise(rng) : 0.0;
        keypoints.Set(f,
                      c,
                      j,
                      static_cast<float>(img_point->x() + dx),
                      static_cast<float>(img_point->y() + dy),
                      1.f);
      }
    }
  }
  return keypoints;
}

}  // namespace rigpose::test

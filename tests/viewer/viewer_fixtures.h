// SPDX-License-Identifier: BSD-3-Clause
// Tiny synthetic rigs and skeletons for the viewer tests (PINHOLE cameras, so the rendered
// pinhole view and Camera::ImgFromWorld agree exactly).
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "core/camera.h"
#include "core/keypoints.h"
#include "core/rig.h"
#include "core/skeleton.h"

namespace rigpose::test {

// cam_from_world of a camera at center looking at target, image x horizontal (Z-up world).
inline Rigid3d LookAtPose(const Eigen::Vector3d& center_in_world,
                          const Eigen::Vector3d& target_in_world) {
  const Eigen::Vector3d z_axis = (target_in_world - center_in_world).normalized();
  const Eigen::Vector3d x_axis = z_axis.cross(Eigen::Vector3d::UnitZ()).normalized();
  const Eigen::Vector3d y_axis = z_axis.cross(x_axis);
  Eigen::Matrix3d rotation;
  rotation.row(0) = x_axis.transpose();
  rotation.row(1) = y_axis.transpose();
  rotation.row(2) = z_axis.transpose();
  return Rigid3d::FromMatrix(rotation, -rotation * center_in_world);
}

inline Camera PinholeCamera(const std::string& name,
                            int width,
                            int height,
                            double fx,
                            double fy,
                            double cx,
                            double cy,
                            const Eigen::Vector3d& center_in_world) {
  Camera camera;
  camera.name = name;
  camera.model_id = CameraModelId::kPinhole;
  camera.width = width;
  camera.height = height;
  camera.params = {fx, fy, cx, cy};
  camera.cam_from_world = LookAtPose(center_in_world, Eigen::Vector3d(0, 0, 1.0));
  return camera;
}

// Four cameras on a 4 m ring, 2.2 m high: a centred principal point, an off-centre one,
// non-square pixels, and a small image.
inline Rig MakeViewerRig() {
  Rig rig;
  rig.cameras.push_back(PinholeCamera("cam_a", 640, 480, 520, 520, 319.5, 239.5, {4, 0, 2.2}));
  rig.cameras.push_back(PinholeCamera("cam_b", 640, 480, 600, 600, 290.3, 261.8, {0, 4, 2.2}));
  rig.cameras.push_back(PinholeCamera("cam_c", 800, 600, 700, 640, 410.0, 290.0, {-4, 0, 2.2}));
  rig.cameras.push_back(PinholeCamera("cam_d", 320, 240, 300, 300, 159.5, 119.5, {0, -4, 2.2}));
  return rig;
}

// A COCO-17 person standing at (x, y), 1.75 m tall, facing (1, 1): every camera of
// MakeViewerRig() sees its left and right joints apart.
inline Poses3D MakeStandingPerson(double x, double y, int num_frames = 1) {
  const Skeleton& coco = GetSkeleton("coco17");
  // (lateral offset along (-1, 1) / sqrt(2), height) per COCO-17 joint.
  const double layout[17][2] = {{0.00, 1.70},
                                {0.04, 1.73},
                                {-0.04, 1.73},
                                {0.08, 1.70},
                                {-0.08, 1.70},
                                {0.20, 1.45},
                                {-0.20, 1.45},
                                {0.28, 1.15},
                                {-0.28, 1.15},
                                {0.32, 0.88},
                                {-0.32, 0.88},
                                {0.12, 0.95},
                                {-0.12, 0.95},
                                {0.13, 0.52},
                                {-0.13, 0.52},
                                {0.14, 0.08},
                                {-0.14, 0.08}};
  Poses3D poses(num_frames, coco.NumJoints());
  poses.skeleton = "coco17";
  for (int f = 0; f < num_frames; ++f) {
    for (int j = 0; j < coco.NumJoints(); ++j) {
      const double lateral = layout[j][0] / std::sqrt(2.0);
      poses.Set(f, j, Eigen::Vector3d(x + 0.02 * f - lateral, y + lateral, layout[j][1]));
    }
  }
  return poses;
}

}  // namespace rigpose::test

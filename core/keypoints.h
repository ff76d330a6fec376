// SPDX-License-Identifier: BSD-3-Clause
// Dense keypoint arrays shared by every stage (CPU, CUDA, .npy and Python see the same bytes).
//
// Keypoints2D: float32, row-major [frames][cameras][joints][3] = (x px, y px, score).
//   score == 0 means missing; a missing entry has x = y = 0. Pixel convention:
//   core/camera_models.h.
// Poses3D:     float64, row-major [frames][joints][4] = (x, y, z metres in world, valid 0/1).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

namespace rigpose {

class Keypoints2D {
 public:
  Keypoints2D() = default;
  Keypoints2D(int num_frames, int num_cameras, int num_joints);  // all missing

  int num_frames() const { return num_frames_; }
  int num_cameras() const { return num_cameras_; }
  int num_joints() const { return num_joints_; }
  int64_t size() const { return static_cast<int64_t>(values_.size()); }

  float* data() { return values_.data(); }
  const float* data() const { return values_.data(); }
  int64_t Offset(int frame, int camera, int joint) const;

  float x(int frame, int camera, int joint) const { return values_[Offset(frame, camera, joint)]; }
  float y(int frame, int camera, int joint) const {
    return values_[Offset(frame, camera, joint) + 1];
  }
  float score(int frame, int camera, int joint) const {
    return values_[Offset(frame, camera, joint) + 2];
  }
  // Present: score > 0 and x, y, score finite.
  bool IsPresent(int frame, int camera, int joint) const;
  void Set(int frame, int camera, int joint, float x, float y, float score);
  void SetMissing(int frame, int camera, int joint) { Set(frame, camera, joint, 0.f, 0.f, 0.f); }

  // Metadata carried with the array.
  std::vector<std::string> camera_names;  // size num_cameras (may be empty if unknown)
  std::string skeleton;                   // registry key, see core/skeleton.h

 private:
  int num_frames_ = 0;
  int num_cameras_ = 0;
  int num_joints_ = 0;
  std::vector<float> values_;
};

class Poses3D {
 public:
  Poses3D() = default;
  Poses3D(int num_frames, int num_joints);  // all invalid

  int num_frames() const { return num_frames_; }
  int num_joints() const { return num_joints_; }
  int64_t size() const { return static_cast<int64_t>(values_.size()); }

  double* data() { return values_.data(); }
  const double* data() const { return values_.data(); }
  int64_t Offset(int frame, int joint) const;

  Eigen::Vector3d Position(int frame, int joint) const;
  bool IsValid(int frame, int joint) const;
  void Set(int frame, int joint, const Eigen::Vector3d& point3D_in_world);
  void SetInvalid(int frame, int joint);

  std::string skeleton;                  // registry key; empty when unknown
  std::vector<std::string> joint_names;  // optional explicit names (TRC markers)
  double frame_rate_hz = 0.0;            // 0 when unknown

 private:
  int num_frames_ = 0;
  int num_joints_ = 0;
  std::vector<double> values_;
};

}  // namespace rigpose

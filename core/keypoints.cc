// SPDX-License-Identifier: BSD-3-Clause
#include "core/keypoints.h"

#include <cmath>

#include "core/error.h"

namespace rigpose {

Keypoints2D::Keypoints2D(int num_frames, int num_cameras, int num_joints)
    : num_frames_(num_frames), num_cameras_(num_cameras), num_joints_(num_joints) {
  RIGPOSE_CHECK(num_frames >= 0 && num_cameras >= 0 && num_joints >= 0,
                "frames=" << num_frames << " cameras=" << num_cameras << " joints=" << num_joints);
  values_.assign(static_cast<size_t>(num_frames) * num_cameras * num_joints * 3, 0.f);
}

int64_t Keypoints2D::Offset(int frame, int camera, int joint) const {
  RIGPOSE_CHECK(frame >= 0 && frame < num_frames_ && camera >= 0 && camera < num_cameras_ &&
                    joint >= 0 && joint < num_joints_,
                "index (" << frame << ", " << camera << ", " << joint << ") outside ("
                          << num_frames_ << ", " << num_cameras_ << ", " << num_joints_ << ")");
  return ((static_cast<int64_t>(frame) * num_cameras_ + camera) * num_joints_ + joint) * 3;
}

bool Keypoints2D::IsPresent(int frame, int camera, int joint) const {
  const int64_t o = Offset(frame, camera, joint);
  const float s = values_[o + 2];
  return s > 0.f && std::isfinite(s) && std::isfinite(values_[o]) && std::isfinite(values_[o + 1]);
}

void Keypoints2D::Set(int frame, int camera, int joint, float x, float y, float score) {
  const int64_t o = Offset(frame, camera, joint);
  values_[o] = x;
  values_[o + 1] = y;
  values_[o + 2] = score;
}

Poses3D::Poses3D(int num_frames, int num_joints)
    : num_frames_(num_frames), num_joints_(num_joints) {
  RIGPOSE_CHECK(num_frames >= 0 && num_joints >= 0,
                "frames=" << num_frames << " joints=" << num_joints);
  values_.assign(static_cast<size_t>(num_frames) * num_joints * 4, 0.0);
}

int64_t Poses3D::Offset(int frame, int joint) const {
  RIGPOSE_CHECK(frame >= 0 && frame < num_frames_ && joint >= 0 && joint < num_joints_,
                "index (" << frame << ", " << joint << ") outside (" << num_frames_ << ", "
                          << num_joints_ << ")");
  return (static_cast<int64_t>(frame) * num_joints_ + joint) * 4;
}

Eigen::Vector3d Poses3D::Position(int frame, int joint) const {
  const int64_t o = Offset(frame, joint);
  return Eigen::Vector3d(values_[o], values_[o + 1], values_[o + 2]);
}

bool Poses3D::IsValid(int frame, int joint) const {
  const int64_t o = Offset(frame, joint);
  return values_[o + 3] != 0.0 && std::isfinite(values_[o]) && std::isfinite(values_[o + 1]) &&
         std::isfinite(values_[o + 2]);
}

void Poses3D::Set(int frame, int joint, const Eigen::Vector3d& point3D_in_world) {
  const int64_t o = Offset(frame, joint);
  values_[o] = point3D_in_world.x();
  values_[o + 1] = point3D_in_world.y();
  values_[o + 2] = point3D_in_world.z();
  values_[o + 3] = 1.0;
}

void Poses3D::SetInvalid(int frame, int joint) {
  const int64_t o = Offset(frame, joint);
  values_[o] = values_[o + 1] = values_[o + 2] = 0.0;
  values_[o + 3] = 0.0;
}

}  // namespace rigpose

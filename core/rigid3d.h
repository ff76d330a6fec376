// SPDX-License-Identifier: BSD-3-Clause
// Rigid transform target_from_source: point_in_target = rotation * point_in_source + translation.
// Name variables after the frames they connect: cam_from_world * point3D_in_world.
#pragma once

#include <Eigen/Core>
#include <Eigen/Geometry>

namespace rigpose {

struct Rigid3d {
  Eigen::Quaterniond rotation = Eigen::Quaterniond::Identity();
  Eigen::Vector3d translation = Eigen::Vector3d::Zero();

  Rigid3d() = default;
  Rigid3d(const Eigen::Quaterniond& rotation_in, const Eigen::Vector3d& translation_in)
      : rotation(rotation_in.normalized()), translation(translation_in) {}

  // From a 3x3 rotation matrix (assumed orthonormal, det +1: validate with
  // RotationMatrixProblem first) and a translation.
  static Rigid3d FromMatrix(const Eigen::Matrix3d& rotation_matrix,
                            const Eigen::Vector3d& translation_in);
  // From a Rodrigues (axis * angle, radians) vector as used by OpenCV, anipose and Pose2Sim.
  static Rigid3d FromRodrigues(const Eigen::Vector3d& rotation_vector,
                               const Eigen::Vector3d& translation_in);

  Eigen::Matrix3d RotationMatrix() const { return rotation.toRotationMatrix(); }
  // Rodrigues vector with angle in [0, pi].
  Eigen::Vector3d RodriguesVector() const;
  // [R | t] as a 3x4 matrix.
  Eigen::Matrix<double, 3, 4> ToMatrix3x4() const;

  Rigid3d Inverse() const;
  Eigen::Vector3d operator*(const Eigen::Vector3d& point) const {
    return rotation * point + translation;
  }
  // (a_from_b * b_from_c) = a_from_c.
  Rigid3d operator*(const Rigid3d& other) const;
};

// Rodrigues vector <-> unit quaternion, exact near zero angle.
Eigen::Quaterniond QuaternionFromRodrigues(const Eigen::Vector3d& rotation_vector);
Eigen::Vector3d RodriguesFromQuaternion(const Eigen::Quaterniond& q);

// Why a matrix is not a rotation ("" when it is): non-finite entries, R^T R != I beyond
// tolerance (max abs deviation), or det(R) < 0 (a reflection).
std::string RotationMatrixProblem(const Eigen::Matrix3d& rotation_matrix, double tolerance = 1e-6);

}  // namespace rigpose

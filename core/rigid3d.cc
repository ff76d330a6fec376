// SPDX-License-Identifier: BSD-3-Clause
#include "core/rigid3d.h"

#include <cmath>
#include <sstream>
#include <string>

namespace rigpose {

Eigen::Quaterniond QuaternionFromRodrigues(const Eigen::Vector3d& rotation_vector) {
  const double angle = rotation_vector.norm();
  if (angle < 1e-8) {
    // Taylor series: sin(a/2)/a = 1/2 - a^2/48, cos(a/2) = 1 - a^2/8 (error < 1e-18 here).
    const double a2 = angle * angle;
    const Eigen::Vector3d v = rotation_vector * (0.5 - a2 / 48.0);
    return Eigen::Quaterniond(1.0 - a2 / 8.0, v.x(), v.y(), v.z()).normalized();
  }
  const Eigen::Vector3d v = rotation_vector * (std::sin(0.5 * angle) / angle);
  return Eigen::Quaterniond(std::cos(0.5 * angle), v.x(), v.y(), v.z());
}

Eigen::Vector3d RodriguesFromQuaternion(const Eigen::Quaterniond& q_in) {
  Eigen::Quaterniond q = q_in.normalized();
  if (q.w() < 0.0) q.coeffs() = -q.coeffs();  // angle in [0, pi]
  const Eigen::Vector3d v = q.vec();
  const double sin_half = v.norm();
  if (sin_half < 1e-8) {
    // angle = 2 atan2(s, w) ~ 2 s / w (1 - s^2 / (3 w^2)).
    const double w = q.w();
    return v * (2.0 / w) * (1.0 - sin_half * sin_half / (3.0 * w * w));
  }
  const double angle = 2.0 * std::atan2(sin_half, q.w());
  return v * (angle / sin_half);
}

Rigid3d Rigid3d::FromMatrix(const Eigen::Matrix3d& rotation_matrix,
                            const Eigen::Vector3d& translation_in) {
  return Rigid3d(Eigen::Quaterniond(rotation_matrix), translation_in);
}

Rigid3d Rigid3d::FromRodrigues(const Eigen::Vector3d& rotation_vector,
                               const Eigen::Vector3d& translation_in) {
  return Rigid3d(QuaternionFromRodrigues(rotation_vector), translation_in);
}

Eigen::Vector3d Rigid3d::RodriguesVector() const { return RodriguesFromQuaternion(rotation); }

Eigen::Matrix<double, 3, 4> Rigid3d::ToMatrix3x4() const {
  Eigen::Matrix<double, 3, 4> m;
  m.leftCols<3>() = RotationMatrix();
  m.col(3) = translation;
  return m;
}

Rigid3d Rigid3d::Inverse() const {
  const Eigen::Quaterniond inv = rotation.conjugate();
  return Rigid3d(inv, -(inv * translation));
}

Rigid3d Rigid3d::operator*(const Rigid3d& other) const {
  return Rigid3d(rotation * other.rotation, rotation * other.translation + translation);
}

std::string RotationMatrixProblem(const Eigen::Matrix3d& r, double tolerance) {
  if (!r.allFinite()) return "rotation has non-finite entries";
  const double deviation = (r.transpose() * r - Eigen::Matrix3d::Identity()).cwiseAbs().maxCoeff();
  if (deviation > tolerance) {
    std::ostringstream out;
    out << "rotation matrix is not orthonormal (max |R^T R - I| = " << deviation << " > "
        << tolerance << ")";
    return out.str();
  }
  if (r.determinant() < 0.0) return "rotation matrix is a reflection (det = -1)";
  return "";
}

}  // namespace rigpose

// SPDX-License-Identifier: BSD-3-Clause
// Ceres costs of board corners, shared by the intrinsic (calib/intrinsics.cc) and the rig
// (calib/rig_calibration.cc) calibrations. Not a public API.
//
// Poses are 6 numbers: angle-axis rotation (3) then translation (3), target_from_source.
// Residuals are π(cam_point) − img_point in pixels through the full camera model
// (core/camera_models.h), autodiff (Ceres Jets through ModelImgFromCam<Model>).
#pragma once

#include <array>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include <ceres/ceres.h>
#include <ceres/rotation.h>

#include <Eigen/Core>

#include "calib/board_detection.h"
#include "core/camera_models.h"
#include "core/rigid3d.h"

namespace rigpose::calib_internal {

using Pose6 = std::array<double, 6>;

inline Pose6 PoseFromRigid(const Rigid3d& rigid) {
  const Eigen::Vector3d aa = rigid.RodriguesVector();
  return {
      aa.x(), aa.y(), aa.z(), rigid.translation.x(), rigid.translation.y(), rigid.translation.z()};
}

inline Rigid3d RigidFromPose(const Pose6& pose) {
  return Rigid3d::FromRodrigues(Eigen::Vector3d(pose[0], pose[1], pose[2]),
                                Eigen::Vector3d(pose[3], pose[4], pose[5]));
}

// out = R(pose[0..2]) in + pose[3..5].
template <typename T>
void TransformPoint(const T* pose, const T* in, T* out) {
  ceres::AngleAxisRotatePoint(pose, in, out);
  for (int k = 0; k < 3; ++k) out[k] += pose[3 + k];
}

// One corner of one view, intrinsics free: blocks (params, cam_from_board).
template <typename Model>
class BoardReprojectionCost {
 public:
  BoardReprojectionCost(const Eigen::Vector3d& point_in_board, const Eigen::Vector2d& img_point)
      : point_in_board_(point_in_board), img_point_(img_point) {}

  template <typename T>
  bool operator()(const T* params, const T* cam_from_board, T* residual) const {
    const T point[3] = {T(point_in_board_.x()), T(point_in_board_.y()), T(point_in_board_.z())};
    T cam_point[3];
    TransformPoint(cam_from_board, point, cam_point);
    T img_point[2];
    if (!ModelImgFromCam<Model>(params, cam_point, img_point)) return false;
    residual[0] = img_point[0] - img_point_.x();
    residual[1] = img_point[1] - img_point_.y();
    return true;
  }

  static ceres::CostFunction* Create(const Eigen::Vector3d& point_in_board,
                                     const Eigen::Vector2d& img_point) {
    return new ceres::AutoDiffCostFunction<BoardReprojectionCost, 2, Model::kNumParams, 6>(
        new BoardReprojectionCost(point_in_board, img_point));
  }

 private:
  Eigen::Vector3d point_in_board_;
  Eigen::Vector2d img_point_;
};

inline ceres::CostFunction* CreateBoardReprojectionCost(CameraModelId model,
                                                        const Eigen::Vector3d& point_in_board,
                                                        const Eigen::Vector2d& img_point) {
  RIGPOSE_CAMERA_MODEL_SWITCH(
      model, return BoardReprojectionCost<Model>::Create(point_in_board, img_point))
  return nullptr;
}

// Every corner of one view of a rig: blocks (cam_from_ref, ref_from_board[, params]); 2 residuals
// per corner. Without the params block the intrinsics are a copy held by the cost (smaller Jets:
// the bundle adjustment with known intrinsics is about twice as fast).
template <typename Model>
class RigViewCost {
 public:
  RigViewCost(std::vector<Eigen::Vector3d> points_in_board,
              std::vector<Eigen::Vector2d> img_points,
              const std::vector<double>& params)
      : points_in_board_(std::move(points_in_board)),
        img_points_(std::move(img_points)),
        params_(params) {}

  template <typename T>
  bool operator()(const T* cam_from_ref, const T* ref_from_board, T* residual) const {
    T params[Model::kNumParams];
    for (int k = 0; k < Model::kNumParams; ++k) params[k] = T(params_[k]);
    return (*this)(cam_from_ref, ref_from_board, params, residual);
  }

  template <typename T>
  bool operator()(const T* cam_from_ref,
                  const T* ref_from_board,
                  const T* params,
                  T* residual) const {
    for (size_t i = 0; i < points_in_board_.size(); ++i) {
      const T point[3] = {
          T(points_in_board_[i].x()), T(points_in_board_[i].y()), T(points_in_board_[i].z())};
      T in_ref[3];
      TransformPoint(ref_from_board, point, in_ref);
      T cam_point[3];
      TransformPoint(cam_from_ref, in_ref, cam_point);
      T img_point[2];
      if (!ModelImgFromCam<Model>(params, cam_point, img_point)) return false;
      residual[2 * i] = img_point[0] - img_points_[i].x();
      residual[2 * i + 1] = img_point[1] - img_points_[i].y();
    }
    return true;
  }

  static ceres::CostFunction* Create(bool free_intrinsics,
                                     std::vector<Eigen::Vector3d> points_in_board,
                                     std::vector<Eigen::Vector2d> img_points,
                                     const std::vector<double>& params) {
    const int num_residuals = 2 * static_cast<int>(points_in_board.size());
    auto* functor = new RigViewCost(std::move(points_in_board), std::move(img_points), params);
    if (free_intrinsics) {
      return new ceres::AutoDiffCostFunction<RigViewCost, ceres::DYNAMIC, 6, 6, Model::kNumParams>(
          functor, num_residuals);
    }
    return new ceres::AutoDiffCostFunction<RigViewCost, ceres::DYNAMIC, 6, 6>(functor,
                                                                              num_residuals);
  }

 private:
  std::vector<Eigen::Vector3d> points_in_board_;
  std::vector<Eigen::Vector2d> img_points_;
  std::vector<double> params_;
};

inline ceres::CostFunction* CreateRigViewCost(CameraModelId model,
                                              bool free_intrinsics,
                                              std::vector<Eigen::Vector3d> points_in_board,
                                              std::vector<Eigen::Vector2d> img_points,
                                              const std::vector<double>& params) {
  RIGPOSE_CAMERA_MODEL_SWITCH(
      model,
      return RigViewCost<Model>::Create(
          free_intrinsics, std::move(points_in_board), std::move(img_points), params))
  return nullptr;
}

// One corner as a free 3D point of the reference frame (the board-flex stage of the rig
// calibration): blocks (cam_from_ref, point[, params]); 2 residuals.
template <typename Model>
class RigPointCost {
 public:
  RigPointCost(const Eigen::Vector2d& img_point, const std::vector<double>& params)
      : img_point_(img_point), params_(params) {}

  template <typename T>
  bool operator()(const T* cam_from_ref, const T* point, T* residual) const {
    T params[Model::kNumParams];
    for (int k = 0; k < Model::kNumParams; ++k) params[k] = T(params_[k]);
    return (*this)(cam_from_ref, point, params, residual);
  }

  template <typename T>
  bool operator()(const T* cam_from_ref, const T* point, const T* params, T* residual) const {
    T cam_point[3];
    TransformPoint(cam_from_ref, point, cam_point);
    T img_point[2];
    if (!ModelImgFromCam<Model>(params, cam_point, img_point)) return false;
    residual[0] = img_point[0] - img_point_.x();
    residual[1] = img_point[1] - img_point_.y();
    return true;
  }

  static ceres::CostFunction* Create(bool free_intrinsics,
                                     const Eigen::Vector2d& img_point,
                                     const std::vector<double>& params) {
    auto* functor = new RigPointCost(img_point, params);
    if (free_intrinsics) {
      return new ceres::AutoDiffCostFunction<RigPointCost, 2, 6, 3, Model::kNumParams>(functor);
    }
    return new ceres::AutoDiffCostFunction<RigPointCost, 2, 6, 3>(functor);
  }

 private:
  Eigen::Vector2d img_point_;
  std::vector<double> params_;
};

inline ceres::CostFunction* CreateRigPointCost(CameraModelId model,
                                               bool free_intrinsics,
                                               const Eigen::Vector2d& img_point,
                                               const std::vector<double>& params) {
  RIGPOSE_CAMERA_MODEL_SWITCH(
      model, return RigPointCost<Model>::Create(free_intrinsics, img_point, params))
  return nullptr;
}

// Gaussian prior of a free point around a fixed position: residual (point - target) / sigma.
class PointPriorCost : public ceres::SizedCostFunction<3, 3> {
 public:
  PointPriorCost(const Eigen::Vector3d& target, double sigma) : target_(target), sigma_(sigma) {}

  bool Evaluate(double const* const* parameters,
                double* residuals,
                double** jacobians) const override {
    for (int k = 0; k < 3; ++k) residuals[k] = (parameters[0][k] - target_[k]) / sigma_;
    if (jacobians != nullptr && jacobians[0] != nullptr) {
      for (int k = 0; k < 9; ++k) jacobians[0][k] = (k % 4 == 0) ? 1.0 / sigma_ : 0.0;
    }
    return true;
  }

 private:
  Eigen::Vector3d target_;
  double sigma_;
};

// Pixel distance of every corner of `observation` from its projection (NaN where a corner does
// not project).
inline std::vector<double> BoardCornerErrorsPx(CameraModelId model,
                                               const std::vector<double>& params,
                                               const Rigid3d& cam_from_board,
                                               const std::vector<Eigen::Vector3d>& corners_in_board,
                                               const BoardObservation& observation) {
  std::vector<double> errors;
  errors.reserve(observation.corner_ids.size());
  for (size_t k = 0; k < observation.corner_ids.size(); ++k) {
    const Eigen::Vector3d cam_point = cam_from_board * corners_in_board[observation.corner_ids[k]];
    Eigen::Vector2d img_point;
    if (!CameraModelImgFromCam<double>(model, params.data(), cam_point.data(), img_point.data())) {
      errors.push_back(std::numeric_limits<double>::quiet_NaN());
      continue;
    }
    errors.push_back((img_point - observation.img_points[k]).norm());
  }
  return errors;
}

// Root mean square of errors; +inf when one is NaN, 0 when empty.
inline double RmsPx(const std::vector<double>& errors) {
  double sum = 0.0;
  for (const double e : errors) {
    if (!std::isfinite(e)) return std::numeric_limits<double>::infinity();
    sum += e * e;
  }
  return errors.empty() ? 0.0 : std::sqrt(sum / static_cast<double>(errors.size()));
}

}  // namespace rigpose::calib_internal

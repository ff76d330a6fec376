// SPDX-License-Identifier: BSD-3-Clause
#include "core/camera.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

namespace rigpose {

std::vector<double> Camera::DistortionParams() const {
  if (params.size() <= 4) return {};
  return std::vector<double>(params.begin() + 4, params.end());
}

Eigen::Matrix3d Camera::CalibrationMatrix() const {
  Eigen::Matrix3d k = Eigen::Matrix3d::Identity();
  k(0, 0) = fx();
  k(1, 1) = fy();
  k(0, 2) = cx();
  k(1, 2) = cy();
  return k;
}

std::vector<std::string> Camera::Problems() const {
  std::vector<std::string> problems;
  const int expected = CameraModelNumParams(model_id);
  if (static_cast<int>(params.size()) != expected) {
    std::ostringstream out;
    out << "model " << CameraModelName(model_id) << " needs " << expected << " parameters, got "
        << params.size();
    problems.push_back(out.str());
    return problems;
  }
  const std::vector<std::string> names = CameraModelParamNames(model_id);
  for (size_t i = 0; i < params.size(); ++i) {
    if (!std::isfinite(params[i])) {
      problems.push_back("parameter " + names[i] + " is not finite");
    }
  }
  for (int i = 0; i < 2; ++i) {
    if (std::isfinite(params[i]) && !(params[i] > 0.0)) {
      std::ostringstream out;
      out << "focal length " << names[i] << " = " << params[i] << " must be > 0";
      problems.push_back(out.str());
    }
  }
  if (width <= 0 || height <= 0) {
    std::ostringstream out;
    out << "image size " << width << "x" << height << " must be positive";
    problems.push_back(out.str());
  }
  if (!cam_from_world.translation.allFinite() || !cam_from_world.rotation.coeffs().allFinite()) {
    problems.push_back("pose is not finite");
  }
  return problems;
}

std::optional<Eigen::Vector2d> Camera::ImgFromCam(const Eigen::Vector3d& cam_point) const {
  Eigen::Vector2d img_point;
  if (!CameraModelImgFromCam(model_id, params.data(), cam_point.data(), img_point.data())) {
    return std::nullopt;
  }
  return img_point;
}

std::optional<Eigen::Vector2d> Camera::ImgFromWorld(const Eigen::Vector3d& point3D_in_world) const {
  return ImgFromCam(cam_from_world * point3D_in_world);
}

Eigen::Vector2d Camera::CamFromImg(const Eigen::Vector2d& img_point,
                                   UndistortStatus* status) const {
  Eigen::Vector2d normalised;
  const UndistortStatus s =
      CameraModelCamFromImg(model_id, params.data(), img_point.data(), normalised.data());
  if (status != nullptr) *status = s;
  return normalised;
}

std::optional<Eigen::Vector3d> Camera::CamRayFromImg(const Eigen::Vector2d& img_point) const {
  UndistortStatus status;
  const Eigen::Vector2d normalised = CamFromImg(img_point, &status);
  if (!status.converged) return std::nullopt;
  return normalised.homogeneous().normalized();
}

bool Camera::IsInImage(const Eigen::Vector2d& img_point) const {
  return img_point.x() >= -0.5 && img_point.x() < width - 0.5 && img_point.y() >= -0.5 &&
         img_point.y() < height - 0.5;
}

Eigen::Vector3d Camera::CenterInWorld() const { return cam_from_world.Inverse().translation; }

double Camera::HorizontalFovDeg() const {
  UndistortStatus left_status;
  UndistortStatus right_status;
  const Eigen::Vector2d left = CamFromImg(Eigen::Vector2d(-0.5, cy()), &left_status);
  const Eigen::Vector2d right = CamFromImg(Eigen::Vector2d(width - 0.5, cy()), &right_status);
  if (!left_status.converged || !right_status.converged) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  const double kRadToDeg = 180.0 / M_PI;
  return (std::atan(right.x()) - std::atan(left.x())) * kRadToDeg;
}

double Camera::MaxDistortionPx() const {
  if (model_id == CameraModelId::kPinhole) return 0.0;
  const double w = width - 0.5;
  const double h = height - 0.5;
  const double xs[3] = {-0.5, 0.5 * (width - 1), w};
  const double ys[3] = {-0.5, 0.5 * (height - 1), h};
  double worst = 0.0;
  for (double x : xs) {
    for (double y : ys) {
      UndistortStatus status;
      const Eigen::Vector2d normalised = CamFromImg(Eigen::Vector2d(x, y), &status);
      if (!status.converged) return std::numeric_limits<double>::infinity();
      const Eigen::Vector2d pinhole(fx() * normalised.x() + cx(), fy() * normalised.y() + cy());
      worst = std::max(worst, (pinhole - Eigen::Vector2d(x, y)).norm());
    }
  }
  return worst;
}

}  // namespace rigpose

// SPDX-License-Identifier: BSD-3-Clause
// A calibrated camera: model + intrinsics + image size + pose (cam_from_world, metres).
// Pixel and frame conventions: see core/camera_models.h.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "core/camera_models.h"
#include "core/rigid3d.h"

namespace rigpose {

struct Camera {
  std::string name;
  CameraModelId model_id = CameraModelId::kPinhole;
  int width = 0;               // pixels
  int height = 0;              // pixels
  std::vector<double> params;  // layout per model, see core/camera_models.h
  Rigid3d cam_from_world;      // translation in metres

  double fx() const { return params.at(0); }
  double fy() const { return params.at(1); }
  double cx() const { return params.at(2); }
  double cy() const { return params.at(3); }
  // Distortion coefficients (params after fx fy cx cy), in the model's order.
  std::vector<double> DistortionParams() const;
  Eigen::Matrix3d CalibrationMatrix() const;

  // Every problem with this camera, one sentence each ("focal length fx = -3 must be > 0"),
  // empty when it is usable. Checks: params count, finiteness, focal > 0, image size > 0,
  // pose finite.
  std::vector<std::string> Problems() const;

  // Pixels of a point in the camera frame; nullopt when z <= 0.
  std::optional<Eigen::Vector2d> ImgFromCam(const Eigen::Vector3d& cam_point) const;
  std::optional<Eigen::Vector2d> ImgFromWorld(const Eigen::Vector3d& point3D_in_world) const;
  // Normalised undistorted coordinates of a pixel, with the status of the iteration.
  Eigen::Vector2d CamFromImg(const Eigen::Vector2d& img_point, UndistortStatus* status) const;
  // Unit bearing in the camera frame; nullopt when undistortion did not converge.
  std::optional<Eigen::Vector3d> CamRayFromImg(const Eigen::Vector2d& img_point) const;

  // True when the pixel position lies on the sensor (-0.5 <= x < width - 0.5, same for y).
  bool IsInImage(const Eigen::Vector2d& img_point) const;

  Eigen::Vector3d CenterInWorld() const;
  // Full horizontal field of view through the principal point, from the undistorted rays of the
  // left and right image borders (degrees). NaN if undistortion fails at the border.
  double HorizontalFovDeg() const;
  // Largest displacement (pixels) that distortion causes at the image corners and edge midpoints;
  // 0 for PINHOLE. Answers "how much does ignoring distortion cost?".
  double MaxDistortionPx() const;
};

}  // namespace rigpose

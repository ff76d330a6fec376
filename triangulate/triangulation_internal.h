// SPDX-License-Identifier: BSD-3-Clause
// Helpers shared by dlt.cc, dlt_fused.cc and robust_triangulation.cc (not a public API).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

#include "core/camera.h"
#include "core/camera_models.h"
#include "triangulate/dlt.h"
#include "triangulate/dlt_kernels.h"

namespace rigpose::internal {

template <typename T>
kernels::DltKernelParams<T> MakeDltKernelParams(const DltOptions& options) {
  constexpr double kPi = 3.14159265358979323846;
  kernels::DltKernelParams<T> params;
  params.weighted = options.weighted;
  params.min_score = static_cast<T>(options.min_score);
  params.min_sin_ray_angle = static_cast<T>(std::sin(options.min_ray_angle_deg * kPi / 180.0));
  return params;
}

// Pixel distance between img_point and the projection of point3D_in_world through the full
// camera model (pose packed as [R | t]); NaN when the point does not project (z <= 0).
inline double ReprojErrorPx(const Camera& camera,
                            const double* cam_from_world,
                            const double* point3D_in_world,
                            double img_x,
                            double img_y) {
  const double* p = cam_from_world;
  const double* x = point3D_in_world;
  const double cam_point[3] = {p[0] * x[0] + p[1] * x[1] + p[2] * x[2] + p[3],
                               p[4] * x[0] + p[5] * x[1] + p[6] * x[2] + p[7],
                               p[8] * x[0] + p[9] * x[1] + p[10] * x[2] + p[11]};
  double projected[2];
  if (!CameraModelImgFromCam(camera.model_id, camera.params.data(), cam_point, projected)) {
    return NAN;
  }
  // Not std::hypot: its overflow care costs ~7 % of robust triangulation, and pixel differences
  // are nowhere near 1e154.
  const double dx = projected[0] - img_x;
  const double dy = projected[1] - img_y;
  return std::sqrt(dx * dx + dy * dy);
}

// A keypoint (x px, y px, score) that is present: score > 0, everything finite.
inline bool IsPresentKeypoint(const float* kp) {
  return kp[2] > 0.f && std::isfinite(kp[2]) && std::isfinite(kp[0]) && std::isfinite(kp[1]);
}

// One present keypoint (x, y, score) through the model's own undistortion into out_view (x, y of
// the normalised ray, score); false (out_view untouched) when it did not converge.
template <typename Model>
bool UndistortKeypoint(const double* params, const float* kp, double* out_view) {
  const double img_point[2] = {kp[0], kp[1]};
  double normalised[2];
  const UndistortStatus status = ModelCamFromImg<Model>(params, img_point, normalised);
  if (!status.converged || !std::isfinite(normalised[0]) || !std::isfinite(normalised[1])) {
    return false;
  }
  out_view[0] = normalised[0];
  out_view[1] = normalised[1];
  out_view[2] = kp[2];
  return true;
}

inline void CountStatuses(const std::vector<uint8_t>& status,
                          std::array<int64_t, kNumTriangulationStatus>* counts) {
  counts->fill(0);
  for (const uint8_t s : status) {
    if (s < kNumTriangulationStatus) ++(*counts)[s];
  }
}

}  // namespace rigpose::internal

// SPDX-License-Identifier: BSD-3-Clause
// Per-point projection shared by the CPU path and the CUDA kernel.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/camera_models.h"
#include "core/host_device.h"
#include "triangulate/project_points.h"

namespace rigpose::kernels {

RIGPOSE_HD inline void ProjectOnePoint(const PackedCamera& camera,
                                       const float* point3D_in_world,
                                       float* img_point,
                                       uint8_t* valid) {
  const float* r = camera.rotation;
  const float* p = point3D_in_world;
  const float cam_point[3] = {r[0] * p[0] + r[1] * p[1] + r[2] * p[2] + camera.translation[0],
                              r[3] * p[0] + r[4] * p[1] + r[5] * p[2] + camera.translation[1],
                              r[6] * p[0] + r[7] * p[1] + r[8] * p[2] + camera.translation[2]};
  float out[2];
  const bool ok = CameraModelImgFromCam(camera.model_id, camera.params, cam_point, out) &&
                  std::isfinite(out[0]) && std::isfinite(out[1]);
  img_point[0] = ok ? out[0] : NAN;
  img_point[1] = ok ? out[1] : NAN;
  *valid = ok ? 1 : 0;
}

}  // namespace rigpose::kernels

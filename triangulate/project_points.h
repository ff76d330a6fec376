// SPDX-License-Identifier: BSD-3-Clause
// Batched projection of world points into one camera: the CPU reference and its CUDA twin share
// the per-point math of core/camera_models.h (RIGPOSE_HD). Used by reprojection reports, the
// overlay and, on the GPU, by volumetric unprojection.
#pragma once

#include <cstdint>

#include "core/camera.h"

namespace rigpose {

// Camera parameters packed for kernels (float, plain data, copyable to the device).
struct PackedCamera {
  CameraModelId model_id = CameraModelId::kPinhole;
  float params[12] = {};
  float rotation[9] = {};  // cam_from_world, row-major
  float translation[3] = {};
};
PackedCamera PackCamera(const Camera& camera);

// points3D_in_world: [n][3] float; img_points: [n][2] float; valid: [n] (1 = in front of the
// camera and finite). Invalid points get NaN pixels. n may be 0.
void ProjectPointsCpu(const PackedCamera& camera,
                      const float* points3D_in_world,
                      int64_t n,
                      float* img_points,
                      uint8_t* valid);

// True when this build has CUDA kernels and a usable device (no driver -> false, no abort).
bool CudaDeviceAvailable();

// Same contract as ProjectPointsCpu on host arrays (copies to and from the device).
// Throws rigpose::Error when CUDA is not built or no device is available.
void ProjectPointsCuda(const PackedCamera& camera,
                       const float* points3D_in_world,
                       int64_t n,
                       float* img_points,
                       uint8_t* valid);

}  // namespace rigpose

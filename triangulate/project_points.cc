// SPDX-License-Identifier: BSD-3-Clause
#include "triangulate/project_points.h"

#include "core/error.h"
#include "triangulate/project_points_kernels.h"

namespace rigpose {

PackedCamera PackCamera(const Camera& camera) {
  RIGPOSE_CHECK(camera.params.size() <= 12,
                "camera '" << camera.name << "' has " << camera.params.size() << " params");
  PackedCamera packed;
  packed.model_id = camera.model_id;
  for (size_t i = 0; i < camera.params.size(); ++i)
    packed.params[i] = static_cast<float>(camera.params[i]);
  const Eigen::Matrix3d r = camera.cam_from_world.RotationMatrix();
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) packed.rotation[i * 3 + j] = static_cast<float>(r(i, j));
    packed.translation[i] = static_cast<float>(camera.cam_from_world.translation[i]);
  }
  return packed;
}

void ProjectPointsCpu(const PackedCamera& camera,
                      const float* points3D_in_world,
                      int64_t n,
                      float* img_points,
                      uint8_t* valid) {
  RIGPOSE_CHECK(n >= 0, "n = " << n);
  for (int64_t i = 0; i < n; ++i) {
    kernels::ProjectOnePoint(camera, points3D_in_world + 3 * i, img_points + 2 * i, valid + i);
  }
}

#if !defined(RIGPOSE_HAVE_CUDA)
bool CudaDeviceAvailable() { return false; }

void ProjectPointsCuda(const PackedCamera&, const float*, int64_t, float*, uint8_t*) {
  throw Error(
      "ProjectPointsCuda: this build has no CUDA kernels (configure with RIGPOSE_WITH_CUDA=ON)");
}
#endif

}  // namespace rigpose

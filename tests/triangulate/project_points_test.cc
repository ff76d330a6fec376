// SPDX-License-Identifier: BSD-3-Clause
// Batched projection: double reference (Camera::ImgFromWorld) vs float kernel on the CPU always;
// CUDA vs CPU when a GPU is present.
#include <cmath>
#include <limits>
#include <random>

#include <gtest/gtest.h>

#include "core/error.h"
#include "triangulate/project_points.h"

namespace rigpose {
namespace {

Camera TestCamera(CameraModelId model) {
  Camera c;
  c.name = "cam";
  c.model_id = model;
  c.width = 1920;
  c.height = 1080;
  switch (model) {
    case CameraModelId::kPinhole:
      c.params = {1500, 1490, 955, 545};
      break;
    case CameraModelId::kOpenCV:
      c.params = {1500, 1490, 955, 545, -0.25, 0.08, 1e-3, -5e-4, -0.01};
      break;
    case CameraModelId::kOpenCVFisheye:
      c.params = {900, 900, 955, 545, 0.05, -0.01, 0.002, -0.0005};
      break;
  }
  c.cam_from_world =
      Rigid3d::FromRodrigues(Eigen::Vector3d(0.1, -0.2, 0.05), Eigen::Vector3d(0.2, -0.1, 4.0));
  return c;
}

// Points around the world origin; some behind the camera.
std::vector<float> RandomPoints(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.5f, 1.5f);
  std::vector<float> points(3 * n);
  for (int64_t i = 0; i < n; ++i) {
    points[3 * i] = u(rng);
    points[3 * i + 1] = u(rng);
    points[3 * i + 2] = i % 97 == 5 ? -10.f : u(rng);  // a few far behind the camera
  }
  return points;
}

class ProjectPoints : public ::testing::TestWithParam<CameraModelId> {};

TEST_P(ProjectPoints, FloatKernelMatchesDoubleReference) {
  const Camera camera = TestCamera(GetParam());
  const PackedCamera packed = PackCamera(camera);
  for (int64_t n : {0, 1, 7, 10001}) {
    const std::vector<float> points = RandomPoints(n, 42);
    std::vector<float> img(2 * n, std::numeric_limits<float>::quiet_NaN());
    std::vector<uint8_t> valid(n, 7);  // neither 0 nor 1: a kernel that never ran fails
    ProjectPointsCpu(packed, points.data(), n, img.data(), valid.data());
    int num_valid = 0;
    for (int64_t i = 0; i < n; ++i) {
      const Eigen::Vector3d p(points[3 * i], points[3 * i + 1], points[3 * i + 2]);
      const auto reference = camera.ImgFromWorld(p);
      ASSERT_EQ(valid[i], reference.has_value() ? 1 : 0) << i;
      if (!reference) {
        EXPECT_TRUE(std::isnan(img[2 * i]));
        continue;
      }
      ++num_valid;
      // float32 relative precision ~6e-8 at ~2000 px, amplified by the distortion polynomial.
      EXPECT_NEAR(img[2 * i], reference->x(), 2e-3) << i;
      EXPECT_NEAR(img[2 * i + 1], reference->y(), 2e-3) << i;
    }
    if (n > 100) {
      EXPECT_GT(num_valid, n * 9 / 10);
      EXPECT_LT(num_valid, n);
    }
  }
}

TEST_P(ProjectPoints, CudaMatchesCpu) {
  if (!CudaDeviceAvailable()) GTEST_SKIP() << "no CUDA device (or built without CUDA)";
  const PackedCamera packed = PackCamera(TestCamera(GetParam()));
  for (int64_t n : {0, 1, 7, 1000003}) {
    const std::vector<float> points = RandomPoints(n, 7);
    std::vector<float> cpu(2 * n, std::numeric_limits<float>::quiet_NaN());
    std::vector<float> gpu(2 * n, std::numeric_limits<float>::quiet_NaN());
    std::vector<uint8_t> cpu_valid(n, 7);
    std::vector<uint8_t> gpu_valid(n, 7);
    ProjectPointsCpu(packed, points.data(), n, cpu.data(), cpu_valid.data());
    ProjectPointsCuda(packed, points.data(), n, gpu.data(), gpu_valid.data());
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(cpu_valid[i], gpu_valid[i]) << i;
      if (!cpu_valid[i]) continue;
      // Same float math; only FMA contraction may differ.
      ASSERT_NEAR(cpu[2 * i], gpu[2 * i], 1e-3) << i;
      ASSERT_NEAR(cpu[2 * i + 1], gpu[2 * i + 1], 1e-3) << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllModels,
                         ProjectPoints,
                         ::testing::Values(CameraModelId::kPinhole,
                                           CameraModelId::kOpenCV,
                                           CameraModelId::kOpenCVFisheye),
                         [](const ::testing::TestParamInfo<CameraModelId>& param_info) {
                           return CameraModelName(param_info.param);
                         });

TEST(ProjectPointsCuda, WithoutDeviceThrowsClearly) {
  if (CudaDeviceAvailable()) GTEST_SKIP() << "a CUDA device is present";
  const PackedCamera packed = PackCamera(TestCamera(CameraModelId::kPinhole));
  float point[3] = {0, 0, 0};
  float img[2];
  uint8_t valid;
  EXPECT_THROW(ProjectPointsCuda(packed, point, 1, img, &valid), Error);
}

}  // namespace
}  // namespace rigpose

// SPDX-License-Identifier: BSD-3-Clause
// CUDA twin of ProjectPointsCpu (same per-point math: triangulate/project_points_kernels.h).
#include <cuda_runtime.h>

#include <string>

#include "core/error.h"
#include "triangulate/cuda_check.h"
#include "triangulate/project_points.h"
#include "triangulate/project_points_kernels.h"

namespace rigpose {
namespace {

__global__ void ProjectPointsKernel(PackedCamera camera,
                                    const float* points3D_in_world,
                                    int64_t n,
                                    float* img_points,
                                    uint8_t* valid) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  kernels::ProjectOnePoint(camera, points3D_in_world + 3 * i, img_points + 2 * i, valid + i);
}

}  // namespace

bool CudaDeviceAvailable() {
  int count = 0;
  // Without a driver this returns cudaErrorInsufficientDriver (35) or NoDevice: no GPU.
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error state
    return false;
  }
  return count > 0;
}

void ProjectPointsCuda(const PackedCamera& camera,
                       const float* points3D_in_world,
                       int64_t n,
                       float* img_points,
                       uint8_t* valid) {
  if (!CudaDeviceAvailable()) throw Error("ProjectPointsCuda: no CUDA device available");
  if (n == 0) return;
  float* d_points = nullptr;
  float* d_img = nullptr;
  uint8_t* d_valid = nullptr;
  RIGPOSE_CUDA_CHECK(cudaMalloc(&d_points, sizeof(float) * 3 * n));
  RIGPOSE_CUDA_CHECK(cudaMalloc(&d_img, sizeof(float) * 2 * n));
  RIGPOSE_CUDA_CHECK(cudaMalloc(&d_valid, sizeof(uint8_t) * n));
  RIGPOSE_CUDA_CHECK(
      cudaMemcpy(d_points, points3D_in_world, sizeof(float) * 3 * n, cudaMemcpyHostToDevice));
  const int threads = 256;
  const int64_t blocks = (n + threads - 1) / threads;
  ProjectPointsKernel<<<static_cast<unsigned>(blocks), threads>>>(
      camera, d_points, n, d_img, d_valid);
  RIGPOSE_CUDA_CHECK(cudaGetLastError());
  RIGPOSE_CUDA_CHECK(cudaMemcpy(img_points, d_img, sizeof(float) * 2 * n, cudaMemcpyDeviceToHost));
  RIGPOSE_CUDA_CHECK(cudaMemcpy(valid, d_valid, sizeof(uint8_t) * n, cudaMemcpyDeviceToHost));
  cudaFree(d_points);
  cudaFree(d_img);
  cudaFree(d_valid);
}

}  // namespace rigpose

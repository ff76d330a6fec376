// SPDX-License-Identifier: BSD-3-Clause
// CUDA twin of TriangulateNormalisedCpu (same per-point math: triangulate/dlt_kernels.h).
#include <cuda_runtime.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "triangulate/cuda_check.h"
#include "triangulate/dlt.h"
#include "triangulate/dlt_kernels.h"
#include "triangulate/triangulation_internal.h"

namespace rigpose {
namespace {

// One thread per (frame, joint). Index32: the flat index and its split into frame and joint in
// 32-bit arithmetic (num_items < 2^31; 64-bit division is a long emulated sequence on the GPU).
template <bool Index32>
__global__ void TriangulateNormalisedKernel(const float* __restrict__ obs,
                                            const float* __restrict__ cams_from_world,
                                            int num_cameras,
                                            int num_joints,
                                            int64_t num_items,
                                            kernels::DltKernelParams<float> params,
                                            float* __restrict__ out_points,
                                            uint8_t* __restrict__ out_status) {
  int64_t frame = 0;
  int64_t joint = 0;
  if (Index32) {
    const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= static_cast<uint32_t>(num_items)) return;
    const uint32_t f = i / static_cast<uint32_t>(num_joints);
    frame = f;
    joint = i - f * static_cast<uint32_t>(num_joints);
  } else {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= num_items) return;
    frame = i / num_joints;
    joint = i % num_joints;
  }
  kernels::TriangulateFrameJoint(
      obs, cams_from_world, num_cameras, num_joints, frame, joint, params, out_points, out_status);
}

// Device buffer freed on every exit path (a failed check throws between allocations).
template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t count) {
    if (count > 0) RIGPOSE_CUDA_CHECK(cudaMalloc(&data_, sizeof(T) * count));
  }
  ~DeviceBuffer() {
    if (data_ != nullptr) cudaFree(data_);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  T* get() const { return data_; }

 private:
  T* data_ = nullptr;
};

}  // namespace

void TriangulateNormalisedCudaAsync(const float* device_obs,
                                    const float* device_cams_from_world,
                                    int num_frames,
                                    int num_cameras,
                                    int num_joints,
                                    const DltOptions& options,
                                    float* device_out_points,
                                    uint8_t* device_out_status,
                                    void* cuda_stream) {
  const std::vector<std::string> problems = options.Check();
  RIGPOSE_CHECK(problems.empty(), "invalid DltOptions: " << problems.front());
  RIGPOSE_CHECK(num_frames >= 0 && num_cameras >= 0 && num_joints >= 0,
                "frames=" << num_frames << " cameras=" << num_cameras << " joints=" << num_joints);
  if (!CudaDeviceAvailable()) {
    throw Error("TriangulateNormalisedCudaAsync: no CUDA device available");
  }
  const int64_t num_items = static_cast<int64_t>(num_frames) * num_joints;
  if (num_items == 0) return;
  RIGPOSE_CHECK(device_out_points != nullptr && device_out_status != nullptr, "null output array");
  RIGPOSE_CHECK(num_cameras == 0 || (device_obs != nullptr && device_cams_from_world != nullptr),
                "null input array with " << num_cameras << " cameras");
  const int threads = 128;
  const int64_t blocks = (num_items + threads - 1) / threads;
  RIGPOSE_CHECK(blocks <= 0x7fffffff, num_items << " items: too many for one launch");
  const auto stream = static_cast<cudaStream_t>(cuda_stream);
  const kernels::DltKernelParams<float> params = internal::MakeDltKernelParams<float>(options);
  const auto kernel = num_items < (int64_t{1} << 31) ? &TriangulateNormalisedKernel<true>
                                                     : &TriangulateNormalisedKernel<false>;
  kernel<<<static_cast<unsigned>(blocks), threads, 0, stream>>>(device_obs,
                                                                device_cams_from_world,
                                                                num_cameras,
                                                                num_joints,
                                                                num_items,
                                                                params,
                                                                device_out_points,
                                                                device_out_status);
  RIGPOSE_CUDA_CHECK(cudaGetLastError());
}

void TriangulateNormalisedCuda(const float* obs,
                               const float* cams_from_world,
                               int num_frames,
                               int num_cameras,
                               int num_joints,
                               const DltOptions& options,
                               float* out_points,
                               uint8_t* out_status) {
  const std::vector<std::string> problems = options.Check();
  RIGPOSE_CHECK(problems.empty(), "invalid DltOptions: " << problems.front());
  RIGPOSE_CHECK(num_frames >= 0 && num_cameras >= 0 && num_joints >= 0,
                "frames=" << num_frames << " cameras=" << num_cameras << " joints=" << num_joints);
  if (!CudaDeviceAvailable()) throw Error("TriangulateNormalisedCuda: no CUDA device available");
  const int64_t num_items = static_cast<int64_t>(num_frames) * num_joints;
  if (num_items == 0) return;
  const size_t num_obs = static_cast<size_t>(num_items) * num_cameras * 3;
  const size_t num_pose_values = static_cast<size_t>(num_cameras) * 12;
  DeviceBuffer<float> d_obs(num_obs);
  DeviceBuffer<float> d_poses(num_pose_values);
  DeviceBuffer<float> d_points(static_cast<size_t>(num_items) * 4);
  DeviceBuffer<uint8_t> d_status(static_cast<size_t>(num_items));
  if (num_obs > 0) {
    RIGPOSE_CUDA_CHECK(
        cudaMemcpy(d_obs.get(), obs, sizeof(float) * num_obs, cudaMemcpyHostToDevice));
    RIGPOSE_CUDA_CHECK(cudaMemcpy(
        d_poses.get(), cams_from_world, sizeof(float) * num_pose_values, cudaMemcpyHostToDevice));
  }
  TriangulateNormalisedCudaAsync(d_obs.get(),
                                 d_poses.get(),
                                 num_frames,
                                 num_cameras,
                                 num_joints,
                                 options,
                                 d_points.get(),
                                 d_status.get());
  RIGPOSE_CUDA_CHECK(cudaMemcpy(
      out_points, d_points.get(), sizeof(float) * 4 * num_items, cudaMemcpyDeviceToHost));
  RIGPOSE_CUDA_CHECK(
      cudaMemcpy(out_status, d_status.get(), sizeof(uint8_t) * num_items, cudaMemcpyDeviceToHost));
}

}  // namespace rigpose

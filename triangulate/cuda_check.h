// SPDX-License-Identifier: BSD-3-Clause
// The one check macro for CUDA runtime calls in triangulate/*.cu: throws rigpose::Error naming
// file:line, the call and the CUDA error string.
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "core/error.h"

#define RIGPOSE_CUDA_CHECK(call)                                                             \
  do {                                                                                       \
    const cudaError_t rigpose_cuda_status_ = (call);                                         \
    if (rigpose_cuda_status_ != cudaSuccess) {                                               \
      throw ::rigpose::Error(std::string(__FILE__) + ":" + std::to_string(__LINE__) + ": " + \
                             #call + ": " + cudaGetErrorString(rigpose_cuda_status_));       \
    }                                                                                        \
  } while (false)

// SPDX-License-Identifier: BSD-3-Clause
// RIGPOSE_HD marks math that is compiled for both host and device (CUDA) code.
#pragma once

#if defined(__CUDACC__)
#define RIGPOSE_HD __host__ __device__
#else
#define RIGPOSE_HD
#endif

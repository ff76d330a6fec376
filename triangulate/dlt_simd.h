// SPDX-License-Identifier: BSD-3-Clause
// INTERNAL to triangulate/: the dense DLT core (kernels::TriangulateFrameJoint over a range of
// the [F][C][J][3] layout) with several joints per AVX2 register. The gather, the normal-matrix
// accumulation, L D Lᵀ and the inverse iteration run on 8 (float) / 4 (double) joints at once in
// the scalar kernel's operation order (no FMA), so every result is bit-identical to
// kernels::TriangulateFrameJoint; a joint whose fast path is not clean (fewer than 2 usable views,
// a non-finite or rank-deficient normal matrix, no convergence in 8 steps) is redone by the
// scalar kernel. The ray-angle, distance and depth checks run per joint as in the scalar kernel.
#pragma once

#include <cstdint>

#include "triangulate/dlt_kernels.h"

namespace rigpose::internal {

// Triangulates items [begin, begin + k * lanes) for the largest such k with the end <= end and
// returns begin + k * lanes (the caller finishes the rest with the scalar kernel); returns begin
// at once when the CPU has no AVX2. T = float (8 lanes) or double (4 lanes).
template <typename T>
int64_t TriangulateDenseRangeSimd(const T* obs,
                                  const T* cams_from_world,
                                  int num_cameras,
                                  int num_joints,
                                  int64_t begin,
                                  int64_t end,
                                  const kernels::DltKernelParams<T>& params,
                                  T* out_points,
                                  uint8_t* out_status);

}  // namespace rigpose::internal

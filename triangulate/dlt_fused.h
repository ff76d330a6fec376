// SPDX-License-Identifier: BSD-3-Clause
// INTERNAL to triangulate/: TriangulateDltBatch's fused fast path, pixels in. For 16 (float) / 8
// (double) joints per AVX-512 register (8 / 4 on AVX2) it loads the keypoints of every view,
// undistorts them (PINHOLE; OPENCV by 4 lockstep Newton steps plus the convergence test, as
// PrepareNormalisedObservations does row by row), accumulates the weighted DLT normal matrix,
// solves it (L D Lᵀ + inverse iteration, kernels::DltNullVector's operations) and runs the
// ray-angle, distance and depth checks, all lane-wise and without writing the normalised
// observations anywhere. A joint that is not clean on that path (a view whose undistortion needs
// the model's own loop, fewer than 2 usable views, a non-finite or rank-deficient normal
// matrix, no convergence in 8 steps, its first two views not spanning the ray angle) is redone
// one by one: its normalised views as PrepareNormalisedObservations writes them, then
// kernels::TriangulateNormalisedPoint.
//
// T = double mirrors PrepareNormalisedObservations + TriangulateNormalisedCpu operation by
// operation (no FMA, same order): every status and every bit of every point is theirs
// (tests/triangulate/dlt_fused_test.cc,
// TriangulateDltBatchFused.DoubleEqualsTheTwoStepPathBitForBit; the whole triangulate library is
// compiled with -ffp-contract=off for it). T = float undistorts in float (convergence tolerance
// kFloatUndistortTolerance instead of 1e-14) and agrees with the double path to float rounding.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/camera.h"
#include "triangulate/dlt_kernels.h"

namespace rigpose::internal {

// Residual (normalised units) under which a float lockstep undistortion counts as converged:
// 4e-6 is 0.004 px at f = 1000 px, a few float roundings of the residual for |u| <= 2.
constexpr float kFloatUndistortTolerance = 4e-6f;

// One camera as the fused path reads it.
struct FusedCamera {
  CameraModelId model_id = CameraModelId::kPinhole;
  const double* params = nullptr;  // model order, kNumParams values
  double cam_from_world[12] = {};  // PackCamFromWorld
};

// The instruction set of the fused path: AVX2 + FMA (8 float / 4 double lanes) or AVX-512
// F/DQ/BW/VL (16 / 8).
enum class FusedDltIsa { kAvx2, kAvx512 };

// What the fused path runs on for these cameras and joints per frame: nullopt when it cannot (no
// AVX2 + FMA, no camera, a camera model other than PINHOLE / OPENCV, or frames so large that the
// 32-bit lane offsets of a chunk could overflow). Chosen once per batch and passed to
// TriangulatePixelsRange, so that every thread runs the same variant.
std::optional<FusedDltIsa> FusedDltIsaFor(const std::vector<Camera>& cameras, int num_joints);

// For tests (process-wide, set it before triangulating): kAvx2 makes FusedDltIsaFor choose AVX2
// on an AVX-512 CPU, kOff makes it return nullopt (TriangulateDltBatch takes the two-step path).
enum class FusedDltMode { kAuto, kAvx2, kOff };
void SetFusedDltModeForTesting(FusedDltMode mode);
// "avx512", "avx2" or "off": what FusedDltIsaFor chooses now (for PINHOLE / OPENCV cameras).
const char* FusedDltVariant();

// Triangulates the items (frame * num_joints + joint) [begin, end) of keypoints [F][C][J][3]
// (x px, y px, score): out_points [F][J][4] (x, y, z, valid; invalid = 0, 0, 0, 0), out_status
// [F][J], and, when out_usable is not null, out_usable [F][C][J] = 1 where the view entered the
// DLT (kernels::IsUsableView of its normalised observation). Returns the number of present views
// whose undistortion did not converge (as PrepareNormalisedObservations counts them).
template <typename T>
int64_t TriangulatePixelsRange(FusedDltIsa isa,
                               const float* keypoints,
                               const FusedCamera* cameras,
                               int num_cameras,
                               int num_joints,
                               int64_t begin,
                               int64_t end,
                               const kernels::DltKernelParams<T>& params,
                               double* out_points,
                               uint8_t* out_status,
                               uint8_t* out_usable);

}  // namespace rigpose::internal

// SPDX-License-Identifier: BSD-3-Clause
// Linear (DLT) triangulation of 2D keypoints seen by a calibrated rig (Hartley & Zisserman,
// "Multiple View Geometry", 2nd ed., §12.2): for each view the rows x·P3 − P1 and y·P3 − P2,
// optionally weighted by the detector score, and the homogeneous point is the eigenvector of the
// smallest eigenvalue of the 4×4 normal matrix Σ w² AᵀA (as COLMAP does; found by inverse
// iteration, kernels::DltNullVector).
//
// Conditioning: rows are built from UNDISTORTED NORMALISED coordinates and P = [R | t]
// (cam_from_world), never from pixels and K·[R | t].
//
// Layers (CPU reference + CUDA twin share triangulate/dlt_kernels.h):
//   TriangulateDlt                 one point, Eigen types, std::optional.
//   PrepareNormalisedObservations  Keypoints2D (px) -> [F][C][J][3] normalised + poses [C][12].
//   TriangulateNormalisedCpu/Cuda  dense core on the prepared arrays (float; double on CPU).
//   TriangulateDltBatch            rig + Keypoints2D -> Poses3D + status + reprojection errors.
//                                  With AVX2 + FMA and PINHOLE / OPENCV cameras it runs the fused
//                                  path (triangulate/dlt_fused.h: undistortion and DLT in one pass,
//                                  8/16 joints per register; double: bit-identical to the two
//                                  layers above), else those two layers.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "core/camera.h"
#include "core/keypoints.h"
#include "core/rigid3d.h"

namespace rigpose {

// Outcome of triangulating one (frame, joint). Stored as uint8 in the status arrays.
enum class TriangulationStatus : uint8_t {
  kOk = 0,
  // Fewer than 2 usable views: a view is usable when x, y and score are finite, score > 0 and
  // score >= min_score (and, in the batched API, its undistortion converged).
  kTooFewViews = 1,
  // Ill-posed geometry: every pair of usable lines of sight is closer to parallel (or
  // anti-parallel: cameras facing each other across the point) than min_ray_angle_deg,
  // the rays fix some direction of space at rounding level only (a pivot of the x, y, z block
  // of the normal matrix <= 64 ε trace; this includes a 2D null space), or the solution is at
  // infinity (|X| >= 1e7 |w| for the homogeneous (X, w)).
  kDegenerate = 2,
  // The solution has depth z <= 0 in at least one used view.
  kBehindCamera = 3,
  // The normal matrix or the solution is not finite (non-finite poses, overflow).
  kNotFinite = 4,
  // Robust triangulation only: no hypothesis gathered min_inliers inlier views.
  kTooFewInliers = 5,
};
constexpr int kNumTriangulationStatus = 6;
const char* TriangulationStatusName(TriangulationStatus status);

struct DltOptions {
  // Rows of view i are multiplied by its score (confidence); false: every usable view weighs 1.
  bool weighted = true;
  // Views with score < min_score are ignored (score must be > 0 in any case).
  float min_score = 0.f;
  // If no pair of used lines of sight spans at least this angle the joint is Degenerate. At 1° and
  // 1 px noise (f = 1500 px, 5 m) the depth error is already ~0.2 m, so below it the linear
  // solution is not worth reporting.
  double min_ray_angle_deg = 1.0;
  // Worker threads for the batched APIs; 0 = std::thread::hardware_concurrency().
  int num_threads = 0;
  // Batched API only: run the float32 kernel (the CUDA arithmetic) instead of float64. On the
  // fused path (see TriangulateDltBatch) the undistortion runs in float too: ~2.5-3x the
  // throughput, points within float rounding of the double result (~1e-7 of the scene size).
  bool single_precision = false;
  // Batched API only: fill DltBatchResult::reproj_error_px.
  bool compute_reproj_error = true;

  // Every problem, one sentence each; empty when the options are usable.
  std::vector<std::string> Check() const;
};

// ---- Single point ----------------------------------------------------------------------------

// Triangulates one point from views i = 0..n-1: cams_from_world[i] and the undistorted
// normalised observation cam_points[i] = (x/z, y/z). weights[i] is the view's score (empty: all
// 1); views that are not usable (see kTooFewViews) are ignored. Returns the point in world
// coordinates (metres), or nullopt with *status saying why. Throws std::invalid_argument on size
// mismatch or options that fail Check().
std::optional<Eigen::Vector3d> TriangulateDlt(const std::vector<Rigid3d>& cams_from_world,
                                              const std::vector<Eigen::Vector2d>& cam_points,
                                              const std::vector<double>& weights,
                                              const DltOptions& options = {},
                                              TriangulationStatus* status = nullptr);

// ---- Dense arrays ----------------------------------------------------------------------------

// [R | t] of cam_from_world, row-major 3×4 (12 numbers), the pose layout of the kernels.
std::array<double, 12> PackCamFromWorld(const Rigid3d& cam_from_world);

// Keypoints undistorted once per run, in the layout every triangulator consumes.
struct NormalisedObservations {
  int num_frames = 0;
  int num_cameras = 0;
  int num_joints = 0;
  // [F][C][J][3] = (x/z, y/z normalised, score). Missing keypoints and keypoints whose
  // undistortion did not converge are (0, 0, 0).
  std::vector<double> values;
  std::vector<double> cams_from_world;  // [C][12], PackCamFromWorld of each camera
  int64_t num_undistort_failures = 0;   // present keypoints dropped (not converged)
};

// Undistorts every present keypoint with Camera::CamFromImg. cameras[c] is keypoints camera c.
// Throws std::invalid_argument when the camera count differs or a camera has Problems().
NormalisedObservations PrepareNormalisedObservations(const std::vector<Camera>& cameras,
                                                     const Keypoints2D& keypoints,
                                                     int num_threads = 0);

// Dense core, mirrored by TriangulateNormalisedCuda. obs: [F][C][J][3] (x, y, score) as above;
// cams_from_world: [C][12]. Writes out_points [F][J][4] = (x, y, z metres, valid 1/0), invalid
// joints as (0, 0, 0, 0) like Poses3D::SetInvalid, and out_status [F][J] (TriangulationStatus).
// Any of F, C, J may be 0. Uses options.weighted, min_score, min_ray_angle_deg, num_threads.
void TriangulateNormalisedCpu(const float* obs,
                              const float* cams_from_world,
                              int num_frames,
                              int num_cameras,
                              int num_joints,
                              const DltOptions& options,
                              float* out_points,
                              uint8_t* out_status);
void TriangulateNormalisedCpu(const double* obs,
                              const double* cams_from_world,
                              int num_frames,
                              int num_cameras,
                              int num_joints,
                              const DltOptions& options,
                              double* out_points,
                              uint8_t* out_status);

// True when this build has CUDA kernels and a usable device (defined in project_points).
bool CudaDeviceAvailable();

// Same contract as the float TriangulateNormalisedCpu on host arrays (copies to and from the
// device; one thread per (frame, joint)). Throws rigpose::Error when CUDA is not built or no
// device is available.
void TriangulateNormalisedCuda(const float* obs,
                               const float* cams_from_world,
                               int num_frames,
                               int num_cameras,
                               int num_joints,
                               const DltOptions& options,
                               float* out_points,
                               uint8_t* out_status);

// The kernel alone, on arrays already in device memory (same layouts and contract as
// TriangulateNormalisedCuda): enqueued on cuda_stream (a cudaStream_t; nullptr = the default
// stream) and returns without synchronising, so callers whose keypoints already live on the GPU
// (a detector's output) pay no copies. Throws rigpose::Error when CUDA is not built, no device is
// available or the launch fails; errors of the kernel itself surface at the next synchronisation.
void TriangulateNormalisedCudaAsync(const float* device_obs,
                                    const float* device_cams_from_world,
                                    int num_frames,
                                    int num_cameras,
                                    int num_joints,
                                    const DltOptions& options,
                                    float* device_out_points,
                                    uint8_t* device_out_status,
                                    void* cuda_stream = nullptr);

struct DltBatchResult {
  Poses3D poses;                // [F][J][4]
  std::vector<uint8_t> status;  // [F][J], TriangulationStatus
  // [F][C][J]: pixel distance between the keypoint and the projection of the 3D joint through
  // the full camera model, for used views of valid joints; NaN elsewhere (or when the point does
  // not project). Empty unless options.compute_reproj_error.
  std::vector<float> reproj_error_px;
  std::array<int64_t, kNumTriangulationStatus> status_counts{};
  int64_t num_undistort_failures = 0;
};

// Weighted (or not) DLT of every (frame, joint). cameras[c] is keypoints camera c. Expected
// per-joint failures are reported in status, never thrown; contract violations (camera count,
// camera Problems(), options Check()) throw std::invalid_argument.
DltBatchResult TriangulateDltBatch(const std::vector<Camera>& cameras,
                                   const Keypoints2D& keypoints,
                                   const DltOptions& options = {});

}  // namespace rigpose

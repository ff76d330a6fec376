// SPDX-License-Identifier: BSD-3-Clause
// Per-point DLT math shared by the CPU reference (float and double) and the CUDA kernel (float).
// No Eigen, no allocation: fixed-size arrays and a hand-written 4×4 null-vector solver, so the
// arithmetic that the GPU runs is tested on every CI machine (tests/triangulate/dlt_test.cc).
//
// Layouts: a pose is [R | t] of cam_from_world, row-major 3×4 (12 numbers); an observation is
// (x, y, score) with (x, y) undistorted normalised coordinates; 4×4 matrices are row-major.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/host_device.h"
#include "triangulate/dlt.h"

namespace rigpose::kernels {

template <typename T>
struct DltKernelParams {
  bool weighted = true;
  T min_score = 0;
  T min_sin_ray_angle = 0;  // sin(min_ray_angle_deg)
};

// Machine epsilon of the kernel scalar (std::numeric_limits is not usable in device code
// without relaxed constexpr).
template <typename T>
RIGPOSE_HD constexpr T KernelEpsilon() {
  return sizeof(T) == sizeof(float) ? T(1.1920929e-7) : T(2.220446049250313e-16);
}

template <typename T>
RIGPOSE_HD inline T KernelAbs(T x) {
  return x < T(0) ? -x : x;
}

template <typename T>
RIGPOSE_HD inline bool IsUsableView(const T* obs, T min_score) {
  return std::isfinite(obs[0]) && std::isfinite(obs[1]) && std::isfinite(obs[2]) && obs[2] > T(0) &&
         obs[2] >= min_score;
}

// normal += w² (aᵀa + bᵀb) with a = x·P3 − P1, b = y·P3 − P2 (Hartley & Zisserman eq. 12.2).
// Only the upper triangle (row <= col) is accumulated; MirrorUpperTriangle4 completes it.
template <typename T>
RIGPOSE_HD inline void AccumulateDltRows(const T* cam_from_world, T x, T y, T w, T* normal) {
  const T* p = cam_from_world;
  T a[4];
  T b[4];
  for (int k = 0; k < 4; ++k) {
    a[k] = x * p[8 + k] - p[k];
    b[k] = y * p[8 + k] - p[4 + k];
  }
  const T w2 = w * w;
  for (int r = 0; r < 4; ++r) {
    for (int c = r; c < 4; ++c) normal[4 * r + c] += w2 * (a[r] * a[c] + b[r] * b[c]);
  }
}

template <typename T>
RIGPOSE_HD inline void MirrorUpperTriangle4(T* m) {
  for (int r = 1; r < 4; ++r) {
    for (int c = 0; c < r; ++c) m[4 * r + c] = m[4 * c + r];
  }
}

// The null vector of the DLT normal matrix N = Σ w² (aᵀa + bᵀb) (symmetric positive
// semi-definite 4×4, row-major): the eigenvector of its smallest eigenvalue, scaled to
// homogeneous[3] = 1, by inverse iteration on N = L D Lᵀ (unit lower-triangular L, no pivoting,
// unknowns in the order x, y, z, w). The first step, from e_w, is the inhomogeneous least-squares
// point [−N_xyz⁻¹ n_w; 1] (N⁻¹ e_w = L⁻ᵀ e_w / d_w); each further step multiplies the error by
// λ1 / λ2, the ratio of the two smallest eigenvalues (~1e-6 for pixel noise), so two or three
// steps reach rounding level (two noisy views can have λ1 / λ2 ~ 0.1 and take ~15; the loop stops
// when the point moves by less than 4 ε, at max_steps at the latest).
//
// About 150 flops and no square root, against ~2000 flops and ~70 square roots for the cyclic
// Jacobi eigen-decomposition used before (dense core at 4 views: 6.5× the joints per second,
// docs/BENCHMARKS.md). L D Lᵀ of a positive semi-definite matrix needs no pivoting; a tiny or
// rounding-negative last pivot d_w (the smallest eigenvalue lives there) is raised to ε² trace,
// a perturbation of N at rounding level.
//
// Returns the number of steps taken, or -1 when the point is not determined: a pivot of the
// x, y, z block ≤ 64 ε trace(N) (the rays fix some direction of space at rounding level only:
// parallel or too few rays, a two-dimensional null space), or the iteration leaves the finite
// numbers (a point at infinity, w → 0).
template <typename T>
RIGPOSE_HD inline int DltNullVector(const T* n, T* homogeneous, int max_steps = 64) {
  const T eps = KernelEpsilon<T>();
  const T trace = n[0] + n[5] + n[10] + n[15];
  if (!(trace > T(0))) return -1;
  const T tiny = T(64) * eps * trace;
  // N = L D Lᵀ.
  const T d0 = n[0];
  if (!(d0 > tiny)) return -1;
  const T l10 = n[4] / d0;
  const T l20 = n[8] / d0;
  const T l30 = n[12] / d0;
  const T d1 = n[5] - l10 * l10 * d0;
  if (!(d1 > tiny)) return -1;
  const T l21 = (n[9] - l20 * l10 * d0) / d1;
  const T l31 = (n[13] - l30 * l10 * d0) / d1;
  const T d2 = n[10] - l20 * l20 * d0 - l21 * l21 * d1;
  if (!(d2 > tiny)) return -1;
  const T l32 = (n[14] - l30 * l20 * d0 - l31 * l21 * d1) / d2;
  T d3 = n[15] - l30 * l30 * d0 - l31 * l31 * d1 - l32 * l32 * d2;
  if (!(d3 > eps * eps * trace)) d3 = eps * eps * trace;
  // v = e_w after the first step's forward solve and scaling (L⁻¹ e_w = e_w); the scale of v is
  // irrelevant, so start from z = e_w directly.
  T z0 = 0;
  T z1 = 0;
  T z2 = 0;
  T z3 = 1;
  T v[4] = {0, 0, 0, 1};
  int step = 0;
  for (; step < max_steps; ++step) {
    // x = L⁻ᵀ z, then scaled to x_w = 1.
    const T x3 = z3;
    const T x2 = z2 - l32 * x3;
    const T x1 = z1 - l21 * x2 - l31 * x3;
    const T x0 = z0 - l10 * x1 - l20 * x2 - l30 * x3;
    const T inv_w = T(1) / x3;
    const T next[3] = {x0 * inv_w, x1 * inv_w, x2 * inv_w};
    if (!(std::isfinite(next[0]) && std::isfinite(next[1]) && std::isfinite(next[2]))) return -1;
    T change = 0;
    T size = 1;
    for (int k = 0; k < 3; ++k) {
      const T delta = KernelAbs(next[k] - v[k]);
      change = delta > change ? delta : change;
      size = KernelAbs(next[k]) > size ? KernelAbs(next[k]) : size;
      v[k] = next[k];
    }
    if (step > 0 && change <= T(4) * eps * size) break;
    // z = D⁻¹ L⁻¹ v for the next step.
    const T y0 = v[0];
    const T y1 = v[1] - l10 * y0;
    const T y2 = v[2] - l20 * y0 - l21 * y1;
    const T y3 = T(1) - l30 * y0 - l31 * y1 - l32 * y2;
    z0 = y0 / d0;
    z1 = y1 / d1;
    z2 = y2 / d2;
    z3 = y3 / d3;
  }
  for (int k = 0; k < 4; ++k) homogeneous[k] = v[k];
  return step;
}

// Unit-free ray direction in the world frame: Rᵀ (x, y, 1).
template <typename T>
RIGPOSE_HD inline void WorldRay(const T* cam_from_world, T x, T y, T* ray) {
  const T* p = cam_from_world;
  for (int k = 0; k < 3; ++k) ray[k] = p[k] * x + p[4 + k] * y + p[8 + k];
}

// True when two usable views have lines of sight at least min_sin_ray_angle apart. The angle is
// between LINES (through the cross product, accurate for small angles): two cameras facing each
// other across the point see it along one line too, so anti-parallel rays are degenerate as well.
// Returns at the first such pair, so the quadratic worst case only happens for degenerate joints.
template <typename T>
RIGPOSE_HD inline bool RaysSpanMinAngle(const T* obs,
                                        int64_t view_stride,
                                        const T* cams_from_world,
                                        int num_views,
                                        const DltKernelParams<T>& params) {
  const T min_sin2 = params.min_sin_ray_angle * params.min_sin_ray_angle;
  for (int i = 0; i < num_views; ++i) {
    const T* oi = obs + i * view_stride;
    if (!IsUsableView(oi, params.min_score)) continue;
    T ri[3];
    WorldRay(cams_from_world + 12 * i, oi[0], oi[1], ri);
    const T ni2 = ri[0] * ri[0] + ri[1] * ri[1] + ri[2] * ri[2];
    for (int j = i + 1; j < num_views; ++j) {
      const T* oj = obs + j * view_stride;
      if (!IsUsableView(oj, params.min_score)) continue;
      T rj[3];
      WorldRay(cams_from_world + 12 * j, oj[0], oj[1], rj);
      const T nj2 = rj[0] * rj[0] + rj[1] * rj[1] + rj[2] * rj[2];
      const T cx = ri[1] * rj[2] - ri[2] * rj[1];
      const T cy = ri[2] * rj[0] - ri[0] * rj[2];
      const T cz = ri[0] * rj[1] - ri[1] * rj[0];
      const T cross2 = cx * cx + cy * cy + cz * cz;
      if (cross2 > T(0) && cross2 >= min_sin2 * ni2 * nj2) return true;
    }
  }
  return false;
}

// The checks on a solved point: farther than 1e7 x the unit (m) is at infinity for any rig
// (kDegenerate); depth <= 0 in a used view is kBehindCamera. Shared by the scalar kernel below and
// the AVX2 fast path (triangulate/dlt_simd.cc).
template <typename T>
RIGPOSE_HD inline TriangulationStatus CheckDltPoint(const T* obs,
                                                    int64_t view_stride,
                                                    const T* cams_from_world,
                                                    int num_views,
                                                    const DltKernelParams<T>& params,
                                                    const T* point) {
  const T norm_xyz = std::sqrt(point[0] * point[0] + point[1] * point[1] + point[2] * point[2]);
  if (!(norm_xyz < T(1e7))) return TriangulationStatus::kDegenerate;
  for (int c = 0; c < num_views; ++c) {
    if (!IsUsableView(obs + c * view_stride, params.min_score)) continue;
    const T* p = cams_from_world + 12 * c;
    const T depth = p[8] * point[0] + p[9] * point[1] + p[10] * point[2] + p[11];
    if (!(depth > T(0))) return TriangulationStatus::kBehindCamera;
  }
  return TriangulationStatus::kOk;
}

// DLT of one point from num_views observations obs + c * view_stride (x, y, score) and poses
// cams_from_world + 12 * c. Writes the world point (metres) to point3D_in_world, or NaN when the
// status is not kOk. See TriangulationStatus for the failure rules.
template <typename T>
RIGPOSE_HD inline TriangulationStatus TriangulateNormalisedPoint(const T* obs,
                                                                 int64_t view_stride,
                                                                 const T* cams_from_world,
                                                                 int num_views,
                                                                 const DltKernelParams<T>& params,
                                                                 T* point3D_in_world) {
  for (int k = 0; k < 3; ++k) point3D_in_world[k] = T(NAN);
  T normal[16];
  for (int k = 0; k < 16; ++k) normal[k] = T(0);
  int num_used = 0;
  for (int c = 0; c < num_views; ++c) {
    const T* o = obs + c * view_stride;
    if (!IsUsableView(o, params.min_score)) continue;
    const T w = params.weighted ? o[2] : T(1);
    AccumulateDltRows(cams_from_world + 12 * c, o[0], o[1], w, normal);
    ++num_used;
  }
  if (num_used < 2) return TriangulationStatus::kTooFewViews;
  MirrorUpperTriangle4(normal);
  for (int k = 0; k < 16; ++k) {
    if (!std::isfinite(normal[k])) return TriangulationStatus::kNotFinite;
  }
  if (!RaysSpanMinAngle(obs, view_stride, cams_from_world, num_views, params)) {
    return TriangulationStatus::kDegenerate;
  }

  T homogeneous[4];
  if (DltNullVector(normal, homogeneous) < 0) return TriangulationStatus::kDegenerate;
  const T point[3] = {homogeneous[0], homogeneous[1], homogeneous[2]};
  const TriangulationStatus status =
      CheckDltPoint(obs, view_stride, cams_from_world, num_views, params, point);
  if (status != TriangulationStatus::kOk) return status;
  for (int k = 0; k < 3; ++k) point3D_in_world[k] = point[k];
  return TriangulationStatus::kOk;
}

// Writes one (frame, joint) of the dense output: out_points [..][4] = (x, y, z, valid), invalid
// joints as (0, 0, 0, 0), and out_status.
template <typename T>
RIGPOSE_HD inline void WriteFrameJoint(TriangulationStatus status,
                                       const T* point,
                                       int64_t frame_joint,
                                       T* out_points,
                                       uint8_t* out_status) {
  T* out = out_points + 4 * frame_joint;
  const bool ok = status == TriangulationStatus::kOk;
  for (int k = 0; k < 3; ++k) out[k] = ok ? point[k] : T(0);
  out[3] = ok ? T(1) : T(0);
  out_status[frame_joint] = static_cast<uint8_t>(status);
}

// One (frame, joint) of the dense layout: obs [F][C][J][3], cams_from_world [C][12],
// out_points [F][J][4] (x, y, z, valid; invalid = 0, 0, 0, 0), out_status [F][J]. The caller
// splits the flat index frame * J + joint (the CUDA kernel in 32 bits when it fits: 64-bit integer
// division is emulated on the GPU).
template <typename T>
RIGPOSE_HD inline void TriangulateFrameJoint(const T* obs,
                                             const T* cams_from_world,
                                             int num_cameras,
                                             int num_joints,
                                             int64_t frame,
                                             int64_t joint,
                                             const DltKernelParams<T>& params,
                                             T* out_points,
                                             uint8_t* out_status) {
  const int64_t frame_joint = frame * num_joints + joint;
  const T* first_view = obs + (frame * num_cameras * num_joints + joint) * 3;
  T point[3];
  const TriangulationStatus status = TriangulateNormalisedPoint(
      first_view, int64_t{3} * num_joints, cams_from_world, num_cameras, params, point);
  WriteFrameJoint(status, point, frame_joint, out_points, out_status);
}

}  // namespace rigpose::kernels

// SPDX-License-Identifier: BSD-3-Clause
// Per-point DLT math shared by the CPU reference (float and double) and the CUDA kernel (float).
// No Eigen, no allocation: fixed-size arrays and a hand-written 4×4 Jacobi eigen-solver, so the
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

// Eigen-decomposition of a symmetric 4×4 matrix `a` (row-major; only symmetric input is
// meaningful) by cyclic Jacobi rotations (Golub & Van Loan, "Matrix Computations", §8.5).
// eigenvalues[k] pairs with the unit eigenvector in column k of `eigenvectors` (row-major, so
// component i is eigenvectors[4 * i + k]); no ordering. Jacobi is chosen over QR for its
// simplicity and its high relative accuracy on the small eigenvalues that DLT needs. Returns the
// number of sweeps used, or -1 when max_sweeps were not enough (the result is then still the
// best available; 4×4 converges to machine precision in about 4-6 sweeps).
template <typename T>
RIGPOSE_HD inline int SymmetricEigen4x4(const T* a,
                                        T* eigenvalues,
                                        T* eigenvectors,
                                        int max_sweeps = 16) {
  T m[16];
  T* v = eigenvectors;
  for (int i = 0; i < 16; ++i) {
    m[i] = a[i];
    v[i] = (i % 5 == 0) ? T(1) : T(0);
  }
  const T eps = KernelEpsilon<T>();
  int sweeps_used = -1;
  for (int sweep = 0; sweep < max_sweeps; ++sweep) {
    T off = 0;
    T diag = 0;
    for (int r = 0; r < 4; ++r) {
      diag += m[5 * r] * m[5 * r];
      for (int c = r + 1; c < 4; ++c) off += m[4 * r + c] * m[4 * r + c];
    }
    // Converged when the off-diagonal mass is at rounding level of the diagonal (or exactly 0,
    // which also covers the zero matrix).
    if (off <= eps * eps * diag * T(1e-2) || off == T(0)) {
      sweeps_used = sweep;
      break;
    }
    for (int p = 0; p < 3; ++p) {
      for (int q = p + 1; q < 4; ++q) {
        const T apq = m[4 * p + q];
        if (apq == T(0)) continue;
        // Rotation angle that zeroes m(p, q): t = tan(angle) is the smaller root of
        // t² + 2θt − 1 = 0 with θ = (m_qq − m_pp) / (2 m_pq).
        const T theta = (m[5 * q] - m[5 * p]) / (T(2) * apq);
        const T abs_theta = KernelAbs(theta);
        T t;
        if (abs_theta > T(1) / eps) {
          t = T(1) / (T(2) * theta);  // θ² would overflow; t ≈ 1/(2θ)
        } else {
          t = T(1) / (abs_theta + std::sqrt(theta * theta + T(1)));
          if (theta < T(0)) t = -t;
        }
        const T c = T(1) / std::sqrt(t * t + T(1));
        const T s = t * c;
        // m <- Jᵀ m J with J = identity except J_pp = J_qq = c, J_pq = s, J_qp = −s.
        for (int k = 0; k < 4; ++k) {
          const T mkp = m[4 * k + p];
          const T mkq = m[4 * k + q];
          m[4 * k + p] = c * mkp - s * mkq;
          m[4 * k + q] = s * mkp + c * mkq;
        }
        for (int k = 0; k < 4; ++k) {
          const T mpk = m[4 * p + k];
          const T mqk = m[4 * q + k];
          m[4 * p + k] = c * mpk - s * mqk;
          m[4 * q + k] = s * mpk + c * mqk;
        }
        m[4 * p + q] = T(0);
        m[4 * q + p] = T(0);
        for (int k = 0; k < 4; ++k) {
          const T vkp = v[4 * k + p];
          const T vkq = v[4 * k + q];
          v[4 * k + p] = c * vkp - s * vkq;
          v[4 * k + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  for (int k = 0; k < 4; ++k) eigenvalues[k] = m[5 * k];
  return sweeps_used;
}

// Indices of the smallest and second smallest of four values.
template <typename T>
RIGPOSE_HD inline void TwoSmallestIndices(const T* values, int* smallest, int* second) {
  int i0 = 0;
  for (int k = 1; k < 4; ++k) {
    if (values[k] < values[i0]) i0 = k;
  }
  int i1 = i0 == 0 ? 1 : 0;
  for (int k = 0; k < 4; ++k) {
    if (k != i0 && values[k] < values[i1]) i1 = k;
  }
  *smallest = i0;
  *second = i1;
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

  T eigenvalues[4];
  T eigenvectors[16];
  SymmetricEigen4x4(normal, eigenvalues, eigenvectors);
  int smallest = 0;
  int second = 1;
  TwoSmallestIndices(eigenvalues, &smallest, &second);
  T largest = 0;
  for (int k = 0; k < 4; ++k) {
    if (!std::isfinite(eigenvalues[k])) return TriangulationStatus::kNotFinite;
    largest = KernelAbs(eigenvalues[k]) > largest ? KernelAbs(eigenvalues[k]) : largest;
  }
  // A (numerically) two-dimensional null space: the rays meet in a line, not a point.
  if (eigenvalues[second] <= T(64) * KernelEpsilon<T>() * largest) {
    return TriangulationStatus::kDegenerate;
  }
  T homogeneous[4];
  for (int k = 0; k < 4; ++k) homogeneous[k] = eigenvectors[4 * k + smallest];
  const T norm_xyz = std::sqrt(homogeneous[0] * homogeneous[0] + homogeneous[1] * homogeneous[1] +
                               homogeneous[2] * homogeneous[2]);
  if (!(KernelAbs(homogeneous[3]) * T(1e7) > norm_xyz)) return TriangulationStatus::kDegenerate;
  T point[3];
  for (int k = 0; k < 3; ++k) point[k] = homogeneous[k] / homogeneous[3];
  if (!std::isfinite(point[0]) || !std::isfinite(point[1]) || !std::isfinite(point[2])) {
    return TriangulationStatus::kNotFinite;
  }
  for (int c = 0; c < num_views; ++c) {
    if (!IsUsableView(obs + c * view_stride, params.min_score)) continue;
    const T* p = cams_from_world + 12 * c;
    const T depth = p[8] * point[0] + p[9] * point[1] + p[10] * point[2] + p[11];
    if (!(depth > T(0))) return TriangulationStatus::kBehindCamera;
  }
  for (int k = 0; k < 3; ++k) point3D_in_world[k] = point[k];
  return TriangulationStatus::kOk;
}

// One (frame, joint) of the dense layout: obs [F][C][J][3], cams_from_world [C][12],
// out_points [F][J][4] (x, y, z, valid; invalid = 0, 0, 0, 0), out_status [F][J].
template <typename T>
RIGPOSE_HD inline void TriangulateFrameJoint(const T* obs,
                                             const T* cams_from_world,
                                             int num_cameras,
                                             int num_joints,
                                             int64_t frame_joint,
                                             const DltKernelParams<T>& params,
                                             T* out_points,
                                             uint8_t* out_status) {
  const int64_t frame = frame_joint / num_joints;
  const int64_t joint = frame_joint % num_joints;
  const T* first_view = obs + (frame * num_cameras * num_joints + joint) * 3;
  T point[3];
  const TriangulationStatus status = TriangulateNormalisedPoint(
      first_view, int64_t{3} * num_joints, cams_from_world, num_cameras, params, point);
  T* out = out_points + 4 * frame_joint;
  const bool ok = status == TriangulationStatus::kOk;
  for (int k = 0; k < 3; ++k) out[k] = ok ? point[k] : T(0);
  out[3] = ok ? T(1) : T(0);
  out_status[frame_joint] = static_cast<uint8_t>(status);
}

}  // namespace rigpose::kernels

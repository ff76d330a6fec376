// SPDX-License-Identifier: BSD-3-Clause
#include "triangulate/dlt_simd.h"

#include <cmath>
#include <type_traits>

namespace rigpose::internal {
namespace {

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define RIGPOSE_DLT_SIMD 1
#endif

#if defined(RIGPOSE_DLT_SIMD)

typedef float Float8 __attribute__((vector_size(32)));
typedef double Double4 __attribute__((vector_size(32)));

// One chunk of L consecutive items starting at `first`; see dlt_simd.h.
template <typename T, typename V, int L>
__attribute__((always_inline)) inline void Chunk(const T* obs,
                                                 const T* poses,
                                                 int num_cameras,
                                                 int num_joints,
                                                 int64_t first,
                                                 const kernels::DltKernelParams<T>& params,
                                                 T* out_points,
                                                 uint8_t* out_status) {
  const int64_t view_stride = int64_t{3} * num_joints;
  const T* base[L];
  int used[L];
  for (int l = 0; l < L; ++l) {
    const int64_t item = first + l;
    const int64_t frame = item / num_joints;
    const int64_t joint = item % num_joints;
    base[l] = obs + (frame * num_cameras * num_joints + joint) * 3;
    used[l] = 0;
  }
  // Upper triangle of the normal matrix: 00 01 02 03 11 12 13 22 23 33. Unusable views add
  // w = 0 (their x, y are zeroed so that 0 * value stays 0): N is what the scalar kernel sums.
  V n[10];
  for (V& e : n) e = V{} + T(0);
  for (int c = 0; c < num_cameras; ++c) {
    V x = V{}, y = V{}, w = V{};  // every lane is set below
    for (int l = 0; l < L; ++l) {
      const T* o = base[l] + c * view_stride;
      const bool usable = kernels::IsUsableView(o, params.min_score);
      x[l] = usable ? o[0] : T(0);
      y[l] = usable ? o[1] : T(0);
      w[l] = usable ? (params.weighted ? o[2] : T(1)) : T(0);
      used[l] += usable ? 1 : 0;
    }
    const T* p = poses + 12 * c;
    V a[4];
    V b[4];
    for (int k = 0; k < 4; ++k) {
      a[k] = x * p[8 + k] - p[k];
      b[k] = y * p[8 + k] - p[4 + k];
    }
    const V w2 = w * w;
    int e = 0;
    for (int r = 0; r < 4; ++r) {
      for (int col = r; col < 4; ++col) n[e++] += w2 * (a[r] * a[col] + b[r] * b[col]);
    }
  }
  // kernels::DltNullVector, lane-wise, same operations in the same order.
  const T eps = kernels::KernelEpsilon<T>();
  const V trace = n[0] + n[4] + n[7] + n[9];
  const V tiny = (T(64) * eps) * trace;
  const V d0 = n[0];
  const V l10 = n[1] / d0, l20 = n[2] / d0, l30 = n[3] / d0;
  const V d1 = n[4] - l10 * l10 * d0;
  const V l21 = (n[5] - l20 * l10 * d0) / d1;
  const V l31 = (n[6] - l30 * l10 * d0) / d1;
  const V d2 = n[7] - l20 * l20 * d0 - l21 * l21 * d1;
  const V l32 = (n[8] - l30 * l20 * d0 - l31 * l21 * d1) / d2;
  V d3 = n[9] - l30 * l30 * d0 - l31 * l31 * d1 - l32 * l32 * d2;
  const V d3_floor = (eps * eps) * trace;
  d3 = d3 > d3_floor ? d3 : d3_floor;
  bool clean[L];
  for (int l = 0; l < L; ++l) {
    bool finite = used[l] >= 2;
    for (const V& e : n) finite = finite && std::isfinite(e[l]);
    clean[l] = finite && trace[l] > T(0) && d0[l] > tiny[l] && d1[l] > tiny[l] && d2[l] > tiny[l];
  }
  V z0 = V{} + T(0), z1 = z0, z2 = z0, z3 = z0 + T(1);
  V v0 = z0, v1 = z0, v2 = z0;
  bool done[L] = {};
  constexpr int kMaxSteps = 8;
  for (int step = 0; step < kMaxSteps; ++step) {
    const V x3 = z3;
    const V x2 = z2 - l32 * x3;
    const V x1 = z1 - l21 * x2 - l31 * x3;
    const V x0 = z0 - l10 * x1 - l20 * x2 - l30 * x3;
    const V inv_w = T(1) / x3;
    const V next0 = x0 * inv_w, next1 = x1 * inv_w, next2 = x2 * inv_w;
    // |next - v| and |next| lane-wise, then the maxima in the scalar kernel's order.
    const V e0 = next0 - v0, e1 = next1 - v1, e2 = next2 - v2;
    const V delta0 = e0 < 0 ? -e0 : e0, delta1 = e1 < 0 ? -e1 : e1, delta2 = e2 < 0 ? -e2 : e2;
    const V abs0 = next0 < 0 ? -next0 : next0, abs1 = next1 < 0 ? -next1 : next1,
            abs2 = next2 < 0 ? -next2 : next2;
    V change = V{} + T(0);
    V size = V{} + T(1);
    change = delta0 > change ? delta0 : change;
    size = abs0 > size ? abs0 : size;
    change = delta1 > change ? delta1 : change;
    size = abs1 > size ? abs1 : size;
    change = delta2 > change ? delta2 : change;
    size = abs2 > size ? abs2 : size;
    const V tolerance = (T(4) * eps) * size;
    bool all_done = true;
    for (int l = 0; l < L; ++l) {
      if (done[l] || !clean[l]) continue;
      if (!(std::isfinite(next0[l]) && std::isfinite(next1[l]) && std::isfinite(next2[l]))) {
        clean[l] = false;  // the scalar kernel reports this lane (degenerate)
        continue;
      }
      v0[l] = next0[l];
      v1[l] = next1[l];
      v2[l] = next2[l];
      done[l] = step > 0 && change[l] <= tolerance[l];
      all_done = all_done && done[l];
    }
    if (all_done) break;
    const V y0 = v0;
    const V y1 = v1 - l10 * y0;
    const V y2 = v2 - l20 * y0 - l21 * y1;
    const V y3 = T(1) - l30 * y0 - l31 * y1 - l32 * y2;
    z0 = y0 / d0;
    z1 = y1 / d1;
    z2 = y2 / d2;
    z3 = y3 / d3;
  }
  // Per joint: the checks of kernels::TriangulateNormalisedPoint after the null vector, or the
  // whole scalar kernel where the fast path was not clean.
  for (int l = 0; l < L; ++l) {
    const int64_t item = first + l;
    if (!clean[l] || !done[l]) {
      kernels::TriangulateFrameJoint(obs,
                                     poses,
                                     num_cameras,
                                     num_joints,
                                     item / num_joints,
                                     item % num_joints,
                                     params,
                                     out_points,
                                     out_status);
      continue;
    }
    const T point[3] = {v0[l], v1[l], v2[l]};
    const TriangulationStatus status =
        kernels::RaysSpanMinAngle(base[l], view_stride, poses, num_cameras, params)
            ? kernels::CheckDltPoint(base[l], view_stride, poses, num_cameras, params, point)
            : TriangulationStatus::kDegenerate;
    kernels::WriteFrameJoint(status, point, item, out_points, out_status);
  }
}

template <typename T, typename V, int L>
__attribute__((target("avx2"))) int64_t RangeAvx2(const T* obs,
                                                  const T* poses,
                                                  int num_cameras,
                                                  int num_joints,
                                                  int64_t begin,
                                                  int64_t end,
                                                  const kernels::DltKernelParams<T>& params,
                                                  T* out_points,
                                                  uint8_t* out_status) {
  int64_t i = begin;
  for (; i + L <= end; i += L) {
    Chunk<T, V, L>(obs, poses, num_cameras, num_joints, i, params, out_points, out_status);
  }
  return i;
}

bool HaveAvx2() {
  static const bool have = __builtin_cpu_supports("avx2");
  return have;
}

#endif  // RIGPOSE_DLT_SIMD

}  // namespace

template <typename T>
int64_t TriangulateDenseRangeSimd(const T* obs,
                                  const T* cams_from_world,
                                  int num_cameras,
                                  int num_joints,
                                  int64_t begin,
                                  int64_t end,
                                  const kernels::DltKernelParams<T>& params,
                                  T* out_points,
                                  uint8_t* out_status) {
#if defined(RIGPOSE_DLT_SIMD)
  if (HaveAvx2()) {
    if constexpr (std::is_same_v<T, float>) {
      return RangeAvx2<float, Float8, 8>(obs,
                                         cams_from_world,
                                         num_cameras,
                                         num_joints,
                                         begin,
                                         end,
                                         params,
                                         out_points,
                                         out_status);
    } else {
      return RangeAvx2<double, Double4, 4>(obs,
                                           cams_from_world,
                                           num_cameras,
                                           num_joints,
                                           begin,
                                           end,
                                           params,
                                           out_points,
                                           out_status);
    }
  }
#endif
  return begin;
}

template int64_t TriangulateDenseRangeSimd<float>(const float*,
                                                  const float*,
                                                  int,
                                                  int,
                                                  int64_t,
                                                  int64_t,
                                                  const kernels::DltKernelParams<float>&,
                                                  float*,
                                                  uint8_t*);
template int64_t TriangulateDenseRangeSimd<double>(const double*,
                                                   const double*,
                                                   int,
                                                   int,
                                                   int64_t,
                                                   int64_t,
                                                   const kernels::DltKernelParams<double>&,
                                                   double*,
                                                   uint8_t*);

}  // namespace rigpose::internal

// SPDX-License-Identifier: BSD-3-Clause
// Compiled with -ffp-contract=off (triangulate/CMakeLists.txt): AVX-512 has FMA, and one fused
// multiply-add would break the bit-for-bit equality with the two-step path.
#include "triangulate/dlt_fused.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <type_traits>

#include "core/camera_models.h"
#include "core/error.h"
#include "triangulate/triangulation_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace rigpose::internal {
namespace {

// GCC on x86-64 (#pragma GCC target; clang would need its own attributes).
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define RIGPOSE_DLT_FUSED 1
#endif

// One camera's constants in the kernel scalar.
template <typename T>
struct CameraConstants {
  T fx, fy, cx, cy;
  T inv_fx, inv_fy;  // 1 / fx, 1 / fy (the float path multiplies)
  T k1, k2, k3, p1, p2;
  bool newton = false;  // OPENCV with a non-zero coefficient: the lockstep Newton steps
  bool opencv = false;
  CameraModelId model_id = CameraModelId::kPinhole;
  const double* params = nullptr;
  T pose[12];
};

template <typename T>
std::vector<CameraConstants<T>> MakeConstants(const FusedCamera* cameras, int num_cameras) {
  std::vector<CameraConstants<T>> out(static_cast<size_t>(num_cameras));
  for (int c = 0; c < num_cameras; ++c) {
    const FusedCamera& camera = cameras[c];
    CameraConstants<T>& k = out[static_cast<size_t>(c)];
    const double* p = camera.params;
    k.fx = static_cast<T>(p[0]);
    k.fy = static_cast<T>(p[1]);
    k.cx = static_cast<T>(p[2]);
    k.cy = static_cast<T>(p[3]);
    k.inv_fx = static_cast<T>(1.0 / p[0]);
    k.inv_fy = static_cast<T>(1.0 / p[1]);
    const bool opencv = camera.model_id == CameraModelId::kOpenCV;
    // OPENCV parameters: fx fy cx cy k1 k2 p1 p2 k3.
    k.k1 = opencv ? static_cast<T>(p[4]) : T(0);
    k.k2 = opencv ? static_cast<T>(p[5]) : T(0);
    k.p1 = opencv ? static_cast<T>(p[6]) : T(0);
    k.p2 = opencv ? static_cast<T>(p[7]) : T(0);
    k.k3 = opencv ? static_cast<T>(p[8]) : T(0);
    // With every coefficient zero a Newton step is exactly u -= 0 (radial = 1, J = I) while
    // 4 (u² + v²) is finite, so the steps are skipped (the lanes where it is not go one by one).
    k.newton = opencv && (p[4] != 0.0 || p[5] != 0.0 || p[6] != 0.0 || p[7] != 0.0 || p[8] != 0.0);
    k.opencv = opencv;
    k.model_id = camera.model_id;
    k.params = p;
    for (int i = 0; i < 12; ++i) k.pose[i] = static_cast<T>(camera.cam_from_world[i]);
  }
  return out;
}

#if defined(RIGPOSE_DLT_FUSED)

// Per camera and lane in the scratch: u, v, score, state (0 absent, 1 undistorted by the fast
// path, 2 present but needs the model's own loop), usable (1 / 0).
constexpr int kScratchRows = 5;

template <typename T>
struct RangeContext {
  const float* keypoints;
  const CameraConstants<T>* cameras;
  int num_cameras;
  int num_joints;
  const kernels::DltKernelParams<T>* params;
  T* scratch;
  double* out_points;
  uint8_t* out_status;
  uint8_t* out_usable;
};

// The one-by-one path for one item: its normalised views as PrepareNormalisedObservations
// writes them (the lockstep values where the fast path converged, the model's loop elsewhere),
// then the scalar kernel. Returns the undistortion failures.
template <typename T>
int64_t ScalarItem(const RangeContext<T>& ctx,
                   int64_t item,
                   int64_t base,
                   int lane,
                   int lanes,
                   std::vector<T>* obs,
                   const std::vector<T>& poses) {
  const int num_cameras = ctx.num_cameras;
  const int64_t view_stride = int64_t{3} * ctx.num_joints;
  int64_t failures = 0;
  for (int c = 0; c < num_cameras; ++c) {
    const T* row = ctx.scratch + static_cast<size_t>(c) * kScratchRows * lanes;
    T* o = obs->data() + 3 * c;
    const T state = row[3 * lanes + lane];
    if (state == T(1)) {
      o[0] = row[lane];
      o[1] = row[lanes + lane];
      o[2] = row[2 * lanes + lane];
    } else {
      o[0] = o[1] = o[2] = T(0);
      if (state == T(2)) {
        const CameraConstants<T>& k = ctx.cameras[c];
        const float* kp = ctx.keypoints + base + c * view_stride;
        double view[3] = {0.0, 0.0, 0.0};
        const bool ok = k.model_id == CameraModelId::kOpenCV
                            ? UndistortKeypoint<OpenCVModel>(k.params, kp, view)
                            : UndistortKeypoint<PinholeModel>(k.params, kp, view);
        if (ok) {
          for (int i = 0; i < 3; ++i) o[i] = static_cast<T>(view[i]);
        } else {
          ++failures;
        }
      }
    }
    if (ctx.out_usable != nullptr) {
      const int64_t frame = item / ctx.num_joints;
      const int64_t joint = item % ctx.num_joints;
      ctx.out_usable[(frame * num_cameras + c) * ctx.num_joints + joint] =
          kernels::IsUsableView(o, ctx.params->min_score) ? 1 : 0;
    }
  }
  T point[3];
  const TriangulationStatus status = kernels::TriangulateNormalisedPoint(
      obs->data(), 3, poses.data(), num_cameras, *ctx.params, point);
  double point_d[3] = {point[0], point[1], point[2]};
  kernels::WriteFrameJoint(status, point_d, item, ctx.out_points, ctx.out_status);
  return failures;
}

// The scratch is sized for the widest target.
constexpr int kMaxFloatLanes = 16;

// Where a chunk's lanes read: lane l at first + offsets[l] (floats); lanes
// [segment_begin[k], segment_begin[k + 1]) are consecutive keypoints (3 floats apart).
struct ChunkLayout {
  const int32_t* offsets;
  const int* segment_begin;
  int num_segments;
};

#pragma GCC push_options
#pragma GCC target("avx2")
namespace avx2 {
typedef float FloatV __attribute__((vector_size(32)));
typedef double DoubleV __attribute__((vector_size(32)));
// x, y, score of 8 / 4 views (lane l at first + layout.offsets[l]) by gathers.
inline void LoadViews(
    const float* first, const ChunkLayout& layout, FloatV& x, FloatV& y, FloatV& s) {
  const __m256i index = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(layout.offsets));
  x = reinterpret_cast<FloatV>(_mm256_i32gather_ps(first, index, 4));
  y = reinterpret_cast<FloatV>(_mm256_i32gather_ps(first + 1, index, 4));
  s = reinterpret_cast<FloatV>(_mm256_i32gather_ps(first + 2, index, 4));
}
inline void LoadViews(
    const float* first, const ChunkLayout& layout, DoubleV& x, DoubleV& y, DoubleV& s) {
  const __m128i index = _mm_loadu_si128(reinterpret_cast<const __m128i*>(layout.offsets));
  x = __builtin_convertvector(_mm_i32gather_ps(first, index, 4), DoubleV);
  y = __builtin_convertvector(_mm_i32gather_ps(first + 1, index, 4), DoubleV);
  s = __builtin_convertvector(_mm_i32gather_ps(first + 2, index, 4), DoubleV);
}
inline void Sqrt(const FloatV& x, FloatV& out) {
  out = reinterpret_cast<FloatV>(_mm256_sqrt_ps(reinterpret_cast<__m256>(x)));
}
inline void Sqrt(const DoubleV& x, DoubleV& out) {
  out = reinterpret_cast<DoubleV>(_mm256_sqrt_pd(reinterpret_cast<__m256d>(x)));
}
#include "triangulate/dlt_fused_lanes.inc"
int64_t Range(const RangeContext<double>& ctx, int64_t begin, int64_t end) {
  return RangeBody<double, DoubleV, 4>(ctx, begin, end);
}
}  // namespace avx2
#pragma GCC pop_options

// Float: a * b + c contracted into FMAs (the float path is not bit-for-bit anything; FMA only
// makes it more accurate).
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#pragma GCC optimize("fp-contract=fast")
namespace avx2::contract {
#include "triangulate/dlt_fused_lanes.inc"
int64_t Range(const RangeContext<float>& ctx, int64_t begin, int64_t end) {
  return RangeBody<float, FloatV, 8>(ctx, begin, end);
}
}  // namespace avx2::contract
#pragma GCC pop_options

// AVX-512 with DQ, BW and VL (every AVX-512 CPU since Skylake-SP): the vector comparisons need
// vpmovm2d / vpmovm2q.
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl")
namespace avx512 {
typedef float FloatV __attribute__((vector_size(64)));
typedef double DoubleV __attribute__((vector_size(64)));
// 16 views: per run of consecutive lanes (ChunkLayout), three masked loads of the 48 floats and
// a de-interleave by permutes (lane l reads element 3 l: permutex2var takes the index mod 32
// from the first two registers, permutexvar mod 16 from the third), much cheaper than three
// 16-lane gathers on current cores. More than 4 runs (fewer than 4 joints per frame): gathers.
// The masked forms with a zero source: GCC 12's unmasked ones read an undefined register
// (-Wmaybe-uninitialized).
inline void LoadViews(
    const float* first, const ChunkLayout& layout, FloatV& x, FloatV& y, FloatV& s) {
  if (layout.num_segments <= 4) {
    const __m512i index_x =
        _mm512_setr_epi32(0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 42, 45);
    const __m512i index_y = _mm512_add_epi32(index_x, _mm512_set1_epi32(1));
    const __m512i index_s = _mm512_add_epi32(index_x, _mm512_set1_epi32(2));
    __m512 vx = _mm512_setzero_ps();
    __m512 vy = _mm512_setzero_ps();
    __m512 vs = _mm512_setzero_ps();
    for (int k = 0; k < layout.num_segments; ++k) {
      const int l0 = layout.segment_begin[k];
      const int l1 = layout.segment_begin[k + 1];
      // Lane l at p + 3 l. p may lie outside the array (only the masked-in elements are read):
      // formed as an integer, not by pointer arithmetic.
      const auto* p = reinterpret_cast<const float*>(
          reinterpret_cast<uintptr_t>(first) + static_cast<intptr_t>(layout.offsets[l0] - 3 * l0) *
                                                   static_cast<intptr_t>(sizeof(float)));
      const uint64_t elements = ((uint64_t{1} << (3 * l1)) - 1) & ~((uint64_t{1} << (3 * l0)) - 1);
      const __m512 r0 = _mm512_maskz_loadu_ps(static_cast<__mmask16>(elements), p);
      const auto* p16 = reinterpret_cast<const float*>(reinterpret_cast<uintptr_t>(p) + 64);
      const auto* p32 = reinterpret_cast<const float*>(reinterpret_cast<uintptr_t>(p) + 128);
      const __m512 r1 = _mm512_maskz_loadu_ps(static_cast<__mmask16>(elements >> 16), p16);
      const __m512 r2 = _mm512_maskz_loadu_ps(static_cast<__mmask16>(elements >> 32), p32);
      const __m512 tx =
          _mm512_mask_permutexvar_ps(_mm512_permutex2var_ps(r0, index_x, r1), 0xF800, index_x, r2);
      const __m512 ty =
          _mm512_mask_permutexvar_ps(_mm512_permutex2var_ps(r0, index_y, r1), 0xF800, index_y, r2);
      const __m512 ts =
          _mm512_mask_permutexvar_ps(_mm512_permutex2var_ps(r0, index_s, r1), 0xFC00, index_s, r2);
      const auto lanes = static_cast<__mmask16>(((1u << l1) - 1) & ~((1u << l0) - 1));
      vx = _mm512_mask_mov_ps(vx, lanes, tx);
      vy = _mm512_mask_mov_ps(vy, lanes, ty);
      vs = _mm512_mask_mov_ps(vs, lanes, ts);
    }
    x = reinterpret_cast<FloatV>(vx);
    y = reinterpret_cast<FloatV>(vy);
    s = reinterpret_cast<FloatV>(vs);
    return;
  }
  const __m512i index = _mm512_loadu_si512(layout.offsets);
  x = reinterpret_cast<FloatV>(
      _mm512_mask_i32gather_ps(_mm512_setzero_ps(), 0xFFFF, index, first, 4));
  y = reinterpret_cast<FloatV>(
      _mm512_mask_i32gather_ps(_mm512_setzero_ps(), 0xFFFF, index, first + 1, 4));
  s = reinterpret_cast<FloatV>(
      _mm512_mask_i32gather_ps(_mm512_setzero_ps(), 0xFFFF, index, first + 2, 4));
}
inline void LoadViews(
    const float* first, const ChunkLayout& layout, DoubleV& x, DoubleV& y, DoubleV& s) {
  const __m256i index = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(layout.offsets));
  x = __builtin_convertvector(_mm256_i32gather_ps(first, index, 4), DoubleV);
  y = __builtin_convertvector(_mm256_i32gather_ps(first + 1, index, 4), DoubleV);
  s = __builtin_convertvector(_mm256_i32gather_ps(first + 2, index, 4), DoubleV);
}
inline void Sqrt(const FloatV& x, FloatV& out) {
  out = reinterpret_cast<FloatV>(
      _mm512_mask_sqrt_ps(_mm512_setzero_ps(), 0xFFFF, reinterpret_cast<__m512>(x)));
}
inline void Sqrt(const DoubleV& x, DoubleV& out) {
  out = reinterpret_cast<DoubleV>(
      _mm512_mask_sqrt_pd(_mm512_setzero_pd(), 0xFF, reinterpret_cast<__m512d>(x)));
}
#include "triangulate/dlt_fused_lanes.inc"
int64_t Range(const RangeContext<double>& ctx, int64_t begin, int64_t end) {
  return RangeBody<double, DoubleV, 8>(ctx, begin, end);
}
}  // namespace avx512
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl")
#pragma GCC optimize("fp-contract=fast")
namespace avx512::contract {
#include "triangulate/dlt_fused_lanes.inc"
int64_t Range(const RangeContext<float>& ctx, int64_t begin, int64_t end) {
  return RangeBody<float, FloatV, 16>(ctx, begin, end);
}
}  // namespace avx512::contract
#pragma GCC pop_options

bool HaveAvx2() {
  static const bool have = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return have;
}

bool HaveAvx512() {
  static const bool have = __builtin_cpu_supports("avx512f") &&
                           __builtin_cpu_supports("avx512dq") &&
                           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  return have;
}

#endif  // RIGPOSE_DLT_FUSED

}  // namespace

namespace {
std::atomic<int> g_fused_mode{static_cast<int>(FusedDltMode::kAuto)};
FusedDltMode Mode() { return static_cast<FusedDltMode>(g_fused_mode.load()); }
}  // namespace

void SetFusedDltModeForTesting(FusedDltMode mode) { g_fused_mode.store(static_cast<int>(mode)); }

const char* FusedDltVariant() {
#if defined(RIGPOSE_DLT_FUSED)
  if (Mode() == FusedDltMode::kOff || !HaveAvx2()) return "off";
  return Mode() == FusedDltMode::kAuto && HaveAvx512() ? "avx512" : "avx2";
#else
  return "off";
#endif
}

std::optional<FusedDltIsa> FusedDltIsaFor(const std::vector<Camera>& cameras, int num_joints) {
#if defined(RIGPOSE_DLT_FUSED)
  if (Mode() == FusedDltMode::kOff || !HaveAvx2() || cameras.empty()) return std::nullopt;
  for (const Camera& camera : cameras) {
    if (camera.model_id != CameraModelId::kPinhole && camera.model_id != CameraModelId::kOpenCV) {
      return std::nullopt;
    }
  }
  // A chunk's lanes span at most 17 frames' worth of floats (16 lanes + 1): int32 offsets.
  const int64_t floats_per_frame = int64_t{3} * static_cast<int64_t>(cameras.size()) * num_joints;
  if (floats_per_frame * (kMaxFloatLanes + 1) > int64_t{INT32_MAX}) return std::nullopt;
  return Mode() == FusedDltMode::kAuto && HaveAvx512() ? FusedDltIsa::kAvx512 : FusedDltIsa::kAvx2;
#else
  (void)cameras, (void)num_joints;
  return std::nullopt;
#endif
}

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
                               uint8_t* out_usable) {
#if defined(RIGPOSE_DLT_FUSED)
  if (begin >= end) return 0;
  const std::vector<CameraConstants<T>> constants = MakeConstants<T>(cameras, num_cameras);
  std::vector<T> scratch(static_cast<size_t>(kScratchRows) * num_cameras * kMaxFloatLanes);
  const RangeContext<T> ctx{keypoints,
                            constants.data(),
                            num_cameras,
                            num_joints,
                            &params,
                            scratch.data(),
                            out_points,
                            out_status,
                            out_usable};
  RIGPOSE_CHECK(HaveAvx2() && (isa == FusedDltIsa::kAvx2 || HaveAvx512()),
                "TriangulatePixelsRange: this CPU cannot run the requested variant");
  const bool use_avx512 = isa == FusedDltIsa::kAvx512;
  if constexpr (std::is_same_v<T, float>) {
    return use_avx512 ? avx512::contract::Range(ctx, begin, end)
                      : avx2::contract::Range(ctx, begin, end);
  } else {
    return use_avx512 ? avx512::Range(ctx, begin, end) : avx2::Range(ctx, begin, end);
  }
#else
  (void)isa, (void)keypoints, (void)cameras, (void)num_cameras, (void)num_joints, (void)begin;
  (void)end;
  (void)params, (void)out_points, (void)out_status, (void)out_usable;
  throw std::logic_error("TriangulatePixelsRange: no vector units (check FusedDltIsaFor)");
#endif
}

template int64_t TriangulatePixelsRange<float>(FusedDltIsa,
                                               const float*,
                                               const FusedCamera*,
                                               int,
                                               int,
                                               int64_t,
                                               int64_t,
                                               const kernels::DltKernelParams<float>&,
                                               double*,
                                               uint8_t*,
                                               uint8_t*);
template int64_t TriangulatePixelsRange<double>(FusedDltIsa,
                                                const float*,
                                                const FusedCamera*,
                                                int,
                                                int,
                                                int64_t,
                                                int64_t,
                                                const kernels::DltKernelParams<double>&,
                                                double*,
                                                uint8_t*,
                                                uint8_t*);

}  // namespace rigpose::internal

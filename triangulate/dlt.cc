// SPDX-License-Identifier: BSD-3-Clause
#include "triangulate/dlt.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/error.h"
#include "core/parallel_for.h"
#include "triangulate/dlt_fused.h"
#include "triangulate/dlt_kernels.h"
#include "triangulate/dlt_simd.h"
#include "triangulate/triangulation_internal.h"

namespace rigpose {

const char* TriangulationStatusName(TriangulationStatus status) {
  switch (status) {
    case TriangulationStatus::kOk:
      return "ok";
    case TriangulationStatus::kTooFewViews:
      return "too few views";
    case TriangulationStatus::kDegenerate:
      return "degenerate (near-parallel rays)";
    case TriangulationStatus::kBehindCamera:
      return "behind a camera";
    case TriangulationStatus::kNotFinite:
      return "not finite";
    case TriangulationStatus::kTooFewInliers:
      return "too few inliers";
  }
  return "unknown";
}

std::vector<std::string> DltOptions::Check() const {
  std::vector<std::string> problems;
  if (!(std::isfinite(min_score) && min_score >= 0.f)) {
    std::ostringstream s;
    s << "min_score = " << min_score << " must be finite and >= 0";
    problems.push_back(s.str());
  }
  if (!(min_ray_angle_deg >= 0.0 && min_ray_angle_deg < 90.0)) {
    std::ostringstream s;
    s << "min_ray_angle_deg = " << min_ray_angle_deg << " must be in [0, 90)";
    problems.push_back(s.str());
  }
  if (num_threads < 0) {
    std::ostringstream s;
    s << "num_threads = " << num_threads << " must be >= 0 (0 = all cores)";
    problems.push_back(s.str());
  }
  return problems;
}

namespace {

void CheckOptions(const DltOptions& options) {
  const std::vector<std::string> problems = options.Check();
  RIGPOSE_CHECK(problems.empty(), "invalid DltOptions: " << problems.front());
}

void CheckDenseSizes(int num_frames, int num_cameras, int num_joints) {
  RIGPOSE_CHECK(num_frames >= 0 && num_cameras >= 0 && num_joints >= 0,
                "frames=" << num_frames << " cameras=" << num_cameras << " joints=" << num_joints);
}

template <typename T>
void TriangulateNormalisedCpuImpl(const T* obs,
                                  const T* cams_from_world,
                                  int num_frames,
                                  int num_cameras,
                                  int num_joints,
                                  const DltOptions& options,
                                  T* out_points,
                                  uint8_t* out_status) {
  CheckOptions(options);
  CheckDenseSizes(num_frames, num_cameras, num_joints);
  const int64_t n = static_cast<int64_t>(num_frames) * num_joints;
  if (n == 0) return;
  RIGPOSE_CHECK(out_points != nullptr && out_status != nullptr, "null output array");
  RIGPOSE_CHECK(num_cameras == 0 || (obs != nullptr && cams_from_world != nullptr),
                "null input array with " << num_cameras << " cameras");
  const kernels::DltKernelParams<T> params = internal::MakeDltKernelParams<T>(options);
  internal::ParallelFor(n, options.num_threads, [&](int, int64_t begin, int64_t end) {
    // Whole chunks of joints per AVX2 register (bit-identical, triangulate/dlt_simd.h), then
    // the rest (or everything, without AVX2) one by one.
    const int64_t first_scalar = internal::TriangulateDenseRangeSimd(
        obs, cams_from_world, num_cameras, num_joints, begin, end, params, out_points, out_status);
    for (int64_t i = first_scalar; i < end; ++i) {
      kernels::TriangulateFrameJoint(obs,
                                     cams_from_world,
                                     num_cameras,
                                     num_joints,
                                     i / num_joints,
                                     i % num_joints,
                                     params,
                                     out_points,
                                     out_status);
    }
  });
}

}  // namespace

std::optional<Eigen::Vector3d> TriangulateDlt(const std::vector<Rigid3d>& cams_from_world,
                                              const std::vector<Eigen::Vector2d>& cam_points,
                                              const std::vector<double>& weights,
                                              const DltOptions& options,
                                              TriangulationStatus* status) {
  CheckOptions(options);
  RIGPOSE_CHECK(cams_from_world.size() == cam_points.size(),
                "cams_from_world.size() = " << cams_from_world.size()
                                            << " != cam_points.size() = " << cam_points.size());
  RIGPOSE_CHECK(
      weights.empty() || weights.size() == cam_points.size(),
      "weights.size() = " << weights.size() << " != cam_points.size() = " << cam_points.size());
  const size_t num_views = cam_points.size();
  std::vector<double> obs(3 * num_views);
  std::vector<double> poses(12 * num_views);
  for (size_t i = 0; i < num_views; ++i) {
    obs[3 * i] = cam_points[i].x();
    obs[3 * i + 1] = cam_points[i].y();
    obs[3 * i + 2] = weights.empty() ? 1.0 : weights[i];
    const std::array<double, 12> pose = PackCamFromWorld(cams_from_world[i]);
    std::copy(pose.begin(), pose.end(), poses.begin() + 12 * i);
  }
  double point[3];
  const TriangulationStatus result =
      kernels::TriangulateNormalisedPoint(obs.data(),
                                          3,
                                          poses.data(),
                                          static_cast<int>(num_views),
                                          internal::MakeDltKernelParams<double>(options),
                                          point);
  if (status != nullptr) *status = result;
  if (result != TriangulationStatus::kOk) return std::nullopt;
  return Eigen::Vector3d(point[0], point[1], point[2]);
}

std::array<double, 12> PackCamFromWorld(const Rigid3d& cam_from_world) {
  const Eigen::Matrix3d rotation = cam_from_world.RotationMatrix();
  std::array<double, 12> packed;
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) packed[4 * r + c] = rotation(r, c);
    packed[4 * r + 3] = cam_from_world.translation[r];
  }
  return packed;
}

namespace {

// Undistorts one (frame, camera) row of `num_joints` keypoints (x, y, score) into out; views that
// are not present stay (0, 0, 0). Returns the number of present views whose undistortion failed
// (also left at 0).
template <typename Model>
int64_t UndistortRowAs(const double* params, const float* in, int num_joints, double* out) {
  int64_t failures = 0;
  for (int j = 0; j < num_joints; ++j) {
    const float* kp = in + 3 * j;
    if (internal::IsPresentKeypoint(kp) &&
        !internal::UndistortKeypoint<Model>(params, kp, out + 3 * j))
      ++failures;
  }
  return failures;
}

// OPENCV rows in lockstep: kLockstepSteps Newton steps on every view of a block of joints at
// once, without branches, so that the compiler vectorises across joints; then the views whose
// last step did not land below the tolerance with a positive Jacobian (strong distortion, the
// fold, absent views) go through the model's own loop. From the distorted point, 4 steps reach
// 1e-14 for typical lenses (|k1| ~ 0.1-0.3); the results agree with the model's loop to rounding.
// Measured (bench/triangulate_bench, TriangulateDltBatch, 1 thread): 32 views 0.41 → 0.62 M
// joints/s, 4 views 2.5 → 3.3 M.
int64_t UndistortRowLockstep(const double* params, const float* in, int num_joints, double* out) {
  constexpr int kBlock = 32;
  constexpr int kLockstepSteps = 4;
  constexpr double kTolerance2 =
      camera_internal::kUndistortTolerance * camera_internal::kUndistortTolerance;
  const double fx = params[0];
  const double fy = params[1];
  const double cx = params[2];
  const double cy = params[3];
  int64_t failures = 0;
  for (int begin = 0; begin < num_joints; begin += kBlock) {
    const int n = std::min(kBlock, num_joints - begin);
    double ud[kBlock];
    double vd[kBlock];
    double u[kBlock];
    double v[kBlock];
    for (int k = 0; k < n; ++k) {
      const float* kp = in + 3 * (begin + k);
      ud[k] = (double{kp[0]} - cx) / fx;
      vd[k] = (double{kp[1]} - cy) / fy;
      u[k] = ud[k];
      v[k] = vd[k];
    }
    for (int step = 0; step < kLockstepSteps; ++step) {
      for (int k = 0; k < n; ++k) {
        const auto e = OpenCVModel::NewtonStep(params, ud[k], vd[k], u[k], v[k]);
        u[k] -= e.du;
        v[k] -= e.dv;
      }
    }
    for (int k = 0; k < n; ++k) {
      const int j = begin + k;
      const float* kp = in + 3 * j;
      if (!internal::IsPresentKeypoint(kp)) continue;
      const auto e = OpenCVModel::NewtonStep(params, ud[k], vd[k], u[k], v[k]);
      if (e.fu * e.fu + e.fv * e.fv < kTolerance2 && e.det > 0.0) {
        out[3 * j] = u[k];
        out[3 * j + 1] = v[k];
        out[3 * j + 2] = kp[2];
      } else if (!internal::UndistortKeypoint<OpenCVModel>(params, kp, out + 3 * j)) {
        ++failures;
      }
    }
  }
  return failures;
}

int64_t UndistortRow(
    CameraModelId model_id, const double* params, const float* in, int num_joints, double* out) {
  if (model_id == CameraModelId::kOpenCV) {
    return UndistortRowLockstep(params, in, num_joints, out);
  }
  RIGPOSE_CAMERA_MODEL_SWITCH(model_id, return UndistortRowAs<Model>(params, in, num_joints, out))
  return 0;
}

}  // namespace

namespace {

void CheckCamerasAndKeypoints(const std::vector<Camera>& cameras,
                              const Keypoints2D& keypoints,
                              int num_threads) {
  RIGPOSE_CHECK(
      static_cast<int>(cameras.size()) == keypoints.num_cameras(),
      "rig has " << cameras.size() << " cameras, keypoints have " << keypoints.num_cameras());
  for (const Camera& camera : cameras) {
    const std::vector<std::string> problems = camera.Problems();
    RIGPOSE_CHECK(problems.empty(), "camera '" << camera.name << "': " << problems.front());
  }
  RIGPOSE_CHECK(num_threads >= 0, "num_threads = " << num_threads);
}

}  // namespace

NormalisedObservations PrepareNormalisedObservations(const std::vector<Camera>& cameras,
                                                     const Keypoints2D& keypoints,
                                                     int num_threads) {
  CheckCamerasAndKeypoints(cameras, keypoints, num_threads);
  NormalisedObservations out;
  out.num_frames = keypoints.num_frames();
  out.num_cameras = keypoints.num_cameras();
  out.num_joints = keypoints.num_joints();
  out.values.assign(static_cast<size_t>(keypoints.size()), 0.0);
  out.cams_from_world.resize(12 * cameras.size());
  for (size_t c = 0; c < cameras.size(); ++c) {
    const std::array<double, 12> pose = PackCamFromWorld(cameras[c].cam_from_world);
    std::copy(pose.begin(), pose.end(), out.cams_from_world.begin() + 12 * c);
  }
  std::vector<int64_t> failures(internal::ResolveNumThreads(num_threads), 0);
  // Raw access in the hot loop (the checked accessors cost as much as the undistortion of a
  // pinhole view), one model dispatch per (frame, camera) row of joints.
  const float* in = keypoints.data();
  const int num_joints = out.num_joints;
  internal::ParallelFor(
      out.num_frames,
      num_threads,
      [&](int thread, int64_t begin, int64_t end) {
        for (int64_t f = begin; f < end; ++f) {
          for (int c = 0; c < out.num_cameras; ++c) {
            const int64_t row = (f * out.num_cameras + c) * num_joints * 3;
            failures[thread] += UndistortRow(cameras[c].model_id,
                                             cameras[c].params.data(),
                                             in + row,
                                             num_joints,
                                             out.values.data() + row);
          }
        }
      },
      /*min_items_per_thread=*/4);
  for (const int64_t count : failures) out.num_undistort_failures += count;
  return out;
}

void TriangulateNormalisedCpu(const float* obs,
                              const float* cams_from_world,
                              int num_frames,
                              int num_cameras,
                              int num_joints,
                              const DltOptions& options,
                              float* out_points,
                              uint8_t* out_status) {
  TriangulateNormalisedCpuImpl(
      obs, cams_from_world, num_frames, num_cameras, num_joints, options, out_points, out_status);
}

void TriangulateNormalisedCpu(const double* obs,
                              const double* cams_from_world,
                              int num_frames,
                              int num_cameras,
                              int num_joints,
                              const DltOptions& options,
                              double* out_points,
                              uint8_t* out_status) {
  TriangulateNormalisedCpuImpl(
      obs, cams_from_world, num_frames, num_cameras, num_joints, options, out_points, out_status);
}

#if !defined(RIGPOSE_HAVE_CUDA)
void TriangulateNormalisedCuda(
    const float*, const float*, int, int, int, const DltOptions&, float*, uint8_t*) {
  throw Error(
      "TriangulateNormalisedCuda: this build has no CUDA kernels (configure with "
      "RIGPOSE_WITH_CUDA=ON)");
}
void TriangulateNormalisedCudaAsync(
    const float*, const float*, int, int, int, const DltOptions&, float*, uint8_t*, void*) {
  throw Error(
      "TriangulateNormalisedCudaAsync: this build has no CUDA kernels (configure with "
      "RIGPOSE_WITH_CUDA=ON)");
}
#endif

DltBatchResult TriangulateDltBatch(const std::vector<Camera>& cameras,
                                   const Keypoints2D& keypoints,
                                   const DltOptions& options) {
  CheckOptions(options);
  CheckCamerasAndKeypoints(cameras, keypoints, options.num_threads);
  const int num_frames = keypoints.num_frames();
  const int num_cameras = keypoints.num_cameras();
  const int num_joints = keypoints.num_joints();
  DltBatchResult result;
  result.poses = Poses3D(num_frames, num_joints);
  result.poses.skeleton = keypoints.skeleton;
  result.status.assign(static_cast<size_t>(num_frames) * num_joints,
                       static_cast<uint8_t>(TriangulationStatus::kNotFinite));
  // Fused path (triangulate/dlt_fused.h): undistortion and DLT in one pass over the keypoints,
  // bit-identical to the two steps below in double. Usable views are recorded for the
  // reprojection table instead of the normalised observations.
  const std::optional<internal::FusedDltIsa> isa = internal::FusedDltIsaFor(cameras, num_joints);
  const bool fused = isa.has_value();
  NormalisedObservations obs;
  std::vector<uint8_t> usable;
  if (fused) {
    std::vector<internal::FusedCamera> fused_cameras(cameras.size());
    obs.cams_from_world.resize(12 * cameras.size());
    for (size_t c = 0; c < cameras.size(); ++c) {
      const std::array<double, 12> pose = PackCamFromWorld(cameras[c].cam_from_world);
      std::copy(pose.begin(), pose.end(), obs.cams_from_world.begin() + 12 * c);
      fused_cameras[c].model_id = cameras[c].model_id;
      fused_cameras[c].params = cameras[c].params.data();
      std::copy(pose.begin(), pose.end(), fused_cameras[c].cam_from_world);
    }
    if (options.compute_reproj_error) usable.assign(static_cast<size_t>(keypoints.size() / 3), 0);
    uint8_t* usable_out = usable.empty() ? nullptr : usable.data();
    const kernels::DltKernelParams<float> params_f = internal::MakeDltKernelParams<float>(options);
    const kernels::DltKernelParams<double> params_d =
        internal::MakeDltKernelParams<double>(options);
    std::vector<int64_t> failures(internal::ResolveNumThreads(options.num_threads), 0);
    // One call for either precision (T from the parameters' type).
    const auto range = [&](const auto& params, int64_t begin, int64_t end) {
      return internal::TriangulatePixelsRange(*isa,
                                              keypoints.data(),
                                              fused_cameras.data(),
                                              num_cameras,
                                              num_joints,
                                              begin,
                                              end,
                                              params,
                                              result.poses.data(),
                                              result.status.data(),
                                              usable_out);
    };
    internal::ParallelFor(int64_t{num_frames} * num_joints,
                          options.num_threads,
                          [&](int thread, int64_t begin, int64_t end) {
                            failures[thread] += options.single_precision
                                                    ? range(params_f, begin, end)
                                                    : range(params_d, begin, end);
                          });
    for (const int64_t count : failures) result.num_undistort_failures += count;
  } else {
    obs = PrepareNormalisedObservations(cameras, keypoints, options.num_threads);
    result.num_undistort_failures = obs.num_undistort_failures;
    if (options.single_precision) {
      const std::vector<float> obs_f(obs.values.begin(), obs.values.end());
      const std::vector<float> poses_f(obs.cams_from_world.begin(), obs.cams_from_world.end());
      std::vector<float> points_f(static_cast<size_t>(result.poses.size()));
      TriangulateNormalisedCpu(obs_f.data(),
                               poses_f.data(),
                               num_frames,
                               num_cameras,
                               num_joints,
                               options,
                               points_f.data(),
                               result.status.data());
      std::copy(points_f.begin(), points_f.end(), result.poses.data());
    } else {
      TriangulateNormalisedCpu(obs.values.data(),
                               obs.cams_from_world.data(),
                               num_frames,
                               num_cameras,
                               num_joints,
                               options,
                               result.poses.data(),
                               result.status.data());
    }
  }
  internal::CountStatuses(result.status, &result.status_counts);

  if (options.compute_reproj_error) {
    result.reproj_error_px.assign(static_cast<size_t>(keypoints.size() / 3), NAN);
    const float min_score = options.min_score;
    internal::ParallelFor(
        num_frames,
        options.num_threads,
        [&](int, int64_t begin, int64_t end) {
          for (int64_t f = begin; f < end; ++f) {
            const int frame = static_cast<int>(f);
            for (int j = 0; j < num_joints; ++j) {
              if (!result.poses.IsValid(frame, j)) continue;
              const double* point = result.poses.data() + result.poses.Offset(frame, j);
              for (int c = 0; c < num_cameras; ++c) {
                const int64_t offset = keypoints.Offset(frame, c, j);
                const bool used = fused ? usable[static_cast<size_t>(offset / 3)] != 0
                                        : kernels::IsUsableView(obs.values.data() + offset,
                                                                static_cast<double>(min_score));
                if (!used) continue;
                result.reproj_error_px[offset / 3] =
                    static_cast<float>(internal::ReprojErrorPx(cameras[c],
                                                               obs.cams_from_world.data() + 12 * c,
                                                               point,
                                                               keypoints.x(frame, c, j),
                                                               keypoints.y(frame, c, j)));
              }
            }
          }
        },
        /*min_items_per_thread=*/4);
  }
  return result;
}

}  // namespace rigpose

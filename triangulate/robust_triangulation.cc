// SPDX-License-Identifier: BSD-3-Clause
#include "triangulate/robust_triangulation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <utility>

#include "core/error.h"
#include "core/parallel_for.h"
#include "triangulate/dlt_kernels.h"
#include "triangulate/triangulation_internal.h"

namespace rigpose {

std::vector<std::string> RobustOptions::Check() const {
  std::vector<std::string> problems;
  auto add = [&problems](const auto&... parts) {
    std::ostringstream s;
    (s << ... << parts);
    problems.push_back(s.str());
  };
  if (!(std::isfinite(max_reproj_error_px) && max_reproj_error_px > 0.0)) {
    add("max_reproj_error_px = ", max_reproj_error_px, " must be finite and > 0");
  }
  if (max_pair_hypotheses < 1) {
    add("max_pair_hypotheses = ", max_pair_hypotheses, " must be >= 1");
  }
  if (min_inliers < 2) add("min_inliers = ", min_inliers, " must be >= 2");
  if (refine_iterations < 0) add("refine_iterations = ", refine_iterations, " must be >= 0");
  if (!(confidence > 0.0 && confidence <= 1.0)) {
    add("confidence = ", confidence, " must be in (0, 1]");
  }
  for (const std::string& problem : dlt.Check()) add("dlt.", problem);
  return problems;
}

namespace {

void CheckOptions(const RobustOptions& options) {
  const std::vector<std::string> problems = options.Check();
  RIGPOSE_CHECK(problems.empty(), "invalid RobustOptions: " << problems.front());
}

// SplitMix64 (Steele, Lea & Flood 2014): tiny, seedable per joint, identical on every platform
// (std::uniform_int_distribution is not).
struct SplitMix64 {
  uint64_t state;
  uint64_t Next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  int Below(int n) { return static_cast<int>(Next() % static_cast<uint64_t>(n)); }
};

// Per-thread buffers, so the per-joint loop does not allocate.
struct RobustScratch {
  std::vector<int> views;  // usable views, highest score first
  std::vector<std::pair<int, int>> pairs;
  std::vector<double> fit_obs;  // [C][3]: cam_obs with non-inliers' scores set to 0
  std::vector<uint8_t> inliers;
  std::vector<uint8_t> best_inliers;
  std::vector<uint8_t> candidate;
};

struct RobustPointOutput {
  TriangulationStatus status = TriangulationStatus::kTooFewViews;
  double point[3] = {NAN, NAN, NAN};
  int num_inliers = 0;
  int num_hypotheses = 0;
};

// The view data of one joint, gathered from the dense arrays.
struct JointViews {
  int num_cameras = 0;
  const double* cam_obs = nullptr;          // [C][3] normalised (x, y, score); score 0 = unusable
  const double* img_points = nullptr;       // [C][2] pixels
  const double* cams_from_world = nullptr;  // [C][12]
};

// Marks views of `views` within the threshold of point3D_in_world; returns the count and adds
// the squared inlier errors to *cost. Stops early (returning a count < must_reach) as soon as
// must_reach inliers can no longer be reached.
int SelectInliers(const std::vector<Camera>& cameras,
                  const JointViews& joint,
                  const std::vector<int>& views,
                  const double* point3D_in_world,
                  double max_error_px,
                  std::vector<uint8_t>* mask,
                  double* cost,
                  int must_reach = 0) {
  std::fill(mask->begin(), mask->end(), uint8_t{0});
  int count = 0;
  int remaining = static_cast<int>(views.size());
  *cost = 0.0;
  for (const int v : views) {
    if (count + remaining < must_reach) return count;
    --remaining;
    const double error = internal::ReprojErrorPx(cameras[v],
                                                 joint.cams_from_world + 12 * v,
                                                 point3D_in_world,
                                                 joint.img_points[2 * v],
                                                 joint.img_points[2 * v + 1]);
    if (error <= max_error_px) {  // false for NaN (not projectable)
      (*mask)[v] = 1;
      ++count;
      *cost += error * error;
    }
  }
  return count;
}

// Chooses the hypothesis pairs (indices into scratch->views, sorted by score) within the budget.
void ChoosePairs(int num_usable,
                 int budget,
                 uint64_t seed,
                 std::vector<std::pair<int, int>>* pairs) {
  pairs->clear();
  const int64_t total = static_cast<int64_t>(num_usable) * (num_usable - 1) / 2;
  if (total <= budget) {
    for (int a = 0; a < num_usable; ++a) {
      for (int b = a + 1; b < num_usable; ++b) pairs->emplace_back(a, b);
    }
    return;
  }
  // Every pair among the top_k highest-score views, using about half the budget...
  int top_k = 2;
  while (static_cast<int64_t>(top_k + 1) * top_k / 2 <= std::max(1, budget / 2)) ++top_k;
  top_k = std::min(top_k, num_usable);
  for (int a = 0; a < top_k && static_cast<int>(pairs->size()) < budget; ++a) {
    for (int b = a + 1; b < top_k && static_cast<int>(pairs->size()) < budget; ++b) {
      pairs->emplace_back(a, b);
    }
  }
  // ...then a reproducible random sample of the other pairs (bounded number of draws).
  SplitMix64 rng{seed};
  for (int attempt = 0; attempt < 8 * budget && static_cast<int>(pairs->size()) < budget;
       ++attempt) {
    int a = rng.Below(num_usable);
    int b = rng.Below(num_usable);
    if (a == b) continue;
    if (a > b) std::swap(a, b);
    if (b < top_k) continue;  // already enumerated
    if (std::find(pairs->begin(), pairs->end(), std::make_pair(a, b)) != pairs->end()) continue;
    pairs->emplace_back(a, b);
  }
}

// RANSAC's stopping rule (Fischler & Bolles 1981; Hartley & Zisserman §4.7.1): with an inlier
// ratio w = inliers / n, a random pair is all-inlier with probability p = w (w n − 1) / (n − 1);
// after N pairs the chance of never having drawn one is (1 − p)^N, so N = log(1 − confidence) /
// log(1 − p) pairs suffice.
int64_t RequiredHypotheses(int num_inliers, int num_usable, double confidence) {
  if (confidence >= 1.0 || num_inliers < 2) return std::numeric_limits<int64_t>::max();
  const double n = num_usable;
  const double p = (num_inliers / n) * (num_inliers - 1.0) / (n - 1.0);
  if (p >= 1.0) return 1;
  const double needed = std::ceil(std::log(1.0 - confidence) / std::log1p(-p));
  return needed > 1e9 ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(needed);
}

RobustPointOutput TriangulateJointRobust(const std::vector<Camera>& cameras,
                                         const JointViews& joint,
                                         const RobustOptions& options,
                                         const kernels::DltKernelParams<double>& params,
                                         uint64_t seed,
                                         RobustScratch* scratch) {
  RobustPointOutput out;
  const int num_cameras = joint.num_cameras;
  std::vector<int>& views = scratch->views;
  views.clear();
  for (int c = 0; c < num_cameras; ++c) {
    if (kernels::IsUsableView(joint.cam_obs + 3 * c, params.min_score)) views.push_back(c);
  }
  scratch->inliers.assign(num_cameras, 0);
  if (views.size() < 2) return out;  // kTooFewViews
  std::stable_sort(views.begin(), views.end(), [&joint](int a, int b) {
    return joint.cam_obs[3 * a + 2] > joint.cam_obs[3 * b + 2];
  });
  const int num_usable = static_cast<int>(views.size());
  const int min_inliers = std::max(2, options.min_inliers);
  ChoosePairs(num_usable, options.max_pair_hypotheses, seed, &scratch->pairs);

  scratch->best_inliers.assign(num_cameras, 0);
  scratch->candidate.assign(num_cameras, 0);
  int best_count = -1;
  double best_cost = std::numeric_limits<double>::infinity();
  double best_point[3] = {NAN, NAN, NAN};
  int64_t required_hypotheses = std::numeric_limits<int64_t>::max();
  TriangulationStatus first_failure = TriangulationStatus::kOk;
  for (const auto& [a, b] : scratch->pairs) {
    const int va = views[a];
    const int vb = views[b];
    double pair_obs[6];
    double pair_poses[24];
    std::copy(joint.cam_obs + 3 * va, joint.cam_obs + 3 * va + 3, pair_obs);
    std::copy(joint.cam_obs + 3 * vb, joint.cam_obs + 3 * vb + 3, pair_obs + 3);
    std::copy(joint.cams_from_world + 12 * va, joint.cams_from_world + 12 * va + 12, pair_poses);
    std::copy(
        joint.cams_from_world + 12 * vb, joint.cams_from_world + 12 * vb + 12, pair_poses + 12);
    double point[3];
    ++out.num_hypotheses;
    const TriangulationStatus status =
        kernels::TriangulateNormalisedPoint(pair_obs, 3, pair_poses, 2, params, point);
    if (status != TriangulationStatus::kOk) {
      if (first_failure == TriangulationStatus::kOk) first_failure = status;
      continue;
    }
    double cost = 0.0;
    const int count = SelectInliers(cameras,
                                    joint,
                                    views,
                                    point,
                                    options.max_reproj_error_px,
                                    &scratch->candidate,
                                    &cost,
                                    /*must_reach=*/best_count);
    if (count > best_count || (count == best_count && cost < best_cost)) {
      best_count = count;
      best_cost = cost;
      std::copy(point, point + 3, best_point);
      scratch->best_inliers.swap(scratch->candidate);
      required_hypotheses = RequiredHypotheses(best_count, num_usable, options.confidence);
    }
    if (best_count == num_usable) break;                   // nothing can beat "every view agrees"
    if (out.num_hypotheses >= required_hypotheses) break;  // confident enough (see header)
  }
  if (best_count < 0) {
    out.status = first_failure;  // no pair produced a point: report why
    return out;
  }
  if (best_count < min_inliers) {
    out.status = TriangulationStatus::kTooFewInliers;
    return out;
  }

  // Refit on the inliers; re-select; stop when the set is stable.
  std::vector<uint8_t>& inliers = scratch->inliers;
  inliers = scratch->best_inliers;
  double point[3] = {best_point[0], best_point[1], best_point[2]};
  std::vector<double>& fit_obs = scratch->fit_obs;
  for (int iteration = 0; iteration < options.refine_iterations; ++iteration) {
    fit_obs.assign(joint.cam_obs, joint.cam_obs + 3 * num_cameras);
    for (int c = 0; c < num_cameras; ++c) {
      if (!inliers[c]) fit_obs[3 * c + 2] = 0.0;
    }
    double refit[3];
    if (kernels::TriangulateNormalisedPoint(
            fit_obs.data(), 3, joint.cams_from_world, num_cameras, params, refit) !=
        TriangulationStatus::kOk) {
      break;  // keep the previous (valid) point and its inlier set
    }
    std::copy(refit, refit + 3, point);
    if (iteration + 1 == options.refine_iterations) break;
    double cost = 0.0;
    const int count = SelectInliers(
        cameras, joint, views, point, options.max_reproj_error_px, &scratch->candidate, &cost);
    if (count < min_inliers || scratch->candidate == inliers) break;
    inliers.swap(scratch->candidate);
  }
  out.status = TriangulationStatus::kOk;
  std::copy(point, point + 3, out.point);
  out.num_inliers = static_cast<int>(std::count(inliers.begin(), inliers.end(), uint8_t{1}));
  return out;
}

uint64_t JointSeed(uint32_t seed, int64_t frame_joint) {
  return (static_cast<uint64_t>(seed) << 32) ^ static_cast<uint64_t>(frame_joint) ^ 0x5DEECE66Dull;
}

}  // namespace

RobustPointResult TriangulateRobust(const std::vector<Camera>& cameras,
                                    const std::vector<Eigen::Vector2d>& img_points,
                                    const std::vector<double>& scores,
                                    const RobustOptions& options) {
  CheckOptions(options);
  RIGPOSE_CHECK(cameras.size() == img_points.size() && cameras.size() == scores.size(),
                "cameras " << cameras.size() << ", img_points " << img_points.size() << ", scores "
                           << scores.size() << " must have the same size");
  for (const Camera& camera : cameras) {
    const std::vector<std::string> problems = camera.Problems();
    RIGPOSE_CHECK(problems.empty(), "camera '" << camera.name << "': " << problems.front());
  }
  const int num_cameras = static_cast<int>(cameras.size());
  std::vector<double> cam_obs(3 * num_cameras, 0.0);
  std::vector<double> img(2 * num_cameras, 0.0);
  std::vector<double> poses(12 * num_cameras);
  for (int c = 0; c < num_cameras; ++c) {
    const std::array<double, 12> pose = PackCamFromWorld(cameras[c].cam_from_world);
    std::copy(pose.begin(), pose.end(), poses.begin() + 12 * c);
    img[2 * c] = img_points[c].x();
    img[2 * c + 1] = img_points[c].y();
    if (!(std::isfinite(scores[c]) && scores[c] > 0.0 && img_points[c].allFinite())) continue;
    UndistortStatus status;
    const Eigen::Vector2d cam_point = cameras[c].CamFromImg(img_points[c], &status);
    if (!status.converged || !cam_point.allFinite()) continue;
    cam_obs[3 * c] = cam_point.x();
    cam_obs[3 * c + 1] = cam_point.y();
    cam_obs[3 * c + 2] = scores[c];
  }
  const JointViews joint{num_cameras, cam_obs.data(), img.data(), poses.data()};
  const kernels::DltKernelParams<double> params =
      internal::MakeDltKernelParams<double>(options.dlt);
  RobustScratch scratch;
  const RobustPointOutput out =
      TriangulateJointRobust(cameras, joint, options, params, JointSeed(options.seed, 0), &scratch);
  RobustPointResult result;
  result.status = out.status;
  result.num_hypotheses = out.num_hypotheses;
  result.reproj_error_px.assign(num_cameras, NAN);
  result.inlier_mask.assign(num_cameras, 0);
  if (out.status == TriangulationStatus::kOk) {
    result.point3D_in_world = Eigen::Vector3d(out.point[0], out.point[1], out.point[2]);
    result.inlier_mask = scratch.inliers;
    result.num_inliers = out.num_inliers;
    for (int c = 0; c < num_cameras; ++c) {
      if (!kernels::IsUsableView(cam_obs.data() + 3 * c, params.min_score)) continue;
      result.reproj_error_px[c] = internal::ReprojErrorPx(
          cameras[c], poses.data() + 12 * c, out.point, img[2 * c], img[2 * c + 1]);
    }
  }
  return result;
}

RobustBatchResult TriangulateRobustBatch(const std::vector<Camera>& cameras,
                                         const Keypoints2D& keypoints,
                                         const RobustOptions& options) {
  CheckOptions(options);
  const NormalisedObservations obs =
      PrepareNormalisedObservations(cameras, keypoints, options.dlt.num_threads);
  const int num_frames = obs.num_frames;
  const int num_cameras = obs.num_cameras;
  const int num_joints = obs.num_joints;
  const int64_t num_items = static_cast<int64_t>(num_frames) * num_joints;
  RobustBatchResult result;
  result.poses = Poses3D(num_frames, num_joints);
  result.poses.skeleton = keypoints.skeleton;
  result.status.assign(num_items, static_cast<uint8_t>(TriangulationStatus::kNotFinite));
  result.inlier_mask.assign(static_cast<size_t>(num_items) * num_cameras, 0);
  result.reproj_error_px.assign(static_cast<size_t>(num_items) * num_cameras, NAN);
  result.num_undistort_failures = obs.num_undistort_failures;
  const kernels::DltKernelParams<double> params =
      internal::MakeDltKernelParams<double>(options.dlt);

  const int num_threads = internal::ResolveNumThreads(options.dlt.num_threads);
  std::vector<int64_t> hypotheses(num_threads, 0);
  std::vector<int> max_hypotheses(num_threads, 0);
  internal::ParallelFor(
      num_items,
      num_threads,
      [&](int thread, int64_t begin, int64_t end) {
        RobustScratch scratch;
        std::vector<double> cam_obs(3 * num_cameras);
        std::vector<double> img(2 * num_cameras);
        for (int64_t item = begin; item < end; ++item) {
          const int frame = static_cast<int>(item / num_joints);
          const int joint_index = static_cast<int>(item % num_joints);
          for (int c = 0; c < num_cameras; ++c) {
            const int64_t offset = keypoints.Offset(frame, c, joint_index);
            std::copy(obs.values.data() + offset, obs.values.data() + offset + 3, &cam_obs[3 * c]);
            img[2 * c] = keypoints.data()[offset];
            img[2 * c + 1] = keypoints.data()[offset + 1];
          }
          const JointViews joint{
              num_cameras, cam_obs.data(), img.data(), obs.cams_from_world.data()};
          const RobustPointOutput out = TriangulateJointRobust(
              cameras, joint, options, params, JointSeed(options.seed, item), &scratch);
          hypotheses[thread] += out.num_hypotheses;
          max_hypotheses[thread] = std::max(max_hypotheses[thread], out.num_hypotheses);
          result.status[item] = static_cast<uint8_t>(out.status);
          if (out.status != TriangulationStatus::kOk) {
            result.poses.SetInvalid(frame, joint_index);
            continue;
          }
          result.poses.Set(
              frame, joint_index, Eigen::Vector3d(out.point[0], out.point[1], out.point[2]));
          for (int c = 0; c < num_cameras; ++c) {
            const int64_t mask_index = keypoints.Offset(frame, c, joint_index) / 3;
            result.inlier_mask[mask_index] = scratch.inliers[c];
            if (!kernels::IsUsableView(&cam_obs[3 * c], params.min_score)) continue;
            result.reproj_error_px[mask_index] =
                static_cast<float>(internal::ReprojErrorPx(cameras[c],
                                                           obs.cams_from_world.data() + 12 * c,
                                                           out.point,
                                                           img[2 * c],
                                                           img[2 * c + 1]));
          }
        }
      },
      /*min_items_per_thread=*/16);
  for (int t = 0; t < num_threads; ++t) {
    result.num_hypotheses += hypotheses[t];
    result.max_hypotheses_per_joint = std::max(result.max_hypotheses_per_joint, max_hypotheses[t]);
  }
  internal::CountStatuses(result.status, &result.status_counts);
  return result;
}

}  // namespace rigpose

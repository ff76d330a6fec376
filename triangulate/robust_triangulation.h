// SPDX-License-Identifier: BSD-3-Clause
// Robust triangulation with a cost BOUNDED in the number of cameras: RANSAC over pairs of views
// (never over subsets, which grow as 2^C). Per joint:
//   1. hypotheses: 2-view DLT of view pairs. When C(C−1)/2 <= max_pair_hypotheses every pair is
//      tried; otherwise all pairs among the highest-score views (about half the budget) and then
//      a fixed pseudo-random sample of the other pairs (seeded by options.seed, frame and joint,
//      so the result does not depend on threads or run);
//   2. inliers: views whose keypoint lies within max_reproj_error_px of the hypothesis projected
//      through the FULL camera model (distortion included), in pixels;
//      Hypotheses stop early once the best inlier ratio makes another all-inlier pair unlikely
//      to be missing (options.confidence);
//   3. the hypothesis with most inliers (ties: smallest sum of squared inlier errors) wins; its
//      inliers are refitted by weighted DLT, inliers recomputed, refitted again
//      (refine_iterations times at most, stopping when the set no longer changes).
// Same idea as the RANSAC baseline of Iskakov et al., "Learnable Triangulation of Human Pose"
// (ICCV 2019); the linear solver is Hartley & Zisserman's DLT (triangulate/dlt.h).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "core/camera.h"
#include "core/keypoints.h"
#include "triangulate/dlt.h"

namespace rigpose {

struct RobustOptions {
  // Inlier threshold on the reprojection error. 15 px is the value of the Iskakov et al.
  // baseline (~1000 px images); at 1080p a detector's error on a visible joint is a few pixels
  // while a wrong detection (left/right swap, another person) is tens to hundreds of pixels off.
  // Scale it with the image size for very different resolutions.
  double max_reproj_error_px = 15.0;
  // Upper bound on the 2-view hypotheses per joint: the cost is O(budget × C) whatever C is.
  int max_pair_hypotheses = 32;
  // A joint needs at least this many inlier views (>= 2).
  int min_inliers = 2;
  // Adaptive stop: no more hypotheses once the chance that none of those tried was an all-inlier
  // pair, given the best inlier ratio so far, is below 1 − confidence (the RANSAC rule). The
  // first pairs are the highest-score views, so clean joints stop after one hypothesis.
  // 1 = always spend the whole budget.
  double confidence = 0.999;
  // Refit / re-select rounds after the best hypothesis (0: keep the 2-view point).
  int refine_iterations = 2;
  // Seed of the pair sample (only used when not every pair fits in the budget).
  uint32_t seed = 0;
  // The linear solver: weighted, min_score, min_ray_angle_deg, num_threads.
  // single_precision and compute_reproj_error are ignored (robust runs in double).
  DltOptions dlt;

  std::vector<std::string> Check() const;
};

struct RobustPointResult {
  TriangulationStatus status = TriangulationStatus::kTooFewViews;
  std::optional<Eigen::Vector3d> point3D_in_world;  // set iff status == kOk
  std::vector<uint8_t> inlier_mask;                 // per view: 1 = used by the final fit
  std::vector<double> reproj_error_px;  // per usable view w.r.t. the final point; NaN elsewhere
  int num_inliers = 0;
  int num_hypotheses = 0;  // 2-view DLTs evaluated (<= max_pair_hypotheses)
};

// One point seen by cameras[i] at img_points[i] (pixels) with score scores[i] (<= 0 or
// non-finite: missing). Throws std::invalid_argument on size mismatch, camera Problems() or
// options that fail Check().
RobustPointResult TriangulateRobust(const std::vector<Camera>& cameras,
                                    const std::vector<Eigen::Vector2d>& img_points,
                                    const std::vector<double>& scores,
                                    const RobustOptions& options = {});

struct RobustBatchResult {
  Poses3D poses;                       // [F][J][4]
  std::vector<uint8_t> status;         // [F][J], TriangulationStatus
  std::vector<uint8_t> inlier_mask;    // [F][C][J], 1 = view used by the final fit
  std::vector<float> reproj_error_px;  // [F][C][J], usable views of valid joints; NaN elsewhere
  std::array<int64_t, kNumTriangulationStatus> status_counts{};
  int64_t num_undistort_failures = 0;
  int64_t num_hypotheses = 0;        // 2-view DLTs evaluated over the whole batch
  int max_hypotheses_per_joint = 0;  // <= options.max_pair_hypotheses
};

// Robust triangulation of every (frame, joint); cameras[c] is keypoints camera c. Threads over
// (frame, joint) with options.dlt.num_threads; deterministic. Contract violations throw
// std::invalid_argument; per-joint failures go to status.
RobustBatchResult TriangulateRobustBatch(const std::vector<Camera>& cameras,
                                         const Keypoints2D& keypoints,
                                         const RobustOptions& options = {});

}  // namespace rigpose

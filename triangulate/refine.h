// SPDX-License-Identifier: BSD-3-Clause
// Nonlinear refinement of triangulated joints through the FULL camera model (distortion
// included), solved with Ceres.
//
//   RefineFrames    each valid (frame, joint) on its own: minimise
//                     Σ_c ρ(‖ w_c (π_c(X) − u_c) ‖²)             (pixels; w_c = score or 1)
//                   over the 3D point X, starting from the initial (e.g. DLT) point.
//   RefineSequence  all frames of a window jointly; adds to the reprojection terms
//                     Σ_t ‖ λ_s (X_{t−1} − 2 X_t + X_{t+1}) ‖²     temporal smoothness
//                     Σ_t ‖ λ_b (‖X_a,t − X_b,t‖ − L_b) ‖²         constant bone lengths
//                   where L_b is one unknown length per bone of the skeleton and window.
//
// ρ is the robust loss on the squared (weighted) reprojection residual of one view (Ceres' loss
// functions with a = loss_scale_px: quadratic while ‖w_c (π_c(X) − u_c)‖ < a px). λ_s and λ_b
// are in pixels per metre: with λ_s = 100, a second difference of 1 cm costs as much as a 1 px
// reprojection residual. The smoothness and bone terms are plain least squares.
//
// Covariance: for every refined joint the 3×3 covariance of X (m²) from the Gauss-Newton block
// of that point at the solution: Σ = σ² (Jᵀ J)⁻¹ with J the Jacobian of the point's own
// whitened residuals (reprojection; for sequences also smoothness and bone terms, i.e. the
// covariance conditional on the neighbouring frames and the bone lengths) and σ =
// observation_sigma_px the pixel noise of a score-1 observation (a view of score w is taken to
// have noise σ / w). With a robust loss each view's JᵀJ is scaled by ρ'(s) at the solution (the
// IRLS weight: 1 for Huber inliers, < 1 for down-weighted views); the ρ'' (Triggs) correction
// is left out, as it can make the block indefinite. J comes from the same autodiff functors as
// the solve, evaluated at the solution.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "core/camera.h"
#include "core/keypoints.h"

namespace ceres {
class CostFunction;
}  // namespace ceres

namespace rigpose {

enum class RobustLoss { kNone, kHuber, kSoftLOne, kCauchy };
// "none", "huber", "soft_l1", "cauchy".
std::string RobustLossName(RobustLoss loss);
std::optional<RobustLoss> RobustLossFromName(const std::string& name);

struct RefineOptions {
  RobustLoss loss = RobustLoss::kHuber;
  // Residual norm (px) where the robust loss departs from least squares.
  double loss_scale_px = 4.0;
  // Reprojection residuals multiplied by the keypoint score; false: every used view weighs 1.
  bool weighted = true;
  // Views with score < min_score (or score <= 0, or non-finite values) are not used.
  float min_score = 0.f;
  // Sequence only: λ_s (px per metre of second difference); 0 disables the term. 300: a 1 cm
  // second difference costs 3 px. On 30 fps walking with 2 px noise (bench/triangulate_bench)
  // MPJPE was 6.4 / 4.6 / 4.1 / 4.7 mm for λ_s = 100 / 300 / 500 / 2000; the second difference
  // of a motion scales with 1/fps², so high frame rates tolerate larger weights, fast motions
  // (hands, jumps) want smaller ones.
  double smoothness_weight = 300.0;
  // Sequence only: λ_b (px per metre of bone-length deviation); 0 disables the term.
  double bone_length_weight = 100.0;
  // Sequence only: frames are solved in windows of at most this many frames (equal lengths;
  // their count rounded up to a multiple of num_threads when that keeps them >= 4 overlaps
  // long, so threads finish together), consecutive windows
  // overlapping by window_overlap frames (the overlap's solution is taken from the window where
  // the frame is farther from the edge). Bounds memory and lets windows run in parallel.
  int window_frames = 500;
  int window_overlap = 20;
  // Ceres iteration limit per problem (a frame-joint, or a window).
  int max_iterations = 50;
  // Threads over frames (RefineFrames) or windows (RefineSequence; threads beyond the number of
  // windows go to Ceres inside each window); 0 = hardware concurrency.
  int num_threads = 0;
  // Fill RefineResult::covariance.
  bool compute_covariance = true;
  // Pixel noise of a score-1 observation, for the covariance.
  double observation_sigma_px = 1.0;

  // Every problem, one sentence each; empty when the options are usable.
  std::vector<std::string> Check() const;
};

struct RefineSummary {
  int64_t num_points = 0;         // (frame, joint) refined
  int64_t num_too_few_views = 0;  // valid joints kept at the initial value (< 2 used views;
                                  // sequence: and no smoothness term to hold them)
  int64_t num_residuals = 0;      // reprojection terms (used views of refined points)
  int64_t num_failed = 0;         // points whose solve failed (kept at the initial value)
  int64_t num_problems = 0;       // Ceres problems solved (points or windows)
  int64_t num_iterations = 0;     // summed over problems
  double initial_cost = 0.0;      // summed Ceres cost (½ Σ ρ) before ...
  double final_cost = 0.0;        // ... and after
  double seconds = 0.0;           // wall time of the solves
  // Sequence: per bone, the median over windows of the estimated L_b; when the bone term is off
  // (bone_length_weight = 0) the median over frames of the refined lengths. NaN when no frame
  // has both joints valid.
  std::vector<double> bone_lengths_m;
};

struct RefineResult {
  Poses3D poses;  // [F][J][4]; joints invalid in the input stay invalid
  // [F][J][6] = covariance (xx, xy, xz, yy, yz, zz) in m²; NaN for invalid joints or when
  // the block is singular. Empty unless options.compute_covariance.
  std::vector<float> covariance;
  // [F][C][J]: reprojection error (px, full camera model) of the refined point for used views of
  // valid joints; NaN elsewhere.
  std::vector<float> reproj_error_px;
  RefineSummary summary;
};

// Refines every valid joint of `initial` (same F and J as keypoints) from the views of
// `keypoints` (cameras[c] is keypoints camera c). view_mask: [F][C][J] with 1 = the view may be
// used (e.g. RobustBatchResult::inlier_mask), empty = every usable view. A joint with fewer than
// 2 used views keeps its initial value. Contract violations (sizes, camera Problems(), options
// Check()) throw std::invalid_argument.
RefineResult RefineFrames(const std::vector<Camera>& cameras,
                          const Keypoints2D& keypoints,
                          const Poses3D& initial,
                          const std::vector<uint8_t>& view_mask,
                          const RefineOptions& options = {});

// As RefineFrames plus the temporal and bone terms. bones: joint index pairs (e.g.
// GetSkeleton(keypoints.skeleton).bones); empty disables the bone term. Terms that touch a joint
// invalid in `initial` are dropped (an invalid joint stays invalid). A joint valid in `initial`
// but seen by fewer than 2 views is still refined when it is part of a smoothness term (valid
// together with the frames before and after it, or the two before, or the two after), held by its
// smoothness and bone terms; otherwise it keeps its initial value (num_too_few_views) and enters
// bone terms as a constant. Windows start every window_frames − window_overlap frames (the last one
// ends at the last frame), are solved independently (in parallel) and each frame is taken from the
// window where it lies farthest from an interior window edge. L_b starts at the median of the
// initial lengths in the window, bounded below by 1 mm. Bad bone indices (outside [0, J) or a == b)
// throw std::invalid_argument like the other contract violations.
RefineResult RefineSequence(const std::vector<Camera>& cameras,
                            const Keypoints2D& keypoints,
                            const Poses3D& initial,
                            const std::vector<uint8_t>& view_mask,
                            const std::vector<std::pair<int, int>>& bones,
                            const RefineOptions& options = {});

namespace internal {
// The autodiff cost functions the solvers use, for tests (GradientChecker). Caller owns.
//   reprojection: w (π(R X + t) − img_point), parameter block X (3), 2 residuals (px).
//   smoothness:   λ_s (X_{t−1} − 2 X_t + X_{t+1}), blocks (3, 3, 3), 3 residuals.
//   bone length:  λ_b (‖X_a − X_b‖ − L), blocks (3, 3, 1), 1 residual.
//   point views:  see below.
ceres::CostFunction* CreateReprojectionCostFunction(const Camera& camera,
                                                    const Eigen::Vector2d& img_point,
                                                    double weight);
// Every view of one point in one block with the loss applied per view inside (what the
// solvers use): 2 residuals per view, ½ Σ ‖f‖² = ½ Σ_v ρ(‖w_v (π_v(X) − u_v)‖²).
ceres::CostFunction* CreatePointViewsCostFunction(const std::vector<Camera>& cameras,
                                                  const std::vector<Eigen::Vector2d>& img_points,
                                                  const std::vector<double>& weights,
                                                  RobustLoss loss,
                                                  double loss_scale_px);
ceres::CostFunction* CreateSmoothnessCostFunction(double weight);
ceres::CostFunction* CreateBoneLengthCostFunction(double weight);
}  // namespace internal

}  // namespace rigpose

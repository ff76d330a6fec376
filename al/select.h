// SPDX-License-Identifier: BSD-3-Clause
// Picking what to label under a budget (docs/ACTIVE_LEARNING.md). A pool is a capture of F frames
// seen by C cameras; everything known about it is in PoolScores; SelectFrames returns a
// Selection (al/selection_file.h): frames, best first, each with the views to label.
//
// Strategies (FIELD.md §5 for the classic ones):
//   multiview (default)  fused = (w_g * geometry + w_b * bayesian + w_c * confidence) /
//                        (w_g + w_b + w_c), where each part is the pool PERCENTILE of frame
//                        scores (so scales do not matter): geometry = mean of the percentiles of
//                        residual, outlier share and leave-one-out spread
//                        (al/view_disagreement.h), bayesian = percentile of the propagated 3D
//                        std (w_b = 0 without detector variance), confidence = percentile of
//                        the detector's low confidence (1 - mean keypoint score; w_c = 0 by
//                        default); then
//                        diversity among the top candidate_factor x budget frames: each pick
//                        maximises fused - diversity_weight x similarity of its normalised 3D
//                        pose to the labelled and already picked poses (a soft k-center), and
//                        no two picks lie within +-suppress_frames.
//   geometry, bayesian   one part of the above, same diversity step.
//   random               uniform, seeded.
//   anipose-bad          Anipose's `extract-frames --mode bad`: the mean reprojection error of
//                        the frame's keypoints (px, w.r.t. the triangulated 3D) plus Gaussian
//                        noise (std: anipose_noise x the pool's median score), picked greedily
//                        with +-suppress_frames suppression.
//   vl4pose              highest 3D bone-length negative log-likelihood (al/single_view.h).
//   multi-peak-entropy   per view; frame = mean over its views.       (single-view classics:
//   aleatoric            mean log-variance of the aleatoric head.      ranked per view when the
//   learning-loss        predicted loss of the LearningLoss++ MLP.     budget is in views, no
//   core-set             k-center greedy on the pooled features.       temporal suppression)
//
// Budget: `frames` (every view of a picked frame is labelled) or `views` (images): frame-level
// strategies take, per picked frame, the views whose view score is at least the pool's median
// view score (the best view always), until the budget is spent; view-level strategies rank the
// views themselves.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "al/selection_file.h"
#include "al/view_disagreement.h"

namespace rigpose {

// Names of every strategy, in the order of the file comment.
const std::vector<std::string>& SelectionStrategyNames();
// True for strategies that need the detector's heatmaps / features / variance per view.
bool StrategyNeedsDetector(const std::string& strategy);

struct PoolScores {
  int num_frames = 0;
  int num_cameras = 0;
  std::vector<std::string> camera_names;  // [C]
  // Multi-view scores (ComputeViewDisagreement); nullptr: only the single-view strategies.
  const ViewDisagreement* geometry = nullptr;
  // Per view [F][C] (empty when not computed; NaN where the view has no person).
  std::vector<float> view_entropy;         // Multi-Peak Entropy
  std::vector<float> view_aleatoric;       // mean over joints of log sigma^2
  std::vector<float> view_predicted_loss;  // Learning Loss
  std::vector<float> view_features;        // [F][C][feature_dim] pooled features
  int feature_dim = 0;
  std::vector<float> frame_bone_nll;  // [F] VL4Pose-3D
  // [F] 1 = already labelled: never picked; initial centres of the diversity steps.
  std::vector<uint8_t> labelled;
  // [F][C] 1 = the view may be labelled (a person is there); empty: every view.
  std::vector<uint8_t> view_available;
};

struct SelectOptions {
  std::string strategy = "multiview";
  int budget = 0;
  std::string unit = "frames";   // frames | views
  int suppress_frames = 10;      // +-frames around a pick (multiview family, anipose-bad)
  double candidate_factor = 10;  // diversity among the top factor x budget frames
  // Diversity (multiview family): a pick maximises score - diversity_weight x similarity, the
  // similarity exp(-d^2 / (2 rho^2)) to the nearest labelled or picked pose, rho =
  // diversity_scale x the median distance of the pool's poses to their mean pose.
  double diversity_weight = 0.5;
  double diversity_scale = 0.5;
  double geometry_weight = 0.5;
  double bayesian_weight = 0.5;
  // multiview: the detector's low confidence (0: off; docs/ACTIVE_LEARNING.md for why it is
  // not in the default).
  double confidence_weight = 0.0;
  double anipose_noise = 0.1;
  uint64_t seed = 1;
  std::vector<std::string> Check() const;
};

// InputError for a budget larger than the pool (frames, or available views, not yet labelled),
// and for a strategy whose scores the pool does not have (naming what is missing);
// UsageError for options failing Check().
Selection SelectFrames(const PoolScores& pool, const SelectOptions& options);

// Percentile rank in [0, 1] of each finite value among the finite values (ties: mean rank);
// NaN stays NaN. Exposed for tests and the documentation of the fusion.
std::vector<double> PercentileRanks(const std::vector<float>& values);

}  // namespace rigpose

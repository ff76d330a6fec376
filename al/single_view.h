// SPDX-License-Identifier: BSD-3-Clause
// The classic active-learning scores (../shared/docs/FIELD.md §5, Shukla et al.'s protocol),
// on plain arrays (no LibTorch here: the detector's heatmaps, pooled features and variances
// come from detect2d through pipeline/ or the simulation harness).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/keypoints.h"

namespace rigpose {

// ---- Multi-Peak Entropy ----------------------------------------------------------------------
// Per joint: the local maxima of the heatmap (a pixel that is the maximum of its
// (2 min_distance + 1)^2 window and above the map's minimum, as skimage's peak_local_max), the
// `num_peaks` highest, softmax of their values, entropy (nats). A single clean peak gives 0;
// k equal peaks give log k. Returns the sum over joints. heatmaps: [J][height][width].
double MultiPeakEntropy(const float* heatmaps,
                        int num_joints,
                        int height,
                        int width,
                        int num_peaks = 5,
                        int min_distance = 5);

// ---- Core-Set (Sener & Savarese) -------------------------------------------------------------
// k-center greedy: repeatedly takes the candidate farthest (Euclidean) from every centre, the
// initial centres first (the labelled set; none: the first pick is the candidate farthest from
// the candidates' mean). features: [N][dim]; candidates: the indices that may be picked (empty:
// all N). Returns up to `budget` indices in pick order (fewer when the candidates run out).
std::vector<int> KCenterGreedy(const std::vector<float>& features,
                               int dim,
                               const std::vector<int>& initial_centres,
                               const std::vector<int>& candidates,
                               int budget);

// ---- VL4Pose lifted to 3D ---------------------------------------------------------------------
// A Gaussian per bone length (Shukla et al. model 2D limb lengths; with a calibrated rig the 3D
// bone length is view-independent). Fit: per bone, the median and the MAD-based std (x 1.4826,
// at least min_std_m) over the frames where both joints are valid.
struct BoneLengthModel {
  std::vector<std::pair<int, int>> bones;
  std::vector<double> mean_m;
  std::vector<double> std_m;

  static BoneLengthModel Fit(const Poses3D& poses,
                             const std::vector<std::pair<int, int>>& bones,
                             double min_std_m = 0.005);
  // Mean over the frame's measurable bones of 0.5 ((L - mean) / std)^2 (the negative
  // log-likelihood up to a constant); NaN when no bone is measurable. Higher = less likely.
  double NegLogLikelihood(const Poses3D& poses, int frame) const;
};

// ---- Learning Loss (Yoo & Kweon; LearningLoss++ objective) -----------------------------------
// A small MLP on the detector's detached pooled features (dim -> hidden -> 1, ReLU) that predicts
// a sample's loss. Trained on the labelled set's (features, true loss) with the LearningLoss++
// objective: for pairs (i, j) of a mini-batch, KL(p || q), p = (l_i, l_j) / (l_i + l_j),
// q = softmax(l^_i, l^_j); Adam. Deterministic for a given seed.
struct LossPredictorOptions {
  int hidden = 64;
  int epochs = 60;
  int batch_size = 32;
  double learning_rate = 1e-3;
  uint64_t seed = 1;
};

class LossPredictor {
 public:
  // features [N][dim], losses [N] (> 0). std::invalid_argument for size mismatch or N < 2.
  void Fit(const std::vector<float>& features,
           int dim,
           const std::vector<double>& losses,
           const LossPredictorOptions& options = {});
  // Predicted (relative) loss of each row; only the ranking is meaningful.
  std::vector<double> Predict(const std::vector<float>& features) const;
  // Share of ordered pairs whose predicted order matches the true order (0.5 = chance).
  double RankingAccuracy(const std::vector<float>& features,
                         const std::vector<double>& losses) const;

 private:
  int dim_ = 0, hidden_ = 0;
  std::vector<double> w1_, b1_, w2_;  // [hidden][dim], [hidden], [hidden]
  double b2_ = 0;
  std::vector<double> mean_, scale_;  // feature standardisation
};

}  // namespace rigpose

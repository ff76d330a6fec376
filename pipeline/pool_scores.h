// SPDX-License-Identifier: BSD-3-Clause
// Detector forward passes over a pool of captured frames for the single-view active-learning
// scores (al/single_view.h) and the Bayesian variance (al/view_disagreement.h): every view with a
// person (a box around its 2D keypoints) is cropped and run through the detector once (T
// MC-dropout passes when asked); no backpropagation. Builds only with LibTorch.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/keypoints.h"
#include "data/frame_source.h"
#include "detect2d/detector.h"
#include "detect2d/training_data.h"

namespace rigpose {

struct PoolScoringOptions {
  // Boxes: the view's keypoints with score >= min_score (at least 3), padded by box_padding
  // times the larger side, at least 32 px (detect2d/crop.h BoxFromKeypoints); a view without
  // them is scored on the whole frame, letterboxed. Every view is scored.
  double min_score = 0.3;
  double box_padding = 0.15;
  bool entropy = false;          // Multi-Peak Entropy of the heatmaps (needs keep_heatmaps)
  int entropy_peaks = 5;         // FIELD.md §5: top-5 peaks
  int entropy_min_distance = 5;  // heatmap px
  bool features = false;         // pooled features (Core-Set, Learning Loss)
  bool variance = false;         // per-joint variance (MC-dropout and/or aleatoric head)
  int frames_per_batch = 8;      // frames whose crops go through the detector together
};

struct PoolScoringResult {
  int num_frames = 0, num_cameras = 0, num_joints = 0;
  std::vector<uint8_t> view_available;  // [F][C] scored (every view)
  std::vector<float> view_entropy;      // [F][C] (entropy)
  std::vector<float> view_aleatoric;    // [F][C] mean over joints of log variance, crop px^2
  std::vector<float> view_features;     // [F][C][feature_dim] (features)
  int feature_dim = 0;
  std::vector<float> variance;  // [F][C][J] image px^2 (variance); NaN: no crop
  int64_t crops = 0;
  double seconds = 0, seconds_decode = 0, seconds_network = 0;
};

// Frame f of `keypoints` is the f-th frame `source` delivers; stream_of_camera[c] is the source
// stream of keypoints camera c. The detector must have been loaded with keep_heatmaps when
// options.entropy, keep_features when options.features. progress(frames done) may be empty.
// InputError when the source has fewer frames than the keypoints (naming both counts).
PoolScoringResult ScorePoolWithDetector(KeypointDetector& detector,
                                        MultiCameraFrameSource& source,
                                        const std::vector<int>& stream_of_camera,
                                        const Keypoints2D& keypoints,
                                        const PoolScoringOptions& options,
                                        const std::function<void(int)>& progress = nullptr);

// Learning Loss needs the true loss of labelled samples: for every instance of `set` (its ground
// truth keypoints cropped as the pool's views are, options.box_padding around the labelled
// keypoints), the detector's pooled features and its training loss, the heatmap MSE against
// Gaussian targets (std = the model's sigma, heatmap px) at the labelled joints (mean over
// joints with v > 0 and over pixels). The detector must keep heatmaps and features.
// IoError naming an image that cannot be read.
struct LabelledLosses {
  std::vector<float> features;  // [N][feature_dim]
  int feature_dim = 0;
  std::vector<double> losses;  // [N]
};
LabelledLosses ComputeLabelledLosses(KeypointDetector& detector,
                                     const KeypointTrainingSet& set,
                                     const PoolScoringOptions& options);

}  // namespace rigpose

// SPDX-License-Identifier: BSD-3-Clause
// Training of the native heatmap detectors (detect2d/nets.h through model files, no LibTorch
// types here) and their evaluation by PCK.
//
// Recipe (Xiao et al., "Simple Baselines for Human Pose Estimation and Tracking", ECCV 2018):
// Adam, heatmap MSE weighted by the per-joint visibility weights (0.5 * mean over pixels of
// (pred - target)^2 * w, averaged over joints and samples), a step learning-rate schedule. With
// an aleatoric head, the Gaussian negative log-likelihood of the soft-argmax coordinate under the
// predicted per-axis log-variance s (heatmap px^2) is added on the visible joints:
//   0.5 * exp(-s) * ||soft_argmax(pred) - gt||^2 + s   (the 2D isotropic Gaussian's NLL, so that
// exp(s) is the per-axis variance KeypointDetector reports). The coordinate is detached: the
// heatmaps are trained by the MSE alone, the NLL trains the log-variance head on their error.
//
// Reproducibility: the sample order of an epoch, each sample's augmentation and the dropout masks
// of each step are seeded from (seed, epoch, position), never from thread timing, so that with
// one intra-op thread a run is deterministic, and a run resumed from its checkpoint gives the
// same weights as an uninterrupted one.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "detect2d/training_data.h"

namespace rigpose {

struct TrainOptions {
  std::string device = "cpu";  // cpu | cuda | cuda:N
  int num_threads = 0;         // CPU intra-op threads; 0: all cores
  int epochs = 10;             // epochs of this run, counted from 0 (a resumed run: the total)
  int batch_size = 32;         // the last batch of an epoch may be smaller
  double learning_rate = 1e-3;
  // Step schedule: the rate is multiplied by lr_gamma at each of these epochs (0-based, the
  // epoch that starts with the lower rate), as SimpleBaseline's MultiStepLR.
  std::vector<int> lr_milestones_epochs;
  double lr_gamma = 0.1;
  double weight_decay = 0;  // Adam's L2 term
  int loader_threads = 2;   // sample assembly (image read, warp, targets); 0: on the main thread
  uint64_t seed = 1;
  AugmentOptions augment;  // replaces the training set's (box_padding also for evaluation)
  // Written atomically after every complete epoch: a model file (ReadModelInfo reads it) that also
  // holds the optimiser state and the epoch. "": no checkpoint.
  std::string checkpoint_path;
  bool resume = false;  // continue from checkpoint_path when it exists (at the next epoch)
  double aleatoric_weight = 1.0;  // weight of the NLL term (models with the aleatoric head)
  int max_steps = 0;              // > 0: stop after this many optimiser steps (tests)
  int val_max_instances = 0;      // > 0: evaluate on the first N validation instances only
  double val_alpha = 0.05;        // PCK threshold, fraction of the box's larger side
  bool val_flip_test = false;     // evaluate with the flip test (see EvaluatePck)

  // One sentence per problem, naming the field; empty when usable.
  std::vector<std::string> Check() const;
};

struct TrainEpochStats {
  int epoch = 0;            // 0-based, of the whole training (a resumed run continues the count)
  double loss = 0;          // mean total loss over the epoch's steps
  double heatmap_loss = 0;  // mean MSE part
  int steps = 0;
  double learning_rate = 0;
  double seconds = 0;  // training (without the evaluation)
  double samples_per_second = 0;
  double val_pck = -1;  // -1: no validation set
  double val_mean_error_px = -1;
};

struct TrainSummary {
  std::vector<TrainEpochStats> epochs;  // of this run
  int steps = 0;                        // optimiser steps of this run
  double samples_per_second = 0;        // training samples of this run / training seconds
  double final_val_pck = -1;
  double final_val_mean_error_px = -1;
  bool resumed = false;
  int start_epoch = 0;     // first epoch this run trained (> 0 when resumed)
  int trained_epochs = 0;  // written to the output model's ModelInfo
  double seconds = 0;      // wall clock, evaluation included
};

// Trains the native model in `model_path` (CreateNativeModel or a previous training) on
// `train_set` (augmented with options.augment), evaluates PCK on `val_set` (optional, un-augmented)
// after every epoch, and writes the result to `out_path` atomically (ModelInfo: trained_epochs
// incremented by the epochs done, sigma = the set's spec sigma). `log` receives one line per epoch
// (and the resume notice); it may be empty.
// Throws UsageError for bad options or a CUDA device without CUDA; IoError naming the path for a
// model file that cannot be read or is not native (MoveNet, TorchScript), and for a corrupt
// checkpoint; InputError naming both sides when the set does not fit the model (joint count,
// input size, stride, normalisation) or a checkpoint is of another model; IoError from the set for
// unreadable images.
TrainSummary TrainDetector(const std::string& model_path,
                           const KeypointTrainingSet& train_set,
                           const KeypointTrainingSet* val_set,
                           const std::string& out_path,
                           const TrainOptions& options,
                           const std::function<void(const std::string&)>& log = nullptr);

// PCK@alpha of a model on a set: the un-augmented crop of each instance (the set's box_padding),
// heatmaps decoded with DARK (sigma of the model), mapped back to image pixels through the inverse
// crop affine; a labelled joint (v > 0) is correct when within alpha * max(bbox w, h) image px of
// the ground truth. Also the mean error (image px) and the PCK per joint (NaN for a joint that is
// never labelled). max_instances > 0: the first N instances only. flip_test: the heatmaps are the
// mean of the crop's and of its mirror image's (mirrored back, left/right joints swapped by the
// set's joint names), as SimpleBaseline and HRNet report. Any model kind the detector loads.
// Errors as TrainDetector (InputError when the set does not fit the model).
struct PckResult {
  double pck = 0;
  double mean_error_px = 0;
  int64_t joints = 0;  // labelled joints compared
  std::vector<double> per_joint_pck;
};
PckResult EvaluatePck(const std::string& model_path,
                      const KeypointTrainingSet& set,
                      double alpha = 0.05,
                      const std::string& device = "cpu",
                      int max_instances = 0,
                      int num_threads = 0,
                      bool flip_test = false);

}  // namespace rigpose

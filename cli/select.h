// SPDX-License-Identifier: BSD-3-Clause
// rigpose select --rig RIG (--session DIR | --keypoints 2D.npy) --budget K --out selection.csv:
// scores every frame of a capture and picks what to label next (al/select.h, strategies and
// fusion documented in docs/ACTIVE_LEARNING.md). Inputs:
//  - the 2D keypoints [F, C, J, 3] in rig camera order (SESSION/keypoints2d.npy of `rigpose
//    reconstruct`, or --keypoints), and their variance [F, C, J] px^2 when present
//    (SESSION/keypoints2d.variance.npy or --variance): the multi-view scores and the Bayesian part;
//  - --model with --videos/--images for the single-view strategies (multi-peak-entropy, aleatoric,
//    core-set, learning-loss): one detector forward pass per view (no backpropagation;
//    learning-loss also runs the labelled set of --train-coco to fit its loss predictor), and, with
//    --mc-passes T, the MC-dropout variance for the Bayesian part when no variance file exists;
//  - --labelled SEL.csv (repeatable): frames labelled before (never picked again; the diversity
//    step keeps away from their poses).
// Writes the selection file (al/selection_file.h) atomically and prints the top rows and the
// scoring cost per frame.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "al/selection_file.h"
#include "cli/cli.h"

namespace rigpose::cli {

struct SelectCliOptions {
  std::string rig;
  std::string rig_format;
  std::string session;    // folder of `rigpose reconstruct`
  std::string keypoints;  // default SESSION/keypoints2d.npy
  std::string variance;   // default SESSION/keypoints2d.variance.npy when it exists
  std::string strategy = "multiview";
  int budget = 0;
  std::string unit = "frames";
  std::vector<std::string> labelled;
  std::string train_coco;    // learning-loss: labelled set the loss predictor learns from
  std::string train_images;  // its image root ("": the capture root)
  std::string model;
  std::string videos;
  std::string images;
  std::string device = "cpu";
  int mc_passes = 0;
  double threshold_px = 15;  // robust triangulation inlier threshold
  double min_score = 0.3;
  int suppress_frames = 10;
  double diversity_weight = 0.5;   // multiview family: weight of the pose similarity penalty
  double confidence_weight = 0.0;  // multiview: weight of the detector's low confidence
  uint64_t seed = 1;
  int threads = 0;
  std::string out;
  bool quiet = false;
};

struct SelectCliSummary {
  Selection selection;
  int pool_frames = 0;
  int pool_cameras = 0;
  bool used_variance = false;
  double seconds_scoring = 0;  // multi-view + detector scores
  double seconds_selection = 0;
  double frames_per_second = 0;  // pool frames / scoring seconds
};

// UsageError for bad options (unknown strategy, budget < 1, a single-view strategy without
// --model and frames, learning-loss without --train-coco); InputError / IoError naming the file or
// camera for unreadable inputs, keypoints that do not fit the rig, a budget larger than the pool, a
// --labelled file whose frames lie outside the pool or name cameras the rig does not have,
// videos shorter than the keypoints. Nothing is written on error.
SelectCliSummary RunSelect(const SelectCliOptions& options, std::ostream& out);

void RegisterSelect(CLI::App& app, Action& action);

}  // namespace rigpose::cli

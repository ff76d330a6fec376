// SPDX-License-Identifier: BSD-3-Clause
// rigpose train --coco FILE.json --out MODEL: trains a native heatmap detector (detect2d/train.h)
// on COCO keypoints (the synthetic studio's annotations, or any COCO/MMPose file with images),
// from a model file or from a fresh net (--arch, --input-size, --skeleton, --dropout,
// --aleatoric), with optional validation PCK on held-out cameras or another COCO file.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "detect2d/model.h"
#include "detect2d/train.h"

namespace rigpose::cli {

struct TrainCliOptions {
  std::string coco;    // COCO keypoints JSON (required)
  std::string images;  // image root ("": the capture root / the JSON's folder)
  std::string out;     // trained model (written atomically at the end)
  // Initial model; when empty a fresh native net is created from the fields below (which are
  // refused together with `model`).
  std::string model;
  std::optional<std::string> arch;        // simplebaseline-r18 (default) | -r50 | hrnet-w32
  std::optional<std::string> input_size;  // WxH, default 192x256
  std::optional<std::string> skeleton;    // default: the COCO file's info.skeleton, else coco17
  std::optional<double> dropout;
  bool aleatoric = false;
  std::optional<double> sigma;  // target Gaussian (heatmap px); default: the model's
  // Training.
  int epochs = 10;
  int batch_size = 32;
  double learning_rate = 1e-3;
  std::vector<int> lr_milestones;  // epochs where the rate drops by lr_gamma
  double lr_gamma = 0.1;
  double weight_decay = 0;
  std::string device = "cpu";
  int threads = 0;         // intra-op threads (0: all cores)
  int loader_threads = 2;  // sample assembly threads
  uint64_t seed = 1;
  bool no_augment = false;
  double full_image_probability = 0.0;  // share of samples taken from the whole image
  std::string checkpoint;               // written after every epoch
  bool resume = false;                  // continue from --checkpoint when it exists
  int max_steps = 0;
  // Data selection.
  std::string val_coco;  // validation COCO ("": --val-cameras of --coco, or no validation)
  std::vector<std::string> val_cameras;
  std::vector<std::string> train_cameras;    // empty: all (minus val cameras of the same file)
  std::vector<std::string> exclude_cameras;  // never trained on
  int val_max_instances = 0;                 // > 0: validate on the first N instances
  double val_alpha = 0.05;                   // PCK threshold (fraction of the box's larger side)
  bool val_flip_test = false;                // validate with the flip test
  bool quiet = false;                        // no per-epoch lines
};

struct TrainCliSummary {
  TrainSummary train;
  ModelInfo info;  // of the written model
  int train_instances = 0;
  int val_instances = 0;
  std::vector<std::string> excluded_cameras;  // from training (val cameras included)
  double seconds = 0;
};

// Runs the training; UsageError for bad or contradictory options, InputError / IoError for bad
// data (missing COCO, joint count mismatch, unknown camera), naming the file or camera. Nothing is
// left half-written: the output and the checkpoint are written atomically, a created initial
// model lives in a temporary file beside --out and is removed.
TrainCliSummary RunTrain(const TrainCliOptions& options, std::ostream& out);

void RegisterTrain(CLI::App& app, Action& action);

}  // namespace rigpose::cli

// SPDX-License-Identifier: BSD-3-Clause
// rigpose train: options -> training sets (camera selection), initial model (given or created),
// TrainDetector, a summary. See cli/train.h.
#include "cli/train.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include <CLI/CLI.hpp>

#include "core/error.h"
#include "core/skeleton.h"

namespace rigpose::cli {
#if defined(RIGPOSE_HAVE_TORCH)
namespace fs = std::filesystem;
namespace {

std::string Join(const std::vector<std::string>& items) {
  std::string s;
  for (const std::string& item : items) s += (s.empty() ? "" : ",") + item;
  return s;
}

// "WxH" -> (W, H); UsageError naming the flag.
std::pair<int, int> ParseInputSize(const std::string& value) {
  int w = 0, h = 0;
  char x = 0;
  std::istringstream in(value);
  if (!(in >> w >> x >> h) || (x != 'x' && x != 'X') || !in.eof() || w < 8 || h < 8) {
    throw UsageError("--input-size '" + value + "' is not WxH with W, H >= 8 (e.g. 192x256)");
  }
  return {w, h};
}

// Removes a file when it goes out of scope (the created initial model).
class TemporaryFile {
 public:
  explicit TemporaryFile(std::string path) : path_(std::move(path)) {}
  ~TemporaryFile() {
    std::error_code ignored;
    fs::remove(path_, ignored);
  }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

TrainCliSummary RunTrain(const TrainCliOptions& options, std::ostream& out) {
  const auto start = std::chrono::steady_clock::now();
  // ---- Options ---------------------------------------------------------------------------
  if (options.coco.empty()) throw UsageError("--coco is required");
  if (options.out.empty()) throw UsageError("--out is required");
  const bool create = options.model.empty();
  if (!create) {
    std::vector<std::string> given;
    if (options.arch) given.push_back("--arch");
    if (options.input_size) given.push_back("--input-size");
    if (options.skeleton) given.push_back("--skeleton");
    if (options.dropout) given.push_back("--dropout");
    if (options.aleatoric) given.push_back("--aleatoric");
    if (!given.empty()) {
      throw UsageError(Join(given) + " describe a new model: not with --model " + options.model +
                       " (its description is in the file)");
    }
  }
  if (options.resume && options.checkpoint.empty()) {
    throw UsageError("--resume needs --checkpoint FILE");
  }
  if (options.sigma && !(*options.sigma > 0)) {
    throw UsageError("--sigma must be > 0, got " + std::to_string(*options.sigma));
  }
  if (!options.val_coco.empty() && !fs::is_regular_file(options.val_coco)) {
    throw IoError(options.val_coco + ": validation COCO file not found");
  }
  TrainOptions train;
  train.device = options.device;
  train.num_threads = options.threads;
  train.epochs = options.epochs;
  train.batch_size = options.batch_size;
  train.learning_rate = options.learning_rate;
  train.lr_milestones_epochs = options.lr_milestones;
  train.lr_gamma = options.lr_gamma;
  train.weight_decay = options.weight_decay;
  train.loader_threads = options.loader_threads;
  train.seed = options.seed;
  train.checkpoint_path = options.checkpoint;
  train.resume = options.resume;
  train.max_steps = options.max_steps;
  train.val_max_instances = options.val_max_instances;
  train.val_alpha = options.val_alpha;
  train.val_flip_test = options.val_flip_test;
  train.augment.full_image_probability = options.full_image_probability;
  if (options.no_augment) {
    const double padding = train.augment.box_padding;
    train.augment = AugmentOptions{};
    train.augment.flip_probability = 0;
    train.augment.scale_range = 0;
    train.augment.rotation_deg = 0;
    train.augment.rotation_probability = 0;
    train.augment.shift_fraction = 0;
    train.augment.colour_jitter = 0;
    train.augment.box_padding = padding;
  }
  if (const auto problems = train.Check(); !problems.empty()) {
    throw UsageError(FormatProblems("train options", problems));
  }
  const fs::path out_parent = fs::path(options.out).parent_path();
  if (!out_parent.empty() && !fs::is_directory(out_parent)) {
    throw IoError(options.out + ": the output folder " + out_parent.string() + " does not exist");
  }
  if (!fs::is_regular_file(options.coco)) throw IoError(options.coco + ": COCO file not found");

  // ---- The model's description (read, or the one to create) --------------------------------
  ModelInfo info;
  if (!create) {
    info = ReadModelInfo(options.model);
  } else {
    info.kind = "native";
    info.arch = options.arch.value_or("simplebaseline-r18");
    if (options.input_size) {
      std::tie(info.input_width, info.input_height) = ParseInputSize(*options.input_size);
    }
    info.dropout = options.dropout.value_or(0.0);
    info.aleatoric = options.aleatoric;
    info.source = "rigpose train on " + options.coco;
  }
  if (options.sigma) info.sigma = *options.sigma;
  const TrainingInputSpec spec = InputSpecOf(info);
  if (const auto problems = spec.Check(); !problems.empty()) {
    throw UsageError(FormatProblems("input", problems));
  }

  // ---- Sets: validation cameras of the same file are held out of training -------------------
  TrainCliSummary summary;
  std::vector<std::string> exclude = options.exclude_cameras;
  if (options.val_coco.empty() && !options.val_cameras.empty() && options.train_cameras.empty()) {
    for (const std::string& camera : options.val_cameras) {
      if (std::find(exclude.begin(), exclude.end(), camera) == exclude.end()) {
        exclude.push_back(camera);
      }
    }
  }
  summary.excluded_cameras = exclude;
  KeypointTrainingSet train_set(options.coco, options.images, spec, options.train_cameras, exclude);
  std::optional<KeypointTrainingSet> val_set;
  if (!options.val_coco.empty()) {
    val_set.emplace(options.val_coco, "", spec, options.val_cameras);
  } else if (!options.val_cameras.empty()) {
    val_set.emplace(options.coco, options.images, spec, options.val_cameras);
  }
  summary.train_instances = train_set.size();
  summary.val_instances = val_set ? val_set->size() : 0;

  // ---- Initial model ----------------------------------------------------------------------
  std::unique_ptr<TemporaryFile> created;
  std::string model_path = options.model;
  if (create) {
    const std::string skeleton =
        options.skeleton ? *options.skeleton
                         : (train_set.skeleton().empty() ? "coco17" : train_set.skeleton());
    const Skeleton* sk = FindSkeleton(skeleton);
    if (sk == nullptr) throw UsageError("--skeleton '" + skeleton + "' is not a known skeleton");
    if (sk->NumJoints() != train_set.num_joints()) {
      throw InputError(options.coco + ": " + std::to_string(train_set.num_joints()) +
                       " keypoints per person, skeleton " + skeleton + " has " +
                       std::to_string(sk->NumJoints()) + " joints");
    }
    info.skeleton = skeleton;
    info.num_joints = sk->NumJoints();
    created =
        std::make_unique<TemporaryFile>(options.out + ".init.tmp" + std::to_string(::getpid()));
    CreateNativeModel(created->path(), info, options.seed);
    model_path = created->path();
  }

  // ---- Training ---------------------------------------------------------------------------
  out << "train: " << train_set.size() << " instances"
      << (exclude.empty() ? "" : " (cameras excluded: " + Join(exclude) + ")");
  if (val_set) out << ", validation " << val_set->size() << " instances";
  out << "; " << info.arch << " " << info.input_width << "x" << info.input_height << ", "
      << info.num_joints << " joints (" << info.skeleton << "), " << options.device << "\n";
  const auto log = [&](const std::string& line) {
    if (!options.quiet) out << "  " << line << std::endl;
  };
  summary.train =
      TrainDetector(model_path, train_set, val_set ? &*val_set : nullptr, options.out, train, log);
  summary.info = ReadModelInfo(options.out);
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const TrainSummary& s = summary.train;
  out << std::fixed << std::setprecision(1) << "trained " << s.epochs.size() << " epoch(s), "
      << s.steps << " steps, " << s.samples_per_second << " samples/s";
  if (s.resumed) out << " (resumed after epoch " << s.start_epoch << ")";
  if (s.final_val_pck >= 0) {
    out << std::setprecision(3) << "; val PCK@" << options.val_alpha << " " << s.final_val_pck
        << std::setprecision(2) << ", mean error " << s.final_val_mean_error_px << " px";
  }
  out << std::setprecision(1) << "; " << summary.seconds << " s\nwrote " << options.out
      << " (trained_epochs " << summary.info.trained_epochs << ")\n";
  return summary;
}
#else
TrainCliSummary RunTrain(const TrainCliOptions& options, std::ostream& out) {
  throw UsageError(
      "rigpose train: this build has no LibTorch (configure with RIGPOSE_WITH_TORCH=ON)");
}
#endif

void RegisterTrain(CLI::App& app, Action& action) {
  auto o = std::make_shared<TrainCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "train", "Train a native heatmap detector on COCO keypoints (e.g. a synthetic capture)");
  cmd->add_option("--coco", o->coco, "COCO keypoints JSON (annotations/person_keypoints.json)")
      ->required();
  cmd->add_option("--images", o->images, "Image root (default: the capture root)");
  cmd->add_option("--out", o->out, "Trained model file (written at the end)")->required();
  cmd->add_option("--model", o->model, "Initial model (else a new one from --arch ...)");
  cmd->add_option_function<std::string>(
      "--arch",
      [o](const std::string& v) { o->arch = v; },
      "New model: simplebaseline-r18 | simplebaseline-r50 | simplebaseline-mini | hrnet-w32");
  cmd->add_option_function<std::string>(
      "--input-size", [o](const std::string& v) { o->input_size = v; }, "New model: WxH crop");
  cmd->add_option_function<std::string>(
      "--skeleton",
      [o](const std::string& v) { o->skeleton = v; },
      "New model: joint set (default: the COCO file's)");
  cmd->add_option_function<double>(
      "--dropout", [o](double v) { o->dropout = v; }, "New model: MC-dropout probability");
  cmd->add_flag("--aleatoric", o->aleatoric, "New model: per-joint log-variance head");
  cmd->add_option_function<double>(
      "--sigma", [o](double v) { o->sigma = v; }, "Target Gaussian std (heatmap px)");
  cmd->add_option("--epochs", o->epochs, "Epochs (with --resume: the total)");
  cmd->add_option("--batch-size", o->batch_size, "Samples per step");
  cmd->add_option("--lr", o->learning_rate, "Adam learning rate");
  cmd->add_option("--lr-milestones", o->lr_milestones, "Epochs where the rate drops (a,b)")
      ->delimiter(',');
  cmd->add_option("--lr-gamma", o->lr_gamma, "Rate factor at each milestone");
  cmd->add_option("--weight-decay", o->weight_decay, "Adam L2 weight decay");
  cmd->add_option("--device", o->device, "cpu | cuda | cuda:N");
  cmd->add_option("--threads", o->threads, "CPU intra-op threads (0: all cores)");
  cmd->add_option("--loader-threads", o->loader_threads, "Sample assembly threads");
  cmd->add_option("--seed", o->seed, "Seed (initialisation, order, augmentation, dropout)");
  cmd->add_flag("--no-augment", o->no_augment, "No flip/scale/rotation/shift/colour jitter");
  cmd->add_option("--full-image-probability",
                  o->full_image_probability,
                  "Share of samples showing the whole image letterboxed (for detect's first pass)");
  cmd->add_option("--checkpoint", o->checkpoint, "Checkpoint written after every epoch");
  cmd->add_flag("--resume", o->resume, "Continue from --checkpoint when it exists");
  cmd->add_option("--max-steps", o->max_steps, "Stop after N optimiser steps (0: no limit)");
  cmd->add_option("--val-coco", o->val_coco, "Validation COCO keypoints JSON");
  cmd->add_option("--val-cameras",
                  o->val_cameras,
                  "Validation cameras (a,b); of --coco unless --val-coco: held out of training")
      ->delimiter(',');
  cmd->add_option("--train-cameras", o->train_cameras, "Train on these cameras only (a,b)")
      ->delimiter(',');
  cmd->add_option("--exclude-cameras", o->exclude_cameras, "Never train on these cameras (a,b)")
      ->delimiter(',');
  cmd->add_option("--val-max", o->val_max_instances, "Validate on the first N instances (0: all)");
  cmd->add_option("--val-alpha", o->val_alpha, "PCK threshold: fraction of the box's larger side");
  cmd->add_flag("--val-flip-test",
                o->val_flip_test,
                "Validate with the flip test (heatmaps averaged with the mirrored crop's)");
  cmd->add_flag("--quiet", o->quiet, "No per-epoch lines");
  cmd->callback([&action, o]() { action = [o] { RunTrain(*o, std::cout); }; });
}

}  // namespace rigpose::cli

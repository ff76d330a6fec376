// SPDX-License-Identifier: BSD-3-Clause
#include "cli/select.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>

#include <CLI/CLI.hpp>

#include "al/select.h"
#include "al/single_view.h"
#include "al/view_disagreement.h"
#include "cli/progress.h"
#include "core/error.h"
#include "core/skeleton.h"
#include "data/calib_io.h"
#include "data/frame_source.h"
#include "data/npy.h"
#include "pipeline/rig_streams.h"
#if defined(RIGPOSE_HAVE_TORCH)
#include "detect2d/training_data.h"
#include "pipeline/pool_scores.h"
#endif

namespace rigpose::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::vector<float> ReadVariance(const std::string& path, const Keypoints2D& keypoints) {
  const NpyArray array = ReadNpy(path);
  const std::vector<int64_t> expected = {
      keypoints.num_frames(), keypoints.num_cameras(), keypoints.num_joints()};
  if (array.shape != expected) {
    std::ostringstream s;
    s << path << ": shape [";
    for (size_t i = 0; i < array.shape.size(); ++i) s << (i ? ", " : "") << array.shape[i];
    s << "], expected [" << expected[0] << ", " << expected[1] << ", " << expected[2]
      << "] (the 2D keypoints' frames, cameras, joints)";
    throw InputError(s.str());
  }
  const std::vector<double> values = array.AsDoubles();
  return std::vector<float>(values.begin(), values.end());
}

}  // namespace

SelectCliSummary RunSelect(const SelectCliOptions& options, std::ostream& out) {
  const auto& strategies = SelectionStrategyNames();
  if (std::find(strategies.begin(), strategies.end(), options.strategy) == strategies.end()) {
    throw UsageError("--strategy '" + options.strategy + "': expected one of " +
                     JoinList(strategies));
  }
  if (options.budget < 1) {
    throw UsageError("--budget " + std::to_string(options.budget) + " must be >= 1");
  }
  if (options.unit != "frames" && options.unit != "views") {
    throw UsageError("--unit '" + options.unit + "': expected frames or views");
  }
  if (options.strategy == "learning-loss" && options.train_coco.empty()) {
    throw UsageError(
        "--strategy learning-loss trains its loss predictor on the true losses of labelled "
        "samples: give --train-coco (the labelled set, e.g. of `rigpose import-labels`)");
  }
  if (options.session.empty() && options.keypoints.empty()) {
    throw UsageError("give --session DIR (a `rigpose reconstruct` output) or --keypoints 2D.npy");
  }
  if (!options.videos.empty() && !options.images.empty()) {
    throw UsageError("give --videos or --images, not both");
  }
  const bool detector_strategy = StrategyNeedsDetector(options.strategy);
  const bool with_frames = !options.videos.empty() || !options.images.empty();
  if (detector_strategy && (options.model.empty() || !with_frames)) {
    throw UsageError("--strategy " + options.strategy +
                     " scores the detector's output on every view: give --model and --videos "
                     "or --images");
  }
  if (options.mc_passes < 0 || options.mc_passes == 1) {
    throw UsageError("--mc-passes " + std::to_string(options.mc_passes) +
                     " must be 0 (off) or >= 2");
  }
  const Clock::time_point start = Clock::now();

  // ---- Rig and keypoints ----
  const Rig rig = ReadCliRig(options.rig, options.rig_format, out);
  const std::string keypoints_path = !options.keypoints.empty()
                                         ? options.keypoints
                                         : (fs::path(options.session) / "keypoints2d.npy").string();
  const Keypoints2D keypoints = ReadKeypointsNpy(keypoints_path);
  if (keypoints.num_cameras() != rig.NumCameras()) {
    throw InputError(keypoints_path + ": " + std::to_string(keypoints.num_cameras()) +
                     " cameras, but the rig " + options.rig + " has " +
                     std::to_string(rig.NumCameras()) + " (the .npy must be in rig order)");
  }
  const int F = keypoints.num_frames(), C = keypoints.num_cameras(), J = keypoints.num_joints();
  if (F == 0) throw InputError(keypoints_path + ": no frames");
  std::string variance_path = options.variance;
  if (variance_path.empty() && !options.session.empty()) {
    const std::string candidate = (fs::path(options.session) / "keypoints2d.variance.npy").string();
    if (fs::exists(candidate)) variance_path = candidate;
  }
  std::vector<float> variance;
  if (!variance_path.empty()) variance = ReadVariance(variance_path, keypoints);

  std::vector<std::string> camera_names;
  for (const Camera& camera : rig.cameras) camera_names.push_back(camera.name);

  // ---- Labelled frames ----
  std::vector<uint8_t> labelled(F, 0);
  for (const std::string& path : options.labelled) {
    const Selection previous = ReadSelectionCsv(path);
    for (const SelectionRow& row : previous.rows) {
      if (row.frame >= F) {
        throw InputError(path + ": frame " + std::to_string(row.frame) +
                         " is outside the pool of " + std::to_string(F) + " frames (" +
                         keypoints_path + ")");
      }
      for (const std::string& view : row.views) {
        if (!rig.FindCamera(view)) {
          throw InputError(path + ": frame " + std::to_string(row.frame) + " names camera '" +
                           view + "', which the rig does not have (" + JoinList(camera_names) +
                           ")");
        }
      }
      labelled[row.frame] = 1;
    }
  }

  SelectCliSummary summary;
  summary.pool_frames = F;
  summary.pool_cameras = C;
  PoolScores pool;
  pool.num_frames = F;
  pool.num_cameras = C;
  pool.camera_names = camera_names;
  pool.labelled = labelled;

  // ---- Detector scores (single-view strategies; MC-dropout variance) ----
  const bool detector_variance =
      variance.empty() && options.mc_passes >= 2 && !options.model.empty() && with_frames;
  if (detector_strategy || detector_variance) {
#if !defined(RIGPOSE_HAVE_TORCH)
    throw UsageError("this rigpose was built without LibTorch: --strategy " + options.strategy +
                     " and --mc-passes need the detector");
#else
    DetectorOptions detector_options;
    detector_options.device = options.device;
    detector_options.num_threads = options.threads;
    detector_options.mc_dropout_passes =
        options.strategy == "aleatoric" ? 0 : options.mc_passes;  // aleatoric: the head alone
    const bool learning_loss = options.strategy == "learning-loss";
    detector_options.keep_heatmaps = options.strategy == "multi-peak-entropy" || learning_loss;
    detector_options.keep_features = options.strategy == "core-set" || learning_loss;
    std::unique_ptr<KeypointDetector> detector =
        KeypointDetector::Load(options.model, detector_options);
    if (options.strategy == "aleatoric" && !detector->info().aleatoric) {
      throw InputError(options.model +
                       ": --strategy aleatoric needs a model with the aleatoric head "
                       "(`rigpose train --aleatoric`)");
    }
    const std::string& dir = options.videos.empty() ? options.images : options.videos;
    const FrameSourceKind kind =
        options.videos.empty() ? FrameSourceKind::kImages : FrameSourceKind::kVideos;
    FrameSourceOptions source_options;
    source_options.camera_order = {};
    MultiCameraFrameSource source = MultiCameraFrameSource::Open(dir, kind, source_options);
    const std::vector<int> stream_of_camera =
        MatchStreamsToRig(source.cameras(), rig, options.rig, dir, "select");
    if (source.num_frames() < F) {
      throw InputError(dir + ": the videos have " + std::to_string(source.num_frames()) +
                       " frames, fewer than the " + std::to_string(F) + " frames of " +
                       keypoints_path);
    }
    PoolScoringOptions scoring;
    scoring.min_score = options.min_score;
    scoring.entropy = options.strategy == "multi-peak-entropy";
    scoring.features = detector_options.keep_features;
    scoring.variance = true;
    ProgressBar bar("scoring", F, !options.quiet);
    const PoolScoringResult scores = ScorePoolWithDetector(
        *detector, source, stream_of_camera, keypoints, scoring, [&](int done) {
          bar.Update(done);
        });
    bar.Finish();
    pool.view_available = scores.view_available;
    pool.view_entropy = scores.view_entropy;
    if (options.strategy == "aleatoric") pool.view_aleatoric = scores.view_aleatoric;
    pool.view_features = scores.view_features;
    pool.feature_dim = scores.feature_dim;
    if (learning_loss) {
      // LearningLoss++: the loss predictor learns, on the labelled set, to rank the detector's
      // true training loss from its pooled features; it then ranks the pool's views.
      const ModelInfo& info = detector->info();
      const TrainingInputSpec spec = InputSpecOf(info);
      const KeypointTrainingSet labelled_set(options.train_coco, options.train_images, spec);
      const LabelledLosses truth = ComputeLabelledLosses(*detector, labelled_set, scoring);
      if (truth.losses.size() < 8) {
        throw InputError(options.train_coco + ": " + std::to_string(truth.losses.size()) +
                         " labelled samples; the loss predictor needs at least 8");
      }
      if (truth.feature_dim != scores.feature_dim) {
        throw std::logic_error("select: feature sizes of the labelled set and the pool differ");
      }
      LossPredictor predictor;
      LossPredictorOptions predictor_options;
      predictor_options.seed = options.seed;
      predictor.Fit(truth.features, truth.feature_dim, truth.losses, predictor_options);
      const std::vector<double> predicted = predictor.Predict(scores.view_features);
      pool.view_predicted_loss.assign(predicted.begin(), predicted.end());
      if (!options.quiet) {
        out << "select: loss predictor trained on " << truth.losses.size()
            << " labelled samples (ranking accuracy on them "
            << predictor.RankingAccuracy(truth.features, truth.losses) << ")\n";
      }
    }
    if (detector_variance) variance = scores.variance;
    if (!options.quiet) {
      out << "select: detector on " << scores.crops << " views in " << std::fixed
          << std::setprecision(1) << scores.seconds << " s (" << std::setprecision(1)
          << F / std::max(scores.seconds, 1e-9) << " frames/s, network " << scores.seconds_network
          << " s)\n"
          << std::defaultfloat;
    }
#endif
  }

  // ---- Multi-view scores ----
  ViewDisagreementOptions geometry_options;
  geometry_options.robust.max_reproj_error_px = options.threshold_px;
  geometry_options.robust.dlt.min_score = static_cast<float>(options.min_score);
  geometry_options.num_threads = options.threads;
  const ViewDisagreement geometry =
      ComputeViewDisagreement(rig.cameras, keypoints, variance, geometry_options);
  pool.geometry = &geometry;
  summary.used_variance = !variance.empty();
  // Frame-level strategies may pick any view (a person labels it whether or not the detector
  // found someone there); view-level ones rank the views the detector scored.
  if (!detector_strategy) pool.view_available.clear();
  std::string skeleton_name = keypoints.skeleton;
  if (skeleton_name.empty()) skeleton_name = SkeletonFromJointCount(J).value_or("");
  if (const Skeleton* skeleton = FindSkeleton(skeleton_name);
      skeleton && skeleton->NumJoints() == J) {
    const BoneLengthModel bones = BoneLengthModel::Fit(geometry.poses, skeleton->bones);
    pool.frame_bone_nll.resize(F);
    for (int f = 0; f < F; ++f) {
      pool.frame_bone_nll[f] = static_cast<float>(bones.NegLogLikelihood(geometry.poses, f));
    }
  }
  summary.seconds_scoring = SecondsSince(start);
  summary.frames_per_second = F / std::max(summary.seconds_scoring, 1e-9);
  if (!options.quiet && options.strategy == "multiview" && variance.empty()) {
    out << "select: no 2D variance (" << (options.session.empty() ? "--variance" : variance_path)
        << "): the Bayesian part is off; reconstruct with an MC-dropout or aleatoric model, or "
           "pass --model, --videos and --mc-passes\n";
  }

  // ---- Selection ----
  const Clock::time_point t = Clock::now();
  SelectOptions select;
  select.strategy = options.strategy;
  select.budget = options.budget;
  select.unit = options.unit;
  select.suppress_frames = options.suppress_frames;
  select.diversity_weight = options.diversity_weight;
  select.confidence_weight = options.confidence_weight;
  select.seed = options.seed;
  summary.selection = SelectFrames(pool, select);
  summary.seconds_selection = SecondsSince(t);
  WriteSelectionCsv(options.out, summary.selection);

  if (!options.quiet) {
    const Selection& s = summary.selection;
    out << "select: " << options.strategy << ", " << s.rows.size() << " frames / " << s.NumViews()
        << " views of a pool of " << F << " frames x " << C << " cameras"
        << (summary.used_variance ? " (with 2D variance)" : "") << "\n";
    out << "  rank  frame  score    views\n";
    for (size_t r = 0; r < s.rows.size() && r < 10; ++r) {
      std::string views;
      for (const std::string& v : s.rows[r].views) views += (views.empty() ? "" : " ") + v;
      out << "  " << std::setw(4) << s.rows[r].rank << "  " << std::setw(5) << s.rows[r].frame
          << "  " << std::fixed << std::setprecision(4) << s.rows[r].score << std::defaultfloat
          << "   " << views << "\n";
    }
    if (s.rows.size() > 10) out << "  ... (" << s.rows.size() - 10 << " more)\n";
    out << "select: scoring " << std::fixed << std::setprecision(2) << summary.seconds_scoring
        << " s (" << std::setprecision(0) << summary.frames_per_second << " frames/s), selection "
        << std::setprecision(3) << summary.seconds_selection << " s; wrote " << options.out << "\n"
        << std::defaultfloat;
  }
  return summary;
}

void RegisterSelect(CLI::App& app, Action& action) {
  auto o = std::make_shared<SelectCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "select", "Score every frame of a capture and pick the frames/views to label next");
  cmd->add_option("--rig", o->rig, "Calibration (any format `calib info` reads)")->required();
  cmd->add_option("--rig-format", o->rig_format, "Calibration format (default: detected)");
  cmd->add_option("--session", o->session, "A `rigpose reconstruct` output folder");
  cmd->add_option("--keypoints", o->keypoints, "2D keypoints .npy [F,C,J,3] in rig camera order");
  cmd->add_option("--variance", o->variance, "2D variance .npy [F,C,J] px^2");
  cmd->add_option("--budget", o->budget, "Frames (or views with --unit views) to pick")->required();
  cmd->add_option("--unit", o->unit, "frames | views");
  cmd->add_option(
      "--strategy", o->strategy, "multiview (default) | " + [] {
        std::string s;
        for (const std::string& n : SelectionStrategyNames()) {
          if (n != "multiview") s += (s.empty() ? "" : " | ") + n;
        }
        return s;
      }());
  cmd->add_option("--labelled", o->labelled, "Selection files of frames already labelled");
  cmd->add_option("--train-coco", o->train_coco, "learning-loss: the labelled set (COCO JSON)");
  cmd->add_option("--train-images", o->train_images, "learning-loss: its image root");
  cmd->add_option("--model", o->model, "Detector model (single-view strategies, --mc-passes)");
  cmd->add_option("--videos", o->videos, "Folder with one video per camera");
  cmd->add_option("--images", o->images, "Folder with one image subfolder per camera");
  cmd->add_option("--device", o->device, "cpu | cuda | cuda:N");
  cmd->add_option("--mc-passes", o->mc_passes, "MC-dropout passes for the 2D variance (0: off)");
  cmd->add_option("--threshold", o->threshold_px, "Robust triangulation inlier threshold, px");
  cmd->add_option("--min-score", o->min_score, "2D keypoints used at or above this score");
  cmd->add_option("--suppress", o->suppress_frames, "No two picks within +-N frames");
  cmd->add_option("--diversity-weight",
                  o->diversity_weight,
                  "multiview: penalty weight of a pick's similarity to labelled/picked poses");
  cmd->add_option(
      "--confidence-weight",
      o->confidence_weight,
      "multiview: weight of the detector's low confidence in the fusion (default 0: off)");
  cmd->add_option("--seed", o->seed, "Seed (random, anipose-bad noise)");
  cmd->add_option("--threads", o->threads, "Threads (0: all cores)");
  cmd->add_option("--out", o->out, "Selection CSV")->required();
  cmd->add_flag("--quiet", o->quiet, "No progress or table");
  cmd->callback([&action, o]() { action = [o] { RunSelect(*o, std::cout); }; });
}

}  // namespace rigpose::cli

// SPDX-License-Identifier: BSD-3-Clause
// `rigpose detect`: synchronised videos or image folders -> 2D keypoints per camera and frame.
//
// Person crops are tracked per camera (pipeline/person_tracker.h).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <opencv2/core.hpp>

#include "cli/cli.h"
#include "cli/progress.h"
#include "core/error.h"
#include "core/keypoints.h"
#include "core/skeleton.h"
#include "data/calib_io.h"
#include "data/file_util.h"
#include "data/frame_source.h"
#include "data/npy.h"
#include "data/openpose_json.h"
#include "detect2d/detector.h"
#include "pipeline/person_tracker.h"
#include "pipeline/rig_streams.h"

namespace rigpose::cli {
#if defined(RIGPOSE_HAVE_TORCH)
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

bool IsNpy(const std::string& path) { return fs::path(path).extension() == ".npy"; }

}  // namespace
#endif

DetectSummary RunDetect(const DetectOptions& o, std::ostream& out, std::ostream& err) {
#if !defined(RIGPOSE_HAVE_TORCH)
  (void)out;
  (void)err;
  throw UsageError("detect: this rigpose was built without LibTorch");
#else
  const Clock::time_point start = Clock::now();
  if (o.videos.empty() == o.images.empty()) {
    throw UsageError("detect: give exactly one of --videos DIR or --images DIR");
  }
  if (o.out.empty()) throw UsageError("detect: --out is required");
  const std::optional<HeatmapDecoder> decoder = ParseHeatmapDecoder(o.decoder);
  if (!decoder) {
    throw UsageError("--decoder '" + o.decoder +
                     "': use argmax, argmax-quarter, dark or soft-argmax");
  }
  if (!(o.person_min_score >= 0 && o.person_min_score < 1)) {
    throw UsageError("--person-min-score must be in [0, 1)");
  }
  if (!(o.box_padding >= 0 && o.box_padding <= 2)) {
    throw UsageError("--box-padding must be in [0, 2]");
  }
  const bool npy = IsNpy(o.out);
  if (!npy && fs::exists(o.out) && !(fs::is_directory(o.out) && fs::is_empty(o.out))) {
    throw UsageError("--out " + o.out +
                     ": exists and is not an empty folder (give a .npy path "
                     "or a new folder for OpenPose JSON)");
  }
  const fs::path out_parent = fs::path(o.out).parent_path();
  if (!out_parent.empty() && !fs::is_directory(out_parent)) {
    throw IoError(o.out + ": the folder " + out_parent.string() + " does not exist");
  }

  DetectorOptions detector_options;
  detector_options.device = o.device;
  detector_options.batch_size = o.batch_size;
  detector_options.num_threads = o.threads;
  detector_options.mc_dropout_passes = o.mc_dropout;
  detector_options.flip_test = o.flip_test;
  detector_options.decode.decoder = *decoder;
  std::unique_ptr<KeypointDetector> detector = KeypointDetector::Load(o.model, detector_options);
  const ModelInfo& info = detector->info();
  detector_options.decode.dark_sigma = info.sigma;
  const int J = info.num_joints;

  FrameSourceOptions source_options;
  source_options.first_frame = o.first_frame;
  source_options.max_frames = o.max_frames;
  source_options.frame_stride = o.frame_stride;
  if (!source_options.Check().empty()) {
    throw UsageError(FormatProblems("detect: frame range", source_options.Check()));
  }
  MultiCameraFrameSource source = MultiCameraFrameSource::Open(
      o.videos.empty() ? o.images : o.videos,
      o.videos.empty() ? FrameSourceKind::kImages : FrameSourceKind::kVideos,
      source_options);
  const std::vector<CameraStreamInfo>& streams = source.cameras();

  // Output camera c reads source stream order[c]: the rig's order with --rig.
  std::vector<int> order;
  std::vector<std::string> names;
  Rig rig;
  if (!o.rig.empty()) {
    CalibReadOptions read_options;
    read_options.format = CalibFormatOption(o.rig_format, "--rig-format");
    rig = ReadRig(o.rig, read_options);
    order =
        MatchStreamsToRig(streams, rig, o.rig, o.videos.empty() ? o.images : o.videos, "detect");
    for (const Camera& camera : rig.cameras) {
      names.push_back(camera.name);
    }
  } else {
    for (size_t s = 0; s < streams.size(); ++s) {
      order.push_back(static_cast<int>(s));
      names.push_back(streams[s].name);
    }
  }
  const int C = static_cast<int>(order.size());
  const int F = source.num_frames();
  const bool with_variance = o.mc_dropout > 1 || info.aleatoric;

  DetectSummary summary;
  summary.num_frames = F;
  summary.num_cameras = C;
  summary.device = detector->device();
  summary.cameras.resize(C);
  for (int c = 0; c < C; ++c) summary.cameras[c].name = names[c];

  // Outputs: .npy rows streamed (memory bounded), OpenPose trees written at the end.
  std::unique_ptr<NpyStreamWriter> npy_writer, variance_writer;
  Keypoints2D all;
  if (npy) {
    npy_writer = std::make_unique<NpyStreamWriter>(o.out, "<f4", std::vector<int64_t>{F, C, J, 3});
  } else {
    all = Keypoints2D(F, C, J);
    all.camera_names = names;
    all.skeleton = info.skeleton;
  }
  if (with_variance) {
    summary.variance_path = npy ? SidecarPath(o.out, ".variance.npy") : o.out + ".variance.npy";
    variance_writer = std::make_unique<NpyStreamWriter>(
        summary.variance_path, "<f4", std::vector<int64_t>{F, C, J});
  }

  PersonTrackerOptions tracker_options;
  tracker_options.person_min_score = o.person_min_score;
  tracker_options.box_padding = o.box_padding;
  tracker_options.refine_first = o.refine_first;
  tracker_options.track_3d = o.track_3d;
  PersonTracker tracker(
      detector.get(), C, o.rig.empty() ? std::vector<Camera>() : rig.cameras, tracker_options);
  std::vector<float> row(static_cast<size_t>(C) * J * 3), variance_row(static_cast<size_t>(C) * J);
  std::vector<cv::Mat> images;
  std::vector<const cv::Mat*> ordered(C);
  ProgressBar progress("detect", F, !o.quiet);
  int frames_done = 0;
  for (int f = 0; f < F; ++f) {
    Clock::time_point t = Clock::now();
    int frame_index = 0;
    if (!source.Next(&images, &frame_index)) {
      spdlog::warn(
          "detect: the videos ended after {} of {} frames; the rest is written as missing", f, F);
      break;
    }
    summary.seconds_decode += Seconds(t);
    for (int c = 0; c < C; ++c) ordered[c] = &images[order[c]];
    tracker.Track(ordered, row.data(), variance_row.data());
    if (!npy) {
      for (int c = 0; c < C; ++c) {
        for (int j = 0; j < J; ++j) {
          const float* k = &row[(static_cast<size_t>(c) * J + j) * 3];
          all.Set(f, c, j, k[0], k[1], k[2]);
        }
      }
    }
    if (npy_writer) npy_writer->Append(row.data(), static_cast<int64_t>(row.size() * 4));
    if (variance_writer) {
      variance_writer->Append(variance_row.data(), static_cast<int64_t>(variance_row.size() * 4));
    }
    frames_done = f + 1;
    progress.Update(frames_done);
  }
  progress.Finish();
  // A stream shorter than announced: the missing frames stay missing (score 0).
  std::fill(row.begin(), row.end(), 0.f);
  std::fill(variance_row.begin(), variance_row.end(), 0.f);
  for (int f = frames_done; f < F; ++f) {
    if (npy_writer) npy_writer->Append(row.data(), static_cast<int64_t>(row.size() * 4));
    if (variance_writer) {
      variance_writer->Append(variance_row.data(), static_cast<int64_t>(variance_row.size() * 4));
    }
  }
  if (npy_writer) npy_writer->Commit();
  if (variance_writer) variance_writer->Commit();
  if (!npy) WriteOpenPoseTree(o.out, all);
  summary.seconds_total = Seconds(start);
  const PersonTrackerStats& tracked = tracker.stats();
  summary.crops = tracked.crops;
  summary.full_frame_searches = tracked.full_frame_searches;
  summary.boxes_from_3d = tracked.boxes_from_3d;
  summary.seconds_crop = tracked.seconds_crop;
  summary.seconds_infer = tracked.seconds_infer;
  for (int c = 0; c < C; ++c) {
    summary.cameras[c].frames = static_cast<int>(tracked.frames[c]);
    summary.cameras[c].frames_with_person = static_cast<int>(tracked.frames_with_person[c]);
    summary.cameras[c].mean_score = tracked.score_sum[c];
  }

  out << "detect: " << info.arch << " on " << summary.device << ", " << F << " frames x " << C
      << " cameras, " << summary.crops << " crops in " << std::fixed << std::setprecision(1)
      << summary.seconds_total << " s (decode " << summary.seconds_decode << " s, crop "
      << summary.seconds_crop << " s, network " << summary.seconds_infer
      << " s: " << std::setprecision(1)
      << (summary.seconds_infer > 0 ? summary.crops / summary.seconds_infer : 0.0) << " crops/s)\n";
  out << "  camera          frames  with person  mean score\n";
  for (DetectCameraStats& stats : summary.cameras) {
    if (stats.frames_with_person > 0) stats.mean_score /= stats.frames_with_person;
    out << "  " << std::left << std::setw(14) << stats.name << std::right << std::setw(8)
        << stats.frames << std::setw(13) << stats.frames_with_person << std::setw(12)
        << std::setprecision(3) << stats.mean_score << "\n";
  }
  out << "wrote " << o.out;
  if (!summary.variance_path.empty()) out << " (+ " << summary.variance_path << ")";
  out << "\n";
  (void)err;
  return summary;
#endif
}

void RegisterDetect(CLI::App& app, Action& action) {
  auto o = std::make_shared<DetectOptions>();
  CLI::App* cmd = app.add_subcommand(
      "detect", "2D keypoints from synchronised videos or image folders (one per camera)");
  cmd->add_option("--model", o->model, "Model file (rigpose model import/create/train)")
      ->required();
  cmd->add_option("--videos", o->videos, "Folder with one video file per camera");
  cmd->add_option("--images", o->images, "Folder with one image subfolder per camera");
  cmd->add_option(
         "--out", o->out, ".npy [frames, cameras, joints, 3] or a new folder (OpenPose JSON)")
      ->required();
  cmd->add_option("--rig", o->rig, "Calibration: cameras in its order, sizes checked");
  cmd->add_option("--rig-format", o->rig_format, "Calibration format (default: detected)");
  cmd->add_option("--device", o->device, "cpu | cuda | cuda:N");
  cmd->add_option("--batch-size", o->batch_size, "Crops per forward pass");
  cmd->add_option("--threads", o->threads, "CPU threads (0: all cores)");
  cmd->add_option("--first-frame", o->first_frame, "First frame to read");
  cmd->add_option("--max-frames", o->max_frames, "Frames to read (0: all)");
  cmd->add_option("--frame-stride", o->frame_stride, "Read every N-th frame");
  cmd->add_option("--decoder", o->decoder, "argmax | argmax-quarter | dark | soft-argmax");
  cmd->add_option("--person-min-score",
                  o->person_min_score,
                  "Mean joint score below which a camera-frame has no person");
  cmd->add_option("--box-padding", o->box_padding, "Crop growth around the keypoints (fraction)");
  cmd->add_option("--mc-dropout", o->mc_dropout, "MC-dropout passes (writes .variance.npy)");
  cmd->add_flag("--flip-test",
                o->flip_test,
                "Average with the mirrored crops (left/right swapped; 2x network time)");
  cmd->add_flag_function(
      "--no-track-3d",
      [o](int64_t) { o->track_3d = false; },
      "With --rig: do not seed lost cameras' crops from the other views' 3D");
  cmd->add_flag("--quiet", o->quiet, "No progress bar");
  cmd->callback([&action, o] { action = [o] { RunDetect(*o, std::cout, std::cerr); }; });
}

}  // namespace rigpose::cli

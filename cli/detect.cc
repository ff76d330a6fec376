// SPDX-License-Identifier: BSD-3-Clause
// `rigpose detect`: synchronised videos or image folders -> 2D keypoints per camera and frame.
//
// Person crops: each camera tracks its person from frame to frame (the crop of frame t is the
// box of frame t-1's confident keypoints, grown by --box-padding); without a previous box the
// whole frame is letterboxed into the network first and the box of that pass is re-detected (a
// second pass at full resolution). A camera-frame whose mean joint score stays below
// --person-min-score has no person: all its joints are written as missing (score 0) and the
// next frame starts again from the whole frame, or, with --rig, from the box of the joints the
// other cameras triangulate in this frame, reprojected into it (--no-track-3d turns that off).
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
#include "detect2d/crop.h"
#include "detect2d/detector.h"
#include "detect2d/image_crop.h"
#include "triangulate/robust_triangulation.h"

namespace rigpose::cli {
#if defined(RIGPOSE_HAVE_TORCH)
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

bool IsNpy(const std::string& path) { return fs::path(path).extension() == ".npy"; }

// One crop to run: which camera, its transform, and the crop pixels (kept alive for the batch).
struct PendingCrop {
  int camera = 0;
  CropTransform transform;
  cv::Mat pixels;
};

double MeanScore(const std::vector<float>& keypoints) {
  double sum = 0;
  const size_t n = keypoints.size() / 3;
  for (size_t j = 0; j < n; ++j) sum += keypoints[3 * j + 2];
  return n ? sum / n : 0.0;
}

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
    order.assign(rig.NumCameras(), -1);
    for (size_t s = 0; s < streams.size(); ++s) {
      const std::optional<int> c = rig.MatchCamera(streams[s].name);
      if (!c) {
        throw InputError("detect: " + streams[s].path + ": camera '" + streams[s].name +
                         "' is not in the rig " + o.rig);
      }
      order[*c] = static_cast<int>(s);
    }
    for (int c = 0; c < rig.NumCameras(); ++c) {
      const Camera& camera = rig.cameras[c];
      if (order[c] < 0) {
        throw InputError("detect: rig camera '" + camera.name + "' has no video/image folder in " +
                         (o.videos.empty() ? o.images : o.videos));
      }
      const CameraStreamInfo& stream = streams[order[c]];
      // Sizes within 1 % (e.g. a 1080-wide video of a camera calibrated at 1088, as in the
      // Pose2Sim demo: the same sensor, cropped) are accepted with a warning: pixel coordinates
      // are anchored at the top-left corner. Anything larger is a different video mode.
      const bool differs = stream.width != camera.width || stream.height != camera.height;
      const bool close = std::abs(stream.width - camera.width) <= 0.01 * camera.width &&
                         std::abs(stream.height - camera.height) <= 0.01 * camera.height;
      if (camera.width > 0 && differs && close) {
        spdlog::warn(
            "detect: {} is {}x{}, rig camera '{}' was calibrated at {}x{} (within 1 %: "
            "used as is)",
            stream.path,
            stream.width,
            stream.height,
            camera.name,
            camera.width,
            camera.height);
      } else if (camera.width > 0 && differs) {
        throw InputError("detect: " + stream.path + " is " + std::to_string(stream.width) + "x" +
                         std::to_string(stream.height) + " but rig camera '" + camera.name +
                         "' was calibrated at " + std::to_string(camera.width) + "x" +
                         std::to_string(camera.height));
      }
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

  std::vector<std::optional<CropBox> > boxes(C);
  std::vector<float> row(static_cast<size_t>(C) * J * 3), variance_row(static_cast<size_t>(C) * J);
  std::vector<cv::Mat> images;
  ProgressBar progress("detect", F, !o.quiet);
  int frames_done = 0;
  auto run = [&](std::vector<PendingCrop>& crops) {
    std::vector<ImageU8> views;
    for (const PendingCrop& crop : crops) {
      views.push_back(ImageU8{crop.pixels.data,
                              crop.pixels.cols,
                              crop.pixels.rows,
                              static_cast<int64_t>(crop.pixels.step[0]),
                              true});
    }
    const Clock::time_point t = Clock::now();
    std::vector<CropDetection> result = detector->Detect(views);
    summary.seconds_infer += Seconds(t);
    summary.crops += static_cast<int64_t>(crops.size());
    // Keypoints to image pixels.
    for (size_t i = 0; i < crops.size(); ++i) {
      for (int j = 0; j < J; ++j) {
        float* k = &result[i].keypoints[3 * j];
        const Eigen::Vector2d img = crops[i].transform.ToImage(Eigen::Vector2d(k[0], k[1]));
        k[0] = static_cast<float>(img.x());
        k[1] = static_cast<float>(img.y());
      }
      for (float& v : result[i].variance) {
        v = static_cast<float>(v * crops[i].transform.scale * crops[i].transform.scale);
      }
    }
    return result;
  };
  auto make_crop = [&](int c, const CropBox& box) {
    const Clock::time_point t = Clock::now();
    PendingCrop crop;
    crop.camera = c;
    crop.transform = MakeCropTransform(box, info.input_width, info.input_height);
    crop.pixels = ExtractCrop(images[order[c]], crop.transform);
    summary.seconds_crop += Seconds(t);
    return crop;
  };

  for (int f = 0; f < F; ++f) {
    Clock::time_point t = Clock::now();
    int frame_index = 0;
    if (!source.Next(&images, &frame_index)) {
      spdlog::warn(
          "detect: the videos ended after {} of {} frames; the rest is written as missing", f, F);
      break;
    }
    summary.seconds_decode += Seconds(t);
    // Pass 1: tracked boxes, or the whole frame.
    std::vector<PendingCrop> crops;
    for (int c = 0; c < C; ++c) {
      const cv::Mat& image = images[order[c]];
      if (!boxes[c]) ++summary.full_frame_searches;
      crops.push_back(make_crop(c, boxes[c] ? *boxes[c] : FullImageBox(image.cols, image.rows)));
    }
    std::vector<CropDetection> results = run(crops);
    // Pass 2 for cameras that started from the whole frame.
    if (o.refine_first) {
      std::vector<PendingCrop> second;
      std::vector<int> which;
      for (int c = 0; c < C; ++c) {
        if (boxes[c] || MeanScore(results[c].keypoints) < 0.5 * o.person_min_score) continue;
        const std::optional<CropBox> box = BoxFromKeypoints(
            results[c].keypoints.data(), J, o.person_min_score, o.box_padding, 32.0, 3);
        if (!box) continue;
        second.push_back(make_crop(c, *box));
        which.push_back(c);
      }
      if (!second.empty()) {
        std::vector<CropDetection> refined = run(second);
        for (size_t i = 0; i < which.size(); ++i) results[which[i]] = std::move(refined[i]);
      }
    }
    for (int c = 0; c < C; ++c) {
      DetectCameraStats& stats = summary.cameras[c];
      ++stats.frames;
      const double mean_score = MeanScore(results[c].keypoints);
      const bool person = mean_score >= o.person_min_score;
      boxes[c] =
          person ? BoxFromKeypoints(
                       results[c].keypoints.data(), J, o.person_min_score, o.box_padding, 32.0, 3)
                 : std::nullopt;
      if (person) {
        ++stats.frames_with_person;
        stats.mean_score += mean_score;
      }
      for (int j = 0; j < J; ++j) {
        const float* k = &results[c].keypoints[3 * j];
        const bool valid = person && k[2] > 0 && std::isfinite(k[0]) && std::isfinite(k[1]);
        float* dst = &row[(static_cast<size_t>(c) * J + j) * 3];
        dst[0] = valid ? k[0] : 0.f;
        dst[1] = valid ? k[1] : 0.f;
        dst[2] = valid ? k[2] : 0.f;
        variance_row[static_cast<size_t>(c) * J + j] =
            valid && !results[c].variance.empty() ? results[c].variance[j] : 0.f;
        if (!npy) all.Set(f, c, j, dst[0], dst[1], dst[2]);
      }
    }
    // Cameras that lost their person get next frame's box from this frame's 3D, reprojected.
    if (o.track_3d && !o.rig.empty()) {
      const int found = static_cast<int>(
          std::count_if(boxes.begin(), boxes.end(), [](const std::optional<CropBox>& b) {
            return b.has_value();
          }));
      if (found >= 2 && found < C) {
        Keypoints2D frame(1, C, J);
        for (int c = 0; c < C; ++c) {
          if (!boxes[c]) continue;
          for (int j = 0; j < J; ++j) {
            const float* k = &row[(static_cast<size_t>(c) * J + j) * 3];
            if (k[2] >= o.person_min_score) frame.Set(0, c, j, k[0], k[1], k[2]);
          }
        }
        RobustOptions robust;
        robust.dlt.num_threads = 1;
        const RobustBatchResult result = TriangulateRobustBatch(rig.cameras, frame, robust);
        for (int c = 0; c < C; ++c) {
          if (boxes[c]) continue;
          std::vector<float> projected(static_cast<size_t>(J) * 3, 0.f);
          for (int j = 0; j < J; ++j) {
            if (!result.poses.IsValid(0, j)) continue;
            const auto img = rig.cameras[c].ImgFromWorld(result.poses.Position(0, j));
            if (!img) continue;
            projected[3 * j] = static_cast<float>(img->x());
            projected[3 * j + 1] = static_cast<float>(img->y());
            projected[3 * j + 2] = 1.f;
          }
          boxes[c] = BoxFromKeypoints(projected.data(), J, 0.5, o.box_padding, 32.0, 3);
          if (boxes[c]) ++summary.boxes_from_3d;
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
  cmd->add_flag_function(
      "--no-track-3d",
      [o](int64_t) { o->track_3d = false; },
      "With --rig: do not seed lost cameras' crops from the other views' 3D");
  cmd->add_flag("--quiet", o->quiet, "No progress bar");
  cmd->callback([&action, o] { action = [o] { RunDetect(*o, std::cout, std::cerr); }; });
}

}  // namespace rigpose::cli

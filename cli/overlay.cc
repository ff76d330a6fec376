// SPDX-License-Identifier: BSD-3-Clause
// rigpose overlay: rig + 3D poses (+ 2D keypoints) + frames -> tiled overlay PNGs or an mp4.
#include "cli/overlay.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <numeric>
#include <sstream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include "core/error.h"
#include "core/joint_names.h"
#include "core/skeleton.h"
#include "data/calib_io.h"
#include "data/file_util.h"
#include "data/frame_source.h"
#include "data/npy.h"
#include "data/openpose_json.h"
#include "data/poses_io.h"
#include "pipeline/rig_streams.h"
#include "viewer/overlay.h"

namespace rigpose::cli {
namespace {

namespace fs = std::filesystem;

// "a:b" (b exclusive), "a:", ":b" or "a" (one frame) -> [first, end); end -1: to the end.
void ParseFrameRange(const std::string& text, int* first, int* end) {
  *first = 0;
  *end = -1;
  if (text.empty()) return;
  const auto number = [&](const std::string& part, int fallback) {
    if (part.empty()) return fallback;
    size_t used = 0;
    int value = 0;
    try {
      value = std::stoi(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != part.size() || value < 0) {
      throw UsageError("--frames '" + text + "': expected a:b with frame indices >= 0");
    }
    return value;
  };
  const size_t colon = text.find(':');
  if (colon == std::string::npos) {
    *first = number(text, 0);
    *end = *first + 1;
    return;
  }
  *first = number(text.substr(0, colon), 0);
  *end = number(text.substr(colon + 1), -1);
  if (*end >= 0 && *end <= *first) {
    throw UsageError("--frames '" + text + "' is empty (the end is exclusive)");
  }
}

std::string FrameFileName(int frame) {
  std::ostringstream name;
  name << "frame_" << std::setw(6) << std::setfill('0') << frame << ".png";
  return name.str();
}

// Removes a temporary file unless released.
struct TempFileGuard {
  std::string path;
  ~TempFileGuard() {
    if (path.empty()) return;
    std::error_code ignored;
    fs::remove(path, ignored);
  }
};

}  // namespace

OverlaySummary RunOverlay(const OverlayOptions& options, std::ostream& out) {
  const auto start = std::chrono::steady_clock::now();
  // ---- Options ---------------------------------------------------------------------------------
  if (options.rig.empty()) throw UsageError("--rig is required");
  if (options.poses.empty()) throw UsageError("--poses is required");
  if (options.out.empty()) throw UsageError("--out is required");
  if (options.images.empty() == options.videos.empty()) {
    throw UsageError("give exactly one of --images DIR and --videos DIR");
  }
  if (options.format != "png" && options.format != "mp4") {
    throw UsageError("--format '" + options.format + "': expected png or mp4");
  }
  OverlayStyle style;
  style.min_score = options.min_score;
  style.tile_scale = options.scale;
  style.grid_columns = options.columns;
  if (const auto problems = style.Problems(); !problems.empty()) {
    throw UsageError(FormatProblems("overlay options (--scale, --columns, --min-score)", problems));
  }
  int range_first = 0, range_end = -1;
  ParseFrameRange(options.frames, &range_first, &range_end);

  // ---- Rig -------------------------------------------------------------------------------------
  const Rig rig = ReadCliRig(options.rig, options.rig_format, out);

  // ---- Poses, keypoints, skeleton --------------------------------------------------------------
  PosesReadOptions read_options;
  read_options.y_up = options.y_up;
  const Poses3D poses = ReadPoses(options.poses, read_options);
  if (poses.num_frames() == 0) throw InputError(options.poses + ": no frames");
  std::string skeleton_name = !options.skeleton.empty() ? options.skeleton : poses.skeleton;
  if (!options.skeleton.empty() && FindSkeleton(options.skeleton) == nullptr) {
    throw UsageError("--skeleton '" + options.skeleton +
                     "' is not known (known: " + JoinList(SkeletonNames()) + ")");
  }
  Keypoints2D keypoints;
  const bool with_keypoints = !options.keypoints.empty();
  if (with_keypoints) {
    if (fs::is_directory(options.keypoints)) {
      OpenPoseReadOptions openpose;
      openpose.skeleton = skeleton_name;
      keypoints = ReadOpenPoseTree(options.keypoints, &rig, openpose, nullptr);
    } else {
      keypoints = ReadKeypointsNpy(options.keypoints);
    }
  }
  if (skeleton_name.empty() && with_keypoints) skeleton_name = keypoints.skeleton;
  if (skeleton_name.empty() && poses.joint_names.empty()) {
    skeleton_name = SkeletonFromJointCount(poses.num_joints()).value_or("");
  }
  if (skeleton_name.empty()) {
    throw InputError(options.poses + ": cannot tell which skeleton its " +
                     std::to_string(poses.num_joints()) + " joints follow; pass --skeleton (" +
                     JoinList(SkeletonNames()) + ")");
  }
  const Skeleton& skeleton = GetSkeleton(skeleton_name);
  const std::vector<int> pose_joint =
      MapPoseJoints(poses, skeleton, options.poses, "not drawn", out);
  if (with_keypoints) {
    if (keypoints.num_cameras() != rig.NumCameras()) {
      throw InputError(options.keypoints + ": " + std::to_string(keypoints.num_cameras()) +
                       " cameras, but the rig " + options.rig + " has " +
                       std::to_string(rig.NumCameras()) + " (the .npy must be in rig order)");
    }
    if (keypoints.num_joints() != skeleton.NumJoints()) {
      throw InputError(options.keypoints + ": " + std::to_string(keypoints.num_joints()) +
                       " joints per camera, but skeleton " + skeleton.name + " has " +
                       std::to_string(skeleton.NumJoints()));
    }
  }

  // ---- Frames ----------------------------------------------------------------------------------
  const std::string& dir = options.videos.empty() ? options.images : options.videos;
  const FrameSourceKind kind =
      options.videos.empty() ? FrameSourceKind::kImages : FrameSourceKind::kVideos;
  int num_source_frames = 0;
  std::vector<int> stream_of_camera;
  std::vector<CameraStreamInfo> streams;
  {
    MultiCameraFrameSource probe = MultiCameraFrameSource::Open(dir, kind, FrameSourceOptions());
    streams = probe.cameras();
    stream_of_camera = MatchStreamsToRig(streams, rig, options.rig, dir, "overlay");
    num_source_frames = probe.num_frames();
  }
  if (range_first >= num_source_frames || range_end > num_source_frames) {
    throw UsageError("--frames " + options.frames + " is outside the frames of " + dir +
                     " (0:" + std::to_string(num_source_frames) + ")");
  }
  int end = range_end >= 0 ? range_end : num_source_frames;
  if (end > poses.num_frames()) {
    if (range_end >= 0) {
      throw InputError(options.poses + " has " + std::to_string(poses.num_frames()) +
                       " frames, fewer than --frames " + options.frames + " needs (" + dir +
                       " has " + std::to_string(num_source_frames) + ")");
    }
    if (range_first >= poses.num_frames()) {
      throw InputError(options.poses + " has " + std::to_string(poses.num_frames()) +
                       " frames: none at or after frame " + std::to_string(range_first));
    }
    out << "warning: " << options.poses << " has " << poses.num_frames() << " frames but " << dir
        << " has " << num_source_frames << ": frames " << poses.num_frames() << ".."
        << num_source_frames - 1 << " have no poses and are not drawn\n";
    end = poses.num_frames();
  }
  if (with_keypoints && end > keypoints.num_frames()) {
    out << "warning: " << options.keypoints << " has " << keypoints.num_frames()
        << " frames: frames " << keypoints.num_frames() << ".." << end - 1
        << " are drawn without 2D keypoints\n";
  }
  FrameSourceOptions source_options;
  source_options.first_frame = range_first;
  source_options.max_frames = end - range_first;
  MultiCameraFrameSource source = MultiCameraFrameSource::Open(dir, kind, source_options);

  std::vector<cv::Size> sizes;
  for (int c = 0; c < rig.NumCameras(); ++c) {
    const CameraStreamInfo& stream = streams[stream_of_camera[c]];
    sizes.emplace_back(stream.width, stream.height);
  }
  const TileLayout layout = ComputeTileLayout(sizes, style);

  // ---- Output ----------------------------------------------------------------------------------
  std::error_code error;
  fs::create_directories(options.out, error);
  if (!fs::is_directory(options.out)) {
    throw IoError(options.out + ": cannot create the output folder" +
                  (error ? " (" + error.message() + ")" : std::string()));
  }
  OverlaySummary summary;
  summary.num_cameras = rig.NumCameras();
  summary.first_frame = range_first;
  summary.skeleton = skeleton.name;
  summary.num_joints_drawn = static_cast<int>(
      std::count_if(pose_joint.begin(), pose_joint.end(), [](int r) { return r >= 0; }));
  const std::string video_path = (fs::path(options.out) / "overlay.mp4").string();
  TempFileGuard video_temp;
  cv::VideoWriter writer;
  if (options.format == "mp4") {
    video_temp.path =
        (fs::path(options.out) / (".overlay.tmp-" + std::to_string(getpid()) + ".mp4")).string();
    const double fps = streams[0].fps > 0 ? streams[0].fps
                                          : (poses.frame_rate_hz > 0 ? poses.frame_rate_hz : 30.0);
    if (!writer.open(video_temp.path,
                     cv::CAP_FFMPEG,
                     cv::VideoWriter::fourcc('m', 'p', '4', 'v'),
                     fps,
                     cv::Size(layout.width(), layout.height()))) {
      throw IoError(video_path + ": OpenCV cannot open an mp4v video writer (" +
                    std::to_string(layout.width()) + "x" + std::to_string(layout.height()) + ")");
    }
  }
  out << "overlay: " << rig.NumCameras() << " cameras, skeleton " << skeleton.name << " ("
      << summary.num_joints_drawn << " of " << skeleton.NumJoints() << " joints from "
      << options.poses << "), frames " << range_first << ".." << end - 1 << ", "
      << (options.no_distortion ? "pinhole projection (--no-distortion)" : "full camera model")
      << "\n";

  // ---- Frames loop -----------------------------------------------------------------------------
  std::vector<std::vector<double>> distances(rig.NumCameras());
  std::vector<cv::Mat> images;
  std::vector<cv::Mat> tiles(rig.NumCameras());
  std::vector<std::vector<std::string>> captions(rig.NumCameras());
  std::vector<Eigen::Vector3d> joints_in_world(skeleton.NumJoints());
  std::vector<bool> valid(skeleton.NumJoints());
  const int total = end - range_first;
  int frame_index = 0;
  while (source.Next(&images, &frame_index)) {
    for (int j = 0; j < skeleton.NumJoints(); ++j) {
      const int r = pose_joint[j];
      valid[j] = r >= 0 && poses.IsValid(frame_index, r);
      joints_in_world[j] = valid[j] ? poses.Position(frame_index, r) : Eigen::Vector3d::Zero();
    }
    const bool frame_has_keypoints = with_keypoints && frame_index < keypoints.num_frames();
    for (int c = 0; c < rig.NumCameras(); ++c) {
      cv::Mat& image = images[stream_of_camera[c]];
      const auto img_points =
          ProjectJoints(rig.cameras[c], joints_in_world, valid, !options.no_distortion);
      DrawReprojectedSkeleton(skeleton, img_points, style, &image);
      captions[c] = {rig.cameras[c].name + "  frame " + std::to_string(frame_index)};
      if (frame_has_keypoints) {
        DrawKeypoints2D(keypoints, frame_index, c, style, &image);
        AppendReprojectionDistances(
            img_points, keypoints, frame_index, c, style.min_score, &distances[c]);
        captions[c].push_back("dots: 3D reprojected, x: 2D keypoints");
      }
      tiles[c] = image;
    }
    const cv::Mat mosaic = TileFrames(tiles, captions, layout);
    if (options.format == "png") {
      std::vector<uchar> bytes;
      if (!cv::imencode(".png", mosaic, bytes, {cv::IMWRITE_PNG_COMPRESSION, 1})) {
        throw IoError("overlay: PNG encoding of frame " + std::to_string(frame_index) + " failed");
      }
      const std::string path = (fs::path(options.out) / FrameFileName(frame_index)).string();
      WriteFileAtomic(path, std::string(bytes.begin(), bytes.end()));
      summary.outputs.push_back(path);
    } else {
      writer.write(mosaic);
    }
    ++summary.num_frames;
    if (!options.quiet && (summary.num_frames % std::max(1, total / 10) == 0)) {
      out << "overlay: " << summary.num_frames << " / " << total << " frames\n";
    }
  }
  if (summary.num_frames < total) {
    out << "warning: " << dir << " ended after " << summary.num_frames << " of " << total
        << " frames\n";
  }
  if (options.format == "mp4") {
    writer.release();
    fs::rename(video_temp.path, video_path, error);
    if (error)
      throw IoError(video_path + ": cannot rename the video into place: " + error.message());
    video_temp.path.clear();
    summary.outputs.push_back(video_path);
  }

  // ---- Report ----------------------------------------------------------------------------------
  nlohmann::json report = {{"rig", options.rig},
                           {"poses", options.poses},
                           {"keypoints", options.keypoints},
                           {"frames_dir", dir},
                           {"skeleton", skeleton.name},
                           {"distortion", !options.no_distortion},
                           {"min_score", options.min_score},
                           {"first_frame", range_first},
                           {"num_frames", summary.num_frames},
                           {"format", options.format}};
  nlohmann::json cameras = nlohmann::json::array();
  for (int c = 0; c < rig.NumCameras(); ++c) {
    OverlayCameraStats stats;
    stats.name = rig.cameras[c].name;
    stats.num_pairs = static_cast<int64_t>(distances[c].size());
    stats.median_px = MedianOf(distances[c]);
    stats.mean_px = distances[c].empty()
                        ? std::nan("")
                        : std::accumulate(distances[c].begin(), distances[c].end(), 0.0) /
                              static_cast<double>(distances[c].size());
    const auto number = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nullptr; };
    cameras.push_back({{"name", stats.name},
                       {"num_pairs", stats.num_pairs},
                       {"median_px", number(stats.median_px)},
                       {"mean_px", number(stats.mean_px)}});
    if (with_keypoints) {
      out << "overlay: " << stats.name << ": median " << std::fixed << std::setprecision(2)
          << stats.median_px << " px, mean " << stats.mean_px << " px over " << stats.num_pairs
          << " joints (reprojected 3D vs 2D keypoints with score >= " << options.min_score << ")\n"
          << std::defaultfloat;
      summary.cameras.push_back(stats);
    }
  }
  if (with_keypoints) report["cameras"] = cameras;
  summary.report_path = (fs::path(options.out) / "overlay_report.json").string();
  WriteFileAtomic(summary.report_path, report.dump(2) + "\n");
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out << "overlay: wrote " << summary.num_frames << " frames to "
      << (options.format == "mp4" ? video_path : options.out) << " and " << summary.report_path
      << " in " << std::fixed << std::setprecision(1) << summary.seconds << " s\n"
      << std::defaultfloat;
  return summary;
}

void RegisterOverlay(CLI::App& app, Action& action) {
  auto o = std::make_shared<OverlayOptions>();
  CLI::App* cmd = app.add_subcommand(
      "overlay",
      "Draw reprojected 3D skeletons (and 2D keypoints) on every camera's frames, tiled");
  cmd->add_option("--rig", o->rig, "Calibration (any format `calib info` reads)")->required();
  cmd->add_option("--rig-format", o->rig_format, "Calibration format (default: detected)");
  cmd->add_option("--poses", o->poses, "3D poses file (.trc .csv .json .npy)")->required();
  cmd->add_option("--images", o->images, "Folder with one image subfolder per camera");
  cmd->add_option("--videos", o->videos, "Folder with one video per camera");
  cmd->add_option("--keypoints",
                  o->keypoints,
                  "2D keypoints: .npy [F,C,J,3] in rig camera order, or an OpenPose JSON tree");
  cmd->add_option("--skeleton", o->skeleton, "Skeleton (default: from the files)");
  cmd->add_option("--out", o->out, "Output folder")->required();
  cmd->add_option("--format", o->format, "png (one per frame) | mp4 (one video)");
  cmd->add_option("--frames", o->frames, "Source frames a:b (b exclusive; default all)");
  cmd->add_flag("--y-up", o->y_up, "TRC files are Y-up (Pose2Sim)");
  cmd->add_flag("--no-distortion", o->no_distortion, "Project with the pinhole part only");
  cmd->add_option("--min-score", o->min_score, "2D keypoints drawn and compared at or above");
  cmd->add_option("--scale", o->scale, "Resize each camera's tile by this factor (default 1)");
  cmd->add_option("--columns", o->columns, "Tiles per row (default: ceil(sqrt(cameras)))");
  cmd->add_flag("--quiet", o->quiet, "No progress lines");
  cmd->callback([&action, o]() { action = [o] { RunOverlay(*o, std::cout); }; });
}

}  // namespace rigpose::cli

// SPDX-License-Identifier: BSD-3-Clause
// rigpose view: options -> rig + pose tracks -> a snapshot PNG or the interactive player.
#include "cli/view.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>

#include <CLI/CLI.hpp>

#include "core/error.h"
#include "core/skeleton.h"
#include "data/calib_io.h"
#include "data/file_util.h"
#include "data/npy.h"
#include "data/poses_io.h"
#include "viewer/interactive.h"
#include "viewer/scene.h"
#include "viewer/snapshot.h"

namespace rigpose::cli {
namespace {

std::string Hex(const Eigen::Vector3f& colour) {
  std::ostringstream s;
  s << "#" << std::hex << std::setfill('0');
  for (int c = 0; c < 3; ++c) {
    s << std::setw(2) << static_cast<int>(std::lround(std::clamp(colour[c], 0.0f, 1.0f) * 255));
  }
  return s.str();
}

// The skeleton of a poses file: --skeleton, else the file's, else the only one with its joint
// count. InputError naming the file when none fits.
const Skeleton& TrackSkeleton(const Poses3D& poses,
                              const std::string& path,
                              const std::string& skeleton_option) {
  std::string name = skeleton_option;
  if (name.empty()) name = poses.skeleton;
  if (name.empty()) {
    const std::optional<std::string> guess = SkeletonFromJointCount(poses.num_joints());
    if (!guess) {
      throw InputError(path + ": no skeleton has exactly " + std::to_string(poses.num_joints()) +
                       " joints that could be told apart; pass --skeleton");
    }
    name = *guess;
  }
  const Skeleton* skeleton = FindSkeleton(name);
  if (skeleton == nullptr) {
    if (!skeleton_option.empty()) throw UsageError("--skeleton '" + name + "' is not known");
    throw InputError(path + ": unknown skeleton '" + name + "'");
  }
  if (skeleton->NumJoints() != poses.num_joints()) {
    throw InputError(path + ": " + std::to_string(poses.num_joints()) +
                     " joints per frame, but skeleton " + skeleton->name + " has " +
                     std::to_string(skeleton->NumJoints()) + " joints");
  }
  return *skeleton;
}

// Per-joint values of one track ([F][J], empty when none): a covariance array [F, J, 6] (m²) gives
// the 3D standard deviation sqrt(xx + yy + zz) in mm, an array [F, J] is taken as is.
std::vector<double> ReadJointValues(const std::string& path, const Poses3D& poses) {
  const NpyArray array = ReadNpy(path);
  const std::vector<int64_t>& shape = array.shape;
  const bool covariance = shape.size() == 3 && shape[2] == 6;
  if (!(covariance || shape.size() == 2) || shape[0] != poses.num_frames() ||
      shape[1] != poses.num_joints()) {
    std::string found;
    for (int64_t d : shape) found += (found.empty() ? "" : ", ") + std::to_string(d);
    throw InputError(path + ": per-joint values of shape [" + found + "], expected [" +
                     std::to_string(poses.num_frames()) + ", " +
                     std::to_string(poses.num_joints()) + "] or a covariance [" +
                     std::to_string(poses.num_frames()) + ", " +
                     std::to_string(poses.num_joints()) + ", 6]");
  }
  const std::vector<double> values = array.AsDoubles();
  if (!covariance) return values;
  std::vector<double> std_mm(values.size() / 6);
  for (size_t i = 0; i < std_mm.size(); ++i) {
    const double trace = values[6 * i] + values[6 * i + 3] + values[6 * i + 5];
    std_mm[i] = trace >= 0 ? 1e3 * std::sqrt(trace) : NAN;
  }
  return std_mm;
}

// The legend over every value of every track: 2nd to 98th percentile (outliers clamp).
std::optional<ColourLegend> GlobalLegend(const std::vector<PoseTrack>& tracks,
                                         const std::string& label) {
  std::vector<double> all;
  for (const PoseTrack& track : tracks) {
    for (double v : track.joint_values) {
      if (std::isfinite(v)) all.push_back(v);
    }
  }
  if (all.empty()) return std::nullopt;
  std::sort(all.begin(), all.end());
  const auto at = [&](double q) { return all[static_cast<size_t>(q * (all.size() - 1))]; };
  return ColourLegend{label, at(0.02), std::max(at(0.98), at(0.02) + 1e-9)};
}

}  // namespace

ViewSummary RunView(const ViewOptions& options, std::ostream& out) {
  const auto start = std::chrono::steady_clock::now();
  if (options.rig.empty()) throw UsageError("--rig is required");
  if (options.snapshot.empty() && options.view_given) {
    throw UsageError("--view needs --snapshot (the interactive window is moved with the mouse)");
  }
  if (options.width < 0 || options.height < 0) {
    throw UsageError("--width and --height must be >= 0");
  }
  if (options.frame < 0) throw UsageError("--frame must be >= 0");
  SnapshotView view;
  if (!options.snapshot.empty()) view = ParseSnapshotView(options.view);

  // ---- Rig ----------------------------------------------------------------------------------
  const Rig rig = ReadCliRig(options.rig, options.rig_format, out);
  if (view.kind == SnapshotViewKind::kCamera && !rig.FindCamera(view.camera_name)) {
    std::string names;
    for (const std::string& name : rig.CameraNames()) names += (names.empty() ? "" : ", ") + name;
    throw UsageError("--view camera:" + view.camera_name + ": no such camera in " + options.rig +
                     " (cameras: " + names + ")");
  }

  // ---- Poses ----------------------------------------------------------------------------------
  std::vector<PoseTrack> tracks;
  PosesReadOptions read_options;
  read_options.y_up = options.y_up;
  for (const std::string& path : options.poses) {
    PoseTrack track;
    track.poses = ReadPoses(path, read_options);
    track.skeleton = &TrackSkeleton(track.poses, path, options.skeleton);
    track.source = path;
    if (options.frame >= track.poses.num_frames()) {
      throw UsageError("--frame " + std::to_string(options.frame) + " is outside " + path +
                       " (frames 0.." + std::to_string(track.poses.num_frames() - 1) + ")");
    }
    tracks.push_back(std::move(track));
  }
  // ---- Per-joint values ------------------------------------------------------------------------
  std::string values_label;
  if (options.joint_values != "none") {
    for (size_t i = 0; i < tracks.size(); ++i) {
      std::string path;
      if (options.joint_values == "auto") {
        path = SidecarPath(tracks[i].source, ".cov.npy");
        std::error_code ec;
        if (!std::filesystem::is_regular_file(path, ec)) continue;
        values_label = "3D standard deviation (mm)";
      } else if (i == 0) {
        path = options.joint_values;
        values_label = std::filesystem::path(path).stem().string();
      } else {
        continue;
      }
      tracks[i].joint_values = ReadJointValues(path, tracks[i].poses);
      if (options.joint_values == "auto") {
        out << "view: joint colours from " << path << "\n";
      }
    }
  }
  const std::optional<ColourLegend> legend = GlobalLegend(tracks, values_label);
  if (legend) {
    out << "view: joints coloured by " << legend->label << ", viridis from " << std::setprecision(3)
        << legend->min_value << " (purple) to " << legend->max_value << " (yellow)\n";
  }
  if (options.trail_frames < 0) throw UsageError("--trail must be >= 0");

  if (tracks.empty() && options.frame > 0) {
    throw UsageError("--frame " + std::to_string(options.frame) + " needs --poses");
  }
  ViewSummary summary;
  summary.num_cameras = rig.NumCameras();
  summary.num_persons = static_cast<int>(tracks.size());
  for (const PoseTrack& track : tracks) {
    summary.num_frames = std::max(summary.num_frames, track.poses.num_frames());
  }
  out << "view: " << options.rig << ": " << rig.NumCameras() << " cameras (";
  for (int c = 0; c < rig.NumCameras(); ++c) {
    out << (c ? ", " : "") << rig.cameras[c].name << " " << Hex(CameraColour(c));
  }
  out << ")";
  for (size_t i = 0; i < tracks.size(); ++i) {
    out << (i ? ", " : "; persons: ") << tracks[i].source << " " << tracks[i].skeleton->name << " "
        << Hex(SkeletonColour(static_cast<int>(i)));
  }
  out << "\n";

  // ---- Snapshot -------------------------------------------------------------------------------
  if (!options.snapshot.empty()) {
    std::vector<SkeletonPose> poses;
    for (const PoseTrack& track : tracks) {
      poses.push_back(
          SkeletonPoseFromPoses(track.poses, options.frame, *track.skeleton, track.source));
      if (!track.joint_values.empty()) {
        const size_t J = static_cast<size_t>(track.poses.num_joints());
        poses.back().joint_values.assign(track.joint_values.begin() + options.frame * J,
                                         track.joint_values.begin() + (options.frame + 1) * J);
      }
    }
    Scene scene = BuildScene(rig, poses, SceneOptions(), legend);
    for (size_t i = 0; i < tracks.size() && options.trail_frames > 0; ++i) {
      AddTrajectoriesToScene(
          tracks[i].poses, options.frame, options.trail_frames, static_cast<int>(i), &scene);
    }
    const SnapshotImage image =
        RenderSnapshot(scene, options.view, options.width, options.height, options.snapshot);
    summary.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    out << "view: wrote " << options.snapshot << " (" << image.width << "x" << image.height << ", "
        << options.view << ", frame " << options.frame << ") in " << std::fixed
        << std::setprecision(2) << image.seconds << " s\n";
    return summary;
  }

  // ---- Interactive ----------------------------------------------------------------------------
  PlaybackOptions playback;
  playback.start_frame = options.frame;
  playback.frame_rate_hz = options.fps;
  if (options.width > 0) playback.width = options.width;
  if (options.height > 0) playback.height = options.height;
  playback.title = "rigpose view " + options.rig;
  playback.trail_frames = options.trail_frames;
  playback.legend = legend;
  out << "view: space play/pause, left/right step, up/down speed, Q close\n";
  const PlaybackSummary played = RunPlayback(rig, tracks, playback);
  summary.frames_shown = played.frames_shown;
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

void RegisterView(CLI::App& app, Action& action) {
  auto o = std::make_shared<ViewOptions>();
  CLI::App* cmd = app.add_subcommand(
      "view", "Show a rig and 3D skeletons (Open3D window, or --snapshot PNG headless)");
  cmd->add_option("--rig", o->rig, "Calibration (any format `calib info` reads)")->required();
  cmd->add_option("--rig-format", o->rig_format, "Calibration format (default: detected)");
  cmd->add_option("--poses", o->poses, "3D poses file (.trc .csv .json .npy), one per person")
      ->delimiter(',');
  cmd->add_option("--skeleton", o->skeleton, "Skeleton of the poses (default: from the files)");
  cmd->add_flag("--y-up", o->y_up, "TRC files are Y-up (Pose2Sim)");
  cmd->add_option("--frame", o->frame, "Frame to draw (snapshot) or to start from (0-based)");
  cmd->add_option("--snapshot", o->snapshot, "Write this PNG instead of opening a window");
  cmd->add_option_function<std::string>(
      "--view",
      [o](const std::string& v) {
        o->view = v;
        o->view_given = true;
      },
      "Snapshot view: camera:NAME | top | front | orbit (default orbit)");
  cmd->add_option("--width", o->width, "Image / window width (default: camera's or 1280)");
  cmd->add_option("--height", o->height, "Image / window height (default: camera's or 720)");
  cmd->add_option("--fps", o->fps, "Playback rate (default: the first file's, else 30)");
  cmd->add_option("--joint-values",
                  o->joint_values,
                  "Joint colours: auto (covariance sidecar OUT-stem.cov.npy: 3D std in mm) | none "
                  "| FILE.npy [frames, joints]");
  cmd->add_option("--trail", o->trail_frames, "Joint trajectories over the last N frames");
  cmd->callback([&action, o]() { action = [o] { RunView(*o, std::cout); }; });
}

}  // namespace rigpose::cli

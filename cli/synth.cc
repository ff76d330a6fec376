// SPDX-License-Identifier: BSD-3-Clause
// rigpose synth --out DIR: a synthetic calibrated capture with exact ground truth.
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include <CLI/CLI.hpp>

#include "cli/cli.h"
#include "cli/progress.h"
#include "core/error.h"
#include "data/synth/capture.h"

namespace rigpose::cli {

void RunSynth(const SynthCliOptions& cli, std::ostream& out, std::ostream& err) {
  std::optional<synth::SynthOptions> preset = synth::SynthPreset(cli.preset);
  if (!preset) throw UsageError("--preset '" + cli.preset + "' is not demo, bench or default");
  synth::SynthOptions o = *preset;
  if (!cli.config.empty()) o = synth::ReadSynthConfig(cli.config, o);
  if (cli.seed) o.seed = *cli.seed;
  if (cli.cameras) o.rig.num_cameras = *cli.cameras;
  if (cli.fisheye) o.rig.num_fisheye = *cli.fisheye;
  if (cli.layout) {
    const auto layout = synth::ParseRigLayout(*cli.layout);
    if (!layout) throw UsageError("--layout '" + *cli.layout + "' is not ring, dome or random");
    o.rig.layout = *layout;
  }
  if (cli.resolution) o.rig.resolution = *cli.resolution;
  if (cli.radius) o.rig.radius_m = *cli.radius;
  if (cli.height) o.rig.height_m = *cli.height;
  if (cli.no_distortion) o.rig.distortion = false;
  if (cli.frames) o.num_frames = *cli.frames;
  if (cli.fps) o.frame_rate_hz = *cli.fps;
  if (cli.subjects) o.num_subjects = *cli.subjects;
  if (cli.subjects_in_turn) o.subjects_in_turn = true;
  if (cli.motion) {
    std::string unknown;
    const auto motions = synth::ParseMotionList(*cli.motion, &unknown);
    if (!motions) {
      throw UsageError("--motion '" + unknown + "' is not walk, squat, arm_circles, jump or turn");
    }
    o.motions = *motions;
  }
  if (cli.bvh) o.bvh_path = *cli.bvh;
  if (cli.bvh_unit) o.bvh_unit_m = *cli.bvh_unit;
  if (cli.skeleton) o.skeleton = *cli.skeleton;
  if (cli.format) o.image_format = *cli.format;
  if (cli.blur) o.sensor.blur_sigma_px = *cli.blur;
  if (cli.noise) o.sensor.noise_sigma = *cli.noise;
  if (cli.jpeg_quality) o.sensor.jpeg_quality = *cli.jpeg_quality;
  if (cli.calib) {
    if (*cli.calib != "none" && *cli.calib != "chessboard" && *cli.calib != "charuco" &&
        *cli.calib != "both") {
      throw UsageError("--calib '" + *cli.calib + "' is not none, chessboard, charuco or both");
    }
    o.chessboard = *cli.calib == "chessboard" || *cli.calib == "both";
    o.charuco = *cli.calib == "charuco" || *cli.calib == "both";
  }
  if (cli.calib_frames) o.calib_frames = *cli.calib_frames;
  if (cli.chessboard_board) o.chessboard_board = ReadBoard(*cli.chessboard_board);
  if (cli.charuco_board) o.charuco_board = ReadBoard(*cli.charuco_board);
  if (cli.threads) o.num_threads = *cli.threads;
  o.force = cli.force;
  const auto problems = o.Problems();
  if (!problems.empty()) {
    throw UsageError(FormatProblems("synth options", problems));
  }

  const int64_t total =
      int64_t(o.rig.num_cameras) *
      (o.num_frames + (int64_t(o.chessboard) + int64_t(o.charuco)) * o.calib_frames);
  ProgressBar bar("synth", o.image_format == "none" ? 0 : total, !cli.quiet);
  const synth::SynthSummary s =
      synth::WriteSynthCapture(o, cli.out, [&bar](int64_t done, int64_t) { bar.Update(done); });
  bar.Finish();
  const int64_t joints = s.joints_visible + s.joints_occluded + s.joints_outside;
  const auto share = [joints](int64_t n) {
    std::ostringstream x;
    x << std::fixed << std::setprecision(1) << (joints > 0 ? 100.0 * n / joints : 0.0) << " %";
    return x.str();
  };
  out << "wrote " << s.out_dir << ": " << s.num_cameras << " cameras ("
      << synth::RigLayoutName(o.rig.layout) << "), " << s.num_frames << " frames at "
      << o.frame_rate_hz << " Hz, " << s.num_subjects << " subject(s), skeleton " << o.skeleton
      << ", seed " << o.seed << "\n";
  out << "2D ground truth: " << share(s.joints_visible) << " visible, " << share(s.joints_occluded)
      << " occluded, " << share(s.joints_outside) << " outside the image\n";
  if (s.calib_frames > 0) {
    out << "calibration: " << s.calib_frames << " board poses per board, "
        << s.board_corners_visible << " corner views\n";
  }
  if (s.images_written > 0) {
    out << "images: " << s.images_written << " (" << o.image_format << ") in " << std::fixed
        << std::setprecision(2) << s.render_seconds << " s = " << std::setprecision(1)
        << s.images_written / std::max(s.render_seconds, 1e-9) << " images/s; total "
        << std::setprecision(2) << s.total_seconds << " s\n";
  }
  (void)err;
}

void RegisterSynth(CLI::App& app, Action& action) {
  auto o = std::make_shared<SynthCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "synth",
      "Render a synthetic calibrated capture (rig, videos, board sequences) with exact ground "
      "truth");
  cmd->add_option("--out", o->out, "Output directory (written atomically)")->required();
  cmd->add_option("--preset", o->preset, "demo | bench | default");
  cmd->add_option("--config", o->config, "Options YAML (as written to OUT/synth.yaml)");
  cmd->add_option_function<uint64_t>(
      "--seed", [o](uint64_t v) { o->seed = v; }, "Random seed");
  cmd->add_option_function<int>(
      "--cameras", [o](int v) { o->cameras = v; }, "Cameras (2-64)");
  cmd->add_option_function<std::string>(
      "--layout", [o](const std::string& v) { o->layout = v; }, "ring | dome | random");
  cmd->add_option_function<std::string>(
      "--resolution",
      [o](const std::string& v) { o->resolution = v; },
      "720p | 1080p | mixed | WxH");
  cmd->add_option_function<double>(
      "--radius", [o](double v) { o->radius = v; }, "Camera distance from the volume axis (m)");
  cmd->add_option_function<double>(
      "--height", [o](double v) { o->height = v; }, "Camera height (m)");
  cmd->add_option_function<int>(
      "--fisheye", [o](int v) { o->fisheye = v; }, "How many cameras are fisheye");
  cmd->add_flag("--no-distortion", o->no_distortion, "Pinhole cameras");
  cmd->add_option_function<int>(
      "--frames", [o](int v) { o->frames = v; }, "Frames");
  cmd->add_option_function<double>(
      "--fps", [o](double v) { o->fps = v; }, "Frame rate (Hz)");
  cmd->add_option_function<int>(
      "--subjects", [o](int v) { o->subjects = v; }, "People in the volume (1-6)");
  cmd->add_flag("--subjects-in-turn",
                o->subjects_in_turn,
                "One subject at a time: subject s alone in frames [sF/n, (s+1)F/n)");
  cmd->add_option_function<std::string>(
      "--motion",
      [o](const std::string& v) { o->motion = v; },
      "Clips, comma separated: walk,squat,arm_circles,jump,turn");
  cmd->add_option_function<std::string>(
      "--bvh", [o](const std::string& v) { o->bvh = v; }, "BVH clip for the first subject");
  cmd->add_option_function<double>(
      "--bvh-unit", [o](double v) { o->bvh_unit = v; }, "Metres per BVH unit (default: auto)");
  cmd->add_option_function<std::string>(
      "--skeleton",
      [o](const std::string& v) { o->skeleton = v; },
      "Ground-truth joints: coco17 | body25b | body25 | halpe26");
  cmd->add_option_function<std::string>(
      "--format", [o](const std::string& v) { o->format = v; }, "png | jpg | mp4 | none");
  cmd->add_option_function<double>(
      "--blur", [o](double v) { o->blur = v; }, "Optical blur sigma (px)");
  cmd->add_option_function<double>(
      "--noise", [o](double v) { o->noise = v; }, "Sensor noise sigma (grey levels)");
  cmd->add_option_function<int>(
      "--jpeg-quality", [o](int v) { o->jpeg_quality = v; }, "JPEG re-compression (0: none)");
  cmd->add_option_function<std::string>(
      "--calib",
      [o](const std::string& v) { o->calib = v; },
      "Board sequences: none | chessboard | charuco | both");
  cmd->add_option_function<int>(
      "--calib-frames", [o](int v) { o->calib_frames = v; }, "Board poses per sequence");
  cmd->add_option_function<std::string>(
      "--chessboard-board",
      [o](const std::string& v) { o->chessboard_board = v; },
      "board.yaml of the chessboard");
  cmd->add_option_function<std::string>(
      "--charuco-board",
      [o](const std::string& v) { o->charuco_board = v; },
      "board.yaml of the ChArUco board");
  cmd->add_option_function<int>(
      "--threads", [o](int v) { o->threads = v; }, "Worker threads (0: all cores)");
  cmd->add_flag("--force", o->force, "Replace a non-empty output directory");
  cmd->add_flag("--quiet", o->quiet, "No progress bar");
  cmd->callback([&action, o]() { action = [o] { RunSynth(*o, std::cout, std::cerr); }; });
}

}  // namespace rigpose::cli

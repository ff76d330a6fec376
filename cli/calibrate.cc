// SPDX-License-Identifier: BSD-3-Clause
// rigpose calibrate --board BOARD.yaml (--images DIR | --videos DIR) --out RIG: board detection,
// intrinsics per camera (or given), multi-camera bundle adjustment, world frame, report.
#include <chrono>
#include <cmath>
#include <exception>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>

#include "calib/board_detection.h"
#include "calib/calibration_report.h"
#include "calib/intrinsics.h"
#include "calib/rig_calibration.h"
#include "cli/cli.h"
#include "cli/progress.h"
#include "core/error.h"
#include "data/board.h"
#include "data/calib_io.h"
#include "data/file_util.h"

namespace rigpose::cli {
namespace fs = std::filesystem;
namespace {

CameraModelId ModelOption(const std::string& name) {
  if (name == "opencv") return CameraModelId::kOpenCV;
  if (name == "pinhole") return CameraModelId::kPinhole;
  if (name == "fisheye") return CameraModelId::kOpenCVFisheye;
  throw UsageError("--model '" + name + "' is not opencv, pinhole or fisheye");
}

std::vector<std::string> SplitComma(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream s(text);
  std::string part;
  while (std::getline(s, part, ',')) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

// Intrinsics of every detected camera from a calibration file: matched by name, image size
// checked (a rotated or rescaled camera would silently be wrong).
std::vector<Camera> GivenIntrinsics(const CalibrateOptions& options,
                                    const std::vector<CameraDetections>& detections) {
  CalibReadOptions read;
  if (!options.intrinsics_format.empty()) {
    read.format = CalibFormatOption(options.intrinsics_format, "--intrinsics-format");
  }
  const Rig rig = ReadRig(options.intrinsics, read);
  std::vector<Camera> cameras;
  for (const CameraDetections& d : detections) {
    const std::optional<int> index = rig.MatchCamera(d.camera);
    if (!index) {
      throw InputError(options.intrinsics + ": no camera matches '" + d.camera + "' (cameras: " +
                       [&rig] {
                         std::string names;
                         for (const std::string& n : rig.CameraNames()) {
                           names += (names.empty() ? "" : ", ") + n;
                         }
                         return names;
                       }() +
                       ")");
    }
    Camera camera = rig.cameras[*index];
    if (camera.width != d.width || camera.height != d.height) {
      throw InputError(options.intrinsics + ": camera " + camera.name + " is " +
                       std::to_string(camera.width) + "x" + std::to_string(camera.height) +
                       ", its images in " + d.path + " are " + std::to_string(d.width) + "x" +
                       std::to_string(d.height));
    }
    camera.name = d.camera;
    camera.cam_from_world = Rigid3d();
    cameras.push_back(camera);
  }
  return cameras;
}

// Board corners from a CSV with the columns camera, frame, corner_id, x_px, y_px (any order, more
// columns ignored: a report's corners.csv, or another tool's detections). Image sizes come from
// --intrinsics (matched by camera name) or --image-size WxH.
std::vector<CameraDetections> ReadDetectionsCsv(const CalibrateOptions& options,
                                                const BoardSpec& board) {
  const std::string text = ReadFileToString(options.detections);
  std::istringstream lines(text);
  std::string line;
  std::getline(lines, line);
  auto split = [](const std::string& row) {
    std::vector<std::string> fields;
    std::stringstream s(row);
    std::string field;
    while (std::getline(s, field, ',')) {
      while (!field.empty() && (field.back() == '\r' || field.back() == ' ')) field.pop_back();
      fields.push_back(field);
    }
    return fields;
  };
  const std::vector<std::string> header = split(line);
  std::map<std::string, size_t> column;
  for (size_t i = 0; i < header.size(); ++i) column[header[i]] = i;
  for (const char* name : {"camera", "frame", "corner_id", "x_px", "y_px"}) {
    if (!column.count(name)) {
      throw IoError(options.detections + ":1: missing column '" + name +
                    "' (expected camera,frame,corner_id,x_px,y_px)");
    }
  }
  const int num_corners = board.NumCorners();
  std::map<std::string, std::map<int, BoardObservation>> cameras;
  int line_number = 1;
  while (std::getline(lines, line)) {
    ++line_number;
    if (line.empty()) continue;
    const std::vector<std::string> f = split(line);
    auto cell = [&](const char* name) -> const std::string& {
      const size_t i = column.at(name);
      if (i >= f.size()) {
        throw IoError(options.detections + ":" + std::to_string(line_number) + ": no '" + name +
                      "' value");
      }
      return f[i];
    };
    try {
      const int frame = std::stoi(cell("frame"));
      const int id = std::stoi(cell("corner_id"));
      const Eigen::Vector2d xy(std::stod(cell("x_px")), std::stod(cell("y_px")));
      if (id < 0 || id >= num_corners || !xy.allFinite()) {
        throw IoError(options.detections + ":" + std::to_string(line_number) + ": corner " +
                      std::to_string(id) + " at (" + cell("x_px") + ", " + cell("y_px") +
                      ") is not a corner of the board (" + std::to_string(num_corners) +
                      " corners) or not finite");
      }
      BoardObservation& obs = cameras[cell("camera")][frame];
      obs.frame = frame;
      obs.source = options.detections;
      obs.corner_ids.push_back(id);
      obs.img_points.push_back(xy);
    } catch (const std::logic_error&) {  // stoi / stod
      throw IoError(options.detections + ":" + std::to_string(line_number) +
                    ": expected numbers in frame, corner_id, x_px, y_px");
    }
  }
  if (cameras.empty()) throw IoError(options.detections + ": no corner rows");
  std::optional<Rig> sizes;
  if (!options.intrinsics.empty()) sizes = ReadRig(options.intrinsics);
  int width = 0, height = 0;
  if (!options.image_size.empty()) {
    char x = 0;
    std::istringstream parse(options.image_size);
    if (!(parse >> width >> x >> height) || x != 'x' || width <= 0 || height <= 0) {
      throw UsageError("--image-size '" + options.image_size + "' is not WxH");
    }
  }
  std::vector<CameraDetections> detections;
  for (auto& [name, frames] : cameras) {
    CameraDetections d;
    d.camera = name;
    d.path = options.detections;
    d.width = width;
    d.height = height;
    if (sizes) {
      if (const std::optional<int> index = sizes->MatchCamera(name)) {
        d.width = sizes->cameras[*index].width;
        d.height = sizes->cameras[*index].height;
      }
    }
    if (d.width <= 0) {
      throw UsageError(options.detections + ": camera " + name +
                       ": image size unknown (give --image-size WxH or --intrinsics)");
    }
    for (auto& [frame, obs] : frames) {
      // Ids increasing, as the detector gives them.
      std::vector<size_t> order(obs.corner_ids.size());
      std::iota(order.begin(), order.end(), 0);
      std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return obs.corner_ids[a] < obs.corner_ids[b];
      });
      BoardObservation sorted;
      sorted.frame = frame;
      sorted.source = obs.source;
      for (size_t k : order) {
        sorted.corner_ids.push_back(obs.corner_ids[k]);
        sorted.img_points.push_back(obs.img_points[k]);
      }
      d.observations.push_back(std::move(sorted));
    }
    d.num_images = static_cast<int>(d.observations.size());
    detections.push_back(std::move(d));
  }
  return detections;
}

}  // namespace

CalibrateSummary RunCalibrate(const CalibrateOptions& options,
                              std::ostream& out,
                              std::ostream& err) {
  const auto start = std::chrono::steady_clock::now();
  if (int(!options.images.empty()) + int(!options.videos.empty()) +
          int(!options.detections.empty()) !=
      1) {
    throw UsageError("give exactly one of --images DIR, --videos DIR and --detections CSV");
  }
  if (options.out.empty()) throw UsageError("--out is required");
  const CalibFormat out_format = OutputCalibFormat(options.out, options.out_format, "--out-format");
  std::optional<CalibFormat> export_format;
  if (!options.export_path.empty()) {
    export_format =
        OutputCalibFormat(options.export_path, options.export_format, "--export-format");
  }
  IntrinsicsOptions intrinsics_options;
  intrinsics_options.model = ModelOption(options.model);
  if (options.fix != "none") intrinsics_options.fixed_params = SplitComma(options.fix);
  intrinsics_options.num_threads = options.threads;
  RigCalibrationOptions rig_options;
  rig_options.num_threads = options.threads;
  std::string world_frame = "camera (first)";
  if (options.world.rfind("camera:", 0) == 0) {
    rig_options.world_camera = options.world.substr(7);
    world_frame = "camera " + rig_options.world_camera;
  } else if (options.world.rfind("board:", 0) == 0) {
    try {
      rig_options.world_board_frame = std::stoi(options.world.substr(6));
    } catch (const std::exception&) {
      throw UsageError("--world '" + options.world + "': board:FRAME needs a frame number");
    }
    world_frame = "board of frame " + std::to_string(rig_options.world_board_frame) + " (Z up)";
  } else if (options.world != "first") {
    throw UsageError("--world '" + options.world + "' is not first, camera:NAME or board:FRAME");
  }
  if (options.refine_intrinsics != "auto" && options.refine_intrinsics != "yes" &&
      options.refine_intrinsics != "no") {
    throw UsageError("--refine-intrinsics '" + options.refine_intrinsics +
                     "' is not auto, yes or no");
  }
  if (!(std::isfinite(options.board_flex_mm) && options.board_flex_mm >= 0.0)) {
    throw UsageError("--board-flex-mm must be a number >= 0 (mm)");
  }
  if (!(std::isfinite(options.loss_px) && options.loss_px >= 0.0)) {
    throw UsageError("--loss-px must be a number >= 0 (px; 0: least squares)");
  }
  if (options.outlier_rounds < 0) {
    throw UsageError("--outlier-rounds " + std::to_string(options.outlier_rounds) +
                     " must be >= 0");
  }
  rig_options.board_flex_m = options.board_flex_mm / 1000.0;
  rig_options.loss_scale_px = options.loss_px;
  rig_options.max_outlier_rounds = options.outlier_rounds;
  std::vector<std::string> problems = intrinsics_options.Check();
  for (const std::string& p : rig_options.Check()) problems.push_back(p);
  BoardDetectionOptions detection_options;
  detection_options.frame_stride = options.frame_stride;
  detection_options.max_frames = options.max_frames;
  detection_options.num_threads = options.threads;
  for (const std::string& p : detection_options.Problems()) problems.push_back(p);
  if (!problems.empty()) throw UsageError(FormatProblems("calibrate options", problems));
  const std::string report_dir = options.report.empty()
                                     ? (fs::path(options.out).parent_path() /
                                        (fs::path(options.out).stem().string() + "_report"))
                                           .string()
                                     : options.report;
  std::error_code ec;
  if (fs::exists(report_dir, ec) && !fs::is_empty(report_dir, ec)) {
    throw IoError(report_dir + ": the report folder exists and is not empty (give --report)");
  }

  // ---- Detection ---------------------------------------------------------------------------
  const BoardSpec board = ReadBoard(options.board);
  const bool videos = !options.videos.empty();
  const std::string dir = !options.detections.empty() ? options.detections
                          : videos                    ? options.videos
                                                      : options.images;
  std::vector<CameraDetections> detections;
  if (!options.detections.empty()) {
    detections = ReadDetectionsCsv(options, board);
  } else {
    ProgressBar bar("detect", 0, !options.quiet);
    detection_options.progress = [&](int64_t done, int64_t total) {
      (void)total;
      bar.Update(done);
    };
    detections = DetectBoardsInDir(board, dir, videos, detection_options);
    bar.Finish();
  }
  CalibrateSummary summary;
  for (const CameraDetections& d : detections) {
    summary.images += d.num_images;
    summary.boards += static_cast<int64_t>(d.observations.size());
  }
  for (const CameraDetections& d : detections) {
    if (d.observations.empty()) {
      throw InputError("camera " + d.camera + ": " + DiagnoseNoDetections(board, d));
    }
  }
  if (detections.size() < 2 && !options.allow_single_camera) {
    throw InputError(dir + ": one camera (" + detections.front().camera +
                     ") found; a rig needs at least 2 (one subfolder or video per camera)");
  }

  // ---- Intrinsics ----------------------------------------------------------------------------
  std::vector<Camera> intrinsics;
  CalibrationReportInput report;
  if (!options.intrinsics.empty()) {
    intrinsics = GivenIntrinsics(options, detections);
    report.intrinsics_source = options.intrinsics;
  } else {
    int failed = -1;
    try {
      report.intrinsics =
          CalibrateIntrinsicsOfCameras(board, detections, intrinsics_options, &failed);
    } catch (const InputError& e) {
      // Few or inconsistent views are often a board.yaml that does not describe the print.
      throw InputError(std::string(e.what()) +
                       "\n  board check: " + DiagnoseNoDetections(board, detections.at(failed)));
    }
    for (const IntrinsicsResult& result : report.intrinsics) intrinsics.push_back(result.camera);
    report.intrinsics_source = "estimated from the board views";
  }
  // Intrinsics estimated here are refined with the extrinsics; given ones are kept.
  rig_options.refine_intrinsics =
      options.refine_intrinsics == "yes" ||
      (options.refine_intrinsics == "auto" && options.intrinsics.empty());

  // ---- Extrinsics + bundle adjustment --------------------------------------------------------
  report.rig = CalibrateRig(board, intrinsics, detections, rig_options);
  report.board = board;
  report.detections = std::move(detections);
  report.world_frame = world_frame;

  // ---- Outputs: report folder, then the rig (its presence means success) --------------------
  WriteCalibrationReport(report_dir, report);
  std::vector<std::string> warnings;
  CalibWriteOptions write;
  write.format = out_format;
  WriteRig(report.rig.rig, options.out, write, &warnings);
  if (export_format) {
    CalibWriteOptions export_options;
    export_options.format = *export_format;
    export_options.force = true;  // the export is a convenience copy: drop what it cannot hold
    WriteRig(report.rig.rig, options.export_path, export_options, &warnings);
  }
  for (const std::string& warning : warnings) err << "warning: " << warning << "\n";

  summary.rms_px = report.rig.rms_px;
  summary.report_dir = report_dir;
  summary.rig = report.rig.rig;
  for (const CalibratedCameraStats& s : report.rig.cameras)
    summary.camera_rms_px.push_back(s.rms_px);
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out << "calibrated " << report.rig.rig.NumCameras() << " cameras from " << summary.boards
      << " board views in " << summary.images << (videos ? " frames" : " images") << " ("
      << std::fixed << std::setprecision(1) << summary.seconds << " s); intrinsics "
      << report.intrinsics_source << "\n";
  out << FormatCalibrationTable(report);
  out << "wrote " << options.out << (export_format ? " and " + options.export_path : "")
      << "; report in " << report_dir << "\n";
  return summary;
}

void RegisterCalibrate(CLI::App& app, Action& action) {
  auto o = std::make_shared<CalibrateOptions>();
  CLI::App* cmd = app.add_subcommand(
      "calibrate",
      "Calibrate a camera rig from chessboard / ChArUco images or videos (intrinsics, bundle "
      "adjustment, world frame, report)");
  cmd->add_option("--board", o->board, "Board YAML (docs/FORMATS.md)")->required();
  cmd->add_option("--images", o->images, "Folder with one subfolder of images per camera");
  cmd->add_option("--videos", o->videos, "Folder with one synchronised video per camera");
  cmd->add_option("--detections",
                  o->detections,
                  "Board corners instead of images: CSV camera,frame,corner_id,x_px,y_px (e.g. "
                  "a report's corners.csv)");
  cmd->add_option("--image-size", o->image_size, "With --detections: WxH of every camera");
  cmd->add_option("--out", o->out, "Calibration to write (.yaml rigpose, .toml anipose)")
      ->required();
  cmd->add_option("--out-format", o->out_format, "Format of --out (default: from the extension)");
  cmd->add_option("--export", o->export_path, "Also write the calibration in another format");
  cmd->add_option("--export-format", o->export_format, "anipose | pose2sim | freemocap | ...");
  cmd->add_option("--intrinsics",
                  o->intrinsics,
                  "Fix the intrinsics from this calibration (any format, Caliscope included)");
  cmd->add_option("--intrinsics-format", o->intrinsics_format, "Format of --intrinsics");
  cmd->add_option("--model", o->model, "Camera model: opencv | pinhole | fisheye");
  cmd->add_option("--fix",
                  o->fix,
                  "Intrinsic parameters held fixed (default k3: a sixth-order term is rarely "
                  "determined by a calibration's views; none: all free), e.g. p1,p2,k3");
  cmd->add_option("--refine-intrinsics",
                  o->refine_intrinsics,
                  "auto (when estimated here) | yes | no: in the bundle adjustment");
  cmd->add_option("--world", o->world, "first | camera:NAME | board:FRAME (board on the floor)");
  cmd->add_option("--board-flex-mm",
                  o->board_flex_mm,
                  "Final solve with every corner a free point held to the rigid board with this "
                  "std (mm; 0: rigid board). For paper boards that bend while waved");
  cmd->add_option(
      "--loss-px",
      o->loss_px,
      "Bundle adjustment: Huber scale on each corner's residual (px; 0: least squares)");
  cmd->add_option("--outlier-rounds",
                  o->outlier_rounds,
                  "Bundle adjustment: rounds dropping outlier board views, then solving again");
  cmd->add_option("--frame-stride", o->frame_stride, "Videos: use every N-th frame");
  cmd->add_option("--max-frames", o->max_frames, "Videos: at most N frames (0: all)");
  cmd->add_option("--report", o->report, "Report folder (default: OUT-stem_report)");
  cmd->add_option("--threads", o->threads, "Worker threads (0: all cores)");
  cmd->add_flag("--quiet", o->quiet, "No progress bar");
  cmd->callback([&action, o]() { action = [o] { RunCalibrate(*o, std::cout, std::cerr); }; });
}

}  // namespace rigpose::cli

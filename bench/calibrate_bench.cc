// SPDX-License-Identifier: BSD-3-Clause
// Multi-camera calibration speed and accuracy on shared synthetic board detections, the C++ half
// of bench/calibrate_vs_peers.sh (which runs aniposelib's calibration on the same files, evaluates
// every calibration the same way and prints the ratios).
//
//   calibrate_bench export --out DIR [--cameras 16] [--frames 500] [--noise 0.3] [--seed 1]
//       A ring of synthetic cameras (synth::MakeSynthRig: 720p, OPENCV model with k1, k2, p1, p2)
//       and a 9 x 6 inner-corner chessboard (8 cm squares) along synth::BoardTrajectory. A camera
//       sees a board when its printed face is towards the camera and every corner projects inside
//       the image (so each board is seen by a few neighbouring cameras only); detections are the
//       projected corners + N(0, noise) px per axis. Writes board.yaml, rig_true.yaml (rigpose),
//       rig_true.toml (anipose, translations in mm; the rig the corners were projected with, as
//       read back from that file), detections/<camera>.npy <f8 [N, 4]> (frame, corner id, x, y;
//       by frame, then id; corner ids index BoardCornersInBoard) and meta.json.
//   calibrate_bench run --data DIR --json OUT [--repeats 3] [--threads 0]
//       Times CalibrateRig on those detections, the median of --repeats runs:
//         fixed: the true intrinsics held fixed (extrinsics-only bundle adjustment);
//         full:  CalibrateIntrinsics per camera (defaults, as `rigpose calibrate`), then
//                CalibrateRig refining the intrinsics: the whole pipeline minus image detection.
//       Reports wall seconds (split by phase) and process CPU seconds, its own RMS (px, board-pose
//       residuals), camera centre error (mm) and rotation error (deg) against the truth after
//       mapping both rigs into their first camera's frame (max and mean over cameras), the worst
//       focal error (%). Writes the calibrated rigs as DIR/rig_rigpose_fixed.toml and
//       rig_rigpose_full.toml (anipose, mm) for the common evaluation in
//       bench/calibrate_vs_peers.py.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>

#include "calib/intrinsics.h"
#include "calib/rig_calibration.h"
#include "data/board.h"
#include "data/calib_io.h"
#include "data/npy.h"
#include "data/synth/capture.h"
#include "data/synth/synth_rig.h"

namespace {

using rigpose::BoardObservation;
using rigpose::BoardSpec;
using rigpose::Camera;
using rigpose::CameraDetections;
using rigpose::Rig;
using rigpose::Rigid3d;

constexpr double kPi = 3.14159265358979323846;

std::string Path(const std::string& dir, const std::string& name) { return dir + "/" + name; }

BoardSpec BenchBoard() {
  BoardSpec board;
  board.type = rigpose::BoardType::kChessboard;
  board.cols = 9;  // inner corners
  board.rows = 6;
  board.square_size_m = 0.08;
  return board;
}

void WriteAniposeRig(const Rig& rig, const std::string& path) {
  rigpose::CalibWriteOptions options;
  options.format = rigpose::CalibFormat::kAnipose;
  options.unit = rigpose::LengthUnit::kMillimetre;  // board units, as anipose users have them
  rigpose::WriteRig(rig, path, options);
}

Rig ReadAniposeRig(const std::string& path) {
  rigpose::CalibReadOptions options;
  options.format = rigpose::CalibFormat::kAnipose;
  return rigpose::ReadRig(path, options);
}

std::string JsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.9g", v);
  return buffer;
}

std::string JsonEscape(const std::string& s) {
  std::string out;
  for (const char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out;
}

// ---- export ----------------------------------------------------------------------------------

struct ExportOptions {
  int cameras = 16;
  int frames = 500;
  double noise_px = 0.3;
  uint64_t seed = 1;
};

int Export(const std::string& dir, const ExportOptions& options) {
  std::filesystem::create_directories(Path(dir, "detections"));
  rigpose::synth::SynthRigOptions rig_options;
  rig_options.layout = rigpose::synth::RigLayout::kRing;
  rig_options.num_cameras = options.cameras;
  rig_options.seed = options.seed;
  const Rig made = rigpose::synth::MakeSynthRig(rig_options);
  // Project with the rig exactly as aniposelib will read it.
  WriteAniposeRig(made, Path(dir, "rig_true.toml"));
  Rig rig = ReadAniposeRig(Path(dir, "rig_true.toml"));
  rig.source_format.clear();
  rig.source_path.clear();
  rigpose::CalibWriteOptions yaml;
  yaml.format = rigpose::CalibFormat::kRigpose;
  rigpose::WriteRig(rig, Path(dir, "rig_true.yaml"), yaml);

  const BoardSpec board = BenchBoard();
  rigpose::WriteBoard(board, Path(dir, "board.yaml"));
  const std::vector<Rigid3d> world_from_board =
      rigpose::synth::BoardTrajectory(rig, board, options.frames, rig_options, options.seed + 1);
  const std::vector<Eigen::Vector3d> corners = rigpose::BoardCornersInBoard(board);
  std::mt19937_64 rng(options.seed + 2);
  std::normal_distribution<double> noise(0.0, std::max(options.noise_px, 1e-300));
  std::vector<int> cameras_per_frame(options.frames, 0);
  std::vector<int64_t> views_per_camera;
  int64_t views = 0;
  for (const Camera& camera : rig.cameras) {
    std::vector<double> rows;  // frame, id, x, y
    int64_t camera_views = 0;
    for (int f = 0; f < options.frames; ++f) {
      const Rigid3d cam_from_board = camera.cam_from_world * world_from_board[f];
      // The printed face (board z < 0 side) must face the camera.
      if (cam_from_board.Inverse().translation.z() >= 0.0) continue;
      std::vector<Eigen::Vector2d> img_points;
      for (const Eigen::Vector3d& corner : corners) {
        const auto img = camera.ImgFromCam(cam_from_board * corner);
        if (!img || !camera.IsInImage(*img)) break;
        img_points.push_back(*img);
      }
      if (img_points.size() != corners.size()) continue;
      for (size_t k = 0; k < img_points.size(); ++k) {
        Eigen::Vector2d p = img_points[k];
        if (options.noise_px > 0) p += Eigen::Vector2d(noise(rng), noise(rng));
        rows.insert(rows.end(), {double(f), double(k), p.x(), p.y()});
      }
      ++camera_views;
      ++cameras_per_frame[f];
    }
    rigpose::NpyArray array;
    array.dtype = "<f8";
    array.shape = {static_cast<int64_t>(rows.size() / 4), 4};
    array.bytes.resize(rows.size() * sizeof(double));
    std::copy_n(reinterpret_cast<const char*>(rows.data()), array.bytes.size(), array.bytes.data());
    rigpose::WriteNpy(Path(dir, "detections/" + camera.name + ".npy"), array);
    views_per_camera.push_back(camera_views);
    views += camera_views;
  }
  int frames_seen = 0, frames_shared = 0;
  for (const int n : cameras_per_frame) {
    frames_seen += n > 0;
    frames_shared += n > 1;
  }
  const int max_cameras = *std::max_element(cameras_per_frame.begin(), cameras_per_frame.end());

  std::ofstream meta(Path(dir, "meta.json"));
  meta << "{\"cameras\": [";
  for (size_t c = 0; c < rig.cameras.size(); ++c) {
    meta << (c ? ", " : "") << "\"" << JsonEscape(rig.cameras[c].name) << "\"";
  }
  meta << "], \"views_per_camera\": [";
  for (size_t c = 0; c < views_per_camera.size(); ++c) {
    meta << (c ? ", " : "") << views_per_camera[c];
  }
  meta << "], \"frames\": " << options.frames << ", \"frames_seen\": " << frames_seen
       << ", \"frames_seen_by_2\": " << frames_shared
       << ", \"max_cameras_per_frame\": " << max_cameras << ", \"views\": " << views
       << ", \"corners_per_view\": " << corners.size()
       << ", \"noise_px\": " << JsonNumber(options.noise_px) << ", \"seed\": " << options.seed
       << ", \"board\": {\"type\": \"chessboard\", \"inner_cols\": " << board.cols
       << ", \"inner_rows\": " << board.rows
       << ", \"square_m\": " << JsonNumber(board.square_size_m)
       << "}, \"toml_unit\": \"mm\", \"resolution\": \"" << rig_options.resolution << "\"}\n";
  if (!meta) throw std::runtime_error("cannot write " + Path(dir, "meta.json"));
  std::printf(
      "export: %d cameras, %d frames (%d seen, %d by >= 2 cameras, at most %d cameras), %lld "
      "board views x %zu corners, noise %.2f px -> %s\n",
      options.cameras,
      options.frames,
      frames_seen,
      frames_shared,
      max_cameras,
      static_cast<long long>(views),
      corners.size(),
      options.noise_px,
      dir.c_str());
  return 0;
}

// ---- run -------------------------------------------------------------------------------------

std::vector<CameraDetections> ReadDetections(const std::string& dir, const Rig& truth) {
  std::vector<CameraDetections> detections;
  for (const Camera& camera : truth.cameras) {
    const std::string path = Path(dir, "detections/" + camera.name + ".npy");
    const rigpose::NpyArray array = rigpose::ReadNpy(path);
    if (array.shape.size() != 2 || array.shape[1] != 4) {
      throw std::runtime_error(path + ": expected [N, 4] (frame, corner id, x, y)");
    }
    const std::vector<double> rows = array.AsDoubles();
    CameraDetections d;
    d.camera = camera.name;
    d.path = path;
    d.width = camera.width;
    d.height = camera.height;
    for (size_t i = 0; i < rows.size(); i += 4) {
      const int frame = static_cast<int>(rows[i]);
      if (d.observations.empty() || d.observations.back().frame != frame) {
        d.observations.emplace_back();
        d.observations.back().frame = frame;
        d.observations.back().source = "synthetic#" + std::to_string(frame);
      }
      d.observations.back().corner_ids.push_back(static_cast<int>(rows[i + 1]));
      d.observations.back().img_points.emplace_back(rows[i + 2], rows[i + 3]);
    }
    d.num_images = static_cast<int>(d.observations.size());
    detections.push_back(std::move(d));
  }
  return detections;
}

struct PoseErrors {
  double center_max_mm = 0, center_mean_mm = 0, rot_max_deg = 0, rot_mean_deg = 0;
};

// Camera centres and rotations of `estimate` against `truth`, both mapped into the frame of their
// first camera (the gauge every calibration here fixes).
PoseErrors CompareInFirstCamera(const Rig& truth, const Rig& estimate) {
  PoseErrors e;
  const Rigid3d truth_world_from_cam0 = truth.cameras[0].cam_from_world.Inverse();
  const Rigid3d estimate_world_from_cam0 = estimate.cameras[0].cam_from_world.Inverse();
  const size_t n = truth.cameras.size();
  for (size_t c = 1; c < n; ++c) {
    const Rigid3d a = truth.cameras[c].cam_from_world * truth_world_from_cam0;
    const Rigid3d b = estimate.cameras[c].cam_from_world * estimate_world_from_cam0;
    const double center_mm = 1e3 * (a.Inverse().translation - b.Inverse().translation).norm();
    const double rot_deg = a.rotation.angularDistance(b.rotation) * 180.0 / kPi;
    e.center_max_mm = std::max(e.center_max_mm, center_mm);
    e.rot_max_deg = std::max(e.rot_max_deg, rot_deg);
    e.center_mean_mm += center_mm / double(n - 1);
    e.rot_mean_deg += rot_deg / double(n - 1);
  }
  return e;
}

double WorstFocalErrorPercent(const Rig& truth, const Rig& estimate) {
  double worst = 0;
  for (size_t c = 0; c < truth.cameras.size(); ++c) {
    for (int k = 0; k < 2; ++k) {
      worst = std::max(
          worst, 100.0 * std::abs(estimate.cameras[c].params[k] / truth.cameras[c].params[k] - 1));
    }
  }
  return worst;
}

struct Row {
  std::string method;
  int cameras = 0;
  int frames = 0;          // board poses solved
  int views = 0;           // board views used in the final solve
  int64_t corners = 0;     // corner residuals
  double seconds = 0;      // median of the repeats
  double seconds_min = 0;  // fastest repeat
  double cpu_seconds = 0;  // process CPU time (all threads) of the median run
  double seconds_intrinsics = 0;
  // Summed over the cameras' CalibrateIntrinsics: view selection, OpenCV initialisation, Ceres
  // refinement + covariance.
  double seconds_intr_selection = 0;
  double seconds_intr_opencv = 0;
  double seconds_intr_ceres = 0;
  int intr_opencv_runs = 0;  // cv::calibrateCamera calls, summed over the cameras
  int intr_solves = 0;       // Ceres solves (covariance solve not counted)
  double seconds_board_poses = 0;
  double seconds_initialisation = 0;
  double seconds_solve = 0;
  double rms_px = 0;  // the method's own (board-pose residuals of the final solve)
  PoseErrors pose;
  double focal_error_pct = NAN;
  int iterations = 0;
  int solves = 0;
  std::string termination;
  std::string rig_path;
};

void PrintRow(const Row& r) {
  std::printf(
      "%-34s %3d %5d %6d %8.3f %8.3f %8.3f %8.3f %8.3f %8.3f %7.4f %8.3f %8.4f %7s  %s\n",
      r.method.c_str(),
      r.cameras,
      r.frames,
      r.views,
      r.seconds,
      r.cpu_seconds,
      r.seconds_intrinsics,
      r.seconds_board_poses,
      r.seconds_initialisation,
      r.seconds_solve,
      r.rms_px,
      r.pose.center_max_mm,
      r.pose.rot_max_deg,
      std::isfinite(r.focal_error_pct) ? JsonNumber(r.focal_error_pct).substr(0, 7).c_str() : "-",
      r.termination.c_str());
  std::fflush(stdout);
}

void WriteJson(const std::string& path,
               const std::vector<Row>& rows,
               int cores,
               int repeats,
               int64_t input_views) {
  std::ofstream out(path);
  out << "{\n  \"tool\": \"calibrate_bench\",\n  \"cores\": " << cores
      << ",\n  \"repeats\": " << repeats << ",\n  \"input_views\": " << input_views
      << ",\n  \"rows\": [\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    out << "    {\"method\": \"" << JsonEscape(r.method) << "\", \"cameras\": " << r.cameras
        << ", \"frames\": " << r.frames << ", \"views\": " << r.views
        << ", \"corners\": " << r.corners << ", \"seconds\": " << JsonNumber(r.seconds)
        << ", \"seconds_min\": " << JsonNumber(r.seconds_min)
        << ", \"cpu_seconds\": " << JsonNumber(r.cpu_seconds)
        << ", \"seconds_intrinsics\": " << JsonNumber(r.seconds_intrinsics)
        << ", \"seconds_intr_selection\": " << JsonNumber(r.seconds_intr_selection)
        << ", \"seconds_intr_opencv\": " << JsonNumber(r.seconds_intr_opencv)
        << ", \"seconds_intr_ceres\": " << JsonNumber(r.seconds_intr_ceres)
        << ", \"intr_opencv_runs\": " << r.intr_opencv_runs
        << ", \"intr_solves\": " << r.intr_solves
        << ", \"seconds_board_poses\": " << JsonNumber(r.seconds_board_poses)
        << ", \"seconds_initialisation\": " << JsonNumber(r.seconds_initialisation)
        << ", \"seconds_solve\": " << JsonNumber(r.seconds_solve)
        << ", \"own_rms_px\": " << JsonNumber(r.rms_px)
        << ", \"center_max_mm\": " << JsonNumber(r.pose.center_max_mm)
        << ", \"center_mean_mm\": " << JsonNumber(r.pose.center_mean_mm)
        << ", \"rot_max_deg\": " << JsonNumber(r.pose.rot_max_deg)
        << ", \"rot_mean_deg\": " << JsonNumber(r.pose.rot_mean_deg)
        << ", \"focal_error_pct\": " << JsonNumber(r.focal_error_pct)
        << ", \"iterations\": " << r.iterations << ", \"solves\": " << r.solves
        << ", \"termination\": \"" << JsonEscape(r.termination) << "\", \"rig\": \""
        << JsonEscape(r.rig_path) << "\"}" << (i + 1 < rows.size() ? "," : "") << "\n";
  }
  out << "  ]\n}\n";
  if (!out) throw std::runtime_error("cannot write " + path);
}

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// User + system CPU time of this process, every thread (s): less sensitive than wall time to
// other jobs on a shared machine.
double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_utime.tv_sec) + 1e-6 * double(usage.ru_utime.tv_usec) +
         double(usage.ru_stime.tv_sec) + 1e-6 * double(usage.ru_stime.tv_usec);
}

struct Timed {
  rigpose::RigCalibrationResult result;
  double seconds = 0;
  double cpu_seconds = 0;
  double seconds_intrinsics = 0;
  rigpose::IntrinsicsSummary intrinsics;  // seconds_* summed over the cameras
};

// Runs fn `repeats` times; returns the run whose total time is the median (the last result of
// equal times) and the fastest total.
template <typename Fn>
Timed MedianOf(int repeats, Fn fn, double* fastest) {
  std::vector<Timed> runs;
  for (int i = 0; i < repeats; ++i) runs.push_back(fn());
  std::sort(runs.begin(), runs.end(), [](const Timed& a, const Timed& b) {
    return a.seconds < b.seconds;
  });
  *fastest = runs.front().seconds;
  return runs[runs.size() / 2];
}

Row MakeRow(const std::string& method,
            const Timed& timed,
            double fastest,
            const Rig& truth,
            bool intrinsics_refined,
            const std::string& rig_path) {
  const rigpose::RigCalibrationResult& r = timed.result;
  Row row;
  row.method = method;
  row.cameras = r.rig.NumCameras();
  row.frames = r.summary.num_frames;
  for (const rigpose::CalibratedCameraStats& s : r.cameras) row.views += s.num_views;
  row.corners = r.summary.num_residuals;
  row.seconds = timed.seconds;
  row.seconds_min = fastest;
  row.cpu_seconds = timed.cpu_seconds;
  row.seconds_intrinsics = timed.seconds_intrinsics;
  row.seconds_intr_selection = timed.intrinsics.seconds_selection;
  row.seconds_intr_opencv = timed.intrinsics.seconds_opencv;
  row.seconds_intr_ceres = timed.intrinsics.seconds_ceres;
  row.intr_opencv_runs = timed.intrinsics.num_opencv_runs;
  row.intr_solves = timed.intrinsics.num_solves;
  row.seconds_board_poses = r.summary.seconds_board_poses;
  row.seconds_initialisation = r.summary.seconds_initialisation;
  row.seconds_solve = r.summary.seconds_solve;
  row.rms_px = r.rms_px;
  row.pose = CompareInFirstCamera(truth, r.rig);
  if (intrinsics_refined) row.focal_error_pct = WorstFocalErrorPercent(truth, r.rig);
  row.iterations = r.summary.num_iterations;
  row.solves = r.summary.num_solves;
  row.termination = r.summary.termination;
  row.rig_path = rig_path;
  return row;
}

int Run(const std::string& dir, const std::string& json_path, int repeats, int threads) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const BoardSpec board = rigpose::ReadBoard(Path(dir, "board.yaml"));
  const Rig truth = rigpose::ReadRig(Path(dir, "rig_true.yaml"));
  const std::vector<CameraDetections> detections = ReadDetections(dir, truth);
  int64_t input_views = 0;
  for (const CameraDetections& d : detections) input_views += d.num_images;
  std::printf(
      "calibrate_bench: %d cameras, %lld board views; %d cores, Ceres threads %d (0: all); "
      "median of %d runs\n",
      truth.NumCameras(),
      static_cast<long long>(input_views),
      cores,
      threads,
      repeats);
  std::printf("%-34s %3s %5s %6s %8s %8s %8s %8s %8s %8s %7s %8s %8s %7s  %s\n",
              "method",
              "C",
              "F",
              "views",
              "total s",
              "CPU s",
              "intr s",
              "PnP s",
              "init s",
              "BA s",
              "RMS px",
              "ctr mm",
              "rot deg",
              "f err%",
              "termination");

  std::vector<Row> rows;
  {
    std::vector<Camera> intrinsics = truth.cameras;
    for (Camera& camera : intrinsics) camera.cam_from_world = Rigid3d();
    rigpose::RigCalibrationOptions options;
    options.num_threads = threads;
    double fastest = 0;
    const Timed timed = MedianOf(
        repeats,
        [&] {
          Timed t;
          const auto start = std::chrono::steady_clock::now();
          const double cpu_start = CpuSeconds();
          t.result = rigpose::CalibrateRig(board, intrinsics, detections, options);
          t.seconds = Seconds(start);
          t.cpu_seconds = CpuSeconds() - cpu_start;
          return t;
        },
        &fastest);
    const std::string rig_path = Path(dir, "rig_rigpose_fixed.toml");
    WriteAniposeRig(timed.result.rig, rig_path);
    rows.push_back(
        MakeRow("rigpose CalibrateRig, true intr.", timed, fastest, truth, false, rig_path));
    PrintRow(rows.back());
  }
  {
    rigpose::IntrinsicsOptions intrinsics_options;  // `rigpose calibrate`'s defaults
    intrinsics_options.fixed_params = {"k3"};
    intrinsics_options.num_threads = threads;
    rigpose::RigCalibrationOptions options;
    options.num_threads = threads;
    options.refine_intrinsics = true;
    double fastest = 0;
    const Timed timed = MedianOf(
        repeats,
        [&] {
          Timed t;
          const auto start = std::chrono::steady_clock::now();
          const double cpu_start = CpuSeconds();
          std::vector<Camera> intrinsics;
          // As `rigpose calibrate`: cameras in parallel.
          for (const rigpose::IntrinsicsResult& r :
               rigpose::CalibrateIntrinsicsOfCameras(board, detections, intrinsics_options)) {
            t.intrinsics.seconds_selection += r.summary.seconds_selection;
            t.intrinsics.seconds_opencv += r.summary.seconds_opencv;
            t.intrinsics.seconds_ceres += r.summary.seconds_ceres;
            t.intrinsics.num_opencv_runs += r.summary.num_opencv_runs;
            t.intrinsics.num_solves += r.summary.num_solves;
            intrinsics.push_back(r.camera);
          }
          t.seconds_intrinsics = Seconds(start);
          t.result = rigpose::CalibrateRig(board, intrinsics, detections, options);
          t.seconds = Seconds(start);
          t.cpu_seconds = CpuSeconds() - cpu_start;
          return t;
        },
        &fastest);
    const std::string rig_path = Path(dir, "rig_rigpose_full.toml");
    WriteAniposeRig(timed.result.rig, rig_path);
    rows.push_back(
        MakeRow("rigpose CalibrateIntrinsics+Rig", timed, fastest, truth, true, rig_path));
    PrintRow(rows.back());
    std::printf(
        "  intrinsics %.3f s = selection %.3f + OpenCV %.3f (%d cv::calibrateCamera calls) + "
        "Ceres/covariance %.3f (%d solves + covariance), summed over %d cameras\n",
        rows.back().seconds_intrinsics,
        rows.back().seconds_intr_selection,
        rows.back().seconds_intr_opencv,
        rows.back().intr_opencv_runs,
        rows.back().seconds_intr_ceres,
        rows.back().intr_solves,
        rows.back().cameras);
  }
  WriteJson(json_path, rows, cores, repeats, input_views);
  std::printf("wrote %s\n", json_path.c_str());
  return 0;
}

int Usage() {
  std::fprintf(stderr,
               "usage: calibrate_bench export --out DIR [--cameras 16] [--frames 500] "
               "[--noise 0.3] [--seed 1]\n"
               "       calibrate_bench run --data DIR --json OUT [--repeats 3] [--threads 0]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage();
  const std::string mode = argv[1];
  std::string out_dir, data_dir, json_path;
  ExportOptions export_options;
  int repeats = 3;
  int threads = 0;
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) return Usage();
    const char* value = argv[++i];
    if (flag == "--out") {
      out_dir = value;
    } else if (flag == "--data") {
      data_dir = value;
    } else if (flag == "--json") {
      json_path = value;
    } else if (flag == "--cameras") {
      export_options.cameras = std::atoi(value);
    } else if (flag == "--frames") {
      export_options.frames = std::atoi(value);
    } else if (flag == "--noise") {
      export_options.noise_px = std::atof(value);
    } else if (flag == "--seed") {
      export_options.seed = std::strtoull(value, nullptr, 10);
    } else if (flag == "--repeats") {
      repeats = std::atoi(value);
    } else if (flag == "--threads") {
      threads = std::atoi(value);
    } else {
      return Usage();
    }
  }
  try {
    if (mode == "export" && !out_dir.empty() && export_options.cameras >= 2 &&
        export_options.frames > 0 && export_options.noise_px >= 0) {
      return Export(out_dir, export_options);
    }
    if (mode == "run" && !data_dir.empty() && !json_path.empty() && repeats > 0 && threads >= 0) {
      return Run(data_dir, json_path, repeats, threads);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "calibrate_bench: %s\n", e.what());
    return 1;
  }
  return Usage();
}

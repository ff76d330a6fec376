// SPDX-License-Identifier: BSD-3-Clause
// Triangulation throughput and accuracy on shared synthetic data, the C++ half of
// bench/triangulate_vs_peers.sh (which runs aniposelib, PyTorch and this program on the same files
// and prints the ratios).
//
//   triangulate_bench export --out DIR [--frames 2000] [--seq-frames 1000] [--seed 1]
//       Writes, for V in 2 4 8 16 32: rig_vV.toml (anipose TOML, translations in mm),
//       kp2d_vV.npy <f4 [F,V,17,3] (px, sigma 1.5 px, score 1), norm_vV.npy <f8 [F,V,17,3]
//       (undistorted normalised x, y, score) and poses_vV.npy <f8 [V,12] ([R|t], metres); the
//       shared ground truth gt3d.npy <f8 [F,17,4] (metres, COCO-17); the walking sequence
//       seq_rig.toml, seq_kp2d.npy (sigma 2 px, 1 % outliers 20-60 px off), seq_gt3d.npy; the
//       COCO-17 bones bones.npy <i8 [B,2]; meta.json.
//   triangulate_bench run --data DIR --json OUT [--min-seconds 0.5] [--no-refine]
//                         [--sequence-only] [--smoothness-weight W] [--bone-length-weight W]
//                         [--dlt-only] [--views V]
//       Times rigpose on those files (best of repeats after one warm-up; the sequence once) and
//       writes one JSON row per (method, views): joints/s and MPJPE (mm, absolute, over joints
//       valid in the output; valid_frac says how many are). Rows: TriangulateDltBatch f64 on 1
//       thread and on all cores, f32, TriangulateRobustBatch, TriangulateNormalisedCpu f64/f32
//       on the exported normalised input (the PyTorch baseline's input), TriangulateNormalisedCuda
//       when CudaDeviceAvailable(), and on the sequence DLT, robust and robust + RefineSequence
//       (RefineOptions defaults, covariance off; the weights flags override them). --dlt-only
//       keeps the TriangulateDltBatch and TriangulateNormalised* rows; --views V one view count.
//
// V = 2 is cameras 1-2 of the 4-camera rig (90 degrees apart); it carries the
// cv::triangulatePoints baseline (cv::undistortPoints first, as OpenCV expects normalised points).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <opencv2/calib3d.hpp>
#include <opencv2/core.hpp>

#include "core/skeleton.h"
#include "data/calib_io.h"
#include "data/npy.h"
#include "data/synth/body.h"
#include "data/synth/synth_rig.h"
#include "triangulate/dlt.h"
#include "triangulate/refine.h"
#include "triangulate/robust_triangulation.h"

namespace {

using rigpose::Camera;
using rigpose::Keypoints2D;
using rigpose::Poses3D;
using rigpose::Rig;

constexpr int kViewCounts[] = {2, 4, 8, 16, 32};
constexpr double kNoisePx = 1.5;
constexpr double kSeqNoisePx = 2.0;
constexpr double kSeqOutlierFraction = 0.01;
constexpr double kFrameRateHz = 50.0;

std::string Path(const std::string& dir, const std::string& name) { return dir + "/" + name; }
std::string ViewsTag(int views) { return "v" + std::to_string(views); }

// COCO-17 joints of a HALPE-26 motion (COCO-17 joints are a subset by name).
Poses3D ToCoco17(const Poses3D& body) {
  const rigpose::Skeleton& coco = rigpose::GetSkeleton("coco17");
  const rigpose::JointMapping mapping =
      rigpose::MakeJointMapping(rigpose::synth::BodySkeleton(), coco);
  Poses3D out(body.num_frames(), coco.NumJoints());
  out.skeleton = "coco17";
  out.frame_rate_hz = body.frame_rate_hz;
  for (int f = 0; f < body.num_frames(); ++f) {
    for (int j = 0; j < coco.NumJoints(); ++j) {
      Eigen::Vector3d p = Eigen::Vector3d::Zero();
      for (const auto& [source, weight] : mapping.sources.at(j))
        p += weight * body.Position(f, source);
      out.Set(f, j, p);
    }
  }
  return out;
}

// Projects every joint through the full camera model, adds N(0, sigma) pixel noise per axis and,
// with probability outlier_fraction, a 20-60 px displacement in a random direction. Score 1;
// joints behind a camera are missing.
Keypoints2D Project(const std::vector<Camera>& cameras,
                    const Poses3D& gt,
                    double sigma_px,
                    double outlier_fraction,
                    uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0.0, sigma_px);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  Keypoints2D kp(gt.num_frames(), static_cast<int>(cameras.size()), gt.num_joints());
  kp.skeleton = gt.skeleton;
  for (const Camera& camera : cameras) kp.camera_names.push_back(camera.name);
  for (int f = 0; f < gt.num_frames(); ++f) {
    for (int c = 0; c < kp.num_cameras(); ++c) {
      for (int j = 0; j < gt.num_joints(); ++j) {
        const auto img = cameras[c].ImgFromWorld(gt.Position(f, j));
        if (!img) continue;
        Eigen::Vector2d p = *img + Eigen::Vector2d(noise(rng), noise(rng));
        if (outlier_fraction > 0 && unit(rng) < outlier_fraction) {
          const double angle = 2.0 * M_PI * unit(rng);
          const double offset = 20.0 + 40.0 * unit(rng);
          p += offset * Eigen::Vector2d(std::cos(angle), std::sin(angle));
        }
        kp.Set(f, c, j, static_cast<float>(p.x()), static_cast<float>(p.y()), 1.f);
      }
    }
  }
  return kp;
}

rigpose::NpyArray DoubleArray(const std::vector<int64_t>& shape, const double* values) {
  rigpose::NpyArray array;
  array.dtype = "<f8";
  array.shape = shape;
  int64_t n = 1;
  for (const int64_t d : shape) n *= d;
  array.bytes.resize(static_cast<size_t>(n) * sizeof(double));
  std::copy_n(reinterpret_cast<const char*>(values), array.bytes.size(), array.bytes.data());
  return array;
}

void WriteAniposeRig(const Rig& rig, const std::string& path) {
  rigpose::CalibWriteOptions options;
  options.format = rigpose::CalibFormat::kAnipose;
  // anipose calibrations are in board units, in practice millimetres.
  options.unit = rigpose::LengthUnit::kMillimetre;
  rigpose::WriteRig(rig, path, options);
}

// Rig as the run (and aniposelib) will see it: read back from the TOML just written.
Rig ReadAniposeRig(const std::string& path) {
  rigpose::CalibReadOptions options;
  options.format = rigpose::CalibFormat::kAnipose;
  return rigpose::ReadRig(path, options);
}

// norm_vV.npy and poses_vV.npy: the prepared input of TriangulateNormalised* and of the PyTorch
// baseline.
void WriteNormalised(const std::string& dir, int views, const Rig& rig, const Keypoints2D& kp) {
  const rigpose::NormalisedObservations obs =
      rigpose::PrepareNormalisedObservations(rig.cameras, kp);
  rigpose::WriteNpy(
      Path(dir, "norm_" + ViewsTag(views) + ".npy"),
      DoubleArray({obs.num_frames, obs.num_cameras, obs.num_joints, 3}, obs.values.data()));
  rigpose::WriteNpy(Path(dir, "poses_" + ViewsTag(views) + ".npy"),
                    DoubleArray({obs.num_cameras, 12}, obs.cams_from_world.data()));
}

int Export(const std::string& dir, int frames, int seq_frames, uint64_t seed) {
  std::filesystem::create_directories(dir);
  const rigpose::synth::BodyShape shape = rigpose::synth::BodyShape::FromHeight(1.75);

  // Throughput sets: every clip, so joints cover the volume.
  rigpose::synth::ProceduralMotionOptions motion;
  motion.clips = rigpose::synth::AllMotionKinds();
  const Poses3D gt =
      ToCoco17(rigpose::synth::ProceduralMotion(shape, motion, frames, kFrameRateHz));
  rigpose::WritePosesNpy(Path(dir, "gt3d.npy"), gt);
  // V = 2 reuses cameras 1-2 of the 4-camera rig, so the 4-camera rig is made first.
  Rig rig4;
  for (const int views : {4, 8, 16, 32, 2}) {
    Rig rig;
    if (views == 2) {
      rig.cameras = {rig4.cameras.at(0), rig4.cameras.at(1)};
    } else {
      rigpose::synth::SynthRigOptions rig_options;
      rig_options.layout = rigpose::synth::RigLayout::kRing;
      rig_options.num_cameras = views;
      rig_options.resolution = "1080p";
      rig_options.seed = seed + views;
      rig = rigpose::synth::MakeSynthRig(rig_options);
      if (views == 4) rig4 = rig;
    }
    const std::string rig_path = Path(dir, "rig_" + ViewsTag(views) + ".toml");
    WriteAniposeRig(rig, rig_path);
    const Rig written = ReadAniposeRig(rig_path);
    const Keypoints2D kp = Project(written.cameras, gt, kNoisePx, 0.0, seed * 1000 + views);
    rigpose::WriteKeypointsNpy(Path(dir, "kp2d_" + ViewsTag(views) + ".npy"), kp);
    WriteNormalised(dir, views, written, kp);
    std::printf("export: V=%2d  %d frames x %d joints  %s\n",
                views,
                frames,
                gt.num_joints(),
                rig_path.c_str());
  }

  // Sequence: walking, 4 cameras, sigma 2 px and a few outliers.
  rigpose::synth::ProceduralMotionOptions walk;
  walk.clips = {rigpose::synth::MotionKind::kWalk};
  const Poses3D seq_gt =
      ToCoco17(rigpose::synth::ProceduralMotion(shape, walk, seq_frames, kFrameRateHz));
  rigpose::WritePosesNpy(Path(dir, "seq_gt3d.npy"), seq_gt);
  WriteAniposeRig(rig4, Path(dir, "seq_rig.toml"));
  const Rig seq_rig = ReadAniposeRig(Path(dir, "seq_rig.toml"));
  const Keypoints2D seq_kp =
      Project(seq_rig.cameras, seq_gt, kSeqNoisePx, kSeqOutlierFraction, seed * 1000 + 999);
  rigpose::WriteKeypointsNpy(Path(dir, "seq_kp2d.npy"), seq_kp);
  std::printf(
      "export: sequence %d frames x %d joints x %d cameras (walk, sigma %.1f px, %.0f %% "
      "outliers)\n",
      seq_frames,
      seq_gt.num_joints(),
      seq_rig.NumCameras(),
      kSeqNoisePx,
      100 * kSeqOutlierFraction);

  const auto& bones = rigpose::GetSkeleton("coco17").bones;
  rigpose::NpyArray bones_npy;
  bones_npy.dtype = "<i8";
  bones_npy.shape = {static_cast<int64_t>(bones.size()), 2};
  for (const auto& [a, b] : bones) {
    for (const int64_t v : {int64_t{a}, int64_t{b}}) {
      const char* bytes = reinterpret_cast<const char*>(&v);
      bones_npy.bytes.insert(bones_npy.bytes.end(), bytes, bytes + sizeof(v));
    }
  }
  rigpose::WriteNpy(Path(dir, "bones.npy"), bones_npy);

  std::ofstream meta(Path(dir, "meta.json"));
  meta << "{\"frames\": " << frames << ", \"seq_frames\": " << seq_frames
       << ", \"joints\": 17, \"views\": [2, 4, 8, 16, 32], \"noise_px\": " << kNoisePx
       << ", \"seq_noise_px\": " << kSeqNoisePx
       << ", \"seq_outlier_fraction\": " << kSeqOutlierFraction
       << ", \"toml_unit\": \"mm\", \"npy_unit\": \"m\", \"seed\": " << seed << "}\n";
  return 0;
}

// ---- run -------------------------------------------------------------------------------------

struct Row {
  std::string method;
  int views = 0;
  int threads = 0;
  int64_t joints = 0;
  double seconds = 0;
  double mpjpe_mm = NAN;
  double valid_frac = NAN;
  std::string note;
};

struct Accuracy {
  double mpjpe_mm = NAN;
  double valid_frac = 0;
};

// Absolute MPJPE (mm) over joints valid in both; valid_frac over the joints valid in gt.
Accuracy Mpjpe(const Poses3D& estimate, const Poses3D& gt) {
  double sum = 0;
  int64_t n = 0;
  int64_t total = 0;
  for (int f = 0; f < gt.num_frames(); ++f) {
    for (int j = 0; j < gt.num_joints(); ++j) {
      if (!gt.IsValid(f, j)) continue;
      ++total;
      if (!estimate.IsValid(f, j)) continue;
      sum += (estimate.Position(f, j) - gt.Position(f, j)).norm();
      ++n;
    }
  }
  return {n > 0 ? 1000.0 * sum / n : NAN, total > 0 ? double(n) / total : 0.0};
}

Accuracy MpjpeDense(const std::vector<double>& points_fj4, const Poses3D& gt) {
  Poses3D estimate(gt.num_frames(), gt.num_joints());
  std::copy(points_fj4.begin(), points_fj4.end(), estimate.data());
  return Mpjpe(estimate, gt);
}

// Best wall time of fn() after one warm-up call, repeated until min_seconds have been spent
// (at least 3 timed calls).
double TimeBest(const std::function<void()>& fn, double min_seconds) {
  using Clock = std::chrono::steady_clock;
  fn();
  double best = INFINITY;
  double spent = 0;
  for (int i = 0; i < 3 || spent < min_seconds; ++i) {
    const auto start = Clock::now();
    fn();
    const double s = std::chrono::duration<double>(Clock::now() - start).count();
    best = std::min(best, s);
    spent += s;
  }
  return best;
}

double TimeOnce(const std::function<void()>& fn) {
  const auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// cv::undistortPoints + cv::triangulatePoints on cameras 0 and 1; invalid when a point is missing
// in either view or w == 0.
std::vector<double> OpenCvTwoView(const std::vector<Camera>& cameras, const Keypoints2D& kp) {
  const int n = kp.num_frames() * kp.num_joints();
  cv::Mat normalised[2];
  cv::Mat projections[2];
  for (int c = 0; c < 2; ++c) {
    cv::Mat img(n, 1, CV_64FC2);
    for (int f = 0; f < kp.num_frames(); ++f) {
      for (int j = 0; j < kp.num_joints(); ++j) {
        img.at<cv::Vec2d>(f * kp.num_joints() + j) = cv::Vec2d(kp.x(f, c, j), kp.y(f, c, j));
      }
    }
    const Eigen::Matrix3d k = cameras[c].CalibrationMatrix();
    cv::Mat k_cv(3, 3, CV_64F);
    for (int r = 0; r < 3; ++r) {
      for (int col = 0; col < 3; ++col) k_cv.at<double>(r, col) = k(r, col);
    }
    const std::vector<double> distortion = cameras[c].DistortionParams();
    cv::Mat undistorted;
    cv::undistortPoints(img, undistorted, k_cv, cv::Mat(distortion, true));
    normalised[c] = undistorted.reshape(1, n).t();  // 2 x N
    const Eigen::Matrix<double, 3, 4> rt = cameras[c].cam_from_world.ToMatrix3x4();
    projections[c] = cv::Mat(3, 4, CV_64F);
    for (int r = 0; r < 3; ++r) {
      for (int col = 0; col < 4; ++col) projections[c].at<double>(r, col) = rt(r, col);
    }
  }
  cv::Mat homogeneous;
  cv::triangulatePoints(projections[0], projections[1], normalised[0], normalised[1], homogeneous);
  std::vector<double> out(static_cast<size_t>(n) * 4, 0.0);
  for (int i = 0; i < n; ++i) {
    const int f = i / kp.num_joints();
    const int j = i % kp.num_joints();
    const double w = homogeneous.at<double>(3, i);
    if (!kp.IsPresent(f, 0, j) || !kp.IsPresent(f, 1, j) || w == 0) continue;
    for (int r = 0; r < 3; ++r) out[4 * i + r] = homogeneous.at<double>(r, i) / w;
    out[4 * i + 3] = 1.0;
  }
  return out;
}

std::string JsonEscape(const std::string& s) {
  std::string out;
  for (const char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out;
}

std::string JsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.9g", v);
  return buffer;
}

void PrintRow(const Row& row) {
  std::printf("%-44s %3d %3d %14.0f %9.2f %7.1f%%  %s\n",
              row.method.c_str(),
              row.views,
              row.threads,
              row.joints / row.seconds,
              row.mpjpe_mm,
              100 * row.valid_frac,
              row.note.c_str());
  std::fflush(stdout);
}

std::vector<double> ReadDoubles(const std::string& path, const std::vector<int64_t>& shape) {
  const rigpose::NpyArray array = rigpose::ReadNpy(path);
  if (array.shape != shape) {
    throw std::runtime_error(path + ": unexpected shape (re-run export with this binary)");
  }
  return array.AsDoubles();
}

void WriteJson(const std::string& path, const std::vector<Row>& rows, int cores, bool cuda) {
  std::ofstream out(path);
  out << "{\n  \"tool\": \"triangulate_bench\",\n  \"cores\": " << cores
      << ",\n  \"cuda_device\": " << (cuda ? "true" : "false") << ",\n  \"rows\": [\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    out << "    {\"method\": \"" << JsonEscape(r.method) << "\", \"views\": " << r.views
        << ", \"threads\": " << r.threads << ", \"joints\": " << r.joints
        << ", \"seconds\": " << JsonNumber(r.seconds)
        << ", \"joints_per_s\": " << JsonNumber(r.joints / r.seconds)
        << ", \"mpjpe_mm\": " << JsonNumber(r.mpjpe_mm)
        << ", \"valid_frac\": " << JsonNumber(r.valid_frac) << ", \"note\": \""
        << JsonEscape(r.note) << "\"}" << (i + 1 < rows.size() ? "," : "") << "\n";
  }
  out << "  ]\n}\n";
  if (!out) throw std::runtime_error("cannot write " + path);
}

struct RunOptions {
  double min_seconds = 0.5;
  bool refine = true;
  bool sequence_only = false;
  bool dlt_only = false;  // only the TriangulateDltBatch and dense-core rows, no sequence
  int views = 0;          // only this view count (0: all)
  rigpose::RefineOptions refine_options;  // library defaults unless overridden on the command line
};

int Run(const std::string& dir, const std::string& json_path, const RunOptions& run) {
  const double min_seconds = run.min_seconds;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const bool cuda = rigpose::CudaDeviceAvailable();
  std::vector<Row> rows;
  const auto add = [&rows](const Row& row) {
    PrintRow(row);
    rows.push_back(row);
  };
  std::printf("triangulate_bench: %d cores, %s; best of repeats after a warm-up (>= %.2f s)\n",
              cores,
              cuda ? "CUDA device found" : "CUDA: no device",
              min_seconds);
  std::printf("%-44s %3s %3s %14s %9s %8s  %s\n",
              "method",
              "V",
              "thr",
              "joints/s",
              "MPJPE mm",
              "valid",
              "note");

  const Poses3D gt = rigpose::ReadPosesNpy(Path(dir, "gt3d.npy"));
  const int num_frames = gt.num_frames();
  const int num_joints = gt.num_joints();
  const int64_t joints = int64_t{num_frames} * num_joints;
  for (const int views : kViewCounts) {
    if (run.sequence_only) break;
    if (run.views != 0 && views != run.views) continue;
    const std::string tag = ViewsTag(views);
    const Rig rig = ReadAniposeRig(Path(dir, "rig_" + tag + ".toml"));
    Keypoints2D kp = rigpose::ReadKeypointsNpy(Path(dir, "kp2d_" + tag + ".npy"));
    kp.skeleton = "coco17";
    if (kp.num_frames() != num_frames || kp.num_joints() != num_joints ||
        kp.num_cameras() != views || rig.NumCameras() != views) {
      throw std::runtime_error(tag + ": keypoints, rig and ground truth disagree");
    }

    // Batched API, pixels in (undistortion included), as aniposelib's CameraGroup.triangulate.
    struct DltVariant {
      const char* name;
      int threads;
      bool single_precision;
    };
    for (const DltVariant& variant : {DltVariant{"rigpose TriangulateDltBatch f64", 1, false},
                                      DltVariant{"rigpose TriangulateDltBatch f64", cores, false},
                                      DltVariant{"rigpose TriangulateDltBatch f32", cores, true}}) {
      rigpose::DltOptions options;
      options.num_threads = variant.threads;
      options.single_precision = variant.single_precision;
      options.compute_reproj_error = false;
      rigpose::DltBatchResult result;
      const double seconds = TimeBest(
          [&] { result = rigpose::TriangulateDltBatch(rig.cameras, kp, options); }, min_seconds);
      const Accuracy accuracy = Mpjpe(result.poses, gt);
      add({variant.name,
           views,
           variant.threads,
           joints,
           seconds,
           accuracy.mpjpe_mm,
           accuracy.valid_frac,
           "px in, undistortion included"});
    }
    if (!run.dlt_only) {
      rigpose::RobustOptions options;
      options.dlt.num_threads = cores;
      rigpose::RobustBatchResult result;
      const double seconds = TimeBest(
          [&] { result = rigpose::TriangulateRobustBatch(rig.cameras, kp, options); }, min_seconds);
      const Accuracy accuracy = Mpjpe(result.poses, gt);
      add({"rigpose TriangulateRobustBatch",
           views,
           cores,
           joints,
           seconds,
           accuracy.mpjpe_mm,
           accuracy.valid_frac,
           "RANSAC over view pairs + refit"});
    }

    // Dense core on the exported normalised observations: the same input as the PyTorch baseline.
    const std::vector<double> obs =
        ReadDoubles(Path(dir, "norm_" + tag + ".npy"), {num_frames, views, num_joints, 3});
    const std::vector<double> poses = ReadDoubles(Path(dir, "poses_" + tag + ".npy"), {views, 12});
    const std::vector<float> obs_f(obs.begin(), obs.end());
    const std::vector<float> poses_f(poses.begin(), poses.end());
    std::vector<uint8_t> status(static_cast<size_t>(joints));
    {
      rigpose::DltOptions options;
      options.num_threads = cores;
      std::vector<double> points(static_cast<size_t>(joints) * 4, NAN);
      const double seconds = TimeBest(
          [&] {
            rigpose::TriangulateNormalisedCpu(obs.data(),
                                              poses.data(),
                                              num_frames,
                                              views,
                                              num_joints,
                                              options,
                                              points.data(),
                                              status.data());
          },
          min_seconds);
      const Accuracy accuracy = MpjpeDense(points, gt);
      add({"rigpose TriangulateNormalisedCpu f64",
           views,
           cores,
           joints,
           seconds,
           accuracy.mpjpe_mm,
           accuracy.valid_frac,
           "normalised in (as the PyTorch rows)"});
      std::vector<float> points_f(static_cast<size_t>(joints) * 4, NAN);
      const double seconds_f = TimeBest(
          [&] {
            rigpose::TriangulateNormalisedCpu(obs_f.data(),
                                              poses_f.data(),
                                              num_frames,
                                              views,
                                              num_joints,
                                              options,
                                              points_f.data(),
                                              status.data());
          },
          min_seconds);
      const Accuracy accuracy_f =
          MpjpeDense(std::vector<double>(points_f.begin(), points_f.end()), gt);
      add({"rigpose TriangulateNormalisedCpu f32",
           views,
           cores,
           joints,
           seconds_f,
           accuracy_f.mpjpe_mm,
           accuracy_f.valid_frac,
           "normalised in (as the PyTorch rows)"});
      if (cuda) {
        const double seconds_cuda = TimeBest(
            [&] {
              rigpose::TriangulateNormalisedCuda(obs_f.data(),
                                                 poses_f.data(),
                                                 num_frames,
                                                 views,
                                                 num_joints,
                                                 options,
                                                 points_f.data(),
                                                 status.data());
            },
            min_seconds);
        const Accuracy accuracy_cuda =
            MpjpeDense(std::vector<double>(points_f.begin(), points_f.end()), gt);
        add({"rigpose TriangulateNormalisedCuda f32",
             views,
             0,
             joints,
             seconds_cuda,
             accuracy_cuda.mpjpe_mm,
             accuracy_cuda.valid_frac,
             "GPU, host<->device copies included"});
      }
    }

    if (views == 2 && !run.dlt_only) {
      std::vector<double> points;
      const double seconds =
          TimeBest([&] { points = OpenCvTwoView(rig.cameras, kp); }, min_seconds);
      const Accuracy accuracy = MpjpeDense(points, gt);
      add({"OpenCV undistortPoints + triangulatePoints",
           views,
           1,
           joints,
           seconds,
           accuracy.mpjpe_mm,
           accuracy.valid_frac,
           "px in, undistortion included"});
    }
  }
  if (!cuda) std::printf("CUDA: no device (TriangulateNormalisedCuda rows skipped)\n");

  // Sequence: robust initialisation + RefineSequence, timed once, against plain DLT.
  if (!run.dlt_only) {
    const Rig rig = ReadAniposeRig(Path(dir, "seq_rig.toml"));
    Keypoints2D kp = rigpose::ReadKeypointsNpy(Path(dir, "seq_kp2d.npy"));
    kp.skeleton = "coco17";
    const Poses3D seq_gt = rigpose::ReadPosesNpy(Path(dir, "seq_gt3d.npy"));
    const int64_t seq_joints = int64_t{seq_gt.num_frames()} * seq_gt.num_joints();
    const int views = rig.NumCameras();
    rigpose::DltOptions dlt_options;
    dlt_options.num_threads = cores;
    dlt_options.compute_reproj_error = false;
    rigpose::DltBatchResult dlt;
    const double dlt_seconds =
        TimeOnce([&] { dlt = rigpose::TriangulateDltBatch(rig.cameras, kp, dlt_options); });
    const Accuracy dlt_accuracy = Mpjpe(dlt.poses, seq_gt);
    add({"sequence: rigpose DLT (no refinement)",
         views,
         cores,
         seq_joints,
         dlt_seconds,
         dlt_accuracy.mpjpe_mm,
         dlt_accuracy.valid_frac,
         "1 % outliers"});
    rigpose::RobustOptions robust_options;
    robust_options.dlt.num_threads = cores;
    rigpose::RobustBatchResult robust;
    const double robust_seconds = TimeOnce(
        [&] { robust = rigpose::TriangulateRobustBatch(rig.cameras, kp, robust_options); });
    const Accuracy robust_accuracy = Mpjpe(robust.poses, seq_gt);
    add({"sequence: rigpose robust (no refinement)",
         views,
         cores,
         seq_joints,
         robust_seconds,
         robust_accuracy.mpjpe_mm,
         robust_accuracy.valid_frac,
         "1 % outliers"});
    if (run.refine) {
      rigpose::RefineOptions options = run.refine_options;
      options.num_threads = cores;
      options.compute_covariance = false;
      rigpose::RefineResult refined;
      const double refine_seconds = TimeOnce([&] {
        refined = rigpose::RefineSequence(rig.cameras,
                                          kp,
                                          robust.poses,
                                          robust.inlier_mask,
                                          rigpose::GetSkeleton("coco17").bones,
                                          options);
      });
      const Accuracy accuracy = Mpjpe(refined.poses, seq_gt);
      char note[224];
      std::snprintf(note,
                    sizeof(note),
                    "robust init %.3f s + refine %.3f s; %lld problems, %lld iterations; "
                    "smoothness %g, bone %g px/m",
                    robust_seconds,
                    refine_seconds,
                    static_cast<long long>(refined.summary.num_problems),
                    static_cast<long long>(refined.summary.num_iterations),
                    options.smoothness_weight,
                    options.bone_length_weight);
      add({"sequence: rigpose robust + RefineSequence",
           views,
           cores,
           seq_joints,
           robust_seconds + refine_seconds,
           accuracy.mpjpe_mm,
           accuracy.valid_frac,
           note});
    }
  }
  WriteJson(json_path, rows, cores, cuda);
  std::printf("wrote %s\n", json_path.c_str());
  return 0;
}

int Usage() {
  std::fprintf(
      stderr,
      "usage: triangulate_bench export --out DIR [--frames N] [--seq-frames N] [--seed S]\n"
      "       triangulate_bench run --data DIR --json OUT [--min-seconds S] "
      "[--no-refine] [--sequence-only] [--dlt-only] [--views V]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage();
  const std::string mode = argv[1];
  std::string out_dir;
  std::string data_dir;
  std::string json_path;
  int frames = 2000;
  int seq_frames = 1000;
  uint64_t seed = 1;
  RunOptions run;
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    const bool has_value = i + 1 < argc;
    if (flag == "--no-refine") {
      run.refine = false;
    } else if (flag == "--sequence-only") {
      run.sequence_only = true;
    } else if (flag == "--dlt-only") {
      run.dlt_only = true;
    } else if (!has_value) {
      return Usage();
    } else if (flag == "--out") {
      out_dir = argv[++i];
    } else if (flag == "--data") {
      data_dir = argv[++i];
    } else if (flag == "--json") {
      json_path = argv[++i];
    } else if (flag == "--frames") {
      frames = std::atoi(argv[++i]);
    } else if (flag == "--seq-frames") {
      seq_frames = std::atoi(argv[++i]);
    } else if (flag == "--seed") {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (flag == "--views") {
      run.views = std::atoi(argv[++i]);
    } else if (flag == "--min-seconds") {
      run.min_seconds = std::atof(argv[++i]);
    } else if (flag == "--smoothness-weight") {
      run.refine_options.smoothness_weight = std::atof(argv[++i]);
    } else if (flag == "--bone-length-weight") {
      run.refine_options.bone_length_weight = std::atof(argv[++i]);
    } else {
      return Usage();
    }
  }
  try {
    if (mode == "export" && !out_dir.empty() && frames > 0 && seq_frames > 0) {
      return Export(out_dir, frames, seq_frames, seed);
    }
    if (mode == "run" && !data_dir.empty() && !json_path.empty()) {
      return Run(data_dir, json_path, run);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "triangulate_bench: %s\n", e.what());
    return 1;
  }
  return Usage();
}

// SPDX-License-Identifier: BSD-3-Clause
// rigpose triangulate: accuracy on the synthetic studio, chunked = whole, OpenPose tree = .npy,
// bad input (data problems flagged, structural ones refused, nothing half-written), and the
// Pose2Sim demo against its reference TRC.
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <sstream>

#include <gtest/gtest.h>

#include "cli/cli.h"
#include "core/error.h"
#include "core/keypoints.h"
#include "data/calib_io.h"
#include "data/npy.h"
#include "data/openpose_json.h"
#include "data/poses_io.h"
#include "tests/cli/rigpose_process.h"
#include "tests/test_util.h"
#include "triangulate/reprojection.h"

namespace rigpose::cli {
namespace {
namespace fs = std::filesystem;

// A 4-camera synthetic capture (no images): rig.yaml + gt/subject_00/{keypoints2d,poses3d}.npy.
const std::string& SynthCapture() {
  static const std::string dir = [] {
    const std::string root = test::ScratchDir("triangulate_cli_synth");
    SynthCliOptions options;
    options.out = root + "/capture";
    options.preset = "demo";
    options.format = "none";
    options.calib = "none";
    options.frames = 90;
    options.quiet = true;
    std::ostringstream out, err;
    RunSynth(options, out, err);
    return options.out;
  }();
  return dir;
}

double Mpjpe(const Poses3D& a, const Poses3D& b, int* count = nullptr) {
  double sum = 0.0;
  int n = 0;
  for (int f = 0; f < a.num_frames(); ++f) {
    for (int j = 0; j < a.num_joints(); ++j) {
      if (!a.IsValid(f, j) || !b.IsValid(f, j)) continue;
      sum += (a.Position(f, j) - b.Position(f, j)).norm();
      ++n;
    }
  }
  if (count != nullptr) *count = n;
  return n > 0 ? sum / n : NAN;
}

// Exact 2D (float32 of the projection) + Gaussian noise of `sigma_px` on present keypoints.
std::string NoisyKeypoints(const std::string& dir, double sigma_px, uint32_t seed) {
  Keypoints2D keypoints = ReadKeypointsNpy(SynthCapture() + "/gt/subject_00/keypoints2d.npy");
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.f, static_cast<float>(sigma_px));
  for (int f = 0; f < keypoints.num_frames(); ++f) {
    for (int c = 0; c < keypoints.num_cameras(); ++c) {
      for (int j = 0; j < keypoints.num_joints(); ++j) {
        if (!keypoints.IsPresent(f, c, j) || sigma_px == 0.0) continue;
        keypoints.Set(f,
                      c,
                      j,
                      keypoints.x(f, c, j) + noise(rng),
                      keypoints.y(f, c, j) + noise(rng),
                      keypoints.score(f, c, j));
      }
    }
  }
  const std::string path = dir + "/keypoints_" + std::to_string(seed) + ".npy";
  WriteKeypointsNpy(path, keypoints);
  return path;
}

TriangulateOptions Options(const std::string& keypoints, const std::string& out) {
  TriangulateOptions options;
  options.rig = SynthCapture() + "/rig.yaml";
  options.keypoints = keypoints;
  options.out = out;
  options.quiet = true;
  options.threads = 2;
  return options;
}

TriangulateSummary RunQuiet(const TriangulateOptions& options, std::string* printed = nullptr) {
  std::ostringstream out, err;
  TriangulateSummary summary = RunTriangulate(options, out, err);
  if (printed != nullptr) *printed = out.str() + err.str();
  return summary;
}

TEST(TriangulateCli, ExactSyntheticEveryMethod) {
  const std::string dir = test::ScratchDir("triangulate_exact");
  const std::string keypoints = NoisyKeypoints(dir, 0.0, 1);
  const Poses3D truth = ReadPosesNpy(SynthCapture() + "/gt/subject_00/poses3d.npy");
  for (const std::string method : {"dlt", "weighted", "robust"}) {
    for (const std::string refine : {"none", "frame", "sequence"}) {
      SCOPED_TRACE(method + " + " + refine);
      TriangulateOptions options = Options(keypoints, dir + "/p_" + method + refine + ".npy");
      options.method = method;
      options.refine = refine;
      const TriangulateSummary summary = RunQuiet(options);
      const Poses3D poses = ReadPosesNpy(options.out);
      int count = 0;
      const double mpjpe = Mpjpe(poses, truth, &count);
      // float32 pixels: ~1e-4 px; the smoothness prior biases the sequence a little.
      EXPECT_LT(mpjpe, refine == "sequence" ? 3e-3 : 1e-4);
      EXPECT_EQ(count, summary.status_counts[0]);
      EXPECT_GT(count, truth.num_frames() * truth.num_joints() * 9 / 10);
      for (const TriangulateCameraStats& camera : summary.cameras) {
        EXPECT_LT(camera.median_px, refine == "sequence" ? 2.0 : 0.02) << camera.name;
        EXPECT_GT(camera.inlier_share, 0.99) << camera.name;
      }
      EXPECT_TRUE(fs::exists(summary.status_path));
      EXPECT_TRUE(fs::exists(summary.report_path));
      EXPECT_EQ(fs::exists(summary.covariance_path), refine != "none");
    }
  }
}

TEST(TriangulateCli, NoisyRefinementBeatsLinear) {
  const std::string dir = test::ScratchDir("triangulate_noisy");
  const std::string keypoints = NoisyKeypoints(dir, 2.0, 2);
  const Poses3D truth = ReadPosesNpy(SynthCapture() + "/gt/subject_00/poses3d.npy");
  std::map<std::string, double> mpjpe;
  for (const std::string refine : {"none", "frame", "sequence"}) {
    TriangulateOptions options = Options(keypoints, dir + "/p_" + refine + ".npy");
    options.method = "weighted";
    options.refine = refine;
    options.reference = SynthCapture() + "/gt/subject_00/poses3d.npy";
    const TriangulateSummary summary = RunQuiet(options);
    mpjpe[refine] = Mpjpe(ReadPosesNpy(options.out), truth);
    EXPECT_NEAR(summary.reference_mpjpe_m, mpjpe[refine], 1e-12);
  }
  std::cout << "[ mpjpe    ] sigma 2 px, 4 cameras: DLT " << 1e3 * mpjpe["none"] << " mm, frame "
            << 1e3 * mpjpe["frame"] << " mm, sequence " << 1e3 * mpjpe["sequence"] << " mm\n";
  EXPECT_LE(mpjpe["frame"], mpjpe["none"] * 1.001);
  EXPECT_LT(mpjpe["sequence"], mpjpe["frame"]);
  // Covariance sidecar: positive variances, and the predicted error size is the right order.
  const NpyArray cov = ReadNpy(dir + "/p_frame.cov.npy");
  ASSERT_EQ(cov.shape, std::vector<int64_t>({truth.num_frames(), truth.num_joints(), 6}));
  const std::vector<double> values = cov.AsDoubles();
  double trace_sum = 0.0;
  int n = 0;
  for (size_t i = 0; i + 5 < values.size(); i += 6) {
    if (!std::isfinite(values[i])) continue;
    EXPECT_GT(values[i], 0.0);
    EXPECT_GT(values[i + 3], 0.0);
    EXPECT_GT(values[i + 5], 0.0);
    trace_sum += values[i] + values[i + 3] + values[i + 5];
    ++n;
  }
  ASSERT_GT(n, 0);
  EXPECT_GT(std::sqrt(trace_sum / n), 1e-4);
}

// One of the 4 views of every joint-frame (a random camera) moved 100 px in a random direction.
// No method can do better than an oracle that drops those views; dropping one view of four costs
// ~15-20 % on a 4-camera ring by geometry alone (a symmetric ring: sqrt(4/3)). Robust + sequence
// refinement stays within 1.2x of its clean error; robust + frame refinement within 2 % of the
// oracle.
TEST(TriangulateCli, OneOutlierViewOfFour) {
  const std::string dir = test::ScratchDir("triangulate_outliers");
  const std::string clean_path = NoisyKeypoints(dir, 2.0, 8);
  Keypoints2D keypoints = ReadKeypointsNpy(clean_path);
  Keypoints2D oracle = keypoints;
  std::mt19937 rng(9);
  std::uniform_int_distribution<int> camera(0, keypoints.num_cameras() - 1);
  std::uniform_real_distribution<double> angle(0.0, 2.0 * 3.14159265358979323846);
  int moved = 0;
  for (int f = 0; f < keypoints.num_frames(); ++f) {
    for (int j = 0; j < keypoints.num_joints(); ++j) {
      const int c = camera(rng);
      const double a = angle(rng);
      if (!keypoints.IsPresent(f, c, j)) continue;
      keypoints.Set(f,
                    c,
                    j,
                    keypoints.x(f, c, j) + static_cast<float>(100.0 * std::cos(a)),
                    keypoints.y(f, c, j) + static_cast<float>(100.0 * std::sin(a)),
                    keypoints.score(f, c, j));
      oracle.SetMissing(f, c, j);
      ++moved;
    }
  }
  ASSERT_GT(moved, keypoints.num_frames() * keypoints.num_joints() / 2);
  WriteKeypointsNpy(dir + "/outliers.npy", keypoints);
  WriteKeypointsNpy(dir + "/oracle.npy", oracle);
  const std::string truth = SynthCapture() + "/gt/subject_00/poses3d.npy";
  for (const std::string refine : {"frame", "sequence"}) {
    std::map<std::string, double> mpjpe;
    for (const std::string input : {"clean", "outliers", "oracle"}) {
      TriangulateOptions options =
          Options(input == "clean" ? clean_path : dir + "/" + input + ".npy",
                  dir + "/p_" + refine + "_" + input + ".npy");
      options.refine = refine;
      options.reference = truth;
      mpjpe[input] = RunQuiet(options).reference_mpjpe_m;
    }
    std::cout << "[ outliers ] robust + " << refine << ": clean " << 1e3 * mpjpe["clean"]
              << " mm, one outlier view of four " << 1e3 * mpjpe["outliers"] << " mm (ratio "
              << mpjpe["outliers"] / mpjpe["clean"] << "), oracle without the outlier views "
              << 1e3 * mpjpe["oracle"] << " mm\n";
    EXPECT_LE(mpjpe["outliers"], 1.02 * mpjpe["oracle"]) << refine;
    if (refine == "sequence") {
      EXPECT_LE(mpjpe["outliers"], 1.2 * mpjpe["clean"]);
    } else {
      EXPECT_LE(mpjpe["outliers"], 1.25 * mpjpe["clean"]);
    }
  }
}

TEST(TriangulateCli, ChunksGiveTheSameResult) {
  const std::string dir = test::ScratchDir("triangulate_chunks");
  const std::string keypoints = NoisyKeypoints(dir, 1.0, 3);
  for (const std::string refine : {"none", "frame", "sequence"}) {
    SCOPED_TRACE(refine);
    TriangulateOptions whole = Options(keypoints, dir + "/whole_" + refine + ".csv");
    whole.refine = refine;
    TriangulateOptions chunked = Options(keypoints, dir + "/chunked_" + refine + ".csv");
    chunked.refine = refine;
    chunked.chunk_frames = 25;  // 90 frames: 4 chunks
    RunQuiet(whole);
    RunQuiet(chunked);
    const Poses3D a = ReadPoses(whole.out);
    const Poses3D b = ReadPoses(chunked.out);
    if (refine != "sequence") {
      EXPECT_EQ(test::ReadText(whole.out), test::ReadText(chunked.out));
    } else {
      // Overlapping margins: the seams agree with the single solve to a fraction of a mm.
      double max_difference = 0.0;
      for (int f = 0; f < a.num_frames(); ++f) {
        for (int j = 0; j < a.num_joints(); ++j) {
          ASSERT_EQ(a.IsValid(f, j), b.IsValid(f, j));
          if (!a.IsValid(f, j)) continue;
          max_difference = std::max(max_difference, (a.Position(f, j) - b.Position(f, j)).norm());
        }
      }
      EXPECT_LT(max_difference, 1e-3);
    }
  }
}

TEST(TriangulateCli, OpenPoseTreeEqualsNpy) {
  const std::string dir = test::ScratchDir("triangulate_tree");
  const std::string npy = NoisyKeypoints(dir, 1.0, 4);
  Keypoints2D keypoints = ReadKeypointsNpy(npy);
  const Rig rig = ReadRig(SynthCapture() + "/rig.yaml");
  keypoints.camera_names = rig.CameraNames();
  keypoints.skeleton = "halpe26";
  WriteOpenPoseTree(dir + "/tree", keypoints);
  TriangulateOptions from_npy = Options(npy, dir + "/a.json");
  TriangulateOptions from_tree = Options(dir + "/tree", dir + "/b.json");
  from_tree.chunk_frames = 40;
  const TriangulateSummary a = RunQuiet(from_npy);
  const TriangulateSummary b = RunQuiet(from_tree);
  EXPECT_EQ(a.status_counts, b.status_counts);
  const Poses3D pa = ReadPoses(from_npy.out);
  const Poses3D pb = ReadPoses(from_tree.out);
  // The JSON tree stores 9 significant digits of each float: identical up to rounding.
  EXPECT_LT(Mpjpe(pa, pb), 1e-6);
}

// ---- Bad input ---------------------------------------------------------------------------

using test::Outcome;
using test::Rigpose;

TEST(TriangulateCli, DataProblemsAreFlaggedNotFatal) {
  const std::string dir = test::ScratchDir("triangulate_data_problems");
  Keypoints2D keypoints = ReadKeypointsNpy(NoisyKeypoints(dir, 0.5, 5));
  // NaN and negative scores on camera 2, a NaN coordinate on camera 1, all-zero scores in frame 3.
  keypoints.Set(0, 2, 0, 10.f, 10.f, std::nanf(""));
  keypoints.Set(1, 2, 1, 10.f, 10.f, -0.5f);
  keypoints.Set(2, 1, 2, std::nanf(""), 10.f, 0.9f);
  for (int c = 0; c < keypoints.num_cameras(); ++c) {
    for (int j = 0; j < keypoints.num_joints(); ++j) keypoints.SetMissing(3, c, j);
  }
  WriteKeypointsNpy(dir + "/bad.npy", keypoints);
  std::string printed;
  const TriangulateSummary summary =
      RunQuiet(Options(dir + "/bad.npy", dir + "/out.trc"), &printed);
  EXPECT_EQ(summary.invalid_values, 3);
  EXPECT_EQ(summary.cameras[2].invalid_values, 2);
  EXPECT_EQ(summary.cameras[1].invalid_values, 1);
  EXPECT_NE(printed.find("camera cam_03: 2 keypoints with NaN or negative score"),
            std::string::npos)
      << printed;
  EXPECT_NE(printed.find("too few views"), std::string::npos) << printed;
  // Per-joint flags: every joint of frame 3 is kTooFewViews (1).
  const NpyArray status = ReadNpy(summary.status_path);
  ASSERT_EQ(status.shape[0], keypoints.num_frames());
  for (int j = 0; j < keypoints.num_joints(); ++j) {
    EXPECT_EQ(static_cast<uint8_t>(status.bytes[3 * keypoints.num_joints() + j]), 1) << j;
  }
  const Poses3D poses = ReadPoses(dir + "/out.trc");
  for (int j = 0; j < keypoints.num_joints(); ++j) EXPECT_FALSE(poses.IsValid(3, j));
  EXPECT_TRUE(poses.IsValid(0, 0));  // the three other views still triangulate it
}

TEST(TriangulateCli, DifferentFrameCountsAreReported) {
  const std::string dir = test::ScratchDir("triangulate_frames");
  Keypoints2D keypoints = ReadKeypointsNpy(NoisyKeypoints(dir, 0.5, 6));
  const Rig rig = ReadRig(SynthCapture() + "/rig.yaml");
  keypoints.camera_names = rig.CameraNames();
  keypoints.skeleton = "halpe26";
  WriteOpenPoseTree(dir + "/tree", keypoints);
  // Camera 4 lost its last 10 frames.
  const std::string folder = dir + "/tree/" + rig.cameras[3].name + "_json";
  for (int f = keypoints.num_frames() - 10; f < keypoints.num_frames(); ++f) {
    char name[64];
    std::snprintf(name, sizeof(name), "/%s.%04d.json", rig.cameras[3].name.c_str(), f);
    ASSERT_TRUE(fs::remove(folder + name)) << folder + name;
  }
  std::string printed;
  const TriangulateSummary summary = RunQuiet(Options(dir + "/tree", dir + "/out.npy"), &printed);
  EXPECT_EQ(summary.num_frames, keypoints.num_frames());
  EXPECT_EQ(summary.cameras[3].num_frames, keypoints.num_frames() - 10);
  EXPECT_NE(printed.find("camera " + rig.cameras[3].name + " has 80 frames"), std::string::npos)
      << printed;
}

TEST(TriangulateCli, StructuralProblemsAreErrorsAndLeaveNothing) {
  const std::string dir = test::ScratchDir("triangulate_errors");
  const std::string keypoints = NoisyKeypoints(dir, 0.5, 7);
  const std::string rig_path = SynthCapture() + "/rig.yaml";
  Rig rig = ReadRig(rig_path);
  // One camera.
  Rig one = rig;
  one.cameras.resize(1);
  WriteRig(one, dir + "/one.yaml", CalibWriteOptions());
  // Three cameras: the .npy has four.
  Rig three = rig;
  three.cameras.resize(3);
  WriteRig(three, dir + "/three.yaml", CalibWriteOptions());
  // A tree whose folder names match no rig camera.
  Keypoints2D k = ReadKeypointsNpy(keypoints);
  k.camera_names = {"left", "right", "top", "back"};
  k.skeleton = "halpe26";
  WriteOpenPoseTree(dir + "/tree", k);
  // A tree with a corrupt file in a late chunk: fails after the first chunks were written.
  k.camera_names = rig.CameraNames();
  WriteOpenPoseTree(dir + "/late", k);
  test::WriteText(
      dir + "/late/" + rig.cameras[1].name + "_json/" + rig.cameras[1].name + ".0070.json",
      "{\"people\": [");
  fs::create_directory(dir + "/out");
  struct Case {
    std::string args;
    int exit_code;
    std::string message;
  };
  const std::string base = " --keypoints " + keypoints + " --out " + dir + "/out/p.trc";
  for (const Case& c : std::vector<Case>{
           {"--rig " + dir + "/one.yaml" + base,
            1,
            "needs at least 2 cameras, the rig has 1 (cam_01)"},
           {"--rig " + dir + "/three.yaml" + base, 1, "4 cameras in the array, 3 in the rig"},
           {"--rig " + rig_path + " --keypoints " + dir + "/tree --out " + dir + "/out/p.trc",
            1,
            "matches no rig camera"},
           {"--rig " + rig_path + " --keypoints " + dir + "/late --chunk-frames 20 --out " + dir +
                "/out/p.trc",
            1,
            ".0070.json"},
           {"--rig " + rig_path + base + " --method best", 2, "--method 'best'"},
           {"--rig " + rig_path + base + " --reference " + dir + "/three.yaml",
            2,
            "unknown 3D poses file extension"},
           {"--rig " + rig_path + base + " --reference " + keypoints, 1, "keypoints_7.npy"},
           {"--rig " + rig_path + base + " --refine all", 2, "--refine 'all'"},
           {"--rig " + rig_path + base + " --min-score -1", 2, "--min-score"},
           {"--rig " + rig_path + base + " --max-reproj-error 0", 2, "max_reproj_error_px"},
           {"--rig " + rig_path + " --keypoints " + keypoints + " --out " + dir + "/out/p.xyz",
            2,
            "unknown extension"},
           {"--rig " + rig_path + " --keypoints " + keypoints + " --out " + dir + "/none/p.trc",
            1,
            "does not exist"},
           {"--rig " + rig_path + " --keypoints " + dir + "/missing.npy --out " + dir +
                "/out/p.trc",
            1,
            "missing.npy"},
       }) {
    SCOPED_TRACE(c.args);
    const Outcome outcome = Rigpose("triangulate " + c.args);
    EXPECT_EQ(outcome.exit_code, c.exit_code) << outcome.output;
    EXPECT_NE(outcome.output.find(c.message), std::string::npos) << outcome.output;
    EXPECT_EQ(test::CountEntries(dir + "/out"), 0) << "something was left behind";
  }
  // And a good run through the binary prints the per-camera table.
  const Outcome ok = Rigpose("triangulate --rig " + rig_path + base + " --quiet");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("median px"), std::string::npos) << ok.output;
  EXPECT_NE(ok.output.find(rig.cameras[3].name), std::string::npos) << ok.output;
  // p.trc, p.status.npy, p.cov.npy (refine frame is the default), p.report.json
  EXPECT_EQ(test::CountEntries(dir + "/out"), 4);
}

// ---- Pose2Sim demo -----------------------------------------------------------------------

constexpr const char* kPose2SimCalib = "pose2sim_demo/S00_Calibration/Calib_qualisys.toml";
constexpr const char* kBalancing =
    "pose2sim_demo/S00_P00_SingleParticipant/S00_P00_T01_BalancingTrial";

// TRC marker -> BODY_25B index of every marker of `trc`.
std::vector<int> TrcToBody25b(const Poses3D& trc) {
  std::vector<int> map;
  for (const std::string& marker : trc.joint_names) {
    map.push_back(test::Pose2SimMarkerToBody25b().at(marker));
  }
  return map;
}

TEST(TriangulateCliPose2Sim, WeightedDltMatchesReferenceTrc) {
  RIGPOSE_SKIP_IF_NO_DATA(calib, kPose2SimCalib);
  RIGPOSE_SKIP_IF_NO_DATA(trial, kBalancing);
  const std::string dir = test::ScratchDir("triangulate_pose2sim");
  PosesReadOptions y_up;
  y_up.y_up = true;
  const Poses3D reference = ReadTrc(trial + "/pose-3d/S00_P00_T01_BalancingTrial_0-100.trc", y_up);
  const std::vector<int> joint_map = TrcToBody25b(reference);

  TriangulateOptions options;
  options.rig = calib;
  options.keypoints = trial + "/pose-associated";
  options.skeleton = "body25b";
  options.out = dir + "/weighted.trc";
  options.method = "weighted";
  options.refine = "none";
  options.min_score = 0.3;
  options.no_distortion = true;
  options.fps = 60;
  options.y_up = true;
  options.quiet = true;
  std::string printed;
  RunQuiet(options, &printed);
  std::cout << printed;
  const Poses3D ours = ReadTrc(options.out, y_up);
  ASSERT_EQ(ours.num_frames(), reference.num_frames());
  std::vector<double> distances;
  for (int f = 0; f < reference.num_frames(); ++f) {
    for (int m = 0; m < reference.num_joints(); ++m) {
      if (!reference.IsValid(f, m) || !ours.IsValid(f, joint_map[m])) continue;
      distances.push_back((reference.Position(f, m) - ours.Position(f, joint_map[m])).norm());
    }
  }
  ASSERT_GT(distances.size(), 1500u);
  std::sort(distances.begin(), distances.end());
  const double median = distances[distances.size() / 2];
  const double p90 = distances[distances.size() * 9 / 10];
  std::cout << "[ pose2sim ] weighted DLT vs reference TRC over " << distances.size()
            << " joint-frames: median " << 1e3 * median << " mm, 90th percentile " << 1e3 * p90
            << " mm\n";
  EXPECT_LT(median, 0.5e-3);

  // Robust + sequence refinement: per-camera reprojection medians against the reference's.
  Rig rig = ReadRig(calib);
  for (Camera& camera : rig.cameras) {
    camera.model_id = CameraModelId::kPinhole;
    camera.params.resize(4);
  }
  OpenPoseReadOptions read;
  read.skeleton = "body25b";
  const Keypoints2D keypoints = ReadOpenPoseTree(options.keypoints, &rig, read, nullptr);
  ReprojectionOptions reprojection;
  reprojection.min_score = 0.3f;
  const auto reference_stats =
      ComputeReprojectionStats(rig, reference, keypoints, joint_map, reprojection);
  options.out = dir + "/robust_sequence.trc";
  options.method = "robust";
  options.refine = "sequence";
  RunQuiet(options, &printed);
  std::cout << printed;
  const Poses3D refined = ReadTrc(options.out, y_up);
  std::vector<int> identity(refined.num_joints());
  for (int j = 0; j < refined.num_joints(); ++j) identity[j] = j;
  // Same joints as the reference: only its 21 markers.
  Poses3D subset(refined.num_frames(), reference.num_joints());
  for (int f = 0; f < refined.num_frames(); ++f) {
    for (int m = 0; m < reference.num_joints(); ++m) {
      if (refined.IsValid(f, joint_map[m])) subset.Set(f, m, refined.Position(f, joint_map[m]));
    }
  }
  const auto ours_stats = ComputeReprojectionStats(rig, subset, keypoints, joint_map, reprojection);
  double ours_sum = 0.0;
  double reference_sum = 0.0;
  for (int c = 0; c < 4; ++c) {
    std::cout << "[ pose2sim ] " << rig.cameras[c].name << ": reprojection median, reference TRC "
              << reference_stats[c].median_px << " px (" << reference_stats[c].count
              << "), robust + sequence " << ours_stats[c].median_px << " px ("
              << ours_stats[c].count << ")\n";
    ours_sum += ours_stats[c].median_px;
    reference_sum += reference_stats[c].median_px;
    EXPECT_GE(ours_stats[c].count, reference_stats[c].count - 10);
    // cam_03's detections disagree with the three other cameras (robust triangulation keeps
    // it for only ~45 % of the joints at 15 px): its errors are not minimised, so its median is
    // higher than the reference's. Even the least-squares solution over EVERY view leaves it at
    // ~18 px: the reference's 17.2 px is bought with +5 px on cam_01 (docs/BENCHMARKS.md).
    if (rig.cameras[c].name != "cam_03") {
      EXPECT_LT(ours_stats[c].median_px, reference_stats[c].median_px) << rig.cameras[c].name;
    }
  }
  EXPECT_LT(ours_sum, reference_sum);
}

}  // namespace
}  // namespace rigpose::cli

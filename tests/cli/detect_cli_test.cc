// SPDX-License-Identifier: BSD-3-Clause
// `rigpose detect` and `rigpose model`: the Pose2Sim demo with MoveNet imported from the shared
// data (2D against the OpenPose detections shipped with it, then triangulated against the
// reference TRC), output formats on a synthetic capture, and bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include "cli/cli.h"
#include "core/error.h"
#include "data/npy.h"
#include "data/openpose_json.h"
#include "data/poses_io.h"
#include "detect2d/model.h"
#include "tests/cli/rigpose_process.h"
#include "tests/test_util.h"

namespace rigpose {
namespace {

namespace fs = std::filesystem;
using test::Rigpose;

double Median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A tiny synthetic capture (2 cameras, 4 frames, mp4) shared by the tests of this process.
std::string SynthCapture() {
  static std::string dir;
  if (!dir.empty()) return dir;
  dir = test::ScratchDir("detect_synth") + "/capture";
  const test::Outcome r = Rigpose("synth --out " + dir +
                                  " --cameras 2 --frames 4 --resolution 160x120 --format mp4 "
                                  "--calib none --quiet");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return dir;
}

// A small untrained native model (fast on CPU).
std::string TinyModel() {
  static std::string path;
  if (!path.empty()) return path;
  path = test::ScratchDir("detect_tiny_model") + "/tiny.rpm";
  ModelInfo info;
  info.input_width = info.input_height = 64;
  info.dropout = 0.2;
  CreateNativeModel(path, info, 5);
  return path;
}

TEST(DetectCli, Pose2SimMoveNetAgainstOpenPoseAndReference) {
  RIGPOSE_SKIP_IF_NO_DATA(tfjs, "movenet_singlepose_lightning_tfjs");
  RIGPOSE_SKIP_IF_NO_DATA(demo, "pose2sim_demo");
  const std::string trial = demo + "/S00_P00_SingleParticipant/S00_P00_T01_BalancingTrial";
  const std::string rig = demo + "/S00_Calibration/Calib_qualisys.toml";
  const std::string dir = test::ScratchDir("detect_pose2sim");
  cli::ModelCliOptions import;
  import.action = "import-movenet";
  import.input = tfjs;
  import.out = dir + "/movenet.rpm";
  std::ostringstream log;
  cli::RunModel(import, log);

  cli::DetectOptions options;
  options.model = import.out;
  options.videos = trial + "/videos";
  options.rig = rig;
  options.out = dir + "/keypoints.npy";
  options.quiet = true;
  const cli::DetectSummary summary = cli::RunDetect(options, log, log);
  EXPECT_EQ(summary.num_frames, 100);
  ASSERT_EQ(summary.num_cameras, 4);
  std::printf("%s", log.str().c_str());

  // 2D: median distance to the OpenPose BODY_25B detections (first 17 = COCO-17) per camera,
  // joints with confidence >= 0.3 in both.
  const Keypoints2D ours = ReadKeypointsNpy(options.out);
  const Rig calibration = ReadRig(rig);
  OpenPoseReadOptions read_options;
  read_options.skeleton = "body25b";
  const Keypoints2D openpose =
      ReadOpenPoseTree(trial + "/pose-associated", &calibration, read_options, nullptr);
  ASSERT_EQ(openpose.num_cameras(), 4);
  for (int c = 0; c < 4; ++c) {
    std::vector<double> distances;
    for (int f = 0; f < std::min(100, openpose.num_frames()); ++f) {
      for (int j = 0; j < 17; ++j) {
        if (ours.score(f, c, j) < 0.3f || openpose.score(f, c, j) < 0.3f) continue;
        distances.push_back(std::hypot(ours.x(f, c, j) - openpose.x(f, c, j),
                                       ours.y(f, c, j) - openpose.y(f, c, j)));
      }
    }
    const double median = Median(distances);
    std::printf("MoveNet vs OpenPose, %s: median %.1f px over %zu joints\n",
                calibration.cameras[c].name.c_str(),
                median,
                distances.size());
    RecordProperty("median_px_" + calibration.cameras[c].name, std::to_string(median));
    EXPECT_GT(distances.size(), 1000u) << calibration.cameras[c].name;
    EXPECT_LE(median, 20.0) << calibration.cameras[c].name;
  }

  // 3D: weighted DLT, as Pose2Sim, then MPJPE on the joints MoveNet and the TRC share.
  cli::TriangulateOptions tri;
  tri.rig = rig;
  tri.keypoints = options.out;
  tri.out = dir + "/poses.npy";
  tri.skeleton = "coco17";
  tri.method = "weighted";
  tri.refine = "none";
  tri.no_distortion = true;
  tri.quiet = true;
  cli::RunTriangulate(tri, log, log);
  const Poses3D poses = ReadPosesNpy(tri.out);
  PosesReadOptions y_up;
  y_up.y_up = true;
  const Poses3D reference = ReadTrc(trial + "/pose-3d/S00_P00_T01_BalancingTrial_0-100.trc", y_up);
  const std::map<std::string, int> coco = {{"Nose", 0},
                                           {"LShoulder", 5},
                                           {"RShoulder", 6},
                                           {"LElbow", 7},
                                           {"RElbow", 8},
                                           {"LWrist", 9},
                                           {"RWrist", 10},
                                           {"LHip", 11},
                                           {"RHip", 12},
                                           {"LKnee", 13},
                                           {"RKnee", 14},
                                           {"LAnkle", 15},
                                           {"RAnkle", 16}};
  double sum = 0;
  int count = 0;
  for (const auto& [marker, joint] : coco) {
    const auto it = std::find(reference.joint_names.begin(), reference.joint_names.end(), marker);
    ASSERT_NE(it, reference.joint_names.end()) << marker;
    const int k = static_cast<int>(it - reference.joint_names.begin());
    double joint_sum = 0;
    int joint_count = 0;
    for (int f = 0; f < std::min(poses.num_frames(), reference.num_frames()); ++f) {
      if (!poses.IsValid(f, joint) || !reference.IsValid(f, k)) continue;
      joint_sum += (poses.Position(f, joint) - reference.Position(f, k)).norm();
      ++joint_count;
    }
    std::printf("  %-10s %.1f mm\n", marker.c_str(), 1000 * joint_sum / std::max(1, joint_count));
    sum += joint_sum;
    count += joint_count;
  }
  const double mpjpe_mm = 1000 * sum / count;
  std::printf("MoveNet + weighted DLT vs Pose2Sim reference: MPJPE %.1f mm over %d joints\n",
              mpjpe_mm,
              count);
  RecordProperty("mpjpe_mm", std::to_string(mpjpe_mm));
  EXPECT_GT(count, 1200);
  // The goal is 30 mm; MoveNet's COCO joints are not OpenPose's BODY_25B joints (hips,
  // nose), so this guards against regressions only.
  EXPECT_LT(mpjpe_mm, 60.0);
}

TEST(DetectCli, SyntheticOutputsNpyAndOpenPose) {
  const std::string capture = SynthCapture();
  const std::string dir = test::ScratchDir("detect_outputs");
  const std::string model = TinyModel();
  test::Outcome r = Rigpose("detect --model " + model + " --videos " + capture + "/videos --rig " +
                            capture + "/rig.yaml --out " + dir + "/kp.npy --quiet --mc-dropout 3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(Contains(r.output, "cam_01")) << r.output;
  const Keypoints2D npy = ReadKeypointsNpy(dir + "/kp.npy");
  EXPECT_EQ(npy.num_frames(), 4);
  EXPECT_EQ(npy.num_cameras(), 2);
  EXPECT_EQ(npy.num_joints(), 17);
  const NpyArray variance = ReadNpy(dir + "/kp.variance.npy");
  EXPECT_EQ(variance.shape, (std::vector<int64_t>{4, 2, 17}));

  // OpenPose tree: the same numbers, readable by `rigpose triangulate`'s reader.
  r = Rigpose("detect --model " + model + " --videos " + capture + "/videos --rig " + capture +
              "/rig.yaml --out " + dir + "/openpose --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const Rig rig = ReadRig(capture + "/rig.yaml");
  OpenPoseReadOptions read_options;
  read_options.skeleton = "coco17";
  const Keypoints2D tree = ReadOpenPoseTree(dir + "/openpose", &rig, read_options, nullptr);
  ASSERT_EQ(tree.num_frames(), 4);
  for (int f = 0; f < 4; ++f) {
    for (int c = 0; c < 2; ++c) {
      for (int j = 0; j < 17; ++j) {
        EXPECT_NEAR(tree.x(f, c, j), npy.x(f, c, j), 1e-3);
        EXPECT_NEAR(tree.score(f, c, j), npy.score(f, c, j), 1e-5);
      }
    }
  }
  // Frame range options.
  r = Rigpose("detect --model " + model + " --videos " + capture + "/videos --out " + dir +
              "/range.npy --first-frame 1 --max-frames 2 --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(ReadKeypointsNpy(dir + "/range.npy").num_frames(), 2);
}

TEST(DetectCli, BadInput) {
  const std::string capture = SynthCapture();
  const std::string dir = test::ScratchDir("detect_bad");
  const std::string model = TinyModel();
  const std::string videos = " --videos " + capture + "/videos";

  // A model file of the wrong kind.
  test::WriteText(dir + "/notamodel.rpm", "hello");
  test::Outcome r =
      Rigpose("detect --model " + dir + "/notamodel.rpm" + videos + " --out " + dir + "/a.npy");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(Contains(r.output, "notamodel.rpm")) << r.output;
  // No source, two sources, unknown decoder, CUDA where none exists.
  r = Rigpose("detect --model " + model + " --out " + dir + "/a.npy");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = Rigpose("detect --model " + model + videos + " --images " + dir + " --out " + dir + "/a.npy");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = Rigpose("detect --model " + model + videos + " --decoder magic --out " + dir + "/a.npy");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  // Unreadable video.
  fs::create_directories(dir + "/garbage");
  test::WriteText(dir + "/garbage/cam_01.mp4", "not a video");
  r = Rigpose("detect --model " + model + " --videos " + dir + "/garbage --out " + dir +
              "/a.npy --quiet");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(Contains(r.output, "cam_01.mp4")) << r.output;
  // A rig camera without a video.
  fs::create_directories(dir + "/one");
  fs::copy_file(capture + "/videos/cam_01.mp4", dir + "/one/cam_01.mp4");
  r = Rigpose("detect --model " + model + " --videos " + dir + "/one --rig " + capture +
              "/rig.yaml --out " + dir + "/a.npy --quiet");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(Contains(r.output, "cam_02")) << r.output;
  // A frame size that changes mid-stream (image folders): error naming camera and frame.
  for (const std::string camera : {"cam_01", "cam_02"}) {
    fs::create_directories(dir + "/images/" + camera);
    for (int f = 0; f < 3; ++f) {
      const cv::Size size = camera == "cam_02" && f == 2 ? cv::Size(80, 60) : cv::Size(160, 120);
      char name[32];
      std::snprintf(name, sizeof(name), "/%06d.png", f);
      cv::imwrite(dir + "/images/" + camera + name, cv::Mat(size, CV_8UC3, cv::Scalar::all(90)));
    }
  }
  r = Rigpose("detect --model " + model + " --images " + dir + "/images --out " + dir +
              "/a.npy --quiet");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(Contains(r.output, "cam_02")) << r.output;
  EXPECT_TRUE(Contains(r.output, "80x60")) << r.output;
  // Nothing half-written by any of the failures above.
  EXPECT_FALSE(fs::exists(dir + "/a.npy"));
  EXPECT_FALSE(fs::exists(dir + "/a.variance.npy"));
  // An output folder that is not empty.
  r = Rigpose("detect --model " + model + videos + " --out " + dir + "/images --quiet");
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

TEST(DetectCli, LostCameraReacquiredFromOtherViews3D) {
  RIGPOSE_SKIP_IF_NO_DATA(tfjs, "movenet_singlepose_lightning_tfjs");
  RIGPOSE_SKIP_IF_NO_DATA(demo, "pose2sim_demo");
  const std::string trial = demo + "/S00_P00_SingleParticipant/S00_P00_T01_BalancingTrial";
  const std::string dir = test::ScratchDir("detect_track3d");
  // Six frames of each video as image folders; cam04's frame 3 is black (the person is lost).
  for (int c = 1; c <= 4; ++c) {
    const std::string name = "cam0" + std::to_string(c);
    cv::VideoCapture video(trial + "/videos/" + name + ".mp4", cv::CAP_FFMPEG);
    ASSERT_TRUE(video.isOpened());
    for (const std::string variant : {"clean", "lost"}) {
      fs::create_directories(dir + "/" + variant + "/" + name);
    }
    for (int f = 0; f < 6; ++f) {
      cv::Mat image;
      ASSERT_TRUE(video.read(image));
      const std::string file = "/" + name + "/" + std::to_string(f) + ".png";
      cv::imwrite(dir + "/clean" + file, image);
      if (c == 4 && f == 3) image.setTo(cv::Scalar::all(0));
      cv::imwrite(dir + "/lost" + file, image);
    }
  }
  ASSERT_EQ(
      Rigpose("model import movenet --tfjs " + tfjs + " --out " + dir + "/movenet.rpm").exit_code,
      0);
  cli::DetectOptions options;
  options.model = dir + "/movenet.rpm";
  options.rig = demo + "/S00_Calibration/Calib_qualisys.toml";
  options.quiet = true;
  std::ostringstream log;
  options.images = dir + "/clean";
  options.out = dir + "/clean.npy";
  cli::RunDetect(options, log, log);
  options.images = dir + "/lost";
  options.out = dir + "/lost.npy";
  const cli::DetectSummary tracked = cli::RunDetect(options, log, log);
  options.track_3d = false;
  options.out = dir + "/lost_2d.npy";
  const cli::DetectSummary untracked = cli::RunDetect(options, log, log);
  // One whole-frame search per camera at the start; after the loss, cam04's next crop comes
  // from the 3D of the three other cameras instead of another whole-frame search.
  EXPECT_EQ(tracked.full_frame_searches, 4) << log.str();
  EXPECT_EQ(tracked.boxes_from_3d, 1) << log.str();
  EXPECT_EQ(untracked.full_frame_searches, 5) << log.str();
  EXPECT_EQ(untracked.boxes_from_3d, 0);
  const Keypoints2D clean = ReadKeypointsNpy(dir + "/clean.npy");
  const Keypoints2D lost = ReadKeypointsNpy(dir + "/lost.npy");
  for (int j = 0; j < 17; ++j) EXPECT_FALSE(lost.IsPresent(3, 3, j)) << "black frame, joint " << j;
  std::vector<double> distances;
  for (int j = 0; j < 17; ++j) {
    if (!lost.IsPresent(4, 3, j) || !clean.IsPresent(4, 3, j)) continue;
    distances.push_back(
        std::hypot(lost.x(4, 3, j) - clean.x(4, 3, j), lost.y(4, 3, j) - clean.y(4, 3, j)));
  }
  EXPECT_GE(distances.size(), 12u);
  EXPECT_LT(Median(distances), 15.0) << "re-acquired frame differs from the clean run";
}

TEST(DetectCli, EmptyFramesAreInvalidNotErrors) {
  RIGPOSE_SKIP_IF_NO_DATA(tfjs, "movenet_singlepose_lightning_tfjs");
  const std::string dir = test::ScratchDir("detect_empty");
  ASSERT_EQ(
      Rigpose("model import movenet --tfjs " + tfjs + " --out " + dir + "/movenet.rpm").exit_code,
      0);
  // Black frames: no person, every joint missing (score 0), exit 0.
  for (const std::string camera : {"a", "b"}) {
    fs::create_directories(dir + "/images/" + camera);
    for (int f = 0; f < 2; ++f) {
      cv::imwrite(dir + "/images/" + camera + "/" + std::to_string(f) + ".png",
                  cv::Mat(240, 320, CV_8UC3, cv::Scalar::all(0)));
    }
  }
  const test::Outcome r = Rigpose("detect --model " + dir + "/movenet.rpm --images " + dir +
                                  "/images --out " + dir + "/kp.npy --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const Keypoints2D kp = ReadKeypointsNpy(dir + "/kp.npy");
  ASSERT_EQ(kp.num_frames(), 2);
  for (int f = 0; f < 2; ++f) {
    for (int c = 0; c < 2; ++c) {
      for (int j = 0; j < 17; ++j) EXPECT_FALSE(kp.IsPresent(f, c, j));
    }
  }
}

TEST(ModelCli, InfoCreateAndBadInput) {
  const std::string dir = test::ScratchDir("model_cli");
  test::Outcome r = Rigpose("model create --arch simplebaseline-r18 --input-size 64x64 --out " +
                            dir + "/m.rpm --dropout 0.1 --aleatoric");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = Rigpose("model info " + dir + "/m.rpm");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(Contains(r.output, "simplebaseline-r18")) << r.output;
  EXPECT_TRUE(Contains(r.output, "aleatoric")) << r.output;
  r = Rigpose("model create --arch vgg --out " + dir + "/x.rpm");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = Rigpose("model create --input-size 64by64 --out " + dir + "/x.rpm");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = Rigpose("model create --skeleton nope --out " + dir + "/x.rpm");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_FALSE(fs::exists(dir + "/x.rpm"));
  r = Rigpose("model info " + dir + "/absent.rpm");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  r = Rigpose("model import movenet --tfjs " + dir + "/nothing --out " + dir + "/x.rpm");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(Contains(r.output, "nothing")) << r.output;
}

}  // namespace
}  // namespace rigpose

// SPDX-License-Identifier: BSD-3-Clause
// viewer/overlay.h (drawing, distances, tiling) and `rigpose overlay` (cli/overlay.h) on a tiny
// synthetic capture with exact ground truth, plus the Pose2Sim demo when the shared data exists.
#include "viewer/overlay.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include "cli/cli.h"
#include "cli/overlay.h"
#include "core/error.h"
#include "data/calib_io.h"
#include "data/npy.h"
#include "data/poses_io.h"
#include "tests/test_util.h"
#include "tests/viewer/viewer_fixtures.h"

namespace rigpose {
namespace {

namespace fs = std::filesystem;

cv::Vec3b Bgr(const Eigen::Vector3f& rgb) {
  const auto byte = [](float v) { return static_cast<uchar>(std::lround(v * 255.0f)); };
  return cv::Vec3b(byte(rgb[2]), byte(rgb[1]), byte(rgb[0]));
}

bool SameColour(const cv::Vec3b& a, const cv::Vec3b& b, int tolerance = 2) {
  for (int i = 0; i < 3; ++i) {
    if (std::abs(static_cast<int>(a[i]) - static_cast<int>(b[i])) > tolerance) return false;
  }
  return true;
}

// `rigpose synth --cameras 2 --frames 4 --resolution 320x240 --format png --calib none`.
std::string MakeCapture(const std::string& scratch) {
  cli::SynthCliOptions synth;
  synth.out = scratch + "/capture";
  synth.cameras = 2;
  synth.frames = 4;
  synth.resolution = "320x240";
  synth.format = "png";
  synth.calib = "none";
  synth.quiet = true;
  std::ostringstream ignored;
  cli::RunSynth(synth, ignored, ignored);
  return synth.out;
}

cli::OverlayOptions CaptureOptions(const std::string& capture, const std::string& out) {
  cli::OverlayOptions options;
  options.rig = capture + "/rig.yaml";
  options.poses = capture + "/gt/subject_00/poses3d.npy";
  options.images = capture + "/images";
  options.keypoints = capture + "/gt/subject_00/keypoints2d.npy";
  options.out = out;
  options.quiet = true;
  return options;
}

// Joints whose disc does not touch another joint's disc (their centre pixel keeps the colour).
std::vector<bool> IsolatedJoints(const std::vector<std::optional<Eigen::Vector2d>>& img_points,
                                 double min_separation_px) {
  std::vector<bool> isolated(img_points.size(), false);
  for (size_t j = 0; j < img_points.size(); ++j) {
    if (!img_points[j]) continue;
    isolated[j] = true;
    for (size_t k = 0; k < img_points.size(); ++k) {
      if (k != j && img_points[k] && (*img_points[k] - *img_points[j]).norm() < min_separation_px) {
        isolated[j] = false;
      }
    }
  }
  return isolated;
}

TEST(DrawReprojectedSkeleton, JointsLandOnProjectedPixels) {
  const Rig rig = test::MakeViewerRig();
  const Skeleton& skeleton = GetSkeleton("coco17");
  // A standing figure: joints spread over a 1 m x 1.6 m box around the origin.
  std::vector<Eigen::Vector3d> joints(skeleton.NumJoints());
  for (int j = 0; j < skeleton.NumJoints(); ++j) {
    joints[j] = Eigen::Vector3d(0.3 * std::sin(1.7 * j), 0.3 * std::cos(2.3 * j), 0.1 * j);
  }
  std::vector<bool> valid(joints.size(), true);
  valid[3] = false;
  OverlayStyle style;
  for (const Camera& camera : rig.cameras) {
    SCOPED_TRACE(camera.name);
    cv::Mat image(camera.height, camera.width, CV_8UC3, cv::Scalar(0, 0, 0));
    const auto img_points = ProjectJoints(camera, joints, valid);
    EXPECT_FALSE(img_points[3].has_value());
    DrawReprojectedSkeleton(skeleton, img_points, style, &image);
    const std::vector<bool> isolated = IsolatedJoints(img_points, 12.0);
    int checked = 0;
    for (int j = 0; j < skeleton.NumJoints(); ++j) {
      if (!isolated[j] || !camera.IsInImage(*img_points[j])) continue;
      const int x = static_cast<int>(std::lround(img_points[j]->x()));
      const int y = static_cast<int>(std::lround(img_points[j]->y()));
      EXPECT_TRUE(SameColour(image.at<cv::Vec3b>(y, x), Bgr(style.skeleton_colour)))
          << "joint " << j << " at " << x << "," << y;
      ++checked;
    }
    EXPECT_GE(checked, 5);
  }
}

TEST(DrawKeypoints2D, CrossesCentredOnKeypoints) {
  Keypoints2D keypoints(1, 1, 3);
  keypoints.Set(0, 0, 0, 40.0f, 30.0f, 0.9f);
  keypoints.Set(0, 0, 1, 100.0f, 60.0f, 0.1f);  // below min_score: not drawn
  keypoints.Set(0, 0, 2, 150.3f, 90.7f, 1.0f);
  cv::Mat image(120, 200, CV_8UC3, cv::Scalar(0, 0, 0));
  OverlayStyle style;
  DrawKeypoints2D(keypoints, 0, 0, style, &image);
  EXPECT_TRUE(SameColour(image.at<cv::Vec3b>(30, 40), Bgr(style.keypoint_colour), 40));
  EXPECT_TRUE(SameColour(image.at<cv::Vec3b>(91, 150), Bgr(style.keypoint_colour), 60));
  EXPECT_EQ(image.at<cv::Vec3b>(60, 100), cv::Vec3b(0, 0, 0));
  EXPECT_THROW(DrawKeypoints2D(keypoints, 1, 0, style, &image), std::invalid_argument);
}

TEST(ProjectJoints, NoDistortionUsesThePinholePart) {
  Camera camera = test::PinholeCamera("c", 640, 480, 500, 500, 320, 240, {3, 0, 1});
  camera.model_id = CameraModelId::kOpenCV;
  camera.params = {500, 500, 320, 240, -0.3, 0.1, 0, 0, 0};
  const std::vector<Eigen::Vector3d> joints = {{0.5, 0.5, 1.5}, {0, 0, 1}};
  const auto distorted = ProjectJoints(camera, joints, {true, true}, true);
  const auto pinhole = ProjectJoints(camera, joints, {true, true}, false);
  ASSERT_TRUE(distorted[0] && pinhole[0]);
  EXPECT_LT((*distorted[0] - *camera.ImgFromWorld(joints[0])).norm(), 1e-9);
  EXPECT_LT((*pinhole[0] - *PinholePart(camera).ImgFromWorld(joints[0])).norm(), 1e-9);
  EXPECT_GT((*distorted[0] - *pinhole[0]).norm(), 1.0);
  EXPECT_THROW(ProjectJoints(camera, joints, {true}, true), std::invalid_argument);
}

TEST(MedianOf, OddEvenEmpty) {
  EXPECT_DOUBLE_EQ(MedianOf({3, 1, 2}), 2.0);
  EXPECT_DOUBLE_EQ(MedianOf({4, 1, 3, 2}), 2.5);
  EXPECT_TRUE(std::isnan(MedianOf({})));
}

TEST(TileLayout, GridOfEvenCells) {
  OverlayStyle style;
  const TileLayout layout =
      ComputeTileLayout({cv::Size(1080, 1920), cv::Size(1088, 1920), cv::Size(1088, 1921)}, style);
  EXPECT_EQ(layout.columns, 2);
  EXPECT_EQ(layout.rows, 2);
  EXPECT_EQ(layout.cell_width, 1088);
  EXPECT_EQ(layout.cell_height, 1922);
  EXPECT_EQ(layout.Origin(2), cv::Point(0, 1922));
  style.tile_scale = 0.25;
  style.grid_columns = 3;
  const TileLayout small = ComputeTileLayout({cv::Size(101, 51)}, style);
  EXPECT_EQ(small.columns, 1);
  EXPECT_EQ(small.cell_width % 2, 0);
  EXPECT_EQ(small.cell_height % 2, 0);
  style.tile_scale = 0;
  EXPECT_THROW(ComputeTileLayout({cv::Size(10, 10)}, style), UsageError);
  EXPECT_THROW(ComputeTileLayout({}, OverlayStyle()), UsageError);
}

TEST(RunOverlay, SyntheticMedianBelowHalfPixel) {
  const std::string scratch = test::ScratchDir("overlay");
  const std::string capture = MakeCapture(scratch);
  std::ostringstream log;
  const cli::OverlaySummary summary =
      cli::RunOverlay(CaptureOptions(capture, scratch + "/out"), log);
  EXPECT_EQ(summary.num_frames, 4);
  ASSERT_EQ(summary.cameras.size(), 2u);
  for (const cli::OverlayCameraStats& stats : summary.cameras) {
    SCOPED_TRACE(stats.name);
    EXPECT_GT(stats.num_pairs, 20);
    EXPECT_LT(stats.median_px, 0.5);
  }
  EXPECT_NE(log.str().find("cam_01: median"), std::string::npos) << log.str();
  ASSERT_EQ(summary.outputs.size(), 4u);
  EXPECT_TRUE(fs::exists(scratch + "/out/frame_000003.png"));
  // Only the PNGs and the report: no temporary file left behind.
  EXPECT_EQ(test::CountEntries(scratch + "/out"), 5);
  const nlohmann::json report = nlohmann::json::parse(test::ReadText(summary.report_path));
  ASSERT_EQ(report["cameras"].size(), 2u);
  EXPECT_EQ(report["cameras"][0]["name"], "cam_01");
  EXPECT_LT(report["cameras"][0]["median_px"].get<double>(), 0.5);
  EXPECT_EQ(report["num_frames"], 4);
}

TEST(RunOverlay, DrawnJointsWhereTheRigProjectsThem) {
  const std::string scratch = test::ScratchDir("overlay");
  const std::string capture = MakeCapture(scratch);
  cli::OverlayOptions options = CaptureOptions(capture, scratch + "/out");
  options.keypoints.clear();  // the crosses would cover the joint centres
  options.frames = "1:3";
  std::ostringstream log;
  const cli::OverlaySummary summary = cli::RunOverlay(options, log);
  ASSERT_EQ(summary.outputs.size(), 2u);
  EXPECT_EQ(summary.first_frame, 1);
  EXPECT_TRUE(fs::exists(scratch + "/out/frame_000002.png"));
  EXPECT_FALSE(fs::exists(scratch + "/out/frame_000000.png"));

  const Rig rig = ReadRig(capture + "/rig.yaml");
  const Poses3D poses = ReadPosesNpy(options.poses);
  const cv::Mat mosaic = cv::imread(scratch + "/out/frame_000002.png");
  ASSERT_FALSE(mosaic.empty());
  ASSERT_EQ(mosaic.cols, 640);  // two 320-wide tiles side by side
  const OverlayStyle style;
  std::vector<Eigen::Vector3d> joints;
  std::vector<bool> valid;
  for (int j = 0; j < poses.num_joints(); ++j) {
    joints.push_back(poses.Position(2, j));
    valid.push_back(poses.IsValid(2, j));
  }
  int checked = 0;
  for (int c = 0; c < rig.NumCameras(); ++c) {
    SCOPED_TRACE(rig.cameras[c].name);
    const auto img_points = ProjectJoints(rig.cameras[c], joints, valid);
    const std::vector<bool> isolated = IsolatedJoints(img_points, 9.0);
    for (size_t j = 0; j < joints.size(); ++j) {
      // Skip joints under the caption box (top-left corner).
      if (!isolated[j] || !rig.cameras[c].IsInImage(*img_points[j]) || img_points[j]->y() < 40) {
        continue;
      }
      const int x = c * 320 + static_cast<int>(std::lround(img_points[j]->x()));
      const int y = static_cast<int>(std::lround(img_points[j]->y()));
      EXPECT_TRUE(SameColour(mosaic.at<cv::Vec3b>(y, x), Bgr(style.skeleton_colour)))
          << "joint " << j << " at " << x << "," << y << ": " << mosaic.at<cv::Vec3b>(y, x);
      ++checked;
    }
  }
  EXPECT_GE(checked, 6);
}

TEST(RunOverlay, NoDistortionMovesTheDistortedCamera) {
  const std::string scratch = test::ScratchDir("overlay");
  const std::string capture = MakeCapture(scratch);
  const Rig rig = ReadRig(capture + "/rig.yaml");
  if (rig.cameras[0].MaxDistortionPx() < 2.0) {
    GTEST_SKIP() << "cam_01 has no noticeable distortion";
  }
  // The person stands near the image centre, where distortion is small: compare both runs.
  cli::OverlayOptions options = CaptureOptions(capture, scratch + "/out");
  std::ostringstream log;
  const double full_model_px = cli::RunOverlay(options, log).cameras[0].median_px;
  options.no_distortion = true;
  const double pinhole_px = cli::RunOverlay(options, log).cameras[0].median_px;
  EXPECT_LT(full_model_px, 1e-3);
  EXPECT_GT(pinhole_px, 0.01);
  EXPECT_GT(pinhole_px, 100 * full_model_px);
}

TEST(RunOverlay, Mp4) {
  const std::string scratch = test::ScratchDir("overlay");
  const std::string capture = MakeCapture(scratch);
  cli::OverlayOptions options = CaptureOptions(capture, scratch + "/out");
  options.format = "mp4";
  std::ostringstream log;
  const cli::OverlaySummary summary = cli::RunOverlay(options, log);
  ASSERT_EQ(summary.outputs.size(), 1u);
  EXPECT_EQ(test::CountEntries(scratch + "/out"), 2);  // overlay.mp4 + report
  cv::VideoCapture video(scratch + "/out/overlay.mp4");
  ASSERT_TRUE(video.isOpened());
  cv::Mat frame;
  int frames = 0;
  while (video.read(frame)) {
    EXPECT_EQ(frame.cols, 640);
    EXPECT_EQ(frame.rows, 240);
    ++frames;
  }
  EXPECT_EQ(frames, 4);
}

TEST(RunOverlay, PosesShorterThanTheFrames) {
  const std::string scratch = test::ScratchDir("overlay");
  const std::string capture = MakeCapture(scratch);
  const Poses3D poses = ReadPosesNpy(capture + "/gt/subject_00/poses3d.npy");
  Poses3D short_poses(2, poses.num_joints());
  for (int f = 0; f < 2; ++f) {
    for (int j = 0; j < poses.num_joints(); ++j) short_poses.Set(f, j, poses.Position(f, j));
  }
  WritePosesNpy(scratch + "/short.npy", short_poses);
  cli::OverlayOptions options = CaptureOptions(capture, scratch + "/out");
  options.poses = scratch + "/short.npy";
  std::ostringstream log;
  EXPECT_EQ(cli::RunOverlay(options, log).num_frames, 2);
  EXPECT_NE(log.str().find("has 2 frames but"), std::string::npos) << log.str();
  options.frames = "0:4";
  test::ExpectError<InputError>([&] { cli::RunOverlay(options, log); },
                                {"short.npy", "2 frames", "--frames 0:4"});
}

TEST(RunOverlay, BadArgs) {
  const std::string scratch = test::ScratchDir("overlay");
  const std::string capture = MakeCapture(scratch);
  const cli::OverlayOptions good = CaptureOptions(capture, scratch + "/out");
  std::ostringstream log;
  const auto run = [&](const cli::OverlayOptions& options) { cli::RunOverlay(options, log); };
  {
    cli::OverlayOptions o = good;
    o.videos = capture + "/images";
    test::ExpectError<UsageError>([&] { run(o); }, {"exactly one of --images"});
  }
  {
    cli::OverlayOptions o = good;
    o.format = "gif";
    test::ExpectError<UsageError>([&] { run(o); }, {"gif"});
  }
  {
    cli::OverlayOptions o = good;
    o.frames = "2:9";
    test::ExpectError<UsageError>([&] { run(o); }, {"--frames 2:9", "0:4"});
  }
  {
    cli::OverlayOptions o = good;
    o.frames = "x";
    test::ExpectError<UsageError>([&] { run(o); }, {"--frames 'x'"});
  }
  {
    // Poses with 19 joints for a 17-joint skeleton.
    Poses3D poses(4, 19);
    WritePosesNpy(scratch + "/wrong.npy", poses);
    cli::OverlayOptions o = good;
    o.poses = scratch + "/wrong.npy";
    o.skeleton = "coco17";
    test::ExpectError<InputError>([&] { run(o); }, {"wrong.npy", "19 joints", "coco17", "17"});
  }
  {
    // A rig camera without an image folder.
    fs::create_directories(scratch + "/one");
    fs::copy(capture + "/images/cam_01", scratch + "/one/cam_01", fs::copy_options::recursive);
    cli::OverlayOptions o = good;
    o.images = scratch + "/one";
    test::ExpectError<InputError>([&] { run(o); }, {"cam_02", "one"});
  }
  {
    // A rig without cameras.
    std::string text = test::ReadText(capture + "/rig.yaml");
    text = text.substr(0, text.find("cameras:")) + "cameras: []\n";
    test::WriteText(scratch + "/empty_rig.yaml", text);
    cli::OverlayOptions o = good;
    o.rig = scratch + "/empty_rig.yaml";
    try {
      run(o);
      ADD_FAILURE() << "no exception";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("empty_rig.yaml"), std::string::npos) << e.what();
    }
  }
  {
    // Keypoints for another number of cameras.
    Keypoints2D keypoints(4, 3, 17);
    WriteKeypointsNpy(scratch + "/kp3.npy", keypoints);
    cli::OverlayOptions o = good;
    o.keypoints = scratch + "/kp3.npy";
    test::ExpectError<InputError>([&] { run(o); }, {"kp3.npy", "3 cameras", "has 2"});
  }
  EXPECT_FALSE(fs::exists(scratch + "/out/frame_000000.png"));
}

// Acceptance on real data: Pose2Sim's reference 3D (TRC, Y-up, 21 named markers) reprojected into
// its four videos (1080 or 1088 wide, calibrated at 1088) lies on the person: the median distance
// to the OpenPose BODY_25B joints (score >= 0.3) per camera is what an independent computation
// gives (tests/data/real_data_test.cc: 11.4, 7.9, 17.2, 9.1 px).
TEST(RunOverlay, Pose2SimDemoReprojectionOnThePerson) {
  RIGPOSE_SKIP_IF_NO_DATA(demo, "pose2sim_demo");
  const std::string trial = demo + "/S00_P00_SingleParticipant/S00_P00_T01_BalancingTrial";
  const std::string scratch = test::ScratchDir("overlay");
  cli::OverlayOptions options;
  options.rig = demo + "/S00_Calibration/Calib_qualisys.toml";
  options.poses = trial + "/pose-3d/S00_P00_T01_BalancingTrial_0-100.trc";
  options.y_up = true;
  options.videos = trial + "/videos";
  options.keypoints = trial + "/pose-associated";
  options.skeleton = "body25b";
  options.out = scratch + "/out";
  options.format = "mp4";
  options.scale = 0.25;
  options.quiet = true;
  std::ostringstream log;
  const cli::OverlaySummary summary = cli::RunOverlay(options, log);
  std::cout << log.str();
  EXPECT_EQ(summary.num_frames, 100);
  EXPECT_EQ(summary.num_joints_drawn, 21);
  const double expected_median_px[4] = {11.4, 7.9, 17.2, 9.1};
  ASSERT_EQ(summary.cameras.size(), 4u);
  for (int c = 0; c < 4; ++c) {
    SCOPED_TRACE(summary.cameras[c].name);
    EXPECT_GT(summary.cameras[c].num_pairs, 1500);
    EXPECT_NEAR(summary.cameras[c].median_px, expected_median_px[c], 0.3);
  }
}

}  // namespace
}  // namespace rigpose

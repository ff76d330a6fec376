// SPDX-License-Identifier: BSD-3-Clause
// Real third-party files in ../shared/data load and agree with what their authors measured.
// Every test skips cleanly when the data is absent.
#include <cmath>
#include <fstream>
#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/calib3d.hpp>

#include "data/calib_io.h"
#include "data/openpose_json.h"
#include "data/poses_io.h"
#include "tests/test_util.h"
#include "triangulate/reprojection.h"

namespace rigpose {
namespace {

constexpr const char* kPose2SimCalib = "pose2sim_demo/S00_Calibration/Calib_qualisys.toml";
constexpr const char* kBalancing =
    "pose2sim_demo/S00_P00_SingleParticipant/S00_P00_T01_BalancingTrial";

TEST(Pose2SimDemo, QualisysCalibrationLoads) {
  RIGPOSE_SKIP_IF_NO_DATA(path, kPose2SimCalib);
  const Rig rig = ReadRig(path);
  EXPECT_EQ(rig.source_format, "pose2sim");
  ASSERT_EQ(rig.NumCameras(), 4);
  EXPECT_EQ(rig.cameras[0].name, "cam_01");
  EXPECT_EQ(rig.cameras[3].name, "cam_04");
  EXPECT_EQ(rig.cameras[0].width, 1088);
  EXPECT_EQ(rig.cameras[0].height, 1920);
  EXPECT_DOUBLE_EQ(rig.cameras[0].fx(), 1681.244873046875);
  EXPECT_DOUBLE_EQ(rig.cameras[0].params[4], -0.000721609375);  // k1
  EXPECT_EQ(rig.cameras[0].params[8], 0.0);                     // k3 absent in Pose2Sim
  // A lab-sized rig: cameras a few metres apart, 2 m high (Z up).
  EXPECT_GT(rig.MaxCameraSeparation(), 3.0);
  EXPECT_LT(rig.MaxCameraSeparation(), 10.0);
  for (const Camera& c : rig.cameras) EXPECT_NEAR(c.CenterInWorld().z(), 1.9, 0.3) << c.name;
  // The OpenPose folders cam01_json.. match the TOML's cam_01.. by normalised name.
  EXPECT_EQ(rig.MatchCamera("cam01").value(), 0);
}

// The reference TRC (Y-up, Pose2Sim axes) reprojected into the pose-associated OpenPose 2D with
// the pinhole cameras Pose2Sim used (distortion ignored), keypoints with confidence >= 0.3:
// per-camera medians 11.4 / 7.9 / 17.2 / 9.1 px (shared/data/pose2sim_demo/README.md).
TEST(Pose2SimDemo, ReferenceTrcReprojectsIntoOpenPose2D) {
  RIGPOSE_SKIP_IF_NO_DATA(calib_path, kPose2SimCalib);
  RIGPOSE_SKIP_IF_NO_DATA(trial, kBalancing);
  Rig rig = ReadRig(calib_path);
  for (Camera& c : rig.cameras) {
    c.model_id = CameraModelId::kPinhole;
    c.params.resize(4);
  }
  std::string trc_path;
  for (const auto& e : std::filesystem::directory_iterator(trial + "/pose-3d")) {
    const std::string name = e.path().filename().string();
    if (name.size() > 10 && name.substr(name.size() - 10) == "_0-100.trc")
      trc_path = e.path().string();
  }
  ASSERT_FALSE(trc_path.empty());
  PosesReadOptions trc_options;
  trc_options.y_up = true;
  const Poses3D poses = ReadTrc(trc_path, trc_options);
  ASSERT_EQ(poses.num_frames(), 100);
  ASSERT_EQ(poses.num_joints(), 21);

  OpenPoseReadOptions op_options;
  op_options.skeleton = "body25b";
  OpenPoseReadReport report;
  const Keypoints2D keypoints =
      ReadOpenPoseTree(trial + "/pose-associated", &rig, op_options, &report);
  ASSERT_EQ(keypoints.num_cameras(), 4);
  ASSERT_EQ(keypoints.num_frames(), 100);

  const std::map<std::string, int>& marker_to_body25b = test::Pose2SimMarkerToBody25b();
  std::vector<int> joint_map;
  for (const std::string& marker : poses.joint_names) {
    const auto it = marker_to_body25b.find(marker);
    ASSERT_NE(it, marker_to_body25b.end()) << marker;
    joint_map.push_back(it->second);
  }
  ReprojectionOptions options;
  options.min_score = 0.3f;
  const auto stats = ComputeReprojectionStats(rig, poses, keypoints, joint_map, options);
  const double expected_median_px[4] = {11.4, 7.9, 17.2, 9.1};
  for (int c = 0; c < 4; ++c) {
    SCOPED_TRACE(stats[c].camera);
    EXPECT_GT(stats[c].count, 1000);
    EXPECT_NEAR(stats[c].median_px, expected_median_px[c], 0.3)
        << "mean " << stats[c].mean_px << " count " << stats[c].count;
    std::cout << "[ reproj   ] " << stats[c].camera << ": median " << stats[c].median_px
              << " px, mean " << stats[c].mean_px << " px over " << stats[c].count << "\n";
  }
}

// CMU Panoptic: calibration in cm with a Y-down world, skeletons in the same frame. Read with
// the Z-up conversion, our projection must equal cv::projectPoints on the raw numbers.
TEST(PanopticBand1, SkeletonsProjectInsideHdImagesLikeOpenCV) {
  constexpr const char* kDir = "mmpose_testdata/panoptic_body3d/160906_band1";
  RIGPOSE_SKIP_IF_NO_DATA(dir, kDir);
  const std::string calib_path = dir + "/calibration_160906_band1.json";
  const std::string body_path = dir + "/hdPose3d_stage1_coco19/body3DScene_00000168.json";
  CalibReadOptions options;
  options.panoptic_camera_types = {"hd"};
  const Rig rig = ReadRig(calib_path, options);
  ASSERT_EQ(rig.NumCameras(), 31);
  EXPECT_EQ(rig.source_unit, LengthUnit::kCentimetre);
  const std::vector<Poses3D> bodies = ReadPanopticBodies(body_path);
  ASSERT_EQ(bodies.size(), 3u);

  // Raw numbers for OpenCV.
  std::ifstream calib_file(calib_path);
  const nlohmann::json calib = nlohmann::json::parse(calib_file);
  std::ifstream body_file(body_path);
  const nlohmann::json scene = nlohmann::json::parse(body_file);

  int inside = 0;
  int total = 0;
  double max_diff_px = 0.0;
  for (const auto& cam_json : calib["cameras"]) {
    if (cam_json["type"] != "hd") continue;
    const int index = rig.FindCamera(cam_json["name"].get<std::string>()).value();
    const Camera& camera = rig.cameras[index];
    cv::Mat k(3, 3, CV_64F);
    cv::Mat r(3, 3, CV_64F);
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) {
        k.at<double>(i, j) = cam_json["K"][i][j].get<double>();
        r.at<double>(i, j) = cam_json["R"][i][j].get<double>();
      }
    }
    cv::Mat rvec;
    cv::Rodrigues(r, rvec);
    cv::Mat tvec = (cv::Mat_<double>(3, 1) << cam_json["t"][0][0].get<double>(),
                    cam_json["t"][1][0].get<double>(),
                    cam_json["t"][2][0].get<double>());
    std::vector<double> dist = cam_json["distCoef"].get<std::vector<double>>();
    for (size_t b = 0; b < bodies.size(); ++b) {
      const std::vector<double> joints = scene["bodies"][b]["joints19"].get<std::vector<double>>();
      for (int j = 0; j < 19; ++j) {
        if (!bodies[b].IsValid(0, j)) continue;
        const std::vector<cv::Point3d> raw = {
            cv::Point3d(joints[j * 4], joints[j * 4 + 1], joints[j * 4 + 2])};
        // Only points in front of the camera (cv::projectPoints projects the others too).
        cv::Mat p = r * (cv::Mat_<double>(3, 1) << raw[0].x, raw[0].y, raw[0].z) + tvec;
        if (p.at<double>(2) <= 0) continue;
        std::vector<cv::Point2d> projected;
        cv::projectPoints(raw, rvec, tvec, k, dist, projected);
        const auto ours = camera.ImgFromWorld(bodies[b].Position(0, j));
        ASSERT_TRUE(ours.has_value());
        max_diff_px = std::max(max_diff_px,
                               std::hypot(ours->x() - projected[0].x, ours->y() - projected[0].y));
        ++total;
        inside += camera.IsInImage(*ours) ? 1 : 0;
      }
    }
  }
  EXPECT_LT(max_diff_px, 1e-6);
  EXPECT_GT(total, 1000);
  EXPECT_GT(static_cast<double>(inside) / total, 0.8) << inside << " / " << total;
  std::cout << "[ panoptic ] " << inside << " / " << total
            << " joint projections inside the HD images; max |ours - cv::projectPoints| = "
            << max_diff_px << " px\n";
  // Z-up: heads above feet.
  const Poses3D& body = bodies[0];
  EXPECT_GT(body.Position(0, 1).z(), body.Position(0, 8).z() + 1.0);  // nose above left ankle
}

TEST(Caliscope, CameraArrayLoads) {
  RIGPOSE_SKIP_IF_NO_DATA(path, "caliscope_4cam_charuco/4_cam_recording/camera_array.toml");
  const Rig rig = ReadRig(path);
  EXPECT_EQ(rig.source_format, "caliscope");
  ASSERT_EQ(rig.NumCameras(), 4);
  EXPECT_EQ(rig.cameras[1].name, "cam_1");
  EXPECT_NEAR(rig.cameras[1].CenterInWorld().norm(), 0.0, 0.01);  // camera 1 is the origin
  EXPECT_DOUBLE_EQ(rig.cameras[0].fx(), 894.5288733178912);
  EXPECT_EQ(rig.MatchCamera("cam_0").value(), 0);
}

}  // namespace
}  // namespace rigpose

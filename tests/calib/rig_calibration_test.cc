// SPDX-License-Identifier: BSD-3-Clause
// Multi-camera calibration on synthetic board views: rings of cameras where each board view is
// seen by a subset of the cameras only, detections = projected corners + noise.
#include "calib/rig_calibration.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <map>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "core/error.h"
#include "data/synth/capture.h"
#include "data/synth/synth_rig.h"
#include "tests/board_fixtures.h"

namespace rigpose {
namespace {

constexpr double kPi = 3.14159265358979323846;

BoardSpec Chessboard() { return test::MakeChessboard(9, 6, 0.08); }

struct Scene {
  Rig rig;
  BoardSpec board;
  std::vector<CameraDetections> detections;
  std::vector<Rigid3d> world_from_board;
  int num_views = 0;
};

// Boards along synth::BoardTrajectory; a camera sees a board when every corner projects inside
// the image and the printed face (board z < 0 side) faces it.
// bend_m > 0: a paper board that bends while waved: per frame, every corner moves along the
// board normal by a * (2u - 1)^2 (u: its column position in [0, 1]), a uniform in [-bend_m,
// bend_m].
Scene MakeScene(
    int num_cameras, int num_frames, double noise_px, uint64_t seed, double bend_m = 0.0) {
  Scene scene;
  synth::SynthRigOptions rig_options;
  rig_options.num_cameras = num_cameras;
  rig_options.seed = seed;
  scene.rig = synth::MakeSynthRig(rig_options);
  scene.board = Chessboard();
  scene.world_from_board =
      synth::BoardTrajectory(scene.rig, scene.board, num_frames, rig_options, seed + 1);
  const std::vector<Eigen::Vector3d> corners = BoardCornersInBoard(scene.board);
  std::mt19937 rng(static_cast<uint32_t>(seed + 2));
  std::normal_distribution<double> noise(0.0, noise_px);
  std::uniform_real_distribution<double> bend(-bend_m, bend_m);
  double max_x = 0.0;
  for (const Eigen::Vector3d& c : corners) max_x = std::max(max_x, c.x());
  std::vector<std::vector<Eigen::Vector3d>> frame_corners(num_frames, corners);
  for (int f = 0; f < num_frames && bend_m > 0.0; ++f) {
    const double a = bend(rng);
    for (Eigen::Vector3d& c : frame_corners[f]) {
      const double u = 2.0 * c.x() / max_x - 1.0;
      c.z() += a * u * u;
    }
  }
  for (const Camera& camera : scene.rig.cameras) {
    CameraDetections d;
    d.camera = camera.name;
    d.width = camera.width;
    d.height = camera.height;
    d.num_images = num_frames;
    for (int f = 0; f < num_frames; ++f) {
      const Rigid3d cam_from_board = camera.cam_from_world * scene.world_from_board[f];
      // Printed face towards the camera: the camera centre has board z < 0.
      const Eigen::Vector3d center_in_board = cam_from_board.Inverse().translation;
      if (center_in_board.z() >= 0.0) continue;
      BoardObservation obs;
      obs.frame = f;
      bool all_inside = true;
      for (size_t k = 0; k < corners.size() && all_inside; ++k) {
        const auto img = camera.ImgFromCam(cam_from_board * frame_corners[f][k]);
        all_inside = img && camera.IsInImage(*img);
        if (!all_inside) break;
        obs.corner_ids.push_back(static_cast<int>(k));
        obs.img_points.push_back(*img + Eigen::Vector2d(noise(rng), noise(rng)));
      }
      if (!all_inside) continue;
      d.observations.push_back(obs);
      ++scene.num_views;
    }
    scene.detections.push_back(d);
  }
  return scene;
}

std::vector<Camera> Intrinsics(const Rig& rig) {
  std::vector<Camera> cameras = rig.cameras;
  for (Camera& camera : cameras) camera.cam_from_world = Rigid3d();
  return cameras;
}

// Largest camera-centre distance and rotation difference (deg) between two rigs after mapping
// both into the frame of their first camera.
void CompareInFirstCamera(const Rig& truth,
                          const Rig& estimate,
                          double* center_m,
                          double* rot_deg) {
  *center_m = 0.0;
  *rot_deg = 0.0;
  const Rigid3d truth_world_from_cam0 = truth.cameras[0].cam_from_world.Inverse();
  const Rigid3d estimate_world_from_cam0 = estimate.cameras[0].cam_from_world.Inverse();
  for (size_t c = 0; c < truth.cameras.size(); ++c) {
    const Rigid3d a = truth.cameras[c].cam_from_world * truth_world_from_cam0;
    const Rigid3d b = estimate.cameras[c].cam_from_world * estimate_world_from_cam0;
    *center_m = std::max(*center_m, (a.Inverse().translation - b.Inverse().translation).norm());
    *rot_deg = std::max(*rot_deg, a.rotation.angularDistance(b.rotation) * 180.0 / kPi);
  }
}

TEST(CalibrateRig, EightCameraRingWithBoardsSeenBySubsets) {
  const Scene scene = MakeScene(8, 160, 0.2, 11);
  // Subsets only: no frame is seen by every camera.
  std::map<int, int> cameras_per_frame;
  for (const CameraDetections& d : scene.detections) {
    ASSERT_GT(d.observations.size(), 5u) << d.camera;
    for (const BoardObservation& o : d.observations) ++cameras_per_frame[o.frame];
  }
  int max_seen = 0;
  for (const auto& [frame, count] : cameras_per_frame) max_seen = std::max(max_seen, count);
  EXPECT_LT(max_seen, 8);

  const RigCalibrationResult result =
      CalibrateRig(scene.board, Intrinsics(scene.rig), scene.detections);
  double center_m = 0.0, rot_deg = 0.0;
  CompareInFirstCamera(scene.rig, result.rig, &center_m, &rot_deg);
  std::cout << "[ rig      ] 8 cameras, " << scene.num_views << " views, 0.2 px: centres "
            << 1e3 * center_m << " mm, rotations " << rot_deg << " deg, RMS " << result.rms_px
            << " px, " << result.summary.num_iterations << " iterations, " << result.summary.seconds
            << " s\n";
  EXPECT_LT(center_m, 2e-3);
  EXPECT_LT(rot_deg, 0.05);
  EXPECT_NEAR(result.rms_px, 0.2 * std::sqrt(2.0), 0.05);
  EXPECT_TRUE(result.summary.converged) << result.summary.termination;
  ASSERT_EQ(result.cameras.size(), 8u);
  for (const CalibratedCameraStats& stats : result.cameras) {
    EXPECT_GT(stats.num_views, 0) << stats.name;
    EXPECT_LT(stats.rms_px, 0.4) << stats.name;
  }
  int tree_edges = 0;
  for (const CameraPairStats& pair : result.pairs) tree_edges += pair.in_spanning_tree;
  EXPECT_EQ(tree_edges, 7);
  // World = first camera by default.
  EXPECT_LT(result.rig.cameras[0].cam_from_world.translation.norm(), 1e-9);
}

TEST(CalibrateRig, BoardFlexStageAbsorbsABendingBoard) {
  // Boards bending by up to 2 cm: the rigid solve cannot fit them, free corners can.
  const Scene bent = MakeScene(4, 120, 0.2, 5, 0.02);
  RigCalibrationOptions options;
  options.loss_scale_px = 0.0;
  options.max_outlier_rounds = 0;
  const RigCalibrationResult rigid =
      CalibrateRig(bent.board, Intrinsics(bent.rig), bent.detections, options);
  options.board_flex_m = 0.02;
  const RigCalibrationResult flex =
      CalibrateRig(bent.board, Intrinsics(bent.rig), bent.detections, options);
  double rigid_center = 0, rigid_rot = 0, flex_center = 0, flex_rot = 0;
  CompareInFirstCamera(bent.rig, rigid.rig, &rigid_center, &rigid_rot);
  CompareInFirstCamera(bent.rig, flex.rig, &flex_center, &flex_rot);
  std::cout << "[ rig      ] bending board (<= 20 mm), 4 cameras, " << bent.num_views
            << " views, 0.2 px: rigid RMS " << rigid.rms_px << " px, centres " << 1e3 * rigid_center
            << " mm, " << rigid_rot << " deg; flex RMS " << flex.rms_px << " px, centres "
            << 1e3 * flex_center << " mm, " << flex_rot << " deg, " << flex.summary.num_free_points
            << " free corners shifted " << 1e3 * flex.summary.corner_shift_rms_m << " mm RMS\n";
  EXPECT_EQ(rigid.summary.num_free_points, 0);
  EXPECT_GT(flex.summary.num_free_points, 0);
  // The residuals drop to the noise (below it: free points also absorb some noise); the camera
  // poses stay as good as the rigid solve's (random bends average out over the frames).
  EXPECT_GT(rigid.rms_px, 2.0 * flex.rms_px);
  EXPECT_LT(flex.rms_px, 0.2 * std::sqrt(2.0));
  EXPECT_LT(flex_center, 2e-3);
  EXPECT_LT(flex_rot, 0.05);

  // A rigid board: the flex stage changes almost nothing.
  const Scene flat = MakeScene(4, 120, 0.2, 5);
  const RigCalibrationResult flat_flex =
      CalibrateRig(flat.board, Intrinsics(flat.rig), flat.detections, options);
  double center = 0, rot = 0;
  CompareInFirstCamera(flat.rig, flat_flex.rig, &center, &rot);
  std::cout << "[ rig      ] flat board with the flex stage: centres " << 1e3 * center << " mm, "
            << rot << " deg, corners shifted " << 1e3 * flat_flex.summary.corner_shift_rms_m
            << " mm RMS\n";
  EXPECT_LT(center, 1e-3);
  EXPECT_LT(rot, 0.05);
  // Corner shifts on a flat board are triangulation noise; the bends are larger.
  EXPECT_GT(flex.summary.corner_shift_rms_m, 1.5 * flat_flex.summary.corner_shift_rms_m);

  options.board_flex_m = -1;
  EXPECT_THROW(CalibrateRig(flat.board, Intrinsics(flat.rig), flat.detections, options),
               std::invalid_argument);
}

TEST(CalibrateRig, RefinesPerturbedIntrinsics) {
  const Scene scene = MakeScene(8, 200, 0.2, 21);
  std::vector<Camera> start = Intrinsics(scene.rig);
  for (Camera& camera : start) {
    camera.params[0] *= 1.01;
    camera.params[1] *= 0.99;
    camera.params[2] += 4.0;
  }
  RigCalibrationOptions options;
  options.refine_intrinsics = true;
  const RigCalibrationResult result = CalibrateRig(scene.board, start, scene.detections, options);
  // The same problem started from the true intrinsics: both starts must reach one optimum (the
  // data's: with boards tilted <= 25 deg the principal point trades against the rotations by ~1 px,
  // so the optimum itself is not the truth to the last 0.1 deg).
  const RigCalibrationResult from_truth =
      CalibrateRig(scene.board, Intrinsics(scene.rig), scene.detections, options);
  double center_m = 0.0, rot_deg = 0.0;
  CompareInFirstCamera(from_truth.rig, result.rig, &center_m, &rot_deg);
  double worst_focal = 0.0, worst_param = 0.0;
  for (size_t c = 0; c < start.size(); ++c) {
    for (int k = 0; k < 2; ++k) {
      worst_focal =
          std::max(worst_focal,
                   std::abs(result.rig.cameras[c].params[k] / scene.rig.cameras[c].params[k] - 1));
    }
    for (size_t k = 0; k < start[c].params.size(); ++k) {
      worst_param =
          std::max(worst_param,
                   std::abs(result.rig.cameras[c].params[k] - from_truth.rig.cameras[c].params[k]));
    }
  }
  std::cout << "[ rig      ] intrinsics refined from +-1 % focal, +4 px cx: focal within "
            << 100 * worst_focal << " % of the truth; vs the solve started at the truth: params "
            << worst_param << ", centres " << 1e3 * center_m << " mm, rotations " << rot_deg
            << " deg; " << result.summary.termination << ", " << result.summary.num_iterations
            << " iterations, RMS " << result.rms_px << " px\n";
  // Both starts stop within the solver tolerance of one optimum (a flat valley: 0.01 px of cx
  // is worth 1e-5 of relative cost change).
  EXPECT_LT(worst_focal, 1e-3);
  EXPECT_LT(worst_param, 1e-2);
  EXPECT_LT(center_m, 5e-5);
  EXPECT_LT(rot_deg, 1e-3);
  EXPECT_NEAR(result.rms_px, 0.2 * std::sqrt(2.0), 0.05);
}

TEST(CalibrateRig, OutlierViewIsDropped) {
  Scene scene = MakeScene(6, 120, 0.2, 31);
  BoardObservation& bad = scene.detections[2].observations[3];
  for (Eigen::Vector2d& p : bad.img_points) p += Eigen::Vector2d(25.0, -18.0);
  const RigCalibrationResult result =
      CalibrateRig(scene.board, Intrinsics(scene.rig), scene.detections);
  EXPECT_GE(result.cameras[2].num_rejected, 1);
  double center_m = 0.0, rot_deg = 0.0;
  CompareInFirstCamera(scene.rig, result.rig, &center_m, &rot_deg);
  EXPECT_LT(center_m, 2e-3);
  EXPECT_LT(result.cameras[2].rms_px, 0.4);
}

TEST(CalibrateRig, WorldFromABoardOnTheFloorIsZUp) {
  const Scene scene = MakeScene(4, 60, 0.0, 41);
  const int frame = scene.detections[0].observations[0].frame;
  RigCalibrationOptions options;
  options.world_board_frame = frame;
  const RigCalibrationResult result =
      CalibrateRig(scene.board, Intrinsics(scene.rig), scene.detections, options);
  // In the new world the chosen board's frame is the flip (x, -y, -z): its corner 0 at the
  // origin, its columns along +x, its normal (printed face) along +z.
  for (size_t i = 0; i < result.board_frames.size(); ++i) {
    if (result.board_frames[i] != frame) continue;
    const Rigid3d& pose = result.world_from_board[i];
    EXPECT_LT(pose.translation.norm(), 1e-9);
    EXPECT_LT((pose.rotation * Eigen::Vector3d::UnitZ() + Eigen::Vector3d::UnitZ()).norm(), 1e-9);
    EXPECT_LT((pose.rotation * Eigen::Vector3d::UnitX() - Eigen::Vector3d::UnitX()).norm(), 1e-9);
  }
  // The rig is the true rig seen from that board: camera centres agree up to the same transform.
  const Rigid3d truth_world_from_new =
      scene.world_from_board[frame] *
      Rigid3d(Eigen::Quaterniond(Eigen::AngleAxisd(kPi, Eigen::Vector3d::UnitX())),
              Eigen::Vector3d::Zero())
          .Inverse();
  for (size_t c = 0; c < scene.rig.cameras.size(); ++c) {
    const Eigen::Vector3d truth_center = scene.rig.cameras[c].CenterInWorld();
    const Eigen::Vector3d estimate_center =
        truth_world_from_new * result.rig.cameras[c].CenterInWorld();
    EXPECT_LT((truth_center - estimate_center).norm(), 1e-6) << c;
  }
}

TEST(CalibrateRig, UnconnectedAndEmptyCamerasAreNamed) {
  Scene scene = MakeScene(6, 120, 0.2, 51);
  // Camera 4 keeps only frames no other camera saw: not connected.
  std::set<int> others;
  for (int c = 0; c < 6; ++c) {
    if (c == 4) continue;
    for (const BoardObservation& o : scene.detections[c].observations) others.insert(o.frame);
  }
  Scene unconnected = scene;
  auto& obs = unconnected.detections[4].observations;
  obs.erase(std::remove_if(obs.begin(),
                           obs.end(),
                           [&](const BoardObservation& o) { return others.count(o.frame) > 0; }),
            obs.end());
  if (obs.empty()) {
    obs.push_back(scene.detections[4].observations.front());
    obs.back().frame = 100000;
  }
  try {
    CalibrateRig(unconnected.board, Intrinsics(unconnected.rig), unconnected.detections);
    ADD_FAILURE() << "expected an error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("camera " + scene.rig.cameras[4].name), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("not connected"), std::string::npos) << e.what();
  }
  Scene empty = scene;
  empty.detections[1].observations.clear();
  try {
    CalibrateRig(empty.board, Intrinsics(empty.rig), empty.detections);
    ADD_FAILURE() << "expected an error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("camera " + scene.rig.cameras[1].name + ": no usable"),
              std::string::npos)
        << e.what();
  }
  RigCalibrationOptions bad;
  bad.world_camera = "nope";
  EXPECT_THROW(CalibrateRig(scene.board, Intrinsics(scene.rig), scene.detections, bad), InputError);
  bad = RigCalibrationOptions();
  bad.min_corners_per_view = 2;
  EXPECT_THROW(CalibrateRig(scene.board, Intrinsics(scene.rig), scene.detections, bad),
               std::invalid_argument);
  std::vector<Camera> fewer = Intrinsics(scene.rig);
  fewer.pop_back();
  EXPECT_THROW(CalibrateRig(scene.board, fewer, scene.detections), std::invalid_argument);
}

TEST(CalibrateRig, ThirtyTwoCamerasConverge) {
  const Scene scene = MakeScene(32, 400, 0.2, 61);
  const RigCalibrationResult result =
      CalibrateRig(scene.board, Intrinsics(scene.rig), scene.detections);
  double center_m = 0.0, rot_deg = 0.0;
  CompareInFirstCamera(scene.rig, result.rig, &center_m, &rot_deg);
  std::cout << "[ rig      ] 32 cameras, " << scene.num_views << " views: centres "
            << 1e3 * center_m << " mm, rotations " << rot_deg << " deg, " << result.summary.seconds
            << " s (board poses " << result.summary.seconds_board_poses << " s, initialisation "
            << result.summary.seconds_initialisation << " s, solve " << result.summary.seconds_solve
            << " s), " << result.summary.num_solves << " solves, " << result.summary.num_iterations
            << " iterations\n";
  EXPECT_TRUE(result.summary.converged) << result.summary.termination;
  EXPECT_LT(center_m, 5e-3);
  EXPECT_LT(rot_deg, 0.1);
}

}  // namespace
}  // namespace rigpose

// SPDX-License-Identifier: BSD-3-Clause
// Multi-camera calibration from synchronised board detections: camera poses (and optionally
// intrinsics) by a joint bundle adjustment over every board view.
//
//   1. Board pose per view (EstimateBoardPose: PnP + refinement with the camera's intrinsics).
//   2. Relative pose of every camera pair that shares frames: b_from_a = b_from_board ·
//      a_from_board⁻¹ per shared frame, the medoid of those candidates (robust to a bad view).
//   3. A camera graph weighted by shared frames; poses composed along its maximum spanning tree
//      from the camera with the most board views (so boards need not be seen by every camera).
//      A camera outside the largest connected component is an error naming it.
//   4. Board pose per frame from its best view (most corners) and the camera's initial pose.
//   5. Ceres bundle adjustment of camera poses, board poses and (per camera, optionally)
//      intrinsics; residuals in pixels through the full camera model; Huber loss; the reference
//      camera's pose is held fixed (gauge). Views whose RMS is an outlier are dropped and the
//      problem solved again.
//   5b. Optionally (board_flex_m > 0) a last solve with every corner a free 3D point held to the
//      rigid board by a prior; the per-camera statistics are then those of the free points.
//   6. World frame: a camera's frame, or a board view's frame turned Z up (board on the floor,
//      printed face up: x along the board's columns, origin at its top-left outer grid corner).
// Frames are matched across cameras by BoardObservation::frame (synchronised videos, or image
// files with the same index in every camera folder).
#pragma once

#include <string>
#include <vector>

#include "calib/board_detection.h"
#include "core/camera.h"
#include "core/rig.h"
#include "core/rigid3d.h"
#include "data/board.h"

namespace rigpose {

struct RigCalibrationOptions {
  // Per camera (input order): refine this camera's intrinsics in the bundle adjustment. Empty:
  // refine_intrinsics for every camera.
  std::vector<bool> refine_intrinsics_per_camera;
  bool refine_intrinsics = false;
  // Views with fewer corners are ignored.
  int min_corners_per_view = 6;
  // A pair of cameras is linked in the graph when it shares at least this many frames.
  int min_shared_frames = 1;
  // Huber scale on each corner's residual norm (px); 0 = least squares.
  double loss_scale_px = 1.0;
  // A view (camera, frame) is dropped when its RMS exceeds max(outlier_view_rms_px,
  // outlier_view_rms_factor × median view RMS); then the problem is solved again.
  double outlier_view_rms_px = 2.0;
  double outlier_view_rms_factor = 5.0;
  int max_outlier_rounds = 2;
  int max_iterations = 200;
  // Board flex (m): 0 keeps the board rigid. > 0 adds a final stage in which every corner of every
  // solved frame is a free 3D point held to its rigid-board position by a Gaussian prior of this
  // standard deviation (camera poses re-solved with them): for paper boards that bend while
  // waved, and the objective of point-based calibrations (caliscope refines free points).
  double board_flex_m = 0.0;
  int num_threads = 0;  // Ceres threads; 0 = hardware concurrency
  // World frame: world_camera (a camera name: its frame is the world), else world_board_frame
  // (>= 0: the board of that frame, Z up; see the file comment), else the first camera.
  std::string world_camera;
  int world_board_frame = -1;

  std::vector<std::string> Check() const;
};

struct CalibratedCameraStats {
  std::string name;
  int num_views = 0;     // board views used in the final solve
  int num_corners = 0;   // corners used
  int num_rejected = 0;  // views dropped (too few corners, no pose, outlier)
  double rms_px = 0.0;   // over the corners used
  double median_px = 0.0;
  bool intrinsics_refined = false;
};

struct CameraPairStats {
  int camera_a = 0;
  int camera_b = 0;
  int shared_frames = 0;  // frames both cameras used in the final solve
  double rms_px = 0.0;    // residuals of both cameras on those frames
  bool in_spanning_tree = false;
};

struct RigCalibrationSummary {
  int reference_camera = 0;  // held fixed during the solve
  int num_frames = 0;        // board poses solved
  int num_residuals = 0;     // corners
  double initial_cost = 0.0;
  double final_cost = 0.0;
  int num_iterations = 0;
  int num_solves = 0;
  std::string termination;
  bool converged = false;
  double seconds_board_poses = 0.0;     // PnP of every view
  double seconds_initialisation = 0.0;  // pair poses, spanning tree, board poses
  int num_free_points = 0;              // board-flex stage: corners solved as free points
  double corner_shift_rms_m = 0.0;      // board-flex stage: RMS distance from the rigid board
  double seconds_solve = 0.0;           // bundle adjustment rounds
  double seconds = 0.0;                 // total
};

struct RigCalibrationResult {
  Rig rig;  // cameras in input order, cam_from_world in metres
  std::vector<CalibratedCameraStats> cameras;
  std::vector<CameraPairStats> pairs;  // pairs sharing at least one frame
  // Per camera: the frames of its views used by the final solve (ascending).
  std::vector<std::vector<int>> used_frames;
  // Per camera: every corner residual norm (px) of the final solve, for histograms.
  std::vector<std::vector<float>> residuals_px;
  // Board poses of the frames solved: frame number and world_from_board.
  std::vector<int> board_frames;
  std::vector<Rigid3d> world_from_board;
  double rms_px = 0.0;  // over every corner
  RigCalibrationSummary summary;
};

// intrinsics[c] and detections[c] describe camera c (names from intrinsics). Throws
// std::invalid_argument for size mismatches, options that fail Check() or a board with Problems();
// InputError naming the camera for a camera without a usable board view, cameras not connected to
// the others through shared frames (names them and what they share), an unknown world_camera or a
// world_board_frame no camera saw.
RigCalibrationResult CalibrateRig(const BoardSpec& board,
                                  const std::vector<Camera>& intrinsics,
                                  const std::vector<CameraDetections>& detections,
                                  const RigCalibrationOptions& options = {});

}  // namespace rigpose

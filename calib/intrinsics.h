// SPDX-License-Identifier: BSD-3-Clause
// Intrinsic calibration of one camera from board detections (calib/board_detection.h).
//
//   1. Views with at least min_corners_per_view corners are usable. Views whose corners no
//      homography explains (RMS > max(5 px, 10 × median): wrong corner ids, garbled corners) are
//      rejected. At most max_views of the rest are selected greedily for image coverage and board
//      tilt diversity (SelectIntrinsicsViews).
//   2. Initialisation with OpenCV on the selected views: cv::calibrateCamera (PINHOLE, OPENCV) or
//      cv::fisheye::calibrate (OPENCV_FISHEYE); Zhang's method (IEEE PAMI 22(11), 2000) inside.
//      Views whose RMS is an outlier (see below) are dropped and OpenCV is run again.
//   3. Ceres refinement over the intrinsics and every view's cam_from_board (angle-axis +
//      translation), residuals in pixels through the full camera model (core/camera_models.h),
//      Huber loss on each corner's residual.
//   4. Views whose RMS is > max(outlier_view_rms_px, outlier_view_rms_factor × median view RMS)
//      are rejected and step 3 is run again, until no view is rejected.
//   5. Standard deviations of the intrinsics from ceres::Covariance on the intrinsics block
//      (poses marginalised), scaled by the residual variance σ² = Σ‖r‖² / (2 · corners − free
//      parameters), ‖r‖ the plain (not robustified) corner residuals of the final solve.
//
// Board frame, corner ids and pixel convention: data/board.h and core/camera_models.h.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "calib/board_detection.h"
#include "core/camera.h"
#include "core/rigid3d.h"
#include "data/board.h"

namespace rigpose {

struct IntrinsicsOptions {
  CameraModelId model = CameraModelId::kOpenCV;
  // Parameters held fixed, by name (CameraModelParamNames): distortion coefficients are held at 0
  // ("k3", "p1", "p2", fisheye "k4", ...); "cx" and "cy" (only together) at the image centre.
  // fx and fy cannot be fixed.
  std::vector<std::string> fixed_params;
  // A view needs this many corners to be used (a homography needs 4).
  int min_corners_per_view = 6;
  // Fewer usable views than this: InputError.
  int min_views = 3;
  // Views kept for the solve, chosen for coverage of the image and of board tilts.
  int max_views = 40;
  // Coverage grid for the view selection (cells along the longer image side).
  int coverage_grid_cells = 8;
  // A view is an outlier when its RMS (px) exceeds max(outlier_view_rms_px,
  // outlier_view_rms_factor × median RMS of the views).
  double outlier_view_rms_px = 1.0;
  double outlier_view_rms_factor = 3.0;
  // Huber loss scale on each corner's residual norm (px); 0 = plain least squares.
  double loss_scale_px = 1.0;
  int max_iterations = 100;
  // Ceres threads; 0 = hardware concurrency.
  int num_threads = 0;
  // Fill IntrinsicsResult::param_stddev.
  bool compute_covariance = true;

  // Every problem, one sentence each; empty when the options are usable.
  std::vector<std::string> Check() const;
};

struct IntrinsicsView {
  int observation_index = -1;  // into CameraDetections::observations
  int frame = 0;               // BoardObservation::frame
  int num_corners = 0;
  Rigid3d cam_from_board;  // metres
  double rms_px = 0.0;     // at the final solution, full camera model
};

struct RejectedView {
  int observation_index = -1;
  int frame = 0;
  std::string reason;   // "12 corners < min_corners_per_view 20", "rms 5.2 px > 1.5 px", ...
  double rms_px = 0.0;  // NaN when the view was not solved
};

struct IntrinsicsSummary {
  double opencv_rms_px = 0.0;  // RMS of the OpenCV initialisation (its last run)
  int num_opencv_runs = 0;
  int num_solves = 0;         // Ceres solves (1 + rounds that rejected views)
  double initial_cost = 0.0;  // Ceres cost (½ Σ ρ(‖r‖²), px²) of the last solve, before ...
  double final_cost = 0.0;    // ... and after
  int num_iterations = 0;     // summed over the Ceres solves
  std::string termination;    // of the last solve ("CONVERGENCE", "NO_CONVERGENCE", ...)
  bool converged = false;
  double seconds_selection = 0.0;
  double seconds_opencv = 0.0;
  double seconds_ceres = 0.0;  // solves + covariance
};

struct IntrinsicsResult {
  // name = detections.camera, model, size from the detections, params; cam_from_world identity.
  Camera camera;
  std::vector<IntrinsicsView> views;         // used in the final solve, by observation index
  std::vector<RejectedView> rejected_views;  // too few corners or outliers
  std::vector<int> selected_views;           // chosen by the selection (before rejection)
  int num_observations = 0;                  // boards in the detections
  int num_usable_views = 0;                  // with enough corners
  int num_corners = 0;                       // corners in the final solve
  double rms_px = 0.0;                       // over every corner of the final solve
  // Per camera parameter (CameraModelParamNames order): standard deviation (px for fx fy cx cy),
  // 0 for fixed parameters; NaN when the covariance is rank deficient; empty when not computed.
  std::vector<double> param_stddev;
  IntrinsicsSummary summary;
};

// Calibrates the intrinsics of detections.camera. Preconditions (std::invalid_argument):
// options.Check() and board.Problems() empty, width/height > 0, corner ids in range and as many
// as image points. Fewer than options.min_views usable views (before or after outlier rejection)
// throws InputError naming the camera, its views and corners; a failed or non-finite solution
// throws InputError naming the camera.
IntrinsicsResult CalibrateIntrinsics(const BoardSpec& board,
                                     const CameraDetections& detections,
                                     const IntrinsicsOptions& options = {});

// CalibrateIntrinsics of every camera, cameras in parallel (options.num_threads workers, 0 = all
// cores; each solve single-threaded). On failure the exception of the first failing camera (in
// input order) is rethrown after every worker has stopped, with *failed_camera set to its index.
std::vector<IntrinsicsResult> CalibrateIntrinsicsOfCameras(
    const BoardSpec& board,
    const std::vector<CameraDetections>& detections,
    const IntrinsicsOptions& options = {},
    int* failed_camera = nullptr);

// The observation indices (ascending) chosen among the views with >= min_corners_per_view
// corners: all of them when there are at most max_views; otherwise a deterministic greedy choice
// that maximises diminishing-returns coverage of a grid over the image (cells inside each view's
// corner hull) plus diversity of the board tilt (normal of the board from its homography with a
// nominal pinhole camera, binned).
std::vector<int> SelectIntrinsicsViews(const BoardSpec& board,
                                       const CameraDetections& detections,
                                       const IntrinsicsOptions& options = {});

// cam_from_board of one observation for a camera of known intrinsics: PnP (IPPE) on the
// undistorted corners, refined with Ceres on the pixel residuals through the full camera model.
// nullopt when fewer than 4 corners undistort, PnP fails, the board is behind the camera or the
// result is not finite. Preconditions as CalibrateIntrinsics (intrinsics.Problems() empty).
std::optional<Rigid3d> EstimateBoardPose(const Camera& intrinsics,
                                         const BoardSpec& board,
                                         const BoardObservation& observation);

// One line per parameter, for lab reports: "fx = 1402.3 ± 0.8 px", "k1 = -0.2651 ± 0.0012",
// then the RMS, the views and corners used.
std::string FormatIntrinsics(const IntrinsicsResult& result);

}  // namespace rigpose

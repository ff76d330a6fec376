// SPDX-License-Identifier: BSD-3-Clause
// What a lab reads after `rigpose calibrate`: a console table, a machine-readable summary and two
// kinds of pictures (where each camera saw board corners, and the residual histograms).
#pragma once

#include <string>
#include <vector>

#include "calib/board_detection.h"
#include "calib/intrinsics.h"
#include "calib/rig_calibration.h"
#include "data/board.h"

namespace rigpose {

struct CalibrationReportInput {
  BoardSpec board;
  std::vector<CameraDetections> detections;
  // Per camera: the intrinsic calibration, or empty when the intrinsics were given
  // (intrinsics_source says from where).
  std::vector<IntrinsicsResult> intrinsics;
  std::string intrinsics_source;
  RigCalibrationResult rig;
  std::string world_frame;  // e.g. "camera cam_01", "board of frame 12 (Z up)"
};

// Per camera: views, corners, RMS / median (px), rejected views, intrinsics RMS; per pair: shared
// frames, RMS, spanning-tree edge; overall RMS. Lines end with '\n'.
std::string FormatCalibrationTable(const CalibrationReportInput& input);

// Writes into `dir` (created; must not exist or be empty): summary.json, coverage_<camera>.png
// (the image frame with every corner used, coloured by view, and the coverage of a 8 × 8 grid),
// residuals.png (one histogram per camera, 0-3 px, with RMS), corners.csv (camera, frame,
// corner_id, x_px, y_px, used: every detected corner). Written into a temporary sibling
// folder renamed at the end. IoError on failure (nothing left behind).
void WriteCalibrationReport(const std::string& dir, const CalibrationReportInput& input);

}  // namespace rigpose

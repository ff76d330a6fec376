// SPDX-License-Identifier: BSD-3-Clause
// rigpose overlay --rig RIG --poses FILE (--images DIR | --videos DIR) [--keypoints 2D] --out DIR:
// draws on every camera's frames the 3D skeleton reprojected with the full camera model (lens
// distortion included unless --no-distortion) and, with --keypoints, the 2D detections; tiles the
// cameras of a frame in a grid (camera name and frame number on each tile) and writes
// OUT/frame_NNNNNN.png per frame (NNNNNN: the source frame index) or one OUT/overlay.mp4 (mp4v).
// With --keypoints it prints, per camera, the median distance between the reprojected joints and
// the 2D keypoints (score >= --min-score), and writes it to OUT/overlay_report.json. Every file is
// written atomically (temporary file + rename). Pure OpenCV drawing (viewer/overlay.h): no X
// display is needed.
//
// Joints: the poses are drawn with the bones of --skeleton (default: the poses file's skeleton,
// else the keypoints', else the only skeleton with the file's joint count). A file with marker
// names (TRC) is matched to the skeleton's joints by name ("LShoulder" = "left_shoulder",
// "Head" = "head_top"); the keypoints must be in the skeleton's joint order.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "cli/cli.h"

namespace rigpose::cli {

struct OverlayOptions {
  std::string rig;
  std::string rig_format;  // empty: detected
  std::string poses;       // 3D poses (.trc .csv .json .npy), one person
  std::string images;      // one image subfolder per camera (exactly one of images / videos)
  std::string videos;      // one video file per camera
  std::string keypoints;   // optional: .npy [F, C, J, 3] in rig camera order, or an OpenPose tree
  std::string skeleton;    // empty: see the file comment
  std::string out;         // output folder (created)
  std::string format = "png";  // png | mp4
  std::string frames;          // "a:b" = source frames a .. b-1 (either side may be left out)
  bool y_up = false;           // TRC files are Y-up (Pose2Sim)
  bool no_distortion = false;  // project with the pinhole part only
  double min_score = 0.3;      // 2D keypoints drawn and compared at or above this score
  double scale = 1.0;          // mosaic tiles = frames resized by this factor
  int columns = 0;             // tiles per row; 0: ceil(sqrt(cameras))
  bool quiet = false;          // no per-frame progress lines
};

struct OverlayCameraStats {
  std::string name;
  int64_t num_pairs = 0;   // reprojected joints with a 2D keypoint of score >= min score
  double median_px = 0.0;  // NaN without pairs
  double mean_px = 0.0;
};

struct OverlaySummary {
  int num_cameras = 0;
  int first_frame = 0;       // source frame index of the first frame drawn
  int num_frames = 0;        // frames drawn
  int num_joints_drawn = 0;  // skeleton joints that the poses provide
  std::string skeleton;
  std::vector<OverlayCameraStats> cameras;  // rig order; with --keypoints only
  std::vector<std::string> outputs;         // the PNGs or the mp4
  std::string report_path;                  // OUT/overlay_report.json
  double seconds = 0.0;
};

// UsageError for bad or contradictory options and a --frames range outside the videos;
// IoError / InputError naming the file or camera for unreadable inputs, a rig without cameras,
// poses whose joints do not fit the skeleton, keypoints with another camera or joint count, a rig
// camera without video / image folder (or one whose size differs by more than 1 %), and poses
// shorter than an explicit --frames range. Without --frames, poses shorter than the videos draw
// only the frames they cover, with a warning saying so.
OverlaySummary RunOverlay(const OverlayOptions& options, std::ostream& out);

void RegisterOverlay(CLI::App& app, Action& action);

}  // namespace rigpose::cli

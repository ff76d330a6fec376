// SPDX-License-Identifier: BSD-3-Clause
// rigpose export --selection SEL.csv --rig RIG (--videos DIR | --images DIR) --poses POSES
// --out DIR: the frames that `rigpose select` picked, ready for an annotation tool (CVAT, Label
// Studio) with pre-labels.
//
// Layout of OUT (docs/FORMATS.md, "Annotation export"):
//   OUT/images/<camera>/<camera>_<frame:06d>.png|jpg   the source frame of each selected view
//   OUT/annotations/person_keypoints.json              COCO keypoints (data/coco_keypoints.h)
// One COCO image per (selection row, view), with "camera" and "frame_index", file_name relative
// to OUT ("images/cam_01/cam_01_000123.png"); one annotation per image whose keypoints are the
// pre-labels: the frame's 3D pose projected through the full camera model (lens distortion
// included), v = 2 for a valid joint that lands on the image, else v = 0 at (0, 0). bbox: the
// extent of the labelled joints grown by 10 % of its width / height on each side and clipped to
// the image (the whole image when no joint is labelled). The category carries the skeleton's
// joint names and bones, info.skeleton its registry key.
//
// Atomic as a whole: everything is written into OUT + ".tmp-<pid>" beside OUT and renamed onto
// OUT at the end; on any error that folder is removed and OUT is left as it was. An existing OUT
// is a usage error unless `force` (then it is replaced, only after success, and never when it
// holds one of the inputs).
#pragma once

#include <array>
#include <iosfwd>
#include <string>
#include <vector>

#include "cli/cli.h"

namespace rigpose::cli {

struct ExportOptions {
  std::string selection;  // selection CSV of `rigpose select` (al/selection_file.h)
  std::string rig;
  std::string rig_format;  // empty: detected
  std::string videos;      // one video file per camera (exactly one of videos / images)
  std::string images;      // one image subfolder per camera
  std::string poses;       // 3D poses (.trc .csv .json .npy), one person, frames = capture frames
  std::string skeleton;    // empty: the poses' skeleton, else by joint names / count
  std::string out;         // output folder (must not exist unless force)
  std::string image_format = "png";  // png | jpg
  int jpeg_quality = 95;             // jpg only
  bool y_up = false;                 // TRC poses are Y-up (Pose2Sim)
  bool force = false;                // replace an existing OUT
  bool quiet = false;                // no summary lines
};

struct ExportSummary {
  int num_frames = 0;  // selection rows
  int num_views = 0;   // (frame, camera) images = COCO images = annotations
  int num_images_written = 0;
  int64_t num_labelled_joints = 0;  // pre-labels with v = 2
  double labelled_share = 0.0;      // num_labelled_joints / (num_views * joints)
  std::string skeleton;
  std::string coco_path;  // OUT/annotations/person_keypoints.json
  double seconds = 0.0;
};

// UsageError for missing / contradictory options, an existing OUT without `force`, and an OUT that
// holds an input.
// InputError / IoError, naming the file, camera or frame, for: an empty selection, a view that is
// not a rig camera (listing the rig's cameras), a rig camera used by the selection without a
// video / image folder, a video / folder whose size differs from the calibration by more than
// 1 %, videos shorter than the poses (both lengths), a selection frame at or past the end of the
// videos or of the poses, poses whose joints do not fit the skeleton. Nothing is written then.
ExportSummary RunExport(const ExportOptions& options, std::ostream& out);

void RegisterExport(CLI::App& app, Action& action);

// The box of the joints with v > 0 of `keypoints` ([J][3] = x, y, v; rigpose pixels), grown by
// 10 % of its width and height on each side and clipped to a width x height image (whose corner
// is at (-0.5, -0.5)); the whole image when no joint has v > 0. Returns x, y, w, h.
std::array<double, 4> PaddedKeypointBox(const std::vector<double>& keypoints,
                                        int width,
                                        int height);

}  // namespace rigpose::cli

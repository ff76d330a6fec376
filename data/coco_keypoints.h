// SPDX-License-Identifier: BSD-3-Clause
// COCO keypoints JSON (person_keypoints_*.json): read and write, as the synthetic studio writes
// it (data/synth/capture.cc) and as COCO / MMPose datasets ship it.
//
// Pixel convention: COCO coordinates put the top-left pixel's corner at (0, 0); rigpose (like
// OpenCV) puts the top-left pixel's centre there. The reader subtracts 0.5 from keypoint x, y
// and from the bbox corner; the writer adds it back. Keypoints with v == 0 are read and written
// as (0, 0) whatever their coordinates (COCO stores unlabelled joints as 0, 0, 0).
//
// Extra per-image keys written by the studio and kept here: "camera" (camera name) and
// "frame_index" (frame in the capture; with file_name "videos/<cam>.mp4" for video captures).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace rigpose {

struct CocoImage {
  int64_t id = 0;
  std::string file_name;  // as written, usually relative to the dataset/capture root
  int width = 0;
  int height = 0;
  std::string camera;    // "" when absent
  int frame_index = -1;  // -1 when absent
};

struct CocoAnnotation {
  int64_t id = 0;
  int64_t image_id = 0;
  int category_id = 1;
  // [J][3] = (x, y, v), x, y in rigpose pixels (centres at integers), v = 0 unlabelled,
  // 1 labelled but not visible, 2 visible.
  std::vector<double> keypoints;
  // x, y, w, h: (x, y) the top-left corner in rigpose pixels (the image's own corner is
  // (-0.5, -0.5)), w, h in pixels.
  std::array<double, 4> bbox{};
  double area = 0;
  // The number of joints with v > 0: recomputed by the reader and the writer (the file's or the
  // caller's value is not trusted).
  int num_keypoints = 0;
  bool iscrowd = false;
};

struct CocoKeypointsDataset {
  std::vector<std::string> keypoint_names;  // the person category's "keypoints"
  std::vector<std::pair<int, int>> bones;   // 0-based (the file's "skeleton" is 1-based)
  std::string skeleton;                     // info.skeleton when present (rigpose registry key)
  std::vector<CocoImage> images;
  std::vector<CocoAnnotation> annotations;  // person category only

  int NumJoints() const { return static_cast<int>(keypoint_names.size()); }
};

// Reads a COCO keypoints file. The category named "person" (or the only category) gives the
// joint names and bones; annotations of other categories are skipped. Optional keys: info,
// camera, frame_index, category_id (default: the person category), bbox (default: the extent
// of the labelled keypoints), area (default: w * h), iscrowd, num_keypoints.
// Throws IoError naming the path when the file cannot be read or is not JSON (with the byte
// offset), and InputError naming the path and the entry ("annotations[4] (id 17)") for a
// missing or mistyped key, keypoints of length != 3 * J, v not in {0, 1, 2}, a non-finite
// number, a duplicate image id, or an annotation whose image_id names no image.
CocoKeypointsDataset ReadCocoKeypoints(const std::string& path);

// Writes `dataset` as one "person" category (atomically: temp file + rename). Keypoint and bbox
// coordinates are converted back to COCO's convention (+0.5). std::invalid_argument when an
// annotation's keypoints are not 3 * J long or a v is not 0, 1 or 2; IoError naming the path
// when it cannot be written.
void WriteCocoKeypoints(const std::string& path, const CocoKeypointsDataset& dataset);

}  // namespace rigpose

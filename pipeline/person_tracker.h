// SPDX-License-Identifier: BSD-3-Clause
// Multi-camera person tracking for 2D detection (`rigpose detect`, `rigpose reconstruct`): one
// synchronised frame of every camera in, the keypoints of every camera out.
//
// Each camera tracks its person from frame to frame: the crop of frame t is the box of frame
// t-1's confident keypoints, grown by box_padding. Without a previous box the whole frame is
// letterboxed into the network first and the box of that pass is re-detected (a second pass at
// full resolution). A camera-frame whose mean joint score stays below person_min_score has no
// person: all its joints are missing (score 0) and the next frame starts again from the whole
// frame, or, with calibrated cameras, from the box of the joints the other cameras triangulate in
// this frame, reprojected into it (track_3d).
//
// The tracker's state between frames is the box of each camera (boxes()/set_boxes()): restoring
// it continues a stream exactly where a previous run stopped (resumable reconstruction).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <opencv2/core.hpp>

#include "core/camera.h"
#include "detect2d/crop.h"

namespace rigpose {

class KeypointDetector;

struct PersonTrackerOptions {
  double person_min_score = 0.2;  // mean joint score below which a camera-frame has no person
  double box_padding = 0.15;      // crop = keypoint box grown by this fraction of its larger side
  bool refine_first = true;       // without a previous box: whole frame, then a second pass
  bool track_3d = true;           // with cameras: lost cameras get a box from the others' 3D
};

struct PersonTrackerStats {
  std::vector<int64_t> frames;              // per camera: frames seen
  std::vector<int64_t> frames_with_person;  // per camera
  std::vector<double> score_sum;            // per camera: sum of mean joint scores (with person)
  int64_t crops = 0;
  int64_t full_frame_searches = 0;  // camera-frames that started from the whole image
  int64_t boxes_from_3d = 0;        // boxes taken from the previous frame's reprojected 3D
  double seconds_crop = 0, seconds_infer = 0;
};

class PersonTracker {
 public:
  // `detector` must outlive the tracker. `cameras`: the rig's cameras in the order of the images
  // given to Track (empty: no 3D re-acquisition); otherwise num_cameras = cameras.size().
  PersonTracker(KeypointDetector* detector,
                int num_cameras,
                std::vector<Camera> cameras,
                const PersonTrackerOptions& options);

  int num_cameras() const { return num_cameras_; }
  int num_joints() const { return num_joints_; }

  // images[c]: camera c's frame (BGR 8-bit). Writes keypoints[C][J][3] (image px, missing: all
  // zero) and, when not null, variance[C][J] (px^2; 0 where missing or unavailable).
  void Track(const std::vector<const cv::Mat*>& images, float* keypoints, float* variance);

  const std::vector<std::optional<CropBox>>& boxes() const { return boxes_; }
  void set_boxes(const std::vector<std::optional<CropBox>>& boxes);
  const PersonTrackerStats& stats() const { return stats_; }
  void reset_stats();

 private:
  KeypointDetector* detector_;
  int num_cameras_ = 0;
  int num_joints_ = 0;
  std::vector<Camera> cameras_;
  PersonTrackerOptions options_;
  std::vector<std::optional<CropBox>> boxes_;
  PersonTrackerStats stats_;
};

}  // namespace rigpose

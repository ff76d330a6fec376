// SPDX-License-Identifier: BSD-3-Clause
// 2D overlays on camera frames (OpenCV drawing only, no Open3D): a 3D skeleton reprojected with
// the full camera model (Camera::ImgFromWorld, lens distortion included), 2D keypoint detections,
// the per-camera distance between the two, and all cameras of a frame tiled in one image.
//
// Images are BGR CV_8UC3 (what data/frame_source.h delivers). Pixel convention of
// core/camera_models.h: pixel centres at integer coordinates, so a joint projected to (x, y) is
// drawn centred on pixel (round(x), round(y)) with sub-pixel precision (4 fractional bits).
// Colours are linear RGB in [0, 1] as in viewer/scene.h.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <opencv2/core.hpp>

#include "core/camera.h"
#include "core/keypoints.h"
#include "core/skeleton.h"

namespace rigpose {

struct OverlayStyle {
  Eigen::Vector3f skeleton_colour = Eigen::Vector3f(0.84f, 0.15f, 0.16f);  // SkeletonColour(0)
  Eigen::Vector3f keypoint_colour = Eigen::Vector3f(0.0f, 0.9f, 1.0f);     // cyan crosses
  // 0: from the image size (about 1/400 of its smaller side, at least 1 / 2 / 3 px).
  int line_thickness_px = 0;
  int joint_radius_px = 0;
  int keypoint_marker_px = 0;  // size of the 2D keypoints' tilted crosses
  // 2D keypoints with a score below this are neither drawn nor compared (Pose2Sim's
  // likelihood_threshold_triangulation).
  double min_score = 0.3;
  // Mosaic: tiles per row (0: ceil(sqrt(number of cameras))) and the factor each frame is resized
  // by (the overlay is drawn at full resolution first).
  int grid_columns = 0;
  double tile_scale = 1.0;

  // One sentence per problem; empty when usable.
  std::vector<std::string> Problems() const;
};

// `camera` without lens distortion: a PINHOLE camera with the same fx, fy, cx, cy, size and pose.
Camera PinholePart(const Camera& camera);

// Pixel of every joint in `camera` (nullopt: the joint is invalid, non-finite, or not in front of
// the camera). `distortion` false projects through PinholePart(camera).
// std::invalid_argument when `valid` and `joints_in_world` differ in size.
std::vector<std::optional<Eigen::Vector2d>> ProjectJoints(
    const Camera& camera,
    const std::vector<Eigen::Vector3d>& joints_in_world,
    const std::vector<bool>& valid,
    bool distortion = true);

// Bones (anti-aliased lines) then joints (filled discs with a white rim) of one person in
// style.skeleton_colour; a bone is drawn when both of its joints have a pixel. Points farther
// than 10^5 px from the image are skipped. std::invalid_argument when img_points does not have
// skeleton.NumJoints() entries or the image is not CV_8UC3.
void DrawReprojectedSkeleton(const Skeleton& skeleton,
                             const std::vector<std::optional<Eigen::Vector2d>>& img_points,
                             const OverlayStyle& style,
                             cv::Mat* image_bgr);

// The 2D keypoints of (frame, camera) with score >= style.min_score as tilted crosses in
// style.keypoint_colour. std::invalid_argument for a frame or camera outside the array.
void DrawKeypoints2D(const Keypoints2D& keypoints,
                     int frame,
                     int camera,
                     const OverlayStyle& style,
                     cv::Mat* image_bgr);

// Appends |reprojected - detected| (px) for every joint j that has a pixel in img_points and a
// keypoint (frame, camera, j) present with score >= min_score. std::invalid_argument when the
// joint counts differ.
void AppendReprojectionDistances(const std::vector<std::optional<Eigen::Vector2d>>& img_points,
                                 const Keypoints2D& keypoints,
                                 int frame,
                                 int camera,
                                 double min_score,
                                 std::vector<double>* distances_px);

// Median of the values (the mean of the two middle ones for an even count); NaN when empty.
double MedianOf(std::vector<double> values);

// Where each camera's frame goes in the mosaic: a grid of equal cells, each as large as the
// largest frame (times tile_scale, rounded up to even sizes so that video encoders accept the
// mosaic), frames anchored at the cell's top-left corner.
struct TileLayout {
  int columns = 0;
  int rows = 0;
  int cell_width = 0;  // pixels of the mosaic
  int cell_height = 0;
  double scale = 1.0;
  int width() const { return columns * cell_width; }
  int height() const { return rows * cell_height; }
  // Top-left corner of tile `index` in the mosaic.
  cv::Point Origin(int index) const;
};

// UsageError for an empty list, a non-positive size or bad style.Problems().
TileLayout ComputeTileLayout(const std::vector<cv::Size>& frame_sizes, const OverlayStyle& style);

// The frames (BGR) resized by layout.scale into their cells on a dark grey background, each with
// its caption lines written at its top-left corner (white text on a translucent black box).
// std::invalid_argument when the counts disagree with the layout or a frame is larger than its
// cell.
cv::Mat TileFrames(const std::vector<cv::Mat>& frames_bgr,
                   const std::vector<std::vector<std::string>>& captions,
                   const TileLayout& layout);

}  // namespace rigpose

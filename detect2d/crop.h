// SPDX-License-Identifier: BSD-3-Clause
// Geometry of top-down crops: an axis-aligned box of the image, letterboxed (aspect preserved)
// onto a network input of out_width x out_height, and the maps between image, crop and heatmap
// pixels. No image data here (detect2d/image_crop.h extracts the pixels).
//
// Pixel convention (core/camera_models.h, OpenCV): pixel centres at integer coordinates, pixel i
// covers [i - 0.5, i + 0.5]. Every map below aligns pixel EDGES, as cv::resize does: crop pixel
// edge -0.5 meets the box's left edge and crop edge out_width - 0.5 its right edge. Example: a
// 4 px wide box at x0 = 0 onto 2 crop px: scale 2, crop pixel 0 is centred on image x = 0.5 (the
// middle of image pixels 0 and 1).
#pragma once

#include <optional>

#include <Eigen/Core>

namespace rigpose {

// A box in image pixels with cv::Rect semantics extended to reals: {x0, y0, width, height} covers
// the continuous region [x0 - 0.5, x0 + width - 0.5] x [y0 - 0.5, y0 + height - 0.5], i.e. an
// integer box covers exactly pixels x0 .. x0 + width - 1 (cv::Rect(x0, y0, width, height)).
struct CropBox {
  double x0 = 0.0;
  double y0 = 0.0;
  double width = 0.0;
  double height = 0.0;
};

// img_point = scale * crop_point + offset (the same scale in x and y: letterbox).
struct CropTransform {
  double scale = 1.0;     // image pixels per crop pixel (> 1: the crop is a downscale)
  double offset_x = 0.0;  // image position of the centre of crop pixel (0, 0)
  double offset_y = 0.0;
  int out_width = 0;
  int out_height = 0;

  Eigen::Vector2d ToImage(const Eigen::Vector2d& crop_point) const;
  Eigen::Vector2d ToCrop(const Eigen::Vector2d& img_point) const;
  // Heatmaps at `stride` crop px per heatmap px, edge-aligned with the crop: heatmap pixel centre
  // u sits at crop (u + 0.5) * stride - 0.5 (MoveNet/SimpleBaseline: 192 px input, 48 px map,
  // stride 4). Throws std::invalid_argument when stride <= 0.
  Eigen::Vector2d HeatmapToImage(const Eigen::Vector2d& heatmap_point, double stride) const;
  Eigen::Vector2d ImageToHeatmap(const Eigen::Vector2d& img_point, double stride) const;
  // The letterboxed box actually covered by the crop (the requested box grown to the output's
  // aspect ratio around its centre).
  CropBox ImageBox() const;
};

// Letterboxes `box` onto out_width x out_height: the box is grown (never shrunk) around its centre
// in one direction until its aspect ratio is the output's, then scaled uniformly. Throws
// std::invalid_argument on a non-finite box, width or height <= 0, or output sizes <= 0.
CropTransform MakeCropTransform(const CropBox& box, int out_width, int out_height);

// Bounding box of the keypoints xys ([num_points][3] = x, y, score in image px) whose x, y and
// score are finite with score > 0 and score >= min_score, grown on every side by padding times the
// larger side of the tight box, then grown around its centre so that each side is at least
// min_side_px. Nullopt when fewer than min_points keypoints qualify or the box is empty (all
// points equal and min_side_px = 0). Throws std::invalid_argument on num_points < 0, a null xys
// with num_points > 0, negative or non-finite padding / min_side_px, or min_points < 1.
std::optional<CropBox> BoxFromKeypoints(const float* xys,
                                        int num_points,
                                        double min_score,
                                        double padding,
                                        double min_side_px,
                                        int min_points = 2);

// The whole frame: {0, 0, image_width, image_height}. Throws when a size is <= 0.
CropBox FullImageBox(int image_width, int image_height);

}  // namespace rigpose

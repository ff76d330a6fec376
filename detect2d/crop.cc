// SPDX-License-Identifier: BSD-3-Clause
// Crop geometry: letterboxing and the image <-> crop <-> heatmap affine maps.
#include "detect2d/crop.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace rigpose {

Eigen::Vector2d CropTransform::ToImage(const Eigen::Vector2d& crop_point) const {
  return Eigen::Vector2d(scale * crop_point.x() + offset_x, scale * crop_point.y() + offset_y);
}

Eigen::Vector2d CropTransform::ToCrop(const Eigen::Vector2d& img_point) const {
  return Eigen::Vector2d((img_point.x() - offset_x) / scale, (img_point.y() - offset_y) / scale);
}

Eigen::Vector2d CropTransform::HeatmapToImage(const Eigen::Vector2d& heatmap_point,
                                              double stride) const {
  RIGPOSE_CHECK(std::isfinite(stride) && stride > 0.0, "stride=" << stride << " must be > 0");
  return ToImage((heatmap_point.array() + 0.5) * stride - 0.5);
}

Eigen::Vector2d CropTransform::ImageToHeatmap(const Eigen::Vector2d& img_point,
                                              double stride) const {
  RIGPOSE_CHECK(std::isfinite(stride) && stride > 0.0, "stride=" << stride << " must be > 0");
  return (ToCrop(img_point).array() + 0.5) / stride - 0.5;
}

CropBox CropTransform::ImageBox() const {
  // Crop edge -0.5 maps to image edge offset - 0.5 scale; a box's x0 is its left edge + 0.5.
  CropBox box;
  box.x0 = offset_x - 0.5 * scale + 0.5;
  box.y0 = offset_y - 0.5 * scale + 0.5;
  box.width = scale * out_width;
  box.height = scale * out_height;
  return box;
}

CropTransform MakeCropTransform(const CropBox& box, int out_width, int out_height) {
  RIGPOSE_CHECK(
      out_width > 0 && out_height > 0,
      "output size must be positive: out_width=" << out_width << " out_height=" << out_height);
  RIGPOSE_CHECK(std::isfinite(box.x0) && std::isfinite(box.y0) && std::isfinite(box.width) &&
                    std::isfinite(box.height) && box.width > 0.0 && box.height > 0.0,
                "crop box must be finite and non-empty: x0=" << box.x0 << " y0=" << box.y0
                                                             << " width=" << box.width
                                                             << " height=" << box.height);
  CropTransform t;
  t.out_width = out_width;
  t.out_height = out_height;
  // The larger ratio wins: the other side of the box grows, so nothing requested is cut off.
  t.scale = std::max(box.width / out_width, box.height / out_height);
  const double centre_x = box.x0 - 0.5 + 0.5 * box.width;  // continuous coordinates
  const double centre_y = box.y0 - 0.5 + 0.5 * box.height;
  t.offset_x = centre_x - 0.5 * t.scale * out_width + 0.5 * t.scale;
  t.offset_y = centre_y - 0.5 * t.scale * out_height + 0.5 * t.scale;
  return t;
}

std::optional<CropBox> BoxFromKeypoints(const float* xys,
                                        int num_points,
                                        double min_score,
                                        double padding,
                                        double min_side_px,
                                        int min_points) {
  RIGPOSE_CHECK(num_points >= 0, "num_points=" << num_points << " must be >= 0");
  RIGPOSE_CHECK(xys != nullptr || num_points == 0, "xys is null with num_points=" << num_points);
  RIGPOSE_CHECK(std::isfinite(padding) && padding >= 0.0,
                "padding=" << padding << " must be finite and >= 0");
  RIGPOSE_CHECK(std::isfinite(min_side_px) && min_side_px >= 0.0,
                "min_side_px=" << min_side_px << " must be finite and >= 0");
  RIGPOSE_CHECK(min_points >= 1, "min_points=" << min_points << " must be >= 1");

  double x_min = std::numeric_limits<double>::infinity(), x_max = -x_min;
  double y_min = x_min, y_max = -x_min;
  int count = 0;
  for (int i = 0; i < num_points; ++i) {
    const float x = xys[3 * i], y = xys[3 * i + 1], score = xys[3 * i + 2];
    // score 0 is the "missing" marker of core/keypoints.h, whatever min_score says.
    if (!(std::isfinite(x) && std::isfinite(y) && std::isfinite(score) && score > 0.f &&
          score >= min_score)) {
      continue;
    }
    x_min = std::min<double>(x_min, x);
    x_max = std::max<double>(x_max, x);
    y_min = std::min<double>(y_min, y);
    y_max = std::max<double>(y_max, y);
    ++count;
  }
  if (count < min_points) return std::nullopt;

  const double pad = padding * std::max(x_max - x_min, y_max - y_min);
  double left = x_min - pad, right = x_max + pad;
  double top = y_min - pad, bottom = y_max + pad;
  if (right - left < min_side_px) {
    const double grow = 0.5 * (min_side_px - (right - left));
    left -= grow;
    right += grow;
  }
  if (bottom - top < min_side_px) {
    const double grow = 0.5 * (min_side_px - (bottom - top));
    top -= grow;
    bottom += grow;
  }
  if (!(right > left && bottom > top)) return std::nullopt;
  CropBox box;
  box.x0 = left + 0.5;  // the region [left, right] in CropBox's cv::Rect-like convention
  box.y0 = top + 0.5;
  box.width = right - left;
  box.height = bottom - top;
  return box;
}

CropBox FullImageBox(int image_width, int image_height) {
  RIGPOSE_CHECK(image_width > 0 && image_height > 0,
                "image size must be positive: width=" << image_width << " height=" << image_height);
  CropBox box;
  box.width = image_width;
  box.height = image_height;
  return box;
}

}  // namespace rigpose

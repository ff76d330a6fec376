// SPDX-License-Identifier: BSD-3-Clause
// Crop extraction with OpenCV. Both paths rely on cv::resize / cv::warpAffine using the same
// pixel-centre convention as CropTransform (edges aligned, centres at integers).
#include "detect2d/image_crop.h"

#include <algorithm>
#include <cmath>

#include <opencv2/core/check.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.h"

namespace rigpose {
namespace {

// Largest |coordinate| handled by the integer-aligned path (keeps cv::Rect arithmetic in int).
constexpr double kMaxAlignedCoordinate = 1 << 28;

bool IsInteger(double x) { return std::abs(x - std::round(x)) < 1e-6; }

// The recipe: fill-padded canvas of the box, then one cv::resize.
cv::Mat ExtractAligned(const cv::Mat& image,
                       const CropTransform& t,
                       const cv::Rect& box,
                       const cv::Scalar& fill) {
  cv::Mat canvas(box.height, box.width, image.type(), fill);
  const cv::Rect inside = box & cv::Rect(0, 0, image.cols, image.rows);
  if (!inside.empty()) image(inside).copyTo(canvas(inside - box.tl()));
  if (box.width == t.out_width && box.height == t.out_height) return canvas;
  cv::Mat out;
  cv::resize(canvas,
             out,
             cv::Size(t.out_width, t.out_height),
             0,
             0,
             t.scale >= 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
  return out;
}

// Integer pre-shrink + exact affine warp.
cv::Mat ExtractGeneral(const cv::Mat& image, const CropTransform& t, const cv::Scalar& fill) {
  const double s = t.scale;
  const int k = s >= 2.0 ? static_cast<int>(std::min(std::floor(s), 1e6)) : 1;
  // Image region the warp can touch: the box plus bilinear support (one small pixel) and one
  // more small pixel so that a partial k-block at a region edge inside the image is never read.
  const double margin = 2.0 * k + 1.0;
  const double left = t.offset_x - 0.5 * s, top = t.offset_y - 0.5 * s;
  const double right = left + s * t.out_width, bottom = top + s * t.out_height;
  const int x0 = static_cast<int>(std::clamp(std::floor(left) - margin, 0.0, 1.0 * image.cols));
  const int y0 = static_cast<int>(std::clamp(std::floor(top) - margin, 0.0, 1.0 * image.rows));
  const int x1 = static_cast<int>(std::clamp(std::ceil(right) + margin, 0.0, 1.0 * image.cols));
  const int y1 = static_cast<int>(std::clamp(std::ceil(bottom) + margin, 0.0, 1.0 * image.rows));
  if (x1 <= x0 || y1 <= y0) {
    return cv::Mat(t.out_height, t.out_width, image.type(), fill);  // box entirely outside
  }
  cv::Mat small = image(cv::Rect(x0, y0, x1 - x0, y1 - y0));
  if (k > 1) {
    // Pad to whole k x k blocks with fill (only ever needed at the image's right/bottom edge:
    // elsewhere the padded block lies beyond the margin and is never sampled).
    const int pad_right = (k - (x1 - x0) % k) % k, pad_bottom = (k - (y1 - y0) % k) % k;
    cv::Mat padded;
    cv::copyMakeBorder(small, padded, 0, pad_bottom, 0, pad_right, cv::BORDER_CONSTANT, fill);
    cv::resize(padded, small, cv::Size(padded.cols / k, padded.rows / k), 0, 0, cv::INTER_AREA);
  }
  // Small pixel j is the mean of image pixels x0 + k j .. x0 + k j + k - 1, centred on
  // x0 + k j + (k - 1) / 2; compose with img = s * crop + offset.
  const double half_block = 0.5 * (k - 1);
  const cv::Matx23d small_from_crop(s / k,
                                    0.0,
                                    (t.offset_x - x0 - half_block) / k,
                                    0.0,
                                    s / k,
                                    (t.offset_y - y0 - half_block) / k);
  cv::Mat out;
  cv::warpAffine(small,
                 out,
                 small_from_crop,
                 cv::Size(t.out_width, t.out_height),
                 cv::INTER_LINEAR | cv::WARP_INVERSE_MAP,
                 cv::BORDER_CONSTANT,
                 fill);
  return out;
}

}  // namespace

cv::Mat ExtractCrop(const cv::Mat& image, const CropTransform& transform, const cv::Scalar& fill) {
  RIGPOSE_CHECK(!image.empty(),
                "image is empty (" << image.cols << "x" << image.rows << " "
                                   << cv::typeToString(image.type()) << ")");
  RIGPOSE_CHECK((image.depth() == CV_8U || image.depth() == CV_32F) &&
                    (image.channels() == 1 || image.channels() == 3 || image.channels() == 4),
                "image type " << cv::typeToString(image.type())
                              << " not supported (CV_8U or CV_32F with 1, 3 or 4 channels)");
  RIGPOSE_CHECK(transform.out_width > 0 && transform.out_height > 0,
                "output size must be positive: out_width=" << transform.out_width << " out_height="
                                                           << transform.out_height);
  RIGPOSE_CHECK(std::isfinite(transform.scale) && transform.scale > 0.0 &&
                    std::isfinite(transform.offset_x) && std::isfinite(transform.offset_y),
                "transform must be finite with scale > 0: scale="
                    << transform.scale << " offset_x=" << transform.offset_x
                    << " offset_y=" << transform.offset_y);

  const CropBox box = transform.ImageBox();
  const bool aligned = IsInteger(box.x0) && IsInteger(box.y0) && IsInteger(box.width) &&
                       IsInteger(box.height) && std::abs(box.x0) < kMaxAlignedCoordinate &&
                       std::abs(box.y0) < kMaxAlignedCoordinate &&
                       box.width < kMaxAlignedCoordinate && box.height < kMaxAlignedCoordinate;
  if (aligned) {
    const cv::Rect rect(static_cast<int>(std::lround(box.x0)),
                        static_cast<int>(std::lround(box.y0)),
                        static_cast<int>(std::lround(box.width)),
                        static_cast<int>(std::lround(box.height)));
    // A canvas much larger than the frame is mostly fill: not worth the memory.
    const double canvas_pixels = static_cast<double>(rect.width) * rect.height;
    if (rect.width > 0 && rect.height > 0 &&
        canvas_pixels <= 4.0 * static_cast<double>(image.total()) + (1 << 22)) {
      return ExtractAligned(image, transform, rect, fill);
    }
  }
  return ExtractGeneral(image, transform, fill);
}

}  // namespace rigpose

// SPDX-License-Identifier: BSD-3-Clause
// Pixel extraction for detect2d/crop.h: the image region of a CropTransform resampled to the
// network input, with the same geometry as CropTransform::ToCrop (pinned by a blob-centroid test).
#pragma once

#include <opencv2/core.hpp>

#include "detect2d/crop.h"

namespace rigpose {

// Returns transform.out_height x transform.out_width pixels of image's type; what lies outside the
// image is `fill` (as if the image were extended with it before resampling).
//
// Two paths, the same geometry:
//  - Integer-aligned box (transform.ImageBox() has integer x0, y0, width, height, up to 1e-6): the
//    box is copied into a fill-padded canvas and cv::resize'd, INTER_AREA when downscaling
//    (scale >= 1), INTER_LINEAR when upscaling. Bit-identical to the Pose2Sim/RTMlib recipe
//    `cv2.resize(padded_crop, size, interpolation=cv2.INTER_AREA)`. Not taken when the canvas
//    would dwarf the image (boxes far larger than the frame): those use the general path.
//  - Otherwise: the image region is first shrunk by k = floor(scale) (k x k block means, when
//    scale >= 2) against aliasing, then cv::warpAffine (INTER_LINEAR, BORDER_CONSTANT) applies the
//    exact residual affine. Residual scales in [1, 2) alias slightly, like mmpose's warpAffine.
// Throws std::invalid_argument on an empty image, a depth other than CV_8U / CV_32F, a channel
// count other than 1, 3 or 4, output sizes <= 0, or a non-finite / non-positive scale.
cv::Mat ExtractCrop(const cv::Mat& image,
                    const CropTransform& transform,
                    const cv::Scalar& fill = cv::Scalar::all(0));

}  // namespace rigpose

// SPDX-License-Identifier: BSD-3-Clause
// ExtractCrop: geometry agrees with CropTransform (blob and dot centroids, up- and downscale,
// boxes partly outside), bit-identity with the roi-copy + INTER_AREA recipe, fill, bad arguments.
#include "detect2d/image_crop.h"

#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

namespace rigpose {
namespace {

constexpr int kImageWidth = 640, kImageHeight = 480;

// Intensity centroid of a single-channel float image.
Eigen::Vector2d Centroid(const cv::Mat& image) {
  double sum = 0.0, sum_x = 0.0, sum_y = 0.0;
  for (int v = 0; v < image.rows; ++v) {
    for (int u = 0; u < image.cols; ++u) {
      const double w = image.at<float>(v, u);
      sum += w;
      sum_x += w * u;
      sum_y += w * v;
    }
  }
  return Eigen::Vector2d(sum_x / sum, sum_y / sum);
}

cv::Mat GaussianBlob(const Eigen::Vector2d& centre, double sigma) {
  cv::Mat image(kImageHeight, kImageWidth, CV_32FC1, cv::Scalar(0));
  for (int v = 0; v < image.rows; ++v) {
    for (int u = 0; u < image.cols; ++u) {
      const double r2 = (u - centre.x()) * (u - centre.x()) + (v - centre.y()) * (v - centre.y());
      image.at<float>(v, u) = static_cast<float>(std::exp(-0.5 * r2 / (sigma * sigma)));
    }
  }
  return image;
}

struct CropCase {
  const char* name;
  CropBox box;
  int out_width, out_height;
  Eigen::Vector2d blob;  // image px; inside the image and well inside the letterboxed box
};

// Every path: aligned / general, integer / fractional scale, up / down, boxes leaving the image.
const CropCase kCases[] = {
    {"aligned_down_x4", {0, 0, 400, 400}, 100, 100, {201.3, 150.8}},
    {"aligned_down_4.625", {3, 34, 444, 444}, 96, 96, {220.6, 250.2}},
    {"general_down_3.47", {10.3, 20.7, 333.3, 300}, 96, 96, {170.2, 160.9}},
    {"general_down_1.57", {5.25, 7.75, 150.5, 150.5}, 96, 96, {81.4, 90.7}},
    {"general_down_20", {-300.5, -300.5, 1300, 1300}, 64, 64, {320.4, 240.6}},
    {"general_up_0.26", {100.2, 50.6, 50.5, 40}, 192, 192, {124.1, 70.3}},
    {"aligned_up_0.25", {200, 100, 48, 48}, 192, 192, {222.7, 125.4}},
    {"general_partly_outside", {-120.4, -80.2, 300.1, 300.1}, 128, 128, {20.3, 15.6}},
    {"aligned_partly_outside", {500, 400, 256, 256}, 64, 64, {600.5, 450.2}},
    {"general_tall_letterbox", {300.5, 10.2, 80, 400}, 192, 256, {340.2, 200.7}},
};

TEST(ExtractCrop, BlobCentroidMatchesTransform) {
  for (const CropCase& c : kCases) {
    SCOPED_TRACE(c.name);
    const CropTransform t = MakeCropTransform(c.box, c.out_width, c.out_height);
    // The blob spans >= 1.5 crop px so that its centroid survives resampling.
    const cv::Mat image = GaussianBlob(c.blob, std::max(1.5, 1.5 * t.scale));
    const cv::Mat crop = ExtractCrop(image, t);
    ASSERT_EQ(crop.type(), CV_32FC1);
    ASSERT_EQ(crop.cols, c.out_width);
    ASSERT_EQ(crop.rows, c.out_height);
    const Eigen::Vector2d expected = t.ToCrop(c.blob);
    const Eigen::Vector2d actual = Centroid(crop);
    EXPECT_NEAR(actual.x(), expected.x(), 0.03);  // measured <= 0.01
    EXPECT_NEAR(actual.y(), expected.y(), 0.03);
  }
}

TEST(ExtractCrop, DotCentroidMatchesTransform) {
  // A single bright pixel: area averaging spreads it over one or two crop pixels, so its
  // centroid is only known to within half a crop pixel.
  for (const CropCase& c : kCases) {
    SCOPED_TRACE(c.name);
    const CropTransform t = MakeCropTransform(c.box, c.out_width, c.out_height);
    const cv::Point dot(static_cast<int>(std::lround(c.blob.x())),
                        static_cast<int>(std::lround(c.blob.y())));
    cv::Mat image(kImageHeight, kImageWidth, CV_32FC1, cv::Scalar(0));
    image.at<float>(dot) = 1000.f;
    const Eigen::Vector2d expected = t.ToCrop(Eigen::Vector2d(dot.x, dot.y));
    const Eigen::Vector2d actual = Centroid(ExtractCrop(image, t));
    EXPECT_NEAR(actual.x(), expected.x(), 0.5);
    EXPECT_NEAR(actual.y(), expected.y(), 0.5);
  }
}

TEST(ExtractCrop, AlignedBoxIsRoiCopyPlusInterArea) {
  // The Pose2Sim reference case: portrait 1080x1920 frame, square box x0=3 y0=334 side 888.
  cv::Mat image(1920, 1080, CV_8UC3);
  cv::randu(image, cv::Scalar::all(0), cv::Scalar::all(256));
  const CropTransform t = MakeCropTransform(CropBox{3, 334, 888, 888}, 192, 192);
  cv::Mat expected;
  cv::resize(image(cv::Rect(3, 334, 888, 888)).clone(),
             expected,
             cv::Size(192, 192),
             0,
             0,
             cv::INTER_AREA);
  const cv::Mat crop = ExtractCrop(image, t);
  ASSERT_EQ(crop.type(), CV_8UC3);
  EXPECT_EQ(cv::norm(crop, expected, cv::NORM_INF), 0.0);

  // Partly outside: the same recipe on a zero-padded frame.
  cv::Mat padded;
  cv::copyMakeBorder(image, padded, 0, 200, 150, 0, cv::BORDER_CONSTANT, cv::Scalar::all(0));
  const CropTransform outside = MakeCropTransform(CropBox{-150, 1500, 600, 600}, 192, 192);
  cv::resize(padded(cv::Rect(0, 1500, 600, 600)).clone(),
             expected,
             cv::Size(192, 192),
             0,
             0,
             cv::INTER_AREA);
  EXPECT_EQ(cv::norm(ExtractCrop(image, outside), expected, cv::NORM_INF), 0.0);

  // Scale 1: a plain copy.
  const CropTransform copy = MakeCropTransform(CropBox{10, 20, 64, 48}, 64, 48);
  EXPECT_EQ(cv::norm(ExtractCrop(image, copy), image(cv::Rect(10, 20, 64, 48)), cv::NORM_INF), 0.0);
}

TEST(ExtractCrop, FillOutsideImage) {
  const cv::Scalar colour(10, 20, 30), fill(255, 0, 7);
  const cv::Mat image(kImageHeight, kImageWidth, CV_8UC3, colour);
  for (const CropBox& box : {CropBox{-200, -100, 400, 400},          // aligned
                             CropBox{-200.3, -100.6, 400.2, 400.2},  // general, downscale
                             CropBox{-20.3, -10.6, 40.2, 40.2}}) {   // general, upscale
    const CropTransform t = MakeCropTransform(box, 64, 64);
    const cv::Mat crop = ExtractCrop(image, t, fill);
    const double margin = std::max(1.0, t.scale) + 1.0;  // image px of resampling support
    int outside = 0, inside = 0;
    for (int v = 0; v < crop.rows; ++v) {
      for (int u = 0; u < crop.cols; ++u) {
        const Eigen::Vector2d p = t.ToImage(Eigen::Vector2d(u, v));
        const cv::Vec3b pixel = crop.at<cv::Vec3b>(v, u);
        if (p.x() < -0.5 - margin || p.y() < -0.5 - margin) {
          EXPECT_EQ(pixel, cv::Vec3b(255, 0, 7)) << u << "," << v;
          ++outside;
        } else if (p.x() > -0.5 + margin && p.y() > -0.5 + margin) {
          EXPECT_EQ(pixel, cv::Vec3b(10, 20, 30)) << u << "," << v;
          ++inside;
        }
      }
    }
    EXPECT_GT(outside, 100);
    EXPECT_GT(inside, 100);
  }
  // Entirely outside: all fill.
  const cv::Mat away =
      ExtractCrop(image, MakeCropTransform(CropBox{5000.5, 10, 300, 300}, 32, 32), fill);
  EXPECT_EQ(cv::norm(away, cv::Mat(32, 32, CV_8UC3, fill), cv::NORM_INF), 0.0);
}

TEST(ExtractCrop, TypesAndSizes) {
  const CropTransform t = MakeCropTransform(CropBox{10.5, 20.5, 300, 200}, 96, 128);
  for (const int type : {CV_8UC1, CV_8UC3, CV_8UC4, CV_32FC1, CV_32FC3}) {
    const cv::Mat image(kImageHeight, kImageWidth, type, cv::Scalar::all(1));
    const cv::Mat crop = ExtractCrop(image, t);
    EXPECT_EQ(crop.type(), type);
    EXPECT_EQ(crop.cols, 96);
    EXPECT_EQ(crop.rows, 128);
  }
}

TEST(ExtractCrop, BadArgs) {
  const cv::Mat image(kImageHeight, kImageWidth, CV_8UC3, cv::Scalar::all(0));
  const CropTransform t = MakeCropTransform(CropBox{0, 0, 100, 100}, 32, 32);
  EXPECT_NO_THROW(ExtractCrop(image, t));
  EXPECT_THROW(ExtractCrop(cv::Mat(), t), std::invalid_argument);
  EXPECT_THROW(ExtractCrop(cv::Mat(10, 10, CV_16UC3), t), std::invalid_argument);
  EXPECT_THROW(ExtractCrop(cv::Mat(10, 10, CV_8UC2), t), std::invalid_argument);
  try {
    ExtractCrop(cv::Mat(10, 10, CV_16UC3), t);
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("CV_16UC3"), std::string::npos) << e.what();
  }
  CropTransform bad = t;
  bad.out_width = 0;
  EXPECT_THROW(ExtractCrop(image, bad), std::invalid_argument);
  bad = t;
  bad.out_height = -3;
  EXPECT_THROW(ExtractCrop(image, bad), std::invalid_argument);
  bad = t;
  bad.scale = 0.0;
  EXPECT_THROW(ExtractCrop(image, bad), std::invalid_argument);
  bad = t;
  bad.offset_x = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(ExtractCrop(image, bad), std::invalid_argument);
}

}  // namespace
}  // namespace rigpose

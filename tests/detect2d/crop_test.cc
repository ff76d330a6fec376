// SPDX-License-Identifier: BSD-3-Clause
// Crop geometry: the pixel convention on hand-computed examples, letterboxing, heatmap strides,
// keypoint boxes and bad arguments.
#include "detect2d/crop.h"

#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

namespace rigpose {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

void ExpectNear(const Eigen::Vector2d& actual, const Eigen::Vector2d& expected, double tol) {
  EXPECT_NEAR(actual.x(), expected.x(), tol);
  EXPECT_NEAR(actual.y(), expected.y(), tol);
}

TEST(CropTransform, HandComputedDownscale) {
  // Image pixels 0..3 (edges -0.5 .. 3.5) onto 2 crop pixels: crop pixel 0 averages image pixels
  // 0 and 1, so its centre is image 0.5; crop pixel 1 is image 2.5; crop edges meet image edges.
  const CropTransform t = MakeCropTransform(CropBox{0, 0, 4, 4}, 2, 2);
  EXPECT_DOUBLE_EQ(t.scale, 2.0);
  ExpectNear(t.ToImage({0, 0}), {0.5, 0.5}, 1e-12);
  ExpectNear(t.ToImage({1, 1}), {2.5, 2.5}, 1e-12);
  ExpectNear(t.ToImage({-0.5, -0.5}), {-0.5, -0.5}, 1e-12);
  ExpectNear(t.ToImage({1.5, 1.5}), {3.5, 3.5}, 1e-12);
  ExpectNear(t.ToCrop({0.5, 2.5}), {0, 1}, 1e-12);
  // The same box shifted: x0 is the first covered pixel, as cv::Rect.
  const CropTransform shifted = MakeCropTransform(CropBox{10, 20, 4, 4}, 2, 2);
  ExpectNear(shifted.ToImage({0, 0}), {10.5, 20.5}, 1e-12);
  // Identity: a box the size of the output maps pixel centres onto themselves (+ x0, y0).
  const CropTransform identity = MakeCropTransform(CropBox{3, 5, 8, 6}, 8, 6);
  EXPECT_DOUBLE_EQ(identity.scale, 1.0);
  ExpectNear(identity.ToImage({0, 0}), {3, 5}, 1e-12);
  ExpectNear(identity.ToImage({7, 5}), {10, 10}, 1e-12);
  // 2x upscale: 2 image pixels onto 4 crop pixels; crop centres at image -0.25, 0.25, 0.75, 1.25.
  const CropTransform up = MakeCropTransform(CropBox{0, 0, 2, 2}, 4, 4);
  EXPECT_DOUBLE_EQ(up.scale, 0.5);
  ExpectNear(up.ToImage({0, 0}), {-0.25, -0.25}, 1e-12);
  ExpectNear(up.ToImage({3, 3}), {1.25, 1.25}, 1e-12);
}

TEST(CropTransform, RoundTrip) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> pos(-500.0, 2500.0), size(1.0, 1500.0);
  std::uniform_int_distribution<int> out(1, 512);
  for (int i = 0; i < 200; ++i) {
    const CropBox box{pos(rng), pos(rng), size(rng), size(rng)};
    const CropTransform t = MakeCropTransform(box, out(rng), out(rng));
    const Eigen::Vector2d p(pos(rng), pos(rng));
    const double tol = 1e-12 * (1.0 + p.norm());
    ExpectNear(t.ToImage(t.ToCrop(p)), p, tol);
    ExpectNear(t.ToCrop(t.ToImage(p)), p, 1e-12 * (1.0 + p.norm() + t.ToImage(p).norm()) / t.scale);
    ExpectNear(t.ImageToHeatmap(t.HeatmapToImage(p, 4.0), 4.0), p, 1e-9);
  }
}

TEST(CropTransform, LetterboxGrowsAroundCentre) {
  // A tall box onto a square output: the width grows to the height, centred; the height is kept.
  const CropBox tall{100, 50, 200, 400};
  const CropTransform t = MakeCropTransform(tall, 192, 192);
  EXPECT_DOUBLE_EQ(t.scale, 400.0 / 192.0);
  const CropBox grown = t.ImageBox();
  EXPECT_NEAR(grown.x0, 0.0, 1e-9);
  EXPECT_NEAR(grown.y0, 50.0, 1e-9);
  EXPECT_NEAR(grown.width, 400.0, 1e-9);
  EXPECT_NEAR(grown.height, 400.0, 1e-9);
  // The box centre (continuous 199.5, 249.5) is the crop centre (continuous 95.5, 95.5).
  ExpectNear(t.ToCrop({199.5, 249.5}), {95.5, 95.5}, 1e-9);
  // A wide box onto a 192x256 (w x h) output grows in height only.
  const CropTransform wide = MakeCropTransform(CropBox{0, 0, 300, 100}, 192, 256);
  EXPECT_DOUBLE_EQ(wide.scale, 300.0 / 192.0);
  EXPECT_NEAR(wide.ImageBox().width, 300.0, 1e-9);
  EXPECT_NEAR(wide.ImageBox().height, 400.0, 1e-9);
  EXPECT_NEAR(wide.ImageBox().y0, -150.0, 1e-9);
  // Already the right aspect: ImageBox gives the box back.
  const CropBox square{3, 334, 888, 888};
  const CropBox same = MakeCropTransform(square, 192, 192).ImageBox();
  EXPECT_NEAR(same.x0, 3.0, 1e-9);
  EXPECT_NEAR(same.y0, 334.0, 1e-9);
  EXPECT_NEAR(same.width, 888.0, 1e-9);
}

TEST(CropTransform, HeatmapStride) {
  // MoveNet-like: 192 px input, 48 px heatmap (stride 4), box 384 px (scale 2) at (100, 200).
  const CropTransform t = MakeCropTransform(CropBox{100, 200, 384, 384}, 192, 192);
  // Heatmap pixel 0 averages crop pixels 0..3: centre crop 1.5, i.e. image 100 - 0.5 + 4 = 103.5.
  ExpectNear(t.HeatmapToImage({0, 0}, 4.0), {103.5, 203.5}, 1e-12);
  // Heatmap edges meet the box edges.
  ExpectNear(t.HeatmapToImage({-0.5, -0.5}, 4.0), {99.5, 199.5}, 1e-12);
  ExpectNear(t.HeatmapToImage({47.5, 47.5}, 4.0), {483.5, 583.5}, 1e-12);
  ExpectNear(t.ImageToHeatmap({103.5, 583.5}, 4.0), {0.0, 47.5}, 1e-12);
  // Stride 1 is ToImage.
  ExpectNear(t.HeatmapToImage({10.25, 3.5}, 1.0), t.ToImage({10.25, 3.5}), 1e-12);
}

TEST(FullImageBox, Nominal) {
  const CropBox box = FullImageBox(1080, 1920);
  EXPECT_EQ(box.x0, 0.0);
  EXPECT_EQ(box.y0, 0.0);
  EXPECT_EQ(box.width, 1080.0);
  EXPECT_EQ(box.height, 1920.0);
  // Letterboxed onto a square: the portrait frame is centred with equal side bands.
  const CropTransform t = MakeCropTransform(box, 256, 256);
  EXPECT_DOUBLE_EQ(t.scale, 7.5);
  EXPECT_NEAR(t.ImageBox().x0, -420.0, 1e-9);
  ExpectNear(t.ToImage({-0.5, -0.5}), {-420.5, -0.5}, 1e-9);
  ExpectNear(t.ToImage({255.5, 255.5}), {1499.5, 1919.5}, 1e-9);
}

TEST(BoxFromKeypoints, Nominal) {
  // x, y, score; the two low-score points and the missing / NaN ones are ignored.
  const std::vector<float> xys = {10,  20,   0.9f,  // used
                                  30,  60,   0.8f,  // used
                                  500, 500,  0.1f, -400, 0,  0.2f, 0,   0,
                                  0.f, kNaN, 5,    0.9f, 20, 40,   0.5f};  // used
  const std::optional<CropBox> box = BoxFromKeypoints(xys.data(), 7, 0.3, 0.0, 0.0);
  ASSERT_TRUE(box.has_value());
  // The continuous region [10, 30] x [20, 60]: x0 is the left edge + 0.5.
  EXPECT_DOUBLE_EQ(box->x0, 10.5);
  EXPECT_DOUBLE_EQ(box->y0, 20.5);
  EXPECT_DOUBLE_EQ(box->width, 20.0);
  EXPECT_DOUBLE_EQ(box->height, 40.0);
  // Padding 0.25 of the larger side (40) on each side.
  const std::optional<CropBox> padded = BoxFromKeypoints(xys.data(), 7, 0.3, 0.25, 0.0);
  ASSERT_TRUE(padded.has_value());
  EXPECT_DOUBLE_EQ(padded->x0, 0.5);
  EXPECT_DOUBLE_EQ(padded->y0, 10.5);
  EXPECT_DOUBLE_EQ(padded->width, 40.0);
  EXPECT_DOUBLE_EQ(padded->height, 60.0);
  // Minimum side, grown around the centre.
  const std::optional<CropBox> min_side = BoxFromKeypoints(xys.data(), 7, 0.3, 0.0, 100.0);
  ASSERT_TRUE(min_side.has_value());
  EXPECT_DOUBLE_EQ(min_side->width, 100.0);
  EXPECT_DOUBLE_EQ(min_side->height, 100.0);
  EXPECT_DOUBLE_EQ(min_side->x0 - 0.5 + 50.0, 20.0);
  EXPECT_DOUBLE_EQ(min_side->y0 - 0.5 + 50.0, 40.0);
  // min_score 0 still ignores score-0 (missing) keypoints but accepts the low ones.
  const std::optional<CropBox> all = BoxFromKeypoints(xys.data(), 7, 0.0, 0.0, 0.0);
  ASSERT_TRUE(all.has_value());
  EXPECT_DOUBLE_EQ(all->x0, -399.5);
  EXPECT_DOUBLE_EQ(all->width, 900.0);
}

TEST(BoxFromKeypoints, TooFewPoints) {
  const std::vector<float> xys = {10, 20, 0.9f, 30, 60, 0.2f, 40, 40, 0.f};
  EXPECT_FALSE(BoxFromKeypoints(xys.data(), 3, 0.5, 0.1, 10.0).has_value());
  EXPECT_TRUE(BoxFromKeypoints(xys.data(), 3, 0.5, 0.1, 10.0, 1).has_value());
  EXPECT_FALSE(BoxFromKeypoints(xys.data(), 3, 0.1, 0.1, 10.0, 3).has_value());
  EXPECT_FALSE(BoxFromKeypoints(nullptr, 0, 0.1, 0.1, 10.0).has_value());
  // One point and no minimum side: an empty box is no box.
  EXPECT_FALSE(BoxFromKeypoints(xys.data(), 3, 0.5, 0.1, 0.0, 1).has_value());
}

TEST(MakeCropTransform, BadArgs) {
  const CropBox box{0, 0, 10, 10};
  EXPECT_NO_THROW(MakeCropTransform(box, 4, 4));
  EXPECT_THROW(MakeCropTransform(box, 0, 4), std::invalid_argument);
  EXPECT_THROW(MakeCropTransform(box, 4, -1), std::invalid_argument);
  EXPECT_THROW(MakeCropTransform(CropBox{0, 0, 0, 10}, 4, 4), std::invalid_argument);
  EXPECT_THROW(MakeCropTransform(CropBox{0, 0, 10, -1}, 4, 4), std::invalid_argument);
  EXPECT_THROW(MakeCropTransform(CropBox{kNaN, 0, 10, 10}, 4, 4), std::invalid_argument);
  try {
    MakeCropTransform(CropBox{0, 0, 0, 10}, 4, 4);
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("width=0 height=10"), std::string::npos) << e.what();
  }
  const CropTransform t = MakeCropTransform(box, 4, 4);
  EXPECT_THROW(t.HeatmapToImage({0, 0}, 0.0), std::invalid_argument);
  EXPECT_THROW(t.ImageToHeatmap({0, 0}, -4.0), std::invalid_argument);
}

TEST(BoxFromKeypoints, BadArgs) {
  const float xys[] = {1, 2, 0.9f, 3, 4, 0.9f};
  EXPECT_NO_THROW(BoxFromKeypoints(xys, 2, 0.1, 0.1, 1.0));
  EXPECT_THROW(BoxFromKeypoints(xys, -1, 0.1, 0.1, 1.0), std::invalid_argument);
  EXPECT_THROW(BoxFromKeypoints(nullptr, 2, 0.1, 0.1, 1.0), std::invalid_argument);
  EXPECT_THROW(BoxFromKeypoints(xys, 2, 0.1, -0.1, 1.0), std::invalid_argument);
  EXPECT_THROW(BoxFromKeypoints(xys, 2, 0.1, 0.1, -1.0), std::invalid_argument);
  EXPECT_THROW(BoxFromKeypoints(xys, 2, 0.1, 0.1, 1.0, 0), std::invalid_argument);
}

TEST(FullImageBox, BadArgs) {
  EXPECT_THROW(FullImageBox(0, 10), std::invalid_argument);
  EXPECT_THROW(FullImageBox(10, -1), std::invalid_argument);
}

}  // namespace
}  // namespace rigpose

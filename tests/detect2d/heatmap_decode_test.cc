// SPDX-License-Identifier: BSD-3-Clause
// Heatmap decoders on rendered Gaussians (the training targets' shape): sub-pixel bias, borders,
// empty / non-finite maps, multiple peaks and bad arguments.
#include "detect2d/heatmap_decode.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"

namespace rigpose {
namespace {

constexpr double kSigma = 2.0;

// Adds amplitude * exp(-r^2 / 2 sigma^2) centred on (cx, cy) (heatmap px) to a height x width map.
void AddGaussian(std::vector<float>* map,
                 int height,
                 int width,
                 double cx,
                 double cy,
                 double amplitude = 1.0,
                 double sigma = kSigma) {
  for (int v = 0; v < height; ++v) {
    for (int u = 0; u < width; ++u) {
      const double r2 = (u - cx) * (u - cx) + (v - cy) * (v - cy);
      (*map)[v * width + u] +=
          static_cast<float>(amplitude * std::exp(-0.5 * r2 / (sigma * sigma)));
    }
  }
}

std::vector<float> Gaussian(int height, int width, double cx, double cy) {
  std::vector<float> map(static_cast<size_t>(height) * width, 0.f);
  AddGaussian(&map, height, width, cx, cy);
  return map;
}

HeatmapDecodeOptions Options(HeatmapDecoder decoder) {
  HeatmapDecodeOptions options;
  options.decoder = decoder;
  options.dark_sigma = kSigma;
  options.soft_argmax_radius = 6;  // 3 sigma
  return options;
}

struct ErrorStats {
  double mean_abs = 0.0;  // mean over samples and both axes of |estimate - truth|
  double max_abs = 0.0;   // max over samples and both axes
};

// Decodes Gaussians at random sub-pixel centres (at least 8 px from the border).
ErrorStats MeasureErrors(int height, int width, const HeatmapDecodeOptions& options) {
  std::mt19937 rng(12345);
  std::uniform_real_distribution<double> ux(8.0, width - 9.0), uy(8.0, height - 9.0);
  ErrorStats stats;
  constexpr int kSamples = 500;
  for (int i = 0; i < kSamples; ++i) {
    const double cx = ux(rng), cy = uy(rng);
    const std::vector<float> map = Gaussian(height, width, cx, cy);
    const HeatmapPeak peak = DecodeHeatmap(map.data(), height, width, options);
    const double ex = std::abs(peak.x - cx), ey = std::abs(peak.y - cy);
    stats.mean_abs += (ex + ey) / (2.0 * kSamples);
    stats.max_abs = std::max({stats.max_abs, ex, ey});
    EXPECT_GT(peak.score, 0.7f);
    EXPECT_LE(peak.score, 1.f);
  }
  return stats;
}

TEST(HeatmapDecoder, ParseAndName) {
  for (HeatmapDecoder decoder : {HeatmapDecoder::kArgmax,
                                 HeatmapDecoder::kArgmaxQuarter,
                                 HeatmapDecoder::kDark,
                                 HeatmapDecoder::kSoftArgmax}) {
    const std::optional<HeatmapDecoder> parsed = ParseHeatmapDecoder(HeatmapDecoderName(decoder));
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(*parsed, decoder);
  }
  EXPECT_EQ(HeatmapDecoderName(HeatmapDecoder::kArgmaxQuarter), "argmax-quarter");
  EXPECT_EQ(HeatmapDecoderName(HeatmapDecoder::kSoftArgmax), "soft-argmax");
  EXPECT_FALSE(ParseHeatmapDecoder("DARK").has_value());
  EXPECT_FALSE(ParseHeatmapDecoder("").has_value());
}

TEST(HeatmapDecodeOptions, Check) {
  EXPECT_TRUE(HeatmapDecodeOptions{}.Check().empty());
  HeatmapDecodeOptions options;
  options.dark_sigma = 0.0;
  EXPECT_EQ(options.Check().size(), 1u);
  options.dark_sigma = -1.0;
  EXPECT_EQ(options.Check().size(), 1u);
  options.dark_sigma = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(options.Check().size(), 1u);
  options = HeatmapDecodeOptions{};
  options.soft_argmax_radius = -1;
  ASSERT_EQ(options.Check().size(), 1u);
  EXPECT_NE(options.Check()[0].find("-1"), std::string::npos);
  options.soft_argmax_beta = -0.5;
  EXPECT_EQ(options.Check().size(), 2u);
}

class GaussianBias : public ::testing::TestWithParam<std::pair<int, int>> {};

TEST_P(GaussianBias, Nominal) {
  const auto [height, width] = GetParam();
  const ErrorStats argmax = MeasureErrors(height, width, Options(HeatmapDecoder::kArgmax));
  const ErrorStats quarter = MeasureErrors(height, width, Options(HeatmapDecoder::kArgmaxQuarter));
  const ErrorStats dark = MeasureErrors(height, width, Options(HeatmapDecoder::kDark));
  const ErrorStats soft = MeasureErrors(height, width, Options(HeatmapDecoder::kSoftArgmax));
  HeatmapDecodeOptions soft_beta_options = Options(HeatmapDecoder::kSoftArgmax);
  soft_beta_options.soft_argmax_beta = 10.0;
  const ErrorStats soft_beta = MeasureErrors(height, width, soft_beta_options);
  RecordProperty("dark_mean_abs", std::to_string(dark.mean_abs));

  EXPECT_LE(argmax.max_abs, 0.5 + 1e-6);
  EXPECT_NEAR(argmax.mean_abs, 0.25, 0.03);  // uniform sub-pixel offsets
  EXPECT_LE(quarter.max_abs, 0.25 + 1e-3);
  EXPECT_LT(quarter.mean_abs, 0.8 * argmax.mean_abs);
  EXPECT_LT(dark.mean_abs, 0.05);
  EXPECT_LT(dark.max_abs, 0.02);  // a smoothed Gaussian's log is a quadratic: ~exact
  EXPECT_LT(soft.mean_abs, 0.05);
  EXPECT_LT(soft.max_abs, 0.1);
  EXPECT_LT(soft_beta.mean_abs, 0.05);
  EXPECT_LT(soft_beta.max_abs, 0.1);
  // Whole-map soft-argmax on a clean map (zero background) is as good as the windowed one.
  HeatmapDecodeOptions whole = Options(HeatmapDecoder::kSoftArgmax);
  whole.soft_argmax_radius = 0;
  EXPECT_LT(MeasureErrors(height, width, whole).mean_abs, 0.05);
}

// SimpleBaseline's 256x192 input gives 64x48 maps (height x width); plus a square one.
INSTANTIATE_TEST_SUITE_P(Sizes,
                         GaussianBias,
                         ::testing::Values(std::make_pair(64, 48), std::make_pair(48, 48)));

TEST(DecodeHeatmap, DarkRobustToNoise) {
  // Uniform noise on the map: DARK's smoothing keeps it well ahead of the quarter-pixel rule.
  constexpr int kHeight = 64, kWidth = 48;
  std::mt19937 rng(99);
  std::uniform_real_distribution<double> ux(8.0, kWidth - 9.0), uy(8.0, kHeight - 9.0);
  std::uniform_real_distribution<float> noise(-0.05f, 0.05f);
  double dark_error = 0.0, quarter_error = 0.0;
  for (int i = 0; i < 300; ++i) {
    const double cx = ux(rng), cy = uy(rng);
    std::vector<float> map = Gaussian(kHeight, kWidth, cx, cy);
    for (float& value : map) value = std::max(0.f, value + noise(rng));
    const HeatmapPeak dark =
        DecodeHeatmap(map.data(), kHeight, kWidth, Options(HeatmapDecoder::kDark));
    const HeatmapPeak quarter =
        DecodeHeatmap(map.data(), kHeight, kWidth, Options(HeatmapDecoder::kArgmaxQuarter));
    dark_error += std::hypot(dark.x - cx, dark.y - cy) / 300;
    quarter_error += std::hypot(quarter.x - cx, quarter.y - cy) / 300;
  }
  EXPECT_LT(dark_error, 0.1);
  EXPECT_LT(dark_error, 0.6 * quarter_error);
}

TEST(DecodeHeatmap, ExactAtIntegerCentre) {
  const std::vector<float> map = Gaussian(48, 48, 20.0, 30.0);
  for (HeatmapDecoder decoder : {HeatmapDecoder::kArgmax,
                                 HeatmapDecoder::kArgmaxQuarter,
                                 HeatmapDecoder::kDark,
                                 HeatmapDecoder::kSoftArgmax}) {
    const HeatmapPeak peak = DecodeHeatmap(map.data(), 48, 48, Options(decoder));
    EXPECT_NEAR(peak.x, 20.0, 1e-4) << HeatmapDecoderName(decoder);
    EXPECT_NEAR(peak.y, 30.0, 1e-4) << HeatmapDecoderName(decoder);
    EXPECT_FLOAT_EQ(peak.score, 1.f);
  }
}

TEST(DecodeHeatmap, PeakAtBorder) {
  constexpr int kHeight = 64, kWidth = 48;
  // On the left column: x is not refined (no central difference), y still is.
  const std::vector<float> left = Gaussian(kHeight, kWidth, 0.0, 30.3);
  const HeatmapPeak dark =
      DecodeHeatmap(left.data(), kHeight, kWidth, Options(HeatmapDecoder::kDark));
  EXPECT_EQ(dark.x, 0.f);
  EXPECT_NEAR(dark.y, 30.3, 0.05);
  const HeatmapPeak quarter =
      DecodeHeatmap(left.data(), kHeight, kWidth, Options(HeatmapDecoder::kArgmaxQuarter));
  EXPECT_EQ(quarter.x, 0.f);
  EXPECT_EQ(quarter.y, 30.25f);
  // Bottom-right corner, centre outside the map: every decoder stays inside the map.
  const std::vector<float> corner = Gaussian(kHeight, kWidth, kWidth - 0.6, kHeight - 0.7);
  for (HeatmapDecoder decoder : {HeatmapDecoder::kArgmax,
                                 HeatmapDecoder::kArgmaxQuarter,
                                 HeatmapDecoder::kDark,
                                 HeatmapDecoder::kSoftArgmax}) {
    const HeatmapPeak peak = DecodeHeatmap(corner.data(), kHeight, kWidth, Options(decoder));
    EXPECT_GE(peak.x, kWidth - 2.5f) << HeatmapDecoderName(decoder);
    EXPECT_LE(peak.x, kWidth - 1.f) << HeatmapDecoderName(decoder);
    EXPECT_GE(peak.y, kHeight - 2.5f) << HeatmapDecoderName(decoder);
    EXPECT_LE(peak.y, kHeight - 1.f) << HeatmapDecoderName(decoder);
  }
  // One pixel in from the border: the full 2D step runs with a smoothing kernel shrunk to fit the
  // map (zero padding would pull this estimate ~0.4 px inwards).
  const std::vector<float> near = Gaussian(kHeight, kWidth, 1.3, 1.4);
  const HeatmapPeak near_dark =
      DecodeHeatmap(near.data(), kHeight, kWidth, Options(HeatmapDecoder::kDark));
  EXPECT_NEAR(near_dark.x, 1.3, 0.05);
  EXPECT_NEAR(near_dark.y, 1.4, 0.05);
}

TEST(DecodeHeatmap, EmptyAndNonFinite) {
  constexpr int kHeight = 16, kWidth = 12;
  std::vector<float> zeros(kHeight * kWidth, 0.f);
  std::vector<float> nan_map = Gaussian(kHeight, kWidth, 5.3, 7.8);
  nan_map[3] = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> inf_map = Gaussian(kHeight, kWidth, 5.3, 7.8);
  inf_map[kHeight * kWidth - 1] = std::numeric_limits<float>::infinity();
  for (HeatmapDecoder decoder : {HeatmapDecoder::kArgmax,
                                 HeatmapDecoder::kArgmaxQuarter,
                                 HeatmapDecoder::kDark,
                                 HeatmapDecoder::kSoftArgmax}) {
    for (const std::vector<float>* map : {&zeros, &nan_map, &inf_map}) {
      const HeatmapPeak peak = DecodeHeatmap(map->data(), kHeight, kWidth, Options(decoder));
      EXPECT_EQ(peak.score, 0.f) << HeatmapDecoderName(decoder);
      EXPECT_EQ(peak.x, 0.f) << HeatmapDecoderName(decoder);
      EXPECT_EQ(peak.y, 0.f) << HeatmapDecoderName(decoder);
    }
  }
  // Every position of a 5x3 map (8 values in the vector loop, 7 in the scalar tail) is checked:
  // one NaN, +inf or -inf anywhere rejects the map; otherwise the FIRST maximum wins.
  for (int bad = 0; bad < 15; ++bad) {
    for (const float value : {std::numeric_limits<float>::quiet_NaN(),
                              std::numeric_limits<float>::infinity(),
                              -std::numeric_limits<float>::infinity()}) {
      std::vector<float> map(15, 0.1f);
      map[bad] = value;
      const HeatmapPeak peak = DecodeHeatmap(map.data(), 5, 3, Options(HeatmapDecoder::kArgmax));
      EXPECT_EQ(peak.score, 0.f) << "position " << bad << " value " << value;
    }
    std::vector<float> tie(15, 0.1f);
    tie[bad] = 0.9f;
    tie[14] = 0.9f;
    const HeatmapPeak first = DecodeHeatmap(tie.data(), 5, 3, Options(HeatmapDecoder::kArgmax));
    EXPECT_EQ(first.score, 0.9f);
    EXPECT_EQ(first.x, bad % 3) << "position " << bad;
    EXPECT_EQ(first.y, bad / 3) << "position " << bad;
  }
  // A 1x1 map is its own argmax.
  const float one = 0.7f;
  const HeatmapPeak single = DecodeHeatmap(&one, 1, 1, Options(HeatmapDecoder::kDark));
  EXPECT_EQ(single.x, 0.f);
  EXPECT_EQ(single.y, 0.f);
  EXPECT_EQ(single.score, 0.7f);
}

TEST(DecodeHeatmap, TwoPeaksPicksHigher) {
  constexpr int kHeight = 64, kWidth = 48;
  for (const double second : {0.8, 1.25}) {
    std::vector<float> map(kHeight * kWidth, 0.f);
    AddGaussian(&map, kHeight, kWidth, 10.3, 12.7, 1.0);
    AddGaussian(&map, kHeight, kWidth, 30.6, 40.2, second);
    const double cx = second > 1.0 ? 30.6 : 10.3, cy = second > 1.0 ? 40.2 : 12.7;
    for (HeatmapDecoder decoder : {HeatmapDecoder::kDark, HeatmapDecoder::kSoftArgmax}) {
      const HeatmapPeak peak = DecodeHeatmap(map.data(), kHeight, kWidth, Options(decoder));
      EXPECT_NEAR(peak.x, cx, 0.05) << HeatmapDecoderName(decoder);
      EXPECT_NEAR(peak.y, cy, 0.05) << HeatmapDecoderName(decoder);
      EXPECT_NEAR(peak.score, std::max(1.0, second), 0.1);
    }
  }
}

TEST(DecodeHeatmaps, MatchesPerMap) {
  constexpr int kJoints = 5, kHeight = 64, kWidth = 48;
  std::vector<float> maps;
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> ux(0.0, kWidth - 1.0), uy(0.0, kHeight - 1.0);
  for (int j = 0; j < kJoints; ++j) {
    const std::vector<float> map = Gaussian(kHeight, kWidth, ux(rng), uy(rng));
    maps.insert(maps.end(), map.begin(), map.end());
  }
  maps[2 * kHeight * kWidth + 17] = std::numeric_limits<float>::quiet_NaN();  // joint 2 broken
  const HeatmapDecodeOptions options = Options(HeatmapDecoder::kDark);
  std::vector<HeatmapPeak> peaks(kJoints, HeatmapPeak{-1.f, -1.f, -1.f});
  DecodeHeatmaps(maps.data(), kJoints, kHeight, kWidth, options, peaks.data());
  for (int j = 0; j < kJoints; ++j) {
    const HeatmapPeak single =
        DecodeHeatmap(maps.data() + j * kHeight * kWidth, kHeight, kWidth, options);
    EXPECT_EQ(peaks[j].x, single.x);
    EXPECT_EQ(peaks[j].y, single.y);
    EXPECT_EQ(peaks[j].score, single.score);
  }
  EXPECT_EQ(peaks[2].score, 0.f);
  EXPECT_GT(peaks[3].score, 0.5f);
  DecodeHeatmaps(nullptr, 0, kHeight, kWidth, options, nullptr);  // nothing to do
}

TEST(DecodeHeatmap, BadArgs) {
  const std::vector<float> map = Gaussian(8, 6, 3.0, 3.0);
  const HeatmapDecodeOptions options;
  EXPECT_NO_THROW(DecodeHeatmap(map.data(), 8, 6, options));
  EXPECT_THROW(DecodeHeatmap(nullptr, 8, 6, options), std::invalid_argument);
  EXPECT_THROW(DecodeHeatmap(map.data(), 0, 6, options), std::invalid_argument);
  EXPECT_THROW(DecodeHeatmap(map.data(), 8, -1, options), std::invalid_argument);
  HeatmapDecodeOptions bad;
  bad.dark_sigma = 0.0;
  EXPECT_THROW(DecodeHeatmap(map.data(), 8, 6, bad), std::invalid_argument);
  bad = HeatmapDecodeOptions{};
  bad.soft_argmax_radius = -2;
  EXPECT_THROW(DecodeHeatmap(map.data(), 8, 6, bad), std::invalid_argument);
  try {
    DecodeHeatmap(map.data(), 8, -1, options);
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("height=8 width=-1"), std::string::npos) << e.what();
  }

  HeatmapPeak out[1];
  EXPECT_NO_THROW(DecodeHeatmaps(map.data(), 1, 8, 6, options, out));
  EXPECT_THROW(DecodeHeatmaps(map.data(), -1, 8, 6, options, out), std::invalid_argument);
  EXPECT_THROW(DecodeHeatmaps(nullptr, 1, 8, 6, options, out), std::invalid_argument);
  EXPECT_THROW(DecodeHeatmaps(map.data(), 1, 0, 6, options, out), std::invalid_argument);
  EXPECT_THROW(DecodeHeatmaps(map.data(), 1, 8, 0, options, out), std::invalid_argument);
  EXPECT_THROW(DecodeHeatmaps(map.data(), 1, 8, 6, options, nullptr), std::invalid_argument);
  EXPECT_THROW(DecodeHeatmaps(map.data(), 1, 8, 6, bad, out), std::invalid_argument);
}

TEST(UnflipHeatmaps, MirrorsColumnsAndSwapsJoints) {
  // 2 images x 3 joints of 4 x 5: joint 0 centre, 1 <-> 2 a left/right pair. A peak of joint 1 at
  // column 1 in the mirrored image is joint 2 at column 3 in the original.
  const int B = 2, J = 3, h = 4, w = 5;
  std::vector<float> maps(static_cast<size_t>(B) * J * h * w, 0.f);
  const auto at = [&](int b, int j, int y, int x) -> size_t {
    return ((b * J + j) * h + y) * w + x;
  };
  maps[at(1, 1, 2, 1)] = 1.f;
  maps[at(0, 0, 0, 4)] = 2.f;
  const std::vector<int> perm = {0, 2, 1};
  const std::vector<float> back = UnflipHeatmaps(maps.data(), B, J, h, w, perm);
  ASSERT_EQ(back.size(), maps.size());
  EXPECT_FLOAT_EQ(back[at(1, 2, 2, 3)], 1.f);
  EXPECT_FLOAT_EQ(back[at(0, 0, 0, 0)], 2.f);
  float sum = 0.f;
  for (float v : back) sum += v;
  EXPECT_FLOAT_EQ(sum, 3.f);
  EXPECT_EQ(UnflipHeatmaps(back.data(), B, J, h, w, perm), maps);  // an involution
  EXPECT_THROW(UnflipHeatmaps(maps.data(), B, J, h, w, {0, 1}), UsageError);
  EXPECT_THROW(UnflipHeatmaps(maps.data(), B, J, h, w, {0, 1, 1}), UsageError);
}

}  // namespace
}  // namespace rigpose

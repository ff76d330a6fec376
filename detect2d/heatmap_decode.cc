// SPDX-License-Identifier: BSD-3-Clause
// Heatmap decoders. Arithmetic in double; one map at a time, no state.
#include "detect2d/heatmap_decode.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>

#include "core/error.h"

namespace rigpose {

std::optional<HeatmapDecoder> ParseHeatmapDecoder(const std::string& name) {
  if (name == "argmax") return HeatmapDecoder::kArgmax;
  if (name == "argmax-quarter") return HeatmapDecoder::kArgmaxQuarter;
  if (name == "dark") return HeatmapDecoder::kDark;
  if (name == "soft-argmax") return HeatmapDecoder::kSoftArgmax;
  return std::nullopt;
}

std::string HeatmapDecoderName(HeatmapDecoder decoder) {
  switch (decoder) {
    case HeatmapDecoder::kArgmax:
      return "argmax";
    case HeatmapDecoder::kArgmaxQuarter:
      return "argmax-quarter";
    case HeatmapDecoder::kDark:
      return "dark";
    case HeatmapDecoder::kSoftArgmax:
      return "soft-argmax";
  }
  RIGPOSE_CHECK(false, "unknown HeatmapDecoder " << static_cast<int>(decoder));
}

std::vector<std::string> HeatmapDecodeOptions::Check() const {
  std::vector<std::string> problems;
  const int id = static_cast<int>(decoder);
  if (id < 0 || id > static_cast<int>(HeatmapDecoder::kSoftArgmax)) {
    problems.push_back("decoder = " + std::to_string(id) + " is not a HeatmapDecoder");
  }
  if (!(std::isfinite(dark_sigma) && dark_sigma > 0.0 && dark_sigma <= 1000.0)) {
    std::ostringstream s;
    s << "dark_sigma = " << dark_sigma << " must be in (0, 1000] heatmap px";
    problems.push_back(s.str());
  }
  if (!(std::isfinite(soft_argmax_beta) && soft_argmax_beta >= 0.0)) {
    std::ostringstream s;
    s << "soft_argmax_beta = " << soft_argmax_beta << " must be finite and >= 0";
    problems.push_back(s.str());
  }
  if (soft_argmax_radius < 0) {
    problems.push_back("soft_argmax_radius = " + std::to_string(soft_argmax_radius) +
                       " must be >= 0 (0 = whole map)");
  }
  return problems;
}

namespace {

std::vector<double> GaussianKernel(int radius, double sigma) {
  std::vector<double> kernel(2 * radius + 1);
  double sum = 0.0;
  for (int k = -radius; k <= radius; ++k) {
    kernel[k + radius] = std::exp(-0.5 * k * k / (sigma * sigma));
    sum += kernel[k + radius];
  }
  for (double& k : kernel) k /= sum;
  return kernel;
}

// Newton step on log(smoothed map) from the argmax (DARK, Eq. 5-7), central differences. Returns
// the offset, (0, 0) where the step is undefined.
//
// Only the 3x3 neighbourhood of the argmax is smoothed. Near the border the kernel radius shrinks
// (per axis) until it reads no pixel outside the map: DARK's reference code zero-pads instead,
// which truncates the peak on the border side and pulls the estimate ~0.4 px inwards one pixel
// from the border; a symmetric kernel keeps a Gaussian a Gaussian centred on the same point.
void DarkOffset(const float* h,
                int height,
                int width,
                int px,
                int py,
                double max_value,
                double sigma,
                double* dx_out,
                double* dy_out) {
  *dx_out = 0.0;
  *dy_out = 0.0;
  const bool inner_x = px > 0 && px < width - 1;
  const bool inner_y = py > 0 && py < height - 1;
  if (!inner_x && !inner_y) return;
  const int radius = std::max(1, static_cast<int>(std::lround(3.0 * sigma)));  // 6 sigma + 1 taps
  const int u_lo = inner_x ? px - 1 : px, u_hi = inner_x ? px + 1 : px;
  const int v_lo = inner_y ? py - 1 : py, v_hi = inner_y ? py + 1 : py;
  const std::vector<double> kx = GaussianKernel(std::min({radius, u_lo, width - 1 - u_hi}), sigma);
  const std::vector<double> ky = GaussianKernel(std::min({radius, v_lo, height - 1 - v_hi}), sigma);
  const int rx = static_cast<int>(kx.size() / 2), ry = static_cast<int>(ky.size() / 2);
  double smooth[3][3] = {};  // [v - py + 1][u - px + 1]
  double smooth_max = 0.0;
  for (int v = v_lo; v <= v_hi; ++v) {
    for (int u = u_lo; u <= u_hi; ++u) {
      double sum = 0.0;
      for (int j = -ry; j <= ry; ++j) {
        double row = 0.0;
        for (int i = -rx; i <= rx; ++i) row += kx[i + rx] * h[(v + j) * width + u + i];
        sum += ky[j + ry] * row;
      }
      smooth[v - py + 1][u - px + 1] = sum;
      smooth_max = std::max(smooth_max, sum);
    }
  }
  // DARK rescales the smoothed map to the original maximum; only the log floor below notices.
  const double rescale = smooth_max > 0.0 ? max_value / smooth_max : 1.0;
  // The floor keeps log finite on empty surroundings; the reference implementation uses 1e-10.
  auto L = [&](int du, int dv) {
    return std::log(std::max(rescale * smooth[dv + 1][du + 1], 1e-10));
  };
  const double l0 = L(0, 0);
  double step_x = 0.0;
  double step_y = 0.0;
  if (inner_x && inner_y) {
    const double gx = 0.5 * (L(1, 0) - L(-1, 0));
    const double gy = 0.5 * (L(0, 1) - L(0, -1));
    const double hxx = L(1, 0) - 2.0 * l0 + L(-1, 0);
    const double hyy = L(0, 1) - 2.0 * l0 + L(0, -1);
    const double hxy = 0.25 * (L(1, 1) - L(-1, 1) - L(1, -1) + L(-1, -1));
    const double det = hxx * hyy - hxy * hxy;
    // Only a negative-definite Hessian describes a maximum; elsewhere Newton heads for a saddle.
    if (!(hxx < 0.0 && det > 0.0)) return;
    step_x = -(hyy * gx - hxy * gy) / det;
    step_y = -(hxx * gy - hxy * gx) / det;
  } else if (inner_x) {  // argmax on the top/bottom row: refine x only
    const double hxx = L(1, 0) - 2.0 * l0 + L(-1, 0);
    if (hxx < 0.0) step_x = -0.5 * (L(1, 0) - L(-1, 0)) / hxx;
  } else {
    const double hyy = L(0, 1) - 2.0 * l0 + L(0, -1);
    if (hyy < 0.0) step_y = -0.5 * (L(0, 1) - L(0, -1)) / hyy;
  }
  if (!std::isfinite(step_x) || !std::isfinite(step_y)) return;
  // The maximum of a map smoothed around a discrete argmax cannot be a pixel away; a longer step
  // means the quadratic model does not hold (flat or multi-modal surroundings).
  *dx_out = std::clamp(step_x, -1.0, 1.0);
  *dy_out = std::clamp(step_y, -1.0, 1.0);
}

void SoftArgmax(const float* h,
                int height,
                int width,
                int px,
                int py,
                double max_value,
                const HeatmapDecodeOptions& options,
                double* x_out,
                double* y_out) {
  int u0 = 0, u1 = width - 1, v0 = 0, v1 = height - 1;
  if (options.soft_argmax_radius > 0) {
    u0 = std::max(0, px - options.soft_argmax_radius);
    u1 = std::min(width - 1, px + options.soft_argmax_radius);
    v0 = std::max(0, py - options.soft_argmax_radius);
    v1 = std::min(height - 1, py + options.soft_argmax_radius);
  }
  double sum = 0.0, sum_u = 0.0, sum_v = 0.0;
  for (int v = v0; v <= v1; ++v) {
    for (int u = u0; u <= u1; ++u) {
      const double value = h[v * width + u];
      // Subtracting the max keeps exp() in range whatever the logits' scale.
      const double w = options.soft_argmax_beta > 0.0
                           ? std::exp(options.soft_argmax_beta * (value - max_value))
                           : std::max(value, 0.0);
      sum += w;
      sum_u += w * u;
      sum_v += w * v;
    }
  }
  if (sum > 0.0 && std::isfinite(sum)) {
    *x_out = sum_u / sum;
    *y_out = sum_v / sum;
  } else {  // nothing positive: stay at the argmax
    *x_out = px;
    *y_out = py;
  }
}

void CheckArgs(const void* heatmap, int height, int width, const HeatmapDecodeOptions& options) {
  RIGPOSE_CHECK(height > 0 && width > 0,
                "heatmap size must be positive: height=" << height << " width=" << width);
  RIGPOSE_CHECK(static_cast<long long>(height) * width <= std::numeric_limits<int>::max(),
                "heatmap too large: height=" << height << " width=" << width);
  RIGPOSE_CHECK(heatmap != nullptr,
                "heatmap is null (height=" << height << " width=" << width << ")");
  const std::vector<std::string> problems = options.Check();
  RIGPOSE_CHECK(problems.empty(), "invalid HeatmapDecodeOptions: " << problems.front());
}

HeatmapPeak DecodeUnchecked(const float* h,
                            int height,
                            int width,
                            const HeatmapDecodeOptions& options) {
  // The maximum and the finiteness check in one branch-free pass over two 4-float vectors (GCC /
  // Clang vector extensions: SSE on x86-64, NEON on Arm), then the first index holding the
  // maximum: ~5x faster than a compare-and-branch scan, which limited Detect on a GPU
  // (docs/BENCHMARKS.md).
  typedef float Float4 __attribute__((vector_size(16)));
  const int n = height * width;
  Float4 max_a = {h[0], h[0], h[0], h[0]};
  Float4 max_b = max_a;
  Float4 poison_a = {0.f, 0.f, 0.f, 0.f};  // x * 0 is NaN exactly when x is infinite or NaN
  Float4 poison_b = poison_a;
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    Float4 a, b;
    std::memcpy(&a, h + i, sizeof(a));
    std::memcpy(&b, h + i + 4, sizeof(b));
    max_a = a > max_a ? a : max_a;
    max_b = b > max_b ? b : max_b;
    poison_a += a * 0.f;
    poison_b += b * 0.f;
  }
  float max_value = h[0];
  float poison = 0.f;
  for (int l = 0; l < 4; ++l) {
    max_value = max_a[l] > max_value ? max_a[l] : max_value;
    max_value = max_b[l] > max_value ? max_b[l] : max_value;
    poison += poison_a[l] + poison_b[l];
  }
  for (; i < n; ++i) {
    max_value = h[i] > max_value ? h[i] : max_value;
    poison += h[i] * 0.f;
  }
  if (!std::isfinite(poison) || !std::isfinite(max_value)) {
    return HeatmapPeak{};  // a broken output, not a detection
  }
  int best = 0;
  while (h[best] != max_value) ++best;
  const int px = best % width;
  const int py = best / width;
  double x = px, y = py;
  switch (options.decoder) {
    case HeatmapDecoder::kArgmax:
      break;
    case HeatmapDecoder::kArgmaxQuarter:
      // SimpleBaseline: 0.25 px towards the higher neighbour (sign of the central difference).
      if (px > 0 && px < width - 1) {
        const float d = h[best + 1] - h[best - 1];
        x += 0.25 * ((d > 0.f) - (d < 0.f));
      }
      if (py > 0 && py < height - 1) {
        const float d = h[best + width] - h[best - width];
        y += 0.25 * ((d > 0.f) - (d < 0.f));
      }
      break;
    case HeatmapDecoder::kDark: {
      double dx = 0.0, dy = 0.0;
      DarkOffset(h, height, width, px, py, max_value, options.dark_sigma, &dx, &dy);
      x += dx;
      y += dy;
      break;
    }
    case HeatmapDecoder::kSoftArgmax:
      SoftArgmax(h, height, width, px, py, max_value, options, &x, &y);
      break;
  }
  HeatmapPeak peak;
  peak.x = static_cast<float>(std::clamp(x, 0.0, width - 1.0));
  peak.y = static_cast<float>(std::clamp(y, 0.0, height - 1.0));
  peak.score = max_value;
  return peak;
}

}  // namespace

HeatmapPeak DecodeHeatmap(const float* heatmap,
                          int height,
                          int width,
                          const HeatmapDecodeOptions& options) {
  CheckArgs(heatmap, height, width, options);
  return DecodeUnchecked(heatmap, height, width, options);
}

void DecodeHeatmaps(const float* heatmaps,
                    int num_joints,
                    int height,
                    int width,
                    const HeatmapDecodeOptions& options,
                    HeatmapPeak* out) {
  RIGPOSE_CHECK(num_joints >= 0, "num_joints=" << num_joints << " must be >= 0");
  if (num_joints == 0) return;
  CheckArgs(heatmaps, height, width, options);
  RIGPOSE_CHECK(out != nullptr, "out is null (num_joints=" << num_joints << ")");
  const size_t map_size = static_cast<size_t>(height) * width;
  for (int j = 0; j < num_joints; ++j) {
    out[j] = DecodeUnchecked(heatmaps + j * map_size, height, width, options);
  }
}

std::vector<float> UnflipHeatmaps(const float* heatmaps,
                                  int batch,
                                  int num_joints,
                                  int height,
                                  int width,
                                  const std::vector<int>& flip_permutation) {
  std::vector<int> seen(num_joints, 0);
  bool valid = static_cast<int>(flip_permutation.size()) == num_joints;
  for (size_t j = 0; valid && j < flip_permutation.size(); ++j) {
    const int p = flip_permutation[j];
    valid = p >= 0 && p < num_joints && seen[p]++ == 0;
  }
  if (!valid) {
    throw UsageError("UnflipHeatmaps: the flip permutation is not a permutation of J = " +
                     std::to_string(num_joints) + " joints");
  }
  const size_t plane = static_cast<size_t>(height) * width;
  std::vector<float> out(static_cast<size_t>(batch) * num_joints * plane);
  for (int b = 0; b < batch; ++b) {
    for (int j = 0; j < num_joints; ++j) {
      const float* in =
          heatmaps + (static_cast<size_t>(b) * num_joints + flip_permutation[j]) * plane;
      float* o = out.data() + (static_cast<size_t>(b) * num_joints + j) * plane;
      for (int y = 0; y < height; ++y) {
        for (int x = 0; x < width; ++x) o[y * width + x] = in[y * width + (width - 1 - x)];
      }
    }
  }
  return out;
}

}  // namespace rigpose

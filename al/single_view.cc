// SPDX-License-Identifier: BSD-3-Clause
#include "al/single_view.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>

#include "core/error.h"

namespace rigpose {

// ---- Multi-Peak Entropy ----------------------------------------------------------------------

double MultiPeakEntropy(
    const float* heatmaps, int num_joints, int height, int width, int num_peaks, int min_distance) {
  RIGPOSE_CHECK(num_joints >= 0 && height > 0 && width > 0 && num_peaks >= 1 && min_distance >= 1,
                "MultiPeakEntropy: bad sizes");
  double total = 0;
  std::vector<float> peaks;
  for (int j = 0; j < num_joints; ++j) {
    const float* map = heatmaps + static_cast<int64_t>(j) * height * width;
    float lowest = std::numeric_limits<float>::infinity();
    for (int i = 0; i < height * width; ++i) lowest = std::min(lowest, map[i]);
    peaks.clear();
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < width; ++x) {
        const float v = map[y * width + x];
        if (!(v > lowest)) continue;
        bool is_max = true;
        for (int dy = -min_distance; dy <= min_distance && is_max; ++dy) {
          const int yy = y + dy;
          if (yy < 0 || yy >= height) continue;
          for (int dx = -min_distance; dx <= min_distance; ++dx) {
            const int xx = x + dx;
            if (xx < 0 || xx >= width || (dx == 0 && dy == 0)) continue;
            const float w = map[yy * width + xx];
            // Plateaus: the first pixel in raster order is the peak.
            if (w > v || (w == v && (dy < 0 || (dy == 0 && dx < 0)))) {
              is_max = false;
              break;
            }
          }
        }
        if (is_max) peaks.push_back(v);
      }
    }
    if (peaks.size() < 2) continue;  // one peak (or a flat map): entropy 0
    std::sort(peaks.begin(), peaks.end(), std::greater<float>());
    if (static_cast<int>(peaks.size()) > num_peaks) peaks.resize(num_peaks);
    const double top = peaks.front();
    double sum = 0;
    for (float p : peaks) sum += std::exp(p - top);
    double entropy = 0;
    for (float p : peaks) {
      const double q = std::exp(p - top) / sum;
      if (q > 0) entropy -= q * std::log(q);
    }
    total += entropy;
  }
  return total;
}

// ---- Core-Set --------------------------------------------------------------------------------

std::vector<int> KCenterGreedy(const std::vector<float>& features,
                               int dim,
                               const std::vector<int>& initial_centres,
                               const std::vector<int>& candidates,
                               int budget) {
  RIGPOSE_CHECK(dim > 0 && features.size() % dim == 0, "KCenterGreedy: features not [N][dim]");
  const int n = static_cast<int>(features.size() / dim);
  std::vector<int> pool = candidates;
  if (pool.empty()) {
    pool.resize(n);
    std::iota(pool.begin(), pool.end(), 0);
  }
  for (int i : pool) RIGPOSE_CHECK(i >= 0 && i < n, "KCenterGreedy: candidate " << i);
  for (int i : initial_centres) RIGPOSE_CHECK(i >= 0 && i < n, "KCenterGreedy: centre " << i);
  const auto distance2 = [&](int a, const float* b) {
    double d = 0;
    const float* fa = features.data() + static_cast<int64_t>(a) * dim;
    for (int k = 0; k < dim; ++k) d += (static_cast<double>(fa[k]) - b[k]) * (fa[k] - b[k]);
    return d;
  };
  std::vector<double> nearest(pool.size(), std::numeric_limits<double>::infinity());
  const auto add_centre = [&](const float* centre) {
    for (size_t k = 0; k < pool.size(); ++k) {
      nearest[k] = std::min(nearest[k], distance2(pool[k], centre));
    }
  };
  for (int c : initial_centres) add_centre(features.data() + static_cast<int64_t>(c) * dim);
  if (initial_centres.empty() && !pool.empty()) {
    std::vector<float> mean(dim, 0.f);
    for (int i : pool) {
      for (int k = 0; k < dim; ++k) mean[k] += features[static_cast<int64_t>(i) * dim + k];
    }
    for (float& m : mean) m /= static_cast<float>(pool.size());
    add_centre(mean.data());
  }
  std::vector<uint8_t> taken(pool.size(), 0);
  std::vector<int> picked;
  while (static_cast<int>(picked.size()) < budget) {
    int best = -1;
    for (size_t k = 0; k < pool.size(); ++k) {
      if (!taken[k] && (best < 0 || nearest[k] > nearest[best])) best = static_cast<int>(k);
    }
    if (best < 0) break;
    taken[best] = 1;
    picked.push_back(pool[best]);
    add_centre(features.data() + static_cast<int64_t>(pool[best]) * dim);
  }
  return picked;
}

// ---- VL4Pose in 3D ---------------------------------------------------------------------------

BoneLengthModel BoneLengthModel::Fit(const Poses3D& poses,
                                     const std::vector<std::pair<int, int>>& bones,
                                     double min_std_m) {
  BoneLengthModel model;
  model.bones = bones;
  for (const auto& [a, b] : bones) {
    RIGPOSE_CHECK(a >= 0 && b >= 0 && a < poses.num_joints() && b < poses.num_joints(),
                  "BoneLengthModel: bone (" << a << ", " << b << ") outside " << poses.num_joints()
                                            << " joints");
    std::vector<double> lengths;
    for (int f = 0; f < poses.num_frames(); ++f) {
      if (poses.IsValid(f, a) && poses.IsValid(f, b)) {
        lengths.push_back((poses.Position(f, a) - poses.Position(f, b)).norm());
      }
    }
    double median = std::numeric_limits<double>::quiet_NaN(), std = median;
    if (!lengths.empty()) {
      std::nth_element(lengths.begin(), lengths.begin() + lengths.size() / 2, lengths.end());
      median = lengths[lengths.size() / 2];
      for (double& l : lengths) l = std::abs(l - median);
      std::nth_element(lengths.begin(), lengths.begin() + lengths.size() / 2, lengths.end());
      std = std::max(1.4826 * lengths[lengths.size() / 2], min_std_m);
    }
    model.mean_m.push_back(median);
    model.std_m.push_back(std);
  }
  return model;
}

double BoneLengthModel::NegLogLikelihood(const Poses3D& poses, int frame) const {
  double sum = 0;
  int n = 0;
  for (size_t k = 0; k < bones.size(); ++k) {
    const auto [a, b] = bones[k];
    if (!std::isfinite(mean_m[k]) || !poses.IsValid(frame, a) || !poses.IsValid(frame, b)) continue;
    const double z =
        ((poses.Position(frame, a) - poses.Position(frame, b)).norm() - mean_m[k]) / std_m[k];
    sum += 0.5 * z * z;
    ++n;
  }
  return n ? sum / n : std::numeric_limits<double>::quiet_NaN();
}

// ---- Learning Loss ---------------------------------------------------------------------------

void LossPredictor::Fit(const std::vector<float>& features,
                        int dim,
                        const std::vector<double>& losses,
                        const LossPredictorOptions& options) {
  RIGPOSE_CHECK(dim > 0 && features.size() == losses.size() * dim && losses.size() >= 2,
                "LossPredictor::Fit: " << features.size() << " feature values for " << losses.size()
                                       << " losses of dim " << dim);
  RIGPOSE_CHECK(options.hidden > 0 && options.epochs > 0 && options.batch_size >= 2 &&
                    options.learning_rate > 0,
                "LossPredictor::Fit: bad options");
  const int n = static_cast<int>(losses.size());
  dim_ = dim;
  hidden_ = options.hidden;
  // Standardise the features (the pooled activations have very different scales).
  mean_.assign(dim, 0);
  scale_.assign(dim, 0);
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < dim; ++k) mean_[k] += features[static_cast<int64_t>(i) * dim + k];
  }
  for (double& m : mean_) m /= n;
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < dim; ++k) {
      const double d = features[static_cast<int64_t>(i) * dim + k] - mean_[k];
      scale_[k] += d * d;
    }
  }
  for (double& s : scale_) s = 1.0 / std::sqrt(s / n + 1e-8);

  std::mt19937_64 rng(options.seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  w1_.resize(static_cast<size_t>(hidden_) * dim);
  for (double& w : w1_) w = normal(rng) * std::sqrt(2.0 / dim);
  b1_.assign(hidden_, 0.0);
  w2_.resize(hidden_);
  for (double& w : w2_) w = normal(rng) * std::sqrt(1.0 / hidden_);
  b2_ = 0;

  const int P = hidden_ * dim + 2 * hidden_ + 1;  // w1, b1, w2, b2
  std::vector<double> m(P, 0), v(P, 0), grad(P);
  const double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  int64_t step = 0;
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::vector<std::vector<double>> x_batch, h_batch;
  std::vector<double> s_batch, ds_batch;
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    for (int start = 0; start + 1 < n; start += options.batch_size) {
      const int B = std::min(options.batch_size, n - start);
      if (B < 2) break;
      x_batch.assign(B, std::vector<double>(dim));
      h_batch.assign(B, std::vector<double>(hidden_));
      s_batch.assign(B, 0);
      ds_batch.assign(B, 0);
      for (int b = 0; b < B; ++b) {
        const int i = order[start + b];
        for (int k = 0; k < dim; ++k) {
          x_batch[b][k] = (features[static_cast<int64_t>(i) * dim + k] - mean_[k]) * scale_[k];
        }
        double s = b2_;
        for (int h = 0; h < hidden_; ++h) {
          double a = b1_[h];
          for (int k = 0; k < dim; ++k) a += w1_[static_cast<size_t>(h) * dim + k] * x_batch[b][k];
          h_batch[b][h] = a > 0 ? a : 0;
          s += w2_[h] * h_batch[b][h];
        }
        s_batch[b] = s;
      }
      // KL(p || q) over every pair of the batch, averaged: d/ds_i = q_i - p_i.
      int pairs = 0;
      for (int a = 0; a < B; ++a) {
        for (int b = a + 1; b < B; ++b) {
          const double la = std::max(losses[order[start + a]], 1e-12);
          const double lb = std::max(losses[order[start + b]], 1e-12);
          const double pa = la / (la + lb);
          const double qa = 1.0 / (1.0 + std::exp(s_batch[b] - s_batch[a]));
          ds_batch[a] += qa - pa;
          ds_batch[b] -= qa - pa;
          ++pairs;
        }
      }
      std::fill(grad.begin(), grad.end(), 0.0);
      for (int b = 0; b < B; ++b) {
        const double ds = ds_batch[b] / pairs;
        for (int h = 0; h < hidden_; ++h) {
          grad[hidden_ * dim + hidden_ + h] += ds * h_batch[b][h];  // w2
          if (h_batch[b][h] <= 0) continue;
          const double dh = ds * w2_[h];
          grad[hidden_ * dim + h] += dh;  // b1
          for (int k = 0; k < dim; ++k)
            grad[static_cast<size_t>(h) * dim + k] += dh * x_batch[b][k];
        }
        grad[P - 1] += ds;  // b2 (has no effect on the pairwise loss, kept for completeness)
      }
      ++step;
      const double lr = options.learning_rate * std::sqrt(1 - std::pow(beta2, step)) /
                        (1 - std::pow(beta1, step));
      for (int p = 0; p < P; ++p) {
        m[p] = beta1 * m[p] + (1 - beta1) * grad[p];
        v[p] = beta2 * v[p] + (1 - beta2) * grad[p] * grad[p];
        const double update = lr * m[p] / (std::sqrt(v[p]) + eps);
        if (p < hidden_ * dim) {
          w1_[p] -= update;
        } else if (p < hidden_ * dim + hidden_) {
          b1_[p - hidden_ * dim] -= update;
        } else if (p < P - 1) {
          w2_[p - hidden_ * dim - hidden_] -= update;
        } else {
          b2_ -= update;
        }
      }
    }
  }
}

std::vector<double> LossPredictor::Predict(const std::vector<float>& features) const {
  RIGPOSE_CHECK(dim_ > 0, "LossPredictor::Predict before Fit");
  RIGPOSE_CHECK(features.size() % dim_ == 0, "LossPredictor::Predict: features not [N][dim]");
  const int n = static_cast<int>(features.size() / dim_);
  std::vector<double> out(n);
  std::vector<double> x(dim_);
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < dim_; ++k) {
      x[k] = (features[static_cast<int64_t>(i) * dim_ + k] - mean_[k]) * scale_[k];
    }
    double s = b2_;
    for (int h = 0; h < hidden_; ++h) {
      double a = b1_[h];
      for (int k = 0; k < dim_; ++k) a += w1_[static_cast<size_t>(h) * dim_ + k] * x[k];
      s += w2_[h] * (a > 0 ? a : 0);
    }
    out[i] = s;
  }
  return out;
}

double LossPredictor::RankingAccuracy(const std::vector<float>& features,
                                      const std::vector<double>& losses) const {
  const std::vector<double> predicted = Predict(features);
  RIGPOSE_CHECK(predicted.size() == losses.size(), "LossPredictor::RankingAccuracy: sizes");
  int64_t agree = 0, total = 0;
  for (size_t a = 0; a < losses.size(); ++a) {
    for (size_t b = a + 1; b < losses.size(); ++b) {
      if (losses[a] == losses[b]) continue;
      ++total;
      agree += ((losses[a] > losses[b]) == (predicted[a] > predicted[b])) ? 1 : 0;
    }
  }
  return total ? static_cast<double>(agree) / total : 0.5;
}

}  // namespace rigpose

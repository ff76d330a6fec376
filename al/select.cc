// SPDX-License-Identifier: BSD-3-Clause
#include "al/select.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>

#include "al/single_view.h"
#include "core/error.h"

namespace rigpose {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool IsMultiviewFamily(const std::string& s) {
  return s == "multiview" || s == "geometry" || s == "bayesian";
}
bool IsViewLevel(const std::string& s) {
  return s == "multi-peak-entropy" || s == "aleatoric" || s == "learning-loss" || s == "core-set";
}

double MeanFinite(std::initializer_list<double> values) {
  double sum = 0;
  int n = 0;
  for (double v : values) {
    if (std::isfinite(v)) {
      sum += v;
      ++n;
    }
  }
  return n ? sum / n : kNaN;
}

const std::vector<std::string> kComponents = {"fused",
                                              "geometry",
                                              "bayesian",
                                              "confidence",
                                              "residual",
                                              "outlier_share",
                                              "loo_spread",
                                              "bayes_std",
                                              "reproj_px",
                                              "entropy",
                                              "aleatoric",
                                              "predicted_loss",
                                              "bone_nll"};

}  // namespace

const std::vector<std::string>& SelectionStrategyNames() {
  static const std::vector<std::string> names = {"multiview",
                                                 "geometry",
                                                 "bayesian",
                                                 "random",
                                                 "anipose-bad",
                                                 "vl4pose",
                                                 "multi-peak-entropy",
                                                 "aleatoric",
                                                 "learning-loss",
                                                 "core-set"};
  return names;
}

bool StrategyNeedsDetector(const std::string& strategy) { return IsViewLevel(strategy); }

std::vector<std::string> SelectOptions::Check() const {
  std::vector<std::string> problems;
  const auto& names = SelectionStrategyNames();
  if (std::find(names.begin(), names.end(), strategy) == names.end()) {
    std::string list;
    for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
    problems.push_back("strategy '" + strategy + "' is not one of: " + list);
  }
  if (budget < 1) problems.push_back("budget = " + std::to_string(budget) + " must be >= 1");
  if (unit != "frames" && unit != "views") {
    problems.push_back("unit '" + unit + "' must be frames or views");
  }
  if (suppress_frames < 0) problems.push_back("suppress_frames must be >= 0");
  if (!(candidate_factor >= 1)) problems.push_back("candidate_factor must be >= 1");
  if (!(geometry_weight >= 0 && bayesian_weight >= 0 && confidence_weight >= 0 &&
        geometry_weight + bayesian_weight + confidence_weight > 0)) {
    problems.push_back(
        "geometry_weight, bayesian_weight and confidence_weight must be >= 0, not all 0");
  }
  if (!(anipose_noise >= 0)) problems.push_back("anipose_noise must be >= 0");
  if (!(diversity_weight >= 0)) problems.push_back("diversity_weight must be >= 0");
  if (!(diversity_scale > 0)) problems.push_back("diversity_scale must be > 0");
  return problems;
}

std::vector<double> PercentileRanks(const std::vector<float>& values) {
  std::vector<int> order;
  for (size_t i = 0; i < values.size(); ++i) {
    if (std::isfinite(values[i])) order.push_back(static_cast<int>(i));
  }
  std::vector<double> ranks(values.size(), kNaN);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return values[a] < values[b]; });
  const double n = static_cast<double>(order.size());
  for (size_t start = 0; start < order.size();) {
    size_t end = start;
    while (end < order.size() && values[order[end]] == values[order[start]]) ++end;
    const double mean_rank = 0.5 * (static_cast<double>(start) + static_cast<double>(end - 1));
    for (size_t k = start; k < end; ++k) ranks[order[k]] = n > 1 ? mean_rank / (n - 1) : 1.0;
    start = end;
  }
  return ranks;
}

Selection SelectFrames(const PoolScores& pool, const SelectOptions& options) {
  const std::vector<std::string> problems = options.Check();
  if (!problems.empty()) throw UsageError("selection: " + problems.front());
  const int F = pool.num_frames, C = pool.num_cameras;
  RIGPOSE_CHECK(F >= 0 && C >= 1 && static_cast<int>(pool.camera_names.size()) == C,
                "SelectFrames: " << pool.camera_names.size() << " camera names for " << C);
  const size_t FC = static_cast<size_t>(F) * C;
  const auto check_size = [&](const auto& v, size_t n, const char* what) {
    RIGPOSE_CHECK(v.empty() || v.size() == n,
                  "SelectFrames: " << what << " has " << v.size() << " values, expected " << n);
  };
  check_size(pool.view_entropy, FC, "view_entropy");
  check_size(pool.view_aleatoric, FC, "view_aleatoric");
  check_size(pool.view_predicted_loss, FC, "view_predicted_loss");
  check_size(pool.frame_bone_nll, static_cast<size_t>(F), "frame_bone_nll");
  check_size(pool.labelled, static_cast<size_t>(F), "labelled");
  check_size(pool.view_available, FC, "view_available");
  if (!pool.view_features.empty()) {
    RIGPOSE_CHECK(pool.feature_dim > 0 && pool.view_features.size() == FC * pool.feature_dim,
                  "SelectFrames: view_features is not [F][C][feature_dim]");
  }
  const ViewDisagreement* geo = pool.geometry;
  if (geo) {
    RIGPOSE_CHECK(geo->num_frames == F && geo->num_cameras == C,
                  "SelectFrames: geometry of " << geo->num_frames << " frames x "
                                               << geo->num_cameras << " cameras");
  }
  const std::string& strategy = options.strategy;
  const auto need = [&](bool have, const std::string& what) {
    if (!have) {
      throw InputError("strategy '" + strategy + "' needs " + what +
                       ", which this pool does not have");
    }
  };
  if (IsMultiviewFamily(strategy) || strategy == "anipose-bad") {
    need(geo != nullptr, "the multi-view scores (2D keypoints of a calibrated rig)");
  }
  if (strategy == "bayesian") {
    need(geo && !geo->bayes_std.empty(), "the detector's 2D variance (MC-dropout / aleatoric)");
  }
  if (strategy == "vl4pose") need(!pool.frame_bone_nll.empty(), "3D bone lengths");
  if (strategy == "multi-peak-entropy") need(!pool.view_entropy.empty(), "heatmaps (entropy)");
  if (strategy == "aleatoric") need(!pool.view_aleatoric.empty(), "an aleatoric head's variance");
  if (strategy == "learning-loss") need(!pool.view_predicted_loss.empty(), "predicted losses");
  if (strategy == "core-set") need(!pool.view_features.empty(), "pooled detector features");

  const auto available = [&](int f, int c) {
    return pool.view_available.empty() || pool.view_available[static_cast<size_t>(f) * C + c];
  };
  const auto labelled = [&](int f) { return !pool.labelled.empty() && pool.labelled[f]; };
  std::vector<int> eligible;
  int64_t eligible_views = 0;
  for (int f = 0; f < F; ++f) {
    if (labelled(f)) continue;
    int views = 0;
    for (int c = 0; c < C; ++c) views += available(f, c) ? 1 : 0;
    if (views == 0) continue;
    eligible.push_back(f);
    eligible_views += views;
  }
  const bool by_views = options.unit == "views";
  const int64_t capacity = by_views ? eligible_views : static_cast<int64_t>(eligible.size());
  if (options.budget > capacity) {
    throw InputError("budget of " + std::to_string(options.budget) + " " + options.unit +
                     " is larger than the pool: " + std::to_string(capacity) + " unlabelled " +
                     options.unit + " with a person (of " + std::to_string(F) + " frames x " +
                     std::to_string(C) + " cameras)");
  }

  // ---- Frame-level components (for every strategy: the breakdown columns) ----
  const auto frame_mean_of_views = [&](const std::vector<float>& per_view) {
    std::vector<float> out(F, static_cast<float>(kNaN));
    if (per_view.empty()) return out;
    for (int f = 0; f < F; ++f) {
      double sum = 0;
      int n = 0;
      for (int c = 0; c < C; ++c) {
        const float v = per_view[static_cast<size_t>(f) * C + c];
        if (available(f, c) && std::isfinite(v)) {
          sum += v;
          ++n;
        }
      }
      if (n) out[f] = static_cast<float>(sum / n);
    }
    return out;
  };
  const std::vector<float> frame_entropy = frame_mean_of_views(pool.view_entropy);
  const std::vector<float> frame_aleatoric = frame_mean_of_views(pool.view_aleatoric);
  const std::vector<float> frame_loss = frame_mean_of_views(pool.view_predicted_loss);
  std::vector<double> geometry(F, kNaN), bayesian(F, kNaN), confidence(F, kNaN), fused(F, kNaN);
  if (geo) {
    const auto residual = PercentileRanks(geo->frame_residual);
    const auto outliers = PercentileRanks(geo->frame_outlier_share);
    const auto loo = PercentileRanks(geo->frame_loo_spread);
    const auto bayes = PercentileRanks(geo->frame_bayes);
    const auto doubt = PercentileRanks(geo->frame_low_confidence);
    const bool have_bayes = !geo->bayes_std.empty();
    const double wg = options.geometry_weight, wb = have_bayes ? options.bayesian_weight : 0.0,
                 wc = options.confidence_weight;
    for (int f = 0; f < F; ++f) {
      geometry[f] = MeanFinite({residual[f], outliers[f], loo[f]});
      bayesian[f] = bayes[f];
      confidence[f] = doubt[f];
      if (wg + wb + wc > 0) {
        const double g = std::isfinite(geometry[f]) ? geometry[f] : 0.0;
        const double b = std::isfinite(bayesian[f]) ? bayesian[f] : 0.0;
        const double c = std::isfinite(confidence[f]) ? confidence[f] : 0.0;
        fused[f] = std::isfinite(geometry[f]) || std::isfinite(bayesian[f])
                       ? (wg * g + wb * b + wc * c) / (wg + wb + wc)
                       : kNaN;
      }
    }
  }

  // ---- The strategy's frame score and view score ----
  std::mt19937_64 rng(options.seed);
  std::vector<double> score(F, kNaN);
  std::vector<double> view_score(FC, kNaN);
  const auto view_pct_of = [&](const std::vector<float>& per_view) {
    return PercentileRanks(per_view);
  };
  if (IsMultiviewFamily(strategy)) {
    const std::vector<double>& s = strategy == "multiview"  ? fused
                                   : strategy == "geometry" ? geometry
                                                            : bayesian;
    score = s;
  } else if (strategy == "random") {
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (int f = 0; f < F; ++f) score[f] = u(rng);
    for (double& v : view_score) v = u(rng);
  } else if (strategy == "anipose-bad") {
    std::vector<float> finite;
    for (float v : geo->frame_reproj_px) {
      if (std::isfinite(v)) finite.push_back(v);
    }
    double median = 0;
    if (!finite.empty()) {
      std::nth_element(finite.begin(), finite.begin() + finite.size() / 2, finite.end());
      median = finite[finite.size() / 2];
    }
    std::normal_distribution<double> noise(0.0, options.anipose_noise * median + 1e-12);
    for (int f = 0; f < F; ++f) {
      const double n = noise(rng);
      if (std::isfinite(geo->frame_reproj_px[f])) score[f] = geo->frame_reproj_px[f] + n;
    }
  } else if (strategy == "vl4pose") {
    for (int f = 0; f < F; ++f) score[f] = pool.frame_bone_nll[f];
  } else if (strategy == "multi-peak-entropy") {
    for (int f = 0; f < F; ++f) score[f] = frame_entropy[f];
    for (size_t i = 0; i < FC; ++i) view_score[i] = pool.view_entropy[i];
  } else if (strategy == "aleatoric") {
    for (int f = 0; f < F; ++f) score[f] = frame_aleatoric[f];
    for (size_t i = 0; i < FC; ++i) view_score[i] = pool.view_aleatoric[i];
  } else if (strategy == "learning-loss") {
    for (int f = 0; f < F; ++f) score[f] = frame_loss[f];
    for (size_t i = 0; i < FC; ++i) view_score[i] = pool.view_predicted_loss[i];
  }
  // Frame-level strategies choose views by the views' disagreement (+ uncertainty).
  if (!IsViewLevel(strategy) && strategy != "random" && geo) {
    const auto dis = view_pct_of(geo->view_disagreement);
    const auto unc = view_pct_of(geo->view_uncertainty);
    for (size_t i = 0; i < FC; ++i) view_score[i] = MeanFinite({dis[i], unc[i]});
  }

  // ---- Order of the picks ----
  std::vector<int> frame_order;     // frame-level strategies
  std::vector<int64_t> view_order;  // view-level strategies with a budget in views: f * C + c
  const auto by_score_desc = [&](std::vector<int> frames) {
    std::stable_sort(frames.begin(), frames.end(), [&](int a, int b) {
      const bool fa = std::isfinite(score[a]), fb = std::isfinite(score[b]);
      if (fa != fb) return fa;
      return fa && score[a] > score[b];
    });
    return frames;
  };
  const auto suppress = [&](std::vector<uint8_t>& blocked, int f) {
    for (int g = std::max(0, f - options.suppress_frames);
         g <= std::min(F - 1, f + options.suppress_frames);
         ++g) {
      blocked[g] = 1;
    }
  };
  if (strategy == "core-set") {
    const int D = pool.feature_dim;
    if (by_views) {
      std::vector<int> centres, candidates;
      for (int f = 0; f < F; ++f) {
        for (int c = 0; c < C; ++c) {
          if (!available(f, c)) continue;
          (labelled(f) ? centres : candidates).push_back(f * C + c);
        }
      }
      for (int i : KCenterGreedy(pool.view_features, D, centres, candidates, options.budget)) {
        view_order.push_back(i);
      }
    } else {
      std::vector<float> frame_features(static_cast<size_t>(F) * D, 0.f);
      std::vector<int> centres;
      for (int f = 0; f < F; ++f) {
        int n = 0;
        for (int c = 0; c < C; ++c) {
          if (!available(f, c)) continue;
          for (int k = 0; k < D; ++k) {
            frame_features[static_cast<size_t>(f) * D + k] +=
                pool.view_features[(static_cast<size_t>(f) * C + c) * D + k];
          }
          ++n;
        }
        for (int k = 0; k < D && n; ++k) frame_features[static_cast<size_t>(f) * D + k] /= n;
        if (labelled(f) && n) centres.push_back(f);
      }
      frame_order = KCenterGreedy(frame_features, D, centres, eligible, options.budget);
    }
  } else if (IsViewLevel(strategy) && by_views) {
    for (int f : eligible) {
      for (int c = 0; c < C; ++c) {
        if (available(f, c)) view_order.push_back(static_cast<int64_t>(f) * C + c);
      }
    }
    std::stable_sort(view_order.begin(), view_order.end(), [&](int64_t a, int64_t b) {
      const bool fa = std::isfinite(view_score[a]), fb = std::isfinite(view_score[b]);
      if (fa != fb) return fa;
      return fa && view_score[a] > view_score[b];
    });
  } else if (IsMultiviewFamily(strategy)) {
    // Pose descriptors: root-centred robust 3D, over the person's size; invalid joints at 0.
    const int J = geo->num_joints;
    const auto descriptor = [&](int f, std::vector<double>* d) {
      d->assign(static_cast<size_t>(J) * 3, 0.0);
      Eigen::Vector3d mean = Eigen::Vector3d::Zero();
      int n = 0;
      for (int j = 0; j < J; ++j) {
        if (geo->poses.IsValid(f, j)) {
          mean += geo->poses.Position(f, j);
          ++n;
        }
      }
      const double size = geo->person_size_m[f];
      if (n == 0 || !(std::isfinite(size) && size > 0)) return false;
      mean /= n;
      for (int j = 0; j < J; ++j) {
        if (!geo->poses.IsValid(f, j)) continue;
        const Eigen::Vector3d p = (geo->poses.Position(f, j) - mean) / size;
        for (int k = 0; k < 3; ++k) (*d)[j * 3 + k] = p[k];
      }
      return true;
    };
    std::vector<std::vector<double>> descriptors(F);
    std::vector<uint8_t> has_descriptor(F, 0);
    for (int f = 0; f < F; ++f) has_descriptor[f] = descriptor(f, &descriptors[f]) ? 1 : 0;
    const auto distance2 = [&](int a, int b) {
      double d = 0;
      for (size_t k = 0; k < descriptors[a].size(); ++k) {
        d += (descriptors[a][k] - descriptors[b][k]) * (descriptors[a][k] - descriptors[b][k]);
      }
      return d;
    };
    const std::vector<int> ranked = by_score_desc(eligible);
    // Similarity scale: half the median distance of the eligible poses to their mean pose.
    std::vector<double> mean_descriptor(static_cast<size_t>(J) * 3, 0.0);
    int described = 0;
    for (int f : ranked) {
      if (!has_descriptor[f]) continue;
      for (size_t k = 0; k < mean_descriptor.size(); ++k) mean_descriptor[k] += descriptors[f][k];
      ++described;
    }
    std::vector<double> spreads;
    for (int f : ranked) {
      if (!has_descriptor[f]) continue;
      double d = 0;
      for (size_t k = 0; k < mean_descriptor.size(); ++k) {
        const double m = mean_descriptor[k] / described;
        d += (descriptors[f][k] - m) * (descriptors[f][k] - m);
      }
      spreads.push_back(std::sqrt(d));
    }
    double rho = 0;
    if (!spreads.empty()) {
      std::nth_element(spreads.begin(), spreads.begin() + spreads.size() / 2, spreads.end());
      rho = options.diversity_scale * spreads[spreads.size() / 2];
    }
    std::vector<double> nearest(F, std::numeric_limits<double>::infinity());
    const auto add_centre = [&](int c) {
      if (!has_descriptor[c]) return;
      for (int g : ranked) {
        if (has_descriptor[g]) nearest[g] = std::min(nearest[g], distance2(c, g));
      }
    };
    for (int f = 0; f < F; ++f) {
      if (labelled(f)) add_centre(f);
    }
    const auto similarity = [&](int f) {
      if (!has_descriptor[f] || !(rho > 0) || !std::isfinite(nearest[f])) return 0.0;
      return std::exp(-nearest[f] / (2 * rho * rho));
    };
    std::vector<uint8_t> blocked(F, 0), picked(F, 0);
    const int window = static_cast<int>(std::ceil(options.candidate_factor * options.budget));
    // Candidates: the top `window` unblocked frames of the ranking (refilled as picks block);
    // the pick maximises score - diversity_weight x similarity to the labelled and picked poses.
    while (static_cast<int>(frame_order.size()) < options.budget) {
      int best = -1;
      double best_priority = -std::numeric_limits<double>::infinity();
      int seen = 0;
      for (int f : ranked) {
        if (seen >= window) break;
        if (blocked[f] || picked[f] || !std::isfinite(score[f])) continue;
        ++seen;
        const double priority = score[f] - options.diversity_weight * similarity(f);
        if (priority > best_priority) {
          best_priority = priority;
          best = f;
        }
      }
      if (best < 0) break;
      picked[best] = 1;
      frame_order.push_back(best);
      suppress(blocked, best);
      add_centre(best);
    }
    // Not enough uncertain, unsuppressed frames: the rest of the ranking, unsuppressed.
    for (int f : ranked) {
      if (!picked[f]) frame_order.push_back(f);
    }
  } else if (strategy == "anipose-bad") {
    const std::vector<int> ranked = by_score_desc(eligible);
    std::vector<uint8_t> blocked(F, 0), picked(F, 0);
    for (int f : ranked) {
      if (blocked[f]) continue;
      picked[f] = 1;
      frame_order.push_back(f);
      suppress(blocked, f);
    }
    for (int f : ranked) {
      if (!picked[f]) frame_order.push_back(f);
    }
  } else {
    frame_order = by_score_desc(eligible);
  }

  // ---- Views and rows under the budget ----
  std::vector<double> available_view_scores;
  for (int f : eligible) {
    for (int c = 0; c < C; ++c) {
      const double v = view_score[static_cast<size_t>(f) * C + c];
      if (available(f, c) && std::isfinite(v)) available_view_scores.push_back(v);
    }
  }
  double view_threshold = -std::numeric_limits<double>::infinity();
  if (!available_view_scores.empty()) {
    std::nth_element(available_view_scores.begin(),
                     available_view_scores.begin() + available_view_scores.size() / 2,
                     available_view_scores.end());
    view_threshold = available_view_scores[available_view_scores.size() / 2];
  }

  Selection selection;
  selection.component_names = kComponents;
  selection.metadata["strategy"] = strategy;
  selection.metadata["budget"] = std::to_string(options.budget);
  selection.metadata["unit"] = options.unit;
  selection.metadata["pool_frames"] = std::to_string(F);
  std::string cams;
  for (const std::string& name : pool.camera_names) cams += (cams.empty() ? "" : ";") + name;
  selection.metadata["cameras"] = cams;
  const auto make_row = [&](int f) {
    SelectionRow row;
    row.frame = f;
    row.score = score[f];
    const auto g = [&](const std::vector<float>& v) {
      return v.empty() ? kNaN : static_cast<double>(v[f]);
    };
    row.components = {fused[f],
                      geometry[f],
                      bayesian[f],
                      confidence[f],
                      geo ? g(geo->frame_residual) : kNaN,
                      geo ? g(geo->frame_outlier_share) : kNaN,
                      geo ? g(geo->frame_loo_spread) : kNaN,
                      geo ? g(geo->frame_bayes) : kNaN,
                      geo ? g(geo->frame_reproj_px) : kNaN,
                      g(frame_entropy),
                      g(frame_aleatoric),
                      g(frame_loss),
                      g(pool.frame_bone_nll)};
    return row;
  };
  int64_t spent = 0;
  if (!view_order.empty()) {
    // View-level ranking: group the picked views by frame, frames in order of their best view.
    std::vector<int> row_of_frame(F, -1);
    for (int64_t i : view_order) {
      if (spent >= options.budget) break;
      const int f = static_cast<int>(i / C), c = static_cast<int>(i % C);
      if (row_of_frame[f] < 0) {
        row_of_frame[f] = static_cast<int>(selection.rows.size());
        selection.rows.push_back(make_row(f));
        if (std::isfinite(view_score[i])) selection.rows.back().score = view_score[i];
      }
      selection.rows[row_of_frame[f]].views.push_back(pool.camera_names[c]);
      ++spent;
    }
  } else {
    for (int f : frame_order) {
      if (spent >= options.budget) break;
      SelectionRow row = make_row(f);
      std::vector<int> cams_of_frame;
      for (int c = 0; c < C; ++c) {
        if (available(f, c)) cams_of_frame.push_back(c);
      }
      if (by_views) {
        std::stable_sort(cams_of_frame.begin(), cams_of_frame.end(), [&](int a, int b) {
          const double va = view_score[static_cast<size_t>(f) * C + a];
          const double vb = view_score[static_cast<size_t>(f) * C + b];
          const bool fa = std::isfinite(va), fb = std::isfinite(vb);
          if (fa != fb) return fa;
          return fa && va > vb;
        });
        std::vector<int> chosen;
        for (size_t k = 0; k < cams_of_frame.size(); ++k) {
          const double v = view_score[static_cast<size_t>(f) * C + cams_of_frame[k]];
          if (k == 0 || (std::isfinite(v) && v >= view_threshold))
            chosen.push_back(cams_of_frame[k]);
        }
        const int64_t room = options.budget - spent;
        if (static_cast<int64_t>(chosen.size()) > room) chosen.resize(room);
        cams_of_frame = chosen;
        std::sort(cams_of_frame.begin(), cams_of_frame.end());
      }
      for (int c : cams_of_frame) row.views.push_back(pool.camera_names[c]);
      spent += by_views ? static_cast<int64_t>(row.views.size()) : 1;
      selection.rows.push_back(std::move(row));
    }
    if (by_views && spent < options.budget) {
      // Every frame had its disagreeing views: spend the rest on the remaining views in order.
      for (SelectionRow& row : selection.rows) {
        for (int c = 0; c < C && spent < options.budget; ++c) {
          if (!available(row.frame, c)) continue;
          if (std::find(row.views.begin(), row.views.end(), pool.camera_names[c]) !=
              row.views.end()) {
            continue;
          }
          row.views.push_back(pool.camera_names[c]);
          ++spent;
        }
      }
    }
  }
  for (size_t r = 0; r < selection.rows.size(); ++r) {
    selection.rows[r].rank = static_cast<int>(r) + 1;
  }
  return selection;
}

}  // namespace rigpose

// SPDX-License-Identifier: BSD-3-Clause
#include "al/view_disagreement.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include <Eigen/Dense>

#include "core/error.h"
#include "core/parallel_for.h"
#include "triangulate/dlt.h"

namespace rigpose {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Mean of the finite values; NaN when there is none.
class MeanOf {
 public:
  void Add(double value) {
    if (std::isfinite(value)) {
      sum_ += value;
      ++count_;
    }
  }
  float Get() const { return count_ ? static_cast<float>(sum_ / count_) : kNaN; }
  int count() const { return count_; }

 private:
  double sum_ = 0;
  int count_ = 0;
};

// 2x3 Jacobian of the full projection at X (central differences, step relative to the depth).
bool ProjectionJacobian(const Camera& camera,
                        const Eigen::Vector3d& point,
                        Eigen::Matrix<double, 2, 3>* jacobian) {
  const double depth = (camera.cam_from_world * point).z();
  if (!(depth > 0)) return false;
  const double h = 1e-6 * std::max(1.0, depth);
  for (int k = 0; k < 3; ++k) {
    Eigen::Vector3d plus = point, minus = point;
    plus[k] += h;
    minus[k] -= h;
    const auto p = camera.ImgFromWorld(plus);
    const auto m = camera.ImgFromWorld(minus);
    if (!p || !m) return false;
    jacobian->col(k) = (*p - *m) / (2 * h);
  }
  return jacobian->allFinite();
}

}  // namespace

std::vector<std::string> ViewDisagreementOptions::Check() const {
  std::vector<std::string> problems;
  for (const std::string& problem : robust.Check()) problems.push_back("robust." + problem);
  if (!(std::isfinite(residual_cap) && residual_cap > 0)) {
    std::ostringstream s;
    s << "residual_cap = " << residual_cap << " must be finite and > 0";
    problems.push_back(s.str());
  }
  if (!(std::isfinite(min_person_size_px) && min_person_size_px > 0)) {
    std::ostringstream s;
    s << "min_person_size_px = " << min_person_size_px << " must be finite and > 0";
    problems.push_back(s.str());
  }
  return problems;
}

ViewDisagreement ComputeViewDisagreement(const std::vector<Camera>& cameras,
                                         const Keypoints2D& keypoints,
                                         const std::vector<float>& variance,
                                         const ViewDisagreementOptions& options) {
  const std::vector<std::string> problems = options.Check();
  RIGPOSE_CHECK(problems.empty(), "invalid ViewDisagreementOptions: " << problems.front());
  const int F = keypoints.num_frames(), C = keypoints.num_cameras(), J = keypoints.num_joints();
  RIGPOSE_CHECK(static_cast<int>(cameras.size()) == C,
                "ComputeViewDisagreement: " << cameras.size() << " cameras for keypoints of " << C);
  const int64_t FCJ = static_cast<int64_t>(F) * C * J;
  RIGPOSE_CHECK(
      variance.empty() || static_cast<int64_t>(variance.size()) == FCJ,
      "ComputeViewDisagreement: variance has " << variance.size() << " values, expected " << FCJ);
  const bool bayes = !variance.empty();

  ViewDisagreement out;
  out.num_frames = F;
  out.num_cameras = C;
  out.num_joints = J;
  RobustOptions robust = options.robust;
  robust.dlt.num_threads = options.num_threads;
  RobustBatchResult batch = TriangulateRobustBatch(cameras, keypoints, robust);
  out.poses = std::move(batch.poses);
  out.status = std::move(batch.status);
  out.inlier = std::move(batch.inlier_mask);
  out.residual.assign(FCJ, kNaN);
  out.loo_shift.assign(FCJ, kNaN);
  out.person_size_px.assign(static_cast<size_t>(F) * C, kNaN);
  out.person_size_m.assign(F, kNaN);
  if (bayes) {
    out.bayes_std.assign(static_cast<size_t>(F) * J, kNaN);
    out.view_std2d.assign(FCJ, kNaN);
  }
  out.frame_residual.assign(F, kNaN);
  out.frame_outlier_share.assign(F, kNaN);
  out.frame_loo_spread.assign(F, kNaN);
  out.frame_bayes.assign(F, kNaN);
  out.frame_reproj_px.assign(F, kNaN);
  out.frame_low_confidence.assign(F, kNaN);
  out.view_disagreement.assign(static_cast<size_t>(F) * C, kNaN);
  out.view_uncertainty.assign(static_cast<size_t>(F) * C, kNaN);

  const float min_score = robust.dlt.min_score;
  const auto usable = [&](int f, int c, int j) {
    return keypoints.IsPresent(f, c, j) && keypoints.score(f, c, j) >= min_score;
  };

  // Person sizes: 2D per view, 3D per frame (median fallback).
  for (int f = 0; f < F; ++f) {
    for (int c = 0; c < C; ++c) {
      Eigen::Vector2d lo(1e300, 1e300), hi(-1e300, -1e300);
      int n = 0;
      for (int j = 0; j < J; ++j) {
        if (!usable(f, c, j)) continue;
        const Eigen::Vector2d p(keypoints.x(f, c, j), keypoints.y(f, c, j));
        lo = lo.cwiseMin(p);
        hi = hi.cwiseMax(p);
        ++n;
      }
      if (n >= 2) {
        out.person_size_px[f * C + c] =
            static_cast<float>(std::max((hi - lo).norm(), options.min_person_size_px));
      }
    }
    Eigen::Vector3d lo(1e300, 1e300, 1e300), hi(-1e300, -1e300, -1e300);
    int n = 0;
    for (int j = 0; j < J; ++j) {
      if (!out.poses.IsValid(f, j)) continue;
      lo = lo.cwiseMin(out.poses.Position(f, j));
      hi = hi.cwiseMax(out.poses.Position(f, j));
      ++n;
    }
    if (n >= 2) out.person_size_m[f] = static_cast<float>((hi - lo).norm());
  }
  {
    std::vector<float> sizes;
    for (float s : out.person_size_m) {
      if (std::isfinite(s) && s > 0) sizes.push_back(s);
    }
    float median = kNaN;
    if (!sizes.empty()) {
      std::nth_element(sizes.begin(), sizes.begin() + sizes.size() / 2, sizes.end());
      median = sizes[sizes.size() / 2];
    }
    // A frame with a degenerate box (two joints on top of each other) also takes the median.
    for (float& s : out.person_size_m) {
      if (!(std::isfinite(s) && s > 0.05f * median)) s = median;
    }
  }

  std::vector<Rigid3d> cams_from_world;
  for (const Camera& camera : cameras) cams_from_world.push_back(camera.cam_from_world);

  internal::ParallelFor(F, options.num_threads, [&](int, int64_t begin, int64_t end) {
    std::vector<Rigid3d> poses;
    std::vector<Eigen::Vector2d> points;
    std::vector<double> weights;
    for (int f = static_cast<int>(begin); f < end; ++f) {
      const double size_m = out.person_size_m[f];
      MeanOf frame_residual, frame_outliers, frame_loo, frame_bayes, frame_px;
      std::vector<MeanOf> view_dis(C), view_unc(C);
      for (int j = 0; j < J; ++j) {
        const bool valid = out.poses.IsValid(f, j);
        const auto status = static_cast<TriangulationStatus>(out.status[f * J + j]);
        MeanOf joint_residual;
        int views = 0, inliers = 0;
        for (int c = 0; c < C; ++c) {
          const int64_t i = out.Index(f, c, j);
          const float err = batch.reproj_error_px[i];
          if (!std::isfinite(err)) continue;
          frame_px.Add(err);
          ++views;
          inliers += out.inlier[i] ? 1 : 0;
          const float size_px = out.person_size_px[f * C + c];
          if (std::isfinite(size_px)) {
            out.residual[i] =
                static_cast<float>(std::min<double>(err / size_px, options.residual_cap));
            joint_residual.Add(out.residual[i]);
          }
        }
        frame_residual.Add(joint_residual.Get());
        if (valid && views > 0) {
          frame_outliers.Add(1.0 - static_cast<double>(inliers) / views);
        } else if (status == TriangulationStatus::kTooFewInliers) {
          frame_outliers.Add(1.0);  // the views disagree so much that no point survived
        }
        if (!valid) continue;
        const Eigen::Vector3d X = out.poses.Position(f, j);

        // Leave one inlier view out (needs >= 2 remaining views).
        if (inliers >= 3 && std::isfinite(size_m)) {
          std::vector<int> inlier_views;
          std::vector<Eigen::Vector2d> normalised;
          for (int c = 0; c < C; ++c) {
            if (!out.inlier[out.Index(f, c, j)]) continue;
            UndistortStatus undistort;
            const Eigen::Vector2d p = cameras[c].CamFromImg(
                Eigen::Vector2d(keypoints.x(f, c, j), keypoints.y(f, c, j)), &undistort);
            if (!undistort.converged) continue;
            inlier_views.push_back(c);
            normalised.push_back(p);
          }
          MeanOf rms;
          for (size_t left_out = 0; left_out < inlier_views.size() && inlier_views.size() >= 3;
               ++left_out) {
            poses.clear();
            points.clear();
            weights.clear();
            for (size_t k = 0; k < inlier_views.size(); ++k) {
              if (k == left_out) continue;
              poses.push_back(cams_from_world[inlier_views[k]]);
              points.push_back(normalised[k]);
              weights.push_back(keypoints.score(f, inlier_views[k], j));
            }
            TriangulationStatus s;
            const auto X_without = TriangulateDlt(poses, points, weights, robust.dlt, &s);
            const int c = inlier_views[left_out];
            const double shift = X_without ? (*X_without - X).norm() / size_m
                                           : static_cast<double>(options.residual_cap);
            out.loo_shift[out.Index(f, c, j)] = static_cast<float>(shift);
            rms.Add(shift * shift);
          }
          if (rms.count()) frame_loo.Add(std::sqrt(rms.Get()));
        }

        // First-order propagation of the 2D variance through the inlier views.
        if (bayes && std::isfinite(size_m)) {
          Eigen::Matrix3d information = Eigen::Matrix3d::Zero();
          int used = 0;
          for (int c = 0; c < C; ++c) {
            const int64_t i = out.Index(f, c, j);
            const double var = variance[i];
            const float size_px = out.person_size_px[f * C + c];
            if (std::isfinite(var) && var > 0 && std::isfinite(size_px) && usable(f, c, j)) {
              out.view_std2d[i] = static_cast<float>(std::sqrt(var) / size_px);
            }
            if (!out.inlier[i] || !(std::isfinite(var) && var > 0)) continue;
            Eigen::Matrix<double, 2, 3> jac;
            if (!ProjectionJacobian(cameras[c], X, &jac)) continue;
            information += jac.transpose() * jac / var;
            ++used;
          }
          if (used >= 2) {
            Eigen::SelfAdjointEigenSolver<Eigen::Matrix3d> eig(information);
            if (eig.info() == Eigen::Success && eig.eigenvalues()(0) > 1e-12) {
              const double trace = (eig.eigenvalues().cwiseInverse()).sum();
              out.bayes_std[f * J + j] = static_cast<float>(std::sqrt(trace) / size_m);
              frame_bayes.Add(out.bayes_std[f * J + j]);
            }
          }
        }
      }
      for (int c = 0; c < C; ++c) {
        for (int j = 0; j < J; ++j) {
          const int64_t i = out.Index(f, c, j);
          if (std::isfinite(out.residual[i])) {
            const float loo = out.loo_shift[i];
            view_dis[c].Add(out.residual[i] + (std::isfinite(loo) ? loo : 0.f));
          }
          if (bayes) view_unc[c].Add(out.view_std2d[i]);
        }
        out.view_disagreement[f * C + c] = view_dis[c].Get();
        out.view_uncertainty[f * C + c] = view_unc[c].Get();
      }
      out.frame_residual[f] = frame_residual.Get();
      out.frame_outlier_share[f] = frame_outliers.Get();
      out.frame_loo_spread[f] = frame_loo.Get();
      out.frame_bayes[f] = frame_bayes.Get();
      out.frame_reproj_px[f] = frame_px.Get();
      MeanOf confidence;
      for (int c = 0; c < C; ++c) {
        for (int j = 0; j < J; ++j) {
          if (keypoints.IsPresent(f, c, j)) confidence.Add(keypoints.score(f, c, j));
        }
      }
      if (confidence.count()) out.frame_low_confidence[f] = 1.f - confidence.Get();
    }
  });
  return out;
}

}  // namespace rigpose

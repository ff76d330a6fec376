// SPDX-License-Identifier: BSD-3-Clause
// Ceres refinement of triangulated joints: exact and noisy synthetic rigs against the DLT and an
// independent float64 maximum-likelihood solver written here (no Ceres), outlier views masked by
// the robust triangulation, the predicted covariance against Monte Carlo, the autodiff cost
// functions against central differences, and sequences (smoothness + bone lengths, windows).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <ceres/gradient_checker.h>
#include <ceres/loss_function.h>
#include <ceres/manifold.h>
#include <gtest/gtest.h>
#include <Eigen/Dense>

#include "core/parallel_for.h"
#include "tests/triangulate/synthetic_rig.h"
#include "triangulate/dlt.h"
#include "triangulate/refine.h"
#include "triangulate/robust_triangulation.h"

namespace rigpose {
namespace {

constexpr double kPi = 3.14159265358979323846;

Poses3D TruthPoses(const std::vector<Eigen::Vector3d>& points, int num_frames, int num_joints) {
  Poses3D poses(num_frames, num_joints);
  for (int f = 0; f < num_frames; ++f) {
    for (int j = 0; j < num_joints; ++j) poses.Set(f, j, points[f * num_joints + j]);
  }
  return poses;
}

// Mean distance to the truth over joints valid in `poses`.
double Mpjpe(const Poses3D& poses, const std::vector<Eigen::Vector3d>& truth) {
  double sum = 0.0;
  int count = 0;
  for (int f = 0; f < poses.num_frames(); ++f) {
    for (int j = 0; j < poses.num_joints(); ++j) {
      if (!poses.IsValid(f, j)) continue;
      sum += (poses.Position(f, j) - truth[f * poses.num_joints() + j]).norm();
      ++count;
    }
  }
  return count > 0 ? sum / count : std::numeric_limits<double>::quiet_NaN();
}

// ---- Independent reference: float64 Levenberg-Marquardt with central differences ------------

// Minimises Σ ‖w_i (π_i(X) − u_i)‖² over the views of (frame, joint) with score > 0, through
// Camera::ImgFromWorld, from `start`. No Ceres, no robust loss.
Eigen::Vector3d MaximumLikelihoodPoint(const std::vector<Camera>& cameras,
                                       const Keypoints2D& keypoints,
                                       int frame,
                                       int joint,
                                       bool weighted,
                                       Eigen::Vector3d point) {
  std::vector<int> views;
  for (int c = 0; c < keypoints.num_cameras(); ++c) {
    if (keypoints.IsPresent(frame, c, joint)) views.push_back(c);
  }
  const int n = static_cast<int>(views.size());
  auto residuals = [&](const Eigen::Vector3d& x, Eigen::VectorXd* r) {
    r->resize(2 * n);
    for (int i = 0; i < n; ++i) {
      const int c = views[i];
      const std::optional<Eigen::Vector2d> img_point = cameras[c].ImgFromWorld(x);
      if (!img_point) return false;
      const double w = weighted ? keypoints.score(frame, c, joint) : 1.0;
      (*r)[2 * i] = w * (img_point->x() - keypoints.x(frame, c, joint));
      (*r)[2 * i + 1] = w * (img_point->y() - keypoints.y(frame, c, joint));
    }
    return true;
  };
  Eigen::VectorXd r;
  if (!residuals(point, &r)) return point;
  double cost = r.squaredNorm();
  double lambda = 1e-4;
  const double h = 1e-5;
  Eigen::MatrixXd jacobian(2 * n, 3);
  Eigen::VectorXd r_plus;
  Eigen::VectorXd r_minus;
  for (int iteration = 0; iteration < 200; ++iteration) {
    for (int k = 0; k < 3; ++k) {
      Eigen::Vector3d plus = point;
      Eigen::Vector3d minus = point;
      plus[k] += h;
      minus[k] -= h;
      residuals(plus, &r_plus);
      residuals(minus, &r_minus);
      jacobian.col(k) = (r_plus - r_minus) / (2 * h);
    }
    const Eigen::Matrix3d normal = jacobian.transpose() * jacobian;
    const Eigen::Vector3d gradient = jacobian.transpose() * r;
    Eigen::Matrix3d damped = normal;
    damped.diagonal() *= 1.0 + lambda;
    const Eigen::Vector3d step = damped.ldlt().solve(-gradient);
    Eigen::VectorXd r_new;
    if (residuals(point + step, &r_new) && r_new.squaredNorm() <= cost) {
      point += step;
      r = r_new;
      cost = r.squaredNorm();
      lambda = std::max(1e-12, lambda * 0.1);
      if (step.norm() < 1e-14) break;
    } else {
      lambda *= 10.0;
      if (lambda > 1e12) break;
    }
  }
  return point;
}

Poses3D MaximumLikelihoodPoses(const std::vector<Camera>& cameras,
                               const Keypoints2D& keypoints,
                               const Poses3D& initial,
                               bool weighted) {
  Poses3D poses = initial;
  for (int f = 0; f < initial.num_frames(); ++f) {
    for (int j = 0; j < initial.num_joints(); ++j) {
      if (!initial.IsValid(f, j)) continue;
      poses.Set(
          f, j, MaximumLikelihoodPoint(cameras, keypoints, f, j, weighted, initial.Position(f, j)));
    }
  }
  return poses;
}

double MaxDistance(const Poses3D& a, const Poses3D& b) {
  double max_distance = 0.0;
  for (int f = 0; f < a.num_frames(); ++f) {
    for (int j = 0; j < a.num_joints(); ++j) {
      if (!a.IsValid(f, j) || !b.IsValid(f, j)) continue;
      max_distance = std::max(max_distance, (a.Position(f, j) - b.Position(f, j)).norm());
    }
  }
  return max_distance;
}

// ---- RefineFrames ------------------------------------------------------------------------------

TEST(RefineFrames, ExactObservations) {
  const int num_frames = 20;
  const int num_joints = 17;
  const std::vector<Camera> cameras = test::SyntheticRig(4, 11);
  const std::vector<Eigen::Vector3d> truth = test::RandomPoints(num_frames * num_joints, 12);
  const Keypoints2D keypoints =
      test::ProjectKeypoints(cameras, truth, num_frames, num_joints, 0.0, 1);
  // Starting points: the truth moved 2-5 cm in a random direction.
  std::mt19937 rng(13);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> offset_m(0.02, 0.05);
  Poses3D initial(num_frames, num_joints);
  for (int f = 0; f < num_frames; ++f) {
    for (int j = 0; j < num_joints; ++j) {
      const Eigen::Vector3d direction =
          Eigen::Vector3d(normal(rng), normal(rng), normal(rng)).normalized();
      initial.Set(f, j, truth[f * num_joints + j] + offset_m(rng) * direction);
    }
  }
  RefineOptions options;
  options.num_threads = 2;
  const RefineResult result = RefineFrames(cameras, keypoints, initial, {}, options);
  ASSERT_EQ(result.poses.num_frames(), num_frames);
  ASSERT_EQ(result.poses.num_joints(), num_joints);
  EXPECT_EQ(result.summary.num_points, num_frames * num_joints);
  EXPECT_EQ(result.summary.num_residuals, num_frames * num_joints * 4);
  EXPECT_EQ(result.summary.num_failed, 0);
  EXPECT_EQ(result.summary.num_too_few_views, 0);
  EXPECT_LT(result.summary.final_cost, 1e-6 * result.summary.initial_cost);
  // The keypoints are float: rounding (~3e-5 px at 1000 px) moves the optimum ~1e-7 m off the
  // truth. Against the float64 optimum of the same (rounded) keypoints the solve is exact.
  const Poses3D reference = MaximumLikelihoodPoses(cameras, keypoints, initial, true);
  EXPECT_LT(MaxDistance(result.poses, reference), 1e-9);
  EXPECT_LT(MaxDistance(result.poses, TruthPoses(truth, num_frames, num_joints)), 2e-6);
  for (int f = 0; f < num_frames; ++f) {
    for (int c = 0; c < 4; ++c) {
      for (int j = 0; j < num_joints; ++j) {
        EXPECT_LT(result.reproj_error_px[keypoints.Offset(f, c, j) / 3], 1e-3f);
      }
    }
  }
  // From the truth itself nothing moves beyond the rounding either.
  const RefineResult from_truth =
      RefineFrames(cameras, keypoints, TruthPoses(truth, num_frames, num_joints), {}, options);
  EXPECT_LT(MaxDistance(from_truth.poses, reference), 1e-9);
}

struct NoisyScene {
  std::vector<Camera> cameras;
  std::vector<Eigen::Vector3d> truth;
  Keypoints2D keypoints;
};

NoisyScene MakeNoisyScene(
    int num_cameras, int num_frames, int num_joints, double noise_px, uint32_t seed) {
  NoisyScene scene;
  scene.cameras = test::SyntheticRig(num_cameras, seed);
  scene.truth = test::RandomPoints(num_frames * num_joints, seed + 1);
  scene.keypoints = test::ProjectKeypoints(
      scene.cameras, scene.truth, num_frames, num_joints, noise_px, seed + 2);
  return scene;
}

TEST(RefineFrames, NoisyMatchesMaximumLikelihood) {
  const int num_frames = 150;
  const int num_joints = 17;
  const NoisyScene scene = MakeNoisyScene(4, num_frames, num_joints, 2.0, 21);
  const DltBatchResult dlt = TriangulateDltBatch(scene.cameras, scene.keypoints);
  const RefineResult refined = RefineFrames(scene.cameras, scene.keypoints, dlt.poses, {});
  RefineOptions least_squares;
  least_squares.loss = RobustLoss::kNone;
  const RefineResult refined_ls =
      RefineFrames(scene.cameras, scene.keypoints, dlt.poses, {}, least_squares);
  const Poses3D ml = MaximumLikelihoodPoses(scene.cameras, scene.keypoints, dlt.poses, true);
  const double mpjpe_dlt = Mpjpe(dlt.poses, scene.truth);
  const double mpjpe_refined = Mpjpe(refined.poses, scene.truth);
  const double mpjpe_refined_ls = Mpjpe(refined_ls.poses, scene.truth);
  const double mpjpe_ml = Mpjpe(ml, scene.truth);
  std::printf(
      "[ RefineFrames ] 4 cams, sigma 2 px, %d joints: MPJPE DLT %.3f mm, refined (huber 4 px) "
      "%.3f mm, refined (no loss) %.3f mm, independent ML %.3f mm\n",
      num_frames * num_joints,
      1e3 * mpjpe_dlt,
      1e3 * mpjpe_refined,
      1e3 * mpjpe_refined_ls,
      1e3 * mpjpe_ml);
  EXPECT_EQ(refined.summary.num_points, num_frames * num_joints);
  EXPECT_LE(mpjpe_refined, mpjpe_dlt);
  EXPECT_LE(std::abs(mpjpe_refined - mpjpe_ml), 0.02 * mpjpe_ml);
  // Without a robust loss the problem is the reference's: same optimum (to the solver's function
  // tolerance, ~1e-7 m).
  EXPECT_LT(MaxDistance(refined_ls.poses, ml), 3e-7);
  EXPECT_LT(refined.summary.final_cost, refined.summary.initial_cost);
}

TEST(RefineFrames, OutlierViewMaskedByRobustTriangulation) {
  const int num_frames = 100;
  const int num_joints = 17;
  const NoisyScene scene = MakeNoisyScene(4, num_frames, num_joints, 2.0, 31);
  const DltBatchResult clean_dlt = TriangulateDltBatch(scene.cameras, scene.keypoints);
  const RefineResult clean = RefineFrames(scene.cameras, scene.keypoints, clean_dlt.poses, {});
  // One random view of every joint moved 100 px in a random direction.
  Keypoints2D keypoints = scene.keypoints;
  std::mt19937 rng(32);
  std::uniform_int_distribution<int> camera(0, 3);
  std::uniform_real_distribution<double> angle(0.0, 2.0 * kPi);
  for (int f = 0; f < num_frames; ++f) {
    for (int j = 0; j < num_joints; ++j) {
      const int c = camera(rng);
      const double a = angle(rng);
      keypoints.Set(f,
                    c,
                    j,
                    static_cast<float>(keypoints.x(f, c, j) + 100.0 * std::cos(a)),
                    static_cast<float>(keypoints.y(f, c, j) + 100.0 * std::sin(a)),
                    1.f);
    }
  }
  const RobustBatchResult robust = TriangulateRobustBatch(scene.cameras, keypoints);
  // Oracle: the same keypoints with the true outlier views masked.
  std::vector<uint8_t> oracle_mask(robust.inlier_mask.size(), 1);
  for (size_t k = 0; k < oracle_mask.size(); ++k) {
    oracle_mask[k] = std::abs(keypoints.data()[3 * k] - scene.keypoints.data()[3 * k]) < 1.f;
  }
  const RefineResult oracle = RefineFrames(scene.cameras, keypoints, clean_dlt.poses, oracle_mask);
  const RefineResult refined =
      RefineFrames(scene.cameras, keypoints, robust.poses, robust.inlier_mask);
  const double mpjpe_clean = Mpjpe(clean.poses, scene.truth);
  const double mpjpe_robust = Mpjpe(robust.poses, scene.truth);
  const double mpjpe_refined = Mpjpe(refined.poses, scene.truth);
  const double mpjpe_oracle = Mpjpe(oracle.poses, scene.truth);
  std::printf(
      "[ RefineFrames ] one 100 px outlier of 4 views: MPJPE robust DLT %.3f mm, robust + refine "
      "%.3f mm, oracle mask + refine %.3f mm, clean refine %.3f mm (ratio to clean %.3f, to "
      "oracle %.3f)\n",
      1e3 * mpjpe_robust,
      1e3 * mpjpe_refined,
      1e3 * mpjpe_oracle,
      1e3 * mpjpe_clean,
      mpjpe_refined / mpjpe_clean,
      mpjpe_refined / mpjpe_oracle);
  EXPECT_EQ(refined.summary.num_points, num_frames * num_joints);
  EXPECT_LE(mpjpe_refined, mpjpe_robust);
  // Losing one of four views costs sqrt(4/3) ≈ 1.15 for a symmetric rig; this rig's geometry
  // alone (the oracle) costs 1.18, so the bound on robust + refine is 1.25 × clean and 1.03 ×
  // the oracle (what the robust mask may lose by misclassifying a few views).
  EXPECT_LE(mpjpe_oracle, 1.2 * mpjpe_clean);
  EXPECT_LE(mpjpe_refined, 1.25 * mpjpe_clean);
  EXPECT_LE(mpjpe_refined, 1.03 * mpjpe_oracle);
  // The masked views are not used: no reprojection error reported for them.
  for (size_t k = 0; k < robust.inlier_mask.size(); ++k) {
    if (!robust.inlier_mask[k]) {
      EXPECT_TRUE(std::isnan(refined.reproj_error_px[k])) << k;
    }
  }
}

TEST(RefineFrames, CovarianceMatchesMonteCarlo) {
  const int num_draws = 300;
  const std::vector<Camera> cameras = test::SyntheticRig(4, 41);
  const std::vector<Eigen::Vector3d> fixed = {
      {0.0, 0.0, 1.0}, {0.8, -0.6, 0.3}, {-0.7, 0.9, 1.8}, {0.4, 0.5, 1.2}};
  const int num_joints = static_cast<int>(fixed.size());
  // Camera 0 has score 0.5 and twice the noise: the weighted residual's noise stays sigma.
  const double sigma_px = 2.0;
  const std::vector<float> scores = {0.5f, 1.f, 1.f, 1.f};
  std::mt19937 rng(42);
  std::normal_distribution<double> normal(0.0, 1.0);
  Keypoints2D keypoints(num_draws, 4, num_joints);
  std::vector<Eigen::Vector3d> truth;
  for (int f = 0; f < num_draws; ++f) {
    for (int j = 0; j < num_joints; ++j) {
      truth.push_back(fixed[j]);
      for (int c = 0; c < 4; ++c) {
        const Eigen::Vector2d img_point = *cameras[c].ImgFromWorld(fixed[j]);
        const double noise = sigma_px / scores[c];
        keypoints.Set(f,
                      c,
                      j,
                      static_cast<float>(img_point.x() + noise * normal(rng)),
                      static_cast<float>(img_point.y() + noise * normal(rng)),
                      scores[c]);
      }
    }
  }
  RefineOptions options;
  options.loss = RobustLoss::kNone;
  options.observation_sigma_px = sigma_px;
  const RefineResult result =
      RefineFrames(cameras, keypoints, TruthPoses(truth, num_draws, num_joints), {}, options);
  ASSERT_EQ(result.covariance.size(), static_cast<size_t>(6 * num_draws * num_joints));
  for (int j = 0; j < num_joints; ++j) {
    Eigen::Vector3d mean = Eigen::Vector3d::Zero();
    Eigen::Matrix3d predicted = Eigen::Matrix3d::Zero();
    for (int f = 0; f < num_draws; ++f) {
      mean += result.poses.Position(f, j) / num_draws;
      const float* c = result.covariance.data() + 6 * (f * num_joints + j);
      Eigen::Matrix3d covariance;
      covariance << c[0], c[1], c[2], c[1], c[3], c[4], c[2], c[4], c[5];
      ASSERT_TRUE(covariance.allFinite());
      predicted += covariance / num_draws;
    }
    Eigen::Matrix3d empirical = Eigen::Matrix3d::Zero();
    for (int f = 0; f < num_draws; ++f) {
      const Eigen::Vector3d d = result.poses.Position(f, j) - mean;
      empirical += d * d.transpose() / (num_draws - 1);
    }
    const double trace_ratio = empirical.trace() / predicted.trace();
    std::printf(
        "[ RefineFrames ] joint %d: predicted sd (%.2f, %.2f, %.2f) mm, Monte Carlo (%.2f, %.2f, "
        "%.2f) mm, trace ratio %.3f\n",
        j,
        1e3 * std::sqrt(predicted(0, 0)),
        1e3 * std::sqrt(predicted(1, 1)),
        1e3 * std::sqrt(predicted(2, 2)),
        1e3 * std::sqrt(empirical(0, 0)),
        1e3 * std::sqrt(empirical(1, 1)),
        1e3 * std::sqrt(empirical(2, 2)),
        trace_ratio);
    EXPECT_NEAR(trace_ratio, 1.0, 0.15) << j;
    for (int axis = 0; axis < 3; ++axis) {
      EXPECT_NEAR(empirical(axis, axis) / predicted(axis, axis), 1.0, 0.25) << j << " " << axis;
    }
  }
}

TEST(RefineFrames, CovarianceScalesWithSigmaAndIsNaNWhenNotRefined) {
  const NoisyScene scene = MakeNoisyScene(3, 2, 2, 1.0, 51);
  Keypoints2D keypoints = scene.keypoints;
  keypoints.SetMissing(1, 1, 1);
  keypoints.SetMissing(1, 2, 1);  // (1, 1) seen once: kept, no covariance
  const Poses3D initial = TruthPoses(scene.truth, 2, 2);
  RefineOptions options;
  options.observation_sigma_px = 1.0;
  const RefineResult one = RefineFrames(scene.cameras, keypoints, initial, {}, options);
  options.observation_sigma_px = 3.0;
  const RefineResult three = RefineFrames(scene.cameras, keypoints, initial, {}, options);
  for (int k = 0; k < 6 * 3; ++k) {
    EXPECT_NEAR(
        three.covariance[k], 9.0f * one.covariance[k], 1e-6f * std::abs(three.covariance[k]))
        << k;
  }
  for (int k = 6 * 3; k < 6 * 4; ++k) EXPECT_TRUE(std::isnan(one.covariance[k])) << k;
  EXPECT_GT(one.covariance[0], 0.f);
  options.compute_covariance = false;
  EXPECT_TRUE(RefineFrames(scene.cameras, keypoints, initial, {}, options).covariance.empty());
}

TEST(RefineFrames, SingleViewMaskAndInvalidJoints) {
  const int num_frames = 3;
  const int num_joints = 4;
  const NoisyScene scene = MakeNoisyScene(4, num_frames, num_joints, 1.0, 61);
  Keypoints2D keypoints = scene.keypoints;
  Poses3D initial = TruthPoses(scene.truth, num_frames, num_joints);
  const Eigen::Vector3d moved = initial.Position(0, 0) + Eigen::Vector3d(0.01, 0.0, 0.0);
  initial.Set(0, 0, moved);
  for (int c = 1; c < 4; ++c) keypoints.SetMissing(0, c, 0);  // (0, 0): one view
  initial.SetInvalid(1, 1);                                   // (1, 1): invalid input
  // (2, 2): the mask leaves one view, and a low score (below min_score) removes (2, 3)'s views.
  std::vector<uint8_t> mask(static_cast<size_t>(num_frames) * 4 * num_joints, 1);
  for (int c = 1; c < 4; ++c) mask[keypoints.Offset(2, c, 2) / 3] = 0;
  for (int c = 0; c < 3; ++c) {
    keypoints.Set(2, c, 3, keypoints.x(2, c, 3), keypoints.y(2, c, 3), 0.05f);
  }
  RefineOptions options;
  options.min_score = 0.1f;
  const RefineResult result = RefineFrames(scene.cameras, keypoints, initial, mask, options);
  EXPECT_EQ(result.summary.num_too_few_views, 3);
  EXPECT_EQ(result.summary.num_points, num_frames * num_joints - 4);
  EXPECT_EQ(result.poses.Position(0, 0), moved);  // kept, bit for bit
  EXPECT_FALSE(result.poses.IsValid(1, 1));
  EXPECT_EQ(result.poses.Position(2, 2), initial.Position(2, 2));
  EXPECT_EQ(result.poses.Position(2, 3), initial.Position(2, 3));
  // Reprojection errors: only the used views.
  EXPECT_FALSE(std::isnan(result.reproj_error_px[keypoints.Offset(0, 0, 0) / 3]));
  EXPECT_TRUE(std::isnan(result.reproj_error_px[keypoints.Offset(0, 1, 0) / 3]));
  for (int c = 0; c < 4; ++c) {
    EXPECT_TRUE(std::isnan(result.reproj_error_px[keypoints.Offset(1, c, 1) / 3]));
    EXPECT_EQ(std::isnan(result.reproj_error_px[keypoints.Offset(2, c, 2) / 3]), c != 0);
    EXPECT_EQ(std::isnan(result.reproj_error_px[keypoints.Offset(2, c, 3) / 3]), c != 3);
  }
}

TEST(RefineFrames, DeterministicAcrossThreads) {
  const NoisyScene scene = MakeNoisyScene(5, 40, 17, 3.0, 71);
  const DltBatchResult dlt = TriangulateDltBatch(scene.cameras, scene.keypoints);
  RefineOptions options;
  options.num_threads = 1;
  const RefineResult one = RefineFrames(scene.cameras, scene.keypoints, dlt.poses, {}, options);
  options.num_threads = 3;
  const RefineResult three = RefineFrames(scene.cameras, scene.keypoints, dlt.poses, {}, options);
  EXPECT_EQ(MaxDistance(one.poses, three.poses), 0.0);
  EXPECT_EQ(one.summary.num_iterations, three.summary.num_iterations);
}

TEST(RefineFrames, RobustLossesAllConverge) {
  const NoisyScene scene = MakeNoisyScene(4, 20, 17, 2.0, 81);
  const DltBatchResult dlt = TriangulateDltBatch(scene.cameras, scene.keypoints);
  const double mpjpe_dlt = Mpjpe(dlt.poses, scene.truth);
  for (const RobustLoss loss :
       {RobustLoss::kNone, RobustLoss::kHuber, RobustLoss::kSoftLOne, RobustLoss::kCauchy}) {
    RefineOptions options;
    options.loss = loss;
    const RefineResult result =
        RefineFrames(scene.cameras, scene.keypoints, dlt.poses, {}, options);
    EXPECT_EQ(result.summary.num_failed, 0) << RobustLossName(loss);
    EXPECT_LE(Mpjpe(result.poses, scene.truth), mpjpe_dlt) << RobustLossName(loss);
  }
}

TEST(RefineFrames, Empty) {
  const std::vector<Camera> cameras = test::SyntheticRig(3, 1);
  const RefineResult no_frames = RefineFrames(cameras, Keypoints2D(0, 3, 17), Poses3D(0, 17), {});
  EXPECT_EQ(no_frames.poses.num_frames(), 0);
  EXPECT_TRUE(no_frames.reproj_error_px.empty());
  EXPECT_EQ(no_frames.summary.num_problems, 0);
  const RefineResult no_joints = RefineFrames(cameras, Keypoints2D(5, 3, 0), Poses3D(5, 0), {});
  EXPECT_EQ(no_joints.poses.num_frames(), 5);
  EXPECT_EQ(no_joints.summary.num_points, 0);
  const RefineResult sequence =
      RefineSequence(cameras, Keypoints2D(0, 3, 17), Poses3D(0, 17), {}, {{0, 1}});
  EXPECT_EQ(sequence.poses.num_frames(), 0);
  ASSERT_EQ(sequence.summary.bone_lengths_m.size(), 1u);
  EXPECT_TRUE(std::isnan(sequence.summary.bone_lengths_m[0]));
  const RefineResult sequence_no_joints =
      RefineSequence(cameras, Keypoints2D(5, 3, 0), Poses3D(5, 0), {}, {});
  EXPECT_EQ(sequence_no_joints.summary.num_points, 0);
}

// Expects std::invalid_argument whose message contains `needle`.
template <typename Fn>
void ExpectInvalidArgument(Fn&& fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "no exception, expected one naming '" << needle << "'";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(RefineFrames, BadArgs) {
  std::vector<Camera> cameras = test::SyntheticRig(3, 1);
  const Keypoints2D keypoints(2, 3, 4);
  const Poses3D initial(2, 4);
  const std::vector<uint8_t> mask(2 * 3 * 4, 1);
  EXPECT_NO_THROW(RefineFrames(cameras, keypoints, initial, mask));
  ExpectInvalidArgument(
      [&] {
        RefineFrames({cameras[0], cameras[1]}, keypoints, initial, {});
      },
      "cameras");
  ExpectInvalidArgument([&] { RefineFrames(cameras, keypoints, Poses3D(3, 4), {}); }, "initial");
  ExpectInvalidArgument([&] { RefineFrames(cameras, keypoints, Poses3D(2, 5), {}); }, "initial");
  ExpectInvalidArgument(
      [&] { RefineFrames(cameras, keypoints, initial, std::vector<uint8_t>(5, 1)); }, "view_mask");
  RefineOptions options;
  options.loss_scale_px = 0.0;
  ExpectInvalidArgument([&] { RefineFrames(cameras, keypoints, initial, {}, options); },
                        "loss_scale_px");
  options = {};
  options.max_iterations = 0;
  ExpectInvalidArgument([&] { RefineFrames(cameras, keypoints, initial, {}, options); },
                        "max_iterations");
  cameras[1].params[0] = -3.0;
  ExpectInvalidArgument([&] { RefineFrames(cameras, keypoints, initial, {}); }, "cam1");
}

TEST(RefineSequence, BadArgs) {
  std::vector<Camera> cameras = test::SyntheticRig(3, 1);
  const Keypoints2D keypoints(2, 3, 4);
  const Poses3D initial(2, 4);
  const std::vector<std::pair<int, int>> bones = {{0, 1}, {1, 2}};
  EXPECT_NO_THROW(RefineSequence(cameras, keypoints, initial, {}, bones));
  ExpectInvalidArgument([&] { RefineSequence({cameras[0]}, keypoints, initial, {}, bones); },
                        "cameras");
  ExpectInvalidArgument([&] { RefineSequence(cameras, keypoints, Poses3D(2, 3), {}, bones); },
                        "initial");
  ExpectInvalidArgument(
      [&] { RefineSequence(cameras, keypoints, initial, std::vector<uint8_t>(1, 1), bones); },
      "view_mask");
  ExpectInvalidArgument(
      [&] {
        RefineSequence(cameras, keypoints, initial, {}, {{0, 4}});
      },
      "bones[0]");
  ExpectInvalidArgument(
      [&] {
        RefineSequence(cameras, keypoints, initial, {}, {{0, 1}, {-1, 2}});
      },
      "bones[1]");
  ExpectInvalidArgument(
      [&] {
        RefineSequence(cameras, keypoints, initial, {}, {{2, 2}});
      },
      "bones[0]");
  RefineOptions options;
  options.window_frames = 2;
  ExpectInvalidArgument([&] { RefineSequence(cameras, keypoints, initial, {}, bones, options); },
                        "window_frames");
  options = {};
  options.window_overlap = options.window_frames;
  ExpectInvalidArgument([&] { RefineSequence(cameras, keypoints, initial, {}, bones, options); },
                        "window_overlap");
  options = {};
  options.smoothness_weight = -1.0;
  ExpectInvalidArgument([&] { RefineSequence(cameras, keypoints, initial, {}, bones, options); },
                        "smoothness_weight");
  cameras[2].params[1] = 0.0;
  ExpectInvalidArgument([&] { RefineSequence(cameras, keypoints, initial, {}, bones); }, "cam2");
}

TEST(RefineOptions, CheckListsEveryProblem) {
  EXPECT_TRUE(RefineOptions{}.Check().empty());
  const double nan = std::numeric_limits<double>::quiet_NaN();
  RefineOptions options;
  options.loss = static_cast<RobustLoss>(17);
  options.loss_scale_px = nan;
  options.min_score = -0.5f;
  options.smoothness_weight = -1.0;
  options.bone_length_weight = std::numeric_limits<double>::infinity();
  options.window_frames = 2;
  options.window_overlap = 2;
  options.max_iterations = 0;
  options.num_threads = -1;
  options.observation_sigma_px = 0.0;
  const std::vector<std::string> problems = options.Check();
  ASSERT_EQ(problems.size(), 10u);
  const char* names[] = {"loss ",
                         "loss_scale_px",
                         "min_score",
                         "smoothness_weight",
                         "bone_length_weight",
                         "window_frames",
                         "window_overlap",
                         "max_iterations",
                         "num_threads",
                         "observation_sigma_px"};
  for (int k = 0; k < 10; ++k) {
    EXPECT_EQ(problems[k].rfind(names[k], 0), 0u) << problems[k];
  }
  options = {};
  options.window_overlap = -1;
  EXPECT_EQ(options.Check().size(), 1u);
}

TEST(RobustLoss, NamesRoundTrip) {
  for (const RobustLoss loss :
       {RobustLoss::kNone, RobustLoss::kHuber, RobustLoss::kSoftLOne, RobustLoss::kCauchy}) {
    EXPECT_EQ(RobustLossFromName(RobustLossName(loss)), loss);
  }
  EXPECT_EQ(RobustLossFromName("Huber"), RobustLoss::kHuber);
  EXPECT_EQ(RobustLossName(RobustLoss::kSoftLOne), "soft_l1");
  EXPECT_FALSE(RobustLossFromName("tukey").has_value());
  EXPECT_FALSE(RobustLossFromName("").has_value());
}

// ---- Cost functions: autodiff against central differences ------------------------------------

Camera FisheyeCamera() {
  Camera camera;
  camera.name = "fisheye";
  camera.model_id = CameraModelId::kOpenCVFisheye;
  camera.width = 1280;
  camera.height = 960;
  camera.params = {420.0, 421.0, 640.0, 480.0, 0.05, -0.01, 0.003, -0.0005};
  camera.cam_from_world = test::LookAt(Eigen::Vector3d(2.5, -1.0, 2.0), Eigen::Vector3d(0, 0, 1));
  return camera;
}

// Autodiff Jacobians against (1) ceres::GradientChecker and (2) our own central differences,
// which also say where a mismatch is. GradientChecker::ProbeResults is not used: it holds Eigen
// matrices allocated inside libceres, and under ASan Eigen switches this translation unit to its
// hand-made aligned allocator (Eigen/src/Core/util/Memory.h), so freeing them here would not
// match the uninstrumented library.
void ExpectGradientsMatch(const ceres::CostFunction& cost,
                          const std::vector<std::vector<double>>& blocks,
                          const std::string& what,
                          double checker_precision = 1e-7) {  // <= 0: central differences only
  const ceres::NumericDiffOptions numeric;
  const ceres::GradientChecker checker(
      &cost, static_cast<const std::vector<const ceres::Manifold*>*>(nullptr), numeric);
  std::vector<const double*> parameters;
  for (const std::vector<double>& block : blocks) parameters.push_back(block.data());
  if (checker_precision > 0.0) {
    EXPECT_TRUE(checker.Probe(parameters.data(), checker_precision, nullptr)) << what;
  }

  const int num_residuals = cost.num_residuals();
  std::vector<std::vector<double>> jacobians;
  std::vector<double*> jacobian_pointers;
  for (const std::vector<double>& block : blocks) {
    jacobians.emplace_back(num_residuals * block.size());
  }
  for (std::vector<double>& jacobian : jacobians) jacobian_pointers.push_back(jacobian.data());
  std::vector<double> residual(num_residuals);
  ASSERT_TRUE(cost.Evaluate(parameters.data(), residual.data(), jacobian_pointers.data())) << what;
  std::vector<std::vector<double>> probe = blocks;
  std::vector<const double*> probe_pointers;
  for (const std::vector<double>& block : probe) probe_pointers.push_back(block.data());
  std::vector<double> plus(num_residuals);
  std::vector<double> minus(num_residuals);
  for (size_t b = 0; b < blocks.size(); ++b) {
    const int size = static_cast<int>(blocks[b].size());
    for (int k = 0; k < size; ++k) {
      const double h = 1e-6 * std::max(1.0, std::abs(blocks[b][k]));
      probe[b][k] = blocks[b][k] + h;
      ASSERT_TRUE(cost.Evaluate(probe_pointers.data(), plus.data(), nullptr));
      probe[b][k] = blocks[b][k] - h;
      ASSERT_TRUE(cost.Evaluate(probe_pointers.data(), minus.data(), nullptr));
      probe[b][k] = blocks[b][k];
      for (int r = 0; r < num_residuals; ++r) {
        const double numeric_derivative = (plus[r] - minus[r]) / (2 * h);
        const double autodiff = jacobians[b][r * size + k];
        EXPECT_NEAR(autodiff, numeric_derivative, 1e-6 * std::max(1.0, std::abs(autodiff)))
            << what << ": block " << b << ", parameter " << k << ", residual " << r;
      }
    }
  }
}

TEST(RefineCostFunctions, ReprojectionGradientPerCameraModel) {
  std::vector<Camera> cameras = test::SyntheticRig(2, 91);
  ASSERT_EQ(cameras[0].model_id, CameraModelId::kOpenCV);
  ASSERT_EQ(cameras[1].model_id, CameraModelId::kPinhole);
  cameras.push_back(FisheyeCamera());
  for (const Camera& camera : cameras) {
    for (const Eigen::Vector3d& point : test::RandomPoints(10, 92)) {
      const std::optional<Eigen::Vector2d> img_point = camera.ImgFromWorld(point);
      ASSERT_TRUE(img_point.has_value());
      const Eigen::Vector2d observed = *img_point + Eigen::Vector2d(3.0, -2.0);
      const std::unique_ptr<ceres::CostFunction> cost(
          internal::CreateReprojectionCostFunction(camera, observed, 0.7));
      ASSERT_EQ(cost->num_residuals(), 2);
      // The residual itself: w (π(X) − u).
      double residual[2];
      const double* parameters[1] = {point.data()};
      ASSERT_TRUE(cost->Evaluate(parameters, residual, nullptr));
      EXPECT_NEAR(residual[0], 0.7 * -3.0, 1e-9);
      EXPECT_NEAR(residual[1], 0.7 * 2.0, 1e-9);
      ExpectGradientsMatch(
          *cost, {{point.x(), point.y(), point.z()}}, CameraModelName(camera.model_id));
    }
    // Behind the camera: the cost reports failure instead of a residual.
    const Eigen::Vector3d behind =
        camera.cam_from_world.Inverse() * Eigen::Vector3d(0.1, 0.2, -1.0);
    const std::unique_ptr<ceres::CostFunction> cost(
        internal::CreateReprojectionCostFunction(camera, Eigen::Vector2d(10, 10), 1.0));
    double residual[2];
    const double* parameters[1] = {behind.data()};
    EXPECT_FALSE(cost->Evaluate(parameters, residual, nullptr));
  }
}

TEST(RefineCostFunctions, PointViewsCostIsTheSumOfRobustViewCosts) {
  // One block for all views of a point, the loss applied per view inside: its ½ ‖f‖² must equal
  // ½ Σ_v ρ(s_v) of the per-view blocks with the loss, and its Jacobian must be exact, for inliers
  // (quadratic part), outliers (robust part) and every camera model.
  std::vector<Camera> cameras = test::SyntheticRig(3, 93);
  cameras.push_back(FisheyeCamera());
  const std::vector<double> weights = {1.0, 0.7, 0.4, 0.9};
  for (const RobustLoss loss :
       {RobustLoss::kNone, RobustLoss::kHuber, RobustLoss::kSoftLOne, RobustLoss::kCauchy}) {
    for (const Eigen::Vector3d& point : test::RandomPoints(6, 94)) {
      // Offsets 0.5 px (inside a 4 px scale), 3 px (near it), 30 and 200 px (outliers).
      const double offsets[4] = {0.5, 3.0, 30.0, 200.0};
      std::vector<Eigen::Vector2d> observed;
      for (size_t c = 0; c < cameras.size(); ++c) {
        const std::optional<Eigen::Vector2d> img_point = cameras[c].ImgFromWorld(point);
        ASSERT_TRUE(img_point.has_value());
        observed.push_back(*img_point + offsets[c] * Eigen::Vector2d(0.6, -0.8));
      }
      const std::unique_ptr<ceres::CostFunction> cost(
          internal::CreatePointViewsCostFunction(cameras, observed, weights, loss, 4.0));
      ASSERT_EQ(cost->num_residuals(), 8);
      std::vector<double> residual(8);
      const double* parameters[1] = {point.data()};
      ASSERT_TRUE(cost->Evaluate(parameters, residual.data(), nullptr));
      double merged = 0.0;
      for (const double r : residual) merged += 0.5 * r * r;
      double expected = 0.0;
      for (size_t c = 0; c < cameras.size(); ++c) {
        const double s = std::pow(weights[c] * offsets[c], 2);
        double rho[3] = {s, 1.0, 0.0};
        if (loss == RobustLoss::kHuber) ceres::HuberLoss(4.0).Evaluate(s, rho);
        if (loss == RobustLoss::kSoftLOne) ceres::SoftLOneLoss(4.0).Evaluate(s, rho);
        if (loss == RobustLoss::kCauchy) ceres::CauchyLoss(4.0).Evaluate(s, rho);
        expected += 0.5 * rho[0];
      }
      EXPECT_NEAR(merged, expected, 1e-9 * expected) << RobustLossName(loss);
      // Central differences only: GradientChecker judges every entry relative to itself, and
      // the near-zero entries of a down-weighted outlier view fail it on difference noise; the
      // central differences bound every entry by 1e-6 max(1, |J|).
      ExpectGradientsMatch(
          *cost, {{point.x(), point.y(), point.z()}}, RobustLossName(loss), /*checker=*/0.0);
    }
  }
  // Exactly on the observations: zero residual, finite Jacobian.
  const Eigen::Vector3d point(0.1, 0.2, 1.0);
  std::vector<Eigen::Vector2d> exact;
  for (const Camera& camera : cameras) exact.push_back(*camera.ImgFromWorld(point));
  const std::unique_ptr<ceres::CostFunction> cost(
      internal::CreatePointViewsCostFunction(cameras, exact, weights, RobustLoss::kCauchy, 4.0));
  std::vector<double> residual(8);
  std::vector<double> jacobian(24);
  double* jacobians[1] = {jacobian.data()};
  const double* parameters[1] = {point.data()};
  ASSERT_TRUE(cost->Evaluate(parameters, residual.data(), jacobians));
  for (const double r : residual) EXPECT_NEAR(r, 0.0, 1e-9);
  for (const double j : jacobian) EXPECT_TRUE(std::isfinite(j)) << j;
  // Behind a camera: failure, as the per-view cost.
  const Eigen::Vector3d behind =
      cameras[0].cam_from_world.Inverse() * Eigen::Vector3d(0.1, 0.2, -1.0);
  const double* behind_parameters[1] = {behind.data()};
  EXPECT_FALSE(cost->Evaluate(behind_parameters, residual.data(), nullptr));
}

TEST(RefineCostFunctions, SmoothnessAndBoneGradients) {
  const std::unique_ptr<ceres::CostFunction> smoothness(internal::CreateSmoothnessCostFunction(50));
  ExpectGradientsMatch(
      *smoothness, {{0.1, 0.2, 1.0}, {0.12, 0.19, 1.01}, {0.15, 0.17, 1.03}}, "smoothness");
  double residual[3];
  const double a[3] = {0.0, 0.0, 1.0};
  const double b[3] = {0.1, 0.0, 1.0};
  const double c[3] = {0.3, 0.0, 1.0};
  const double* triple[3] = {a, b, c};
  ASSERT_TRUE(smoothness->Evaluate(triple, residual, nullptr));
  EXPECT_NEAR(residual[0], 50 * (0.0 - 0.2 + 0.3), 1e-12);
  const std::unique_ptr<ceres::CostFunction> bone(internal::CreateBoneLengthCostFunction(80));
  ExpectGradientsMatch(*bone, {{0.1, 0.2, 1.0}, {0.3, -0.1, 1.4}, {0.45}}, "bone");
  const double length = 0.25;
  const double* pair[3] = {a, c, &length};
  ASSERT_TRUE(bone->Evaluate(pair, residual, nullptr));
  EXPECT_NEAR(residual[0], 80 * (0.3 - 0.25), 1e-12);
}

// ---- RefineSequence ----------------------------------------------------------------------------

// A tree skeleton whose root wanders smoothly through the volume while every bone turns
// smoothly: joint k hangs from parent[k] at a constant length along a direction given by two
// sinusoidal angles.
struct Motion {
  int num_frames = 0;
  int num_joints = 0;
  std::vector<Eigen::Vector3d> truth;  // [F][J]
  std::vector<std::pair<int, int>> bones;
  std::vector<double> lengths_m;
};

Motion MakeMotion(int num_frames, int num_joints, uint32_t seed, double frame_rate_hz = 50.0) {
  Motion motion;
  motion.num_frames = num_frames;
  motion.num_joints = num_joints;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<int> parent(num_joints, -1);
  std::vector<double> frequency(2 * num_joints);
  std::vector<double> phase(2 * num_joints);
  std::vector<double> base(2 * num_joints);
  for (int j = 1; j < num_joints; ++j) {
    parent[j] = (j - 1) / 2;
    motion.bones.emplace_back(parent[j], j);
    motion.lengths_m.push_back(0.15 + 0.2 * unit(rng));
  }
  for (int k = 0; k < 2 * num_joints; ++k) {
    frequency[k] = 2.0 * kPi * (0.2 + 0.5 * unit(rng));  // rad/s
    phase[k] = 2.0 * kPi * unit(rng);
    base[k] = 2.0 * kPi * unit(rng);
  }
  motion.truth.resize(static_cast<size_t>(num_frames) * num_joints);
  for (int f = 0; f < num_frames; ++f) {
    const double t = f / frame_rate_hz;
    Eigen::Vector3d* pose = motion.truth.data() + static_cast<size_t>(f) * num_joints;
    pose[0] = Eigen::Vector3d(
        0.5 * std::sin(0.4 * t), 0.4 * std::cos(0.3 * t + 1.0), 1.0 + 0.1 * std::sin(0.9 * t));
    for (int j = 1; j < num_joints; ++j) {
      const double azimuth = base[2 * j] + 0.8 * std::sin(frequency[2 * j] * t + phase[2 * j]);
      const double elevation = 0.6 * std::sin(frequency[2 * j + 1] * t + phase[2 * j + 1]);
      const Eigen::Vector3d direction(std::cos(elevation) * std::cos(azimuth),
                                      std::cos(elevation) * std::sin(azimuth),
                                      std::sin(elevation));
      pose[j] = pose[parent[j]] + motion.lengths_m[j - 1] * direction;
    }
  }
  return motion;
}

TEST(RefineSequence, SmoothSkeletonBeatsFramesAndDlt) {
  const Motion motion = MakeMotion(300, 7, 101);
  const std::vector<Camera> cameras = test::SyntheticRig(4, 102);
  Keypoints2D keypoints =
      test::ProjectKeypoints(cameras, motion.truth, motion.num_frames, motion.num_joints, 2.5, 103);
  // Joint 4 is seen by camera 0 only in frames 150-159 (DLT cannot triangulate it there).
  for (int f = 150; f < 160; ++f) {
    for (int c = 1; c < 4; ++c) keypoints.SetMissing(f, c, 4);
  }
  const DltBatchResult dlt = TriangulateDltBatch(cameras, keypoints);
  Poses3D initial = dlt.poses;
  // The one-view frames start from the truth 4 cm off (e.g. an interpolated guess).
  for (int f = 150; f < 160; ++f) {
    ASSERT_FALSE(initial.IsValid(f, 4));
    initial.Set(f, 4, motion.truth[f * motion.num_joints + 4] + Eigen::Vector3d(0.04, 0.0, 0.0));
  }
  // Joint 2 is invalid in frames 100-104: it must stay invalid.
  for (int f = 100; f < 105; ++f) initial.SetInvalid(f, 2);

  RefineOptions options;
  options.num_threads = 2;
  const RefineResult frames = RefineFrames(cameras, keypoints, initial, {}, options);
  const RefineResult sequence =
      RefineSequence(cameras, keypoints, initial, {}, motion.bones, options);
  RefineOptions single_window = options;
  single_window.window_frames = 300;
  const RefineResult one_window =
      RefineSequence(cameras, keypoints, initial, {}, motion.bones, single_window);
  RefineOptions small_windows = options;
  small_windows.window_frames = 50;
  small_windows.window_overlap = 10;
  const RefineResult windowed =
      RefineSequence(cameras, keypoints, initial, {}, motion.bones, small_windows);

  // MPJPE over the frames DLT could triangulate (the one-view frames are judged below).
  Poses3D dlt_only = dlt.poses;
  Poses3D frames_only = frames.poses;
  Poses3D sequence_only = sequence.poses;
  for (int f = 150; f < 160; ++f) {
    frames_only.SetInvalid(f, 4);
    sequence_only.SetInvalid(f, 4);
  }
  for (int f = 100; f < 105; ++f) dlt_only.SetInvalid(f, 2);
  const double mpjpe_dlt = Mpjpe(dlt_only, motion.truth);
  const double mpjpe_frames = Mpjpe(frames_only, motion.truth);
  const double mpjpe_sequence = Mpjpe(sequence_only, motion.truth);
  std::printf(
      "[ RefineSequence ] 300 frames x 7 joints, 4 cams, sigma 2.5 px: MPJPE DLT %.3f mm, frames "
      "%.3f mm, sequence %.3f mm; windows 50/10 vs one window: max %.3f mm\n",
      1e3 * mpjpe_dlt,
      1e3 * mpjpe_frames,
      1e3 * mpjpe_sequence,
      1e3 * MaxDistance(windowed.poses, one_window.poses));
  EXPECT_LT(mpjpe_sequence, mpjpe_frames);
  EXPECT_LT(mpjpe_frames, mpjpe_dlt);
  EXPECT_LT(mpjpe_sequence, 0.8 * mpjpe_frames);

  // Bone lengths.
  ASSERT_EQ(sequence.summary.bone_lengths_m.size(), motion.bones.size());
  for (size_t b = 0; b < motion.bones.size(); ++b) {
    EXPECT_NEAR(sequence.summary.bone_lengths_m[b], motion.lengths_m[b], 0.003) << b;
    EXPECT_NEAR(windowed.summary.bone_lengths_m[b], motion.lengths_m[b], 0.003) << b;
  }

  // Windows: seams stay close to the one-window solution. Not in the one-view stretch: there the
  // depth along camera 0's ray hangs on the bone length, which each window estimates on its own
  // (a 0.5 mm longer bone moves the joint ~3 mm along that ray).
  Poses3D windowed_seen = windowed.poses;
  for (int f = 150; f < 160; ++f) windowed_seen.SetInvalid(f, 4);
  EXPECT_LT(MaxDistance(windowed_seen, one_window.poses), 0.001);
  EXPECT_LT(MaxDistance(windowed.poses, one_window.poses), 0.006);
  EXPECT_LT(std::abs(Mpjpe(windowed.poses, motion.truth) - Mpjpe(one_window.poses, motion.truth)),
            0.02 * Mpjpe(one_window.poses, motion.truth));
  EXPECT_GT(windowed.summary.num_problems, 6);
  EXPECT_EQ(one_window.summary.num_problems, 1);

  // Invalid joints stay invalid, with NaN covariance and reprojection errors.
  for (const RefineResult* result : {&sequence, &windowed}) {
    for (int f = 100; f < 105; ++f) {
      EXPECT_FALSE(result->poses.IsValid(f, 2)) << f;
      EXPECT_TRUE(std::isnan(result->covariance[6 * (f * motion.num_joints + 2)]));
      for (int c = 0; c < 4; ++c) {
        EXPECT_TRUE(std::isnan(result->reproj_error_px[keypoints.Offset(f, c, 2) / 3]));
      }
    }
    EXPECT_EQ(result->summary.num_points, 300 * 7 - 5);
    EXPECT_EQ(result->summary.num_too_few_views, 0);
  }
  // One-view frames: RefineFrames keeps them, the sequence pulls them onto the trajectory.
  EXPECT_EQ(frames.summary.num_too_few_views, 10);
  for (int f = 150; f < 160; ++f) {
    const Eigen::Vector3d& truth = motion.truth[f * motion.num_joints + 4];
    EXPECT_EQ(frames.poses.Position(f, 4), initial.Position(f, 4));
    EXPECT_LT((sequence.poses.Position(f, 4) - truth).norm(), 0.015) << f;
    EXPECT_TRUE(std::isfinite(sequence.covariance[6 * (f * motion.num_joints + 4)]));
  }
  EXPECT_LT(sequence.summary.final_cost, sequence.summary.initial_cost);
  // The smoothness and bone terms add information: the conditional covariance shrinks.
  int smaller = 0;
  int compared = 0;
  for (int f = 0; f < motion.num_frames; ++f) {
    for (int j = 0; j < motion.num_joints; ++j) {
      const float* a = frames.covariance.data() + 6 * (f * motion.num_joints + j);
      const float* b = sequence.covariance.data() + 6 * (f * motion.num_joints + j);
      if (std::isnan(a[0]) || std::isnan(b[0])) continue;
      ++compared;
      smaller += (b[0] + b[3] + b[5]) < (a[0] + a[3] + a[5]);
    }
  }
  EXPECT_GT(compared, 2000);
  EXPECT_EQ(smaller, compared);
}

TEST(RefineSequence, ExactObservationsAndDisabledTerms) {
  const Motion motion = MakeMotion(60, 5, 111);
  const std::vector<Camera> cameras = test::SyntheticRig(4, 112);
  const Keypoints2D keypoints =
      test::ProjectKeypoints(cameras, motion.truth, motion.num_frames, motion.num_joints, 0.0, 1);
  const Poses3D truth = TruthPoses(motion.truth, motion.num_frames, motion.num_joints);
  // With every term off the sequence solve is RefineFrames in windows.
  RefineOptions options;
  options.smoothness_weight = 0.0;
  options.bone_length_weight = 0.0;
  options.window_frames = 25;
  options.window_overlap = 5;
  const RefineResult plain = RefineSequence(cameras, keypoints, truth, {}, motion.bones, options);
  const RefineResult frames = RefineFrames(cameras, keypoints, truth, {}, options);
  EXPECT_LT(MaxDistance(plain.poses, frames.poses), 1e-8);
  EXPECT_LT(MaxDistance(plain.poses, truth), 2e-6);
  // Bone lengths then come from the refined poses.
  for (size_t b = 0; b < motion.bones.size(); ++b) {
    EXPECT_NEAR(plain.summary.bone_lengths_m[b], motion.lengths_m[b], 1e-5) << b;
  }
  // Exact 2D with the terms on: the truth is (up to rounding and the tiny true accelerations,
  // whose pull grows with λ_s: 0.46 mm at 300 px/m) still the optimum.
  RefineOptions terms_on;
  terms_on.smoothness_weight = 100.0;
  const RefineResult full = RefineSequence(cameras, keypoints, truth, {}, motion.bones, terms_on);
  EXPECT_LT(MaxDistance(full.poses, truth), 1e-4);
  for (size_t b = 0; b < motion.bones.size(); ++b) {
    EXPECT_NEAR(full.summary.bone_lengths_m[b], motion.lengths_m[b], 1e-4) << b;
  }
}

// ---- Timings (printed, not asserted) -----------------------------------------------------------

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(RefineTiming, PrintFramesAndSequence) {
  const Motion motion = MakeMotion(1000, 17, 121);
  for (const int num_cameras : {4, 32}) {
    const std::vector<Camera> cameras = test::SyntheticRig(num_cameras, 122);
    const int num_frames = num_cameras == 4 ? 1000 : 200;
    const std::vector<Eigen::Vector3d> truth(
        motion.truth.begin(), motion.truth.begin() + static_cast<size_t>(num_frames) * 17);
    const Keypoints2D keypoints = test::ProjectKeypoints(cameras, truth, num_frames, 17, 2.0, 123);
    const DltBatchResult dlt = TriangulateDltBatch(cameras, keypoints);
    for (const int threads : {1, 0}) {
      RefineOptions options;
      options.num_threads = threads;
      const auto start = std::chrono::steady_clock::now();
      const RefineResult result = RefineFrames(cameras, keypoints, dlt.poses, {}, options);
      const double seconds = Seconds(start);
      std::printf(
          "[ RefineTiming ] RefineFrames %d cams x 17 joints, %d threads: %.3f ms/frame "
          "(%.1f us/joint, %.2f iterations/joint), MPJPE DLT %.2f -> %.2f mm\n",
          num_cameras,
          internal::ResolveNumThreads(threads),
          1e3 * seconds / num_frames,
          1e6 * seconds / (num_frames * 17),
          static_cast<double>(result.summary.num_iterations) / result.summary.num_problems,
          1e3 * Mpjpe(dlt.poses, truth),
          1e3 * Mpjpe(result.poses, truth));
      EXPECT_EQ(result.summary.num_failed, 0);
    }
  }
  const std::vector<Camera> cameras = test::SyntheticRig(4, 122);
  const Keypoints2D keypoints = test::ProjectKeypoints(cameras, motion.truth, 1000, 17, 2.0, 124);
  const DltBatchResult dlt = TriangulateDltBatch(cameras, keypoints);
  for (const int threads : {1, 0}) {
    RefineOptions options;
    options.num_threads = threads;
    const auto start = std::chrono::steady_clock::now();
    const RefineResult result =
        RefineSequence(cameras, keypoints, dlt.poses, {}, motion.bones, options);
    const double seconds = Seconds(start);
    std::printf(
        "[ RefineTiming ] RefineSequence 1000 frames x 17 joints x 4 cams, %d threads: %.3f s "
        "(%lld windows, %lld iterations), MPJPE DLT %.2f -> %.2f mm\n",
        internal::ResolveNumThreads(threads),
        seconds,
        static_cast<long long>(result.summary.num_problems),
        static_cast<long long>(result.summary.num_iterations),
        1e3 * Mpjpe(dlt.poses, motion.truth),
        1e3 * Mpjpe(result.poses, motion.truth));
    EXPECT_EQ(result.summary.num_failed, 0);
  }
}

}  // namespace
}  // namespace rigpose

// SPDX-License-Identifier: BSD-3-Clause
// Robust (pair-RANSAC) triangulation: outlier views are rejected, the inlier mask names them, the
// work per joint stays within the hypothesis budget.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <stdexcept>

#include <gtest/gtest.h>

#include "tests/triangulate/synthetic_rig.h"
#include "triangulate/robust_triangulation.h"

namespace rigpose {
namespace {

std::vector<Eigen::Vector2d> ImgPoints(const std::vector<Camera>& cameras,
                                       const Eigen::Vector3d& point3D_in_world) {
  std::vector<Eigen::Vector2d> img_points;
  for (const Camera& camera : cameras) {
    const std::optional<Eigen::Vector2d> img_point = camera.ImgFromWorld(point3D_in_world);
    EXPECT_TRUE(img_point.has_value());
    img_points.push_back(*img_point);
  }
  return img_points;
}

TEST(TriangulateRobust, Nominal) {
  const std::vector<Camera> cameras = test::SyntheticRig(6, 4);
  for (const Eigen::Vector3d& point : test::RandomPoints(20, 5)) {
    const RobustPointResult result =
        TriangulateRobust(cameras, ImgPoints(cameras, point), std::vector<double>(6, 0.9));
    ASSERT_EQ(result.status, TriangulationStatus::kOk);
    EXPECT_LT((*result.point3D_in_world - point).norm(), 1e-9);
    EXPECT_EQ(result.num_inliers, 6);
    EXPECT_LE(result.num_hypotheses, 15);
    for (int c = 0; c < 6; ++c) {
      EXPECT_EQ(result.inlier_mask[c], 1);
      EXPECT_LT(result.reproj_error_px[c], 1e-6);
    }
  }
}

TEST(TriangulateRobust, OneOutlierOfFour) {
  const std::vector<Camera> cameras = test::SyntheticRig(4, 12);
  const Eigen::Vector3d point(0.3, 0.2, 1.4);
  for (int outlier = 0; outlier < 4; ++outlier) {
    std::vector<Eigen::Vector2d> img_points = ImgPoints(cameras, point);
    img_points[outlier] += Eigen::Vector2d(80.0, -60.0);  // 100 px
    const std::vector<double> scores(4, 1.0);
    const RobustPointResult result = TriangulateRobust(cameras, img_points, scores);
    ASSERT_EQ(result.status, TriangulationStatus::kOk);
    EXPECT_LT((*result.point3D_in_world - point).norm(), 1e-3);
    EXPECT_EQ(result.num_inliers, 3);
    for (int c = 0; c < 4; ++c) EXPECT_EQ(result.inlier_mask[c], c == outlier ? 0 : 1) << c;
    EXPECT_NEAR(result.reproj_error_px[outlier], 100.0, 1.0);
    // The plain DLT is pulled away by the same outlier.
    std::vector<Eigen::Vector2d> cam_points;
    for (int c = 0; c < 4; ++c) {
      UndistortStatus status;
      cam_points.push_back(cameras[c].CamFromImg(img_points[c], &status));
    }
    const auto dlt = TriangulateDlt(test::Poses(cameras), cam_points, scores);
    ASSERT_TRUE(dlt.has_value());
    EXPECT_GT((*dlt - point).norm(), 5e-3);
  }
}

TEST(TriangulateRobust, TooFewViewsAndInliers) {
  const std::vector<Camera> cameras = test::SyntheticRig(3, 2);
  const Eigen::Vector3d point(0.0, 0.1, 1.0);
  std::vector<Eigen::Vector2d> img_points = ImgPoints(cameras, point);
  RobustPointResult result =
      TriangulateRobust(cameras, img_points, {1.0, 0.0, std::numeric_limits<double>::quiet_NaN()});
  EXPECT_EQ(result.status, TriangulationStatus::kTooFewViews);
  EXPECT_FALSE(result.point3D_in_world.has_value());
  EXPECT_EQ(result.num_hypotheses, 0);

  img_points[2] += Eigen::Vector2d(0.0, 200.0);
  RobustOptions options;
  options.min_inliers = 3;
  result = TriangulateRobust(cameras, img_points, {1.0, 1.0, 1.0}, options);
  EXPECT_EQ(result.status, TriangulationStatus::kTooFewInliers);
  EXPECT_FALSE(result.point3D_in_world.has_value());
  options.min_inliers = 2;
  result = TriangulateRobust(cameras, img_points, {1.0, 1.0, 1.0}, options);
  EXPECT_EQ(result.status, TriangulationStatus::kOk);
  EXPECT_EQ(result.inlier_mask, (std::vector<uint8_t>{1, 1, 0}));
}

TEST(TriangulateRobust, BadArgs) {
  std::vector<Camera> cameras = test::SyntheticRig(3, 2);
  const std::vector<Eigen::Vector2d> img_points = ImgPoints(cameras, Eigen::Vector3d(0, 0, 1));
  const std::vector<double> scores(3, 1.0);
  EXPECT_NO_THROW(TriangulateRobust(cameras, img_points, scores));
  EXPECT_THROW(TriangulateRobust(cameras, img_points, {1.0, 1.0}), std::invalid_argument);
  EXPECT_THROW(TriangulateRobust(cameras, {img_points[0]}, scores), std::invalid_argument);
  RobustOptions options;
  options.max_reproj_error_px = 0.0;
  EXPECT_THROW(TriangulateRobust(cameras, img_points, scores, options), std::invalid_argument);
  options = {};
  options.max_pair_hypotheses = 0;
  EXPECT_THROW(TriangulateRobust(cameras, img_points, scores, options), std::invalid_argument);
  options = {};
  options.min_inliers = 1;
  EXPECT_THROW(TriangulateRobust(cameras, img_points, scores, options), std::invalid_argument);
  options = {};
  options.refine_iterations = -1;
  EXPECT_THROW(TriangulateRobust(cameras, img_points, scores, options), std::invalid_argument);
  options = {};
  options.dlt.min_score = -1.f;
  EXPECT_THROW(TriangulateRobust(cameras, img_points, scores, options), std::invalid_argument);
  cameras[0].params[1] = 0.0;
  EXPECT_THROW(TriangulateRobust(cameras, img_points, scores), std::invalid_argument);
}

TEST(RobustOptions, CheckListsEveryProblem) {
  EXPECT_TRUE(RobustOptions{}.Check().empty());
  RobustOptions options;
  options.max_reproj_error_px = std::numeric_limits<double>::quiet_NaN();
  options.max_pair_hypotheses = 0;
  options.min_inliers = 0;
  options.refine_iterations = -1;
  options.confidence = 0.0;
  options.dlt.num_threads = -1;
  const std::vector<std::string> problems = options.Check();
  ASSERT_EQ(problems.size(), 6u);
  EXPECT_EQ(problems.back().rfind("dlt.", 0), 0u) << problems.back();
}

// Keypoints of a 32-camera rig where `outlier_fraction` of the views of every joint are moved
// 50-300 px in a random direction; 1 px noise on the others. outlier[f][c][j] says which.
struct OutlierScene {
  std::vector<Camera> cameras;
  std::vector<Eigen::Vector3d> points;
  Keypoints2D keypoints;
  std::vector<uint8_t> outlier;
};

OutlierScene MakeOutlierScene(
    int num_frames, int num_cameras, int num_joints, double outlier_fraction, uint32_t seed) {
  OutlierScene scene;
  scene.cameras = test::SyntheticRig(num_cameras, seed);
  scene.points = test::RandomPoints(num_frames * num_joints, seed + 1);
  scene.keypoints =
      test::ProjectKeypoints(scene.cameras, scene.points, num_frames, num_joints, 1.0, seed + 2);
  scene.outlier.assign(static_cast<size_t>(num_frames) * num_cameras * num_joints, 0);
  std::mt19937 rng(seed + 3);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const int num_outliers = static_cast<int>(std::round(outlier_fraction * num_cameras));
  for (int f = 0; f < num_frames; ++f) {
    for (int j = 0; j < num_joints; ++j) {
      std::vector<int> order(num_cameras);
      for (int c = 0; c < num_cameras; ++c) order[c] = c;
      std::shuffle(order.begin(), order.end(), rng);
      for (int c = 0; c < num_cameras; ++c) {
        Keypoints2D& kp = scene.keypoints;
        const bool is_outlier = c < num_outliers;
        const int camera = order[c];
        double x = kp.x(f, camera, j);
        double y = kp.y(f, camera, j);
        if (is_outlier) {
          const double angle = 2.0 * 3.14159265358979323846 * unit(rng);
          const double distance = 50.0 + 250.0 * unit(rng);
          x += distance * std::cos(angle);
          y += distance * std::sin(angle);
          scene.outlier[kp.Offset(f, camera, j) / 3] = 1;
        }
        // Outliers are often confident (a left/right swap): scores do not reveal them.
        kp.Set(f, camera, j, static_cast<float>(x), static_cast<float>(y), 0.5f + 0.5f * unit(rng));
      }
    }
  }
  return scene;
}

TEST(TriangulateRobustBatch, ThirtyPercentOutliersWith32Cameras) {
  const int num_frames = 10;
  const int num_cameras = 32;
  const int num_joints = 17;
  const OutlierScene scene = MakeOutlierScene(num_frames, num_cameras, num_joints, 0.3, 77);
  RobustOptions options;
  options.dlt.num_threads = 4;
  const RobustBatchResult result = TriangulateRobustBatch(scene.cameras, scene.keypoints, options);
  EXPECT_EQ(result.status_counts[0], num_frames * num_joints);
  EXPECT_LE(result.max_hypotheses_per_joint, options.max_pair_hypotheses);
  EXPECT_GT(result.max_hypotheses_per_joint, 0);
  EXPECT_LE(result.num_hypotheses,
            static_cast<int64_t>(options.max_pair_hypotheses) * num_frames * num_joints);
  double max_error = 0.0;
  for (int f = 0; f < num_frames; ++f) {
    for (int j = 0; j < num_joints; ++j) {
      ASSERT_TRUE(result.poses.IsValid(f, j));
      max_error = std::max(max_error,
                           (result.poses.Position(f, j) - scene.points[f * num_joints + j]).norm());
      for (int c = 0; c < num_cameras; ++c) {
        const int64_t index = scene.keypoints.Offset(f, c, j) / 3;
        ASSERT_EQ(result.inlier_mask[index], scene.outlier[index] ? 0 : 1) << f << c << j;
        EXPECT_TRUE(std::isfinite(result.reproj_error_px[index]));
      }
    }
  }
  EXPECT_LT(max_error, 5e-3);  // 1 px noise, 22 inlier views

  // Plain DLT on the same data is far off (shows the outliers matter).
  const DltBatchResult dlt = TriangulateDltBatch(scene.cameras, scene.keypoints);
  double dlt_max_error = 0.0;
  for (int i = 0; i < num_frames * num_joints; ++i) {
    dlt_max_error =
        std::max(dlt_max_error,
                 (dlt.poses.Position(i / num_joints, i % num_joints) - scene.points[i]).norm());
  }
  EXPECT_GT(dlt_max_error, 0.03);
}

TEST(TriangulateRobustBatch, WorkIsBoundedByTheBudget) {
  const OutlierScene scene = MakeOutlierScene(3, 32, 17, 0.3, 5);
  for (int budget : {1, 5, 10, 32, 100}) {
    RobustOptions options;
    options.max_pair_hypotheses = budget;
    const RobustBatchResult result =
        TriangulateRobustBatch(scene.cameras, scene.keypoints, options);
    EXPECT_LE(result.max_hypotheses_per_joint, budget);
    EXPECT_LE(result.num_hypotheses, static_cast<int64_t>(budget) * 3 * 17);
    if (budget >= 10) {
      EXPECT_EQ(result.status_counts[0], 3 * 17) << budget;
    }
  }
  // Few views: every pair fits in the budget (4 views -> at most 6 pairs).
  const OutlierScene small = MakeOutlierScene(2, 4, 5, 0.25, 6);
  const RobustBatchResult result = TriangulateRobustBatch(small.cameras, small.keypoints);
  EXPECT_LE(result.max_hypotheses_per_joint, 6);
}

TEST(TriangulateRobustBatch, AdaptiveStopKeepsAccuracyWithFewerHypotheses) {
  const int num_frames = 6;
  const OutlierScene scene = MakeOutlierScene(num_frames, 24, 17, 0.4, 21);
  RobustOptions full;
  full.confidence = 1.0;   // always the whole budget
  RobustOptions adaptive;  // default confidence 0.999
  const RobustBatchResult a = TriangulateRobustBatch(scene.cameras, scene.keypoints, full);
  const RobustBatchResult b = TriangulateRobustBatch(scene.cameras, scene.keypoints, adaptive);
  EXPECT_EQ(a.num_hypotheses, static_cast<int64_t>(full.max_pair_hypotheses) * num_frames * 17);
  EXPECT_LT(b.num_hypotheses, a.num_hypotheses * 3 / 4);
  // 40 % outliers: the adaptive run still separates every outlier.
  int64_t mask_differences = 0;
  for (size_t i = 0; i < scene.outlier.size(); ++i) {
    mask_differences += b.inlier_mask[i] != (scene.outlier[i] ? 0 : 1);
  }
  EXPECT_EQ(mask_differences, 0);
  EXPECT_EQ(b.status_counts[0], num_frames * 17);
}

TEST(TriangulateRobustBatch, DeterministicAcrossThreads) {
  const OutlierScene scene = MakeOutlierScene(20, 16, 17, 0.3, 9);
  RobustOptions options;
  options.max_pair_hypotheses = 12;  // forces the sampled pairs
  options.dlt.num_threads = 1;
  const RobustBatchResult one = TriangulateRobustBatch(scene.cameras, scene.keypoints, options);
  options.dlt.num_threads = 6;
  const RobustBatchResult many = TriangulateRobustBatch(scene.cameras, scene.keypoints, options);
  EXPECT_EQ(one.status, many.status);
  EXPECT_EQ(one.inlier_mask, many.inlier_mask);
  EXPECT_EQ(one.num_hypotheses, many.num_hypotheses);
  for (int64_t i = 0; i < one.poses.size(); ++i) {
    ASSERT_EQ(one.poses.data()[i], many.poses.data()[i]) << i;
  }
}

TEST(TriangulateRobustBatch, MissingViews) {
  OutlierScene scene = MakeOutlierScene(2, 6, 3, 0.0, 11);
  for (int c = 1; c < 6; ++c) scene.keypoints.SetMissing(0, c, 0);  // one view left
  for (int c = 0; c < 6; ++c) scene.keypoints.SetMissing(1, c, 2);  // none
  const RobustBatchResult result = TriangulateRobustBatch(scene.cameras, scene.keypoints);
  EXPECT_EQ(result.status[0], static_cast<uint8_t>(TriangulationStatus::kTooFewViews));
  EXPECT_EQ(result.status[5], static_cast<uint8_t>(TriangulationStatus::kTooFewViews));
  EXPECT_EQ(result.status_counts[0], 4);
  EXPECT_FALSE(result.poses.IsValid(0, 0));
  for (int c = 0; c < 6; ++c) {
    EXPECT_EQ(result.inlier_mask[scene.keypoints.Offset(0, c, 0) / 3], 0);
    EXPECT_TRUE(std::isnan(result.reproj_error_px[scene.keypoints.Offset(0, c, 0) / 3]));
  }
}

TEST(TriangulateRobustBatch, BadArgs) {
  const std::vector<Camera> cameras = test::SyntheticRig(3, 2);
  EXPECT_NO_THROW(TriangulateRobustBatch(cameras, Keypoints2D(1, 3, 2)));
  EXPECT_THROW(TriangulateRobustBatch(cameras, Keypoints2D(1, 4, 2)), std::invalid_argument);
  RobustOptions options;
  options.min_inliers = 1;
  EXPECT_THROW(TriangulateRobustBatch(cameras, Keypoints2D(1, 3, 2), options),
               std::invalid_argument);
}

TEST(RobustThroughput, DISABLED_PrintTimePerFrame) {
  const int num_frames = 50;
  for (double outlier_fraction : {0.0, 0.3}) {
    const OutlierScene scene = MakeOutlierScene(num_frames, 32, 17, outlier_fraction, 123);
    RobustOptions options;
    options.dlt.num_threads = 1;
    TriangulateRobustBatch(scene.cameras, scene.keypoints, options);  // warm-up
    const auto start = std::chrono::steady_clock::now();
    const RobustBatchResult result =
        TriangulateRobustBatch(scene.cameras, scene.keypoints, options);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf(
        "Robust 32 cameras x 17 joints, %.0f%% outliers, 1 thread: %.3f ms/frame, "
        "%.1f hypotheses/joint, %lld ok of %d\n",
        100 * outlier_fraction,
        1e3 * seconds / num_frames,
        static_cast<double>(result.num_hypotheses) / (num_frames * 17),
        static_cast<long long>(result.status_counts[0]),
        num_frames * 17);
  }
}

}  // namespace
}  // namespace rigpose

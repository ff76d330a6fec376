// SPDX-License-Identifier: BSD-3-Clause
// DLT triangulation: the hand-written 4×4 null-vector solver against Eigen, exact synthetic scenes,
// failure statuses, the double reference vs the float kernel on the CPU (always) and CUDA vs CPU
// (when a GPU is present).
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>
#include <Eigen/Eigenvalues>
#include <Eigen/QR>

#include "core/error.h"
#include "tests/triangulate/synthetic_rig.h"
#include "triangulate/dlt.h"
#include "triangulate/dlt_kernels.h"
#include "triangulate/triangulation_internal.h"

namespace rigpose {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---- 4×4 null vector (inverse iteration on L D Lᵀ) ---------------------------------------------

template <typename T>
class DltNullVectorTest : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(DltNullVectorTest, Scalars);

// Runs the kernel on `a` (given in double) and returns its homogeneous vector, or nothing when it
// reports the point undetermined.
template <typename T>
std::optional<Eigen::Vector4d> KernelNullVector(const Eigen::Matrix4d& a) {
  T a_t[16];
  for (int r = 0; r < 4; ++r) {
    for (int c = 0; c < 4; ++c) a_t[4 * r + c] = static_cast<T>(a(r, c));
  }
  T v[4];
  if (kernels::DltNullVector(a_t, v) < 0) return std::nullopt;
  return Eigen::Vector4d(v[0], v[1], v[2], v[3]);
}

// Normal matrices of real DLT problems: rays from `num_views` cameras on a 3 m ring towards a
// point near the origin, image noise sigma (normalised units), random scores.
Eigen::Matrix4d RandomDltNormal(std::mt19937* rng, int num_views, double sigma) {
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> uniform(0.3, 1.0);
  const Eigen::Vector3d point(0.3 * normal(*rng), 0.3 * normal(*rng), 1.0 + 0.3 * normal(*rng));
  Eigen::Matrix4d n = Eigen::Matrix4d::Zero();
  for (int v = 0; v < num_views; ++v) {
    const double angle = 2.0 * M_PI * v / num_views + 0.1 * normal(*rng);
    const Eigen::Vector3d centre(3.0 * std::cos(angle), 3.0 * std::sin(angle), 1.5);
    // Look-at rotation: camera z towards the origin.
    const Eigen::Vector3d z = (-centre).normalized();
    const Eigen::Vector3d x = z.cross(Eigen::Vector3d::UnitZ()).normalized();
    const Eigen::Vector3d y = z.cross(x);
    Eigen::Matrix3d r;
    r << x.transpose(), y.transpose(), z.transpose();
    Eigen::Matrix<double, 3, 4> p;
    p << r, -r * centre;
    const Eigen::Vector3d cam = p * point.homogeneous();
    const double u = cam.x() / cam.z() + sigma * normal(*rng);
    const double w = cam.y() / cam.z() + sigma * normal(*rng);
    const double score = uniform(*rng);
    const Eigen::RowVector4d a = u * p.row(2) - p.row(0);
    const Eigen::RowVector4d b = w * p.row(2) - p.row(1);
    n += score * score * (a.transpose() * a + b.transpose() * b);
  }
  return n;
}

TYPED_TEST(DltNullVectorTest, MatchesTheSmallestEigenvectorOfDltProblems) {
  std::mt19937 rng(3);
  // Tolerance on the point (m, the scene is ~1 m): the eigenvector's own sensitivity to a
  // rounding-level perturbation of N is ε κ with κ = λ4 / (λ2 − λ1) <= ~1e3 here.
  const double tolerance = std::is_same_v<TypeParam, float> ? 2e-3 : 1e-11;
  for (const double sigma : {0.0, 1e-3, 1e-2}) {
    for (const int num_views : {2, 3, 4, 8, 32}) {
      for (int trial = 0; trial < 40; ++trial) {
        const Eigen::Matrix4d n = RandomDltNormal(&rng, num_views, sigma);
        const Eigen::SelfAdjointEigenSolver<Eigen::Matrix4d> reference(n);
        const Eigen::Vector4d ref = reference.eigenvectors().col(0);
        const Eigen::Vector3d ref_point = ref.head<3>() / ref[3];
        const std::optional<Eigen::Vector4d> v = KernelNullVector<TypeParam>(n);
        ASSERT_TRUE(v.has_value()) << "sigma " << sigma << ", " << num_views << " views";
        EXPECT_EQ((*v)[3], 1.0);
        EXPECT_LE((v->head<3>() - ref_point).norm(), tolerance)
            << "sigma " << sigma << ", " << num_views << " views, trial " << trial;
      }
    }
  }
}

TYPED_TEST(DltNullVectorTest, InverseIterationGoesBeyondTheInhomogeneousSolution) {
  // With noise the first step (the inhomogeneous least-squares point) is off the eigenvector;
  // the kernel must not stop there. A well-separated matrix with a known null vector plus a
  // clear smallest eigenvalue: N = Q diag(1e-2, 1, 2, 3) Qᵀ.
  Eigen::Matrix4d q = Eigen::Matrix4d::Identity();
  const Eigen::Vector4d w(0.3, -0.2, 0.5, 1.0);
  q.col(0) = w.normalized();
  Eigen::HouseholderQR<Eigen::Matrix4d> qr(q);
  const Eigen::Matrix4d basis = qr.householderQ();
  const Eigen::Matrix4d n =
      basis * Eigen::Vector4d(1e-2, 1.0, 2.0, 3.0).asDiagonal() * basis.transpose();
  const Eigen::Vector4d smallest = basis.col(0) / basis(3, 0);
  const Eigen::Vector3d inhomogeneous = -n.topLeftCorner<3, 3>().ldlt().solve(n.col(3).head<3>());
  ASSERT_GT((inhomogeneous - smallest.head<3>()).norm(), 1e-3);  // the test means something
  const std::optional<Eigen::Vector4d> v = KernelNullVector<TypeParam>(n);
  ASSERT_TRUE(v.has_value());
  const double tolerance = std::is_same_v<TypeParam, float> ? 1e-5 : 1e-13;
  EXPECT_LE((v->head<3>() - smallest.head<3>()).norm(), tolerance);
}

TYPED_TEST(DltNullVectorTest, UndeterminedPointsAreReported) {
  // Rank 2 (two independent rows): a line of solutions.
  const Eigen::RowVector4d a(1.0, 0.0, 0.0, -0.5);
  const Eigen::RowVector4d b(0.0, 1.0, 0.0, 0.2);
  EXPECT_FALSE(KernelNullVector<TypeParam>(a.transpose() * a + b.transpose() * b).has_value());
  // Zero, negative trace, non-finite.
  EXPECT_FALSE(KernelNullVector<TypeParam>(Eigen::Matrix4d::Zero()).has_value());
  EXPECT_FALSE(KernelNullVector<TypeParam>(-Eigen::Matrix4d::Identity()).has_value());
  Eigen::Matrix4d nan = Eigen::Matrix4d::Identity();
  nan(1, 1) = kNaN;
  EXPECT_FALSE(KernelNullVector<TypeParam>(nan).has_value());
  // The null vector at infinity (w = 0): the iteration leaves the finite numbers or runs away.
  const Eigen::Vector4d at_infinity(0.0, 0.0, 1.0, 0.0);
  const Eigen::Matrix4d n = Eigen::Matrix4d::Identity() - at_infinity * at_infinity.transpose();
  EXPECT_FALSE(KernelNullVector<TypeParam>(n).has_value());
  // Exact, full rank but for the null vector: found in two steps, exactly.
  const Eigen::Vector4d exact(0.25, -0.5, 2.0, 1.0);
  const Eigen::Matrix4d p =
      Eigen::Matrix4d::Identity() - exact * exact.transpose() / exact.squaredNorm();
  const std::optional<Eigen::Vector4d> v = KernelNullVector<TypeParam>(p);
  ASSERT_TRUE(v.has_value());
  const double tolerance = std::is_same_v<TypeParam, float> ? 1e-5 : 1e-14;
  EXPECT_LE(((*v) - exact).norm(), tolerance);
}

// ---- Single point
// --------------------------------------------------------------------------------

std::vector<Eigen::Vector2d> CamPoints(const std::vector<Camera>& cameras,
                                       const Eigen::Vector3d& point3D_in_world) {
  std::vector<Eigen::Vector2d> cam_points;
  for (const Camera& camera : cameras) {
    // Through pixels and back, so that undistortion is part of the exactness claim.
    const std::optional<Eigen::Vector2d> img_point = camera.ImgFromWorld(point3D_in_world);
    EXPECT_TRUE(img_point.has_value());
    UndistortStatus status;
    cam_points.push_back(camera.CamFromImg(*img_point, &status));
    EXPECT_TRUE(status.converged);
  }
  return cam_points;
}

TEST(TriangulateDlt, Nominal) {
  for (int num_cameras : {2, 4, 7, 16, 32}) {
    const std::vector<Camera> cameras = test::SyntheticRig(num_cameras, 10 + num_cameras);
    for (const Eigen::Vector3d& point : test::RandomPoints(50, num_cameras)) {
      const std::vector<Eigen::Vector2d> cam_points = CamPoints(cameras, point);
      std::vector<double> scores(num_cameras);
      for (int c = 0; c < num_cameras; ++c) scores[c] = 0.3 + 0.7 * c / num_cameras;
      for (bool weighted : {true, false}) {
        DltOptions options;
        options.weighted = weighted;
        TriangulationStatus status = TriangulationStatus::kNotFinite;
        const std::optional<Eigen::Vector3d> estimate =
            TriangulateDlt(test::Poses(cameras), cam_points, scores, options, &status);
        ASSERT_TRUE(estimate.has_value()) << TriangulationStatusName(status);
        EXPECT_EQ(status, TriangulationStatus::kOk);
        EXPECT_LT((*estimate - point).norm(), 1e-9) << num_cameras << " cameras";
      }
    }
  }
}

TEST(TriangulateDlt, WeightsDownweightNoisyView) {
  const std::vector<Camera> cameras = test::SyntheticRig(4, 21);
  const Eigen::Vector3d point(0.2, -0.3, 1.1);
  std::vector<Eigen::Vector2d> cam_points = CamPoints(cameras, point);
  // 20 px off in camera 2 (normalised units: px / focal), reported with a low score.
  cam_points[2] += Eigen::Vector2d(20.0, -12.0) / cameras[2].fx();
  const std::vector<double> scores = {0.9, 1.0, 0.05, 0.8};
  DltOptions weighted;
  DltOptions unweighted;
  unweighted.weighted = false;
  const auto with_weights = TriangulateDlt(test::Poses(cameras), cam_points, scores, weighted);
  const auto without = TriangulateDlt(test::Poses(cameras), cam_points, scores, unweighted);
  ASSERT_TRUE(with_weights && without);
  const double error_weighted = (*with_weights - point).norm();
  const double error_unweighted = (*without - point).norm();
  EXPECT_GT(error_unweighted, 5e-3);
  EXPECT_LT(error_weighted, 0.1 * error_unweighted);
}

TEST(TriangulateDlt, ParallelRays) {
  // Same line of sight: the second camera sits 1 m behind the first on its optical axis.
  const Rigid3d front = test::LookAt(Eigen::Vector3d(5, 0, 1), Eigen::Vector3d(0, 0, 1));
  const Rigid3d back = test::LookAt(Eigen::Vector3d(6, 0, 1), Eigen::Vector3d(0, 0, 1));
  const std::vector<Eigen::Vector2d> on_axis(2, Eigen::Vector2d::Zero());
  TriangulationStatus status = TriangulationStatus::kOk;
  EXPECT_FALSE(TriangulateDlt({front, back}, on_axis, {}, {}, &status));
  EXPECT_EQ(status, TriangulationStatus::kDegenerate);

  // A 2 mm baseline at 5 m: rays 0.02° apart, below min_ray_angle_deg.
  const Eigen::Vector3d point(0, 0, 1);
  const Rigid3d left = test::LookAt(Eigen::Vector3d(5, -0.001, 1), point);
  const Rigid3d right = test::LookAt(Eigen::Vector3d(5, 0.001, 1), point);
  const std::vector<Eigen::Vector2d> cam_points = {(left * point).hnormalized(),
                                                   (right * point).hnormalized()};
  EXPECT_FALSE(TriangulateDlt({left, right}, cam_points, {}, {}, &status));
  EXPECT_EQ(status, TriangulationStatus::kDegenerate);
  // Without the angle test the exact data still triangulates (the DLT itself is well posed).
  DltOptions no_angle;
  no_angle.min_ray_angle_deg = 0.0;
  const auto estimate = TriangulateDlt({left, right}, cam_points, {}, no_angle, &status);
  ASSERT_TRUE(estimate.has_value()) << TriangulationStatusName(status);
  EXPECT_LT((*estimate - point).norm(), 1e-6);
}

TEST(TriangulateDlt, CollinearRaysWithoutAngleTest) {
  // Exactly the same line of sight is degenerate even with no angle threshold.
  DltOptions no_angle;
  no_angle.min_ray_angle_deg = 0.0;
  const Rigid3d front = test::LookAt(Eigen::Vector3d(5, 0, 1), Eigen::Vector3d(0, 0, 1));
  const Rigid3d back = test::LookAt(Eigen::Vector3d(6, 0, 1), Eigen::Vector3d(0, 0, 1));
  TriangulationStatus status = TriangulationStatus::kOk;
  EXPECT_FALSE(TriangulateDlt({front, back},
                              std::vector<Eigen::Vector2d>(2, Eigen::Vector2d::Zero()),
                              {},
                              no_angle,
                              &status));
  EXPECT_EQ(status, TriangulationStatus::kDegenerate);
}

TEST(TriangulateDlt, SingleView) {
  const std::vector<Camera> cameras = test::SyntheticRig(1, 3);
  TriangulationStatus status = TriangulationStatus::kOk;
  EXPECT_FALSE(TriangulateDlt(
      test::Poses(cameras), CamPoints(cameras, Eigen::Vector3d(0, 0, 1)), {1.0}, {}, &status));
  EXPECT_EQ(status, TriangulationStatus::kTooFewViews);
  EXPECT_FALSE(TriangulateDlt({}, {}, {}, {}, &status));
  EXPECT_EQ(status, TriangulationStatus::kTooFewViews);
}

TEST(TriangulateDlt, BehindCamera) {
  // Two cameras side by side looking along +z; (0, 0, -5) projects (algebraically) into both but
  // lies behind them.
  const Rigid3d left(Eigen::Quaterniond::Identity(), Eigen::Vector3d(1, 0, 0));
  const Rigid3d right(Eigen::Quaterniond::Identity(), Eigen::Vector3d(-1, 0, 0));
  const Eigen::Vector3d point(0, 0, -5);
  const std::vector<Eigen::Vector2d> cam_points = {(left * point).hnormalized(),
                                                   (right * point).hnormalized()};
  TriangulationStatus status = TriangulationStatus::kOk;
  EXPECT_FALSE(TriangulateDlt({left, right}, cam_points, {}, {}, &status));
  EXPECT_EQ(status, TriangulationStatus::kBehindCamera);
  // The mirrored point in front triangulates.
  const Eigen::Vector3d front(0, 0, 5);
  const auto estimate =
      TriangulateDlt({left, right},
                     {(left * front).hnormalized(), (right * front).hnormalized()},
                     {},
                     {},
                     &status);
  ASSERT_TRUE(estimate.has_value());
  EXPECT_LT((*estimate - front).norm(), 1e-9);
}

TEST(TriangulateDlt, BadScoresIgnoreTheView) {
  const std::vector<Camera> cameras = test::SyntheticRig(6, 8);
  const Eigen::Vector3d point(-0.4, 0.5, 1.6);
  std::vector<Eigen::Vector2d> cam_points = CamPoints(cameras, point);
  std::vector<double> scores(6, 1.0);
  // Views 3..5 carry garbage that must be ignored because of their scores / coordinates.
  cam_points[3] = Eigen::Vector2d(3.0, -2.0);
  scores[3] = kNaN;
  cam_points[4] = Eigen::Vector2d(-1.0, 4.0);
  scores[4] = -0.5;
  cam_points[5] = Eigen::Vector2d(kNaN, 0.0);
  TriangulationStatus status = TriangulationStatus::kNotFinite;
  const auto estimate = TriangulateDlt(test::Poses(cameras), cam_points, scores, {}, &status);
  ASSERT_TRUE(estimate.has_value()) << TriangulationStatusName(status);
  EXPECT_LT((*estimate - point).norm(), 1e-9);

  // min_score drops views below it.
  DltOptions strict;
  strict.min_score = 0.5f;
  scores = {1.0, 0.4, 0.45, kNaN, -0.5, 1.0};
  EXPECT_FALSE(TriangulateDlt(test::Poses(cameras), cam_points, scores, strict, &status));
  EXPECT_EQ(status, TriangulationStatus::kTooFewViews);  // only view 0 is left (5 is NaN)

  std::fill(scores.begin(), scores.end(), 0.0);
  EXPECT_FALSE(TriangulateDlt(test::Poses(cameras), cam_points, scores, {}, &status));
  EXPECT_EQ(status, TriangulationStatus::kTooFewViews);
}

TEST(TriangulateDlt, NonFinitePose) {
  std::vector<Camera> cameras = test::SyntheticRig(3, 9);
  const std::vector<Eigen::Vector2d> cam_points = CamPoints(cameras, Eigen::Vector3d(0, 0, 1));
  std::vector<Rigid3d> poses = test::Poses(cameras);
  poses[1].translation.x() = std::numeric_limits<double>::infinity();
  TriangulationStatus status = TriangulationStatus::kOk;
  EXPECT_FALSE(TriangulateDlt(poses, cam_points, {}, {}, &status));
  EXPECT_EQ(status, TriangulationStatus::kNotFinite);
}

TEST(TriangulateDlt, BadArgs) {
  const std::vector<Camera> cameras = test::SyntheticRig(3, 9);
  const std::vector<Rigid3d> poses = test::Poses(cameras);
  const std::vector<Eigen::Vector2d> cam_points = CamPoints(cameras, Eigen::Vector3d(0, 0, 1));
  EXPECT_NO_THROW(TriangulateDlt(poses, cam_points, {1, 1, 1}));
  EXPECT_THROW(TriangulateDlt({poses[0], poses[1]}, cam_points, {}), std::invalid_argument);
  EXPECT_THROW(TriangulateDlt(poses, cam_points, {1, 1}), std::invalid_argument);
  DltOptions options;
  options.min_score = -1.f;
  EXPECT_THROW(TriangulateDlt(poses, cam_points, {}, options), std::invalid_argument);
  options = {};
  options.min_ray_angle_deg = 90.0;
  EXPECT_THROW(TriangulateDlt(poses, cam_points, {}, options), std::invalid_argument);
  options = {};
  options.num_threads = -2;
  EXPECT_THROW(TriangulateDlt(poses, cam_points, {}, options), std::invalid_argument);
}

TEST(DltOptions, CheckListsEveryProblem) {
  EXPECT_TRUE(DltOptions{}.Check().empty());
  DltOptions options;
  options.min_score = std::numeric_limits<float>::quiet_NaN();
  options.min_ray_angle_deg = -1.0;
  options.num_threads = -1;
  EXPECT_EQ(options.Check().size(), 3u);
}

// ---- Batched
// -------------------------------------------------------------------------------------

TEST(TriangulateDltBatch, Nominal) {
  const int num_frames = 30;
  const int num_joints = 17;
  const std::vector<Camera> cameras = test::SyntheticRig(8, 31);
  const std::vector<Eigen::Vector3d> points = test::RandomPoints(num_frames * num_joints, 32);
  Keypoints2D keypoints = test::ProjectKeypoints(cameras, points, num_frames, num_joints, 0.0, 1);
  // Frame 0: joint 0 seen by one camera only, joint 1 by two.
  for (int c = 1; c < 8; ++c) keypoints.SetMissing(0, c, 0);
  for (int c = 2; c < 8; ++c) keypoints.SetMissing(0, c, 1);
  for (bool single_precision : {false, true}) {
    DltOptions options;
    options.single_precision = single_precision;
    options.num_threads = 3;
    const DltBatchResult result = TriangulateDltBatch(cameras, keypoints, options);
    ASSERT_EQ(result.poses.num_frames(), num_frames);
    ASSERT_EQ(result.poses.num_joints(), num_joints);
    ASSERT_EQ(result.status.size(), static_cast<size_t>(num_frames * num_joints));
    ASSERT_EQ(result.reproj_error_px.size(), static_cast<size_t>(num_frames * 8 * num_joints));
    EXPECT_EQ(result.status_counts[static_cast<int>(TriangulationStatus::kOk)],
              num_frames * num_joints - 1);
    EXPECT_EQ(result.status_counts[static_cast<int>(TriangulationStatus::kTooFewViews)], 1);
    EXPECT_EQ(result.num_undistort_failures, 0);
    EXPECT_FALSE(result.poses.IsValid(0, 0));
    EXPECT_EQ(result.status[0], static_cast<uint8_t>(TriangulationStatus::kTooFewViews));
    // Float pixels (~1e-4 px at 2000 px) bound the accuracy; float math adds ~1e-6 relative.
    const double tolerance_m = single_precision ? 5e-5 : 1e-5;
    for (int f = 0; f < num_frames; ++f) {
      for (int j = 0; j < num_joints; ++j) {
        if (f == 0 && j == 0) continue;
        ASSERT_TRUE(result.poses.IsValid(f, j)) << f << " " << j;
        EXPECT_LT((result.poses.Position(f, j) - points[f * num_joints + j]).norm(), tolerance_m);
        for (int c = 0; c < 8; ++c) {
          const float error = result.reproj_error_px[keypoints.Offset(f, c, j) / 3];
          if (keypoints.IsPresent(f, c, j)) {
            EXPECT_LT(error, single_precision ? 0.05f : 0.01f) << f << " " << c << " " << j;
          } else {
            EXPECT_TRUE(std::isnan(error));
          }
        }
      }
    }
  }
}

TEST(PrepareNormalisedObservations, RowUndistortionMatchesTheCameraModel) {
  // The batched path undistorts OPENCV rows in lockstep (fixed Newton steps across joints, the
  // model's own loop for views that did not converge): it must agree with Camera::CamFromImg on
  // every view, including strong distortion near the fold, pixels beyond it (failures), absent
  // and non-finite keypoints, rows longer than one lockstep block, and the other models.
  std::vector<Camera> cameras = test::SyntheticRig(3, 43);
  ASSERT_EQ(cameras[0].model_id, CameraModelId::kOpenCV);
  cameras[1].model_id = CameraModelId::kOpenCV;
  cameras[1].params = {900.0, 905.0, 640.0, 480.0, -0.42, 0.21, 0.004, -0.003, -0.05};  // strong
  cameras[2].model_id = CameraModelId::kOpenCVFisheye;
  cameras[2].params = {500.0, 500.0, 640.0, 480.0, 0.05, -0.01, 0.003, -0.0005};
  const int num_frames = 3;
  const int num_joints = 70;  // > one block of 32
  Keypoints2D keypoints(num_frames, 3, num_joints);
  std::mt19937 rng(44);
  std::uniform_real_distribution<double> px(-400.0, 1700.0);
  for (int f = 0; f < num_frames; ++f) {
    for (int c = 0; c < 3; ++c) {
      for (int j = 0; j < num_joints; ++j) {
        keypoints.Set(f, c, j, static_cast<float>(px(rng)), static_cast<float>(px(rng)), 0.8f);
      }
    }
  }
  keypoints.Set(0, 0, 5, 1.0f, 2.0f, 0.0f);            // absent
  keypoints.Set(0, 0, 6, NAN, 2.0f, 0.9f);             // non-finite
  keypoints.Set(1, 1, 7, -20000.0f, -20000.0f, 0.9f);  // far beyond the fold
  const NormalisedObservations obs = PrepareNormalisedObservations(cameras, keypoints, 2);
  int64_t expected_failures = 0;
  int64_t converged = 0;
  for (int f = 0; f < num_frames; ++f) {
    for (int c = 0; c < 3; ++c) {
      for (int j = 0; j < num_joints; ++j) {
        const double* value = obs.values.data() + keypoints.Offset(f, c, j);
        if (!keypoints.IsPresent(f, c, j)) {
          EXPECT_EQ(value[2], 0.0) << f << " " << c << " " << j;
          continue;
        }
        UndistortStatus status;
        const Eigen::Vector2d reference = cameras[c].CamFromImg(
            Eigen::Vector2d(keypoints.x(f, c, j), keypoints.y(f, c, j)), &status);
        if (!status.converged) {
          ++expected_failures;
          EXPECT_EQ(value[2], 0.0) << f << " " << c << " " << j;
          continue;
        }
        ++converged;
        EXPECT_NEAR(value[0], reference.x(), 1e-13) << f << " " << c << " " << j;
        EXPECT_NEAR(value[1], reference.y(), 1e-13) << f << " " << c << " " << j;
        EXPECT_EQ(value[2], keypoints.score(f, c, j));
      }
    }
  }
  EXPECT_GE(expected_failures, 2);  // the pixel beyond the fold and some of the strong lens
  EXPECT_GT(converged, 300);        // of 630 present views (the range reaches beyond the images)
  EXPECT_EQ(obs.num_undistort_failures, expected_failures);
}

TEST(TriangulateDltBatch, UndistortionFailureDropsTheView) {
  const std::vector<Camera> cameras = test::SyntheticRig(4, 41);
  ASSERT_EQ(cameras[0].model_id, CameraModelId::kOpenCV);
  const Eigen::Vector3d point(0.1, 0.2, 0.9);
  Keypoints2D keypoints = test::ProjectKeypoints(cameras, {point}, 1, 1, 0.0, 1);
  // Far beyond the fold of camera 0's distortion polynomial: undistortion cannot converge.
  const Eigen::Vector2d bad_pixel(-20000.0, -20000.0);
  UndistortStatus undistort_status;
  cameras[0].CamFromImg(bad_pixel, &undistort_status);
  ASSERT_FALSE(undistort_status.converged);
  keypoints.Set(0, 0, 0, static_cast<float>(bad_pixel.x()), static_cast<float>(bad_pixel.y()), 1.f);
  const DltBatchResult result = TriangulateDltBatch(cameras, keypoints);
  EXPECT_EQ(result.num_undistort_failures, 1);
  ASSERT_EQ(result.status[0], static_cast<uint8_t>(TriangulationStatus::kOk));
  EXPECT_LT((result.poses.Position(0, 0) - point).norm(), 1e-5);
  EXPECT_TRUE(std::isnan(result.reproj_error_px[0]));  // camera 0 was not used
  EXPECT_LT(result.reproj_error_px[1], 0.01f);
}

TEST(TriangulateDltBatch, Empty) {
  const std::vector<Camera> cameras = test::SyntheticRig(3, 1);
  const DltBatchResult result = TriangulateDltBatch(cameras, Keypoints2D(0, 3, 17));
  EXPECT_EQ(result.poses.num_frames(), 0);
  EXPECT_TRUE(result.status.empty());
  const DltBatchResult no_cameras = TriangulateDltBatch({}, Keypoints2D(2, 0, 5));
  EXPECT_EQ(no_cameras.status_counts[static_cast<int>(TriangulationStatus::kTooFewViews)], 10);
}

TEST(TriangulateDltBatch, BadArgs) {
  std::vector<Camera> cameras = test::SyntheticRig(3, 1);
  const Keypoints2D keypoints(2, 3, 4);
  EXPECT_NO_THROW(TriangulateDltBatch(cameras, keypoints));
  EXPECT_THROW(TriangulateDltBatch({cameras[0], cameras[1]}, keypoints), std::invalid_argument);
  DltOptions options;
  options.min_score = -1.f;
  EXPECT_THROW(TriangulateDltBatch(cameras, keypoints, options), std::invalid_argument);
  cameras[1].params[0] = -3.0;
  EXPECT_THROW(TriangulateDltBatch(cameras, keypoints), std::invalid_argument);
}

// ---- Dense core: double reference vs float kernel vs CUDA -----------------------------------

struct DenseScene {
  int num_frames = 0;
  int num_cameras = 0;
  int num_joints = 0;
  std::vector<Eigen::Vector3d> points;
  NormalisedObservations obs;
  std::vector<float> obs_f;
  std::vector<float> poses_f;
};

// Noisy keypoints (1 px) with missing views, low scores and a few joints seen once.
DenseScene MakeDenseScene(int num_frames, int num_cameras, int num_joints, uint32_t seed) {
  DenseScene scene;
  scene.num_frames = num_frames;
  scene.num_cameras = num_cameras;
  scene.num_joints = num_joints;
  const std::vector<Camera> cameras = test::SyntheticRig(num_cameras, seed);
  scene.points = test::RandomPoints(num_frames * num_joints, seed + 1);
  Keypoints2D keypoints =
      test::ProjectKeypoints(cameras, scene.points, num_frames, num_joints, 1.0, seed + 2);
  std::mt19937 rng(seed + 3);
  std::uniform_real_distribution<float> unit(0.f, 1.f);
  for (int f = 0; f < num_frames; ++f) {
    for (int j = 0; j < num_joints; ++j) {
      const bool nearly_unseen = (f * num_joints + j) % 23 == 4;
      for (int c = 0; c < num_cameras; ++c) {
        if (!keypoints.IsPresent(f, c, j)) continue;
        if ((nearly_unseen && c > 0) || unit(rng) < 0.15f) {
          keypoints.SetMissing(f, c, j);
        } else {
          keypoints.Set(
              f, c, j, keypoints.x(f, c, j), keypoints.y(f, c, j), 0.2f + 0.8f * unit(rng));
        }
      }
    }
  }
  scene.obs = PrepareNormalisedObservations(cameras, keypoints);
  scene.obs_f.assign(scene.obs.values.begin(), scene.obs.values.end());
  scene.poses_f.assign(scene.obs.cams_from_world.begin(), scene.obs.cams_from_world.end());
  return scene;
}

// Float kernel vs double reference: 1e-4 of the scene scale (5 m), i.e. 0.5 mm, for joints seen
// by >= 3 views; weakly posed joints (2 views, nearly opposite cameras) may add 1 % of their own
// noise-induced error, since float rounding is amplified by the same conditioning.
constexpr double kSceneScaleM = 5.0;
constexpr double kFloatRelativeTolerance = 1e-4;

TEST(TriangulateNormalised, FloatKernelMatchesDoubleReference) {
  for (int num_cameras : {4, 8, 32}) {
    for (int num_frames : {0, 1, 7, 1000}) {
      for (int num_joints : {17, 0}) {
        const DenseScene scene = MakeDenseScene(num_frames, num_cameras, num_joints, 100);
        const size_t n = static_cast<size_t>(num_frames) * num_joints;
        std::vector<double> reference(4 * n, kNaN);
        std::vector<uint8_t> reference_status(n, 255);
        std::vector<float> kernel(4 * n, std::numeric_limits<float>::quiet_NaN());
        std::vector<uint8_t> kernel_status(n, 255);
        const DltOptions options;
        TriangulateNormalisedCpu(scene.obs.values.data(),
                                 scene.obs.cams_from_world.data(),
                                 num_frames,
                                 num_cameras,
                                 num_joints,
                                 options,
                                 reference.data(),
                                 reference_status.data());
        TriangulateNormalisedCpu(scene.obs_f.data(),
                                 scene.poses_f.data(),
                                 num_frames,
                                 num_cameras,
                                 num_joints,
                                 options,
                                 kernel.data(),
                                 kernel_status.data());
        int num_ok = 0;
        double max_diff_well_posed = 0.0;  // joints seen by >= 3 views
        double max_error_well_posed = 0.0;
        for (size_t i = 0; i < n; ++i) {
          ASSERT_EQ(reference_status[i], kernel_status[i]) << i;
          ASSERT_LT(reference_status[i], kNumTriangulationStatus) << "kernel did not run: " << i;
          const bool ok = reference_status[i] == 0;
          ASSERT_EQ(reference[4 * i + 3], ok ? 1.0 : 0.0) << i;
          ASSERT_EQ(kernel[4 * i + 3], ok ? 1.f : 0.f) << i;
          if (!ok) {
            // Seen once, or by two cameras facing each other across the joint.
            EXPECT_TRUE(reference_status[i] == 1 || reference_status[i] == 2) << i;
            continue;
          }
          ++num_ok;
          const int frame = static_cast<int>(i) / num_joints;
          const int joint = static_cast<int>(i) % num_joints;
          int num_views = 0;
          for (int c = 0; c < num_cameras; ++c) {
            const int64_t offset = ((int64_t{frame} * num_cameras + c) * num_joints + joint) * 3;
            num_views += scene.obs.values[offset + 2] > 0 ? 1 : 0;
          }
          const Eigen::Vector3d reference_point(
              reference[4 * i], reference[4 * i + 1], reference[4 * i + 2]);
          const Eigen::Vector3d kernel_point(kernel[4 * i], kernel[4 * i + 1], kernel[4 * i + 2]);
          const double diff = (reference_point - kernel_point).norm();
          const double error = (reference_point - scene.points[i]).norm();
          // The error that 1 px of noise causes measures the geometric conditioning; float
          // rounding is amplified by the same factor (squared through the normal matrix).
          ASSERT_LT(diff, kFloatRelativeTolerance * kSceneScaleM + 1e-2 * error)
              << i << ": " << num_views << " views";
          if (num_views >= 3) {
            max_diff_well_posed = std::max(max_diff_well_posed, diff);
            max_error_well_posed = std::max(max_error_well_posed, error);
          }
        }
        EXPECT_LT(max_diff_well_posed, kFloatRelativeTolerance * kSceneScaleM)
            << num_cameras << " cameras, " << num_frames << " frames";
        EXPECT_LT(max_error_well_posed, 0.05);  // 1 px noise: a few mm typical
        if (n >= 1000) {
          EXPECT_GT(num_ok, static_cast<int>(n * 9 / 10));
        }
      }
    }
  }
}

TEST(TriangulateNormalised, DeterministicAcrossThreads) {
  const DenseScene scene = MakeDenseScene(301, 8, 17, 7);
  const size_t n = 301 * 17;
  std::vector<double> one(4 * n, kNaN);
  std::vector<double> many(4 * n, kNaN);
  std::vector<uint8_t> one_status(n, 255);
  std::vector<uint8_t> many_status(n, 255);
  DltOptions options;
  options.num_threads = 1;
  TriangulateNormalisedCpu(scene.obs.values.data(),
                           scene.obs.cams_from_world.data(),
                           301,
                           8,
                           17,
                           options,
                           one.data(),
                           one_status.data());
  options.num_threads = 5;
  TriangulateNormalisedCpu(scene.obs.values.data(),
                           scene.obs.cams_from_world.data(),
                           301,
                           8,
                           17,
                           options,
                           many.data(),
                           many_status.data());
  EXPECT_EQ(one_status, many_status);
  for (size_t i = 0; i < 4 * n; ++i) ASSERT_EQ(one[i], many[i]) << i;
}

TEST(TriangulateNormalised, BadArgs) {
  float point[4];
  uint8_t status;
  EXPECT_THROW(TriangulateNormalisedCpu(
                   static_cast<const float*>(nullptr), nullptr, -1, 2, 3, {}, point, &status),
               std::invalid_argument);
  DltOptions options;
  options.min_ray_angle_deg = kNaN;
  EXPECT_THROW(TriangulateNormalisedCpu(
                   static_cast<const float*>(nullptr), nullptr, 0, 2, 3, options, point, &status),
               std::invalid_argument);
  EXPECT_THROW(TriangulateNormalisedCpu(
                   static_cast<const float*>(nullptr), nullptr, 1, 2, 3, {}, point, &status),
               std::invalid_argument);
}

// The batched core runs whole chunks of joints per AVX2 register (triangulate/dlt_simd.h) and
// must give exactly what the per-joint scalar kernel gives, status and bits, in float and double:
// on scenes with missing views, joints seen once, 2-view joints, scores that are NaN, infinite,
// negative or below min_score, non-finite coordinates, a point behind one camera, parallel rays
// (one camera duplicated) and frame counts that leave a scalar tail.
template <typename T>
void ExpectBatchedEqualsScalarKernel(const DenseScene& scene,
                                     const std::vector<T>& obs,
                                     const std::vector<T>& poses,
                                     const DltOptions& options) {
  const int F = scene.num_frames, C = scene.num_cameras, J = scene.num_joints;
  const size_t n = static_cast<size_t>(F) * J;
  std::vector<T> batched(4 * n, T(-7));
  std::vector<uint8_t> batched_status(n, 255);
  TriangulateNormalisedCpu(
      obs.data(), poses.data(), F, C, J, options, batched.data(), batched_status.data());
  std::vector<T> scalar(4 * n, T(-7));
  std::vector<uint8_t> scalar_status(n, 255);
  const kernels::DltKernelParams<T> params = internal::MakeDltKernelParams<T>(options);
  for (int64_t i = 0; i < static_cast<int64_t>(n); ++i) {
    kernels::TriangulateFrameJoint(
        obs.data(), poses.data(), C, J, i / J, i % J, params, scalar.data(), scalar_status.data());
  }
  std::array<int, kNumTriangulationStatus> counts{};
  for (size_t i = 0; i < n; ++i) {
    ASSERT_EQ(batched_status[i], scalar_status[i]) << "item " << i;
    for (int k = 0; k < 4; ++k) {
      ASSERT_EQ(std::memcmp(&batched[4 * i + k], &scalar[4 * i + k], sizeof(T)), 0)
          << "item " << i << " coordinate " << k << ": " << batched[4 * i + k] << " vs "
          << scalar[4 * i + k];
    }
    ++counts[scalar_status[i]];
  }
  if (n >= 1000) {  // the scene exercises the fallbacks, not only the fast path
    EXPECT_GT(counts[static_cast<int>(TriangulationStatus::kOk)], 0);
    EXPECT_GT(counts[static_cast<int>(TriangulationStatus::kTooFewViews)], 0);
  }
}

TEST(TriangulateNormalised, BatchedCoreEqualsScalarKernelBitForBit) {
  for (const int num_cameras : {2, 3, 4, 7, 16}) {
    for (const int num_frames : {1, 3, 301}) {
      DenseScene scene = MakeDenseScene(num_frames, num_cameras, 17, 7 + num_cameras);
      // Poison some observations: NaN / inf / negative scores, NaN coordinates.
      std::mt19937 rng(num_cameras * 31 + num_frames);
      std::vector<double>& values = scene.obs.values;
      for (size_t k = 0; k + 2 < values.size(); k += 3) {
        switch (rng() % 97) {
          case 0:
            values[k + 2] = std::numeric_limits<double>::quiet_NaN();
            break;
          case 1:
            values[k + 2] = std::numeric_limits<double>::infinity();
            break;
          case 2:
            values[k + 2] = -0.5;
            break;
          case 3:
            values[k] = std::numeric_limits<double>::quiet_NaN();
            break;
          case 4:
            values[k + 1] = std::numeric_limits<double>::infinity();
            break;
          default:
            break;
        }
      }
      std::vector<double> poses = scene.obs.cams_from_world;
      if (num_cameras >= 4) {
        // Camera 1 becomes a copy of camera 0 seeing the same points: frames where only those
        // two views remain are degenerate (parallel rays).
        std::copy(poses.begin(), poses.begin() + 12, poses.begin() + 12);
        for (int f = 0; f < num_frames; ++f) {
          for (int j = 0; j < 17; ++j) {
            const size_t v0 = ((static_cast<size_t>(f) * num_cameras + 0) * 17 + j) * 3;
            const size_t v1 = ((static_cast<size_t>(f) * num_cameras + 1) * 17 + j) * 3;
            for (int k = 0; k < 3; ++k) values[v1 + k] = values[v0 + k];
            if (j % 5 == 0) {
              for (int c = 2; c < num_cameras; ++c) {
                values[((static_cast<size_t>(f) * num_cameras + c) * 17 + j) * 3 + 2] = 0;
              }
            }
          }
        }
      }
      if (num_cameras == 3) {
        // A camera turned around: its rays point away, so joints it sees are behind it.
        for (int k = 8; k < 12; ++k) poses[12 * 2 + k] = -poses[12 * 2 + k];
      }
      const std::vector<float> obs_f(values.begin(), values.end());
      const std::vector<float> poses_f(poses.begin(), poses.end());
      for (const bool weighted : {true, false}) {
        DltOptions options;
        options.weighted = weighted;
        options.min_score = weighted ? 0.3f : 0.f;
        SCOPED_TRACE(::testing::Message() << num_cameras << " cameras, " << num_frames
                                          << " frames, weighted " << weighted);
        ExpectBatchedEqualsScalarKernel(scene, values, poses, options);
        ExpectBatchedEqualsScalarKernel(scene, obs_f, poses_f, options);
      }
    }
  }
}

TEST(TriangulateNormalisedCuda, MatchesCpu) {
  if (!CudaDeviceAvailable()) GTEST_SKIP() << "no CUDA device (or built without CUDA)";
  for (int num_frames : {0, 1, 7, 1000}) {
    const DenseScene scene = MakeDenseScene(num_frames, 16, 17, 55);
    const size_t n = static_cast<size_t>(num_frames) * 17;
    std::vector<float> cpu(4 * n, std::numeric_limits<float>::quiet_NaN());
    std::vector<float> gpu(4 * n, std::numeric_limits<float>::quiet_NaN());
    std::vector<uint8_t> cpu_status(n, 255);
    std::vector<uint8_t> gpu_status(n, 255);
    TriangulateNormalisedCpu(scene.obs_f.data(),
                             scene.poses_f.data(),
                             num_frames,
                             16,
                             17,
                             {},
                             cpu.data(),
                             cpu_status.data());
    TriangulateNormalisedCuda(scene.obs_f.data(),
                              scene.poses_f.data(),
                              num_frames,
                              16,
                              17,
                              {},
                              gpu.data(),
                              gpu_status.data());
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(cpu_status[i], gpu_status[i]) << i;
      ASSERT_EQ(cpu[4 * i + 3], gpu[4 * i + 3]) << i;
      // Same float math; FMA contraction and sqrt rounding may differ.
      for (int k = 0; k < 3; ++k) {
        ASSERT_NEAR(cpu[4 * i + k], gpu[4 * i + k], kFloatRelativeTolerance * kSceneScaleM) << i;
      }
    }
  }
}

TEST(TriangulateNormalisedCuda, WithoutDeviceThrowsClearly) {
  if (CudaDeviceAvailable()) GTEST_SKIP() << "a CUDA device is present";
  const float obs[6] = {0, 0, 1, 0, 0, 1};
  const float poses[24] = {};
  float point[4];
  uint8_t status;
  EXPECT_THROW(TriangulateNormalisedCuda(obs, poses, 1, 2, 1, {}, point, &status), Error);
  EXPECT_THROW(TriangulateNormalisedCudaAsync(obs, poses, 1, 2, 1, {}, point, &status), Error);
}

// The device-pointer API checks its arguments before launching (null outputs, negative sizes,
// bad options) and accepts an empty batch.
TEST(TriangulateNormalisedCudaAsync, RejectsBadArguments) {
  if (!CudaDeviceAvailable()) GTEST_SKIP() << "no CUDA device (or built without CUDA)";
  const float* null_in = nullptr;
  float* null_points = nullptr;
  uint8_t* null_status = nullptr;
  EXPECT_NO_THROW(
      TriangulateNormalisedCudaAsync(null_in, null_in, 0, 4, 17, {}, null_points, null_status));
  EXPECT_ANY_THROW(
      TriangulateNormalisedCudaAsync(null_in, null_in, 1, 4, 17, {}, null_points, null_status));
  EXPECT_ANY_THROW(
      TriangulateNormalisedCudaAsync(null_in, null_in, -1, 4, 17, {}, null_points, null_status));
  DltOptions bad;
  bad.min_ray_angle_deg = -1;
  EXPECT_ANY_THROW(
      TriangulateNormalisedCudaAsync(null_in, null_in, 0, 4, 17, bad, null_points, null_status));
}

// ---- Throughput (not a correctness test; run with --gtest_also_run_disabled_tests) ------------

TEST(DltThroughput, DISABLED_PrintJointsPerSecond) {
  const int num_frames = 2000;
  const int num_joints = 17;
  const int all_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int num_cameras : {4, 8, 16, 32}) {
    const DenseScene scene = MakeDenseScene(num_frames, num_cameras, num_joints, 900);
    const size_t n = static_cast<size_t>(num_frames) * num_joints;
    std::vector<double> points_d(4 * n);
    std::vector<float> points_f(4 * n);
    std::vector<uint8_t> status(n);
    for (int threads : {1, all_threads}) {
      DltOptions options;
      options.num_threads = threads;
      auto time_it = [&](auto&& run) {
        run();  // warm-up
        const auto start = std::chrono::steady_clock::now();
        const int repeats = 3;
        for (int r = 0; r < repeats; ++r) run();
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        return repeats * static_cast<double>(n) / seconds;
      };
      const double double_rate = time_it([&] {
        TriangulateNormalisedCpu(scene.obs.values.data(),
                                 scene.obs.cams_from_world.data(),
                                 num_frames,
                                 num_cameras,
                                 num_joints,
                                 options,
                                 points_d.data(),
                                 status.data());
      });
      const double float_rate = time_it([&] {
        TriangulateNormalisedCpu(scene.obs_f.data(),
                                 scene.poses_f.data(),
                                 num_frames,
                                 num_cameras,
                                 num_joints,
                                 options,
                                 points_f.data(),
                                 status.data());
      });
      std::printf("DLT weighted  C=%2d  threads=%2d  double %.3g joints/s  float %.3g joints/s\n",
                  num_cameras,
                  threads,
                  double_rate,
                  float_rate);
    }
  }
}

}  // namespace
}  // namespace rigpose

// SPDX-License-Identifier: BSD-3-Clause
// TriangulateDltBatch's fused path (triangulate/dlt_fused.h: undistortion + DLT in one pass over
// the pixels, 8/16 lanes per register): in double every status, point, reprojection error and
// undistortion-failure count equals the two-step path's bit for bit (PrepareNormalisedObservations
// + the dense core), on both the AVX-512 and the AVX2 variant; in float it agrees with double to
// float rounding.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/triangulate/synthetic_rig.h"
#include "triangulate/dlt.h"
#include "triangulate/dlt_fused.h"

namespace rigpose {
namespace {

// Restores the automatic variant choice when a test ends.
class FusedModeGuard {
 public:
  explicit FusedModeGuard(internal::FusedDltMode mode) {
    internal::SetFusedDltModeForTesting(mode);
  }
  ~FusedModeGuard() { internal::SetFusedDltModeForTesting(internal::FusedDltMode::kAuto); }
  FusedModeGuard(const FusedModeGuard&) = delete;
  FusedModeGuard& operator=(const FusedModeGuard&) = delete;
};

DltBatchResult RunWithMode(internal::FusedDltMode mode,
                           const std::vector<Camera>& cameras,
                           const Keypoints2D& keypoints,
                           const DltOptions& options) {
  const FusedModeGuard guard(mode);
  return TriangulateDltBatch(cameras, keypoints, options);
}

// The fused variants this CPU can run ("avx512" and "avx2", or "avx2", or none).
std::vector<internal::FusedDltMode> FusedModes() {
  std::vector<internal::FusedDltMode> modes;
  for (const internal::FusedDltMode mode :
       {internal::FusedDltMode::kAuto, internal::FusedDltMode::kAvx2}) {
    const FusedModeGuard guard(mode);
    const std::string variant = internal::FusedDltVariant();
    if (variant == "off") continue;
    if (mode == internal::FusedDltMode::kAvx2 || variant == "avx512") modes.push_back(mode);
  }
  return modes;
}

struct PixelScene {
  std::vector<Camera> cameras;
  Keypoints2D keypoints;
};

// num_cameras cameras (OPENCV and PINHOLE alternating; camera 0 with a strong lens, camera 3 an
// OPENCV without distortion), random points in the volume, σ = 1 px, then poisoned when asked:
// absent, NaN / inf / negative scores, NaN / inf coordinates, low scores, pixels beyond the fold
// of camera 0's lens; with 4+ cameras camera 1 duplicates camera 0 (parallel rays where only
// those two see a joint), with 3 cameras camera 2 turned around after projecting (behind it).
PixelScene MakePixelScene(
    int num_frames, int num_cameras, int num_joints, uint32_t seed, bool poison) {
  PixelScene scene;
  scene.cameras = test::SyntheticRig(num_cameras, seed);
  scene.cameras[0].params = {1400.0, 1402.0, 950.0, 545.0, -0.42, 0.21, 0.004, -0.003, -0.05};
  if (num_cameras >= 4) {
    scene.cameras[3].model_id = CameraModelId::kOpenCV;
    const std::vector<double> pinhole = scene.cameras[3].params;
    scene.cameras[3].params = {pinhole[0], pinhole[1], pinhole[2], pinhole[3], 0, 0, 0, 0, 0};
    scene.cameras[1] = scene.cameras[0];
    scene.cameras[1].name = "cam1";
  }
  const std::vector<Eigen::Vector3d> points = test::RandomPoints(num_frames * num_joints, seed + 1);
  scene.keypoints =
      test::ProjectKeypoints(scene.cameras, points, num_frames, num_joints, 1.0, seed + 2);
  if (num_cameras == 3) {
    // Camera 2 turned around the point it looked at: what it saw is now behind it.
    Camera& camera = scene.cameras[2];
    const Eigen::Matrix3d flip = Eigen::Vector3d(-1.0, 1.0, -1.0).asDiagonal();
    camera.cam_from_world.rotation =
        Eigen::Quaterniond(flip * camera.cam_from_world.RotationMatrix());
    camera.cam_from_world.translation = flip * camera.cam_from_world.translation;
  }
  if (!poison) return scene;
  std::mt19937 rng(seed + 3);
  Keypoints2D& kp = scene.keypoints;
  const float inf = std::numeric_limits<float>::infinity();
  for (int f = 0; f < num_frames; ++f) {
    for (int c = 0; c < num_cameras; ++c) {
      for (int j = 0; j < num_joints; ++j) {
        const float x = kp.x(f, c, j);
        const float y = kp.y(f, c, j);
        switch (rng() % 61) {
          case 0:
            kp.Set(f, c, j, x, y, 0.f);
            break;
          case 1:
            kp.Set(f, c, j, x, y, NAN);
            break;
          case 2:
            kp.Set(f, c, j, x, y, inf);
            break;
          case 3:
            kp.Set(f, c, j, x, y, -0.5f);
            break;
          case 4:
            kp.Set(f, c, j, NAN, y, 0.9f);
            break;
          case 5:
            kp.Set(f, c, j, x, inf, 0.9f);
            break;
          case 6:
            kp.Set(f, c, j, x, y, 0.1f);  // below min_score 0.3
            break;
          case 7:
            kp.Set(f, c, j, -20000.f, -20000.f, 0.9f);  // beyond camera 0's fold: a failure there
            break;
          case 8:
            kp.Set(f, c, j, x + 4000.f, y - 3000.f, 0.9f);  // far outside the image
            break;
          default:
            break;
        }
      }
      if (num_cameras >= 4 && num_joints > 2 && f % 2 == 0) {
        // Only cameras 0 and 1 (the same camera) see joint 2: parallel rays.
        for (int other = 2; other < num_cameras; ++other) kp.Set(f, other, 2, 0.f, 0.f, 0.f);
      }
    }
  }
  for (int j = 0; j < num_joints; j += 4) {
    for (int c = 1; c < num_cameras; ++c) kp.Set(0, c, j, 0.f, 0.f, 0.f);  // one view left
  }
  return scene;
}

// memcmp with an empty range may get null pointers (empty vectors): undefined, so not called.
bool SameBits(const void* a, const void* b, size_t bytes) {
  return bytes == 0 || std::memcmp(a, b, bytes) == 0;
}

TEST(TriangulateDltBatchFused, DoubleEqualsTheTwoStepPathBitForBit) {
  const std::vector<internal::FusedDltMode> modes = FusedModes();
  if (modes.empty())
    GTEST_SKIP() << "no AVX2 + FMA: TriangulateDltBatch has only the two-step path";
  std::array<int64_t, kNumTriangulationStatus> seen{};
  int64_t failures_seen = 0;
  for (const int num_cameras : {1, 2, 3, 4, 7, 16}) {
    for (const int num_joints : {17, 5, 1}) {
      for (const int num_frames : {1, 3, 61}) {
        const PixelScene scene = MakePixelScene(
            num_frames, num_cameras, num_joints, 100 * num_cameras + num_joints, true);
        // (weighted, min_score, min_ray_angle_deg, reprojection errors): a 40° minimum angle
        // makes many view pairs of a ring of cameras fail it, so the angle test decides (in the
        // vector pairs and one by one).
        struct Config {
          bool weighted;
          float min_score;
          double min_ray_angle_deg;
          bool reproj;
        };
        for (const Config& config : {Config{true, 0.3f, 1.0, true},
                                     Config{false, 0.f, 40.0, true},
                                     Config{false, 0.3f, 1.0, false}}) {
          const bool weighted = config.weighted;
          DltOptions options;
          options.weighted = config.weighted;
          options.min_score = config.min_score;
          options.min_ray_angle_deg = config.min_ray_angle_deg;
          options.compute_reproj_error = config.reproj;
          options.num_threads = num_frames == 61 ? 3 : 1;
          const DltBatchResult reference =
              RunWithMode(internal::FusedDltMode::kOff, scene.cameras, scene.keypoints, options);
          for (int s = 0; s < kNumTriangulationStatus; ++s) seen[s] += reference.status_counts[s];
          failures_seen += reference.num_undistort_failures;
          for (const internal::FusedDltMode mode : modes) {
            SCOPED_TRACE(::testing::Message()
                         << num_cameras << " cameras, " << num_joints << " joints, " << num_frames
                         << " frames, weighted " << weighted << ", "
                         << (mode == internal::FusedDltMode::kAvx2 ? "avx2" : "avx512"));
            const DltBatchResult fused = RunWithMode(mode, scene.cameras, scene.keypoints, options);
            ASSERT_EQ(fused.status, reference.status);
            ASSERT_EQ(fused.num_undistort_failures, reference.num_undistort_failures);
            ASSERT_EQ(fused.poses.size(), reference.poses.size());
            ASSERT_TRUE(SameBits(fused.poses.data(),
                                 reference.poses.data(),
                                 sizeof(double) * static_cast<size_t>(reference.poses.size())));
            ASSERT_EQ(fused.reproj_error_px.size(), reference.reproj_error_px.size());
            ASSERT_TRUE(SameBits(fused.reproj_error_px.data(),
                                 reference.reproj_error_px.data(),
                                 sizeof(float) * reference.reproj_error_px.size()));
            ASSERT_EQ(fused.status_counts, reference.status_counts);
          }
        }
      }
    }
  }
  // The scenes reach every branch: each status the DLT can give and undistortion failures.
  for (const TriangulationStatus status : {TriangulationStatus::kOk,
                                           TriangulationStatus::kTooFewViews,
                                           TriangulationStatus::kDegenerate,
                                           TriangulationStatus::kBehindCamera}) {
    EXPECT_GT(seen[static_cast<int>(status)], 0) << TriangulationStatusName(status);
  }
  EXPECT_GT(failures_seen, 0);
}

TEST(TriangulateDltBatchFused, FloatAgreesWithDouble) {
  // The float path undistorts in float (the two-step float path in double, then rounds): its
  // distance to the double result must stay at the two-step float path's (the float DLT's
  // conditioning dominates both), and every status must agree where no threshold is near.
  const std::vector<internal::FusedDltMode> modes = FusedModes();
  if (modes.empty())
    GTEST_SKIP() << "no AVX2 + FMA: TriangulateDltBatch has only the two-step path";
  for (const int num_cameras : {2, 4, 16}) {
    for (const bool poison : {false, true}) {
      const PixelScene scene = MakePixelScene(201, num_cameras, 17, 7 * num_cameras + 1, poison);
      DltOptions options;
      options.min_score = 0.3f;
      const DltBatchResult reference =
          RunWithMode(internal::FusedDltMode::kOff, scene.cameras, scene.keypoints, options);
      options.single_precision = true;
      const DltBatchResult two_step =
          RunWithMode(internal::FusedDltMode::kOff, scene.cameras, scene.keypoints, options);
      for (const internal::FusedDltMode mode : modes) {
        SCOPED_TRACE(::testing::Message()
                     << num_cameras << " cameras, poison " << poison << ", "
                     << (mode == internal::FusedDltMode::kAvx2 ? "avx2" : "avx512"));
        const DltBatchResult fused = RunWithMode(mode, scene.cameras, scene.keypoints, options);
        // A view the float steps accept (4e-6) next to the lens's fold may fail the double test.
        EXPECT_NEAR(fused.num_undistort_failures, reference.num_undistort_failures, 2);
        int64_t differing = 0;
        std::vector<double> fused_error_m;
        std::vector<double> two_step_error_m;
        for (int f = 0; f < reference.poses.num_frames(); ++f) {
          for (int j = 0; j < 17; ++j) {
            const size_t i = static_cast<size_t>(f) * 17 + j;
            if (fused.status[i] != reference.status[i]) {
              ++differing;
              continue;
            }
            if (reference.status[i] != static_cast<uint8_t>(TriangulationStatus::kOk) ||
                two_step.status[i] != reference.status[i]) {
              continue;
            }
            const Eigen::Vector3d truth = reference.poses.Position(f, j);
            fused_error_m.push_back((fused.poses.Position(f, j) - truth).norm());
            two_step_error_m.push_back((two_step.poses.Position(f, j) - truth).norm());
          }
        }
        // Clean scenes: every status equal. Poisoned ones: only joints at a threshold (the
        // ray angle, the lens's fold) may flip, a handful in 3417.
        EXPECT_LE(differing, poison ? 5 : 0);
        ASSERT_GT(fused_error_m.size(), 2000u);
        std::sort(fused_error_m.begin(), fused_error_m.end());
        std::sort(two_step_error_m.begin(), two_step_error_m.end());
        const size_t median = fused_error_m.size() / 2;
        const size_t p99 = fused_error_m.size() * 99 / 100;
        // Typical and 99th-percentile joints as close as the two-step float path's; the worst
        // (two nearly parallel views, where the float normal matrix loses most digits) within a
        // few times its.
        EXPECT_LT(fused_error_m[median], 1.5 * two_step_error_m[median] + 1e-8);
        EXPECT_LT(fused_error_m[p99], 1.5 * two_step_error_m[p99] + 1e-8);
        EXPECT_LT(fused_error_m.back(), 4.0 * two_step_error_m.back() + 1e-6);
      }
    }
  }
}

TEST(TriangulateDltBatchFused, FloatLoadsEveryLaneLayout) {
  // The AVX-512 float variant loads a chunk's 16 views by masked loads + permutes per run of
  // consecutive joints (gathers past 4 runs); the AVX2 one always gathers. Joint counts that cut
  // chunks into 1, 2, 4 and 16 runs must give the same joints as the double path, lane by lane.
  const std::vector<internal::FusedDltMode> modes = FusedModes();
  if (modes.empty())
    GTEST_SKIP() << "no AVX2 + FMA: TriangulateDltBatch has only the two-step path";
  for (const int num_joints : {17, 16, 5, 3, 1}) {
    const int num_frames = 1 + 600 / num_joints;
    const PixelScene scene = MakePixelScene(num_frames, 5, num_joints, 300 + num_joints, false);
    DltOptions options;
    const DltBatchResult reference =
        RunWithMode(internal::FusedDltMode::kOff, scene.cameras, scene.keypoints, options);
    options.single_precision = true;
    for (const internal::FusedDltMode mode : modes) {
      SCOPED_TRACE(::testing::Message()
                   << num_joints << " joints, "
                   << (mode == internal::FusedDltMode::kAvx2 ? "avx2" : "avx512"));
      const DltBatchResult fused = RunWithMode(mode, scene.cameras, scene.keypoints, options);
      ASSERT_EQ(fused.status, reference.status);
      for (int f = 0; f < num_frames; ++f) {
        for (int j = 0; j < num_joints; ++j) {
          if (!reference.poses.IsValid(f, j)) continue;
          ASSERT_LT((fused.poses.Position(f, j) - reference.poses.Position(f, j)).norm(), 1e-4)
              << f << " " << j;
        }
      }
    }
  }
}

TEST(TriangulateDltBatchFused, ExactPixelsGiveTheExactPoints) {
  const std::vector<internal::FusedDltMode> modes = FusedModes();
  if (modes.empty())
    GTEST_SKIP() << "no AVX2 + FMA: TriangulateDltBatch has only the two-step path";
  const std::vector<Camera> cameras = test::SyntheticRig(6, 5);
  const std::vector<Eigen::Vector3d> points = test::RandomPoints(40 * 17, 6);
  const Keypoints2D keypoints = test::ProjectKeypoints(cameras, points, 40, 17, 0.0, 7);
  for (const internal::FusedDltMode mode : modes) {
    for (const bool single : {false, true}) {
      DltOptions options;
      options.single_precision = single;
      const DltBatchResult result = RunWithMode(mode, cameras, keypoints, options);
      ASSERT_EQ(result.status_counts[static_cast<int>(TriangulationStatus::kOk)], 40 * 17);
      double max_error_m = 0.0;
      for (int f = 0; f < 40; ++f) {
        for (int j = 0; j < 17; ++j) {
          max_error_m =
              std::max(max_error_m, (result.poses.Position(f, j) - points[f * 17 + j]).norm());
        }
      }
      // Float keypoints limit both (~1e-4 px); float arithmetic adds its own rounding.
      EXPECT_LT(max_error_m, single ? 2e-5 : 2e-6) << (single ? "f32" : "f64");
    }
  }
}

}  // namespace
}  // namespace rigpose

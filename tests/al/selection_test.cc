// SPDX-License-Identifier: BSD-3-Clause
// Active-learning scores and selection (al/): multi-view disagreement and its Bayesian
// propagation on a synthetic rig, the classic single-view scores, the selection strategies and
// the selection file.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include <gtest/gtest.h>
#include <Eigen/Geometry>

#include "al/select.h"
#include "al/selection_file.h"
#include "al/single_view.h"
#include "al/view_disagreement.h"
#include "core/error.h"
#include "core/skeleton.h"
#include "data/synth/synth_rig.h"
#include "tests/test_util.h"
#include "triangulate/dlt.h"

namespace rigpose {
namespace {

constexpr int kJoints = 17;

std::vector<Camera> TestRig(int num_cameras) {
  synth::SynthRigOptions options;
  options.num_cameras = num_cameras;
  options.resolution = "640x480";
  return synth::MakeSynthRig(options).cameras;
}

// A walking-ish person: 17 joints around a moving centre, limbs of fixed length.
Poses3D TestPoses(int frames, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<Eigen::Vector3d> offsets(kJoints);
  for (int j = 0; j < kJoints; ++j) {
    offsets[j] = Eigen::Vector3d(0.25 * u(rng), 0.25 * u(rng), 0.9 + 0.8 * u(rng));
  }
  Poses3D poses(frames, kJoints);
  for (int f = 0; f < frames; ++f) {
    const double a = 0.05 * f;
    const Eigen::Vector3d centre(0.6 * std::cos(a), 0.6 * std::sin(a), 0.0);
    // The person turns: every bone keeps its length, the centred pose changes.
    const Eigen::Matrix3d turn =
        Eigen::AngleAxisd(0.37 * f, Eigen::Vector3d::UnitZ()).toRotationMatrix();
    for (int j = 0; j < kJoints; ++j) poses.Set(f, j, centre + turn * offsets[j]);
  }
  return poses;
}

Keypoints2D Project(const std::vector<Camera>& cameras, const Poses3D& poses) {
  Keypoints2D kp(poses.num_frames(), static_cast<int>(cameras.size()), poses.num_joints());
  for (int f = 0; f < poses.num_frames(); ++f) {
    for (size_t c = 0; c < cameras.size(); ++c) {
      for (int j = 0; j < poses.num_joints(); ++j) {
        const auto p = cameras[c].ImgFromWorld(poses.Position(f, j));
        if (p && cameras[c].IsInImage(*p)) {
          kp.Set(f,
                 static_cast<int>(c),
                 j,
                 static_cast<float>(p->x()),
                 static_cast<float>(p->y()),
                 0.9f);
        }
      }
    }
  }
  return kp;
}

std::vector<std::string> Names(const std::vector<Camera>& cameras) {
  std::vector<std::string> names;
  for (const Camera& c : cameras) names.push_back(c.name);
  return names;
}

// ---- View disagreement ------------------------------------------------------------------------

TEST(ViewDisagreement, ExactViewsAgreeAndAWrongViewStandsOut) {
  const std::vector<Camera> cameras = TestRig(4);
  const Poses3D truth = TestPoses(30, 1);
  Keypoints2D kp = Project(cameras, truth);
  // Frame 12: camera 2 sees every joint 60 px to the right (a wrong person / swapped crop).
  for (int j = 0; j < kJoints; ++j) {
    if (kp.IsPresent(12, 2, j)) kp.Set(12, 2, j, kp.x(12, 2, j) + 60.f, kp.y(12, 2, j), 0.9f);
  }
  const ViewDisagreement d = ComputeViewDisagreement(cameras, kp, {});
  ASSERT_EQ(d.frame_residual.size(), 30u);
  int worst = -1;
  for (int f = 0; f < 30; ++f) {
    if (f == 12) continue;
    EXPECT_LT(d.frame_residual[f], 1e-4) << "frame " << f;
    EXPECT_EQ(d.frame_outlier_share[f], 0.f) << "frame " << f;
    EXPECT_LT(d.frame_loo_spread[f], 1e-4) << "frame " << f;
    if (worst < 0 || d.frame_residual[f] > d.frame_residual[worst]) worst = f;
  }
  EXPECT_GT(d.frame_residual[12], 0.05f);
  EXPECT_GT(d.frame_outlier_share[12], 0.2f);
  // The robust point ignores the wrong view: its 3D stays on the truth.
  for (int j = 0; j < kJoints; ++j) {
    if (!d.poses.IsValid(12, j)) continue;
    EXPECT_LT((d.poses.Position(12, j) - truth.Position(12, j)).norm(), 1e-6) << "joint " << j;
  }
  // The wrong camera is the frame's most disagreeing view.
  for (int c = 0; c < 4; ++c) {
    if (c != 2) {
      EXPECT_GT(d.view_disagreement[12 * 4 + 2], d.view_disagreement[12 * 4 + c]);
    }
  }
  EXPECT_TRUE(d.bayes_std.empty());
}

// The first-order 3D covariance matches the spread of weighted DLT under 2D noise.
TEST(ViewDisagreement, PropagatedVarianceMatchesMonteCarlo) {
  const std::vector<Camera> cameras = TestRig(4);
  const Poses3D truth = TestPoses(1, 2);
  const double sigma_px = 2.0;
  Keypoints2D kp = Project(cameras, truth);
  std::vector<float> variance(static_cast<size_t>(4) * kJoints,
                              static_cast<float>(sigma_px * sigma_px));
  ViewDisagreementOptions options;
  options.robust.max_reproj_error_px = 50;
  const ViewDisagreement d = ComputeViewDisagreement(cameras, kp, variance, options);
  ASSERT_EQ(d.bayes_std.size(), static_cast<size_t>(kJoints));

  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0.0, sigma_px);
  const int joint = 5;
  std::vector<Rigid3d> poses;
  for (const Camera& c : cameras) poses.push_back(c.cam_from_world);
  double sum2 = 0;
  const int trials = 4000;
  for (int t = 0; t < trials; ++t) {
    std::vector<Eigen::Vector2d> points;
    for (int c = 0; c < 4; ++c) {
      UndistortStatus status;
      points.push_back(cameras[c].CamFromImg(
          Eigen::Vector2d(kp.x(0, c, joint) + noise(rng), kp.y(0, c, joint) + noise(rng)),
          &status));
    }
    const auto X = TriangulateDlt(poses, points, {});
    ASSERT_TRUE(X.has_value());
    sum2 += (*X - truth.Position(0, joint)).squaredNorm();
  }
  const double mc_std = std::sqrt(sum2 / trials) / d.person_size_m[0];
  EXPECT_NEAR(d.bayes_std[joint], mc_std, 0.1 * mc_std);

  // Twice the 2D std: twice the 3D std.
  std::vector<float> variance4(variance.size(), static_cast<float>(4 * sigma_px * sigma_px));
  const ViewDisagreement d4 = ComputeViewDisagreement(cameras, kp, variance4, options);
  EXPECT_NEAR(d4.bayes_std[joint], 2 * d.bayes_std[joint], 1e-3 * d.bayes_std[joint]);
}

TEST(ViewDisagreement, RejectsMismatchedInputs) {
  const std::vector<Camera> cameras = TestRig(4);
  const Keypoints2D kp = Project(cameras, TestPoses(3, 1));
  EXPECT_THROW(ComputeViewDisagreement(TestRig(3), kp, {}), std::invalid_argument);
  EXPECT_THROW(ComputeViewDisagreement(cameras, kp, std::vector<float>(5, 1.f)),
               std::invalid_argument);
  ViewDisagreementOptions bad;
  bad.residual_cap = 0;
  EXPECT_THROW(ComputeViewDisagreement(cameras, kp, {}, bad), std::invalid_argument);
}

// ---- Single-view scores -----------------------------------------------------------------------

std::vector<float> Gaussians(int h, int w, const std::vector<Eigen::Vector3d>& peaks) {
  std::vector<float> map(static_cast<size_t>(h) * w, 0.f);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      for (const Eigen::Vector3d& p : peaks) {
        map[y * w + x] += static_cast<float>(
            p.z() * std::exp(-((x - p.x()) * (x - p.x()) + (y - p.y()) * (y - p.y())) / 8.0));
      }
    }
  }
  return map;
}

TEST(MultiPeakEntropy, CountsSeparatedPeaks) {
  const std::vector<float> one = Gaussians(64, 48, {{20, 30, 1.0}});
  EXPECT_NEAR(MultiPeakEntropy(one.data(), 1, 64, 48), 0.0, 1e-12);
  const std::vector<float> two = Gaussians(64, 48, {{10, 10, 1.0}, {35, 50, 1.0}});
  EXPECT_NEAR(MultiPeakEntropy(two.data(), 1, 64, 48), std::log(2.0), 1e-6);
  // Peaks within min_distance are one peak.
  const std::vector<float> close = Gaussians(64, 48, {{20, 30, 1.0}, {23, 30, 0.5}});
  EXPECT_NEAR(MultiPeakEntropy(close.data(), 1, 64, 48), 0.0, 1e-12);
  // Unequal peaks: between 0 and log 2; joints add up.
  const std::vector<float> unequal = Gaussians(64, 48, {{10, 10, 1.0}, {35, 50, 0.3}});
  const double e = MultiPeakEntropy(unequal.data(), 1, 64, 48);
  EXPECT_GT(e, 0.1);
  EXPECT_LT(e, std::log(2.0));
  std::vector<float> both = two;
  both.insert(both.end(), unequal.begin(), unequal.end());
  EXPECT_NEAR(MultiPeakEntropy(both.data(), 2, 64, 48), std::log(2.0) + e, 1e-6);
  // Six equal peaks: only the top 5 count.
  const std::vector<float> six =
      Gaussians(64, 48, {{5, 5, 1}, {20, 5, 1}, {35, 5, 1}, {5, 40, 1}, {20, 40, 1}, {35, 40, 1}});
  EXPECT_NEAR(MultiPeakEntropy(six.data(), 1, 64, 48), std::log(5.0), 1e-6);
}

TEST(KCenterGreedy, PicksTheFarthestPointsFirst) {
  // 1D points: a cluster near 0, one at 10, one at -6.
  const std::vector<float> features = {0.f, 0.1f, 0.2f, 10.f, -6.f, 0.3f};
  const std::vector<int> picks = KCenterGreedy(features, 1, {0}, {}, 3);
  ASSERT_EQ(picks.size(), 3u);
  EXPECT_EQ(picks[0], 3);
  EXPECT_EQ(picks[1], 4);
  // Candidates restrict the picks; a budget beyond them returns what there is.
  const std::vector<int> restricted = KCenterGreedy(features, 1, {0}, {1, 2, 5}, 5);
  EXPECT_EQ(restricted.size(), 3u);
  EXPECT_EQ(restricted[0], 5);
  EXPECT_THROW(KCenterGreedy(features, 4, {}, {}, 1), std::invalid_argument);
}

TEST(BoneLengthModel, StretchedBoneIsUnlikely) {
  Poses3D poses = TestPoses(40, 3);
  const Skeleton& skeleton = GetSkeleton("coco17");
  // The left forearm (7-9) 0.2 m longer.
  poses.Set(
      17,
      9,
      poses.Position(17, 9) + 0.2 * (poses.Position(17, 9) - poses.Position(17, 7)).normalized());
  const BoneLengthModel model = BoneLengthModel::Fit(poses, skeleton.bones);
  int worst = 0;
  for (int f = 1; f < 40; ++f) {
    if (model.NegLogLikelihood(poses, f) > model.NegLogLikelihood(poses, worst)) worst = f;
  }
  EXPECT_EQ(worst, 17);
  poses.SetInvalid(3, 0);
  EXPECT_TRUE(std::isfinite(model.NegLogLikelihood(poses, 3)));
}

TEST(LossPredictor, LearnsTheRankingOfLosses) {
  std::mt19937 rng(5);
  std::normal_distribution<double> n(0.0, 1.0);
  const int dim = 8, train = 300, test = 200;
  std::vector<float> features;
  std::vector<double> losses;
  for (int i = 0; i < train + test; ++i) {
    double s = 0;
    for (int k = 0; k < dim; ++k) {
      const double v = n(rng);
      features.push_back(static_cast<float>(v));
      if (k < 2) s += v;
    }
    losses.push_back(std::exp(s + 0.2 * n(rng)));
  }
  const std::vector<float> f_train(features.begin(), features.begin() + train * dim);
  const std::vector<float> f_test(features.begin() + train * dim, features.end());
  const std::vector<double> l_train(losses.begin(), losses.begin() + train);
  const std::vector<double> l_test(losses.begin() + train, losses.end());
  LossPredictor predictor;
  predictor.Fit(f_train, dim, l_train);
  EXPECT_GT(predictor.RankingAccuracy(f_test, l_test), 0.85);
  // Losses unrelated to the features: chance.
  std::vector<double> shuffled = l_train;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  LossPredictor blind;
  blind.Fit(f_train, dim, shuffled);
  EXPECT_LT(blind.RankingAccuracy(f_test, l_test), 0.7);
}

// ---- Selection ------------------------------------------------------------------------------

struct TestPool {
  std::vector<Camera> cameras;
  Poses3D truth;
  Keypoints2D keypoints;
  ViewDisagreement geometry;
  PoolScores pool;
};

// 120 frames; frames 30, 31, 32 and 90 have a wrong view (camera 1, resp. 3).
TestPool MakePool() {
  TestPool p;
  p.cameras = TestRig(4);
  p.truth = TestPoses(120, 4);
  p.keypoints = Project(p.cameras, p.truth);
  std::mt19937 rng(9);
  std::normal_distribution<float> noise(0.f, 0.7f);
  for (int f = 0; f < 120; ++f) {
    for (int c = 0; c < 4; ++c) {
      for (int j = 0; j < kJoints; ++j) {
        if (!p.keypoints.IsPresent(f, c, j)) continue;
        float dx = noise(rng), dy = noise(rng);
        if ((f >= 30 && f <= 32 && c == 1) || (f == 90 && c == 3)) dx += 45.f;
        p.keypoints.Set(f, c, j, p.keypoints.x(f, c, j) + dx, p.keypoints.y(f, c, j) + dy, 0.9f);
      }
    }
  }
  p.geometry = ComputeViewDisagreement(p.cameras, p.keypoints, {});
  p.pool.num_frames = 120;
  p.pool.num_cameras = 4;
  p.pool.camera_names = Names(p.cameras);
  p.pool.geometry = &p.geometry;
  return p;
}

TEST(SelectFrames, MultiviewFindsTheWrongViewsWithSuppression) {
  TestPool p = MakePool();
  p.pool.geometry = &p.geometry;
  SelectOptions options;
  options.budget = 2;
  options.suppress_frames = 5;
  const Selection s = SelectFrames(p.pool, options);
  ASSERT_EQ(s.rows.size(), 2u);
  std::set<int> frames;
  for (const SelectionRow& row : s.rows) {
    frames.insert(row.frame);
    EXPECT_EQ(row.views.size(), 4u);  // a budget in frames labels every view
  }
  // One of 30-32 (the others are suppressed) and 90.
  EXPECT_TRUE(frames.count(90)) << *frames.begin();
  EXPECT_TRUE(frames.count(30) + frames.count(31) + frames.count(32) == 1);
  EXPECT_EQ(s.rows[0].rank, 1);
  EXPECT_EQ(s.metadata.at("strategy"), "multiview");

  // Views: the wrong view is among those chosen, the budget is spent exactly.
  options.unit = "views";
  options.budget = 5;
  const Selection v = SelectFrames(p.pool, options);
  EXPECT_EQ(v.NumViews(), 5);
  bool found = false;
  for (const SelectionRow& row : v.rows) {
    if (row.frame == 90) {
      found = std::find(row.views.begin(), row.views.end(), p.cameras[3].name) != row.views.end();
    }
  }
  EXPECT_TRUE(found);

  // Without suppression, larger budgets never pick a frame twice and stay >= suppress apart.
  options.unit = "frames";
  options.budget = 10;
  options.suppress_frames = 4;
  const Selection many = SelectFrames(p.pool, options);
  ASSERT_EQ(many.rows.size(), 10u);
  for (size_t a = 0; a < many.rows.size(); ++a) {
    for (size_t b = a + 1; b < many.rows.size(); ++b) {
      EXPECT_GT(std::abs(many.rows[a].frame - many.rows[b].frame), 4);
    }
  }
}

TEST(SelectFrames, MultiviewFusesTheDetectorsLowConfidence) {
  TestPool p = MakePool();
  // Frame 60: every view consistent, but the detector unsure (score 0.4 instead of 0.9).
  for (int c = 0; c < 4; ++c) {
    for (int j = 0; j < kJoints; ++j) {
      if (!p.keypoints.IsPresent(60, c, j)) continue;
      p.keypoints.Set(60, c, j, p.keypoints.x(60, c, j), p.keypoints.y(60, c, j), 0.4f);
    }
  }
  p.geometry = ComputeViewDisagreement(p.cameras, p.keypoints, {});
  ASSERT_EQ(p.geometry.frame_low_confidence.size(), 120u);
  EXPECT_NEAR(p.geometry.frame_low_confidence[60], 0.6, 1e-6);
  EXPECT_NEAR(p.geometry.frame_low_confidence[59], 0.1, 1e-6);
  // Its geometry is unremarkable: the wrong views lead the geometry ranking.
  EXPECT_LT(p.geometry.frame_residual[60], 0.5 * p.geometry.frame_residual[90]);

  SelectOptions options;
  EXPECT_EQ(options.confidence_weight, 0.0);  // off by default (docs/ACTIVE_LEARNING.md)
  options.budget = 1;
  options.geometry_weight = 0;  // confidence alone
  options.confidence_weight = 0.5;
  Selection s = SelectFrames(p.pool, options);
  ASSERT_EQ(s.rows.size(), 1u);
  EXPECT_EQ(s.rows[0].frame, 60);
  // The breakdown names the part: frame 60 holds the top percentile of low confidence.
  const std::vector<std::string>& names = s.component_names;
  const size_t k = std::find(names.begin(), names.end(), "confidence") - names.begin();
  ASSERT_LT(k, names.size());
  EXPECT_GT(s.rows[0].components[k], 0.99);

  // Off: the geometry alone never reaches frame 60 within the four wrong frames' budget.
  options.geometry_weight = 0.5;
  options.confidence_weight = 0;
  options.suppress_frames = 0;
  options.budget = 4;
  s = SelectFrames(p.pool, options);
  for (const SelectionRow& row : s.rows) EXPECT_NE(row.frame, 60);
  // Fused with equal weights: the unsure frame is among the picks beside the wrong views.
  options.confidence_weight = 0.5;
  options.budget = 5;
  s = SelectFrames(p.pool, options);
  bool has_60 = false, has_90 = false;
  for (const SelectionRow& row : s.rows) {
    has_60 |= row.frame == 60;
    has_90 |= row.frame == 90;
  }
  EXPECT_TRUE(has_60);
  EXPECT_TRUE(has_90);
  options.geometry_weight = options.bayesian_weight = options.confidence_weight = 0;
  EXPECT_FALSE(options.Check().empty());
  options.confidence_weight = -1;
  EXPECT_FALSE(options.Check().empty());
}

TEST(SelectFrames, LabelledFramesAreNeverPickedAndRandomIsSeeded) {
  TestPool p = MakePool();
  p.pool.labelled.assign(120, 0);
  p.pool.labelled[90] = 1;
  SelectOptions options;
  options.budget = 3;
  for (const SelectionRow& row : SelectFrames(p.pool, options).rows) EXPECT_NE(row.frame, 90);

  options.strategy = "random";
  options.budget = 20;
  const Selection a = SelectFrames(p.pool, options);
  const Selection b = SelectFrames(p.pool, options);
  options.seed = 2;
  const Selection c = SelectFrames(p.pool, options);
  std::vector<int> fa, fb, fc;
  for (const auto& r : a.rows) fa.push_back(r.frame);
  for (const auto& r : b.rows) fb.push_back(r.frame);
  for (const auto& r : c.rows) fc.push_back(r.frame);
  EXPECT_EQ(fa, fb);
  EXPECT_NE(fa, fc);
  EXPECT_EQ(std::count(fa.begin(), fa.end(), 90), 0);
}

TEST(SelectFrames, AniposeBadAndClassicStrategies) {
  TestPool p = MakePool();
  SelectOptions options;
  options.strategy = "anipose-bad";
  options.budget = 2;
  const Selection bad = SelectFrames(p.pool, options);
  std::set<int> frames;
  for (const auto& r : bad.rows) frames.insert(r.frame);
  EXPECT_TRUE(frames.count(90));

  // Entropy per view: the highest-entropy views, grouped by frame.
  p.pool.view_entropy.assign(120 * 4, 0.1f);
  p.pool.view_entropy[7 * 4 + 2] = 3.f;
  p.pool.view_entropy[50 * 4 + 0] = 2.f;
  p.pool.view_entropy[50 * 4 + 1] = 2.5f;
  options.strategy = "multi-peak-entropy";
  options.unit = "views";
  options.budget = 3;
  const Selection e = SelectFrames(p.pool, options);
  ASSERT_EQ(e.rows.size(), 2u);
  EXPECT_EQ(e.rows[0].frame, 7);
  EXPECT_EQ(e.rows[0].views, std::vector<std::string>{p.cameras[2].name});
  EXPECT_EQ(e.rows[1].frame, 50);
  EXPECT_EQ(e.rows[1].views.size(), 2u);

  // Core-set over features: the odd one out first.
  p.pool.feature_dim = 2;
  p.pool.view_features.assign(120 * 4 * 2, 0.f);
  for (int c = 0; c < 4; ++c) p.pool.view_features[(64 * 4 + c) * 2] = 5.f;
  options.strategy = "core-set";
  options.unit = "frames";
  options.budget = 1;
  EXPECT_EQ(SelectFrames(p.pool, options).rows[0].frame, 64);

  // VL4Pose on the robust 3D.
  Poses3D stretched = p.geometry.poses;
  // The left forearm (7-9) 0.2 m longer.
  stretched.Set(44,
                9,
                stretched.Position(44, 9) +
                    0.2 * (stretched.Position(44, 9) - stretched.Position(44, 7)).normalized());
  const BoneLengthModel model = BoneLengthModel::Fit(stretched, GetSkeleton("coco17").bones);
  p.pool.frame_bone_nll.resize(120);
  for (int f = 0; f < 120; ++f) {
    p.pool.frame_bone_nll[f] = static_cast<float>(model.NegLogLikelihood(stretched, f));
  }
  options.strategy = "vl4pose";
  EXPECT_EQ(SelectFrames(p.pool, options).rows[0].frame, 44);
}

TEST(SelectFrames, BadBudgetsAndMissingScoresAreClearErrors) {
  TestPool p = MakePool();
  SelectOptions options;
  options.budget = 121;
  test::ExpectError<InputError>([&] { SelectFrames(p.pool, options); },
                                {"budget of 121 frames", "120 unlabelled frames"});
  options.unit = "views";
  options.budget = 481;
  test::ExpectError<InputError>([&] { SelectFrames(p.pool, options); },
                                {"budget of 481 views", "480"});
  options.budget = 3;
  options.strategy = "bayesian";
  test::ExpectError<InputError>([&] { SelectFrames(p.pool, options); }, {"bayesian", "variance"});
  options.strategy = "multi-peak-entropy";
  test::ExpectError<InputError>([&] { SelectFrames(p.pool, options); },
                                {"multi-peak-entropy", "heatmaps"});
  options.strategy = "nonsense";
  EXPECT_THROW(SelectFrames(p.pool, options), UsageError);
  options.strategy = "multiview";
  options.budget = 0;
  EXPECT_THROW(SelectFrames(p.pool, options), UsageError);
}

TEST(PercentileRanks, TiesAndNaN) {
  const std::vector<double> r = PercentileRanks({3.f, 1.f, NAN, 3.f, 2.f});
  EXPECT_DOUBLE_EQ(r[1], 0.0);
  EXPECT_DOUBLE_EQ(r[4], 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(r[0], 2.5 / 3.0);
  EXPECT_DOUBLE_EQ(r[3], 2.5 / 3.0);
  EXPECT_TRUE(std::isnan(r[2]));
}

// ---- Selection file ----------------------------------------------------------------------------

TEST(SelectionFile, RoundTripAndBadFiles) {
  const std::string dir = test::ScratchDir("selection_file");
  Selection s;
  s.metadata = {{"strategy", "multiview"}, {"unit", "frames"}};
  s.component_names = {"fused", "residual"};
  s.rows.push_back({1, 40, {"cam_01", "cam_03"}, 0.9, {0.9, NAN}});
  s.rows.push_back({2, 7, {"cam_02"}, 0.5, {0.5, 0.25}});
  const std::string path = dir + "/sel.csv";
  WriteSelectionCsv(path, s);
  const Selection r = ReadSelectionCsv(path);
  EXPECT_EQ(r.metadata.at("strategy"), "multiview");
  EXPECT_EQ(r.component_names, s.component_names);
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_EQ(r.rows[0].frame, 40);
  EXPECT_EQ(r.rows[0].views, s.rows[0].views);
  EXPECT_TRUE(std::isnan(r.rows[0].components[1]));
  EXPECT_DOUBLE_EQ(r.rows[1].components[1], 0.25);
  EXPECT_EQ(r.NumViews(), 3);

  const auto bad = [&](const std::string& text, const std::vector<std::string>& fragments) {
    test::WriteText(dir + "/bad.csv", text);
    test::ExpectError<InputError>([&] { ReadSelectionCsv(dir + "/bad.csv"); }, fragments);
  };
  bad("frame,views\n1,2\n", {"bad.csv", "header"});
  bad("rank,frame,views,score\n1,x,cam,0.5\n", {"bad.csv:2", "frame 'x'"});
  bad("rank,frame,views,score\n1,-3,cam,0.5\n", {"bad.csv:2", "negative"});
  bad("rank,frame,views,score\n1,3,,0.5\n", {"bad.csv:2", "no views"});
  bad("rank,frame,views,score\n1,3,a,0.5\n2,3,b,0.4\n", {"bad.csv:3", "twice"});
  bad("rank,frame,views,score,fused\n1,3,a,0.5\n", {"bad.csv:2", "columns"});
  EXPECT_THROW(ReadSelectionCsv(dir + "/missing.csv"), IoError);
  // A row without views cannot be written; nothing is left behind.
  Selection empty_views = s;
  empty_views.rows[1].views.clear();
  EXPECT_THROW(WriteSelectionCsv(dir + "/never.csv", empty_views), std::invalid_argument);
  EXPECT_FALSE(std::filesystem::exists(dir + "/never.csv"));
}

}  // namespace
}  // namespace rigpose

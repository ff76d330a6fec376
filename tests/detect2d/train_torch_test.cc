// SPDX-License-Identifier: BSD-3-Clause
// Training of the native detector: the loss falls on a tiny overfit set, a resumed run equals an
// uninterrupted one, MC-dropout variance is larger off-distribution, bad input is named.
//
// Fixture: a 2-camera, 3-frame synthetic capture at 160x120 (6 person instances), crops of
// 64x64, SimpleBaseline-R18. Kept small: the whole file runs in well under a minute on 2 cores.
#include "detect2d/train.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <numeric>

#include <gtest/gtest.h>

#include "core/error.h"
#include "data/synth/capture.h"
#include "detect2d/detector.h"
#include "detect2d/model.h"
#include "tests/test_util.h"

namespace rigpose {
namespace {

namespace fs = std::filesystem;

using test::ExpectError;

// The capture, rendered once per process.
const std::string& CaptureJson() {
  static const std::string json = [] {
    synth::SynthOptions o;
    o.rig.num_cameras = 2;
    o.rig.resolution = "160x120";
    o.num_frames = 3;
    o.image_format = "png";
    o.chessboard = false;
    o.charuco = false;
    o.num_threads = 2;
    const std::string out = test::ScratchDir("train_capture") + "/cap";
    synth::WriteSynthCapture(o, out);
    return out + "/annotations/person_keypoints.json";
  }();
  return json;
}

TrainingInputSpec Spec64() {
  TrainingInputSpec spec;
  spec.input_width = 64;
  spec.input_height = 64;
  spec.heatmap_stride = 4;
  spec.sigma = 2.0;
  return spec;
}

std::string CreateModel(const std::string& path,
                        double dropout = 0,
                        bool aleatoric = false,
                        uint64_t seed = 5) {
  ModelInfo info;
  info.arch = "simplebaseline-r18";
  info.input_width = 64;
  info.input_height = 64;
  info.dropout = dropout;
  info.aleatoric = aleatoric;
  CreateNativeModel(path, info, seed);
  return path;
}

constexpr int kOverfitEpochs = 40;

TrainOptions TinyOptions() {
  TrainOptions o;
  o.num_threads = 1;  // deterministic
  o.batch_size = 3;
  o.loader_threads = 2;
  o.learning_rate = 1e-3;
  return o;
}

// The un-augmented crop of an instance as 8-bit RGB (what KeypointDetector takes).
std::vector<uint8_t> CropRgb(const KeypointTrainingSet& set, int index) {
  const TrainingInputSpec& s = set.spec();
  const int plane = s.input_width * s.input_height;
  std::vector<float> image(3 * plane),
      target(set.num_joints() * s.heatmap_width() * s.heatmap_height()), weight(set.num_joints());
  std::mt19937 rng(1);
  set.GetSample(index, false, rng, image.data(), target.data(), weight.data());
  std::vector<uint8_t> rgb(3 * plane);
  for (int p = 0; p < plane; ++p) {
    for (int c = 0; c < 3; ++c) {
      const double v = (image[c * plane + p] * s.std[c] + s.mean[c]) * 255.0;
      rgb[3 * p + c] = static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
    }
  }
  return rgb;
}

std::vector<float> Heatmaps(const std::string& model, const std::vector<uint8_t>& rgb) {
  DetectorOptions options;
  options.keep_heatmaps = true;
  options.num_threads = 1;
  auto detector = KeypointDetector::Load(model, options);
  const ImageU8 crop{rgb.data(), 64, 64, 64 * 3, false};
  return detector->Detect({crop})[0].heatmaps;
}

// The overfit run, shared by the loss and MC-dropout tests (trained once per process): dropout
// 0.3, one step of all six crops per epoch, mild augmentation, the training set as validation.
struct OverfitRun {
  std::string model;
  TrainSummary summary;
  std::vector<std::string> lines;
};
const OverfitRun& Overfit() {
  static const OverfitRun run = [] {
    OverfitRun r;
    const std::string dir = test::ScratchDir("train_overfit");
    const KeypointTrainingSet set(CaptureJson(), "", Spec64());
    const std::string init = CreateModel(dir + "/init.rpm", 0.3, false, 11);
    TrainOptions o = TinyOptions();
    o.num_threads = 2;
    o.batch_size = 6;  // one step per epoch
    o.epochs = kOverfitEpochs;
    o.learning_rate = 2e-3;
    o.augment.flip_probability = 0;  // memorise the six crops
    o.augment.rotation_probability = 0;
    o.augment.scale_range = 0.05;
    o.augment.shift_fraction = 0.02;
    o.augment.colour_jitter = 0;
    r.model = dir + "/out.rpm";
    r.summary = TrainDetector(
        init, set, &set, r.model, o, [&](const std::string& line) { r.lines.push_back(line); });
    return r;
  }();
  return run;
}

// On the overfit model (trained once per process: this runs inside the overfit test).
void CheckMcDropoutVarianceGrowsOffDistribution() {
  const std::string dir = test::ScratchDir("train_mc");
  const KeypointTrainingSet set(CaptureJson(), "", Spec64());
  DetectorOptions options;
  options.mc_dropout_passes = 16;
  options.num_threads = 2;
  auto detector = KeypointDetector::Load(Overfit().model, options);
  const auto mean_variance = [&](const std::vector<uint8_t>& rgb) {
    const ImageU8 crop{rgb.data(), 64, 64, 64 * 3, false};
    const CropDetection d = detector->Detect({crop})[0];
    return std::accumulate(d.variance.begin(), d.variance.end(), 0.0) / d.variance.size();
  };
  double in_distribution = 0;
  for (int i = 0; i < set.size(); ++i) in_distribution += mean_variance(CropRgb(set, i));
  in_distribution /= set.size();
  const double grey = mean_variance(std::vector<uint8_t>(64 * 64 * 3, 128));
  std::vector<uint8_t> noise(64 * 64 * 3);
  std::mt19937 rng(3);
  for (uint8_t& p : noise) p = static_cast<uint8_t>(rng() & 0xff);
  const double random = mean_variance(noise);
  std::printf("MC-dropout mean variance (crop px^2): training crops %.3f, grey %.3f, noise %.3f\n",
              in_distribution,
              grey,
              random);
  // A flat grey crop is far from anything seen: the peaks wander under dropout. (Noise is not
  // used for the check: an untrained-looking texture can draw a confident, stable response.)
  EXPECT_LT(in_distribution, grey);

  // Without dropout, eval is deterministic: two Detect calls give identical outputs.
  const std::string plain = CreateModel(dir + "/plain_init.rpm");
  TrainOptions o = TinyOptions();
  o.epochs = 1;
  o.max_steps = 1;
  TrainDetector(plain, set, nullptr, dir + "/plain.rpm", o);
  const std::vector<uint8_t> crop = CropRgb(set, 1);
  EXPECT_EQ(Heatmaps(dir + "/plain.rpm", crop), Heatmaps(dir + "/plain.rpm", crop));
}

// One test: the overfit run is the expensive part (~40 s), shared by both checks.
TEST(TrainDetector, LossFallsAndMcDropoutVarianceGrowsOffDistribution) {
  const OverfitRun& run = Overfit();
  const TrainSummary& summary = run.summary;
  ASSERT_EQ(summary.epochs.size(), size_t(kOverfitEpochs));
  EXPECT_EQ(summary.steps, kOverfitEpochs);
  EXPECT_EQ(run.lines.size(), size_t(kOverfitEpochs));
  const auto mean_loss = [&](int first, int count) {
    double sum = 0;
    for (int e = first; e < first + count; ++e) sum += summary.epochs[e].heatmap_loss;
    return sum / count;
  };
  const double early = mean_loss(0, 3), late = mean_loss(kOverfitEpochs - 3, 3);
  std::printf("overfit: heatmap loss %.5f -> %.5f, train PCK@0.05 %.3f -> %.3f, %.1f samples/s\n",
              early,
              late,
              summary.epochs.front().val_pck,
              summary.final_val_pck,
              summary.samples_per_second);
  EXPECT_LT(late, 0.25 * early);
  EXPECT_GT(summary.final_val_pck, summary.epochs.front().val_pck);
  EXPECT_GT(summary.samples_per_second, 0.0);
  // The written model: trained_epochs, sigma of the spec, loadable; EvaluatePck agrees with the
  // last in-training evaluation (same weights, same crops).
  const ModelInfo info = ReadModelInfo(run.model);
  EXPECT_EQ(info.trained_epochs, kOverfitEpochs);
  EXPECT_DOUBLE_EQ(info.sigma, 2.0);
  const KeypointTrainingSet set(CaptureJson(), "", Spec64());
  const PckResult pck = EvaluatePck(run.model, set);
  EXPECT_NEAR(pck.pck, summary.final_val_pck, 1e-9);
  EXPECT_GT(pck.joints, 0);
  EXPECT_EQ(pck.per_joint_pck.size(), 17u);
  EXPECT_GT(pck.mean_error_px, 0.0);
  // The flip test (mirrored crop, heatmaps mirrored back, left/right swapped): as good within a
  // few points on this flip-augmented model; a missing swap or mirror would put lateral joints'
  // double peaks between the two sides.
  const PckResult flipped = EvaluatePck(run.model, set, 0.05, "cpu", 0, 0, true);
  std::printf("[ train    ] PCK %.3f, with the flip test %.3f (mean error %.2f / %.2f px)\n",
              pck.pck,
              flipped.pck,
              pck.mean_error_px,
              flipped.mean_error_px);
  EXPECT_GT(flipped.pck, pck.pck - 0.05);
  EXPECT_LT(flipped.mean_error_px, pck.mean_error_px * 1.2);
  CheckMcDropoutVarianceGrowsOffDistribution();
}

TEST(TrainDetector, ResumedRunEqualsUninterruptedRun) {
  const std::string dir = test::ScratchDir("train_resume");
  const KeypointTrainingSet set(CaptureJson(), "", Spec64());
  // Dropout and the aleatoric head too: their randomness and loss must resume as well.
  const std::string model = CreateModel(dir + "/init.rpm", 0.2, true);
  TrainOptions o = TinyOptions();
  o.epochs = 2;
  o.lr_milestones_epochs = {1};
  o.lr_gamma = 0.5;
  o.checkpoint_path = dir + "/straight.ckpt";
  const TrainSummary straight = TrainDetector(model, set, nullptr, dir + "/straight.rpm", o);
  EXPECT_EQ(straight.steps, 4);
  EXPECT_FALSE(straight.resumed);

  o.epochs = 1;
  o.checkpoint_path = dir + "/split.ckpt";
  o.resume = true;  // no checkpoint yet: starts from the first epoch
  const TrainSummary first = TrainDetector(model, set, nullptr, dir + "/first.rpm", o);
  EXPECT_FALSE(first.resumed);
  ASSERT_TRUE(fs::exists(o.checkpoint_path));
  // The checkpoint is a model file too.
  EXPECT_EQ(ReadModelInfo(o.checkpoint_path).trained_epochs, 1);
  o.epochs = 2;
  const TrainSummary second = TrainDetector(model, set, nullptr, dir + "/second.rpm", o);
  EXPECT_TRUE(second.resumed);
  EXPECT_EQ(second.start_epoch, 1);
  EXPECT_EQ(second.steps, 2);
  ASSERT_EQ(second.epochs.size(), 1u);
  EXPECT_EQ(second.epochs[0].epoch, 1);
  EXPECT_DOUBLE_EQ(second.epochs[0].learning_rate, 0.5e-3);
  EXPECT_EQ(ReadModelInfo(dir + "/second.rpm").trained_epochs, 2);
  EXPECT_NEAR(second.epochs[0].loss, straight.epochs[1].loss, 1e-6);
  // Resuming a finished run trains nothing and writes the checkpoint's weights.
  const TrainSummary third = TrainDetector(model, set, nullptr, dir + "/third.rpm", o);
  EXPECT_TRUE(third.resumed);
  EXPECT_EQ(third.steps, 0);
  EXPECT_EQ(ReadModelInfo(dir + "/third.rpm").trained_epochs, 2);

  const std::vector<uint8_t> crop = CropRgb(set, 0);
  const std::vector<float> a = Heatmaps(dir + "/straight.rpm", crop);
  const std::vector<float> b = Heatmaps(dir + "/second.rpm", crop);
  const std::vector<float> init = Heatmaps(model, crop);
  ASSERT_EQ(a.size(), b.size());
  double max_diff = 0, max_change = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    max_diff = std::max(max_diff, double(std::abs(a[i] - b[i])));
    max_change = std::max(max_change, double(std::abs(a[i] - init[i])));
  }
  EXPECT_LE(max_diff, 1e-5);
  EXPECT_GT(max_change, 1e-3) << "training changed nothing";
  EXPECT_EQ(Heatmaps(dir + "/third.rpm", crop), b);
  // Leftovers of atomic writes: none.
  for (const auto& entry : fs::directory_iterator(dir)) {
    EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << entry.path();
  }
}

TEST(TrainDetector, BadArgs) {
  const std::string dir = test::ScratchDir("train_bad");
  const KeypointTrainingSet set(CaptureJson(), "", Spec64());
  const std::string model = CreateModel(dir + "/init.rpm");
  const std::string out = dir + "/out.rpm";
  const TrainOptions good = TinyOptions();

  // Options, one at a time.
  const auto bad_option = [&](const std::function<void(TrainOptions&)>& mutate,
                              const std::string& field) {
    TrainOptions o = good;
    mutate(o);
    EXPECT_FALSE(o.Check().empty()) << field;
    ExpectError<UsageError>([&] { TrainDetector(model, set, nullptr, out, o); }, {field});
  };
  bad_option([](TrainOptions& o) { o.epochs = 0; }, "epochs");
  bad_option([](TrainOptions& o) { o.batch_size = 0; }, "batch_size");
  bad_option([](TrainOptions& o) { o.learning_rate = -1; }, "learning_rate");
  bad_option([](TrainOptions& o) { o.lr_gamma = 0; }, "lr_gamma");
  bad_option([](TrainOptions& o) { o.device = "tpu"; }, "device");
  bad_option([](TrainOptions& o) { o.loader_threads = -1; }, "loader_threads");
  bad_option([](TrainOptions& o) { o.resume = true; }, "checkpoint_path");
  bad_option([](TrainOptions& o) { o.augment.flip_probability = 2; }, "flip_probability");
  bad_option([](TrainOptions& o) { o.max_steps = -1; }, "max_steps");
  EXPECT_TRUE(good.Check().empty());

  // Model files.
  ExpectError<IoError>([&] { TrainDetector(dir + "/absent.rpm", set, nullptr, out, good); },
                       {"absent.rpm"});
  test::WriteText(dir + "/text.rpm", "not a model");
  ExpectError<IoError>([&] { TrainDetector(dir + "/text.rpm", set, nullptr, out, good); },
                       {"text.rpm"});
  // Another joint set: both sides named.
  ModelInfo halpe;
  halpe.arch = "simplebaseline-r18";
  halpe.skeleton = "halpe26";
  halpe.num_joints = 26;
  halpe.input_width = halpe.input_height = 64;
  CreateNativeModel(dir + "/halpe.rpm", halpe, 1);
  ExpectError<InputError>([&] { TrainDetector(dir + "/halpe.rpm", set, nullptr, out, good); },
                          {"halpe.rpm", "26", "halpe26", "17 joints", "coco17"});
  // Another input size (the validation set this time).
  TrainingInputSpec tall = Spec64();
  tall.input_height = 96;
  const KeypointTrainingSet tall_set(CaptureJson(), "", tall);
  ExpectError<InputError>([&] { TrainDetector(model, set, &tall_set, out, good); },
                          {"validation set", "64x96", "64x64"});
  ExpectError<InputError>([&] { EvaluatePck(model, tall_set); }, {"64x96"});
  ExpectError<UsageError>([&] { EvaluatePck(model, set, 0.0); }, {"alpha"});
  // A missing output folder; a checkpoint that is a plain model file.
  ExpectError<IoError>([&] { TrainDetector(model, set, nullptr, dir + "/no/out.rpm", good); },
                       {"no/out.rpm"});
  TrainOptions resume = good;
  resume.resume = true;
  resume.checkpoint_path = model;
  ExpectError<IoError>([&] { TrainDetector(model, set, nullptr, out, resume); },
                       {"init.rpm", "checkpoint"});
  // A MoveNet model cannot be trained (when the shared data is present).
  const std::string tfjs = test::SharedDataPath("movenet_singlepose_lightning_tfjs");
  if (!tfjs.empty()) {
    ImportMoveNet(tfjs, dir + "/movenet.rpm");
    ExpectError<InputError>([&] { TrainDetector(dir + "/movenet.rpm", set, nullptr, out, good); },
                            {"movenet.rpm", "native"});
  }
  EXPECT_FALSE(fs::exists(out)) << "nothing written on failure";
}

}  // namespace
}  // namespace rigpose

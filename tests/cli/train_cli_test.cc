// SPDX-License-Identifier: BSD-3-Clause
// rigpose train through RunTrain: a few steps on a tiny synthetic capture give a loadable model
// with its bookkeeping; bad input is refused with a message naming it and nothing is written.
#include "cli/train.h"

#include <filesystem>
#include <functional>
#include <sstream>

#include <gtest/gtest.h>

#include "core/error.h"
#include "data/synth/capture.h"
#include "detect2d/model.h"
#include "tests/test_util.h"

namespace rigpose::cli {
namespace {

namespace fs = std::filesystem;

// 2 cameras x 4 frames at 160x120, PNG: rendered once per process.
const std::string& Capture() {
  static const std::string dir = [] {
    synth::SynthOptions o;
    o.rig.num_cameras = 2;
    o.rig.resolution = "160x120";
    o.num_frames = 4;
    o.image_format = "png";
    o.chessboard = false;
    o.charuco = false;
    o.num_threads = 2;
    const std::string out = test::ScratchDir("train_cli_capture") + "/cap";
    synth::WriteSynthCapture(o, out);
    return out;
  }();
  return dir;
}

TrainCliOptions TinyOptions(const std::string& out) {
  TrainCliOptions o;
  o.coco = Capture() + "/annotations/person_keypoints.json";
  o.out = out;
  o.input_size = "64x64";
  o.epochs = 1;
  o.batch_size = 2;
  o.max_steps = 3;
  o.threads = 2;
  return o;
}

template <typename E>
void ExpectError(const TrainCliOptions& options, const std::vector<std::string>& fragments) {
  std::ostringstream out;
  try {
    RunTrain(options, out);
    ADD_FAILURE() << "no exception";
  } catch (const E& e) {
    for (const std::string& fragment : fragments) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
          << "'" << fragment << "' not in: " << e.what();
    }
  }
}

TEST(TrainCli, Nominal) {
  const std::string dir = test::ScratchDir("train_cli");
  TrainCliOptions o = TinyOptions(dir + "/model.rpm");
  o.val_cameras = {"cam_02"};
  o.checkpoint = dir + "/model.ckpt";
  o.epochs = 2;  // 2 steps each: the step limit cuts the second epoch
  std::ostringstream out;
  const TrainCliSummary summary = RunTrain(o, out);
  EXPECT_EQ(summary.train.steps, 3);
  EXPECT_EQ(summary.train_instances, 4) << "cam_02 is held out of training";
  EXPECT_EQ(summary.val_instances, 4);
  EXPECT_EQ(summary.excluded_cameras, std::vector<std::string>{"cam_02"});
  ASSERT_EQ(summary.train.epochs.size(), 2u);
  EXPECT_EQ(summary.train.epochs[1].steps, 1);
  EXPECT_GE(summary.train.final_val_pck, 0.0);
  EXPECT_EQ(summary.info.trained_epochs, 2);
  EXPECT_EQ(summary.info.skeleton, "coco17");
  EXPECT_EQ(summary.info.input_width, 64);
  const ModelInfo info = ReadModelInfo(o.out);
  EXPECT_EQ(info.kind, "native");
  EXPECT_EQ(info.num_joints, 17);
  const std::string text = out.str();
  EXPECT_NE(text.find("epoch 1/2"), std::string::npos) << text;
  EXPECT_NE(text.find("epoch 2/2 (partial)"), std::string::npos) << text;
  EXPECT_NE(text.find("val PCK@0.05"), std::string::npos) << text;
  EXPECT_NE(text.find("wrote " + o.out), std::string::npos) << text;
  // The checkpoint holds the complete first epoch; the created initial model is gone.
  EXPECT_EQ(ReadModelInfo(o.checkpoint).trained_epochs, 1);
  EXPECT_EQ(test::CountEntries(dir), 2) << "model + checkpoint only";

  // Continue from the trained model for one more epoch.
  TrainCliOptions again = TinyOptions(dir + "/again.rpm");
  again.input_size.reset();
  again.model = o.out;
  again.train_cameras = {"cam_01"};
  again.quiet = true;
  std::ostringstream out2;
  const TrainCliSummary more = RunTrain(again, out2);
  EXPECT_EQ(more.train.steps, 2);
  EXPECT_EQ(more.info.trained_epochs, 3);
  EXPECT_EQ(out2.str().find("epoch 1/1"), std::string::npos) << "quiet: " << out2.str();
}

TEST(TrainCli, BadInputIsNamedAndNothingIsWritten) {
  const std::string dir = test::ScratchDir("train_cli_bad");
  const std::string out = dir + "/model.rpm";
  {
    TrainCliOptions o = TinyOptions(out);
    o.coco = dir + "/missing.json";
    ExpectError<IoError>(o, {"missing.json"});
  }
  {
    TrainCliOptions o = TinyOptions(out);
    o.model = dir + "/init.rpm";
    ExpectError<UsageError>(o, {"--input-size", "--model"});
  }
  {
    TrainCliOptions o = TinyOptions(out);
    o.val_cameras = {"cam_09"};
    ExpectError<InputError>(o, {"cam_09", "cam_01"});
  }
  {
    TrainCliOptions o = TinyOptions(out);
    o.exclude_cameras = {"nope"};
    ExpectError<InputError>(o, {"nope"});
  }
  {
    TrainCliOptions o = TinyOptions(out);
    o.skeleton = "halpe26";
    ExpectError<InputError>(o, {"17 keypoints", "halpe26", "26 joints"});
  }
  {
    TrainCliOptions o = TinyOptions(out);
    o.skeleton = "martian";
    ExpectError<UsageError>(o, {"martian"});
  }
  {
    TrainCliOptions o = TinyOptions(out);
    o.input_size = "64by64";
    ExpectError<UsageError>(o, {"--input-size", "64by64"});
  }
  {
    TrainCliOptions o = TinyOptions(out);
    o.resume = true;
    ExpectError<UsageError>(o, {"--resume", "--checkpoint"});
  }
  {
    TrainCliOptions o = TinyOptions(out);
    o.epochs = 0;
    ExpectError<UsageError>(o, {"epochs"});
  }
  {
    TrainCliOptions o = TinyOptions(out);
    o.arch = "resnet-9000";
    ExpectError<UsageError>(o, {"resnet-9000"});
  }
  {
    TrainCliOptions o = TinyOptions(dir + "/absent/model.rpm");
    ExpectError<IoError>(o, {"absent"});
  }
  EXPECT_EQ(test::CountEntries(dir), 0) << "nothing half-written";
}

}  // namespace
}  // namespace rigpose::cli

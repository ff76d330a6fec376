// SPDX-License-Identifier: BSD-3-Clause
// rigpose synth: exit codes, messages, nothing left behind on failure, the written capture usable
// by the other commands.
#include <array>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include <gtest/gtest.h>

#include "cli/cli.h"
#include "core/error.h"
#include "core/keypoints.h"
#include "data/calib_io.h"
#include "data/npy.h"
#include "tests/cli/rigpose_process.h"
#include "tests/test_util.h"

namespace rigpose::cli {
namespace {
namespace fs = std::filesystem;

using test::Outcome;
using test::Rigpose;

// Nothing named OUT or OUT.partial-* next to it.
void ExpectNothingLeft(const std::string& dir, const std::string& name) {
  for (const auto& entry : fs::directory_iterator(dir)) {
    EXPECT_NE(entry.path().filename().string().rfind(name, 0), 0u) << entry.path();
  }
}

TEST(SynthCli, NonsensicalOptionsExitTwoAndWriteNothing) {
  const std::string dir = test::ScratchDir("synth");
  struct Case {
    std::string args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{{"--cameras 0", "number of cameras 0"},
                                         {"--cameras 65", "number of cameras 65"},
                                         {"--frames -3", "frames -3"},
                                         {"--fps 0", "fps"},
                                         {"--subjects 0", "subjects 0"},
                                         {"--layout circle", "--layout 'circle'"},
                                         {"--motion walk,fly", "--motion 'fly'"},
                                         {"--format gif", "format 'gif'"},
                                         {"--skeleton h36m17", "h36m17"},
                                         {"--resolution 12x", "resolution '12x'"},
                                         {"--preset huge", "--preset 'huge'"},
                                         {"--calib sometimes", "--calib 'sometimes'"}}) {
    const Outcome o = Rigpose("synth --out " + dir + "/out --quiet " + c.args);
    EXPECT_EQ(o.exit_code, 2) << c.args << "\n" << o.output;
    EXPECT_NE(o.output.find(c.message), std::string::npos) << c.args << "\n" << o.output;
    ExpectNothingLeft(dir, "out");
  }
  EXPECT_EQ(Rigpose("synth --quiet").exit_code, 2);  // --out is required
}

TEST(SynthCli, RuntimeErrorsExitOneAndWriteNothing) {
  const std::string dir = test::ScratchDir("synth");
  test::WriteText(dir + "/file", "x");
  const Outcome unwritable = Rigpose("synth --out " + dir + "/file/out --format none --quiet");
  EXPECT_EQ(unwritable.exit_code, 1) << unwritable.output;
  EXPECT_NE(unwritable.output.find(dir + "/file"), std::string::npos) << unwritable.output;

  test::WriteText(dir + "/bad.bvh",
                  "HIERARCHY\nROOT Hips\n{\n OFFSET 0 0 0\n CHANNELS 1 Xposition\n");
  const Outcome bvh = Rigpose("synth --out " + dir + "/out --bvh " + dir + "/bad.bvh --quiet");
  EXPECT_EQ(bvh.exit_code, 1) << bvh.output;
  EXPECT_NE(bvh.output.find("bad.bvh"), std::string::npos) << bvh.output;
  const Outcome missing = Rigpose("synth --out " + dir + "/out --bvh " + dir + "/none.bvh --quiet");
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  EXPECT_NE(missing.output.find("none.bvh"), std::string::npos) << missing.output;
  ExpectNothingLeft(dir, "out");

  fs::create_directories(dir + "/full");
  test::WriteText(dir + "/full/mine.txt", "mine");
  const Outcome full = Rigpose("synth --out " + dir + "/full --format none --quiet");
  EXPECT_EQ(full.exit_code, 2) << full.output;
  EXPECT_NE(full.output.find("--force"), std::string::npos) << full.output;
  EXPECT_EQ(test::ReadText(dir + "/full/mine.txt"), "mine");
}

TEST(SynthCli, WritesACaptureTheOtherCommandsRead) {
  const std::string dir = test::ScratchDir("synth");
  const Outcome o = Rigpose("synth --out " + dir + "/cap --cameras 5 --layout dome --frames 8 " +
                            "--resolution 320x240 --format jpg --calib-frames 2 --subjects 2 " +
                            "--skeleton body25b --seed 4 --quiet");
  ASSERT_EQ(o.exit_code, 0) << o.output;
  EXPECT_NE(o.output.find("5 cameras (dome), 8 frames"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("visible"), std::string::npos);
  const Outcome info = Rigpose("calib info " + dir + "/cap/rig.toml");
  EXPECT_EQ(info.exit_code, 0) << info.output;
  EXPECT_NE(info.output.find("cam_05"), std::string::npos) << info.output;
  const Keypoints2D k = ReadKeypointsNpy(dir + "/cap/gt/subject_01/keypoints2d.npy");
  EXPECT_EQ(k.num_frames(), 8);
  EXPECT_EQ(k.num_cameras(), 5);
  EXPECT_EQ(k.num_joints(), 25);
  EXPECT_EQ(test::CountEntries(dir + "/cap/images/cam_03"), 8);
  // Re-running from the written options reproduces the ground truth byte for byte.
  const Outcome again = Rigpose("synth --config " + dir + "/cap/synth.yaml --out " + dir +
                                "/again --format none --quiet");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(test::ReadText(dir + "/cap/gt/subject_01/keypoints2d_f64.npy"),
            test::ReadText(dir + "/again/gt/subject_01/keypoints2d_f64.npy"));
  EXPECT_EQ(test::ReadText(dir + "/cap/rig.yaml"), test::ReadText(dir + "/again/rig.yaml"));
}

}  // namespace
}  // namespace rigpose::cli

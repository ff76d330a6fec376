// SPDX-License-Identifier: BSD-3-Clause
// The rigpose command line: Run<Command>() called directly, and the binary's exit codes
// (0 ok, 1 runtime/input error, 2 usage) with messages that name the file, and no output file
// left behind on failure.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include <gtest/gtest.h>

#include "cli/cli.h"
#include "core/error.h"
#include "data/calib_io.h"
#include "tests/test_util.h"

namespace rigpose::cli {
namespace {
namespace fs = std::filesystem;

struct ProcessResult {
  int exit_code = -1;
  std::string output;  // stdout + stderr
};

ProcessResult RunRigpose(const std::string& args) {
  const std::string command = std::string(RIGPOSE_BINARY_DIR) + "/cli/rigpose " + args + " 2>&1";
  ProcessResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer{};
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    result.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string Sample() { return std::string(RIGPOSE_SOURCE_DIR) + "/samples/demo_rig.yaml"; }

TEST(Cli, HelpAndVersion) {
  const ProcessResult help = RunRigpose("--help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("calib"), std::string::npos);
  const ProcessResult version = RunRigpose("version");
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_NE(version.output.find("rigpose 0."), std::string::npos) << version.output;
  std::ostringstream out;
  RunVersion(out);
  EXPECT_NE(out.str().find("detector backend"), std::string::npos);
}

TEST(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(RunRigpose("").exit_code, 2);
  EXPECT_EQ(RunRigpose("frobnicate").exit_code, 2);
  EXPECT_EQ(RunRigpose("calib convert onlyone.yaml").exit_code, 2);
  const std::string dir = test::ScratchDir("usage");
  const ProcessResult bad_format =
      RunRigpose("calib convert " + Sample() + " " + dir + "/x.toml --to-format colmap");
  EXPECT_EQ(bad_format.exit_code, 2);
  EXPECT_NE(bad_format.output.find("colmap"), std::string::npos) << bad_format.output;
  const ProcessResult unknown_ext = RunRigpose("calib convert " + Sample() + " " + dir + "/x.txt");
  EXPECT_EQ(unknown_ext.exit_code, 2);
  EXPECT_NE(unknown_ext.output.find("--to-format"), std::string::npos) << unknown_ext.output;
  EXPECT_EQ(test::CountEntries(dir), 0);
}

TEST(Cli, CalibInfoPrintsEveryCamera) {
  std::ostringstream out;
  std::ostringstream err;
  RunCalibInfo({Sample(), "auto", ""}, out, err);
  for (const char* name : {"cam_01", "cam_02", "cam_03", "cam_04"}) {
    EXPECT_NE(out.str().find(name), std::string::npos) << out.str();
  }
  EXPECT_NE(out.str().find("1920x1080"), std::string::npos);
  EXPECT_NE(out.str().find("largest camera separation: 7.000 m"), std::string::npos) << out.str();
  EXPECT_TRUE(err.str().empty()) << err.str();
}

TEST(Cli, ConvertRoundTripKeepsTheRig) {
  const std::string dir = test::ScratchDir("convert");
  std::ostringstream out;
  std::ostringstream err;
  CalibConvertOptions to_anipose;
  to_anipose.input = Sample();
  to_anipose.output = dir + "/rig.toml";  // .toml -> anipose
  to_anipose.out_units = "mm";
  RunCalibConvert(to_anipose, out, err);
  EXPECT_EQ(DetectCalibFormat(dir + "/rig.toml"), CalibFormat::kAnipose);
  const ProcessResult back = RunRigpose("calib convert " + dir + "/rig.toml " + dir + "/back.yaml");
  ASSERT_EQ(back.exit_code, 0) << back.output;
  const ProcessResult compare = RunRigpose("calib compare " + Sample() + " " + dir +
                                           "/back.yaml --max-center-difference 1e-9");
  EXPECT_EQ(compare.exit_code, 0) << compare.output;
  EXPECT_NE(compare.output.find("matched cameras: 4"), std::string::npos) << compare.output;
}

TEST(Cli, BadInputExitsOneNamingTheFileAndWritesNothing) {
  const std::string dir = test::ScratchDir("bad");
  const std::string bad = dir + "/bad.yaml";
  std::string text = test::ReadText(Sample());
  text.replace(text.find("width: 1280"), 11, "width: -5");
  test::WriteText(bad, text);
  const ProcessResult r = RunRigpose("calib convert " + bad + " " + dir + "/out.toml");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(bad), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("width"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir + "/out.toml"));
  EXPECT_EQ(test::CountEntries(dir), 1);  // only the input

  const ProcessResult missing = RunRigpose("calib info " + dir + "/absent.toml");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("absent.toml"), std::string::npos) << missing.output;

  // The direct call throws the typed error the binary maps to exit 1.
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_THROW(RunCalibInfo({bad, "auto", ""}, out, err), IoError);
  EXPECT_THROW(RunCalibInfo({Sample(), "auto", "furlongs"}, out, err), UsageError);
}

TEST(Cli, Pose2SimRefusalLeavesNoFile) {
  const std::string dir = test::ScratchDir("k3");
  // The sample has k3 = 0; make one camera use k3.
  std::string text = test::ReadText(Sample());
  const size_t params = text.find("params: [");
  const size_t end = text.find(']', params);
  const size_t last_comma = text.rfind(',', end);
  text.replace(last_comma, end - last_comma, ", 0.01");
  test::WriteText(dir + "/k3.yaml", text);
  const ProcessResult r =
      RunRigpose("calib convert " + dir + "/k3.yaml " + dir + "/p2s.toml --to-format pose2sim");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("k3"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir + "/p2s.toml"));
  const ProcessResult forced = RunRigpose("calib convert " + dir + "/k3.yaml " + dir +
                                          "/p2s.toml --to-format pose2sim --force");
  EXPECT_EQ(forced.exit_code, 0) << forced.output;
  EXPECT_NE(forced.output.find("warning"), std::string::npos) << forced.output;
}

TEST(Cli, ImplausibleUnitsWarn) {
  const std::string dir = test::ScratchDir("units");
  ASSERT_EQ(
      RunRigpose("calib convert " + Sample() + " " + dir + "/mm.toml --out-units mm").exit_code, 0);
  std::string text = test::ReadText(dir + "/mm.toml");
  test::WriteText(dir + "/plain.toml", text.substr(0, text.find("[metadata]")));
  const ProcessResult r = RunRigpose("calib info " + dir + "/plain.toml");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("--units mm"), std::string::npos) << r.output;
  const ProcessResult declared = RunRigpose("calib info " + dir + "/plain.toml --units mm");
  EXPECT_EQ(declared.output.find("warning"), std::string::npos) << declared.output;
  EXPECT_NE(declared.output.find("7.000 m"), std::string::npos) << declared.output;
}

}  // namespace
}  // namespace rigpose::cli

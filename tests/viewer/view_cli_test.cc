// SPDX-License-Identifier: BSD-3-Clause
// `rigpose view` through RunView (no process). Rendering cases skip without an X display: run
// under `xvfb-run -a -s "-screen 0 1920x1080x24"`.
#include <cstdlib>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "cli/view.h"
#include "core/error.h"
#include "core/skeleton.h"
#include "data/calib_io.h"
#include "data/npy.h"
#include "data/poses_io.h"
#include "tests/test_util.h"
#include "tests/viewer/viewer_fixtures.h"
#include "viewer/display.h"
#include "viewer/interactive.h"

namespace rigpose::cli {
namespace {

struct ViewFixture {
  std::string dir, rig, walk, other;
};

ViewFixture MakeFixture(const std::string& name) {
  ViewFixture f;
  f.dir = test::ScratchDir(name);
  f.rig = f.dir + "/rig.yaml";
  WriteRig(test::MakeViewerRig(), f.rig, CalibWriteOptions());
  f.walk = f.dir + "/walk.trc";
  WritePoses(f.walk, test::MakeStandingPerson(0, 0, 5));
  f.other = f.dir + "/other.json";
  WritePoses(f.other, test::MakeStandingPerson(1, 0.5, 3));
  return f;
}

TEST(ViewCli, Snapshot) {
  std::string why;
  if (!OpenDisplayInfo(&why)) GTEST_SKIP() << "no X display (" << why << "): run under xvfb-run";
  const ViewFixture f = MakeFixture("view_cli_snapshot");
  ViewOptions options;
  options.rig = f.rig;
  options.poses = {f.walk, f.other};
  options.frame = 2;
  for (const std::string view : {"camera:cam_b", "top", "front", "orbit"}) {
    options.view = view;
    options.view_given = true;
    options.snapshot = f.dir + "/" + view.substr(view.find(':') + 1) + ".png";
    std::ostringstream out;
    const ViewSummary summary = RunView(options, out);
    EXPECT_EQ(summary.num_cameras, 4);
    EXPECT_EQ(summary.num_persons, 2);
    EXPECT_EQ(summary.num_frames, 5);
    EXPECT_NE(out.str().find("wrote " + options.snapshot), std::string::npos) << out.str();
    EXPECT_NE(out.str().find("cam_a #1f77b4"), std::string::npos) << out.str();
    EXPECT_EQ(test::ReadText(options.snapshot).substr(1, 3), "PNG");
  }
}

// Joint colours from the covariance sidecar (as triangulate / reconstruct write it) or a values
// file; a wrong shape names the file.
TEST(ViewCli, JointValuesAndTrajectories) {
  std::string why;
  if (!OpenDisplayInfo(&why)) GTEST_SKIP() << "no X display (" << why << "): run under xvfb-run";
  const ViewFixture f = MakeFixture("view_cli_values");
  const int J = GetSkeleton("coco17").NumJoints();
  NpyArray cov;
  cov.dtype = "<f4";
  cov.shape = {5, J, 6};
  std::vector<float> values(static_cast<size_t>(5) * J * 6, 0.f);
  for (size_t i = 0; i < values.size(); i += 6) {
    values[i] = values[i + 3] = values[i + 5] = 1e-6f * static_cast<float>(1 + i / 6);
  }
  cov.bytes.assign(reinterpret_cast<const char*>(values.data()),
                   reinterpret_cast<const char*>(values.data()) + values.size() * 4);
  WriteNpy(f.dir + "/walk.cov.npy", cov);
  ViewOptions options;
  options.rig = f.rig;
  options.poses = {f.walk};
  options.frame = 4;
  options.trail_frames = 3;
  options.snapshot = f.dir + "/values.png";
  std::ostringstream out;
  RunView(options, out);
  EXPECT_NE(out.str().find("joints coloured by 3D standard deviation (mm)"), std::string::npos)
      << out.str();
  EXPECT_EQ(test::ReadText(options.snapshot).substr(1, 3), "PNG");
  // A values file of the wrong shape.
  cov.shape = {4, J, 6};
  cov.bytes.resize(static_cast<size_t>(4) * J * 6 * 4);
  WriteNpy(f.dir + "/short.npy", cov);
  options.joint_values = f.dir + "/short.npy";
  test::ExpectError<InputError>([&] { RunView(options, out); }, {"short.npy", "[4, 17, 6]"});
}

TEST(ViewCli, BadArgs) {
  const ViewFixture f = MakeFixture("view_cli_badargs");
  std::ostringstream out;
  ViewOptions good;
  good.rig = f.rig;
  good.poses = {f.walk};
  good.snapshot = f.dir + "/out.png";

  ViewOptions options = good;
  options.rig = f.dir + "/missing.yaml";
  test::ExpectError<Error>([&] { RunView(options, out); }, {"missing.yaml"});

  options = good;
  options.frame = 5;
  test::ExpectError<UsageError>([&] { RunView(options, out); }, {"--frame 5", "walk.trc", "0..4"});

  options = good;
  options.view = "side";
  test::ExpectError<UsageError>([&] { RunView(options, out); }, {"side"});

  options = good;
  options.view = "camera:cam_q";
  test::ExpectError<UsageError>([&] { RunView(options, out); }, {"cam_q", "rig.yaml", "cam_a"});

  options = good;
  options.snapshot.clear();
  options.view_given = true;
  test::ExpectError<UsageError>([&] { RunView(options, out); }, {"--view needs --snapshot"});

  // Joint count differs from the skeleton.
  options = good;
  options.skeleton = "body25b";
  test::ExpectError<Error>([&] { RunView(options, out); }, {"walk.trc", "17", "25"});

  // A rig without cameras.
  const std::string empty_rig = f.dir + "/empty.yaml";
  test::WriteText(empty_rig, "cameras: []\n");
  options = good;
  options.rig = empty_rig;
  test::ExpectError<Error>([&] { RunView(options, out); }, {"empty.yaml"});
}

TEST(ViewCli, NoDisplay) {
  const ViewFixture f = MakeFixture("view_cli_nodisplay");
  const char* display = std::getenv("DISPLAY");
  const std::string saved = display != nullptr ? display : "";
  ::unsetenv("DISPLAY");
  std::ostringstream out;
  ViewOptions options;
  options.rig = f.rig;
  options.poses = {f.walk};
  test::ExpectError<NoDisplayError>([&] { RunView(options, out); },
                                    {"interactive viewer", "xvfb-run"});
  options.snapshot = f.dir + "/out.png";
  test::ExpectError<NoDisplayError>([&] { RunView(options, out); }, {"snapshot", "xvfb-run"});
  EXPECT_EQ(test::CountEntries(f.dir), 3);  // rig, walk, other: no PNG
  if (display != nullptr) ::setenv("DISPLAY", saved.c_str(), 1);
}

TEST(ViewCli, InteractivePlaysUnderXvfb) {
  std::string why;
  if (!OpenDisplayInfo(&why)) GTEST_SKIP() << "no X display (" << why << "): run under xvfb-run";
  const ViewFixture f = MakeFixture("view_cli_interactive");
  PlaybackOptions playback;
  playback.frame_rate_hz = 100;
  playback.close_after_frames = 4;
  std::vector<PoseTrack> tracks(1);
  tracks[0].poses = ReadPoses(f.walk);
  tracks[0].skeleton = &GetSkeleton("coco17");
  tracks[0].source = f.walk;
  const PlaybackSummary summary = RunPlayback(test::MakeViewerRig(), tracks, playback);
  EXPECT_EQ(summary.frames_shown, 4);
  EXPECT_EQ(summary.last_frame, 3);
  // Bad input is refused before a window opens.
  tracks[0].skeleton = &GetSkeleton("body25b");
  test::ExpectError<InputError>([&] { RunPlayback(test::MakeViewerRig(), tracks, playback); },
                                {"walk.trc", "body25b"});
  tracks[0].skeleton = &GetSkeleton("coco17");
  playback.start_frame = 9;
  test::ExpectError<UsageError>([&] { RunPlayback(test::MakeViewerRig(), tracks, playback); },
                                {"start frame 9"});
}

}  // namespace
}  // namespace rigpose::cli

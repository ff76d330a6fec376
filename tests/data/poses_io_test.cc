// SPDX-License-Identifier: BSD-3-Clause
#include "data/poses_io.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/skeleton.h"
#include "tests/test_util.h"

namespace rigpose {
namespace {
namespace fs = std::filesystem;

constexpr char kPose3dDir[] =
    "pose2sim_demo/S00_P00_SingleParticipant/S00_P00_T01_BalancingTrial/pose-3d";

// Random poses (metres) with a few invalid joints, seeded.
Poses3D MakePoses(int num_frames, int num_joints, unsigned seed = 7) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> coord(-3.0, 3.0);
  Poses3D poses(num_frames, num_joints);
  for (int f = 0; f < num_frames; ++f) {
    for (int j = 0; j < num_joints; ++j) {
      if ((f * 7 + j) % 5 == 3) continue;  // invalid
      poses.Set(f, j, Eigen::Vector3d(coord(rng), coord(rng), coord(rng) / 7.0));
    }
  }
  poses.frame_rate_hz = 60;
  return poses;
}

void ExpectSamePoses(const Poses3D& a, const Poses3D& b, double relative_tolerance) {
  ASSERT_EQ(a.num_frames(), b.num_frames());
  ASSERT_EQ(a.num_joints(), b.num_joints());
  for (int f = 0; f < a.num_frames(); ++f) {
    for (int j = 0; j < a.num_joints(); ++j) {
      ASSERT_EQ(a.IsValid(f, j), b.IsValid(f, j)) << "frame " << f << " joint " << j;
      if (!a.IsValid(f, j)) continue;
      const Eigen::Vector3d pa = a.Position(f, j);
      const Eigen::Vector3d pb = b.Position(f, j);
      for (int k = 0; k < 3; ++k) {
        EXPECT_NEAR(pa[k], pb[k], relative_tolerance * std::max(1.0, std::abs(pa[k])))
            << "frame " << f << " joint " << j;
      }
    }
  }
}

template <typename E, typename Fn>
void ExpectError(Fn fn, const std::vector<std::string>& fragments) {
  try {
    fn();
    ADD_FAILURE() << "no exception";
  } catch (const E& e) {
    for (const std::string& fragment : fragments) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
          << "'" << fragment << "' not in: " << e.what();
    }
  }
}

std::string ReferenceTrc() {
  const std::string dir = test::SharedDataPath(kPose3dDir);
  if (dir.empty()) return "";
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > 10 && name.compare(name.size() - 10, 10, "_0-100.trc") == 0) {
      return entry.path().string();
    }
  }
  return "";
}

// A small valid TRC (2 markers, 2 frames) to mutate for bad-input tests.
std::string SmallTrc(const std::string& num_markers = "2") {
  return "PathFileType\t4\t(X/Y/Z)\ta.trc\n"
         "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\t"
         "OrigNumFrames\n"
         "50\t50\t2\t" +
         num_markers +
         "\tmm\t50\t0\t2\n"
         "Frame#\tTime\tA\t\t\tB\t\t\n"
         "\t\tX1\tY1\tZ1\tX2\tY2\tZ2\n"
         "1\t0.02\t1000\t2000\t3000\t4\t5\t6\n"
         "2\t0.04\t\t\t\tnan\tNaN\t7\n";
}

TEST(ReadTrc, SmallFileMillimetres) {
  const std::string dir = test::ScratchDir("trc");
  test::WriteText(dir + "/a.trc", SmallTrc());
  const Poses3D poses = ReadTrc(dir + "/a.trc");
  ASSERT_EQ(poses.num_frames(), 2);
  ASSERT_EQ(poses.num_joints(), 2);
  EXPECT_EQ(poses.joint_names, std::vector<std::string>({"A", "B"}));
  EXPECT_EQ(poses.frame_rate_hz, 50);
  EXPECT_TRUE(poses.Position(0, 0).isApprox(Eigen::Vector3d(1, 2, 3)));
  EXPECT_TRUE(poses.Position(0, 1).isApprox(Eigen::Vector3d(0.004, 0.005, 0.006)));
  EXPECT_FALSE(poses.IsValid(1, 0));  // empty fields
  EXPECT_FALSE(poses.IsValid(1, 1));  // NaN
}

TEST(WriteTrc, RoundTrip) {
  const std::string dir = test::ScratchDir("trc");
  Poses3D poses = MakePoses(12, 17);
  poses.skeleton = "coco17";
  WriteTrc(dir + "/p.trc", poses);
  const Poses3D back = ReadTrc(dir + "/p.trc");
  ExpectSamePoses(poses, back, 0.0);  // shortest round-trip text: exact
  EXPECT_EQ(back.frame_rate_hz, 60);
  EXPECT_EQ(back.joint_names, GetSkeleton("coco17").joint_names);
  EXPECT_EQ(back.skeleton, "coco17");  // recognised from the marker names

  PosesWriteOptions mm;
  mm.unit = LengthUnit::kMillimetre;
  mm.frame_rate_hz = 100;
  WriteTrc(dir + "/mm.trc", poses, mm);
  const Poses3D back_mm = ReadTrc(dir + "/mm.trc");
  ExpectSamePoses(poses, back_mm, 1e-15);
  EXPECT_EQ(back_mm.frame_rate_hz, 100);
}

TEST(WriteTrc, LayoutMatchesPose2Sim) {
  const std::string dir = test::ScratchDir("trc");
  Poses3D poses(2, 2);
  poses.joint_names = {"RHip", "LHip"};
  poses.Set(0, 0, Eigen::Vector3d(1, 2, 3));
  poses.Set(0, 1, Eigen::Vector3d(0.5, 0.25, -1));
  poses.Set(1, 0, Eigen::Vector3d(4, 5, 6));
  PosesWriteOptions options;
  options.frame_rate_hz = 60;
  WriteTrc(dir + "/x_0-2.trc", poses, options);
  EXPECT_EQ(test::ReadText(dir + "/x_0-2.trc"),
            "PathFileType\t4\t(X/Y/Z)\tx_0-2.trc\n"
            "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\t"
            "OrigNumFrames\n"
            "60\t60\t2\t2\tm\t60\t0\t2\n"
            "Frame#\tTime\tRHip\t\t\tLHip\t\t\n"
            "\t\tX1\tY1\tZ1\tX2\tY2\tZ2\n"
            "1\t0.016666666666666666\t1\t2\t3\t0.5\t0.25\t-1\n"
            "2\t0.03333333333333333\t4\t5\t6\t\t\t\n");
}

TEST(WriteTrc, YUpRoundTrip) {
  const std::string dir = test::ScratchDir("trc");
  Poses3D poses(1, 1);
  poses.Set(0, 0, Eigen::Vector3d(1, 2, 3));  // world, Z up
  PosesWriteOptions y_up;
  y_up.y_up = true;
  WriteTrc(dir + "/p.trc", poses, y_up);
  const Poses3D raw = ReadTrc(dir + "/p.trc");
  EXPECT_EQ(raw.Position(0, 0), Eigen::Vector3d(2, 3, 1));  // (Y_w, Z_w, X_w)
  PosesReadOptions read_y_up;
  read_y_up.y_up = true;
  EXPECT_EQ(ReadTrc(dir + "/p.trc", read_y_up).Position(0, 0), Eigen::Vector3d(1, 2, 3));

  const Poses3D many = MakePoses(5, 4);
  WriteTrc(dir + "/many.trc", many, y_up);
  ExpectSamePoses(many, ReadTrc(dir + "/many.trc", read_y_up), 0.0);
}

TEST(ReadTrc, Pose2SimReference) {
  const std::string path = ReferenceTrc();
  if (path.empty()) GTEST_SKIP() << "shared data not found: " << kPose3dDir;
  const Poses3D trc = ReadTrc(path);
  ASSERT_EQ(trc.num_frames(), 100);
  ASSERT_EQ(trc.num_joints(), 21);
  EXPECT_EQ(trc.frame_rate_hz, 60);
  const std::vector<std::string> markers = {
      "RHip",  "RKnee",     "RAnkle",  "RBigToe",   "RSmallToe", "RHeel",  "LHip",
      "LKnee", "LAnkle",    "LBigToe", "LSmallToe", "LHeel",     "Neck",   "Head",
      "Nose",  "RShoulder", "RElbow",  "RWrist",    "LShoulder", "LElbow", "LWrist"};
  EXPECT_EQ(trc.joint_names, markers);
  EXPECT_TRUE(trc.skeleton.empty());
  // First row of the file: RHip = -0.06497214796810755 0.9015045550714222 -1.4005886926185436.
  EXPECT_EQ(trc.Position(0, 0),
            Eigen::Vector3d(-0.06497214796810755, 0.9015045550714222, -1.4005886926185436));

  PosesReadOptions y_up;
  y_up.y_up = true;
  const Poses3D world = ReadTrc(path, y_up);
  EXPECT_EQ(world.Position(0, 0),
            Eigen::Vector3d(-1.4005886926185436, -0.06497214796810755, 0.9015045550714222));
  // World Z is up: the head is the highest marker in most frames (66/100; the raised right
  // wrist is higher in the others) and above every leg marker in all frames.
  const int head = 13;
  int head_highest = 0;
  for (int f = 0; f < world.num_frames(); ++f) {
    int highest = -1;
    for (int j = 0; j < world.num_joints(); ++j) {
      ASSERT_TRUE(world.IsValid(f, j));
      if (highest < 0 || world.Position(f, j).z() > world.Position(f, highest).z()) highest = j;
    }
    head_highest += highest == head ? 1 : 0;
    for (int leg = 0; leg < 12; ++leg) {
      EXPECT_GT(world.Position(f, head).z(), world.Position(f, leg).z() + 0.3) << "frame " << f;
    }
  }
  EXPECT_GT(head_highest, 50) << "head is the highest marker in " << head_highest << "/100 frames";

  // And it survives our writer (Y-up again) byte-for-byte in its values.
  const std::string dir = test::ScratchDir("trc");
  PosesWriteOptions write_y_up;
  write_y_up.y_up = true;
  WriteTrc(dir + "/again.trc", world, write_y_up);
  ExpectSamePoses(trc, ReadTrc(dir + "/again.trc"), 0.0);
}

TEST(ReadTrc, Truncated) {
  const std::string dir = test::ScratchDir("trc");
  const std::string full = SmallTrc();
  test::WriteText(dir + "/header.trc", full.substr(0, full.find("Frame#")));
  ExpectError<IoError>([&] { ReadTrc(dir + "/header.trc"); },
                       {dir + "/header.trc", "truncated TRC header"});
  test::WriteText(dir + "/rows.trc", full.substr(0, full.rfind("2\t0.04")));
  ExpectError<IoError>([&] { ReadTrc(dir + "/rows.trc"); },
                       {dir + "/rows.trc", "2 frames", "1 data rows"});
  test::WriteText(dir + "/cut.trc", full.substr(0, full.size() - 6));
  ExpectError<IoError>([&] { ReadTrc(dir + "/cut.trc"); }, {"cut.trc:7", "found 7"});
}

TEST(ReadTrc, NumMarkersDisagrees) {
  const std::string dir = test::ScratchDir("trc");
  test::WriteText(dir + "/a.trc", SmallTrc("3"));
  ExpectError<IoError>([&] { ReadTrc(dir + "/a.trc"); },
                       {dir + "/a.trc:4", "NumMarkers", "says 3", "names 2"});
}

TEST(ReadTrc, NonNumericCell) {
  const std::string dir = test::ScratchDir("trc");
  std::string text = SmallTrc();
  text.replace(text.find("\t5\t6"), 2, "\tx5");
  test::WriteText(dir + "/a.trc", text);
  ExpectError<IoError>([&] { ReadTrc(dir + "/a.trc"); },
                       {dir + "/a.trc:6", "column 7", "marker 'B' Y", "'x5'"});
}

TEST(ReadTrc, BadHeader) {
  const std::string dir = test::ScratchDir("trc");
  test::WriteText(dir + "/csv.trc", "frame,joint,x,y,z,valid\n");
  ExpectError<IoError>([&] { ReadTrc(dir + "/csv.trc"); }, {"PathFileType"});
  std::string text = SmallTrc();
  text.replace(text.find("\tmm\t"), 4, "\tft\t");
  test::WriteText(dir + "/unit.trc", text);
  ExpectError<IoError>([&] { ReadTrc(dir + "/unit.trc"); }, {"unit.trc:3", "Units", "'ft'"});
}

TEST(WritePosesCsv, RoundTrip) {
  const std::string dir = test::ScratchDir("csv");
  Poses3D poses = MakePoses(6, 25);
  poses.skeleton = "body25b";
  WritePosesCsv(dir + "/p.csv", poses);
  const std::string text = test::ReadText(dir + "/p.csv");
  EXPECT_EQ(text.substr(0, text.find('\n')), "frame,joint,x,y,z,valid");
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1 + 6 * 25);  // every joint written
  const Poses3D back = ReadPosesCsv(dir + "/p.csv");
  ExpectSamePoses(poses, back, 1e-12);
  EXPECT_EQ(back.skeleton, "body25b");
  PosesReadOptions options;
  options.skeleton = "body25b";
  ExpectSamePoses(poses, ReadPosesCsv(dir + "/p.csv", options), 1e-12);
}

TEST(ReadPosesCsv, ColumnsInAnyOrderWithExtras) {
  const std::string dir = test::ScratchDir("csv");
  test::WriteText(dir + "/p.csv",
                  "valid,z,y,x,joint,frame,note\r\n"
                  "1,3,2,1,nose,0,a\r\n"
                  "0,,,,eye,0,b\r\n"
                  "1,6,5,4,eye,2,c\r\n");
  const Poses3D poses = ReadPosesCsv(dir + "/p.csv");
  ASSERT_EQ(poses.num_frames(), 3);
  ASSERT_EQ(poses.num_joints(), 2);
  EXPECT_EQ(poses.joint_names, std::vector<std::string>({"nose", "eye"}));
  EXPECT_EQ(poses.Position(0, 0), Eigen::Vector3d(1, 2, 3));
  EXPECT_FALSE(poses.IsValid(0, 1));
  EXPECT_FALSE(poses.IsValid(1, 0));
  EXPECT_EQ(poses.Position(2, 1), Eigen::Vector3d(4, 5, 6));
}

TEST(ReadPosesCsv, MissingColumn) {
  const std::string dir = test::ScratchDir("csv");
  test::WriteText(dir + "/p.csv", "frame,joint,x,y,valid\n0,nose,1,2,1\n");
  ExpectError<IoError>([&] { ReadPosesCsv(dir + "/p.csv"); }, {dir + "/p.csv:1", "missing", "z"});
}

TEST(ReadPosesCsv, UnknownJointName) {
  const std::string dir = test::ScratchDir("csv");
  test::WriteText(dir + "/p.csv",
                  "frame,joint,x,y,z,valid\n0,nose,1,2,3,1\n0,neck,1,2,3,1\n1,nose,1,2,3,1\n"
                  "1,elbow,1,2,3,1\n");
  ExpectError<IoError>([&] { ReadPosesCsv(dir + "/p.csv"); },
                       {dir + "/p.csv:5", "unknown joint 'elbow'"});
  PosesReadOptions options;
  options.skeleton = "coco17";
  ExpectError<IoError>([&] { ReadPosesCsv(dir + "/p.csv", options); },
                       {dir + "/p.csv:3", "unknown joint 'neck'", "coco17"});
}

TEST(ReadPosesCsv, NonNumericCell) {
  const std::string dir = test::ScratchDir("csv");
  test::WriteText(dir + "/p.csv", "frame,joint,x,y,z,valid\n0,nose,1,two,3,1\n");
  ExpectError<IoError>([&] { ReadPosesCsv(dir + "/p.csv"); },
                       {dir + "/p.csv:2", "key 'y'", "'two'"});
  test::WriteText(dir + "/q.csv", "frame,joint,x,y,z,valid\n0,nose,1,2,3,1\n0,nose,1,2,3,1\n");
  ExpectError<IoError>([&] { ReadPosesCsv(dir + "/q.csv"); }, {"appears twice"});
}

TEST(PosesStreamWriter, ChunksGiveTheSameBytesInEveryFormat) {
  const std::string dir = test::ScratchDir("poses_stream");
  const std::string whole_dir = test::ScratchDir("poses_stream_whole");
  Poses3D poses = MakePoses(9, 4);
  poses.SetInvalid(3, 2);
  poses.joint_names = {"a", "b", "c", "d"};
  for (const std::string ext : {".trc", ".csv", ".json", ".npy"}) {
    WritePoses(whole_dir + "/p" + ext, poses);
    PosesStreamWriter writer(dir + "/p" + ext, 9, poses);
    for (int first = 0; first < 9; first += 4) {
      const int count = std::min(4, 9 - first);
      Poses3D chunk(count, 4);
      std::copy(poses.data() + poses.Offset(first, 0),
                poses.data() + poses.Offset(first, 0) + 16 * count,
                chunk.data());
      writer.Append(chunk);
    }
    EXPECT_FALSE(std::filesystem::exists(dir + "/p" + ext)) << "visible before Commit";
    writer.Commit();
    EXPECT_EQ(test::ReadText(dir + "/p" + ext), test::ReadText(whole_dir + "/p" + ext)) << ext;
    ExpectSamePoses(ReadPoses(dir + "/p" + ext), poses, 0.0);
  }
  // Too few frames, too many frames, a chunk with another joint count; nothing left behind.
  const std::string bad = test::ScratchDir("poses_stream_bad");
  {
    PosesStreamWriter writer(bad + "/p.trc", 3, poses);
    writer.Append(Poses3D(2, 4));
    EXPECT_THROW(writer.Append(Poses3D(2, 4)), std::invalid_argument);
    EXPECT_THROW(writer.Append(Poses3D(1, 5)), std::invalid_argument);
    EXPECT_THROW(writer.Commit(), std::invalid_argument);
  }
  EXPECT_EQ(test::CountEntries(bad), 0);
  EXPECT_THROW(PosesStreamWriter(bad + "/p.xyz", 3, poses), UsageError);
}

TEST(WritePosesJson, RoundTrip) {
  const std::string dir = test::ScratchDir("json");
  Poses3D poses = MakePoses(5, 3);
  poses.joint_names = {"a", "b", "c"};
  poses.frame_rate_hz = 29.97;
  WritePosesJson(dir + "/p.json", poses);
  const Poses3D back = ReadPosesJson(dir + "/p.json");
  ExpectSamePoses(poses, back, 1e-12);
  EXPECT_EQ(back.joint_names, poses.joint_names);
  EXPECT_EQ(back.frame_rate_hz, 29.97);
  EXPECT_TRUE(back.skeleton.empty());

  Poses3D with_skeleton = MakePoses(2, 17);
  with_skeleton.skeleton = "h36m17";
  WritePosesJson(dir + "/s.json", with_skeleton);
  const Poses3D s = ReadPosesJson(dir + "/s.json");
  EXPECT_EQ(s.skeleton, "h36m17");
  EXPECT_EQ(s.joint_names, GetSkeleton("h36m17").joint_names);
  ExpectSamePoses(with_skeleton, s, 1e-12);
}

TEST(ReadPosesJson, WrongType) {
  const std::string dir = test::ScratchDir("json");
  const std::string head =
      "{\"format\":\"rigpose-poses3d\",\"version\":1,\"unit\":\"m\",\"joint_names\":[\"a\"],";
  test::WriteText(dir + "/a.json", head + "\"frames\":[[[1,2,3]],[\"x\"]]}");
  ExpectError<IoError>([&] { ReadPosesJson(dir + "/a.json"); }, {dir + "/a.json", "frames[1][0]"});
  test::WriteText(dir + "/b.json", head + "\"frames\":{}}");
  ExpectError<IoError>([&] { ReadPosesJson(dir + "/b.json"); }, {dir + "/b.json", "frames"});
  test::WriteText(dir + "/c.json", head + "\"frames\":[[[1,\"2\",3]]]}");
  ExpectError<IoError>([&] { ReadPosesJson(dir + "/c.json"); },
                       {dir + "/c.json", "frames[0][0][1]", "a number"});
  test::WriteText(dir + "/d.json", "{\"format\":\"other\"}");
  ExpectError<IoError>([&] { ReadPosesJson(dir + "/d.json"); }, {dir + "/d.json", "format"});
  test::WriteText(dir + "/e.json", "[1, 2");
  ExpectError<IoError>([&] { ReadPosesJson(dir + "/e.json"); }, {dir + "/e.json", "malformed"});
}

TEST(ReadPosesJson, Millimetres) {
  const std::string dir = test::ScratchDir("json");
  test::WriteText(dir + "/a.json",
                  "{\"format\":\"rigpose-poses3d\",\"version\":1,\"unit\":\"mm\",\"joint_names\":"
                  "[\"a\",\"b\"],\"frames\":[[[1000,2000,3000],null]]}");
  const Poses3D poses = ReadPosesJson(dir + "/a.json");
  EXPECT_TRUE(poses.Position(0, 0).isApprox(Eigen::Vector3d(1, 2, 3)));
  EXPECT_FALSE(poses.IsValid(0, 1));
}

TEST(WritePoses, AllFormatsRoundTrip) {
  const std::string dir = test::ScratchDir("all");
  Poses3D poses = MakePoses(4, 17);
  poses.skeleton = "coco17";
  for (const std::string ext : {".trc", ".csv", ".json", ".npy", ".TRC"}) {
    const std::string path = dir + "/p" + ext;
    WritePoses(path, poses);
    const Poses3D back = ReadPoses(path);
    ExpectSamePoses(poses, back, 1e-12);
  }
  PosesReadOptions options;
  options.skeleton = "coco17";
  EXPECT_EQ(ReadPoses(dir + "/p.npy", options).skeleton, "coco17");
  options.skeleton = "body25b";
  EXPECT_THROW(ReadPoses(dir + "/p.npy", options), IoError);
}

TEST(WritePoses, UnknownExtension) {
  const std::string dir = test::ScratchDir("all");
  const Poses3D poses = MakePoses(1, 2);
  ExpectError<UsageError>([&] { WritePoses(dir + "/p.xyz", poses); },
                          {"'.xyz'", ".trc", ".csv", ".json", ".npy"});
  ExpectError<UsageError>([&] { ReadPoses(dir + "/noext"); }, {"(none)"});
  EXPECT_EQ(test::CountEntries(dir), 0);
}

TEST(WritePoses, MissingDirectoryLeavesNothing) {
  const std::string dir = test::ScratchDir("all");
  const Poses3D poses = MakePoses(2, 3);
  for (const std::string ext : {".trc", ".csv", ".json", ".npy"}) {
    EXPECT_THROW(WritePoses(dir + "/missing/p" + ext, poses), IoError) << ext;
  }
  EXPECT_EQ(test::CountEntries(dir), 0);
}

TEST(WritePoses, BadArgs) {
  const std::string dir = test::ScratchDir("all");
  Poses3D poses = MakePoses(2, 3);
  poses.joint_names = {"a", "b"};  // 3 joints
  EXPECT_THROW(WritePoses(dir + "/p.trc", poses), std::invalid_argument);
  poses.joint_names = {"a", "b,c", "d"};
  EXPECT_THROW(WritePoses(dir + "/p.csv", poses), std::invalid_argument);
  poses.joint_names.clear();
  poses.skeleton = "coco17";  // 17 joints
  EXPECT_THROW(WritePoses(dir + "/p.json", poses), std::invalid_argument);
  poses.skeleton.clear();
  PosesWriteOptions options;
  options.frame_rate_hz = -1;
  EXPECT_THROW(WritePoses(dir + "/p.trc", poses, options), std::invalid_argument);
  EXPECT_EQ(test::CountEntries(dir), 0);
}

}  // namespace
}  // namespace rigpose

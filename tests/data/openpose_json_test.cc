// SPDX-License-Identifier: BSD-3-Clause
#include "data/openpose_json.h"

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/rig.h"
#include "tests/test_util.h"

namespace rigpose {
namespace {
namespace fs = std::filesystem;

constexpr char kAssociated[] =
    "pose2sim_demo/S00_P00_SingleParticipant/S00_P00_T01_BalancingTrial/pose-associated";
constexpr char kRawPose[] =
    "pose2sim_demo/S00_P00_SingleParticipant/S00_P00_T01_BalancingTrial/pose";

// One person's pose_keypoints_2d for `num_joints` joints: joint j at (10 j + base, 20 j + base)
// with confidence `c`.
std::string Person(int num_joints, double base, double c) {
  std::string out = "{\"person_id\":[-1],\"pose_keypoints_2d\":[";
  for (int j = 0; j < num_joints; ++j) {
    if (j > 0) out += ",";
    out += std::to_string(10 * j + base) + "," + std::to_string(20 * j + base) + "," +
           std::to_string(c);
  }
  return out + "]}";
}

std::string Frame(const std::vector<std::string>& people) {
  std::string out = "{\"version\":1.3,\"people\":[";
  for (size_t i = 0; i < people.size(); ++i) out += (i > 0 ? "," : "") + people[i];
  return out + "]}";
}

// A tree of 2 cameras, 3 frames, 17 joints (coco17 by inference).
std::string MakeTree(const std::string& name) {
  const std::string root = test::ScratchDir(name);
  for (const std::string cam : {"cam01", "cam02"}) {
    fs::create_directory(root + "/" + cam + "_json");
    for (int f = 0; f < 3; ++f) {
      test::WriteText(root + "/" + cam + "_json/" + cam + ".000" + std::to_string(f) + ".json",
                      Frame({Person(17, f + (cam == "cam02" ? 0.5 : 0.0), 0.8)}));
    }
  }
  return root;
}

Rig MakeRig(const std::vector<std::string>& names) {
  Rig rig;
  for (const std::string& name : names) {
    Camera camera;
    camera.name = name;
    rig.cameras.push_back(camera);
  }
  return rig;
}

// Expects `fn` to throw E with a message containing every fragment.
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

OpenPoseReadOptions Body25b() {
  OpenPoseReadOptions options;
  options.skeleton = "body25b";
  return options;
}

TEST(ReadOpenPoseTree, Pose2SimAssociated) {
  RIGPOSE_SKIP_IF_NO_DATA(root, kAssociated);
  OpenPoseReadReport report;
  const Keypoints2D k = ReadOpenPoseTree(root, nullptr, Body25b(), &report);
  ASSERT_EQ(k.num_frames(), 100);
  ASSERT_EQ(k.num_cameras(), 4);
  ASSERT_EQ(k.num_joints(), 25);
  EXPECT_EQ(k.skeleton, "body25b");
  EXPECT_EQ(k.camera_names, std::vector<std::string>({"cam01", "cam02", "cam03", "cam04"}));
  EXPECT_EQ(report.skeleton, "body25b");
  EXPECT_EQ(report.person_rule, "highest total confidence");
  ASSERT_EQ(report.cameras.size(), 4u);
  EXPECT_EQ(report.cameras[2].frames_without_people, 1);  // cam03.0052.json: {"people": [{}]}
  for (int j = 0; j < 25; ++j) EXPECT_FALSE(k.IsPresent(52, 2, j));
  for (const OpenPoseCameraReport& camera : report.cameras) {
    EXPECT_EQ(camera.num_files, 100);
    EXPECT_EQ(camera.num_frames, 100);
    EXPECT_EQ(camera.frames_with_several_people, 0);
    EXPECT_EQ(camera.invalid_confidences, 0);
  }
  // Values read from cam01.0000.json and cam03.0042.json.
  EXPECT_FLOAT_EQ(k.x(0, 0, 0), 505.232f);
  EXPECT_FLOAT_EQ(k.y(0, 0, 0), 431.63f);
  EXPECT_FLOAT_EQ(k.score(0, 0, 0), 0.664216f);
  EXPECT_FLOAT_EQ(k.x(42, 2, 0), 310.733f);
  EXPECT_FLOAT_EQ(k.y(42, 2, 0), 694.438f);
  EXPECT_FLOAT_EQ(k.score(42, 2, 0), 0.128431f);
  EXPECT_FLOAT_EQ(k.x(42, 2, 18), 268.584f);  // head top
  EXPECT_FLOAT_EQ(k.y(42, 2, 18), 589.369f);
  EXPECT_FLOAT_EQ(k.x(42, 2, 24), 715.422f);  // right heel
  EXPECT_FLOAT_EQ(k.score(42, 2, 24), 0.359991f);
}

TEST(ReadOpenPoseTree, RigOrderAndNames) {
  RIGPOSE_SKIP_IF_NO_DATA(root, kAssociated);
  const Rig rig = MakeRig({"cam_03", "cam_01", "cam_04", "cam_02"});
  OpenPoseReadReport report;
  const Keypoints2D k = ReadOpenPoseTree(root, &rig, Body25b(), &report);
  ASSERT_EQ(k.num_cameras(), 4);
  EXPECT_EQ(k.camera_names, rig.CameraNames());
  EXPECT_EQ(report.cameras[0].camera, "cam_03");
  EXPECT_NE(report.cameras[0].folder.find("cam03_json"), std::string::npos);
  EXPECT_FLOAT_EQ(k.x(42, 0, 0), 310.733f);  // cam03 is first in the rig
  EXPECT_FLOAT_EQ(k.x(0, 1, 0), 505.232f);
}

TEST(ReadOpenPoseTree, Pose2SimAmbiguousSkeleton) {
  RIGPOSE_SKIP_IF_NO_DATA(root, kAssociated);
  ExpectError<InputError>([&] { ReadOpenPoseTree(root, nullptr, {}, nullptr); },
                          {"25 keypoints", "body25", "body25b"});
}

TEST(ReadOpenPoseTree, Pose2SimRawPersonRules) {
  RIGPOSE_SKIP_IF_NO_DATA(root, kRawPose);
  OpenPoseReadReport report;
  const Keypoints2D best = ReadOpenPoseTree(root, nullptr, Body25b(), &report);
  ASSERT_EQ(best.num_frames(), 100);
  ASSERT_EQ(best.num_cameras(), 4);
  EXPECT_EQ(report.cameras[0].frames_with_several_people, 100);
  EXPECT_EQ(report.cameras[1].frames_with_several_people, 100);
  EXPECT_EQ(report.cameras[2].frames_with_several_people, 0);
  // cam01.0037.json: confidence sums 7.57, 9.23, 9.77 -> person 2.
  EXPECT_FLOAT_EQ(best.x(37, 0, 0), 79.3273f);
  EXPECT_FLOAT_EQ(best.y(37, 0, 0), 331.803f);
  EXPECT_FLOAT_EQ(best.score(37, 0, 0), 0.468977f);

  OpenPoseReadOptions first = Body25b();
  first.person = OpenPoseReadOptions::Person::kIndex;
  first.person_index = 0;
  const Keypoints2D index0 = ReadOpenPoseTree(root, nullptr, first, &report);
  EXPECT_EQ(report.person_rule, "index 0");
  EXPECT_FLOAT_EQ(index0.x(37, 0, 0), 726.064f);
  EXPECT_FLOAT_EQ(index0.y(37, 0, 0), 573.597f);
  EXPECT_FLOAT_EQ(index0.score(37, 0, 0), 0.701485f);

  OpenPoseReadOptions third = Body25b();
  third.person = OpenPoseReadOptions::Person::kIndex;
  third.person_index = 2;
  const Keypoints2D index2 = ReadOpenPoseTree(root, nullptr, third, &report);
  EXPECT_FLOAT_EQ(index2.x(37, 0, 0), 79.3273f);
  // cam02 has at most 2 people and cam03 one: every frame misses person 2.
  EXPECT_EQ(report.cameras[1].frames_without_selected_person, 100);
  EXPECT_EQ(report.cameras[2].frames_without_selected_person, 100);
  for (int j = 0; j < 25; ++j) EXPECT_FALSE(index2.IsPresent(10, 2, j));
}

TEST(ReadOpenPoseFolder, Nominal) {
  const std::string root = MakeTree("tree");
  OpenPoseCameraReport report;
  const Keypoints2D k = ReadOpenPoseFolder(root + "/cam02_json/", {}, &report);
  ASSERT_EQ(k.num_frames(), 3);
  ASSERT_EQ(k.num_cameras(), 1);
  ASSERT_EQ(k.num_joints(), 17);
  EXPECT_EQ(k.skeleton, "coco17");
  EXPECT_EQ(k.camera_names, std::vector<std::string>({"cam02"}));
  EXPECT_EQ(report.camera, "cam02");
  EXPECT_EQ(report.num_files, 3);
  EXPECT_FLOAT_EQ(k.x(2, 0, 3), 32.5f);
  EXPECT_FLOAT_EQ(k.y(2, 0, 3), 62.5f);
  EXPECT_FLOAT_EQ(k.score(2, 0, 3), 0.8f);
}

TEST(ReadOpenPoseFolder, OpenPoseNamesAndGaps) {
  const std::string dir = test::ScratchDir("op");
  // OpenPose's own naming; frames 0, 2 and 12 exist (the video name has digits too).
  for (int f : {0, 2, 12}) {
    char name[64];
    std::snprintf(name, sizeof(name), "/video2_%012d_keypoints.json", f);
    test::WriteText(dir + name, Frame({Person(17, f, 0.5)}));
  }
  test::WriteText(dir + "/notes.txt", "not json");
  OpenPoseCameraReport report;
  const Keypoints2D k = ReadOpenPoseFolder(dir, {}, &report);
  ASSERT_EQ(k.num_frames(), 13);
  EXPECT_EQ(report.num_files, 3);
  EXPECT_EQ(report.num_frames, 13);
  EXPECT_TRUE(k.IsPresent(12, 0, 0));
  EXPECT_FLOAT_EQ(k.x(12, 0, 1), 22.f);
  EXPECT_FALSE(k.IsPresent(1, 0, 0));
  EXPECT_FALSE(k.IsPresent(11, 0, 5));
}

TEST(ReadOpenPoseTree, UnevenCameras) {
  const std::string root = MakeTree("tree");
  test::WriteText(root + "/cam02_json/cam02.0005.json", Frame({Person(17, 1, 0.9)}));
  OpenPoseReadReport report;
  const Keypoints2D k = ReadOpenPoseTree(root, nullptr, {}, &report);
  ASSERT_EQ(k.num_frames(), 6);
  EXPECT_EQ(report.cameras[0].num_frames, 3);
  EXPECT_EQ(report.cameras[1].num_frames, 6);
  EXPECT_EQ(report.cameras[1].num_files, 4);
  EXPECT_FALSE(k.IsPresent(5, 0, 0));
  EXPECT_TRUE(k.IsPresent(5, 1, 0));
}

TEST(ReadOpenPoseTree, FrameRangeReadsChunks) {
  const std::string root = MakeTree("tree");
  test::WriteText(root + "/cam02_json/cam02.0005.json", Frame({Person(17, 1, 0.9)}));
  const Keypoints2D all = ReadOpenPoseTree(root, nullptr, {}, nullptr);
  OpenPoseReadOptions options;
  options.skeleton = "coco17";
  for (int first : {0, 2, 4}) {
    options.first_frame = first;
    options.max_frames = 2;
    OpenPoseReadReport report;
    const Keypoints2D chunk = ReadOpenPoseTree(root, nullptr, options, &report);
    ASSERT_EQ(chunk.num_frames(), 2) << first;
    EXPECT_EQ(report.cameras[1].num_frames, 6);  // whole folder
    EXPECT_EQ(report.cameras[1].num_files, 4);
    for (int f = 0; f < 2; ++f) {
      for (int c = 0; c < 2; ++c) {
        for (int j = 0; j < 17; ++j) {
          ASSERT_EQ(chunk.x(f, c, j), all.x(first + f, c, j));
          ASSERT_EQ(chunk.score(f, c, j), all.score(first + f, c, j));
        }
      }
    }
  }
  options.first_frame = 5;
  options.max_frames = 10;  // clipped to the end
  EXPECT_EQ(ReadOpenPoseTree(root, nullptr, options, nullptr).num_frames(), 1);
  options.first_frame = 9;
  EXPECT_EQ(ReadOpenPoseTree(root, nullptr, options, nullptr).num_frames(), 0);
  options.first_frame = -1;
  EXPECT_THROW(ReadOpenPoseTree(root, nullptr, options, nullptr), UsageError);
}

TEST(ReadOpenPoseTree, FolderWithoutSuffix) {
  const std::string root = MakeTree("tree");
  fs::create_directory(root + "/cam03");
  test::WriteText(root + "/cam03/cam03.0000.json", Frame({Person(17, 0, 0.5)}));
  fs::create_directory(root + "/videos");  // no .json: ignored
  test::WriteText(root + "/videos/readme.txt", "x");
  const Keypoints2D k = ReadOpenPoseTree(root, nullptr, {}, nullptr);
  EXPECT_EQ(k.camera_names, std::vector<std::string>({"cam01", "cam02", "cam03"}));
}

TEST(ReadOpenPoseTree, FolderMatchesNoRigCamera) {
  const std::string root = MakeTree("tree");
  const Rig rig = MakeRig({"cam_01", "cam_07"});
  ExpectError<InputError>([&] { ReadOpenPoseTree(root, &rig, {}, nullptr); },
                          {"cam02_json", "cam_01, cam_07"});
}

TEST(ReadOpenPoseTree, RigCameraWithoutFolder) {
  const std::string root = MakeTree("tree");
  const Rig rig = MakeRig({"cam_01", "cam_02", "cam_03"});
  ExpectError<InputError>([&] { ReadOpenPoseTree(root, &rig, {}, nullptr); }, {"'cam_03'"});
}

TEST(ReadOpenPoseTree, NoCameraFolder) {
  const std::string root = test::ScratchDir("empty");
  ExpectError<IoError>([&] { ReadOpenPoseTree(root, nullptr, {}, nullptr); },
                       {root, "no camera folder"});
}

TEST(ReadOpenPoseTree, MalformedJson) {
  const std::string root = MakeTree("tree");
  const std::string bad = root + "/cam02_json/cam02.0001.json";
  test::WriteText(bad, "{\"version\":1.3,\"people\":[{\"pose_keypoints_2d\":[1,2,");
  ExpectError<IoError>([&] { ReadOpenPoseTree(root, nullptr, {}, nullptr); },
                       {bad, "malformed JSON"});
}

TEST(ReadOpenPoseTree, CountNotMultipleOfThree) {
  const std::string root = MakeTree("tree");
  const std::string bad = root + "/cam01_json/cam01.0002.json";
  test::WriteText(bad,
                  "{\"people\":[" + Person(17, 0, 0.5) + ",{\"pose_keypoints_2d\":[1,2,0.5,4]}]}");
  ExpectError<IoError>([&] { ReadOpenPoseTree(root, nullptr, {}, nullptr); },
                       {bad, "people[1]", "4 values", "multiple of 3"});
}

TEST(ReadOpenPoseTree, CountDisagreesWithSkeleton) {
  const std::string root = MakeTree("tree");
  const std::string bad = root + "/cam02_json/cam02.0002.json";
  test::WriteText(bad, Frame({Person(17, 0, 0.5), Person(25, 0, 0.5)}));
  ExpectError<IoError>([&] { ReadOpenPoseTree(root, nullptr, {}, nullptr); },
                       {bad, "people[1]", "75 values", "51", "coco17"});
  OpenPoseReadOptions options;
  options.skeleton = "body25b";
  ExpectError<IoError>([&] { ReadOpenPoseTree(root, nullptr, options, nullptr); },
                       {"people[0]", "51 values", "75"});
}

TEST(ReadOpenPoseFolder, InvalidConfidence) {
  const std::string dir = test::ScratchDir("cam01_json");
  std::string person = Person(17, 0, 0.5);
  // Joint 0: negative confidence; joint 1: NaN confidence (as Python's json writes it).
  person.replace(person.find("0.000000,0.000000,0.500000"), 26, "5,6,-0.2");
  person.replace(person.find("10.000000,20.000000,0.500000"), 28, "7,8,NaN");
  test::WriteText(dir + "/cam01.0000.json", Frame({person}));
  OpenPoseCameraReport report;
  const Keypoints2D k = ReadOpenPoseFolder(dir, {}, &report);
  EXPECT_EQ(report.invalid_confidences, 2);
  EXPECT_FALSE(k.IsPresent(0, 0, 0));
  EXPECT_EQ(k.x(0, 0, 0), 0.f);
  EXPECT_FALSE(k.IsPresent(0, 0, 1));
  EXPECT_TRUE(k.IsPresent(0, 0, 2));
}

TEST(ReadOpenPoseFolder, EmptyPeople) {
  const std::string dir = test::ScratchDir("cam01_json");
  test::WriteText(dir + "/cam01.0000.json", Frame({}));
  test::WriteText(dir + "/cam01.0001.json", Frame({Person(17, 0, 0.5)}));
  OpenPoseCameraReport report;
  const Keypoints2D k = ReadOpenPoseFolder(dir, {}, &report);
  ASSERT_EQ(k.num_frames(), 2);
  EXPECT_EQ(report.frames_without_people, 1);
  for (int j = 0; j < 17; ++j) EXPECT_FALSE(k.IsPresent(0, 0, j));
  EXPECT_TRUE(k.IsPresent(1, 0, 3));
}

TEST(ReadOpenPoseFolder, EmptyPersonObject) {
  // Pose2Sim's association writes {"people": [{}]} when it kept nobody.
  const std::string dir = test::ScratchDir("cam01_json");
  test::WriteText(dir + "/cam01.0000.json", "{\"version\":1.3,\"people\":[{}]}");
  test::WriteText(dir + "/cam01.0001.json", Frame({"{}", Person(17, 0, 0.5)}));
  OpenPoseCameraReport report;
  const Keypoints2D k = ReadOpenPoseFolder(dir, {}, &report);
  ASSERT_EQ(k.num_frames(), 2);
  EXPECT_EQ(report.frames_without_people, 1);
  EXPECT_EQ(report.frames_with_several_people, 0);
  EXPECT_FALSE(k.IsPresent(0, 0, 3));
  EXPECT_TRUE(k.IsPresent(1, 0, 3));
  OpenPoseReadOptions first;
  first.person = OpenPoseReadOptions::Person::kIndex;
  const Keypoints2D k0 = ReadOpenPoseFolder(dir, first, &report);
  EXPECT_FALSE(k0.IsPresent(1, 0, 3));
  EXPECT_EQ(report.frames_without_selected_person, 1);
}

TEST(ReadOpenPoseFolder, NoPeopleAnywhere) {
  const std::string dir = test::ScratchDir("cam01_json");
  test::WriteText(dir + "/cam01.0000.json", Frame({}));
  ExpectError<InputError>([&] { ReadOpenPoseFolder(dir, {}, nullptr); }, {"cannot infer"});
  OpenPoseCameraReport report;
  const Keypoints2D k = ReadOpenPoseFolder(dir, Body25b(), &report);
  EXPECT_EQ(k.num_frames(), 1);
  EXPECT_EQ(k.num_joints(), 25);
}

TEST(ReadOpenPoseFolder, MissingPeopleKey) {
  const std::string dir = test::ScratchDir("cam01_json");
  test::WriteText(dir + "/cam01.0000.json", "{\"version\":1.3}");
  ExpectError<IoError>([&] { ReadOpenPoseFolder(dir, {}, nullptr); },
                       {dir + "/cam01.0000.json", "people"});
}

TEST(ReadOpenPoseFolder, NonNumericValue) {
  const std::string dir = test::ScratchDir("cam01_json");
  test::WriteText(dir + "/cam01.0000.json", "{\"people\":[{\"pose_keypoints_2d\":[1,\"x\",0.5]}]}");
  ExpectError<IoError>([&] { ReadOpenPoseFolder(dir, {}, nullptr); },
                       {"cam01.0000.json", "people[0]", "value 1"});
}

TEST(ReadOpenPoseFolder, NoFrameNumber) {
  const std::string dir = test::ScratchDir("cam01_json");
  test::WriteText(dir + "/keypoints.json", Frame({Person(17, 0, 0.5)}));
  ExpectError<IoError>([&] { ReadOpenPoseFolder(dir, {}, nullptr); },
                       {"keypoints.json", "no frame number"});
}

TEST(ReadOpenPoseFolder, DuplicateFrameNumber) {
  const std::string dir = test::ScratchDir("cam01_json");
  test::WriteText(dir + "/cam01.0001.json", Frame({Person(17, 0, 0.5)}));
  test::WriteText(dir + "/cam01.001.json", Frame({Person(17, 0, 0.5)}));
  ExpectError<IoError>([&] { ReadOpenPoseFolder(dir, {}, nullptr); }, {"frame number 1"});
}

TEST(ReadOpenPoseFolder, BadArgs) {
  const std::string root = MakeTree("tree");
  OpenPoseReadOptions options;
  options.person = OpenPoseReadOptions::Person::kIndex;
  options.person_index = -1;
  EXPECT_THROW(ReadOpenPoseFolder(root + "/cam01_json", options, nullptr), UsageError);
  options = {};
  options.skeleton = "nonsense";
  EXPECT_THROW(ReadOpenPoseFolder(root + "/cam01_json", options, nullptr), InputError);
  EXPECT_THROW(ReadOpenPoseFolder(root + "/missing_json", {}, nullptr), IoError);
}

TEST(WriteOpenPoseTree, RoundTrip) {
  const std::string dir = test::ScratchDir("write");
  Keypoints2D k(3, 2, 17);
  k.camera_names = {"cam_1", "side"};
  k.skeleton = "coco17";
  for (int f = 0; f < 3; ++f) {
    for (int c = 0; c < 2; ++c) {
      for (int j = 0; j < 17; ++j) {
        if ((f + j) % 5 != 0) k.Set(f, c, j, 1000.f / 3.f + j, 0.1f * f + c, 0.123456789f);
      }
    }
  }
  const std::string root = dir + "/out";
  WriteOpenPoseTree(root, k);
  EXPECT_TRUE(fs::exists(root + "/cam_1_json/cam_1.0000.json"));
  EXPECT_TRUE(fs::exists(root + "/side_json/side.0002.json"));
  EXPECT_EQ(test::CountEntries(dir), 1);  // no temporary directory left
  OpenPoseReadReport report;
  const Keypoints2D back = ReadOpenPoseTree(root, nullptr, {}, &report);
  ASSERT_EQ(back.num_frames(), 3);
  ASSERT_EQ(back.num_cameras(), 2);
  EXPECT_EQ(back.camera_names, k.camera_names);
  for (int64_t i = 0; i < k.size(); ++i) EXPECT_EQ(back.data()[i], k.data()[i]) << i;
}

TEST(WriteOpenPoseTree, RefusesNonEmptyRoot) {
  const std::string dir = test::ScratchDir("write");
  test::WriteText(dir + "/keep.txt", "x");
  Keypoints2D k(1, 1, 17);
  ExpectError<IoError>([&] { WriteOpenPoseTree(dir, k); }, {dir, "not an empty directory"});
  EXPECT_EQ(test::CountEntries(dir), 1);
  // An existing empty directory is fine; default camera names.
  fs::create_directory(dir + "/empty");
  WriteOpenPoseTree(dir + "/empty", k);
  EXPECT_TRUE(fs::exists(dir + "/empty/cam01_json/cam01.0000.json"));
}

TEST(WriteOpenPoseTree, BadArgs) {
  const std::string dir = test::ScratchDir("write");
  Keypoints2D k(1, 2, 17);
  k.camera_names = {"a"};
  EXPECT_THROW(WriteOpenPoseTree(dir + "/out", k), std::invalid_argument);
  k.camera_names = {"a", "a"};
  EXPECT_THROW(WriteOpenPoseTree(dir + "/out", k), std::invalid_argument);
  k.camera_names = {"a", "b"};
  EXPECT_THROW(WriteOpenPoseTree(dir + "/missing/out", k), IoError);
  EXPECT_EQ(test::CountEntries(dir), 0);
}

}  // namespace
}  // namespace rigpose

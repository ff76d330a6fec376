// SPDX-License-Identifier: BSD-3-Clause
// COCO keypoints JSON: round trip, the studio's layout and pixel convention, bad input named.
// (The reader against a real synthetic capture is in tests/detect2d/training_data_test.cc,
// whose binary links the studio.)
#include "data/coco_keypoints.h"

#include <filesystem>
#include <functional>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tests/test_util.h"

namespace rigpose {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using test::ExpectError;

CocoKeypointsDataset SmallDataset() {
  CocoKeypointsDataset d;
  d.keypoint_names = {"nose", "left_wrist", "right_wrist"};
  d.bones = {{0, 1}, {0, 2}};
  d.skeleton = "test3";
  d.images = {{1, "images/cam_01/000000.png", 320, 240, "cam_01", 0},
              {5, "images/cam_02/000000.png", 640, 480, "cam_02", 0},
              {9, "plain.jpg", 100, 80, "", -1}};
  CocoAnnotation a;
  a.id = 3;
  a.image_id = 1;
  a.keypoints = {10.25, 20.75, 2, 0.1, 0.6, 1, 0, 0, 0};
  a.bbox = {-0.5, 4.0, 30.5, 60.0};
  a.area = 1830;
  d.annotations.push_back(a);
  a.id = 4;
  a.image_id = 5;
  a.keypoints = {639.4, 479.4, 2, 1.0, 2.0, 2, 3.0, 4.0, 2};
  a.iscrowd = true;
  d.annotations.push_back(a);
  return d;
}

// A file as the synthetic studio writes it (data/synth/capture.cc CocoJson): COCO corners.
json StudioJson() {
  json coco;
  coco["info"] = {{"description", "rigpose synthetic capture"}, {"skeleton", "coco17"}};
  coco["categories"] = json::array({{{"id", 1},
                                     {"name", "person"},
                                     {"supercategory", "person"},
                                     {"keypoints", {"nose", "left_eye", "right_eye"}},
                                     {"skeleton", {{1, 2}, {1, 3}}}}});
  coco["images"] = json::array({{{"id", 1},
                                 {"width", 640},
                                 {"height", 360},
                                 {"camera", "cam_01"},
                                 {"frame_index", 0},
                                 {"file_name", "images/cam_01/000000.jpg"}},
                                {{"id", 2},
                                 {"width", 640},
                                 {"height", 360},
                                 {"camera", "cam_02"},
                                 {"frame_index", 0},
                                 {"file_name", "images/cam_02/000000.jpg"}}});
  coco["annotations"] = json::array({{{"id", 1},
                                      {"image_id", 2},
                                      {"category_id", 1},
                                      {"subject", 0},
                                      {"iscrowd", 0},
                                      {"keypoints", {100.5, 50.5, 2, 0.0, 0.0, 0, 110.0, 52.0, 1}},
                                      {"num_keypoints", 2},
                                      {"bbox", {90.0, 40.0, 30.0, 60.0}},
                                      {"area", 1800.0}}});
  return coco;
}

std::string WriteJson(const std::string& dir, const std::string& name, const json& j) {
  const std::string path = dir + "/" + name;
  test::WriteText(path, j.dump());
  return path;
}

TEST(CocoKeypoints, RoundTrip) {
  const std::string dir = test::ScratchDir("coco");
  const CocoKeypointsDataset d = SmallDataset();
  const std::string path = dir + "/person_keypoints.json";
  WriteCocoKeypoints(path, d);
  EXPECT_EQ(test::CountEntries(dir), 1);  // no temporary left behind
  const CocoKeypointsDataset back = ReadCocoKeypoints(path);
  EXPECT_EQ(back.keypoint_names, d.keypoint_names);
  EXPECT_EQ(back.bones, d.bones);
  EXPECT_EQ(back.skeleton, "test3");
  ASSERT_EQ(back.images.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(back.images[i].id, d.images[i].id);
    EXPECT_EQ(back.images[i].file_name, d.images[i].file_name);
    EXPECT_EQ(back.images[i].width, d.images[i].width);
    EXPECT_EQ(back.images[i].height, d.images[i].height);
    EXPECT_EQ(back.images[i].camera, d.images[i].camera);
    EXPECT_EQ(back.images[i].frame_index, d.images[i].frame_index);
  }
  ASSERT_EQ(back.annotations.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const CocoAnnotation& a = d.annotations[i];
    const CocoAnnotation& b = back.annotations[i];
    EXPECT_EQ(b.id, a.id);
    EXPECT_EQ(b.image_id, a.image_id);
    EXPECT_EQ(b.category_id, a.category_id);
    EXPECT_EQ(b.iscrowd, a.iscrowd);
    EXPECT_DOUBLE_EQ(b.area, a.area);
    ASSERT_EQ(b.keypoints.size(), a.keypoints.size());
    for (size_t k = 0; k < a.keypoints.size(); ++k) {
      EXPECT_NEAR(b.keypoints[k], a.keypoints[k], 1e-12) << "annotation " << i << " value " << k;
    }
    for (int k = 0; k < 4; ++k) {
      EXPECT_NEAR(b.bbox[k], a.bbox[k], 1e-12);
    }
  }
  EXPECT_EQ(back.annotations[0].num_keypoints, 2);  // recomputed from v
  EXPECT_EQ(back.annotations[1].num_keypoints, 3);

  // The file itself is in COCO's convention: +0.5 on keypoints and the box corner.
  const json raw = json::parse(test::ReadText(path));
  EXPECT_DOUBLE_EQ(raw["annotations"][0]["keypoints"][0].get<double>(), 10.75);
  EXPECT_DOUBLE_EQ(raw["annotations"][0]["keypoints"][1].get<double>(), 21.25);
  EXPECT_DOUBLE_EQ(raw["annotations"][0]["bbox"][0].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(raw["annotations"][0]["bbox"][2].get<double>(), 30.5);
  EXPECT_EQ(raw["categories"][0]["skeleton"], json({{1, 2}, {1, 3}}));  // 1-based
  EXPECT_EQ(raw["annotations"][0]["num_keypoints"], 2);
  EXPECT_FALSE(raw["images"][2].contains("camera"));
  EXPECT_FALSE(raw["images"][2].contains("frame_index"));
}

TEST(CocoKeypoints, StudioLayoutPixelCentresAtIntegers) {
  const std::string dir = test::ScratchDir("coco");
  const CocoKeypointsDataset d = ReadCocoKeypoints(WriteJson(dir, "a.json", StudioJson()));
  EXPECT_EQ(d.skeleton, "coco17");
  ASSERT_EQ(d.NumJoints(), 3);
  ASSERT_EQ(d.images.size(), 2u);
  EXPECT_EQ(d.images[1].camera, "cam_02");
  EXPECT_EQ(d.images[1].frame_index, 0);
  EXPECT_EQ(d.images[1].file_name, "images/cam_02/000000.jpg");
  ASSERT_EQ(d.annotations.size(), 1u);
  const CocoAnnotation& a = d.annotations[0];
  EXPECT_EQ(a.image_id, 2);
  // COCO 100.5 is the centre of pixel 100: rigpose 100.
  EXPECT_DOUBLE_EQ(a.keypoints[0], 100.0);
  EXPECT_DOUBLE_EQ(a.keypoints[1], 50.0);
  EXPECT_EQ(a.keypoints[2], 2);
  EXPECT_EQ(a.keypoints[5], 0);
  EXPECT_DOUBLE_EQ(a.keypoints[6], 109.5);
  EXPECT_DOUBLE_EQ(a.keypoints[7], 51.5);
  EXPECT_EQ(a.keypoints[8], 1);
  EXPECT_EQ(a.num_keypoints, 2);
  EXPECT_DOUBLE_EQ(a.bbox[0], 89.5);
  EXPECT_DOUBLE_EQ(a.bbox[1], 39.5);
  EXPECT_DOUBLE_EQ(a.bbox[2], 30.0);
  EXPECT_DOUBLE_EQ(a.bbox[3], 60.0);
  EXPECT_FALSE(a.iscrowd);
}

TEST(CocoKeypoints, PersonCategoryAmongSeveralAndOptionalKeys) {
  const std::string dir = test::ScratchDir("coco");
  json j = StudioJson();
  j.erase("info");
  const json ball = {{"id", 7}, {"name", "ball"}, {"keypoints", {"centre"}}};
  j["categories"].insert(j["categories"].begin(), ball);
  j["categories"][1]["id"] = 3;
  j["annotations"][0]["category_id"] = 3;
  // Another category's annotation is skipped, even one that would not fit the person's joints.
  j["annotations"].push_back({{"id", 2}, {"image_id", 1}, {"category_id", 7}, {"keypoints", {1}}});
  // No bbox, area, iscrowd, num_keypoints, category_id: defaults.
  j["annotations"].push_back(
      {{"id", 3}, {"image_id", 1}, {"keypoints", {10, 20, 2, 30, 60, 1, 0, 0, 0}}});
  const CocoKeypointsDataset d = ReadCocoKeypoints(WriteJson(dir, "b.json", j));
  EXPECT_EQ(d.skeleton, "");
  EXPECT_EQ(d.keypoint_names[1], "left_eye");
  ASSERT_EQ(d.annotations.size(), 2u);
  EXPECT_EQ(d.annotations[0].category_id, 3);
  const CocoAnnotation& a = d.annotations[1];
  EXPECT_EQ(a.id, 3);
  EXPECT_EQ(a.category_id, 3);
  EXPECT_EQ(a.num_keypoints, 2);
  // The box of the labelled keypoints.
  EXPECT_DOUBLE_EQ(a.bbox[0], 9.5);
  EXPECT_DOUBLE_EQ(a.bbox[1], 19.5);
  EXPECT_DOUBLE_EQ(a.bbox[2], 20.0);
  EXPECT_DOUBLE_EQ(a.bbox[3], 40.0);
  EXPECT_DOUBLE_EQ(a.area, 800.0);
}

TEST(CocoKeypoints, BadArgs) {
  const std::string dir = test::ScratchDir("coco");
  ExpectError<IoError>([&] { ReadCocoKeypoints(dir + "/missing.json"); }, {dir + "/missing.json"});
  {
    const std::string path = dir + "/broken.json";
    test::WriteText(path, "{\"images\": [1, 2,, 3]}");
    ExpectError<IoError>([&] { ReadCocoKeypoints(path); }, {path, "byte 18"});
  }
  {
    // A number too large for a double is not finite.
    const std::string path = dir + "/huge.json";
    std::string text = StudioJson().dump();
    text.replace(text.find("100.5"), 5, "1e999");
    test::WriteText(path, text);
    ExpectError<Error>([&] { ReadCocoKeypoints(path); }, {path});
  }
  struct Case {
    std::string name;
    std::function<void(json&)> mutate;
    std::vector<std::string> fragments;
  };
  const std::vector<Case> cases = {
      {"no_images", [](json& j) { j.erase("images"); }, {"'images'", "missing"}},
      {"no_categories", [](json& j) { j.erase("categories"); }, {"'categories'"}},
      {"no_names",
       [](json& j) { j["categories"][0].erase("keypoints"); },
       {"categories[0]", "'keypoints'"}},
      {"image_without_file_name",
       [](json& j) { j["images"][1].erase("file_name"); },
       {"images[1] (id 2)", "'file_name'", "missing"}},
      {"image_width_string",
       [](json& j) { j["images"][0]["width"] = "640"; },
       {"images[0] (id 1)", "'width'"}},
      {"duplicate_image_id",
       [](json& j) { j["images"][1]["id"] = 1; },
       {"images[1] (id 1)", "duplicate image id 1"}},
      {"annotation_without_image_id",
       [](json& j) { j["annotations"][0].erase("image_id"); },
       {"annotations[0] (id 1)", "'image_id'", "missing"}},
      {"annotation_without_keypoints",
       [](json& j) { j["annotations"][0].erase("keypoints"); },
       {"annotations[0] (id 1)", "'keypoints'"}},
      {"unknown_image",
       [](json& j) { j["annotations"][0]["image_id"] = 42; },
       {"annotations[0] (id 1)", "no image has id 42"}},
      {"short_keypoints",
       [](json& j) { j["annotations"][0]["keypoints"].erase(8); },
       {"annotations[0] (id 1)", "expected 9 numbers", "got 8"}},
      {"visibility_3",
       [](json& j) { j["annotations"][0]["keypoints"][5] = 3; },
       {"annotations[0] (id 1)", "joint 1 (left_eye)", "visibility 3"}},
      {"visibility_fraction",
       [](json& j) { j["annotations"][0]["keypoints"][2] = 1.5; },
       {"annotations[0] (id 1)", "integer"}},
      {"keypoint_null",
       [](json& j) { j["annotations"][0]["keypoints"][0] = nullptr; },
       {"annotations[0] (id 1)", "expected a number"}},
      {"bbox_three",
       [](json& j) { j["annotations"][0]["bbox"].erase(3); },
       {"annotations[0] (id 1)", "'bbox'"}},
      {"bone_out_of_range",
       [](json& j) { j["categories"][0]["skeleton"][1][1] = 4; },
       {"categories[0]", "'skeleton'", "joint 4 out of 1..3"}},
      {"no_person_among_several",
       [](json& j) {
         j["categories"][0]["name"] = "human";
         j["categories"].push_back({{"id", 2}, {"name", "ball"}, {"keypoints", {"c"}}});
       },
       {"no category named 'person'"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    json j = StudioJson();
    c.mutate(j);
    const std::string path = WriteJson(dir, c.name + ".json", j);
    std::vector<std::string> fragments = c.fragments;
    fragments.push_back(path);
    ExpectError<InputError>([&] { ReadCocoKeypoints(path); }, fragments);
  }
}

TEST(CocoKeypoints, WriteBadArgsLeavesNothing) {
  const std::string dir = test::ScratchDir("coco");
  CocoKeypointsDataset d = SmallDataset();
  d.annotations[1].keypoints.pop_back();
  EXPECT_THROW(WriteCocoKeypoints(dir + "/a.json", d), std::invalid_argument);
  d = SmallDataset();
  d.annotations[0].keypoints[2] = 5;
  EXPECT_THROW(WriteCocoKeypoints(dir + "/a.json", d), std::invalid_argument);
  d = SmallDataset();
  d.bones.push_back({0, 3});
  EXPECT_THROW(WriteCocoKeypoints(dir + "/a.json", d), std::invalid_argument);
  EXPECT_EQ(test::CountEntries(dir), 0);
  ExpectError<IoError>([&] { WriteCocoKeypoints(dir + "/no/such/dir/a.json", SmallDataset()); },
                       {dir + "/no/such/dir/a.json"});
}

}  // namespace
}  // namespace rigpose

// SPDX-License-Identifier: BSD-3-Clause
// `rigpose export` and `rigpose import-labels` on a small synthetic capture: exported images equal
// the source frames, pre-labels equal the projected ground truth, the COCO file is consistent,
// export -> import round trip (also with permuted / renamed joints), --append, and bad input
// (non-zero exit, the culprit named, nothing written).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <utility>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "al/selection_file.h"
#include "cli/export.h"
#include "cli/import_labels.h"
#include "core/error.h"
#include "core/rig.h"
#include "core/skeleton.h"
#include "data/calib_io.h"
#include "data/coco_keypoints.h"
#include "data/frame_source.h"
#include "data/npy.h"
#include "data/poses_io.h"
#include "detect2d/training_data.h"
#include "tests/cli/rigpose_process.h"
#include "tests/test_util.h"

namespace rigpose {
namespace {

namespace fs = std::filesystem;
using cli::ExportOptions;
using cli::ImportLabelsOptions;
using test::Rigpose;

constexpr int kFrames = 12;
constexpr int kWidth = 320;
constexpr int kHeight = 240;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A synthetic capture: 4 cameras at 320x240, 12 frames, images (png) or videos (mp4).
std::string Capture(const std::string& format) {
  static std::map<std::string, std::string> dirs;
  if (dirs.count(format) > 0) return dirs[format];
  const std::string dir = test::ScratchDir("export_capture_" + format) + "/capture";
  const test::Outcome r =
      Rigpose("synth --out " + dir + " --cameras 4 --frames " + std::to_string(kFrames) +
              " --format " + format + " --resolution 320x240 --calib none --quiet");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  dirs[format] = dir;
  return dir;
}

using Rows = std::vector<std::pair<int, std::vector<std::string>>>;

std::string WriteSelection(const std::string& path, const Rows& rows) {
  Selection selection;
  selection.metadata["strategy"] = "test";
  int rank = 1;
  for (const auto& [frame, views] : rows) {
    SelectionRow row;
    row.rank = rank++;
    row.frame = frame;
    row.views = views;
    row.score = 1.0 / row.rank;
    selection.rows.push_back(row);
  }
  WriteSelectionCsv(path, selection);
  return path;
}

const Rows kRows = {{2, {"cam_01", "cam_03"}},
                    {7, {"cam_02"}},
                    {11, {"cam_04", "cam_01", "cam_02", "cam_03"}},
                    {0, {"cam_04"}}};
constexpr int kViews = 8;

ExportOptions Options(const std::string& capture,
                      const std::string& selection,
                      const std::string& out) {
  ExportOptions options;
  options.selection = selection;
  options.rig = capture + "/rig.yaml";
  options.images = capture + "/images";
  options.poses = capture + "/gt/subject_00/poses3d.npy";
  options.out = out;
  options.quiet = true;
  return options;
}

std::string FrameName(int frame) {
  std::ostringstream name;
  name << std::setw(6) << std::setfill('0') << frame;
  return name.str();
}

// (camera, frame) -> keypoints [J][3].
using Labels = std::map<std::pair<std::string, int>, std::vector<double>>;

Labels LabelsByView(const CocoKeypointsDataset& coco) {
  std::map<int64_t, const CocoImage*> image_of_id;
  for (const CocoImage& image : coco.images) image_of_id[image.id] = &image;
  Labels labels;
  for (const CocoAnnotation& a : coco.annotations) {
    const CocoImage& image = *image_of_id.at(a.image_id);
    EXPECT_TRUE(labels.emplace(std::make_pair(image.camera, image.frame_index), a.keypoints).second)
        << image.camera << " " << image.frame_index;
  }
  return labels;
}

void ExpectSameLabels(const Labels& actual, const Labels& expected, double tolerance_px) {
  ASSERT_EQ(actual.size(), expected.size());
  for (const auto& [view, keypoints] : expected) {
    ASSERT_EQ(actual.count(view), 1u) << view.first << " " << view.second;
    const std::vector<double>& other = actual.at(view);
    ASSERT_EQ(other.size(), keypoints.size());
    for (size_t k = 0; k < keypoints.size(); k += 3) {
      EXPECT_EQ(other[k + 2], keypoints[k + 2]) << view.first << " " << view.second << " " << k;
      EXPECT_NEAR(other[k], keypoints[k], tolerance_px);
      EXPECT_NEAR(other[k + 1], keypoints[k + 1], tolerance_px);
    }
  }
}

// Ids unique, one annotation per image, every annotation's image exists, v > 0 inside the image.
void ExpectConsistentCoco(const CocoKeypointsDataset& coco) {
  std::map<int64_t, const CocoImage*> images;
  for (const CocoImage& image : coco.images) {
    EXPECT_TRUE(images.emplace(image.id, &image).second) << "duplicate image id " << image.id;
  }
  std::set<int64_t> annotation_ids, annotated_images;
  for (const CocoAnnotation& a : coco.annotations) {
    EXPECT_TRUE(annotation_ids.insert(a.id).second) << "duplicate annotation id " << a.id;
    ASSERT_EQ(images.count(a.image_id), 1u) << a.image_id;
    EXPECT_TRUE(annotated_images.insert(a.image_id).second) << "two annotations of " << a.image_id;
    const CocoImage& image = *images.at(a.image_id);
    for (size_t k = 0; k < a.keypoints.size(); k += 3) {
      if (a.keypoints[k + 2] == 0) continue;
      EXPECT_GE(a.keypoints[k], -0.5);
      EXPECT_GE(a.keypoints[k + 1], -0.5);
      EXPECT_LT(a.keypoints[k], image.width - 0.5);
      EXPECT_LT(a.keypoints[k + 1], image.height - 0.5);
      EXPECT_GE(a.keypoints[k], a.bbox[0]);
      EXPECT_GE(a.keypoints[k + 1], a.bbox[1]);
      EXPECT_LE(a.keypoints[k], a.bbox[0] + a.bbox[2]);
      EXPECT_LE(a.keypoints[k + 1], a.bbox[1] + a.bbox[3]);
    }
  }
  EXPECT_EQ(annotated_images.size(), coco.images.size());
}

// An export of kRows (cached): the folder.
std::string ExportedFolder() {
  static std::string out;
  if (!out.empty()) return out;
  const std::string capture = Capture("png");
  const std::string dir = test::ScratchDir("export_shared");
  const std::string selection = WriteSelection(dir + "/selection.csv", kRows);
  out = dir + "/export";
  cli::RunExport(Options(capture, selection, out), std::cout);
  return out;
}

TEST(ExportCli, ImagesEqualSourceFramesAndPreLabelsEqualProjectedGroundTruth) {
  const std::string capture = Capture("png");
  const std::string dir = test::ScratchDir("export_png");
  const std::string selection = WriteSelection(dir + "/selection.csv", kRows);
  const std::string out = dir + "/export";
  std::ostringstream log;
  ExportOptions options = Options(capture, selection, out);
  options.quiet = false;
  const cli::ExportSummary summary = cli::RunExport(options, log);
  EXPECT_EQ(summary.num_frames, 4);
  EXPECT_EQ(summary.num_views, kViews);
  EXPECT_EQ(summary.num_images_written, kViews);
  EXPECT_EQ(summary.skeleton, "coco17");
  EXPECT_TRUE(Contains(log.str(), "8 views")) << log.str();
  EXPECT_FALSE(fs::exists(out + ".tmp-" + std::to_string(getpid())));

  // Images: exactly the source frames.
  for (const auto& [frame, views] : kRows) {
    for (const std::string& camera : views) {
      const std::string path =
          out + "/images/" + camera + "/" + camera + "_" + FrameName(frame) + ".png";
      ASSERT_TRUE(fs::exists(path)) << path;
      const cv::Mat exported = cv::imread(path, cv::IMREAD_COLOR);
      const cv::Mat source =
          cv::imread(capture + "/images/" + camera + "/" + FrameName(frame) + ".png");
      ASSERT_FALSE(exported.empty());
      ASSERT_EQ(exported.size(), source.size());
      EXPECT_EQ(cv::norm(exported, source, cv::NORM_INF), 0.0) << path;
    }
  }
  int num_files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(out + "/images")) {
    num_files += entry.is_regular_file() ? 1 : 0;
  }
  EXPECT_EQ(num_files, kViews);

  // COCO: consistent, skeleton metadata, pre-labels = the projection of the GT 3D.
  const CocoKeypointsDataset coco = ReadCocoKeypoints(out + "/annotations/person_keypoints.json");
  ASSERT_EQ(coco.images.size(), static_cast<size_t>(kViews));
  ASSERT_EQ(coco.annotations.size(), static_cast<size_t>(kViews));
  ExpectConsistentCoco(coco);
  const Skeleton& skeleton = GetSkeleton("coco17");
  EXPECT_EQ(coco.skeleton, "coco17");
  EXPECT_EQ(coco.keypoint_names, skeleton.joint_names);
  EXPECT_EQ(coco.bones, skeleton.bones);
  EXPECT_EQ(coco.images[0].camera, "cam_01");
  EXPECT_EQ(coco.images[0].frame_index, 2);
  EXPECT_EQ(coco.images[0].file_name, "images/cam_01/cam_01_000002.png");
  EXPECT_EQ(coco.images[0].width, kWidth);
  EXPECT_EQ(coco.images[0].height, kHeight);

  const Rig rig = ReadRig(capture + "/rig.yaml");
  const Poses3D poses = ReadPoses(capture + "/gt/subject_00/poses3d.npy");
  // The synth's own 2D ground truth [F][C][J][3] (x, y, v), computed independently.
  const NpyArray gt2d_array = ReadNpy(capture + "/gt/subject_00/keypoints2d_f64.npy");
  ASSERT_EQ(gt2d_array.shape, (std::vector<int64_t>{kFrames, 4, 17, 3}));
  const std::vector<double> gt2d = gt2d_array.AsDoubles();
  int labelled = 0;
  for (const CocoImage& image : coco.images) {
    const CocoAnnotation& a = coco.annotations[static_cast<size_t>(&image - &coco.images[0])];
    ASSERT_EQ(a.image_id, image.id);
    const int c = *rig.FindCamera(image.camera);
    const int f = image.frame_index;
    for (int j = 0; j < 17; ++j) {
      const double* k = &a.keypoints[3 * j];
      const auto projected = rig.cameras[c].ImgFromWorld(poses.Position(f, j));
      const bool inside = poses.IsValid(f, j) && projected && rig.cameras[c].IsInImage(*projected);
      ASSERT_EQ(k[2], inside ? 2.0 : 0.0) << image.camera << " " << f << " " << j;
      const double* g = &gt2d[((static_cast<size_t>(f) * 4 + c) * 17 + j) * 3];
      if (!inside) {
        EXPECT_EQ(k[0], 0.0);
        EXPECT_EQ(g[2], 0.0);
        continue;
      }
      ++labelled;
      EXPECT_NEAR(k[0], projected->x(), 1e-3);
      EXPECT_NEAR(k[1], projected->y(), 1e-3);
      EXPECT_GT(g[2], 0.0);  // visible or occluded in the synth: on the image
      EXPECT_NEAR(k[0], g[0], 1e-3);
      EXPECT_NEAR(k[1], g[1], 1e-3);
    }
  }
  EXPECT_GT(labelled, kViews * 17 / 2);
  EXPECT_EQ(summary.num_labelled_joints, labelled);
}

TEST(ExportCli, JpgImagesAreCloseToTheSourceFrames) {
  const std::string capture = Capture("png");
  const std::string dir = test::ScratchDir("export_jpg");
  const std::string selection = WriteSelection(dir + "/selection.csv", {{5, {"cam_02"}}});
  ExportOptions options = Options(capture, selection, dir + "/export");
  options.image_format = "jpg";
  cli::RunExport(options, std::cout);
  const std::string path = dir + "/export/images/cam_02/cam_02_000005.jpg";
  const cv::Mat exported = cv::imread(path);
  const cv::Mat source = cv::imread(capture + "/images/cam_02/000005.png");
  ASSERT_FALSE(exported.empty()) << path;
  ASSERT_EQ(exported.size(), source.size());
  cv::Mat difference;
  cv::absdiff(exported, source, difference);
  EXPECT_LT(cv::mean(difference)[0], 3.0);  // JPEG loss only
  const CocoKeypointsDataset coco =
      ReadCocoKeypoints(dir + "/export/annotations/person_keypoints.json");
  ASSERT_EQ(coco.images.size(), 1u);
  EXPECT_EQ(coco.images[0].file_name, "images/cam_02/cam_02_000005.jpg");
}

TEST(ExportCli, VideosGiveTheDecodedFrames) {
  const std::string capture = Capture("mp4");
  const std::string dir = test::ScratchDir("export_videos");
  const std::string selection =
      WriteSelection(dir + "/selection.csv", {{9, {"cam_03"}}, {4, {"cam_01", "cam_03"}}});
  ExportOptions options = Options(capture, selection, dir + "/export");
  options.images.clear();
  options.videos = capture + "/videos";
  const cli::ExportSummary summary = cli::RunExport(options, std::cout);
  EXPECT_EQ(summary.num_images_written, 3);
  // The reference: the same decoder, frame by frame.
  FrameSourceOptions source_options;
  source_options.camera_order = {"cam_01", "cam_03"};
  source_options.allow_extra_videos = true;
  MultiCameraFrameSource source =
      MultiCameraFrameSource::Open(capture + "/videos", FrameSourceKind::kVideos, source_options);
  std::vector<cv::Mat> frames;
  int frame = 0;
  int compared = 0;
  while (source.Next(&frames, &frame)) {
    for (const auto& [c, camera] : {std::make_pair(0, "cam_01"), std::make_pair(1, "cam_03")}) {
      const std::string path =
          dir + "/export/images/" + camera + "/" + camera + "_" + FrameName(frame) + ".png";
      const bool expected = frame == 9 ? c == 1 : frame == 4;
      ASSERT_EQ(fs::exists(path), expected) << path;
      if (!expected) continue;
      EXPECT_EQ(cv::norm(cv::imread(path), frames[c], cv::NORM_INF), 0.0) << path;
      ++compared;
    }
  }
  EXPECT_EQ(compared, 3);
}

TEST(ExportCli, ExistingOutNeedsForceAndIsReplacedOnlyAfterSuccess) {
  const std::string capture = Capture("png");
  const std::string dir = test::ScratchDir("export_force");
  const std::string selection = WriteSelection(dir + "/selection.csv", {{3, {"cam_01"}}});
  const std::string out = dir + "/export";
  fs::create_directories(out);
  test::WriteText(out + "/keep.txt", "old");
  const std::string args = "export --selection " + selection + " --rig " + capture +
                           "/rig.yaml --images " + capture + "/images --poses " + capture +
                           "/gt/subject_00/poses3d.trc --out " + out + " --quiet";
  const test::Outcome exists = Rigpose(args);
  EXPECT_EQ(exists.exit_code, 2) << exists.output;
  EXPECT_TRUE(Contains(exists.output, "--force")) << exists.output;
  EXPECT_TRUE(fs::exists(out + "/keep.txt"));
  EXPECT_FALSE(fs::exists(out + "/annotations"));

  // --force with bad input: the old folder stays as it was.
  const std::string bad_selection = WriteSelection(dir + "/bad.csv", {{3, {"cam_77"}}});
  const test::Outcome bad = Rigpose("export --selection " + bad_selection + " --rig " + capture +
                                    "/rig.yaml --images " + capture + "/images --poses " + capture +
                                    "/gt/subject_00/poses3d.npy --out " + out + " --force --quiet");
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_TRUE(Contains(bad.output, "cam_77")) << bad.output;
  EXPECT_TRUE(fs::exists(out + "/keep.txt"));

  const test::Outcome forced = Rigpose(args + " --force");
  ASSERT_EQ(forced.exit_code, 0) << forced.output;
  EXPECT_FALSE(fs::exists(out + "/keep.txt"));
  EXPECT_TRUE(fs::exists(out + "/images/cam_01/cam_01_000003.png"));
  EXPECT_TRUE(fs::exists(out + "/annotations/person_keypoints.json"));
  EXPECT_EQ(test::CountEntries(dir), 3);  // selection.csv, bad.csv, export: no temporary left

  // --force never replaces a folder holding an input.
  ExportOptions onto_input = Options(capture, selection, dir);
  onto_input.force = true;
  test::ExpectError<UsageError>([&] { cli::RunExport(onto_input, std::cout); },
                                {"holds the input", selection});
  EXPECT_TRUE(fs::exists(selection));
}

// Every bad input: the message names the culprit and nothing is left in the output's folder.
TEST(ExportCli, BadInputNamesTheCulpritAndWritesNothing) {
  const std::string capture = Capture("png");
  const std::string dir = test::ScratchDir("export_bad");
  const std::string out = dir + "/out/export";
  const auto expect_nothing_written = [&] {
    EXPECT_FALSE(fs::exists(out));
    if (fs::exists(dir + "/out")) {
      EXPECT_EQ(test::CountEntries(dir + "/out"), 0);
    }
  };

  // A selection frame past the end of the capture.
  const std::string beyond =
      WriteSelection(dir + "/beyond.csv", {{1, {"cam_01"}}, {12, {"cam_02"}}});
  test::ExpectError<InputError>([&] { cli::RunExport(Options(capture, beyond, out), std::cout); },
                                {beyond, "frame 12", "12 frames"});
  expect_nothing_written();

  // A view that is not a rig camera: the rig's cameras are listed.
  const std::string unknown = WriteSelection(dir + "/unknown.csv", {{1, {"cam_01", "side_cam"}}});
  test::ExpectError<InputError>([&] { cli::RunExport(Options(capture, unknown, out), std::cout); },
                                {unknown, "side_cam", "cam_01, cam_02, cam_03, cam_04"});
  expect_nothing_written();

  // Videos (here image folders) shorter than the poses: both lengths.
  const std::string short_images = dir + "/short_images";
  for (const char* camera : {"cam_01", "cam_02", "cam_03", "cam_04"}) {
    fs::create_directories(short_images + "/" + camera);
    for (int f = 0; f < 8; ++f) {
      fs::copy_file(capture + "/images/" + camera + "/" + FrameName(f) + ".png",
                    short_images + "/" + camera + "/" + FrameName(f) + ".png");
    }
  }
  const std::string ok = WriteSelection(dir + "/ok.csv", {{1, {"cam_01", "cam_04"}}});
  ExportOptions shorter = Options(capture, ok, out);
  shorter.images = short_images;
  test::ExpectError<InputError>([&] { cli::RunExport(shorter, std::cout); },
                                {short_images, "8 frames", "12 frames", "poses3d.npy"});
  expect_nothing_written();

  // A camera of the selection without an image folder.
  fs::remove_all(short_images + "/cam_04");
  ExportOptions missing = Options(capture, ok, out);
  missing.images = short_images;
  missing.poses = dir + "/poses8.npy";
  Poses3D poses = ReadPoses(capture + "/gt/subject_00/poses3d.npy");
  Poses3D poses8(8, poses.num_joints());
  for (int f = 0; f < 8; ++f) {
    for (int j = 0; j < poses.num_joints(); ++j) poses8.Set(f, j, poses.Position(f, j));
  }
  WritePoses(missing.poses, poses8);
  test::ExpectError<InputError>([&] { cli::RunExport(missing, std::cout); },
                                {"cam_04", short_images});
  expect_nothing_written();
  // ... which works when the selection does not use it.
  const std::string three = WriteSelection(dir + "/three.csv", {{7, {"cam_01", "cam_03"}}});
  missing.selection = three;
  EXPECT_EQ(cli::RunExport(missing, std::cout).num_images_written, 2);
  fs::remove_all(dir + "/out");

  // Poses whose joints do not fit the skeleton.
  ExportOptions wrong_skeleton = Options(capture, ok, out);
  wrong_skeleton.skeleton = "body25b";
  test::ExpectError<InputError>([&] { cli::RunExport(wrong_skeleton, std::cout); },
                                {"poses3d.npy", "17 joints", "body25b"});
  expect_nothing_written();

  // An empty selection.
  const std::string empty = WriteSelection(dir + "/empty.csv", {});
  test::ExpectError<InputError>([&] { cli::RunExport(Options(capture, empty, out), std::cout); },
                                {empty, "empty"});
  expect_nothing_written();

  // The binary: exit 1 and the message.
  const test::Outcome o =
      Rigpose("export --selection " + beyond + " --rig " + capture + "/rig.yaml --images " +
              capture + "/images --poses " + capture + "/gt/subject_00/poses3d.npy --out " + out);
  EXPECT_EQ(o.exit_code, 1) << o.output;
  EXPECT_TRUE(Contains(o.output, "frame 12")) << o.output;
  expect_nothing_written();
}

ImportLabelsOptions ImportOptions(const std::string& coco, const std::string& out) {
  ImportLabelsOptions options;
  options.coco = coco;
  options.skeleton = "coco17";
  options.out = out;
  options.quiet = true;
  return options;
}

// The exported COCO with file names made absolute (so that it can be written anywhere).
CocoKeypointsDataset ExportedWithAbsolutePaths(const std::string& exported) {
  CocoKeypointsDataset coco = ReadCocoKeypoints(exported + "/annotations/person_keypoints.json");
  for (CocoImage& image : coco.images) {
    image.file_name = fs::absolute(exported + "/" + image.file_name).string();
  }
  return coco;
}

// "left_shoulder" -> "LShoulder" (OpenPose / Pose2Sim naming).
std::string OpenPoseName(const std::string& name) {
  std::string result;
  std::string word;
  std::istringstream words(name);
  bool first = true;
  while (std::getline(words, word, '_')) {
    if (first && word == "left") {
      result += "L";
    } else if (first && word == "right") {
      result += "R";
    } else {
      word[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(word[0])));
      result += word;
    }
    first = false;
  }
  return result;
}

TEST(ImportLabelsCli, RoundTripGivesTheExportedLabelsAndATrainingSetThatFindsTheImages) {
  const std::string exported = ExportedFolder();
  const std::string dir = test::ScratchDir("import_round_trip");
  const std::string coco_path = exported + "/annotations/person_keypoints.json";
  const CocoKeypointsDataset original = ReadCocoKeypoints(coco_path);

  // Into another folder, and into an "annotations" folder (resolved against its parent).
  for (const std::string& out : {dir + "/train/labels.json", dir + "/set/annotations/train.json"}) {
    const cli::ImportLabelsSummary summary =
        cli::RunImportLabels(ImportOptions(coco_path, out), std::cout);
    EXPECT_EQ(summary.num_images, kViews);
    EXPECT_EQ(summary.num_annotations, kViews);
    EXPECT_EQ(summary.dropped_annotations, 0);
    EXPECT_TRUE(summary.missing_joints.empty());
    const CocoKeypointsDataset imported = ReadCocoKeypoints(out);
    ExpectConsistentCoco(imported);
    EXPECT_EQ(imported.skeleton, "coco17");
    EXPECT_EQ(imported.keypoint_names, GetSkeleton("coco17").joint_names);
    EXPECT_EQ(imported.bones, GetSkeleton("coco17").bones);
    ExpectSameLabels(LabelsByView(imported), LabelsByView(original), 1e-6);
    for (const CocoImage& image : imported.images) {
      EXPECT_FALSE(fs::path(image.file_name).is_absolute()) << image.file_name;
    }

    // What `rigpose train --coco OUT` reads: every instance's image is the exported file.
    const KeypointTrainingSet set(out, "", TrainingInputSpec());
    ASSERT_EQ(set.size(), kViews);
    EXPECT_EQ(set.skeleton(), "coco17");
    std::set<std::string> paths;
    for (int i = 0; i < set.size(); ++i) {
      const TrainingInstance& instance = set.instance(i);
      ASSERT_TRUE(fs::is_regular_file(instance.image_path)) << instance.image_path;
      const std::string expected = exported + "/images/" + instance.camera + "/" + instance.camera +
                                   "_" + FrameName(instance.frame_index) + ".png";
      EXPECT_TRUE(fs::equivalent(instance.image_path, expected)) << instance.image_path;
      paths.insert(fs::canonical(instance.image_path).string());
    }
    EXPECT_EQ(paths.size(), static_cast<size_t>(kViews));
  }
}

TEST(ImportLabelsCli, PermutedAndRenamedJointsGiveTheSameLabels) {
  const std::string exported = ExportedFolder();
  const std::string dir = test::ScratchDir("import_permuted");
  const CocoKeypointsDataset original = ExportedWithAbsolutePaths(exported);
  // Joints reversed and renamed the OpenPose way ("LShoulder"), bones dropped, ids shuffled.
  CocoKeypointsDataset permuted = original;
  const int J = original.NumJoints();
  permuted.keypoint_names.clear();
  permuted.bones.clear();
  permuted.skeleton.clear();
  for (int j = J - 1; j >= 0; --j) {
    permuted.keypoint_names.push_back(OpenPoseName(original.keypoint_names[j]));
  }
  EXPECT_EQ(permuted.keypoint_names[J - 1 - 5], "LShoulder");
  for (size_t i = 0; i < permuted.annotations.size(); ++i) {
    CocoAnnotation& a = permuted.annotations[i];
    const std::vector<double> keypoints = a.keypoints;
    for (int j = 0; j < J; ++j) {
      for (int k = 0; k < 3; ++k) a.keypoints[3 * (J - 1 - j) + k] = keypoints[3 * j + k];
    }
    a.id = 100 + 7 * static_cast<int64_t>(i);
    a.image_id += 50;
  }
  for (CocoImage& image : permuted.images) image.id += 50;
  const std::string permuted_path = dir + "/tool/export.json";
  fs::create_directories(dir + "/tool");
  WriteCocoKeypoints(permuted_path, permuted);

  cli::RunImportLabels(ImportOptions(permuted_path, dir + "/a.json"), std::cout);
  cli::RunImportLabels(
      ImportOptions(exported + "/annotations/person_keypoints.json", dir + "/b.json"), std::cout);
  const CocoKeypointsDataset a = ReadCocoKeypoints(dir + "/a.json");
  const CocoKeypointsDataset b = ReadCocoKeypoints(dir + "/b.json");
  EXPECT_EQ(a.keypoint_names, b.keypoint_names);
  ExpectSameLabels(LabelsByView(a), LabelsByView(b), 1e-9);
  ExpectSameLabels(LabelsByView(a), LabelsByView(original), 1e-6);
  ASSERT_EQ(a.images.size(), b.images.size());
  for (size_t i = 0; i < a.images.size(); ++i) {
    EXPECT_EQ(a.images[i].file_name, b.images[i].file_name);  // both relative to dir
  }
}

// CVAT and Label Studio keep neither the folders nor the camera / frame_index keys.
TEST(ImportLabelsCli, FlattenedFileNamesWithoutViewKeysAreFoundInTheExport) {
  const std::string exported = ExportedFolder();
  const std::string dir = test::ScratchDir("import_flat");
  const std::string coco_path = exported + "/annotations/person_keypoints.json";
  CocoKeypointsDataset flat = ReadCocoKeypoints(coco_path);
  for (CocoImage& image : flat.images) {
    image.file_name = fs::path(image.file_name).filename().string();
    image.camera.clear();
    image.frame_index = -1;
  }
  EXPECT_EQ(flat.images[0].file_name, "cam_01_000002.png");
  WriteCocoKeypoints(dir + "/cvat.json", flat);
  ImportLabelsOptions options = ImportOptions(dir + "/cvat.json", dir + "/train.json");
  test::ExpectError<IoError>([&] { cli::RunImportLabels(options, std::cout); },
                             {"cam_01_000002.png", "--images-root"});
  EXPECT_FALSE(fs::exists(dir + "/train.json"));
  options.images_root = exported;
  EXPECT_EQ(cli::RunImportLabels(options, std::cout).num_images, kViews);
  const CocoKeypointsDataset imported = ReadCocoKeypoints(dir + "/train.json");
  ExpectSameLabels(LabelsByView(imported), LabelsByView(ReadCocoKeypoints(coco_path)), 1e-6);
  const KeypointTrainingSet set(dir + "/train.json", "", TrainingInputSpec());
  ASSERT_EQ(set.size(), kViews);
  for (int i = 0; i < set.size(); ++i) {
    EXPECT_TRUE(fs::equivalent(set.instance(i).image_path,
                               exported + "/images/" + set.instance(i).camera + "/" +
                                   set.instance(i).camera + "_" +
                                   FrameName(set.instance(i).frame_index) + ".png"));
  }
}

TEST(ImportLabelsCli, MissingJointsAreUnlabelledAndEmptyAnnotationsDropped) {
  const std::string exported = ExportedFolder();
  const std::string dir = test::ScratchDir("import_missing");
  CocoKeypointsDataset coco = ExportedWithAbsolutePaths(exported);
  // Drop joints 0 (nose) and 9 (left_wrist); unlabel every joint of the first annotation.
  CocoKeypointsDataset reduced = coco;
  reduced.keypoint_names.clear();
  reduced.bones.clear();
  const std::vector<int> kept_joints = {1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16};
  for (int j : kept_joints) reduced.keypoint_names.push_back(coco.keypoint_names[j]);
  for (size_t i = 0; i < reduced.annotations.size(); ++i) {
    std::vector<double> keypoints;
    for (int j : kept_joints) {
      for (int k = 0; k < 3; ++k) {
        keypoints.push_back(i == 0 ? 0.0 : coco.annotations[i].keypoints[3 * j + k]);
      }
    }
    reduced.annotations[i].keypoints = keypoints;
  }
  WriteCocoKeypoints(dir + "/reduced.json", reduced);
  std::ostringstream log;
  ImportLabelsOptions options = ImportOptions(dir + "/reduced.json", dir + "/out.json");
  options.quiet = false;
  const cli::ImportLabelsSummary summary = cli::RunImportLabels(options, log);
  EXPECT_EQ(summary.dropped_annotations, 1);
  EXPECT_EQ(summary.num_images, kViews - 1);
  EXPECT_EQ(summary.missing_joints, (std::vector<std::string>{"nose", "left_wrist"}));
  EXPECT_TRUE(Contains(log.str(), "warning")) << log.str();
  EXPECT_TRUE(Contains(log.str(), "nose, left_wrist")) << log.str();
  EXPECT_TRUE(Contains(log.str(), "1 annotations without a labelled joint")) << log.str();
  const CocoKeypointsDataset result = ReadCocoKeypoints(dir + "/out.json");
  const Labels labels = LabelsByView(result);
  const Labels expected = LabelsByView(coco);
  ASSERT_EQ(labels.size(), static_cast<size_t>(kViews - 1));
  for (const auto& [view, keypoints] : labels) {
    const std::vector<double>& full = expected.at(view);
    for (int j = 0; j < 17; ++j) {
      const bool dropped = j == 0 || j == 9;
      EXPECT_EQ(keypoints[3 * j + 2], dropped ? 0.0 : full[3 * j + 2]) << j;
      if (!dropped) {
        EXPECT_NEAR(keypoints[3 * j], full[3 * j], 1e-6);
      }
    }
  }
}

TEST(ImportLabelsCli, AppendKeepsTheUnionAndReplacesTheSameViews) {
  const std::string exported = ExportedFolder();
  const std::string dir = test::ScratchDir("import_append");
  const CocoKeypointsDataset coco = ExportedWithAbsolutePaths(exported);
  ASSERT_EQ(coco.images.size(), static_cast<size_t>(kViews));
  // First batch: images 0..4. Second batch: images 3..7, labels moved by +1 px; image 3 keeps
  // its camera + frame, image 4 loses them (matched by its file).
  const auto subset = [&](size_t first, size_t end, double shift, bool strip_view_of_4) {
    CocoKeypointsDataset part = coco;
    part.images.assign(coco.images.begin() + first, coco.images.begin() + end);
    part.annotations.assign(coco.annotations.begin() + first, coco.annotations.begin() + end);
    for (CocoAnnotation& a : part.annotations) {
      for (size_t k = 0; k < a.keypoints.size(); k += 3) {
        if (a.keypoints[k + 2] > 0) a.keypoints[k] += shift;
      }
    }
    if (strip_view_of_4) {
      for (CocoImage& image : part.images) {
        if (image.id == coco.images[4].id) {
          image.camera.clear();
          image.frame_index = -1;
        }
      }
    }
    return part;
  };
  WriteCocoKeypoints(dir + "/first.json", subset(0, 5, 0.0, false));
  WriteCocoKeypoints(dir + "/second.json", subset(3, 8, 1.0, true));
  cli::RunImportLabels(ImportOptions(dir + "/first.json", dir + "/set/train.json"), std::cout);
  ImportLabelsOptions append = ImportOptions(dir + "/second.json", dir + "/set/train.json");
  append.append = dir + "/set/train.json";  // in place
  const cli::ImportLabelsSummary summary = cli::RunImportLabels(append, std::cout);
  EXPECT_EQ(summary.appended_images, 3);
  EXPECT_EQ(summary.replaced_images, 2);
  EXPECT_EQ(summary.imported_images, 5);
  EXPECT_EQ(summary.num_images, kViews);
  EXPECT_EQ(summary.num_annotations, kViews);

  const CocoKeypointsDataset result = ReadCocoKeypoints(dir + "/set/train.json");
  ExpectConsistentCoco(result);
  ASSERT_EQ(result.images.size(), static_cast<size_t>(kViews));
  std::set<std::string> files;
  for (const CocoImage& image : result.images) files.insert(image.file_name);
  EXPECT_EQ(files.size(), static_cast<size_t>(kViews));
  // The replaced images carry the second batch's labels (+1 px), the others the first's.
  std::map<std::string, const CocoAnnotation*> annotation_of_file;
  for (const CocoAnnotation& a : result.annotations) {
    for (const CocoImage& image : result.images) {
      if (image.id == a.image_id) annotation_of_file[fs::path(image.file_name).filename()] = &a;
    }
  }
  for (size_t i = 0; i < coco.images.size(); ++i) {
    const std::string name = fs::path(coco.images[i].file_name).filename();
    ASSERT_EQ(annotation_of_file.count(name), 1u) << name;
    const double shift = i >= 3 ? 1.0 : 0.0;
    const std::vector<double>& expected = coco.annotations[i].keypoints;
    const std::vector<double>& actual = annotation_of_file.at(name)->keypoints;
    for (size_t k = 0; k < expected.size(); k += 3) {
      if (expected[k + 2] == 0) continue;
      EXPECT_NEAR(actual[k], expected[k] + shift, 1e-6) << name << " " << k;
    }
  }
  // The training set still finds every image.
  EXPECT_EQ(KeypointTrainingSet(dir + "/set/train.json", "", TrainingInputSpec()).size(), kViews);
}

TEST(ImportLabelsCli, BadInputNamesTheCulpritAndWritesNothing) {
  const std::string exported = ExportedFolder();
  const std::string dir = test::ScratchDir("import_bad");
  const CocoKeypointsDataset coco = ExportedWithAbsolutePaths(exported);
  const std::string out = dir + "/out/train.json";

  // A joint name that is no skeleton joint.
  CocoKeypointsDataset unknown = coco;
  unknown.keypoint_names[3] = "tail_tip";
  WriteCocoKeypoints(dir + "/unknown.json", unknown);
  test::ExpectError<InputError>(
      [&] { cli::RunImportLabels(ImportOptions(dir + "/unknown.json", out), std::cout); },
      {dir + "/unknown.json", "tail_tip", "coco17", "nose"});
  EXPECT_FALSE(fs::exists(out));

  // A missing image file.
  CocoKeypointsDataset missing = coco;
  missing.images[2].file_name = "images/cam_09/not_there.png";
  WriteCocoKeypoints(dir + "/missing.json", missing);
  test::ExpectError<IoError>(
      [&] { cli::RunImportLabels(ImportOptions(dir + "/missing.json", out), std::cout); },
      {"not_there.png", dir + "/missing.json"});
  EXPECT_FALSE(fs::exists(out));

  // --images-root resolves it when the file is there.
  fs::create_directories(dir + "/root/images/cam_09");
  fs::copy_file(coco.images[2].file_name, dir + "/root/images/cam_09/not_there.png");
  ImportLabelsOptions rooted = ImportOptions(dir + "/missing.json", out);
  rooted.images_root = dir + "/root";
  EXPECT_EQ(cli::RunImportLabels(rooted, std::cout).num_images, kViews);
  EXPECT_EQ(KeypointTrainingSet(out, "", TrainingInputSpec()).size(), kViews);
  fs::remove(out);

  // An unknown skeleton is a usage error; the binary exits 1 on bad data, 2 on bad usage.
  ImportLabelsOptions bad_skeleton = ImportOptions(dir + "/unknown.json", out);
  bad_skeleton.skeleton = "mouse";
  EXPECT_THROW(cli::RunImportLabels(bad_skeleton, std::cout), UsageError);
  const test::Outcome o =
      Rigpose("import-labels --coco " + dir + "/unknown.json --skeleton coco17 --out " + out);
  EXPECT_EQ(o.exit_code, 1) << o.output;
  EXPECT_TRUE(Contains(o.output, "tail_tip")) << o.output;
  const test::Outcome usage = Rigpose("import-labels --coco " + dir + "/unknown.json --out " + out);
  EXPECT_EQ(usage.exit_code, 2) << usage.output;
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace rigpose

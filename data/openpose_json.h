// SPDX-License-Identifier: BSD-3-Clause
// OpenPose JSON 2D keypoints: one file per frame per camera,
//   {"version": 1.3, "people": [{"person_id": [-1], "pose_keypoints_2d": [x0, y0, c0, ...]}]}
// with (0, 0, 0) for an undetected joint. Pixel origin top-left (core/camera_models.h).
//
// Layouts read:
//   Pose2Sim:  <root>/cam01_json/cam01.0000.json, cam01.0001.json, ...
//   OpenPose:  <root>/<name>/<name>_000000000012_keypoints.json
// The frame index of a file is the last integer in its name before ".json" (a trailing
// "_keypoints" is ignored); array frame f holds the file numbered f, so a gap in the numbering
// is a missing frame (all joints score 0).
#pragma once

#include <string>
#include <vector>

#include "core/keypoints.h"
#include "core/rig.h"

namespace rigpose {

struct OpenPoseReadOptions {
  // Skeleton registry key (core/skeleton.h). Empty: inferred from the keypoint count with
  // SkeletonFromJointCount; 25 keypoints are ambiguous (body25 or body25b) and must be given.
  std::string skeleton;
  // Which detected person to keep per frame: the largest sum of (valid) confidences, or the
  // person at `person_index` in the file's "people" list (a frame with fewer people is missing).
  enum class Person { kHighestConfidence, kIndex };
  Person person = Person::kHighestConfidence;
  int person_index = 0;
  // Frame range read (for long captures read in chunks): files numbered first_frame ..
  // first_frame + max_frames - 1 (max_frames < 0: to the end) become array frames 0, 1, ...
  // Every folder is still listed, so the reports' num_files / num_frames describe whole folders,
  // while the per-frame counts (frames_without_people, ...) describe the range read.
  int first_frame = 0;
  int max_frames = -1;
};

struct OpenPoseCameraReport {
  std::string folder;  // path read
  std::string camera;  // camera name (rig name when matched to a rig, else folder minus "_json")
  int num_files = 0;   // .json files read
  int num_frames = 0;  // highest frame index + 1 (0 without files)
  int frames_without_people = 0;           // files whose "people" list is empty or holds only
                                           // empty persons ({} or no pose_keypoints_2d values)
  int frames_with_several_people = 0;      // files with more than one person
  int frames_without_selected_person = 0;  // kIndex: files with people but none (or an empty
                                           // person) at person_index
  int invalid_confidences = 0;  // joints with a NaN/negative confidence or NaN x/y, kept missing
};

struct OpenPoseReadReport {
  std::vector<OpenPoseCameraReport> cameras;  // in the order of Keypoints2D cameras
  std::string person_rule;                    // "highest total confidence" or "index N"
  std::string skeleton;                       // registry key used
};

// Reads one camera folder of per-frame OpenPose JSON files (see the file comment for names).
// A person without pose_keypoints_2d (Pose2Sim writes {} when association kept nobody) or with
// an empty array is an empty person: no detection, but it keeps its place for kIndex.
// The result has one camera (camera_names = {folder name minus "_json"}), num_frames = highest
// frame index + 1, and `skeleton` set. `report` may be null.
// Throws IoError naming the file for: an unreadable folder or file, malformed JSON, no "people"
// array, a non-numeric keypoint value, a pose_keypoints_2d length that is not a multiple of 3 or
// does not match the skeleton (names the person index and the count), a file name without a
// frame number, two files with the same frame number. InputError when the skeleton cannot be
// inferred (ambiguous count, or no person in any file); UsageError for person_index < 0.
Keypoints2D ReadOpenPoseFolder(const std::string& folder,
                               const OpenPoseReadOptions& options,
                               OpenPoseCameraReport* report);

// Reads a tree: `root` holds one `<camera>_json` folder per camera (a folder without the suffix
// counts only if it contains .json files; hidden folders are ignored). With a `rig`, folder names
// minus "_json" are matched with Rig::MatchCamera and cameras follow the rig's order; without
// one, folders are sorted by name. num_frames is the largest over cameras; the report gives each
// camera's file and frame counts so the caller can warn or refuse. `rig` and `report` may be null.
// Throws as ReadOpenPoseFolder, plus IoError when `root` has no camera folder, and InputError
// for a folder matching no rig camera (lists the rig cameras), two folders matching one camera,
// or a rig camera without a folder.
Keypoints2D ReadOpenPoseTree(const std::string& root,
                             const Rig* rig,
                             const OpenPoseReadOptions& options,
                             OpenPoseReadReport* report);

// Writes `<root>/<camera>_json/<camera>.NNNN.json` for every camera and frame (OpenPose 1.3
// layout, one person per file, missing or non-finite joints as 0, 0, 0, floats in their shortest
// exact form, at most 9 significant digits). Camera names are keypoints.camera_names, or cam01,
// cam02, ... when that is empty. Everything is written into a hidden sibling directory that is
// renamed to `root` at the end, so a failure leaves nothing behind. IoError when `root` exists and
// is not an empty directory, its parent does not exist, or a write fails. std::invalid_argument
// when camera_names has the wrong size or duplicate names.
void WriteOpenPoseTree(const std::string& root, const Keypoints2D& keypoints);

}  // namespace rigpose

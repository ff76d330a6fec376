// SPDX-License-Identifier: BSD-3-Clause
// Skeleton registry: joint sets with canonical joint names and bones, and named mappings
// between them.
//
// Canonical joint names are shared by every skeleton ("left_shoulder" means the same joint in
// COCO-17, BODY_25 and Panoptic-19), so a mapping is name equality plus a few documented
// derived joints (see MakeJointMapping).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace rigpose {

struct Skeleton {
  std::string name;                        // registry key, e.g. "coco17"
  std::string display_name;                // e.g. "COCO-17"
  std::vector<std::string> joint_names;    // canonical names, index = joint id
  std::vector<std::pair<int, int>> bones;  // 0-based joint index pairs

  int NumJoints() const { return static_cast<int>(joint_names.size()); }
  std::optional<int> JointIndex(const std::string& joint_name) const;
  // Index of the mirrored joint (left_x <-> right_x; itself when unpaired): for flip
  // augmentation and left/right checks.
  std::vector<int> FlipPermutation() const;
};

// Registry keys: coco17, halpe26, body25, body25b, h36m17, panoptic19.
const std::vector<std::string>& SkeletonNames();
// Case-insensitive; accepts the display names too ("COCO-17", "BODY_25B"). nullptr if unknown.
const Skeleton* FindSkeleton(const std::string& name);
// Throws rigpose::InputError listing the known names.
const Skeleton& GetSkeleton(const std::string& name);
// The skeleton a keypoint count names when exactly one registered skeleton has that many joints
// (17 is ambiguous: COCO-17 and Human3.6M-17; detectors emit COCO-17, so 17 -> coco17 by the
// documented convention that 2D detections use COCO order). 25 is ambiguous (BODY_25 vs
// BODY_25B): nullopt, the caller must ask for --skeleton.
std::optional<std::string> SkeletonFromJointCount(int num_joints);

// How to compute each target joint from source joints: a weighted sum of source joints (weights
// sum to 1). `sources[j]` empty: the target joint is not available from this source skeleton.
struct JointMapping {
  std::string from;
  std::string to;
  std::vector<std::vector<std::pair<int, double>>> sources;  // per target joint
  std::vector<bool> exact;  // false where the joint is derived (e.g. neck = mid-shoulders)

  int NumMapped() const;
};

// Name equality first; then derived joints when the source lacks them:
//   mid_hip = pelvis = mean(left_hip, right_hip); neck = mean(left_shoulder, right_shoulder).
JointMapping MakeJointMapping(const Skeleton& from, const Skeleton& to);

}  // namespace rigpose

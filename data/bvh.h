// SPDX-License-Identifier: BSD-3-Clause
// Biovision Hierarchy (BVH) motion files: hierarchy, channels, motion, forward kinematics.
// Rotation channels compose in the order listed (Zrotation Yrotation Xrotation -> Rz * Ry * Rx,
// degrees); a joint's global position is parent_position + parent_rotation * (offset +
// position channels). Positions are in the file's units (CMU: 1 unit = 0.056444 m, Y up).
#pragma once

#include <string>
#include <vector>

#include <Eigen/Core>

namespace rigpose {

enum class BvhChannel { kXposition, kYposition, kZposition, kXrotation, kYrotation, kZrotation };

struct BvhJoint {
  std::string name;  // end sites are named "<parent>_end"
  int parent = -1;
  Eigen::Vector3d offset = Eigen::Vector3d::Zero();
  std::vector<BvhChannel> channels;
  int first_channel = 0;  // index of its first channel in a motion row
  bool end_site = false;
};

struct BvhMotion {
  std::vector<BvhJoint> joints;  // parents before children
  int num_frames = 0;
  int num_channels = 0;
  double frame_time_s = 0.0;
  std::vector<double> values;  // [num_frames][num_channels]

  int JointIndex(const std::string& name) const;  // -1 if absent
};

// Parses a BVH file. IoError naming the file and line for syntax errors, unknown channels,
// a frame count or row length that disagrees with the header, or non-finite values.
BvhMotion ReadBvh(const std::string& path);

// Global positions of every joint (end sites included) at one frame, in file units.
std::vector<Eigen::Vector3d> BvhForwardKinematics(const BvhMotion& motion, int frame);
// Same, plus each joint's global rotation (maps vectors of the rest pose's root frame to the
// file's world frame; an end site has its parent's rotation). `rotations` may be null.
void BvhForwardKinematics(const BvhMotion& motion,
                          int frame,
                          std::vector<Eigen::Vector3d>* positions,
                          std::vector<Eigen::Matrix3d>* rotations);

}  // namespace rigpose

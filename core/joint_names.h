// SPDX-License-Identifier: BSD-3-Clause
// Matching joint names across tools: OpenPose / Pose2Sim markers ("LShoulder", "Head"), COCO
// ("left_shoulder"), others ("L_Shoulder", "left-shoulder").
#pragma once

#include <string>

namespace rigpose {

// A key equal for the same joint in any of these namings: lower case without '_', ' ', '-', '.',
// a "left"/"right" prefix shortened to "l"/"r", and "head" read as "headtop" (Pose2Sim's marker
// for BODY_25B's head top). "LShoulder", "left_shoulder", "L_Shoulder" -> "lshoulder".
std::string JointNameKey(const std::string& name);

}  // namespace rigpose

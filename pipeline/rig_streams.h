// SPDX-License-Identifier: BSD-3-Clause
// Matching a capture's camera streams (data/frame_source.h) to a rig's cameras.
#pragma once

#include <string>
#include <vector>

#include "core/rig.h"
#include "data/frame_source.h"

namespace rigpose {

// For every rig camera c, the index of its stream (matched by name, Rig::MatchCamera). Throws
// InputError, prefixed with `context` (e.g. "detect" or "session lab1"), naming the camera for:
// a stream whose camera is not in the rig, a rig camera without a stream (naming `dir`), and a
// stream whose size differs from the camera's calibrated size by more than 1 %. Sizes within 1 %
// (e.g. a 1080-wide video of a camera calibrated at 1088, as in the Pose2Sim demo: the same
// sensor, cropped) are accepted with a warning: pixel coordinates are anchored at the top-left.
std::vector<int> MatchStreamsToRig(const std::vector<CameraStreamInfo>& streams,
                                   const Rig& rig,
                                   const std::string& rig_path,
                                   const std::string& dir,
                                   const std::string& context);

}  // namespace rigpose

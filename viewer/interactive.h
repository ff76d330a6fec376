// SPDX-License-Identifier: BSD-3-Clause
// Interactive playback of 3D skeletons in a rig with Open3D's legacy VisualizerWithKeyCallback
// (an X display is needed; mouse: rotate / pan / zoom as in Open3D).
//
// Keys: space play / pause, right / left arrow one frame forward / back (pauses), up / down arrow
// double / halve the playback speed (1/8x to 8x), Q or Esc close. The window title shows
// "frame i / N, speed, playing|paused".
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/keypoints.h"
#include "core/rig.h"
#include "core/skeleton.h"
#include "viewer/scene.h"

namespace rigpose {

// One person's sequence: every Poses3D has the same number of frames as the longest one or
// fewer (a shorter track is not drawn past its end).
struct PoseTrack {
  Poses3D poses;
  const Skeleton* skeleton = nullptr;
  std::string source;  // file name, for messages and the label
  // Optional per-joint values [F][J] (e.g. the 3D standard deviation): joints coloured on the
  // legend (NaN: the person's colour). Empty: none.
  std::vector<double> joint_values;
};

struct PlaybackOptions {
  int start_frame = 0;
  double frame_rate_hz = 0.0;  // 0: the first track's rate, else 30
  int width = 1280;
  int height = 720;
  std::string title = "rigpose view";
  int trail_frames = 0;                // > 0: joint trajectories over the last N frames
  std::optional<ColourLegend> legend;  // range of the joint values (default: per frame)
  SceneOptions scene;
  // > 0: stop after that many frames were shown while playing from the start (smoke tests under
  // Xvfb); 0: run until the window is closed.
  int close_after_frames = 0;
};

struct PlaybackSummary {
  int frames_shown = 0;
  int last_frame = 0;
};

// Opens the window and plays until it is closed. NoDisplayError without an X display; InputError
// (naming the track's source) when a track's joint count differs from its skeleton;
// UsageError for a start frame out of range or bad options.
PlaybackSummary RunPlayback(const Rig& rig,
                            const std::vector<PoseTrack>& tracks,
                            const PlaybackOptions& options);

}  // namespace rigpose

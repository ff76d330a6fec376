// SPDX-License-Identifier: BSD-3-Clause
// rigpose view --rig RIG [--poses FILE ...] [--frame N] [--snapshot OUT.png --view V]: draws the
// rig's camera frustums, the floor grid and world axes, and 3D skeletons (one --poses file per
// person) with Open3D (viewer/). With --snapshot it renders one frame to a PNG headless (under
// `xvfb-run -a -s "-screen 0 1920x1080x24"` on a machine without a desktop); without it, it opens
// an interactive window that plays the sequence (viewer/interactive.h for the keys).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "cli/cli.h"

namespace rigpose::cli {

struct ViewOptions {
  std::string rig;
  std::string rig_format;          // empty: detected
  std::vector<std::string> poses;  // 3D poses (.trc .csv .json .npy), one person per file
  std::string skeleton;            // empty: from each file (or its joint count)
  bool y_up = false;               // TRC files are Y-up (Pose2Sim)
  int frame = 0;                   // snapshot frame / first frame played
  std::string snapshot;            // PNG to write; empty: interactive window
  std::string view = "orbit";      // camera:NAME | top | front | orbit (with --snapshot)
  int width = 0;                   // 0: the camera's size for camera:NAME, else 1280
  int height = 0;                  // 0: the camera's size for camera:NAME, else 720
  double fps = 0.0;                // playback rate; 0: the first file's, else 30
  bool view_given = false;         // --view was on the command line
  // Per-joint values colouring the joints (viridis, legend printed): "auto" = beside each poses
  // file its covariance sidecar (rigpose triangulate / reconstruct: OUT-stem.cov.npy) as the 3D
  // standard deviation in mm, when present; "none"; or a .npy [F, J] of values (first person).
  std::string joint_values = "auto";
  int trail_frames = 0;  // > 0: joint trajectories over the last N frames
};

struct ViewSummary {
  int num_cameras = 0;
  int num_persons = 0;
  int num_frames = 0;    // longest pose sequence
  double seconds = 0.0;  // snapshot: render + write
  int frames_shown = 0;  // interactive
};

// UsageError for bad or contradictory options (--frame out of range names the file);
// IoError / InputError naming the file for unreadable files, a rig without cameras, or poses whose
// joint count differs from the skeleton; NoDisplayError (viewer/display.h) without an X display.
ViewSummary RunView(const ViewOptions& options, std::ostream& out);

void RegisterView(CLI::App& app, Action& action);

}  // namespace rigpose::cli

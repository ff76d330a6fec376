// SPDX-License-Identifier: BSD-3-Clause
// The selection file of `rigpose select` (read by `rigpose export`): CSV, one row per selected
// frame, best first.
//
//   # rigpose-selection v1
//   # strategy=multiview budget=200 unit=frames pool_frames=5000 cameras=cam0;cam1;cam2;cam3
//   rank,frame,views,score,<component>,<component>,...
//   1,1234,cam1;cam3,0.9731,0.812,0.55,...
//
// rank: 1-based; frame: 0-based index in the capture (the row of keypoints2d.npy / poses);
// views: the cameras to label at that frame, by rig name, ';'-separated (never empty);
// score: the strategy's frame score (higher = more worth labelling); components: the per-score
// breakdown (NaN written as "nan" where a component does not apply). Comment lines start
// with '#'; the "key=value" pairs of the second line are kept as metadata.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace rigpose {

struct SelectionRow {
  int rank = 0;
  int frame = 0;
  std::vector<std::string> views;
  double score = 0;
  std::vector<double> components;  // parallel to Selection::component_names
};

struct Selection {
  std::map<std::string, std::string> metadata;  // strategy, budget, unit, pool_frames, cameras
  std::vector<std::string> component_names;
  std::vector<SelectionRow> rows;

  int NumViews() const;  // sum of rows' views
};

// Atomic (temp file + rename). std::invalid_argument for a row without views, a camera name
// containing ',' ';' or a newline, or a metadata key/value with whitespace or '='.
void WriteSelectionCsv(const std::string& path, const Selection& selection);

// IoError naming the path when it cannot be read; InputError naming the path and the line for
// a missing header, a wrong column count, a non-integer rank/frame, a negative frame, an empty
// views cell, a duplicate frame, or a non-numeric score/component.
Selection ReadSelectionCsv(const std::string& path);

}  // namespace rigpose

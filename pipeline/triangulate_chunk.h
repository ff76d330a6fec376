// SPDX-License-Identifier: BSD-3-Clause
// One chunk of frames through the triangulation stages (`rigpose triangulate`, `rigpose
// reconstruct`): (weighted | robust) DLT, then optional Ceres refinement per frame or per
// sequence, plus the bounded-memory statistics both commands report.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/camera.h"
#include "core/keypoints.h"
#include "core/rig.h"
#include "triangulate/refine.h"
#include "triangulate/robust_triangulation.h"

namespace rigpose {

enum class TriangulationMethod { kDlt, kWeighted, kRobust };
enum class RefineMode { kNone, kFrame, kSequence };

// UsageError naming the flag (--method / --refine) for an unknown name.
TriangulationMethod ParseTriangulationMethod(const std::string& name);
RefineMode ParseRefineMode(const std::string& name);

// Drops the lens distortion of every camera (keeps fx, fy, cx, cy as a PINHOLE camera), as
// Pose2Sim does with undistort_points = false.
void DropDistortion(Rig* rig);

// Reprojection errors with bounded memory: exact count / sum, the median from a histogram of
// bin_px bins up to max_px (errors beyond land in the last bin).
class ErrorStats {
 public:
  explicit ErrorStats(double bin_px = 0.01, double max_px = 1000.0);
  void Add(double error_px);
  int64_t count() const { return count_; }
  double Mean() const;    // NaN when empty
  double Median() const;  // NaN when empty; resolution bin_px

 private:
  double bin_px_;
  int64_t count_ = 0;
  double sum_ = 0.0;
  std::vector<int64_t> bins_;
};

// The 3D result of one chunk, whatever produced it.
struct ChunkResult {
  Poses3D poses;
  std::vector<uint8_t> status;         // [F][J] TriangulationStatus
  std::vector<uint8_t> used;           // [F][C][J]: view used by the final fit
  std::vector<float> reproj_error_px;  // [F][C][J]
  std::vector<float> covariance;       // [F][J][6] (refined only)
};

// Counters summed over chunks.
struct ChunkCounters {
  int64_t num_hypotheses = 0;
  int64_t refine_failed = 0;
  int64_t refine_iterations = 0;
  double triangulate_seconds = 0.0;  // DLT / robust step
  double refine_seconds = 0.0;
  std::vector<double> bone_lengths_m;  // of the last refined chunk (sequence)
};

struct ChunkTriangulationOptions {
  TriangulationMethod method = TriangulationMethod::kRobust;
  RefineMode refine = RefineMode::kSequence;
  RobustOptions robust;  // robust.dlt also serves the plain DLT methods
  RefineOptions refine_options;
  std::vector<std::pair<int, int>> bones;  // sequence bone terms (empty: none)
  bool refine_all_views = false;           // refine from every usable view, not the inliers
};

ChunkResult TriangulateChunk(const std::vector<Camera>& cameras,
                             const Keypoints2D& keypoints,
                             const ChunkTriangulationOptions& options,
                             ChunkCounters* counters);

// Frames [begin, end) of `chunk` as a new chunk.
ChunkResult SliceChunk(const ChunkResult& chunk, int num_cameras, int begin, int end);

}  // namespace rigpose

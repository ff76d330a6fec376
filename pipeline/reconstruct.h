// SPDX-License-Identifier: BSD-3-Clause
// `rigpose reconstruct` for one session: synchronised videos (or image folders, or 2D keypoints)
// of a calibrated rig -> 2D detection with person tracking -> robust triangulation -> Ceres
// sequence refinement, streamed in chunks of frames with bounded memory, resumable.
//
// Streaming and resume. Frames are processed in chunks of `chunk-frames`. Each chunk is committed
// twice, atomically (written into a temporary folder that is renamed into place):
//   OUT/.rigpose/chunks/2d/NNNNNN/  keypoints.npy [n, C, J, 3] (+ variance.npy), meta.json (the
//                                   person tracker's boxes after the chunk, detection counts and
//                                   stage times)
//   OUT/.rigpose/chunks/3d/NNNNNN/  poses.npy, status.npy, used.npy, error.npy, cov.npy, meta.json
// The 3D of chunk k is solved from the 2D of frames [begin - overlap, end + overlap) (the
// neighbouring chunks' 2D), so sequence refinement has context on both sides and no seam; its
// result for [begin, end) depends on those 2D frames only. A rerun (after a crash or SIGKILL)
// keeps every committed chunk, restores the tracker from the last committed 2D chunk, reopens the
// videos at its end (frames before are grabbed, not decoded) and recomputes only what is missing:
// the final files are identical to those of an uninterrupted run (same options and machine).
// OUT/.rigpose/session.json records the effective configuration: a rerun with other options is
// refused (use force). The final outputs are assembled from the chunks:
//   poses3d.trc          3D joints (metres; Z up unless y-up)
//   poses3d.csv          one row per frame and joint: position, validity, status, covariance
//   poses3d.status.npy   |u1 [F, J] TriangulationStatus;  poses3d.cov.npy  <f4 [F, J, 6] (m²)
//   keypoints2d.npy      <f4 [F, C, J, 3] 2D keypoints (rig camera order; for selection/export)
//   keypoints2d.variance.npy  <f4 [F, C, J] px² (MC-dropout / aleatoric models only)
//   timing.json          seconds per stage, this run and summed over every chunk, chunks
//                        computed and resumed
//   report.json          per-camera and per-camera-per-joint reprojection errors, detection
//                        counts, triangulation status counts, bone lengths, MPJPE per joint
//                        against `reference`; written last: its presence marks a finished
//                        session, which a rerun skips unless force.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "pipeline/reconstruct_config.h"

namespace rigpose {

struct StageSeconds {
  double decode = 0, crop = 0, network = 0, triangulate = 0, refine = 0, write = 0;
  double Total() const { return decode + crop + network + triangulate + refine + write; }
};

struct ReconstructRunOptions {
  std::string name;    // session name (messages, report)
  bool force = false;  // recompute a finished session / one made with other options
  // Called after every frame detected and every chunk triangulated: (stage, done, total).
  std::function<void(const std::string& stage, int done, int total)> progress;
};

struct ReconstructResult {
  std::string name, out_dir;
  bool skipped = false;  // finished by an earlier run
  int frames = 0, cameras = 0, joints = 0, chunks = 0;
  int chunks_2d_computed = 0, chunks_2d_resumed = 0;
  int chunks_3d_computed = 0, chunks_3d_resumed = 0;
  StageSeconds run_seconds;  // this run, per stage
  StageSeconds all_seconds;  // summed over every chunk's record (all runs)
  double seconds = 0;        // this run, wall
  double median_px = 0, valid_share = 0;
  double mpjpe_m = -1;  // < 0: no reference
  std::string device;
};

// Runs (or resumes, or skips) one session into out_dir. Throws UsageError for bad options,
// InputError / IoError naming the session, file and camera for bad input; committed chunks stay.
ReconstructResult RunReconstruct(const ReconstructConfig& config,
                                 const std::string& out_dir,
                                 const ReconstructRunOptions& options,
                                 std::ostream& log);

}  // namespace rigpose

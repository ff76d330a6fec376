// SPDX-License-Identifier: BSD-3-Clause
#include "pipeline/triangulate_chunk.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/error.h"
#include "triangulate/dlt.h"

namespace rigpose {

TriangulationMethod ParseTriangulationMethod(const std::string& name) {
  if (name == "dlt") return TriangulationMethod::kDlt;
  if (name == "weighted") return TriangulationMethod::kWeighted;
  if (name == "robust") return TriangulationMethod::kRobust;
  throw UsageError("--method '" + name + "' is not dlt, weighted or robust");
}

RefineMode ParseRefineMode(const std::string& name) {
  if (name == "none") return RefineMode::kNone;
  if (name == "frame") return RefineMode::kFrame;
  if (name == "sequence") return RefineMode::kSequence;
  throw UsageError("--refine '" + name + "' is not none, frame or sequence");
}

void DropDistortion(Rig* rig) {
  for (Camera& camera : rig->cameras) {
    camera.params.resize(4);
    camera.model_id = CameraModelId::kPinhole;
  }
}

ErrorStats::ErrorStats(double bin_px, double max_px)
    : bin_px_(bin_px), bins_(static_cast<size_t>(std::ceil(max_px / bin_px)), 0) {}

void ErrorStats::Add(double error_px) {
  if (!std::isfinite(error_px)) return;
  ++count_;
  sum_ += error_px;
  const size_t bin = std::min<size_t>(bins_.size() - 1, static_cast<size_t>(error_px / bin_px_));
  ++bins_[bin];
}

double ErrorStats::Mean() const { return count_ > 0 ? sum_ / count_ : NAN; }

double ErrorStats::Median() const {
  if (count_ == 0) return NAN;
  int64_t seen = 0;
  for (size_t b = 0; b < bins_.size(); ++b) {
    seen += bins_[b];
    if (2 * seen >= count_) return (b + 0.5) * bin_px_;
  }
  return NAN;
}

ChunkResult TriangulateChunk(const std::vector<Camera>& cameras,
                             const Keypoints2D& keypoints,
                             const ChunkTriangulationOptions& options,
                             ChunkCounters* counters) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  ChunkResult chunk;
  const int num_frames = keypoints.num_frames();
  const int num_cameras = keypoints.num_cameras();
  const int num_joints = keypoints.num_joints();
  if (options.method == TriangulationMethod::kRobust) {
    RobustBatchResult result = TriangulateRobustBatch(cameras, keypoints, options.robust);
    chunk.poses = std::move(result.poses);
    chunk.status = std::move(result.status);
    chunk.used = std::move(result.inlier_mask);
    chunk.reproj_error_px = std::move(result.reproj_error_px);
    counters->num_hypotheses += result.num_hypotheses;
  } else {
    DltOptions dlt = options.robust.dlt;
    dlt.weighted = options.method == TriangulationMethod::kWeighted;
    DltBatchResult result = TriangulateDltBatch(cameras, keypoints, dlt);
    chunk.poses = std::move(result.poses);
    chunk.status = std::move(result.status);
    chunk.reproj_error_px = std::move(result.reproj_error_px);
    // Every usable view of a valid joint is used by the DLT.
    chunk.used.assign(chunk.reproj_error_px.size(), 0);
    for (size_t i = 0; i < chunk.used.size(); ++i) {
      chunk.used[i] = std::isfinite(chunk.reproj_error_px[i]) ? 1 : 0;
    }
  }
  counters->triangulate_seconds += std::chrono::duration<double>(Clock::now() - start).count();
  if (options.refine == RefineMode::kNone) return chunk;
  // Refine from the views the linear step used (robust: its inliers), or from every usable view
  // (the robust loss then weighs the disagreeing ones down).
  const std::vector<uint8_t> all_views;
  const std::vector<uint8_t>& mask = options.refine_all_views ? all_views : chunk.used;
  RefineResult refined =
      options.refine == RefineMode::kFrame
          ? RefineFrames(cameras, keypoints, chunk.poses, mask, options.refine_options)
          : RefineSequence(
                cameras, keypoints, chunk.poses, mask, options.bones, options.refine_options);
  counters->refine_seconds += refined.summary.seconds;
  counters->refine_failed += refined.summary.num_failed;
  counters->refine_iterations += refined.summary.num_iterations;
  if (!refined.summary.bone_lengths_m.empty()) {
    counters->bone_lengths_m = refined.summary.bone_lengths_m;
  }
  chunk.poses = std::move(refined.poses);
  chunk.covariance = std::move(refined.covariance);
  // The refined reprojection errors, for the views that were used.
  for (int f = 0; f < num_frames; ++f) {
    for (int c = 0; c < num_cameras; ++c) {
      for (int j = 0; j < num_joints; ++j) {
        const int64_t i = keypoints.Offset(f, c, j) / 3;
        if (options.refine_all_views) {
          chunk.used[i] = std::isfinite(refined.reproj_error_px[i]) ? 1 : 0;
        }
        if (chunk.used[i]) chunk.reproj_error_px[i] = refined.reproj_error_px[i];
      }
    }
  }
  return chunk;
}

ChunkResult SliceChunk(const ChunkResult& chunk, int num_cameras, int begin, int end) {
  const int num_joints = chunk.poses.num_joints();
  const int count = end - begin;
  ChunkResult out;
  out.poses = Poses3D(count, num_joints);
  out.poses.skeleton = chunk.poses.skeleton;
  std::copy(chunk.poses.data() + chunk.poses.Offset(begin, 0),
            chunk.poses.data() + chunk.poses.Offset(begin, 0) + int64_t(4) * count * num_joints,
            out.poses.data());
  auto slice = [&](const auto& v, int64_t per_frame) {
    using T = typename std::decay_t<decltype(v)>::value_type;
    if (v.empty()) return std::vector<T>();
    return std::vector<T>(v.begin() + begin * per_frame, v.begin() + end * per_frame);
  };
  out.status = slice(chunk.status, num_joints);
  out.used = slice(chunk.used, int64_t(num_cameras) * num_joints);
  out.reproj_error_px = slice(chunk.reproj_error_px, int64_t(num_cameras) * num_joints);
  out.covariance = slice(chunk.covariance, int64_t(6) * num_joints);
  return out;
}

}  // namespace rigpose

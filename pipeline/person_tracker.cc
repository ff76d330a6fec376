// SPDX-License-Identifier: BSD-3-Clause
#include "pipeline/person_tracker.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>

#include "core/error.h"
#include "core/keypoints.h"
#include "detect2d/detector.h"
#include "detect2d/image_crop.h"
#include "triangulate/robust_triangulation.h"

namespace rigpose {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// One crop to run: which camera, its transform, and the crop pixels (kept alive for the batch).
struct PendingCrop {
  int camera = 0;
  CropTransform transform;
  cv::Mat pixels;
};

double MeanScore(const std::vector<float>& keypoints) {
  double sum = 0;
  const size_t n = keypoints.size() / 3;
  for (size_t j = 0; j < n; ++j) sum += keypoints[3 * j + 2];
  return n ? sum / n : 0.0;
}

}  // namespace

PersonTracker::PersonTracker(KeypointDetector* detector,
                             int num_cameras,
                             std::vector<Camera> cameras,
                             const PersonTrackerOptions& options)
    : detector_(detector),
      num_cameras_(num_cameras),
      cameras_(std::move(cameras)),
      options_(options),
      boxes_(num_cameras) {
  if (detector_ == nullptr) throw std::invalid_argument("PersonTracker: null detector");
  if (num_cameras < 1) throw std::invalid_argument("PersonTracker: no camera");
  if (!cameras_.empty() && static_cast<int>(cameras_.size()) != num_cameras) {
    throw std::invalid_argument("PersonTracker: " + std::to_string(cameras_.size()) +
                                " cameras for " + std::to_string(num_cameras) + " streams");
  }
  if (!(options.person_min_score >= 0 && options.person_min_score < 1)) {
    throw UsageError("person-min-score must be in [0, 1)");
  }
  if (!(options.box_padding >= 0 && options.box_padding <= 2)) {
    throw UsageError("box-padding must be in [0, 2]");
  }
  num_joints_ = detector_->info().num_joints;
  reset_stats();
}

void PersonTracker::set_boxes(const std::vector<std::optional<CropBox>>& boxes) {
  if (static_cast<int>(boxes.size()) != num_cameras_) {
    throw std::invalid_argument("PersonTracker::set_boxes: wrong camera count");
  }
  boxes_ = boxes;
}

void PersonTracker::reset_stats() {
  stats_ = PersonTrackerStats{};
  stats_.frames.assign(num_cameras_, 0);
  stats_.frames_with_person.assign(num_cameras_, 0);
  stats_.score_sum.assign(num_cameras_, 0.0);
}

void PersonTracker::Track(const std::vector<const cv::Mat*>& images,
                          float* keypoints,
                          float* variance) {
  const int C = num_cameras_;
  const int J = num_joints_;
  if (static_cast<int>(images.size()) != C) {
    throw std::invalid_argument("PersonTracker::Track: " + std::to_string(images.size()) +
                                " images for " + std::to_string(C) + " cameras");
  }
  const ModelInfo& info = detector_->info();
  const PersonTrackerOptions& o = options_;

  auto run = [&](std::vector<PendingCrop>& crops) {
    std::vector<ImageU8> views;
    for (const PendingCrop& crop : crops) {
      views.push_back(ImageU8{crop.pixels.data,
                              crop.pixels.cols,
                              crop.pixels.rows,
                              static_cast<int64_t>(crop.pixels.step[0]),
                              true});
    }
    const Clock::time_point t = Clock::now();
    std::vector<CropDetection> result = detector_->Detect(views);
    stats_.seconds_infer += Seconds(t);
    stats_.crops += static_cast<int64_t>(crops.size());
    // Keypoints to image pixels.
    for (size_t i = 0; i < crops.size(); ++i) {
      for (int j = 0; j < J; ++j) {
        float* k = &result[i].keypoints[3 * j];
        const Eigen::Vector2d img = crops[i].transform.ToImage(Eigen::Vector2d(k[0], k[1]));
        k[0] = static_cast<float>(img.x());
        k[1] = static_cast<float>(img.y());
      }
      for (float& v : result[i].variance) {
        v = static_cast<float>(v * crops[i].transform.scale * crops[i].transform.scale);
      }
    }
    return result;
  };
  auto make_crop = [&](int c, const CropBox& box) {
    const Clock::time_point t = Clock::now();
    PendingCrop crop;
    crop.camera = c;
    crop.transform = MakeCropTransform(box, info.input_width, info.input_height);
    crop.pixels = ExtractCrop(*images[c], crop.transform);
    stats_.seconds_crop += Seconds(t);
    return crop;
  };

  // Pass 1: tracked boxes, or the whole frame.
  std::vector<PendingCrop> crops;
  for (int c = 0; c < C; ++c) {
    const cv::Mat& image = *images[c];
    if (!boxes_[c]) ++stats_.full_frame_searches;
    crops.push_back(make_crop(c, boxes_[c] ? *boxes_[c] : FullImageBox(image.cols, image.rows)));
  }
  std::vector<CropDetection> results = run(crops);
  // Pass 2 for cameras that started from the whole frame.
  if (o.refine_first) {
    std::vector<PendingCrop> second;
    std::vector<int> which;
    for (int c = 0; c < C; ++c) {
      if (boxes_[c] || MeanScore(results[c].keypoints) < 0.5 * o.person_min_score) continue;
      const std::optional<CropBox> box = BoxFromKeypoints(
          results[c].keypoints.data(), J, o.person_min_score, o.box_padding, 32.0, 3);
      if (!box) continue;
      second.push_back(make_crop(c, *box));
      which.push_back(c);
    }
    if (!second.empty()) {
      std::vector<CropDetection> refined = run(second);
      for (size_t i = 0; i < which.size(); ++i) results[which[i]] = std::move(refined[i]);
    }
  }
  for (int c = 0; c < C; ++c) {
    ++stats_.frames[c];
    const double mean_score = MeanScore(results[c].keypoints);
    const bool person = mean_score >= o.person_min_score;
    boxes_[c] =
        person ? BoxFromKeypoints(
                     results[c].keypoints.data(), J, o.person_min_score, o.box_padding, 32.0, 3)
               : std::nullopt;
    if (person) {
      ++stats_.frames_with_person[c];
      stats_.score_sum[c] += mean_score;
    }
    for (int j = 0; j < J; ++j) {
      const float* k = &results[c].keypoints[3 * j];
      const bool valid = person && k[2] > 0 && std::isfinite(k[0]) && std::isfinite(k[1]);
      float* dst = &keypoints[(static_cast<size_t>(c) * J + j) * 3];
      dst[0] = valid ? k[0] : 0.f;
      dst[1] = valid ? k[1] : 0.f;
      dst[2] = valid ? k[2] : 0.f;
      if (variance != nullptr) {
        variance[static_cast<size_t>(c) * J + j] =
            valid && !results[c].variance.empty() ? results[c].variance[j] : 0.f;
      }
    }
  }
  // Cameras that lost their person get next frame's box from this frame's 3D, reprojected.
  if (!o.track_3d || cameras_.empty()) return;
  const int found = static_cast<int>(std::count_if(
      boxes_.begin(), boxes_.end(), [](const std::optional<CropBox>& b) { return b.has_value(); }));
  if (found < 2 || found == C) return;
  Keypoints2D frame(1, C, J);
  for (int c = 0; c < C; ++c) {
    if (!boxes_[c]) continue;
    for (int j = 0; j < J; ++j) {
      const float* k = &keypoints[(static_cast<size_t>(c) * J + j) * 3];
      if (k[2] >= o.person_min_score) frame.Set(0, c, j, k[0], k[1], k[2]);
    }
  }
  RobustOptions robust;
  robust.dlt.num_threads = 1;
  const RobustBatchResult result = TriangulateRobustBatch(cameras_, frame, robust);
  for (int c = 0; c < C; ++c) {
    if (boxes_[c]) continue;
    std::vector<float> projected(static_cast<size_t>(J) * 3, 0.f);
    for (int j = 0; j < J; ++j) {
      if (!result.poses.IsValid(0, j)) continue;
      const auto img = cameras_[c].ImgFromWorld(result.poses.Position(0, j));
      if (!img) continue;
      projected[3 * j] = static_cast<float>(img->x());
      projected[3 * j + 1] = static_cast<float>(img->y());
      projected[3 * j + 2] = 1.f;
    }
    boxes_[c] = BoxFromKeypoints(projected.data(), J, 0.5, o.box_padding, 32.0, 3);
    if (boxes_[c]) ++stats_.boxes_from_3d;
  }
}

}  // namespace rigpose

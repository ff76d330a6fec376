// SPDX-License-Identifier: BSD-3-Clause
#include "pipeline/pool_scores.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <string>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "al/single_view.h"
#include "core/error.h"
#include "detect2d/crop.h"
#include "detect2d/image_crop.h"

namespace rigpose {
namespace {

using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

struct PendingView {
  int frame = 0, camera = 0;
  CropTransform transform;
  cv::Mat pixels;
};

}  // namespace

PoolScoringResult ScorePoolWithDetector(KeypointDetector& detector,
                                        MultiCameraFrameSource& source,
                                        const std::vector<int>& stream_of_camera,
                                        const Keypoints2D& keypoints,
                                        const PoolScoringOptions& options,
                                        const std::function<void(int)>& progress) {
  const Clock::time_point start = Clock::now();
  const int F = keypoints.num_frames(), C = keypoints.num_cameras(), J = keypoints.num_joints();
  const ModelInfo& info = detector.info();
  if (info.num_joints != J) {
    throw InputError("the detector has " + std::to_string(info.num_joints) +
                     " joints, the 2D keypoints " + std::to_string(J));
  }
  if (static_cast<int>(stream_of_camera.size()) != C) {
    throw std::invalid_argument("ScorePoolWithDetector: stream_of_camera has " +
                                std::to_string(stream_of_camera.size()) + " entries for " +
                                std::to_string(C) + " cameras");
  }
  if (source.num_frames() < F) {
    throw InputError("the videos have " + std::to_string(source.num_frames()) +
                     " frames, the 2D keypoints " + std::to_string(F));
  }
  PoolScoringResult out;
  out.num_frames = F;
  out.num_cameras = C;
  out.num_joints = J;
  const size_t FC = static_cast<size_t>(F) * C;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  out.view_available.assign(FC, 0);
  if (options.entropy) out.view_entropy.assign(FC, nan);
  if (options.variance) {
    out.view_aleatoric.assign(FC, nan);
    out.variance.assign(FC * J, nan);
  }
  const int hm_w = detector.heatmap_width(), hm_h = detector.heatmap_height();

  std::vector<PendingView> pending;
  const auto flush = [&] {
    if (pending.empty()) return;
    std::vector<ImageU8> views;
    for (const PendingView& v : pending) {
      views.push_back(ImageU8{v.pixels.data,
                              v.pixels.cols,
                              v.pixels.rows,
                              static_cast<int64_t>(v.pixels.step[0]),
                              true});
    }
    const Clock::time_point t = Clock::now();
    const std::vector<CropDetection> result = detector.Detect(views);
    out.seconds_network += Seconds(t);
    out.crops += static_cast<int64_t>(pending.size());
    for (size_t i = 0; i < pending.size(); ++i) {
      const size_t fc = static_cast<size_t>(pending[i].frame) * C + pending[i].camera;
      const CropDetection& r = result[i];
      out.view_available[fc] = 1;
      if (options.entropy) {
        if (r.heatmaps.size() != static_cast<size_t>(J) * hm_w * hm_h) {
          throw std::logic_error("ScorePoolWithDetector: the detector kept no heatmaps");
        }
        out.view_entropy[fc] = static_cast<float>(MultiPeakEntropy(
            r.heatmaps.data(), J, hm_h, hm_w, options.entropy_peaks, options.entropy_min_distance));
      }
      if (options.features) {
        if (r.features.empty()) {
          throw std::logic_error("ScorePoolWithDetector: the detector kept no features");
        }
        if (out.feature_dim == 0) {
          out.feature_dim = static_cast<int>(r.features.size());
          out.view_features.assign(FC * out.feature_dim, 0.f);
        }
        std::copy(r.features.begin(),
                  r.features.end(),
                  out.view_features.begin() + static_cast<int64_t>(fc) * out.feature_dim);
      }
      if (options.variance && static_cast<int>(r.variance.size()) == J) {
        double sum_log = 0;
        const double scale2 = pending[i].transform.scale * pending[i].transform.scale;
        for (int j = 0; j < J; ++j) {
          const double v = std::max<double>(r.variance[j], 1e-12);
          sum_log += std::log(v);
          out.variance[fc * J + j] = static_cast<float>(v * scale2);
        }
        out.view_aleatoric[fc] = static_cast<float>(sum_log / J);
      }
    }
    pending.clear();
  };

  std::vector<cv::Mat> images;
  int frame_index = 0;
  for (int f = 0; f < F; ++f) {
    const Clock::time_point t = Clock::now();
    if (!source.Next(&images, &frame_index)) {
      throw InputError("the videos end at frame " + std::to_string(f) + ", the 2D keypoints have " +
                       std::to_string(F) + " frames");
    }
    out.seconds_decode += Seconds(t);
    for (int c = 0; c < C; ++c) {
      std::optional<CropBox> box = BoxFromKeypoints(keypoints.data() + keypoints.Offset(f, c, 0),
                                                    J,
                                                    options.min_score,
                                                    options.box_padding,
                                                    32.0,
                                                    3);
      // No person found in this view: the whole frame, letterboxed (the tracker's first pass).
      const cv::Mat& image = images[stream_of_camera[c]];
      if (!box) box = FullImageBox(image.cols, image.rows);
      PendingView view;
      view.frame = f;
      view.camera = c;
      view.transform = MakeCropTransform(*box, info.input_width, info.input_height);
      view.pixels = ExtractCrop(image, view.transform);
      pending.push_back(std::move(view));
    }
    if ((f + 1) % std::max(1, options.frames_per_batch) == 0) flush();
    if (progress) progress(f + 1);
  }
  flush();
  if (options.features && out.feature_dim == 0) out.view_features.clear();
  out.seconds = Seconds(start);
  return out;
}

LabelledLosses ComputeLabelledLosses(KeypointDetector& detector,
                                     const KeypointTrainingSet& set,
                                     const PoolScoringOptions& options) {
  const ModelInfo& info = detector.info();
  const int J = info.num_joints;
  if (set.num_joints() != J) {
    throw InputError("the labelled set has " + std::to_string(set.num_joints()) +
                     " joints, the detector " + std::to_string(J));
  }
  const int hm_w = detector.heatmap_width(), hm_h = detector.heatmap_height();
  const double sigma = info.sigma > 0 ? info.sigma : 2.0;
  LabelledLosses out;
  std::vector<float> xys(static_cast<size_t>(J) * 3);
  for (int i = 0; i < set.size(); ++i) {
    const TrainingInstance& instance = set.instance(i);
    const cv::Mat image = cv::imread(instance.image_path, cv::IMREAD_COLOR);
    if (image.empty()) throw IoError(instance.image_path + ": cannot read the image");
    for (int j = 0; j < J; ++j) {
      const bool labelled = instance.keypoints[3 * j + 2] > 0;
      xys[3 * j] = static_cast<float>(instance.keypoints[3 * j]);
      xys[3 * j + 1] = static_cast<float>(instance.keypoints[3 * j + 1]);
      xys[3 * j + 2] = labelled ? 1.f : 0.f;
    }
    std::optional<CropBox> box = BoxFromKeypoints(xys.data(), J, 0.5, options.box_padding, 32.0, 2);
    if (!box) continue;
    const CropTransform transform = MakeCropTransform(*box, info.input_width, info.input_height);
    const cv::Mat crop = ExtractCrop(image, transform);
    const std::vector<CropDetection> result = detector.Detect(
        {ImageU8{crop.data, crop.cols, crop.rows, static_cast<int64_t>(crop.step[0]), true}});
    const CropDetection& r = result.front();
    if (r.heatmaps.size() != static_cast<size_t>(J) * hm_w * hm_h || r.features.empty()) {
      throw std::logic_error("ComputeLabelledLosses: the detector keeps no heatmaps or features");
    }
    double loss = 0;
    int joints = 0;
    for (int j = 0; j < J; ++j) {
      if (xys[3 * j + 2] <= 0) continue;
      const Eigen::Vector2d centre = transform.ImageToHeatmap(
          Eigen::Vector2d(xys[3 * j], xys[3 * j + 1]), info.heatmap_stride);
      double sum = 0;
      for (int y = 0; y < hm_h; ++y) {
        for (int x = 0; x < hm_w; ++x) {
          const double d2 =
              (x - centre.x()) * (x - centre.x()) + (y - centre.y()) * (y - centre.y());
          const double target = d2 <= 9 * sigma * sigma ? std::exp(-d2 / (2 * sigma * sigma)) : 0.0;
          const double e = r.heatmaps[(static_cast<size_t>(j) * hm_h + y) * hm_w + x] - target;
          sum += e * e;
        }
      }
      loss += sum / (hm_w * hm_h);
      ++joints;
    }
    if (joints == 0) continue;
    if (out.feature_dim == 0) out.feature_dim = static_cast<int>(r.features.size());
    out.features.insert(out.features.end(), r.features.begin(), r.features.end());
    out.losses.push_back(loss / joints);
  }
  return out;
}

}  // namespace rigpose

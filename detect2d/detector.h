// SPDX-License-Identifier: BSD-3-Clause
// Batched inference of a model file (detect2d/model.h) on person crops: heatmaps -> keypoints
// (detect2d/heatmap_decode.h), optional MC-dropout + aleatoric variance, pooled features.
// No LibTorch type appears here (pimpl).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "detect2d/heatmap_decode.h"
#include "detect2d/model.h"

namespace rigpose {

struct DetectorOptions {
  std::string device = "cpu";  // cpu | cuda | cuda:N
  bool fp16 = true;            // CUDA only: autocast to half precision
  bool channels_last = true;   // CUDA only
  int num_threads = 0;         // CPU intra-op threads; 0: all cores
  int batch_size = 16;         // crops per forward pass
  int mc_dropout_passes = 0;   // T > 1: MC-dropout sampling (needs a model with dropout)
  // Flip test: one more pass on the mirrored crops, mapped back (x <-> W - 1 - x, left <-> right
  // joints) and averaged with the plain result: heatmaps for heatmap models (as SimpleBaseline
  // and HRNet report), decoded keypoints for MoveNet (its centre/offset maps do not mirror).
  // The 2D variance still comes from the unmirrored passes only.
  bool flip_test = false;
  HeatmapDecodeOptions decode;
  bool keep_heatmaps = false;
  bool keep_features = false;
  std::vector<std::string> Check() const;
};

// One 8-bit 3-channel image, HWC, rows `stride_bytes` apart.
struct ImageU8 {
  const uint8_t* data = nullptr;
  int width = 0, height = 0;
  int64_t stride_bytes = 0;
  bool bgr = true;  // OpenCV order; false: RGB
};

struct CropDetection {
  std::vector<float> keypoints;  // [J][3]: x, y in crop pixels (centres at integers), score
  // [J] crop px^2 (mean of the x and y variances): Var = mean(y^2) - mean(y)^2 over the MC
  // passes + mean(sigma^2) of the aleatoric head; empty when neither is available.
  std::vector<float> variance;
  std::vector<float> heatmaps;  // [J][h][w] when keep_heatmaps (mean over MC passes)
  std::vector<float> features;  // [C] when keep_features
};

class KeypointDetector {
 public:
  // IoError naming the path for a bad model file; UsageError for bad options or a CUDA device
  // on a build/machine without CUDA.
  static std::unique_ptr<KeypointDetector> Load(const std::string& model_path,
                                                const DetectorOptions& options);
  ~KeypointDetector();
  KeypointDetector(const KeypointDetector&) = delete;
  KeypointDetector& operator=(const KeypointDetector&) = delete;

  const ModelInfo& info() const;
  int heatmap_width() const;
  int heatmap_height() const;
  std::string device() const;

  // Every crop must be info().input_width x input_height (InputError naming the index).
  std::vector<CropDetection> Detect(const std::vector<ImageU8>& crops);

 private:
  struct Impl;
  explicit KeypointDetector(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// True when this build can use CUDA for the detector and a device is visible.
bool DetectorCudaAvailable();

}  // namespace rigpose

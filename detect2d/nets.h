// SPDX-License-Identifier: BSD-3-Clause
// INTERNAL to detect2d (includes LibTorch): the native network architectures.
// - SimpleBaseline (Xiao et al., ECCV 2018): ResNet-18/50 + 3 stride-2 deconvolutions.
// - HRNet-W32 (Sun et al., CVPR 2019): four parallel resolutions with repeated fusion.
// - MoveNet SinglePose: the convolution DAG of detect2d/movenet.h.
// Every net maps a normalised image batch [B, 3, H, W] to heatmaps [B, J, H/4, W/4]; the
// heatmap nets add optional dropout before the last layer (usable at inference: MC-dropout),
// an optional aleatoric head (per-joint log-variance) and pooled backbone features.
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "detect2d/movenet.h"

namespace rigpose::detect2d_internal {

struct NetConfig {
  std::string arch = "simplebaseline-r18";  // simplebaseline-r18|-r50, hrnet-w32, movenet
  int num_joints = 17;
  double dropout = 0.0;    // probability before the final layer; 0: no dropout layer
  bool aleatoric = false;  // per-joint log-variance head
};

struct NetOutput {
  torch::Tensor heatmaps;  // [B, J, h, w] (MoveNet: sigmoid applied)
  torch::Tensor log_var;   // [B, J] or undefined
  torch::Tensor features;  // [B, C] pooled backbone features (undefined for MoveNet)
  // MoveNet only: sigmoid centre [B, 1, h, w], regressions and offsets [B, 34, h, w].
  torch::Tensor center, regress, offset;
};

class DetectorNet : public torch::nn::Module {
 public:
  virtual NetOutput Forward(const torch::Tensor& x) = 0;
  // `samples` outputs of one input: equal to `samples` calls of Forward in distribution (with
  // dropout active, each draws its own mask); the heatmap nets run their deterministic trunk
  // once and only the dropout head per sample.
  virtual std::vector<NetOutput> ForwardSamples(const torch::Tensor& x, int samples) {
    std::vector<NetOutput> outs;
    for (int s = 0; s < std::max(samples, 1); ++s) outs.push_back(Forward(x));
    return outs;
  }
  // Dropout active at inference too (MC-dropout sampling), whatever train()/eval() says.
  void set_mc_dropout(bool on) { mc_dropout_ = on; }
  bool dropout_active() const { return is_training() || mc_dropout_; }

 private:
  bool mc_dropout_ = false;
};

// Throws rigpose::UsageError for an unknown arch or bad config.
std::shared_ptr<DetectorNet> MakeNet(const NetConfig& config);
std::shared_ptr<DetectorNet> MakeMoveNet(const MoveNetSpec& spec);  // weights from the spec

bool IsKnownArch(const std::string& arch);

}  // namespace rigpose::detect2d_internal

// SPDX-License-Identifier: BSD-3-Clause
// INTERNAL to detect2d (includes LibTorch): loading and saving model files.
#pragma once

#include <torch/script.h>
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "detect2d/model.h"
#include "detect2d/movenet.h"
#include "detect2d/nets.h"

namespace rigpose::detect2d_internal {

struct LoadedModel {
  ModelInfo info;
  std::shared_ptr<DetectorNet> net;          // native nets and MoveNet
  std::optional<torch::jit::Module> script;  // imported TorchScript
  MoveNetSpec movenet;                       // MoveNet: wiring and decoding constants (no weights)
};

// IoError naming the path (see ReadModelInfo). The model is moved to `device`, in eval mode.
LoadedModel LoadModel(const std::string& path, const torch::Device& device);

// Writes atomically (temporary file + rename). `movenet` only for MoveNet nets.
void SaveModel(const std::string& path,
               const ModelInfo& info,
               DetectorNet& net,
               const MoveNetSpec* movenet = nullptr);

NetConfig NetConfigOf(const ModelInfo& info);

// Runs save(temporary path beside `path`) then renames it over `path`; the temporary file is
// removed on any failure (LibTorch errors become IoError naming `path`).
void WriteFileAtomically(const std::string& path,
                         const std::function<void(const std::string&)>& save);

// Forward pass of any loaded model; checks the heatmap contract of detect2d/model.h.
NetOutput RunModel(LoadedModel& model, const torch::Tensor& normalised_images);
// `samples` stochastic outputs (MC dropout, dropout active): native heatmap nets share one trunk
// pass (DetectorNet::ForwardSamples), other models run `samples` times. Same contract checks.
std::vector<NetOutput> RunModelSamples(LoadedModel& model,
                                       const torch::Tensor& normalised_images,
                                       int samples);

}  // namespace rigpose::detect2d_internal

// SPDX-License-Identifier: BSD-3-Clause
// Model files of the detector (no LibTorch types here).
//
// A rigpose model file is a LibTorch archive (zip) that carries its own description:
//  - native nets (SimpleBaseline, HRNet-W32) and MoveNet: the weights + a "rigpose_model" text
//    attribute (ModelInfo below) + for MoveNet the layer wiring;
//  - imported TorchScript: the user's scripted module + the same description as an extra file.
// Contract of every model, TorchScript included (docs/FORMATS.md "Detector models"):
//   input  float32 [B, 3, H, W], RGB, normalised (pixel / 255 - mean[c]) / std[c], H x W =
//          input_height x input_width (the person crop, letterboxed);
//   output heatmaps [B, J, H / stride, W / stride] (a Tensor, or a tuple/list whose first
//          element is that Tensor), J = the joints of `skeleton` in registry order; the heatmap
//          pixel u is centred on crop pixel (u + 0.5) * stride - 0.5.
#pragma once

#include <array>
#include <string>
#include <vector>

namespace rigpose {

struct ModelInfo {
  std::string kind = "native";  // native | movenet | torchscript
  std::string arch =
      "simplebaseline-r18";         // simplebaseline-r18|-r50, hrnet-w32, movenet, torchscript
  std::string skeleton = "coco17";  // core/skeleton.h registry key
  int num_joints = 17;
  int input_width = 192, input_height = 256;
  int heatmap_stride = 4;
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};  // RGB, of pixel / 255
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};
  double dropout = 0;      // MC-dropout probability of the net (0: none)
  bool aleatoric = false;  // has a per-joint log-variance head
  double sigma = 2.0;      // Gaussian of the training targets, heatmap px (DARK uses it)
  int trained_epochs = 0;  // bookkeeping written by `rigpose train`
  std::string source;      // where the weights came from (free text)

  std::vector<std::string> Check() const;  // one sentence per problem
  std::string ToText() const;              // "key = value" lines
  // IoError naming `origin` and the key for a malformed description.
  static ModelInfo FromText(const std::string& text, const std::string& origin);
};

// Description of a model file. IoError naming the path for a file that is not a rigpose model
// (not a torch archive, a plain TorchScript file that was never imported, missing description).
ModelInfo ReadModelInfo(const std::string& path);

// `rigpose model create`: a freshly initialised native net (ImageNet-style init, no pretraining).
ModelInfo CreateNativeModel(const std::string& out_path, const ModelInfo& info, uint64_t seed);

#if !defined(RIGPOSE_DETECT2D_NO_TFJS)
// `rigpose model import movenet`: converts the TFJS graph in `tfjs_dir` (detect2d/movenet.h).
// Not in RIGPOSE_MINIMAL builds (no JSON reader there): import on a full build, copy the file.
ModelInfo ImportMoveNet(const std::string& tfjs_dir, const std::string& out_path);
#endif

// `rigpose model import torchscript`: checks the contract above on a dummy batch (InputError
// naming the shapes when violated) and writes the module with `info` attached (kind and arch
// are set to torchscript).
ModelInfo ImportTorchScript(const std::string& script_path,
                            const std::string& out_path,
                            ModelInfo info);

}  // namespace rigpose

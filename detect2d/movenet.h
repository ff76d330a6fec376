// SPDX-License-Identifier: BSD-3-Clause
// MoveNet SinglePose (Google, Apache-2.0) rebuilt natively: the network is a DAG of convolution,
// depthwise convolution, addition and 2x bilinear upsampling layers read from the TFJS graph
// (layer wiring, TF "SAME"/"VALID" padding, fused activations) with its weights converted to
// OIHW float32. detect2d/nets.cc runs it with torch::nn::Conv2d; detect2d/movenet_decode.h
// decodes its four CenterNet heads exactly as the graph's tail does. The weights never enter the
// repository: `rigpose model import movenet --tfjs DIR` converts a user's copy.
#pragma once

#include <array>
#include <string>
#include <vector>

namespace rigpose {

struct GraphLayer {
  enum class Kind { kConv, kDepthwiseConv, kAdd, kUpsample };
  enum class Activation { kNone, kRelu, kRelu6 };
  Kind kind = Kind::kConv;
  Activation activation = Activation::kNone;
  std::string name;      // TF node name (for messages)
  int input = -1;        // index of the layer feeding this one; -1: the normalised network input
  int input2 = -1;       // second operand of kAdd
  int in_channels = 0;   // conv / depthwise
  int out_channels = 0;  // conv / depthwise (depthwise: in_channels * multiplier, multiplier 1)
  int kernel = 1;
  int stride = 1;
  bool pad_same = true;       // TF SAME (asymmetric when the total padding is odd), else VALID
  int upsample_factor = 2;    // kUpsample: bilinear, half-pixel centres (TF and torch agree)
  std::vector<float> weight;  // conv: [out][in][k][k]; depthwise: [out][1][k][k]
  std::vector<float> bias;    // [out] or empty
};

struct MoveNetSpec {
  std::vector<GraphLayer> layers;
  int heatmap_layer = -1;  // logits of the 17 keypoint heatmaps (sigmoid applied by the runner)
  int center_layer = -1;   // logits of the person-centre heatmap
  int regress_layer = -1;  // [34] (dy, dx) from the centre to each joint, in heatmap pixels
  int offset_layer = -1;   // [34] (dy, dx) sub-pixel offsets of each joint's heatmap peak
  int input_size = 192;    // square RGB input, 0..255
  int heatmap_size = 48;
  // Normalisation in the graph: x_norm = (x - input_mean[c]) * input_scale[c] - input_shift.
  std::array<float, 3> input_mean{0.f, 0.f, 0.f};
  std::array<float, 3> input_scale{1.f, 1.f, 1.f};
  float input_shift = 0.f;
  std::vector<float> center_weight;  // [heatmap_size^2]: prior favouring the image centre
  float distance_bias = 1.8f;        // joint heatmaps are divided by (distance to regressed + bias)
  float output_scale = 1.f / 48.f;   // heatmap px -> normalised input coordinates
  int num_joints() const { return 17; }
};

// Reads `dir`/model.json (or the only *.json with a weightsManifest) and its weight files.
// IoError naming the file for unreadable/truncated files; InputError naming the node for a graph
// that is not MoveNet SinglePose (unsupported op feeding the heads, missing decode constants).
MoveNetSpec ReadMoveNetTfjs(const std::string& dir);

}  // namespace rigpose

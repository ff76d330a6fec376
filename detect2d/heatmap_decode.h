// SPDX-License-Identifier: BSD-3-Clause
// Sub-pixel decoding of keypoint heatmaps: argmax, argmax with the SimpleBaseline quarter-pixel
// shift, DARK (Taylor expansion of the log of the smoothed map) and soft-argmax.
//
// Layout: heatmaps are float32, row-major [joints][height][width]. Heatmap pixel (u, v) =
// (column, row) is centred at integer coordinates, as image pixels (core/camera_models.h); mapping
// to image pixels is detect2d/crop.h's job (CropTransform::HeatmapToImage).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace rigpose {

enum class HeatmapDecoder {
  kArgmax,         // integer location of the maximum
  kArgmaxQuarter,  // + 0.25 px towards the higher neighbour (Xiao et al., ECCV 2018)
  kDark,           // Zhang et al., "Distribution-Aware Coordinate Representation", CVPR 2020
  kSoftArgmax,     // expectation of (u, v) under the normalised map
};

// "argmax", "argmax-quarter", "dark", "soft-argmax"; nullopt for anything else.
std::optional<HeatmapDecoder> ParseHeatmapDecoder(const std::string& name);
std::string HeatmapDecoderName(HeatmapDecoder decoder);

struct HeatmapDecodeOptions {
  HeatmapDecoder decoder = HeatmapDecoder::kDark;
  // Sigma (heatmap px) of the Gaussians the network was trained on. DARK smooths the map with the
  // same sigma so that its log is close to a quadratic: kernel radius round(3 sigma), shrunk near
  // the map's border so that it never reads outside (zero padding, as in the DARK reference code,
  // biases peaks one pixel from the border by ~0.4 px inwards).
  double dark_sigma = 2.0;
  // Soft-argmax weights: 0 = max(h, 0); > 0 = exp(beta (h - max)) (softmax with temperature
  // 1/beta).
  double soft_argmax_beta = 0.0;
  // Soft-argmax support: 0 = the whole map; r > 0 = the (2r+1)^2 window around the argmax, clipped
  // to the map. A window of ~3 sigma keeps background activations from pulling the estimate.
  int soft_argmax_radius = 0;

  // Every problem, one sentence each; empty when the options are usable.
  std::vector<std::string> Check() const;
};

struct HeatmapPeak {
  float x = 0.f;      // heatmap pixel coordinates (column)
  float y = 0.f;      // (row)
  float score = 0.f;  // maximum of the map; 0 for a map with a non-finite value
};

// Decodes one height x width map. DARK and soft-argmax with beta = 0 expect non-negative maps
// (Gaussian-regressed or sigmoid outputs, not logits). A map containing any non-finite value gives
// {0, 0, 0}; an all-zero map gives {0, 0, 0} too (argmax ties go to the first pixel in row-major
// order). The refined location stays within 1 px of the argmax and inside [0, width-1] x [0,
// height-1]; an axis whose argmax lies on the map's border is not refined by argmax-quarter and
// DARK (no central difference there). Throws std::invalid_argument on a null pointer, height or
// width <= 0, or options that fail Check().
HeatmapPeak DecodeHeatmap(const float* heatmap,
                          int height,
                          int width,
                          const HeatmapDecodeOptions& options = {});

// Heatmaps [B][J][h][w] of mirrored inputs mapped back to the unmirrored image (the flip test):
// mirrored along w (input column u <-> W - 1 - u is heatmap column x <-> w - 1 - x at any stride)
// and joint j taken from flip_permutation[j] (the mirrored person's left is the image's right).
// UsageError when flip_permutation is not a permutation of J joints.
std::vector<float> UnflipHeatmaps(const float* heatmaps,
                                  int batch,
                                  int num_joints,
                                  int height,
                                  int width,
                                  const std::vector<int>& flip_permutation);

// DecodeHeatmap for each of the num_joints maps of heatmaps; out has num_joints entries.
// num_joints = 0 is allowed (pointers may then be null).
void DecodeHeatmaps(const float* heatmaps,
                    int num_joints,
                    int height,
                    int width,
                    const HeatmapDecodeOptions& options,
                    HeatmapPeak* out);

}  // namespace rigpose

// SPDX-License-Identifier: BSD-3-Clause
// MoveNet SinglePose's CenterNet decoding, as its TF graph does it after the four heads:
// 1. person centre = argmax of sigmoid(centre) * centre_weight (a prior for the image centre);
// 2. each joint's coarse position = centre + regression at the centre;
// 3. joint heatmap divided by (distance to the coarse position + distance_bias), argmax;
// 4. position = (argmax + offset at the argmax) * output_scale, score = heatmap at the argmax.
// Pure C++ on planar float maps ([channels][size][size], the NCHW layout of one image).
#pragma once

#include <vector>

#include "detect2d/movenet.h"

namespace rigpose {

struct MoveNetKeypoint {
  float y = 0, x = 0;  // normalised to the network input: [0, 1] (x = column / input size)
  float score = 0;     // sigmoid heatmap value at the peak
};

// heatmaps: sigmoid [17][S][S]; center: sigmoid [S][S]; regress, offset: raw [34][S][S] with
// channel 2j = dy, 2j + 1 = dx of joint j. Throws std::invalid_argument on a spec without
// decoding constants.
std::vector<MoveNetKeypoint> DecodeMoveNet(const MoveNetSpec& spec,
                                           const float* heatmaps,
                                           const float* center,
                                           const float* regress,
                                           const float* offset);

}  // namespace rigpose

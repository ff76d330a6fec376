// SPDX-License-Identifier: BSD-3-Clause
#include "detect2d/movenet_decode.h"

#include <cmath>

#include "core/error.h"

namespace rigpose {

std::vector<MoveNetKeypoint> DecodeMoveNet(const MoveNetSpec& spec,
                                           const float* heatmaps,
                                           const float* center,
                                           const float* regress,
                                           const float* offset) {
  const int S = spec.heatmap_size;
  const int J = spec.num_joints();
  const int N = S * S;
  RIGPOSE_CHECK(static_cast<int>(spec.center_weight.size()) == N,
                "centre weight has " << spec.center_weight.size() << " values, expected " << N);
  // argmax keeps the first maximum, as TF's ArgMax.
  int best = 0;
  float best_value = -INFINITY;
  for (int i = 0; i < N; ++i) {
    const float v = center[i] * spec.center_weight[i];
    if (v > best_value) {
      best_value = v;
      best = i;
    }
  }
  const int cy = best / S, cx = best % S;
  std::vector<MoveNetKeypoint> keypoints(J);
  for (int j = 0; j < J; ++j) {
    const float reg_y = static_cast<float>(cy) + regress[(2 * j) * N + best];
    const float reg_x = static_cast<float>(cx) + regress[(2 * j + 1) * N + best];
    const float* map = heatmaps + static_cast<size_t>(j) * N;
    int peak = 0;
    float peak_value = -INFINITY;
    for (int y = 0; y < S; ++y) {
      for (int x = 0; x < S; ++x) {
        const float dy = static_cast<float>(y) - reg_y, dx = static_cast<float>(x) - reg_x;
        const float v = map[y * S + x] / (std::sqrt(dy * dy + dx * dx) + spec.distance_bias);
        if (v > peak_value) {
          peak_value = v;
          peak = y * S + x;
        }
      }
    }
    const int ky = peak / S, kx = peak % S;
    keypoints[j].y = (static_cast<float>(ky) + offset[(2 * j) * N + peak]) * spec.output_scale;
    keypoints[j].x = (static_cast<float>(kx) + offset[(2 * j + 1) * N + peak]) * spec.output_scale;
    keypoints[j].score = map[peak];
  }
  return keypoints;
}

}  // namespace rigpose

// SPDX-License-Identifier: BSD-3-Clause
#include "pipeline/rig_streams.h"

#include <cmath>
#include <cstdlib>

#include <spdlog/spdlog.h>

#include "core/error.h"

namespace rigpose {

std::vector<int> MatchStreamsToRig(const std::vector<CameraStreamInfo>& streams,
                                   const Rig& rig,
                                   const std::string& rig_path,
                                   const std::string& dir,
                                   const std::string& context) {
  std::vector<int> order(rig.NumCameras(), -1);
  for (size_t s = 0; s < streams.size(); ++s) {
    const std::optional<int> c = rig.MatchCamera(streams[s].name);
    if (!c) {
      throw InputError(context + ": " + streams[s].path + ": camera '" + streams[s].name +
                       "' is not in the rig " + rig_path);
    }
    order[*c] = static_cast<int>(s);
  }
  for (int c = 0; c < rig.NumCameras(); ++c) {
    const Camera& camera = rig.cameras[c];
    if (order[c] < 0) {
      throw InputError(context + ": rig camera '" + camera.name +
                       "' has no video/image folder in " + dir);
    }
    const CameraStreamInfo& stream = streams[order[c]];
    const bool differs = stream.width != camera.width || stream.height != camera.height;
    const bool close = std::abs(stream.width - camera.width) <= 0.01 * camera.width &&
                       std::abs(stream.height - camera.height) <= 0.01 * camera.height;
    if (camera.width > 0 && differs && close) {
      spdlog::warn(
          "{}: {} is {}x{}, rig camera '{}' was calibrated at {}x{} (within 1 %: used as is)",
          context,
          stream.path,
          stream.width,
          stream.height,
          camera.name,
          camera.width,
          camera.height);
    } else if (camera.width > 0 && differs) {
      throw InputError(context + ": " + stream.path + " is " + std::to_string(stream.width) + "x" +
                       std::to_string(stream.height) + " but rig camera '" + camera.name +
                       "' was calibrated at " + std::to_string(camera.width) + "x" +
                       std::to_string(camera.height));
    }
  }
  return order;
}

}  // namespace rigpose

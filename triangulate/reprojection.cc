// SPDX-License-Identifier: BSD-3-Clause
#include "triangulate/reprojection.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace rigpose {

std::vector<CameraReprojectionStats> ComputeReprojectionStats(const Rig& rig,
                                                              const Poses3D& poses,
                                                              const Keypoints2D& keypoints,
                                                              const std::vector<int>& joint_map,
                                                              const ReprojectionOptions& options) {
  RIGPOSE_CHECK(
      keypoints.num_cameras() == rig.NumCameras(),
      "keypoints have " << keypoints.num_cameras() << " cameras, rig has " << rig.NumCameras());
  RIGPOSE_CHECK(
      keypoints.num_frames() == poses.num_frames(),
      "keypoints have " << keypoints.num_frames() << " frames, poses have " << poses.num_frames());
  RIGPOSE_CHECK(static_cast<int>(joint_map.size()) == poses.num_joints(),
                "joint_map has " << joint_map.size() << " entries, poses have "
                                 << poses.num_joints() << " joints");
  for (int m : joint_map) {
    RIGPOSE_CHECK(m < keypoints.num_joints(),
                  "joint_map entry " << m << " >= " << keypoints.num_joints());
  }
  std::vector<CameraReprojectionStats> stats(rig.NumCameras());
  for (int c = 0; c < rig.NumCameras(); ++c) {
    const Camera& camera = rig.cameras[c];
    CameraReprojectionStats& s = stats[c];
    s.camera = camera.name;
    std::vector<double> errors;
    for (int f = 0; f < poses.num_frames(); ++f) {
      for (int j = 0; j < poses.num_joints(); ++j) {
        const int k = joint_map[j];
        if (k < 0 || !poses.IsValid(f, j) || !keypoints.IsPresent(f, c, k) ||
            keypoints.score(f, c, k) < options.min_score) {
          continue;
        }
        const auto img_point = camera.ImgFromWorld(poses.Position(f, j));
        if (!img_point) {
          ++s.behind_camera;
          continue;
        }
        errors.push_back(
            (*img_point - Eigen::Vector2d(keypoints.x(f, c, k), keypoints.y(f, c, k))).norm());
      }
    }
    s.count = static_cast<int>(errors.size());
    if (errors.empty()) continue;
    double sum = 0.0;
    double sum_sq = 0.0;
    for (double e : errors) {
      sum += e;
      sum_sq += e * e;
      s.max_px = std::max(s.max_px, e);
    }
    s.mean_px = sum / errors.size();
    s.rms_px = std::sqrt(sum_sq / errors.size());
    const size_t mid = errors.size() / 2;
    std::nth_element(errors.begin(), errors.begin() + mid, errors.end());
    if (errors.size() % 2 == 1) {
      s.median_px = errors[mid];
    } else {
      const double upper = errors[mid];
      const double lower = *std::max_element(errors.begin(), errors.begin() + mid);
      s.median_px = 0.5 * (lower + upper);
    }
  }
  return stats;
}

}  // namespace rigpose

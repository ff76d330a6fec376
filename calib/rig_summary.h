// SPDX-License-Identifier: BSD-3-Clause
// A lab-facing summary of a rig: per camera size, focal lengths, centre in world, horizontal
// field of view and how much the lens distorts (`rigpose calib info`).
#pragma once

#include <string>
#include <vector>

#include <Eigen/Core>

#include "core/rig.h"

namespace rigpose {

struct CameraSummary {
  std::string name;
  std::string model;
  int width = 0;
  int height = 0;
  double fx = 0.0;
  double fy = 0.0;
  Eigen::Vector3d center_in_world = Eigen::Vector3d::Zero();  // metres
  double horizontal_fov_deg = 0.0;
  double max_distortion_px = 0.0;  // see Camera::MaxDistortionPx
  double distance_to_rig_centroid_m = 0.0;
};

struct RigSummary {
  std::vector<CameraSummary> cameras;
  double max_camera_separation_m = 0.0;
  Eigen::Vector3d centroid_in_world = Eigen::Vector3d::Zero();
};

RigSummary SummarizeRig(const Rig& rig);
// Fixed-width table, one row per camera, plus a rig line.
std::string FormatRigSummary(const Rig& rig, const RigSummary& summary);

}  // namespace rigpose

namespace rigpose {

// Differences between two calibrations of the same cameras (matched by name, see
// Rig::MatchCamera), e.g. after a format round trip or a recalibration.
struct RigComparison {
  int matched = 0;
  std::vector<std::string> only_in_a;
  std::vector<std::string> only_in_b;
  std::vector<std::string> model_mismatch;  // matched cameras whose model or size differ
  double max_center_difference_m = 0.0;
  double max_rotation_difference_deg = 0.0;
  double max_param_relative_difference = 0.0;  // |a - b| / max(|a|, 1e-12), over all params
  double max_focal_relative_difference = 0.0;  // over fx and fy
  // Per matched camera (a's names): centre distance after the alignment (m).
  std::vector<std::pair<std::string, double>> center_differences_m;
  // Alignment applied to b's world before comparing (a_world_from_b_world = s R x + t).
  std::string alignment = "none";
  double alignment_scale = 1.0;
};

// How b's world frame is mapped onto a's before comparing poses: kNone (same world), kRigid
// (rotation + translation) or kSimilarity (+ scale), fitted to the matched camera centres
// (Umeyama 1991; needs >= 3 matched cameras, std::invalid_argument otherwise). Use it for two
// calibrations whose world frames differ (different reference camera or board).
enum class RigAlignment { kNone, kRigid, kSimilarity };
RigComparison CompareRigs(const Rig& a, const Rig& b, RigAlignment alignment = RigAlignment::kNone);
std::string FormatRigComparison(const RigComparison& comparison);

}  // namespace rigpose

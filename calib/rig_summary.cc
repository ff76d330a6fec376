// SPDX-License-Identifier: BSD-3-Clause
#include "calib/rig_summary.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include <Eigen/Geometry>

#include "core/error.h"
#include "core/units.h"

namespace rigpose {

RigSummary SummarizeRig(const Rig& rig) {
  RigSummary summary;
  for (const Camera& camera : rig.cameras) summary.centroid_in_world += camera.CenterInWorld();
  if (!rig.cameras.empty()) summary.centroid_in_world /= static_cast<double>(rig.cameras.size());
  for (const Camera& camera : rig.cameras) {
    CameraSummary s;
    s.name = camera.name;
    s.model = CameraModelName(camera.model_id);
    s.width = camera.width;
    s.height = camera.height;
    s.fx = camera.fx();
    s.fy = camera.fy();
    s.center_in_world = camera.CenterInWorld();
    s.horizontal_fov_deg = camera.HorizontalFovDeg();
    s.max_distortion_px = camera.MaxDistortionPx();
    s.distance_to_rig_centroid_m = (s.center_in_world - summary.centroid_in_world).norm();
    summary.cameras.push_back(s);
  }
  summary.max_camera_separation_m = rig.MaxCameraSeparation();
  return summary;
}

std::string FormatRigSummary(const Rig& rig, const RigSummary& summary) {
  std::ostringstream out;
  char line[512];
  out << "rig: " << rig.NumCameras() << " cameras";
  if (!rig.source_path.empty()) {
    out << " from " << rig.source_path << " (" << rig.source_format << ", translations stored in "
        << UnitName(rig.source_unit) << ")";
  }
  out << "\n";
  std::snprintf(line,
                sizeof(line),
                "%-16s %-15s %11s %9s %9s %29s %8s %10s\n",
                "camera",
                "model",
                "size",
                "fx",
                "fy",
                "centre in world (m)",
                "hfov deg",
                "distort px");
  out << line;
  for (const CameraSummary& c : summary.cameras) {
    const std::string size = std::to_string(c.width) + "x" + std::to_string(c.height);
    std::snprintf(line,
                  sizeof(line),
                  "%-16s %-15s %11s %9.2f %9.2f [%8.3f, %8.3f, %8.3f] %8.2f %10.2f\n",
                  c.name.c_str(),
                  c.model.c_str(),
                  size.c_str(),
                  c.fx,
                  c.fy,
                  c.center_in_world.x(),
                  c.center_in_world.y(),
                  c.center_in_world.z(),
                  c.horizontal_fov_deg,
                  c.max_distortion_px);
    out << line;
  }
  std::snprintf(line,
                sizeof(line),
                "largest camera separation: %.3f m; rig centroid [%.3f, %.3f, %.3f] m\n",
                summary.max_camera_separation_m,
                summary.centroid_in_world.x(),
                summary.centroid_in_world.y(),
                summary.centroid_in_world.z());
  out << line;
  return out.str();
}

}  // namespace rigpose

namespace rigpose {

RigComparison CompareRigs(const Rig& a, const Rig& b, RigAlignment alignment) {
  RigComparison out;
  std::vector<bool> b_used(b.cameras.size(), false);
  std::vector<std::pair<const Camera*, const Camera*>> matched;
  for (const Camera& ca : a.cameras) {
    const auto index = b.MatchCamera(ca.name);
    if (!index) {
      out.only_in_a.push_back(ca.name);
      continue;
    }
    b_used[*index] = true;
    const Camera& cb = b.cameras[*index];
    ++out.matched;
    if (ca.model_id != cb.model_id || ca.width != cb.width || ca.height != cb.height ||
        ca.params.size() != cb.params.size()) {
      out.model_mismatch.push_back(ca.name);
      continue;
    }
    matched.emplace_back(&ca, &cb);
  }
  for (size_t i = 0; i < b.cameras.size(); ++i) {
    if (!b_used[i]) out.only_in_b.push_back(b.cameras[i].name);
  }
  // a_world_from_b_world as x -> scale * rotation * x + translation.
  double scale = 1.0;
  Eigen::Matrix3d rotation = Eigen::Matrix3d::Identity();
  Eigen::Vector3d translation = Eigen::Vector3d::Zero();
  if (alignment != RigAlignment::kNone) {
    RIGPOSE_CHECK(matched.size() >= 3,
                  "aligning two calibrations needs >= 3 matched cameras, found " << matched.size());
    Eigen::Matrix3Xd from(3, matched.size());
    Eigen::Matrix3Xd to(3, matched.size());
    for (size_t i = 0; i < matched.size(); ++i) {
      from.col(i) = matched[i].second->CenterInWorld();
      to.col(i) = matched[i].first->CenterInWorld();
    }
    const Eigen::Matrix4d transform =
        Eigen::umeyama(from, to, alignment == RigAlignment::kSimilarity);
    const Eigen::Matrix3d scaled_rotation = transform.topLeftCorner<3, 3>();
    scale = std::cbrt(scaled_rotation.determinant());
    rotation = scaled_rotation / scale;
    translation = transform.topRightCorner<3, 1>();
    out.alignment = alignment == RigAlignment::kSimilarity ? "similarity" : "rigid";
    out.alignment_scale = scale;
  }
  const Eigen::Quaterniond b_world_from_a_world(rotation.transpose());
  for (const auto& [ca, cb] : matched) {
    const Eigen::Vector3d center_b = scale * rotation * cb->CenterInWorld() + translation;
    const double center_difference = (ca->CenterInWorld() - center_b).norm();
    out.center_differences_m.emplace_back(ca->name, center_difference);
    out.max_center_difference_m = std::max(out.max_center_difference_m, center_difference);
    const Eigen::Quaterniond rotation_b = cb->cam_from_world.rotation * b_world_from_a_world;
    const double angle_rad = ca->cam_from_world.rotation.angularDistance(rotation_b);
    out.max_rotation_difference_deg =
        std::max(out.max_rotation_difference_deg, angle_rad * 180.0 / M_PI);
    for (size_t k = 0; k < ca->params.size(); ++k) {
      const double param_scale = std::max(std::abs(ca->params[k]), 1e-12);
      const double relative = std::abs(ca->params[k] - cb->params[k]) / param_scale;
      out.max_param_relative_difference = std::max(out.max_param_relative_difference, relative);
      if (k < 2) {
        out.max_focal_relative_difference = std::max(out.max_focal_relative_difference, relative);
      }
    }
  }
  return out;
}

std::string FormatRigComparison(const RigComparison& c) {
  std::ostringstream out;
  out << "matched cameras: " << c.matched << "\n";
  auto list = [&](const char* label, const std::vector<std::string>& names) {
    if (names.empty()) return;
    out << label << ":";
    for (const auto& n : names) out << " " << n;
    out << "\n";
  };
  list("only in first", c.only_in_a);
  list("only in second", c.only_in_b);
  list("model or size differs", c.model_mismatch);
  char line[320];
  if (c.alignment != "none") {
    std::snprintf(line,
                  sizeof(line),
                  "aligned the second onto the first (%s, scale %.6g) on the camera centres\n",
                  c.alignment.c_str(),
                  c.alignment_scale);
    out << line;
    for (const auto& [name, difference] : c.center_differences_m) {
      std::snprintf(
          line, sizeof(line), "  %s: centre difference %.3g m\n", name.c_str(), difference);
      out << line;
    }
  }
  std::snprintf(line,
                sizeof(line),
                "max centre difference: %.3g m; max rotation difference: %.3g deg; max relative "
                "focal difference: %.3g; max relative intrinsic difference: %.3g\n",
                c.max_center_difference_m,
                c.max_rotation_difference_deg,
                c.max_focal_relative_difference,
                c.max_param_relative_difference);
  out << line;
  return out.str();
}

}  // namespace rigpose

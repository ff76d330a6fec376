// SPDX-License-Identifier: BSD-3-Clause
#include "viewer/open3d_bridge.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

#if defined(RIGPOSE_HAVE_OPEN3D)
#include <open3d/camera/PinholeCameraParameters.h>
#include <open3d/geometry/LineSet.h>
#include <open3d/geometry/TriangleMesh.h>
#include <open3d/visualization/visualizer/ViewControl.h>
#include <open3d/visualization/visualizer/Visualizer.h>
#endif

namespace rigpose::internal {

#if defined(RIGPOSE_HAVE_OPEN3D)
void FillOpen3DGeometry(const Scene& scene,
                        bool lighting,
                        open3d::geometry::LineSet* lines,
                        open3d::geometry::TriangleMesh* spheres) {
  RIGPOSE_CHECK(lines != nullptr && spheres != nullptr, "null geometry");
  const Eigen::Vector3d anchor_in_world =
      scene.cameras.empty() ? Eigen::Vector3d::Zero() : scene.cameras[0].camera.CenterInWorld();
  lines->Clear();
  lines->points_.reserve(2 * scene.lines.size());
  lines->lines_.reserve(scene.lines.size());
  lines->colors_.reserve(scene.lines.size());
  for (const SceneLine& line : scene.lines) {
    const int first = static_cast<int>(lines->points_.size());
    lines->points_.push_back(line.start_in_world);
    lines->points_.push_back(line.end_in_world);
    lines->lines_.emplace_back(first, first + 1);
    lines->colors_.push_back(line.colour.cast<double>());
  }
  if (scene.lines.empty()) {
    lines->points_ = {anchor_in_world, anchor_in_world};
    lines->lines_ = {Eigen::Vector2i(0, 1)};
    lines->colors_ = {Eigen::Vector3d::Zero()};
  }

  spheres->Clear();
  static const auto unit_sphere = open3d::geometry::TriangleMesh::CreateSphere(1.0, 8);
  const int nv = static_cast<int>(unit_sphere->vertices_.size());
  spheres->vertices_.reserve(scene.points.size() * nv);
  spheres->vertex_colors_.reserve(scene.points.size() * nv);
  spheres->triangles_.reserve(scene.points.size() * unit_sphere->triangles_.size());
  for (const ScenePoint& point : scene.points) {
    const int first = static_cast<int>(spheres->vertices_.size());
    for (const Eigen::Vector3d& v : unit_sphere->vertices_) {
      spheres->vertices_.push_back(point.position_in_world + point.radius_m * v);
      spheres->vertex_colors_.push_back(point.colour.cast<double>());
    }
    for (const Eigen::Vector3i& t : unit_sphere->triangles_) {
      spheres->triangles_.push_back(t + Eigen::Vector3i::Constant(first));
    }
  }
  if (scene.points.empty()) {
    // One invisible (zero-area) triangle.
    spheres->vertices_ = {anchor_in_world, anchor_in_world, anchor_in_world};
    spheres->vertex_colors_.assign(3, Eigen::Vector3d::Zero());
    spheres->triangles_ = {Eigen::Vector3i(0, 1, 2)};
  }
  if (lighting) spheres->ComputeVertexNormals();
}

bool SetPinholeView(open3d::visualization::Visualizer* visualizer,
                    const Camera& camera,
                    double z_near_m,
                    double z_far_m) {
  RIGPOSE_CHECK(visualizer != nullptr, "null visualizer");
  RIGPOSE_CHECK(camera.model_id == CameraModelId::kPinhole, "a PINHOLE camera is needed");
  open3d::camera::PinholeCameraParameters parameters;
  parameters.intrinsic_.SetIntrinsics(
      camera.width, camera.height, camera.fx(), camera.fy(), camera.cx(), camera.cy());
  parameters.extrinsic_ = Eigen::Matrix4d::Identity();
  parameters.extrinsic_.topRows<3>() = camera.cam_from_world.ToMatrix3x4();
  open3d::visualization::ViewControl& view_control = visualizer->GetViewControl();
  view_control.SetConstantZNear(z_near_m);
  view_control.SetConstantZFar(z_far_m);
  // allow_arbitrary: no 5-90 degree field-of-view clamp. Open3D still assumes the principal
  // point at the window centre and square pixels (the caller guarantees both).
  return view_control.ConvertFromPinholeCameraParameters(parameters, /*allow_arbitrary=*/true);
}
#else
void FillOpen3DGeometry(const Scene&,
                        bool,
                        open3d::geometry::LineSet*,
                        open3d::geometry::TriangleMesh*) {}
bool SetPinholeView(open3d::visualization::Visualizer*, const Camera&, double, double) {
  return false;
}
#endif

Camera FramingCamera(const Eigen::AlignedBox3d& box_in,
                     const Eigen::Vector3d& forward_in_world,
                     const Eigen::Vector3d& right_in_world,
                     int width,
                     int height,
                     double fov_deg) {
  RIGPOSE_CHECK(width > 0 && height > 0, "size " << width << "x" << height);
  const Eigen::AlignedBox3d box =
      box_in.isEmpty() ? Eigen::AlignedBox3d(Eigen::Vector3d::Constant(-1), Eigen::Vector3d::Ones())
                       : box_in;
  Eigen::Matrix3d cam_from_world_rotation;
  const Eigen::Vector3d z_axis = forward_in_world.normalized();
  const Eigen::Vector3d x_axis =
      (right_in_world - right_in_world.dot(z_axis) * z_axis).normalized();
  cam_from_world_rotation.row(0) = x_axis.transpose();
  cam_from_world_rotation.row(1) = z_axis.cross(x_axis).transpose();
  cam_from_world_rotation.row(2) = z_axis.transpose();
  const double focal_px = 0.5 * height / std::tan(0.5 * fov_deg * M_PI / 180.0);
  const Eigen::Vector3d target_in_world = box.center();
  double distance_m = 0.1;
  for (int k = 0; k < 8; ++k) {
    const Eigen::Vector3d q =
        cam_from_world_rotation *
        (box.corner(static_cast<Eigen::AlignedBox3d::CornerType>(k)) - target_in_world);
    const double needed = std::max({std::abs(q.x()) * focal_px / (0.45 * width),
                                    std::abs(q.y()) * focal_px / (0.45 * height),
                                    0.1}) -
                          q.z();
    distance_m = std::max(distance_m, needed);
  }
  const Eigen::Vector3d center_in_world = target_in_world - distance_m * z_axis;
  Camera camera;
  camera.name = "view";
  camera.model_id = CameraModelId::kPinhole;
  camera.width = width;
  camera.height = height;
  camera.params = {focal_px, focal_px, 0.5 * width - 0.5, 0.5 * height - 0.5};
  camera.cam_from_world =
      Rigid3d::FromMatrix(cam_from_world_rotation, -cam_from_world_rotation * center_in_world);
  return camera;
}

void ClippingPlanes(const Camera& camera,
                    const Eigen::AlignedBox3d& box,
                    double* z_near_m,
                    double* z_far_m) {
  double max_depth = 1.0;
  double min_depth = std::numeric_limits<double>::infinity();
  if (!box.isEmpty()) {
    for (int k = 0; k < 8; ++k) {
      const double depth =
          (camera.cam_from_world * box.corner(static_cast<Eigen::AlignedBox3d::CornerType>(k))).z();
      max_depth = std::max(max_depth, depth);
      min_depth = std::min(min_depth, depth);
    }
  }
  // A box corner behind or beside the camera: the near plane must be close (the content can
  // surround the camera, as the other rig cameras do).
  *z_near_m = std::clamp(0.5 * min_depth, 0.01, 1.0);
  *z_far_m = 1.5 * max_depth + 1.0;
}

}  // namespace rigpose::internal

// SPDX-License-Identifier: BSD-3-Clause
// Internal to viewer/: Scene -> Open3D geometry and pinhole views for the legacy Visualizer.
// Open3D types are only forward-declared here; the definitions stay in viewer/*.cc.
#pragma once

#include "core/camera.h"
#include "viewer/scene.h"

namespace open3d {
namespace geometry {
class LineSet;
class TriangleMesh;
}  // namespace geometry
namespace visualization {
class Visualizer;
}  // namespace visualization
}  // namespace open3d

namespace rigpose::internal {

// Replaces the contents of `lines` and `spheres` with the scene's lines and joint spheres (all
// spheres merged in one mesh). Empty parts get one degenerate element at the first camera or the
// origin, because Open3D refuses to add or draw empty geometry.
void FillOpen3DGeometry(const Scene& scene,
                        bool lighting,
                        open3d::geometry::LineSet* lines,
                        open3d::geometry::TriangleMesh* spheres);

// Points `visualizer` through `camera` (PINHOLE with cx = width / 2 - 0.5, cy = height / 2 - 0.5,
// fx = fy, width x height equal to the window) with fixed clipping planes. False when Open3D
// refuses the parameters.
bool SetPinholeView(open3d::visualization::Visualizer* visualizer,
                    const Camera& camera,
                    double z_near_m,
                    double z_far_m);

// A PINHOLE camera looking along `forward_in_world` (image x = right_in_world) at a distance that
// frames every corner of `box` within 90% of the image, with a vertical field of view fov_deg.
Camera FramingCamera(const Eigen::AlignedBox3d& box,
                     const Eigen::Vector3d& forward_in_world,
                     const Eigen::Vector3d& right_in_world,
                     int width,
                     int height,
                     double fov_deg);

// Near/far planes (metres) that keep every point of `box` visible from `camera`.
void ClippingPlanes(const Camera& camera,
                    const Eigen::AlignedBox3d& box,
                    double* z_near_m,
                    double* z_far_m);

}  // namespace rigpose::internal

// SPDX-License-Identifier: BSD-3-Clause
// Headless snapshots of a Scene (viewer/scene.h) to PNG with Open3D's legacy Visualizer: an
// invisible GLFW window on an X display (Xvfb works: `xvfb-run -a -s "-screen 0 1920x1080x24"`;
// Debian's Open3D 0.16 has no EGL headless mode).
//
// Views:
//  - camera:NAME  the rig camera's pinhole part (fx, fy, cx, cy, pose) scaled to width x height:
//                 a joint lands on the pixel Camera::ImgFromWorld gives when the camera has no
//                 distortion. Lens distortion is NOT rendered (Camera::MaxDistortionPx() says how
//                 far that moves the image borders). Open3D 0.16 only renders a centred principal
//                 point with square pixels, so an off-centre or non-square camera is rendered on
//                 a larger canvas and resampled (nearest pixel, error <= 0.5 px). The camera's own
//                 frustum is left out.
//  - top          from far above (a 20 degree field of view: nearly orthographic), +X to the right,
//                 +Y up in the image, framing every camera and joint.
//  - front        horizontal, looking along +Y, Z up in the image.
//  - orbit        from SnapshotOptions::orbit_azimuth_deg / orbit_elevation_deg.
// Lines are 1 pixel wide whatever the setting (Open3D's core-profile renderer); joints are
// spheres drawn in flat colours (no lighting) unless SnapshotOptions::lighting. Labels are not
// drawn (no text in the legacy renderer). With a legend, a viridis colour bar (minimum at the
// bottom) is drawn at the right edge.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "core/camera.h"
#include "viewer/scene.h"

namespace rigpose {

enum class SnapshotViewKind { kCamera, kTop, kFront, kOrbit };

struct SnapshotView {
  SnapshotViewKind kind = SnapshotViewKind::kTop;
  std::string camera_name;  // kCamera only
};

// "camera:NAME" | "top" | "front" | "orbit". UsageError listing the accepted forms otherwise.
SnapshotView ParseSnapshotView(const std::string& text);

struct SnapshotOptions {
  Eigen::Vector3f background = Eigen::Vector3f(1.0f, 1.0f, 1.0f);
  double overview_fov_deg = 20.0;    // top / front / orbit: vertical field of view
  double orbit_azimuth_deg = -60.0;  // from +X towards +Y, of the camera around the content
  double orbit_elevation_deg = 25.0;
  bool lighting = false;  // shade the joint spheres (colours then vary across a sphere)
  bool draw_legend = true;

  std::vector<std::string> Problems() const;
};

// The pinhole camera (no distortion) the view renders through, for an image of width x height
// (<= 0: the rig camera's size for camera:NAME, 1280 x 720 otherwise). InputError when the
// camera is not in the scene (listing the scene's cameras); UsageError for a bad size.
Camera SnapshotCamera(const Scene& scene,
                      const SnapshotView& view,
                      int width,
                      int height,
                      const SnapshotOptions& options = SnapshotOptions());

struct SnapshotImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;  // row-major [height][width][3]
  Camera camera;             // SnapshotCamera()
  int canvas_width = 0;      // the window Open3D rendered (see the file comment)
  int canvas_height = 0;
  double canvas_scale = 1.0;  // < 1 when the canvas was shrunk to fit the X screen
  double seconds = 0.0;       // window creation + render + read back

  const uint8_t* Pixel(int x, int y) const {
    return &rgb[(static_cast<size_t>(y) * width + x) * 3];
  }
};

// Renders the scene. NoDisplayError (viewer/display.h) when no X display can be opened or the
// OpenGL window cannot be created, never a crash; UsageError / InputError as SnapshotCamera().
SnapshotImage RenderSnapshotImage(const Scene& scene,
                                  const std::string& view,
                                  int width,
                                  int height,
                                  const SnapshotOptions& options = SnapshotOptions());

// RenderSnapshotImage() written to out_png atomically (a temporary file beside it, then
// renamed). IoError naming the path when its folder does not exist or writing fails.
SnapshotImage RenderSnapshot(const Scene& scene,
                             const std::string& view,
                             int width,
                             int height,
                             const std::string& out_png,
                             const SnapshotOptions& options = SnapshotOptions());

// Whether this build can render (it was built with Open3D).
bool SnapshotRendererBuilt();

}  // namespace rigpose

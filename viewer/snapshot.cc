// SPDX-License-Identifier: BSD-3-Clause
#include "viewer/snapshot.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>

#include "core/error.h"
#include "viewer/display.h"
#include "viewer/open3d_bridge.h"

#if defined(RIGPOSE_HAVE_OPEN3D)
#include <open3d/geometry/Image.h>
#include <open3d/geometry/LineSet.h>
#include <open3d/geometry/TriangleMesh.h>
#include <open3d/io/ImageIO.h>
#include <open3d/visualization/visualizer/RenderOption.h>
#include <open3d/visualization/visualizer/Visualizer.h>
#endif

namespace rigpose {
namespace {

constexpr int kDefaultWidth = 1280;
constexpr int kDefaultHeight = 720;
constexpr int kMaxSize = 16384;

std::string CameraList(const Scene& scene) {
  std::string names;
  for (const SceneCamera& camera : scene.cameras) {
    names += (names.empty() ? "" : ", ") + camera.camera.name;
  }
  return names.empty() ? "none" : names;
}

// The box the overview views frame: cameras and joints, a margin for the frustums, the floor.
Eigen::AlignedBox3d OverviewBox(const Scene& scene) {
  Eigen::AlignedBox3d box = scene.ContentBounds();
  if (box.isEmpty()) box = scene.Bounds();
  if (box.isEmpty()) return box;
  box.extend(Eigen::Vector3d(box.min().x(), box.min().y(), std::min(box.min().z(), 0.0)));
  box.min() -= Eigen::Vector3d::Constant(0.3);
  box.max() += Eigen::Vector3d::Constant(0.3);
  return box;
}

#if defined(RIGPOSE_HAVE_OPEN3D)
// Canvas geometry: Open3D renders a camera with the principal point at the window centre and
// square pixels, so the output's pinhole camera is rendered through a canvas camera with the same
// pose, focal length scale * fy, a centred principal point, and a size that covers the output's
// field of view; output pixels are then looked up in the canvas (nearest pixel).
struct Canvas {
  Camera camera;
  double scale = 1.0;
};

Canvas MakeCanvas(const Camera& output, int max_width, int max_height) {
  const double x_reach =
      std::max(output.cx() + 0.5, output.width - 0.5 - output.cx()) / output.fx();
  const double y_reach =
      std::max(output.cy() + 0.5, output.height - 0.5 - output.cy()) / output.fy();
  Canvas canvas;
  for (int attempt = 0; attempt < 8; ++attempt) {
    const double focal_px = canvas.scale * output.fy();
    const int width = 2 * static_cast<int>(std::ceil(focal_px * x_reach)) + 2;
    const int height = 2 * static_cast<int>(std::ceil(focal_px * y_reach)) + 2;
    canvas.camera = output;
    canvas.camera.width = width;
    canvas.camera.height = height;
    canvas.camera.params = {focal_px, focal_px, 0.5 * width - 0.5, 0.5 * height - 0.5};
    if (width <= max_width && height <= max_height) break;
    canvas.scale *= 0.98 * std::min(static_cast<double>(max_width) / width,
                                    static_cast<double>(max_height) / height);
  }
  return canvas;
}

// Viridis bar at the right edge, minimum at the bottom, with a dark frame.
void DrawLegend(SnapshotImage* image) {
  const int bar_width = std::max(6, image->width / 80);
  const int bar_height = std::max(16, image->height * 2 / 5);
  const int margin = std::max(4, image->width / 100);
  const int x0 = image->width - margin - bar_width;
  const int y0 = image->height - margin - bar_height;
  if (x0 < 1 || y0 < 1) return;
  for (int y = y0 - 1; y <= y0 + bar_height; ++y) {
    for (int x = x0 - 1; x <= x0 + bar_width; ++x) {
      const bool frame = y < y0 || y == y0 + bar_height || x < x0 || x == x0 + bar_width;
      const Eigen::Vector3f colour =
          frame ? Eigen::Vector3f(0.2f, 0.2f, 0.2f)
                : ViridisColour(1.0 - (y - y0 + 0.5) / static_cast<double>(bar_height));
      uint8_t* pixel = &image->rgb[(static_cast<size_t>(y) * image->width + x) * 3];
      for (int c = 0; c < 3; ++c) {
        pixel[c] = static_cast<uint8_t>(std::lround(std::clamp(colour[c], 0.0f, 1.0f) * 255));
      }
    }
  }
}

#endif  // RIGPOSE_HAVE_OPEN3D

}  // namespace

SnapshotView ParseSnapshotView(const std::string& text) {
  SnapshotView view;
  if (text == "top") {
    view.kind = SnapshotViewKind::kTop;
  } else if (text == "front") {
    view.kind = SnapshotViewKind::kFront;
  } else if (text == "orbit") {
    view.kind = SnapshotViewKind::kOrbit;
  } else if (text.rfind("camera:", 0) == 0 && text.size() > 7) {
    view.kind = SnapshotViewKind::kCamera;
    view.camera_name = text.substr(7);
  } else {
    throw UsageError("view '" + text + "' is not camera:NAME, top, front or orbit");
  }
  return view;
}

std::vector<std::string> SnapshotOptions::Problems() const {
  std::vector<std::string> problems;
  if (!(overview_fov_deg > 1 && overview_fov_deg < 150)) {
    problems.push_back("overview_fov_deg = " + std::to_string(overview_fov_deg) +
                       " must be in (1, 150)");
  }
  if (!std::isfinite(orbit_azimuth_deg)) problems.push_back("orbit_azimuth_deg must be finite");
  if (!(std::abs(orbit_elevation_deg) < 89.5)) {
    problems.push_back("orbit_elevation_deg = " + std::to_string(orbit_elevation_deg) +
                       " must be in (-89.5, 89.5)");
  }
  if (!background.allFinite() || background.minCoeff() < 0 || background.maxCoeff() > 1) {
    problems.push_back("background colour must be in [0, 1]");
  }
  return problems;
}

Camera SnapshotCamera(const Scene& scene,
                      const SnapshotView& view,
                      int width,
                      int height,
                      const SnapshotOptions& options) {
  if (const auto problems = options.Problems(); !problems.empty()) {
    throw UsageError(FormatProblems("snapshot options", problems));
  }
  if (width > kMaxSize || height > kMaxSize) {
    throw UsageError("snapshot size " + std::to_string(width) + "x" + std::to_string(height) +
                     " is larger than " + std::to_string(kMaxSize));
  }
  if (view.kind == SnapshotViewKind::kCamera) {
    const std::optional<int> index = scene.FindCamera(view.camera_name);
    if (!index) {
      throw InputError("no camera '" + view.camera_name +
                       "' in the rig (cameras: " + CameraList(scene) + ")");
    }
    const Camera& rig_camera = scene.cameras[*index].camera;
    if (rig_camera.width <= 0 || rig_camera.height <= 0 || rig_camera.params.size() < 4) {
      throw InputError("camera '" + view.camera_name + "' has no usable intrinsics");
    }
    const int out_width = width > 0 ? width : rig_camera.width;
    const int out_height = height > 0 ? height : rig_camera.height;
    const double sx = static_cast<double>(out_width) / rig_camera.width;
    const double sy = static_cast<double>(out_height) / rig_camera.height;
    Camera camera = rig_camera;
    camera.model_id = CameraModelId::kPinhole;
    camera.width = out_width;
    camera.height = out_height;
    camera.params = {rig_camera.fx() * sx,
                     rig_camera.fy() * sy,
                     (rig_camera.cx() + 0.5) * sx - 0.5,
                     (rig_camera.cy() + 0.5) * sy - 0.5};
    return camera;
  }
  const int out_width = width > 0 ? width : kDefaultWidth;
  const int out_height = height > 0 ? height : kDefaultHeight;
  const Eigen::AlignedBox3d box = OverviewBox(scene);
  Camera camera;
  switch (view.kind) {
    case SnapshotViewKind::kTop:
      camera = internal::FramingCamera(box,
                                       -Eigen::Vector3d::UnitZ(),
                                       Eigen::Vector3d::UnitX(),
                                       out_width,
                                       out_height,
                                       options.overview_fov_deg);
      break;
    case SnapshotViewKind::kFront:
      camera = internal::FramingCamera(box,
                                       Eigen::Vector3d::UnitY(),
                                       Eigen::Vector3d::UnitX(),
                                       out_width,
                                       out_height,
                                       options.overview_fov_deg);
      break;
    default: {
      const double azimuth = options.orbit_azimuth_deg * M_PI / 180.0;
      const double elevation = options.orbit_elevation_deg * M_PI / 180.0;
      const Eigen::Vector3d from_target(std::cos(elevation) * std::cos(azimuth),
                                        std::cos(elevation) * std::sin(azimuth),
                                        std::sin(elevation));
      const Eigen::Vector3d forward = -from_target;
      camera = internal::FramingCamera(box,
                                       forward,
                                       forward.cross(Eigen::Vector3d::UnitZ()),
                                       out_width,
                                       out_height,
                                       options.overview_fov_deg);
      break;
    }
  }
  camera.name = view.kind == SnapshotViewKind::kTop
                    ? "top"
                    : (view.kind == SnapshotViewKind::kFront ? "front" : "orbit");
  return camera;
}

bool SnapshotRendererBuilt() {
#if defined(RIGPOSE_HAVE_OPEN3D)
  return true;
#else
  return false;
#endif
}

SnapshotImage RenderSnapshotImage(const Scene& scene,
                                  const std::string& view,
                                  int width,
                                  int height,
                                  const SnapshotOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  SnapshotImage image;
  image.camera = SnapshotCamera(scene, ParseSnapshotView(view), width, height, options);
  image.width = image.camera.width;
  image.height = image.camera.height;
  std::string why;
  const std::optional<DisplayInfo> display = OpenDisplayInfo(&why);
  if (!display) ThrowNoDisplay("rendering a snapshot", why);
#if defined(RIGPOSE_HAVE_OPEN3D)
  const Canvas canvas = MakeCanvas(image.camera, display->width_px, display->height_px);
  image.canvas_width = canvas.camera.width;
  image.canvas_height = canvas.camera.height;
  image.canvas_scale = canvas.scale;
  if (canvas.camera.width > display->width_px || canvas.camera.height > display->height_px) {
    throw Error("snapshot canvas " + std::to_string(canvas.camera.width) + "x" +
                std::to_string(canvas.camera.height) + " does not fit the X screen " +
                std::to_string(display->width_px) + "x" + std::to_string(display->height_px));
  }

  open3d::visualization::Visualizer visualizer;
  if (!visualizer.CreateVisualizerWindow("rigpose snapshot",
                                         canvas.camera.width,
                                         canvas.camera.height,
                                         0,
                                         0,
                                         /*visible=*/false)) {
    ThrowNoDisplay("rendering a snapshot",
                   "no OpenGL window could be created on display '" + display->name + "'");
  }
  auto lines = std::make_shared<open3d::geometry::LineSet>();
  auto spheres = std::make_shared<open3d::geometry::TriangleMesh>();
  // A camera view leaves out that camera's own frustum (it would trace the image border).
  const Scene* drawn = &scene;
  Scene without_own_frustum;
  if (const std::optional<int> own = scene.FindCamera(image.camera.name);
      own && ParseSnapshotView(view).kind == SnapshotViewKind::kCamera) {
    without_own_frustum = scene;
    auto& scene_lines = without_own_frustum.lines;
    scene_lines.erase(
        std::remove_if(scene_lines.begin(),
                       scene_lines.end(),
                       [&](const SceneLine& line) { return line.camera_index == *own; }),
        scene_lines.end());
    drawn = &without_own_frustum;
  }
  internal::FillOpen3DGeometry(*drawn, options.lighting, lines.get(), spheres.get());
  visualizer.AddGeometry(lines);
  visualizer.AddGeometry(spheres);
  open3d::visualization::RenderOption& render = visualizer.GetRenderOption();
  render.background_color_ = options.background.cast<double>();
  render.light_on_ = options.lighting;
  render.mesh_show_back_face_ = true;
  double z_near_m = 0, z_far_m = 0;
  internal::ClippingPlanes(canvas.camera, scene.Bounds(), &z_near_m, &z_far_m);
  if (!internal::SetPinholeView(&visualizer, canvas.camera, z_near_m, z_far_m)) {
    throw Error("Open3D refused the snapshot camera (" + std::to_string(canvas.camera.width) + "x" +
                std::to_string(canvas.camera.height) + ")");
  }
  visualizer.PollEvents();
  visualizer.UpdateRender();
  const std::shared_ptr<open3d::geometry::Image> buffer =
      visualizer.CaptureScreenFloatBuffer(/*do_render=*/true);
  visualizer.DestroyVisualizerWindow();
  if (!buffer || buffer->width_ != canvas.camera.width || buffer->height_ != canvas.camera.height ||
      buffer->num_of_channels_ != 3 || buffer->bytes_per_channel_ != 4) {
    throw Error("Open3D returned no " + std::to_string(canvas.camera.width) + "x" +
                std::to_string(canvas.camera.height) + " RGB float image");
  }

  // Output pixel -> normalised coordinates -> canvas pixel (nearest).
  image.rgb.assign(static_cast<size_t>(image.width) * image.height * 3, 0);
  const Camera& out_camera = image.camera;
  const Camera& canvas_camera = canvas.camera;
  std::vector<int> canvas_x(image.width), canvas_y(image.height);
  for (int x = 0; x < image.width; ++x) {
    const double cam_x = (x - out_camera.cx()) / out_camera.fx();
    canvas_x[x] =
        std::clamp(static_cast<int>(std::lround(canvas_camera.fx() * cam_x + canvas_camera.cx())),
                   0,
                   canvas_camera.width - 1);
  }
  for (int y = 0; y < image.height; ++y) {
    const double cam_y = (y - out_camera.cy()) / out_camera.fy();
    canvas_y[y] =
        std::clamp(static_cast<int>(std::lround(canvas_camera.fy() * cam_y + canvas_camera.cy())),
                   0,
                   canvas_camera.height - 1);
  }
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      const float* source = buffer->PointerAt<float>(canvas_x[x], canvas_y[y], 0);
      uint8_t* target = &image.rgb[(static_cast<size_t>(y) * image.width + x) * 3];
      for (int c = 0; c < 3; ++c) {
        target[c] = static_cast<uint8_t>(std::lround(std::clamp(source[c], 0.0f, 1.0f) * 255));
      }
    }
  }
  if (options.draw_legend && scene.legend) DrawLegend(&image);
  image.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return image;
#else
  (void)start;
  ThrowNoDisplay("rendering a snapshot", "built without Open3D");
#endif
}

SnapshotImage RenderSnapshot(const Scene& scene,
                             const std::string& view,
                             int width,
                             int height,
                             const std::string& out_png,
                             const SnapshotOptions& options) {
  namespace fs = std::filesystem;
  const fs::path parent = fs::path(out_png).parent_path();
  if (!parent.empty() && !fs::is_directory(parent)) {
    throw IoError(out_png + ": the output folder " + parent.string() + " does not exist");
  }
  SnapshotImage image = RenderSnapshotImage(scene, view, width, height, options);
#if defined(RIGPOSE_HAVE_OPEN3D)
  open3d::geometry::Image png;
  png.Prepare(image.width, image.height, 3, 1);
  std::copy(image.rgb.begin(), image.rgb.end(), png.data_.begin());
  // Open3D picks the encoder from the extension: the temporary name ends in .png.
  const std::string temp_path = out_png + ".tmp" + std::to_string(::getpid()) + ".png";
  std::error_code ignored;
  if (!open3d::io::WriteImageToPNG(temp_path, png)) {
    fs::remove(temp_path, ignored);
    throw IoError(out_png + ": cannot write the PNG");
  }
  std::error_code error;
  fs::rename(temp_path, out_png, error);
  if (error) {
    fs::remove(temp_path, ignored);
    throw IoError(out_png + ": cannot write the PNG (" + error.message() + ")");
  }
#endif
  return image;
}

}  // namespace rigpose

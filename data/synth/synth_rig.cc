// SPDX-License-Identifier: BSD-3-Clause
#include "data/synth/synth_rig.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include <Eigen/Geometry>

#include "core/error.h"
#include "data/synth/synth_random.h"

namespace rigpose::synth {
namespace {

constexpr double kDegToRad = M_PI / 180.0;

std::string CameraName(int index, int num_cameras) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), num_cameras >= 100 ? "cam_%03d" : "cam_%02d", index + 1);
  return buf;
}

// Focal length (px) that fits the whole capture volume into the image with a margin, for a
// camera at `center` looking at `target`: the largest angle between the optical axis and the
// rays to the volume's outline, mapped through the model (pinhole tan, fisheye equidistant).
double FittingFocalPx(const Eigen::Vector3d& center,
                      const Rigid3d& cam_from_world,
                      const SynthRigOptions& options,
                      int width,
                      int height,
                      bool fisheye) {
  double max_tan_x = 1e-6;
  double max_tan_y = 1e-6;
  for (int i = 0; i < 16; ++i) {
    const double a = 2.0 * M_PI * i / 16.0;
    for (double z : {0.0, options.volume_height_m}) {
      const Eigen::Vector3d p(
          options.volume_radius_m * std::cos(a), options.volume_radius_m * std::sin(a), z);
      const Eigen::Vector3d c = cam_from_world * p;
      if (c.z() <= 0.1) continue;
      double tx = std::abs(c.x() / c.z());
      double ty = std::abs(c.y() / c.z());
      if (fisheye) {
        tx = std::atan(tx);
        ty = std::atan(ty);
      }
      max_tan_x = std::max(max_tan_x, tx);
      max_tan_y = std::max(max_tan_y, ty);
    }
  }
  (void)center;
  const double margin = 0.92;
  return std::min(margin * 0.5 * width / max_tan_x, margin * 0.5 * height / max_tan_y);
}

Eigen::Vector2i PickResolution(const SynthRigOptions& options, Rng& rng) {
  if (options.resolution == "mixed") {
    return rng.Uniform() < 0.5 ? Eigen::Vector2i(1280, 720) : Eigen::Vector2i(1920, 1080);
  }
  return *ParseResolution(options.resolution);
}

}  // namespace

std::optional<RigLayout> ParseRigLayout(const std::string& name) {
  if (name == "ring") return RigLayout::kRing;
  if (name == "dome") return RigLayout::kDome;
  if (name == "random") return RigLayout::kRandom;
  return std::nullopt;
}

const char* RigLayoutName(RigLayout layout) {
  switch (layout) {
    case RigLayout::kRing:
      return "ring";
    case RigLayout::kDome:
      return "dome";
    case RigLayout::kRandom:
      return "random";
  }
  return "?";
}

std::optional<Eigen::Vector2i> ParseResolution(const std::string& text) {
  if (text == "720p") return Eigen::Vector2i(1280, 720);
  if (text == "1080p") return Eigen::Vector2i(1920, 1080);
  int w = 0;
  int h = 0;
  char x = 0;
  std::istringstream in(text);
  if (in >> w >> x >> h && (x == 'x' || x == 'X') && in.peek() == EOF && w >= 16 && h >= 16 &&
      w <= 8192 && h <= 8192) {
    return Eigen::Vector2i(w, h);
  }
  return std::nullopt;
}

std::vector<std::string> SynthRigOptions::Problems() const {
  std::vector<std::string> problems;
  if (num_cameras < 2 || num_cameras > 64) {
    problems.push_back("number of cameras " + std::to_string(num_cameras) +
                       " must be between 2 and 64");
  }
  if (!(radius_m > volume_radius_m + 0.5)) {
    problems.push_back("camera radius " + std::to_string(radius_m) +
                       " m must exceed the volume radius + 0.5 m (" +
                       std::to_string(volume_radius_m + 0.5) + ")");
  }
  if (!(height_m > 0.2 && height_m < 20.0)) {
    problems.push_back("camera height " + std::to_string(height_m) + " m must be in (0.2, 20)");
  }
  if (!(volume_radius_m > 0.0) || !(volume_height_m > 0.0)) {
    problems.push_back("capture volume radius and height must be > 0");
  }
  if (resolution != "mixed" && !ParseResolution(resolution)) {
    problems.push_back("resolution '" + resolution +
                       "' is not 720p, 1080p, mixed or WxH (16..8192 pixels)");
  }
  if (!(k1_min <= k1_max) || k1_min < -0.6 || k1_max > 0.3) {
    problems.push_back("k1 range [" + std::to_string(k1_min) + ", " + std::to_string(k1_max) +
                       "] must be ordered and within [-0.6, 0.3]");
  }
  if (num_fisheye < 0 || num_fisheye > num_cameras) {
    problems.push_back("number of fisheye cameras " + std::to_string(num_fisheye) +
                       " must be between 0 and the number of cameras");
  }
  return problems;
}

Rigid3d LookAt(const Eigen::Vector3d& center_in_world,
               const Eigen::Vector3d& target_in_world,
               double roll_rad) {
  const Eigen::Vector3d forward = (target_in_world - center_in_world).normalized();
  Eigen::Vector3d right = forward.cross(Eigen::Vector3d::UnitZ());
  if (right.norm() < 1e-9) right = Eigen::Vector3d::UnitX();  // looking straight down/up
  right.normalize();
  const Eigen::Vector3d down = forward.cross(right);
  Eigen::Matrix3d world_from_cam;
  world_from_cam.col(0) = right;
  world_from_cam.col(1) = down;
  world_from_cam.col(2) = forward;
  const Eigen::Matrix3d roll = Eigen::AngleAxisd(roll_rad, Eigen::Vector3d::UnitZ()).matrix();
  const Eigen::Matrix3d cam_from_world = roll * world_from_cam.transpose();
  return Rigid3d::FromMatrix(cam_from_world, -cam_from_world * center_in_world);
}

Rig MakeSynthRig(const SynthRigOptions& options) {
  const auto problems = options.Problems();
  if (!problems.empty()) {
    throw InputError(FormatProblems("synthetic rig options", problems));
  }
  Rng rng(StreamSeed(options.seed, {0x716, 0}));
  const int n = options.num_cameras;
  Rig rig;
  rig.source_format = "synthetic";
  rig.source_path = std::string("synth:") + RigLayoutName(options.layout);
  const double azimuth_offset = rng.Uniform(0.0, 2.0 * M_PI);
  for (int i = 0; i < n; ++i) {
    Eigen::Vector3d center;
    switch (options.layout) {
      case RigLayout::kRing: {
        const double azimuth =
            azimuth_offset + 2.0 * M_PI * i / n + rng.Uniform(-4.0, 4.0) * kDegToRad;
        const double r = options.radius_m * rng.Uniform(0.95, 1.05);
        center = {r * std::cos(azimuth),
                  r * std::sin(azimuth),
                  std::max(0.3, options.height_m + rng.Uniform(-0.2, 0.2))};
        break;
      }
      case RigLayout::kDome: {
        // Fibonacci spiral over a band of elevations of a sphere centred at the volume's
        // mid-height: even coverage for any N. The top of the band keeps every camera at least
        // 1 m outside the volume horizontally.
        const double golden = M_PI * (3.0 - std::sqrt(5.0));
        const double sphere_radius = options.radius_m / std::cos(10.0 * kDegToRad);
        const double top = std::min(
            65.0,
            std::acos(std::min(1.0, (options.volume_radius_m + 1.0) / sphere_radius)) / kDegToRad);
        const double s = (i + 0.5) / n;
        const double elevation = (10.0 + (top - 10.0) * s) * kDegToRad;
        const double azimuth = azimuth_offset + golden * i;
        center = {sphere_radius * std::cos(elevation) * std::cos(azimuth),
                  sphere_radius * std::cos(elevation) * std::sin(azimuth),
                  0.5 * options.volume_height_m + sphere_radius * std::sin(elevation)};
        break;
      }
      case RigLayout::kRandom: {
        const double azimuth = rng.Uniform(0.0, 2.0 * M_PI);
        const double r = rng.Uniform(options.volume_radius_m + 1.0,
                                     std::max(options.radius_m, options.volume_radius_m + 1.5));
        center = {r * std::cos(azimuth),
                  r * std::sin(azimuth),
                  std::max(0.3, options.height_m + rng.Uniform(-1.0, 1.0))};
        break;
      }
    }
    const Eigen::Vector3d target(rng.Uniform(-0.15, 0.15),
                                 rng.Uniform(-0.15, 0.15),
                                 0.5 * options.volume_height_m + rng.Uniform(-0.1, 0.1));
    Camera camera;
    camera.name = CameraName(i, n);
    camera.cam_from_world = LookAt(center, target, rng.Uniform(-2.0, 2.0) * kDegToRad);
    const Eigen::Vector2i size = PickResolution(options, rng);
    camera.width = size.x();
    camera.height = size.y();
    const bool fisheye = i >= n - options.num_fisheye;
    const double fit =
        FittingFocalPx(center, camera.cam_from_world, options, size.x(), size.y(), fisheye);
    // A lens a little wider than "just fits the volume", within the 800-2200 px of 720p-1080p
    // machine-vision lenses (scaled for other sizes); fisheye lenses are shorter.
    const double lo = 800.0 * std::min(1.0, size.x() / 1280.0) * (fisheye ? 0.5 : 1.0);
    const double hi = 2200.0 * std::max(1.0, size.x() / 1920.0);
    const double fx = std::clamp(fit * rng.Uniform(0.8, 1.0), lo, hi);
    const double fy = fx * rng.Uniform(0.998, 1.002);
    const double cx = 0.5 * (size.x() - 1) + rng.Uniform(-0.015, 0.015) * size.x();
    const double cy = 0.5 * (size.y() - 1) + rng.Uniform(-0.015, 0.015) * size.y();
    if (fisheye) {
      camera.model_id = CameraModelId::kOpenCVFisheye;
      camera.params = {fx,
                       fy,
                       cx,
                       cy,
                       rng.Uniform(-0.05, 0.05),
                       rng.Uniform(-0.02, 0.02),
                       rng.Uniform(-0.005, 0.005),
                       rng.Uniform(-0.002, 0.002)};
    } else if (options.distortion) {
      camera.model_id = CameraModelId::kOpenCV;
      // Resample until the model is invertible over the whole image (no fold inside it).
      for (int attempt = 0;; ++attempt) {
        const double k1 = rng.Uniform(options.k1_min, options.k1_max);
        const double k2 = attempt < 20 ? -0.3 * k1 * rng.Uniform(0.0, 1.0) : 0.0;
        camera.params = {fx, fy, cx, cy, k1, k2, rng.Normal(0.0, 3e-4), rng.Normal(0.0, 3e-4), 0.0};
        bool ok = true;
        for (const Eigen::Vector2d& corner : {Eigen::Vector2d(-0.5, -0.5),
                                              Eigen::Vector2d(size.x() - 0.5, -0.5),
                                              Eigen::Vector2d(-0.5, size.y() - 0.5),
                                              Eigen::Vector2d(size.x() - 0.5, size.y() - 0.5)}) {
          UndistortStatus status;
          const Eigen::Vector2d cam_point = camera.CamFromImg(corner, &status);
          const auto back = camera.ImgFromCam(cam_point.homogeneous());
          ok = ok && status.converged && back && (*back - corner).norm() < 1e-6;
        }
        if (ok || attempt > 40) break;
      }
    } else {
      camera.model_id = CameraModelId::kPinhole;
      camera.params = {fx, fy, cx, cy};
    }
    rig.cameras.push_back(camera);
  }
  return rig;
}

}  // namespace rigpose::synth

// SPDX-License-Identifier: BSD-3-Clause
// Ray-cast rendering through the full camera model: every pixel's bearing comes from the camera's
// own undistortion, so straight world lines bend exactly as the model says. Bodies are shaded
// capsules with a depth buffer (occlusion between limbs and between people is exact), the room
// is a textured box, calibration boards are textures on planes. Then a sensor model: blur,
// noise, JPEG.
#pragma once

#include <cstdint>
#include <vector>

#include <Eigen/Core>
#include <opencv2/core.hpp>

#include "core/camera.h"
#include "data/synth/body.h"

namespace rigpose::synth {

class Rng;

// Bearing of every pixel, from an exact undistortion on a grid of `step` pixels and bilinear
// interpolation between grid nodes (distortion is smooth: the error is ~1e-3 px for step 4).
class CameraRays {
 public:
  explicit CameraRays(const Camera& camera, int step = 4);
  // Unit bearing in the camera frame of pixel position (u, v); zero when the model does not
  // invert there (beyond a fisheye's field of view).
  Eigen::Vector3d At(double u, double v) const;
  const Eigen::Vector3f& Pixel(int u, int v) const { return pixels_[size_t(v) * width_ + u]; }

 private:
  int width_ = 0, height_ = 0, step_ = 4, grid_w_ = 0, grid_h_ = 0;
  std::vector<Eigen::Vector3d> grid_;
  std::vector<Eigen::Vector3f> pixels_;
};

// A capsule: all points within `radius` of the segment a-b (a sphere when a == b). BGR colour in
// [0, 1].
struct Capsule {
  Eigen::Vector3d a = Eigen::Vector3d::Zero();
  Eigen::Vector3d b = Eigen::Vector3d::Zero();
  double radius = 0;
  cv::Vec3f color;
  int subject = 0;
};

// Distance along a unit ray (origin o, direction d) to the capsule's surface; nullopt if missed
// or behind the origin.
std::optional<double> IntersectCapsule(const Eigen::Vector3d& o,
                                       const Eigen::Vector3d& d,
                                       const Capsule& capsule);

// Clothing and skin colours (BGR, [0, 1]); the left arm and leg carry an accent colour so that
// left and right can be told apart.
struct Appearance {
  cv::Vec3f skin, hair, shirt, pants, shoes, accent;
  bool long_sleeves = true;
};
Appearance RandomAppearance(Rng& rng);

// Capsules of one body from its HALPE-26 joints (see body.h), sized by `shape`.
std::vector<Capsule> BodyCapsules(const BodyShape& shape,
                                  const Appearance& appearance,
                                  const std::vector<Eigen::Vector3d>& joints,
                                  int subject);

// COCO visibility of a joint in a camera: 0 outside the image (or behind the camera), 1 inside
// but hidden by a capsule that does not contain the joint, 2 visible. A joint inside capsules
// (an elbow inside its arm) is hidden only by another capsule in front of it by more than half
// its own limb's radius; a surface point (eye, nose) by anything 1.5 cm in front of it.
int JointVisibility(const Camera& camera,
                    const std::vector<Capsule>& capsules,
                    const Eigen::Vector3d& joint_in_world);

// The room: a textured floor, walls and ceiling (style drawn from a seed).
struct Room {
  double half_size_m = 7.0;
  double height_m = 3.5;
  uint64_t seed = 1;
  int floor_style = 0;  // 0 tiles, 1 planks, 2 concrete
  cv::Vec3f floor_color, wall_color[4], ceiling_color;
  struct Poster {
    int wall;
    double u0, u1, z0, z1;
    cv::Vec3f color;
    int stripes;
  };
  std::vector<Poster> posters;
};
Room RandomRoom(uint64_t seed, double half_size_m);

struct Lighting {
  Eigen::Vector3d sun_in_world = Eigen::Vector3d(0.3, 0.2, 1.0).normalized();
  double ambient = 0.32;
  double sun = 0.5;
  double headlight = 0.25;  // light from the camera's direction (soft fill)
  double exposure = 1.0;    // per camera gain
};

// Background (room) image of a camera; static over a capture, so rendered once per camera.
cv::Mat RenderRoom(const Camera& camera,
                   const CameraRays& rays,
                   const Room& room,
                   const Lighting& lighting);

// Draws capsules over `image` (CV_8UC3) with a depth buffer (`depth`, CV_32F, reset here).
void RenderCapsules(const Camera& camera,
                    const CameraRays& rays,
                    const std::vector<Capsule>& capsules,
                    const Lighting& lighting,
                    cv::Mat* image,
                    cv::Mat* depth);

// Draws a planar board texture (CV_8UC1, texel (u, v) covers board x = -margin_m + (u + 0.5) /
// pixels_per_m, same for y; board frame: printed face seen from z < 0) with 3x3 supersampling.
// The back of the board is plain grey. Returns false when the board is not in view.
bool RenderBoardPlane(const Camera& camera,
                      const CameraRays& rays,
                      const Rigid3d& world_from_board,
                      const cv::Mat& texture,
                      double pixels_per_m,
                      double margin_m,
                      const Lighting& lighting,
                      cv::Mat* image);

// Camera sensor: Gaussian blur (optics), Gaussian noise (sigma in 8-bit levels), JPEG
// compression (quality 1-100, 0: none). Deterministic for a seed.
struct SensorOptions {
  double blur_sigma_px = 0.6;
  double noise_sigma = 2.0;
  int jpeg_quality = 0;
};
void ApplySensor(const SensorOptions& options, uint64_t seed, cv::Mat* image);

}  // namespace rigpose::synth

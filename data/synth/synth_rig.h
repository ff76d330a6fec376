// SPDX-License-Identifier: BSD-3-Clause
// Synthetic rigs: ring, dome and random layouts of N cameras (2-64) looking at a capture volume,
// with realistic intrinsics (720p / 1080p, focal lengths that frame the volume), OpenCV radial +
// tangential distortion and optional fisheye cameras. World frame: Z up, metres, floor at z = 0.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "core/rig.h"

namespace rigpose::synth {

enum class RigLayout { kRing, kDome, kRandom };
std::optional<RigLayout> ParseRigLayout(const std::string& name);  // ring | dome | random
const char* RigLayoutName(RigLayout layout);

struct SynthRigOptions {
  RigLayout layout = RigLayout::kRing;
  int num_cameras = 4;
  double radius_m = 4.0;  // horizontal distance of the camera centres from the volume axis
  double height_m = 2.2;  // ring/random: mean camera height (dome: from radius_m, 10-65 deg up)
  // Capture volume: a vertical cylinder on the floor around the origin that every camera frames.
  double volume_radius_m = 1.5;
  double volume_height_m = 2.0;
  // "720p", "1080p", "mixed" (random per camera), or "WxH" (e.g. "640x480").
  std::string resolution = "720p";
  bool distortion = true;  // OPENCV model with k1 in [k1_min, k1_max]; false: PINHOLE
  double k1_min = -0.35;
  double k1_max = 0.1;
  int num_fisheye = 0;  // the last num_fisheye cameras use OPENCV_FISHEYE
  uint64_t seed = 1;

  // One sentence per problem; empty when usable.
  std::vector<std::string> Problems() const;
};

// Cameras named cam_01 .. cam_NN, every one looking at the volume. Throws InputError listing
// Problems() when the options are not usable.
Rig MakeSynthRig(const SynthRigOptions& options);

// Parses "720p", "1080p", "WxH"; nullopt otherwise ("mixed" is not a single size).
std::optional<Eigen::Vector2i> ParseResolution(const std::string& text);

// cam_from_world of a camera at `center_in_world` looking at `target_in_world`, image x axis
// horizontal (Z up world), rolled by `roll_rad` about the optical axis.
Rigid3d LookAt(const Eigen::Vector3d& center_in_world,
               const Eigen::Vector3d& target_in_world,
               double roll_rad = 0.0);

}  // namespace rigpose::synth

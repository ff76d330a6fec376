// SPDX-License-Identifier: BSD-3-Clause
// A rig: ordered, named, calibrated cameras sharing one world frame (metres), with provenance.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/camera.h"
#include "core/units.h"

namespace rigpose {

struct Rig {
  std::vector<Camera> cameras;

  // Provenance, filled by readers: the format and path read, and the length unit the file
  // stored (values in memory are always metres).
  std::string source_format;
  std::string source_path;
  LengthUnit source_unit = LengthUnit::kMetre;

  int NumCameras() const { return static_cast<int>(cameras.size()); }
  // Index of the camera with exactly this name.
  std::optional<int> FindCamera(const std::string& name) const;
  // Index of the camera whose NormaliseCameraName() equals that of `name` ("cam01_json" does not
  // match; strip folder suffixes first). nullopt if none or several match.
  std::optional<int> MatchCamera(const std::string& name) const;
  std::vector<std::string> CameraNames() const;

  // Every problem, prefixed by the camera name: duplicate names, per-camera Problems().
  std::vector<std::string> Problems() const;
  // Largest distance between two camera centres (metres); 0 for < 2 cameras.
  double MaxCameraSeparation() const;
};

// Name used to match cameras across files: lower case, a leading "camera"/"cam" dropped,
// separators (_ - . space) dropped between letter/digit runs, leading zeros of numbers dropped.
// "cam_01", "Cam1", "cam01" -> "1"; "00_03" -> "0_3"; "left" -> "left".
std::string NormaliseCameraName(const std::string& name);

}  // namespace rigpose

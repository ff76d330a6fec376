// SPDX-License-Identifier: BSD-3-Clause
// Calibration files in, Rig out (and back): rigpose YAML, anipose / Pose2Sim / FreeMoCap TOML,
// Caliscope camera_array.toml, CMU Panoptic JSON, EasyMocap intri.yml + extri.yml.
//
// Every reader validates (K layout, finite numbers, focal > 0, image size > 0, orthonormal R)
// and throws rigpose::IoError naming the file, the line when the parser knows it, the camera and
// the key. Values in the Rig are metres; Rig::source_unit records what the file stored.
// Writers go through a temporary file + rename, and refuse to drop information a format cannot
// hold (e.g. k3 != 0 into Pose2Sim's four coefficients) unless forced.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/keypoints.h"
#include "core/rig.h"
#include "core/units.h"

namespace rigpose {

enum class CalibFormat {
  kAuto,
  kRigpose,    // rigpose rig YAML (versioned, strict)
  kAnipose,    // anipose / aniposelib TOML; also Caliscope's aniposelib export
  kPose2Sim,   // Pose2Sim TOML (4 distortion coefficients, metres)
  kFreeMocap,  // FreeMoCap TOML (anipose layout, millimetres)
  kCaliscope,  // Caliscope camera_array.toml ([cameras.N])
  kPanoptic,   // CMU Panoptic calibration JSON (cm, Y-down world)
  kEasyMocap,  // EasyMocap intri.yml + extri.yml (OpenCV FileStorage)
};

std::string CalibFormatName(CalibFormat format);
// "rigpose", "anipose", "pose2sim", "freemocap", "caliscope", "panoptic", "easymocap", "auto".
std::optional<CalibFormat> ParseCalibFormat(const std::string& name);
// Formats WriteRig accepts.
std::vector<CalibFormat> WritableCalibFormats();

struct CalibReadOptions {
  CalibFormat format = CalibFormat::kAuto;
  // Unit of the file's translations when the format does not fix it (anipose: board units).
  // Ignored by formats with a fixed unit unless `force_unit` is set.
  std::optional<LengthUnit> unit;
  bool force_unit = false;
  // Panoptic: camera types to keep ("hd", "vga", "kinect-color"); empty keeps all.
  std::vector<std::string> panoptic_camera_types;
  // Panoptic: rotate the Y-down world to Z-up, (x, y, z) -> (x, z, -y). Apply the same to
  // Panoptic skeletons with ReadPanopticBodies(..., z_up).
  bool panoptic_z_up = true;
  // A camera spread beyond this (metres) warns that the unit is probably wrong.
  double max_plausible_separation_m = 20.0;
};

// Which format a path holds, from its extension, name and content. IoError when unknown.
CalibFormat DetectCalibFormat(const std::string& path);

// Reads and validates a calibration. Warnings (e.g. implausible camera spread, image size
// guessed from the principal point) are appended to `warnings` when given.
Rig ReadRig(const std::string& path,
            const CalibReadOptions& options = {},
            std::vector<std::string>* warnings = nullptr);

struct CalibWriteOptions {
  CalibFormat format = CalibFormat::kRigpose;
  // Translation unit for formats that allow a choice (anipose). Fixed-unit formats ignore it.
  LengthUnit unit = LengthUnit::kMetre;
  // Write even when the format cannot hold a value (it is dropped, with a warning).
  bool force = false;
};

// Writes a calibration atomically. For kEasyMocap `path` is a directory that receives intri.yml
// and extri.yml. IoError on failure or information loss (unless forced); nothing half-written.
void WriteRig(const Rig& rig,
              const std::string& path,
              const CalibWriteOptions& options,
              std::vector<std::string>* warnings = nullptr);

// CMU Panoptic body3DScene_*.json: one Poses3D per body (panoptic19 skeleton, metres, same
// world transform as ReadRig with panoptic_z_up). Invalid joints (confidence < 0) are invalid.
std::vector<Poses3D> ReadPanopticBodies(const std::string& path, bool z_up = true);

}  // namespace rigpose

// SPDX-License-Identifier: BSD-3-Clause
#include "data/calib_io.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "core/error.h"
#include "data/calib_internal.h"
#include "data/file_util.h"

namespace rigpose {
namespace fs = std::filesystem;

namespace calib_internal {

void CheckCalibrationMatrix(const Eigen::Matrix3d& k,
                            const std::string& path,
                            int line,
                            const std::string& key) {
  if (!k.allFinite()) ThrowIo(path, line, key, "calibration matrix has non-finite entries");
  const bool last_row_ok = k(2, 0) == 0.0 && k(2, 1) == 0.0 && k(2, 2) == 1.0;
  if (!last_row_ok) {
    if (k(0, 2) == 0.0 && k(1, 2) == 0.0 && k(2, 2) == 1.0 && (k(2, 0) != 0.0 || k(2, 1) != 0.0)) {
      ThrowIo(path,
              line,
              key,
              "calibration matrix looks transposed (principal point in the third row); "
              "expected [[fx, 0, cx], [0, fy, cy], [0, 0, 1]]");
    }
    ThrowIo(path, line, key, "calibration matrix third row must be [0, 0, 1]");
  }
  if (k(1, 0) != 0.0) ThrowIo(path, line, key, "calibration matrix K[1][0] must be 0");
  if (std::abs(k(0, 1)) > 1e-9 * std::abs(k(0, 0))) {
    ThrowIo(
        path, line, key, "calibration matrix has skew K[0][1] != 0, which rigpose does not model");
  }
  if (!(k(0, 0) > 0.0) || !(k(1, 1) > 0.0)) {
    std::ostringstream msg;
    msg << "focal lengths must be > 0 (fx = " << k(0, 0) << ", fy = " << k(1, 1) << ")";
    ThrowIo(path, line, key, msg.str());
  }
}

void CheckRotationMatrix(const Eigen::Matrix3d& r,
                         const std::string& path,
                         int line,
                         const std::string& key) {
  const std::string problem = RotationMatrixProblem(r, 1e-5);
  if (!problem.empty()) ThrowIo(path, line, key, problem);
}

void CheckCamera(const Camera& camera, const std::string& path, int line) {
  const std::vector<std::string> problems = camera.Problems();
  if (!problems.empty()) ThrowIo(path, line, "", "camera '" + camera.name + "': " + problems[0]);
}

int CheckImageSize(double value, const std::string& path, int line, const std::string& key) {
  if (!std::isfinite(value) || value <= 0.0 || value != std::floor(value) || value > 1e6) {
    std::ostringstream msg;
    msg << "image size must be a positive integer, got " << value;
    ThrowIo(path, line, key, msg.str());
  }
  return static_cast<int>(value);
}

std::string FormatDouble(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.17g", value);
  std::string s = buffer;
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // "n": nan/inf
  return s;
}

std::string FormatDoubleList(const std::vector<double>& values) {
  std::string s = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) s += ", ";
    s += FormatDouble(values[i]);
  }
  return s + "]";
}

Camera CameraFromOpenCV(const std::string& name,
                        const Eigen::Matrix3d& k,
                        const std::vector<double>& distortion,
                        bool fisheye,
                        const std::string& path,
                        int line) {
  Camera camera;
  camera.name = name;
  for (double d : distortion) {
    if (!std::isfinite(d))
      ThrowIo(path, line, "distortions", "camera '" + name + "': non-finite coefficient");
  }
  std::vector<double> params = {k(0, 0), k(1, 1), k(0, 2), k(1, 2)};
  if (fisheye) {
    if (distortion.size() != 4) {
      ThrowIo(path,
              line,
              "distortions",
              "camera '" + name + "': a fisheye camera needs 4 coefficients, got " +
                  std::to_string(distortion.size()));
    }
    camera.model_id = CameraModelId::kOpenCVFisheye;
    params.insert(params.end(), distortion.begin(), distortion.end());
  } else {
    const size_t n = distortion.size();
    if (n != 0 && n != 4 && n != 5 && n != 8 && n != 12 && n != 14) {
      ThrowIo(path,
              line,
              "distortions",
              "camera '" + name + "': expected 4 or 5 distortion coefficients, got " +
                  std::to_string(n));
    }
    for (size_t i = 5; i < n; ++i) {
      if (distortion[i] != 0.0) {
        ThrowIo(path,
                line,
                "distortions",
                "camera '" + name + "': rational/thin-prism coefficients (index " +
                    std::to_string(i) + ") are not supported");
      }
    }
    camera.model_id = CameraModelId::kOpenCV;
    for (size_t i = 0; i < 5; ++i) params.push_back(i < n ? distortion[i] : 0.0);
  }
  camera.params = params;
  return camera;
}

std::vector<double> OpenCVDistortion(const Camera& camera,
                                     int num_coeffs,
                                     bool force,
                                     const std::string& path,
                                     const std::string& format,
                                     std::vector<std::string>* warnings) {
  const std::vector<double> d = camera.DistortionParams();
  if (camera.model_id == CameraModelId::kOpenCVFisheye) return d;  // k1..k4
  std::vector<double> full(5, 0.0);
  if (camera.model_id == CameraModelId::kOpenCV) full = d;
  std::vector<double> out(full.begin(), full.begin() + num_coeffs);
  for (int i = num_coeffs; i < 5; ++i) {
    if (full[i] != 0.0) {
      std::ostringstream msg;
      msg << "camera '" << camera.name << "': " << format << " holds " << num_coeffs
          << " distortion coefficients but k3 = " << full[i] << " is not 0";
      if (!force) ThrowIo(path, 0, "", msg.str() + " (use --force to drop it)");
      if (warnings) warnings->push_back(msg.str() + ": dropped (forced)");
    }
  }
  return out;
}

}  // namespace calib_internal

std::string CalibFormatName(CalibFormat format) {
  switch (format) {
    case CalibFormat::kAuto:
      return "auto";
    case CalibFormat::kRigpose:
      return "rigpose";
    case CalibFormat::kAnipose:
      return "anipose";
    case CalibFormat::kPose2Sim:
      return "pose2sim";
    case CalibFormat::kFreeMocap:
      return "freemocap";
    case CalibFormat::kCaliscope:
      return "caliscope";
    case CalibFormat::kPanoptic:
      return "panoptic";
    case CalibFormat::kEasyMocap:
      return "easymocap";
  }
  return "auto";
}

std::optional<CalibFormat> ParseCalibFormat(const std::string& name) {
  std::string lower;
  for (unsigned char c : name) lower.push_back(static_cast<char>(std::tolower(c)));
  for (CalibFormat f : {CalibFormat::kAuto,
                        CalibFormat::kRigpose,
                        CalibFormat::kAnipose,
                        CalibFormat::kPose2Sim,
                        CalibFormat::kFreeMocap,
                        CalibFormat::kCaliscope,
                        CalibFormat::kPanoptic,
                        CalibFormat::kEasyMocap}) {
    if (CalibFormatName(f) == lower) return f;
  }
  return std::nullopt;
}

std::vector<CalibFormat> WritableCalibFormats() {
  return {CalibFormat::kRigpose,
          CalibFormat::kAnipose,
          CalibFormat::kPose2Sim,
          CalibFormat::kFreeMocap,
          CalibFormat::kEasyMocap};
}

CalibFormat DetectCalibFormat(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    if (fs::exists(fs::path(path) / "intri.yml") || fs::exists(fs::path(path) / "extri.yml")) {
      return CalibFormat::kEasyMocap;
    }
    throw IoError(path + ": a directory, but without EasyMocap intri.yml/extri.yml");
  }
  if (!fs::exists(path, ec)) throw IoError(path + ": no such file");
  const std::string name = fs::path(path).filename().string();
  const std::string ext = FileExtension(path);
  if (name == "intri.yml" || name == "extri.yml") return CalibFormat::kEasyMocap;
  if (ext == ".yaml" || ext == ".yml") {
    const std::string head = ReadFileToString(path).substr(0, 16);
    if (head.rfind("%YAML:1.0", 0) == 0 || head.rfind("%YAML 1.0", 0) == 0) {
      return CalibFormat::kEasyMocap;
    }
    return CalibFormat::kRigpose;
  }
  if (ext == ".json") return CalibFormat::kPanoptic;
  if (ext == ".toml") return calib_internal::DetectTomlFlavour(path);
  throw IoError(path + ": cannot tell the calibration format from the extension '" + ext +
                "' (expected .yaml, .toml, .json, or an EasyMocap folder)");
}

namespace {

void WarnImplausibleSpread(const Rig& rig,
                           const CalibReadOptions& options,
                           std::vector<std::string>* warnings) {
  const double spread = rig.MaxCameraSeparation();
  if (spread > options.max_plausible_separation_m && warnings != nullptr) {
    std::ostringstream msg;
    msg << rig.source_path << ": cameras are up to " << spread << " m apart (read as "
        << UnitName(rig.source_unit)
        << "); the translations are probably in another unit (anipose stores board units, "
           "often mm): pass --units mm";
    warnings->push_back(msg.str());
  }
}

}  // namespace

Rig ReadRig(const std::string& path,
            const CalibReadOptions& options,
            std::vector<std::string>* warnings) {
  const CalibFormat format =
      options.format == CalibFormat::kAuto ? DetectCalibFormat(path) : options.format;
  Rig rig;
  switch (format) {
    case CalibFormat::kRigpose:
      rig = calib_internal::ReadRigYaml(path);
      break;
    case CalibFormat::kAnipose:
    case CalibFormat::kPose2Sim:
    case CalibFormat::kFreeMocap:
    case CalibFormat::kCaliscope:
      rig = calib_internal::ReadTomlFamily(path, format, options, warnings);
      break;
    case CalibFormat::kPanoptic:
      rig = calib_internal::ReadPanopticCalibration(path, options);
      break;
    case CalibFormat::kEasyMocap:
      rig = calib_internal::ReadEasyMocap(path, warnings);
      break;
    case CalibFormat::kAuto:
      break;
  }
  rig.source_format = CalibFormatName(format);
  rig.source_path = path;
  if (rig.cameras.empty()) throw IoError(path + ": no cameras found");
  const std::vector<std::string> problems = rig.Problems();
  if (!problems.empty()) throw IoError(path + ": " + problems.front());
  WarnImplausibleSpread(rig, options, warnings);
  return rig;
}

void WriteRig(const Rig& rig,
              const std::string& path,
              const CalibWriteOptions& options,
              std::vector<std::string>* warnings) {
  if (rig.cameras.empty())
    throw InputError("refusing to write " + path + ": the rig has no cameras");
  const std::vector<std::string> problems = rig.Problems();
  if (!problems.empty()) throw InputError("refusing to write " + path + ": " + problems.front());
  switch (options.format) {
    case CalibFormat::kRigpose:
      calib_internal::WriteRigYaml(rig, path);
      return;
    case CalibFormat::kAnipose:
    case CalibFormat::kPose2Sim:
    case CalibFormat::kFreeMocap:
      calib_internal::WriteTomlFamily(rig, path, options, warnings);
      return;
    case CalibFormat::kEasyMocap:
      calib_internal::WriteEasyMocap(rig, path, options, warnings);
      return;
    default:
      throw UsageError("cannot write calibration format '" + CalibFormatName(options.format) +
                       "' (writable: rigpose, anipose, pose2sim, freemocap, easymocap)");
  }
}

}  // namespace rigpose

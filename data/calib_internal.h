// SPDX-License-Identifier: BSD-3-Clause
// Shared validation and formatting for the calibration readers/writers (not a public API).
#pragma once

#include <string>
#include <vector>

#include <Eigen/Core>

#include "core/rig.h"
#include "data/calib_io.h"

namespace rigpose::calib_internal {

// Throws IoError unless K is a valid calibration matrix: finite, K(2,:) = [0 0 1], no skew,
// K(1,0) = 0; a transposed K (principal point in the third row) gets its own message.
void CheckCalibrationMatrix(const Eigen::Matrix3d& k,
                            const std::string& path,
                            int line,
                            const std::string& key);
// Throws IoError naming the file and camera unless R is a rotation matrix.
void CheckRotationMatrix(const Eigen::Matrix3d& r,
                         const std::string& path,
                         int line,
                         const std::string& key);
// Throws IoError with the first of camera.Problems(), naming file and camera.
void CheckCamera(const Camera& camera, const std::string& path, int line);
// Throws IoError for an image size that is not a positive integer.
int CheckImageSize(double value, const std::string& path, int line, const std::string& key);

// Exact, locale-independent text of a double ("%.17g", always with a '.' or exponent).
std::string FormatDouble(double value);
std::string FormatDoubleList(const std::vector<double>& values);

// Model + params from K and an OpenCV-style distortion vector.
//   fisheye: 4 coefficients k1..k4 -> OPENCV_FISHEYE
//   else:    4 (k1 k2 p1 p2) or 5 (k1 k2 p1 p2 k3), or 8/12/14 with only the first 5 non-zero
//            -> OPENCV; anything else is an IoError.
Camera CameraFromOpenCV(const std::string& name,
                        const Eigen::Matrix3d& k,
                        const std::vector<double>& distortion,
                        bool fisheye,
                        const std::string& path,
                        int line);

// OpenCV distortion vector of a camera, with `num_coeffs` entries (4 or 5 for OPENCV/PINHOLE,
// fisheye always 4). Throws IoError when a non-zero coefficient would be dropped, unless force
// (then a warning is added).
std::vector<double> OpenCVDistortion(const Camera& camera,
                                     int num_coeffs,
                                     bool force,
                                     const std::string& path,
                                     const std::string& format,
                                     std::vector<std::string>* warnings);

// Readers / writers per family (implemented in calib_*.cc).
Rig ReadRigYaml(const std::string& path);
void WriteRigYaml(const Rig& rig, const std::string& path);
Rig ReadTomlFamily(const std::string& path,
                   CalibFormat format,
                   const CalibReadOptions& options,
                   std::vector<std::string>* warnings);
CalibFormat DetectTomlFlavour(const std::string& path);
void WriteTomlFamily(const Rig& rig,
                     const std::string& path,
                     const CalibWriteOptions& options,
                     std::vector<std::string>* warnings);
Rig ReadPanopticCalibration(const std::string& path, const CalibReadOptions& options);
Rig ReadEasyMocap(const std::string& path, std::vector<std::string>* warnings);
void WriteEasyMocap(const Rig& rig,
                    const std::string& dir,
                    const CalibWriteOptions& options,
                    std::vector<std::string>* warnings);

}  // namespace rigpose::calib_internal

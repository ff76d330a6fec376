// SPDX-License-Identifier: BSD-3-Clause
#include "data/versions.h"

#include <toml++/toml.h>
#include <Eigen/Core>
#include <nlohmann/json.hpp>
#include <opencv2/core/version.hpp>

namespace rigpose {

std::string DataLibraryVersions() {
  return "Eigen " + std::to_string(EIGEN_WORLD_VERSION) + "." +
         std::to_string(EIGEN_MAJOR_VERSION) + "." + std::to_string(EIGEN_MINOR_VERSION) +
         ", OpenCV " CV_VERSION + ", toml++ " + std::to_string(TOML_LIB_MAJOR) + "." +
         std::to_string(TOML_LIB_MINOR) + "." + std::to_string(TOML_LIB_PATCH) +
         ", nlohmann_json " + std::to_string(NLOHMANN_JSON_VERSION_MAJOR) + "." +
         std::to_string(NLOHMANN_JSON_VERSION_MINOR) + "." +
         std::to_string(NLOHMANN_JSON_VERSION_PATCH) + ", yaml-cpp 0.7";
}

}  // namespace rigpose

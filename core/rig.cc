// SPDX-License-Identifier: BSD-3-Clause
#include "core/rig.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace rigpose {

std::optional<int> Rig::FindCamera(const std::string& name) const {
  for (int i = 0; i < NumCameras(); ++i) {
    if (cameras[i].name == name) return i;
  }
  return std::nullopt;
}

std::optional<int> Rig::MatchCamera(const std::string& name) const {
  if (auto exact = FindCamera(name)) return exact;
  const std::string key = NormaliseCameraName(name);
  std::optional<int> found;
  for (int i = 0; i < NumCameras(); ++i) {
    if (NormaliseCameraName(cameras[i].name) == key) {
      if (found) return std::nullopt;  // ambiguous
      found = i;
    }
  }
  return found;
}

std::vector<std::string> Rig::CameraNames() const {
  std::vector<std::string> names;
  for (const Camera& camera : cameras) names.push_back(camera.name);
  return names;
}

std::vector<std::string> Rig::Problems() const {
  std::vector<std::string> problems;
  std::set<std::string> seen;
  for (const Camera& camera : cameras) {
    if (camera.name.empty()) problems.push_back("a camera has an empty name");
    if (!seen.insert(camera.name).second) {
      problems.push_back("camera '" + camera.name + "': duplicate camera name");
    }
    for (const std::string& p : camera.Problems()) {
      problems.push_back("camera '" + camera.name + "': " + p);
    }
  }
  return problems;
}

double Rig::MaxCameraSeparation() const {
  double best = 0.0;
  for (size_t i = 0; i < cameras.size(); ++i) {
    for (size_t j = i + 1; j < cameras.size(); ++j) {
      best = std::max(best, (cameras[i].CenterInWorld() - cameras[j].CenterInWorld()).norm());
    }
  }
  return best;
}

std::string NormaliseCameraName(const std::string& name) {
  std::string lower;
  for (unsigned char c : name) lower.push_back(static_cast<char>(std::tolower(c)));
  size_t start = 0;
  if (lower.rfind("camera", 0) == 0) {
    start = 6;
  } else if (lower.rfind("cam", 0) == 0) {
    start = 3;
  }
  // Tokens of letters or digits.
  std::vector<std::string> tokens;
  std::string token;
  auto flush = [&]() {
    if (token.empty()) return;
    if (std::isdigit(static_cast<unsigned char>(token[0]))) {
      const size_t nz = token.find_first_not_of('0');
      token = nz == std::string::npos ? "0" : token.substr(nz);
    }
    tokens.push_back(token);
    token.clear();
  };
  for (size_t i = start; i < lower.size(); ++i) {
    const char c = lower[i];
    if (std::isalnum(static_cast<unsigned char>(c))) {
      if (!token.empty() && (std::isdigit(static_cast<unsigned char>(c)) != 0) !=
                                (std::isdigit(static_cast<unsigned char>(token.back())) != 0)) {
        flush();
      }
      token.push_back(c);
    } else {
      flush();
    }
  }
  flush();
  std::string out;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i > 0) out.push_back('_');
    out += tokens[i];
  }
  return out.empty() ? lower : out;
}

}  // namespace rigpose

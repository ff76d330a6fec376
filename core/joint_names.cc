// SPDX-License-Identifier: BSD-3-Clause
#include "core/joint_names.h"

#include <cctype>

namespace rigpose {

std::string JointNameKey(const std::string& name) {
  std::string key;
  for (char ch : name) {
    if (ch == '_' || ch == ' ' || ch == '-' || ch == '.') continue;
    key += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  if (key.rfind("left", 0) == 0) key = "l" + key.substr(4);
  if (key.rfind("right", 0) == 0) key = "r" + key.substr(5);
  if (key == "head") key = "headtop";
  return key;
}

}  // namespace rigpose

// SPDX-License-Identifier: BSD-3-Clause
// Strict YAML reading shared by the readers in data/ (rig YAML, board.yaml, synth options): every
// error is an IoError naming the file, the line and the key.
#pragma once

#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace rigpose::yaml_util {

// Parses a whole file; IoError for unreadable files, syntax errors (with line) and empty files.
YAML::Node LoadFile(const std::string& path);

int Line(const YAML::Node& node);  // 1-based

// Unknown keys and missing required keys are errors. `where` prefixes key names in messages
// ("cameras[2]"); `hint(key)` may return a better message for a known-but-misplaced key.
void CheckKeys(const YAML::Node& map,
               const std::set<std::string>& required,
               const std::set<std::string>& optional,
               const std::string& path,
               const std::string& where = "",
               const std::set<std::string>& misplaced = {},
               const std::string& misplaced_why = "");

std::string AsString(const YAML::Node& node, const std::string& path, const std::string& key);
// Finite numbers only.
double AsDouble(const YAML::Node& node, const std::string& path, const std::string& key);
std::vector<double> AsDoubles(const YAML::Node& node,
                              const std::string& path,
                              const std::string& key,
                              size_t expected = 0);
int AsInt(const YAML::Node& node, const std::string& path, const std::string& key);
uint64_t AsUint64(const YAML::Node& node, const std::string& path, const std::string& key);
// Exactly "true" or "false".
bool AsBool(const YAML::Node& node, const std::string& path, const std::string& key);

}  // namespace rigpose::yaml_util

// SPDX-License-Identifier: BSD-3-Clause
#include "data/yaml_util.h"

#include <cmath>

#include "core/error.h"
#include "data/file_util.h"

namespace rigpose::yaml_util {

YAML::Node LoadFile(const std::string& path) {
  const std::string text = ReadFileToString(path);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    ThrowIo(path, e.mark.line + 1, "", "YAML syntax error: " + e.msg);
  }
  if (!root || root.IsNull()) ThrowIo(path, 0, "", "empty file");
  return root;
}

int Line(const YAML::Node& node) { return node.Mark().line + 1; }

void CheckKeys(const YAML::Node& map,
               const std::set<std::string>& required,
               const std::set<std::string>& optional,
               const std::string& path,
               const std::string& where,
               const std::set<std::string>& misplaced,
               const std::string& misplaced_why) {
  const auto name = [&where](const std::string& key) {
    return where.empty() ? key : where + "." + key;
  };
  if (!map.IsMap()) ThrowIo(path, Line(map), where, "expected a mapping");
  for (const auto& item : map) {
    if (!item.first.IsScalar()) ThrowIo(path, Line(item.first), where, "keys must be plain names");
    const std::string key = item.first.Scalar();
    if (required.count(key) || optional.count(key)) continue;
    if (misplaced.count(key)) ThrowIo(path, Line(item.first), name(key), misplaced_why);
    std::string known;
    for (const auto& k : required) known += (known.empty() ? "" : ", ") + k;
    for (const auto& k : optional) known += (known.empty() ? "" : ", ") + k;
    ThrowIo(path, Line(item.first), name(key), "unknown key (expected: " + known + ")");
  }
  for (const auto& key : required) {
    if (!map[key]) ThrowIo(path, Line(map), name(key), "missing required key");
  }
}

std::string AsString(const YAML::Node& node, const std::string& path, const std::string& key) {
  if (!node.IsScalar()) ThrowIo(path, Line(node), key, "expected a string");
  return node.Scalar();
}

double AsDouble(const YAML::Node& node, const std::string& path, const std::string& key) {
  if (!node.IsScalar()) ThrowIo(path, Line(node), key, "expected a number");
  double value = 0.0;
  try {
    value = node.as<double>();
  } catch (const YAML::Exception&) {
    ThrowIo(path, Line(node), key, "expected a number, got '" + node.Scalar() + "'");
  }
  if (!std::isfinite(value)) ThrowIo(path, Line(node), key, "value is not finite");
  return value;
}

std::vector<double> AsDoubles(const YAML::Node& node,
                              const std::string& path,
                              const std::string& key,
                              size_t expected) {
  if (!node.IsSequence()) ThrowIo(path, Line(node), key, "expected a list of numbers");
  if (expected > 0 && node.size() != expected) {
    ThrowIo(
        path,
        Line(node),
        key,
        "expected " + std::to_string(expected) + " numbers, got " + std::to_string(node.size()));
  }
  std::vector<double> out;
  for (const auto& v : node) out.push_back(AsDouble(v, path, key));
  return out;
}

int AsInt(const YAML::Node& node, const std::string& path, const std::string& key) {
  if (!node.IsScalar()) ThrowIo(path, Line(node), key, "expected an integer");
  try {
    return node.as<int>();
  } catch (const YAML::Exception&) {
    ThrowIo(path, Line(node), key, "expected an integer, got '" + node.Scalar() + "'");
  }
}

uint64_t AsUint64(const YAML::Node& node, const std::string& path, const std::string& key) {
  if (!node.IsScalar()) ThrowIo(path, Line(node), key, "expected a non-negative integer");
  try {
    return node.as<uint64_t>();
  } catch (const YAML::Exception&) {
    ThrowIo(path, Line(node), key, "expected a non-negative integer, got '" + node.Scalar() + "'");
  }
}

bool AsBool(const YAML::Node& node, const std::string& path, const std::string& key) {
  const std::string text = AsString(node, path, key);
  if (text == "true") return true;
  if (text == "false") return false;
  ThrowIo(path, Line(node), key, "expected true or false, got '" + text + "'");
}

}  // namespace rigpose::yaml_util

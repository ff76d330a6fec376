// SPDX-License-Identifier: BSD-3-Clause
#include "tests/test_util.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace rigpose::test {
namespace fs = std::filesystem;

std::string SharedDataDir() {
  if (const char* env = std::getenv("RIGPOSE_SHARED_DATA")) {
    if (fs::is_directory(env)) return env;
  }
  const fs::path candidate = fs::path(RIGPOSE_SOURCE_DIR) / ".." / "shared" / "data";
  if (fs::is_directory(candidate)) return fs::canonical(candidate).string();
  return "";
}

std::string SharedDataPath(const std::string& relative) {
  const std::string root = SharedDataDir();
  if (root.empty()) return "";
  const fs::path p = fs::path(root) / relative;
  return fs::exists(p) ? p.string() : "";
}

std::string ScratchDir(const std::string& name) {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string unique = name;
  if (info != nullptr)
    unique = std::string(info->test_suite_name()) + "." + info->name() + "." + name;
  const fs::path dir = fs::path(RIGPOSE_BINARY_DIR) / "test_scratch" / unique;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  ASSERT_TRUE(out.good()) << path;
  out << text;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

int CountEntries(const std::string& dir) {
  int n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

const std::map<std::string, int>& Pose2SimMarkerToBody25b() {
  static const std::map<std::string, int> map = {
      {"RHip", 12},      {"RKnee", 14}, {"RAnkle", 16}, {"RBigToe", 22},  {"RSmallToe", 23},
      {"RHeel", 24},     {"LHip", 11},  {"LKnee", 13},  {"LAnkle", 15},   {"LBigToe", 19},
      {"LSmallToe", 20}, {"LHeel", 21}, {"Neck", 17},   {"Head", 18},     {"Nose", 0},
      {"RShoulder", 6},  {"RElbow", 8}, {"RWrist", 10}, {"LShoulder", 5}, {"LElbow", 7},
      {"LWrist", 9}};
  return map;
}

}  // namespace rigpose::test

// SPDX-License-Identifier: BSD-3-Clause
// Helpers shared by the test binaries: paths to ../shared/data and scratch directories.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace rigpose::test {

// ../shared/data beside the checkout (or $RIGPOSE_SHARED_DATA); "" when absent.
std::string SharedDataDir();
// SharedDataDir()/relative when it exists, else "" (use with GTEST_SKIP).
std::string SharedDataPath(const std::string& relative);
// A fresh, empty directory under the build tree, unique per test.
std::string ScratchDir(const std::string& name);
// Writes text to a file (test fixtures); aborts the test on failure.
void WriteText(const std::string& path, const std::string& text);
std::string ReadText(const std::string& path);
// Names of the entries of a directory (for "nothing half-written" checks).
int CountEntries(const std::string& dir);
// Pose2Sim demo: TRC marker name -> BODY_25B joint index (shared/data/pose2sim_demo/README.md).
const std::map<std::string, int>& Pose2SimMarkerToBody25b();

// Expects fn() to throw E whose message contains every fragment (a failure names the missing one).
template <typename E>
void ExpectError(const std::function<void()>& fn, const std::vector<std::string>& fragments) {
  try {
    fn();
    ADD_FAILURE() << "no exception";
  } catch (const E& e) {
    for (const std::string& fragment : fragments) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
          << "'" << fragment << "' not in: " << e.what();
    }
  }
}

}  // namespace rigpose::test

#define RIGPOSE_SKIP_IF_NO_DATA(path_var, relative)                       \
  const std::string path_var = ::rigpose::test::SharedDataPath(relative); \
  if (path_var.empty()) GTEST_SKIP() << "shared data not found: " << (relative)

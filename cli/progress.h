// SPDX-License-Identifier: BSD-3-Clause
// A progress bar on a terminal: redrawn at most 10 times a second, only when the stream is a
// terminal (logs and tests see nothing), thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <mutex>
#include <string>

namespace rigpose::cli {

class ProgressBar {
 public:
  // `enabled` false: never draws. Draws on stderr's terminal only.
  ProgressBar(std::string label, int64_t total, bool enabled);
  ~ProgressBar();
  void Update(int64_t done);
  void Finish();

 private:
  std::string label_;
  int64_t total_;
  bool enabled_;
  bool finished_ = false;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace rigpose::cli

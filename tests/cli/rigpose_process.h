// SPDX-License-Identifier: BSD-3-Clause
// Runs the built `rigpose` binary in a shell (exit codes and messages as a user sees them).
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace rigpose::test {

struct Outcome {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// `environment`: assignments put before the command ("A=1 B=2"), may be empty. A process killed
// by a signal reports 128 + the signal (the shell's convention).
inline Outcome Rigpose(const std::string& args, const std::string& environment = "") {
  const std::string command = (environment.empty() ? "" : "env " + environment + " ") +
                              std::string(RIGPOSE_BINARY_DIR) + "/cli/rigpose " + args + " 2>&1";
  Outcome result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer{};
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
    result.output.append(buffer.data(), n);
  }
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace rigpose::test

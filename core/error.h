// SPDX-License-Identifier: BSD-3-Clause
// Error types shared by every rigpose library, and the contract-check macro.
//
// Policy (docs/ARCHITECTURE.md, "Errors"):
//  - IoError: a file or its content is wrong. The message names the path, and the line and key
//    when known ("rig.yaml:12: key 'params': expected 9 numbers, got 4"). CLI exit code 1.
//  - InputError: user data is inconsistent (not tied to one file). CLI exit code 1.
//  - UsageError: command-line options are wrong or contradictory. CLI exit code 2.
//  - std::invalid_argument from RIGPOSE_CHECK: a programming contract was violated.
// Expected numerical failures for one item (a joint seen by < 2 cameras) never throw: they are
// reported through validity masks and std::optional.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace rigpose {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class IoError : public Error {
 public:
  using Error::Error;
};

class InputError : public Error {
 public:
  using Error::Error;
};

class UsageError : public Error {
 public:
  using Error::Error;
};

// Formats "path:line: key 'key': message"; line <= 0 and an empty key are left out.
std::string FormatLocation(const std::string& path,
                           int line,
                           const std::string& key,
                           const std::string& message);

// "heading:\n  - problem\n  - problem": one message for an options struct's Problems().
std::string FormatProblems(const std::string& heading, const std::vector<std::string>& problems);

[[noreturn]] void ThrowIo(const std::string& path,
                          int line,
                          const std::string& key,
                          const std::string& message);

namespace internal {
[[noreturn]] void ThrowCheckFailure(const char* file,
                                    int line,
                                    const char* condition,
                                    const std::string& message);
}  // namespace internal

}  // namespace rigpose

// Contract check for programming errors: throws std::invalid_argument naming file:line,
// the condition and a streamed message: RIGPOSE_CHECK(a == b, "a=" << a << " b=" << b).
#define RIGPOSE_CHECK(condition, message)                               \
  do {                                                                  \
    if (!(condition)) {                                                 \
      std::ostringstream rigpose_check_stream_;                         \
      rigpose_check_stream_ << message;                                 \
      ::rigpose::internal::ThrowCheckFailure(                           \
          __FILE__, __LINE__, #condition, rigpose_check_stream_.str()); \
    }                                                                   \
  } while (false)

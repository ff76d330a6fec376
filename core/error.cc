// SPDX-License-Identifier: BSD-3-Clause
#include "core/error.h"

namespace rigpose {

std::string FormatLocation(const std::string& path,
                           int line,
                           const std::string& key,
                           const std::string& message) {
  std::ostringstream out;
  out << path;
  if (line > 0) out << ":" << line;
  out << ": ";
  if (!key.empty()) out << "key '" << key << "': ";
  out << message;
  return out.str();
}

void ThrowIo(const std::string& path,
             int line,
             const std::string& key,
             const std::string& message) {
  throw IoError(FormatLocation(path, line, key, message));
}

std::string FormatProblems(const std::string& heading, const std::vector<std::string>& problems) {
  std::string message = heading + ":";
  for (const std::string& p : problems) message += "\n  - " + p;
  return message;
}

namespace internal {
void ThrowCheckFailure(const char* file,
                       int line,
                       const char* condition,
                       const std::string& message) {
  std::ostringstream out;
  out << file << ":" << line << ": check failed: " << condition;
  if (!message.empty()) out << " (" << message << ")";
  throw std::invalid_argument(out.str());
}
}  // namespace internal

}  // namespace rigpose

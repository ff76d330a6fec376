// SPDX-License-Identifier: BSD-3-Clause
// File helpers: whole-file reads with clear errors, and atomic writes (temp file + rename) so that
// a failed or interrupted write never leaves a half-written output behind.
#pragma once

#include <fstream>
#include <string>

namespace rigpose {

// Sidecar path: `path` minus its extension plus `suffix` ("poses.trc" -> "poses.status.npy").
std::string SidecarPath(const std::string& path, const std::string& suffix);

// Whole file as bytes; IoError naming the path when it cannot be opened or read.
std::string ReadFileToString(const std::string& path);

// Writes `content` to a temporary file beside `path`, flushes it, then renames it over `path`.
// IoError (naming the path) on any failure; the temporary file is removed.
void WriteFileAtomic(const std::string& path, const std::string& content);

// Streaming variant: write through stream(), then Commit(). Destroying an uncommitted writer
// removes the temporary file and leaves `path` untouched.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(const std::string& path, bool binary = false);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  std::ostream& stream() { return stream_; }
  void Commit();
  const std::string& temp_path() const { return temp_path_; }

 private:
  std::string path_;
  std::string temp_path_;
  std::ofstream stream_;
  bool committed_ = false;
};

// Lower-case extension with the dot (".toml"), "" if none.
std::string FileExtension(const std::string& path);

}  // namespace rigpose

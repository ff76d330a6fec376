// SPDX-License-Identifier: BSD-3-Clause
#include "data/file_util.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "core/error.h"

namespace rigpose {
namespace fs = std::filesystem;

std::string SidecarPath(const std::string& path, const std::string& suffix) {
  const std::filesystem::path p(path);
  return (p.parent_path() / (p.stem().string() + suffix)).string();
}

std::string ReadFileToString(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw IoError(path + ": is a directory, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path + ": cannot open for reading (" + std::strerror(errno) + ")");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw IoError(path + ": read error");
  return buffer.str();
}

namespace {
std::string MakeTempPath(const std::string& path) {
  static std::atomic<int> counter{0};
  const fs::path p(path);
  std::ostringstream name;
  name << "." << p.filename().string() << ".tmp-" << ::getpid() << "-" << counter++;
  return (p.parent_path() / name.str()).string();
}
}  // namespace

AtomicFileWriter::AtomicFileWriter(const std::string& path, bool binary)
    : path_(path), temp_path_(MakeTempPath(path)) {
  const fs::path parent = fs::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty() && !fs::is_directory(parent, ec)) {
    throw IoError(path + ": cannot write: directory '" + parent.string() + "' does not exist");
  }
  stream_.open(temp_path_, binary ? std::ios::out | std::ios::binary : std::ios::out);
  if (!stream_) {
    throw IoError(path + ": cannot open for writing (" + std::strerror(errno) + ")");
  }
  stream_.precision(17);
}

AtomicFileWriter::~AtomicFileWriter() {
  if (!committed_) {
    stream_.close();
    std::remove(temp_path_.c_str());
  }
}

void AtomicFileWriter::Commit() {
  stream_.flush();
  const bool ok = static_cast<bool>(stream_);
  stream_.close();
  if (!ok) {
    std::remove(temp_path_.c_str());
    committed_ = true;
    throw IoError(path_ + ": write failed");
  }
  if (std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::remove(temp_path_.c_str());
    committed_ = true;
    throw IoError(path_ + ": cannot rename temporary file into place (" + reason + ")");
  }
  committed_ = true;
}

void WriteFileAtomic(const std::string& path, const std::string& content) {
  AtomicFileWriter writer(path, /*binary=*/true);
  writer.stream().write(content.data(), static_cast<std::streamsize>(content.size()));
  writer.Commit();
}

std::string FileExtension(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(
      ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext;
}

}  // namespace rigpose

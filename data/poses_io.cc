// SPDX-License-Identifier: BSD-3-Clause
#include "data/poses_io.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/skeleton.h"
#include "data/file_util.h"
#include "data/npy.h"

namespace rigpose {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kMaxFrames = 10'000'000;
constexpr char kJsonFormat[] = "rigpose-poses3d";

// Shortest text that reads back as exactly `value` (at most 17 significant digits), independent
// of the C locale.
std::string FormatDouble(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

std::string Trim(const std::string& s) {
  const size_t begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  const size_t end = s.find_last_not_of(" \t\r\n");
  return s.substr(begin, end - begin + 1);
}

// A number, or NaN for an empty / "nan" cell; nullopt when the cell is not a number.
std::optional<double> ParseCell(const std::string& cell) {
  std::string t = Trim(cell);
  if (t.empty()) return kNaN;
  if (t.front() == '+') t.erase(0, 1);
  double value = 0.0;
  const auto result = std::from_chars(t.data(), t.data() + t.size(), value);
  if (result.ec != std::errc() || result.ptr != t.data() + t.size()) return std::nullopt;
  return value;
}

std::vector<std::string> Split(const std::string& line, char separator) {
  std::vector<std::string> cells;
  size_t start = 0;
  while (true) {
    const size_t end = line.find(separator, start);
    if (end == std::string::npos) {
      cells.push_back(line.substr(start));
      return cells;
    }
    cells.push_back(line.substr(start, end - start));
    start = end + 1;
  }
}

// Lines without their terminator ("\n" or "\r\n").
std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines = Split(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  for (std::string& line : lines) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
  }
  return lines;
}

double EffectiveFrameRate(const Poses3D& poses, const PosesWriteOptions& options) {
  RIGPOSE_CHECK(std::isfinite(options.frame_rate_hz) && options.frame_rate_hz >= 0.0,
                "frame_rate_hz=" << options.frame_rate_hz);
  if (options.frame_rate_hz > 0.0) return options.frame_rate_hz;
  if (poses.frame_rate_hz > 0.0 && std::isfinite(poses.frame_rate_hz)) return poses.frame_rate_hz;
  return 30.0;
}

// Applies options.skeleton, or recognises a registered skeleton from the joint names.
void FinishPoses(const std::string& path, const PosesReadOptions& options, Poses3D* poses) {
  if (!options.skeleton.empty()) {
    const Skeleton& skeleton = GetSkeleton(options.skeleton);
    if (skeleton.NumJoints() != poses->num_joints()) {
      ThrowIo(path,
              0,
              "",
              "the file has " + std::to_string(poses->num_joints()) + " joints, skeleton " +
                  skeleton.name + " has " + std::to_string(skeleton.NumJoints()));
    }
    poses->skeleton = skeleton.name;
    return;
  }
  if (!poses->skeleton.empty() || poses->joint_names.empty()) return;
  for (const std::string& key : SkeletonNames()) {
    if (GetSkeleton(key).joint_names == poses->joint_names) {
      poses->skeleton = key;
      return;
    }
  }
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// ---------------------------------------------------------------------------------------------
// TRC

constexpr int kTrcHeaderLines = 5;

std::string TrcHeaderValue(const std::string& path,
                           const std::vector<std::string>& names,
                           const std::vector<std::string>& values,
                           const std::string& key) {
  for (size_t i = 0; i < names.size(); ++i) {
    if (Trim(names[i]) == key) {
      if (i >= values.size() || Trim(values[i]).empty()) {
        ThrowIo(path, 3, key, "missing value");
      }
      return Trim(values[i]);
    }
  }
  ThrowIo(path, 2, key, "missing from the TRC header");
}

int64_t TrcHeaderInt(const std::string& path,
                     const std::vector<std::string>& names,
                     const std::vector<std::string>& values,
                     const std::string& key) {
  const std::string text = TrcHeaderValue(path, names, values, key);
  const std::optional<double> value = ParseCell(text);
  if (!value || !std::isfinite(*value) || *value < 0 || *value != std::floor(*value) ||
      *value > kMaxFrames) {
    ThrowIo(path, 3, key, "expected a non-negative integer, found '" + text + "'");
  }
  return static_cast<int64_t>(*value);
}

// ---------------------------------------------------------------------------------------------
// CSV

constexpr const char* kCsvColumns[] = {"frame", "joint", "x", "y", "z", "valid"};

std::string Unquote(const std::string& cell) {
  std::string t = Trim(cell);
  if (t.size() >= 2 && t.front() == '"' && t.back() == '"') t = t.substr(1, t.size() - 2);
  return t;
}

}  // namespace

std::vector<std::string> PoseJointNames(const Poses3D& poses) {
  if (!poses.joint_names.empty()) {
    RIGPOSE_CHECK(
        static_cast<int>(poses.joint_names.size()) == poses.num_joints(),
        "joint_names=" << poses.joint_names.size() << " num_joints=" << poses.num_joints());
    return poses.joint_names;
  }
  if (!poses.skeleton.empty()) {
    const Skeleton& skeleton = GetSkeleton(poses.skeleton);
    RIGPOSE_CHECK(skeleton.NumJoints() == poses.num_joints(),
                  "skeleton " << skeleton.name << " has " << skeleton.NumJoints()
                              << " joints, poses have " << poses.num_joints());
    return skeleton.joint_names;
  }
  std::vector<std::string> names;
  for (int j = 0; j < poses.num_joints(); ++j) names.push_back("J" + std::to_string(j));
  return names;
}

void WriteTrc(const std::string& path, const Poses3D& poses, const PosesWriteOptions& options) {
  RIGPOSE_CHECK(FileExtension(path) == ".trc", path << ": expected a .trc path");
  WritePoses(path, poses, options);
}

Poses3D ReadTrc(const std::string& path, const PosesReadOptions& options) {
  const std::vector<std::string> lines = SplitLines(ReadFileToString(path));
  if (lines.empty() || lines[0].rfind("PathFileType", 0) != 0) {
    ThrowIo(path, 1, "", "not a TRC file: the first line must start with 'PathFileType'");
  }
  if (static_cast<int>(lines.size()) < kTrcHeaderLines) {
    ThrowIo(path,
            static_cast<int>(lines.size()),
            "",
            "truncated TRC header: expected " + std::to_string(kTrcHeaderLines) +
                " header lines, found " + std::to_string(lines.size()));
  }
  const std::vector<std::string> header_names = Split(lines[1], '\t');
  const std::vector<std::string> header_values = Split(lines[2], '\t');
  const int64_t num_frames = TrcHeaderInt(path, header_names, header_values, "NumFrames");
  const int64_t num_markers = TrcHeaderInt(path, header_names, header_values, "NumMarkers");
  const std::string rate_text = TrcHeaderValue(path, header_names, header_values, "DataRate");
  const std::optional<double> rate = ParseCell(rate_text);
  if (!rate || !std::isfinite(*rate) || *rate <= 0.0) {
    ThrowIo(path, 3, "DataRate", "expected a positive number, found '" + rate_text + "'");
  }
  const std::string unit_text = TrcHeaderValue(path, header_names, header_values, "Units");
  const std::optional<LengthUnit> unit = ParseLengthUnit(unit_text);
  if (!unit) ThrowIo(path, 3, "Units", "unknown unit '" + unit_text + "' (expected m, cm or mm)");

  std::vector<std::string> markers;
  const std::vector<std::string> name_cells = Split(lines[3], '\t');
  if (name_cells.size() < 2 || Trim(name_cells[0]) != "Frame#") {
    ThrowIo(path, 4, "", "expected 'Frame#<tab>Time<tab>marker names...'");
  }
  for (size_t i = 2; i < name_cells.size(); ++i) {
    const std::string name = Trim(name_cells[i]);
    if (!name.empty()) markers.push_back(name);
  }
  if (static_cast<int64_t>(markers.size()) != num_markers) {
    ThrowIo(path,
            4,
            "NumMarkers",
            "line 3 says " + std::to_string(num_markers) + " markers but line 4 names " +
                std::to_string(markers.size()));
  }

  const size_t num_columns = 2 + 3 * markers.size();
  Poses3D poses(static_cast<int>(num_frames), static_cast<int>(markers.size()));
  const double metres = MetresPerUnit(*unit);
  int64_t frame = 0;
  for (size_t i = kTrcHeaderLines; i < lines.size(); ++i) {
    const int line_number = static_cast<int>(i) + 1;
    if (Trim(lines[i]).empty()) continue;
    if (frame >= num_frames) {
      ThrowIo(path,
              line_number,
              "NumFrames",
              "more data rows than NumFrames = " + std::to_string(num_frames));
    }
    const std::vector<std::string> cells = Split(lines[i], '\t');
    bool extra_content = false;
    for (size_t c = num_columns; c < cells.size(); ++c) extra_content |= !Trim(cells[c]).empty();
    if (cells.size() < num_columns || extra_content) {
      ThrowIo(path,
              line_number,
              "",
              "expected " + std::to_string(num_columns) + " tab-separated columns (Frame#, Time, " +
                  std::to_string(markers.size()) + " markers x 3), found " +
                  std::to_string(cells.size()) +
                  (cells.size() < num_columns ? " (truncated?)" : ""));
    }
    for (size_t c = 0; c < 2; ++c) {
      const std::optional<double> v = ParseCell(cells[c]);
      if (!v) {
        ThrowIo(path,
                line_number,
                "",
                "column " + std::to_string(c + 1) + (c == 0 ? " (Frame#)" : " (Time)") + ": '" +
                    cells[c] + "' is not a number");
      }
    }
    for (size_t m = 0; m < markers.size(); ++m) {
      double xyz[3];
      for (int a = 0; a < 3; ++a) {
        const size_t c = 2 + 3 * m + a;
        const std::optional<double> v = ParseCell(cells[c]);
        if (!v) {
          ThrowIo(path,
                  line_number,
                  "",
                  "column " + std::to_string(c + 1) + " (marker '" + markers[m] + "' " + "XYZ"[a] +
                      "): '" + cells[c] + "' is not a number");
        }
        xyz[a] = *v * metres;
      }
      if (std::isfinite(xyz[0]) && std::isfinite(xyz[1]) && std::isfinite(xyz[2])) {
        const Eigen::Vector3d p = options.y_up ? Eigen::Vector3d(xyz[2], xyz[0], xyz[1])
                                               : Eigen::Vector3d(xyz[0], xyz[1], xyz[2]);
        poses.Set(static_cast<int>(frame), static_cast<int>(m), p);
      }
    }
    ++frame;
  }
  if (frame != num_frames) {
    ThrowIo(path,
            static_cast<int>(lines.size()),
            "NumFrames",
            "line 3 says " + std::to_string(num_frames) + " frames but the file has " +
                std::to_string(frame) + " data rows (truncated?)");
  }
  poses.frame_rate_hz = *rate;
  poses.joint_names = markers;
  FinishPoses(path, options, &poses);
  return poses;
}

void WritePosesCsv(const std::string& path,
                   const Poses3D& poses,
                   const PosesWriteOptions& options) {
  RIGPOSE_CHECK(FileExtension(path) == ".csv", path << ": expected a .csv path");
  WritePoses(path, poses, options);
}

Poses3D ReadPosesCsv(const std::string& path, const PosesReadOptions& options) {
  const std::vector<std::string> lines = SplitLines(ReadFileToString(path));
  if (lines.empty())
    ThrowIo(path, 1, "", "empty file, expected the header frame,joint,x,y,z,valid");
  const std::vector<std::string> header = Split(lines[0], ',');
  size_t column[6];
  std::string missing;
  for (int k = 0; k < 6; ++k) {
    column[k] = header.size();
    for (size_t c = 0; c < header.size(); ++c) {
      if (Unquote(header[c]) == kCsvColumns[k]) column[k] = c;
    }
    if (column[k] == header.size())
      missing += (missing.empty() ? "" : ", ") + std::string(kCsvColumns[k]);
  }
  if (!missing.empty()) {
    ThrowIo(path, 1, "", "missing column(s) " + missing + " (expected frame,joint,x,y,z,valid)");
  }

  const Skeleton* skeleton = options.skeleton.empty() ? nullptr : &GetSkeleton(options.skeleton);
  std::vector<std::string> joint_names;
  std::unordered_map<std::string, int> joint_index;
  if (skeleton != nullptr) {
    joint_names = skeleton->joint_names;
    for (int j = 0; j < skeleton->NumJoints(); ++j) joint_index[joint_names[j]] = j;
  }

  struct Row {
    int64_t frame;
    int joint;
    double xyz[3];
    bool valid;
  };
  std::vector<Row> rows;
  std::optional<int64_t> first_frame;
  bool first_frame_done = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    const int line_number = static_cast<int>(i) + 1;
    if (Trim(lines[i]).empty()) continue;
    const std::vector<std::string> cells = Split(lines[i], ',');
    if (cells.size() < header.size()) {
      ThrowIo(path,
              line_number,
              "",
              "expected " + std::to_string(header.size()) + " columns, found " +
                  std::to_string(cells.size()));
    }
    Row row{};
    const std::string frame_text = Unquote(cells[column[0]]);
    const std::optional<double> frame = ParseCell(frame_text);
    if (frame_text.empty() || !frame || !std::isfinite(*frame) || *frame < 0 ||
        *frame != std::floor(*frame) || *frame > kMaxFrames) {
      ThrowIo(
          path, line_number, "frame", "expected a frame number >= 0, found '" + frame_text + "'");
    }
    row.frame = static_cast<int64_t>(*frame);
    if (!first_frame) first_frame = row.frame;
    if (row.frame != *first_frame) first_frame_done = true;

    const std::string name = Unquote(cells[column[1]]);
    auto it = joint_index.find(name);
    if (it == joint_index.end()) {
      if (skeleton != nullptr) {
        ThrowIo(path,
                line_number,
                "joint",
                "unknown joint '" + name + "' for skeleton " + skeleton->name);
      }
      if (first_frame_done) {
        ThrowIo(path,
                line_number,
                "joint",
                "unknown joint '" + name + "': not among the joints of frame " +
                    std::to_string(*first_frame) + " (" + JoinNames(joint_names) + ")");
      }
      if (name.empty()) ThrowIo(path, line_number, "joint", "empty joint name");
      it = joint_index.emplace(name, static_cast<int>(joint_names.size())).first;
      joint_names.push_back(name);
    }
    row.joint = it->second;
    for (int a = 0; a < 3; ++a) {
      const std::string& cell = cells[column[2 + a]];
      const std::optional<double> v = ParseCell(Unquote(cell));
      if (!v) {
        ThrowIo(path, line_number, kCsvColumns[2 + a], "'" + cell + "' is not a number");
      }
      row.xyz[a] = *v;
    }
    const std::string& valid_cell = cells[column[5]];
    const std::optional<double> valid = ParseCell(Unquote(valid_cell));
    if (!valid || Trim(valid_cell).empty()) {
      ThrowIo(path, line_number, "valid", "'" + valid_cell + "' is not 0 or 1");
    }
    row.valid = *valid != 0.0 && !std::isnan(*valid);
    rows.push_back(row);
  }

  int64_t num_frames = 0;
  for (const Row& row : rows) num_frames = std::max(num_frames, row.frame + 1);
  Poses3D poses(static_cast<int>(num_frames), static_cast<int>(joint_names.size()));
  std::vector<char> seen(static_cast<size_t>(num_frames) * joint_names.size(), 0);
  for (size_t r = 0; r < rows.size(); ++r) {
    const Row& row = rows[r];
    char& flag = seen[static_cast<size_t>(row.frame) * joint_names.size() + row.joint];
    if (flag != 0) {
      ThrowIo(path,
              0,
              "",
              "frame " + std::to_string(row.frame) + " joint '" + joint_names[row.joint] +
                  "' appears twice");
    }
    flag = 1;
    if (row.valid && std::isfinite(row.xyz[0]) && std::isfinite(row.xyz[1]) &&
        std::isfinite(row.xyz[2])) {
      poses.Set(static_cast<int>(row.frame),
                row.joint,
                Eigen::Vector3d(row.xyz[0], row.xyz[1], row.xyz[2]));
    }
  }
  poses.joint_names = joint_names;
  FinishPoses(path, options, &poses);
  return poses;
}

void WritePosesJson(const std::string& path,
                    const Poses3D& poses,
                    const PosesWriteOptions& options) {
  RIGPOSE_CHECK(FileExtension(path) == ".json", path << ": expected a .json path");
  WritePoses(path, poses, options);
}

Poses3D ReadPosesJson(const std::string& path, const PosesReadOptions& options) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(ReadFileToString(path));
  } catch (const nlohmann::json::parse_error& e) {
    ThrowIo(path, 0, "", std::string("malformed JSON: ") + e.what());
  }
  auto type_error =
      [&path](const std::string& key, const std::string& expected, const nlohmann::json& found) {
        ThrowIo(path, 0, key, "expected " + expected + ", found " + found.type_name());
      };
  if (!doc.is_object()) type_error("", "an object", doc);
  if (!doc.contains("format") || !doc["format"].is_string() || doc["format"] != kJsonFormat) {
    ThrowIo(path,
            0,
            "format",
            std::string("expected \"") + kJsonFormat + "\" (not a rigpose 3D poses file)");
  }
  if (!doc.contains("version") || !doc["version"].is_number_integer() || doc["version"] != 1) {
    ThrowIo(path,
            0,
            "version",
            "unsupported version " +
                (doc.contains("version") ? doc["version"].dump() : "(missing)") + ", expected 1");
  }
  double metres = 1.0;
  if (doc.contains("unit")) {
    if (!doc["unit"].is_string()) type_error("unit", "a string", doc["unit"]);
    const std::optional<LengthUnit> unit = ParseLengthUnit(doc["unit"].get<std::string>());
    if (!unit) ThrowIo(path, 0, "unit", "unknown unit " + doc["unit"].dump());
    metres = MetresPerUnit(*unit);
  }
  double rate = 0.0;
  if (doc.contains("frame_rate_hz") && !doc["frame_rate_hz"].is_null()) {
    if (!doc["frame_rate_hz"].is_number())
      type_error("frame_rate_hz", "a number", doc["frame_rate_hz"]);
    rate = doc["frame_rate_hz"].get<double>();
  }
  std::string skeleton;
  if (doc.contains("skeleton") && !doc["skeleton"].is_null()) {
    if (!doc["skeleton"].is_string()) type_error("skeleton", "a string", doc["skeleton"]);
    skeleton = doc["skeleton"].get<std::string>();
  }
  if (!doc.contains("joint_names") || !doc["joint_names"].is_array()) {
    type_error("joint_names", "an array of strings", doc.value("joint_names", nlohmann::json()));
  }
  std::vector<std::string> names;
  for (size_t j = 0; j < doc["joint_names"].size(); ++j) {
    const nlohmann::json& name = doc["joint_names"][j];
    if (!name.is_string()) type_error("joint_names[" + std::to_string(j) + "]", "a string", name);
    names.push_back(name.get<std::string>());
  }
  if (!doc.contains("frames") || !doc["frames"].is_array()) {
    type_error("frames", "an array of frames", doc.value("frames", nlohmann::json()));
  }
  const nlohmann::json& frames = doc["frames"];
  if (frames.size() > static_cast<size_t>(kMaxFrames))
    ThrowIo(path, 0, "frames", "too many frames");
  Poses3D poses(static_cast<int>(frames.size()), static_cast<int>(names.size()));
  for (size_t f = 0; f < frames.size(); ++f) {
    const std::string frame_key = "frames[" + std::to_string(f) + "]";
    const nlohmann::json& frame = frames[f];
    if (!frame.is_array()) type_error(frame_key, "an array of joints", frame);
    if (frame.size() != names.size()) {
      ThrowIo(path,
              0,
              frame_key,
              std::to_string(frame.size()) + " joints, joint_names has " +
                  std::to_string(names.size()));
    }
    for (size_t j = 0; j < names.size(); ++j) {
      const std::string key = frame_key + "[" + std::to_string(j) + "]";
      const nlohmann::json& joint = frame[j];
      if (joint.is_null()) continue;
      if (!joint.is_array() || joint.size() != 3) {
        ThrowIo(path, 0, key, std::string("expected [x, y, z] or null, found ") + joint.dump());
      }
      double xyz[3];
      for (int a = 0; a < 3; ++a) {
        if (joint[a].is_null()) {
          xyz[a] = kNaN;
        } else if (joint[a].is_number()) {
          xyz[a] = joint[a].get<double>() * metres;
        } else {
          type_error(key + "[" + std::to_string(a) + "]", "a number", joint[a]);
        }
      }
      if (std::isfinite(xyz[0]) && std::isfinite(xyz[1]) && std::isfinite(xyz[2])) {
        poses.Set(
            static_cast<int>(f), static_cast<int>(j), Eigen::Vector3d(xyz[0], xyz[1], xyz[2]));
      }
    }
  }
  poses.frame_rate_hz = rate;
  poses.skeleton = skeleton;
  poses.joint_names = names;
  FinishPoses(path, options, &poses);
  return poses;
}

namespace {
[[noreturn]] void ThrowUnknownExtension(const std::string& path) {
  const std::string ext = FileExtension(path);
  throw UsageError(path + ": unknown 3D poses file extension " +
                   (ext.empty() ? std::string("(none)") : "'" + ext + "'") +
                   " (accepted: .trc, .csv, .json, .npy)");
}
}  // namespace

PosesStreamWriter::PosesStreamWriter(const std::string& path,
                                     int num_frames,
                                     const Poses3D& metadata,
                                     const PosesWriteOptions& options)
    : path_(path),
      format_(FileExtension(path)),
      num_frames_(num_frames),
      num_joints_(metadata.num_joints()),
      options_(options) {
  RIGPOSE_CHECK(num_frames >= 0, "num_frames=" << num_frames);
  if (format_ != ".trc" && format_ != ".csv" && format_ != ".json" && format_ != ".npy") {
    ThrowUnknownExtension(path);
  }
  names_ = PoseJointNames(metadata);
  rate_ = EffectiveFrameRate(metadata, options);
  if (format_ == ".npy") {
    npy_ = std::make_unique<NpyStreamWriter>(
        path, "<f8", std::vector<int64_t>{num_frames, num_joints_, 4});
    return;
  }
  file_ = std::make_unique<AtomicFileWriter>(path);
  std::string out;
  if (format_ == ".trc") {
    for (const std::string& name : names_) {
      RIGPOSE_CHECK(!name.empty() && name.find_first_of("\t\r\n") == std::string::npos,
                    "marker name '" << name << "' is empty or has a tab or newline");
    }
    const std::string rate_text = FormatDouble(rate_);
    const std::string frames_text = std::to_string(num_frames);
    out += "PathFileType\t4\t(X/Y/Z)\t" + std::filesystem::path(path).filename().string() + "\n";
    out +=
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\t"
        "OrigNumFrames\n";
    out += rate_text + "\t" + rate_text + "\t" + frames_text + "\t" +
           std::to_string(names_.size()) + "\t" + UnitName(options.unit) + "\t" + rate_text +
           "\t0\t" + frames_text + "\n";
    out += "Frame#\tTime";
    for (const std::string& name : names_) out += "\t" + name + "\t\t";
    out += "\n\t";
    for (size_t m = 1; m <= names_.size(); ++m) {
      const std::string k = std::to_string(m);
      out += "\tX" + k + "\tY" + k + "\tZ" + k;
    }
    out += "\n";
  } else if (format_ == ".csv") {
    for (const std::string& name : names_) {
      RIGPOSE_CHECK(name.find_first_of(",\"\r\n") == std::string::npos,
                    "joint name '" << name << "' has a comma, quote or newline");
    }
    out = "frame,joint,x,y,z,valid\n";
  } else {  // .json: the header object without its closing brace, then "frames": [...]}
    nlohmann::json doc;
    doc["format"] = kJsonFormat;
    doc["version"] = 1;
    doc["unit"] = "m";
    doc["frame_rate_hz"] = rate_;
    doc["skeleton"] = metadata.skeleton;
    doc["joint_names"] = names_;
    out = doc.dump();
    out.pop_back();  // '}'
    out += ",\"frames\":[";
  }
  file_->stream() << out;
}

PosesStreamWriter::~PosesStreamWriter() = default;

void PosesStreamWriter::Append(const Poses3D& chunk) {
  RIGPOSE_CHECK(chunk.num_joints() == num_joints_,
                "chunk has " << chunk.num_joints() << " joints, the file " << num_joints_);
  RIGPOSE_CHECK(frames_written_ + chunk.num_frames() <= num_frames_,
                "appending " << chunk.num_frames() << " frames to " << frames_written_ << " of "
                             << num_frames_);
  if (npy_) {
    npy_->Append(chunk.data(), chunk.size() * static_cast<int64_t>(sizeof(double)));
    frames_written_ += chunk.num_frames();
    return;
  }
  const double scale = 1.0 / MetresPerUnit(options_.unit);
  std::string out;
  for (int f = 0; f < chunk.num_frames(); ++f) {
    const int frame = frames_written_ + f;
    if (format_ == ".trc") {
      out += std::to_string(frame + 1) + "\t" + FormatDouble((frame + 1) / rate_);
      for (int j = 0; j < num_joints_; ++j) {
        if (!chunk.IsValid(f, j)) {
          out += "\t\t\t";
          continue;
        }
        const Eigen::Vector3d p = chunk.Position(f, j) * scale;
        const Eigen::Vector3d q = options_.y_up ? Eigen::Vector3d(p.y(), p.z(), p.x()) : p;
        out += "\t" + FormatDouble(q.x()) + "\t" + FormatDouble(q.y()) + "\t" + FormatDouble(q.z());
      }
      out += "\n";
    } else if (format_ == ".csv") {
      const std::string frame_text = std::to_string(frame);
      for (int j = 0; j < num_joints_; ++j) {
        out += frame_text + "," + names_[j] + ",";
        if (chunk.IsValid(f, j)) {
          const Eigen::Vector3d p = chunk.Position(f, j);
          out +=
              FormatDouble(p.x()) + "," + FormatDouble(p.y()) + "," + FormatDouble(p.z()) + ",1\n";
        } else {
          out += ",,,0\n";
        }
      }
    } else {
      out += frame == 0 ? "[" : ",[";
      for (int j = 0; j < num_joints_; ++j) {
        if (j > 0) out += ",";
        if (chunk.IsValid(f, j)) {
          const Eigen::Vector3d p = chunk.Position(f, j);
          out += "[" + FormatDouble(p.x()) + "," + FormatDouble(p.y()) + "," + FormatDouble(p.z()) +
                 "]";
        } else {
          out += "null";
        }
      }
      out += "]";
    }
  }
  file_->stream() << out;
  frames_written_ += chunk.num_frames();
}

void PosesStreamWriter::Commit() {
  RIGPOSE_CHECK(frames_written_ == num_frames_,
                path_ << ": wrote " << frames_written_ << " of " << num_frames_ << " frames");
  if (npy_) {
    npy_->Commit();
    return;
  }
  if (format_ == ".json") file_->stream() << "]}\n";
  file_->Commit();
}

void WritePoses(const std::string& path, const Poses3D& poses, const PosesWriteOptions& options) {
  PosesStreamWriter writer(path, poses.num_frames(), poses, options);
  writer.Append(poses);
  writer.Commit();
}

Poses3D ReadPoses(const std::string& path, const PosesReadOptions& options) {
  const std::string ext = FileExtension(path);
  if (ext == ".trc") return ReadTrc(path, options);
  if (ext == ".csv") return ReadPosesCsv(path, options);
  if (ext == ".json") return ReadPosesJson(path, options);
  if (ext == ".npy") {
    Poses3D poses = ReadPosesNpy(path);
    FinishPoses(path, options, &poses);
    return poses;
  }
  ThrowUnknownExtension(path);
}

}  // namespace rigpose

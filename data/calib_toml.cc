// SPDX-License-Identifier: BSD-3-Clause
// The TOML family: anipose / aniposelib (and Caliscope's aniposelib export), Pose2Sim,
// FreeMoCap, and Caliscope's native camera_array.toml.
//
//   [cam_0]                     one table per camera (anipose, Pose2Sim, FreeMoCap)
//   name = "cam_0"              camera identity: always match by name, never by table order
//   size = [W, H]
//   matrix = [[fx,0,cx],[0,fy,cy],[0,0,1]]
//   distortions = [k1,k2,p1,p2(,k3)]   (fisheye: k1..k4 with fisheye = true)
//   rotation = [rx,ry,rz]       Rodrigues, world -> camera (a 3x3 matrix is accepted too)
//   translation = [tx,ty,tz]    world -> camera; unit: anipose = board units, Pose2Sim = m,
//                               FreeMoCap = mm; a [metadata] unit = "mm" key overrides
//
//   [cameras.0]                 Caliscope native: cam_id, size, matrix, distortions,
//                               rotation (3x3 or Rodrigues), translation (m), ignore
#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <optional>
#include <sstream>

#include <toml++/toml.h>

#include "core/error.h"
#include "data/calib_internal.h"
#include "data/file_util.h"

namespace rigpose::calib_internal {
namespace {

int Line(const toml::node& node) { return static_cast<int>(node.source().begin.line); }

toml::table ParseToml(const std::string& path) {
  const std::string text = ReadFileToString(path);
  try {
    return toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    ThrowIo(path,
            static_cast<int>(e.source().begin.line),
            "",
            "TOML syntax error: " + std::string(e.description()));
  }
}

const toml::node& Require(const toml::table& table,
                          const std::string& key,
                          const std::string& path,
                          const std::string& where,
                          int table_line) {
  const toml::node* node = table.get(key);
  if (node == nullptr) ThrowIo(path, table_line, where + "." + key, "missing required key");
  return *node;
}

double NumberOf(const toml::node& node, const std::string& path, const std::string& key) {
  if (auto v = node.value<double>()) {
    if (!std::isfinite(*v)) ThrowIo(path, Line(node), key, "value is not finite");
    return *v;
  }
  ThrowIo(path, Line(node), key, "expected a number");
}

std::vector<double> NumberList(const toml::node& node,
                               const std::string& path,
                               const std::string& key,
                               int expected) {
  const toml::array* array = node.as_array();
  if (array == nullptr) ThrowIo(path, Line(node), key, "expected a list of numbers");
  if (expected >= 0 && static_cast<int>(array->size()) != expected) {
    ThrowIo(
        path,
        Line(node),
        key,
        "expected " + std::to_string(expected) + " numbers, got " + std::to_string(array->size()));
  }
  std::vector<double> out;
  for (const toml::node& v : *array) out.push_back(NumberOf(v, path, key));
  return out;
}

Eigen::Matrix3d Matrix3(const toml::node& node, const std::string& path, const std::string& key) {
  const toml::array* rows = node.as_array();
  if (rows == nullptr || rows->size() != 3) {
    ThrowIo(path, Line(node), key, "expected a 3x3 matrix (3 lists of 3 numbers)");
  }
  Eigen::Matrix3d m;
  for (int r = 0; r < 3; ++r) {
    const std::vector<double> row = NumberList((*rows)[r], path, key, 3);
    for (int c = 0; c < 3; ++c) m(r, c) = row[c];
  }
  return m;
}

// Rotation given as Rodrigues vector (3 numbers) or 3x3 matrix.
Eigen::Quaterniond RotationOf(const toml::node& node,
                              const std::string& path,
                              const std::string& key) {
  const toml::array* array = node.as_array();
  if (array != nullptr && array->size() == 3 && (*array)[0].is_array()) {
    const Eigen::Matrix3d r = Matrix3(node, path, key);
    CheckRotationMatrix(r, path, Line(node), key);
    return Eigen::Quaterniond(r);
  }
  const std::vector<double> v = NumberList(node, path, key, 3);
  return QuaternionFromRodrigues(Eigen::Vector3d(v[0], v[1], v[2]));
}

// Natural order: "cam_2" < "cam_10".
bool NaturalLess(const std::string& a, const std::string& b) {
  size_t i = 0;
  size_t j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) &&
        std::isdigit(static_cast<unsigned char>(b[j]))) {
      size_t i2 = i;
      size_t j2 = j;
      while (i2 < a.size() && std::isdigit(static_cast<unsigned char>(a[i2]))) ++i2;
      while (j2 < b.size() && std::isdigit(static_cast<unsigned char>(b[j2]))) ++j2;
      const std::string na = a.substr(i, i2 - i);
      const std::string nb = b.substr(j, j2 - j);
      const std::string ta = na.substr(std::min(na.find_first_not_of('0'), na.size()));
      const std::string tb = nb.substr(std::min(nb.find_first_not_of('0'), nb.size()));
      if (ta.size() != tb.size()) return ta.size() < tb.size();
      if (ta != tb) return ta < tb;
      i = i2;
      j = j2;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

std::optional<LengthUnit> MetadataUnit(const toml::table& root, const std::string& path) {
  const toml::table* metadata = root["metadata"].as_table();
  if (metadata == nullptr) return std::nullopt;
  const toml::node* unit = metadata->get("unit");
  if (unit == nullptr) return std::nullopt;
  const auto text = unit->value<std::string>();
  const auto parsed = text ? ParseLengthUnit(*text) : std::nullopt;
  if (!parsed) ThrowIo(path, Line(*unit), "metadata.unit", "unknown unit (m, cm, mm)");
  return parsed;
}

Camera ReadAniposeCamera(const toml::table& table,
                         const std::string& key,
                         const std::string& path,
                         double metres_per_unit) {
  const int line = Line(table);
  Camera camera;
  camera.name = key;
  if (const toml::node* name = table.get("name")) {
    if (auto s = name->value<std::string>()) {
      camera.name = *s;
    } else if (auto n = name->value<int64_t>()) {
      camera.name = std::to_string(*n);  // FreeMoCap writes name = "1" or 1
    } else {
      ThrowIo(path, Line(*name), key + ".name", "expected a string");
    }
  }
  const std::string where = key;
  const std::vector<double> size =
      NumberList(Require(table, "size", path, where, line), path, where + ".size", 2);
  const Eigen::Matrix3d k =
      Matrix3(Require(table, "matrix", path, where, line), path, where + ".matrix");
  CheckCalibrationMatrix(k, path, Line(*table.get("matrix")), where + ".matrix");
  const std::vector<double> distortion = NumberList(
      Require(table, "distortions", path, where, line), path, where + ".distortions", -1);
  bool fisheye = false;
  if (const toml::node* f = table.get("fisheye")) {
    const auto b = f->value<bool>();
    if (!b) ThrowIo(path, Line(*f), where + ".fisheye", "expected true or false");
    fisheye = *b;
  }
  camera = CameraFromOpenCV(camera.name, k, distortion, fisheye, path, line);
  camera.width = CheckImageSize(size[0], path, Line(*table.get("size")), where + ".size");
  camera.height = CheckImageSize(size[1], path, Line(*table.get("size")), where + ".size");
  const Eigen::Quaterniond rotation =
      RotationOf(Require(table, "rotation", path, where, line), path, where + ".rotation");
  const std::vector<double> t =
      NumberList(Require(table, "translation", path, where, line), path, where + ".translation", 3);
  camera.cam_from_world = Rigid3d(rotation, Eigen::Vector3d(t[0], t[1], t[2]) * metres_per_unit);
  CheckCamera(camera, path, line);
  return camera;
}

Rig ReadCaliscope(const toml::table& root,
                  const std::string& path,
                  std::vector<std::string>* warnings) {
  const toml::table* cameras = root["cameras"].as_table();
  if (cameras == nullptr) ThrowIo(path, 0, "cameras", "expected [cameras.N] tables");
  std::vector<std::pair<std::string, const toml::table*>> entries;
  for (auto&& [key, node] : *cameras) {
    const toml::table* t = node.as_table();
    if (t == nullptr)
      ThrowIo(path, Line(node), "cameras." + std::string(key.str()), "expected a table");
    entries.emplace_back(std::string(key.str()), t);
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return NaturalLess(a.first, b.first);
  });
  Rig rig;
  rig.source_unit = LengthUnit::kMetre;
  for (const auto& [key, table] : entries) {
    const std::string where = "cameras." + key;
    const int line = Line(*table);
    if (const toml::node* ignore = table->get("ignore")) {
      if (ignore->value<bool>().value_or(false)) {
        if (warnings)
          warnings->push_back(path + ": camera " + key + " is marked ignore = true: skipped");
        continue;
      }
    }
    if (table->get("rotation") == nullptr || table->get("translation") == nullptr) {
      ThrowIo(
          path, line, where, "camera has no extrinsics (rotation/translation): calibrate it first");
    }
    const std::vector<double> size =
        NumberList(Require(*table, "size", path, where, line), path, where + ".size", 2);
    const Eigen::Matrix3d k =
        Matrix3(Require(*table, "matrix", path, where, line), path, where + ".matrix");
    CheckCalibrationMatrix(k, path, Line(*table->get("matrix")), where + ".matrix");
    const std::vector<double> distortion = NumberList(
        Require(*table, "distortions", path, where, line), path, where + ".distortions", -1);
    Camera camera = CameraFromOpenCV("cam_" + key, k, distortion, false, path, line);
    camera.width = CheckImageSize(size[0], path, line, where + ".size");
    camera.height = CheckImageSize(size[1], path, line, where + ".size");
    const Eigen::Quaterniond rotation =
        RotationOf(*table->get("rotation"), path, where + ".rotation");
    const std::vector<double> t =
        NumberList(*table->get("translation"), path, where + ".translation", 3);
    camera.cam_from_world = Rigid3d(rotation, Eigen::Vector3d(t[0], t[1], t[2]));
    CheckCamera(camera, path, line);
    rig.cameras.push_back(camera);
  }
  return rig;
}

std::string QuoteToml(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

}  // namespace

CalibFormat DetectTomlFlavour(const std::string& path) {
  const toml::table root = ParseToml(path);
  if (const toml::table* metadata = root["metadata"].as_table()) {
    if (auto f = (*metadata)["rigpose_format"].value<std::string>()) {
      if (auto parsed = ParseCalibFormat(*f)) return *parsed;
    }
    for (const char* key : {"charuco_square_size",
                            "charuco_board_object",
                            "path_to_recorded_videos",
                            "date_time_calibrated"}) {
      if (metadata->contains(key)) return CalibFormat::kFreeMocap;
    }
  }
  if (root["cameras"].as_table() != nullptr) return CalibFormat::kCaliscope;
  bool all_four = true;
  int num_cameras = 0;
  for (auto&& [key, node] : root) {
    if (key.str() == "metadata") continue;
    const toml::table* t = node.as_table();
    if (t == nullptr) continue;
    ++num_cameras;
    const toml::array* d = (*t)["distortions"].as_array();
    const bool fisheye = (*t)["fisheye"].value<bool>().value_or(false);
    if (d == nullptr || d->size() != 4 || fisheye) all_four = false;
  }
  return num_cameras > 0 && all_four ? CalibFormat::kPose2Sim : CalibFormat::kAnipose;
}

Rig ReadTomlFamily(const std::string& path,
                   CalibFormat format,
                   const CalibReadOptions& options,
                   std::vector<std::string>* warnings) {
  const toml::table root = ParseToml(path);
  if (format == CalibFormat::kCaliscope) return ReadCaliscope(root, path, warnings);

  LengthUnit unit = LengthUnit::kMetre;
  if (format == CalibFormat::kFreeMocap) unit = LengthUnit::kMillimetre;
  if (const auto declared = MetadataUnit(root, path)) unit = *declared;
  if (options.unit && (format == CalibFormat::kAnipose || options.force_unit)) unit = *options.unit;

  std::vector<std::pair<std::string, const toml::table*>> entries;
  for (auto&& [key, node] : root) {
    const std::string k(key.str());
    if (k == "metadata") continue;
    const toml::table* t = node.as_table();
    if (t == nullptr) ThrowIo(path, Line(node), k, "expected a camera table [" + k + "]");
    entries.emplace_back(k, t);
  }
  // toml++ iterates keys in text order (cam_10 before cam_2, as aniposelib does); cameras are
  // identified by name, ordered naturally.
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return NaturalLess(a.first, b.first);
  });
  Rig rig;
  rig.source_unit = unit;
  for (const auto& [key, table] : entries) {
    rig.cameras.push_back(ReadAniposeCamera(*table, key, path, MetresPerUnit(unit)));
  }
  return rig;
}

void WriteTomlFamily(const Rig& rig,
                     const std::string& path,
                     const CalibWriteOptions& options,
                     std::vector<std::string>* warnings) {
  const std::string format = CalibFormatName(options.format);
  LengthUnit unit = options.unit;
  if (options.format == CalibFormat::kPose2Sim) unit = LengthUnit::kMetre;
  if (options.format == CalibFormat::kFreeMocap) unit = LengthUnit::kMillimetre;
  const double scale = 1.0 / MetresPerUnit(unit);
  const int width = rig.NumCameras() >= 10 ? 2 : 1;  // cam_00..cam_11: text order = natural order
  std::ostringstream out;
  for (int i = 0; i < rig.NumCameras(); ++i) {
    const Camera& camera = rig.cameras[i];
    const bool fisheye = camera.model_id == CameraModelId::kOpenCVFisheye;
    const int num_coeffs = fisheye ? 4 : (options.format == CalibFormat::kPose2Sim ? 4 : 5);
    const std::vector<double> distortion =
        OpenCVDistortion(camera, num_coeffs, options.force, path, format, warnings);
    std::string index = std::to_string(i);
    if (static_cast<int>(index.size()) < width)
      index = std::string(width - index.size(), '0') + index;
    const Eigen::Vector3d r = camera.cam_from_world.RodriguesVector();
    const Eigen::Vector3d t = camera.cam_from_world.translation * scale;
    out << "[cam_" << index << "]\n"
        << "name = " << QuoteToml(camera.name) << "\n"
        << "size = [" << FormatDouble(camera.width) << ", " << FormatDouble(camera.height) << "]\n"
        << "matrix = [" << FormatDoubleList({camera.fx(), 0.0, camera.cx()}) << ", "
        << FormatDoubleList({0.0, camera.fy(), camera.cy()}) << ", "
        << FormatDoubleList({0.0, 0.0, 1.0}) << "]\n"
        << "distortions = " << FormatDoubleList(distortion) << "\n"
        << "rotation = " << FormatDoubleList({r.x(), r.y(), r.z()}) << "\n"
        << "translation = " << FormatDoubleList({t.x(), t.y(), t.z()}) << "\n"
        << "fisheye = " << (fisheye ? "true" : "false") << "\n\n";
  }
  out << "[metadata]\n"
      << "adjusted = false\n"
      << "error = 0.0\n"
      << "rigpose_format = " << QuoteToml(format) << "\n"
      << "unit = " << QuoteToml(UnitName(unit)) << "\n";
  WriteFileAtomic(path, out.str());
}

}  // namespace rigpose::calib_internal

// SPDX-License-Identifier: BSD-3-Clause
// rigpose rig YAML, version 1 (docs/FORMATS.md). Strict: every key is required unless marked
// optional, unknown keys are errors, and every error names file, line and key.
#include <cmath>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "core/error.h"
#include "data/calib_internal.h"
#include "data/file_util.h"
#include "data/yaml_util.h"

namespace rigpose::calib_internal {
namespace {

constexpr int kRigYamlVersion = 1;

using yaml_util::AsDouble;
using yaml_util::AsDoubles;
using yaml_util::AsString;
using yaml_util::CheckKeys;
using yaml_util::Line;

}  // namespace

Rig ReadRigYaml(const std::string& path) {
  const YAML::Node root = yaml_util::LoadFile(path);
  CheckKeys(root, {"rigpose_rig_version", "cameras"}, {"source"}, path, "");
  const double version = AsDouble(root["rigpose_rig_version"], path, "rigpose_rig_version");
  if (version != kRigYamlVersion) {
    ThrowIo(
        path,
        Line(root["rigpose_rig_version"]),
        "rigpose_rig_version",
        "unsupported version " + root["rigpose_rig_version"].Scalar() + " (this build reads 1)");
  }
  Rig rig;
  if (const YAML::Node source = root["source"]) {
    CheckKeys(source, {}, {"format", "unit", "path"}, path, "source");
    if (source["unit"]) {
      const std::string unit = AsString(source["unit"], path, "source.unit");
      const auto parsed = ParseLengthUnit(unit);
      if (!parsed)
        ThrowIo(path, Line(source["unit"]), "source.unit", "unknown unit '" + unit + "'");
      rig.source_unit = *parsed;
    }
  }
  const YAML::Node cameras = root["cameras"];
  if (!cameras.IsSequence()) ThrowIo(path, Line(cameras), "cameras", "expected a list of cameras");
  for (size_t i = 0; i < cameras.size(); ++i) {
    const YAML::Node c = cameras[i];
    const std::string where = "cameras[" + std::to_string(i) + "]";
    CheckKeys(c, {"name", "model", "width", "height", "params", "cam_from_world"}, {}, path, where);
    Camera camera;
    camera.name = AsString(c["name"], path, where + ".name");
    const std::string cam_where = "cameras[" + camera.name + "]";
    const std::string model = AsString(c["model"], path, cam_where + ".model");
    const auto model_id = CameraModelFromName(model);
    if (!model_id) {
      ThrowIo(path,
              Line(c["model"]),
              cam_where + ".model",
              "unknown camera model '" + model + "' (PINHOLE, OPENCV, OPENCV_FISHEYE)");
    }
    camera.model_id = *model_id;
    camera.width = CheckImageSize(AsDouble(c["width"], path, cam_where + ".width"),
                                  path,
                                  Line(c["width"]),
                                  cam_where + ".width");
    camera.height = CheckImageSize(AsDouble(c["height"], path, cam_where + ".height"),
                                   path,
                                   Line(c["height"]),
                                   cam_where + ".height");
    camera.params = AsDoubles(c["params"],
                              path,
                              cam_where + ".params",
                              static_cast<size_t>(CameraModelNumParams(*model_id)));
    const YAML::Node pose = c["cam_from_world"];
    CheckKeys(pose, {"rotation_wxyz", "translation_m"}, {}, path, cam_where + ".cam_from_world");
    const std::vector<double> q =
        AsDoubles(pose["rotation_wxyz"], path, cam_where + ".cam_from_world.rotation_wxyz", 4);
    const std::vector<double> t =
        AsDoubles(pose["translation_m"], path, cam_where + ".cam_from_world.translation_m", 3);
    const Eigen::Quaterniond quat(q[0], q[1], q[2], q[3]);
    const double norm = quat.norm();
    if (std::abs(norm - 1.0) > 1e-6) {
      std::ostringstream msg;
      msg << "quaternion is not unit length (|q| = " << norm << ")";
      ThrowIo(path,
              Line(pose["rotation_wxyz"]),
              cam_where + ".cam_from_world.rotation_wxyz",
              msg.str());
    }
    camera.cam_from_world = Rigid3d(quat, Eigen::Vector3d(t[0], t[1], t[2]));
    CheckCamera(camera, path, Line(c));
    rig.cameras.push_back(camera);
  }
  return rig;
}

void WriteRigYaml(const Rig& rig, const std::string& path) {
  std::ostringstream out;
  out << "# rigpose rig: cam_from_world maps world points (metres) into each camera:\n"
      << "#   point_in_cam = R(rotation_wxyz) * point_in_world + translation_m\n"
      << "rigpose_rig_version: " << kRigYamlVersion << "\n";
  if (!rig.source_format.empty()) {
    out << "source:\n  format: " << rig.source_format << "\n  unit: " << UnitName(rig.source_unit)
        << "\n";
  }
  out << "cameras:\n";
  for (const Camera& camera : rig.cameras) {
    const Eigen::Quaterniond& q = camera.cam_from_world.rotation;
    const Eigen::Vector3d center = camera.CenterInWorld();
    YAML::Emitter name;
    name << camera.name;
    out << "  - name: " << name.c_str() << "\n"
        << "    model: " << CameraModelName(camera.model_id) << "\n"
        << "    width: " << camera.width << "\n"
        << "    height: " << camera.height << "\n"
        << "    # " <<
        [&] {
          std::string s;
          for (const auto& n : CameraModelParamNames(camera.model_id)) s += n + " ";
          return s;
        }()
        << "\n"
        << "    params: " << FormatDoubleList(camera.params) << "\n"
        << "    # centre in world (m): " << FormatDoubleList({center.x(), center.y(), center.z()})
        << "\n"
        << "    cam_from_world:\n"
        << "      rotation_wxyz: " << FormatDoubleList({q.w(), q.x(), q.y(), q.z()}) << "\n"
        << "      translation_m: "
        << FormatDoubleList({camera.cam_from_world.translation.x(),
                             camera.cam_from_world.translation.y(),
                             camera.cam_from_world.translation.z()})
        << "\n";
  }
  WriteFileAtomic(path, out.str());
}

}  // namespace rigpose::calib_internal

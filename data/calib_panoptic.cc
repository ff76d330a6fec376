// SPDX-License-Identifier: BSD-3-Clause
// CMU Panoptic calibration JSON and body3DScene skeletons.
//   {"cameras": [{"name": "00_03", "type": "hd", "resolution": [W, H], "K": 3x3,
//                 "distCoef": [k1,k2,p1,p2,k3], "R": 3x3, "t": [[tx],[ty],[tz]]}, ...]}
// x_cam = R X + t with X, t in centimetres; world y axis points down (floor at y ~ 0).
// With z_up the world is rotated to (x, z, -y) so that +Z is up, as in the rest of rigpose.
#include <cmath>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/calib_internal.h"
#include "data/file_util.h"

namespace rigpose {
namespace {

using nlohmann::json;

// panoptic_from_rigpose_world: applied to rigpose-world points gives Panoptic-world points.
Eigen::Matrix3d ZUpFromPanoptic() {
  Eigen::Matrix3d m;
  m << 1, 0, 0,  //
      0, 0, 1,   //
      0, -1, 0;
  return m;
}

json ParseJson(const std::string& path) {
  const std::string text = ReadFileToString(path);
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    ThrowIo(path, 0, "", std::string("JSON syntax error: ") + e.what());
  }
}

double Number(const json& j, const std::string& path, const std::string& key) {
  if (!j.is_number()) ThrowIo(path, 0, key, "expected a number, got " + std::string(j.type_name()));
  const double v = j.get<double>();
  if (!std::isfinite(v)) ThrowIo(path, 0, key, "value is not finite");
  return v;
}

const json& Field(const json& object,
                  const std::string& key,
                  const std::string& path,
                  const std::string& where) {
  if (!object.is_object()) ThrowIo(path, 0, where, "expected an object");
  auto it = object.find(key);
  if (it == object.end()) ThrowIo(path, 0, where + "." + key, "missing required key");
  return *it;
}

Eigen::Matrix3d Matrix3(const json& j, const std::string& path, const std::string& key) {
  if (!j.is_array() || j.size() != 3) ThrowIo(path, 0, key, "expected a 3x3 matrix");
  Eigen::Matrix3d m;
  for (int r = 0; r < 3; ++r) {
    if (!j[r].is_array() || j[r].size() != 3) ThrowIo(path, 0, key, "expected a 3x3 matrix");
    for (int c = 0; c < 3; ++c) m(r, c) = Number(j[r][c], path, key);
  }
  return m;
}

std::vector<double> Flat(const json& j, const std::string& path, const std::string& key) {
  std::vector<double> out;
  if (!j.is_array()) ThrowIo(path, 0, key, "expected a list");
  for (const json& v : j) {
    if (v.is_array()) {
      for (const json& w : v) out.push_back(Number(w, path, key));
    } else {
      out.push_back(Number(v, path, key));
    }
  }
  return out;
}

}  // namespace

namespace calib_internal {

Rig ReadPanopticCalibration(const std::string& path, const CalibReadOptions& options) {
  const json root = ParseJson(path);
  const json& cameras = Field(root, "cameras", path, "");
  if (!cameras.is_array()) ThrowIo(path, 0, "cameras", "expected a list of cameras");
  Rig rig;
  rig.source_unit = LengthUnit::kCentimetre;
  const double scale = MetresPerUnit(LengthUnit::kCentimetre);
  const Eigen::Matrix3d panoptic_from_world = options.panoptic_z_up
                                                  ? Eigen::Matrix3d(ZUpFromPanoptic().transpose())
                                                  : Eigen::Matrix3d::Identity();
  for (size_t i = 0; i < cameras.size(); ++i) {
    const json& c = cameras[i];
    const std::string where = "cameras[" + std::to_string(i) + "]";
    const json& name_json = Field(c, "name", path, where);
    if (!name_json.is_string()) ThrowIo(path, 0, where + ".name", "expected a string");
    const std::string name = name_json.get<std::string>();
    const std::string cw = "cameras[" + name + "]";
    if (!options.panoptic_camera_types.empty()) {
      const std::string type = c.value("type", std::string());
      bool keep = false;
      for (const auto& t : options.panoptic_camera_types) keep = keep || t == type;
      if (!keep) continue;
    }
    const Eigen::Matrix3d k = Matrix3(Field(c, "K", path, cw), path, cw + ".K");
    CheckCalibrationMatrix(k, path, 0, cw + ".K");
    const std::vector<double> dist = Flat(Field(c, "distCoef", path, cw), path, cw + ".distCoef");
    Camera camera = CameraFromOpenCV(name, k, dist, false, path, 0);
    const std::vector<double> res =
        Flat(Field(c, "resolution", path, cw), path, cw + ".resolution");
    if (res.size() != 2) ThrowIo(path, 0, cw + ".resolution", "expected [width, height]");
    camera.width = CheckImageSize(res[0], path, 0, cw + ".resolution");
    camera.height = CheckImageSize(res[1], path, 0, cw + ".resolution");
    const Eigen::Matrix3d r = Matrix3(Field(c, "R", path, cw), path, cw + ".R");
    CheckRotationMatrix(r, path, 0, cw + ".R");
    const std::vector<double> t = Flat(Field(c, "t", path, cw), path, cw + ".t");
    if (t.size() != 3) ThrowIo(path, 0, cw + ".t", "expected 3 numbers");
    // x_cam = R (P X') + t, X' in rigpose world (metres); P = panoptic_from_world.
    camera.cam_from_world =
        Rigid3d::FromMatrix(r * panoptic_from_world, Eigen::Vector3d(t[0], t[1], t[2]) * scale);
    CheckCamera(camera, path, 0);
    rig.cameras.push_back(camera);
  }
  return rig;
}

}  // namespace calib_internal

std::vector<Poses3D> ReadPanopticBodies(const std::string& path, bool z_up) {
  const json root = ParseJson(path);
  const json& bodies = Field(root, "bodies", path, "");
  if (!bodies.is_array()) ThrowIo(path, 0, "bodies", "expected a list");
  const Eigen::Matrix3d world_from_panoptic =
      z_up ? ZUpFromPanoptic() : Eigen::Matrix3d::Identity();
  std::vector<Poses3D> out;
  for (size_t b = 0; b < bodies.size(); ++b) {
    const std::string where = "bodies[" + std::to_string(b) + "].joints19";
    const std::vector<double> v =
        Flat(Field(bodies[b], "joints19", path, "bodies[" + std::to_string(b) + "]"), path, where);
    if (v.size() != 19 * 4) {
      ThrowIo(path,
              0,
              where,
              "expected 76 numbers (19 joints x (x, y, z, confidence)), got " +
                  std::to_string(v.size()));
    }
    Poses3D poses(1, 19);
    poses.skeleton = "panoptic19";
    for (int j = 0; j < 19; ++j) {
      if (v[j * 4 + 3] < 0.0) continue;
      const Eigen::Vector3d p(v[j * 4], v[j * 4 + 1], v[j * 4 + 2]);
      poses.Set(0, j, world_from_panoptic * (p * 0.01));
    }
    out.push_back(poses);
  }
  return out;
}

}  // namespace rigpose

// SPDX-License-Identifier: BSD-3-Clause
// EasyMocap calibration: intri.yml (names, K_<cam>, dist_<cam>) and extri.yml (names,
// R_<cam> Rodrigues, Rot_<cam> 3x3, T_<cam> metres), OpenCV FileStorage YAML 1.0, which
// standard YAML parsers reject: read and written with cv::FileStorage only.
// EasyMocap stores no image size: W_<cam>/H_<cam> are read when present (rigpose writes them),
// otherwise the size is guessed from the principal point (2 cx + 1) with a warning.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>

#include <opencv2/calib3d.hpp>
#include <opencv2/core.hpp>

#include "core/error.h"
#include "data/calib_internal.h"
#include "data/file_util.h"

namespace rigpose::calib_internal {
namespace fs = std::filesystem;
namespace {

struct EasyMocapPaths {
  std::string intri;
  std::string extri;
};

EasyMocapPaths Locate(const std::string& path) {
  const fs::path p(path);
  std::error_code ec;
  const fs::path dir = fs::is_directory(p, ec) ? p : p.parent_path();
  EasyMocapPaths out{(dir / "intri.yml").string(), (dir / "extri.yml").string()};
  for (const std::string& f : {out.intri, out.extri}) {
    if (!fs::exists(f, ec))
      throw IoError(f + ": missing (EasyMocap needs intri.yml and extri.yml side by side)");
  }
  return out;
}

cv::FileStorage Open(const std::string& path) {
  try {
    cv::FileStorage storage(path, cv::FileStorage::READ);
    if (!storage.isOpened()) throw IoError(path + ": cannot open as OpenCV FileStorage");
    return storage;
  } catch (const cv::Exception& e) {
    throw IoError(path + ": cannot parse as OpenCV FileStorage YAML: " + e.err);
  }
}

std::vector<std::string> Names(const cv::FileStorage& storage, const std::string& path) {
  const cv::FileNode node = storage["names"];
  if (node.empty() || !node.isSeq()) ThrowIo(path, 0, "names", "missing list of camera names");
  std::vector<std::string> names;
  for (const cv::FileNode& n : node) {
    if (n.isString()) {
      names.push_back(n.string());
    } else if (n.isInt()) {
      names.push_back(std::to_string(static_cast<int>(n)));
    } else {
      ThrowIo(path, 0, "names", "camera names must be strings");
    }
  }
  return names;
}

cv::Mat ReadMat(const cv::FileStorage& storage,
                const std::string& key,
                const std::string& path,
                int rows,
                int cols,
                bool required = true) {
  const cv::FileNode node = storage[key];
  if (node.empty()) {
    if (!required) return cv::Mat();
    ThrowIo(path, 0, key, "missing required key");
  }
  cv::Mat m;
  try {
    node >> m;
  } catch (const cv::Exception& e) {
    ThrowIo(path, 0, key, "not an OpenCV matrix: " + e.err);
  }
  if (m.empty()) ThrowIo(path, 0, key, "not an OpenCV matrix");
  m.convertTo(m, CV_64F);
  if (rows > 0 && static_cast<int>(m.total()) != rows * cols) {
    ThrowIo(path,
            0,
            key,
            "expected " + std::to_string(rows) + "x" + std::to_string(cols) + " values, got " +
                std::to_string(m.rows) + "x" + std::to_string(m.cols));
  }
  for (int i = 0; i < static_cast<int>(m.total()); ++i) {
    if (!std::isfinite(m.at<double>(i))) ThrowIo(path, 0, key, "value is not finite");
  }
  return m;
}

std::string WriteStorageToString(const std::function<void(cv::FileStorage&)>& fill) {
  cv::FileStorage storage(
      ".yml", cv::FileStorage::WRITE | cv::FileStorage::MEMORY | cv::FileStorage::FORMAT_YAML);
  fill(storage);
  return storage.releaseAndGetString();
}

}  // namespace

Rig ReadEasyMocap(const std::string& path, std::vector<std::string>* warnings) {
  const EasyMocapPaths paths = Locate(path);
  cv::FileStorage intri = Open(paths.intri);
  cv::FileStorage extri = Open(paths.extri);
  const std::vector<std::string> names = Names(intri, paths.intri);
  const std::vector<std::string> extri_names = Names(extri, paths.extri);
  Rig rig;
  rig.source_unit = LengthUnit::kMetre;
  for (const std::string& name : names) {
    if (std::find(extri_names.begin(), extri_names.end(), name) == extri_names.end()) {
      ThrowIo(paths.extri, 0, "names", "camera '" + name + "' of intri.yml is missing");
    }
    const cv::Mat k_mat = ReadMat(intri, "K_" + name, paths.intri, 3, 3);
    Eigen::Matrix3d k;
    for (int r = 0; r < 3; ++r) {
      for (int c = 0; c < 3; ++c) k(r, c) = k_mat.at<double>(r * 3 + c);
    }
    CheckCalibrationMatrix(k, paths.intri, 0, "K_" + name);
    const cv::Mat dist_mat = ReadMat(intri, "dist_" + name, paths.intri, -1, -1);
    std::vector<double> dist(dist_mat.begin<double>(), dist_mat.end<double>());
    Camera camera = CameraFromOpenCV(name, k, dist, false, paths.intri, 0);
    const cv::FileNode w = intri["W_" + name];
    const cv::FileNode h = intri["H_" + name];
    if (!w.empty() && !h.empty()) {
      camera.width = CheckImageSize(static_cast<double>(w), paths.intri, 0, "W_" + name);
      camera.height = CheckImageSize(static_cast<double>(h), paths.intri, 0, "H_" + name);
    } else {
      camera.width = static_cast<int>(std::lround(2.0 * camera.cx() + 1.0));
      camera.height = static_cast<int>(std::lround(2.0 * camera.cy() + 1.0));
      if (warnings) {
        warnings->push_back(paths.intri + ": camera '" + name +
                            "': no image size stored; guessed " + std::to_string(camera.width) +
                            "x" + std::to_string(camera.height) + " from the principal point");
      }
    }
    const cv::Mat rot = ReadMat(extri, "Rot_" + name, paths.extri, 3, 3, /*required=*/false);
    Eigen::Matrix3d r;
    if (!rot.empty()) {
      for (int i = 0; i < 3; ++i) {
        for (int j = 0; j < 3; ++j) r(i, j) = rot.at<double>(i * 3 + j);
      }
      CheckRotationMatrix(r, paths.extri, 0, "Rot_" + name);
    } else {
      const cv::Mat rvec = ReadMat(extri, "R_" + name, paths.extri, 3, 1);
      r = QuaternionFromRodrigues(
              Eigen::Vector3d(rvec.at<double>(0), rvec.at<double>(1), rvec.at<double>(2)))
              .toRotationMatrix();
    }
    const cv::Mat t = ReadMat(extri, "T_" + name, paths.extri, 3, 1);
    camera.cam_from_world =
        Rigid3d::FromMatrix(r, Eigen::Vector3d(t.at<double>(0), t.at<double>(1), t.at<double>(2)));
    CheckCamera(camera, paths.intri, 0);
    rig.cameras.push_back(camera);
  }
  return rig;
}

void WriteEasyMocap(const Rig& rig,
                    const std::string& dir,
                    const CalibWriteOptions& options,
                    std::vector<std::string>* warnings) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw IoError(
        dir +
        ": EasyMocap output must be an existing directory (receives intri.yml and extri.yml)");
  }
  for (const Camera& camera : rig.cameras) {
    if (camera.model_id == CameraModelId::kOpenCVFisheye) {
      const std::string msg = "camera '" + camera.name + "': EasyMocap has no fisheye model";
      if (!options.force) throw IoError(dir + ": " + msg);
      if (warnings) warnings->push_back(msg + ": written as OPENCV with k1..k4 dropped (forced)");
    }
  }
  std::vector<std::string> names = rig.CameraNames();
  const std::string intri = WriteStorageToString([&](cv::FileStorage& fs_out) {
    fs_out << "names" << names;
    for (const Camera& camera : rig.cameras) {
      cv::Mat k(3, 3, CV_64F);
      for (int r = 0; r < 3; ++r) {
        for (int c = 0; c < 3; ++c) k.at<double>(r, c) = camera.CalibrationMatrix()(r, c);
      }
      std::vector<double> d(5, 0.0);
      if (camera.model_id == CameraModelId::kOpenCV) d = camera.DistortionParams();
      fs_out << "K_" + camera.name << k;
      fs_out << "dist_" + camera.name << cv::Mat(d, true).reshape(1, 1);
      fs_out << "W_" + camera.name << camera.width;
      fs_out << "H_" + camera.name << camera.height;
    }
  });
  const std::string extri = WriteStorageToString([&](cv::FileStorage& fs_out) {
    fs_out << "names" << names;
    for (const Camera& camera : rig.cameras) {
      const Eigen::Vector3d rvec = camera.cam_from_world.RodriguesVector();
      const Eigen::Matrix3d rot = camera.cam_from_world.RotationMatrix();
      const Eigen::Vector3d t = camera.cam_from_world.translation;
      cv::Mat r_mat(3, 3, CV_64F);
      for (int i = 0; i < 3; ++i) {
        for (int j = 0; j < 3; ++j) r_mat.at<double>(i, j) = rot(i, j);
      }
      fs_out << "R_" + camera.name << (cv::Mat_<double>(3, 1) << rvec.x(), rvec.y(), rvec.z());
      fs_out << "Rot_" + camera.name << r_mat;
      fs_out << "T_" + camera.name << (cv::Mat_<double>(3, 1) << t.x(), t.y(), t.z());
    }
  });
  // Both files are complete in memory before either is renamed into place.
  WriteFileAtomic((fs::path(dir) / "intri.yml").string(), intri);
  WriteFileAtomic((fs::path(dir) / "extri.yml").string(), extri);
}

}  // namespace rigpose::calib_internal

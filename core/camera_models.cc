// SPDX-License-Identifier: BSD-3-Clause
#include "core/camera_models.h"

#include <algorithm>
#include <cctype>

namespace rigpose {

int CameraModelNumParams(CameraModelId model_id) {
  RIGPOSE_CAMERA_MODEL_SWITCH(model_id, return Model::kNumParams)
  return 0;
}

std::string CameraModelName(CameraModelId model_id) {
  RIGPOSE_CAMERA_MODEL_SWITCH(model_id, return Model::kName)
  return "UNKNOWN";
}

std::optional<CameraModelId> CameraModelFromName(const std::string& name) {
  std::string upper = name;
  std::transform(
      upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
  if (upper == "PINHOLE") return CameraModelId::kPinhole;
  if (upper == "OPENCV") return CameraModelId::kOpenCV;
  if (upper == "OPENCV_FISHEYE" || upper == "FISHEYE") return CameraModelId::kOpenCVFisheye;
  return std::nullopt;
}

std::vector<std::string> CameraModelParamNames(CameraModelId model_id) {
  switch (model_id) {
    case CameraModelId::kPinhole:
      return {"fx", "fy", "cx", "cy"};
    case CameraModelId::kOpenCV:
      return {"fx", "fy", "cx", "cy", "k1", "k2", "p1", "p2", "k3"};
    case CameraModelId::kOpenCVFisheye:
      return {"fx", "fy", "cx", "cy", "k1", "k2", "k3", "k4"};
  }
  return {};
}

std::vector<CameraModelId> AllCameraModels() {
  return {CameraModelId::kPinhole, CameraModelId::kOpenCV, CameraModelId::kOpenCVFisheye};
}

}  // namespace rigpose

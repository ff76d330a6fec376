// SPDX-License-Identifier: BSD-3-Clause
// Camera models: stateless structs with static, templated projection so that double, float and
// ceres::Jet all pass through the same code (Ceres cost functions, CUDA kernels, CPU reference).
//
// Conventions (pinned by tests/core/camera_models_test.cc):
//  - Camera frame: x right, y down, z forward (OpenCV). Points with z <= 0 do not project.
//  - Pixels: OpenCV convention, pixel centres at integer coordinates; the top-left pixel covers
//    [-0.5, 0.5) x [-0.5, 0.5). A point on the optical axis lands on (cx, cy).
//  - "Normalised" coordinates are (x/z, y/z) of the undistorted pinhole ray.
//
// Parameter layouts (same order as OpenCV's K and distortion vectors):
//   PINHOLE         fx fy cx cy
//   OPENCV          fx fy cx cy k1 k2 p1 p2 k3        (cv::projectPoints, 5 coefficients)
//   OPENCV_FISHEYE  fx fy cx cy k1 k2 k3 k4           (cv::fisheye, equidistant + polynomial)
// Skew is not modelled (every format we read stores K[0][1] = 0; readers reject others).
#pragma once

#include <cmath>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "core/host_device.h"

namespace rigpose {

enum class CameraModelId : int { kPinhole = 0, kOpenCV = 1, kOpenCVFisheye = 2 };

// Outcome of an iterative undistortion (image -> normalised coordinates).
struct UndistortStatus {
  bool converged = false;  // residual below tolerance and the distortion locally invertible
  int iterations = 0;
  double residual = 0.0;  // |distort(solution) - input| in normalised units
};

namespace camera_internal {
template <typename T>
RIGPOSE_HD inline double ScalarPart(const T& x) {
  if constexpr (std::is_arithmetic_v<T>) {
    return static_cast<double>(x);
  } else {
    return x.a;  // ceres::Jet
  }
}
constexpr int kMaxUndistortIterations = 100;
constexpr double kUndistortTolerance = 1e-14;
}  // namespace camera_internal

struct PinholeModel {
  static constexpr CameraModelId kId = CameraModelId::kPinhole;
  static constexpr int kNumParams = 4;
  static constexpr const char* kName = "PINHOLE";

  template <typename T>
  RIGPOSE_HD static void Distort(const T* /*params*/, const T& u, const T& v, T* ud, T* vd) {
    *ud = u;
    *vd = v;
  }
  template <typename T>
  RIGPOSE_HD static UndistortStatus Undistort(
      const T* /*params*/, const T& ud, const T& vd, T* u, T* v) {
    *u = ud;
    *v = vd;
    return UndistortStatus{true, 0, 0.0};
  }
};

struct OpenCVModel {
  static constexpr CameraModelId kId = CameraModelId::kOpenCV;
  static constexpr int kNumParams = 9;
  static constexpr const char* kName = "OPENCV";

  // r² = u² + v² and the radial factor 1 + k1 r² + k2 r⁴ + k3 r⁶.
  template <typename T>
  RIGPOSE_HD static T Radial(const T* params, const T& u, const T& v, T* r2) {
    *r2 = u * u + v * v;
    return T(1) + *r2 * (params[4] + *r2 * (params[5] + *r2 * params[8]));
  }

  // Distort with r² and the radial factor already known (Radial above).
  template <typename T>
  RIGPOSE_HD static void DistortWith(
      const T* params, const T& u, const T& v, const T& r2, const T& radial, T* ud, T* vd) {
    const T& p1 = params[6];
    const T& p2 = params[7];
    *ud = u * radial + T(2) * p1 * u * v + p2 * (r2 + T(2) * u * u);
    *vd = v * radial + p1 * (r2 + T(2) * v * v) + T(2) * p2 * u * v;
  }

  template <typename T>
  RIGPOSE_HD static void Distort(const T* params, const T& u, const T& v, T* ud, T* vd) {
    T r2;
    const T radial = Radial(params, u, v, &r2);
    DistortWith(params, u, v, r2, radial, ud, vd);
  }

  // One Newton evaluation at (u, v) for distort(u, v) = (ud, vd).
  template <typename T>
  struct NewtonEvaluation {
    T fu, fv;  // residual distort(u, v) − (ud, vd)
    T det;     // determinant of the analytic 2x2 Jacobian
    T du, dv;  // the step J⁻¹ f
  };
  // Shared by Undistort below and the CPU's lockstep row undistortion (triangulate/dlt.cc).
  template <typename T>
  RIGPOSE_HD static NewtonEvaluation<T> NewtonStep(
      const T* params, const T& ud, const T& vd, const T& u, const T& v) {
    NewtonEvaluation<T> e;
    T r2;
    const T radial = Radial(params, u, v, &r2);
    DistortWith(params, u, v, r2, radial, &e.fu, &e.fv);
    e.fu -= ud;
    e.fv -= vd;
    const T& p1 = params[6];
    const T& p2 = params[7];
    const T dradial = params[4] + r2 * (T(2) * params[5] + T(3) * params[8] * r2);  // d/d r2
    const T j00 = radial + T(2) * u * u * dradial + T(2) * p1 * v + T(6) * p2 * u;
    const T j01 = T(2) * u * v * dradial + T(2) * p1 * u + T(2) * p2 * v;
    const T j11 = radial + T(2) * v * v * dradial + T(6) * p1 * v + T(2) * p2 * u;
    e.det = j00 * j11 - j01 * j01;  // the Jacobian is symmetric: j10 = j01
    e.du = (j11 * e.fu - j01 * e.fv) / e.det;
    e.dv = (j00 * e.fv - j01 * e.fu) / e.det;
    return e;
  }

  // Newton iteration on distort(u, v) = (ud, vd) with the analytic 2x2 Jacobian, started at the
  // distorted point. Not converged when the residual stays above tolerance or the solution lies
  // beyond the fold of the distortion (Jacobian determinant <= 0), where the model is not
  // invertible.
  template <typename T>
  RIGPOSE_HD static UndistortStatus Undistort(
      const T* params, const T& ud, const T& vd, T* u_out, T* v_out) {
    using camera_internal::ScalarPart;
    T u = ud;
    T v = vd;
    UndistortStatus status;
    for (int it = 0; it < camera_internal::kMaxUndistortIterations; ++it) {
      const NewtonEvaluation<T> e = NewtonStep(params, ud, vd, u, v);
      // Squared, so that the loop takes no square root (status.residual is set once, below).
      const double residual2 =
          ScalarPart(e.fu) * ScalarPart(e.fu) + ScalarPart(e.fv) * ScalarPart(e.fv);
      status.iterations = it;
      status.residual = residual2;
      if (!(ScalarPart(e.det) > 0.0) || !std::isfinite(residual2)) {
        status.converged = false;
        break;
      }
      // Converged: still take this last step, so that derivatives (Jets) are those of the
      // converged solution.
      status.converged =
          residual2 < camera_internal::kUndistortTolerance * camera_internal::kUndistortTolerance;
      u = u - e.du;
      v = v - e.dv;
      if (status.converged) break;
    }
    status.residual = std::sqrt(status.residual);
    *u_out = u;
    *v_out = v;
    return status;
  }
};

struct OpenCVFisheyeModel {
  static constexpr CameraModelId kId = CameraModelId::kOpenCVFisheye;
  static constexpr int kNumParams = 8;
  static constexpr const char* kName = "OPENCV_FISHEYE";

  template <typename T>
  RIGPOSE_HD static void Distort(const T* params, const T& u, const T& v, T* ud, T* vd) {
    using std::atan;
    using std::sqrt;
    const T r2 = u * u + v * v;
    if (!(r2 > T(1e-24))) {
      // theta_d / r -> 1 as r -> 0 (avoids sqrt'(0) for Jets).
      *ud = u;
      *vd = v;
      return;
    }
    const T r = sqrt(r2);
    const T theta = atan(r);
    const T t2 = theta * theta;
    const T theta_d =
        theta * (T(1) + t2 * (params[4] + t2 * (params[5] + t2 * (params[6] + t2 * params[7]))));
    const T scale = theta_d / r;
    *ud = u * scale;
    *vd = v * scale;
  }

  // Newton on theta * poly(theta^2) = theta_d. Not converged if the polynomial is not monotonic
  // at the solution or theta leaves [0, pi/2).
  template <typename T>
  RIGPOSE_HD static UndistortStatus Undistort(
      const T* params, const T& ud, const T& vd, T* u_out, T* v_out) {
    using camera_internal::ScalarPart;
    using std::sqrt;
    using std::tan;
    const T rd2 = ud * ud + vd * vd;
    UndistortStatus status;
    if (!(rd2 > T(1e-24))) {
      *u_out = ud;
      *v_out = vd;
      status.converged = true;
      return status;
    }
    const T theta_d = sqrt(rd2);
    T theta = theta_d;
    if (ScalarPart(theta) > 1.5) theta = T(1.5);
    for (int it = 0; it < camera_internal::kMaxUndistortIterations; ++it) {
      const T t2 = theta * theta;
      const T f =
          theta * (T(1) + t2 * (params[4] + t2 * (params[5] + t2 * (params[6] + t2 * params[7])))) -
          theta_d;
      const T df =
          T(1) + t2 * (T(3) * params[4] +
                       t2 * (T(5) * params[5] + t2 * (T(7) * params[6] + T(9) * t2 * params[7])));
      const double residual = std::abs(ScalarPart(f));
      status.iterations = it;
      status.residual = residual;
      if (!(ScalarPart(df) > 0.0) || !std::isfinite(residual)) {
        status.converged = false;
        break;
      }
      const bool done = residual < camera_internal::kUndistortTolerance;
      theta = theta - f / df;
      if (done) {
        status.converged = true;
        break;
      }
    }
    const double theta_value = ScalarPart(theta);
    if (!(theta_value >= 0.0 && theta_value < 1.5707963267948966)) status.converged = false;
    const T scale = tan(theta) / theta_d;
    *u_out = ud * scale;
    *v_out = vd * scale;
    return status;
  }
};

// Projects a point in the camera frame to pixels; false when it is behind the camera (z <= 0).
template <typename Model, typename T>
RIGPOSE_HD inline bool ModelImgFromCam(const T* params, const T* cam_point, T* img_point) {
  if (!(cam_point[2] > T(0))) return false;
  const T u = cam_point[0] / cam_point[2];
  const T v = cam_point[1] / cam_point[2];
  T ud;
  T vd;
  Model::Distort(params, u, v, &ud, &vd);
  img_point[0] = params[0] * ud + params[2];
  img_point[1] = params[1] * vd + params[3];
  return true;
}

// Pixels -> normalised coordinates (x/z, y/z) of the undistorted ray.
template <typename Model, typename T>
RIGPOSE_HD inline UndistortStatus ModelCamFromImg(const T* params,
                                                  const T* img_point,
                                                  T* normalised) {
  const T ud = (img_point[0] - params[2]) / params[0];
  const T vd = (img_point[1] - params[3]) / params[1];
  return Model::Undistort(params, ud, vd, &normalised[0], &normalised[1]);
}

// ---- Dispatch on the runtime model id ------------------------------------------------------

#define RIGPOSE_CAMERA_MODEL_SWITCH(model_id, CALL) \
  switch (model_id) {                               \
    case CameraModelId::kPinhole: {                 \
      using Model = PinholeModel;                   \
      CALL;                                         \
    }                                               \
    case CameraModelId::kOpenCV: {                  \
      using Model = OpenCVModel;                    \
      CALL;                                         \
    }                                               \
    case CameraModelId::kOpenCVFisheye: {           \
      using Model = OpenCVFisheyeModel;             \
      CALL;                                         \
    }                                               \
  }

template <typename T>
RIGPOSE_HD inline bool CameraModelImgFromCam(CameraModelId model_id,
                                             const T* params,
                                             const T* cam_point,
                                             T* img_point) {
  RIGPOSE_CAMERA_MODEL_SWITCH(model_id, return ModelImgFromCam<Model>(params, cam_point, img_point))
  return false;
}

template <typename T>
RIGPOSE_HD inline UndistortStatus CameraModelCamFromImg(CameraModelId model_id,
                                                        const T* params,
                                                        const T* img_point,
                                                        T* normalised) {
  RIGPOSE_CAMERA_MODEL_SWITCH(model_id,
                              return ModelCamFromImg<Model>(params, img_point, normalised))
  return UndistortStatus{};
}

// Host-only metadata.
int CameraModelNumParams(CameraModelId model_id);
std::string CameraModelName(CameraModelId model_id);
// "PINHOLE", "OPENCV", "OPENCV_FISHEYE" (case-insensitive; "FISHEYE" is accepted too).
std::optional<CameraModelId> CameraModelFromName(const std::string& name);
std::vector<std::string> CameraModelParamNames(CameraModelId model_id);
std::vector<CameraModelId> AllCameraModels();

}  // namespace rigpose

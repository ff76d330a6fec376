// SPDX-License-Identifier: BSD-3-Clause
// Generic harness for the camera models (COLMAP models_test.cc, PoseLib camera_models_test.cc):
// every model is cross-checked against OpenCV, round-tripped, and its Jet derivatives are
// compared with central differences.
#include "core/camera_models.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <Eigen/Core>

#include "core/camera.h"

#if defined(RIGPOSE_TEST_WITH_OPENCV)
#include <opencv2/calib3d.hpp>
#include <opencv2/core.hpp>
#endif

#if __has_include(<ceres/jet.h>)
#include <ceres/jet.h>
#define RIGPOSE_TEST_WITH_CERES_JET 1
#endif

namespace rigpose {
namespace {

constexpr int kNumParamSets = 6;
constexpr int kNumPointsPerSet = 2000;

// Per-model random distortion and a check that the distortion is invertible over the image.
template <typename Model>
struct ModelTraits;

template <>
struct ModelTraits<PinholeModel> {
  static std::vector<double> RandomDistortion(std::mt19937* /*rng*/) { return {}; }
  // Radius of the undistorted ray (x/z, y/z) that distorts to `distorted_radius`, found by
  // marching outwards; nullopt if the distortion folds (or leaves the hemisphere) first.
  static std::optional<double> MonotonicUpTo(const std::vector<double>& /*params*/,
                                             double distorted_radius) {
    return distorted_radius;
  }
};

template <>
struct ModelTraits<OpenCVModel> {
  static std::vector<double> RandomDistortion(std::mt19937* rng) {
    std::uniform_real_distribution<double> k1(-0.35, 0.1);
    std::uniform_real_distribution<double> k2(-0.05, 0.1);
    std::uniform_real_distribution<double> p(-1e-3, 1e-3);
    std::uniform_real_distribution<double> k3(-0.01, 0.01);
    return {k1(*rng), k2(*rng), p(*rng), p(*rng), k3(*rng)};
  }
  // r * radial(r^2) must increase (with margin) until it reaches the distorted radius.
  static std::optional<double> MonotonicUpTo(const std::vector<double>& params,
                                             double distorted_radius) {
    const double k1 = params[4];
    const double k2 = params[5];
    const double k3 = params[8];
    for (double r = 0.0; r < 10.0; r += 1e-3) {
      const double r2 = r * r;
      const double slope = 1.0 + r2 * (3.0 * k1 + r2 * (5.0 * k2 + r2 * 7.0 * k3));
      if (slope < 0.2) return std::nullopt;
      if (r * (1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))) > distorted_radius) return r;
    }
    return std::nullopt;
  }
};

template <>
struct ModelTraits<OpenCVFisheyeModel> {
  static std::vector<double> RandomDistortion(std::mt19937* rng) {
    std::uniform_real_distribution<double> k(-0.05, 0.05);
    return {k(*rng), k(*rng), k(*rng), k(*rng)};
  }
  // theta_d(theta) must increase (with margin) until it reaches the distorted radius, with
  // theta well inside [0, pi/2).
  static std::optional<double> MonotonicUpTo(const std::vector<double>& params,
                                             double distorted_radius) {
    for (double theta = 0.0; theta < 1.45; theta += 1e-3) {
      const double t2 = theta * theta;
      const double slope =
          1.0 + t2 * (3.0 * params[4] +
                      t2 * (5.0 * params[5] + t2 * (7.0 * params[6] + 9.0 * t2 * params[7])));
      if (slope < 0.2) return std::nullopt;
      const double theta_d =
          theta * (1.0 + t2 * (params[4] + t2 * (params[5] + t2 * (params[6] + t2 * params[7]))));
      if (theta_d > distorted_radius) return std::tan(theta);
    }
    return std::nullopt;
  }
};

// Radius (x/z, y/z) of the undistorted ray at 5% beyond the farthest image corner: rays inside it
// are the camera's physical field of view. Rays beyond the fold of a strong barrel distortion can
// also land in the image, on the wrong branch; they are excluded where a test needs a unique ray.
template <typename Model>
std::optional<double> MaxRayRadius(const Camera& camera) {
  double corner_radius = 0.0;
  for (double x : {-0.5, camera.width - 0.5}) {
    for (double y : {-0.5, camera.height - 0.5}) {
      corner_radius =
          std::max(corner_radius,
                   std::hypot((x - camera.cx()) / camera.fx(), (y - camera.cy()) / camera.fy()));
    }
  }
  return ModelTraits<Model>::MonotonicUpTo(camera.params, 1.05 * corner_radius);
}

// A random, realistic camera of the model whose distortion is invertible over the whole image.
template <typename Model>
Camera RandomCamera(std::mt19937* rng) {
  std::uniform_real_distribution<double> focal(800.0, 2200.0);
  std::uniform_real_distribution<double> aspect(0.98, 1.02);
  std::uniform_real_distribution<double> offset(-20.0, 20.0);
  std::bernoulli_distribution full_hd(0.5);
  while (true) {
    Camera camera;
    camera.name = Model::kName;
    camera.model_id = Model::kId;
    camera.width = full_hd(*rng) ? 1920 : 1280;
    camera.height = camera.width == 1920 ? 1080 : 720;
    const double fx = focal(*rng);
    camera.params = {fx,
                     fx * aspect(*rng),
                     0.5 * (camera.width - 1) + offset(*rng),
                     0.5 * (camera.height - 1) + offset(*rng)};
    for (double k : ModelTraits<Model>::RandomDistortion(rng)) camera.params.push_back(k);
    if (MaxRayRadius<Model>(camera)) return camera;
  }
}

// Random points in front of the camera (directions up to 83 degrees off axis, depth 0.3-30 m)
// inside its field of view (see MaxRayRadius) that land in the image; with
// `field_of_view_only` false, any such point that lands in the image.
template <typename Model>
std::vector<Eigen::Vector3d> RandomPointsInImage(const Camera& camera,
                                                 int count,
                                                 std::mt19937* rng,
                                                 bool field_of_view_only = true) {
  const double max_ray_radius = *MaxRayRadius<Model>(camera);
  std::uniform_real_distribution<double> angle(0.0, 1.45);
  std::uniform_real_distribution<double> azimuth(-M_PI, M_PI);
  std::uniform_real_distribution<double> depth(0.3, 30.0);
  std::vector<Eigen::Vector3d> points;
  while (static_cast<int>(points.size()) < count) {
    const double theta = angle(*rng);
    const double phi = azimuth(*rng);
    const double z = depth(*rng);
    if (field_of_view_only && std::tan(theta) > max_ray_radius) continue;
    const Eigen::Vector3d point(
        z * std::tan(theta) * std::cos(phi), z * std::tan(theta) * std::sin(phi), z);
    const std::optional<Eigen::Vector2d> img_point = camera.ImgFromCam(point);
    if (img_point && camera.IsInImage(*img_point)) points.push_back(point);
  }
  return points;
}

// Uniform random pixels over the sensor, plus its four outer corners.
std::vector<Eigen::Vector2d> RandomPixels(const Camera& camera, int count, std::mt19937* rng) {
  std::uniform_real_distribution<double> x(-0.5, camera.width - 0.5);
  std::uniform_real_distribution<double> y(-0.5, camera.height - 0.5);
  std::vector<Eigen::Vector2d> pixels = {
      Eigen::Vector2d(-0.5, -0.5),
      Eigen::Vector2d(camera.width - 0.5 - 1e-9, -0.5),
      Eigen::Vector2d(-0.5, camera.height - 0.5 - 1e-9),
      Eigen::Vector2d(camera.width - 0.5 - 1e-9, camera.height - 0.5 - 1e-9)};
  while (static_cast<int>(pixels.size()) < count) pixels.emplace_back(x(*rng), y(*rng));
  return pixels;
}

template <typename Model>
class CameraModelTest : public ::testing::Test {};

using ModelTypes = ::testing::Types<PinholeModel, OpenCVModel, OpenCVFisheyeModel>;

class ModelNameGenerator {
 public:
  template <typename Model>
  static std::string GetName(int /*index*/) {
    return Model::kName;
  }
};

TYPED_TEST_SUITE(CameraModelTest, ModelTypes, ModelNameGenerator);

TYPED_TEST(CameraModelTest, MetadataConsistent) {
  using Model = TypeParam;
  EXPECT_EQ(CameraModelNumParams(Model::kId), Model::kNumParams);
  EXPECT_EQ(CameraModelName(Model::kId), Model::kName);
  EXPECT_EQ(static_cast<int>(CameraModelParamNames(Model::kId).size()), Model::kNumParams);
  ASSERT_TRUE(CameraModelFromName(Model::kName).has_value());
  EXPECT_EQ(*CameraModelFromName(Model::kName), Model::kId);
  std::string lower = Model::kName;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  ASSERT_TRUE(CameraModelFromName(lower).has_value());
  EXPECT_EQ(*CameraModelFromName(lower), Model::kId);
  const std::vector<CameraModelId> all = AllCameraModels();
  EXPECT_NE(std::find(all.begin(), all.end(), Model::kId), all.end());
}

TYPED_TEST(CameraModelTest, RandomCameraIsUsable) {
  std::mt19937 rng(7);
  for (int set = 0; set < kNumParamSets; ++set) {
    const Camera camera = RandomCamera<TypeParam>(&rng);
    EXPECT_TRUE(camera.Problems().empty());
    EXPECT_EQ(static_cast<int>(camera.params.size()), TypeParam::kNumParams);
  }
}

// Pixel convention (core/camera_models.h): pixel centres at integer coordinates, the optical
// axis lands on (cx, cy), the sensor covers [-0.5, width - 0.5) x [-0.5, height - 0.5).
TYPED_TEST(CameraModelTest, PixelConvention) {
  std::mt19937 rng(11);
  for (int set = 0; set < kNumParamSets; ++set) {
    const Camera camera = RandomCamera<TypeParam>(&rng);
    for (double z : {0.01, 1.0, 250.0}) {
      const std::optional<Eigen::Vector2d> center = camera.ImgFromCam(Eigen::Vector3d(0, 0, z));
      ASSERT_TRUE(center.has_value());
      EXPECT_NEAR(center->x(), camera.cx(), 1e-12);
      EXPECT_NEAR(center->y(), camera.cy(), 1e-12);
    }
    UndistortStatus status;
    const Eigen::Vector2d normalised =
        camera.CamFromImg(Eigen::Vector2d(camera.cx(), camera.cy()), &status);
    EXPECT_TRUE(status.converged);
    EXPECT_NEAR(normalised.norm(), 0.0, 1e-15);

    EXPECT_TRUE(camera.IsInImage(Eigen::Vector2d(-0.5, -0.5)));
    EXPECT_TRUE(camera.IsInImage(Eigen::Vector2d(0.0, 0.0)));
    EXPECT_TRUE(camera.IsInImage(Eigen::Vector2d(camera.width - 1.0, camera.height - 1.0)));
    EXPECT_TRUE(camera.IsInImage(Eigen::Vector2d(camera.width - 0.5 - 1e-9, 0.0)));
    EXPECT_FALSE(camera.IsInImage(Eigen::Vector2d(camera.width - 0.5, 0.0)));
    EXPECT_FALSE(camera.IsInImage(Eigen::Vector2d(0.0, camera.height - 0.5)));
    EXPECT_FALSE(camera.IsInImage(Eigen::Vector2d(-0.5 - 1e-9, 0.0)));
    EXPECT_FALSE(camera.IsInImage(Eigen::Vector2d(0.0, -0.5 - 1e-9)));
  }
}

TYPED_TEST(CameraModelTest, BehindCamera) {
  using Model = TypeParam;
  std::mt19937 rng(13);
  const Camera camera = RandomCamera<Model>(&rng);
  for (const Eigen::Vector3d& point : {Eigen::Vector3d(0.1, 0.2, 0.0),
                                       Eigen::Vector3d(0.0, 0.0, 0.0),
                                       Eigen::Vector3d(0.0, 0.0, -1.0),
                                       Eigen::Vector3d(0.3, -0.2, -1e-12),
                                       Eigen::Vector3d(5.0, 5.0, -10.0)}) {
    Eigen::Vector2d img_point(std::nan(""), std::nan(""));
    EXPECT_FALSE(ModelImgFromCam<Model>(camera.params.data(), point.data(), img_point.data()))
        << point.transpose();
    EXPECT_FALSE(
        CameraModelImgFromCam(Model::kId, camera.params.data(), point.data(), img_point.data()));
    EXPECT_FALSE(camera.ImgFromCam(point).has_value());
  }
  const Eigen::Vector3d in_front(0.0, 0.0, 1e-12);
  EXPECT_TRUE(camera.ImgFromCam(in_front).has_value());
}

// Dispatcher and direct template agree bit for bit.
TYPED_TEST(CameraModelTest, DispatchMatchesTemplate) {
  using Model = TypeParam;
  std::mt19937 rng(17);
  const Camera camera = RandomCamera<Model>(&rng);
  for (const Eigen::Vector3d& point : RandomPointsInImage<Model>(camera, 100, &rng)) {
    Eigen::Vector2d direct;
    Eigen::Vector2d dispatched;
    ASSERT_TRUE(ModelImgFromCam<Model>(camera.params.data(), point.data(), direct.data()));
    ASSERT_TRUE(
        CameraModelImgFromCam(Model::kId, camera.params.data(), point.data(), dispatched.data()));
    EXPECT_EQ(direct, dispatched);
    Eigen::Vector2d direct_normalised;
    Eigen::Vector2d dispatched_normalised;
    ModelCamFromImg<Model>(camera.params.data(), direct.data(), direct_normalised.data());
    CameraModelCamFromImg(
        Model::kId, camera.params.data(), direct.data(), dispatched_normalised.data());
    EXPECT_EQ(direct_normalised, dispatched_normalised);
  }
}

// unproject then project, on pixels over the whole sensor.
TYPED_TEST(CameraModelTest, RoundTrip) {
  using Model = TypeParam;
  std::mt19937 rng(19);
  double max_error_px = 0.0;
  int max_iterations = 0;
  for (int set = 0; set < kNumParamSets; ++set) {
    const Camera camera = RandomCamera<Model>(&rng);
    for (const Eigen::Vector2d& pixel : RandomPixels(camera, kNumPointsPerSet, &rng)) {
      UndistortStatus status;
      const Eigen::Vector2d normalised = camera.CamFromImg(pixel, &status);
      ASSERT_TRUE(status.converged) << pixel.transpose() << " residual " << status.residual;
      max_iterations = std::max(max_iterations, status.iterations);
      const std::optional<Eigen::Vector2d> reprojected =
          camera.ImgFromCam(normalised.homogeneous());
      ASSERT_TRUE(reprojected.has_value());
      const double error_px = (*reprojected - pixel).norm();
      max_error_px = std::max(max_error_px, error_px);
      EXPECT_LT(error_px, 1e-9) << pixel.transpose();
      // The bearing must be the same ray.
      const std::optional<Eigen::Vector3d> ray = camera.CamRayFromImg(pixel);
      ASSERT_TRUE(ray.has_value());
      EXPECT_NEAR(ray->norm(), 1.0, 1e-12);
      EXPECT_LT((*ray - normalised.homogeneous().normalized()).norm(), 1e-15);
    }
  }
  // Newton with the exact Jacobian converges quadratically: a wrong Jacobian still converges
  // (slowly) and would only show here.
  EXPECT_LE(max_iterations, 8);
  std::cout << "[ measured ] " << Model::kName << " round trip max error " << max_error_px
            << " px, max iterations " << max_iterations << "\n";
  this->RecordProperty("max_round_trip_error_px", std::to_string(max_error_px));
}

// project then unproject, on points in front of the camera.
TYPED_TEST(CameraModelTest, ProjectUnprojectRay) {
  using Model = TypeParam;
  std::mt19937 rng(23);
  for (int set = 0; set < kNumParamSets; ++set) {
    const Camera camera = RandomCamera<Model>(&rng);
    for (const Eigen::Vector3d& point : RandomPointsInImage<Model>(camera, 500, &rng)) {
      const std::optional<Eigen::Vector2d> pixel = camera.ImgFromCam(point);
      ASSERT_TRUE(pixel.has_value());
      const std::optional<Eigen::Vector3d> ray = camera.CamRayFromImg(*pixel);
      ASSERT_TRUE(ray.has_value());
      EXPECT_LT((*ray - point.normalized()).norm(), 1e-12) << point.transpose();
    }
  }
}

#if defined(RIGPOSE_TEST_WITH_OPENCV)

cv::Mat CameraMatrixCv(const Camera& camera) {
  return (cv::Mat_<double>(3, 3) << camera.fx(),
          0.0,
          camera.cx(),
          0.0,
          camera.fy(),
          camera.cy(),
          0.0,
          0.0,
          1.0);
}

// OpenCV distortion vector: empty for PINHOLE, (k1 k2 p1 p2 k3) or (k1 k2 k3 k4) otherwise; our
// parameter layouts use OpenCV's order.
cv::Mat DistortionCv(const Camera& camera) {
  const std::vector<double> distortion = camera.DistortionParams();
  if (distortion.empty()) return cv::Mat();
  return cv::Mat(distortion, /*copyData=*/true);
}

std::vector<cv::Point2d> ProjectCv(const Camera& camera,
                                   const std::vector<Eigen::Vector3d>& points) {
  std::vector<cv::Point3d> object_points;
  for (const Eigen::Vector3d& p : points) object_points.emplace_back(p.x(), p.y(), p.z());
  const cv::Vec3d rvec(0, 0, 0);
  const cv::Vec3d tvec(0, 0, 0);
  std::vector<cv::Point2d> img_points;
  if (camera.model_id == CameraModelId::kOpenCVFisheye) {
    cv::fisheye::projectPoints(
        object_points, img_points, rvec, tvec, CameraMatrixCv(camera), DistortionCv(camera));
  } else {
    cv::projectPoints(
        object_points, rvec, tvec, CameraMatrixCv(camera), DistortionCv(camera), img_points);
  }
  return img_points;
}

// Normalised coordinates, iterated far past OpenCV's defaults (5 / 10 iterations) so that
// OpenCV converges too.
std::vector<cv::Point2d> UndistortCv(const Camera& camera,
                                     const std::vector<Eigen::Vector2d>& pixels) {
  std::vector<cv::Point2d> distorted;
  for (const Eigen::Vector2d& p : pixels) distorted.emplace_back(p.x(), p.y());
  std::vector<cv::Point2d> normalised;
  // cv::undistortPoints measures epsilon as the reprojection error in pixels; cv::fisheye as the
  // Newton step in theta (radians).
  const cv::TermCriteria criteria(cv::TermCriteria::COUNT + cv::TermCriteria::EPS, 10000, 1e-11);
  if (camera.model_id == CameraModelId::kOpenCVFisheye) {
    cv::fisheye::undistortPoints(distorted,
                                 normalised,
                                 CameraMatrixCv(camera),
                                 DistortionCv(camera),
                                 cv::noArray(),
                                 cv::noArray(),
                                 criteria);
  } else {
    cv::undistortPoints(distorted,
                        normalised,
                        CameraMatrixCv(camera),
                        DistortionCv(camera),
                        cv::noArray(),
                        cv::noArray(),
                        criteria);
  }
  return normalised;
}

TYPED_TEST(CameraModelTest, ProjectionMatchesOpenCV) {
  using Model = TypeParam;
  std::mt19937 rng(29);
  double max_error_px = 0.0;
  for (int set = 0; set < kNumParamSets; ++set) {
    const Camera camera = RandomCamera<Model>(&rng);
    // Half inside the field of view, half anywhere in front that lands in the image (beyond the
    // fold of a strong barrel distortion the formula must still be OpenCV's).
    std::vector<Eigen::Vector3d> points =
        RandomPointsInImage<Model>(camera, kNumPointsPerSet / 2, &rng);
    for (const Eigen::Vector3d& point : RandomPointsInImage<Model>(
             camera, kNumPointsPerSet / 2, &rng, /*field_of_view_only=*/false)) {
      points.push_back(point);
    }
    const std::vector<cv::Point2d> expected = ProjectCv(camera, points);
    ASSERT_EQ(expected.size(), points.size());
    for (size_t i = 0; i < points.size(); ++i) {
      Eigen::Vector2d img_point;
      ASSERT_TRUE(ModelImgFromCam<Model>(camera.params.data(), points[i].data(), img_point.data()));
      const double error_px =
          std::hypot(img_point.x() - expected[i].x, img_point.y() - expected[i].y);
      max_error_px = std::max(max_error_px, error_px);
      EXPECT_LT(error_px, 1e-6) << points[i].transpose();
    }
  }
  std::cout << "[ measured ] " << Model::kName << " projection vs OpenCV max error " << max_error_px
            << " px\n";
  this->RecordProperty("max_projection_vs_opencv_px", std::to_string(max_error_px));
}

TYPED_TEST(CameraModelTest, UnprojectionMatchesOpenCV) {
  using Model = TypeParam;
  std::mt19937 rng(31);
  double max_error_px = 0.0;
  for (int set = 0; set < kNumParamSets; ++set) {
    const Camera camera = RandomCamera<Model>(&rng);
    const std::vector<Eigen::Vector2d> pixels = RandomPixels(camera, kNumPointsPerSet, &rng);
    const std::vector<cv::Point2d> expected = UndistortCv(camera, pixels);
    ASSERT_EQ(expected.size(), pixels.size());
    for (size_t i = 0; i < pixels.size(); ++i) {
      Eigen::Vector2d normalised;
      const UndistortStatus status =
          ModelCamFromImg<Model>(camera.params.data(), pixels[i].data(), normalised.data());
      ASSERT_TRUE(status.converged) << pixels[i].transpose();
      const double error_px =
          camera.fx() * std::hypot(normalised.x() - expected[i].x, normalised.y() - expected[i].y);
      max_error_px = std::max(max_error_px, error_px);
      EXPECT_LT(error_px, 1e-6) << "pixel " << pixels[i].transpose() << " params "
                                << Eigen::Map<const Eigen::VectorXd>(camera.params.data(),
                                                                     camera.params.size())
                                       .transpose();
    }
  }
  std::cout << "[ measured ] " << Model::kName << " unprojection vs OpenCV max error "
            << max_error_px << " px\n";
  this->RecordProperty("max_unprojection_vs_opencv_px", std::to_string(max_error_px));
}

#endif  // RIGPOSE_TEST_WITH_OPENCV

#if defined(RIGPOSE_TEST_WITH_CERES_JET)

// Central differences for the Jet checks, evaluated in long double so that rounding of a ~1000 px
// value does not swamp derivatives of 1e-6 px per unit (k4 near the image centre). The step is
// chosen from the derivative's magnitude so that the output moves by about `output_step`, capped
// by `max_step`: truncation and rounding then both stay orders of magnitude below 1e-6 relative.
template <typename Function>
Eigen::Matrix<long double, 2, 1> CentralDifference(const Function& function,
                                                   const std::vector<long double>& x,
                                                   int i,
                                                   double derivative_scale,
                                                   double output_step,
                                                   double max_step) {
  const long double h =
      derivative_scale > 0.0 ? std::min(output_step / derivative_scale, max_step) : 1e-6;
  std::vector<long double> plus = x;
  std::vector<long double> minus = x;
  plus[i] += h;
  minus[i] -= h;
  return (function(plus) - function(minus)) / (2.0L * h);
}

// Column-wise relative error: each variable's two derivatives (x and y) against the larger of
// them, so that a derivative that vanishes for one coordinate (d y / d fx = 0) is compared at the
// scale of that variable's effect.
double ColumnRelativeError(double analytic_x,
                           double analytic_y,
                           long double numeric_x,
                           long double numeric_y) {
  const double scale = std::max(std::abs(analytic_x), std::abs(analytic_y));
  const double error = static_cast<double>(
      std::max(std::abs(analytic_x - numeric_x), std::abs(analytic_y - numeric_y)));
  return scale == 0.0 ? error : error / scale;
}

// Off-axis points only (x/z, y/z radius >= 0.1, about 6 degrees): at radius r the k4 column of the
// fisheye Jacobian is fx r^9, which vanishes near the axis; the axis itself is pinned exactly
// below (JetOnOpticalAxis).
constexpr double kMinJetRayRadius = 0.1;

// Jet derivatives of ModelImgFromCam w.r.t. the point and every parameter against central
// differences.
TYPED_TEST(CameraModelTest, JetMatchesCentralDifferences) {
  using Model = TypeParam;
  constexpr int kNumParams = Model::kNumParams;
  constexpr int kDim = 3 + kNumParams;
  using Jet = ceres::Jet<double, kDim>;
  std::mt19937 rng(37);
  double max_point_error = 0.0;
  double max_param_error = 0.0;
  int checked = 0;
  for (int set = 0; set < kNumParamSets; ++set) {
    const Camera camera = RandomCamera<Model>(&rng);
    for (const Eigen::Vector3d& point : RandomPointsInImage<Model>(camera, 400, &rng)) {
      if (point.hnormalized().norm() < kMinJetRayRadius) continue;
      ++checked;
      std::array<Jet, 3> point_jet;
      std::array<Jet, kNumParams> params_jet;
      for (int i = 0; i < 3; ++i) point_jet[i] = Jet(point[i], i);
      for (int i = 0; i < kNumParams; ++i) params_jet[i] = Jet(camera.params[i], 3 + i);
      std::array<Jet, 2> img_jet;
      ASSERT_TRUE(ModelImgFromCam<Model>(params_jet.data(), point_jet.data(), img_jet.data()));

      Eigen::Vector2d value;
      ASSERT_TRUE(ModelImgFromCam<Model>(camera.params.data(), point.data(), value.data()));
      EXPECT_NEAR(img_jet[0].a, value.x(), 1e-9);
      EXPECT_NEAR(img_jet[1].a, value.y(), 1e-9);

      // Variables: point (3) then params.
      std::vector<long double> x(point.data(), point.data() + 3);
      x.insert(x.end(), camera.params.begin(), camera.params.end());
      const auto project = [](const std::vector<long double>& v) {
        Eigen::Matrix<long double, 2, 1> img_point;
        EXPECT_TRUE(ModelImgFromCam<Model>(v.data() + 3, v.data(), img_point.data()));
        return img_point;
      };
      for (int i = 0; i < kDim; ++i) {
        const double scale = std::max(std::abs(img_jet[0].v[i]), std::abs(img_jet[1].v[i]));
        // The image point is linear in every parameter (fx, cx, k_i): any step is exact up to
        // rounding. The point needs a step small against its depth.
        const double max_step = i < 3 ? 1e-4 * point.z() : 1e2;
        const Eigen::Matrix<long double, 2, 1> numeric =
            CentralDifference(project, x, i, scale, /*output_step=*/1e-3, max_step);
        const double error =
            ColumnRelativeError(img_jet[0].v[i], img_jet[1].v[i], numeric[0], numeric[1]);
        double& max_error = i < 3 ? max_point_error : max_param_error;
        max_error = std::max(max_error, error);
        EXPECT_LT(error, 1e-6) << "variable " << i << " jet " << img_jet[0].v[i] << ", "
                               << img_jet[1].v[i] << " numeric " << static_cast<double>(numeric[0])
                               << ", " << static_cast<double>(numeric[1]) << " point "
                               << point.transpose();
      }
    }
  }
  EXPECT_GT(checked, kNumParamSets * 100);
  std::cout << "[ measured ] " << Model::kName << " Jet vs central differences: point "
            << max_point_error << ", params " << max_param_error << " (relative)\n";
}

// On the optical axis every model is the pinhole to first order: d img / d point = (fx / z, fy /
// z) on the diagonal, nothing from the distortion, d img / d (cx, cy) = identity.
TYPED_TEST(CameraModelTest, JetOnOpticalAxis) {
  using Model = TypeParam;
  constexpr int kNumParams = Model::kNumParams;
  constexpr int kDim = 3 + kNumParams;
  using Jet = ceres::Jet<double, kDim>;
  std::mt19937 rng(39);
  const Camera camera = RandomCamera<Model>(&rng);
  const double z = 2.5;
  std::array<Jet, 3> point_jet = {Jet(0.0, 0), Jet(0.0, 1), Jet(z, 2)};
  std::array<Jet, kNumParams> params_jet;
  for (int i = 0; i < kNumParams; ++i) params_jet[i] = Jet(camera.params[i], 3 + i);
  std::array<Jet, 2> img_jet;
  ASSERT_TRUE(ModelImgFromCam<Model>(params_jet.data(), point_jet.data(), img_jet.data()));
  Eigen::Matrix<double, 2, kDim> expected = Eigen::Matrix<double, 2, kDim>::Zero();
  expected(0, 0) = camera.fx() / z;
  expected(1, 1) = camera.fy() / z;
  expected(0, 3 + 2) = 1.0;
  expected(1, 3 + 3) = 1.0;
  for (int row = 0; row < 2; ++row) {
    for (int i = 0; i < kDim; ++i) {
      EXPECT_NEAR(img_jet[row].v[i], expected(row, i), 1e-12) << row << " " << i;
    }
  }
}

// Jet derivatives of the iterative undistortion (w.r.t. the pixel and the parameters) against
// central differences: the Newton solution must carry the derivatives of the true inverse.
TYPED_TEST(CameraModelTest, UndistortJetMatchesCentralDifferences) {
  using Model = TypeParam;
  constexpr int kNumParams = Model::kNumParams;
  constexpr int kDim = 2 + kNumParams;
  using Jet = ceres::Jet<double, kDim>;
  std::mt19937 rng(41);
  double max_error = 0.0;
  int checked = 0;
  for (int set = 0; set < kNumParamSets; ++set) {
    const Camera camera = RandomCamera<Model>(&rng);
    for (const Eigen::Vector2d& pixel : RandomPixels(camera, 400, &rng)) {
      const Eigen::Vector2d distorted((pixel.x() - camera.cx()) / camera.fx(),
                                      (pixel.y() - camera.cy()) / camera.fy());
      if (distorted.norm() < kMinJetRayRadius) continue;
      ++checked;
      std::array<Jet, 2> pixel_jet = {Jet(pixel.x(), 0), Jet(pixel.y(), 1)};
      std::array<Jet, kNumParams> params_jet;
      for (int i = 0; i < kNumParams; ++i) params_jet[i] = Jet(camera.params[i], 2 + i);
      std::array<Jet, 2> normalised_jet;
      const UndistortStatus status =
          ModelCamFromImg<Model>(params_jet.data(), pixel_jet.data(), normalised_jet.data());
      ASSERT_TRUE(status.converged);

      std::vector<long double> x = {pixel.x(), pixel.y()};
      x.insert(x.end(), camera.params.begin(), camera.params.end());
      const auto unproject = [](const std::vector<long double>& v) {
        Eigen::Matrix<long double, 2, 1> normalised;
        EXPECT_TRUE(ModelCamFromImg<Model>(v.data() + 2, v.data(), normalised.data()).converged);
        return normalised;
      };
      for (int i = 0; i < kDim; ++i) {
        const double scale =
            std::max(std::abs(normalised_jet[0].v[i]), std::abs(normalised_jet[1].v[i]));
        // Nonlinear in every variable: move the output by ~1e-7 (normalised), at most 1e-2.
        const Eigen::Matrix<long double, 2, 1> numeric =
            CentralDifference(unproject, x, i, scale, /*output_step=*/1e-7, /*max_step=*/1e-2);
        const double error = ColumnRelativeError(
            normalised_jet[0].v[i], normalised_jet[1].v[i], numeric[0], numeric[1]);
        max_error = std::max(max_error, error);
        EXPECT_LT(error, 1e-6) << "variable " << i << " jet " << normalised_jet[0].v[i] << ", "
                               << normalised_jet[1].v[i] << " numeric "
                               << static_cast<double>(numeric[0]) << ", "
                               << static_cast<double>(numeric[1]) << " pixel " << pixel.transpose();
      }
    }
  }
  EXPECT_GT(checked, kNumParamSets * 100);
  std::cout << "[ measured ] " << Model::kName << " undistort Jet vs central differences "
            << max_error << " (relative)\n";
}

#endif  // RIGPOSE_TEST_WITH_CERES_JET

// ---- Non-invertible distortion is reported, not silently wrong -----------------------------

// k1 = -0.5: r_d = r (1 - r^2 / 2) peaks at r = sqrt(2/3), r_d = 0.544. A distorted radius
// beyond that has no preimage.
TEST(OpenCVModelUndistort, BeyondFoldNotConverged) {
  const std::vector<double> params = {1000, 1000, 959.5, 539.5, -0.5, 0.0, 0.0, 0.0, 0.0};
  const double fold_rd = std::sqrt(2.0 / 3.0) * (1.0 - 1.0 / 3.0);
  for (double rd : {0.6, 0.8, 1.0, 1.5}) {
    ASSERT_GT(rd, fold_rd);
    for (double phi : {0.0, 0.7, 2.0, -2.5}) {
      const Eigen::Vector2d pixel(params[2] + params[0] * rd * std::cos(phi),
                                  params[3] + params[1] * rd * std::sin(phi));
      Eigen::Vector2d normalised;
      const UndistortStatus status =
          ModelCamFromImg<OpenCVModel>(params.data(), pixel.data(), normalised.data());
      EXPECT_FALSE(status.converged)
          << "rd " << rd << " phi " << phi << " normalised " << normalised.transpose();
    }
  }
  // Inside the fold the same camera inverts fine.
  const Eigen::Vector2d pixel(params[2] + 400.0, params[3] + 200.0);
  Eigen::Vector2d normalised;
  const UndistortStatus status =
      ModelCamFromImg<OpenCVModel>(params.data(), pixel.data(), normalised.data());
  ASSERT_TRUE(status.converged);
  const double r = normalised.norm();
  EXPECT_LT(r, std::sqrt(2.0 / 3.0));  // the branch before the fold
  Eigen::Vector2d reprojected;
  ASSERT_TRUE(ModelImgFromCam<OpenCVModel>(
      params.data(), normalised.homogeneous().eval().data(), reprojected.data()));
  EXPECT_LT((reprojected - pixel).norm(), 1e-9);
}

// Through Camera: a corner beyond the fold gives no ray, a NaN field of view and an infinite
// distortion estimate rather than a wrong number.
TEST(OpenCVModelUndistort, CameraLevelNonConvergence) {
  Camera camera;
  camera.model_id = CameraModelId::kOpenCV;
  camera.width = 1920;
  camera.height = 1080;
  camera.params = {600, 600, 959.5, 539.5, -0.5, 0.0, 0.0, 0.0, 0.0};
  UndistortStatus status;
  camera.CamFromImg(Eigen::Vector2d(camera.width - 0.5, camera.height - 0.5), &status);
  EXPECT_FALSE(status.converged);
  EXPECT_FALSE(camera.CamRayFromImg(Eigen::Vector2d(camera.width - 0.5, camera.height - 0.5)));
  EXPECT_TRUE(std::isnan(camera.HorizontalFovDeg()));
  EXPECT_TRUE(std::isinf(camera.MaxDistortionPx()));
}

// Exaggerated tangential distortion makes every entry of the Newton Jacobian matter: with the
// exact Jacobian the iteration converges quadratically (a handful of steps); a wrong entry
// degrades it to linear convergence and needs many more.
TEST(OpenCVModelUndistort, QuadraticConvergenceStrongTangential) {
  for (const std::array<double, 5>& distortion :
       {std::array<double, 5>{-0.1, 0.01, 0.03, -0.03, 0},
        std::array<double, 5>{0.05, 0.0, -0.04, 0.02, 0},
        std::array<double, 5>{-0.2, 0.05, 0.0, 0.04, 0}}) {
    std::vector<double> params = {1000, 1000, 639.5, 359.5};
    params.insert(params.end(), distortion.begin(), distortion.end());
    std::mt19937 rng(43);
    std::uniform_real_distribution<double> coordinate(-0.35, 0.35);
    int max_iterations = 0;
    for (int i = 0; i < 2000; ++i) {
      const Eigen::Vector2d pixel(params[2] + params[0] * coordinate(rng),
                                  params[3] + params[1] * coordinate(rng));
      Eigen::Vector2d normalised;
      const UndistortStatus status =
          ModelCamFromImg<OpenCVModel>(params.data(), pixel.data(), normalised.data());
      ASSERT_TRUE(status.converged) << pixel.transpose();
      max_iterations = std::max(max_iterations, status.iterations);
      Eigen::Vector2d reprojected;
      ASSERT_TRUE(ModelImgFromCam<OpenCVModel>(
          params.data(), normalised.homogeneous().eval().data(), reprojected.data()));
      EXPECT_LT((reprojected - pixel).norm(), 1e-9);
    }
    EXPECT_LE(max_iterations, 6) << distortion[0] << " " << distortion[2] << " " << distortion[3];
  }
}

// Same for the fisheye polynomial's derivative, with coefficients large enough that every term
// of d theta_d / d theta matters.
TEST(OpenCVFisheyeModelUndistort, QuadraticConvergence) {
  const std::vector<double> params = {1000, 1000, 959.5, 539.5, 0.1, -0.05, 0.03, -0.02};
  std::mt19937 rng(47);
  std::uniform_real_distribution<double> x(-0.5, 1919.5);
  std::uniform_real_distribution<double> y(-0.5, 1079.5);
  int max_iterations = 0;
  for (int i = 0; i < 2000; ++i) {
    const Eigen::Vector2d pixel(x(rng), y(rng));
    Eigen::Vector2d normalised;
    const UndistortStatus status =
        ModelCamFromImg<OpenCVFisheyeModel>(params.data(), pixel.data(), normalised.data());
    ASSERT_TRUE(status.converged) << pixel.transpose();
    max_iterations = std::max(max_iterations, status.iterations);
    Eigen::Vector2d reprojected;
    ASSERT_TRUE(ModelImgFromCam<OpenCVFisheyeModel>(
        params.data(), normalised.homogeneous().eval().data(), reprojected.data()));
    EXPECT_LT((reprojected - pixel).norm(), 1e-9);
  }
  EXPECT_LE(max_iterations, 6);
}

// k1 = -0.3: theta_d = theta (1 - 0.3 theta^2) peaks at theta = 1.054, theta_d = 0.703.
TEST(OpenCVFisheyeModelUndistort, PolynomialTurnsOverNotConverged) {
  const std::vector<double> params = {800, 800, 639.5, 359.5, -0.3, 0.0, 0.0, 0.0};
  const double theta_peak = 1.0 / std::sqrt(0.9);
  const double fold_rd = theta_peak * (1.0 - 0.3 * theta_peak * theta_peak);
  for (double rd : {0.75, 0.9, 1.2, 2.0}) {
    ASSERT_GT(rd, fold_rd);
    for (double phi : {0.0, 1.0, -2.0}) {
      const Eigen::Vector2d pixel(params[2] + params[0] * rd * std::cos(phi),
                                  params[3] + params[1] * rd * std::sin(phi));
      Eigen::Vector2d normalised;
      const UndistortStatus status =
          ModelCamFromImg<OpenCVFisheyeModel>(params.data(), pixel.data(), normalised.data());
      EXPECT_FALSE(status.converged) << "rd " << rd << " normalised " << normalised.transpose();
    }
  }
  const Eigen::Vector2d pixel(params[2] + 0.5 * params[0], params[3]);
  Eigen::Vector2d normalised;
  EXPECT_TRUE(ModelCamFromImg<OpenCVFisheyeModel>(params.data(), pixel.data(), normalised.data())
                  .converged);
}

// theta_d > pi/2 with no distortion needs theta beyond 90 degrees: no ray in front.
TEST(OpenCVFisheyeModelUndistort, BeyondNinetyDegreesNotConverged) {
  const std::vector<double> params = {500, 500, 639.5, 359.5, 0.0, 0.0, 0.0, 0.0};
  for (double rd : {1.6, 2.0, 3.0}) {
    const Eigen::Vector2d pixel(params[2] + params[0] * rd, params[3]);
    Eigen::Vector2d normalised;
    EXPECT_FALSE(ModelCamFromImg<OpenCVFisheyeModel>(params.data(), pixel.data(), normalised.data())
                     .converged)
        << rd;
  }
}

TEST(CameraModelFromName, Unknown) {
  EXPECT_FALSE(CameraModelFromName("SIMPLE_RADIAL").has_value());
  EXPECT_FALSE(CameraModelFromName("").has_value());
  ASSERT_TRUE(CameraModelFromName("fisheye").has_value());
  EXPECT_EQ(*CameraModelFromName("fisheye"), CameraModelId::kOpenCVFisheye);
}

}  // namespace
}  // namespace rigpose

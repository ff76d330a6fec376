// SPDX-License-Identifier: BSD-3-Clause
#include "calib/intrinsics.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <limits>
#include <memory>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#include <ceres/ceres.h>
#include <ceres/rotation.h>
#include <Eigen/Geometry>
#include <opencv2/calib3d.hpp>
#include <opencv2/imgproc.hpp>

#include "calib/board_cost.h"
#include "core/error.h"

namespace rigpose {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Homography screening of views (see CalibrateIntrinsics): rejected above
// max(kHomographyMinRmsPx, kHomographyRmsFactor × median over views).
constexpr double kHomographyMinRmsPx = 5.0;
constexpr double kHomographyRmsFactor = 10.0;

using Clock = std::chrono::steady_clock;

// OpenCV only initialises (Ceres refines): 20 iterations to 1e-8 give the same RMS and focal
// length (within 0.01 px) as 100 to 1e-12, 4-5x sooner (bench/calibrate_bench.cc, 40 views).
const cv::TermCriteria kOpenCVCriteria(cv::TermCriteria::COUNT + cv::TermCriteria::EPS, 20, 1e-8);
using calib_internal::CreateBoardReprojectionCost;
using calib_internal::Pose6;
using calib_internal::PoseFromRigid;
using calib_internal::RigidFromPose;
double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

bool IsDistortionName(const std::string& name) {
  return name != "fx" && name != "fy" && name != "cx" && name != "cy";
}

int ParamIndex(CameraModelId model, const std::string& name) {
  const std::vector<std::string> names = CameraModelParamNames(model);
  const auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}

bool IsFixed(const IntrinsicsOptions& options, const std::string& name) {
  return std::find(options.fixed_params.begin(), options.fixed_params.end(), name) !=
         options.fixed_params.end();
}

// RMS (px) of one view; +inf when a corner does not project.
double ViewRms(CameraModelId model,
               const std::vector<double>& params,
               const Rigid3d& cam_from_board,
               const std::vector<Eigen::Vector3d>& corners_in_board,
               const BoardObservation& observation) {
  return calib_internal::RmsPx(calib_internal::BoardCornerErrorsPx(
      model, params, cam_from_board, corners_in_board, observation));
}

void CheckObservation(const BoardObservation& observation, int num_board_corners, int index) {
  RIGPOSE_CHECK(observation.corner_ids.size() == observation.img_points.size(),
                "observation " << index << " (" << observation.source
                               << "): " << observation.corner_ids.size() << " corner ids but "
                               << observation.img_points.size() << " image points");
  for (const int id : observation.corner_ids) {
    RIGPOSE_CHECK(id >= 0 && id < num_board_corners,
                  "observation " << index << " (" << observation.source << "): corner id " << id
                                 << " outside [0, " << num_board_corners << ")");
  }
}

bool AllFinite(const BoardObservation& observation) {
  return std::all_of(observation.img_points.begin(),
                     observation.img_points.end(),
                     [](const Eigen::Vector2d& p) { return p.allFinite(); });
}

double Median(std::vector<double> values) {
  if (values.empty()) return kNaN;
  const size_t mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + mid, values.end());
  double median = values[mid];
  if (values.size() % 2 == 0) {
    median = 0.5 * (median + *std::max_element(values.begin(), values.begin() + mid));
  }
  return median;
}

std::string FormatDouble(double value, int precision) {
  std::ostringstream s;
  s.precision(precision);
  s << value;
  return s.str();
}

// Views of `indices` that are outliers given their RMS (same order as indices).
std::vector<bool> OutlierViews(const std::vector<double>& rms,
                               const IntrinsicsOptions& options,
                               double* threshold) {
  std::vector<double> finite;
  for (const double r : rms) {
    if (std::isfinite(r)) finite.push_back(r);
  }
  const double median = Median(finite);
  *threshold = std::max(options.outlier_view_rms_px,
                        std::isfinite(median) ? options.outlier_view_rms_factor * median : 0.0);
  std::vector<bool> outlier(rms.size());
  for (size_t i = 0; i < rms.size(); ++i) outlier[i] = !(rms[i] <= *threshold);
  return outlier;
}

// ---- View selection -------------------------------------------------------------------------

struct ViewFootprint {
  std::vector<int> cells;  // coverage grid cells
  int tilt_bin = 0;
};

// Tilt bin of the board normal: 0 = within 10° of frontal, then 3 rings (10–25°, 25–40°, > 40°)
// of 8 azimuth sectors. The normal comes from H = K0 [r1 r2 t] with a nominal pinhole K0
// (f = longer image side, centred): biased when the focal length differs, fine for diversity.
int TiltBin(const std::vector<cv::Point2f>& board_xy,
            const std::vector<cv::Point2f>& img,
            int width,
            int height) {
  cv::Mat homography;
  try {
    homography = cv::findHomography(board_xy, img, 0);
  } catch (const cv::Exception&) {
    return 0;
  }
  if (homography.empty()) return 0;
  Eigen::Matrix3d h;
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) h(r, c) = homography.at<double>(r, c);
  }
  const double f0 = std::max(width, height);
  Eigen::Matrix3d k0;
  k0 << f0, 0.0, 0.5 * (width - 1), 0.0, f0, 0.5 * (height - 1), 0.0, 0.0, 1.0;
  const Eigen::Matrix3d m = k0.inverse() * h;
  Eigen::Vector3d normal = m.col(0).cross(m.col(1));
  if (!(normal.norm() > 0.0) || !normal.allFinite()) return 0;
  normal.normalize();
  if (normal.z() < 0.0) normal = -normal;
  const double tilt_deg = std::acos(std::min(1.0, normal.z())) * 180.0 / M_PI;
  if (tilt_deg < 10.0) return 0;
  const int ring = tilt_deg < 25.0 ? 0 : (tilt_deg < 40.0 ? 1 : 2);
  const double azimuth = std::atan2(normal.y(), normal.x()) + M_PI;  // [0, 2π]
  const int sector = std::min(7, static_cast<int>(azimuth / (2.0 * M_PI) * 8.0));
  return 1 + ring * 8 + sector;
}

constexpr int kNumTiltBins = 25;

ViewFootprint Footprint(const std::vector<Eigen::Vector3d>& corners_in_board,
                        const BoardObservation& observation,
                        int width,
                        int height,
                        int grid_cells) {
  const double cell = static_cast<double>(std::max(width, height)) / grid_cells;
  const int nx = std::max(1, static_cast<int>(std::ceil(width / cell)));
  const int ny = std::max(1, static_cast<int>(std::ceil(height / cell)));
  std::vector<cv::Point2f> img;
  std::vector<cv::Point2f> board_xy;
  std::set<int> cells;
  for (size_t k = 0; k < observation.corner_ids.size(); ++k) {
    const Eigen::Vector2d& p = observation.img_points[k];
    img.emplace_back(static_cast<float>(p.x()), static_cast<float>(p.y()));
    const Eigen::Vector3d& q = corners_in_board[observation.corner_ids[k]];
    board_xy.emplace_back(static_cast<float>(q.x()), static_cast<float>(q.y()));
    const int cx = std::clamp(static_cast<int>((p.x() + 0.5) / cell), 0, nx - 1);
    const int cy = std::clamp(static_cast<int>((p.y() + 0.5) / cell), 0, ny - 1);
    cells.insert(cy * nx + cx);
  }
  std::vector<cv::Point2f> hull;
  cv::convexHull(img, hull);
  if (hull.size() >= 3) {
    for (int iy = 0; iy < ny; ++iy) {
      for (int ix = 0; ix < nx; ++ix) {
        const cv::Point2f centre(static_cast<float>((ix + 0.5) * cell - 0.5),
                                 static_cast<float>((iy + 0.5) * cell - 0.5));
        if (cv::pointPolygonTest(hull, centre, false) >= 0) cells.insert(iy * nx + ix);
      }
    }
  }
  ViewFootprint footprint;
  footprint.cells.assign(cells.begin(), cells.end());
  footprint.tilt_bin = TiltBin(board_xy, img, width, height);
  return footprint;
}

// RMS (px) of the best plane-to-image homography of a view: noise-level for a pinhole camera, a
// few px with lens distortion, tens to hundreds of px for corners matched to the wrong ids.
double HomographyRms(const std::vector<Eigen::Vector3d>& corners_in_board,
                     const BoardObservation& observation) {
  std::vector<cv::Point2d> board_xy;
  std::vector<cv::Point2d> img;
  for (size_t k = 0; k < observation.corner_ids.size(); ++k) {
    const Eigen::Vector3d& q = corners_in_board[observation.corner_ids[k]];
    board_xy.emplace_back(q.x(), q.y());
    img.emplace_back(observation.img_points[k].x(), observation.img_points[k].y());
  }
  cv::Mat homography;
  try {
    homography = cv::findHomography(board_xy, img, 0);
  } catch (const cv::Exception&) {
    return std::numeric_limits<double>::infinity();
  }
  if (homography.empty()) return std::numeric_limits<double>::infinity();
  std::vector<cv::Point2d> projected;
  cv::perspectiveTransform(board_xy, projected, homography);
  double sum = 0.0;
  for (size_t k = 0; k < img.size(); ++k) {
    const cv::Point2d d = projected[k] - img[k];
    sum += d.dot(d);
  }
  const double rms = std::sqrt(sum / static_cast<double>(img.size()));
  return std::isfinite(rms) ? rms : std::numeric_limits<double>::infinity();
}

std::vector<int> UsableViews(const CameraDetections& detections, const IntrinsicsOptions& options) {
  std::vector<int> usable;
  for (size_t i = 0; i < detections.observations.size(); ++i) {
    const BoardObservation& observation = detections.observations[i];
    if (static_cast<int>(observation.corner_ids.size()) >= options.min_corners_per_view &&
        AllFinite(observation)) {
      usable.push_back(static_cast<int>(i));
    }
  }
  return usable;
}

void CheckInputs(const BoardSpec& board,
                 const CameraDetections& detections,
                 const IntrinsicsOptions& options,
                 int num_board_corners) {
  const std::vector<std::string> problems = options.Check();
  RIGPOSE_CHECK(problems.empty(), FormatProblems("IntrinsicsOptions", problems));
  RIGPOSE_CHECK(detections.width > 0 && detections.height > 0,
                "camera '" << detections.camera << "': image size " << detections.width << "x"
                           << detections.height << " must be positive");
  for (size_t i = 0; i < detections.observations.size(); ++i) {
    CheckObservation(detections.observations[i], num_board_corners, static_cast<int>(i));
  }
}

std::vector<int> SelectViews(const std::vector<Eigen::Vector3d>& corners_in_board,
                             const CameraDetections& detections,
                             const std::vector<int>& usable,
                             const IntrinsicsOptions& options) {
  if (static_cast<int>(usable.size()) <= options.max_views) return usable;
  std::vector<ViewFootprint> footprints;
  footprints.reserve(usable.size());
  double mean_cells = 0.0;
  for (const int index : usable) {
    footprints.push_back(Footprint(corners_in_board,
                                   detections.observations[index],
                                   detections.width,
                                   detections.height,
                                   options.coverage_grid_cells));
    mean_cells += static_cast<double>(footprints.back().cells.size());
  }
  mean_cells = std::max(1.0, mean_cells / static_cast<double>(usable.size()));
  const int num_cells = options.coverage_grid_cells * options.coverage_grid_cells;
  std::vector<int> cell_count(num_cells, 0);
  std::vector<int> tilt_count(kNumTiltBins, 0);
  std::vector<bool> taken(usable.size(), false);
  std::vector<int> selected;
  for (int round = 0; round < options.max_views; ++round) {
    int best = -1;
    double best_gain = -1.0;
    for (size_t v = 0; v < usable.size(); ++v) {
      if (taken[v]) continue;
      double coverage = 0.0;
      for (const int c : footprints[v].cells) coverage += 1.0 / (1.0 + cell_count[c]);
      const double gain = coverage / mean_cells + 1.0 / (1.0 + tilt_count[footprints[v].tilt_bin]);
      if (gain > best_gain) {  // strict: ties go to the lower index
        best_gain = gain;
        best = static_cast<int>(v);
      }
    }
    if (best < 0) break;
    taken[best] = true;
    for (const int c : footprints[best].cells) ++cell_count[c];
    ++tilt_count[footprints[best].tilt_bin];
    selected.push_back(usable[best]);
  }
  std::sort(selected.begin(), selected.end());
  return selected;
}

// ---- OpenCV initialisation ------------------------------------------------------------------

struct Initialisation {
  std::vector<double> params;
  std::vector<Rigid3d> cam_from_board;  // per view
  double rms_px = 0.0;
};

Initialisation InitialiseWithOpenCV(const std::vector<Eigen::Vector3d>& corners_in_board,
                                    const CameraDetections& detections,
                                    const std::vector<int>& views,
                                    const IntrinsicsOptions& options) {
  const cv::Size size(detections.width, detections.height);
  const CameraModelId model = options.model;
  std::vector<std::vector<cv::Point3f>> object_points;
  std::vector<std::vector<cv::Point2f>> image_points;
  for (const int index : views) {
    const BoardObservation& observation = detections.observations[index];
    std::vector<cv::Point3f> object;
    std::vector<cv::Point2f> image;
    for (size_t k = 0; k < observation.corner_ids.size(); ++k) {
      const Eigen::Vector3d& q = corners_in_board[observation.corner_ids[k]];
      object.emplace_back(static_cast<float>(q.x()), static_cast<float>(q.y()), 0.f);
      image.emplace_back(static_cast<float>(observation.img_points[k].x()),
                         static_cast<float>(observation.img_points[k].y()));
    }
    object_points.push_back(std::move(object));
    image_points.push_back(std::move(image));
  }
  const bool fix_centre = IsFixed(options, "cx");
  cv::Mat camera_matrix = cv::Mat::eye(3, 3, CV_64F);
  cv::Mat distortion;
  std::vector<cv::Mat> rvecs;
  std::vector<cv::Mat> tvecs;
  Initialisation init;
  auto pinhole_calibrate = [&](int flags) {
    distortion = cv::Mat::zeros(5, 1, CV_64F);
    init.rms_px = cv::calibrateCamera(object_points,
                                      image_points,
                                      size,
                                      camera_matrix,
                                      distortion,
                                      rvecs,
                                      tvecs,
                                      flags,
                                      kOpenCVCriteria);
  };
  const int pinhole_flags = cv::CALIB_ZERO_TANGENT_DIST | cv::CALIB_FIX_K1 | cv::CALIB_FIX_K2 |
                            cv::CALIB_FIX_K3 | (fix_centre ? cv::CALIB_FIX_PRINCIPAL_POINT : 0);
  if (model == CameraModelId::kPinhole) {
    pinhole_calibrate(pinhole_flags);
  } else if (model == CameraModelId::kOpenCV) {
    int flags = fix_centre ? cv::CALIB_FIX_PRINCIPAL_POINT : 0;
    if (IsFixed(options, "k1")) flags |= cv::CALIB_FIX_K1;
    if (IsFixed(options, "k2")) flags |= cv::CALIB_FIX_K2;
    if (IsFixed(options, "k3")) flags |= cv::CALIB_FIX_K3;
    if (IsFixed(options, "p1") || IsFixed(options, "p2")) flags |= cv::CALIB_ZERO_TANGENT_DIST;
    pinhole_calibrate(flags);
  } else {
    int flags = cv::fisheye::CALIB_RECOMPUTE_EXTRINSIC | cv::fisheye::CALIB_FIX_SKEW;
    if (fix_centre) flags |= cv::fisheye::CALIB_FIX_PRINCIPAL_POINT;
    if (IsFixed(options, "k1")) flags |= cv::fisheye::CALIB_FIX_K1;
    if (IsFixed(options, "k2")) flags |= cv::fisheye::CALIB_FIX_K2;
    if (IsFixed(options, "k3")) flags |= cv::fisheye::CALIB_FIX_K3;
    if (IsFixed(options, "k4")) flags |= cv::fisheye::CALIB_FIX_K4;
    bool ok = false;
    try {
      std::vector<std::vector<cv::Point3d>> object_points_d;
      std::vector<std::vector<cv::Point2d>> image_points_d;
      for (size_t v = 0; v < object_points.size(); ++v) {
        object_points_d.emplace_back(object_points[v].begin(), object_points[v].end());
        image_points_d.emplace_back(image_points[v].begin(), image_points[v].end());
      }
      distortion = cv::Mat::zeros(4, 1, CV_64F);
      init.rms_px = cv::fisheye::calibrate(object_points_d,
                                           image_points_d,
                                           size,
                                           camera_matrix,
                                           distortion,
                                           rvecs,
                                           tvecs,
                                           flags,
                                           kOpenCVCriteria);
      ok = cv::checkRange(camera_matrix) && cv::checkRange(distortion) &&
           camera_matrix.at<double>(0, 0) > 0.0 && camera_matrix.at<double>(1, 1) > 0.0;
    } catch (const cv::Exception&) {
      ok = false;
    }
    if (!ok) {
      // cv::fisheye::calibrate is fragile on ill-conditioned views: start from a pinhole fit
      // (zero fisheye coefficients) and let Ceres do the rest.
      camera_matrix = cv::Mat::eye(3, 3, CV_64F);
      pinhole_calibrate(pinhole_flags);
      distortion = cv::Mat::zeros(4, 1, CV_64F);
    }
  }
  init.params = {camera_matrix.at<double>(0, 0),
                 camera_matrix.at<double>(1, 1),
                 camera_matrix.at<double>(0, 2),
                 camera_matrix.at<double>(1, 2)};
  const int num_params = CameraModelNumParams(model);
  for (int i = 4; i < num_params; ++i) {
    init.params.push_back(distortion.at<double>(i - 4));
  }
  for (size_t v = 0; v < views.size(); ++v) {
    cv::Mat rvec;
    cv::Mat tvec;
    rvecs[v].convertTo(rvec, CV_64F);
    tvecs[v].convertTo(tvec, CV_64F);
    init.cam_from_board.push_back(Rigid3d::FromRodrigues(
        Eigen::Vector3d(rvec.at<double>(0), rvec.at<double>(1), rvec.at<double>(2)),
        Eigen::Vector3d(tvec.at<double>(0), tvec.at<double>(1), tvec.at<double>(2))));
  }
  return init;
}

// ---- Ceres refinement -----------------------------------------------------------------------

struct Refinement {
  ceres::Solver::Summary summary;
  std::vector<double> rms_px;  // per view
  std::vector<double> param_stddev;
  double sum_squared_px = 0.0;
  int num_corners = 0;
};

int NumThreads(int requested) {
  if (requested > 0) return requested;
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

std::vector<int> FixedIndices(const IntrinsicsOptions& options) {
  std::vector<int> fixed;
  for (const std::string& name : options.fixed_params) {
    const int index = ParamIndex(options.model, name);
    if (index >= 0) fixed.push_back(index);
  }
  std::sort(fixed.begin(), fixed.end());
  fixed.erase(std::unique(fixed.begin(), fixed.end()), fixed.end());
  return fixed;
}

Refinement RefineIntrinsics(const std::vector<Eigen::Vector3d>& corners_in_board,
                            const CameraDetections& detections,
                            const std::vector<int>& views,
                            const IntrinsicsOptions& options,
                            bool compute_covariance,
                            std::vector<double>* params,
                            std::vector<Pose6>* poses) {
  ceres::Problem problem;
  ceres::LossFunction* loss =
      options.loss_scale_px > 0.0 ? new ceres::HuberLoss(options.loss_scale_px) : nullptr;
  Refinement refinement;
  for (size_t v = 0; v < views.size(); ++v) {
    const BoardObservation& observation = detections.observations[views[v]];
    for (size_t k = 0; k < observation.corner_ids.size(); ++k) {
      problem.AddResidualBlock(
          CreateBoardReprojectionCost(options.model,
                                      corners_in_board[observation.corner_ids[k]],
                                      observation.img_points[k]),
          loss,
          params->data(),
          (*poses)[v].data());
      ++refinement.num_corners;
    }
  }
  const std::vector<int> fixed = FixedIndices(options);
  if (!fixed.empty()) {
    problem.SetManifold(params->data(),
                        new ceres::SubsetManifold(static_cast<int>(params->size()), fixed));
  }
  ceres::Solver::Options solver_options;
  solver_options.linear_solver_type = ceres::DENSE_SCHUR;
  solver_options.max_num_iterations = options.max_iterations;
  solver_options.function_tolerance = 1e-12;
  solver_options.gradient_tolerance = 1e-14;
  solver_options.parameter_tolerance = 1e-12;
  solver_options.num_threads = NumThreads(options.num_threads);
  solver_options.logging_type = ceres::SILENT;
  ceres::Solve(solver_options, &problem, &refinement.summary);

  for (size_t v = 0; v < views.size(); ++v) {
    const BoardObservation& observation = detections.observations[views[v]];
    const double rms =
        ViewRms(options.model, *params, RigidFromPose((*poses)[v]), corners_in_board, observation);
    refinement.rms_px.push_back(rms);
    refinement.sum_squared_px += rms * rms * static_cast<double>(observation.corner_ids.size());
  }

  if (compute_covariance) {
    const int num_params = static_cast<int>(params->size());
    refinement.param_stddev.assign(num_params, kNaN);
    ceres::Covariance::Options covariance_options;
    covariance_options.algorithm_type = ceres::DENSE_SVD;
    covariance_options.num_threads = solver_options.num_threads;
    ceres::Covariance covariance(covariance_options);
    const std::vector<std::pair<const double*, const double*>> blocks = {
        {params->data(), params->data()}};
    const int num_free =
        num_params - static_cast<int>(fixed.size()) + 6 * static_cast<int>(views.size());
    const int dof = 2 * refinement.num_corners - num_free;
    if (dof > 0 && covariance.Compute(blocks, &problem)) {
      std::vector<double> matrix(static_cast<size_t>(num_params) * num_params);
      if (covariance.GetCovarianceBlock(params->data(), params->data(), matrix.data())) {
        const double sigma2 = refinement.sum_squared_px / dof;
        for (int i = 0; i < num_params; ++i) {
          const double variance = matrix[static_cast<size_t>(i) * num_params + i] * sigma2;
          refinement.param_stddev[i] = variance >= 0.0 ? std::sqrt(variance) : kNaN;
        }
        for (const int i : fixed) refinement.param_stddev[i] = 0.0;
      }
    }
  }
  return refinement;
}

std::string ViewsText(const CameraDetections& detections,
                      int num_usable,
                      const IntrinsicsOptions& options) {
  size_t corners = 0;
  for (const BoardObservation& observation : detections.observations) {
    corners += observation.corner_ids.size();
  }
  std::ostringstream s;
  s << detections.observations.size() << " board views (" << corners << " corners in all), "
    << num_usable << " with >= " << options.min_corners_per_view << " corners";
  return s.str();
}

}  // namespace

std::vector<std::string> IntrinsicsOptions::Check() const {
  std::vector<std::string> problems;
  auto add = [&problems](const auto&... parts) {
    std::ostringstream s;
    (s << ... << parts);
    problems.push_back(s.str());
  };
  const std::string model_name = CameraModelName(model);
  if (model != CameraModelId::kPinhole && model != CameraModelId::kOpenCV &&
      model != CameraModelId::kOpenCVFisheye) {
    add("model = ", static_cast<int>(model), " is not a camera model");
  } else {
    for (const std::string& name : fixed_params) {
      if (ParamIndex(model, name) < 0) {
        add("fixed_params: '", name, "' is not a parameter of ", model_name);
      } else if (name == "fx" || name == "fy") {
        add("fixed_params: '", name, "' cannot be fixed (no initial value to hold)");
      }
    }
    if (IsFixed(*this, "cx") != IsFixed(*this, "cy")) {
      add("fixed_params: 'cx' and 'cy' must be fixed together");
    }
  }
  if (min_corners_per_view < 4) {
    add("min_corners_per_view = ", min_corners_per_view, " must be >= 4");
  }
  if (min_views < 2) add("min_views = ", min_views, " must be >= 2");
  if (max_views < min_views) {
    add("max_views = ", max_views, " must be >= min_views = ", min_views);
  }
  if (coverage_grid_cells < 1 || coverage_grid_cells > 64) {
    add("coverage_grid_cells = ", coverage_grid_cells, " must be in [1, 64]");
  }
  if (!(std::isfinite(outlier_view_rms_px) && outlier_view_rms_px > 0.0)) {
    add("outlier_view_rms_px = ", outlier_view_rms_px, " must be finite and > 0");
  }
  if (!(std::isfinite(outlier_view_rms_factor) && outlier_view_rms_factor >= 1.0)) {
    add("outlier_view_rms_factor = ", outlier_view_rms_factor, " must be finite and >= 1");
  }
  if (!(std::isfinite(loss_scale_px) && loss_scale_px >= 0.0)) {
    add("loss_scale_px = ", loss_scale_px, " must be finite and >= 0 (0 = least squares)");
  }
  if (max_iterations < 1) add("max_iterations = ", max_iterations, " must be >= 1");
  if (num_threads < 0) add("num_threads = ", num_threads, " must be >= 0 (0 = all cores)");
  return problems;
}

std::vector<int> SelectIntrinsicsViews(const BoardSpec& board,
                                       const CameraDetections& detections,
                                       const IntrinsicsOptions& options) {
  const std::vector<Eigen::Vector3d> corners_in_board = BoardCornersInBoard(board);
  CheckInputs(board, detections, options, static_cast<int>(corners_in_board.size()));
  return SelectViews(corners_in_board, detections, UsableViews(detections, options), options);
}

IntrinsicsResult CalibrateIntrinsics(const BoardSpec& board,
                                     const CameraDetections& detections,
                                     const IntrinsicsOptions& options) {
  const std::vector<Eigen::Vector3d> corners_in_board = BoardCornersInBoard(board);
  CheckInputs(board, detections, options, static_cast<int>(corners_in_board.size()));
  const std::string& name = detections.camera;

  IntrinsicsResult result;
  result.num_observations = static_cast<int>(detections.observations.size());
  for (size_t i = 0; i < detections.observations.size(); ++i) {
    const BoardObservation& observation = detections.observations[i];
    const int num = static_cast<int>(observation.corner_ids.size());
    if (num < options.min_corners_per_view) {
      result.rejected_views.push_back({static_cast<int>(i),
                                       observation.frame,
                                       std::to_string(num) + " corners < min_corners_per_view " +
                                           std::to_string(options.min_corners_per_view),
                                       kNaN});
    } else if (!AllFinite(observation)) {
      result.rejected_views.push_back(
          {static_cast<int>(i), observation.frame, "non-finite corner position", kNaN});
    }
  }
  const std::vector<int> usable = UsableViews(detections, options);
  result.num_usable_views = static_cast<int>(usable.size());
  if (result.num_usable_views < options.min_views) {
    throw InputError(
        "camera '" + name + "': " + ViewsText(detections, result.num_usable_views, options) +
        "; intrinsic calibration needs at least " + std::to_string(options.min_views) + " views");
  }

  auto start = Clock::now();
  // Screen out views whose corners no plane explains (wrong ids, garbled corners) before they
  // reach OpenCV's non-robust initialisation, where one of them can drag every view's RMS up.
  // Loose threshold: lens distortion alone makes legitimate views miss a homography by pixels.
  std::vector<int> screened;
  {
    std::vector<double> homography_rms;
    for (const int index : usable) {
      homography_rms.push_back(HomographyRms(corners_in_board, detections.observations[index]));
    }
    const double median = Median(homography_rms);
    const double threshold = std::max(kHomographyMinRmsPx, kHomographyRmsFactor * median);
    for (size_t v = 0; v < usable.size(); ++v) {
      if (homography_rms[v] <= threshold) {
        screened.push_back(usable[v]);
        continue;
      }
      result.rejected_views.push_back({usable[v],
                                       detections.observations[usable[v]].frame,
                                       "homography rms " + FormatDouble(homography_rms[v], 3) +
                                           " px > " + FormatDouble(threshold, 3) +
                                           " px: corners inconsistent with a plane",
                                       homography_rms[v]});
    }
  }
  if (static_cast<int>(screened.size()) < options.min_views) {
    throw InputError("camera '" + name + "': only " + std::to_string(screened.size()) +
                     " views left after rejecting views whose corners no plane explains (" +
                     ViewsText(detections, result.num_usable_views, options) +
                     "); intrinsic calibration needs at least " +
                     std::to_string(options.min_views) + " views");
  }
  std::vector<int> views = SelectViews(corners_in_board, detections, screened, options);
  result.selected_views = views;
  result.summary.seconds_selection = SecondsSince(start);

  auto reject = [&](const std::vector<double>& rms, const char* stage) {
    double threshold = 0.0;
    const std::vector<bool> outlier = OutlierViews(rms, options, &threshold);
    std::vector<int> kept;
    for (size_t v = 0; v < views.size(); ++v) {
      if (!outlier[v]) {
        kept.push_back(views[v]);
        continue;
      }
      result.rejected_views.push_back({views[v],
                                       detections.observations[views[v]].frame,
                                       "rms " + FormatDouble(rms[v], 3) + " px > " +
                                           FormatDouble(threshold, 3) + " px " + stage,
                                       rms[v]});
    }
    const bool changed = kept.size() != views.size();
    views = std::move(kept);
    if (static_cast<int>(views.size()) < options.min_views) {
      throw InputError("camera '" + name + "': only " + std::to_string(views.size()) +
                       " views left after rejecting views with reprojection RMS > " +
                       FormatDouble(threshold, 3) + " px (" +
                       ViewsText(detections, result.num_usable_views, options) +
                       "); intrinsic calibration needs at least " +
                       std::to_string(options.min_views) + " views");
    }
    return changed;
  };

  // OpenCV initialisation, rerun without the views it fits badly (non-robust least squares: one
  // garbled view drags every other view's RMS up, hence the relative threshold).
  start = Clock::now();
  Initialisation init;
  constexpr int kMaxRounds = 5;
  for (int round = 0; round < kMaxRounds; ++round) {
    try {
      init = InitialiseWithOpenCV(corners_in_board, detections, views, options);
    } catch (const cv::Exception& e) {
      throw InputError("camera '" + name + "': OpenCV initialisation of the intrinsics failed on " +
                       std::to_string(views.size()) + " views: " + e.what());
    }
    ++result.summary.num_opencv_runs;
    if (round + 1 == kMaxRounds) break;
    std::vector<double> rms;
    for (size_t v = 0; v < views.size(); ++v) {
      rms.push_back(ViewRms(options.model,
                            init.params,
                            init.cam_from_board[v],
                            corners_in_board,
                            detections.observations[views[v]]));
    }
    if (!reject(rms, "after the OpenCV initialisation")) break;
  }
  result.summary.opencv_rms_px = init.rms_px;
  result.summary.seconds_opencv = SecondsSince(start);
  std::vector<double> params = init.params;
  for (const int index : FixedIndices(options)) {
    if (IsDistortionName(CameraModelParamNames(options.model)[index])) params[index] = 0.0;
  }
  if (IsFixed(options, "cx")) {
    params[2] = 0.5 * (detections.width - 1);
    params[3] = 0.5 * (detections.height - 1);
  }
  for (const double p : params) {
    if (!std::isfinite(p)) {
      throw InputError("camera '" + name +
                       "': OpenCV initialisation of the intrinsics is not finite");
    }
  }
  std::vector<Pose6> poses;
  for (const Rigid3d& rigid : init.cam_from_board) poses.push_back(PoseFromRigid(rigid));

  // Ceres refinement, rerun without outlier views.
  start = Clock::now();
  Refinement refinement;
  for (int round = 0; round < kMaxRounds; ++round) {
    refinement =
        RefineIntrinsics(corners_in_board, detections, views, options, false, &params, &poses);
    ++result.summary.num_solves;
    result.summary.num_iterations += static_cast<int>(refinement.summary.iterations.size());
    const std::vector<int> before = views;
    if (!reject(refinement.rms_px, "after the Ceres refinement")) break;
    std::vector<Pose6> kept;
    for (size_t v = 0; v < before.size(); ++v) {
      if (std::find(views.begin(), views.end(), before[v]) != views.end()) kept.push_back(poses[v]);
    }
    poses = std::move(kept);
  }
  if (options.compute_covariance) {
    // One more solve from the converged point (cheap) with the covariance of the final problem.
    refinement =
        RefineIntrinsics(corners_in_board, detections, views, options, true, &params, &poses);
    result.summary.num_iterations += static_cast<int>(refinement.summary.iterations.size());
    result.param_stddev = refinement.param_stddev;
  }
  result.summary.seconds_ceres = SecondsSince(start);
  result.summary.initial_cost = refinement.summary.initial_cost;
  result.summary.final_cost = refinement.summary.final_cost;
  result.summary.termination = ceres::TerminationTypeToString(refinement.summary.termination_type);
  result.summary.converged = refinement.summary.termination_type == ceres::CONVERGENCE;

  result.camera.name = name;
  result.camera.model_id = options.model;
  result.camera.width = detections.width;
  result.camera.height = detections.height;
  result.camera.params = params;
  const std::vector<std::string> camera_problems = result.camera.Problems();
  if (!camera_problems.empty() || refinement.summary.termination_type == ceres::FAILURE) {
    throw InputError(FormatProblems(
        "camera '" + name + "': intrinsic calibration failed (" + refinement.summary.message + ")",
        camera_problems));
  }
  for (size_t v = 0; v < views.size(); ++v) {
    const BoardObservation& observation = detections.observations[views[v]];
    IntrinsicsView view;
    view.observation_index = views[v];
    view.frame = observation.frame;
    view.num_corners = static_cast<int>(observation.corner_ids.size());
    view.cam_from_board = RigidFromPose(poses[v]);
    view.rms_px = refinement.rms_px[v];
    if (!std::isfinite(view.rms_px) || !view.cam_from_board.translation.allFinite()) {
      throw InputError("camera '" + name + "': non-finite board pose or residual for view " +
                       std::to_string(views[v]) + " (" + observation.source + ")");
    }
    result.views.push_back(view);
  }
  std::sort(result.rejected_views.begin(),
            result.rejected_views.end(),
            [](const RejectedView& a, const RejectedView& b) {
              return a.observation_index < b.observation_index;
            });
  result.num_corners = refinement.num_corners;
  result.rms_px = std::sqrt(refinement.sum_squared_px / std::max(1, refinement.num_corners));
  return result;
}

std::optional<Rigid3d> EstimateBoardPose(const Camera& intrinsics,
                                         const BoardSpec& board,
                                         const BoardObservation& observation) {
  const std::vector<std::string> problems = intrinsics.Problems();
  RIGPOSE_CHECK(problems.empty(), FormatProblems("camera '" + intrinsics.name + "'", problems));
  const std::vector<Eigen::Vector3d> corners_in_board = BoardCornersInBoard(board);
  CheckObservation(observation, static_cast<int>(corners_in_board.size()), 0);

  std::vector<cv::Point3d> object;
  std::vector<cv::Point2d> normalised;
  for (size_t k = 0; k < observation.corner_ids.size(); ++k) {
    if (!observation.img_points[k].allFinite()) continue;
    UndistortStatus status;
    const Eigen::Vector2d cam_point = intrinsics.CamFromImg(observation.img_points[k], &status);
    if (!status.converged || !cam_point.allFinite()) continue;
    const Eigen::Vector3d& q = corners_in_board[observation.corner_ids[k]];
    object.emplace_back(q.x(), q.y(), q.z());
    normalised.emplace_back(cam_point.x(), cam_point.y());
  }
  if (object.size() < 4) return std::nullopt;
  cv::Mat rvec;
  cv::Mat tvec;
  bool ok = false;
  try {
    ok = cv::solvePnP(object,
                      normalised,
                      cv::Mat::eye(3, 3, CV_64F),
                      cv::Mat(),
                      rvec,
                      tvec,
                      false,
                      cv::SOLVEPNP_IPPE);
  } catch (const cv::Exception&) {
    ok = false;
  }
  if (!ok || rvec.empty() || tvec.empty()) return std::nullopt;
  Pose6 pose = {rvec.at<double>(0),
                rvec.at<double>(1),
                rvec.at<double>(2),
                tvec.at<double>(0),
                tvec.at<double>(1),
                tvec.at<double>(2)};
  for (const double value : pose) {
    if (!std::isfinite(value)) return std::nullopt;
  }
  // Every corner must be in front of the camera for the refinement to start.
  const Rigid3d start = RigidFromPose(pose);
  for (const int id : observation.corner_ids) {
    if (!((start * corners_in_board[id]).z() > 0.0)) return std::nullopt;
  }

  std::vector<double> params = intrinsics.params;
  ceres::Problem problem;
  for (size_t k = 0; k < observation.corner_ids.size(); ++k) {
    if (!observation.img_points[k].allFinite()) continue;
    problem.AddResidualBlock(
        CreateBoardReprojectionCost(intrinsics.model_id,
                                    corners_in_board[observation.corner_ids[k]],
                                    observation.img_points[k]),
        new ceres::HuberLoss(1.0),
        params.data(),
        pose.data());
  }
  problem.SetParameterBlockConstant(params.data());
  ceres::Solver::Options solver_options;
  solver_options.linear_solver_type = ceres::DENSE_QR;
  solver_options.max_num_iterations = 50;
  solver_options.function_tolerance = 1e-14;
  solver_options.gradient_tolerance = 1e-16;
  solver_options.parameter_tolerance = 1e-14;
  solver_options.logging_type = ceres::SILENT;
  ceres::Solver::Summary summary;
  ceres::Solve(solver_options, &problem, &summary);
  if (summary.termination_type == ceres::FAILURE) return std::nullopt;
  for (const double value : pose) {
    if (!std::isfinite(value)) return std::nullopt;
  }
  const Rigid3d cam_from_board = RigidFromPose(pose);
  if (!(cam_from_board.translation.z() > 0.0)) return std::nullopt;
  return cam_from_board;
}

std::string FormatIntrinsics(const IntrinsicsResult& result) {
  const Camera& camera = result.camera;
  const std::vector<std::string> names = CameraModelParamNames(camera.model_id);
  std::ostringstream s;
  s << "camera '" << camera.name << "' " << CameraModelName(camera.model_id) << " " << camera.width
    << "x" << camera.height << "\n";
  char line[160];
  for (size_t i = 0; i < camera.params.size() && i < names.size(); ++i) {
    const bool pixels = i < 4;
    const double stddev = i < result.param_stddev.size() ? result.param_stddev[i] : kNaN;
    if (pixels) {
      std::snprintf(line, sizeof(line), "  %-3s = %.1f", names[i].c_str(), camera.params[i]);
    } else {
      std::snprintf(line, sizeof(line), "  %-3s = %.5g", names[i].c_str(), camera.params[i]);
    }
    s << line;
    if (std::isfinite(stddev) && stddev > 0.0) {
      std::snprintf(line, sizeof(line), " ± %.2g", stddev);
      s << line;
    }
    s << (pixels ? " px" : "") << (stddev == 0.0 ? " (fixed)\n" : "\n");
  }
  std::snprintf(line,
                sizeof(line),
                "  rms %.3f px over %d corners in %d views (%d boards, %d rejected)\n",
                result.rms_px,
                result.num_corners,
                static_cast<int>(result.views.size()),
                result.num_observations,
                static_cast<int>(result.rejected_views.size()));
  s << line;
  return s.str();
}

std::vector<IntrinsicsResult> CalibrateIntrinsicsOfCameras(
    const BoardSpec& board,
    const std::vector<CameraDetections>& detections,
    const IntrinsicsOptions& options,
    int* failed_camera) {
  const int num_cameras = static_cast<int>(detections.size());
  std::vector<std::optional<IntrinsicsResult>> results(num_cameras);
  std::vector<std::exception_ptr> failures(num_cameras);
  IntrinsicsOptions per_camera = options;
  per_camera.num_threads = 1;
  const int num_workers = std::max(
      1,
      std::min(num_cameras,
               options.num_threads > 0 ? options.num_threads
                                       : static_cast<int>(std::thread::hardware_concurrency())));
  std::vector<std::thread> workers;
  for (int w = 0; w < num_workers; ++w) {
    workers.emplace_back([&, w] {
      for (int c = w; c < num_cameras; c += num_workers) {
        try {
          results[c] = CalibrateIntrinsics(board, detections[c], per_camera);
        } catch (...) {
          failures[c] = std::current_exception();
        }
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  std::vector<IntrinsicsResult> out;
  for (int c = 0; c < num_cameras; ++c) {
    if (failures[c]) {
      if (failed_camera != nullptr) *failed_camera = c;
      std::rethrow_exception(failures[c]);
    }
    out.push_back(std::move(*results[c]));
  }
  return out;
}

}  // namespace rigpose

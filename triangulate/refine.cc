// SPDX-License-Identifier: BSD-3-Clause
#include "triangulate/refine.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <sstream>
#include <utility>

#include <ceres/ceres.h>
#include <Eigen/Core>
#include <Eigen/Eigenvalues>

#include "core/error.h"
#include "core/parallel_for.h"

namespace rigpose {

std::string RobustLossName(RobustLoss loss) {
  switch (loss) {
    case RobustLoss::kNone:
      return "none";
    case RobustLoss::kHuber:
      return "huber";
    case RobustLoss::kSoftLOne:
      return "soft_l1";
    case RobustLoss::kCauchy:
      return "cauchy";
  }
  return "unknown";
}

std::optional<RobustLoss> RobustLossFromName(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) {
    return static_cast<char>(std::tolower(ch));
  });
  for (const RobustLoss loss :
       {RobustLoss::kNone, RobustLoss::kHuber, RobustLoss::kSoftLOne, RobustLoss::kCauchy}) {
    if (lower == RobustLossName(loss)) return loss;
  }
  return std::nullopt;
}

std::vector<std::string> RefineOptions::Check() const {
  std::vector<std::string> problems;
  auto add = [&problems](const auto&... parts) {
    std::ostringstream s;
    (s << ... << parts);
    problems.push_back(s.str());
  };
  if (RobustLossName(loss) == "unknown") add("loss = ", static_cast<int>(loss), " is not a loss");
  if (!(std::isfinite(loss_scale_px) && loss_scale_px > 0.0)) {
    add("loss_scale_px = ", loss_scale_px, " must be finite and > 0");
  }
  if (!(std::isfinite(min_score) && min_score >= 0.f)) {
    add("min_score = ", min_score, " must be finite and >= 0");
  }
  if (!(std::isfinite(smoothness_weight) && smoothness_weight >= 0.0)) {
    add("smoothness_weight = ", smoothness_weight, " must be finite and >= 0");
  }
  if (!(std::isfinite(bone_length_weight) && bone_length_weight >= 0.0)) {
    add("bone_length_weight = ", bone_length_weight, " must be finite and >= 0");
  }
  if (window_frames < 3) add("window_frames = ", window_frames, " must be >= 3");
  if (!(window_overlap >= 0 && window_overlap < window_frames)) {
    add("window_overlap = ",
        window_overlap,
        " must be in [0, window_frames = ",
        window_frames,
        ")");
  }
  if (max_iterations < 1) add("max_iterations = ", max_iterations, " must be >= 1");
  if (num_threads < 0) add("num_threads = ", num_threads, " must be >= 0 (0 = all cores)");
  if (!(std::isfinite(observation_sigma_px) && observation_sigma_px > 0.0)) {
    add("observation_sigma_px = ", observation_sigma_px, " must be finite and > 0");
  }
  return problems;
}

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kMaxCameraParams = 9;
static_assert(PinholeModel::kNumParams <= kMaxCameraParams &&
                  OpenCVModel::kNumParams <= kMaxCameraParams &&
                  OpenCVFisheyeModel::kNumParams <= kMaxCameraParams,
              "CameraData holds at most kMaxCameraParams intrinsics");
// Smallest initial value of a bone-length unknown (m), for bones whose joints coincide.
constexpr double kMinBoneLengthM = 1e-3;

// A camera in the flat form the cost functors read.
struct CameraData {
  CameraModelId model_id = CameraModelId::kPinhole;
  int num_params = 0;
  double params[kMaxCameraParams] = {};
  double rotation[9] = {};  // R of cam_from_world, row-major
  double translation[3] = {};
};

CameraData MakeCameraData(const Camera& camera) {
  CameraData data;
  data.model_id = camera.model_id;
  data.num_params = static_cast<int>(camera.params.size());
  std::copy(camera.params.begin(), camera.params.end(), data.params);
  const Eigen::Matrix3d rotation = camera.cam_from_world.RotationMatrix();
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) data.rotation[3 * r + c] = rotation(r, c);
    data.translation[r] = camera.cam_from_world.translation[r];
  }
  return data;
}

// π(R X + t) through the full camera model; false when the point is behind the camera.
template <typename T>
bool ProjectToImage(const CameraData& camera, const T* point3D_in_world, T* img_point) {
  const double* r = camera.rotation;
  T cam_point[3];
  for (int i = 0; i < 3; ++i) {
    cam_point[i] = r[3 * i] * point3D_in_world[0] + r[3 * i + 1] * point3D_in_world[1] +
                   r[3 * i + 2] * point3D_in_world[2] + camera.translation[i];
  }
  T params[kMaxCameraParams];
  for (int k = 0; k < camera.num_params; ++k) params[k] = T(camera.params[k]);
  return CameraModelImgFromCam<T>(camera.model_id, params, cam_point, img_point);
}

// One view of one joint: keypoint (px) and the residual weight w.
struct ReprojectionObservation {
  const CameraData* camera = nullptr;
  double x = 0.0;
  double y = 0.0;
  double weight = 1.0;
};

// Residual w (π(R X + t) − u) in pixels. Reads the observation through a pointer so that a
// thread can keep one cost function per slot and refill the slot for every joint.
class ReprojectionCost {
 public:
  explicit ReprojectionCost(const ReprojectionObservation* observation)
      : observation_(observation) {}

  template <typename T>
  bool operator()(const T* point3D_in_world, T* residual) const {
    T img_point[2];
    if (!ProjectToImage(*observation_->camera, point3D_in_world, img_point)) return false;
    residual[0] = observation_->weight * (img_point[0] - observation_->x);
    residual[1] = observation_->weight * (img_point[1] - observation_->y);
    return true;
  }

  static ceres::CostFunction* Create(const ReprojectionObservation* observation) {
    return new ceres::AutoDiffCostFunction<ReprojectionCost, 2, 3>(
        new ReprojectionCost(observation));
  }

  // A cost function that owns its camera and observation (test access).
  static ceres::CostFunction* CreateOwning(const Camera& camera,
                                           const Eigen::Vector2d& img_point,
                                           double weight) {
    struct Owned {
      CameraData camera;
      ReprojectionObservation observation;
    };
    auto owned = std::make_shared<Owned>();
    owned->camera = MakeCameraData(camera);
    owned->observation = {&owned->camera, img_point.x(), img_point.y(), weight};
    auto* functor = new ReprojectionCost(&owned->observation);
    functor->owned_ = owned;
    return new ceres::AutoDiffCostFunction<ReprojectionCost, 2, 3>(functor);
  }

 private:
  const ReprojectionObservation* observation_;
  std::shared_ptr<const void> owned_;
};

// Every used view of one point in ONE residual block (2 residuals per view), the robust loss
// applied per view inside: f_v = g(s_v) r_v with r_v = w (π(R X + t) − u), s_v = ‖r_v‖² and
// g(s) = sqrt(ρ(s) / s), so that ½ Σ_v ‖f_v‖² = ½ Σ_v ρ(s_v), the cost of one block per view
// with the loss attached. The Jacobian is the exact one of f (∂f/∂X = g J + 2 g'(s) r rᵀ J):
// a Gauss-Newton model of the robustified cost like Ceres' own corrector, not the same one, so
// iterates differ while the minimum is the same. Sequence windows use it: one block per point
// instead of one per view halves the residual blocks of a window (4 cameras), and CGNR's
// products and preconditioner run on fewer, larger Jacobian blocks (1000 frames × 17 joints ×
// 4 cameras: refinement 0.19 → 0.16 s, MPJPE unchanged).
class PointViewsCost : public ceres::CostFunction {
 public:
  PointViewsCost(const ReprojectionObservation* observations,
                 int num_views,
                 const ceres::LossFunction* loss)
      : observations_(observations), num_views_(num_views), loss_(loss) {
    set_num_residuals(2 * num_views);
    mutable_parameter_block_sizes()->push_back(3);
  }

  bool Evaluate(double const* const* parameters,
                double* residuals,
                double** jacobians) const override {
    const double* point = parameters[0];
    double* jacobian = jacobians != nullptr ? jacobians[0] : nullptr;
    for (int v = 0; v < num_views_; ++v) {
      const ReprojectionObservation& observation = observations_[v];
      // r and its Jacobian J from the per-view functor (Jets only when J is asked for).
      const ReprojectionCost view(&observation);
      double r[2];
      double j[2][3];
      if (jacobian == nullptr) {
        if (!view(point, r)) return false;
      } else {
        using Jet = ceres::Jet<double, 3>;
        const Jet x[3] = {Jet(point[0], 0), Jet(point[1], 1), Jet(point[2], 2)};
        Jet residual[2];
        if (!view(x, residual)) return false;
        for (int i = 0; i < 2; ++i) {
          r[i] = residual[i].a;
          for (int k = 0; k < 3; ++k) j[i][k] = residual[i].v[k];
        }
      }
      double scale = 1.0;
      double dscale = 0.0;  // d scale / d s
      const double squared_norm = r[0] * r[0] + r[1] * r[1];
      if (loss_ != nullptr && squared_norm > 0.0) {
        double rho[3];
        loss_->Evaluate(squared_norm, rho);
        if (std::abs(rho[2]) * squared_norm < 1e-6 * rho[1]) {
          // Deep in the quadratic part (s ≪ a²): ρ ≈ ρ'(s) s to a relative 1e-6 of ρ and
          // g' ≈ ρ'' / (4 g). The exact quotients lose everything there: ρ(s) / s and
          // (ρ' s − ρ) / s² are rounding noise over a tiny s (Ceres' Cauchy even returns
          // ρ = 0 for s ~ 1e-27, log(1 + s/a²) rounding to 0).
          scale = std::sqrt(rho[1]);
          dscale = rho[2] / (4.0 * scale);
        } else {
          scale = std::sqrt(rho[0] / squared_norm);
          dscale = (rho[1] * squared_norm - rho[0]) / (2.0 * squared_norm * squared_norm * scale);
        }
      }
      residuals[2 * v] = scale * r[0];
      residuals[2 * v + 1] = scale * r[1];
      if (jacobian == nullptr) continue;
      for (int k = 0; k < 3; ++k) {
        const double radial = 2.0 * dscale * (r[0] * j[0][k] + r[1] * j[1][k]);
        jacobian[(2 * v) * 3 + k] = scale * j[0][k] + radial * r[0];
        jacobian[(2 * v + 1) * 3 + k] = scale * j[1][k] + radial * r[1];
      }
    }
    return true;
  }

 protected:
  void Reset(const ReprojectionObservation* observations) { observations_ = observations; }

 private:
  const ReprojectionObservation* observations_;
  int num_views_;
  const ceres::LossFunction* loss_;
};

// λ_s (X_{t−1} − 2 X_t + X_{t+1}): px-equivalent residual of the second difference (m).
class SmoothnessCost {
 public:
  explicit SmoothnessCost(double weight) : weight_(weight) {}

  template <typename T>
  bool operator()(const T* previous, const T* current, const T* next, T* residual) const {
    for (int i = 0; i < 3; ++i) {
      residual[i] = weight_ * (previous[i] - 2.0 * current[i] + next[i]);
    }
    return true;
  }

  static ceres::CostFunction* Create(double weight) {
    return new ceres::AutoDiffCostFunction<SmoothnessCost, 3, 3, 3, 3>(new SmoothnessCost(weight));
  }

 private:
  double weight_;
};

// λ_b (‖X_a − X_b‖ − L). The 1e-18 m² under the root keeps the derivative finite when the two
// joints coincide; it shifts the length by < 1e-17 m at any real bone length.
class BoneLengthCost {
 public:
  explicit BoneLengthCost(double weight) : weight_(weight) {}

  template <typename T>
  bool operator()(const T* joint_a, const T* joint_b, const T* length, T* residual) const {
    using std::sqrt;
    const T dx = joint_a[0] - joint_b[0];
    const T dy = joint_a[1] - joint_b[1];
    const T dz = joint_a[2] - joint_b[2];
    residual[0] = weight_ * (sqrt(dx * dx + dy * dy + dz * dz + 1e-18) - length[0]);
    return true;
  }

  static ceres::CostFunction* Create(double weight) {
    return new ceres::AutoDiffCostFunction<BoneLengthCost, 1, 3, 3, 1>(new BoneLengthCost(weight));
  }

 private:
  double weight_;
};

std::unique_ptr<ceres::LossFunction> MakeLoss(const RefineOptions& options) {
  // Ceres' losses take `a` in units of the residual norm: quadratic for ‖r‖ < a.
  switch (options.loss) {
    case RobustLoss::kNone:
      return nullptr;
    case RobustLoss::kHuber:
      return std::make_unique<ceres::HuberLoss>(options.loss_scale_px);
    case RobustLoss::kSoftLOne:
      return std::make_unique<ceres::SoftLOneLoss>(options.loss_scale_px);
    case RobustLoss::kCauchy:
      return std::make_unique<ceres::CauchyLoss>(options.loss_scale_px);
  }
  return nullptr;
}

ceres::Problem::Options ProblemOptions() {
  ceres::Problem::Options options;
  // Cost functions live in per-thread pools / per-window vectors, the loss is shared.
  options.cost_function_ownership = ceres::DO_NOT_TAKE_OWNERSHIP;
  options.loss_function_ownership = ceres::DO_NOT_TAKE_OWNERSHIP;
  options.enable_fast_removal = false;
  options.disable_all_safety_checks = true;
  return options;
}

ceres::Solver::Options BaseSolverOptions(const RefineOptions& options) {
  ceres::Solver::Options solver;
  solver.max_num_iterations = options.max_iterations;
  solver.minimizer_progress_to_stdout = false;
  solver.logging_type = ceres::SILENT;
  solver.num_threads = 1;
  return solver;
}

// One problem per (frame, joint): 3 unknowns, DENSE_QR. Measured (17 joints × 4 cameras, 1
// thread): ~14 µs per joint, while one problem per frame with 17 independent blocks cost as
// much or more with every linear solver tried (SPARSE_NORMAL_CHOLESKY, CGNR, DENSE_NORMAL_
// CHOLESKY), and its single trust region makes the joints wait for each other. Function
// tolerance 1e-10 lands within ~1e-7 m of the optimum in ~4 iterations (1e-8: ~2e-6 m, 3.2
// iterations, -20 % time).
ceres::Solver::Options PointSolverOptions(const RefineOptions& options) {
  ceres::Solver::Options solver = BaseSolverOptions(options);
  solver.linear_solver_type = ceres::DENSE_QR;
  solver.function_tolerance = 1e-10;
  solver.gradient_tolerance = 1e-12;
  solver.parameter_tolerance = 1e-10;
  return solver;
}

// Windows: the normal equations couple each joint to itself at t ± 2 (smoothness) and the joints
// of a frame along the skeleton (bones), plus one dense column per bone length. Measured on
// 500 frames × 17 joints × 4 cameras (25k unknowns, 2 cores, Debian's Ceres 2.1 with
// SuiteSparse and ATLAS): SPARSE_NORMAL_CHOLESKY ~180 ms per iteration (SuiteSparse, Eigen or
// CXSparse alike: the band of a frame fills in), ITERATIVE_SCHUR ~2× slower than CGNR, CGNR with
// the block-Jacobi preconditioner ~10 ms: the point blocks dominate their diagonal (the
// reprojection terms), so 3-6 conjugate-gradient steps give an LM step good enough.
// The bone lengths carry no bound: the optimal L_b is the mean of the bone's lengths, > 0 by
// itself, and a bound made Ceres run a projected line search (one more cost evaluation) after
// every step. The cost stops changing by 1e-6 relative within 5 steps; 1e-7 took one more step
// that moved points by micrometres (bench/triangulate_bench, 1000 frames: MPJPE 4.60 mm either
// way, refinement 0.19 → 0.16 s for the bound, → 0.14 s for the tolerance).
ceres::Solver::Options WindowSolverOptions(const RefineOptions& options, int num_threads) {
  ceres::Solver::Options solver = BaseSolverOptions(options);
  solver.linear_solver_type = ceres::CGNR;
  solver.preconditioner_type = ceres::JACOBI;
  solver.function_tolerance = 1e-6;
  solver.gradient_tolerance = 1e-10;
  solver.parameter_tolerance = 1e-8;
  solver.num_threads = std::max(1, num_threads);
  return solver;
}

// Everything the per-joint code reads, resolved once per call.
struct RefineContext {
  int num_frames = 0;
  int num_cameras = 0;
  int num_joints = 0;
  const float* keypoints = nullptr;  // [F][C][J][3]
  const uint8_t* view_mask = nullptr;
  const Poses3D* initial = nullptr;
  std::vector<CameraData> cameras;
  const RefineOptions* options = nullptr;
  const ceres::LossFunction* loss = nullptr;

  int64_t ViewIndex(int frame, int camera, int joint) const {
    return (static_cast<int64_t>(frame) * num_cameras + camera) * num_joints + joint;
  }
};

void CheckInputs(const std::vector<Camera>& cameras,
                 const Keypoints2D& keypoints,
                 const Poses3D& initial,
                 const std::vector<uint8_t>& view_mask,
                 const RefineOptions& options) {
  const std::vector<std::string> problems = options.Check();
  RIGPOSE_CHECK(problems.empty(), FormatProblems("invalid RefineOptions", problems));
  RIGPOSE_CHECK(
      static_cast<int>(cameras.size()) == keypoints.num_cameras(),
      "cameras " << cameras.size() << " != keypoints cameras " << keypoints.num_cameras());
  for (const Camera& camera : cameras) {
    const std::vector<std::string> camera_problems = camera.Problems();
    RIGPOSE_CHECK(camera_problems.empty(),
                  "camera '" << camera.name << "': " << camera_problems.front());
  }
  RIGPOSE_CHECK(initial.num_frames() == keypoints.num_frames() &&
                    initial.num_joints() == keypoints.num_joints(),
                "initial poses " << initial.num_frames() << " frames x " << initial.num_joints()
                                 << " joints != keypoints " << keypoints.num_frames()
                                 << " frames x " << keypoints.num_joints() << " joints");
  const int64_t expected_mask = static_cast<int64_t>(keypoints.num_frames()) *
                                keypoints.num_cameras() * keypoints.num_joints();
  RIGPOSE_CHECK(view_mask.empty() || static_cast<int64_t>(view_mask.size()) == expected_mask,
                "view_mask has " << view_mask.size()
                                 << " entries, expected 0 or [F][C][J] = " << expected_mask);
}

RefineContext MakeContext(const std::vector<Camera>& cameras,
                          const Keypoints2D& keypoints,
                          const Poses3D& initial,
                          const std::vector<uint8_t>& view_mask,
                          const RefineOptions& options,
                          const ceres::LossFunction* loss) {
  RefineContext context;
  context.num_frames = keypoints.num_frames();
  context.num_cameras = keypoints.num_cameras();
  context.num_joints = keypoints.num_joints();
  context.keypoints = keypoints.data();
  context.view_mask = view_mask.empty() ? nullptr : view_mask.data();
  context.initial = &initial;
  for (const Camera& camera : cameras) context.cameras.push_back(MakeCameraData(camera));
  context.options = &options;
  context.loss = loss;
  return context;
}

RefineResult MakeEmptyResult(const RefineContext& context, const Poses3D& initial) {
  RefineResult result;
  result.poses = initial;
  const int64_t num_items = static_cast<int64_t>(context.num_frames) * context.num_joints;
  if (context.options->compute_covariance) result.covariance.assign(6 * num_items, NAN);
  result.reproj_error_px.assign(num_items * context.num_cameras, NAN);
  return result;
}

// Writes the used views of (frame, joint) at `point` to out[0..] and returns their count. A view
// is used when its keypoint is present (finite, score > 0 and >= min_score), the mask allows it
// and the point projects into the camera (z > 0).
int GatherViews(const RefineContext& context,
                int frame,
                int joint,
                const double* point,
                ReprojectionObservation* out) {
  const RefineOptions& options = *context.options;
  int count = 0;
  for (int c = 0; c < context.num_cameras; ++c) {
    const int64_t view = context.ViewIndex(frame, c, joint);
    if (context.view_mask != nullptr && context.view_mask[view] != 1) continue;
    const float* kp = context.keypoints + 3 * view;
    if (!(std::isfinite(kp[0]) && std::isfinite(kp[1]) && std::isfinite(kp[2]) && kp[2] > 0.f &&
          kp[2] >= options.min_score)) {
      continue;
    }
    double img_point[2];
    if (!ProjectToImage(context.cameras[c], point, img_point) ||
        !(std::isfinite(img_point[0]) && std::isfinite(img_point[1]))) {
      continue;
    }
    out[count++] = {&context.cameras[c], kp[0], kp[1], options.weighted ? double{kp[2]} : 1.0};
  }
  return count;
}

// Pixel error of every used view of (frame, joint) at `point` into reproj_error_px.
void WriteReprojErrors(const RefineContext& context,
                       int frame,
                       int joint,
                       const double* point,
                       std::vector<float>* reproj_error_px) {
  const RefineOptions& options = *context.options;
  for (int c = 0; c < context.num_cameras; ++c) {
    const int64_t view = context.ViewIndex(frame, c, joint);
    if (context.view_mask != nullptr && context.view_mask[view] != 1) continue;
    const float* kp = context.keypoints + 3 * view;
    if (!(std::isfinite(kp[0]) && std::isfinite(kp[1]) && std::isfinite(kp[2]) && kp[2] > 0.f &&
          kp[2] >= options.min_score)) {
      continue;
    }
    double img_point[2];
    if (!ProjectToImage(context.cameras[c], point, img_point)) continue;
    (*reproj_error_px)[view] =
        static_cast<float>(std::hypot(img_point[0] - kp[0], img_point[1] - kp[1]));
  }
}

// Adds ρ'(s) JᵀJ of one reprojection residual block at `point` to *information (the IRLS
// weight of the loss; the second-order ρ'' term of Triggs et al. is left out: it may make the
// block indefinite and vanishes for inliers of Huber). False when it cannot be evaluated.
bool AddReprojectionInformation(const ReprojectionObservation& observation,
                                const ceres::LossFunction* loss,
                                const double* point,
                                Eigen::Matrix3d* information) {
  using Jet = ceres::Jet<double, 3>;
  const Jet x[3] = {Jet(point[0], 0), Jet(point[1], 1), Jet(point[2], 2)};
  Jet residual[2];
  if (!ReprojectionCost(&observation)(x, residual)) return false;
  const double squared_norm = residual[0].a * residual[0].a + residual[1].a * residual[1].a;
  double rho[3] = {squared_norm, 1.0, 0.0};
  if (loss != nullptr) loss->Evaluate(squared_norm, rho);
  Eigen::Matrix<double, 2, 3> j;
  j.row(0) = residual[0].v.transpose();
  j.row(1) = residual[1].v.transpose();
  *information += rho[1] * j.transpose() * j;
  return true;
}

// Σ = σ² H⁻¹ as (xx, xy, xz, yy, yz, zz); NaN when H is not (numerically) positive definite.
void WriteCovariance(const Eigen::Matrix3d& information, double sigma_px, float* out) {
  std::fill(out, out + 6, NAN);
  if (!information.allFinite()) return;
  const Eigen::SelfAdjointEigenSolver<Eigen::Matrix3d> eigen(information);
  const Eigen::Vector3d& values = eigen.eigenvalues();  // ascending
  if (!(values[0] > 1e-12 * values[2] && values[0] > 0.0)) return;
  const Eigen::Matrix3d& vectors = eigen.eigenvectors();
  const Eigen::Matrix3d covariance =
      sigma_px * sigma_px * vectors * values.cwiseInverse().asDiagonal() * vectors.transpose();
  out[0] = static_cast<float>(covariance(0, 0));
  out[1] = static_cast<float>(covariance(0, 1));
  out[2] = static_cast<float>(covariance(0, 2));
  out[3] = static_cast<float>(covariance(1, 1));
  out[4] = static_cast<float>(covariance(1, 2));
  out[5] = static_cast<float>(covariance(2, 2));
}

struct SolveStats {
  int64_t num_points = 0;
  int64_t num_too_few_views = 0;
  int64_t num_residuals = 0;
  int64_t num_failed = 0;
  int64_t num_problems = 0;
  int64_t num_iterations = 0;
  double initial_cost = 0.0;
  double final_cost = 0.0;

  void Add(const SolveStats& other) {
    num_points += other.num_points;
    num_too_few_views += other.num_too_few_views;
    num_residuals += other.num_residuals;
    num_failed += other.num_failed;
    num_problems += other.num_problems;
    num_iterations += other.num_iterations;
    initial_cost += other.initial_cost;
    final_cost += other.final_cost;
  }
  void AddSolve(const ceres::Solver::Summary& summary) {
    ++num_problems;
    num_iterations += summary.num_successful_steps + summary.num_unsuccessful_steps;
    initial_cost += summary.initial_cost;
    if (summary.IsSolutionUsable()) {
      final_cost += summary.final_cost;
    } else {
      final_cost += summary.initial_cost;
    }
  }
  void CopyTo(RefineSummary* summary) const {
    summary->num_points = num_points;
    summary->num_too_few_views = num_too_few_views;
    summary->num_residuals = num_residuals;
    summary->num_failed = num_failed;
    summary->num_problems = num_problems;
    summary->num_iterations = num_iterations;
    summary->initial_cost = initial_cost;
    summary->final_cost = final_cost;
  }
};

// ---- RefineFrames ----------------------------------------------------------------------------

// Per-thread buffers: one observation slot and one cost function per (joint, view) of a frame,
// so that the hot loop allocates nothing but the Ceres problem itself.
struct FrameScratch {
  std::vector<ReprojectionObservation> observations;  // [J][C]
  std::vector<int> num_views;                         // [J]
  std::vector<double> points;                         // [J][3]
  std::vector<uint8_t> solved;                        // [J]

  FrameScratch(int num_cameras, int num_joints)
      : observations(static_cast<size_t>(num_cameras) * num_joints),
        num_views(num_joints, 0),
        points(3 * static_cast<size_t>(num_joints), 0.0),
        solved(num_joints, 0) {}
};

void RefineOneFrame(const RefineContext& context,
                    int frame,
                    const ceres::Solver::Options& solver_options,
                    FrameScratch* scratch,
                    RefineResult* result,
                    SolveStats* stats) {
  const int num_cameras = context.num_cameras;
  const int num_joints = context.num_joints;
  const RefineOptions& options = *context.options;
  const Poses3D& initial = *context.initial;
  double* points = scratch->points.data();
  for (int j = 0; j < num_joints; ++j) {
    scratch->num_views[j] = 0;
    scratch->solved[j] = 0;
    if (!initial.IsValid(frame, j)) continue;
    const int64_t offset = initial.Offset(frame, j);
    std::copy(initial.data() + offset, initial.data() + offset + 3, points + 3 * j);
    scratch->num_views[j] = GatherViews(
        context, frame, j, points + 3 * j, scratch->observations.data() + j * num_cameras);
    if (scratch->num_views[j] < 2) ++stats->num_too_few_views;
  }

  for (int j = 0; j < num_joints; ++j) {
    if (scratch->num_views[j] < 2) continue;
    ceres::Problem problem(ProblemOptions());
    PointViewsCost cost(
        scratch->observations.data() + j * num_cameras, scratch->num_views[j], context.loss);
    problem.AddResidualBlock(&cost, nullptr, points + 3 * j);
    stats->num_residuals += scratch->num_views[j];
    ceres::Solver::Summary summary;
    ceres::Solve(solver_options, &problem, &summary);
    stats->AddSolve(summary);
    if (summary.IsSolutionUsable() && std::isfinite(points[3 * j]) &&
        std::isfinite(points[3 * j + 1]) && std::isfinite(points[3 * j + 2])) {
      scratch->solved[j] = 1;
    } else {
      const int64_t offset = initial.Offset(frame, j);
      std::copy(initial.data() + offset, initial.data() + offset + 3, points + 3 * j);
      ++stats->num_failed;
    }
  }

  for (int j = 0; j < num_joints; ++j) {
    if (!initial.IsValid(frame, j)) continue;
    const double* point = points + 3 * j;
    if (scratch->solved[j]) {
      ++stats->num_points;
      result->poses.Set(frame, j, Eigen::Vector3d(point[0], point[1], point[2]));
      if (options.compute_covariance) {
        Eigen::Matrix3d information = Eigen::Matrix3d::Zero();
        bool ok = true;
        for (int v = 0; v < scratch->num_views[j]; ++v) {
          ok = ok &&
               AddReprojectionInformation(
                   scratch->observations[j * num_cameras + v], context.loss, point, &information);
        }
        if (ok) {
          WriteCovariance(
              information,
              options.observation_sigma_px,
              result->covariance.data() + 6 * (static_cast<int64_t>(frame) * num_joints + j));
        }
      }
    }
    WriteReprojErrors(context, frame, j, point, &result->reproj_error_px);
  }
}

}  // namespace

RefineResult RefineFrames(const std::vector<Camera>& cameras,
                          const Keypoints2D& keypoints,
                          const Poses3D& initial,
                          const std::vector<uint8_t>& view_mask,
                          const RefineOptions& options) {
  CheckInputs(cameras, keypoints, initial, view_mask, options);
  const auto start = std::chrono::steady_clock::now();
  const std::unique_ptr<ceres::LossFunction> loss = MakeLoss(options);
  const RefineContext context =
      MakeContext(cameras, keypoints, initial, view_mask, options, loss.get());
  RefineResult result = MakeEmptyResult(context, initial);
  const int num_threads = internal::ResolveNumThreads(options.num_threads);
  std::vector<SolveStats> stats(num_threads);
  const ceres::Solver::Options solver_options = PointSolverOptions(options);
  internal::ParallelFor(
      context.num_frames,
      num_threads,
      [&](int thread, int64_t begin, int64_t end) {
        FrameScratch scratch(context.num_cameras, context.num_joints);
        for (int64_t frame = begin; frame < end; ++frame) {
          RefineOneFrame(
              context, static_cast<int>(frame), solver_options, &scratch, &result, &stats[thread]);
        }
      },
      /*min_items_per_thread=*/4);
  SolveStats total;
  for (const SolveStats& s : stats) total.Add(s);
  total.CopyTo(&result.summary);
  result.summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

// ---- RefineSequence --------------------------------------------------------------------------

namespace {

double Median(std::vector<double> values) {
  values.erase(
      std::remove_if(values.begin(), values.end(), [](double v) { return !std::isfinite(v); }),
      values.end());
  if (values.empty()) return kNaN;
  const size_t mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + mid, values.end());
  const double upper = values[mid];
  if (values.size() % 2 == 1) return upper;
  const double lower = *std::max_element(values.begin(), values.begin() + mid);
  return 0.5 * (lower + upper);
}

struct Window {
  int begin = 0;
  int end = 0;
};

// Windows of equal length (at most window_frames) overlapping by window_overlap, covering the
// sequence: the fewest that fit, then (when there are several) as many more as make the count a
// multiple of the thread count, so that the threads finish together, as long as a window stays
// at least 4 overlaps long.
std::vector<Window> MakeWindows(int num_frames,
                                int window_frames,
                                int window_overlap,
                                int num_threads) {
  std::vector<Window> windows;
  if (num_frames <= 0) return windows;
  const int stride = window_frames - window_overlap;
  auto length_for = [&](int64_t count) {  // equal lengths covering the sequence
    return static_cast<int>((num_frames + (count - 1) * window_overlap + count - 1) / count);
  };
  int64_t count =
      num_frames <= window_frames ? 1 : 1 + (num_frames - window_frames + stride - 1) / stride;
  if (count > 1 && num_threads > 1 && count % num_threads != 0) {
    const int64_t balanced = (count + num_threads - 1) / num_threads * num_threads;
    if (length_for(balanced) >= std::max(3, 4 * window_overlap)) count = balanced;
  }
  const int length = length_for(count);
  const int step = length - window_overlap;
  for (int64_t w = 0; w < count; ++w) {
    const int begin = static_cast<int>(std::min<int64_t>(w * step, num_frames - length));
    windows.push_back({std::max(0, begin), std::min(num_frames, std::max(0, begin) + length)});
  }
  windows.back().end = num_frames;
  return windows;
}

// For every frame the window whose solution is kept: the one where the frame is farthest from an
// interior window edge (the sequence's own ends are not edges); ties go to the earlier window.
std::vector<int> AssignFramesToWindows(const std::vector<Window>& windows, int num_frames) {
  std::vector<int> owner(num_frames, -1);
  std::vector<int> best_distance(num_frames, -1);
  constexpr int kFar = std::numeric_limits<int>::max();
  for (int w = 0; w < static_cast<int>(windows.size()); ++w) {
    const Window& window = windows[w];
    for (int t = window.begin; t < window.end; ++t) {
      const int left = window.begin == 0 ? kFar : t - window.begin;
      const int right = window.end == num_frames ? kFar : window.end - 1 - t;
      const int distance = std::min(left, right);
      if (distance > best_distance[t]) {
        best_distance[t] = distance;
        owner[t] = w;
      }
    }
  }
  return owner;
}

struct WindowOutput {
  SolveStats stats;
  std::vector<double> bone_lengths;  // per bone, NaN when the window has no term for it
};

struct SmoothnessTerm {
  int previous = 0;  // point indices in the window
  int current = 0;
  int next = 0;
};

struct BoneTerm {
  int bone = 0;
  int a = 0;
  int b = 0;
};

void RefineWindow(const RefineContext& context,
                  const Window& window,
                  int window_index,
                  const std::vector<int>& owner,
                  const std::vector<std::pair<int, int>>& bones,
                  const ceres::Solver::Options& solver_options,
                  RefineResult* result,
                  WindowOutput* output) {
  const RefineOptions& options = *context.options;
  const Poses3D& initial = *context.initial;
  const int num_joints = context.num_joints;
  const int num_cameras = context.num_cameras;
  const int num_window_frames = window.end - window.begin;
  const int num_points = num_window_frames * num_joints;
  auto frame_of = [&](int p) { return window.begin + p / num_joints; };
  auto owned = [&](int p) { return owner[frame_of(p)] == window_index; };
  SolveStats& stats = output->stats;
  output->bone_lengths.assign(bones.size(), kNaN);

  std::vector<double> points(3 * static_cast<size_t>(num_points), 0.0);
  std::vector<uint8_t> valid(num_points, 0);
  for (int p = 0; p < num_points; ++p) {
    const int frame = frame_of(p);
    const int joint = p % num_joints;
    if (!initial.IsValid(frame, joint)) continue;
    valid[p] = 1;
    const int64_t offset = initial.Offset(frame, joint);
    std::copy(initial.data() + offset, initial.data() + offset + 3, points.data() + 3 * p);
  }

  // Observations in CSR form: point p owns observations[view_begin[p] .. view_begin[p + 1]).
  std::vector<ReprojectionObservation> observations(static_cast<size_t>(num_points) * num_cameras);
  std::vector<int> view_begin(num_points + 1, 0);
  int num_observations = 0;
  for (int p = 0; p < num_points; ++p) {
    view_begin[p] = num_observations;
    if (!valid[p]) continue;
    num_observations += GatherViews(context,
                                    frame_of(p),
                                    p % num_joints,
                                    points.data() + 3 * p,
                                    observations.data() + num_observations);
  }
  view_begin[num_points] = num_observations;
  observations.resize(num_observations);
  auto num_views = [&](int p) { return view_begin[p + 1] - view_begin[p]; };

  // Smoothness triples of valid points; a point in one is determined even with < 2 views.
  std::vector<SmoothnessTerm> triples;
  std::vector<uint8_t> in_triple(num_points, 0);
  if (options.smoothness_weight > 0.0) {
    for (int t = 1; t + 1 < num_window_frames; ++t) {
      for (int j = 0; j < num_joints; ++j) {
        const int current = t * num_joints + j;
        const int previous = current - num_joints;
        const int next = current + num_joints;
        if (!(valid[previous] && valid[current] && valid[next])) continue;
        triples.push_back({previous, current, next});
        in_triple[previous] = in_triple[current] = in_triple[next] = 1;
      }
    }
  }
  std::vector<uint8_t> variable(num_points, 0);
  for (int p = 0; p < num_points; ++p) {
    variable[p] = valid[p] && (num_views(p) >= 2 || in_triple[p]);
    if (valid[p] && !variable[p] && owned(p)) ++stats.num_too_few_views;
  }

  std::vector<BoneTerm> bone_terms;
  std::vector<double> bone_lengths(bones.size(), kNaN);
  if (options.bone_length_weight > 0.0) {
    std::vector<double> lengths;
    for (int b = 0; b < static_cast<int>(bones.size()); ++b) {
      lengths.clear();
      for (int t = 0; t < num_window_frames; ++t) {
        const int pa = t * num_joints + bones[b].first;
        const int pb = t * num_joints + bones[b].second;
        if (!(valid[pa] && valid[pb])) continue;
        const Eigen::Map<const Eigen::Vector3d> xa(points.data() + 3 * pa);
        const Eigen::Map<const Eigen::Vector3d> xb(points.data() + 3 * pb);
        lengths.push_back((xa - xb).norm());
        if (variable[pa] || variable[pb]) bone_terms.push_back({b, pa, pb});
      }
      bone_lengths[b] = std::max(kMinBoneLengthM, Median(lengths));
    }
  }

  // Problem. Cost functions: one per point with all its views (owned here), one shared
  // smoothness and one shared bone functor (they carry only the weight).
  ceres::Problem problem(ProblemOptions());
  std::vector<std::unique_ptr<ceres::CostFunction>> point_costs(num_points);
  const std::unique_ptr<ceres::CostFunction> smoothness_cost(
      SmoothnessCost::Create(options.smoothness_weight));
  const std::unique_ptr<ceres::CostFunction> bone_cost(
      BoneLengthCost::Create(options.bone_length_weight));
  int num_residual_blocks = 0;
  for (int p = 0; p < num_points; ++p) {
    if (!variable[p] || num_views(p) == 0) continue;
    point_costs[p] = std::make_unique<PointViewsCost>(
        observations.data() + view_begin[p], num_views(p), context.loss);
    problem.AddResidualBlock(point_costs[p].get(), nullptr, points.data() + 3 * p);
    ++num_residual_blocks;
    if (owned(p)) stats.num_residuals += num_views(p);
  }
  for (const SmoothnessTerm& term : triples) {
    problem.AddResidualBlock(smoothness_cost.get(),
                             nullptr,
                             points.data() + 3 * term.previous,
                             points.data() + 3 * term.current,
                             points.data() + 3 * term.next);
    ++num_residual_blocks;
  }
  for (const BoneTerm& term : bone_terms) {
    double* length = &bone_lengths[term.bone];
    problem.AddResidualBlock(
        bone_cost.get(), nullptr, points.data() + 3 * term.a, points.data() + 3 * term.b, length);
    ++num_residual_blocks;
    if (!variable[term.a]) problem.SetParameterBlockConstant(points.data() + 3 * term.a);
    if (!variable[term.b]) problem.SetParameterBlockConstant(points.data() + 3 * term.b);
  }

  bool usable = true;
  if (num_residual_blocks > 0) {
    ceres::Solver::Summary summary;
    ceres::Solve(solver_options, &problem, &summary);
    stats.AddSolve(summary);
    usable = summary.IsSolutionUsable();
    for (int p = 0; p < num_points && usable; ++p) {
      if (variable[p])
        usable = Eigen::Map<const Eigen::Vector3d>(points.data() + 3 * p).allFinite();
    }
  }
  for (int b = 0; b < static_cast<int>(bones.size()); ++b) {
    if (usable && problem.HasParameterBlock(&bone_lengths[b])) {
      output->bone_lengths[b] = bone_lengths[b];
    }
  }

  // Information blocks of the variable points (reprojection with ρ', smoothness, bones).
  std::vector<Eigen::Matrix3d> information;
  if (usable && options.compute_covariance) {
    information.assign(num_points, Eigen::Matrix3d::Zero());
    std::vector<uint8_t> evaluable(num_points, 1);
    for (int p = 0; p < num_points; ++p) {
      if (!variable[p] || !owned(p)) continue;
      for (int k = view_begin[p]; k < view_begin[p + 1]; ++k) {
        if (!AddReprojectionInformation(
                observations[k], context.loss, points.data() + 3 * p, &information[p])) {
          evaluable[p] = 0;
        }
      }
    }
    double residual[3];
    double jacobian_storage[3][9];
    double* jacobians[3] = {jacobian_storage[0], jacobian_storage[1], jacobian_storage[2]};
    using RowMajor33 = Eigen::Matrix<double, 3, 3, Eigen::RowMajor>;
    for (const SmoothnessTerm& term : triples) {
      const int members[3] = {term.previous, term.current, term.next};
      const double* parameters[3] = {points.data() + 3 * term.previous,
                                     points.data() + 3 * term.current,
                                     points.data() + 3 * term.next};
      smoothness_cost->Evaluate(parameters, residual, jacobians);
      for (int m = 0; m < 3; ++m) {
        const Eigen::Map<const RowMajor33> j(jacobian_storage[m]);
        information[members[m]] += j.transpose() * j;
      }
    }
    for (const BoneTerm& term : bone_terms) {
      const int members[2] = {term.a, term.b};
      const double* parameters[3] = {
          points.data() + 3 * term.a, points.data() + 3 * term.b, &bone_lengths[term.bone]};
      bone_cost->Evaluate(parameters, residual, jacobians);
      for (int m = 0; m < 2; ++m) {
        const Eigen::Map<const Eigen::RowVector3d> j(jacobian_storage[m]);
        information[members[m]] += j.transpose() * j;
      }
    }
    for (int p = 0; p < num_points; ++p) {
      if (!variable[p] || !owned(p) || !evaluable[p]) continue;
      WriteCovariance(information[p],
                      options.observation_sigma_px,
                      result->covariance.data() +
                          6 * (static_cast<int64_t>(frame_of(p)) * num_joints + p % num_joints));
    }
  }

  for (int p = 0; p < num_points; ++p) {
    if (!valid[p] || !owned(p)) continue;
    const int frame = frame_of(p);
    const int joint = p % num_joints;
    if (variable[p]) {
      if (usable) {
        ++stats.num_points;
      } else {
        ++stats.num_failed;
        const int64_t offset = initial.Offset(frame, joint);
        std::copy(initial.data() + offset, initial.data() + offset + 3, points.data() + 3 * p);
      }
    }
    const double* point = points.data() + 3 * p;
    result->poses.Set(frame, joint, Eigen::Vector3d(point[0], point[1], point[2]));
    WriteReprojErrors(context, frame, joint, point, &result->reproj_error_px);
  }
}

}  // namespace

RefineResult RefineSequence(const std::vector<Camera>& cameras,
                            const Keypoints2D& keypoints,
                            const Poses3D& initial,
                            const std::vector<uint8_t>& view_mask,
                            const std::vector<std::pair<int, int>>& bones,
                            const RefineOptions& options) {
  CheckInputs(cameras, keypoints, initial, view_mask, options);
  const int num_joints = keypoints.num_joints();
  for (size_t b = 0; b < bones.size(); ++b) {
    const auto [a, c] = bones[b];
    RIGPOSE_CHECK(a >= 0 && a < num_joints && c >= 0 && c < num_joints && a != c,
                  "bones[" << b << "] = (" << a << ", " << c
                           << ") must be two different joint indices in [0, " << num_joints << ")");
  }
  const auto start = std::chrono::steady_clock::now();
  const std::unique_ptr<ceres::LossFunction> loss = MakeLoss(options);
  const RefineContext context =
      MakeContext(cameras, keypoints, initial, view_mask, options, loss.get());
  RefineResult result = MakeEmptyResult(context, initial);

  const int num_threads = internal::ResolveNumThreads(options.num_threads);
  const std::vector<Window> windows =
      MakeWindows(context.num_frames, options.window_frames, options.window_overlap, num_threads);
  const std::vector<int> owner = AssignFramesToWindows(windows, context.num_frames);
  const int num_windows = static_cast<int>(windows.size());
  // Threads over windows; what is left over goes to Ceres inside each window.
  const int threads_per_window = std::max(1, num_threads / std::max(1, num_windows));
  const ceres::Solver::Options solver_options = WindowSolverOptions(options, threads_per_window);
  std::vector<WindowOutput> outputs(num_windows);
  internal::ParallelFor(
      num_windows,
      num_threads,
      [&](int /*thread*/, int64_t begin, int64_t end) {
        for (int64_t w = begin; w < end; ++w) {
          RefineWindow(context,
                       windows[w],
                       static_cast<int>(w),
                       owner,
                       bones,
                       solver_options,
                       &result,
                       &outputs[w]);
        }
      },
      /*min_items_per_thread=*/1);

  SolveStats total;
  for (const WindowOutput& output : outputs) total.Add(output.stats);
  total.CopyTo(&result.summary);
  result.summary.bone_lengths_m.assign(bones.size(), kNaN);
  const bool bone_term = options.bone_length_weight > 0.0;
  std::vector<double> values;
  for (size_t b = 0; b < bones.size(); ++b) {
    values.clear();
    if (bone_term) {
      for (const WindowOutput& output : outputs) values.push_back(output.bone_lengths[b]);
    } else {
      for (int f = 0; f < context.num_frames; ++f) {
        if (result.poses.IsValid(f, bones[b].first) && result.poses.IsValid(f, bones[b].second)) {
          values.push_back(
              (result.poses.Position(f, bones[b].first) - result.poses.Position(f, bones[b].second))
                  .norm());
        }
      }
    }
    result.summary.bone_lengths_m[b] = Median(values);
  }
  result.summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

namespace internal {

ceres::CostFunction* CreateReprojectionCostFunction(const Camera& camera,
                                                    const Eigen::Vector2d& img_point,
                                                    double weight) {
  return ReprojectionCost::CreateOwning(camera, img_point, weight);
}

ceres::CostFunction* CreatePointViewsCostFunction(const std::vector<Camera>& cameras,
                                                  const std::vector<Eigen::Vector2d>& img_points,
                                                  const std::vector<double>& weights,
                                                  RobustLoss loss,
                                                  double loss_scale_px) {
  RIGPOSE_CHECK(cameras.size() == img_points.size() && cameras.size() == weights.size(),
                "cameras, img_points and weights differ in size");
  RefineOptions options;
  options.loss = loss;
  options.loss_scale_px = loss_scale_px;
  // The cost reads its cameras, observations and loss through pointers: a derived class keeps
  // them alive as long as the cost.
  struct Owning final : PointViewsCost {
    Owning(std::vector<CameraData> cameras_in,
           std::vector<ReprojectionObservation> observations_in,
           std::unique_ptr<ceres::LossFunction> loss_in)
        : PointViewsCost(nullptr, static_cast<int>(observations_in.size()), loss_in.get()),
          camera_data(std::move(cameras_in)),
          observations(std::move(observations_in)),
          owned_loss(std::move(loss_in)) {
      for (size_t k = 0; k < observations.size(); ++k) observations[k].camera = &camera_data[k];
      Reset(observations.data());
    }
    std::vector<CameraData> camera_data;
    std::vector<ReprojectionObservation> observations;
    std::unique_ptr<ceres::LossFunction> owned_loss;
  };
  std::vector<CameraData> camera_data;
  std::vector<ReprojectionObservation> observations;
  for (size_t k = 0; k < cameras.size(); ++k) {
    camera_data.push_back(MakeCameraData(cameras[k]));
    observations.push_back({nullptr, img_points[k].x(), img_points[k].y(), weights[k]});
  }
  return new Owning(std::move(camera_data), std::move(observations), MakeLoss(options));
}

ceres::CostFunction* CreateSmoothnessCostFunction(double weight) {
  return SmoothnessCost::Create(weight);
}

ceres::CostFunction* CreateBoneLengthCostFunction(double weight) {
  return BoneLengthCost::Create(weight);
}

}  // namespace internal

}  // namespace rigpose

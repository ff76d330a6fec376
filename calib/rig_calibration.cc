// SPDX-License-Identifier: BSD-3-Clause
#include "calib/rig_calibration.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include <ceres/ceres.h>
#include <ceres/rotation.h>

#include "calib/board_cost.h"
#include "calib/intrinsics.h"
#include "core/camera_models.h"
#include "core/error.h"

namespace rigpose {

std::vector<std::string> RigCalibrationOptions::Check() const {
  std::vector<std::string> problems;
  auto add = [&problems](const auto&... parts) {
    std::ostringstream s;
    (s << ... << parts);
    problems.push_back(s.str());
  };
  if (min_corners_per_view < 4) add("min_corners_per_view = ", min_corners_per_view, " < 4");
  if (min_shared_frames < 1) add("min_shared_frames = ", min_shared_frames, " < 1");
  if (!(std::isfinite(loss_scale_px) && loss_scale_px >= 0.0)) {
    add("loss_scale_px = ", loss_scale_px, " must be finite and >= 0");
  }
  if (!(outlier_view_rms_px > 0.0)) add("outlier_view_rms_px = ", outlier_view_rms_px, " <= 0");
  if (!(outlier_view_rms_factor >= 1.0)) {
    add("outlier_view_rms_factor = ", outlier_view_rms_factor, " < 1");
  }
  if (max_outlier_rounds < 0) add("max_outlier_rounds = ", max_outlier_rounds, " < 0");
  if (max_iterations < 1) add("max_iterations = ", max_iterations, " < 1");
  if (!(std::isfinite(board_flex_m) && board_flex_m >= 0.0)) {
    add("board_flex_m = ", board_flex_m, " must be finite and >= 0");
  }
  if (num_threads < 0) add("num_threads = ", num_threads, " < 0");
  return problems;
}

namespace {

constexpr double kPi = 3.14159265358979323846;

using calib_internal::Pose6;

Pose6 ToPose6(const Rigid3d& pose) { return calib_internal::PoseFromRigid(pose); }
Rigid3d FromPose6(const Pose6& p) { return calib_internal::RigidFromPose(p); }

double RotationAngle(const Rigid3d& a, const Rigid3d& b) {
  return a.rotation.angularDistance(b.rotation);
}

struct View {
  int camera = 0;
  int frame = 0;
  int observation = 0;
  int num_corners = 0;
  Rigid3d cam_from_board;  // from PnP
  bool active = true;
};

// The candidate closest to all others (rotation angle in radians + translation distance relative
// to the median translation length): robust to a few bad views.
Rigid3d Medoid(const std::vector<Rigid3d>& candidates) {
  std::vector<double> lengths;
  for (const Rigid3d& c : candidates) lengths.push_back(c.translation.norm());
  std::nth_element(lengths.begin(), lengths.begin() + lengths.size() / 2, lengths.end());
  const double scale = std::max(lengths[lengths.size() / 2], 1e-3);
  size_t best = 0;
  double best_sum = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < candidates.size(); ++i) {
    double sum = 0.0;
    for (size_t k = 0; k < candidates.size(); ++k) {
      sum += RotationAngle(candidates[i], candidates[k]) +
             (candidates[i].translation - candidates[k].translation).norm() / scale;
    }
    if (sum < best_sum) {
      best_sum = sum;
      best = i;
    }
  }
  return candidates[best];
}

int Find(std::vector<int>* parent, int i) {
  while ((*parent)[i] != i) i = (*parent)[i] = (*parent)[(*parent)[i]];
  return i;
}

}  // namespace

RigCalibrationResult CalibrateRig(const BoardSpec& board,
                                  const std::vector<Camera>& intrinsics,
                                  const std::vector<CameraDetections>& detections,
                                  const RigCalibrationOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<std::string> problems = options.Check();
  RIGPOSE_CHECK(problems.empty(), "invalid RigCalibrationOptions: " << problems.front());
  const std::vector<std::string> board_problems = board.Problems();
  RIGPOSE_CHECK(board_problems.empty(), "invalid board: " << board_problems.front());
  const int num_cameras = static_cast<int>(intrinsics.size());
  RIGPOSE_CHECK(detections.size() == intrinsics.size(),
                "intrinsics " << intrinsics.size() << ", detections " << detections.size());
  RIGPOSE_CHECK(options.refine_intrinsics_per_camera.empty() ||
                    static_cast<int>(options.refine_intrinsics_per_camera.size()) == num_cameras,
                "refine_intrinsics_per_camera has " << options.refine_intrinsics_per_camera.size()
                                                    << " entries for " << num_cameras
                                                    << " cameras");
  for (const Camera& camera : intrinsics) {
    const std::vector<std::string> camera_problems = camera.Problems();
    RIGPOSE_CHECK(camera_problems.empty(),
                  "camera '" << camera.name << "': " << camera_problems.front());
  }
  if (num_cameras == 0) throw InputError("no camera to calibrate");
  const std::vector<Eigen::Vector3d> corners = BoardCornersInBoard(board);

  double result_seconds_pnp = 0.0;
  // ---- 1. Board pose per view ----------------------------------------------------------------
  std::vector<View> views;
  std::vector<int> rejected(num_cameras, 0);
  {
    struct Item {
      int camera, observation;
    };
    std::vector<Item> items;
    for (int c = 0; c < num_cameras; ++c) {
      for (int o = 0; o < static_cast<int>(detections[c].observations.size()); ++o) {
        items.push_back({c, o});
      }
    }
    std::vector<std::optional<Rigid3d>> poses(items.size());
    const int num_threads = std::max(
        1,
        std::min(static_cast<int>(items.size()),
                 options.num_threads > 0 ? options.num_threads
                                         : static_cast<int>(std::thread::hardware_concurrency())));
    std::vector<std::thread> workers;
    for (int t = 0; t < num_threads; ++t) {
      workers.emplace_back([&, t] {
        for (size_t i = t; i < items.size(); i += num_threads) {
          const BoardObservation& obs =
              detections[items[i].camera].observations[items[i].observation];
          if (static_cast<int>(obs.corner_ids.size()) < options.min_corners_per_view) continue;
          poses[i] = EstimateBoardPose(intrinsics[items[i].camera], board, obs);
        }
      });
    }
    for (std::thread& worker : workers) worker.join();
    for (size_t i = 0; i < items.size(); ++i) {
      const int c = items[i].camera;
      if (!poses[i]) {
        ++rejected[c];
        continue;
      }
      const BoardObservation& obs = detections[c].observations[items[i].observation];
      views.push_back({c,
                       obs.frame,
                       items[i].observation,
                       static_cast<int>(obs.corner_ids.size()),
                       *poses[i],
                       true});
    }
  }
  std::vector<int> views_per_camera(num_cameras, 0);
  for (const View& v : views) ++views_per_camera[v.camera];
  for (int c = 0; c < num_cameras; ++c) {
    if (views_per_camera[c] == 0) {
      throw InputError("camera " + intrinsics[c].name + ": no usable board view (" +
                       std::to_string(detections[c].observations.size()) + " boards detected in " +
                       std::to_string(detections[c].num_images) + " images, none with >= " +
                       std::to_string(options.min_corners_per_view) + " corners and a board pose)");
    }
  }
  std::map<int, std::vector<int>> frame_views;  // frame -> view indices
  for (int v = 0; v < static_cast<int>(views.size()); ++v) {
    frame_views[views[v].frame].push_back(v);
  }

  const auto after_poses = std::chrono::steady_clock::now();
  result_seconds_pnp = std::chrono::duration<double>(after_poses - start).count();
  // ---- 2. Pairwise relative poses ------------------------------------------------------------
  // pair_candidates[(a, b)], a < b: b_from_a per shared frame.
  std::map<std::pair<int, int>, std::vector<Rigid3d>> pair_candidates;
  for (const auto& [frame, indices] : frame_views) {
    for (size_t i = 0; i < indices.size(); ++i) {
      for (size_t k = 0; k < indices.size(); ++k) {
        const View& a = views[indices[i]];
        const View& b = views[indices[k]];
        if (a.camera >= b.camera) continue;
        pair_candidates[{a.camera, b.camera}].push_back(b.cam_from_board *
                                                        a.cam_from_board.Inverse());
      }
    }
  }

  // ---- 3. Camera graph, largest component, maximum spanning tree -----------------------------
  std::vector<int> parent(num_cameras);
  std::iota(parent.begin(), parent.end(), 0);
  for (const auto& [pair, candidates] : pair_candidates) {
    if (static_cast<int>(candidates.size()) < options.min_shared_frames) continue;
    parent[Find(&parent, pair.first)] = Find(&parent, pair.second);
  }
  std::map<int, std::vector<int>> components;
  for (int c = 0; c < num_cameras; ++c) components[Find(&parent, c)].push_back(c);
  if (components.size() > 1) {
    std::vector<int> largest;
    for (const auto& [root, members] : components) {
      if (members.size() > largest.size()) largest = members;
    }
    std::ostringstream message;
    message << "cameras not connected through shared board views:";
    for (const auto& [root, members] : components) {
      if (members == largest) continue;
      for (int c : members) {
        int shared = 0;
        for (int other : largest) {
          const auto it = pair_candidates.find({std::min(c, other), std::max(c, other)});
          if (it != pair_candidates.end()) shared += static_cast<int>(it->second.size());
        }
        message << " camera " << intrinsics[c].name << " (" << views_per_camera[c]
                << " board views, " << shared << " frames shared with the main group of "
                << largest.size() << " cameras, " << options.min_shared_frames << " needed)";
      }
    }
    message << "; record frames where the board is seen by these cameras and a connected one";
    throw InputError(message.str());
  }
  int reference = 0;
  for (int c = 1; c < num_cameras; ++c) {
    if (views_per_camera[c] > views_per_camera[reference]) reference = c;
  }
  std::map<std::pair<int, int>, Rigid3d> relative;  // (a, b) a < b: b_from_a
  for (const auto& [pair, candidates] : pair_candidates) relative[pair] = Medoid(candidates);
  // Prim: add the heaviest edge from the tree to a new camera.
  std::vector<std::optional<Rigid3d>> cam_from_ref(num_cameras);
  std::set<std::pair<int, int>> tree_edges;
  cam_from_ref[reference] = Rigid3d();
  for (int added = 1; added < num_cameras; ++added) {
    int best_a = -1, best_b = -1;
    size_t best_weight = 0;
    for (const auto& [pair, candidates] : pair_candidates) {
      if (static_cast<int>(candidates.size()) < options.min_shared_frames) continue;
      const bool has_a = cam_from_ref[pair.first].has_value();
      const bool has_b = cam_from_ref[pair.second].has_value();
      if (has_a == has_b || candidates.size() <= best_weight) continue;
      best_weight = candidates.size();
      best_a = pair.first;
      best_b = pair.second;
    }
    RIGPOSE_CHECK(best_a >= 0, "spanning tree incomplete although the graph is connected");
    const Rigid3d& b_from_a = relative[{best_a, best_b}];
    if (cam_from_ref[best_a]) {
      cam_from_ref[best_b] = b_from_a * *cam_from_ref[best_a];
    } else {
      cam_from_ref[best_a] = b_from_a.Inverse() * *cam_from_ref[best_b];
    }
    tree_edges.insert({best_a, best_b});
  }

  // ---- 4. Board pose per frame ---------------------------------------------------------------
  std::vector<Pose6> camera_poses(num_cameras);
  for (int c = 0; c < num_cameras; ++c) camera_poses[c] = ToPose6(*cam_from_ref[c]);
  std::vector<int> frames;
  std::map<int, int> frame_index;
  std::vector<Pose6> board_poses;
  for (const auto& [frame, indices] : frame_views) {
    int best = indices.front();
    for (int v : indices) {
      if (views[v].num_corners > views[best].num_corners) best = v;
    }
    frame_index[frame] = static_cast<int>(frames.size());
    frames.push_back(frame);
    board_poses.push_back(
        ToPose6(cam_from_ref[views[best].camera]->Inverse() * views[best].cam_from_board));
  }

  // ---- 5. Bundle adjustment ------------------------------------------------------------------
  std::vector<Camera> cameras = intrinsics;
  std::vector<bool> refine(num_cameras, options.refine_intrinsics);
  if (!options.refine_intrinsics_per_camera.empty()) refine = options.refine_intrinsics_per_camera;
  RigCalibrationResult result;
  result.summary.seconds_board_poses = result_seconds_pnp;
  result.summary.seconds_initialisation =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - after_poses).count();
  const auto before_solve = std::chrono::steady_clock::now();
  result.summary.reference_camera = reference;
  result.summary.num_frames = static_cast<int>(frames.size());
  // Board-flex stage (5b): (frame, corner id) -> free point in the reference camera's frame.
  std::map<std::pair<int, int>, int> point_index;
  std::vector<std::array<double, 3>> free_points;
  auto view_errors = [&](const View& v) {
    const BoardObservation& obs = detections[v.camera].observations[v.observation];
    if (free_points.empty()) {
      return calib_internal::BoardCornerErrorsPx(
          cameras[v.camera].model_id,
          cameras[v.camera].params,
          FromPose6(camera_poses[v.camera]) * FromPose6(board_poses[frame_index[v.frame]]),
          corners,
          obs);
    }
    const Rigid3d camera_from_ref = FromPose6(camera_poses[v.camera]);
    std::vector<double> errors;
    errors.reserve(obs.corner_ids.size());
    for (size_t k = 0; k < obs.corner_ids.size(); ++k) {
      const std::array<double, 3>& x = free_points[point_index.at({v.frame, obs.corner_ids[k]})];
      const Eigen::Vector3d cam_point = camera_from_ref * Eigen::Vector3d(x[0], x[1], x[2]);
      Eigen::Vector2d img_point;
      errors.push_back(CameraModelImgFromCam<double>(cameras[v.camera].model_id,
                                                     cameras[v.camera].params.data(),
                                                     cam_point.data(),
                                                     img_point.data())
                           ? (img_point - obs.img_points[k]).norm()
                           : std::numeric_limits<double>::quiet_NaN());
    }
    return errors;
  };
  // Distortion coefficients that are exactly 0 were held at 0 by the intrinsic calibration: keep
  // them there.
  const auto hold_zero_distortion = [&](ceres::Problem* p) {
    for (int c = 0; c < num_cameras; ++c) {
      if (!p->HasParameterBlock(cameras[c].params.data())) continue;
      std::vector<int> fixed;
      for (int k = 4; k < static_cast<int>(cameras[c].params.size()); ++k) {
        if (cameras[c].params[k] == 0.0) fixed.push_back(k);
      }
      if (!fixed.empty()) {
        p->SetManifold(
            cameras[c].params.data(),
            new ceres::SubsetManifold(static_cast<int>(cameras[c].params.size()), fixed));
      }
    }
  };
  const auto solver_options = [&](ceres::ParameterBlockOrdering* ordering) {
    ceres::Solver::Options solver;
    solver.linear_solver_type = ceres::DENSE_SCHUR;
    solver.linear_solver_ordering.reset(ordering);
    solver.max_num_iterations = options.max_iterations;
    solver.num_threads = options.num_threads > 0
                             ? options.num_threads
                             : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    solver.logging_type = ceres::SILENT;
    solver.function_tolerance = 1e-10;
    return solver;
  };
  const auto rms = calib_internal::RmsPx;
  // One loss for every solve (the problems do not own it).
  std::unique_ptr<ceres::LossFunction> loss;
  if (options.loss_scale_px > 0.0) loss = std::make_unique<ceres::HuberLoss>(options.loss_scale_px);
  ceres::Problem::Options problem_options;
  problem_options.loss_function_ownership = ceres::DO_NOT_TAKE_OWNERSHIP;
  for (int round = 0;; ++round) {
    ceres::Problem p(problem_options);
    int num_residuals = 0;
    std::set<int> used_frames;
    for (const View& v : views) {
      if (!v.active) continue;
      const BoardObservation& obs = detections[v.camera].observations[v.observation];
      std::vector<Eigen::Vector3d> points_in_board;
      for (const int id : obs.corner_ids) points_in_board.push_back(corners[id]);
      double* board_pose = board_poses[frame_index[v.frame]].data();
      const Camera& camera = cameras[v.camera];
      ceres::CostFunction* cost = calib_internal::CreateRigViewCost(
          camera.model_id, refine[v.camera], points_in_board, obs.img_points, camera.params);
      std::vector<double*> blocks = {camera_poses[v.camera].data(), board_pose};
      if (refine[v.camera]) blocks.push_back(cameras[v.camera].params.data());
      p.AddResidualBlock(cost, loss.get(), blocks);
      num_residuals += static_cast<int>(obs.corner_ids.size());
      used_frames.insert(v.frame);
    }
    p.SetParameterBlockConstant(camera_poses[reference].data());
    hold_zero_distortion(&p);
    ceres::ParameterBlockOrdering* ordering = new ceres::ParameterBlockOrdering;
    for (int frame : used_frames)
      ordering->AddElementToGroup(board_poses[frame_index[frame]].data(), 0);
    for (int c = 0; c < num_cameras; ++c) {
      ordering->AddElementToGroup(camera_poses[c].data(), 1);
      if (p.HasParameterBlock(cameras[c].params.data())) {
        ordering->AddElementToGroup(cameras[c].params.data(), 1);
      }
    }
    ceres::Solver::Summary summary;
    ceres::Solve(solver_options(ordering), &p, &summary);
    if (round == 0) result.summary.initial_cost = summary.initial_cost;
    result.summary.final_cost = summary.final_cost;
    result.summary.num_iterations += static_cast<int>(summary.iterations.size());
    result.summary.num_solves = round + 1;
    result.summary.termination = ceres::TerminationTypeToString(summary.termination_type);
    result.summary.converged = summary.termination_type == ceres::CONVERGENCE;
    result.summary.num_residuals = num_residuals;
    if (summary.termination_type == ceres::FAILURE) {
      throw InputError("bundle adjustment failed: " + summary.message);
    }

    // Outlier views: RMS above max(threshold, factor × median).
    std::vector<double> view_rms;
    for (const View& v : views) {
      if (v.active) view_rms.push_back(rms(view_errors(v)));
    }
    std::vector<double> sorted = view_rms;
    std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
    const double limit = std::max(options.outlier_view_rms_px,
                                  options.outlier_view_rms_factor * sorted[sorted.size() / 2]);
    bool dropped = false;
    if (round < options.max_outlier_rounds) {
      size_t i = 0;
      for (View& v : views) {
        if (!v.active) continue;
        const double r = view_rms[i++];
        if (r > limit && views_per_camera[v.camera] > 1) {
          v.active = false;
          --views_per_camera[v.camera];
          ++rejected[v.camera];
          dropped = true;
        }
      }
    }
    if (!dropped) break;
  }

  // ---- 5b. Board flex: every corner a free point held to the rigid board by a prior ----------
  if (options.board_flex_m > 0.0) {
    std::vector<Eigen::Vector3d> rigid_points;
    for (const View& v : views) {
      if (!v.active) continue;
      const Rigid3d ref_from_board = FromPose6(board_poses[frame_index[v.frame]]);
      for (const int id : detections[v.camera].observations[v.observation].corner_ids) {
        const int next = static_cast<int>(free_points.size());
        if (!point_index.emplace(std::make_pair(v.frame, id), next).second) continue;
        rigid_points.push_back(ref_from_board * corners[id]);
        free_points.push_back(
            {rigid_points.back().x(), rigid_points.back().y(), rigid_points.back().z()});
      }
    }
    ceres::Problem p(problem_options);
    for (const View& v : views) {
      if (!v.active) continue;
      const BoardObservation& obs = detections[v.camera].observations[v.observation];
      const Camera& camera = cameras[v.camera];
      for (size_t k = 0; k < obs.corner_ids.size(); ++k) {
        double* point = free_points[point_index.at({v.frame, obs.corner_ids[k]})].data();
        std::vector<double*> blocks = {camera_poses[v.camera].data(), point};
        if (refine[v.camera]) blocks.push_back(cameras[v.camera].params.data());
        p.AddResidualBlock(calib_internal::CreateRigPointCost(
                               camera.model_id, refine[v.camera], obs.img_points[k], camera.params),
                           loss.get(),
                           blocks);
      }
    }
    for (size_t i = 0; i < free_points.size(); ++i) {
      p.AddResidualBlock(new calib_internal::PointPriorCost(rigid_points[i], options.board_flex_m),
                         nullptr,
                         free_points[i].data());
    }
    p.SetParameterBlockConstant(camera_poses[reference].data());
    hold_zero_distortion(&p);
    auto* ordering = new ceres::ParameterBlockOrdering;
    for (std::array<double, 3>& x : free_points) ordering->AddElementToGroup(x.data(), 0);
    for (int c = 0; c < num_cameras; ++c) {
      if (p.HasParameterBlock(camera_poses[c].data()))
        ordering->AddElementToGroup(camera_poses[c].data(), 1);
      if (p.HasParameterBlock(cameras[c].params.data()))
        ordering->AddElementToGroup(cameras[c].params.data(), 1);
    }
    ceres::Solver::Summary summary;
    ceres::Solve(solver_options(ordering), &p, &summary);
    if (summary.termination_type == ceres::FAILURE) {
      throw InputError("bundle adjustment with a flexible board failed: " + summary.message);
    }
    result.summary.final_cost = summary.final_cost;
    result.summary.num_iterations += static_cast<int>(summary.iterations.size());
    ++result.summary.num_solves;
    result.summary.termination = ceres::TerminationTypeToString(summary.termination_type);
    result.summary.converged = summary.termination_type == ceres::CONVERGENCE;
    double shift2 = 0.0;
    for (size_t i = 0; i < free_points.size(); ++i) {
      shift2 += (Eigen::Vector3d(free_points[i][0], free_points[i][1], free_points[i][2]) -
                 rigid_points[i])
                    .squaredNorm();
    }
    result.summary.num_free_points = static_cast<int>(free_points.size());
    result.summary.corner_shift_rms_m =
        free_points.empty() ? 0.0 : std::sqrt(shift2 / static_cast<double>(free_points.size()));
  }

  result.summary.seconds_solve =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - before_solve).count();
  // ---- 6. World frame ------------------------------------------------------------------------
  Rigid3d world_from_ref;
  if (!options.world_camera.empty()) {
    int index = -1;
    for (int c = 0; c < num_cameras; ++c) {
      if (cameras[c].name == options.world_camera) index = c;
    }
    if (index < 0)
      throw InputError("world camera '" + options.world_camera + "' is not calibrated");
    world_from_ref = FromPose6(camera_poses[index]);
  } else if (options.world_board_frame >= 0) {
    const auto it = frame_index.find(options.world_board_frame);
    if (it == frame_index.end()) {
      throw InputError("world board frame " + std::to_string(options.world_board_frame) +
                       ": no camera saw the board in that frame");
    }
    // Board on the floor, printed face up: board z points down, y towards the viewer.
    const Rigid3d world_from_board(
        Eigen::Quaterniond(Eigen::AngleAxisd(kPi, Eigen::Vector3d::UnitX())),
        Eigen::Vector3d::Zero());
    world_from_ref = world_from_board * FromPose6(board_poses[it->second]).Inverse();
  } else {
    world_from_ref = FromPose6(camera_poses[0]);
  }
  const Rigid3d ref_from_world = world_from_ref.Inverse();

  // ---- Result --------------------------------------------------------------------------------
  result.rig.cameras = cameras;
  for (int c = 0; c < num_cameras; ++c) {
    result.rig.cameras[c].cam_from_world = FromPose6(camera_poses[c]) * ref_from_world;
  }
  result.residuals_px.assign(num_cameras, {});
  result.used_frames.assign(num_cameras, {});
  std::vector<std::vector<double>> camera_errors(num_cameras);
  std::map<int, std::vector<int>> active_frame_views;
  double total_sum = 0.0;
  int total_count = 0;
  for (int v = 0; v < static_cast<int>(views.size()); ++v) {
    if (!views[v].active) continue;
    active_frame_views[views[v].frame].push_back(v);
    result.used_frames[views[v].camera].push_back(views[v].frame);
    for (double e : view_errors(views[v])) {
      camera_errors[views[v].camera].push_back(e);
      result.residuals_px[views[v].camera].push_back(static_cast<float>(e));
      total_sum += e * e;
      ++total_count;
    }
  }
  for (std::vector<int>& used : result.used_frames) std::sort(used.begin(), used.end());
  result.rms_px = total_count > 0 ? std::sqrt(total_sum / total_count) : 0.0;
  for (int c = 0; c < num_cameras; ++c) {
    CalibratedCameraStats stats;
    stats.name = cameras[c].name;
    stats.num_views = views_per_camera[c];
    stats.num_corners = static_cast<int>(camera_errors[c].size());
    stats.num_rejected = rejected[c];
    stats.rms_px = rms(camera_errors[c]);
    std::vector<double> sorted = camera_errors[c];
    if (!sorted.empty()) {
      std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
      stats.median_px = sorted[sorted.size() / 2];
    }
    stats.intrinsics_refined = refine[c];
    result.cameras.push_back(stats);
  }
  for (int a = 0; a < num_cameras; ++a) {
    for (int b = a + 1; b < num_cameras; ++b) {
      CameraPairStats pair;
      pair.camera_a = a;
      pair.camera_b = b;
      pair.in_spanning_tree = tree_edges.count({a, b}) > 0;
      double sum = 0.0;
      int n = 0;
      for (const auto& [frame, indices] : active_frame_views) {
        bool has_a = false, has_b = false;
        for (int v : indices) {
          has_a |= views[v].camera == a;
          has_b |= views[v].camera == b;
        }
        if (!has_a || !has_b) continue;
        ++pair.shared_frames;
        for (int v : indices) {
          if (views[v].camera != a && views[v].camera != b) continue;
          for (double e : view_errors(views[v])) {
            sum += e * e;
            ++n;
          }
        }
      }
      if (pair.shared_frames == 0) continue;
      pair.rms_px = std::sqrt(sum / std::max(1, n));
      result.pairs.push_back(pair);
    }
  }
  for (size_t f = 0; f < frames.size(); ++f) {
    if (!active_frame_views.count(frames[f])) continue;
    result.board_frames.push_back(frames[f]);
    result.world_from_board.push_back(world_from_ref * FromPose6(board_poses[f]));
  }
  result.summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace rigpose

// SPDX-License-Identifier: BSD-3-Clause
#include "viewer/scene.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace rigpose {
namespace {

Eigen::Vector3f Rgb(int hex) {
  return Eigen::Vector3f(
      ((hex >> 16) & 0xff) / 255.0f, ((hex >> 8) & 0xff) / 255.0f, (hex & 0xff) / 255.0f);
}

void AddLine(const Eigen::Vector3d& start_in_world,
             const Eigen::Vector3d& end_in_world,
             const Eigen::Vector3f& colour,
             Scene* scene,
             int camera_index = -1) {
  scene->lines.push_back(SceneLine{start_in_world, end_in_world, colour, camera_index});
}

// World position of the pinhole ray through img_point at depth_m along the optical axis.
Eigen::Vector3d PinholePointInWorld(const Camera& camera,
                                    const Eigen::Vector2d& img_point,
                                    double depth_m) {
  const Eigen::Vector3d cam_point((img_point.x() - camera.cx()) / camera.fx() * depth_m,
                                  (img_point.y() - camera.cy()) / camera.fy() * depth_m,
                                  depth_m);
  return camera.cam_from_world.Inverse() * cam_point;
}

bool Finite(double value) { return std::isfinite(value); }

}  // namespace

Eigen::AlignedBox3d Scene::Bounds() const {
  Eigen::AlignedBox3d box = ContentBounds();
  for (const SceneLine& line : lines) {
    box.extend(line.start_in_world);
    box.extend(line.end_in_world);
  }
  return box;
}

Eigen::AlignedBox3d Scene::ContentBounds() const {
  Eigen::AlignedBox3d box;  // empty
  for (const SceneCamera& camera : cameras) box.extend(camera.camera.CenterInWorld());
  for (const ScenePoint& point : points) {
    box.extend(point.position_in_world + Eigen::Vector3d::Constant(point.radius_m));
    box.extend(point.position_in_world - Eigen::Vector3d::Constant(point.radius_m));
  }
  return box;
}

std::optional<int> Scene::FindCamera(const std::string& name) const {
  for (size_t i = 0; i < cameras.size(); ++i) {
    if (cameras[i].camera.name == name) return static_cast<int>(i);
  }
  return std::nullopt;
}

std::vector<std::string> SceneOptions::Problems() const {
  std::vector<std::string> problems;
  const auto positive = [&](double value, const char* name) {
    if (!(Finite(value) && value > 0)) {
      problems.push_back(std::string(name) + " = " + std::to_string(value) + " must be > 0");
    }
  };
  positive(frustum_depth_m, "frustum_depth_m");
  positive(axes_length_m, "axes_length_m");
  positive(grid_spacing_m, "grid_spacing_m");
  positive(joint_radius_m, "joint_radius_m");
  if (!Finite(grid_half_extent_m)) problems.push_back("grid_half_extent_m must be finite");
  if (show_grid && grid_half_extent_m > 0 && grid_spacing_m > 0 &&
      grid_half_extent_m / grid_spacing_m > 1000) {
    problems.push_back("the floor grid would have more than 2000 lines per axis");
  }
  return problems;
}

SkeletonPose SkeletonPoseFromPoses(const Poses3D& poses,
                                   int frame,
                                   const Skeleton& skeleton,
                                   const std::string& source) {
  if (poses.num_joints() != skeleton.NumJoints()) {
    throw InputError(source + ": " + std::to_string(poses.num_joints()) +
                     " joints per frame, but skeleton " + skeleton.name + " has " +
                     std::to_string(skeleton.NumJoints()) + " joints");
  }
  RIGPOSE_CHECK(frame >= 0 && frame < poses.num_frames(),
                "frame " << frame << " of " << poses.num_frames() << " frames");
  SkeletonPose pose;
  pose.skeleton = &skeleton;
  pose.joints_in_world.resize(skeleton.NumJoints());
  pose.valid.resize(skeleton.NumJoints());
  for (int j = 0; j < skeleton.NumJoints(); ++j) {
    pose.joints_in_world[j] = poses.Position(frame, j);
    pose.valid[j] = poses.IsValid(frame, j) && pose.joints_in_world[j].allFinite();
  }
  return pose;
}

Eigen::Vector3f ViridisColour(double t) {
  if (!Finite(t)) return Eigen::Vector3f(0.5f, 0.5f, 0.5f);
  // matplotlib viridis at t = 0, 1/8, ..., 1.
  static const std::array<Eigen::Vector3f, 9> kSamples = {
      Eigen::Vector3f(0.267004f, 0.004874f, 0.329415f),
      Eigen::Vector3f(0.282623f, 0.140926f, 0.457517f),
      Eigen::Vector3f(0.253935f, 0.265254f, 0.529983f),
      Eigen::Vector3f(0.206756f, 0.371758f, 0.553117f),
      Eigen::Vector3f(0.163625f, 0.471133f, 0.558148f),
      Eigen::Vector3f(0.127568f, 0.566949f, 0.550556f),
      Eigen::Vector3f(0.134692f, 0.658636f, 0.517649f),
      Eigen::Vector3f(0.477504f, 0.821444f, 0.318195f),
      Eigen::Vector3f(0.993248f, 0.906157f, 0.143936f)};
  const double x = std::clamp(t, 0.0, 1.0) * 8.0;
  const int i = std::min(static_cast<int>(x), 7);
  const float w = static_cast<float>(x - i);
  return (1.0f - w) * kSamples[i] + w * kSamples[i + 1];
}

Eigen::Vector3f PaletteColour(int index) {
  static const std::array<int, 10> kTableau10 = {0x1f77b4,
                                                 0xff7f0e,
                                                 0x2ca02c,
                                                 0xd62728,
                                                 0x9467bd,
                                                 0x8c564b,
                                                 0xe377c2,
                                                 0x7f7f7f,
                                                 0xbcbd22,
                                                 0x17becf};
  const int n = static_cast<int>(kTableau10.size());
  return Rgb(kTableau10[((index % n) + n) % n]);
}

Eigen::Vector3f CameraColour(int camera_index) { return PaletteColour(camera_index); }

Eigen::Vector3f SkeletonColour(int person_index) {
  // Dark saturated colours that differ from the Tableau-10 camera colours.
  static const std::array<int, 6> kPersons = {
      0xc0007a, 0x000000, 0x006d6d, 0x7a4a00, 0x3a00a0, 0x4d7a00};
  const int n = static_cast<int>(kPersons.size());
  return Rgb(kPersons[((person_index % n) + n) % n]);
}

void AddRigToScene(const Rig& rig, const SceneOptions& options, Scene* scene) {
  RIGPOSE_CHECK(scene != nullptr, "scene is null");
  for (int c = 0; c < rig.NumCameras(); ++c) {
    const Camera& camera = rig.cameras[c];
    const Eigen::Vector3f colour = CameraColour(c);
    scene->cameras.push_back(SceneCamera{camera, colour});
    const Eigen::Vector3d center_in_world = camera.CenterInWorld();
    scene->labels.push_back(SceneLabel{camera.name, center_in_world, colour});
    if (!options.show_frustums) continue;
    const double right = camera.width - 0.5;
    const double bottom = camera.height - 0.5;
    const std::array<Eigen::Vector2d, 4> img_corners = {Eigen::Vector2d(-0.5, -0.5),
                                                        Eigen::Vector2d(right, -0.5),
                                                        Eigen::Vector2d(right, bottom),
                                                        Eigen::Vector2d(-0.5, bottom)};
    std::array<Eigen::Vector3d, 4> corners_in_world;
    for (int k = 0; k < 4; ++k) {
      corners_in_world[k] = PinholePointInWorld(camera, img_corners[k], options.frustum_depth_m);
    }
    for (int k = 0; k < 4; ++k) {
      AddLine(center_in_world, corners_in_world[k], colour, scene, c);
      AddLine(corners_in_world[k], corners_in_world[(k + 1) % 4], colour, scene, c);
    }
    // A tick above the top edge's midpoint shows which way is up in the image.
    const Eigen::Vector3d top_mid = 0.5 * (corners_in_world[0] + corners_in_world[1]);
    const Eigen::Vector3d up_tick = PinholePointInWorld(
        camera, Eigen::Vector2d(camera.cx(), -0.5 - 0.15 * camera.height), options.frustum_depth_m);
    AddLine(top_mid, up_tick, colour, scene, c);
  }
}

void AddWorldToScene(const SceneOptions& options, Scene* scene) {
  RIGPOSE_CHECK(scene != nullptr, "scene is null");
  if (options.show_grid) {
    double half_extent_m = options.grid_half_extent_m;
    if (half_extent_m <= 0) {
      double reach_m = 2.0 * options.grid_spacing_m;
      const Eigen::AlignedBox3d content = scene->ContentBounds();
      if (!content.isEmpty()) {
        reach_m = std::max({reach_m,
                            std::abs(content.min().x()),
                            std::abs(content.max().x()),
                            std::abs(content.min().y()),
                            std::abs(content.max().y())});
      }
      half_extent_m = (std::ceil(reach_m / options.grid_spacing_m) + 1) * options.grid_spacing_m;
    }
    const int n = static_cast<int>(std::round(half_extent_m / options.grid_spacing_m));
    const double e = n * options.grid_spacing_m;
    for (int i = -n; i <= n; ++i) {
      const double s = i * options.grid_spacing_m;
      AddLine(Eigen::Vector3d(s, -e, 0), Eigen::Vector3d(s, e, 0), options.grid_colour, scene);
      AddLine(Eigen::Vector3d(-e, s, 0), Eigen::Vector3d(e, s, 0), options.grid_colour, scene);
    }
  }
  if (options.show_axes) {
    const double l = options.axes_length_m;
    const Eigen::Vector3d o = Eigen::Vector3d::Zero();
    AddLine(o, Eigen::Vector3d(l, 0, 0), Eigen::Vector3f(1, 0, 0), scene);
    AddLine(o, Eigen::Vector3d(0, l, 0), Eigen::Vector3f(0, 1, 0), scene);
    AddLine(o, Eigen::Vector3d(0, 0, l), Eigen::Vector3f(0, 0, 1), scene);
  }
}

void AddTrajectoriesToScene(
    const Poses3D& poses, int frame, int trail_frames, int person_index, Scene* scene) {
  RIGPOSE_CHECK(scene != nullptr, "scene is null");
  RIGPOSE_CHECK(frame >= 0 && frame < poses.num_frames(),
                "frame " << frame << " of " << poses.num_frames() << " frames");
  const Eigen::Vector3f colour =
      0.45f * SkeletonColour(person_index) + 0.55f * Eigen::Vector3f::Ones();
  for (int j = 0; j < poses.num_joints(); ++j) {
    for (int f = std::max(1, frame - trail_frames + 1); f <= frame; ++f) {
      if (!poses.IsValid(f - 1, j) || !poses.IsValid(f, j)) continue;
      const Eigen::Vector3d a = poses.Position(f - 1, j), b = poses.Position(f, j);
      if (a.allFinite() && b.allFinite()) AddLine(a, b, colour, scene);
    }
  }
}

void AddSkeletonToScene(const SkeletonPose& pose,
                        int person_index,
                        const SceneOptions& options,
                        Scene* scene) {
  RIGPOSE_CHECK(scene != nullptr, "scene is null");
  RIGPOSE_CHECK(pose.skeleton != nullptr, "pose without a skeleton");
  const int num_joints = pose.skeleton->NumJoints();
  RIGPOSE_CHECK(static_cast<int>(pose.joints_in_world.size()) == num_joints &&
                    static_cast<int>(pose.valid.size()) == num_joints,
                "skeleton " << pose.skeleton->name << " has " << num_joints << " joints, pose has "
                            << pose.joints_in_world.size() << " positions and " << pose.valid.size()
                            << " validity flags");
  RIGPOSE_CHECK(
      pose.joint_values.empty() || static_cast<int>(pose.joint_values.size()) == num_joints,
      "joint_values has " << pose.joint_values.size() << " entries, skeleton " << num_joints);
  const Eigen::Vector3f colour = pose.colour.value_or(SkeletonColour(person_index));
  if (!scene->legend) {
    double lo = std::numeric_limits<double>::infinity();
    double hi = -lo;
    for (double value : pose.joint_values) {
      if (!Finite(value)) continue;
      lo = std::min(lo, value);
      hi = std::max(hi, value);
    }
    if (lo <= hi) scene->legend = ColourLegend{"", lo, hi};
  }
  for (const auto& [a, b] : pose.skeleton->bones) {
    if (pose.valid[a] && pose.valid[b]) {
      AddLine(pose.joints_in_world[a], pose.joints_in_world[b], colour, scene);
    }
  }
  Eigen::Vector3d top_in_world = Eigen::Vector3d::Constant(-std::numeric_limits<double>::max());
  for (int j = 0; j < num_joints; ++j) {
    if (!pose.valid[j]) continue;
    Eigen::Vector3f joint_colour = colour;
    if (!pose.joint_values.empty() && Finite(pose.joint_values[j]) && scene->legend) {
      const double range = scene->legend->max_value - scene->legend->min_value;
      const double t = range > 0 ? (pose.joint_values[j] - scene->legend->min_value) / range : 0.5;
      joint_colour = ViridisColour(t);
    }
    scene->points.push_back(
        ScenePoint{pose.joints_in_world[j], joint_colour, options.joint_radius_m});
    if (pose.joints_in_world[j].z() > top_in_world.z()) top_in_world = pose.joints_in_world[j];
  }
  if (!pose.label.empty() && top_in_world.allFinite()) {
    scene->labels.push_back(
        SceneLabel{pose.label, top_in_world + Eigen::Vector3d(0, 0, 0.15), colour});
  }
}

Scene BuildScene(const Rig& rig,
                 const std::vector<SkeletonPose>& skeletons,
                 const SceneOptions& options,
                 const std::optional<ColourLegend>& legend) {
  if (const auto problems = options.Problems(); !problems.empty()) {
    throw UsageError(FormatProblems("scene options", problems));
  }
  Scene scene;
  scene.legend = legend;
  if (!scene.legend) {
    double lo = std::numeric_limits<double>::infinity();
    double hi = -lo;
    for (const SkeletonPose& pose : skeletons) {
      for (double value : pose.joint_values) {
        if (!Finite(value)) continue;
        lo = std::min(lo, value);
        hi = std::max(hi, value);
      }
    }
    if (lo <= hi) scene.legend = ColourLegend{"", lo, hi};
  }
  AddRigToScene(rig, options, &scene);
  for (size_t i = 0; i < skeletons.size(); ++i) {
    AddSkeletonToScene(skeletons[i], static_cast<int>(i), options, &scene);
  }
  AddWorldToScene(options, &scene);
  return scene;
}

}  // namespace rigpose

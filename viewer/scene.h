// SPDX-License-Identifier: BSD-3-Clause
// A renderer-independent 3D scene: coloured line segments, coloured joint spheres and text labels
// in the world frame (Z up, metres), built from a rig, 3D skeletons and optional per-joint values.
// viewer/snapshot.h and viewer/interactive.h draw it with Open3D; nothing here sees Open3D.
//
// Colours are linear RGB in [0, 1]. Per-joint scalar values use the viridis colormap (matplotlib's
// perceptually uniform map; dark purple = legend minimum, yellow = legend maximum), see
// ViridisColour().
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <Eigen/Geometry>

#include "core/camera.h"
#include "core/keypoints.h"
#include "core/rig.h"
#include "core/skeleton.h"

namespace rigpose {

struct SceneLine {
  Eigen::Vector3d start_in_world = Eigen::Vector3d::Zero();
  Eigen::Vector3d end_in_world = Eigen::Vector3d::Zero();
  Eigen::Vector3f colour = Eigen::Vector3f::Zero();
  int camera_index = -1;  // the rig camera whose frustum this is (not drawn in its own view)
};

// Drawn as a sphere of radius_m.
struct ScenePoint {
  Eigen::Vector3d position_in_world = Eigen::Vector3d::Zero();
  Eigen::Vector3f colour = Eigen::Vector3f::Zero();
  double radius_m = 0.02;
};

// Text anchored at a 3D point (camera names, person ids). The Open3D legacy renderer draws no
// text: the snapshot leaves labels out and the CLI prints them; they are kept for other front ends.
struct SceneLabel {
  std::string text;
  Eigen::Vector3d position_in_world = Eigen::Vector3d::Zero();
  Eigen::Vector3f colour = Eigen::Vector3f::Zero();
};

// A rig camera as drawn: the camera itself (for camera:NAME views) and its frustum colour.
struct SceneCamera {
  Camera camera;
  Eigen::Vector3f colour = Eigen::Vector3f::Zero();
};

// The value range that ViridisColour() maps per-joint values from (values outside are clamped).
struct ColourLegend {
  std::string label;  // what the values are ("reprojection error px")
  double min_value = 0.0;
  double max_value = 1.0;
};

struct Scene {
  std::vector<SceneLine> lines;
  std::vector<ScenePoint> points;
  std::vector<SceneLabel> labels;
  std::vector<SceneCamera> cameras;    // in rig order
  std::optional<ColourLegend> legend;  // set when a skeleton carried per-joint values

  // Bounding box of the cameras, lines and points (the floor grid included); empty when the scene
  // is empty.
  Eigen::AlignedBox3d Bounds() const;
  // Bounding box of the cameras and the joints only (what the top/front/orbit views frame).
  Eigen::AlignedBox3d ContentBounds() const;
  // Index into `cameras` of the camera with exactly this name.
  std::optional<int> FindCamera(const std::string& name) const;
};

struct SceneOptions {
  double frustum_depth_m = 0.4;  // distance of the drawn image rectangle from the camera centre
  double axes_length_m = 0.5;    // world axes: X red, Y green, Z blue, from the origin
  double grid_spacing_m = 0.5;   // floor grid on z = 0
  // Half width of the grid (metres); <= 0: covers the cameras' footprint plus one spacing.
  double grid_half_extent_m = 0.0;
  double joint_radius_m = 0.03;
  bool show_frustums = true;
  bool show_axes = true;
  bool show_grid = true;
  Eigen::Vector3f grid_colour = Eigen::Vector3f(0.78f, 0.78f, 0.78f);

  // One sentence per problem (non-finite or non-positive sizes); empty when usable.
  std::vector<std::string> Problems() const;
};

// One person's skeleton in one frame. joint_values (optional) holds one scalar per joint (NaN:
// none, drawn in the person's colour), mapped through ViridisColour() on the scene's legend.
struct SkeletonPose {
  const Skeleton* skeleton = nullptr;
  std::vector<Eigen::Vector3d> joints_in_world;  // skeleton->NumJoints() entries
  std::vector<bool> valid;                       // same size; invalid joints and their bones
                                                 // are not drawn
  std::vector<double> joint_values;              // empty or same size
  std::optional<Eigen::Vector3f> colour;         // bones and joints; default: SkeletonColour(index)
  std::string label;                             // drawn above the head ("" for none)
};

// Frame `frame` of `poses` as a SkeletonPose. InputError naming `source` (a file path) when the
// joint count differs from the skeleton's, std::invalid_argument when frame is out of range.
SkeletonPose SkeletonPoseFromPoses(const Poses3D& poses,
                                   int frame,
                                   const Skeleton& skeleton,
                                   const std::string& source);

// Viridis at t in [0, 1] (clamped; NaN -> grey): 9 samples of matplotlib's table, linearly
// interpolated (error < 0.01 per channel).
Eigen::Vector3f ViridisColour(double t);
// Distinct colours (Tableau-10 order) for cameras and persons, cycling.
Eigen::Vector3f PaletteColour(int index);
// Person colours: the palette from its 4th entry, so that person 0 (red) differs from the first
// cameras' colours.
Eigen::Vector3f SkeletonColour(int person_index);
Eigen::Vector3f CameraColour(int camera_index);

// Adds the rig: per camera, 4 lines from the centre to the image corners at frustum_depth_m and
// the image rectangle there (the corners are the pinhole rays of the pixel corners, distortion
// ignored), in CameraColour(index); a label with the camera name at the centre.
void AddRigToScene(const Rig& rig, const SceneOptions& options, Scene* scene);
// World axes and floor grid (z = 0), sized from the scene's current content.
void AddWorldToScene(const SceneOptions& options, Scene* scene);
// Bones as lines and joints as spheres. A joint with a finite value is coloured by ViridisColour()
// on scene->legend, which is set to this pose's value range when absent; its bones keep the person
// colour. std::invalid_argument on size mismatches or a null skeleton.
void AddSkeletonToScene(const SkeletonPose& pose,
                        int person_index,
                        const SceneOptions& options,
                        Scene* scene);

// Trajectories: every joint's path over frames [frame - trail_frames, frame] of `poses`, as
// segments between consecutive valid positions, in the person's colour lightened towards white.
// std::invalid_argument when frame is out of range.
void AddTrajectoriesToScene(
    const Poses3D& poses, int frame, int trail_frames, int person_index, Scene* scene);

// The whole scene for one frame: rig, world, every skeleton. `legend` fixes the colour range of
// the joint values (default: their min/max). UsageError listing options.Problems().
Scene BuildScene(const Rig& rig,
                 const std::vector<SkeletonPose>& skeletons,
                 const SceneOptions& options = SceneOptions(),
                 const std::optional<ColourLegend>& legend = std::nullopt);

}  // namespace rigpose

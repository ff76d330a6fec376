// SPDX-License-Identifier: BSD-3-Clause
// The synthetic human: proportions from stature, a small kinematic model (pose parameters ->
// joint positions), procedural motion clips, and BVH import. Every motion produces the HALPE-26
// joint set (COCO-17 + head top, neck, mid hip, big/small toes, heels), which maps by joint name
// to COCO-17, BODY_25 and BODY_25B (core/skeleton.h).
//
// World frame: Z up, metres, floor at z = 0. A body frame has x forward, y to the subject's left,
// z up.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "core/keypoints.h"
#include "core/skeleton.h"
#include "data/bvh.h"

namespace rigpose::synth {

// The joint set every synthetic motion produces ("halpe26").
const Skeleton& BodySkeleton();

// Segment lengths (metres) as fractions of stature, after Drillis & Contini (1966) and
// Winter, "Biomechanics and Motor Control of Human Movement", fig. 4.1.
struct BodyShape {
  double height_m = 1.75;
  double hip_half_width_m = 0;  // half the distance between the hip joint centres
  double shoulder_half_width_m = 0;
  double thigh_m = 0;
  double shank_m = 0;
  double ankle_height_m = 0;
  double trunk_m = 0;  // mid hip -> neck (mid shoulders)
  double neck_to_head_m = 0;
  double head_radius_m = 0;
  double upper_arm_m = 0;
  double forearm_m = 0;
  double hand_m = 0;
  double heel_back_m = 0;
  double big_toe_m = 0;  // ankle -> big toe, forward
  double small_toe_m = 0;

  static BodyShape FromHeight(double height_m);
};

// Pose parameters (radians); index 0 is the left side, 1 the right. Flexion moves a segment
// forward, abduction away from the body's midline. Every clip is a function time -> BodyPose,
// and clips blend by interpolating these parameters, so bone lengths stay exactly constant.
struct BodyPose {
  Eigen::Vector2d root_xy = Eigen::Vector2d::Zero();  // where the body stands (world)
  double heading_rad = 0;                             // facing direction, from +X toward +Y
  double lift_m = 0;  // height of the lowest foot point above the floor (jumps)
  double trunk_lean = 0, trunk_side = 0, trunk_twist = 0;
  double head_pitch = 0, head_yaw = 0;
  double hip_flex[2] = {0, 0}, hip_abd[2] = {0, 0}, knee_flex[2] = {0, 0};
  double foot_pitch[2] = {0, 0};  // toes up positive
  double shoulder_flex[2] = {0, 0}, shoulder_abd[2] = {0, 0}, elbow_flex[2] = {0, 0};
  // true: the feet (not the pelvis) stay at root_xy, for motions performed in place.
  bool anchor_feet = true;
};

// a + w (b - a) for every parameter; heading along the shorter arc.
BodyPose BlendPoses(const BodyPose& a, const BodyPose& b, double w);

// HALPE-26 joint positions in the world (metres) of a body with this shape in this pose; the
// lowest foot point is at z = lift_m.
std::vector<Eigen::Vector3d> BodyJoints(const BodyShape& shape, const BodyPose& pose);

enum class MotionKind { kWalk, kSquat, kArmCircles, kJump, kTurn };
std::optional<MotionKind> ParseMotionKind(const std::string& name);  // walk, squat, arm_circles...
const char* MotionKindName(MotionKind kind);
const std::vector<MotionKind>& AllMotionKinds();
// "walk,squat,...": the clips in order; nullopt with the offending name in `bad_name`.
std::optional<std::vector<MotionKind>> ParseMotionList(const std::string& list,
                                                       std::string* bad_name);

// One subject performing procedural clips in sequence.
struct ProceduralMotionOptions {
  std::vector<MotionKind> clips = {MotionKind::kWalk};
  double clip_duration_s = 4.0;  // each clip; clips cycle when the capture is longer
  double blend_s = 0.6;          // cross-fade between consecutive clips
  Eigen::Vector2d anchor_xy = Eigen::Vector2d::Zero();  // centre of the walking circle
  double walk_radius_m = 1.0;
  double walk_speed_mps = 1.1;
  bool walk_clockwise = false;
  double start_angle_rad = 0;  // position on the walking circle at t = 0
  double phase_rad = 0;        // gait / cycle phase offset
  double speed_scale = 1.0;    // > 1: faster cycles
};

// Joints of one subject over `num_frames` frames at `frame_rate_hz`: HALPE-26, every joint valid.
Poses3D ProceduralMotion(const BodyShape& shape,
                         const ProceduralMotionOptions& options,
                         int num_frames,
                         double frame_rate_hz);

// BVH import: joints of the file mapped to HALPE-26 by name (CMU / cgspeed names, Mixamo's
// "mixamorig:" prefix, common alternatives; see body.cc), face points and heels placed from the
// head and foot orientations, Y-up file converted to Z-up metres.
struct BvhImportOptions {
  double unit_m = 0;    // metres per file unit; 0: from the stature at rest (CMU: 0.056444)
  int first_frame = 0;  // in file frames
  Eigen::Vector2d anchor_xy = Eigen::Vector2d::Zero();  // the clip's mean ground position goes here
  bool z_up_file = false;                               // the file is Z-up already
};

// Resampled to `frame_rate_hz` by picking the nearest file frame (no interpolation, so bone
// lengths stay those of the file); frames past the end of the file hold its last frame.
// InputError naming the file and the joint when a needed joint is missing, or the stature does
// not give a unit.
Poses3D BvhToBody(const BvhMotion& motion,
                  const std::string& path_for_errors,
                  const BvhImportOptions& options,
                  int num_frames,
                  double frame_rate_hz);

}  // namespace rigpose::synth

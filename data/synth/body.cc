// SPDX-License-Identifier: BSD-3-Clause
#include "data/synth/body.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <map>

#include <Eigen/Geometry>

#include "core/error.h"

namespace rigpose::synth {
namespace {

using Eigen::Vector3d;

constexpr double kGravity = 9.81;

// HALPE-26 indices (see core/skeleton.cc).
enum Joint : int {
  kNose = 0,
  kLeftEye,
  kRightEye,
  kLeftEar,
  kRightEar,
  kLeftShoulder,
  kRightShoulder,
  kLeftElbow,
  kRightElbow,
  kLeftWrist,
  kRightWrist,
  kLeftHip,
  kRightHip,
  kLeftKnee,
  kRightKnee,
  kLeftAnkle,
  kRightAnkle,
  kHeadTop,
  kNeck,
  kMidHip,
  kLeftBigToe,
  kRightBigToe,
  kLeftSmallToe,
  kRightSmallToe,
  kLeftHeel,
  kRightHeel,
  kNumJoints
};

Eigen::Matrix3d RotX(double a) { return Eigen::AngleAxisd(a, Vector3d::UnitX()).matrix(); }
Eigen::Matrix3d RotY(double a) { return Eigen::AngleAxisd(a, Vector3d::UnitY()).matrix(); }
Eigen::Matrix3d RotZ(double a) { return Eigen::AngleAxisd(a, Vector3d::UnitZ()).matrix(); }

// Unit direction of a limb hanging down, swung forward by `flex` and sideways (outward for
// side sign s = +1 left, -1 right) by `abd`.
Vector3d LimbDirection(double flex, double abd, double s) {
  return Vector3d(
             std::sin(flex) * std::cos(abd), s * std::sin(abd), -std::cos(flex) * std::cos(abd))
      .normalized();
}

double WrapAngle(double a) { return std::atan2(std::sin(a), std::cos(a)); }

double SmoothStep(double x) {
  x = std::clamp(x, 0.0, 1.0);
  return x * x * (3.0 - 2.0 * x);
}

// Joints in the body frame (pelvis = mid hip at the origin before grounding).
std::array<Vector3d, kNumJoints> BodyFrameJoints(const BodyShape& b, const BodyPose& p) {
  std::array<Vector3d, kNumJoints> j;
  j[kMidHip] = Vector3d::Zero();
  for (int side = 0; side < 2; ++side) {
    const double s = side == 0 ? 1.0 : -1.0;
    const Vector3d hip(0, s * b.hip_half_width_m, 0);
    const Vector3d thigh = LimbDirection(p.hip_flex[side], p.hip_abd[side], s);
    const Vector3d knee = hip + b.thigh_m * thigh;
    const Vector3d shank = LimbDirection(p.hip_flex[side] - p.knee_flex[side], p.hip_abd[side], s);
    const Vector3d ankle = knee + b.shank_m * shank;
    // Foot: toes turned out by 7 deg, pitched by foot_pitch.
    const double toe_out = 7.0 * M_PI / 180.0;
    const double fp = p.foot_pitch[side];
    const Vector3d forward(
        std::cos(fp) * std::cos(toe_out), s * std::cos(fp) * std::sin(toe_out), std::sin(fp));
    Vector3d up(-std::sin(fp), 0, std::cos(fp));
    up = (up - up.dot(forward) * forward).normalized();
    const Vector3d outward = s * up.cross(forward).normalized();
    const Vector3d sole = ankle - b.ankle_height_m * up;
    j[side == 0 ? kLeftHip : kRightHip] = hip;
    j[side == 0 ? kLeftKnee : kRightKnee] = knee;
    j[side == 0 ? kLeftAnkle : kRightAnkle] = ankle;
    j[side == 0 ? kLeftHeel : kRightHeel] = sole - b.heel_back_m * forward;
    j[side == 0 ? kLeftBigToe : kRightBigToe] =
        sole + b.big_toe_m * forward - 0.012 * b.height_m * outward;
    j[side == 0 ? kLeftSmallToe : kRightSmallToe] =
        sole + b.small_toe_m * forward + 0.03 * b.height_m * outward;
  }
  const Eigen::Matrix3d trunk = RotY(p.trunk_lean) * RotX(-p.trunk_side) * RotZ(p.trunk_twist);
  const Vector3d neck = trunk * Vector3d(0, 0, b.trunk_m);
  j[kNeck] = neck;
  for (int side = 0; side < 2; ++side) {
    const double s = side == 0 ? 1.0 : -1.0;
    const Vector3d shoulder = neck + trunk * Vector3d(0, s * b.shoulder_half_width_m, 0);
    const Vector3d upper = LimbDirection(p.shoulder_flex[side], p.shoulder_abd[side], s);
    const Vector3d elbow = shoulder + b.upper_arm_m * (trunk * upper);
    // The elbow bends the forearm about the axis upper x forward (forward and up for a hanging
    // arm); for an arm pointing forward, it bends inward.
    Vector3d axis = upper.cross(Vector3d::UnitX());
    if (axis.norm() < 0.2) axis = upper.cross(Vector3d(0, -s, 0));
    axis.normalize();
    const Vector3d fore = Eigen::AngleAxisd(p.elbow_flex[side], axis) * upper;
    j[side == 0 ? kLeftShoulder : kRightShoulder] = shoulder;
    j[side == 0 ? kLeftElbow : kRightElbow] = elbow;
    j[side == 0 ? kLeftWrist : kRightWrist] = elbow + b.forearm_m * (trunk * fore);
  }
  const Eigen::Matrix3d head = trunk * RotZ(p.head_yaw) * RotY(p.head_pitch);
  const double r = b.head_radius_m;
  const Vector3d center = neck + head * Vector3d(0.1 * r, 0, b.neck_to_head_m);
  j[kNose] = center + head * Vector3d(1.02 * r, 0, -0.25 * r);
  // Face points lie just outside the head sphere (radius r), so the head hides them from behind.
  j[kLeftEye] = center + head * (1.01 * r * Vector3d(0.92, 0.36, 0.13).normalized());
  j[kRightEye] = center + head * (1.01 * r * Vector3d(0.92, -0.36, 0.13).normalized());
  j[kLeftEar] = center + head * (1.01 * r * Vector3d(-0.05, 1.0, 0).normalized());
  j[kRightEar] = center + head * (1.01 * r * Vector3d(-0.05, -1.0, 0).normalized());
  j[kHeadTop] = center + head * Vector3d(-0.1 * r, 0, 1.25 * r);
  return j;
}

// ---- procedural clips -------------------------------------------------------------------------

struct ClipState {
  Eigen::Vector2d walk_xy;    // current point of the walking circle
  double walk_heading = 0;    // tangent direction there
  double inward_heading = 0;  // facing the capture volume's centre
};

BodyPose Walk(double t, const ProceduralMotionOptions& o, const ClipState& st) {
  BodyPose p;
  const double cycle_hz = 0.9 * o.speed_scale;
  const double phi = 2.0 * M_PI * cycle_hz * t + o.phase_rad;
  p.root_xy = st.walk_xy;
  p.heading_rad = st.walk_heading;
  p.anchor_feet = false;
  for (int side = 0; side < 2; ++side) {
    const double f = phi + (side == 0 ? 0.0 : M_PI);
    p.hip_flex[side] = 0.06 + 0.3 * std::sin(f);
    const double swing = std::max(0.0, std::cos(f + M_PI / 4.0));
    p.knee_flex[side] = 0.1 + 0.95 * swing * swing;
    p.foot_pitch[side] = 0.18 * std::sin(f - 0.3);
    p.hip_abd[side] = 0.03;
    // Arms swing against the leg of the same side.
    p.shoulder_flex[side] = -0.32 * std::sin(f);
    p.shoulder_abd[side] = 0.12;
    p.elbow_flex[side] = 0.35 + 0.2 * std::max(0.0, -std::sin(f));
  }
  p.trunk_lean = 0.06;
  p.trunk_twist = 0.09 * std::sin(phi);
  p.head_pitch = 0.1;
  return p;
}

BodyPose Squat(double t, const ProceduralMotionOptions& o, const ClipState& st) {
  BodyPose p;
  const double period = 3.2 / o.speed_scale;
  const double d = 0.5 - 0.5 * std::cos(2.0 * M_PI * t / period + o.phase_rad);
  p.root_xy = st.walk_xy;
  p.heading_rad = st.inward_heading;
  for (int side = 0; side < 2; ++side) {
    p.hip_flex[side] = 1.75 * d;
    p.knee_flex[side] = 2.1 * d;
    p.hip_abd[side] = 0.12;  // feet planted: the lateral reach of the leg stays constant
    p.shoulder_flex[side] = 0.1 + 1.35 * d;
    p.shoulder_abd[side] = 0.1;
    p.elbow_flex[side] = 0.15 + 0.2 * d;
  }
  p.trunk_lean = 0.55 * d;
  p.head_pitch = -0.3 * d;
  return p;
}

BodyPose ArmCircles(double t, const ProceduralMotionOptions& o, const ClipState& st) {
  BodyPose p;
  const double w = 2.0 * M_PI * 0.8 * o.speed_scale;
  const double a = w * t + o.phase_rad;
  p.root_xy = st.walk_xy;
  p.heading_rad = st.inward_heading;
  for (int side = 0; side < 2; ++side) {
    p.shoulder_abd[side] = 1.4 + 0.35 * std::cos(a);
    p.shoulder_flex[side] = 0.35 * std::sin(a);
    p.elbow_flex[side] = 0.05;
    p.hip_abd[side] = 0.08;
    p.knee_flex[side] = 0.08;
    p.hip_flex[side] = 0.04;
  }
  p.head_yaw = 0.35 * std::sin(0.4 * a);
  return p;
}

BodyPose Jump(double t, const ProceduralMotionOptions& o, const ClipState& st) {
  BodyPose p;
  const double period = 2.2 / o.speed_scale;
  double u = std::fmod(t + o.phase_rad / (2.0 * M_PI) * period, period);
  if (u < 0) u += period;
  u *= o.speed_scale;  // in the canonical 2.2 s cycle
  const double flight_s = 0.45;
  double crouch = 0.0;  // 0 standing .. 1 deep
  double arms = 0.0;    // -1 back .. 1 up
  double plantar = 0.0;
  if (u < 0.5) {
    crouch = 0.55 * SmoothStep(u / 0.5);
    arms = -SmoothStep(u / 0.5);
  } else if (u < 0.7) {
    const double s = SmoothStep((u - 0.5) / 0.2);
    crouch = 0.55 * (1.0 - s);
    arms = -1.0 + 2.0 * s;
    plantar = 0.5 * s;
  } else if (u < 0.7 + flight_s) {
    const double tau = u - 0.7;
    const double v0 = 0.5 * kGravity * flight_s;
    p.lift_m = v0 * tau - 0.5 * kGravity * tau * tau;
    arms = 1.0;
    plantar = 0.5 * (1.0 - tau / flight_s);
  } else if (u < 1.6) {
    crouch = 0.45 * std::sin(M_PI * (u - 0.7 - flight_s) / (2.0 * (1.6 - 0.7 - flight_s)));
    arms = 1.0 - SmoothStep((u - 1.15) / 0.45);
  } else {
    crouch = 0.45 * (1.0 - SmoothStep((u - 1.6) / 0.4));
  }
  p.root_xy = st.walk_xy;
  p.heading_rad = st.inward_heading;
  for (int side = 0; side < 2; ++side) {
    p.hip_flex[side] = 1.6 * crouch;
    p.knee_flex[side] = 2.0 * crouch;
    p.foot_pitch[side] = -plantar;
    p.hip_abd[side] = 0.06;
    p.shoulder_flex[side] = arms >= 0 ? 2.3 * arms : 0.7 * arms;
    p.shoulder_abd[side] = 0.15;
    p.elbow_flex[side] = 0.3;
  }
  p.trunk_lean = 0.5 * crouch;
  return p;
}

BodyPose Turn(double t, const ProceduralMotionOptions& o, const ClipState& st) {
  BodyPose p;
  p.root_xy = st.walk_xy;
  const double turn_rate = (o.walk_clockwise ? -1.0 : 1.0) * 1.05 * o.speed_scale;  // 60 deg/s
  p.heading_rad = st.inward_heading + turn_rate * t;
  const double step = 2.0 * M_PI * 1.0 * o.speed_scale * t + o.phase_rad;
  for (int side = 0; side < 2; ++side) {
    const double f = step + (side == 0 ? 0.0 : M_PI);
    const double lift = std::max(0.0, std::sin(f));
    p.hip_flex[side] = 0.25 * lift;
    p.knee_flex[side] = 0.05 + 0.5 * lift;
    p.hip_abd[side] = 0.05;
    p.shoulder_abd[side] = 0.15;
    p.shoulder_flex[side] = 0.1;
    p.elbow_flex[side] = 0.4;
  }
  p.head_yaw = 0.3 * (o.walk_clockwise ? -1.0 : 1.0);
  return p;
}

BodyPose ClipPose(MotionKind kind,
                  double t,
                  const ProceduralMotionOptions& o,
                  const ClipState& st) {
  switch (kind) {
    case MotionKind::kWalk:
      return Walk(t, o, st);
    case MotionKind::kSquat:
      return Squat(t, o, st);
    case MotionKind::kArmCircles:
      return ArmCircles(t, o, st);
    case MotionKind::kJump:
      return Jump(t, o, st);
    case MotionKind::kTurn:
      return Turn(t, o, st);
  }
  return BodyPose{};
}

// ---- BVH ----------------------------------------------------------------------------------------

std::string Canon(const std::string& name) {
  std::string base = name;
  const size_t colon = base.rfind(':');
  if (colon != std::string::npos) base = base.substr(colon + 1);  // "mixamorig:LeftArm"
  std::string out;
  for (unsigned char c : base) {
    if (std::isalnum(c)) out.push_back(static_cast<char>(std::tolower(c)));
  }
  return out;
}

// Candidate BVH names (canonicalised: lower case, no separators) for each needed joint.
// CMU's LeftShoulder is the clavicle, so the shoulder joint is LeftArm there (as in Mixamo).
const std::vector<std::pair<std::string, std::vector<std::string>>>& BvhJointNames() {
  static const std::vector<std::pair<std::string, std::vector<std::string>>> names = {
      {"Hips", {"hips", "hip", "pelvis", "root"}},
      {"LeftUpLeg", {"leftupleg", "lefthip", "lhip", "leftthigh", "lthigh", "leftupperleg"}},
      {"LeftLeg", {"leftleg", "leftknee", "lknee", "leftshin", "lshin", "leftlowerleg"}},
      {"LeftFoot", {"leftfoot", "leftankle", "lankle", "lfoot"}},
      {"LeftToeBase", {"lefttoebase", "lefttoe", "ltoe", "lefttoes", "ltoebase"}},
      {"RightUpLeg", {"rightupleg", "righthip", "rhip", "rightthigh", "rthigh", "rightupperleg"}},
      {"RightLeg", {"rightleg", "rightknee", "rknee", "rightshin", "rshin", "rightlowerleg"}},
      {"RightFoot", {"rightfoot", "rightankle", "rankle", "rfoot"}},
      {"RightToeBase", {"righttoebase", "righttoe", "rtoe", "righttoes", "rtoebase"}},
      {"LeftArm", {"leftarm", "leftuparm", "leftupperarm", "lshldr", "lshoulderjoint"}},
      {"LeftForeArm", {"leftforearm", "leftelbow", "lforearm", "lelbow", "leftlowerarm"}},
      {"LeftHand", {"lefthand", "leftwrist", "lhand", "lwrist"}},
      {"RightArm", {"rightarm", "rightuparm", "rightupperarm", "rshldr", "rshoulderjoint"}},
      {"RightForeArm", {"rightforearm", "rightelbow", "rforearm", "relbow", "rightlowerarm"}},
      {"RightHand", {"righthand", "rightwrist", "rhand", "rwrist"}},
      {"Head", {"head"}},
  };
  return names;
}

}  // namespace

const Skeleton& BodySkeleton() { return GetSkeleton("halpe26"); }

BodyShape BodyShape::FromHeight(double h) {
  BodyShape b;
  b.height_m = h;
  b.hip_half_width_m = 0.052 * h;
  b.shoulder_half_width_m = 0.1 * h;
  b.thigh_m = 0.245 * h;
  b.shank_m = 0.246 * h;
  b.ankle_height_m = 0.039 * h;
  b.trunk_m = 0.288 * h;
  b.neck_to_head_m = 0.1 * h;
  b.head_radius_m = 0.06 * h;
  b.upper_arm_m = 0.186 * h;
  b.forearm_m = 0.146 * h;
  b.hand_m = 0.06 * h;
  b.heel_back_m = 0.04 * h;
  b.big_toe_m = 0.115 * h;
  b.small_toe_m = 0.09 * h;
  return b;
}

BodyPose BlendPoses(const BodyPose& a, const BodyPose& b, double w) {
  const auto mix = [w](double x, double y) { return x + w * (y - x); };
  BodyPose p;
  p.root_xy = a.root_xy + w * (b.root_xy - a.root_xy);
  p.heading_rad = a.heading_rad + w * WrapAngle(b.heading_rad - a.heading_rad);
  p.lift_m = mix(a.lift_m, b.lift_m);
  p.trunk_lean = mix(a.trunk_lean, b.trunk_lean);
  p.trunk_side = mix(a.trunk_side, b.trunk_side);
  p.trunk_twist = mix(a.trunk_twist, b.trunk_twist);
  p.head_pitch = mix(a.head_pitch, b.head_pitch);
  p.head_yaw = mix(a.head_yaw, b.head_yaw);
  for (int s = 0; s < 2; ++s) {
    p.hip_flex[s] = mix(a.hip_flex[s], b.hip_flex[s]);
    p.hip_abd[s] = mix(a.hip_abd[s], b.hip_abd[s]);
    p.knee_flex[s] = mix(a.knee_flex[s], b.knee_flex[s]);
    p.foot_pitch[s] = mix(a.foot_pitch[s], b.foot_pitch[s]);
    p.shoulder_flex[s] = mix(a.shoulder_flex[s], b.shoulder_flex[s]);
    p.shoulder_abd[s] = mix(a.shoulder_abd[s], b.shoulder_abd[s]);
    p.elbow_flex[s] = mix(a.elbow_flex[s], b.elbow_flex[s]);
  }
  p.anchor_feet = w < 0.5 ? a.anchor_feet : b.anchor_feet;
  return p;
}

std::vector<Eigen::Vector3d> BodyJoints(const BodyShape& shape, const BodyPose& pose) {
  const auto local = BodyFrameJoints(shape, pose);
  double lowest = 1e9;
  for (int j : {kLeftHeel, kRightHeel, kLeftBigToe, kRightBigToe, kLeftSmallToe, kRightSmallToe}) {
    lowest = std::min(lowest, local[j].z());
  }
  Vector3d offset(0, 0, pose.lift_m - lowest);
  if (pose.anchor_feet) {
    offset.head<2>() = -0.5 * (local[kLeftAnkle] + local[kRightAnkle]).head<2>();
  }
  const Eigen::Matrix3d world_from_body = RotZ(pose.heading_rad);
  const Vector3d root(pose.root_xy.x(), pose.root_xy.y(), 0.0);
  std::vector<Eigen::Vector3d> out(kNumJoints);
  for (int j = 0; j < kNumJoints; ++j) out[j] = root + world_from_body * (local[j] + offset);
  return out;
}

const std::vector<MotionKind>& AllMotionKinds() {
  static const std::vector<MotionKind> kinds = {MotionKind::kWalk,
                                                MotionKind::kSquat,
                                                MotionKind::kArmCircles,
                                                MotionKind::kJump,
                                                MotionKind::kTurn};
  return kinds;
}

std::optional<MotionKind> ParseMotionKind(const std::string& name) {
  for (MotionKind k : AllMotionKinds()) {
    if (name == MotionKindName(k)) return k;
  }
  return std::nullopt;
}

std::optional<std::vector<MotionKind>> ParseMotionList(const std::string& list,
                                                       std::string* bad_name) {
  std::vector<MotionKind> kinds;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t end = std::min(list.find(',', start), list.size());
    const std::string name = list.substr(start, end - start);
    const auto kind = ParseMotionKind(name);
    if (!kind) {
      if (bad_name) *bad_name = name;
      return std::nullopt;
    }
    kinds.push_back(*kind);
    start = end + 1;
  }
  return kinds;
}

const char* MotionKindName(MotionKind kind) {
  switch (kind) {
    case MotionKind::kWalk:
      return "walk";
    case MotionKind::kSquat:
      return "squat";
    case MotionKind::kArmCircles:
      return "arm_circles";
    case MotionKind::kJump:
      return "jump";
    case MotionKind::kTurn:
      return "turn";
  }
  return "?";
}

Poses3D ProceduralMotion(const BodyShape& shape,
                         const ProceduralMotionOptions& options,
                         int num_frames,
                         double frame_rate_hz) {
  RIGPOSE_CHECK(!options.clips.empty(), "no motion clips");
  RIGPOSE_CHECK(num_frames >= 0 && frame_rate_hz > 0, "bad frame count or rate");
  Poses3D poses(num_frames, kNumJoints);
  poses.skeleton = BodySkeleton().name;
  poses.frame_rate_hz = frame_rate_hz;
  const double dt = 1.0 / frame_rate_hz;
  const double clip_s = std::max(options.clip_duration_s, 2.0 * options.blend_s + dt);
  const double direction = options.walk_clockwise ? -1.0 : 1.0;
  const double angular_speed = options.walk_speed_mps / std::max(options.walk_radius_m, 0.05);
  double angle = options.start_angle_rad;  // position on the walking circle
  for (int f = 0; f < num_frames; ++f) {
    const double t = f * dt;
    const int clip = static_cast<int>(std::floor(t / clip_s));
    const double local_t = t - clip * clip_s;
    const MotionKind current = options.clips[clip % options.clips.size()];
    const MotionKind next = options.clips[(clip + 1) % options.clips.size()];
    // Weight of the next clip over the last blend_s seconds of this one.
    const double w = options.blend_s > 0
                         ? SmoothStep((local_t - (clip_s - options.blend_s)) / options.blend_s)
                         : 0.0;
    ClipState st;
    st.walk_xy = options.anchor_xy +
                 options.walk_radius_m * Eigen::Vector2d(std::cos(angle), std::sin(angle));
    st.walk_heading = angle + direction * M_PI / 2.0;
    const Eigen::Vector2d to_center = -st.walk_xy;
    st.inward_heading =
        to_center.norm() > 1e-6 ? std::atan2(to_center.y(), to_center.x()) : angle + M_PI;
    BodyPose pose = ClipPose(current, t, options, st);
    if (w > 0.0 && next != current) pose = BlendPoses(pose, ClipPose(next, t, options, st), w);
    const auto joints = BodyJoints(shape, pose);
    for (int j = 0; j < kNumJoints; ++j) poses.Set(f, j, joints[j]);
    // Advance along the circle while walking (weighted through the blends).
    const double walk_weight = (current == MotionKind::kWalk ? 1.0 - w : 0.0) +
                               (next == MotionKind::kWalk && next != current ? w : 0.0) +
                               (next == current && current == MotionKind::kWalk ? w : 0.0);
    angle += direction * angular_speed * walk_weight * dt;
  }
  return poses;
}

Poses3D BvhToBody(const BvhMotion& motion,
                  const std::string& path,
                  const BvhImportOptions& options,
                  int num_frames,
                  double frame_rate_hz) {
  RIGPOSE_CHECK(num_frames >= 0 && frame_rate_hz > 0, "bad frame count or rate");
  if (motion.num_frames <= 0) throw InputError(path + ": BVH file has no frames");
  // Find every needed joint.
  std::map<std::string, int> index;
  std::map<std::string, int> by_canon;
  for (size_t j = 0; j < motion.joints.size(); ++j) {
    if (!motion.joints[j].end_site) by_canon.emplace(Canon(motion.joints[j].name), int(j));
  }
  for (const auto& [role, candidates] : BvhJointNames()) {
    int found = -1;
    for (const std::string& c : candidates) {
      const auto it = by_canon.find(c);
      if (it != by_canon.end()) {
        found = it->second;
        break;
      }
    }
    if (found < 0) {
      std::string present;
      for (const auto& joint : motion.joints) {
        if (!joint.end_site) present += (present.empty() ? "" : ", ") + joint.name;
      }
      throw InputError(path + ": BVH joint '" + role + "' not found (looked for names like " +
                       candidates.front() + "); the file has: " + present);
    }
    index[role] = found;
  }
  // An end site below the head gives the top of the head.
  int head_end = -1;
  for (size_t j = 0; j < motion.joints.size(); ++j) {
    if (motion.joints[j].end_site && motion.joints[j].parent == index["Head"]) head_end = int(j);
  }

  // Rest pose (all channels zero except offsets): stature and the body axes in file units.
  std::vector<Vector3d> rest(motion.joints.size());
  for (size_t j = 0; j < motion.joints.size(); ++j) {
    const int parent = motion.joints[j].parent;
    rest[j] = (parent < 0 ? Vector3d::Zero() : rest[parent]) + motion.joints[j].offset;
  }
  const Vector3d file_up = options.z_up_file ? Vector3d::UnitZ() : Vector3d::UnitY();
  const Vector3d rest_left_raw = rest[index["LeftUpLeg"]] - rest[index["RightUpLeg"]];
  const Vector3d rest_left = (rest_left_raw - rest_left_raw.dot(file_up) * file_up).normalized();
  const Vector3d rest_forward = rest_left.cross(file_up).normalized();
  double top = rest[index["Head"]].dot(file_up);
  if (head_end >= 0) top = std::max(top, rest[head_end].dot(file_up));
  double bottom =
      std::min(rest[index["LeftFoot"]].dot(file_up), rest[index["RightFoot"]].dot(file_up));
  const double stature_units = (top - bottom) * (head_end >= 0 ? 1.0 : 1.12) + 1e-12;
  double unit_m = options.unit_m;
  if (unit_m <= 0.0) {
    // A human is 1.4-2.1 m tall; find the unit that makes this one so.
    for (double u : {1.0, 0.01, 0.001, 0.0254, 0.056444}) {
      const double h = stature_units * u;
      if (h > 1.2 && h < 2.3) {
        unit_m = u;
        break;
      }
    }
    if (unit_m <= 0.0) {
      throw InputError(path + ": cannot tell the BVH's length unit from its stature (" +
                       std::to_string(stature_units) +
                       " file units at rest); give the metres per unit");
    }
  }
  if (!(rest_left.allFinite() && rest_forward.allFinite())) {
    throw InputError(path + ": BVH hips LeftUpLeg/RightUpLeg coincide at rest");
  }
  // File (Y up) -> world (Z up): a +90 deg rotation about X.
  Eigen::Matrix3d world_from_file = Eigen::Matrix3d::Identity();
  if (!options.z_up_file) world_from_file << 1, 0, 0, 0, 0, -1, 0, 1, 0;
  world_from_file *= unit_m;

  Poses3D poses(num_frames, kNumJoints);
  poses.skeleton = BodySkeleton().name;
  poses.frame_rate_hz = frame_rate_hz;
  const double file_rate = motion.frame_time_s > 0 ? 1.0 / motion.frame_time_s : frame_rate_hz;
  std::vector<Vector3d> pos;
  std::vector<Eigen::Matrix3d> rot;
  Eigen::Vector2d sum_xy = Eigen::Vector2d::Zero();
  for (int f = 0; f < num_frames; ++f) {
    const int file_frame = std::clamp(
        options.first_frame + static_cast<int>(std::lround(f * file_rate / frame_rate_hz)),
        0,
        motion.num_frames - 1);
    BvhForwardKinematics(motion, file_frame, &pos, &rot);
    const auto P = [&](const char* role) { return pos[index[role]]; };
    std::array<Vector3d, kNumJoints> j;  // file units, file frame
    j[kLeftHip] = P("LeftUpLeg");
    j[kRightHip] = P("RightUpLeg");
    j[kLeftKnee] = P("LeftLeg");
    j[kRightKnee] = P("RightLeg");
    j[kLeftAnkle] = P("LeftFoot");
    j[kRightAnkle] = P("RightFoot");
    j[kLeftShoulder] = P("LeftArm");
    j[kRightShoulder] = P("RightArm");
    j[kLeftElbow] = P("LeftForeArm");
    j[kRightElbow] = P("RightForeArm");
    j[kLeftWrist] = P("LeftHand");
    j[kRightWrist] = P("RightHand");
    j[kMidHip] = 0.5 * (j[kLeftHip] + j[kRightHip]);
    j[kNeck] = 0.5 * (j[kLeftShoulder] + j[kRightShoulder]);
    // Head: the Head joint sits at the base of the skull; its end site at the crown.
    const Eigen::Matrix3d& head_rot = rot[index["Head"]];
    const Vector3d up = (head_rot * file_up).normalized();
    const Vector3d forward = (head_rot * rest_forward).normalized();
    const Vector3d left = up.cross(forward).normalized();
    const double r = 0.06 * 1.75 / unit_m;  // head radius of a 1.75 m subject, file units
    const Vector3d crown = head_end >= 0 ? pos[head_end] : P("Head") + 2.4 * r * up;
    const Vector3d center = 0.5 * (P("Head") + crown) + 0.1 * r * forward;
    j[kHeadTop] = crown;
    j[kNose] = center + 1.02 * r * forward - 0.25 * r * up;
    const auto on_head = [&](double x, double y, double z) {
      const Vector3d v = Vector3d(x, y, z).normalized() * 1.01 * r;
      return center + v.x() * forward + v.y() * left + v.z() * up;
    };
    j[kLeftEye] = on_head(0.92, 0.36, 0.13);
    j[kRightEye] = on_head(0.92, -0.36, 0.13);
    j[kLeftEar] = on_head(-0.05, 1.0, 0);
    j[kRightEar] = on_head(-0.05, -1.0, 0);
    // Feet: the sole plane through the toe base; heel behind and below the ankle.
    for (int side = 0; side < 2; ++side) {
      const double s = side == 0 ? 1.0 : -1.0;
      const char* foot_name = side == 0 ? "LeftFoot" : "RightFoot";
      const char* toe_name = side == 0 ? "LeftToeBase" : "RightToeBase";
      const Vector3d ankle = P(foot_name);
      const Vector3d toe = P(toe_name);
      const Eigen::Matrix3d& foot_rot = rot[index[foot_name]];
      const Vector3d foot_up = (foot_rot * file_up).normalized();
      Vector3d fwd = toe - ankle;
      fwd = (fwd - fwd.dot(foot_up) * foot_up).normalized();
      const Vector3d outward = s * foot_up.cross(fwd).normalized();
      const double foot_len = (toe - ankle).norm();
      const double ankle_height = (ankle - toe).dot(foot_up);
      const Vector3d sole = ankle - std::max(ankle_height, 0.3 * foot_len) * foot_up;
      j[side == 0 ? kLeftHeel : kRightHeel] = sole - 0.3 * foot_len * fwd;
      j[side == 0 ? kLeftBigToe : kRightBigToe] =
          sole + 1.25 * foot_len * fwd - 0.1 * foot_len * outward;
      j[side == 0 ? kLeftSmallToe : kRightSmallToe] =
          sole + 1.0 * foot_len * fwd + 0.25 * foot_len * outward;
    }
    for (int k = 0; k < kNumJoints; ++k) {
      const Vector3d world = world_from_file * j[k];
      poses.Set(f, k, world);
    }
    sum_xy += poses.Position(f, kMidHip).head<2>();
  }
  // Centre the clip's mean ground position on the anchor.
  if (num_frames > 0) {
    const Eigen::Vector2d shift = options.anchor_xy - sum_xy / num_frames;
    for (int f = 0; f < num_frames; ++f) {
      for (int k = 0; k < kNumJoints; ++k) {
        Vector3d p = poses.Position(f, k);
        p.head<2>() += shift;
        poses.Set(f, k, p);
      }
    }
  }
  return poses;
}

}  // namespace rigpose::synth

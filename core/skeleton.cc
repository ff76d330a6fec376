// SPDX-License-Identifier: BSD-3-Clause
#include "core/skeleton.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "core/error.h"

namespace rigpose {
namespace {

std::string Lower(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c != '-' && c != '_' && c != ' ' && c != '.')
      out.push_back(static_cast<char>(std::tolower(c)));
  }
  return out;
}

// Bones given by joint names so that each definition reads like its source documentation.
Skeleton Make(const std::string& name,
              const std::string& display_name,
              const std::vector<std::string>& joints,
              const std::vector<std::pair<std::string, std::string>>& bones) {
  Skeleton s;
  s.name = name;
  s.display_name = display_name;
  s.joint_names = joints;
  for (const auto& [a, b] : bones) {
    const auto ia = s.JointIndex(a);
    const auto ib = s.JointIndex(b);
    RIGPOSE_CHECK(ia && ib, "bad bone " << a << "-" << b << " in " << name);
    s.bones.emplace_back(*ia, *ib);
  }
  return s;
}

const std::vector<std::string> kCoco17Joints = {"nose",
                                                "left_eye",
                                                "right_eye",
                                                "left_ear",
                                                "right_ear",
                                                "left_shoulder",
                                                "right_shoulder",
                                                "left_elbow",
                                                "right_elbow",
                                                "left_wrist",
                                                "right_wrist",
                                                "left_hip",
                                                "right_hip",
                                                "left_knee",
                                                "right_knee",
                                                "left_ankle",
                                                "right_ankle"};

const std::vector<std::pair<std::string, std::string>> kCocoLimbs = {
    {"left_ankle", "left_knee"},
    {"left_knee", "left_hip"},
    {"right_ankle", "right_knee"},
    {"right_knee", "right_hip"},
    {"left_hip", "right_hip"},
    {"left_shoulder", "left_hip"},
    {"right_shoulder", "right_hip"},
    {"left_shoulder", "right_shoulder"},
    {"left_shoulder", "left_elbow"},
    {"right_shoulder", "right_elbow"},
    {"left_elbow", "left_wrist"},
    {"right_elbow", "right_wrist"},
    {"left_eye", "right_eye"},
    {"nose", "left_eye"},
    {"nose", "right_eye"},
    {"left_eye", "left_ear"},
    {"right_eye", "right_ear"}};

std::vector<std::pair<std::string, std::string>> Concat(
    std::vector<std::pair<std::string, std::string>> a,
    const std::vector<std::pair<std::string, std::string>>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

const std::vector<std::pair<std::string, std::string>> kFeet = {
    {"left_ankle", "left_big_toe"},
    {"left_big_toe", "left_small_toe"},
    {"left_ankle", "left_heel"},
    {"right_ankle", "right_big_toe"},
    {"right_big_toe", "right_small_toe"},
    {"right_ankle", "right_heel"}};

std::vector<Skeleton> BuildRegistry() {
  std::vector<Skeleton> r;
  // COCO-17 (COCO keypoints 2017 order).
  r.push_back(
      Make("coco17",
           "COCO-17",
           kCoco17Joints,
           Concat(kCocoLimbs, {{"left_ear", "left_shoulder"}, {"right_ear", "right_shoulder"}})));

  // HALPE-26 (AlphaPose): COCO-17 + head top, neck, mid hip, toes and heels.
  std::vector<std::string> halpe = kCoco17Joints;
  for (const char* j : {"head_top",
                        "neck",
                        "mid_hip",
                        "left_big_toe",
                        "right_big_toe",
                        "left_small_toe",
                        "right_small_toe",
                        "left_heel",
                        "right_heel"}) {
    halpe.push_back(j);
  }
  r.push_back(Make("halpe26",
                   "HALPE-26",
                   halpe,
                   Concat(Concat(kCocoLimbs, kFeet),
                          {{"head_top", "neck"},
                           {"neck", "left_shoulder"},
                           {"neck", "right_shoulder"},
                           {"neck", "mid_hip"},
                           {"mid_hip", "left_hip"},
                           {"mid_hip", "right_hip"}})));

  // OpenPose BODY_25.
  r.push_back(
      Make("body25",
           "BODY_25",
           {"nose",           "neck",        "right_shoulder", "right_elbow",     "right_wrist",
            "left_shoulder",  "left_elbow",  "left_wrist",     "mid_hip",         "right_hip",
            "right_knee",     "right_ankle", "left_hip",       "left_knee",       "left_ankle",
            "right_eye",      "left_eye",    "right_ear",      "left_ear",        "left_big_toe",
            "left_small_toe", "left_heel",   "right_big_toe",  "right_small_toe", "right_heel"},
           Concat({{"neck", "mid_hip"},
                   {"neck", "right_shoulder"},
                   {"neck", "left_shoulder"},
                   {"right_shoulder", "right_elbow"},
                   {"right_elbow", "right_wrist"},
                   {"left_shoulder", "left_elbow"},
                   {"left_elbow", "left_wrist"},
                   {"mid_hip", "right_hip"},
                   {"right_hip", "right_knee"},
                   {"right_knee", "right_ankle"},
                   {"mid_hip", "left_hip"},
                   {"left_hip", "left_knee"},
                   {"left_knee", "left_ankle"},
                   {"neck", "nose"},
                   {"nose", "right_eye"},
                   {"right_eye", "right_ear"},
                   {"nose", "left_eye"},
                   {"left_eye", "left_ear"}},
                  kFeet)));

  // OpenPose BODY_25B (first 17 = COCO-17 order).
  std::vector<std::string> body25b = kCoco17Joints;
  for (const char* j : {"neck",
                        "head_top",
                        "left_big_toe",
                        "left_small_toe",
                        "left_heel",
                        "right_big_toe",
                        "right_small_toe",
                        "right_heel"}) {
    body25b.push_back(j);
  }
  r.push_back(Make("body25b",
                   "BODY_25B",
                   body25b,
                   Concat(Concat(kCocoLimbs, kFeet),
                          {{"neck", "head_top"},
                           {"neck", "nose"},
                           {"neck", "left_shoulder"},
                           {"neck", "right_shoulder"}})));

  // Human3.6M-17 (mmpose order).
  r.push_back(Make("h36m17",
                   "Human3.6M-17",
                   {"pelvis",
                    "right_hip",
                    "right_knee",
                    "right_ankle",
                    "left_hip",
                    "left_knee",
                    "left_ankle",
                    "spine",
                    "thorax",
                    "neck_base",
                    "head_top",
                    "left_shoulder",
                    "left_elbow",
                    "left_wrist",
                    "right_shoulder",
                    "right_elbow",
                    "right_wrist"},
                   {{"pelvis", "right_hip"},
                    {"right_hip", "right_knee"},
                    {"right_knee", "right_ankle"},
                    {"pelvis", "left_hip"},
                    {"left_hip", "left_knee"},
                    {"left_knee", "left_ankle"},
                    {"pelvis", "spine"},
                    {"spine", "thorax"},
                    {"thorax", "neck_base"},
                    {"neck_base", "head_top"},
                    {"thorax", "left_shoulder"},
                    {"left_shoulder", "left_elbow"},
                    {"left_elbow", "left_wrist"},
                    {"thorax", "right_shoulder"},
                    {"right_shoulder", "right_elbow"},
                    {"right_elbow", "right_wrist"}}));

  // CMU Panoptic joints19 (BodyCenter = mid_hip).
  r.push_back(Make("panoptic19",
                   "CMU-Panoptic-19",
                   {"neck",
                    "nose",
                    "mid_hip",
                    "left_shoulder",
                    "left_elbow",
                    "left_wrist",
                    "left_hip",
                    "left_knee",
                    "left_ankle",
                    "right_shoulder",
                    "right_elbow",
                    "right_wrist",
                    "right_hip",
                    "right_knee",
                    "right_ankle",
                    "left_eye",
                    "left_ear",
                    "right_eye",
                    "right_ear"},
                   {{"neck", "nose"},
                    {"neck", "mid_hip"},
                    {"neck", "left_shoulder"},
                    {"left_shoulder", "left_elbow"},
                    {"left_elbow", "left_wrist"},
                    {"mid_hip", "left_hip"},
                    {"left_hip", "left_knee"},
                    {"left_knee", "left_ankle"},
                    {"neck", "right_shoulder"},
                    {"right_shoulder", "right_elbow"},
                    {"right_elbow", "right_wrist"},
                    {"mid_hip", "right_hip"},
                    {"right_hip", "right_knee"},
                    {"right_knee", "right_ankle"},
                    {"nose", "left_eye"},
                    {"left_eye", "left_ear"},
                    {"nose", "right_eye"},
                    {"right_eye", "right_ear"}}));
  return r;
}

const std::vector<Skeleton>& Registry() {
  static const std::vector<Skeleton> registry = BuildRegistry();
  return registry;
}

}  // namespace

std::optional<int> Skeleton::JointIndex(const std::string& joint_name) const {
  for (int i = 0; i < NumJoints(); ++i) {
    if (joint_names[i] == joint_name) return i;
  }
  return std::nullopt;
}

std::vector<int> Skeleton::FlipPermutation() const {
  std::vector<int> perm(NumJoints());
  for (int i = 0; i < NumJoints(); ++i) {
    perm[i] = i;
    const std::string& n = joint_names[i];
    std::string mirrored;
    if (n.rfind("left_", 0) == 0) mirrored = "right_" + n.substr(5);
    if (n.rfind("right_", 0) == 0) mirrored = "left_" + n.substr(6);
    if (!mirrored.empty()) {
      if (auto j = JointIndex(mirrored)) perm[i] = *j;
    }
  }
  return perm;
}

const std::vector<std::string>& SkeletonNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const Skeleton& s : Registry()) out.push_back(s.name);
    return out;
  }();
  return names;
}

const Skeleton* FindSkeleton(const std::string& name) {
  const std::string key = Lower(name);
  for (const Skeleton& s : Registry()) {
    if (Lower(s.name) == key || Lower(s.display_name) == key) return &s;
  }
  if (key == "coco" || key == "coco2017") return FindSkeleton("coco17");
  if (key == "halpe") return FindSkeleton("halpe26");
  if (key == "h36m" || key == "human36m" || key == "human3.6m") return FindSkeleton("h36m17");
  if (key == "panoptic" || key == "cmupanoptic19" || key == "coco19")
    return FindSkeleton("panoptic19");
  return nullptr;
}

const Skeleton& GetSkeleton(const std::string& name) {
  if (const Skeleton* s = FindSkeleton(name)) return *s;
  std::string known;
  for (const std::string& n : SkeletonNames()) known += (known.empty() ? "" : ", ") + n;
  throw InputError("unknown skeleton '" + name + "' (known: " + known + ")");
}

std::optional<std::string> SkeletonFromJointCount(int num_joints) {
  if (num_joints == 17) return std::string("coco17");
  std::optional<std::string> found;
  for (const Skeleton& s : Registry()) {
    if (s.NumJoints() == num_joints) {
      if (found) return std::nullopt;
      found = s.name;
    }
  }
  return found;
}

int JointMapping::NumMapped() const {
  int n = 0;
  for (const auto& s : sources) n += s.empty() ? 0 : 1;
  return n;
}

JointMapping MakeJointMapping(const Skeleton& from, const Skeleton& to) {
  JointMapping m;
  m.from = from.name;
  m.to = to.name;
  m.sources.resize(to.NumJoints());
  m.exact.assign(to.NumJoints(), false);
  auto mean_of = [&](const char* a, const char* b) -> std::vector<std::pair<int, double>> {
    const auto ia = from.JointIndex(a);
    const auto ib = from.JointIndex(b);
    if (ia && ib) return {{*ia, 0.5}, {*ib, 0.5}};
    return {};
  };
  for (int j = 0; j < to.NumJoints(); ++j) {
    const std::string& name = to.joint_names[j];
    if (auto i = from.JointIndex(name)) {
      m.sources[j] = {{*i, 1.0}};
      m.exact[j] = true;
      continue;
    }
    if (name == "mid_hip" || name == "pelvis") {
      const char* alias = name == "mid_hip" ? "pelvis" : "mid_hip";
      if (auto i = from.JointIndex(alias)) {
        m.sources[j] = {{*i, 1.0}};
      } else {
        m.sources[j] = mean_of("left_hip", "right_hip");
      }
    } else if (name == "neck") {
      m.sources[j] = mean_of("left_shoulder", "right_shoulder");
    }
  }
  return m;
}

}  // namespace rigpose

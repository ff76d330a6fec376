// SPDX-License-Identifier: BSD-3-Clause
// Helpers shared by the subcommands (declared in cli/cli.h).
#include <numeric>
#include <ostream>

#include "cli/cli.h"
#include "core/error.h"
#include "core/joint_names.h"
#include "detect2d/model.h"
#include "detect2d/training_data.h"

namespace rigpose::cli {

std::string JoinList(const std::vector<std::string>& items) {
  std::string text;
  for (const std::string& item : items) text += (text.empty() ? "" : ", ") + item;
  return text;
}

Rig ReadCliRig(const std::string& path, const std::string& format, std::ostream& out) {
  CalibReadOptions calib_options;
  if (!format.empty()) calib_options.format = CalibFormatOption(format, "--rig-format");
  std::vector<std::string> warnings;
  Rig rig = ReadRig(path, calib_options, &warnings);
  for (const std::string& warning : warnings) out << "warning: " << warning << "\n";
  if (rig.NumCameras() == 0) throw InputError(path + ": the rig has no cameras");
  if (const auto problems = rig.Problems(); !problems.empty()) {
    throw InputError(FormatProblems(path, problems));
  }
  return rig;
}

std::vector<int> MapPoseJoints(const Poses3D& poses,
                               const Skeleton& skeleton,
                               const std::string& path,
                               const std::string& unused_means,
                               std::ostream& out) {
  std::vector<int> pose_joint(skeleton.NumJoints(), -1);
  if (poses.joint_names.empty()) {
    if (poses.num_joints() != skeleton.NumJoints()) {
      throw InputError(path + ": " + std::to_string(poses.num_joints()) +
                       " joints per frame, but skeleton " + skeleton.name + " has " +
                       std::to_string(skeleton.NumJoints()) +
                       " joints (pass the right --skeleton)");
    }
    std::iota(pose_joint.begin(), pose_joint.end(), 0);
    return pose_joint;
  }
  std::vector<std::string> unmatched;
  int matched = 0;
  for (int r = 0; r < poses.num_joints(); ++r) {
    const std::string key = JointNameKey(poses.joint_names[r]);
    bool found = false;
    for (int j = 0; j < skeleton.NumJoints() && !found; ++j) {
      if (JointNameKey(skeleton.joint_names[j]) != key) continue;
      found = true;
      if (pose_joint[j] < 0) {
        pose_joint[j] = r;
        ++matched;
      }
    }
    if (!found) unmatched.push_back(poses.joint_names[r]);
  }
  if (matched == 0) {
    throw InputError(path + ": none of its " + std::to_string(poses.num_joints()) + " markers (" +
                     JoinList(poses.joint_names) + ") is a joint of skeleton " + skeleton.name +
                     " (" + JoinList(skeleton.joint_names) + "); pass the right --skeleton");
  }
  if (!unmatched.empty()) {
    out << "warning: " << path << ": markers not in skeleton " << skeleton.name << " are "
        << unused_means << ": " << JoinList(unmatched) << "\n";
  }
  std::vector<std::string> missing;
  for (int j = 0; j < skeleton.NumJoints(); ++j) {
    if (pose_joint[j] < 0) missing.push_back(skeleton.joint_names[j]);
  }
  if (!missing.empty()) {
    out << "warning: " << path << ": no marker for " << JoinList(missing) << "\n";
  }
  return pose_joint;
}

TrainingInputSpec InputSpecOf(const ModelInfo& info) {
  TrainingInputSpec spec;
  spec.input_width = info.input_width;
  spec.input_height = info.input_height;
  spec.heatmap_stride = info.heatmap_stride;
  spec.sigma = info.sigma;
  spec.mean = info.mean;
  spec.std = info.std;
  return spec;
}

}  // namespace rigpose::cli

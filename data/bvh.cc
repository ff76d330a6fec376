// SPDX-License-Identifier: BSD-3-Clause
#include "data/bvh.h"

#include <cmath>
#include <sstream>

#include <Eigen/Geometry>

#include "core/error.h"
#include "data/file_util.h"

namespace rigpose {
namespace {

// Whitespace tokens with their line numbers.
struct Tokens {
  std::vector<std::string> text;
  std::vector<int> line;
  size_t pos = 0;
  std::string path;

  bool Done() const { return pos >= text.size(); }
  int Line() const { return pos < line.size() ? line[pos] : (line.empty() ? 0 : line.back()); }
  const std::string& Next(const std::string& what) {
    if (Done()) ThrowIo(path, Line(), "", "unexpected end of file, expected " + what);
    return text[pos++];
  }
  void Expect(const std::string& word) {
    const int at = Line();
    const std::string& got = Next("'" + word + "'");
    if (got != word) ThrowIo(path, at, "", "expected '" + word + "', got '" + got + "'");
  }
  double Number(const std::string& what) {
    const int at = Line();
    const std::string& t = Next(what);
    char* end = nullptr;
    const double v = std::strtod(t.c_str(), &end);
    if (end == t.c_str() || *end != '\0' || !std::isfinite(v)) {
      ThrowIo(path, at, "", "expected a number for " + what + ", got '" + t + "'");
    }
    return v;
  }
};

BvhChannel ParseChannel(const std::string& name, const Tokens& tokens) {
  if (name == "Xposition") return BvhChannel::kXposition;
  if (name == "Yposition") return BvhChannel::kYposition;
  if (name == "Zposition") return BvhChannel::kZposition;
  if (name == "Xrotation") return BvhChannel::kXrotation;
  if (name == "Yrotation") return BvhChannel::kYrotation;
  if (name == "Zrotation") return BvhChannel::kZrotation;
  ThrowIo(tokens.path, tokens.Line(), "", "unknown channel '" + name + "'");
}

void ParseJoint(Tokens& tokens, BvhMotion& motion, int parent, const std::string& name) {
  BvhJoint joint;
  joint.name = name;
  joint.parent = parent;
  tokens.Expect("{");
  tokens.Expect("OFFSET");
  for (int i = 0; i < 3; ++i) joint.offset[i] = tokens.Number("OFFSET of " + name);
  tokens.Expect("CHANNELS");
  const int at = tokens.Line();
  const double count = tokens.Number("CHANNELS count of " + name);
  if (count < 0 || count > 6 || count != std::floor(count)) {
    ThrowIo(tokens.path, at, "", "joint '" + name + "': channel count must be 0..6");
  }
  for (int i = 0; i < static_cast<int>(count); ++i) {
    joint.channels.push_back(ParseChannel(tokens.Next("channel name"), tokens));
  }
  joint.first_channel = motion.num_channels;
  motion.num_channels += static_cast<int>(joint.channels.size());
  const int index = static_cast<int>(motion.joints.size());
  motion.joints.push_back(joint);
  while (true) {
    const int line = tokens.Line();
    const std::string& word = tokens.Next("JOINT, End Site or '}' in joint '" + name + "'");
    if (word == "}") return;
    if (word == "JOINT") {
      const std::string child = tokens.Next("joint name");
      ParseJoint(tokens, motion, index, child);
    } else if (word == "End") {
      tokens.Expect("Site");
      BvhJoint end;
      end.name = name + "_end";
      end.parent = index;
      end.end_site = true;
      end.first_channel = motion.num_channels;
      tokens.Expect("{");
      tokens.Expect("OFFSET");
      for (int i = 0; i < 3; ++i) end.offset[i] = tokens.Number("End Site OFFSET of " + name);
      tokens.Expect("}");
      motion.joints.push_back(end);
    } else {
      ThrowIo(tokens.path,
              line,
              "",
              "joint '" + name + "': expected JOINT, End Site or '}', got '" + word + "'");
    }
  }
}

}  // namespace

int BvhMotion::JointIndex(const std::string& name) const {
  for (size_t i = 0; i < joints.size(); ++i) {
    if (joints[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

BvhMotion ReadBvh(const std::string& path) {
  const std::string text = ReadFileToString(path);
  Tokens tokens;
  tokens.path = path;
  {
    std::istringstream lines(text);
    std::string line_text;
    int line_number = 0;
    while (std::getline(lines, line_text)) {
      ++line_number;
      std::istringstream words(line_text);
      std::string word;
      while (words >> word) {
        // "Frame Time:" is two tokens; keep them apart from numbers.
        tokens.text.push_back(word);
        tokens.line.push_back(line_number);
      }
    }
  }
  BvhMotion motion;
  tokens.Expect("HIERARCHY");
  tokens.Expect("ROOT");
  const std::string root = tokens.Next("root joint name");
  ParseJoint(tokens, motion, -1, root);
  tokens.Expect("MOTION");
  tokens.Expect("Frames:");
  const int frames_line = tokens.Line();
  const double frames = tokens.Number("Frames");
  if (frames < 0 || frames != std::floor(frames))
    ThrowIo(path, frames_line, "Frames", "must be a count");
  motion.num_frames = static_cast<int>(frames);
  tokens.Expect("Frame");
  tokens.Expect("Time:");
  motion.frame_time_s = tokens.Number("Frame Time");
  if (!(motion.frame_time_s > 0)) ThrowIo(path, tokens.Line(), "Frame Time", "must be > 0");
  motion.values.reserve(static_cast<size_t>(motion.num_frames) * motion.num_channels);
  for (int f = 0; f < motion.num_frames; ++f) {
    if (tokens.Done()) {
      ThrowIo(path,
              tokens.Line(),
              "",
              "file ends after " + std::to_string(f) + " of " + std::to_string(motion.num_frames) +
                  " frames");
    }
    const int row_line = tokens.line[tokens.pos];
    for (int c = 0; c < motion.num_channels; ++c) {
      if (tokens.Done() || tokens.line[tokens.pos] != row_line) {
        ThrowIo(path,
                row_line,
                "",
                "frame " + std::to_string(f) + " has " + std::to_string(c) +
                    " values, the hierarchy needs " + std::to_string(motion.num_channels));
      }
      motion.values.push_back(tokens.Number("frame " + std::to_string(f)));
    }
    if (!tokens.Done() && tokens.line[tokens.pos] == row_line) {
      ThrowIo(path,
              row_line,
              "",
              "frame " + std::to_string(f) + " has more values than the hierarchy's " +
                  std::to_string(motion.num_channels) + " channels");
    }
  }
  if (!tokens.Done()) {
    ThrowIo(path,
            tokens.Line(),
            "",
            "more motion rows than 'Frames: " + std::to_string(motion.num_frames) + "'");
  }
  return motion;
}

std::vector<Eigen::Vector3d> BvhForwardKinematics(const BvhMotion& motion, int frame) {
  std::vector<Eigen::Vector3d> position;
  BvhForwardKinematics(motion, frame, &position, nullptr);
  return position;
}

void BvhForwardKinematics(const BvhMotion& motion,
                          int frame,
                          std::vector<Eigen::Vector3d>* positions,
                          std::vector<Eigen::Matrix3d>* rotations) {
  RIGPOSE_CHECK(frame >= 0 && frame < motion.num_frames,
                "frame " << frame << " outside [0, " << motion.num_frames << ")");
  const double* row = motion.values.data() + static_cast<size_t>(frame) * motion.num_channels;
  const size_t n = motion.joints.size();
  std::vector<Eigen::Vector3d>& position = *positions;
  std::vector<Eigen::Matrix3d> local_rotations;
  std::vector<Eigen::Matrix3d>& rotation = rotations ? *rotations : local_rotations;
  position.resize(n);
  rotation.resize(n);
  const double kDegToRad = M_PI / 180.0;
  for (size_t j = 0; j < n; ++j) {
    const BvhJoint& joint = motion.joints[j];
    Eigen::Vector3d local = joint.offset;
    Eigen::Matrix3d local_rotation = Eigen::Matrix3d::Identity();
    for (size_t c = 0; c < joint.channels.size(); ++c) {
      const double v = row[joint.first_channel + c];
      switch (joint.channels[c]) {
        case BvhChannel::kXposition:
          local.x() += v;
          break;
        case BvhChannel::kYposition:
          local.y() += v;
          break;
        case BvhChannel::kZposition:
          local.z() += v;
          break;
        case BvhChannel::kXrotation:
          local_rotation *=
              Eigen::AngleAxisd(v * kDegToRad, Eigen::Vector3d::UnitX()).toRotationMatrix();
          break;
        case BvhChannel::kYrotation:
          local_rotation *=
              Eigen::AngleAxisd(v * kDegToRad, Eigen::Vector3d::UnitY()).toRotationMatrix();
          break;
        case BvhChannel::kZrotation:
          local_rotation *=
              Eigen::AngleAxisd(v * kDegToRad, Eigen::Vector3d::UnitZ()).toRotationMatrix();
          break;
      }
    }
    if (joint.parent < 0) {
      position[j] = local;
      rotation[j] = local_rotation;
    } else {
      position[j] = position[joint.parent] + rotation[joint.parent] * local;
      rotation[j] = rotation[joint.parent] * local_rotation;
    }
  }
}

}  // namespace rigpose

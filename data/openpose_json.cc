// SPDX-License-Identifier: BSD-3-Clause
#include "data/openpose_json.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/skeleton.h"
#include "data/file_util.h"

namespace rigpose {
namespace fs = std::filesystem;
namespace {

// Frame numbers beyond this are taken for timestamps or typos, not frame indices (the dense
// array would need gigabytes).
constexpr int64_t kMaxFrameIndex = 10'000'000;
constexpr char kJsonSuffix[] = "_json";

struct RawFrame {
  int frame = 0;
  std::string path;
  // One entry per person: the raw pose_keypoints_2d values (null read as NaN).
  std::vector<std::vector<double>> people;
};

struct RawFolder {
  std::string folder;
  std::string camera;
  std::vector<RawFrame> frames;  // sorted by frame index; only those in the range read
  int num_files = 0;             // .json files in the folder
  int num_frames = 0;            // highest frame index + 1 over the whole folder
};

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string StripSuffix(const std::string& s, const std::string& suffix) {
  return EndsWith(s, suffix) ? s.substr(0, s.size() - suffix.size()) : s;
}

// "out/" -> "out"; keeps "/" and "." as they are.
fs::path WithoutTrailingSlash(const std::string& path) {
  fs::path p = fs::path(path).lexically_normal();
  if (p.filename().empty() && p.has_parent_path() && p != p.root_path()) p = p.parent_path();
  return p;
}

std::string FolderName(const std::string& folder) {
  const fs::path p = WithoutTrailingSlash(folder);
  std::string name = p.filename().string();
  if (name.empty() || name == ".") name = fs::absolute(p).lexically_normal().filename().string();
  return name;
}

bool IsJsonFile(const fs::directory_entry& entry) {
  std::error_code ec;
  const std::string name = entry.path().filename().string();
  return !name.empty() && name[0] != '.' && entry.is_regular_file(ec) &&
         FileExtension(name) == ".json";
}

// Last run of digits in the file name without ".json" and a trailing "_keypoints".
std::optional<int64_t> FrameNumberFromName(const std::string& filename) {
  std::string stem = filename.substr(0, filename.size() - 5);  // ".json"
  stem = StripSuffix(stem, "_keypoints");
  size_t end = stem.size();
  while (end > 0 && !std::isdigit(static_cast<unsigned char>(stem[end - 1]))) --end;
  if (end == 0) return std::nullopt;
  size_t begin = end;
  while (begin > 0 && std::isdigit(static_cast<unsigned char>(stem[begin - 1]))) --begin;
  const std::string digits = stem.substr(begin, end - begin);
  // Leading zeros do not count towards the size limit.
  const size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) return 0;
  if (digits.size() - first > 12) return std::numeric_limits<int64_t>::max();
  return std::stoll(digits.substr(first));
}

// Python's json module writes NaN / Infinity / -Infinity, which strict JSON (and nlohmann)
// rejects; map them to null outside strings so they read as NaN.
std::string ReplaceNonFiniteLiterals(const std::string& text) {
  if (text.find("NaN") == std::string::npos && text.find("Infinity") == std::string::npos) {
    return text;
  }
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\' && i + 1 < text.size()) {
        out.push_back(text[++i]);
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      out.push_back(c);
    } else if (text.compare(i, 3, "NaN") == 0) {
      out += "null";
      i += 2;
    } else if (text.compare(i, 9, "-Infinity") == 0) {
      out += "null";
      i += 8;
    } else if (text.compare(i, 8, "Infinity") == 0) {
      out += "null";
      i += 7;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string PersonKey(size_t person) {
  return "people[" + std::to_string(person) + "].pose_keypoints_2d";
}

RawFrame ParseFrameFile(const std::string& path, int frame) {
  RawFrame raw;
  raw.frame = frame;
  raw.path = path;
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(ReplaceNonFiniteLiterals(ReadFileToString(path)));
  } catch (const nlohmann::json::parse_error& e) {
    ThrowIo(path, 0, "", std::string("malformed JSON: ") + e.what());
  }
  if (!doc.is_object()) ThrowIo(path, 0, "", "expected a JSON object at the top level");
  const auto people = doc.find("people");
  if (people == doc.end() || !people->is_array()) {
    ThrowIo(path, 0, "people", "missing or not an array (not an OpenPose JSON file?)");
  }
  for (size_t p = 0; p < people->size(); ++p) {
    const nlohmann::json& person = (*people)[p];
    if (!person.is_object()) {
      ThrowIo(path, 0, "people[" + std::to_string(p) + "]", "expected an object");
    }
    const auto values = person.find("pose_keypoints_2d");
    if (values == person.end()) {
      // Pose2Sim's association writes {} when it kept nobody: an empty person, no detection.
      raw.people.emplace_back();
      continue;
    }
    if (!values->is_array()) ThrowIo(path, 0, PersonKey(p), "not an array");
    std::vector<double> numbers;
    numbers.reserve(values->size());
    for (size_t k = 0; k < values->size(); ++k) {
      const nlohmann::json& v = (*values)[k];
      if (v.is_number()) {
        numbers.push_back(v.get<double>());
      } else if (v.is_null()) {
        numbers.push_back(std::numeric_limits<double>::quiet_NaN());
      } else {
        ThrowIo(
            path, 0, PersonKey(p), "value " + std::to_string(k) + " is not a number: " + v.dump());
      }
    }
    if (numbers.size() % 3 != 0) {
      ThrowIo(path,
              0,
              PersonKey(p),
              std::to_string(numbers.size()) +
                  " values, not a multiple of 3 (x, y, confidence per joint)");
    }
    raw.people.push_back(std::move(numbers));
  }
  return raw;
}

// Lists `folder` and parses the files whose frame index is in [first_frame, end_frame).
RawFolder LoadFolder(const std::string& folder, int64_t first_frame, int64_t end_frame) {
  RawFolder raw;
  raw.folder = folder;
  raw.camera = StripSuffix(FolderName(folder), kJsonSuffix);
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) ThrowIo(folder, 0, "", "not a directory");
  std::map<int64_t, std::string> files;
  fs::directory_iterator it(folder, ec);
  if (ec) ThrowIo(folder, 0, "", "cannot list directory (" + ec.message() + ")");
  for (const fs::directory_entry& entry : it) {
    if (!IsJsonFile(entry)) continue;
    const std::string path = entry.path().string();
    const std::optional<int64_t> frame = FrameNumberFromName(entry.path().filename().string());
    if (!frame) ThrowIo(path, 0, "", "no frame number in the file name");
    if (*frame > kMaxFrameIndex) {
      ThrowIo(path,
              0,
              "",
              "frame number in the file name is larger than " + std::to_string(kMaxFrameIndex));
    }
    const auto [existing, inserted] = files.emplace(*frame, path);
    if (!inserted) {
      ThrowIo(path,
              0,
              "",
              "frame number " + std::to_string(*frame) + " is also the frame number of " +
                  existing->second);
    }
  }
  raw.num_files = static_cast<int>(files.size());
  raw.num_frames = files.empty() ? 0 : static_cast<int>(files.rbegin()->first + 1);
  for (auto it_file = files.lower_bound(first_frame);
       it_file != files.end() && it_file->first < end_frame;
       ++it_file) {
    raw.frames.push_back(ParseFrameFile(it_file->second, static_cast<int>(it_file->first)));
  }
  return raw;
}

const Skeleton& ResolveSkeleton(const std::vector<RawFolder>& folders,
                                const OpenPoseReadOptions& options) {
  if (!options.skeleton.empty()) return GetSkeleton(options.skeleton);
  for (const RawFolder& folder : folders) {
    for (const RawFrame& frame : folder.frames) {
      for (const auto& person : frame.people) {
        if (person.empty()) continue;
        const int num_joints = static_cast<int>(person.size() / 3);
        if (const auto name = SkeletonFromJointCount(num_joints)) return GetSkeleton(*name);
        std::string candidates;
        for (const std::string& key : SkeletonNames()) {
          if (GetSkeleton(key).NumJoints() == num_joints) {
            candidates += (candidates.empty() ? "" : ", ") + key;
          }
        }
        throw InputError(frame.path + ": " + std::to_string(num_joints) + " keypoints per person " +
                         (candidates.empty() ? std::string("match no registered skeleton")
                                             : "are ambiguous (" + candidates + ")") +
                         "; set the skeleton explicitly");
      }
    }
  }
  throw InputError((folders.empty() ? std::string("OpenPose input") : folders.front().folder) +
                   ": no person in any file, cannot infer the skeleton; set it explicitly");
}

std::string PersonRule(const OpenPoseReadOptions& options) {
  if (options.person == OpenPoseReadOptions::Person::kIndex) {
    return "index " + std::to_string(options.person_index);
  }
  return "highest total confidence";
}

void CheckOptions(const OpenPoseReadOptions& options) {
  if (options.person == OpenPoseReadOptions::Person::kIndex && options.person_index < 0) {
    throw UsageError("OpenPose person index must be >= 0, got " +
                     std::to_string(options.person_index));
  }
  if (options.first_frame < 0) {
    throw UsageError("OpenPose first frame must be >= 0, got " +
                     std::to_string(options.first_frame));
  }
}

// Frames of the array read from folders (the range of `options`, clipped to the longest folder).
int NumFramesRead(const std::vector<RawFolder>& folders, const OpenPoseReadOptions& options) {
  int64_t total = 0;
  for (const RawFolder& folder : folders) total = std::max<int64_t>(total, folder.num_frames);
  const int64_t available = std::max<int64_t>(0, total - options.first_frame);
  return static_cast<int>(
      options.max_frames < 0 ? available : std::min<int64_t>(available, options.max_frames));
}

int64_t EndFrame(const OpenPoseReadOptions& options) {
  return options.max_frames < 0 ? std::numeric_limits<int64_t>::max()
                                : static_cast<int64_t>(options.first_frame) + options.max_frames;
}

bool JointIsValid(const double* v) {
  return std::isfinite(v[0]) && std::isfinite(v[1]) && std::isfinite(v[2]) && v[2] >= 0.0;
}

// Copies the selected person of every frame of `folder` into camera `camera` of `keypoints`.
void FillCamera(const RawFolder& folder,
                const Skeleton& skeleton,
                const OpenPoseReadOptions& options,
                int camera,
                Keypoints2D* keypoints,
                OpenPoseCameraReport* report) {
  const int num_joints = skeleton.NumJoints();
  report->folder = folder.folder;
  report->num_files = folder.num_files;
  report->num_frames = folder.num_frames;
  for (const RawFrame& frame : folder.frames) {
    for (size_t p = 0; p < frame.people.size(); ++p) {
      const size_t count = frame.people[p].size();
      if (count != 0 && count != static_cast<size_t>(num_joints) * 3) {
        ThrowIo(frame.path,
                0,
                PersonKey(p),
                std::to_string(count) + " values (" + std::to_string(count / 3) +
                    " joints), expected " + std::to_string(num_joints * 3) + " for skeleton " +
                    skeleton.name + " (" + std::to_string(num_joints) + " joints)");
      }
    }
    const auto num_people = std::count_if(
        frame.people.begin(), frame.people.end(), [](const auto& v) { return !v.empty(); });
    if (num_people == 0) {
      ++report->frames_without_people;
      continue;
    }
    if (num_people > 1) ++report->frames_with_several_people;
    const std::vector<double>* selected = nullptr;
    if (options.person == OpenPoseReadOptions::Person::kIndex) {
      if (static_cast<size_t>(options.person_index) < frame.people.size() &&
          !frame.people[options.person_index].empty()) {
        selected = &frame.people[options.person_index];
      } else {
        ++report->frames_without_selected_person;
      }
    } else {
      double best = -1.0;
      for (const auto& person : frame.people) {
        if (person.empty()) continue;
        double total = 0.0;
        for (int j = 0; j < num_joints; ++j) {
          if (JointIsValid(&person[3 * j])) total += person[3 * j + 2];
        }
        if (total > best) {
          best = total;
          selected = &person;
        }
      }
    }
    if (selected == nullptr) continue;
    for (int j = 0; j < num_joints; ++j) {
      const double* v = selected->data() + 3 * j;
      if (!JointIsValid(v)) {
        ++report->invalid_confidences;
      } else if (v[2] > 0.0) {
        keypoints->Set(frame.frame - options.first_frame,
                       camera,
                       j,
                       static_cast<float>(v[0]),
                       static_cast<float>(v[1]),
                       static_cast<float>(v[2]));
      }
    }
  }
}

std::vector<std::string> FindCameraFolders(const std::string& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) ThrowIo(root, 0, "", "not a directory");
  std::vector<std::string> folders;
  fs::directory_iterator it(root, ec);
  if (ec) ThrowIo(root, 0, "", "cannot list directory (" + ec.message() + ")");
  for (const fs::directory_entry& entry : it) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.' || !entry.is_directory(ec)) continue;
    bool is_camera = EndsWith(name, kJsonSuffix);
    if (!is_camera) {
      for (const fs::directory_entry& child : fs::directory_iterator(entry.path(), ec)) {
        if (IsJsonFile(child)) {
          is_camera = true;
          break;
        }
      }
    }
    if (is_camera) folders.push_back(entry.path().string());
  }
  std::sort(folders.begin(), folders.end());
  if (folders.empty()) {
    ThrowIo(root,
            0,
            "",
            "no camera folder found (expected one '<camera>_json' folder of per-frame .json "
            "files per camera)");
  }
  return folders;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// Shortest text that reads back as exactly `value` (at most 9 significant digits), independent
// of the C locale.
void AppendNumber(std::string* out, float value) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out->append(buffer, result.ptr);
}

std::string FrameJson(const Keypoints2D& keypoints, int frame, int camera) {
  std::string out = "{\"version\":1.3,\"people\":[{\"person_id\":[-1],\"pose_keypoints_2d\":[";
  for (int j = 0; j < keypoints.num_joints(); ++j) {
    if (j > 0) out += ",";
    if (keypoints.IsPresent(frame, camera, j)) {
      AppendNumber(&out, keypoints.x(frame, camera, j));
      out += ",";
      AppendNumber(&out, keypoints.y(frame, camera, j));
      out += ",";
      AppendNumber(&out, keypoints.score(frame, camera, j));
    } else {
      out += "0,0,0";
    }
  }
  out +=
      "],\"face_keypoints_2d\":[],\"hand_left_keypoints_2d\":[],\"hand_right_keypoints_2d\":[],"
      "\"pose_keypoints_3d\":[],\"face_keypoints_3d\":[],\"hand_left_keypoints_3d\":[],"
      "\"hand_right_keypoints_3d\":[]}]}\n";
  return out;
}

// Removes a temporary directory unless released.
class TempDirGuard {
 public:
  explicit TempDirGuard(fs::path dir) : dir_(std::move(dir)) {}
  ~TempDirGuard() {
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }
  TempDirGuard(const TempDirGuard&) = delete;
  TempDirGuard& operator=(const TempDirGuard&) = delete;
  void Release() { dir_.clear(); }

 private:
  fs::path dir_;
};

}  // namespace

Keypoints2D ReadOpenPoseFolder(const std::string& folder,
                               const OpenPoseReadOptions& options,
                               OpenPoseCameraReport* report) {
  CheckOptions(options);
  std::vector<RawFolder> raw;
  raw.push_back(LoadFolder(folder, options.first_frame, EndFrame(options)));
  const Skeleton& skeleton = ResolveSkeleton(raw, options);
  Keypoints2D keypoints(NumFramesRead(raw, options), 1, skeleton.NumJoints());
  keypoints.skeleton = skeleton.name;
  keypoints.camera_names = {raw[0].camera};
  OpenPoseCameraReport local;
  local.camera = raw[0].camera;
  FillCamera(raw[0], skeleton, options, 0, &keypoints, &local);
  if (report != nullptr) *report = local;
  return keypoints;
}

Keypoints2D ReadOpenPoseTree(const std::string& root,
                             const Rig* rig,
                             const OpenPoseReadOptions& options,
                             OpenPoseReadReport* report) {
  CheckOptions(options);
  const std::vector<std::string> folders = FindCameraFolders(root);
  std::vector<std::string> cameras;    // camera name per output camera
  std::vector<std::string> folder_of;  // folder path per output camera
  if (rig != nullptr) {
    cameras = rig->CameraNames();
    folder_of.assign(cameras.size(), "");
    for (const std::string& folder : folders) {
      const std::string name = StripSuffix(FolderName(folder), kJsonSuffix);
      const std::optional<int> index = rig->MatchCamera(name);
      if (!index) {
        throw InputError(
            folder + ": folder matches no rig camera (rig cameras: " + JoinNames(cameras) + ")");
      }
      if (!folder_of[*index].empty()) {
        throw InputError(folder + ": folder matches rig camera '" + cameras[*index] +
                         "', which already matched " + folder_of[*index]);
      }
      folder_of[*index] = folder;
    }
    for (size_t c = 0; c < cameras.size(); ++c) {
      if (folder_of[c].empty()) {
        throw InputError(root + ": no 2D keypoint folder for rig camera '" + cameras[c] +
                         "' (folders: " + JoinNames(folders) + ")");
      }
    }
  } else {
    folder_of = folders;
    for (const std::string& folder : folders) {
      cameras.push_back(StripSuffix(FolderName(folder), kJsonSuffix));
    }
  }

  std::vector<RawFolder> raw;
  for (const std::string& folder : folder_of) {
    raw.push_back(LoadFolder(folder, options.first_frame, EndFrame(options)));
  }
  const Skeleton& skeleton = ResolveSkeleton(raw, options);
  const int num_frames = NumFramesRead(raw, options);

  Keypoints2D keypoints(num_frames, static_cast<int>(raw.size()), skeleton.NumJoints());
  keypoints.skeleton = skeleton.name;
  keypoints.camera_names = cameras;
  OpenPoseReadReport local;
  local.person_rule = PersonRule(options);
  local.skeleton = skeleton.name;
  for (size_t c = 0; c < raw.size(); ++c) {
    OpenPoseCameraReport camera_report;
    camera_report.camera = cameras[c];
    FillCamera(raw[c], skeleton, options, static_cast<int>(c), &keypoints, &camera_report);
    local.cameras.push_back(camera_report);
  }
  if (report != nullptr) *report = std::move(local);
  return keypoints;
}

void WriteOpenPoseTree(const std::string& root, const Keypoints2D& keypoints) {
  std::vector<std::string> names = keypoints.camera_names;
  if (names.empty()) {
    for (int c = 0; c < keypoints.num_cameras(); ++c) {
      char buffer[16];
      std::snprintf(buffer, sizeof(buffer), "cam%02d", c + 1);
      names.push_back(buffer);
    }
  }
  RIGPOSE_CHECK(static_cast<int>(names.size()) == keypoints.num_cameras(),
                "camera_names=" << names.size() << " num_cameras=" << keypoints.num_cameras());
  for (size_t c = 0; c < names.size(); ++c) {
    RIGPOSE_CHECK(!names[c].empty() && names[c].find('/') == std::string::npos && names[c] != "." &&
                      names[c] != "..",
                  "camera name '" << names[c] << "' cannot be a folder name");
    RIGPOSE_CHECK(std::count(names.begin(), names.end(), names[c]) == 1,
                  "duplicate camera name '" << names[c] << "'");
  }

  const fs::path target = WithoutTrailingSlash(root);
  fs::path parent = target.parent_path();
  if (parent.empty()) parent = ".";
  std::error_code ec;
  if (!fs::is_directory(parent, ec)) {
    ThrowIo(root, 0, "", "cannot write: directory '" + parent.string() + "' does not exist");
  }
  const bool exists = fs::exists(target, ec);
  if (exists && (!fs::is_directory(target, ec) || !fs::is_empty(target, ec))) {
    ThrowIo(root, 0, "", "refusing to write: the path exists and is not an empty directory");
  }

  static std::atomic<int> counter{0};
  const fs::path temp = parent / ("." + target.filename().string() + ".tmp-" +
                                  std::to_string(::getpid()) + "-" + std::to_string(counter++));
  if (!fs::create_directory(temp, ec) || ec) {
    ThrowIo(root, 0, "", "cannot create temporary directory " + temp.string());
  }
  TempDirGuard guard(temp);
  for (int c = 0; c < keypoints.num_cameras(); ++c) {
    const fs::path camera_dir = temp / (names[c] + kJsonSuffix);
    if (!fs::create_directory(camera_dir, ec) || ec) {
      ThrowIo(root, 0, "", "cannot create directory " + camera_dir.string());
    }
    for (int f = 0; f < keypoints.num_frames(); ++f) {
      char number[32];
      std::snprintf(number, sizeof(number), ".%04d.json", f);
      WriteFileAtomic((camera_dir / (names[c] + number)).string(), FrameJson(keypoints, f, c));
    }
  }
  if (exists) fs::remove(target, ec);
  fs::rename(temp, target, ec);
  if (ec)
    ThrowIo(root, 0, "", "cannot rename the temporary directory into place (" + ec.message() + ")");
  guard.Release();
}

}  // namespace rigpose

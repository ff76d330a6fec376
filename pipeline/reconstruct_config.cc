// SPDX-License-Identifier: BSD-3-Clause
#include "pipeline/reconstruct_config.h"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <functional>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "core/error.h"

namespace rigpose {
namespace {

namespace fs = std::filesystem;

struct KeyEntry {
  ConfigKey key;
  std::function<void(ReconstructConfig&, const std::string&, const std::string&)> set;
  std::function<std::string(const ReconstructConfig&)> get;
};

[[noreturn]] void BadValue(const std::string& where,
                           const std::string& key,
                           const std::string& value,
                           const std::string& expected) {
  throw UsageError(where + ": " + key + ": '" + value + "' is not " + expected);
}

int ParseInt(const std::string& where, const std::string& key, const std::string& value) {
  std::istringstream s(value);
  long long v = 0;
  if (!(s >> v) || !(s >> std::ws).eof() || v < INT32_MIN || v > INT32_MAX) {
    BadValue(where, key, value, "an integer");
  }
  return static_cast<int>(v);
}

double ParseDouble(const std::string& where, const std::string& key, const std::string& value) {
  std::istringstream s(value);
  double v = 0;
  if (!(s >> v) || !(s >> std::ws).eof() || !std::isfinite(v)) {
    BadValue(where, key, value, "a number");
  }
  return v;
}

bool ParseBool(const std::string& where, const std::string& key, const std::string& value) {
  if (value == "true" || value == "yes" || value == "on" || value == "1") return true;
  if (value == "false" || value == "no" || value == "off" || value == "0") return false;
  BadValue(where, key, value, "true or false");
}

// Shortest text that reads back to the same double ("300", "0.15").
std::string FormatDouble(double v) {
  char buffer[64];
  const std::to_chars_result r = std::to_chars(buffer, buffer + sizeof(buffer), v);
  return std::string(buffer, r.ptr);
}

#define RIGPOSE_STRING_KEY(NAME, FIELD, HELP, PATH)                                          \
  KeyEntry {                                                                                 \
    ConfigKey{NAME, HELP, false, PATH},                                                      \
        [](ReconstructConfig& c, const std::string& v, const std::string&) { c.FIELD = v; }, \
        [](const ReconstructConfig& c) { return c.FIELD; }                                   \
  }
#define RIGPOSE_INT_KEY(NAME, FIELD, HELP)                                     \
  KeyEntry {                                                                   \
    ConfigKey{NAME, HELP, false, false},                                       \
        [](ReconstructConfig& c, const std::string& v, const std::string& w) { \
          c.FIELD = ParseInt(w, NAME, v);                                      \
        },                                                                     \
        [](const ReconstructConfig& c) { return std::to_string(c.FIELD); }     \
  }
#define RIGPOSE_DOUBLE_KEY(NAME, FIELD, HELP)                                  \
  KeyEntry {                                                                   \
    ConfigKey{NAME, HELP, false, false},                                       \
        [](ReconstructConfig& c, const std::string& v, const std::string& w) { \
          c.FIELD = ParseDouble(w, NAME, v);                                   \
        },                                                                     \
        [](const ReconstructConfig& c) { return FormatDouble(c.FIELD); }       \
  }
#define RIGPOSE_BOOL_KEY(NAME, FIELD, HELP)                                                \
  KeyEntry {                                                                               \
    ConfigKey{NAME, HELP, true, false},                                                    \
        [](ReconstructConfig& c, const std::string& v, const std::string& w) {             \
          c.FIELD = ParseBool(w, NAME, v);                                                 \
        },                                                                                 \
        [](const ReconstructConfig& c) { return std::string(c.FIELD ? "true" : "false"); } \
  }

const std::vector<KeyEntry>& Entries() {
  static const std::vector<KeyEntry> entries = {
      RIGPOSE_STRING_KEY("rig", rig, "Calibration (any format `calib info` reads)", true),
      RIGPOSE_STRING_KEY("rig-format", rig_format, "Calibration format (auto: detected)", false),
      RIGPOSE_STRING_KEY("videos", videos, "Folder with one video file per camera", true),
      RIGPOSE_STRING_KEY("images", images, "Folder with one image subfolder per camera", true),
      RIGPOSE_STRING_KEY("keypoints",
                         keypoints,
                         "2D keypoints .npy [frames, cameras (rig order), joints, 3] instead of "
                         "videos + model",
                         true),
      RIGPOSE_STRING_KEY("model", model, "Detector model file", true),
      RIGPOSE_STRING_KEY("reference",
                         reference,
                         "3D poses of the same frames (.npy/.trc/...): MPJPE per joint",
                         true),
      RIGPOSE_INT_KEY("first-frame", first_frame, "First source frame"),
      RIGPOSE_INT_KEY("max-frames", max_frames, "Frames to process (0: all)"),
      RIGPOSE_INT_KEY("frame-stride", frame_stride, "Use every N-th source frame"),
      RIGPOSE_BOOL_KEY(
          "truncate", truncate, "Videos of different lengths: use the shortest (else refuse)"),
      RIGPOSE_STRING_KEY("device", device, "Detector device: cpu | cuda | cuda:N", false),
      RIGPOSE_STRING_KEY("decoder",
                         decoder,
                         "Heatmap decoder: argmax | argmax-quarter | dark | soft-argmax",
                         false),
      RIGPOSE_INT_KEY("batch-size", batch_size, "Crops per forward pass"),
      RIGPOSE_INT_KEY("threads", threads, "CPU threads (0: all cores)"),
      RIGPOSE_INT_KEY("mc-dropout", mc_dropout, "MC-dropout passes (2D variance output)"),
      RIGPOSE_BOOL_KEY(
          "flip-test", flip_test, "Detector: average with the mirrored crops (2x network time)"),
      RIGPOSE_DOUBLE_KEY("person-min-score",
                         person_min_score,
                         "Mean joint score below which a camera-frame has no person"),
      RIGPOSE_DOUBLE_KEY("box-padding", box_padding, "Crop growth around the keypoints"),
      RIGPOSE_BOOL_KEY("track-3d", track_3d, "Seed lost cameras' crops from the other views' 3D"),
      RIGPOSE_STRING_KEY("method", method, "dlt | weighted | robust", false),
      RIGPOSE_STRING_KEY("refine", refine, "none | frame | sequence", false),
      RIGPOSE_STRING_KEY(
          "refine-views", refine_views, "Views the refinement uses: inliers | all", false),
      RIGPOSE_STRING_KEY("loss", loss, "Refinement loss: huber | cauchy | soft_l1 | none", false),
      RIGPOSE_DOUBLE_KEY("min-score", min_score, "Ignore 2D keypoints with a lower score"),
      RIGPOSE_DOUBLE_KEY("max-reproj-error", max_reproj_error, "Robust: inlier threshold (px)"),
      RIGPOSE_DOUBLE_KEY("loss-scale", loss_scale, "Robust loss scale (px)"),
      RIGPOSE_DOUBLE_KEY(
          "smoothness", smoothness, "Sequence: weight of the second differences (px per m)"),
      RIGPOSE_DOUBLE_KEY(
          "bone-weight", bone_weight, "Sequence: weight of constant bone lengths (px per m)"),
      RIGPOSE_BOOL_KEY("no-distortion", no_distortion, "Ignore the calibration's lens distortion"),
      RIGPOSE_INT_KEY("chunk-frames", chunk_frames, "Frames committed at a time (resume unit)"),
      RIGPOSE_INT_KEY("overlap", overlap, "Context frames on each side of a chunk (refinement)"),
      RIGPOSE_DOUBLE_KEY("fps", fps, "Frame rate written to the outputs (0: the videos')"),
      RIGPOSE_BOOL_KEY("y-up", y_up, "TRC: Y-up axes (Pose2Sim / OpenSim)"),
  };
  return entries;
}

const KeyEntry* FindEntry(const std::string& key) {
  for (const KeyEntry& entry : Entries()) {
    if (entry.key.name == key) return &entry;
  }
  return nullptr;
}

std::string ScalarText(const YAML::Node& node, const std::string& where, const std::string& key) {
  if (!node.IsScalar()) throw InputError(where + ": " + key + ": expected a single value");
  return node.as<std::string>();
}

std::string Resolve(const std::string& value, const fs::path& base) {
  if (value.empty() || fs::path(value).is_absolute() || base.empty()) return value;
  return (base / value).lexically_normal().string();
}

YAML::Node LoadYaml(const std::string& path, const std::string& what) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw IoError(what + " " + path + ": file not found");
  try {
    return YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    throw InputError(what + " " + path + ": not valid YAML (" + e.what() + ")");
  }
}

}  // namespace

const std::vector<ConfigKey>& ReconstructConfigKeys() {
  static const std::vector<ConfigKey> keys = [] {
    std::vector<ConfigKey> k;
    for (const KeyEntry& entry : Entries()) k.push_back(entry.key);
    return k;
  }();
  return keys;
}

void SetConfigValue(ReconstructConfig* config,
                    const std::string& key,
                    const std::string& value,
                    const std::string& where) {
  const KeyEntry* entry = FindEntry(key);
  if (entry == nullptr) throw UsageError(where + ": unknown key '" + key + "'");
  entry->set(*config, value, where);
}

std::string GetConfigValue(const ReconstructConfig& config, const std::string& key) {
  const KeyEntry* entry = FindEntry(key);
  if (entry == nullptr) throw UsageError("unknown configuration key '" + key + "'");
  return entry->get(config);
}

std::vector<std::string> CheckReconstructConfig(const ReconstructConfig& c) {
  std::vector<std::string> p;
  if (c.rig.empty()) p.push_back("rig: required");
  const int inputs = !c.videos.empty() + !c.images.empty() + !c.keypoints.empty();
  if (inputs != 1) p.push_back("give exactly one of videos, images or keypoints");
  if (c.keypoints.empty() && c.model.empty() && inputs == 1) {
    p.push_back("model: required with videos or images");
  }
  if (c.first_frame < 0) p.push_back("first-frame must be >= 0");
  if (c.max_frames < 0) p.push_back("max-frames must be >= 0");
  if (c.frame_stride < 1) p.push_back("frame-stride must be >= 1");
  if (c.batch_size < 1) p.push_back("batch-size must be >= 1");
  if (c.threads < 0) p.push_back("threads must be >= 0");
  if (c.mc_dropout < 0) p.push_back("mc-dropout must be >= 0");
  if (!(c.person_min_score >= 0 && c.person_min_score < 1)) {
    p.push_back("person-min-score must be in [0, 1)");
  }
  if (!(c.box_padding >= 0 && c.box_padding <= 2)) p.push_back("box-padding must be in [0, 2]");
  if (c.method != "dlt" && c.method != "weighted" && c.method != "robust") {
    p.push_back("method '" + c.method + "' is not dlt, weighted or robust");
  }
  if (c.refine != "none" && c.refine != "frame" && c.refine != "sequence") {
    p.push_back("refine '" + c.refine + "' is not none, frame or sequence");
  }
  if (c.refine_views != "inliers" && c.refine_views != "all") {
    p.push_back("refine-views '" + c.refine_views + "' is not inliers or all");
  }
  if (!(c.min_score >= 0)) p.push_back("min-score must be >= 0");
  if (c.chunk_frames < 10) p.push_back("chunk-frames must be >= 10");
  if (c.overlap < 0 || c.overlap > c.chunk_frames) {
    p.push_back("overlap must be in [0, chunk-frames]");
  }
  if (!(c.fps >= 0)) p.push_back("fps must be >= 0");
  return p;
}

void ApplyConfigFile(ReconstructConfig* config, const std::string& path) {
  const YAML::Node root = LoadYaml(path, "config");
  if (root.IsNull()) return;
  if (!root.IsMap()) throw InputError("config " + path + ": expected a mapping of keys");
  const fs::path base = fs::path(path).parent_path();
  for (const auto& item : root) {
    const std::string key = item.first.as<std::string>();
    const KeyEntry* entry = FindEntry(key);
    if (entry == nullptr) throw InputError("config " + path + ": unknown key '" + key + "'");
    std::string value = ScalarText(item.second, "config " + path, key);
    if (entry->key.is_path) value = Resolve(value, base);
    entry->set(*config, value, "config " + path);
  }
}

std::string DumpConfigYaml(const ReconstructConfig& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  for (const KeyEntry& entry : Entries()) {
    out << YAML::Key << entry.key.name << YAML::Value << entry.get(config);
  }
  out << YAML::EndMap;
  return std::string(
             "# rigpose reconstruct: effective configuration (keys = command-line flags)\n") +
         out.c_str() + "\n";
}

std::vector<ManifestEntry> ReadManifest(const std::string& path) {
  const YAML::Node root = LoadYaml(path, "manifest");
  if (!root.IsMap() || !root["sessions"] || !root["sessions"].IsSequence()) {
    throw InputError("manifest " + path + ": expected a `sessions:` list");
  }
  const fs::path base = fs::path(path).parent_path();
  std::vector<ManifestEntry> entries;
  std::set<std::string> names;
  int index = 0;
  for (const YAML::Node& node : root["sessions"]) {
    ManifestEntry entry;
    entry.name = "#" + std::to_string(index + 1);
    const std::string where = "manifest " + path + ", session " + entry.name;
    try {
      if (!node.IsMap()) throw InputError("expected a mapping of keys");
      for (const auto& item : node) {
        const std::string key = item.first.as<std::string>();
        if (key == "name") {
          entry.name = ScalarText(item.second, where, key);
          continue;
        }
        if (key == "config") {
          entry.config_file = Resolve(ScalarText(item.second, where, key), base);
          continue;
        }
        const KeyEntry* key_entry = FindEntry(key);
        if (key_entry == nullptr) throw InputError("unknown key '" + key + "'");
        std::string value = ScalarText(item.second, where, key);
        if (key_entry->key.is_path) value = Resolve(value, base);
        ReconstructConfig probe;
        key_entry->set(probe, value, key);  // type check now
        entry.values[key] = value;
      }
      if (!node["name"]) {
        const auto it = entry.values.find("videos");
        const auto jt = entry.values.find("images");
        const std::string dir = it != entry.values.end()   ? it->second
                                : jt != entry.values.end() ? jt->second
                                                           : std::string();
        if (!dir.empty()) entry.name = fs::path(dir).lexically_normal().filename().string();
        if (entry.name.empty() && !dir.empty()) {
          entry.name = fs::path(dir).lexically_normal().parent_path().filename().string();
        }
      }
      if (entry.name.empty() || entry.name.find('/') != std::string::npos || entry.name == "." ||
          entry.name == "..") {
        throw InputError("name '" + entry.name + "' cannot be a folder name");
      }
    } catch (const std::exception& e) {
      entry.error = e.what();
    }
    if (entry.error.empty() && !names.insert(entry.name).second) {
      entry.error = "the name '" + entry.name + "' is used by an earlier session";
    }
    entries.push_back(std::move(entry));
    ++index;
  }
  if (entries.empty()) throw InputError("manifest " + path + ": the sessions list is empty");
  return entries;
}

}  // namespace rigpose

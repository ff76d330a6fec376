// SPDX-License-Identifier: BSD-3-Clause
// Options of `rigpose reconstruct`: one flat table whose keys are the command-line flags without
// their dashes ("person-min-score"), so the same key works in a YAML config file, in a manifest
// entry and on the command line. Precedence (later wins): defaults, --config FILE, the manifest
// entry's `config` file, the manifest entry's own keys, then flags given on the command line.
// Relative paths in a config file or manifest are relative to that file's folder.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace rigpose {

struct ReconstructConfig {
  // Inputs.
  std::string rig, rig_format = "auto";
  std::string videos, images;  // one video file / image subfolder per camera
  std::string keypoints;       // instead of videos + model: 2D keypoints .npy [F, C, J, 3]
  std::string model;           // detector (rigpose model import / train)
  std::string reference;       // optional 3D poses (same frames): MPJPE per joint in the report
  // Frames.
  int first_frame = 0, max_frames = 0, frame_stride = 1;
  bool truncate = true;  // videos of different lengths: use the shortest (warning); false: refuse
  // Detection.
  std::string device = "cpu", decoder = "dark";
  int batch_size = 16, threads = 0, mc_dropout = 0;
  double person_min_score = 0.2, box_padding = 0.15;
  bool track_3d = true;
  bool flip_test = false;  // one more detector pass on mirrored crops, averaged (2x network time)
  // Triangulation and refinement.
  std::string method = "robust", refine = "sequence", refine_views = "inliers", loss = "huber";
  double min_score = 0.3, max_reproj_error = 15.0, loss_scale = 4.0;
  double smoothness = 300.0, bone_weight = 100.0;
  bool no_distortion = false;
  // Streaming and output.
  int chunk_frames = 300;  // frames committed at a time (resume granularity)
  int overlap = 20;        // frames of context on each side of a chunk for sequence refinement
  double fps = 0.0;        // 0: the videos' rate (30 Hz when unknown)
  bool y_up = false;
};

struct ConfigKey {
  std::string name;  // flag without dashes
  std::string help;
  bool is_flag = false;  // boolean: given alone on the command line means true
  bool is_path = false;  // resolved against the config file's folder
};
// Every key, in dump order.
const std::vector<ConfigKey>& ReconstructConfigKeys();

// Sets one key from its text form. UsageError "<where>: <key>: ..." for an unknown key or a
// value of the wrong type.
void SetConfigValue(ReconstructConfig* config,
                    const std::string& key,
                    const std::string& value,
                    const std::string& where);
std::string GetConfigValue(const ReconstructConfig& config, const std::string& key);

// Every problem of a configuration, one sentence each (naming the key); empty when usable.
std::vector<std::string> CheckReconstructConfig(const ReconstructConfig& config);

// Applies a YAML mapping of keys read from `path` (IoError / InputError naming the file).
void ApplyConfigFile(ReconstructConfig* config, const std::string& path);
// The effective configuration as YAML (every key), readable back by ApplyConfigFile.
std::string DumpConfigYaml(const ReconstructConfig& config);

// One session of a manifest:
//   sessions:
//     - name: day1_take1        (optional: default the videos folder's name)
//       rig: day1/rig.toml
//       videos: day1/take1
//       config: fast.yaml       (optional)
//       model: other.rpm        (optional: any other key overrides)
struct ManifestEntry {
  std::string name;
  std::string config_file;                    // resolved path, empty when none
  std::map<std::string, std::string> values;  // keys as given (paths resolved)
  std::string error;                          // non-empty: the entry cannot be used (why)
};
// IoError / InputError naming the manifest when it cannot be read or has no `sessions` list;
// problems of a single entry go to its `error` (the other sessions still run). Duplicate names
// get an error too.
std::vector<ManifestEntry> ReadManifest(const std::string& path);

}  // namespace rigpose

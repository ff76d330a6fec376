// SPDX-License-Identifier: BSD-3-Clause
// The `rigpose` command table. Each subcommand lives in cli/<command>.cc: it parses its
// options into a typed struct and calls Run<Command>(options), which tests call directly.
//
// Exit codes: 0 success, 1 runtime or input error (bad file, bad data), 2 usage error.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/keypoints.h"
#include "core/rig.h"
#include "core/skeleton.h"
#include "data/calib_io.h"
#include "pipeline/reconstruct.h"

namespace CLI {
class App;
}

namespace rigpose {
struct ModelInfo;
struct TrainingInputSpec;
}  // namespace rigpose

namespace rigpose::cli {

constexpr int kExitOk = 0;
constexpr int kExitRuntimeError = 1;
constexpr int kExitUsageError = 2;

// Runs the command line; never throws.
int Main(int argc, char** argv);

// A subcommand's work, set by its CLI11 callback and run after parsing.
using Action = std::function<void()>;

// Shared option parsing: a calibration format name (UsageError naming the flag otherwise), and the
// writable format of an output path (explicit `format`, else from the extension: .yaml rigpose,
// .toml anipose, a directory EasyMocap; UsageError naming the flag otherwise).
CalibFormat CalibFormatOption(const std::string& value, const std::string& flag);
CalibFormat OutputCalibFormat(const std::string& path,
                              const std::string& format,
                              const std::string& flag);

// Shared by the subcommands (cli/common.cc).
std::string JoinList(const std::vector<std::string>& items);  // "a, b, c"
// The rig of --rig / --rig-format (empty format: detected); reader warnings go to `out`.
// InputError naming the path for a rig without cameras or with an unusable camera.
Rig ReadCliRig(const std::string& path, const std::string& format, std::ostream& out);
// For every skeleton joint, the joint of `poses` that provides it (-1: none). Marker names (TRC)
// are matched by JointNameKey() ("LShoulder" = "left_shoulder"); without names the joint counts
// must agree. InputError naming the file when nothing matches or the counts differ; warnings on
// `out` for markers the skeleton lacks ("are <unused_means>") and joints no marker provides.
std::vector<int> MapPoseJoints(const Poses3D& poses,
                               const Skeleton& skeleton,
                               const std::string& path,
                               const std::string& unused_means,
                               std::ostream& out);

// The input of a detector model (size, stride, normalisation, sigma) as a training/evaluation
// set needs it.
TrainingInputSpec InputSpecOf(const ModelInfo& info);

// Registration of each subcommand on the top-level app (one per cli/<command>.cc).
void RegisterVersion(CLI::App& app, Action& action);
void RegisterCalib(CLI::App& app, Action& action);  // calib convert / calib info
void RegisterSynth(CLI::App& app, Action& action);
void RegisterTriangulate(CLI::App& app, Action& action);
void RegisterCalibrate(CLI::App& app, Action& action);
void RegisterModel(CLI::App& app, Action& action);  // model import / create / info
void RegisterDetect(CLI::App& app, Action& action);
void RegisterReconstruct(CLI::App& app, Action& action);

// ---- rigpose version --------------------------------------------------------------------
void RunVersion(std::ostream& out);

// ---- rigpose calib convert IN OUT -------------------------------------------------------
struct CalibConvertOptions {
  std::string input;
  std::string output;
  std::string from_format = "auto";  // see data/calib_io.h ParseCalibFormat
  std::string to_format;        // empty: from OUT's extension (.yaml -> rigpose, .toml -> anipose)
  std::string units;            // declares the input's translation unit (anipose: board units)
  std::string out_units = "m";  // translation unit written to anipose TOML
  bool force = false;           // write even when the output format drops a value
};
void RunCalibConvert(const CalibConvertOptions& options, std::ostream& out, std::ostream& err);

// ---- rigpose calib info RIG -------------------------------------------------------------
struct CalibInfoOptions {
  std::string rig;
  std::string format = "auto";
  std::string units;
};
void RunCalibInfo(const CalibInfoOptions& options, std::ostream& out, std::ostream& err);

// ---- rigpose calib compare A B ----------------------------------------------------------
struct CalibCompareOptions {
  std::string first;
  std::string second;
  double max_center_difference_m = -1.0;  // >= 0: exit 1 when exceeded (a check for scripts)
  std::string align = "none";             // none | rigid | similarity
};
void RunCalibCompare(const CalibCompareOptions& options, std::ostream& out, std::ostream& err);

// ---- rigpose synth --out DIR ------------------------------------------------------------
// Options start from --preset (default "default"), then --config FILE.yaml, then each flag
// given on the command line (unset optionals keep the preset/config value).
struct SynthCliOptions {
  std::string out;
  std::string preset = "default";
  std::string config;
  std::optional<uint64_t> seed;
  std::optional<int> cameras, fisheye, frames, subjects, jpeg_quality, calib_frames, threads;
  std::optional<std::string> layout, resolution, motion, bvh, skeleton, format, calib;
  std::optional<std::string> chessboard_board, charuco_board;
  std::optional<double> radius, height, fps, bvh_unit, blur, noise;
  bool no_distortion = false;
  bool subjects_in_turn = false;
  bool force = false;
  bool quiet = false;  // no progress bar
};
void RunSynth(const SynthCliOptions& options, std::ostream& out, std::ostream& err);

// ---- rigpose triangulate --rig RIG --keypoints IN --out OUT --------------------------------
struct TriangulateOptions {
  std::string rig;
  std::string rig_format = "auto";
  std::string keypoints;              // OpenPose JSON tree or .npy [F][C][J][3] in rig camera order
  std::string out;                    // .trc | .csv | .json | .npy
  std::string method = "robust";      // dlt | weighted | robust
  std::string refine = "frame";       // none | frame | sequence
  double min_score = 0.3;             // Pose2Sim's likelihood_threshold_triangulation
  double max_reproj_error_px = 15.0;  // robust inlier threshold (Pose2Sim's default too)
  std::string refine_views = "inliers";  // inliers | all (the robust loss weighs outliers down)
  std::string loss;                      // empty: RefineOptions default
  std::optional<double> loss_scale_px, smoothness_weight, bone_length_weight;
  std::string skeleton;  // empty: from the input
  std::string person = "highest";
  bool no_distortion = false;
  double fps = 0.0;  // 0: 30 Hz in the output
  bool y_up = false;
  std::string reference;  // optional 3D poses (same frames and joints) -> MPJPE
  int chunk_frames = 2000;
  int threads = 0;
  bool quiet = false;
};

struct TriangulateCameraStats {
  std::string name;
  int num_frames = 0;      // frames of the input for this camera
  int64_t num_usable = 0;  // keypoints with score >= min score on triangulated joints
  int64_t num_used = 0;    // of those, used by the final fit
  double median_px = 0.0;  // reprojection error of the used views (0.01 px resolution)
  double mean_px = 0.0;
  double inlier_share = 0.0;   // num_used / num_usable
  int64_t invalid_values = 0;  // NaN / negative scores or coordinates in the input (ignored)
};

struct TriangulateSummary {
  int num_frames = 0;
  int num_joints = 0;
  int num_cameras = 0;
  std::array<int64_t, 6> status_counts{};  // by TriangulationStatus
  std::vector<TriangulateCameraStats> cameras;
  std::vector<std::string> data_problems;  // one line each, also printed
  int64_t invalid_values = 0;
  int64_t num_hypotheses = 0;
  int64_t refine_failed = 0;
  int64_t refine_iterations = 0;
  std::vector<double> bone_lengths_m;
  double reference_mpjpe_m = 0.0;  // against TriangulateOptions::reference
  int64_t reference_count = 0;
  double refine_seconds = 0.0;
  double seconds = 0.0;
  std::string status_path, covariance_path, report_path;  // sidecars written beside OUT
};
// Writes OUT and beside it OUT-stem.status.npy (|u1 [F][J], TriangulationStatus),
// OUT-stem.cov.npy (<f4 [F][J][6] covariance m², refined runs) and OUT-stem.report.json.
TriangulateSummary RunTriangulate(const TriangulateOptions& options,
                                  std::ostream& out,
                                  std::ostream& err);

// ---- rigpose calibrate --board B (--images DIR | --videos DIR) --out RIG ------------------
struct CalibrateOptions {
  std::string board;
  std::string images, videos;  // exactly one of images, videos, detections
  std::string detections;      // CSV camera,frame,corner_id,x_px,y_px (a report's corners.csv)
  std::string image_size;      // with detections: WxH (else from --intrinsics)
  std::string out, out_format;
  std::string export_path, export_format;
  std::string intrinsics, intrinsics_format;  // fixed intrinsics (matched by camera name)
  std::string model = "opencv";               // opencv | pinhole | fisheye
  std::string fix = "k3";                     // parameters held fixed ("none": all free)
  std::string refine_intrinsics = "auto";     // auto | yes | no (in the bundle adjustment)
  std::string world = "first";                // first | camera:NAME | board:FRAME
  double board_flex_mm = 0.0;                 // > 0: final solve with free corners (prior std)
  double loss_px = 1.0;                       // Huber scale of the bundle adjustment (0: none)
  int outlier_rounds = 2;                     // outlier-view rounds of the bundle adjustment
  int frame_stride = 1;
  int max_frames = 0;
  std::string report;  // default: OUT-stem_report beside OUT
  int threads = 0;
  bool quiet = false;
  bool allow_single_camera = false;  // tests / intrinsics-only runs
};

struct CalibrateSummary {
  Rig rig;
  int64_t images = 0;  // images or frames examined, all cameras
  int64_t boards = 0;  // boards detected, all cameras
  double rms_px = 0.0;
  std::vector<double> camera_rms_px;
  std::string report_dir;
  double seconds = 0.0;
};
CalibrateSummary RunCalibrate(const CalibrateOptions& options,
                              std::ostream& out,
                              std::ostream& err);

// ---- rigpose model import movenet|torchscript / create / info ----------------------------
struct ModelCliOptions {
  std::string action;  // import-movenet | import-torchscript | create | info | eval
  std::string input;   // TFJS folder, TorchScript file, or model file (info)
  std::string out;
  std::string arch = "simplebaseline-r18";
  std::string skeleton = "coco17";
  std::string input_size = "192x256";  // WxH
  int heatmap_stride = 4;
  std::vector<float> mean, std;  // RGB of pixel / 255 (default ImageNet)
  double dropout = 0.0;
  bool aleatoric = false;
  uint64_t seed = 1;
  // eval: PCK@alpha on a COCO keypoints set (detect2d/train.h EvaluatePck)
  std::string coco;
  std::string images;  // image root ("": the capture root, as `rigpose train`)
  double alpha = 0.05;
  int max_instances = 0;
  bool flip_test = false;  // heatmaps averaged with the mirrored crop's
  int threads = 0;
  std::string device = "cpu";
  std::string json_out;  // optional: {"pck", "mean_error_px", "joints", "per_joint_pck"}
};
void RunModel(const ModelCliOptions& options, std::ostream& out);

// ---- rigpose detect --model FILE (--videos DIR | --images DIR) --out OUT ---------------------
struct DetectOptions {
  std::string model;
  std::string videos, images;  // one video file / image subfolder per camera
  std::string out;             // .npy [F, C, J, 3] or a folder of <camera>_json OpenPose trees
  std::string rig;             // optional: cameras follow the rig's order and names
  std::string rig_format = "auto";
  std::string device = "cpu";
  int batch_size = 16;
  int threads = 0;
  int first_frame = 0;
  int max_frames = 0;
  int frame_stride = 1;
  std::string decoder = "dark";
  double person_min_score = 0.2;  // mean joint score below which a camera-frame has no person
  double box_padding = 0.15;      // crop = keypoint box grown by this fraction of its larger side
  int mc_dropout = 0;             // T MC-dropout passes (writes OUT-stem.variance.npy)
  bool flip_test = false;         // average with the mirrored crops
  bool refine_first = true;       // without a previous box: full frame, then a second pass
  bool track_3d = true;           // with --rig: lost cameras get a box from the other views' 3D
  bool quiet = false;
};
struct DetectCameraStats {
  std::string name;
  int frames = 0;
  int frames_with_person = 0;
  double mean_score = 0;  // over frames with a person
};
struct DetectSummary {
  int num_frames = 0;
  int num_cameras = 0;
  std::vector<DetectCameraStats> cameras;
  int64_t crops = 0;
  int64_t full_frame_searches = 0;  // camera-frames that started from the whole image
  int64_t boxes_from_3d = 0;        // boxes taken from the previous frame's reprojected 3D
  double seconds_decode = 0, seconds_crop = 0, seconds_infer = 0, seconds_total = 0;
  std::string device;
  std::string variance_path;
};
DetectSummary RunDetect(const DetectOptions& options, std::ostream& out, std::ostream& err);

// ---- rigpose reconstruct (--rig RIG --videos DIR --model M | --manifest FILE) --out DIR ----
struct ReconstructCliOptions {
  std::string config;    // YAML of configuration keys (pipeline/reconstruct_config.h)
  std::string manifest;  // YAML `sessions:` list; each session goes to OUT/<name>/
  std::string out;       // the session folder (single session) or the run folder (manifest)
  std::map<std::string, std::string> values;  // keys given on the command line (win)
  bool force = false;                         // recompute finished sessions
  bool dump_config = false;                   // print the effective configuration(s) and stop
  bool quiet = false;                         // no progress bars
};
struct ReconstructSessionStatus {
  std::string name;
  std::string status;  // ok | skipped | failed
  std::string message;
  ReconstructResult result;
};
struct ReconstructCliSummary {
  std::vector<ReconstructSessionStatus> sessions;
  int failed = 0;
};
// Runs every session; a failed session does not stop the others. Writes OUT/summary.tsv for a
// manifest. Throws (exit 1) after the summary table when any session failed.
ReconstructCliSummary RunReconstructCli(const ReconstructCliOptions& options,
                                        std::ostream& out,
                                        std::ostream& err);

}  // namespace rigpose::cli

// SPDX-License-Identifier: BSD-3-Clause
// rigpose triangulate --rig RIG --keypoints IN --out OUT: 2D keypoints of a calibrated rig to 3D
// joints, in frame chunks (bounded memory on long captures).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/progress.h"
#include "core/error.h"
#include "core/skeleton.h"
#include "data/calib_io.h"
#include "data/file_util.h"
#include "data/npy.h"
#include "data/openpose_json.h"
#include "data/poses_io.h"
#include "pipeline/triangulate_chunk.h"
#include "triangulate/dlt.h"
#include "triangulate/refine.h"
#include "triangulate/robust_triangulation.h"

namespace rigpose::cli {
namespace fs = std::filesystem;
namespace {

struct CameraTally {
  ErrorStats errors;
  int64_t usable_views = 0;  // present keypoints with score >= min_score of valid joints
  int64_t used_views = 0;    // of those, used by the final fit (inliers)
  int64_t invalid_values = 0;
  int num_frames = 0;  // frames the input holds for this camera (OpenPose tree)
};

// Turns NaN / negative scores and non-finite coordinates into missing keypoints, counting them
// per camera. Returns the number fixed.
int64_t SanitiseKeypoints(Keypoints2D* keypoints, std::vector<CameraTally>* tallies) {
  int64_t fixed = 0;
  for (int f = 0; f < keypoints->num_frames(); ++f) {
    for (int c = 0; c < keypoints->num_cameras(); ++c) {
      for (int j = 0; j < keypoints->num_joints(); ++j) {
        const float x = keypoints->x(f, c, j);
        const float y = keypoints->y(f, c, j);
        const float s = keypoints->score(f, c, j);
        const bool missing = s == 0.f && x == 0.f && y == 0.f;
        if (missing || (std::isfinite(s) && s >= 0.f && std::isfinite(x) && std::isfinite(y))) {
          continue;
        }
        keypoints->SetMissing(f, c, j);
        ++(*tallies)[c].invalid_values;
        ++fixed;
      }
    }
  }
  return fixed;
}

// Where the keypoints come from: a .npy array [F][C][J][3] in rig camera order, or an OpenPose
// tree; both read by frame range.
class KeypointSource {
 public:
  KeypointSource(const TriangulateOptions& options, const Rig& rig) : path_(options.keypoints) {
    std::error_code ec;
    if (fs::is_directory(path_, ec)) {
      openpose_ = true;
      read_options_.skeleton = options.skeleton;
      if (options.person != "highest") {
        int index = -1;
        std::istringstream parse(options.person);
        if (!(parse >> index) || !parse.eof() || index < 0) {
          throw UsageError("--person '" + options.person + "' is not 'highest' or an index >= 0");
        }
        read_options_.person = OpenPoseReadOptions::Person::kIndex;
        read_options_.person_index = index;
      }
      // The first chunk lists the folders (frame counts) and fixes the skeleton.
      return;
    }
    if (FileExtension(path_) != ".npy") {
      throw UsageError("--keypoints " + path_ +
                       ": expected a folder of <camera>_json folders (OpenPose JSON) or a .npy");
    }
    const NpyHeader header = ReadNpyHeader(path_);
    const std::vector<int64_t>& shape = header.shape;
    if (shape.size() != 4 || shape[3] != 3) {
      std::ostringstream found;
      for (size_t i = 0; i < shape.size(); ++i) found << (i ? ", " : "") << shape[i];
      throw InputError(path_ +
                       ": expected 2D keypoints of shape [frames, cameras, joints, 3], found [" +
                       found.str() + "]");
    }
    if (shape[1] != rig.NumCameras()) {
      throw InputError(path_ + ": " + std::to_string(shape[1]) + " cameras in the array, " +
                       std::to_string(rig.NumCameras()) + " in the rig " + rig.source_path +
                       " (the array's cameras follow the rig's order)");
    }
    num_frames_ = static_cast<int>(shape[0]);
    skeleton_ = options.skeleton;
    if (skeleton_.empty()) {
      skeleton_ = SkeletonFromJointCount(static_cast<int>(shape[2])).value_or("");
    } else if (GetSkeleton(skeleton_).NumJoints() != shape[2]) {
      throw InputError(path_ + ": " + std::to_string(shape[2]) + " joints, skeleton " + skeleton_ +
                       " has " + std::to_string(GetSkeleton(skeleton_).NumJoints()));
    }
  }

  bool openpose() const { return openpose_; }
  // Known after the first Read for an OpenPose tree.
  int num_frames() const { return num_frames_; }
  const std::string& skeleton() const { return skeleton_; }
  const OpenPoseReadReport& report() const { return report_; }

  Keypoints2D Read(const Rig& rig, int first_frame, int max_frames) {
    if (!openpose_) {
      Keypoints2D keypoints = ReadKeypointsNpyFrames(path_, first_frame, max_frames);
      keypoints.camera_names = rig.CameraNames();
      keypoints.skeleton = skeleton_;
      return keypoints;
    }
    OpenPoseReadOptions options = read_options_;
    options.first_frame = first_frame;
    options.max_frames = max_frames;
    OpenPoseReadReport report;
    Keypoints2D keypoints = ReadOpenPoseTree(path_, &rig, options, &report);
    if (first_read_) {
      first_read_ = false;
      skeleton_ = keypoints.skeleton;
      read_options_.skeleton = skeleton_;
      num_frames_ = 0;
      for (const OpenPoseCameraReport& camera : report.cameras) {
        num_frames_ = std::max(num_frames_, camera.num_frames);
      }
      report_ = report;
    } else {
      for (size_t c = 0; c < report.cameras.size(); ++c) {
        OpenPoseCameraReport& total = report_.cameras[c];
        total.frames_without_people += report.cameras[c].frames_without_people;
        total.frames_with_several_people += report.cameras[c].frames_with_several_people;
        total.frames_without_selected_person += report.cameras[c].frames_without_selected_person;
        total.invalid_confidences += report.cameras[c].invalid_confidences;
      }
    }
    return keypoints;
  }

 private:
  std::string path_;
  bool openpose_ = false;
  bool first_read_ = true;
  OpenPoseReadOptions read_options_;
  OpenPoseReadReport report_;
  int num_frames_ = 0;
  std::string skeleton_;
};

std::string Fixed(double value, int digits) {
  if (!std::isfinite(value)) return "-";
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << value;
  return s.str();
}

}  // namespace

TriangulateSummary RunTriangulate(const TriangulateOptions& options,
                                  std::ostream& out,
                                  std::ostream& err) {
  const auto start = std::chrono::steady_clock::now();
  TriangulateSummary summary;
  const TriangulationMethod method = ParseTriangulationMethod(options.method);
  const RefineMode refine = ParseRefineMode(options.refine);
  if (!(std::isfinite(options.min_score) && options.min_score >= 0.0)) {
    throw UsageError("--min-score " + std::to_string(options.min_score) + " must be >= 0");
  }
  if (options.chunk_frames < 10) {
    throw UsageError("--chunk-frames " + std::to_string(options.chunk_frames) + " must be >= 10");
  }
  if (options.out.empty()) throw UsageError("--out is required");
  const std::string out_ext = FileExtension(options.out);
  if (out_ext != ".trc" && out_ext != ".csv" && out_ext != ".json" && out_ext != ".npy") {
    throw UsageError("--out " + options.out +
                     ": unknown extension (accepted: .trc, .csv, .json, .npy)");
  }

  RobustOptions robust;
  robust.max_reproj_error_px = options.max_reproj_error_px;
  robust.dlt.min_score = static_cast<float>(options.min_score);
  robust.dlt.num_threads = options.threads;
  std::vector<std::string> problems = robust.Check();
  RefineOptions refine_options;
  if (!options.loss.empty()) {
    const std::optional<RobustLoss> loss = RobustLossFromName(options.loss);
    if (!loss) {
      throw UsageError("--loss '" + options.loss + "' is not none, huber, soft_l1 or cauchy");
    }
    refine_options.loss = *loss;
  }
  if (options.loss_scale_px) refine_options.loss_scale_px = *options.loss_scale_px;
  if (options.smoothness_weight) refine_options.smoothness_weight = *options.smoothness_weight;
  if (options.bone_length_weight) refine_options.bone_length_weight = *options.bone_length_weight;
  refine_options.min_score = static_cast<float>(options.min_score);
  refine_options.num_threads = options.threads;
  for (const std::string& problem : refine_options.Check()) problems.push_back(problem);
  if (options.refine_views != "inliers" && options.refine_views != "all") {
    problems.push_back("--refine-views '" + options.refine_views + "' is not inliers or all");
  }
  const bool refine_views_all = options.refine_views == "all";
  if (!problems.empty()) throw UsageError(FormatProblems("triangulate options", problems));

  // ---- Rig -----------------------------------------------------------------------------------
  CalibReadOptions calib_options;
  if (!options.rig_format.empty()) {
    calib_options.format = CalibFormatOption(options.rig_format, "--rig-format");
  }
  std::vector<std::string> warnings;
  Rig rig = ReadRig(options.rig, calib_options, &warnings);
  if (rig.NumCameras() < 2) {
    throw InputError(options.rig + ": triangulation needs at least 2 cameras, the rig has " +
                     std::to_string(rig.NumCameras()) +
                     (rig.NumCameras() == 1 ? " (" + rig.cameras[0].name + ")" : ""));
  }
  if (options.no_distortion) DropDistortion(&rig);
  const int num_cameras = rig.NumCameras();

  // ---- Keypoints (first chunk fixes frame count and skeleton) ---------------------------------
  KeypointSource source(options, rig);
  const int margin = refine == RefineMode::kSequence ? refine_options.window_overlap : 0;
  Keypoints2D first = source.Read(rig, 0, options.chunk_frames + margin);
  const int num_frames = source.num_frames();
  const int num_joints = first.num_joints();
  summary.num_frames = num_frames;
  summary.num_joints = num_joints;
  summary.num_cameras = num_cameras;
  std::vector<std::pair<int, int>> bones;
  const Skeleton* skeleton = source.skeleton().empty() ? nullptr : FindSkeleton(source.skeleton());
  if (skeleton != nullptr) bones = skeleton->bones;
  if (refine == RefineMode::kSequence && refine_options.bone_length_weight > 0 && bones.empty()) {
    warnings.push_back("skeleton unknown (give --skeleton): no bone-length terms");
  }

  std::vector<CameraTally> tallies(num_cameras);
  if (source.openpose()) {
    const OpenPoseReadReport& report = source.report();
    for (int c = 0; c < num_cameras; ++c) tallies[c].num_frames = report.cameras[c].num_frames;
  } else {
    for (CameraTally& tally : tallies) tally.num_frames = num_frames;
  }

  // ---- Outputs (temporary files, renamed at the end) ------------------------------------------
  Poses3D metadata(0, num_joints);
  metadata.skeleton = source.skeleton();
  metadata.frame_rate_hz = options.fps;
  PosesWriteOptions write_options;
  write_options.y_up = options.y_up;
  write_options.frame_rate_hz = options.fps;
  fs::path out_parent = fs::path(options.out).parent_path();
  if (!out_parent.empty() && !fs::is_directory(out_parent)) {
    throw IoError(options.out + ": the output folder " + out_parent.string() + " does not exist");
  }
  PosesStreamWriter poses_writer(options.out, num_frames, metadata, write_options);
  summary.status_path = SidecarPath(options.out, ".status.npy");
  NpyStreamWriter status_writer(summary.status_path, "|u1", {num_frames, num_joints});
  std::unique_ptr<NpyStreamWriter> cov_writer;
  if (refine != RefineMode::kNone) {
    summary.covariance_path = SidecarPath(options.out, ".cov.npy");
    cov_writer = std::make_unique<NpyStreamWriter>(
        summary.covariance_path, "<f4", std::vector<int64_t>{num_frames, num_joints, 6});
  }

  // Optional reference poses (e.g. marker mocap or synthetic ground truth) for an MPJPE.
  std::optional<Poses3D> reference;
  if (!options.reference.empty()) {
    reference = ReadPoses(options.reference);
    if (reference->num_joints() != num_joints || reference->num_frames() != num_frames) {
      throw InputError(options.reference + ": " + std::to_string(reference->num_frames()) +
                       " frames x " + std::to_string(reference->num_joints()) +
                       " joints, the keypoints have " + std::to_string(num_frames) + " x " +
                       std::to_string(num_joints));
    }
  }
  double reference_error_sum = 0.0;

  ChunkTriangulationOptions chunk_options;
  chunk_options.method = method;
  chunk_options.refine = refine;
  chunk_options.robust = robust;
  chunk_options.refine_options = refine_options;
  chunk_options.bones = bones;
  chunk_options.refine_all_views = refine_views_all;
  ChunkCounters counters;
  ProgressBar bar("triangulate", num_frames, !options.quiet && num_frames > options.chunk_frames);
  for (int begin = 0; begin < num_frames; begin += options.chunk_frames) {
    const int end = std::min(num_frames, begin + options.chunk_frames);
    const int read_begin = std::max(0, begin - margin);
    const int read_end = std::min(num_frames, end + margin);
    Keypoints2D keypoints = begin == 0 && read_end <= first.num_frames()
                                ? std::move(first)
                                : source.Read(rig, read_begin, read_end - read_begin);
    if (keypoints.num_frames() < read_end - read_begin) {
      // A tree whose longest camera ends early in this range (cannot happen for .npy).
      Keypoints2D padded(read_end - read_begin, num_cameras, num_joints);
      std::copy(keypoints.data(), keypoints.data() + keypoints.size(), padded.data());
      padded.skeleton = keypoints.skeleton;
      padded.camera_names = keypoints.camera_names;
      keypoints = std::move(padded);
    }
    summary.invalid_values += SanitiseKeypoints(&keypoints, &tallies);
    const ChunkResult whole = TriangulateChunk(rig.cameras, keypoints, chunk_options, &counters);
    const ChunkResult chunk = SliceChunk(whole, num_cameras, begin - read_begin, end - read_begin);
    // Statistics over the frames kept.
    for (int f = 0; f < end - begin; ++f) {
      for (int j = 0; j < num_joints; ++j) {
        const uint8_t status = chunk.status[static_cast<size_t>(f) * num_joints + j];
        if (status < kNumTriangulationStatus) ++summary.status_counts[status];
        if (status != 0) continue;
        if (reference && reference->IsValid(begin + f, j)) {
          reference_error_sum +=
              (chunk.poses.Position(f, j) - reference->Position(begin + f, j)).norm();
          ++summary.reference_count;
        }
        for (int c = 0; c < num_cameras; ++c) {
          const int64_t i = (static_cast<int64_t>(f) * num_cameras + c) * num_joints + j;
          const int64_t k = keypoints.Offset(begin - read_begin + f, c, j);
          const float score = keypoints.data()[k + 2];
          if (!(score > 0.f && score >= options.min_score)) continue;
          ++tallies[c].usable_views;
          if (!chunk.used[i]) continue;
          ++tallies[c].used_views;
          tallies[c].errors.Add(chunk.reproj_error_px[i]);
        }
      }
    }
    poses_writer.Append(chunk.poses);
    status_writer.Append(chunk.status.data(), static_cast<int64_t>(chunk.status.size()));
    if (cov_writer) {
      cov_writer->Append(chunk.covariance.data(),
                         static_cast<int64_t>(chunk.covariance.size() * sizeof(float)));
    }
    bar.Update(end);
  }
  bar.Finish();
  summary.num_hypotheses = counters.num_hypotheses;
  summary.refine_failed = counters.refine_failed;
  summary.refine_iterations = counters.refine_iterations;
  summary.refine_seconds = counters.refine_seconds;
  summary.bone_lengths_m = counters.bone_lengths_m;

  // ---- Report -------------------------------------------------------------------------------
  for (int c = 0; c < num_cameras; ++c) {
    TriangulateCameraStats stats;
    stats.name = rig.cameras[c].name;
    stats.num_frames = tallies[c].num_frames;
    stats.num_used = tallies[c].used_views;
    stats.num_usable = tallies[c].usable_views;
    stats.median_px = tallies[c].errors.Median();
    stats.mean_px = tallies[c].errors.Mean();
    stats.inlier_share =
        tallies[c].usable_views > 0 ? double(tallies[c].used_views) / tallies[c].usable_views : NAN;
    stats.invalid_values = tallies[c].invalid_values;
    summary.cameras.push_back(stats);
  }
  // Data problems: one line each.
  for (int c = 0; c < num_cameras; ++c) {
    const TriangulateCameraStats& s = summary.cameras[c];
    if (s.num_frames != num_frames) {
      summary.data_problems.push_back("camera " + s.name + " has " + std::to_string(s.num_frames) +
                                      " frames, the longest camera " + std::to_string(num_frames) +
                                      ": its missing frames count as no detection");
    }
    int64_t invalid = s.invalid_values;
    if (source.openpose()) invalid += source.report().cameras[c].invalid_confidences;
    if (invalid > 0) {
      summary.data_problems.push_back("camera " + s.name + ": " + std::to_string(invalid) +
                                      " keypoints with NaN or negative score or coordinates "
                                      "(ignored)");
    }
    if (s.num_usable == 0 && num_frames > 0) {
      summary.data_problems.push_back("camera " + s.name + ": no keypoint with score >= " +
                                      Fixed(options.min_score, 2) + " on any triangulated joint");
    }
  }
  const int64_t num_items = static_cast<int64_t>(num_frames) * num_joints;
  const int64_t num_invalid = num_items - summary.status_counts[0];
  if (num_invalid > 0) {
    std::string line = std::to_string(num_invalid) + " of " + std::to_string(num_items) +
                       " joint-frames not triangulated (";
    bool first_reason = true;
    for (int s = 1; s < kNumTriangulationStatus; ++s) {
      if (summary.status_counts[s] == 0) continue;
      line += (first_reason ? "" : ", ") + std::to_string(summary.status_counts[s]) + " " +
              TriangulationStatusName(static_cast<TriangulationStatus>(s));
      first_reason = false;
    }
    summary.data_problems.push_back(line + "); flags in " + summary.status_path);
  }

  if (summary.reference_count > 0) {
    summary.reference_mpjpe_m = reference_error_sum / summary.reference_count;
  }

  auto number = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); };
  nlohmann::json report;
  report["format"] = "rigpose-triangulate-report";
  report["version"] = 1;
  report["rig"] = options.rig;
  report["keypoints"] = options.keypoints;
  report["out"] = options.out;
  report["status"] = summary.status_path;
  if (!summary.covariance_path.empty()) report["covariance"] = summary.covariance_path;
  report["method"] = options.method;
  report["refine"] = options.refine;
  report["min_score"] = options.min_score;
  report["no_distortion"] = options.no_distortion;
  report["skeleton"] = source.skeleton();
  report["frames"] = num_frames;
  report["joints"] = num_joints;
  nlohmann::json status_counts;
  for (int s = 0; s < kNumTriangulationStatus; ++s) {
    status_counts[TriangulationStatusName(static_cast<TriangulationStatus>(s))] =
        summary.status_counts[s];
  }
  report["status_counts"] = status_counts;
  if (reference) {
    report["reference"] = {{"path", options.reference},
                           {"mpjpe_m", number(summary.reference_mpjpe_m)},
                           {"joint_frames", summary.reference_count}};
  }
  for (const TriangulateCameraStats& s : summary.cameras) {
    report["cameras"].push_back({{"name", s.name},
                                 {"frames", s.num_frames},
                                 {"median_px", number(s.median_px)},
                                 {"mean_px", number(s.mean_px)},
                                 {"views_used", s.num_used},
                                 {"views_usable", s.num_usable},
                                 {"inlier_share", number(s.inlier_share)},
                                 {"invalid_values", s.invalid_values}});
  }
  report["data_problems"] = summary.data_problems;
  report["warnings"] = warnings;
  if (!summary.bone_lengths_m.empty() && skeleton != nullptr) {
    for (size_t b = 0; b < bones.size() && b < summary.bone_lengths_m.size(); ++b) {
      report["bone_lengths_m"].push_back(
          {{"bone",
            skeleton->joint_names[bones[b].first] + "-" + skeleton->joint_names[bones[b].second]},
           {"length_m", number(summary.bone_lengths_m[b])}});
    }
  }
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report["seconds"] = summary.seconds;
  report["refine_seconds"] = summary.refine_seconds;
  summary.report_path = SidecarPath(options.out, ".report.json");

  // Commit: sidecars first, the poses last (their presence means the run finished).
  status_writer.Commit();
  if (cov_writer) cov_writer->Commit();
  WriteFileAtomic(summary.report_path, report.dump(2) + "\n");
  poses_writer.Commit();

  // ---- Console ------------------------------------------------------------------------------
  for (const std::string& warning : warnings) err << "warning: " << warning << "\n";
  out << "triangulated " << num_frames << " frames x " << num_joints << " joints ("
      << (source.skeleton().empty() ? "unknown skeleton" : source.skeleton()) << ") from "
      << num_cameras << " cameras: method " << options.method << ", refine " << options.refine
      << ", min score " << Fixed(options.min_score, 2) << "\n";
  out << "  camera            median px   mean px   views used   inlier share\n";
  for (const TriangulateCameraStats& s : summary.cameras) {
    out << "  " << std::left << std::setw(16) << s.name << std::right << std::setw(11)
        << Fixed(s.median_px, 2) << std::setw(10) << Fixed(s.mean_px, 2) << std::setw(13)
        << s.num_used << std::setw(14)
        << (std::isfinite(s.inlier_share) ? Fixed(100.0 * s.inlier_share, 1) + " %" : "-") << "\n";
  }
  out << "  " << summary.status_counts[0] << " of " << num_items << " joint-frames valid";
  if (refine != RefineMode::kNone)
    out << "; refinement " << Fixed(summary.refine_seconds, 2) << " s";
  out << "; total " << Fixed(summary.seconds, 2) << " s\n";
  if (reference) {
    out << "  MPJPE against " << options.reference << ": "
        << Fixed(1e3 * summary.reference_mpjpe_m, 3) << " mm over " << summary.reference_count
        << " joint-frames\n";
  }
  for (const std::string& problem : summary.data_problems) out << "  data: " << problem << "\n";
  out << "wrote " << options.out << " (+ " << fs::path(summary.status_path).filename().string();
  if (!summary.covariance_path.empty()) {
    out << ", " << fs::path(summary.covariance_path).filename().string();
  }
  out << ", " << fs::path(summary.report_path).filename().string() << ")\n";
  return summary;
}

void RegisterTriangulate(CLI::App& app, Action& action) {
  auto o = std::make_shared<TriangulateOptions>();
  CLI::App* cmd = app.add_subcommand(
      "triangulate",
      "2D keypoints of a calibrated rig to 3D joints (DLT, robust, Ceres refinement)");
  cmd->add_option("--rig", o->rig, "Calibration (any format `calib info` reads)")->required();
  cmd->add_option("--keypoints",
                  o->keypoints,
                  "OpenPose JSON tree (one <camera>_json folder per rig camera) or .npy "
                  "[frames, cameras (rig order), joints, 3]")
      ->required();
  cmd->add_option("--out", o->out, "3D poses: .trc, .csv, .json or .npy")->required();
  cmd->add_option("--method", o->method, "dlt | weighted | robust");
  cmd->add_option("--refine", o->refine, "none | frame | sequence");
  cmd->add_option("--min-score", o->min_score, "Ignore keypoints with a lower score");
  cmd->add_option("--max-reproj-error",
                  o->max_reproj_error_px,
                  "Robust: inlier threshold on the reprojection error (px)");
  cmd->add_option("--refine-views",
                  o->refine_views,
                  "Views the refinement uses: inliers (of the robust step) | all (robust loss)");
  cmd->add_option("--loss", o->loss, "Refinement loss: huber | cauchy | soft_l1 | none");
  cmd->add_option_function<double>(
      "--loss-scale", [o](double v) { o->loss_scale_px = v; }, "Robust loss scale (px)");
  cmd->add_option_function<double>(
      "--smoothness",
      [o](double v) { o->smoothness_weight = v; },
      "Sequence: weight of the second differences (px per m)");
  cmd->add_option_function<double>(
      "--bone-weight",
      [o](double v) { o->bone_length_weight = v; },
      "Sequence: weight of constant bone lengths (px per m)");
  cmd->add_option("--skeleton", o->skeleton, "Joint set of the 2D keypoints (e.g. body25b)");
  cmd->add_option("--person", o->person, "OpenPose: 'highest' total confidence or an index");
  cmd->add_option("--rig-format", o->rig_format, "Calibration format (default: detected)");
  cmd->add_flag("--no-distortion",
                o->no_distortion,
                "Ignore the lens distortion of the calibration (as Pose2Sim's "
                "undistort_points = false)");
  cmd->add_option("--reference",
                  o->reference,
                  "3D poses to compare with (same frames and joints): prints the MPJPE");
  cmd->add_option("--fps", o->fps, "Frame rate written to the output (Hz)");
  cmd->add_flag("--y-up", o->y_up, "TRC: Pose2Sim / OpenSim Y-up axes");
  cmd->add_option("--chunk-frames", o->chunk_frames, "Frames processed at a time");
  cmd->add_option("--threads", o->threads, "Worker threads (0: all cores)");
  cmd->add_flag("--quiet", o->quiet, "No progress bar");
  cmd->callback([&action, o]() { action = [o] { RunTriangulate(*o, std::cout, std::cerr); }; });
}

}  // namespace rigpose::cli

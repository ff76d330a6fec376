// SPDX-License-Identifier: BSD-3-Clause
#include "pipeline/reconstruct.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iomanip>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/joint_names.h"
#include "core/skeleton.h"
#include "data/calib_io.h"
#include "data/file_util.h"
#include "data/frame_source.h"
#include "data/npy.h"
#include "data/poses_io.h"
#include "detect2d/crop.h"
#include "detect2d/detector.h"
#include "pipeline/rig_streams.h"
#include "pipeline/triangulate_chunk.h"
#if defined(RIGPOSE_HAVE_TORCH)
#include "pipeline/person_tracker.h"
#endif

namespace rigpose {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

std::string ChunkName(int k) {
  char name[16];
  std::snprintf(name, sizeof(name), "%06d", k);
  return name;
}

// Fault injection for the resume tests: RIGPOSE_TEST_KILL_AFTER_WRITES=N kills the process with
// SIGKILL right after the N-th file written into a chunk folder (a crash at an arbitrary point).
void CountChunkWrite() {
  static int writes = 0;
  static const int kill_after = [] {
    const char* v = std::getenv("RIGPOSE_TEST_KILL_AFTER_WRITES");
    return v != nullptr ? std::atoi(v) : 0;
  }();
  if (kill_after > 0 && ++writes >= kill_after) std::raise(SIGKILL);
}

// A chunk folder written under a temporary name and renamed into place.
class ChunkWriter {
 public:
  explicit ChunkWriter(fs::path final_dir) : final_(std::move(final_dir)) {
    temp_ = final_;
    temp_ += ".tmp";
    fs::remove_all(temp_);
    fs::create_directories(temp_);
  }
  ~ChunkWriter() {
    if (!committed_) {
      std::error_code ec;
      fs::remove_all(temp_, ec);
    }
  }
  std::string Path(const std::string& file) const { return (temp_ / file).string(); }
  void Written() { CountChunkWrite(); }
  void Commit() {
    fs::rename(temp_, final_);
    committed_ = true;
  }

 private:
  fs::path final_, temp_;
  bool committed_ = false;
};

NpyArray MakeArray(const std::string& dtype, std::vector<int64_t> shape, const void* data) {
  NpyArray array;
  array.dtype = dtype;
  array.shape = std::move(shape);
  const size_t bytes = static_cast<size_t>(array.NumElements()) * NpyItemSize(dtype);
  array.bytes.assign(static_cast<const char*>(data), static_cast<const char*>(data) + bytes);
  return array;
}

json ReadJson(const std::string& path) {
  try {
    return json::parse(ReadFileToString(path));
  } catch (const json::exception& e) {
    throw IoError(path + ": not valid JSON (" + e.what() + ")");
  }
}

json SecondsJson(const StageSeconds& s) {
  return {{"decode", s.decode},
          {"crop", s.crop},
          {"network", s.network},
          {"triangulate", s.triangulate},
          {"refine", s.refine},
          {"write", s.write},
          {"total", s.Total()}};
}

void AddSeconds(const json& j, StageSeconds* s) {
  s->decode += j.value("decode", 0.0);
  s->crop += j.value("crop", 0.0);
  s->network += j.value("network", 0.0);
  s->triangulate += j.value("triangulate", 0.0);
  s->refine += j.value("refine", 0.0);
  s->write += j.value("write", 0.0);
}

json Number(double v) { return std::isfinite(v) ? json(v) : json(); }

int64_t SanitiseKeypoints(Keypoints2D* keypoints) {
  int64_t fixed = 0;
  float* v = keypoints->data();
  for (int64_t i = 0; i < keypoints->size(); i += 3) {
    const bool missing = v[i] == 0.f && v[i + 1] == 0.f && v[i + 2] == 0.f;
    if (missing || (std::isfinite(v[i + 2]) && v[i + 2] >= 0.f && std::isfinite(v[i]) &&
                    std::isfinite(v[i + 1]))) {
      continue;
    }
    v[i] = v[i + 1] = v[i + 2] = 0.f;
    ++fixed;
  }
  return fixed;
}

std::string FixedText(double value, int digits) {
  if (!std::isfinite(value)) return "-";
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << value;
  return s.str();
}

// A finished session (report.json present): true after filling *result from the report; an
// InputError naming the changed keys when it was made with other options.
bool FinishedEarlier(const ReconstructConfig& config,
                     const fs::path& report_path,
                     const std::string& ctx,
                     const std::string& out_dir,
                     ReconstructResult* result,
                     std::ostream& log) {
  const json report = ReadJson(report_path.string());
  const std::string previous = report.value("config", std::string());
  const std::string current = DumpConfigYaml(config);
  if (previous != current) {
    std::istringstream a(previous), b(current);
    std::string line_a, line_b, changes;
    while (std::getline(a, line_a) && std::getline(b, line_b)) {
      if (line_a != line_b) changes += (changes.empty() ? "" : "; ") + line_a + " -> " + line_b;
    }
    throw InputError(ctx + ": " + out_dir +
                     " holds a finished reconstruction made with other "
                     "options (" +
                     changes + "); rerun with --force to recompute it");
  }
  result->skipped = true;
  result->frames = report.value("frames", 0);
  result->cameras = report.value("num_cameras", 0);
  result->joints = report.value("joints", 0);
  result->chunks = report.value("chunks", 0);
  result->median_px = report.value("median_px", NAN);
  result->valid_share = report.value("valid_share", 0.0);
  if (report.contains("reference")) {
    result->mpjpe_m = report["reference"].value("mpjpe_m", -1.0);
  }
  log << ctx << ": finished earlier (" << report_path.string()
      << "): skipped (--force recomputes it)\n";
  return true;
}

ChunkTriangulationOptions MakeTriangulationOptions(const ReconstructConfig& config,
                                                   RefineMode refine,
                                                   const Skeleton* skeleton,
                                                   const std::string& ctx) {
  ChunkTriangulationOptions tri;
  tri.method = ParseTriangulationMethod(config.method);
  tri.refine = refine;
  tri.robust.max_reproj_error_px = config.max_reproj_error;
  tri.robust.dlt.min_score = static_cast<float>(config.min_score);
  tri.robust.dlt.num_threads = config.threads;
  if (const auto loss = RobustLossFromName(config.loss)) {
    tri.refine_options.loss = *loss;
  } else {
    throw UsageError(ctx + ": loss '" + config.loss + "' is not none, huber, soft_l1 or cauchy");
  }
  tri.refine_options.loss_scale_px = config.loss_scale;
  tri.refine_options.smoothness_weight = config.smoothness;
  tri.refine_options.bone_length_weight = config.bone_weight;
  tri.refine_options.min_score = static_cast<float>(config.min_score);
  tri.refine_options.num_threads = config.threads;
  if (skeleton != nullptr) tri.bones = skeleton->bones;
  tri.refine_all_views = config.refine_views == "all";
  {
    std::vector<std::string> problems = tri.robust.Check();
    for (const std::string& p : tri.refine_options.Check()) problems.push_back(p);
    if (!problems.empty()) throw UsageError(FormatProblems(ctx + ": options", problems));
  }
  return tri;
}

}  // namespace

ReconstructResult RunReconstruct(const ReconstructConfig& config,
                                 const std::string& out_dir,
                                 const ReconstructRunOptions& run,
                                 std::ostream& log) {
  const Clock::time_point start = Clock::now();
  ReconstructResult result;
  result.name = run.name.empty() ? fs::path(out_dir).filename().string() : run.name;
  result.out_dir = out_dir;
  const std::string ctx = "session " + result.name;
  if (const std::vector<std::string> problems = CheckReconstructConfig(config); !problems.empty()) {
    throw UsageError(FormatProblems(ctx + ": options", problems));
  }
  ParseTriangulationMethod(config.method);  // UsageError early
  const RefineMode refine = ParseRefineMode(config.refine);

  const fs::path out(out_dir);
  const fs::path state = out / ".rigpose";
  const fs::path report_path = out / "report.json";
  std::error_code ec;
  if (fs::exists(report_path, ec) && !run.force &&
      FinishedEarlier(config, report_path, ctx, out_dir, &result, log)) {
    return result;
  }
  if (run.force) {
    fs::remove_all(state, ec);
    fs::remove(report_path, ec);
  }
  fs::create_directories(state);

  // ---- Rig -----------------------------------------------------------------------------------
  CalibReadOptions calib_options;
  calib_options.format = ParseCalibFormat(config.rig_format).value_or(CalibFormat::kAuto);
  if (config.rig_format != "auto" && !ParseCalibFormat(config.rig_format)) {
    throw UsageError(ctx + ": rig-format '" + config.rig_format + "' is not a calibration format");
  }
  Rig rig = ReadRig(config.rig, calib_options);
  if (rig.NumCameras() < 2) {
    throw InputError(ctx + ": " + config.rig +
                     ": reconstruction needs at least 2 cameras, the rig has " +
                     std::to_string(rig.NumCameras()));
  }
  if (config.no_distortion) DropDistortion(&rig);
  const int C = rig.NumCameras();

  // ---- Input: videos / images + detector, or 2D keypoints -----------------------------------
  int F = 0, J = 0;
  std::string skeleton_name;
  double fps = config.fps;
  const bool from_keypoints = !config.keypoints.empty();
  const std::string frames_dir = config.videos.empty() ? config.images : config.videos;
  std::vector<int> order;
  FrameSourceOptions source_options;
#if defined(RIGPOSE_HAVE_TORCH)
  std::unique_ptr<KeypointDetector> detector;
#endif
  bool with_variance = false;
  if (from_keypoints) {
    if (config.frame_stride != 1) {
      throw UsageError(ctx + ": frame-stride applies to videos and images, not to keypoints");
    }
    const NpyHeader header = ReadNpyHeader(config.keypoints);
    if (header.shape.size() != 4 || header.shape[3] != 3) {
      throw InputError(ctx + ": " + config.keypoints +
                       ": expected 2D keypoints of shape [frames, cameras, joints, 3]");
    }
    if (header.shape[1] != C) {
      throw InputError(ctx + ": " + config.keypoints + ": " + std::to_string(header.shape[1]) +
                       " cameras in the array, " + std::to_string(C) + " in the rig " + config.rig);
    }
    const int available = static_cast<int>(header.shape[0]);
    if (config.first_frame >= available) {
      throw InputError(ctx + ": first-frame " + std::to_string(config.first_frame) +
                       " is past the " + std::to_string(available) + " frames of " +
                       config.keypoints);
    }
    F = available - config.first_frame;
    if (config.max_frames > 0) F = std::min(F, config.max_frames);
    J = static_cast<int>(header.shape[2]);
    skeleton_name = SkeletonFromJointCount(J).value_or("");
  } else {
#if !defined(RIGPOSE_HAVE_TORCH)
    throw UsageError(ctx +
                     ": this rigpose was built without LibTorch: give keypoints (2D .npy) "
                     "instead of videos + model");
#else
    source_options.first_frame = config.first_frame;
    source_options.max_frames = config.max_frames;
    source_options.frame_stride = config.frame_stride;
    source_options.truncate_to_shortest = config.truncate;
    const FrameSourceKind kind =
        config.videos.empty() ? FrameSourceKind::kImages : FrameSourceKind::kVideos;
    try {
      MultiCameraFrameSource probe = MultiCameraFrameSource::Open(frames_dir, kind, source_options);
      order = MatchStreamsToRig(probe.cameras(), rig, config.rig, frames_dir, ctx);
      F = probe.num_frames();
      if (fps <= 0 && kind == FrameSourceKind::kVideos && probe.cameras()[0].fps > 0) {
        fps = probe.cameras()[0].fps / config.frame_stride;
      }
    } catch (const InputError& e) {
      const std::string what = e.what();
      throw InputError(what.rfind(ctx, 0) == 0 ? what : ctx + ": " + what);
    } catch (const IoError& e) {
      throw IoError(ctx + ": " + e.what());
    }
    DetectorOptions detector_options;
    detector_options.device = config.device;
    detector_options.batch_size = config.batch_size;
    detector_options.num_threads = config.threads;
    detector_options.mc_dropout_passes = config.mc_dropout;
    detector_options.flip_test = config.flip_test;
    const std::optional<HeatmapDecoder> decoder = ParseHeatmapDecoder(config.decoder);
    if (!decoder) {
      throw UsageError(ctx + ": decoder '" + config.decoder +
                       "': use argmax, argmax-quarter, dark or soft-argmax");
    }
    detector_options.decode.decoder = *decoder;
    detector = KeypointDetector::Load(config.model, detector_options);
    J = detector->info().num_joints;
    skeleton_name = detector->info().skeleton;
    with_variance = config.mc_dropout > 1 || detector->info().aleatoric;
    result.device = detector->device();
#endif
  }
  if (fps <= 0) fps = 30.0;
  if (F <= 0) throw InputError(ctx + ": no frame to reconstruct");
  const Skeleton* skeleton = skeleton_name.empty() ? nullptr : FindSkeleton(skeleton_name);
  const int N = config.chunk_frames;
  const int K = (F + N - 1) / N;
  const int M = refine == RefineMode::kSequence ? config.overlap : 0;
  result.frames = F;
  result.cameras = C;
  result.joints = J;
  result.chunks = K;

  // ---- Session record: chunks are only reused with the same options and input -----------------
  json session;
  session["format"] = "rigpose-reconstruct-session";
  {
    // What the chunks depend on (not the output-only keys).
    ReconstructConfig chunk_config = config;
    chunk_config.reference.clear();
    chunk_config.fps = 0;
    chunk_config.y_up = false;
    session["config"] = DumpConfigYaml(chunk_config);
  }
  session["frames"] = F;
  session["cameras"] = rig.CameraNames();
  session["joints"] = J;
  const fs::path session_path = state / "session.json";
  if (fs::exists(session_path, ec)) {
    const json previous = ReadJson(session_path.string());
    if (previous != session) {
      throw InputError(ctx + ": " + out_dir +
                       " holds the chunks of a run with other options or input (" +
                       session_path.string() + "); rerun with --force to start over");
    }
  } else {
    WriteFileAtomic(session_path.string(), session.dump(2) + "\n");
  }
  const fs::path dir2d = state / "chunks" / "2d";
  const fs::path dir3d = state / "chunks" / "3d";
  fs::create_directories(dir2d);
  fs::create_directories(dir3d);
  for (const fs::path& dir : {dir2d, dir3d}) {  // leftovers of an interrupted commit
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.path().extension() == ".tmp") fs::remove_all(entry.path());
    }
  }
  auto chunk2d = [&](int k) { return dir2d / ChunkName(k); };
  auto chunk3d = [&](int k) { return dir3d / ChunkName(k); };
  int k0 = 0;
  while (k0 < K && fs::is_directory(chunk2d(k0))) ++k0;
  for (int k = k0; k < K; ++k) {  // after a gap: recomputed
    fs::remove_all(chunk2d(k));
    fs::remove_all(chunk3d(k));
  }
  result.chunks_2d_resumed = k0;
  const bool quiet_progress = !run.progress;
  auto progress = [&](const std::string& stage, int done, int total) {
    if (!quiet_progress) run.progress(stage, done, total);
  };

  // ---- 3D of one chunk from the 2D chunks around it -----------------------------------------
  const ChunkTriangulationOptions tri = MakeTriangulationOptions(config, refine, skeleton, ctx);
  int64_t invalid_values = 0;
  auto triangulate = [&](int k) {
    const int begin = k * N, end = std::min(F, begin + N);
    const int read_begin = std::max(0, begin - M), read_end = std::min(F, end + M);
    Keypoints2D keypoints(read_end - read_begin, C, J);
    for (int q = read_begin / N; q <= (read_end - 1) / N; ++q) {
      const Keypoints2D part = ReadKeypointsNpy((chunk2d(q) / "keypoints.npy").string());
      const int q_begin = q * N;
      for (int f = std::max(read_begin, q_begin);
           f < std::min(read_end, q_begin + part.num_frames());
           ++f) {
        std::copy(part.data() + part.Offset(f - q_begin, 0, 0),
                  part.data() + part.Offset(f - q_begin, 0, 0) + int64_t(C) * J * 3,
                  keypoints.data() + keypoints.Offset(f - read_begin, 0, 0));
      }
    }
    keypoints.camera_names = rig.CameraNames();
    keypoints.skeleton = skeleton_name;
    invalid_values += SanitiseKeypoints(&keypoints);
    ChunkCounters counters;
    const ChunkResult whole = TriangulateChunk(rig.cameras, keypoints, tri, &counters);
    const ChunkResult chunk = SliceChunk(whole, C, begin - read_begin, end - read_begin);
    const Clock::time_point t = Clock::now();
    const int n = end - begin;
    ChunkWriter writer(chunk3d(k));
    WritePosesNpy(writer.Path("poses.npy"), chunk.poses);
    writer.Written();
    WriteNpy(writer.Path("status.npy"), MakeArray("|u1", {n, J}, chunk.status.data()));
    writer.Written();
    WriteNpy(writer.Path("used.npy"), MakeArray("|u1", {n, C, J}, chunk.used.data()));
    writer.Written();
    WriteNpy(writer.Path("error.npy"), MakeArray("<f4", {n, C, J}, chunk.reproj_error_px.data()));
    writer.Written();
    if (!chunk.covariance.empty()) {
      WriteNpy(writer.Path("cov.npy"), MakeArray("<f4", {n, J, 6}, chunk.covariance.data()));
      writer.Written();
    }
    StageSeconds seconds;
    seconds.triangulate = counters.triangulate_seconds;
    seconds.refine = counters.refine_seconds;
    seconds.write = Seconds(t);
    json meta = {{"frames", n},
                 {"seconds", SecondsJson(seconds)},
                 {"hypotheses", counters.num_hypotheses},
                 {"refine_failed", counters.refine_failed},
                 {"bone_lengths_m", counters.bone_lengths_m}};
    WriteFileAtomic(writer.Path("meta.json"), meta.dump(2) + "\n");
    writer.Written();
    writer.Commit();
    result.run_seconds.triangulate += seconds.triangulate;
    result.run_seconds.refine += seconds.refine;
    result.run_seconds.write += seconds.write;
    ++result.chunks_3d_computed;
    progress("triangulate", k + 1, K);
  };

  // ---- 2D: detect chunk by chunk (or slice the given keypoints) -----------------------------
  if (k0 < K) {
#if defined(RIGPOSE_HAVE_TORCH)
    const int first = k0 * N;
    std::optional<MultiCameraFrameSource> source;
    std::unique_ptr<PersonTracker> tracker;
    if (!from_keypoints) {
      FrameSourceOptions resume_options = source_options;
      resume_options.first_frame = config.first_frame + first * config.frame_stride;
      resume_options.max_frames = F - first;
      const FrameSourceKind kind =
          config.videos.empty() ? FrameSourceKind::kImages : FrameSourceKind::kVideos;
      source.emplace(MultiCameraFrameSource::Open(frames_dir, kind, resume_options));
      PersonTrackerOptions tracker_options;
      tracker_options.person_min_score = config.person_min_score;
      tracker_options.box_padding = config.box_padding;
      tracker_options.track_3d = config.track_3d;
      tracker = std::make_unique<PersonTracker>(detector.get(), C, rig.cameras, tracker_options);
      if (k0 > 0) {  // the tracker's state after the last committed chunk
        const json meta = ReadJson((chunk2d(k0 - 1) / "meta.json").string());
        std::vector<std::optional<CropBox>> boxes(C);
        for (int c = 0; c < C && c < static_cast<int>(meta["boxes"].size()); ++c) {
          const json& b = meta["boxes"][c];
          if (b.is_array() && b.size() == 4 && b[0].is_number() && b[1].is_number() &&
              b[2].is_number() && b[3].is_number()) {
            boxes[c] = CropBox{
                b[0].get<double>(), b[1].get<double>(), b[2].get<double>(), b[3].get<double>()};
          }
        }
        tracker->set_boxes(boxes);
      }
    }
    std::vector<cv::Mat> images;
    std::vector<const cv::Mat*> ordered(C);
#endif
    for (int k = k0; k < K; ++k) {
      const int begin = k * N, end = std::min(F, begin + N), n = end - begin;
      Keypoints2D keypoints(n, C, J);
      std::vector<float> variance(with_variance ? static_cast<size_t>(n) * C * J : 0, 0.f);
      StageSeconds seconds;
      json meta = {{"frames", n}};
      if (from_keypoints) {
        const Clock::time_point t = Clock::now();
        const Keypoints2D part =
            ReadKeypointsNpyFrames(config.keypoints, config.first_frame + begin, n);
        std::copy(part.data(), part.data() + part.size(), keypoints.data());
        seconds.decode = Seconds(t);
      } else {
#if defined(RIGPOSE_HAVE_TORCH)
        tracker->reset_stats();
        for (int f = 0; f < n; ++f) {
          const Clock::time_point t = Clock::now();
          int frame_index = 0;
          if (!source->Next(&images, &frame_index)) {
            throw IoError(ctx + ": the videos in " + frames_dir + " ended after " +
                          std::to_string(begin + f) + " of " + std::to_string(F) +
                          " frames (their containers over-report the frame count); rerun with "
                          "max-frames " +
                          std::to_string(begin + f));
          }
          seconds.decode += Seconds(t);
          for (int c = 0; c < C; ++c) ordered[c] = &images[order[c]];
          tracker->Track(ordered,
                         keypoints.data() + keypoints.Offset(f, 0, 0),
                         with_variance ? &variance[static_cast<size_t>(f) * C * J] : nullptr);
          progress("detect", begin + f + 1, F);
        }
        const PersonTrackerStats& stats = tracker->stats();
        seconds.crop = stats.seconds_crop;
        seconds.network = stats.seconds_infer;
        json boxes = json::array();
        for (const std::optional<CropBox>& box : tracker->boxes()) {
          boxes.push_back(box ? json::array({box->x0, box->y0, box->width, box->height}) : json());
        }
        meta["boxes"] = boxes;
        meta["frames_with_person"] = stats.frames_with_person;
        meta["score_sum"] = stats.score_sum;
        meta["crops"] = stats.crops;
        meta["full_frame_searches"] = stats.full_frame_searches;
        meta["boxes_from_3d"] = stats.boxes_from_3d;
#endif
      }
      const Clock::time_point t = Clock::now();
      ChunkWriter writer(chunk2d(k));
      WriteKeypointsNpy(writer.Path("keypoints.npy"), keypoints);
      writer.Written();
      if (with_variance) {
        WriteNpy(writer.Path("variance.npy"), MakeArray("<f4", {n, C, J}, variance.data()));
        writer.Written();
      }
      seconds.write = Seconds(t);
      meta["seconds"] = SecondsJson(seconds);
      WriteFileAtomic(writer.Path("meta.json"), meta.dump(2) + "\n");
      writer.Written();
      writer.Commit();
      result.run_seconds.decode += seconds.decode;
      result.run_seconds.crop += seconds.crop;
      result.run_seconds.network += seconds.network;
      result.run_seconds.write += seconds.write;
      ++result.chunks_2d_computed;
      if (from_keypoints) progress("read", end, F);
      // The previous chunk now has its context on both sides.
      if (k >= 1 && !fs::is_directory(chunk3d(k - 1))) triangulate(k - 1);
    }
  }
  for (int k = 0; k < K; ++k) {
    if (!fs::is_directory(chunk3d(k))) triangulate(k);
  }
  result.chunks_3d_resumed = K - result.chunks_3d_computed;

  // ---- Assembly of the final outputs from the chunks ----------------------------------------
  const Clock::time_point assembly = Clock::now();
  const std::vector<std::string> joint_names =
      skeleton != nullptr ? skeleton->joint_names : std::vector<std::string>();
  Poses3D metadata(0, J);
  metadata.skeleton = skeleton_name;
  metadata.frame_rate_hz = fps;
  PosesWriteOptions write_options;
  write_options.y_up = config.y_up;
  write_options.frame_rate_hz = fps;
  PosesStreamWriter trc((out / "poses3d.trc").string(), F, metadata, write_options);
  NpyStreamWriter status_writer((out / "poses3d.status.npy").string(), "|u1", {F, J});
  const bool refined = refine != RefineMode::kNone;
  std::unique_ptr<NpyStreamWriter> cov_writer;
  if (refined) {
    cov_writer = std::make_unique<NpyStreamWriter>(
        (out / "poses3d.cov.npy").string(), "<f4", std::vector<int64_t>{F, J, 6});
  }
  NpyStreamWriter keypoints_writer((out / "keypoints2d.npy").string(), "<f4", {F, C, J, 3});
  std::unique_ptr<NpyStreamWriter> variance_writer;
  if (with_variance) {
    variance_writer = std::make_unique<NpyStreamWriter>(
        (out / "keypoints2d.variance.npy").string(), "<f4", std::vector<int64_t>{F, C, J});
  }
  AtomicFileWriter csv((out / "poses3d.csv").string());
  csv.stream() << "frame,time_s,joint,x_m,y_m,z_m,valid,status,cov_xx,cov_xy,cov_xz,cov_yy,"
                  "cov_yz,cov_zz\n";
  csv.stream() << std::setprecision(9);

  // Reference poses: matched by joint name (any tool's naming) or, without names, by index.
  std::optional<Poses3D> reference;
  std::vector<int> reference_joint(J, -1);
  if (!config.reference.empty()) {
    PosesReadOptions read;
    read.y_up = config.y_up;
    reference = ReadPoses(config.reference, read);
    const std::vector<std::string>& names =
        reference->joint_names.empty() && !reference->skeleton.empty()
            ? GetSkeleton(reference->skeleton).joint_names
            : reference->joint_names;
    if (!names.empty() && !joint_names.empty()) {
      for (int j = 0; j < J; ++j) {
        for (size_t r = 0; r < names.size(); ++r) {
          if (JointNameKey(names[r]) == JointNameKey(joint_names[j]))
            reference_joint[j] = static_cast<int>(r);
        }
      }
    } else if (reference->num_joints() == J) {
      for (int j = 0; j < J; ++j) reference_joint[j] = j;
    }
    if (std::count(reference_joint.begin(), reference_joint.end(), -1) == J) {
      throw InputError(ctx + ": reference " + config.reference + " shares no joint with the " +
                       (skeleton_name.empty() ? std::string("keypoints") : skeleton_name) +
                       " skeleton");
    }
  }
  std::vector<double> reference_sum(J, 0.0);
  std::vector<int64_t> reference_count(J, 0);

  std::vector<ErrorStats> camera_errors(C);
  std::vector<ErrorStats> joint_errors(static_cast<size_t>(C) * J, ErrorStats(0.05, 500.0));
  std::vector<int64_t> usable(static_cast<size_t>(C) * J, 0), used_views(usable);
  std::array<int64_t, kNumTriangulationStatus> status_counts{};
  std::vector<int64_t> frames_with_person(C, 0);
  std::vector<double> score_sum(C, 0.0);
  std::vector<std::vector<double>> bone_lengths;
  int64_t crops = 0, full_frame_searches = 0, boxes_from_3d = 0;
  for (int k = 0; k < K; ++k) {
    const int begin = k * N;
    const json meta2d = ReadJson((chunk2d(k) / "meta.json").string());
    const json meta3d = ReadJson((chunk3d(k) / "meta.json").string());
    AddSeconds(meta2d["seconds"], &result.all_seconds);
    AddSeconds(meta3d["seconds"], &result.all_seconds);
    if (meta2d.contains("frames_with_person")) {
      for (int c = 0; c < C; ++c) {
        frames_with_person[c] += meta2d["frames_with_person"][c].get<int64_t>();
        score_sum[c] += meta2d["score_sum"][c].get<double>();
      }
      crops += meta2d.value("crops", int64_t(0));
      full_frame_searches += meta2d.value("full_frame_searches", int64_t(0));
      boxes_from_3d += meta2d.value("boxes_from_3d", int64_t(0));
    }
    if (!meta3d["bone_lengths_m"].empty()) {
      std::vector<double> lengths;
      for (const json& v : meta3d["bone_lengths_m"]) {
        lengths.push_back(v.is_number() ? v.get<double>() : NAN);  // NaN is written as null
      }
      bone_lengths.push_back(lengths);
    }
    const Keypoints2D keypoints = ReadKeypointsNpy((chunk2d(k) / "keypoints.npy").string());
    keypoints_writer.Append(keypoints.data(), keypoints.size() * 4);
    if (variance_writer) {
      const NpyArray v = ReadNpy((chunk2d(k) / "variance.npy").string());
      variance_writer->Append(v.bytes.data(), static_cast<int64_t>(v.bytes.size()));
    }
    Poses3D poses = ReadPosesNpy((chunk3d(k) / "poses.npy").string());
    poses.skeleton = skeleton_name;
    const NpyArray status = ReadNpy((chunk3d(k) / "status.npy").string());
    const NpyArray used = ReadNpy((chunk3d(k) / "used.npy").string());
    const NpyArray error = ReadNpy((chunk3d(k) / "error.npy").string());
    std::vector<float> cov;
    if (refined) {
      const NpyArray c6 = ReadNpy((chunk3d(k) / "cov.npy").string());
      cov.resize(c6.bytes.size() / 4);
      std::memcpy(cov.data(), c6.bytes.data(), c6.bytes.size());
      cov_writer->Append(c6.bytes.data(), static_cast<int64_t>(c6.bytes.size()));
    }
    trc.Append(poses);
    status_writer.Append(status.bytes.data(), static_cast<int64_t>(status.bytes.size()));
    const auto* status_u8 = reinterpret_cast<const uint8_t*>(status.bytes.data());
    const auto* used_u8 = reinterpret_cast<const uint8_t*>(used.bytes.data());
    const auto* error_f = reinterpret_cast<const float*>(error.bytes.data());
    for (int f = 0; f < poses.num_frames(); ++f) {
      const int frame = begin + f;
      for (int j = 0; j < J; ++j) {
        const uint8_t s = status_u8[static_cast<size_t>(f) * J + j];
        if (s < kNumTriangulationStatus) ++status_counts[s];
        const bool valid = poses.IsValid(f, j);
        const Eigen::Vector3d p = poses.Position(f, j);
        csv.stream() << frame << ',' << frame / fps << ','
                     << (joint_names.empty() ? std::to_string(j) : joint_names[j]) << ',';
        if (valid) {
          csv.stream() << p.x() << ',' << p.y() << ',' << p.z();
        } else {
          csv.stream() << ",,";
        }
        csv.stream() << ',' << (valid ? 1 : 0) << ','
                     << TriangulationStatusName(static_cast<TriangulationStatus>(s));
        for (int q = 0; q < 6; ++q) {
          csv.stream() << ',';
          const float v = refined ? cov[(static_cast<size_t>(f) * J + j) * 6 + q] : NAN;
          if (valid && std::isfinite(v)) csv.stream() << v;
        }
        csv.stream() << '\n';
        if (s != 0) continue;
        if (reference && reference_joint[j] >= 0 && frame < reference->num_frames() &&
            reference->IsValid(frame, reference_joint[j])) {
          reference_sum[j] += (p - reference->Position(frame, reference_joint[j])).norm();
          ++reference_count[j];
        }
        for (int c = 0; c < C; ++c) {
          const size_t i = (static_cast<size_t>(f) * C + c) * J + j;
          const float score = keypoints.score(f, c, j);
          if (!(score > 0.f && score >= config.min_score)) continue;
          ++usable[static_cast<size_t>(c) * J + j];
          if (!used_u8[i]) continue;
          ++used_views[static_cast<size_t>(c) * J + j];
          camera_errors[c].Add(error_f[i]);
          joint_errors[static_cast<size_t>(c) * J + j].Add(error_f[i]);
        }
      }
    }
  }

  // ---- Report --------------------------------------------------------------------------------
  ErrorStats all_errors;
  json report;
  report["format"] = "rigpose-reconstruct-report";
  report["version"] = 1;
  report["session"] = result.name;
  report["rig"] = config.rig;
  report["input"] = from_keypoints ? config.keypoints : frames_dir;
  report["model"] = config.model;
  report["skeleton"] = skeleton_name;
  report["frames"] = F;
  report["num_cameras"] = C;
  report["joints"] = J;
  report["chunks"] = K;
  report["fps"] = fps;
  report["invalid_input_values"] = invalid_values;
  json counts;
  for (int s = 0; s < kNumTriangulationStatus; ++s) {
    counts[TriangulationStatusName(static_cast<TriangulationStatus>(s))] = status_counts[s];
  }
  report["status_counts"] = counts;
  result.valid_share = double(status_counts[0]) / (double(F) * J);
  report["valid_share"] = result.valid_share;
  std::vector<double> all_medians;
  for (int c = 0; c < C; ++c) {
    int64_t cam_usable = 0, cam_used = 0;
    json joints = json::array();
    for (int j = 0; j < J; ++j) {
      const size_t i = static_cast<size_t>(c) * J + j;
      cam_usable += usable[i];
      cam_used += used_views[i];
      joints.push_back({{"joint", joint_names.empty() ? std::to_string(j) : joint_names[j]},
                        {"median_px", Number(joint_errors[i].Median())},
                        {"mean_px", Number(joint_errors[i].Mean())},
                        {"views_used", used_views[i]},
                        {"views_usable", usable[i]}});
    }
    json camera = {{"name", rig.cameras[c].name},
                   {"median_px", Number(camera_errors[c].Median())},
                   {"mean_px", Number(camera_errors[c].Mean())},
                   {"views_used", cam_used},
                   {"views_usable", cam_usable},
                   {"inlier_share", Number(cam_usable > 0 ? double(cam_used) / cam_usable : NAN)},
                   {"joints", joints}};
    if (!from_keypoints) {
      camera["frames_with_person"] = frames_with_person[c];
      camera["mean_score"] =
          Number(frames_with_person[c] > 0 ? score_sum[c] / frames_with_person[c] : NAN);
    }
    report["cameras"].push_back(camera);
  }
  // The median over all cameras' used views, from the per-camera histograms' medians weighted
  // by count is not exact: recompute from the per-joint histograms is not either; report the
  // median of camera medians (the per-camera values are exact to 0.01 px).
  for (int c = 0; c < C; ++c) {
    if (camera_errors[c].count() > 0) all_medians.push_back(camera_errors[c].Median());
  }
  std::sort(all_medians.begin(), all_medians.end());
  result.median_px = all_medians.empty() ? NAN : all_medians[all_medians.size() / 2];
  report["median_px"] = Number(result.median_px);
  if (!from_keypoints) {
    report["detection"] = {{"crops", crops},
                           {"full_frame_searches", full_frame_searches},
                           {"boxes_from_3d", boxes_from_3d},
                           {"device", result.device}};
  }
  if (!bone_lengths.empty() && skeleton != nullptr) {
    for (size_t b = 0; b < skeleton->bones.size(); ++b) {
      std::vector<double> values;
      for (const std::vector<double>& chunk : bone_lengths) {
        if (b < chunk.size() && std::isfinite(chunk[b])) values.push_back(chunk[b]);
      }
      std::sort(values.begin(), values.end());
      report["bone_lengths_m"].push_back(
          {{"bone",
            skeleton->joint_names[skeleton->bones[b].first] + "-" +
                skeleton->joint_names[skeleton->bones[b].second]},
           {"length_m", Number(values.empty() ? NAN : values[values.size() / 2])}});
    }
  }
  if (reference) {
    double sum = 0;
    int64_t count = 0;
    json joints = json::array();
    for (int j = 0; j < J; ++j) {
      if (reference_joint[j] < 0) continue;
      sum += reference_sum[j];
      count += reference_count[j];
      const std::string ref_name =
          reference_joint[j] < static_cast<int>(reference->joint_names.size())
              ? reference->joint_names[reference_joint[j]]
              : std::to_string(reference_joint[j]);
      joints.push_back(
          {{"joint", joint_names.empty() ? std::to_string(j) : joint_names[j]},
           {"reference_joint", ref_name},
           {"mpjpe_m",
            Number(reference_count[j] > 0 ? reference_sum[j] / reference_count[j] : NAN)},
           {"joint_frames", reference_count[j]}});
    }
    result.mpjpe_m = count > 0 ? sum / count : NAN;
    report["reference"] = {{"path", config.reference},
                           {"mpjpe_m", Number(result.mpjpe_m)},
                           {"joint_frames", count},
                           {"joints", joints}};
  }
  report["config"] = DumpConfigYaml(config);

  // Commit: data files, then timing, then the report (its presence = finished).
  trc.Commit();
  status_writer.Commit();
  if (cov_writer) cov_writer->Commit();
  keypoints_writer.Commit();
  if (variance_writer) variance_writer->Commit();
  csv.Commit();
  result.run_seconds.write += Seconds(assembly);
  result.all_seconds.write += Seconds(assembly);
  result.seconds = Seconds(start);
  json timing = {
      {"session", result.name},
      {"frames", F},
      {"this_run",
       {{"seconds_wall", result.seconds},
        {"stages", SecondsJson(result.run_seconds)},
        {"chunks_2d_computed", result.chunks_2d_computed},
        {"chunks_2d_resumed", result.chunks_2d_resumed},
        {"chunks_3d_computed", result.chunks_3d_computed},
        {"chunks_3d_resumed", result.chunks_3d_resumed}}},
      {"all_chunks", {{"stages", SecondsJson(result.all_seconds)}}},
      {"frames_per_second", result.all_seconds.Total() > 0 ? F / result.all_seconds.Total() : 0.0}};
  WriteFileAtomic((out / "timing.json").string(), timing.dump(2) + "\n");
  WriteFileAtomic(report_path.string(), report.dump(2) + "\n");

  // ---- Console -------------------------------------------------------------------------------
  log << ctx << ": " << F << " frames x " << C << " cameras x " << J << " joints ("
      << (skeleton_name.empty() ? "unknown skeleton" : skeleton_name) << "), " << K << " chunks ("
      << result.chunks_2d_computed << " detected, " << result.chunks_3d_computed
      << " triangulated this run; " << result.chunks_2d_resumed << " / " << result.chunks_3d_resumed
      << " resumed)\n";
  log << "  camera            median px   mean px   views used   inlier share";
  if (!from_keypoints) log << "   with person";
  log << "\n";
  for (int c = 0; c < C; ++c) {
    const json& cam = report["cameras"][c];
    const int64_t cam_used = cam["views_used"], cam_usable = cam["views_usable"];
    log << "  " << std::left << std::setw(16) << rig.cameras[c].name << std::right << std::setw(11)
        << FixedText(camera_errors[c].Median(), 2) << std::setw(10)
        << FixedText(camera_errors[c].Mean(), 2) << std::setw(13) << cam_used << std::setw(13)
        << (cam_usable > 0 ? FixedText(100.0 * cam_used / cam_usable, 1) + " %" : "-");
    if (!from_keypoints) {
      log << std::setw(12) << FixedText(100.0 * frames_with_person[c] / F, 1) << " %";
    }
    log << "\n";
  }
  log << "  " << status_counts[0] << " of " << int64_t(F) * J << " joint-frames valid ("
      << FixedText(100.0 * result.valid_share, 1) << " %)\n";
  if (reference) {
    log << "  MPJPE against " << config.reference << ": " << FixedText(1e3 * result.mpjpe_m, 1)
        << " mm\n    per joint (mm):";
    int shown = 0;
    for (const json& joint : report["reference"]["joints"]) {
      if (shown++ % 6 == 0) log << "\n     ";
      log << " " << joint["joint"].get<std::string>() << " "
          << (joint["mpjpe_m"].is_null() ? std::string("-")
                                         : FixedText(1e3 * joint["mpjpe_m"].get<double>(), 1));
    }
    log << "\n";
  }
  const StageSeconds& s = result.run_seconds;
  log << "  this run: " << FixedText(result.seconds, 1) << " s (decode " << FixedText(s.decode, 1)
      << ", crop " << FixedText(s.crop, 1) << ", network " << FixedText(s.network, 1)
      << ", triangulate " << FixedText(s.triangulate, 1) << ", refine " << FixedText(s.refine, 1)
      << ", write " << FixedText(s.write, 1) << ")\n";
  log << "wrote " << out_dir << ": poses3d.trc, poses3d.csv, keypoints2d.npy, report.json, "
      << "timing.json\n";
  return result;
}

}  // namespace rigpose

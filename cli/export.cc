// SPDX-License-Identifier: BSD-3-Clause
// rigpose export: selection + rig + 3D poses + frames -> images and COCO keypoints with
// pre-labels, for an annotation tool.
#include "cli/export.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>

#include <CLI/CLI.hpp>
#include <opencv2/imgcodecs.hpp>

#include "al/selection_file.h"
#include "core/error.h"
#include "core/joint_names.h"
#include "core/skeleton.h"
#include "data/calib_io.h"
#include "data/coco_keypoints.h"
#include "data/file_util.h"
#include "data/frame_source.h"
#include "data/poses_io.h"

namespace rigpose::cli {
namespace {

namespace fs = std::filesystem;

// Box padding on each side, as a fraction of the labelled extent.
constexpr double kBoxPadding = 0.10;

// The registered skeleton whose joints the most of `names` match by JointNameKey() (ties: the
// one with the closest joint count); "" when none matches any.
std::string SkeletonFromNames(const std::vector<std::string>& names) {
  std::string best;
  int best_matched = 0;
  int best_count_gap = std::numeric_limits<int>::max();
  for (const std::string& candidate : SkeletonNames()) {
    const Skeleton& skeleton = GetSkeleton(candidate);
    std::set<std::string> keys;
    for (const std::string& joint : skeleton.joint_names) keys.insert(JointNameKey(joint));
    int matched = 0;
    for (const std::string& name : names) matched += keys.count(JointNameKey(name)) > 0 ? 1 : 0;
    const int gap = std::abs(skeleton.NumJoints() - static_cast<int>(names.size()));
    if (matched > best_matched ||
        (matched == best_matched && matched > 0 && gap < best_count_gap)) {
      best = candidate;
      best_matched = matched;
      best_count_gap = gap;
    }
  }
  return best;
}

std::string ImageFileName(const std::string& camera, int frame, const std::string& extension) {
  std::ostringstream name;
  name << camera << "_" << std::setw(6) << std::setfill('0') << frame << "." << extension;
  return name.str();
}

// OUT without trailing separators ("out/" -> "out"), so that siblings can be named after it.
fs::path OutFolder(const std::string& out) {
  fs::path path = fs::path(out).lexically_normal();
  if (path.filename().empty()) path = path.parent_path();
  return path;
}

// Removes a temporary folder unless released.
struct TempDirGuard {
  fs::path path;
  ~TempDirGuard() {
    if (path.empty()) return;
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

// One image to export: selection row `row`, rig camera `camera`.
struct ViewItem {
  int row = 0;
  int frame = 0;
  int camera = 0;  // rig index
  size_t coco_index = 0;
};

}  // namespace

std::array<double, 4> PaddedKeypointBox(const std::vector<double>& keypoints,
                                        int width,
                                        int height) {
  const double left = -0.5, top = -0.5;
  const double right = width - 0.5, bottom = height - 0.5;
  double x0 = std::numeric_limits<double>::infinity(), y0 = x0, x1 = -x0, y1 = -x0;
  for (size_t j = 0; j + 2 < keypoints.size(); j += 3) {
    if (keypoints[j + 2] <= 0) continue;
    x0 = std::min(x0, keypoints[j]);
    y0 = std::min(y0, keypoints[j + 1]);
    x1 = std::max(x1, keypoints[j]);
    y1 = std::max(y1, keypoints[j + 1]);
  }
  if (!(x1 >= x0)) return {left, top, static_cast<double>(width), static_cast<double>(height)};
  const double pad_x = kBoxPadding * (x1 - x0), pad_y = kBoxPadding * (y1 - y0);
  x0 = std::clamp(x0 - pad_x, left, right);
  y0 = std::clamp(y0 - pad_y, top, bottom);
  x1 = std::clamp(x1 + pad_x, left, right);
  y1 = std::clamp(y1 + pad_y, top, bottom);
  return {x0, y0, x1 - x0, y1 - y0};
}

ExportSummary RunExport(const ExportOptions& options, std::ostream& out) {
  const auto start = std::chrono::steady_clock::now();
  // ---- Options ---------------------------------------------------------------------------------
  if (options.selection.empty()) throw UsageError("--selection is required");
  if (options.rig.empty()) throw UsageError("--rig is required");
  if (options.poses.empty()) throw UsageError("--poses is required");
  if (options.out.empty()) throw UsageError("--out is required");
  if (options.images.empty() == options.videos.empty()) {
    throw UsageError("give exactly one of --images DIR and --videos DIR");
  }
  if (options.image_format != "png" && options.image_format != "jpg") {
    throw UsageError("--image-format '" + options.image_format + "': expected png or jpg");
  }
  if (options.jpeg_quality < 1 || options.jpeg_quality > 100) {
    throw UsageError("--jpeg-quality " + std::to_string(options.jpeg_quality) +
                     ": expected 1..100");
  }
  if (!options.skeleton.empty() && FindSkeleton(options.skeleton) == nullptr) {
    throw UsageError("--skeleton '" + options.skeleton +
                     "' is not known (known: " + JoinList(SkeletonNames()) + ")");
  }
  const fs::path out_dir = OutFolder(options.out);
  if (out_dir.empty()) throw UsageError("--out '" + options.out + "' is not a folder name");
  std::error_code error;
  if (fs::exists(out_dir, error)) {
    if (!options.force) {
      throw UsageError(out_dir.string() + " exists already (pass --force to replace it)");
    }
    // --force must never delete the inputs.
    const fs::path replaced = fs::weakly_canonical(out_dir, error);
    for (const std::string& input :
         {options.selection, options.rig, options.poses, options.images, options.videos}) {
      if (input.empty()) continue;
      const fs::path path = fs::weakly_canonical(input, error);
      const fs::path relative = path.lexically_relative(replaced);
      if (!relative.empty() && *relative.begin() != "..") {
        throw UsageError("--out " + out_dir.string() + " holds the input " + input +
                         ": --force would delete it");
      }
    }
  }

  // ---- Selection and rig -----------------------------------------------------------------------
  const Selection selection = ReadSelectionCsv(options.selection);
  if (selection.rows.empty()) {
    throw InputError(options.selection + ": the selection is empty (no frame to export)");
  }
  const Rig rig = ReadCliRig(options.rig, options.rig_format, out);
  std::vector<ViewItem> items;
  std::vector<bool> camera_used(rig.NumCameras(), false);
  for (size_t r = 0; r < selection.rows.size(); ++r) {
    const SelectionRow& row = selection.rows[r];
    std::set<int> row_cameras;
    for (const std::string& view : row.views) {
      std::optional<int> c = rig.FindCamera(view);
      if (!c) c = rig.MatchCamera(view);
      if (!c) {
        throw InputError(options.selection + ": frame " + std::to_string(row.frame) + " (rank " +
                         std::to_string(row.rank) + "): view '" + view +
                         "' is not a camera of the rig " + options.rig +
                         " (cameras: " + JoinList(rig.CameraNames()) + ")");
      }
      if (!row_cameras.insert(*c).second) continue;  // the same camera named twice
      camera_used[*c] = true;
      ViewItem item;
      item.row = static_cast<int>(r);
      item.frame = row.frame;
      item.camera = *c;
      items.push_back(item);
    }
  }

  // ---- Poses and skeleton ----------------------------------------------------------------------
  PosesReadOptions read_options;
  read_options.y_up = options.y_up;
  const Poses3D poses = ReadPoses(options.poses, read_options);
  if (poses.num_frames() == 0) throw InputError(options.poses + ": no frames");
  std::string skeleton_name = !options.skeleton.empty() ? options.skeleton : poses.skeleton;
  if (skeleton_name.empty() && !poses.joint_names.empty()) {
    skeleton_name = SkeletonFromNames(poses.joint_names);
  }
  if (skeleton_name.empty() && poses.joint_names.empty()) {
    skeleton_name = SkeletonFromJointCount(poses.num_joints()).value_or("");
  }
  if (skeleton_name.empty()) {
    throw InputError(options.poses + ": cannot tell which skeleton its " +
                     std::to_string(poses.num_joints()) + " joints follow; pass --skeleton (" +
                     JoinList(SkeletonNames()) + ")");
  }
  const Skeleton& skeleton = GetSkeleton(skeleton_name);
  const std::vector<int> pose_joint =
      MapPoseJoints(poses, skeleton, options.poses, "not exported", out);
  const int num_joints = skeleton.NumJoints();

  // ---- Frame streams of the cameras the selection uses ------------------------------------------
  const std::string& dir = options.videos.empty() ? options.images : options.videos;
  const FrameSourceKind kind =
      options.videos.empty() ? FrameSourceKind::kImages : FrameSourceKind::kVideos;
  std::vector<CameraStreamInfo> all_streams;
  {
    FrameSourceOptions probe_options;
    probe_options.truncate_to_shortest = true;
    all_streams = MultiCameraFrameSource::Open(dir, kind, probe_options).cameras();
  }
  std::vector<std::string> stream_names;
  for (const CameraStreamInfo& stream : all_streams) stream_names.push_back(stream.name);
  // For each used rig camera, its position in `used_streams` (the reading order).
  std::vector<int> read_index(rig.NumCameras(), -1);
  std::vector<CameraStreamInfo> used_streams;
  for (int c = 0; c < rig.NumCameras(); ++c) {
    if (!camera_used[c]) continue;
    const Camera& camera = rig.cameras[c];
    const CameraStreamInfo* found = nullptr;
    for (const CameraStreamInfo& stream : all_streams) {
      const std::optional<int> match = rig.MatchCamera(stream.name);
      if (match && *match == c) found = &stream;
    }
    if (found == nullptr) {
      throw InputError(options.selection + " uses rig camera '" + camera.name + "', which has no " +
                       (options.videos.empty() ? "image folder" : "video") + " in " + dir +
                       " (it holds: " + JoinList(stream_names) + ")");
    }
    const bool close = std::abs(found->width - camera.width) <= 0.01 * camera.width &&
                       std::abs(found->height - camera.height) <= 0.01 * camera.height;
    if (!close) {
      throw InputError(found->path + " is " + std::to_string(found->width) + "x" +
                       std::to_string(found->height) + " but rig camera '" + camera.name +
                       "' was calibrated at " + std::to_string(camera.width) + "x" +
                       std::to_string(camera.height));
    }
    read_index[c] = static_cast<int>(used_streams.size());
    used_streams.push_back(*found);
  }
  FrameSourceOptions source_options;
  for (const CameraStreamInfo& stream : used_streams) {
    source_options.camera_order.push_back(stream.name);
  }
  source_options.allow_extra_videos = true;
  const int num_source_frames =
      MultiCameraFrameSource::Open(dir, kind, source_options).num_frames();
  if (num_source_frames < poses.num_frames()) {
    throw InputError(dir + " has " + std::to_string(num_source_frames) +
                     " frames (cameras used by the selection), fewer than the " +
                     std::to_string(poses.num_frames()) + " frames of " + options.poses +
                     ": the poses do not belong to these videos");
  }
  const int num_frames = std::min(num_source_frames, poses.num_frames());
  int first_frame = std::numeric_limits<int>::max(), last_frame = -1;
  for (const SelectionRow& row : selection.rows) {
    if (row.frame >= num_frames) {
      throw InputError(options.selection + ": frame " + std::to_string(row.frame) + " (rank " +
                       std::to_string(row.rank) + ") is past the end of the capture: " + dir +
                       " has " + std::to_string(num_source_frames) + " frames, " + options.poses +
                       " has " + std::to_string(poses.num_frames()) + " (frames are 0-based)");
    }
    first_frame = std::min(first_frame, row.frame);
    last_frame = std::max(last_frame, row.frame);
  }

  // ---- Pre-labels (COCO) -----------------------------------------------------------------------
  CocoKeypointsDataset coco;
  coco.keypoint_names = skeleton.joint_names;
  coco.bones = skeleton.bones;
  coco.skeleton = skeleton.name;
  ExportSummary summary;
  summary.skeleton = skeleton.name;
  summary.num_frames = static_cast<int>(selection.rows.size());
  const std::string extension = options.image_format;
  for (ViewItem& item : items) {
    const Camera& camera = rig.cameras[item.camera];
    const CameraStreamInfo& stream = used_streams[read_index[item.camera]];
    CocoImage image;
    image.id = static_cast<int64_t>(coco.images.size()) + 1;
    image.file_name =
        "images/" + camera.name + "/" + ImageFileName(camera.name, item.frame, extension);
    image.width = stream.width;
    image.height = stream.height;
    image.camera = camera.name;
    image.frame_index = item.frame;
    CocoAnnotation annotation;
    annotation.id = image.id;
    annotation.image_id = image.id;
    annotation.keypoints.assign(3 * static_cast<size_t>(num_joints), 0.0);
    for (int j = 0; j < num_joints; ++j) {
      const int r = pose_joint[j];
      if (r < 0 || !poses.IsValid(item.frame, r)) continue;
      const std::optional<Eigen::Vector2d> img_point =
          camera.ImgFromWorld(poses.Position(item.frame, r));
      if (!img_point || !std::isfinite(img_point->x()) || !std::isfinite(img_point->y())) continue;
      const double x = img_point->x(), y = img_point->y();
      if (x < -0.5 || y < -0.5 || x >= image.width - 0.5 || y >= image.height - 0.5) continue;
      annotation.keypoints[3 * j] = x;
      annotation.keypoints[3 * j + 1] = y;
      annotation.keypoints[3 * j + 2] = 2;
      ++annotation.num_keypoints;
    }
    annotation.bbox = PaddedKeypointBox(annotation.keypoints, image.width, image.height);
    annotation.area = annotation.bbox[2] * annotation.bbox[3];
    summary.num_labelled_joints += annotation.num_keypoints;
    item.coco_index = coco.images.size();
    coco.images.push_back(std::move(image));
    coco.annotations.push_back(std::move(annotation));
  }
  summary.num_views = static_cast<int>(coco.images.size());
  summary.labelled_share =
      static_cast<double>(summary.num_labelled_joints) /
      (static_cast<double>(summary.num_views) * static_cast<double>(std::max(1, num_joints)));

  // ---- Images, into the temporary folder -------------------------------------------------------
  const fs::path temp_dir = out_dir.parent_path() / (out_dir.filename().string() + ".tmp-" +
                                                     std::to_string(static_cast<long>(getpid())));
  TempDirGuard temp_guard;
  fs::remove_all(temp_dir, error);
  if (!out_dir.parent_path().empty()) fs::create_directories(out_dir.parent_path(), error);
  fs::create_directories(temp_dir / "annotations", error);
  if (!fs::is_directory(temp_dir / "annotations")) {
    throw IoError(temp_dir.string() + ": cannot create the temporary output folder" +
                  (error ? " (" + error.message() + ")" : std::string()));
  }
  temp_guard.path = temp_dir;
  for (int c = 0; c < rig.NumCameras(); ++c) {
    if (!camera_used[c]) continue;
    fs::create_directories(temp_dir / "images" / rig.cameras[c].name, error);
    if (error) {
      throw IoError((temp_dir / "images" / rig.cameras[c].name).string() +
                    ": cannot create the folder (" + error.message() + ")");
    }
  }
  std::map<int, std::vector<const ViewItem*>> items_of_frame;
  for (const ViewItem& item : items) items_of_frame[item.frame].push_back(&item);
  source_options.first_frame = first_frame;
  source_options.max_frames = last_frame - first_frame + 1;
  MultiCameraFrameSource source = MultiCameraFrameSource::Open(dir, kind, source_options);
  std::vector<int> encode_params;
  if (extension == "png") {
    encode_params = {cv::IMWRITE_PNG_COMPRESSION, 3};
  } else {
    encode_params = {cv::IMWRITE_JPEG_QUALITY, options.jpeg_quality};
  }
  std::vector<cv::Mat> frames;
  int frame_index = 0;
  while (!items_of_frame.empty() && source.Next(&frames, &frame_index)) {
    const auto it = items_of_frame.find(frame_index);
    if (it == items_of_frame.end()) continue;
    for (const ViewItem* item : it->second) {
      const cv::Mat& frame = frames[read_index[item->camera]];
      std::vector<uchar> bytes;
      if (!cv::imencode("." + extension, frame, bytes, encode_params)) {
        throw IoError("export: " + extension + " encoding of camera '" +
                      rig.cameras[item->camera].name + "' frame " + std::to_string(frame_index) +
                      " failed");
      }
      const CocoImage& image = coco.images[item->coco_index];
      WriteFileAtomic((temp_dir / image.file_name).string(),
                      std::string(bytes.begin(), bytes.end()));
      ++summary.num_images_written;
    }
    items_of_frame.erase(it);
  }
  if (!items_of_frame.empty()) {
    throw IoError(dir + " ended before frame " + std::to_string(items_of_frame.begin()->first) +
                  " of " + options.selection + " could be read");
  }
  WriteCocoKeypoints((temp_dir / "annotations" / "person_keypoints.json").string(), coco);

  // ---- Commit: the temporary folder becomes OUT ------------------------------------------------
  fs::path old_dir;
  if (fs::exists(out_dir, error)) {
    old_dir = out_dir.parent_path() /
              (out_dir.filename().string() + ".old-" + std::to_string(static_cast<long>(getpid())));
    fs::remove_all(old_dir, error);
    fs::rename(out_dir, old_dir, error);
    if (error) {
      throw IoError(out_dir.string() + ": cannot move the existing folder aside to replace it (" +
                    error.message() + ")");
    }
  }
  fs::rename(temp_dir, out_dir, error);
  if (error) {
    const std::string message = error.message();
    if (!old_dir.empty()) fs::rename(old_dir, out_dir, error);
    throw IoError(out_dir.string() + ": cannot rename " + temp_dir.string() + " into place (" +
                  message + ")");
  }
  temp_guard.path.clear();
  if (!old_dir.empty()) fs::remove_all(old_dir, error);
  summary.coco_path = (out_dir / "annotations" / "person_keypoints.json").string();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!options.quiet) {
    int num_cameras = 0;
    for (bool used : camera_used) num_cameras += used ? 1 : 0;
    out << "export: " << summary.num_frames << " frames, " << summary.num_views << " views ("
        << num_cameras << " cameras) -> " << summary.num_images_written << " " << extension
        << " images in " << out_dir.string() << "\n"
        << "export: pre-labels (" << skeleton.name << ", 3D of " << options.poses
        << " reprojected): " << std::fixed << std::setprecision(1) << 100.0 * summary.labelled_share
        << " % of " << summary.num_views * num_joints << " joints labelled; " << summary.coco_path
        << " (" << summary.seconds << " s)\n"
        << std::defaultfloat;
  }
  return summary;
}

void RegisterExport(CLI::App& app, Action& action) {
  auto o = std::make_shared<ExportOptions>();
  CLI::App* cmd = app.add_subcommand(
      "export",
      "Export the selected frames for annotation: images + COCO keypoints with pre-labels");
  cmd->add_option("--selection", o->selection, "Selection CSV written by `rigpose select`")
      ->required();
  cmd->add_option("--rig", o->rig, "Calibration (any format `calib info` reads)")->required();
  cmd->add_option("--rig-format", o->rig_format, "Calibration format (default: detected)");
  cmd->add_option("--videos", o->videos, "Folder with one video per camera");
  cmd->add_option("--images", o->images, "Folder with one image subfolder per camera");
  cmd->add_option("--poses", o->poses, "3D poses of the capture (.trc .csv .json .npy)")
      ->required();
  cmd->add_option("--out", o->out, "Output folder (must not exist unless --force)")->required();
  cmd->add_option("--skeleton", o->skeleton, "Skeleton (default: from the poses)");
  cmd->add_option("--image-format", o->image_format, "png (default, lossless) | jpg");
  cmd->add_option("--jpeg-quality", o->jpeg_quality, "JPEG quality 1-100 (default 95)");
  cmd->add_flag("--y-up", o->y_up, "TRC poses are Y-up (Pose2Sim)");
  cmd->add_flag("--force", o->force, "Replace an existing output folder (after success)");
  cmd->add_flag("--quiet", o->quiet, "No summary lines");
  cmd->callback([&action, o]() { action = [o] { RunExport(*o, std::cout); }; });
}

}  // namespace rigpose::cli

// SPDX-License-Identifier: BSD-3-Clause
#include "data/synth/capture.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <thread>

#include <Eigen/Geometry>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include "core/error.h"
#include "data/calib_io.h"
#include "data/file_util.h"
#include "data/npy.h"
#include "data/poses_io.h"
#include "data/synth/synth_random.h"
#include "data/yaml_util.h"

namespace rigpose::synth {
namespace fs = std::filesystem;
namespace {

using Eigen::Vector3d;

std::string Fmt(double v) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

std::string JoinMotions(const std::vector<MotionKind>& motions) {
  std::string s;
  for (MotionKind m : motions) s += (s.empty() ? "" : ",") + std::string(MotionKindName(m));
  return s;
}

// Removes a directory tree on scope exit unless released.
class DirGuard {
 public:
  explicit DirGuard(std::string path) : path_(std::move(path)) {}
  ~DirGuard() {
    if (!path_.empty()) {
      std::error_code ec;
      fs::remove_all(path_, ec);
    }
  }
  void Release() { path_.clear(); }

 private:
  std::string path_;
};

void MakeDirs(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) throw IoError(path + ": cannot create directory: " + ec.message());
}

// Writes a double array [shape] as <f8 .npy.
void WriteF8(const std::string& path,
             const std::vector<int64_t>& shape,
             const std::vector<double>& values) {
  NpyArray a;
  a.dtype = "<f8";
  a.shape = shape;
  a.bytes.resize(values.size() * sizeof(double));
  std::memcpy(a.bytes.data(), values.data(), a.bytes.size());
  WriteNpy(path, a);
}

uint64_t ImageSeed(uint64_t seed, int purpose, int camera, int frame) {
  return StreamSeed(seed,
                    {0x1a9e,
                     static_cast<uint64_t>(purpose),
                     static_cast<uint64_t>(camera),
                     static_cast<uint64_t>(frame)});
}

// Sink for one camera's images: a video file or a folder of numbered images.
class ImageSink {
 public:
  ImageSink(const std::string& root,
            const std::string& camera,
            const std::string& format,
            const cv::Size& size,
            double fps,
            int jpeg_quality)
      : format_(format), jpeg_quality_(jpeg_quality) {
    if (format == "discard") return;
    if (format == "mp4") {
      MakeDirs(root + "/videos");
      path_ = root + "/videos/" + camera + ".mp4";
      // H.264 when OpenCV's FFmpeg has an encoder for it (far better quality per bit), else
      // MPEG-4 part 2, which every FFmpeg build has.
      writer_.open(path_, cv::VideoWriter::fourcc('a', 'v', 'c', '1'), fps, size, true);
      if (!writer_.isOpened()) {
        writer_.open(path_, cv::VideoWriter::fourcc('m', 'p', '4', 'v'), fps, size, true);
      }
      if (!writer_.isOpened()) {
        throw IoError(path_ + ": cannot open an MP4 video writer (OpenCV videoio/FFmpeg)");
      }
    } else {
      path_ = root + "/images/" + camera;
      MakeDirs(path_);
    }
  }
  void Write(int frame, const cv::Mat& image) {
    if (format_ == "discard") return;
    if (format_ == "mp4") {
      writer_.write(image);
      return;
    }
    char name[32];
    std::snprintf(name, sizeof(name), "/%06d.%s", frame, format_.c_str());
    const std::string path = path_ + name;
    std::vector<int> params;
    if (format_ == "jpg") params = {cv::IMWRITE_JPEG_QUALITY, jpeg_quality_};
    if (format_ == "png") params = {cv::IMWRITE_PNG_COMPRESSION, 1};
    if (!cv::imwrite(path, image, params)) throw IoError(path + ": cannot write image");
  }
  void Close() {
    if (writer_.isOpened()) writer_.release();
  }

 private:
  std::string format_;
  int jpeg_quality_;
  std::string path_;
  cv::VideoWriter writer_;
};

// Ordered by azimuth around the volume, so that neighbours in the list are neighbours in space.
std::vector<int> CamerasByAzimuth(const Rig& rig) {
  std::vector<int> order(rig.NumCameras());
  for (int i = 0; i < rig.NumCameras(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&rig](int a, int b) {
    const Vector3d ca = rig.cameras[a].CenterInWorld();
    const Vector3d cb = rig.cameras[b].CenterInWorld();
    return std::atan2(ca.y(), ca.x()) < std::atan2(cb.y(), cb.x());
  });
  return order;
}

Eigen::Matrix3d RandomTilt(Rng& rng, double max_rad) {
  const Vector3d axis(rng.Normal(), rng.Normal(), rng.Normal());
  return Eigen::AngleAxisd(rng.Uniform(0.0, max_rad), axis.normalized()).matrix();
}

}  // namespace

// ---- options
// --------------------------------------------------------------------------------------

SynthOptions::SynthOptions() {
  chessboard_board.type = BoardType::kChessboard;
  chessboard_board.cols = 9;
  chessboard_board.rows = 6;
  chessboard_board.square_size_m = 0.08;
  chessboard_board.inverted = BoardInversion::kFalse;
  charuco_board.type = BoardType::kCharuco;
  charuco_board.cols = 7;
  charuco_board.rows = 5;
  charuco_board.square_size_m = 0.1;
  charuco_board.marker_size_m = 0.075;
  charuco_board.dictionary = "DICT_4X4_50";
  charuco_board.inverted = BoardInversion::kFalse;
}

std::vector<std::string> SynthOptions::Problems() const {
  std::vector<std::string> p = rig.Problems();
  if (num_frames < 1 || num_frames > 1000000) {
    p.push_back("frames " + std::to_string(num_frames) + " must be between 1 and 1000000");
  }
  if (!(frame_rate_hz > 0.0 && frame_rate_hz <= 1000.0)) {
    p.push_back("fps " + Fmt(frame_rate_hz) + " must be in (0, 1000]");
  }
  if (num_subjects < 1 || num_subjects > 6) {
    p.push_back("subjects " + std::to_string(num_subjects) + " must be between 1 and 6");
  }
  if (subjects_in_turn && num_frames < num_subjects) {
    p.push_back("subjects in turn: " + std::to_string(num_frames) + " frames for " +
                std::to_string(num_subjects) + " subjects");
  }
  if (motions.empty() && bvh_path.empty()) p.push_back("motion: give at least one clip");
  if (!(clip_duration_s >= 1.0)) p.push_back("clip duration must be >= 1 s");
  if (!FindSkeleton(skeleton)) {
    p.push_back("skeleton '" + skeleton + "' is unknown");
  } else {
    const JointMapping mapping = MakeJointMapping(BodySkeleton(), *FindSkeleton(skeleton));
    if (mapping.NumMapped() != FindSkeleton(skeleton)->NumJoints()) {
      p.push_back("skeleton '" + skeleton +
                  "' has joints the synthetic body does not define (use coco17, halpe26, "
                  "body25 or body25b)");
    }
  }
  if (image_format != "png" && image_format != "jpg" && image_format != "mp4" &&
      image_format != "none" && image_format != "discard") {
    p.push_back("format '" + image_format + "' must be png, jpg, mp4 or none");
  }
  if (!(sensor.blur_sigma_px >= 0.0 && sensor.blur_sigma_px <= 10.0)) {
    p.push_back("blur " + Fmt(sensor.blur_sigma_px) + " px must be in [0, 10]");
  }
  if (!(sensor.noise_sigma >= 0.0 && sensor.noise_sigma <= 50.0)) {
    p.push_back("noise " + Fmt(sensor.noise_sigma) + " must be in [0, 50] grey levels");
  }
  if (sensor.jpeg_quality < 0 || sensor.jpeg_quality > 100) {
    p.push_back("jpeg quality " + std::to_string(sensor.jpeg_quality) + " must be in [0, 100]");
  }
  if (jpeg_write_quality < 1 || jpeg_write_quality > 100) {
    p.push_back("jpeg write quality must be in [1, 100]");
  }
  if ((chessboard || charuco) && (calib_frames < 1 || calib_frames > 100000)) {
    p.push_back("calibration frames " + std::to_string(calib_frames) +
                " must be between 1 and 100000");
  }
  for (const BoardSpec* b : {&chessboard_board, &charuco_board}) {
    for (const std::string& problem : b->Problems()) {
      p.push_back((b == &chessboard_board ? "chessboard: " : "charuco: ") + problem);
    }
  }
  if (chessboard_board.type != BoardType::kChessboard)
    p.push_back("chessboard board is not a chessboard");
  if (charuco_board.type != BoardType::kCharuco)
    p.push_back("charuco board is not a ChArUco board");
  if (num_threads < 0) p.push_back("threads must be >= 0");
  return p;
}

std::optional<SynthOptions> SynthPreset(const std::string& name) {
  SynthOptions o;
  if (name == "default") return o;
  if (name == "demo") {
    o.rig.num_cameras = 4;
    o.rig.resolution = "1280x720";
    o.num_frames = 60;
    o.motions = {MotionKind::kWalk, MotionKind::kSquat};
    o.clip_duration_s = 1.5;
    o.image_format = "jpg";
    o.calib_frames = 12;
    return o;
  }
  if (name == "bench") {
    o.rig.num_cameras = 4;
    o.rig.resolution = "720p";
    o.num_frames = 300;
    o.num_subjects = 2;
    o.image_format = "mp4";
    o.sensor.jpeg_quality = 0;
    o.calib_frames = 30;
    return o;
  }
  return std::nullopt;
}

std::string SynthOptionsToYaml(const SynthOptions& o) {
  std::ostringstream y;
  y << "# rigpose synth: effective options. Re-run with: rigpose synth --config THIS --out DIR\n";
  y << "seed: " << o.seed << "\n";
  y << "layout: " << RigLayoutName(o.rig.layout) << "\n";
  y << "cameras: " << o.rig.num_cameras << "\n";
  y << "radius: " << Fmt(o.rig.radius_m) << "\n";
  y << "height: " << Fmt(o.rig.height_m) << "\n";
  y << "volume_radius: " << Fmt(o.rig.volume_radius_m) << "\n";
  y << "volume_height: " << Fmt(o.rig.volume_height_m) << "\n";
  y << "resolution: " << o.rig.resolution << "\n";
  y << "distortion: " << (o.rig.distortion ? "true" : "false") << "\n";
  y << "k1_min: " << Fmt(o.rig.k1_min) << "\n";
  y << "k1_max: " << Fmt(o.rig.k1_max) << "\n";
  y << "fisheye: " << o.rig.num_fisheye << "\n";
  y << "frames: " << o.num_frames << "\n";
  y << "fps: " << Fmt(o.frame_rate_hz) << "\n";
  y << "subjects: " << o.num_subjects << "\n";
  y << "subjects_in_turn: " << (o.subjects_in_turn ? "true" : "false") << "\n";
  y << "motion: " << JoinMotions(o.motions) << "\n";
  y << "clip_duration: " << Fmt(o.clip_duration_s) << "\n";
  y << "bvh: \"" << o.bvh_path << "\"\n";
  y << "bvh_unit: " << Fmt(o.bvh_unit_m) << "\n";
  y << "bvh_first_frame: " << o.bvh_first_frame << "\n";
  y << "skeleton: " << o.skeleton << "\n";
  y << "format: " << o.image_format << "\n";
  y << "blur: " << Fmt(o.sensor.blur_sigma_px) << "\n";
  y << "noise: " << Fmt(o.sensor.noise_sigma) << "\n";
  y << "jpeg_quality: " << o.sensor.jpeg_quality << "\n";
  y << "jpeg_write_quality: " << o.jpeg_write_quality << "\n";
  y << "chessboard: " << (o.chessboard ? "true" : "false") << "\n";
  y << "charuco: " << (o.charuco ? "true" : "false") << "\n";
  y << "calib_frames: " << o.calib_frames << "\n";
  y << "chessboard_board: calib/chessboard/board.yaml\n";
  y << "charuco_board: calib/charuco/board.yaml\n";
  return y.str();
}

SynthOptions ReadSynthConfig(const std::string& path, const SynthOptions& base) {
  using namespace yaml_util;  // NOLINT: the readers below
  SynthOptions o = base;
  const YAML::Node root = LoadFile(path);
  if (!root.IsMap()) ThrowIo(path, Line(root), "", "expected a map of synth options");
  const std::string dir = fs::path(path).parent_path().string();
  for (const auto& item : root) {
    const std::string key = item.first.as<std::string>();
    const YAML::Node& v = item.second;
    const auto bad = [&](const std::string& why) { ThrowIo(path, Line(v), key, why); };
    const auto as_double = [&]() { return AsDouble(v, path, key); };
    const auto as_int = [&]() { return AsInt(v, path, key); };
    const auto as_bool = [&]() { return AsBool(v, path, key); };
    const auto as_string = [&]() { return AsString(v, path, key); };
    const auto resolve = [&](const std::string& p) {
      return p.empty() || fs::path(p).is_absolute() ? p : (fs::path(dir) / p).string();
    };
    if (key == "seed") {
      o.seed = AsUint64(v, path, key);
    } else if (key == "layout") {
      const auto layout = ParseRigLayout(as_string());
      if (!layout) bad("expected ring, dome or random");
      o.rig.layout = *layout;
    } else if (key == "cameras") {
      o.rig.num_cameras = as_int();
    } else if (key == "radius") {
      o.rig.radius_m = as_double();
    } else if (key == "height") {
      o.rig.height_m = as_double();
    } else if (key == "volume_radius") {
      o.rig.volume_radius_m = as_double();
    } else if (key == "volume_height") {
      o.rig.volume_height_m = as_double();
    } else if (key == "resolution") {
      o.rig.resolution = as_string();
    } else if (key == "distortion") {
      o.rig.distortion = as_bool();
    } else if (key == "k1_min") {
      o.rig.k1_min = as_double();
    } else if (key == "k1_max") {
      o.rig.k1_max = as_double();
    } else if (key == "fisheye") {
      o.rig.num_fisheye = as_int();
    } else if (key == "frames") {
      o.num_frames = as_int();
    } else if (key == "fps") {
      o.frame_rate_hz = as_double();
    } else if (key == "subjects") {
      o.num_subjects = as_int();
    } else if (key == "subjects_in_turn") {
      o.subjects_in_turn = as_bool();
    } else if (key == "motion") {
      std::string unknown;
      const auto motions = ParseMotionList(as_string(), &unknown);
      if (!motions) bad("unknown motion '" + unknown + "' (walk, squat, arm_circles, jump, turn)");
      o.motions = *motions;
    } else if (key == "clip_duration") {
      o.clip_duration_s = as_double();
    } else if (key == "bvh") {
      o.bvh_path = resolve(as_string());
    } else if (key == "bvh_unit") {
      o.bvh_unit_m = as_double();
    } else if (key == "bvh_first_frame") {
      o.bvh_first_frame = as_int();
    } else if (key == "skeleton") {
      o.skeleton = as_string();
    } else if (key == "format") {
      o.image_format = as_string();
    } else if (key == "blur") {
      o.sensor.blur_sigma_px = as_double();
    } else if (key == "noise") {
      o.sensor.noise_sigma = as_double();
    } else if (key == "jpeg_quality") {
      o.sensor.jpeg_quality = as_int();
    } else if (key == "jpeg_write_quality") {
      o.jpeg_write_quality = as_int();
    } else if (key == "chessboard") {
      o.chessboard = as_bool();
    } else if (key == "charuco") {
      o.charuco = as_bool();
    } else if (key == "calib_frames") {
      o.calib_frames = as_int();
    } else if (key == "chessboard_board") {
      o.chessboard_board = ReadBoard(resolve(as_string()));
    } else if (key == "charuco_board") {
      o.charuco_board = ReadBoard(resolve(as_string()));
    } else if (key == "threads") {
      o.num_threads = as_int();
    } else {
      bad("unknown option");
    }
  }
  return o;
}

// ---- scene --------------------------------------------------------------------------------------

Scene BuildScene(const SynthOptions& options) {
  const auto problems = options.Problems();
  if (!problems.empty()) {
    throw InputError(FormatProblems("synth options", problems));
  }
  SynthRigOptions rig_options = options.rig;
  rig_options.seed = options.seed;
  Scene scene;
  scene.rig = MakeSynthRig(rig_options);
  scene.num_frames = options.num_frames;
  scene.frame_rate_hz = options.frame_rate_hz;
  double farthest = 0;
  for (const Camera& c : scene.rig.cameras) {
    farthest = std::max(farthest, c.CenterInWorld().head<2>().norm());
  }
  scene.room = RandomRoom(options.seed, std::max(5.0, farthest + 2.0));
  Rng rng(StreamSeed(options.seed, {0x5cede}));
  for (int c = 0; c < scene.rig.NumCameras(); ++c)
    scene.exposure.push_back(rng.Uniform(0.85, 1.15));
  const int n = options.num_subjects;
  BvhMotion bvh;
  if (!options.bvh_path.empty()) bvh = ReadBvh(options.bvh_path);
  for (int s = 0; s < n; ++s) {
    Subject subject;
    subject.shape = BodyShape::FromHeight(rng.Uniform(1.55, 1.95));
    subject.appearance = RandomAppearance(rng);
    // Subjects share the volume: each walks its own circle around its own anchor (in turn: each
    // alone, in the middle).
    const bool alone = n == 1 || options.subjects_in_turn;
    if (options.subjects_in_turn) {
      subject.first_frame = static_cast<int>(int64_t(s) * options.num_frames / n);
      subject.end_frame = static_cast<int>(int64_t(s + 1) * options.num_frames / n);
    }
    const double spread = alone ? 0.0 : std::min(0.45 * options.rig.volume_radius_m * 2.0, 1.1);
    const double anchor_angle = 2.0 * M_PI * s / n + rng.Uniform(-0.2, 0.2);
    const Eigen::Vector2d anchor =
        spread * Eigen::Vector2d(std::cos(anchor_angle), std::sin(anchor_angle));
    if (s == 0 && !options.bvh_path.empty()) {
      BvhImportOptions bvh_options;
      bvh_options.unit_m = options.bvh_unit_m;
      bvh_options.first_frame = options.bvh_first_frame;
      bvh_options.anchor_xy = anchor;
      subject.body =
          BvhToBody(bvh, options.bvh_path, bvh_options, options.num_frames, options.frame_rate_hz);
      subject.shape = BodyShape::FromHeight(
          std::max(1.4, (subject.body.Position(0, 17) - subject.body.Position(0, 16)).norm()));
    } else {
      ProceduralMotionOptions motion;
      std::vector<MotionKind> clips = options.motions;
      if (clips.empty()) clips = AllMotionKinds();
      std::rotate(clips.begin(), clips.begin() + (s % clips.size()), clips.end());
      motion.clips = clips;
      motion.clip_duration_s = options.clip_duration_s;
      motion.anchor_xy = anchor;
      motion.walk_radius_m = alone ? std::min(1.0, 0.7 * options.rig.volume_radius_m)
                                   : std::min(0.5, 0.35 * options.rig.volume_radius_m);
      motion.walk_clockwise = rng.Uniform() < 0.5;
      motion.start_angle_rad = rng.Uniform(0.0, 2.0 * M_PI);
      motion.phase_rad = rng.Uniform(0.0, 2.0 * M_PI);
      motion.speed_scale = rng.Uniform(0.9, 1.1);
      subject.body =
          ProceduralMotion(subject.shape, motion, options.num_frames, options.frame_rate_hz);
    }
    scene.subjects.push_back(std::move(subject));
  }
  return scene;
}

std::vector<Capsule> SceneCapsules(const Scene& scene, int frame) {
  std::vector<Capsule> all;
  for (size_t s = 0; s < scene.subjects.size(); ++s) {
    const Subject& subject = scene.subjects[s];
    if (!subject.Present(frame)) continue;
    std::vector<Vector3d> joints(subject.body.num_joints());
    for (int j = 0; j < subject.body.num_joints(); ++j) joints[j] = subject.body.Position(frame, j);
    const auto caps = BodyCapsules(subject.shape, subject.appearance, joints, static_cast<int>(s));
    all.insert(all.end(), caps.begin(), caps.end());
  }
  return all;
}

std::vector<SubjectTruth> ComputeGroundTruth(const Scene& scene, const std::string& skeleton_name) {
  const Skeleton& skeleton = GetSkeleton(skeleton_name);
  const JointMapping mapping = MakeJointMapping(BodySkeleton(), skeleton);
  const int F = scene.num_frames;
  const int C = scene.rig.NumCameras();
  const int J = skeleton.NumJoints();
  std::vector<SubjectTruth> truth(scene.subjects.size());
  for (auto& t : truth) {
    t.poses3d = Poses3D(F, J);
    t.poses3d.skeleton = skeleton.name;
    t.poses3d.frame_rate_hz = scene.frame_rate_hz;
    t.keypoints2d.assign(size_t(F) * C * J * 3, 0.0);
    t.keypoints = Keypoints2D(F, C, J);
    t.keypoints.camera_names = scene.rig.CameraNames();
    t.keypoints.skeleton = skeleton.name;
  }
  for (int f = 0; f < F; ++f) {
    const std::vector<Capsule> capsules = SceneCapsules(scene, f);
    for (size_t s = 0; s < scene.subjects.size(); ++s) {
      if (!scene.subjects[s].Present(f)) continue;  // invalid 3D, visibility 0 in every view
      const Poses3D& body = scene.subjects[s].body;
      SubjectTruth& t = truth[s];
      for (int j = 0; j < J; ++j) {
        Vector3d p = Vector3d::Zero();
        for (const auto& [source, weight] : mapping.sources[j])
          p += weight * body.Position(f, source);
        t.poses3d.Set(f, j, p);
        for (int c = 0; c < C; ++c) {
          const Camera& camera = scene.rig.cameras[c];
          const int visibility = JointVisibility(camera, capsules, p);
          double* out = &t.keypoints2d[((size_t(f) * C + c) * J + j) * 3];
          if (visibility > 0) {
            const auto img = camera.ImgFromWorld(p);
            out[0] = img->x();
            out[1] = img->y();
            t.keypoints.Set(
                f, c, j, static_cast<float>(img->x()), static_cast<float>(img->y()), 1.f);
          }
          out[2] = visibility;
        }
      }
    }
  }
  return truth;
}

std::vector<Rigid3d> BoardTrajectory(const Rig& rig,
                                     const BoardSpec& board,
                                     int num_frames,
                                     const SynthRigOptions& volume,
                                     uint64_t seed) {
  Rng rng(StreamSeed(seed, {0xb0a4d, static_cast<uint64_t>(board.type)}));
  const std::vector<int> order = CamerasByAzimuth(rig);
  const int n = rig.NumCameras();
  const Eigen::Vector2d grid(board.SquaresX() * board.square_size_m,
                             board.SquaresY() * board.square_size_m);
  std::vector<Rigid3d> poses;
  for (int i = 0; i < num_frames; ++i) {
    const double r = 0.5 * volume.volume_radius_m * std::sqrt(rng.Uniform());
    const double a = rng.Uniform(0.0, 2.0 * M_PI);
    const double top = std::max(0.8, std::min(1.7, volume.volume_height_m - 0.3));
    const Vector3d center(r * std::cos(a), r * std::sin(a), rng.Uniform(0.7, top));
    // Every third frame faces one camera (intrinsics coverage), the others the bisector of two
    // neighbours (shared views for the extrinsics).
    const int k = order[(i / 3) % n];
    Vector3d toward = (rig.cameras[k].CenterInWorld() - center).normalized();
    if (i % 3 != 0) {
      const int k2 = order[((i / 3) + 1) % n];
      toward = (toward + (rig.cameras[k2].CenterInWorld() - center).normalized()).normalized();
    }
    toward = RandomTilt(rng, 45.0 * M_PI / 180.0) * toward;
    const Vector3d z = -toward;  // board z points into the board, away from the viewer
    Vector3d x = z.cross(Vector3d::UnitZ());
    if (x.norm() < 1e-6) x = Vector3d::UnitX();
    x.normalize();
    const Vector3d y = z.cross(x);
    Eigen::Matrix3d world_from_board;
    world_from_board << x, y, z;
    world_from_board =
        world_from_board * Eigen::AngleAxisd(rng.Uniform(-0.4, 0.4), Vector3d::UnitZ()).matrix();
    const Vector3d origin = center - world_from_board * Vector3d(0.5 * grid.x(), 0.5 * grid.y(), 0);
    poses.push_back(Rigid3d::FromMatrix(world_from_board, origin));
  }
  return poses;
}

// ---- writing ------------------------------------------------------------------------------------

namespace {

nlohmann::json CocoJson(const Scene& scene,
                        const std::vector<SubjectTruth>& truth,
                        const Skeleton& skeleton,
                        const std::string& image_format) {
  using nlohmann::json;
  const int F = scene.num_frames;
  const int C = scene.rig.NumCameras();
  const int J = skeleton.NumJoints();
  json coco;
  coco["info"] = {{"description", "rigpose synthetic capture"},
                  {"skeleton", skeleton.name},
                  {"frame_rate_hz", scene.frame_rate_hz}};
  json bones = json::array();
  for (const auto& [a, b] : skeleton.bones) bones.push_back({a + 1, b + 1});
  coco["categories"] = json::array({{{"id", 1},
                                     {"name", "person"},
                                     {"supercategory", "person"},
                                     {"keypoints", skeleton.joint_names},
                                     {"skeleton", bones}}});
  json images = json::array();
  json annotations = json::array();
  int64_t annotation_id = 1;
  for (int f = 0; f < F; ++f) {
    const std::vector<Capsule> capsules = SceneCapsules(scene, f);
    for (int c = 0; c < C; ++c) {
      const Camera& camera = scene.rig.cameras[c];
      const int64_t image_id = int64_t(f) * C + c + 1;
      char name[64];
      json image = {{"id", image_id},
                    {"width", camera.width},
                    {"height", camera.height},
                    {"camera", camera.name},
                    {"frame_index", f}};
      if (image_format == "mp4") {
        image["file_name"] = "videos/" + camera.name + ".mp4";
      } else {
        std::snprintf(name, sizeof(name), "/%06d.", f);
        image["file_name"] =
            "images/" + camera.name + name +
            (image_format == "none" || image_format == "discard" ? std::string("png")
                                                                 : image_format);
      }
      images.push_back(image);
      for (size_t s = 0; s < truth.size(); ++s) {
        // Box: the projected capsules of this subject, clipped to the image.
        double x0 = 1e30, y0 = 1e30, x1 = -1e30, y1 = -1e30;
        for (const Capsule& cap : capsules) {
          if (cap.subject != static_cast<int>(s)) continue;
          for (const Vector3d* end : {&cap.a, &cap.b}) {
            const Vector3d cam = camera.cam_from_world * *end;
            if (cam.z() <= cap.radius) continue;
            const auto img = camera.ImgFromCam(cam);
            if (!img) continue;
            const double pad = cap.radius * camera.fx() / cam.z();
            x0 = std::min(x0, img->x() - pad);
            y0 = std::min(y0, img->y() - pad);
            x1 = std::max(x1, img->x() + pad);
            y1 = std::max(y1, img->y() + pad);
          }
        }
        x0 = std::max(x0, -0.5);
        y0 = std::max(y0, -0.5);
        x1 = std::min(x1, camera.width - 0.5);
        y1 = std::min(y1, camera.height - 0.5);
        if (!(x1 > x0 && y1 > y0)) continue;
        json keypoints = json::array();
        int labelled = 0;
        for (int j = 0; j < J; ++j) {
          const double* k = &truth[s].keypoints2d[((size_t(f) * C + c) * J + j) * 3];
          const int v = static_cast<int>(k[2]);
          // COCO pixel coordinates have the top-left pixel's corner at 0: +0.5.
          keypoints.push_back(v > 0 ? k[0] + 0.5 : 0.0);
          keypoints.push_back(v > 0 ? k[1] + 0.5 : 0.0);
          keypoints.push_back(v);
          labelled += v > 0;
        }
        annotations.push_back({{"id", annotation_id++},
                               {"image_id", image_id},
                               {"category_id", 1},
                               {"subject", s},
                               {"iscrowd", 0},
                               {"keypoints", keypoints},
                               {"num_keypoints", labelled},
                               {"bbox", {x0 + 0.5, y0 + 0.5, x1 - x0, y1 - y0}},
                               {"area", (x1 - x0) * (y1 - y0)}});
      }
    }
  }
  coco["images"] = std::move(images);
  coco["annotations"] = std::move(annotations);
  return coco;
}

// Runs fn(camera) for every camera on `threads` workers; rethrows the first error.
void ParallelOverCameras(int num_cameras, int threads, const std::function<void(int)>& fn) {
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  const auto worker = [&]() {
    while (!failed) {
      const int c = next++;
      if (c >= num_cameras) return;
      try {
        fn(c);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        failed = true;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace

SynthSummary WriteSynthCapture(const SynthOptions& options,
                               const std::string& out_dir,
                               const ProgressFn& progress) {
  const auto t_start = std::chrono::steady_clock::now();
  const auto problems = options.Problems();
  if (!problems.empty()) {
    throw InputError(FormatProblems("synth options", problems));
  }
  if (out_dir.empty()) throw UsageError("give an output directory");
  std::error_code ec;
  const fs::path out = fs::absolute(out_dir, ec);
  if (fs::exists(out, ec)) {
    if (!fs::is_directory(out, ec)) throw UsageError(out_dir + " exists and is not a directory");
    if (!fs::is_empty(out, ec) && !options.force) {
      throw UsageError(out_dir + " exists and is not empty (give --force to replace it)");
    }
  }
  const std::string partial = out.string() + ".partial-" + std::to_string(::getpid());
  fs::remove_all(partial, ec);
  MakeDirs(partial);
  DirGuard guard(partial);

  Scene scene = BuildScene(options);
  const int F = scene.num_frames;
  const int C = scene.rig.NumCameras();
  const Skeleton& skeleton = GetSkeleton(options.skeleton);

  SynthSummary summary;
  summary.num_cameras = C;
  summary.num_frames = F;
  summary.num_subjects = static_cast<int>(scene.subjects.size());
  summary.out_dir = out.string();

  // Rig and options.
  scene.rig.source_format = "synthetic";
  CalibWriteOptions rig_yaml;
  rig_yaml.format = CalibFormat::kRigpose;
  WriteRig(scene.rig, partial + "/rig.yaml", rig_yaml);
  CalibWriteOptions rig_toml;
  rig_toml.format = CalibFormat::kAnipose;
  WriteRig(scene.rig, partial + "/rig.toml", rig_toml);  // fisheye cameras: fisheye = true
  WriteFileAtomic(partial + "/synth.yaml", SynthOptionsToYaml(options));

  // Ground truth.
  const std::vector<SubjectTruth> truth = ComputeGroundTruth(scene, options.skeleton);
  const int J = skeleton.NumJoints();
  for (size_t s = 0; s < truth.size(); ++s) {
    char name[32];
    std::snprintf(name, sizeof(name), "/gt/subject_%02d", static_cast<int>(s));
    const std::string dir = partial + name;
    MakeDirs(dir);
    WritePosesNpy(dir + "/poses3d.npy", truth[s].poses3d);
    WritePoses(dir + "/poses3d.trc", truth[s].poses3d);
    WriteKeypointsNpy(dir + "/keypoints2d.npy", truth[s].keypoints);
    WriteF8(dir + "/keypoints2d_f64.npy", {F, C, J, 3}, truth[s].keypoints2d);
    for (size_t i = 2; i < truth[s].keypoints2d.size(); i += 3) {
      if (!scene.subjects[s].Present(static_cast<int>(i / (size_t(C) * J * 3)))) continue;
      const int v = static_cast<int>(truth[s].keypoints2d[i]);
      summary.joints_visible += v == 2;
      summary.joints_occluded += v == 1;
      summary.joints_outside += v == 0;
    }
  }
  MakeDirs(partial + "/annotations");
  WriteFileAtomic(partial + "/annotations/person_keypoints.json",
                  CocoJson(scene, truth, skeleton, options.image_format).dump());

  // Calibration sequences: poses and corners.
  struct BoardSequence {
    std::string name;
    BoardSpec spec;
    std::vector<Rigid3d> world_from_board;
    cv::Mat texture;
    double pixels_per_m = 2500.0;
  };
  std::vector<BoardSequence> boards;
  if (options.chessboard)
    boards.push_back({"chessboard", options.chessboard_board, {}, {}, 2500.0});
  if (options.charuco) boards.push_back({"charuco", options.charuco_board, {}, {}, 2500.0});
  for (BoardSequence& b : boards) {
    const std::string dir = partial + "/calib/" + b.name;
    MakeDirs(dir + "/gt");
    WriteBoard(b.spec, dir + "/board.yaml");
    b.world_from_board =
        BoardTrajectory(scene.rig, b.spec, options.calib_frames, options.rig, options.seed);
    const std::vector<Vector3d> corners = BoardCornersInBoard(b.spec);
    const int K = static_cast<int>(corners.size());
    std::vector<double> corners2d(size_t(options.calib_frames) * C * K * 3, 0.0);
    std::vector<double> corners3d(size_t(options.calib_frames) * K * 3, 0.0);
    nlohmann::json poses = nlohmann::json::array();
    for (int f = 0; f < options.calib_frames; ++f) {
      const Rigid3d& pose = b.world_from_board[f];
      const auto& q = pose.rotation;
      poses.push_back(
          {{"frame", f},
           {"rotation_wxyz", {q.w(), q.x(), q.y(), q.z()}},
           {"translation_m", {pose.translation.x(), pose.translation.y(), pose.translation.z()}}});
      for (int k = 0; k < K; ++k) {
        const Vector3d p = pose * corners[k];
        for (int i = 0; i < 3; ++i) corners3d[(size_t(f) * K + k) * 3 + i] = p[i];
      }
      for (int c = 0; c < C; ++c) {
        const Camera& camera = scene.rig.cameras[c];
        const bool front = (camera.cam_from_world * pose).Inverse().translation.z() < 0.0;
        for (int k = 0; k < K; ++k) {
          const Vector3d p = pose * corners[k];
          const auto img = camera.ImgFromWorld(p);
          double* dst = &corners2d[((size_t(f) * C + c) * K + k) * 3];
          if (img && camera.IsInImage(*img)) {
            dst[0] = img->x();
            dst[1] = img->y();
            dst[2] = front ? 1.0 : 0.0;
            summary.board_corners_visible += front;
          }
        }
      }
    }
    WriteFileAtomic(dir + "/gt/world_from_board.json",
                    nlohmann::json({{"board", b.name}, {"frames", poses}}).dump(1));
    WriteF8(dir + "/gt/corners2d.npy", {options.calib_frames, C, K, 3}, corners2d);
    WriteF8(dir + "/gt/corners3d.npy", {options.calib_frames, K, 3}, corners3d);
    if (options.image_format != "none") b.texture = RenderBoardTexture(b.spec, b.pixels_per_m);
  }
  summary.calib_frames = boards.empty() ? 0 : options.calib_frames;

  // Images: one worker per camera at a time.
  const auto t_render = std::chrono::steady_clock::now();
  if (options.image_format != "none") {
    std::vector<std::vector<Capsule>> capsules(F);
    for (int f = 0; f < F; ++f) capsules[f] = SceneCapsules(scene, f);
    const int threads = options.num_threads > 0
                            ? options.num_threads
                            : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    const int64_t total = int64_t(C) * (F + int64_t(boards.size()) * options.calib_frames);
    std::atomic<int64_t> done{0};
    std::atomic<int64_t> written{0};
    ParallelOverCameras(C, std::min(threads, C), [&](int c) {
      const Camera& camera = scene.rig.cameras[c];
      const CameraRays rays(camera);
      Lighting lighting = scene.lighting;
      lighting.exposure = scene.exposure[c];
      const cv::Mat room = RenderRoom(camera, rays, scene.room, lighting);
      const cv::Size size(camera.width, camera.height);
      cv::Mat image;
      cv::Mat depth;
      {
        ImageSink sink(partial,
                       camera.name,
                       options.image_format,
                       size,
                       options.frame_rate_hz,
                       options.jpeg_write_quality);
        for (int f = 0; f < F; ++f) {
          room.copyTo(image);
          RenderCapsules(camera, rays, capsules[f], lighting, &image, &depth);
          ApplySensor(options.sensor, ImageSeed(options.seed, 0, c, f), &image);
          sink.Write(f, image);
          ++written;
          if (progress) progress(++done, total);
        }
        sink.Close();
      }
      for (size_t b = 0; b < boards.size(); ++b) {
        ImageSink sink(partial + "/calib/" + boards[b].name,
                       camera.name,
                       options.image_format,
                       size,
                       options.frame_rate_hz,
                       options.jpeg_write_quality);
        for (int f = 0; f < options.calib_frames; ++f) {
          room.copyTo(image);
          RenderBoardPlane(camera,
                           rays,
                           boards[b].world_from_board[f],
                           boards[b].texture,
                           boards[b].pixels_per_m,
                           boards[b].spec.MarginM(),
                           lighting,
                           &image);
          ApplySensor(options.sensor, ImageSeed(options.seed, 1 + int(b), c, f), &image);
          sink.Write(f, image);
          ++written;
          if (progress) progress(++done, total);
        }
        sink.Close();
      }
    });
    summary.images_written = written;
  }
  const auto t_end = std::chrono::steady_clock::now();
  summary.render_seconds = std::chrono::duration<double>(t_end - t_render).count();

  // Commit: move OUT aside (when forced), rename the partial directory into place.
  if (fs::exists(out, ec)) {
    const std::string old = out.string() + ".old-" + std::to_string(::getpid());
    fs::rename(out, old, ec);
    if (ec)
      throw IoError(out.string() + ": cannot move the existing output aside: " + ec.message());
    fs::rename(partial, out, ec);
    if (ec) {
      fs::rename(old, out);
      throw IoError(out.string() + ": cannot rename " + partial + " into place: " + ec.message());
    }
    fs::remove_all(old, ec);
  } else {
    fs::rename(partial, out, ec);
    if (ec)
      throw IoError(out.string() + ": cannot rename " + partial + " into place: " + ec.message());
  }
  guard.Release();
  summary.total_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  return summary;
}

}  // namespace rigpose::synth

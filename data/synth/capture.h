// SPDX-License-Identifier: BSD-3-Clause
// The synthetic capture studio: a rig, subjects performing motions, rendered videos or image
// sequences per camera, calibration-board sequences, and exact ground truth. What `rigpose
// synth` writes (layout in docs/FORMATS.md, "Synthetic capture"):
//
//   OUT/synth.yaml                      effective options (re-run with --config to reproduce)
//   OUT/rig.yaml, OUT/rig.toml          the rig (rigpose YAML; anipose TOML in metres)
//   OUT/videos/<cam>.mp4 | OUT/images/<cam>/<frame:06d>.{png,jpg}
//   OUT/gt/subject_<k>/poses3d.{npy,trc}    [F, J, 4] world metres (x, y, z, valid)
//   OUT/gt/subject_<k>/keypoints2d.npy      <f4 [F, C, J, 3] (x, y, score 1 in image / 0 not)
//   OUT/gt/subject_<k>/keypoints2d_f64.npy  <f8 [F, C, J, 3] (x, y, COCO visibility 0/1/2)
//   OUT/annotations/person_keypoints.json   COCO keypoints (every image, every subject)
//   OUT/calib/<chessboard|charuco>/board.yaml, images|videos as above,
//       gt/world_from_board.json, gt/corners2d.npy <f8 [F, C, K, 3] (x, y, visible),
//       gt/corners3d.npy <f8 [F, K, 3]
//
// The whole directory is written under OUT.partial-<pid> and renamed into place at the end, so
// an interrupted run never leaves a complete-looking OUT. Same options + seed: byte-identical
// ground truth (and images, for PNG), whatever the number of threads.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/keypoints.h"
#include "core/rig.h"
#include "data/board.h"
#include "data/synth/body.h"
#include "data/synth/render.h"
#include "data/synth/synth_rig.h"

namespace rigpose::synth {

struct SynthOptions {
  SynthRigOptions rig;
  // Motion.
  int num_frames = 120;
  double frame_rate_hz = 30.0;
  int num_subjects = 1;
  // true: one subject at a time, subject s alone in frames [s F / n, (s + 1) F / n) (a session of
  // several people taking turns in the volume); false: every subject in every frame.
  bool subjects_in_turn = false;
  std::vector<MotionKind> motions = AllMotionKinds();  // procedural clips, cycled per subject
  double clip_duration_s = 4.0;
  std::string bvh_path;  // non-empty: subject 0 performs this BVH clip instead
  double bvh_unit_m = 0.0;
  int bvh_first_frame = 0;
  std::string skeleton = "coco17";  // joint set of the written ground truth
  // Images.
  // png | jpg | mp4 | none (ground truth only) | discard (render, write nothing: benchmarks)
  std::string image_format = "mp4";
  SensorOptions sensor;
  int jpeg_write_quality = 92;  // for --format jpg
  // Calibration sequences.
  bool chessboard = true;
  bool charuco = true;
  int calib_frames = 30;
  BoardSpec chessboard_board;  // defaults: 9x6 inner corners, 8 cm squares
  BoardSpec charuco_board;     // defaults: 7x5 squares, 10 cm / 7.5 cm, DICT_4X4_50
  // Run.
  uint64_t seed = 1;
  int num_threads = 0;  // 0: all cores
  bool force = false;   // replace an existing, non-empty OUT

  SynthOptions();
  // One sentence per problem, naming the option; empty when usable.
  std::vector<std::string> Problems() const;
};

// "demo" (4 cameras, 2 s, JPEG: seconds on a laptop), "bench" (4 x 300 frames at 1280x720,
// MP4), "default". nullopt for an unknown name.
std::optional<SynthOptions> SynthPreset(const std::string& name);

// YAML of every option (the keys of `rigpose synth`'s flags, '-' spelled '_'), and back.
// ReadSynthConfig starts from `base` and overrides the keys present; unknown keys and bad
// values throw IoError naming the file, line and key.
std::string SynthOptionsToYaml(const SynthOptions& options);
SynthOptions ReadSynthConfig(const std::string& path, const SynthOptions& base);

// The scene without images: rig, room, subjects and their motion (HALPE-26, world metres).
struct Subject {
  BodyShape shape;
  Appearance appearance;
  Poses3D body;         // HALPE-26 joints
  int first_frame = 0;  // in the volume for frames [first_frame, end_frame)
  int end_frame = 1 << 30;
  bool Present(int frame) const { return frame >= first_frame && frame < end_frame; }
};
struct Scene {
  Rig rig;
  Room room;
  std::vector<Subject> subjects;
  Lighting lighting;             // base lighting; exposure varies per camera
  std::vector<double> exposure;  // per camera
  int num_frames = 0;
  double frame_rate_hz = 0;
};
Scene BuildScene(const SynthOptions& options);

// Every subject's capsules at one frame.
std::vector<Capsule> SceneCapsules(const Scene& scene, int frame);

// Ground truth of one subject in the output skeleton: 3D, exact 2D (double) with COCO
// visibility, and the float keypoint array the pipeline reads.
struct SubjectTruth {
  Poses3D poses3d;
  std::vector<double> keypoints2d;  // [F][C][J][3] = (x, y, visibility)
  Keypoints2D keypoints;            // score 1 where visibility > 0
};
std::vector<SubjectTruth> ComputeGroundTruth(const Scene& scene, const std::string& skeleton);

// Board poses of a calibration sequence: facing one camera or the bisector of two neighbours,
// inside the capture volume.
std::vector<Rigid3d> BoardTrajectory(const Rig& rig,
                                     const BoardSpec& board,
                                     int num_frames,
                                     const SynthRigOptions& volume,
                                     uint64_t seed);

struct SynthSummary {
  int num_cameras = 0;
  int num_frames = 0;
  int num_subjects = 0;
  int64_t images_written = 0;
  double render_seconds = 0;  // images: render + sensor + encode, wall clock
  double total_seconds = 0;
  int64_t joints_visible = 0, joints_occluded = 0, joints_outside = 0;
  int calib_frames = 0;
  int64_t board_corners_visible = 0;
  std::string out_dir;
};

// Progress: (done, total) units of work (camera-frames), called from worker threads.
using ProgressFn = std::function<void(int64_t done, int64_t total)>;

// Renders and writes the capture described above. InputError listing Problems(); UsageError when
// OUT exists and is not empty (unless force); IoError naming the path when it cannot be written.
SynthSummary WriteSynthCapture(const SynthOptions& options,
                               const std::string& out_dir,
                               const ProgressFn& progress = nullptr);

}  // namespace rigpose::synth

// SPDX-License-Identifier: BSD-3-Clause
#include "viewer/interactive.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "viewer/display.h"
#include "viewer/open3d_bridge.h"

#if defined(RIGPOSE_HAVE_OPEN3D)
#include <open3d/geometry/LineSet.h>
#include <open3d/geometry/TriangleMesh.h>
#include <open3d/visualization/visualizer/RenderOption.h>
#include <open3d/visualization/visualizer/VisualizerWithKeyCallback.h>
#endif

namespace rigpose {
namespace {

int NumFrames(const std::vector<PoseTrack>& tracks) {
  int num_frames = 0;
  for (const PoseTrack& track : tracks) num_frames = std::max(num_frames, track.poses.num_frames());
  return num_frames;
}

#if defined(RIGPOSE_HAVE_OPEN3D)
Scene FrameScene(const std::vector<PoseTrack>& tracks, int frame, const PlaybackOptions& options) {
  Scene scene;
  scene.legend = options.legend;
  for (size_t i = 0; i < tracks.size(); ++i) {
    const PoseTrack& track = tracks[i];
    if (frame >= track.poses.num_frames()) continue;
    SkeletonPose pose = SkeletonPoseFromPoses(track.poses, frame, *track.skeleton, track.source);
    if (!track.joint_values.empty()) {
      const size_t J = static_cast<size_t>(track.poses.num_joints());
      pose.joint_values.assign(track.joint_values.begin() + frame * J,
                               track.joint_values.begin() + (frame + 1) * J);
    }
    AddSkeletonToScene(pose, static_cast<int>(i), options.scene, &scene);
    if (options.trail_frames > 0) {
      AddTrajectoriesToScene(track.poses, frame, options.trail_frames, static_cast<int>(i), &scene);
    }
  }
  return scene;
}

// Exposes the window title (Open3D 0.16 has no public setter).
class PlaybackVisualizer : public open3d::visualization::VisualizerWithKeyCallback {
 public:
  void SetTitle(const std::string& title) {
    window_name_ = title;
    UpdateWindowTitle();
  }
};

// GLFW key codes (GLFW/glfw3.h), so that this file needs no GLFW header.
constexpr int kKeySpace = 32;
constexpr int kKeyRight = 262;
constexpr int kKeyLeft = 263;
constexpr int kKeyDown = 264;
constexpr int kKeyUp = 265;
#endif

}  // namespace

PlaybackSummary RunPlayback(const Rig& rig,
                            const std::vector<PoseTrack>& tracks,
                            const PlaybackOptions& options) {
  if (const auto problems = options.scene.Problems(); !problems.empty()) {
    throw UsageError(FormatProblems("scene options", problems));
  }
  if (options.width < 64 || options.height < 64) {
    throw UsageError("window size " + std::to_string(options.width) + "x" +
                     std::to_string(options.height) + " is smaller than 64x64");
  }
  if (!(options.frame_rate_hz >= 0 && std::isfinite(options.frame_rate_hz))) {
    throw UsageError("frame rate must be >= 0");
  }
  for (const PoseTrack& track : tracks) {
    RIGPOSE_CHECK(track.skeleton != nullptr, "track " << track.source << " has no skeleton");
    if (track.poses.num_joints() != track.skeleton->NumJoints()) {
      throw InputError(track.source + ": " + std::to_string(track.poses.num_joints()) +
                       " joints per frame, but skeleton " + track.skeleton->name + " has " +
                       std::to_string(track.skeleton->NumJoints()) + " joints");
    }
  }
  const int num_frames = NumFrames(tracks);
  if (options.start_frame < 0 || (num_frames > 0 && options.start_frame >= num_frames)) {
    throw UsageError("start frame " + std::to_string(options.start_frame) + " is outside 0.." +
                     std::to_string(std::max(0, num_frames - 1)));
  }
  std::string why;
  const std::optional<DisplayInfo> display = OpenDisplayInfo(&why);
  if (!display) ThrowNoDisplay("the interactive viewer", why);
  PlaybackSummary summary;
#if defined(RIGPOSE_HAVE_OPEN3D)
  Scene static_scene;
  AddRigToScene(rig, options.scene, &static_scene);
  {
    // Size the grid for the whole sequence's start frame too.
    Scene first = FrameScene(tracks, options.start_frame, options);
    static_scene.points = first.points;
    AddWorldToScene(options.scene, &static_scene);
    static_scene.points.clear();
  }
  const double rate_hz =
      options.frame_rate_hz > 0
          ? options.frame_rate_hz
          : (!tracks.empty() && tracks[0].poses.frame_rate_hz > 0 ? tracks[0].poses.frame_rate_hz
                                                                  : 30.0);

  PlaybackVisualizer visualizer;
  if (!visualizer.CreateVisualizerWindow(options.title, options.width, options.height)) {
    ThrowNoDisplay("the interactive viewer",
                   "no OpenGL window could be created on display '" + display->name + "'");
  }
  auto static_lines = std::make_shared<open3d::geometry::LineSet>();
  auto static_mesh = std::make_shared<open3d::geometry::TriangleMesh>();
  internal::FillOpen3DGeometry(static_scene, false, static_lines.get(), static_mesh.get());
  auto frame_lines = std::make_shared<open3d::geometry::LineSet>();
  auto frame_mesh = std::make_shared<open3d::geometry::TriangleMesh>();
  struct State {
    int frame = 0;
    bool playing = true;
    double speed = 1.0;
    std::chrono::steady_clock::time_point last_step;
    int frames_shown = 0;
  } state;
  state.frame = options.start_frame;
  state.last_step = std::chrono::steady_clock::now();
  // The title (frame counter) is redrawn at most 10 times a second while playing, and at once
  // after a key.
  std::chrono::steady_clock::time_point last_title;
  const auto show_frame = [&](bool force_title) {
    const Scene scene = FrameScene(tracks, state.frame, options);
    internal::FillOpen3DGeometry(scene, true, frame_lines.get(), frame_mesh.get());
    const auto now = std::chrono::steady_clock::now();
    if (force_title || now - last_title > std::chrono::milliseconds(100)) {
      std::ostringstream title;
      title << options.title << " - frame " << state.frame << " / " << std::max(0, num_frames - 1)
            << " - " << state.speed << "x - " << (state.playing ? "playing" : "paused");
      visualizer.SetTitle(title.str());
      last_title = now;
    }
    ++state.frames_shown;
  };
  show_frame(true);
  visualizer.AddGeometry(static_lines);
  visualizer.AddGeometry(static_mesh);
  visualizer.AddGeometry(frame_lines);
  visualizer.AddGeometry(frame_mesh);
  visualizer.GetRenderOption().background_color_ = Eigen::Vector3d(1, 1, 1);

  // Start from the orbit view of the snapshots.
  Eigen::AlignedBox3d box = static_scene.ContentBounds();
  box.extend(FrameScene(tracks, state.frame, options).ContentBounds());
  const Camera start_camera =
      internal::FramingCamera(box,
                              Eigen::Vector3d(-0.45, 0.78, -0.42).normalized(),
                              Eigen::Vector3d(-0.45, 0.78, -0.42).cross(Eigen::Vector3d::UnitZ()),
                              options.width,
                              options.height,
                              45.0);
  double z_near_m = 0, z_far_m = 0;
  internal::ClippingPlanes(start_camera, static_scene.Bounds(), &z_near_m, &z_far_m);
  internal::SetPinholeView(&visualizer, start_camera, z_near_m, z_far_m);

  const auto step = [&](int delta, bool force_title) {
    if (num_frames == 0) return;
    state.frame = (state.frame + delta + num_frames) % num_frames;
    show_frame(force_title);
  };
  visualizer.RegisterKeyCallback(kKeySpace, [&](open3d::visualization::Visualizer*) {
    state.playing = !state.playing;
    state.last_step = std::chrono::steady_clock::now();
    show_frame(true);
    return true;
  });
  visualizer.RegisterKeyCallback(kKeyRight, [&](open3d::visualization::Visualizer*) {
    state.playing = false;
    step(1, true);
    return true;
  });
  visualizer.RegisterKeyCallback(kKeyLeft, [&](open3d::visualization::Visualizer*) {
    state.playing = false;
    step(-1, true);
    return true;
  });
  visualizer.RegisterKeyCallback(kKeyUp, [&](open3d::visualization::Visualizer*) {
    state.speed = std::min(8.0, state.speed * 2);
    show_frame(true);
    return true;
  });
  visualizer.RegisterKeyCallback(kKeyDown, [&](open3d::visualization::Visualizer*) {
    state.speed = std::max(0.125, state.speed / 2);
    show_frame(true);
    return true;
  });
  visualizer.RegisterAnimationCallback([&](open3d::visualization::Visualizer* vis) {
    const auto now = std::chrono::steady_clock::now();
    const double period_s = 1.0 / (rate_hz * state.speed);
    if (options.close_after_frames > 0 && state.frames_shown >= options.close_after_frames) {
      vis->Close();
      return false;
    }
    if (!state.playing || num_frames <= 1 ||
        std::chrono::duration<double>(now - state.last_step).count() < period_s) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));  // Run() polls in a busy loop
      return false;
    }
    state.last_step = now;
    if (options.close_after_frames > 0 && state.frame + 1 >= num_frames) {
      vis->Close();
      return false;
    }
    step(1, false);
    // Only the per-frame geometry changed: re-upload it alone (returning true would make Run()
    // re-upload every geometry, the rig and the floor grid included).
    vis->UpdateGeometry(frame_lines);
    vis->UpdateGeometry(frame_mesh);
    return false;
  });
  visualizer.Run();
  visualizer.DestroyVisualizerWindow();
  summary.frames_shown = state.frames_shown;
  summary.last_frame = state.frame;
#else
  (void)rig;
#endif
  return summary;
}

}  // namespace rigpose

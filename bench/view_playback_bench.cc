// SPDX-License-Identifier: BSD-3-Clause
// Playback cost of the interactive viewer (viewer/interactive.cc RunPlayback): 10,000 frames of one
// 25-joint BODY_25B skeleton in a 4-camera rig, 1280x720 window, legacy Open3D Visualizer.
// Run headless: xvfb-run -a -s "-screen 0 1920x1080x24" build/bench/view_playback_bench [frames]
//
// Rows (same process, same window size, one after the other):
//  1. RunPlayback itself (close_after_frames, a frame rate high enough that every animation
//     callback steps): frames/s end to end; RSS sampled by a thread.
//  2. "rebuild" = RunPlayback's per-frame path replicated step by step: FrameScene (a new Scene)
//     -> internal::FillOpen3DGeometry (refills the LineSet / TriangleMesh) -> window title ->
//     Visualizer::UpdateGeometry() for ALL geometries (what Run() does when the callback returns
//     true) -> UpdateRender -> PollEvents (renders). Heap allocations counted per frame.
//  3. "in place" = the proposed fix: topology (bone indices, colours, sphere triangles) built once;
//     per frame only the point / vertex positions are overwritten, and only the two per-frame
//     geometries are passed to UpdateGeometry(geometry).
// Correctness next to speed: rows 2 and 3 must produce the same vertices (max difference printed).
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "core/keypoints.h"
#include "core/rig.h"
#include "core/skeleton.h"
#include "viewer/display.h"
#include "viewer/interactive.h"
#include "viewer/open3d_bridge.h"
#include "viewer/scene.h"

// RIGPOSE_BENCH_OPEN3D: set by CMake when the build has Open3D (rows 2 to 4).
#if defined(RIGPOSE_BENCH_OPEN3D)
#include <open3d/geometry/LineSet.h>
#include <open3d/geometry/TriangleMesh.h>
#include <open3d/visualization/visualizer/Visualizer.h>
#endif

// ---- Heap allocation counter (every operator new in the process, Open3D's included) ----------
namespace {
std::atomic<int64_t> g_allocations{0};
std::atomic<int64_t> g_allocated_bytes{0};
}  // namespace

void* operator new(size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  g_allocated_bytes.fetch_add(static_cast<int64_t>(size), std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
// GCC cannot see that the replaced operator new above uses malloc.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace rigpose {
namespace {

double RssMiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;
  }
  return -1.0;
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

Camera RingCamera(int index) {
  const double angle = index * M_PI / 2;
  const Eigen::Vector3d center(4 * std::cos(angle), 4 * std::sin(angle), 2.2);
  const Eigen::Vector3d z_axis = (Eigen::Vector3d(0, 0, 1) - center).normalized();
  const Eigen::Vector3d x_axis = z_axis.cross(Eigen::Vector3d::UnitZ()).normalized();
  const Eigen::Vector3d y_axis = z_axis.cross(x_axis);
  Eigen::Matrix3d rotation;
  rotation.row(0) = x_axis.transpose();
  rotation.row(1) = y_axis.transpose();
  rotation.row(2) = z_axis.transpose();
  Camera camera;
  camera.name = "cam" + std::to_string(index + 1);
  camera.width = 1280;
  camera.height = 720;
  camera.params = {900, 900, 639.5, 359.5};
  camera.cam_from_world = Rigid3d::FromMatrix(rotation, -rotation * center);
  return camera;
}

// A skeleton swaying and walking on a circle: every joint moves every frame.
Poses3D MakeMotion(const Skeleton& skeleton, int num_frames) {
  Poses3D poses(num_frames, skeleton.NumJoints());
  poses.skeleton = skeleton.name;
  poses.frame_rate_hz = 60;
  for (int f = 0; f < num_frames; ++f) {
    const double t = f / 60.0;
    const Eigen::Vector3d root(std::cos(0.2 * t), std::sin(0.2 * t), 0.0);
    for (int j = 0; j < skeleton.NumJoints(); ++j) {
      const double height = 0.05 + 1.7 * (1.0 - j / static_cast<double>(skeleton.NumJoints()));
      const double side = (j % 2 == 0 ? 1 : -1) * 0.15;
      poses.Set(f,
                j,
                root + Eigen::Vector3d(
                           side + 0.05 * std::sin(3 * t + j), 0.05 * std::cos(2 * t + j), height));
    }
  }
  return poses;
}

Scene FrameScene(const Poses3D& poses, int frame, const Skeleton& skeleton) {
  Scene scene;
  AddSkeletonToScene(
      SkeletonPoseFromPoses(poses, frame, skeleton, "bench"), 0, SceneOptions(), &scene);
  return scene;
}

struct Row {
  std::string name;
  double fps = 0;
  double rss_start_mib = 0, rss_middle_mib = 0, rss_end_mib = 0;
  double allocations_per_frame = -1, kib_per_frame = -1;
  double update_ms = -1, render_ms = -1;  // per frame: geometry update / UpdateGeometry + draw
};

void PrintRow(const Row& row) {
  std::printf("%-34s %9.1f %10.1f %10.1f %10.1f",
              row.name.c_str(),
              row.fps,
              row.rss_start_mib,
              row.rss_middle_mib,
              row.rss_end_mib);
  if (row.allocations_per_frame >= 0) {
    std::printf(" %12.1f %10.1f", row.allocations_per_frame, row.kib_per_frame);
  }
  if (row.update_ms >= 0) {
    std::printf("   update %.3f ms + upload/render %.3f ms", row.update_ms, row.render_ms);
  }
  std::printf("\n");
  std::fflush(stdout);
}

#if defined(RIGPOSE_BENCH_OPEN3D)
// Rows 2 and 3. `in_place` selects the proposed fix. Returns the last frame's sphere vertices.
Row ManualLoop(const Rig& rig,
               const Poses3D& poses,
               const Skeleton& skeleton,
               int mode,  // 0 rebuild, 1 in place, 2 render only (no geometry change)
               std::vector<Eigen::Vector3d>* last_vertices) {
  const bool in_place = mode == 1;
  using open3d::geometry::LineSet;
  using open3d::geometry::TriangleMesh;
  Row row;
  row.name = mode == 0   ? "rebuild (RunPlayback's path)"
             : mode == 1 ? "in place (proposed fix)"
                         : "render only (floor)";
  open3d::visualization::Visualizer visualizer;
  if (!visualizer.CreateVisualizerWindow("view_playback_bench", 1280, 720)) {
    std::fprintf(stderr, "no OpenGL window\n");
    std::exit(1);
  }
  Scene static_scene;
  AddRigToScene(rig, SceneOptions(), &static_scene);
  static_scene.points = FrameScene(poses, 0, skeleton).points;
  AddWorldToScene(SceneOptions(), &static_scene);
  static_scene.points.clear();
  auto static_lines = std::make_shared<LineSet>();
  auto static_mesh = std::make_shared<TriangleMesh>();
  internal::FillOpen3DGeometry(static_scene, false, static_lines.get(), static_mesh.get());
  auto frame_lines = std::make_shared<LineSet>();
  auto frame_mesh = std::make_shared<TriangleMesh>();
  internal::FillOpen3DGeometry(
      FrameScene(poses, 0, skeleton), true, frame_lines.get(), frame_mesh.get());
  visualizer.AddGeometry(static_lines);
  visualizer.AddGeometry(static_mesh);
  visualizer.AddGeometry(frame_lines);
  visualizer.AddGeometry(frame_mesh);

  // In place: unit-sphere offsets per vertex, bone endpoints per line point.
  const std::shared_ptr<TriangleMesh> unit_sphere = TriangleMesh::CreateSphere(1.0, 8);
  const int sphere_vertices = static_cast<int>(unit_sphere->vertices_.size());
  const double radius_m = SceneOptions().joint_radius_m;
  std::vector<Eigen::Vector3d> joints(skeleton.NumJoints());

  const int num_frames = poses.num_frames();
  auto start = std::chrono::steady_clock::now();
  int64_t allocations_start = 0, bytes_start = 0;
  double update_s = 0, render_s = 0;
  for (int f = 0; f < num_frames; ++f) {
    const auto t0 = std::chrono::steady_clock::now();
    if (f == 1) {  // frame 0 warms up (first render, shader compilation)
      row.rss_start_mib = RssMiB();
      allocations_start = g_allocations.load();
      bytes_start = g_allocated_bytes.load();
      start = std::chrono::steady_clock::now();
    }
    if (f == num_frames / 2) row.rss_middle_mib = RssMiB();
    if (mode == 2) {
      // Nothing changes: the cost of drawing a frame.
    } else if (!in_place) {
      const Scene scene = FrameScene(poses, f, skeleton);
      internal::FillOpen3DGeometry(scene, true, frame_lines.get(), frame_mesh.get());
      update_s += f > 0 ? Seconds(t0) : 0.0;
      visualizer.UpdateGeometry();  // all four, as Visualizer::Run() after the callback
    } else {
      for (int j = 0; j < skeleton.NumJoints(); ++j) joints[j] = poses.Position(f, j);
      for (size_t b = 0; b < skeleton.bones.size(); ++b) {
        frame_lines->points_[2 * b] = joints[skeleton.bones[b].first];
        frame_lines->points_[2 * b + 1] = joints[skeleton.bones[b].second];
      }
      for (int j = 0; j < skeleton.NumJoints(); ++j) {
        for (int v = 0; v < sphere_vertices; ++v) {
          frame_mesh->vertices_[j * sphere_vertices + v] =
              joints[j] + radius_m * unit_sphere->vertices_[v];
        }
      }
      // Normals of a translated sphere do not change: no ComputeVertexNormals.
      update_s += f > 0 ? Seconds(t0) : 0.0;
      visualizer.UpdateGeometry(frame_lines);
      visualizer.UpdateGeometry(frame_mesh);
    }
    const auto t1 = std::chrono::steady_clock::now();
    visualizer.UpdateRender();
    if (!visualizer.PollEvents()) break;
    render_s += f > 0 ? Seconds(t1) : 0.0;
  }
  row.update_ms = 1e3 * update_s / (num_frames - 1);
  row.render_ms = 1e3 * render_s / (num_frames - 1);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  row.rss_end_mib = RssMiB();
  row.fps = (num_frames - 1) / seconds;
  row.allocations_per_frame =
      static_cast<double>(g_allocations.load() - allocations_start) / (num_frames - 1);
  row.kib_per_frame =
      static_cast<double>(g_allocated_bytes.load() - bytes_start) / 1024.0 / (num_frames - 1);
  *last_vertices = frame_mesh->vertices_;
  visualizer.DestroyVisualizerWindow();
  return row;
}
#endif

}  // namespace
}  // namespace rigpose

int main(int argc, char** argv) {
  using namespace rigpose;
  const int num_frames = argc > 1 ? std::max(10, std::atoi(argv[1])) : 10000;
  std::string why;
  const std::optional<DisplayInfo> display = OpenDisplayInfo(&why);
  if (!display) {
    std::fprintf(stderr,
                 "view_playback_bench needs an X display (%s): run under xvfb-run -a -s "
                 "\"-screen 0 1920x1080x24\"\n",
                 why.c_str());
    return 1;
  }
  const Skeleton& skeleton = GetSkeleton("body25b");
  Rig rig;
  for (int c = 0; c < 4; ++c) rig.cameras.push_back(RingCamera(c));
  const Poses3D poses = MakeMotion(skeleton, num_frames);
  std::printf("view_playback_bench: %d frames x %d joints (%s), 4 cameras, 1280x720 window on %s\n",
              num_frames,
              skeleton.NumJoints(),
              skeleton.name.c_str(),
              display->name.c_str());
  std::printf("%-34s %9s %10s %10s %10s %12s %10s\n",
              "path",
              "frames/s",
              "RSS0 MiB",
              "RSSmid MiB",
              "RSSend MiB",
              "allocs/frame",
              "KiB/frame");

  // 1. RunPlayback end to end, RSS sampled by a thread.
  {
    std::vector<PoseTrack> tracks(1);
    tracks[0].poses = poses;
    tracks[0].skeleton = &skeleton;
    tracks[0].source = "bench";
    PlaybackOptions options;
    options.frame_rate_hz = 1e6;  // every animation callback steps
    options.close_after_frames = num_frames;
    std::atomic<bool> done{false};
    std::vector<double> rss_samples;
    std::thread sampler([&] {
      while (!done.load()) {
        rss_samples.push_back(RssMiB());
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
    const auto start = std::chrono::steady_clock::now();
    const PlaybackSummary summary = RunPlayback(rig, tracks, options);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    done = true;
    sampler.join();
    Row row;
    row.name = "RunPlayback (end to end)";
    row.fps = summary.frames_shown / seconds;
    // Skip the first samples (window creation) for the start value.
    const size_t n = rss_samples.size();
    row.rss_start_mib = n > 0 ? rss_samples[std::min<size_t>(n - 1, 5)] : -1;
    row.rss_middle_mib = n > 0 ? rss_samples[n / 2] : -1;
    row.rss_end_mib = n > 0 ? rss_samples[n - 1] : -1;
    PrintRow(row);
    std::printf("  (%d frames shown in %.2f s, including window creation)\n",
                summary.frames_shown,
                seconds);
  }
#if defined(RIGPOSE_BENCH_OPEN3D)
  std::vector<Eigen::Vector3d> rebuilt, in_place;
  std::vector<Eigen::Vector3d> unused;
  PrintRow(ManualLoop(rig, poses, skeleton, 0, &rebuilt));
  PrintRow(ManualLoop(rig, poses, skeleton, 1, &in_place));
  PrintRow(ManualLoop(rig, poses, skeleton, 2, &unused));
  double max_diff_m = rebuilt.size() == in_place.size() ? 0.0 : INFINITY;
  for (size_t i = 0; i < rebuilt.size() && i < in_place.size(); ++i) {
    max_diff_m = std::max(max_diff_m, (rebuilt[i] - in_place[i]).norm());
  }
  std::printf(
      "correctness: last frame's sphere vertices, rebuild vs in place: max |diff| = %.3g m "
      "(%zu vertices)\n",
      max_diff_m,
      rebuilt.size());
#else
  std::printf("built without Open3D: only the RunPlayback row\n");
#endif
  return 0;
}

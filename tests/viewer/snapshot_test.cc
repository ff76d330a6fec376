// SPDX-License-Identifier: BSD-3-Clause
// Scene building (no display needed) and headless snapshots (need an X display: run the binary
// under `xvfb-run -a -s "-screen 0 1920x1080x24"`; the rendering tests skip without one).
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/test_util.h"
#include "tests/viewer/viewer_fixtures.h"
#include "viewer/display.h"
#include "viewer/scene.h"
#include "viewer/snapshot.h"

namespace rigpose {
namespace {

using test::MakeStandingPerson;
using test::MakeViewerRig;

#define RIGPOSE_SKIP_IF_NO_DISPLAY()                                                       \
  do {                                                                                     \
    std::string why_;                                                                      \
    if (!OpenDisplayInfo(&why_)) {                                                         \
      GTEST_SKIP() << "no X display (" << why_ << "): run under xvfb-run -a -s \"-screen " \
                   << "0 1920x1080x24\"";                                                  \
    }                                                                                      \
  } while (false)

bool Near(const uint8_t* pixel, const Eigen::Vector3f& colour, int tolerance) {
  for (int c = 0; c < 3; ++c) {
    if (std::abs(pixel[c] - static_cast<int>(std::lround(colour[c] * 255))) > tolerance) {
      return false;
    }
  }
  return true;
}

// Pixels of `colour` within `radius` pixels of `center` (the image clipped).
int CountNear(const SnapshotImage& image,
              const Eigen::Vector2d& center,
              int radius,
              const Eigen::Vector3f& colour,
              int tolerance = 3) {
  int count = 0;
  const int cx = static_cast<int>(std::lround(center.x()));
  const int cy = static_cast<int>(std::lround(center.y()));
  for (int y = std::max(0, cy - radius); y <= std::min(image.height - 1, cy + radius); ++y) {
    for (int x = std::max(0, cx - radius); x <= std::min(image.width - 1, cx + radius); ++x) {
      if (Near(image.Pixel(x, y), colour, tolerance)) ++count;
    }
  }
  return count;
}

int CountNonBackground(const SnapshotImage& image) {
  int count = 0;
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      if (!Near(image.Pixel(x, y), Eigen::Vector3f(1, 1, 1), 2)) ++count;
    }
  }
  return count;
}

// ---- Scene (pure C++) -----------------------------------------------------------------------

TEST(Scene, Nominal) {
  const Rig rig = MakeViewerRig();
  const Skeleton& coco = GetSkeleton("coco17");
  const Poses3D person = MakeStandingPerson(0, 0);
  SceneOptions options;
  options.show_grid = false;
  options.show_axes = false;
  const Scene scene =
      BuildScene(rig, {SkeletonPoseFromPoses(person, 0, coco, "person.trc")}, options);
  ASSERT_EQ(scene.cameras.size(), 4u);
  // 4 rays + 4 rectangle edges + 1 up tick per camera, one line per bone.
  EXPECT_EQ(scene.lines.size(), 4 * 9 + coco.bones.size());
  EXPECT_EQ(scene.points.size(), 17u);
  EXPECT_FALSE(scene.legend.has_value());
  EXPECT_EQ(scene.FindCamera("cam_c"), 2);
  EXPECT_FALSE(scene.FindCamera("cam_x").has_value());
  // The frustum rays go through the image corners: their far ends project there.
  const Camera& camera = rig.cameras[1];
  const std::optional<Eigen::Vector2d> corner = camera.ImgFromWorld(scene.lines[9].end_in_world);
  ASSERT_TRUE(corner.has_value());
  EXPECT_NEAR(corner->x(), -0.5, 1e-9);
  EXPECT_NEAR(corner->y(), -0.5, 1e-9);
  // Camera names are labels at the centres.
  ASSERT_GE(scene.labels.size(), 4u);
  EXPECT_EQ(scene.labels[3].text, "cam_d");
}

TEST(Scene, SeveralSkeletonsGridAxesAndLegend) {
  const Rig rig = MakeViewerRig();
  const Skeleton& coco = GetSkeleton("coco17");
  std::vector<SkeletonPose> poses = {
      SkeletonPoseFromPoses(MakeStandingPerson(-0.5, 0), 0, coco, "a.trc"),
      SkeletonPoseFromPoses(MakeStandingPerson(0.5, 0), 0, coco, "b.trc")};
  poses[0].valid[0] = false;  // no nose: nose-eye bones and the nose sphere are left out
  poses[1].joint_values.assign(17, 2.0);
  poses[1].joint_values[3] = 10.0;
  poses[1].joint_values[4] = std::nan("");
  const Scene scene = BuildScene(rig, poses);
  EXPECT_EQ(scene.points.size(), 16u + 17u);
  ASSERT_TRUE(scene.legend.has_value());
  EXPECT_EQ(scene.legend->min_value, 2.0);
  EXPECT_EQ(scene.legend->max_value, 10.0);
  // Person 1's joints: viridis ends for values 2 and 10, the person colour for NaN.
  EXPECT_TRUE(scene.points[16 + 0].colour.isApprox(ViridisColour(0.0)));
  EXPECT_TRUE(scene.points[16 + 3].colour.isApprox(ViridisColour(1.0)));
  EXPECT_TRUE(scene.points[16 + 4].colour.isApprox(SkeletonColour(1)));
  EXPECT_TRUE(scene.points[0].colour.isApprox(SkeletonColour(0)));
  // Grid covers the cameras (4 m) plus a spacing: lines at +-4.5 m, 19 per direction.
  int grid_lines = 0;
  for (const SceneLine& line : scene.lines) {
    if (line.colour.isApprox(SceneOptions().grid_colour)) ++grid_lines;
  }
  EXPECT_EQ(grid_lines, 2 * 19);
  // A fixed legend wins over the data range.
  const Scene fixed = BuildScene(rig, poses, SceneOptions(), ColourLegend{"error px", 0.0, 20.0});
  EXPECT_EQ(fixed.legend->max_value, 20.0);
  EXPECT_TRUE(fixed.points[16 + 3].colour.isApprox(ViridisColour(0.5)));
}

TEST(Scene, Colormap) {
  EXPECT_TRUE(ViridisColour(0).isApprox(Eigen::Vector3f(0.267004f, 0.004874f, 0.329415f)));
  EXPECT_TRUE(ViridisColour(1).isApprox(Eigen::Vector3f(0.993248f, 0.906157f, 0.143936f)));
  EXPECT_TRUE(ViridisColour(-3).isApprox(ViridisColour(0)));
  EXPECT_TRUE(ViridisColour(7).isApprox(ViridisColour(1)));
  EXPECT_TRUE(ViridisColour(std::nan("")).isApprox(Eigen::Vector3f(0.5f, 0.5f, 0.5f)));
  // Monotonic in lightness (green channel) as viridis is.
  for (int i = 0; i < 20; ++i)
    EXPECT_LT(ViridisColour(i / 20.0).y(), ViridisColour((i + 1) / 20.0).y());
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(CameraColour(i).isApprox(SkeletonColour(0)));
}

TEST(Scene, BadArgs) {
  const Rig rig = MakeViewerRig();
  const Poses3D person = MakeStandingPerson(0, 0);
  test::ExpectError<InputError>(
      [&] { SkeletonPoseFromPoses(person, 0, GetSkeleton("body25b"), "walk.trc"); },
      {"walk.trc", "17 joints", "body25b"});
  EXPECT_THROW(SkeletonPoseFromPoses(person, 1, GetSkeleton("coco17"), "walk.trc"),
               std::invalid_argument);
  SceneOptions options;
  options.joint_radius_m = 0;
  test::ExpectError<UsageError>([&] { BuildScene(rig, {}, options); }, {"joint_radius_m"});
  options = SceneOptions();
  options.grid_spacing_m = std::nan("");
  test::ExpectError<UsageError>([&] { BuildScene(rig, {}, options); }, {"grid_spacing_m"});
  SkeletonPose pose = SkeletonPoseFromPoses(person, 0, GetSkeleton("coco17"), "walk.trc");
  pose.joint_values.assign(3, 1.0);
  EXPECT_THROW(BuildScene(rig, {pose}), std::invalid_argument);
  pose.joint_values.clear();
  pose.valid.pop_back();
  EXPECT_THROW(BuildScene(rig, {pose}), std::invalid_argument);
}

// ---- Snapshot camera (pure C++) ---------------------------------------------------------------

TEST(SnapshotCamera, CameraViewIsThePinholePart) {
  const Rig rig = MakeViewerRig();
  const Scene scene = BuildScene(rig, {});
  const Camera camera = SnapshotCamera(scene, ParseSnapshotView("camera:cam_b"), 0, 0);
  EXPECT_EQ(camera.width, 640);
  EXPECT_EQ(camera.height, 480);
  EXPECT_EQ(camera.params, rig.cameras[1].params);
  // Half size: the same rays through the same pixel corners.
  const Camera half = SnapshotCamera(scene, ParseSnapshotView("camera:cam_b"), 320, 240);
  const Eigen::Vector3d point(0.3, 0.2, 1.1);
  const Eigen::Vector2d full_px = *rig.cameras[1].ImgFromWorld(point);
  const Eigen::Vector2d half_px = *half.ImgFromWorld(point);
  EXPECT_NEAR(half_px.x(), (full_px.x() + 0.5) / 2 - 0.5, 1e-9);
  EXPECT_NEAR(half_px.y(), (full_px.y() + 0.5) / 2 - 0.5, 1e-9);
  // Overview views frame every camera.
  for (const char* view : {"top", "front", "orbit"}) {
    const Camera overview = SnapshotCamera(scene, ParseSnapshotView(view), 0, 0);
    EXPECT_EQ(overview.width, 1280);
    for (const Camera& rig_camera : rig.cameras) {
      const auto px = overview.ImgFromWorld(rig_camera.CenterInWorld());
      ASSERT_TRUE(px.has_value()) << view;
      EXPECT_TRUE(overview.IsInImage(*px)) << view << " " << rig_camera.name;
    }
  }
  // Top view: +X right, +Y up in the image.
  const Camera top = SnapshotCamera(scene, ParseSnapshotView("top"), 800, 800);
  EXPECT_GT(top.ImgFromWorld(Eigen::Vector3d(4, 0, 2.2))->x(),
            top.ImgFromWorld(Eigen::Vector3d(-4, 0, 2.2))->x());
  EXPECT_LT(top.ImgFromWorld(Eigen::Vector3d(0, 4, 2.2))->y(),
            top.ImgFromWorld(Eigen::Vector3d(0, -4, 2.2))->y());
}

TEST(SnapshotCamera, BadArgs) {
  const Scene scene = BuildScene(MakeViewerRig(), {});
  test::ExpectError<UsageError>([] { ParseSnapshotView("side"); }, {"side", "camera:NAME"});
  test::ExpectError<UsageError>([] { ParseSnapshotView("camera:"); }, {"camera:NAME"});
  test::ExpectError<InputError>(
      [&] { SnapshotCamera(scene, ParseSnapshotView("camera:cam_z"), 0, 0); },
      {"cam_z", "cam_a, cam_b, cam_c, cam_d"});
  test::ExpectError<UsageError>(
      [&] { SnapshotCamera(scene, ParseSnapshotView("top"), 100000, 10); }, {"100000x10"});
  SnapshotOptions options;
  options.overview_fov_deg = 0;
  test::ExpectError<UsageError>(
      [&] { SnapshotCamera(scene, ParseSnapshotView("top"), 0, 0, options); },
      {"overview_fov_deg"});
}

// ---- Rendering (X display) --------------------------------------------------------------------

// Only the joints, each its own colour: the centroid of each colour's pixels is the projection.
TEST(Snapshot, CameraViewJointsLandOnTheirProjection) {
  RIGPOSE_SKIP_IF_NO_DISPLAY();
  const Rig rig = MakeViewerRig();
  const Poses3D person = MakeStandingPerson(0.1, -0.2);
  Scene scene;
  for (const Camera& camera : rig.cameras) scene.cameras.push_back(SceneCamera{camera, {0, 0, 0}});
  std::vector<Eigen::Vector3f> colours;
  for (int r = 0; r <= 2; ++r) {
    for (int g = 0; g <= 2; ++g) {
      for (int b = 0; b <= 2; ++b) {
        if (r == g && g == b) continue;  // no greys: the background is white
        colours.emplace_back(r / 2.0f, g / 2.0f, b / 2.0f);
      }
    }
  }
  const std::vector<int> joints = {0, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};  // not eyes/ears
  for (size_t k = 0; k < joints.size(); ++k) {
    scene.points.push_back(ScenePoint{person.Position(0, joints[k]), colours[k], 0.015});
  }
  for (const Camera& camera : rig.cameras) {
    SCOPED_TRACE(camera.name);
    const SnapshotImage image = RenderSnapshotImage(scene, "camera:" + camera.name, 0, 0);
    ASSERT_EQ(image.width, camera.width);
    ASSERT_EQ(image.height, camera.height);
    std::cout << "[ snapshot ] camera:" << camera.name << " " << image.width << "x" << image.height
              << " canvas " << image.canvas_width << "x" << image.canvas_height << " in "
              << image.seconds << " s\n";
    EXPECT_GT(CountNonBackground(image), 0);
    for (size_t k = 0; k < joints.size(); ++k) {
      const Eigen::Vector2d expected_px = *camera.ImgFromWorld(person.Position(0, joints[k]));
      Eigen::Vector2d sum = Eigen::Vector2d::Zero();
      int count = 0;
      for (int y = 0; y < image.height; ++y) {
        for (int x = 0; x < image.width; ++x) {
          if (Near(image.Pixel(x, y), colours[k], 3)) {
            sum += Eigen::Vector2d(x, y);
            ++count;
          }
        }
      }
      ASSERT_GE(count, 2) << "joint " << joints[k] << " not drawn";
      const Eigen::Vector2d centroid_px = sum / count;
      EXPECT_LT((centroid_px - expected_px).norm(), 1.0)
          << "joint " << joints[k] << " centroid " << centroid_px.transpose() << " expected "
          << expected_px.transpose() << " (" << count << " px)";
    }
  }
}

// The full scene (frustums, grid, axes, bones): the person colour is at every joint projection.
TEST(Snapshot, CameraViewSkeletonOnProjectedJoints) {
  RIGPOSE_SKIP_IF_NO_DISPLAY();
  const Rig rig = MakeViewerRig();
  const Skeleton& coco = GetSkeleton("coco17");
  const Poses3D person = MakeStandingPerson(0, 0);
  const Scene scene = BuildScene(rig, {SkeletonPoseFromPoses(person, 0, coco, "person")});
  for (const Camera& camera : rig.cameras) {
    SCOPED_TRACE(camera.name);
    const SnapshotImage image = RenderSnapshotImage(scene, "camera:" + camera.name, 0, 0);
    for (int j = 0; j < coco.NumJoints(); ++j) {
      const Eigen::Vector2d px = *camera.ImgFromWorld(person.Position(0, j));
      EXPECT_GT(CountNear(image, px, 2, SkeletonColour(0)), 0) << coco.joint_names[j];
    }
  }
}

TEST(Snapshot, TopViewShowsEveryCamera) {
  RIGPOSE_SKIP_IF_NO_DISPLAY();
  const Rig rig = MakeViewerRig();
  const Scene scene = BuildScene(
      rig, {SkeletonPoseFromPoses(MakeStandingPerson(0, 0), 0, GetSkeleton("coco17"), "p")});
  for (const char* view : {"top", "front", "orbit"}) {
    SCOPED_TRACE(view);
    const SnapshotImage image = RenderSnapshotImage(scene, view, 960, 720);
    ASSERT_EQ(image.width, 960);
    std::cout << "[ snapshot ] " << view << " " << image.width << "x" << image.height << " in "
              << image.seconds << " s\n";
    EXPECT_GT(CountNonBackground(image), 1000);
    for (size_t c = 0; c < rig.cameras.size(); ++c) {
      const Eigen::Vector2d px = *image.camera.ImgFromWorld(rig.cameras[c].CenterInWorld());
      ASSERT_TRUE(image.camera.IsInImage(px)) << rig.cameras[c].name;
      if (std::string(view) == "top") {
        EXPECT_GT(CountNear(image, px, 3, scene.cameras[c].colour), 0) << rig.cameras[c].name;
      }
    }
  }
}

TEST(Snapshot, WritesPngAtomically) {
  RIGPOSE_SKIP_IF_NO_DISPLAY();
  const std::string dir = test::ScratchDir("viewer_snapshot_png");
  const Scene scene = BuildScene(MakeViewerRig(), {});
  const std::string path = dir + "/top.png";
  const SnapshotImage image = RenderSnapshot(scene, "top", 320, 200, path);
  EXPECT_EQ(image.width, 320);
  const std::string bytes = test::ReadText(path);
  ASSERT_GT(bytes.size(), 8u);
  EXPECT_EQ(bytes.substr(1, 3), "PNG");
  EXPECT_EQ(test::CountEntries(dir), 1);  // no temporary file left
  test::ExpectError<IoError>(
      [&] { RenderSnapshot(scene, "top", 320, 200, dir + "/missing/top.png"); },
      {"missing/top.png", "does not exist"});
}

TEST(Snapshot, BadArgs) {
  const Scene scene = BuildScene(MakeViewerRig(), {});
  test::ExpectError<UsageError>([&] { RenderSnapshotImage(scene, "left", 0, 0); }, {"left"});
  test::ExpectError<InputError>([&] { RenderSnapshotImage(scene, "camera:nope", 0, 0); },
                                {"nope", "cam_a"});
}

// Without $DISPLAY: a clear error naming xvfb-run, not a crash (the check runs before Open3D).
TEST(Snapshot, NoDisplay) {
  const char* display = std::getenv("DISPLAY");
  const std::string saved = display != nullptr ? display : "";
  ::unsetenv("DISPLAY");
  const Scene scene = BuildScene(MakeViewerRig(), {});
  if (SnapshotRendererBuilt()) {
    test::ExpectError<NoDisplayError>([&] { RenderSnapshotImage(scene, "top", 64, 48); },
                                      {"X display", "DISPLAY is not set", "xvfb-run"});
    ::setenv("DISPLAY", ":rigpose-no-such-display", 1);
    test::ExpectError<NoDisplayError>([&] { RenderSnapshotImage(scene, "top", 64, 48); },
                                      {"cannot open display", "xvfb-run"});
  } else {  // a build without Open3D says so, display or not
    test::ExpectError<NoDisplayError>([&] { RenderSnapshotImage(scene, "top", 64, 48); },
                                      {"X display", "built without Open3D"});
  }
  if (display != nullptr) {
    ::setenv("DISPLAY", saved.c_str(), 1);
  } else {
    ::unsetenv("DISPLAY");
  }
}

}  // namespace
}  // namespace rigpose

// SPDX-License-Identifier: BSD-3-Clause
// `rigpose select` on a synthetic capture's 2D keypoints with a few wrong views: the multi-view
// strategy finds them, labelled frames are skipped, the selection file is what `rigpose export`
// reads, and bad input is a clear error that writes nothing. With LibTorch: the single-view
// strategies run the detector on the capture's images.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <set>
#include <string>

#include "al/selection_file.h"
#include "core/error.h"
#include "data/npy.h"
#include "tests/cli/rigpose_process.h"
#include "tests/test_util.h"

namespace rigpose {
namespace {

namespace fs = std::filesystem;
using test::Rigpose;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

constexpr int kFrames = 80;

// A capture without images (exact 2D), its keypoints with 0.5 px noise and wrong views at frames
// 20 (camera 1) and 60 (camera 3): every joint 40 px to the right.
struct Pool {
  std::string dir, rig, keypoints;
};
const Pool& TestPool() {
  static const Pool pool = [] {
    Pool p;
    p.dir = test::ScratchDir("select_cli");
    const std::string capture = p.dir + "/capture";
    const test::Outcome r =
        Rigpose("synth --out " + capture + " --cameras 4 --frames " + std::to_string(kFrames) +
                " --format none --calib none --quiet");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    p.rig = capture + "/rig.yaml";
    Keypoints2D kp = ReadKeypointsNpy(capture + "/gt/subject_00/keypoints2d.npy");
    std::mt19937 rng(3);
    std::normal_distribution<float> noise(0.f, 0.5f);
    for (int f = 0; f < kp.num_frames(); ++f) {
      for (int c = 0; c < kp.num_cameras(); ++c) {
        for (int j = 0; j < kp.num_joints(); ++j) {
          if (!kp.IsPresent(f, c, j)) continue;
          const float dx = (f == 20 && c == 1) || (f == 60 && c == 3) ? 40.f : 0.f;
          kp.Set(f, c, j, kp.x(f, c, j) + dx + noise(rng), kp.y(f, c, j) + noise(rng), 0.9f);
        }
      }
    }
    p.keypoints = p.dir + "/keypoints2d.npy";
    WriteKeypointsNpy(p.keypoints, kp);
    return p;
  }();
  return pool;
}

TEST(SelectCli, MultiviewFindsTheWrongViews) {
  const Pool& p = TestPool();
  const std::string out = p.dir + "/sel.csv";
  const test::Outcome r = Rigpose("select --rig " + p.rig + " --keypoints " + p.keypoints +
                                  " --budget 2 --suppress 5 --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(Contains(r.output, "frames/s")) << r.output;
  const Selection s = ReadSelectionCsv(out);
  ASSERT_EQ(s.rows.size(), 2u);
  std::set<int> frames{s.rows[0].frame, s.rows[1].frame};
  EXPECT_EQ(frames, (std::set<int>{20, 60})) << r.output;
  EXPECT_EQ(s.rows[0].views.size(), 4u);
  EXPECT_EQ(s.metadata.at("strategy"), "multiview");
  EXPECT_EQ(s.component_names.front(), "fused");

  // Views: the wrong camera of each frame is among the views to label.
  const std::string views_out = p.dir + "/sel_views.csv";
  ASSERT_EQ(Rigpose("select --rig " + p.rig + " --keypoints " + p.keypoints +
                    " --budget 4 --unit views --quiet --out " + views_out)
                .exit_code,
            0);
  const Selection v = ReadSelectionCsv(views_out);
  EXPECT_EQ(v.NumViews(), 4);
  bool found20 = false, found60 = false;
  for (const SelectionRow& row : v.rows) {
    for (const std::string& view : row.views) {
      found20 |= row.frame == 20 && view == "cam_02";
      found60 |= row.frame == 60 && view == "cam_04";
    }
  }
  EXPECT_TRUE(found20 && found60);

  // Labelled frames are not picked again.
  const std::string next = p.dir + "/sel_next.csv";
  ASSERT_EQ(Rigpose("select --rig " + p.rig + " --keypoints " + p.keypoints +
                    " --budget 3 --quiet --labelled " + out + " --out " + next)
                .exit_code,
            0);
  for (const SelectionRow& row : ReadSelectionCsv(next).rows) {
    EXPECT_NE(row.frame, 20);
    EXPECT_NE(row.frame, 60);
  }

  // Baselines run on the same inputs.
  for (const std::string strategy : {"random", "anipose-bad", "vl4pose", "geometry"}) {
    const std::string path = p.dir + "/sel_" + strategy + ".csv";
    const test::Outcome b =
        Rigpose("select --rig " + p.rig + " --keypoints " + p.keypoints +
                " --budget 5 --quiet --strategy " + strategy + " --out " + path);
    EXPECT_EQ(b.exit_code, 0) << strategy << ": " << b.output;
    EXPECT_EQ(ReadSelectionCsv(path).rows.size(), 5u) << strategy;
  }
}

TEST(SelectCli, BadInputIsAClearErrorAndWritesNothing) {
  const Pool& p = TestPool();
  const std::string out = p.dir + "/never.csv";
  const std::string base =
      "select --rig " + p.rig + " --keypoints " + p.keypoints + " --out " + out;
  const auto expect =
      [&](const std::string& args, int code, const std::vector<std::string>& fragments) {
        const test::Outcome r = Rigpose(base + " " + args);
        EXPECT_EQ(r.exit_code, code) << args << ": " << r.output;
        for (const std::string& fragment : fragments) {
          EXPECT_TRUE(Contains(r.output, fragment))
              << args << ": missing '" << fragment << "' in " << r.output;
        }
        EXPECT_FALSE(fs::exists(out)) << args;
      };
  expect("--budget 81", 1, {"budget of 81 frames", "80 unlabelled frames"});
  expect("--budget 321 --unit views", 1, {"budget of 321 views"});
  expect("--budget 0", 2, {"--budget 0"});
  expect("--budget 2 --strategy nonsense", 2, {"--strategy 'nonsense'", "multiview"});
  expect("--budget 2 --strategy multi-peak-entropy", 2, {"--model", "--videos"});
  expect("--budget 2 --strategy learning-loss", 2, {"learning-loss", "--train-coco"});
  expect("--budget 2 --strategy bayesian", 1, {"bayesian", "variance"});
  expect("--budget 2 --diversity-weight -1", 2, {"diversity_weight"});

  // A labelled file outside the pool or naming an unknown camera.
  Selection labelled;
  labelled.rows.push_back({1, 200, {"cam_01"}, 1.0, {}});
  WriteSelectionCsv(p.dir + "/outside.csv", labelled);
  expect("--budget 2 --labelled " + p.dir + "/outside.csv",
         1,
         {"outside.csv", "frame 200", "80 frames"});
  labelled.rows[0].frame = 3;
  labelled.rows[0].views = {"cam_99"};
  WriteSelectionCsv(p.dir + "/unknown_cam.csv", labelled);
  expect("--budget 2 --labelled " + p.dir + "/unknown_cam.csv", 1, {"unknown_cam.csv", "cam_99"});

  // Variance of the wrong shape; keypoints of another rig.
  NpyArray variance;
  variance.dtype = "<f4";
  variance.shape = {kFrames, 4, 5};
  variance.bytes.assign(kFrames * 4 * 5 * 4, 0);
  WriteNpy(p.dir + "/variance.npy", variance);
  expect("--budget 2 --variance " + p.dir + "/variance.npy", 1, {"variance.npy", "[80, 4, 17]"});
  const Keypoints2D two_cameras(kFrames, 2, 17);
  WriteKeypointsNpy(p.dir + "/two.npy", two_cameras);
  const test::Outcome r = Rigpose("select --rig " + p.rig + " --keypoints " + p.dir +
                                  "/two.npy --budget 2 --out " + out);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.output, "two.npy") && Contains(r.output, "2 cameras")) << r.output;
  EXPECT_FALSE(fs::exists(out));
}

#if defined(RIGPOSE_HAVE_TORCH)
// The single-view strategies run the detector (shipped synthetic model) on every view.
TEST(SelectCli, SingleViewStrategiesRunTheDetector) {
  const std::string model =
      std::string(RIGPOSE_SOURCE_DIR) + "/samples/models/synth_mini_coco17.rpm";
  if (!fs::exists(model)) GTEST_SKIP() << model << " missing";
  const std::string dir = test::ScratchDir("select_cli_torch");
  ASSERT_EQ(Rigpose("synth --out " + dir +
                    "/capture --cameras 4 --frames 12 --format png "
                    "--resolution 320x240 --calib none --quiet")
                .exit_code,
            0);
  const std::string capture = dir + "/capture";
  const std::string base = "select --rig " + capture + "/rig.yaml --keypoints " + capture +
                           "/gt/subject_00/keypoints2d.npy --model " + model + " --images " +
                           capture + "/images --threads 1 --budget 3 ";
  for (const std::string strategy : {"multi-peak-entropy", "core-set"}) {
    const std::string out = dir + "/" + strategy + ".csv";
    const test::Outcome r = Rigpose(base + "--strategy " + strategy + " --out " + out);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(Contains(r.output, "detector on 48 views")) << r.output;
    const Selection s = ReadSelectionCsv(out);
    EXPECT_EQ(s.rows.size(), 3u);
    if (strategy == "multi-peak-entropy") {
      // The score of a frame is its views' mean entropy, in decreasing order.
      EXPECT_GE(s.rows[0].score, s.rows[1].score);
      EXPECT_GE(s.rows[1].score, s.rows[2].score);
    }
  }
  // Learning Loss: the predictor learns from the labelled set (here the capture's own labels).
  {
    const std::string out = dir + "/learning-loss.csv";
    const test::Outcome r = Rigpose(base + "--strategy learning-loss --train-coco " + capture +
                                    "/annotations/person_keypoints.json --out " + out);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(Contains(r.output, "loss predictor trained on 48 labelled samples")) << r.output;
    EXPECT_EQ(ReadSelectionCsv(out).rows.size(), 3u);
  }
  // Views (by budget in views): single views ranked by entropy.
  const std::string views = dir + "/views.csv";
  ASSERT_EQ(
      Rigpose(base + "--strategy multi-peak-entropy --unit views --quiet --out " + views).exit_code,
      0);
  EXPECT_EQ(ReadSelectionCsv(views).NumViews(), 3);
  // The aleatoric strategy needs the head; images shorter than the keypoints are refused.
  test::Outcome r = Rigpose(base + "--strategy aleatoric --out " + dir + "/a.csv");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.output, "aleatoric head")) << r.output;
  // `rigpose model eval`: the PCK of the shipped model on this capture's COCO file.
  const std::string json = dir + "/eval.json";
  r = Rigpose("model eval --model " + model + " --coco " + capture +
              "/annotations/person_keypoints.json --threads 1 --json " + json);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(Contains(r.output, "PCK@0.05")) << r.output;
  const std::string written = test::ReadText(json);
  const double pck = std::stod(written.substr(written.find(':') + 1));
  EXPECT_GT(pck, 0.5) << written;
  EXPECT_LE(pck, 1.0);
  // With the flip test: the flag is in the JSON, and the shipped model (trained with flips) is as
  // good within a few points.
  r = Rigpose("model eval --model " + model + " --coco " + capture +
              "/annotations/person_keypoints.json --threads 1 --flip-test --json " + json);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(Contains(r.output, "(flip test)")) << r.output;
  const std::string flipped = test::ReadText(json);
  EXPECT_TRUE(Contains(flipped, "\"flip_test\": true")) << flipped;
  EXPECT_GT(std::stod(flipped.substr(flipped.find(':') + 1)), pck - 0.05) << flipped;
  r = Rigpose("model eval --model " + model + " --coco " + dir + "/missing.json");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.output, "missing.json")) << r.output;
  Keypoints2D longer(20, 4, 17);
  WriteKeypointsNpy(dir + "/longer.npy", longer);
  r = Rigpose("select --rig " + capture + "/rig.yaml --keypoints " + dir + "/longer.npy --model " +
              model + " --images " + capture + "/images --budget 2 --strategy core-set --out " +
              dir + "/b.csv");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.output, "12 frames") && Contains(r.output, "20 frames")) << r.output;
  EXPECT_FALSE(fs::exists(dir + "/b.csv"));
}
#endif

}  // namespace
}  // namespace rigpose

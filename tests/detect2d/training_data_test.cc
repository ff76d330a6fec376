// SPDX-License-Identifier: BSD-3-Clause
// Training samples: the crop affine, the image warp and the heatmap targets must agree, with and
// without augmentation (flip relabelling included); weights; bad input named.
//
// Fixture: three 320x240 images, one person each, a dot per labelled joint: left joints red,
// right joints blue, the nose green, at integer pixels (pixel centres, the rigpose convention),
// written to COCO (+0.5) by WriteCocoKeypoints.
#include "detect2d/training_data.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.h"
#include "data/coco_keypoints.h"
#include "data/npy.h"
#include "data/synth/capture.h"
#include "tests/test_util.h"

namespace rigpose {
namespace {

namespace fs = std::filesystem;

using test::ExpectError;

const std::vector<std::string> kJoints = {
    "nose", "left_wrist", "right_wrist", "left_ankle", "right_ankle"};
enum class Colour { kRed, kGreen, kBlue, kNone };

// BGR for drawing.
cv::Scalar Bgr(Colour c) {
  return c == Colour::kRed     ? cv::Scalar(0, 0, 255)
         : c == Colour::kGreen ? cv::Scalar(0, 255, 0)
                               : cv::Scalar(255, 0, 0);
}
// The colour a joint's dot is drawn in.
Colour JointColour(int j) {
  if (j == 0) return Colour::kGreen;
  return kJoints[j].rfind("left_", 0) == 0 ? Colour::kRed : Colour::kBlue;
}

struct Fixture {
  std::string dir;
  std::string json;  // dir/annotations/person_keypoints.json, file names "images/<cam>/..."
  CocoKeypointsDataset dataset;
};

// Person k: keypoints (image pixels) spread over a ~50x64 px box; image 2's right ankle is
// unlabelled (v = 0, not drawn).
Fixture MakeFixture(const std::string& name) {
  Fixture f;
  f.dir = test::ScratchDir(name + "." + std::to_string(getpid()));
  f.json = f.dir + "/annotations/person_keypoints.json";
  fs::create_directories(f.dir + "/annotations");
  f.dataset.keypoint_names = kJoints;
  f.dataset.bones = {{0, 1}, {0, 2}, {0, 3}, {0, 4}};
  const char* cams[3] = {"cam_a", "cam_b", "cam_c"};
  for (int k = 0; k < 3; ++k) {
    const int x0 = 60 + 70 * k, y0 = 70 + 10 * k;  // the nose
    const int pts[5][2] = {
        {x0, y0}, {x0 + 20, y0 + 25}, {x0 - 20, y0 + 27}, {x0 + 12, y0 + 60}, {x0 - 14, y0 + 62}};
    cv::Mat image(240, 320, CV_8UC3, cv::Scalar(40, 40, 40));
    CocoAnnotation a;
    a.id = 100 + k;
    a.image_id = k + 1;
    for (int j = 0; j < 5; ++j) {
      const int v = (k == 2 && j == 4) ? 0 : 2;
      a.keypoints.insert(a.keypoints.end(), {double(pts[j][0]), double(pts[j][1]), double(v)});
      if (v > 0) cv::circle(image, cv::Point(pts[j][0], pts[j][1]), 2, Bgr(JointColour(j)), -1);
    }
    a.bbox = {x0 - 30.0, y0 - 8.0, 60.0, 80.0};
    a.area = 60 * 80;
    f.dataset.annotations.push_back(a);
    const std::string file = std::string("images/") + cams[k] + "/000000.png";
    fs::create_directories(f.dir + "/images/" + cams[k]);
    EXPECT_TRUE(cv::imwrite(f.dir + "/" + file, image));
    f.dataset.images.push_back({k + 1, file, 320, 240, cams[k], 0});
  }
  WriteCocoKeypoints(f.json, f.dataset);
  return f;
}

TrainingInputSpec SmallSpec() {
  TrainingInputSpec spec;
  spec.input_width = 96;
  spec.input_height = 128;
  spec.heatmap_stride = 4;
  spec.sigma = 2.0;
  return spec;
}

struct Sample {
  std::vector<float> image, target, weight;
  std::array<double, 6> m{};
};

Sample GetSample(const KeypointTrainingSet& set, int index, bool augment, std::mt19937& rng) {
  const TrainingInputSpec& s = set.spec();
  Sample out;
  out.image.assign(3 * s.input_width * s.input_height, NAN);
  out.target.assign(set.num_joints() * s.heatmap_width() * s.heatmap_height(), NAN);
  out.weight.assign(set.num_joints(), NAN);
  set.GetSample(
      index, augment, rng, out.image.data(), out.target.data(), out.weight.data(), &out.m);
  return out;
}

// Sub-pixel peak of a sampled Gaussian: argmax, then a parabola through the logs of the
// neighbours (exact for a Gaussian). Heatmap pixels.
std::array<double, 2> Peak(const float* map, int w, int h) {
  int best = 0;
  for (int i = 1; i < w * h; ++i) {
    if (map[i] > map[best]) best = i;
  }
  const int x = best % w, y = best / w;
  const auto refine = [&](int dx, int dy, int pos, int size) {
    if (pos <= 0 || pos >= size - 1) return 0.0;
    const double l = std::log(std::max(map[(y - dy) * w + x - dx], 1e-30f));
    const double c = std::log(map[y * w + x]);
    const double r = std::log(std::max(map[(y + dy) * w + x + dx], 1e-30f));
    return 0.5 * (l - r) / (l - 2 * c + r);
  };
  return {x + refine(1, 0, x, w), y + refine(0, 1, y, h)};
}

// De-normalised RGB at crop pixel (x, y).
std::array<double, 3> Rgb(const Sample& s, const TrainingInputSpec& spec, int x, int y) {
  const size_t plane = size_t(spec.input_width) * spec.input_height;
  std::array<double, 3> rgb{};
  for (int c = 0; c < 3; ++c) {
    rgb[c] = s.image[c * plane + size_t(y) * spec.input_width + x] * spec.std[c] + spec.mean[c];
  }
  return rgb;
}

Colour Classify(const std::array<double, 3>& rgb) {
  const double hi = std::max({rgb[0], rgb[1], rgb[2]});
  const double lo = std::min({rgb[0], rgb[1], rgb[2]});
  if (hi - lo < 0.25) return Colour::kNone;
  return rgb[0] == hi ? Colour::kRed : rgb[1] == hi ? Colour::kGreen : Colour::kBlue;
}

// Centroid (crop pixels) of the pixels of `colour` within `radius` of (u, v), weighted by how
// much the colour's channel exceeds the others; nullopt-like {NAN, NAN} when none.
std::array<double, 2> DotCentroid(
    const Sample& s, const TrainingInputSpec& spec, Colour colour, double u, double v) {
  const int channel = colour == Colour::kRed ? 0 : colour == Colour::kGreen ? 1 : 2;
  double sw = 0, sx = 0, sy = 0;
  const int radius = 7;
  for (int y = int(std::round(v)) - radius; y <= int(std::round(v)) + radius; ++y) {
    for (int x = int(std::round(u)) - radius; x <= int(std::round(u)) + radius; ++x) {
      if (x < 0 || y < 0 || x >= spec.input_width || y >= spec.input_height) continue;
      const auto rgb = Rgb(s, spec, x, y);
      const double excess = rgb[channel] - std::max(rgb[(channel + 1) % 3], rgb[(channel + 2) % 3]);
      if (excess <= 0.05) continue;
      sw += excess;
      sx += excess * x;
      sy += excess * y;
    }
  }
  if (sw == 0) return {NAN, NAN};
  return {sx / sw, sy / sw};
}

void Map(const std::array<double, 6>& m, double x, double y, double* u, double* v) {
  *u = m[0] * x + m[1] * y + m[2];
  *v = m[3] * x + m[4] * y + m[5];
}

TEST(CropFromBox, PixelCentreConvention) {
  // A box of exactly the input aspect, no padding: 2 image pixels per crop pixel. The box's
  // left edge (COCO corner 0) is rigpose -0.5; crop pixel u's centre is at image x = 0 +
  // (u + 0.5) * 2 - 0.5.
  const std::array<double, 6> m = CropFromBox({-0.5, -0.5, 192, 256}, 96, 128, 1.0);
  double u = 0, v = 0;
  Map(m, 0.5, 0.5, &u, &v);
  EXPECT_NEAR(u, 0.0, 1e-12);
  EXPECT_NEAR(v, 0.0, 1e-12);
  Map(m, 190.5, 254.5, &u, &v);
  EXPECT_NEAR(u, 95.0, 1e-12);
  EXPECT_NEAR(v, 127.0, 1e-12);
  // Letterbox: a wide box keeps its width and grows in height; padding and scale enlarge it.
  const std::array<double, 6> wide = CropFromBox({0, 0, 96, 10}, 96, 128, 1.0);
  EXPECT_NEAR(wide[0], 1.0, 1e-12);
  const std::array<double, 6> padded = CropFromBox({0, 0, 96, 10}, 96, 128, 1.25, 2.0);
  EXPECT_NEAR(padded[0], 1.0 / 2.5, 1e-12);
  // Rotation about the box centre: the centre stays; a point right of it goes up (y down).
  const std::array<double, 6> r = CropFromBox({10, 20, 96, 128}, 96, 128, 1.0, 1.0, 90.0);
  Map(r, 58, 84, &u, &v);
  EXPECT_NEAR(u, 47.5, 1e-9);
  EXPECT_NEAR(v, 63.5, 1e-9);
  Map(r, 68, 84, &u, &v);
  EXPECT_NEAR(u, 47.5, 1e-9);
  EXPECT_NEAR(v, 53.5, 1e-9);
  // Shift moves the centre.
  const std::array<double, 6> sh = CropFromBox({10, 20, 96, 128}, 96, 128, 1.0, 1.0, 0.0, 5, -3);
  Map(sh, 63, 81, &u, &v);
  EXPECT_NEAR(u, 47.5, 1e-9);
  EXPECT_NEAR(v, 63.5, 1e-9);
  EXPECT_THROW(CropFromBox({0, 0, 0, 0}, 96, 128, 1.0), std::invalid_argument);
  EXPECT_THROW(CropFromBox({0, 0, 10, 10}, 0, 128, 1.0), std::invalid_argument);
}

TEST(FlipPermutationFromNames, PairsByName) {
  EXPECT_EQ(FlipPermutationFromNames(kJoints), (std::vector<int>{0, 2, 1, 4, 3}));
  EXPECT_EQ(FlipPermutationFromNames({"l_hip", "neck", "r_hip", "LKnee", "RKnee", "left_x"}),
            (std::vector<int>{2, 1, 0, 4, 3, 5}));
}

TEST(KeypointTrainingSet, EvalSampleTargetsAndImageAgree) {
  const Fixture f = MakeFixture("eval");
  const KeypointTrainingSet set(f.json, "", SmallSpec());  // root: the JSON folder's parent
  ASSERT_EQ(set.size(), 3);
  ASSERT_EQ(set.num_joints(), 5);
  EXPECT_EQ(set.joint_names(), kJoints);
  EXPECT_EQ(set.flip_permutation(), (std::vector<int>{0, 2, 1, 4, 3}));
  EXPECT_EQ(set.instance(1).camera, "cam_b");
  EXPECT_EQ(set.instance(1).annotation_id, 101);
  // Ground truth back in rigpose pixels (the COCO file holds +0.5).
  EXPECT_DOUBLE_EQ(set.instance(1).keypoints[0], 130.0);
  EXPECT_DOUBLE_EQ(set.instance(1).keypoints[1], 80.0);
  EXPECT_DOUBLE_EQ(set.instance(1).bbox[0], 100.0);

  const TrainingInputSpec spec = set.spec();
  const int hw = spec.heatmap_width(), hh = spec.heatmap_height();
  std::mt19937 rng(1);
  int checked = 0;
  for (int i = 0; i < set.size(); ++i) {
    const std::mt19937 before = rng;
    const Sample s = GetSample(set, i, false, rng);
    EXPECT_TRUE(rng == before);  // no augmentation, no random numbers
    EXPECT_EQ(s.m, set.EvalCropFromImage(i));
    for (float x : s.image) {
      ASSERT_TRUE(std::isfinite(x));
    }
    const TrainingInstance& inst = set.instance(i);
    for (int j = 0; j < 5; ++j) {
      SCOPED_TRACE("instance " + std::to_string(i) + " joint " + kJoints[j]);
      const float* map = &s.target[size_t(j) * hw * hh];
      if (inst.keypoints[3 * j + 2] == 0) {
        EXPECT_EQ(s.weight[j], 0.0f);
        EXPECT_EQ(*std::max_element(map, map + hw * hh), 0.0f);
        continue;
      }
      ASSERT_EQ(s.weight[j], 1.0f);
      double u = 0, v = 0;
      Map(s.m, inst.keypoints[3 * j], inst.keypoints[3 * j + 1], &u, &v);
      const auto peak = Peak(map, hw, hh);
      EXPECT_NEAR(peak[0], (u + 0.5) / spec.heatmap_stride - 0.5, 0.01);
      EXPECT_NEAR(peak[1], (v + 0.5) / spec.heatmap_stride - 0.5, 0.01);
      EXPECT_NEAR(*std::max_element(map, map + hw * hh), 1.0f, 0.1f);
      // The dot drawn at the keypoint is where the keypoint maps (magnified ~1.5x here, so half
      // an image pixel of convention error would show as ~0.75 crop px).
      const auto dot = DotCentroid(s, spec, JointColour(j), u, v);
      EXPECT_NEAR(dot[0], u, 0.3);
      EXPECT_NEAR(dot[1], v, 0.3);
      EXPECT_EQ(Classify(Rgb(s, spec, int(std::round(u)), int(std::round(v)))), JointColour(j));
      ++checked;
    }
  }
  EXPECT_EQ(checked, 14);
}

TEST(KeypointTrainingSet, AugmentedSamplesStayConsistentAndFlipRelabels) {
  const Fixture f = MakeFixture("augment");
  KeypointTrainingSet set(f.json, f.dir, SmallSpec());
  AugmentOptions augment;  // defaults: flips, rotation, scale, shift, colour jitter
  augment.flip_probability = 0.5;
  set.set_augment_options(augment);
  const TrainingInputSpec spec = set.spec();
  const int hw = spec.heatmap_width(), hh = spec.heatmap_height();
  const std::vector<int>& perm = set.flip_permutation();
  std::mt19937 rng(12345);
  int flipped = 0, unflipped = 0, rotated = 0, checked = 0, pushed_out = 0;
  for (int n = 0; n < 60; ++n) {
    const int i = n % set.size();
    const Sample s = GetSample(set, i, true, rng);
    const bool flip = s.m[0] * s.m[4] - s.m[1] * s.m[3] < 0;
    (flip ? flipped : unflipped) += 1;
    rotated += std::abs(s.m[1]) > 1e-9;
    const TrainingInstance& inst = set.instance(i);
    for (int j = 0; j < 5; ++j) {
      SCOPED_TRACE("sample " + std::to_string(n) + " joint " + kJoints[j] +
                   (flip ? " flipped" : ""));
      // After a flip, joint j is the mirror image of the person's joint perm[j]: the mirrored
      // person's anatomical left is the original right, drawn in the right joint's colour.
      const int src = flip ? perm[j] : j;
      double u = 0, v = 0;
      Map(s.m, inst.keypoints[3 * src], inst.keypoints[3 * src + 1], &u, &v);
      const bool inside =
          u >= -0.5 && u < spec.input_width - 0.5 && v >= -0.5 && v < spec.input_height - 0.5;
      const float* map = &s.target[size_t(j) * hw * hh];
      if (inst.keypoints[3 * src + 2] == 0 || !inside) {
        EXPECT_EQ(s.weight[j], 0.0f);
        EXPECT_EQ(*std::max_element(map, map + hw * hh), 0.0f);
        pushed_out += inst.keypoints[3 * src + 2] > 0;
        continue;
      }
      ASSERT_EQ(s.weight[j], 1.0f);
      // Near the border the Gaussian is cut and the dot half outside: only the weight is checked.
      const double margin = 1.5 * spec.heatmap_stride;
      if (u < margin || v < margin || u > spec.input_width - 1 - margin ||
          v > spec.input_height - 1 - margin)
        continue;
      const auto peak = Peak(map, hw, hh);
      // The target peak in crop pixels, independent of the affine.
      const double pu = (peak[0] + 0.5) * spec.heatmap_stride - 0.5;
      const double pv = (peak[1] + 0.5) * spec.heatmap_stride - 0.5;
      EXPECT_NEAR(pu, u, 0.05 * spec.heatmap_stride);
      EXPECT_NEAR(pv, v, 0.05 * spec.heatmap_stride);
      // Only the image tells left from right: the colour under the peak.
      const int x = int(std::round(pu)), y = int(std::round(pv));
      const Colour expected = j == 0                                        ? Colour::kGreen
                              : (kJoints[j].rfind("left_", 0) == 0) != flip ? Colour::kRed
                                                                            : Colour::kBlue;
      EXPECT_EQ(Classify(Rgb(s, spec, x, y)), expected);
      const auto dot = DotCentroid(s, spec, expected, pu, pv);
      EXPECT_NEAR(dot[0], pu, 1.0);
      EXPECT_NEAR(dot[1], pv, 1.0);
      ++checked;
    }
  }
  EXPECT_GT(flipped, 15);
  EXPECT_GT(unflipped, 15);
  EXPECT_GT(rotated, 20);
  EXPECT_GT(checked, 200);
  std::printf("augmented: %d flipped, %d rotated, %d joints checked, %d pushed out\n",
              flipped,
              rotated,
              checked,
              pushed_out);

  // Same seed, same sample.
  std::mt19937 a(7), b(7);
  const Sample sa = GetSample(set, 1, true, a);
  const Sample sb = GetSample(set, 1, true, b);
  EXPECT_EQ(sa.m, sb.m);
  EXPECT_EQ(sa.image, sb.image);
  EXPECT_EQ(sa.target, sb.target);
}

TEST(KeypointTrainingSet, KeypointsOutsideTheCropHaveWeightZero) {
  Fixture f = MakeFixture("outside");
  // Person 0's box covers only the head and wrists: the ankles (60 px below the nose) fall out.
  f.dataset.annotations[0].bbox = {30.0, 62.0, 60.0, 30.0};
  WriteCocoKeypoints(f.json, f.dataset);
  const KeypointTrainingSet set(f.json, f.dir, SmallSpec());
  std::mt19937 rng(1);
  const Sample s = GetSample(set, 0, false, rng);
  EXPECT_EQ(s.weight, (std::vector<float>{1, 1, 1, 0, 0}));
  const size_t map = size_t(set.spec().heatmap_width()) * set.spec().heatmap_height();
  EXPECT_EQ(*std::max_element(s.target.begin() + 3 * map, s.target.end()), 0.0f);
  // v = 0 (instance 2's right ankle).
  EXPECT_EQ(GetSample(set, 2, false, rng).weight[4], 0.0f);
}

TEST(KeypointTrainingSet, CameraFilters) {
  const Fixture f = MakeFixture("filters");
  EXPECT_EQ(KeypointTrainingSet(f.json, f.dir, SmallSpec(), {"cam_b"}).size(), 1);
  const KeypointTrainingSet held_out(f.json, f.dir, SmallSpec(), {}, {"cam_b"});
  ASSERT_EQ(held_out.size(), 2);
  EXPECT_EQ(held_out.instance(0).camera, "cam_a");
  EXPECT_EQ(held_out.instance(1).camera, "cam_c");
  EXPECT_EQ(KeypointTrainingSet(f.json, f.dir, SmallSpec(), {"cam_a", "cam_c"}, {"cam_c"}).size(),
            1);
}

TEST(KeypointTrainingSet, BadArgs) {
  Fixture f = MakeFixture("bad");
  ExpectError<InputError>([&] { KeypointTrainingSet(f.json, f.dir, SmallSpec(), {"cam_z"}); },
                          {"cam_z", "include_cameras", "cam_a, cam_b, cam_c", f.json});
  ExpectError<InputError>([&] { KeypointTrainingSet(f.json, f.dir, SmallSpec(), {}, {"cam_y"}); },
                          {"cam_y", "exclude_cameras"});
  ExpectError<InputError>(
      [&] { KeypointTrainingSet(f.json, f.dir, SmallSpec(), {"cam_a"}, {"cam_a"}); },
      {"no person instance"});
  TrainingInputSpec spec = SmallSpec();
  spec.heatmap_stride = 5;
  ExpectError<InputError>([&] { KeypointTrainingSet(f.json, f.dir, spec); }, {"heatmap_stride"});
  spec = SmallSpec();
  spec.sigma = 0;
  ExpectError<InputError>([&] { KeypointTrainingSet(f.json, f.dir, spec); }, {"sigma"});
  ExpectError<IoError>([&] { KeypointTrainingSet(f.dir + "/nope.json", f.dir, SmallSpec()); },
                       {f.dir + "/nope.json"});
  {
    KeypointTrainingSet set(f.json, f.dir, SmallSpec());
    AugmentOptions augment;
    augment.flip_probability = 1.5;
    ExpectError<InputError>([&] { set.set_augment_options(augment); }, {"flip_probability"});
    augment = AugmentOptions();
    augment.box_padding = 0;
    ExpectError<InputError>([&] { set.set_augment_options(augment); }, {"box_padding"});
    std::vector<float> buffer(100000);
    std::mt19937 rng(1);
    EXPECT_THROW(set.GetSample(3, false, rng, buffer.data(), buffer.data(), buffer.data()),
                 std::invalid_argument);
    // An image replaced by garbage after construction: IoError naming it.
    const std::string image = f.dir + "/images/cam_b/000000.png";
    test::WriteText(image, "not a png");
    ExpectError<IoError>(
        [&] { set.GetSample(1, false, rng, buffer.data(), buffer.data(), buffer.data()); },
        {image});
  }
  // A missing image: IoError naming it, at construction.
  const std::string missing = f.dir + "/images/cam_c/000000.png";
  fs::remove(missing);
  ExpectError<IoError>([&] { KeypointTrainingSet(f.json, f.dir, SmallSpec()); },
                       {missing, "image id 3"});
  // ... unless its camera is held out.
  EXPECT_EQ(KeypointTrainingSet(f.json, f.dir, SmallSpec(), {}, {"cam_c"}).size(), 2);
  // Wrong image root.
  ExpectError<IoError>([&] { KeypointTrainingSet(f.json, f.dir + "/images", SmallSpec()); },
                       {f.dir + "/images/images/cam_a/000000.png"});
  // A video-backed capture.
  f.dataset.images[0].file_name = "videos/cam_a.mp4";
  f.dataset.images[0].frame_index = 12;
  WriteCocoKeypoints(f.json, f.dataset);
  ExpectError<InputError>([&] { KeypointTrainingSet(f.json, f.dir, SmallSpec()); },
                          {f.json, "videos/cam_a.mp4", "video", "png or jpg"});
}

// The studio's own COCO file: ReadCocoKeypoints' -0.5 convention reproduces the exact ground
// truth, and a training sample's targets sit on the mapped ground truth.
TEST(KeypointTrainingSet, SynthCapture) {
  synth::SynthOptions o;
  o.rig.num_cameras = 2;
  o.rig.resolution = "320x240";
  o.num_frames = 2;
  o.image_format = "png";
  o.chessboard = false;
  o.charuco = false;
  o.num_threads = 2;
  const std::string out = test::ScratchDir("synth") + "/out";
  synth::WriteSynthCapture(o, out);
  const std::string json = out + "/annotations/person_keypoints.json";
  const CocoKeypointsDataset d = ReadCocoKeypoints(json);
  EXPECT_EQ(d.skeleton, "coco17");
  ASSERT_EQ(d.NumJoints(), 17);
  const NpyArray npy = ReadNpy(out + "/gt/subject_00/keypoints2d_f64.npy");
  ASSERT_EQ(npy.shape, (std::vector<int64_t>{2, 2, 17, 3}));
  const std::vector<double> gt = npy.AsDoubles();
  int compared = 0;
  for (const CocoAnnotation& a : d.annotations) {
    const CocoImage& im = d.images[a.image_id - 1];
    ASSERT_EQ(im.id, a.image_id);
    const int c = im.camera == "cam_01" ? 0 : 1;
    for (int j = 0; j < 17; ++j) {
      const double* g = &gt[((size_t(im.frame_index) * 2 + c) * 17 + j) * 3];
      EXPECT_EQ(a.keypoints[3 * j + 2], g[2]);
      if (g[2] == 0) continue;
      EXPECT_NEAR(a.keypoints[3 * j], g[0], 1e-9);
      EXPECT_NEAR(a.keypoints[3 * j + 1], g[1], 1e-9);
      ++compared;
    }
  }
  EXPECT_GT(compared, 20);

  const KeypointTrainingSet set(json, "", SmallSpec());
  ASSERT_GE(set.size(), 1);
  EXPECT_EQ(set.flip_permutation()[1], 2);  // left_eye <-> right_eye
  std::mt19937 rng(3);
  const Sample s = GetSample(set, 0, true, rng);
  const TrainingInputSpec spec = set.spec();
  const int hw = spec.heatmap_width(), hh = spec.heatmap_height();
  const bool flip = s.m[0] * s.m[4] - s.m[1] * s.m[3] < 0;
  const TrainingInstance& inst = set.instance(0);
  for (int j = 0; j < 17; ++j) {
    if (s.weight[j] == 0) continue;
    const int src = flip ? set.flip_permutation()[j] : j;
    double u = 0, v = 0;
    Map(s.m, inst.keypoints[3 * src], inst.keypoints[3 * src + 1], &u, &v);
    const auto peak = Peak(&s.target[size_t(j) * hw * hh], hw, hh);
    EXPECT_NEAR(peak[0], (u + 0.5) / spec.heatmap_stride - 0.5, 0.05);
    EXPECT_NEAR(peak[1], (v + 0.5) / spec.heatmap_stride - 0.5, 0.05);
  }
}

}  // namespace
}  // namespace rigpose

// SPDX-License-Identifier: BSD-3-Clause
// Model files: MoveNet import against the TFJS golden activations, TorchScript import (a module
// scripted by Debian's python3-torch inside the test), native nets, bad model files.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/error.h"
#include "core/skeleton.h"
#include "detect2d/detector.h"
#include "detect2d/heatmap_decode.h"
#include "detect2d/model.h"
#include "tests/test_util.h"

namespace rigpose {
namespace {

namespace fs = std::filesystem;

// The image mirrored left-right (column u <-> width - 1 - u).
std::vector<uint8_t> MirrorColumns(const std::vector<uint8_t>& pixels, int width, int height) {
  std::vector<uint8_t> out(pixels.size());
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < 3; ++c) {
        out[(y * width + x) * 3 + c] = pixels[(y * width + (width - 1 - x)) * 3 + c];
      }
    }
  }
  return out;
}

// Flip-test keypoints are mirror-equivariant: the detections on the mirrored crop are the
// mirrored detections of the crop with left and right joints swapped.
void ExpectMirrorEquivariant(const CropDetection& a,
                             const CropDetection& mirrored,
                             int width,
                             double tolerance_px,
                             const std::string& what) {
  const std::vector<int> perm = GetSkeleton("coco17").FlipPermutation();
  for (int j = 0; j < 17; ++j) {
    const float* p = &a.keypoints[3 * j];
    const float* q = &mirrored.keypoints[3 * perm[j]];
    EXPECT_NEAR(p[0], width - 1 - q[0], tolerance_px) << what << " joint " << j;
    EXPECT_NEAR(p[1], q[1], tolerance_px) << what << " joint " << j;
    EXPECT_NEAR(p[2], q[2], 1e-5) << what << " joint " << j;
  }
}

#if !defined(RIGPOSE_DETECT2D_NO_TFJS)
std::vector<char> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}

std::vector<float> ReadFloats(const std::string& path) {
  const std::vector<char> bytes = ReadBytes(path);
  std::vector<float> values(bytes.size() / 4);
  std::memcpy(values.data(), bytes.data(), values.size() * 4);
  return values;
}

// The MoveNet import is converted once per process (the conversion itself is tested here).
std::string MoveNetModel() {
  static std::string path;
  if (!path.empty()) return path;
  const std::string tfjs = test::SharedDataPath("movenet_singlepose_lightning_tfjs");
  if (tfjs.empty()) return "";
  path = test::ScratchDir("movenet_model") + "/movenet.rpm";
  ImportMoveNet(tfjs, path);
  return path;
}

TEST(MoveNetImport, MatchesGoldenActivations) {
  RIGPOSE_SKIP_IF_NO_DATA(tfjs, "movenet_singlepose_lightning_tfjs");
  const std::string model = MoveNetModel();
  const ModelInfo info = ReadModelInfo(model);
  EXPECT_EQ(info.kind, "movenet");
  EXPECT_EQ(info.num_joints, 17);
  EXPECT_EQ(info.input_width, 192);
  EXPECT_EQ(info.heatmap_stride, 4);

  DetectorOptions options;
  options.keep_heatmaps = true;
  auto detector = KeypointDetector::Load(model, options);
  const std::vector<char> rgb = ReadBytes(tfjs + "/golden/input_192x192_rgb_uint8.raw");
  ASSERT_EQ(rgb.size(), 192u * 192 * 3);
  ImageU8 image{reinterpret_cast<const uint8_t*>(rgb.data()), 192, 192, 192 * 3, false};
  const std::vector<CropDetection> result = detector->Detect({image});
  ASSERT_EQ(result.size(), 1u);

  // Heatmaps: golden NHWC [1, 48, 48, 17], ours [17][48][48].
  const std::vector<float> golden =
      ReadFloats(tfjs + "/golden/out_kpt_heatmap_sigmoid_1x48x48x17.f32");
  ASSERT_EQ(golden.size(), 48u * 48 * 17);
  ASSERT_EQ(result[0].heatmaps.size(), golden.size());
  double max_error = 0;
  for (int y = 0; y < 48; ++y) {
    for (int x = 0; x < 48; ++x) {
      for (int j = 0; j < 17; ++j) {
        const double ours = result[0].heatmaps[(j * 48 + y) * 48 + x];
        max_error = std::max(max_error, std::abs(ours - golden[(y * 48 + x) * 17 + j]));
      }
    }
  }
  EXPECT_LE(max_error, 1e-3) << "max abs heatmap error vs TFJS";
  RecordProperty("heatmap_max_abs_error", std::to_string(max_error));
  std::printf("MoveNet heatmaps: max abs error vs TFJS golden = %.3g\n", max_error);

  // Keypoints: golden (y, x, score) normalised to the input; ours are crop pixels.
  const std::vector<float> keypoints = ReadFloats(tfjs + "/golden/out_keypoints_1x1x17x3.f32");
  ASSERT_EQ(keypoints.size(), 17u * 3);
  for (int j = 0; j < 17; ++j) {
    const float* ours = &result[0].keypoints[3 * j];
    EXPECT_NEAR((ours[1] + 0.5) / 192.0, keypoints[3 * j], 1e-3) << "joint " << j;
    EXPECT_NEAR((ours[0] + 0.5) / 192.0, keypoints[3 * j + 1], 1e-3) << "joint " << j;
    EXPECT_NEAR(ours[2], keypoints[3 * j + 2], 1e-3) << "joint " << j;
  }
}

TEST(MoveNetImport, FlipTestAveragesTheMirroredDecode) {
  RIGPOSE_SKIP_IF_NO_DATA(tfjs, "movenet_singlepose_lightning_tfjs");
  const std::string model = MoveNetModel();
  const std::vector<char> raw = ReadBytes(tfjs + "/golden/input_192x192_rgb_uint8.raw");
  ASSERT_EQ(raw.size(), 192u * 192 * 3);
  const std::vector<uint8_t> rgb(raw.begin(), raw.end());
  const std::vector<uint8_t> mirrored_rgb = MirrorColumns(rgb, 192, 192);
  const ImageU8 image{rgb.data(), 192, 192, 192 * 3, false};
  const ImageU8 mirrored{mirrored_rgb.data(), 192, 192, 192 * 3, false};
  DetectorOptions options;
  auto plain = KeypointDetector::Load(model, options);
  options.flip_test = true;
  auto flip = KeypointDetector::Load(model, options);
  const std::vector<CropDetection> p = plain->Detect({image, mirrored});
  const std::vector<CropDetection> f = flip->Detect({image, mirrored});
  // By construction: the mean of the plain decode and the mirrored crop's decode mapped back.
  const std::vector<int> perm = GetSkeleton("coco17").FlipPermutation();
  double moved = 0;
  for (int j = 0; j < 17; ++j) {
    const float* a = &p[0].keypoints[3 * j];
    const float* b = &p[1].keypoints[3 * perm[j]];
    const float* got = &f[0].keypoints[3 * j];
    EXPECT_NEAR(got[0], 0.5 * (a[0] + (191 - b[0])), 1e-3) << "joint " << j;
    EXPECT_NEAR(got[1], 0.5 * (a[1] + b[1]), 1e-3) << "joint " << j;
    EXPECT_NEAR(got[2], 0.5 * (a[2] + b[2]), 1e-5) << "joint " << j;
    moved += std::abs(got[0] - a[0]) + std::abs(got[1] - a[1]);
  }
  EXPECT_GT(moved, 0.0) << "the flip test changed nothing";
  ExpectMirrorEquivariant(f[0], f[1], 192, 1e-3, "movenet");
}

TEST(MoveNetImport, BadInput) {
  const std::string dir = test::ScratchDir("movenet_bad");
  EXPECT_THROW(ImportMoveNet(dir + "/missing", dir + "/m.rpm"), IoError);
  test::WriteText(dir + "/model.json", "{not json");
  try {
    ImportMoveNet(dir, dir + "/m.rpm");
    FAIL() << "expected IoError";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("model.json"), std::string::npos) << e.what();
  }
  // A manifest whose weight file is too short.
  test::WriteText(dir + "/model.json",
                  R"({"modelTopology": {"node": []}, "weightsManifest": [{"paths": ["w.bin"],
                  "weights": [{"name": "a", "shape": [4], "dtype": "float32"}]}]})");
  test::WriteText(dir + "/w.bin", "abc");
  try {
    ImportMoveNet(dir, dir + "/m.rpm");
    FAIL() << "expected IoError";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir + "/m.rpm"));
}

#endif  // !RIGPOSE_DETECT2D_NO_TFJS

TEST(ModelFile, NativeRoundTripAndBadFiles) {
  const std::string dir = test::ScratchDir("model_file");
  ModelInfo info;
  info.arch = "simplebaseline-r18";
  info.input_width = 64;
  info.input_height = 64;
  info.dropout = 0.2;
  info.aleatoric = true;
  CreateNativeModel(dir + "/r18.rpm", info, 7);
  const ModelInfo back = ReadModelInfo(dir + "/r18.rpm");
  EXPECT_EQ(back.arch, "simplebaseline-r18");
  EXPECT_EQ(back.input_width, 64);
  EXPECT_DOUBLE_EQ(back.dropout, 0.2);
  EXPECT_TRUE(back.aleatoric);

  // Not a torch archive at all.
  test::WriteText(dir + "/text.rpm", "hello");
  try {
    ReadModelInfo(dir + "/text.rpm");
    FAIL() << "expected IoError";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("text.rpm"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ReadModelInfo(dir + "/absent.rpm"), IoError);
  // Unknown architecture / joint count that does not match the skeleton.
  info.arch = "resnet-9000";
  EXPECT_THROW(CreateNativeModel(dir + "/bad.rpm", info, 1), UsageError);
  info.arch = "simplebaseline-r18";
  info.num_joints = 5;
  EXPECT_THROW(CreateNativeModel(dir + "/bad.rpm", info, 1), UsageError);
  EXPECT_FALSE(fs::exists(dir + "/bad.rpm"));
}

TEST(Detector, NativeNetsShapesVarianceAndBadCrops) {
  const std::string dir = test::ScratchDir("detector_native");
  for (const std::string arch : {"simplebaseline-r18", "hrnet-w32"}) {
    ModelInfo info;
    info.arch = arch;
    info.input_width = 64;
    info.input_height = 96;
    info.dropout = 0.3;
    CreateNativeModel(dir + "/" + arch + ".rpm", info, 3);
    DetectorOptions options;
    options.keep_heatmaps = true;
    options.keep_features = true;
    auto detector = KeypointDetector::Load(dir + "/" + arch + ".rpm", options);
    EXPECT_EQ(detector->heatmap_width(), 16);
    EXPECT_EQ(detector->heatmap_height(), 24);
    std::vector<uint8_t> pixels(64 * 96 * 3);
    std::mt19937 rng(1);
    for (auto& p : pixels) p = static_cast<uint8_t>(rng() & 0xff);
    const ImageU8 image{pixels.data(), 64, 96, 64 * 3, true};
    const auto result = detector->Detect({image, image, image});
    ASSERT_EQ(result.size(), 3u) << arch;
    EXPECT_EQ(result[0].heatmaps.size(), 17u * 16 * 24) << arch;
    EXPECT_FALSE(result[0].features.empty()) << arch;
    EXPECT_TRUE(result[0].variance.empty()) << arch << ": no MC passes, no aleatoric head";
    // Deterministic with dropout off (eval): identical crops give identical heatmaps.
    EXPECT_EQ(result[0].heatmaps, result[2].heatmaps) << arch;

    // MC-dropout: T passes give a non-zero variance with dropout on.
    options.mc_dropout_passes = 8;
    auto mc = KeypointDetector::Load(dir + "/" + arch + ".rpm", options);
    const auto sampled = mc->Detect({image});
    ASSERT_EQ(sampled[0].variance.size(), 17u);
    double total = 0;
    for (float v : sampled[0].variance) total += v;
    EXPECT_GT(total, 0) << arch;

    // Wrong crop size / empty crop.
    const ImageU8 wrong{pixels.data(), 96, 64, 96 * 3, true};
    EXPECT_THROW(detector->Detect({image, wrong}), InputError);
    EXPECT_THROW(detector->Detect({ImageU8{}}), InputError);
  }
  // MC-dropout on a model without dropout: usage error.
  ModelInfo plain;
  plain.input_width = plain.input_height = 64;
  CreateNativeModel(dir + "/plain.rpm", plain, 3);
  DetectorOptions mc;
  mc.mc_dropout_passes = 4;
  EXPECT_THROW(KeypointDetector::Load(dir + "/plain.rpm", mc), UsageError);
  DetectorOptions cuda;
  cuda.device = "cuda";
  if (!DetectorCudaAvailable()) {
    EXPECT_THROW(KeypointDetector::Load(dir + "/plain.rpm", cuda), UsageError);
  }
}

// A fresh native net with a 64 x 96 input at dir/name.rpm (returned), and random pixels for it.
std::string SmallNet(const std::string& dir, const std::string& name, ModelInfo info) {
  info.input_width = 64;
  info.input_height = 96;
  const std::string path = dir + "/" + name + ".rpm";
  CreateNativeModel(path, info, 5);
  return path;
}
std::vector<uint8_t> RandomPixels(int width, int height, uint32_t seed) {
  std::vector<uint8_t> pixels(static_cast<size_t>(width) * height * 3);
  std::mt19937 rng(seed);
  for (auto& v : pixels) v = static_cast<uint8_t>(rng() & 0xff);
  return pixels;
}

TEST(Detector, FlipTestAveragesUnflippedHeatmaps) {
  const std::string net = SmallNet(test::ScratchDir("detector_flip"), "net", ModelInfo{});
  const std::vector<uint8_t> pixels = RandomPixels(64, 96, 2);
  const std::vector<uint8_t> mirrored_pixels = MirrorColumns(pixels, 64, 96);
  const ImageU8 image{pixels.data(), 64, 96, 64 * 3, true};
  const ImageU8 mirrored{mirrored_pixels.data(), 64, 96, 64 * 3, true};
  DetectorOptions options;
  options.keep_heatmaps = true;
  auto plain = KeypointDetector::Load(net, options);
  options.flip_test = true;
  auto flip = KeypointDetector::Load(net, options);
  const std::vector<CropDetection> p = plain->Detect({image, mirrored});
  const std::vector<CropDetection> f = flip->Detect({image, mirrored});
  const std::vector<int> perm = GetSkeleton("coco17").FlipPermutation();
  const std::vector<float> back = UnflipHeatmaps(p[1].heatmaps.data(), 1, 17, 24, 16, perm);
  ASSERT_EQ(f[0].heatmaps.size(), back.size());
  double max_error = 0, max_change = 0;
  for (size_t k = 0; k < back.size(); ++k) {
    const double expected = 0.5 * (p[0].heatmaps[k] + back[k]);
    max_error = std::max(max_error, std::abs(f[0].heatmaps[k] - expected));
    max_change = std::max(max_change, std::abs(double{f[0].heatmaps[k]} - p[0].heatmaps[k]));
  }
  EXPECT_LE(max_error, 1e-5);
  EXPECT_GT(max_change, 1e-4) << "the flip test changed nothing";
  ExpectMirrorEquivariant(f[0], f[1], 64, 1e-3, "simplebaseline");
}

// The channel order of each crop is honoured whether a call holds BGR crops only (flipped to RGB
// on the device), RGB only, or both (flipped one by one on the host), and padded rows (stride >
// 3 * width) are read row by row.
TEST(Detector, ChannelOrderAndRowStride) {
  const std::string net = SmallNet(test::ScratchDir("detector_channels"), "net", ModelInfo{});
  const int W = 64, H = 96;
  const std::vector<uint8_t> bgr = RandomPixels(W, H, 3);
  std::vector<uint8_t> rgb = bgr;
  for (size_t p = 0; p < rgb.size(); p += 3) std::swap(rgb[p], rgb[p + 2]);
  const int64_t padded_stride = W * 3 + 5;
  std::vector<uint8_t> padded(static_cast<size_t>(padded_stride) * H, 77);
  for (int y = 0; y < H; ++y) std::memcpy(&padded[y * padded_stride], &bgr[y * W * 3], W * 3);
  const ImageU8 as_bgr{bgr.data(), W, H, W * 3, true};
  const ImageU8 as_rgb{rgb.data(), W, H, W * 3, false};
  const ImageU8 as_padded{padded.data(), W, H, padded_stride, true};
  const ImageU8 wrong_order{bgr.data(), W, H, W * 3, false};  // BGR bytes labelled RGB
  DetectorOptions options;
  options.keep_heatmaps = true;
  auto detector = KeypointDetector::Load(net, options);
  const std::vector<float> reference = detector->Detect({as_bgr})[0].heatmaps;
  const auto max_diff = [&](const std::vector<float>& h) {
    double m = 0;
    for (size_t k = 0; k < h.size(); ++k) m = std::max(m, std::abs(double{h[k]} - reference[k]));
    return m;
  };
  EXPECT_LE(max_diff(detector->Detect({as_rgb})[0].heatmaps), 1e-6);
  EXPECT_LE(max_diff(detector->Detect({as_padded})[0].heatmaps), 1e-6);
  const std::vector<CropDetection> mixed = detector->Detect({as_rgb, as_bgr, as_padded});
  for (const CropDetection& d : mixed) EXPECT_LE(max_diff(d.heatmaps), 1e-6);
  EXPECT_GT(max_diff(detector->Detect({wrong_order})[0].heatmaps), 1e-4)
      << "the channel order does not reach the net";
}

// MC dropout draws only the head per pass (detect2d/nets.h ForwardSamples, one trunk pass):
// the passes share the trunk's features and average to the plain heatmaps (the head after
// dropout is linear and inverted dropout keeps its mean), and they do differ (variance > 0).
TEST(Detector, McDropoutPassesAverageToThePlainHeatmaps) {
  const std::string dir = test::ScratchDir("detector_mc");
  for (const std::string arch : {"simplebaseline-mini", "hrnet-w32"}) {
    SCOPED_TRACE(arch);
    ModelInfo info;
    info.arch = arch;
    info.dropout = 0.3;
    const std::string net = SmallNet(dir, arch, info);
    const std::vector<uint8_t> pixels = RandomPixels(64, 96, 4);
    const ImageU8 image{pixels.data(), 64, 96, 64 * 3, true};
    DetectorOptions options;
    options.keep_heatmaps = true;
    options.keep_features = true;
    const CropDetection plain = KeypointDetector::Load(net, options)->Detect({image})[0];
    options.mc_dropout_passes = 2;
    const CropDetection two = KeypointDetector::Load(net, options)->Detect({image})[0];
    options.mc_dropout_passes = 400;
    const CropDetection many = KeypointDetector::Load(net, options)->Detect({image})[0];
    ASSERT_EQ(many.heatmaps.size(), plain.heatmaps.size());
    ASSERT_EQ(many.features, plain.features);
    double mean_error_400 = 0, mean_error_2 = 0;
    for (size_t k = 0; k < plain.heatmaps.size(); ++k) {
      mean_error_400 += std::abs(double{many.heatmaps[k]} - plain.heatmaps[k]);
      mean_error_2 += std::abs(double{two.heatmaps[k]} - plain.heatmaps[k]);
    }
    // Averaging 200 times more draws shrinks the error ~sqrt(200) = 14x; ask for 4x.
    EXPECT_GT(mean_error_2, 0.0) << "dropout inactive";
    EXPECT_LT(mean_error_400, 0.25 * mean_error_2)
        << "mean of 400 passes " << mean_error_400 << ", of 2 passes " << mean_error_2;
    ASSERT_EQ(many.variance.size(), 17u);
    for (const float v : many.variance) EXPECT_GE(v, 0.f);
  }
}

// Scripts a model with Debian's python3-torch. Returns false when that Python is unavailable.
bool ScriptModel(const std::string& path, int out_joints, int stride) {
  const std::string script = test::ScratchDir("script_py") + "/make.py";
  test::WriteText(script,
                  "import sys, torch\n"
                  "class M(torch.nn.Module):\n"
                  "    def __init__(self):\n"
                  "        super().__init__()\n"
                  "        self.c = torch.nn.Conv2d(3, " +
                      std::to_string(out_joints) + ", 3, stride=" + std::to_string(stride) +
                      ", padding=1)\n"
                      "    def forward(self, x):\n"
                      "        return torch.sigmoid(self.c(x))\n"
                      "torch.manual_seed(0)\n"
                      "torch.jit.save(torch.jit.script(M().eval()), sys.argv[1])\n");
  const std::string command = "/usr/bin/python3 " + script + " " + path + " 2>&1";
  return std::system(command.c_str()) == 0 && fs::exists(path);
}

TEST(TorchScriptImport, ScriptedByPythonAndContract) {
  if (!fs::exists("/usr/bin/python3")) GTEST_SKIP() << "no /usr/bin/python3";
  const std::string dir = test::ScratchDir("torchscript");
  if (!ScriptModel(dir + "/good.pt", 17, 4)) GTEST_SKIP() << "python3-torch not usable";
  ModelInfo info;
  info.input_width = 48;
  info.input_height = 64;
  const ModelInfo imported = ImportTorchScript(dir + "/good.pt", dir + "/good.rpm", info);
  EXPECT_EQ(imported.kind, "torchscript");
  EXPECT_EQ(ReadModelInfo(dir + "/good.rpm").input_height, 64);

  // A raw TorchScript file is refused by the detector with a hint to import it.
  try {
    ReadModelInfo(dir + "/good.pt");
    FAIL() << "expected IoError";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("model import torchscript"), std::string::npos)
        << e.what();
  }

  DetectorOptions options;
  auto detector = KeypointDetector::Load(dir + "/good.rpm", options);
  std::vector<uint8_t> pixels(48 * 64 * 3, 128);
  const auto result = detector->Detect({ImageU8{pixels.data(), 48, 64, 48 * 3, true}});
  ASSERT_EQ(result[0].keypoints.size(), 17u * 3);
  for (int j = 0; j < 17; ++j) {
    EXPECT_GT(result[0].keypoints[3 * j + 2], 0.f);
    EXPECT_GE(result[0].keypoints[3 * j], -0.5f);
    EXPECT_LE(result[0].keypoints[3 * j], 47.5f);
  }

  // Contract violations: wrong joint count, wrong stride.
  ASSERT_TRUE(ScriptModel(dir + "/j5.pt", 5, 4));
  try {
    ImportTorchScript(dir + "/j5.pt", dir + "/j5.rpm", info);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("heatmap contract"), std::string::npos) << e.what();
  }
  ASSERT_TRUE(ScriptModel(dir + "/s2.pt", 17, 2));
  EXPECT_THROW(ImportTorchScript(dir + "/s2.pt", dir + "/s2.rpm", info), InputError);
  EXPECT_FALSE(fs::exists(dir + "/j5.rpm"));
  EXPECT_FALSE(fs::exists(dir + "/s2.rpm"));
  // Not TorchScript at all.
  test::WriteText(dir + "/junk.pt", "junk");
  EXPECT_THROW(ImportTorchScript(dir + "/junk.pt", dir + "/junk.rpm", info), IoError);
}

}  // namespace
}  // namespace rigpose

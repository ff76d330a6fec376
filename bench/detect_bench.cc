// SPDX-License-Identifier: BSD-3-Clause
// Detector throughput: KeypointDetector::Detect (uint8 crops -> normalise -> net -> heatmaps to
// host -> decoded keypoints) on batches of random crops of the model's input size. A plain
// program (no Google Benchmark, no OpenCV/JSON libraries) so it builds in RIGPOSE_MINIMAL mode
// on the GPU machine. bench/detect_vs_pytorch.sh runs it against PyTorch eager on the same
// weights (bench/detect_vs_pytorch.py).
//
//   detect_bench --model FILE | --arch hrnet-w32 [--save-model FILE] [--device cpu|cuda]
//                [--fp16 0|1] [--channels-last 0|1] [--batch 32] [--iters 20] [--warmup 3]
//                [--threads 0] [--dump-heatmaps OUT.bin] [--dump-crops 4]
//                [--dropout P --mc-dropout T]
//
// --arch creates a fresh native model (seed 1) in a temporary file, or in --save-model FILE
// (kept, so a second program can load the same weights). --dump-heatmaps runs --dump-crops
// deterministic crops with keep_heatmaps and writes their heatmaps as raw float32
// [crops][J][H/stride][W/stride] (little-endian); crop b, pixel (x, y), byte c of the BGR triple
// is (x * 7 + y * 13 + c * 29 + b * 31) % 256. --mc-dropout T times Detect with T stochastic
// passes per crop (DetectorOptions::mc_dropout_passes, the Bayesian score of `rigpose select`;
// needs a net with dropout: --dropout P with --arch): crops/s is then crops scored per second.
// Output: a human-readable summary, then one line of JSON starting with {"bench": "detect".
// Exit codes: 0 ok, 1 runtime error, 2 bad usage.
#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "detect2d/detector.h"
#include "detect2d/model.h"

namespace rigpose {
namespace {

namespace fs = std::filesystem;

struct BenchOptions {
  std::string model_path;
  std::string arch;
  std::string save_model;
  std::string device = "cpu";
  bool fp16 = true;
  bool channels_last = true;
  int batch = 32;
  int iters = 20;
  int warmup = 3;
  int threads = 0;
  std::string dump_heatmaps;
  int dump_crops = 4;
  double dropout = 0;  // --arch only: the fresh net's MC-dropout probability
  int mc_dropout = 0;  // T >= 2: T stochastic passes per crop (active learning's scoring)
};

constexpr const char* kUsage =
    "usage: detect_bench --model FILE | --arch ARCH [--save-model FILE] [--device cpu|cuda[:N]]\n"
    "                    [--fp16 0|1] [--channels-last 0|1] [--batch N] [--iters N]\n"
    "                    [--warmup N] [--threads N] [--dump-heatmaps OUT.bin] [--dump-crops N]\n"
    "                    [--dropout P --mc-dropout T]\n"
    "  ARCH: simplebaseline-r18 | simplebaseline-r50 | simplebaseline-mini | hrnet-w32 (fresh "
    "weights, seed 1)\n";

int ParseInt(const std::string& flag, const std::string& value) {
  try {
    size_t used = 0;
    const int v = std::stoi(value, &used);
    if (used == value.size()) return v;
  } catch (const std::exception&) {
  }
  throw UsageError(flag + ": expected an integer, got '" + value + "'");
}

bool ParseBool(const std::string& flag, const std::string& value) {
  if (value == "1" || value == "true" || value == "on") return true;
  if (value == "0" || value == "false" || value == "off") return false;
  throw UsageError(flag + ": expected 0 or 1, got '" + value + "'");
}

BenchOptions ParseArgs(int argc, char** argv) {
  BenchOptions o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    if (i + 1 >= argc) throw UsageError(flag + ": missing value (or unknown flag)");
    const std::string value = argv[++i];
    if (flag == "--model") {
      o.model_path = value;
    } else if (flag == "--arch") {
      o.arch = value;
    } else if (flag == "--save-model") {
      o.save_model = value;
    } else if (flag == "--device") {
      o.device = value;
    } else if (flag == "--fp16") {
      o.fp16 = ParseBool(flag, value);
    } else if (flag == "--channels-last") {
      o.channels_last = ParseBool(flag, value);
    } else if (flag == "--batch") {
      o.batch = ParseInt(flag, value);
    } else if (flag == "--iters") {
      o.iters = ParseInt(flag, value);
    } else if (flag == "--warmup") {
      o.warmup = ParseInt(flag, value);
    } else if (flag == "--threads") {
      o.threads = ParseInt(flag, value);
    } else if (flag == "--dump-heatmaps") {
      o.dump_heatmaps = value;
    } else if (flag == "--dump-crops") {
      o.dump_crops = ParseInt(flag, value);
    } else if (flag == "--dropout") {
      try {
        o.dropout = std::stod(value);
      } catch (const std::exception&) {
        throw UsageError(flag + ": expected a number, got '" + value + "'");
      }
    } else if (flag == "--mc-dropout") {
      o.mc_dropout = ParseInt(flag, value);
    } else {
      throw UsageError("unknown flag '" + flag + "'");
    }
  }
  std::vector<std::string> problems;
  if (o.model_path.empty() == o.arch.empty()) problems.push_back("give --model or --arch");
  if (!o.save_model.empty() && o.arch.empty()) problems.push_back("--save-model needs --arch");
  if (o.batch < 1) problems.push_back("--batch must be >= 1");
  if (o.iters < 1) problems.push_back("--iters must be >= 1");
  if (o.warmup < 0) problems.push_back("--warmup must be >= 0");
  if (o.threads < 0) problems.push_back("--threads must be >= 0");
  if (o.dump_crops < 1) problems.push_back("--dump-crops must be >= 1");
  if (!(o.dropout >= 0 && o.dropout < 1)) problems.push_back("--dropout must be in [0, 1)");
  if (o.dropout > 0 && o.arch.empty()) problems.push_back("--dropout needs --arch");
  if (o.mc_dropout < 0 || o.mc_dropout == 1) problems.push_back("--mc-dropout must be 0 or >= 2");
  if (!problems.empty()) throw UsageError(FormatProblems("detect_bench", problems));
  return o;
}

// Crops of one contiguous HWC buffer each (BGR, as OpenCV images arrive).
struct CropBatch {
  std::vector<std::vector<uint8_t>> pixels;
  std::vector<ImageU8> images;
};

CropBatch RandomCrops(int count, int width, int height, uint32_t seed) {
  CropBatch batch;
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int b = 0; b < count; ++b) {
    std::vector<uint8_t> p(static_cast<size_t>(width) * height * 3);
    for (uint8_t& v : p) v = static_cast<uint8_t>(byte(rng));
    batch.pixels.push_back(std::move(p));
  }
  for (const auto& p : batch.pixels) {
    batch.images.push_back(ImageU8{p.data(), width, height, int64_t{3} * width, true});
  }
  return batch;
}

// The fixed input of the equivalence check (see the file comment; bench/detect_vs_pytorch.py).
CropBatch PatternCrops(int count, int width, int height) {
  CropBatch batch;
  for (int b = 0; b < count; ++b) {
    std::vector<uint8_t> p(static_cast<size_t>(width) * height * 3);
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < width; ++x) {
        for (int c = 0; c < 3; ++c) {
          p[(static_cast<size_t>(y) * width + x) * 3 + c] =
              static_cast<uint8_t>((x * 7 + y * 13 + c * 29 + b * 31) % 256);
        }
      }
    }
    batch.pixels.push_back(std::move(p));
  }
  for (const auto& p : batch.pixels) {
    batch.images.push_back(ImageU8{p.data(), width, height, int64_t{3} * width, true});
  }
  return batch;
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (const char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", ch);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

int Run(const BenchOptions& o) {
  // The model: the given file, or a fresh native net (seed 1) of --arch.
  std::string model_path = o.model_path;
  std::string temp_model;
  if (!o.arch.empty()) {
    ModelInfo info;
    info.arch = o.arch;
    info.source = "detect_bench: fresh weights, seed 1";
    info.dropout = o.dropout;
    if (o.save_model.empty()) {
      temp_model = (fs::temp_directory_path() /
                    ("detect_bench_" + std::to_string(::getpid()) + "_" + o.arch + ".rpm"))
                       .string();
    }
    model_path = o.save_model.empty() ? temp_model : o.save_model;
    CreateNativeModel(model_path, info, 1);
  }
  struct RemoveTemp {
    std::string path;
    ~RemoveTemp() {
      std::error_code ignored;
      if (!path.empty()) fs::remove(path, ignored);
    }
  } remove_temp{temp_model};

  DetectorOptions options;
  options.device = o.device;
  options.fp16 = o.fp16;
  options.channels_last = o.channels_last;
  options.batch_size = o.batch;
  options.num_threads = o.threads;
  options.mc_dropout_passes = o.mc_dropout;
  const auto load_start = std::chrono::steady_clock::now();
  auto detector = KeypointDetector::Load(model_path, options);
  const double load_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  const ModelInfo& info = detector->info();
  const int W = info.input_width, H = info.input_height;
  const int threads = o.threads > 0
                          ? o.threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const bool on_cuda = detector->device().rfind("cuda", 0) == 0;
  const bool half = on_cuda && o.fp16;
  const std::string layout = on_cuda ? (o.channels_last ? ", channels_last" : "")
                                     : ", " + std::to_string(threads) + " threads";
  std::printf(
      "detect_bench: %s (%s), %dx%d input, %d joints, device %s, %s, batch %d%s%s\n",
      info.arch.c_str(),
      model_path.c_str(),
      W,
      H,
      info.num_joints,
      detector->device().c_str(),
      half ? "fp16" : "fp32",
      o.batch,
      layout.c_str(),
      o.mc_dropout > 1 ? (", MC dropout " + std::to_string(o.mc_dropout) + " passes").c_str() : "");

  // Equivalence input first (so the dump exists even if timing is interrupted).
  float heatmap_max_abs = 0;
  if (!o.dump_heatmaps.empty()) {
    DetectorOptions dump_options = options;
    dump_options.keep_heatmaps = true;
    dump_options.mc_dropout_passes = 0;  // deterministic heatmaps for the equivalence check
    auto dumper = KeypointDetector::Load(model_path, dump_options);
    const CropBatch pattern = PatternCrops(o.dump_crops, W, H);
    const std::vector<CropDetection> detections = dumper->Detect(pattern.images);
    std::ofstream out(o.dump_heatmaps, std::ios::binary);
    if (!out) throw IoError(o.dump_heatmaps + ": cannot write");
    for (const CropDetection& d : detections) {
      for (float v : d.heatmaps) heatmap_max_abs = std::max(heatmap_max_abs, std::abs(v));
      out.write(reinterpret_cast<const char*>(d.heatmaps.data()),
                static_cast<std::streamsize>(d.heatmaps.size() * sizeof(float)));
    }
    if (!out) throw IoError(o.dump_heatmaps + ": write failed");
    std::printf("heatmaps of %d pattern crops [%d][%d][%d] -> %s (max |value| %.4g)\n",
                o.dump_crops,
                info.num_joints,
                dumper->heatmap_height(),
                dumper->heatmap_width(),
                o.dump_heatmaps.c_str(),
                heatmap_max_abs);
  }

  const CropBatch crops = RandomCrops(o.batch, W, H, 12345);
  for (int i = 0; i < o.warmup; ++i) detector->Detect(crops.images);
  std::vector<double> ms;
  double keypoint_checksum = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < o.iters; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<CropDetection> detections = detector->Detect(crops.images);
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    for (const CropDetection& d : detections) keypoint_checksum += d.keypoints[2];
  }
  const double total_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  const double mean_ms = total_s * 1000.0 / o.iters;
  const double median_ms = sorted[sorted.size() / 2];
  const double min_ms = sorted.front();
  const double crops_per_s = static_cast<double>(o.batch) * o.iters / total_s;
  std::printf(
      "%d iterations (+%d warm-up) of %d crops: %.2f ms/batch mean, %.2f median, %.2f min\n",
      o.iters,
      o.warmup,
      o.batch,
      mean_ms,
      median_ms,
      min_ms);
  std::printf("throughput: %.1f crops/s (load %.2f s, score checksum %.6g)\n",
              crops_per_s,
              load_s,
              keypoint_checksum);

  std::ostringstream json;
  json.precision(6);
  json << "{\"bench\": \"detect\", \"arch\": " << JsonString(info.arch)
       << ", \"device\": " << JsonString(detector->device())
       << ", \"dtype\": " << JsonString(half ? "fp16" : "fp32")
       << ", \"mc_dropout\": " << o.mc_dropout << ", \"dropout\": " << info.dropout
       << ", \"channels_last\": " << (on_cuda && o.channels_last ? "true" : "false")
       << ", \"threads\": " << (on_cuda ? 0 : threads) << ", \"batch\": " << o.batch
       << ", \"iters\": " << o.iters << ", \"warmup\": " << o.warmup << ", \"input_width\": " << W
       << ", \"input_height\": " << H << ", \"num_joints\": " << info.num_joints
       << ", \"crops_per_s\": " << crops_per_s << ", \"ms_per_batch_mean\": " << mean_ms
       << ", \"ms_per_batch_median\": " << median_ms << ", \"ms_per_batch_min\": " << min_ms
       << ", \"load_s\": " << load_s << ", \"heatmaps\": " << JsonString(o.dump_heatmaps)
       << ", \"dump_crops\": " << (o.dump_heatmaps.empty() ? 0 : o.dump_crops)
       << ", \"model\": " << JsonString(o.arch.empty() || !o.save_model.empty() ? model_path : "")
       << "}";
  std::printf("%s\n", json.str().c_str());
  return 0;
}

}  // namespace
}  // namespace rigpose

int main(int argc, char** argv) {
  rigpose::BenchOptions options;
  try {
    options = rigpose::ParseArgs(argc, argv);
  } catch (const rigpose::UsageError& e) {
    std::fprintf(stderr, "detect_bench: %s\n%s", e.what(), rigpose::kUsage);
    return 2;
  }
  try {
    return rigpose::Run(options);
  } catch (const rigpose::UsageError& e) {
    std::fprintf(stderr, "detect_bench: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "detect_bench: %s\n", e.what());
    return 1;
  }
}

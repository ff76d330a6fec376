// SPDX-License-Identifier: BSD-3-Clause
// GPU triangulation throughput: the batched weighted-DLT kernel (TriangulateNormalisedCudaAsync,
// data already on the device, timed with CUDA events), the host API with its copies
// (TriangulateNormalisedCuda) and the CPU float kernel on all cores, on one synthetic capture
// per view count, with the CUDA-vs-CPU equivalence and the error against the ground truth.
// A plain program (no Google Benchmark, no OpenCV): it builds in RIGPOSE_MINIMAL mode on the GPU
// machine. bench/triangulate_gpu.sh runs it and the PyTorch batched-SVD baseline
// (bench/triangulate_gpu_vs_torch.py) on the same files and prints the ratios.
//
//   triangulate_gpu_bench [--views 4,8,16,32] [--joints 16777216] [--max-obs 268435456]
//                         [--iters 20] [--cpu-joints 1048576] [--threads 0] [--seed 1]
//                         [--dump DIR] [--dump-joints 1048576] [--json OUT]
//
// Capture: V cameras on a ring of radius 5 m (heights 1.5-2.5 m) looking at the centre, joints
// uniform in a 2 x 2 x 2 m box, 17 joints per frame, normalised observations with sigma = 2 px at
// f = 1000 px, scores uniform in [0.3, 1], 2 % of observations missing (score 0). Per V the
// joint count is min(--joints, --max-obs / V) rounded down to whole frames. --dump writes the
// first --dump-joints joints as raw little-endian float32 files for the PyTorch baseline:
// obs_vV.f32 [F][V][17][3], poses_vV.f32 [V][12], ours_vV.f32 [F][17][4] (the CUDA output),
// gt_vV.f32 [F][17][3].
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "triangulate/dlt.h"

namespace {

constexpr int kJoints = 17;

struct Options {
  std::vector<int> views = {4, 8, 16, 32};
  int64_t joints = int64_t{1} << 24;
  int64_t max_obs = int64_t{1} << 28;
  int iters = 20;
  int64_t cpu_joints = int64_t{1} << 20;
  int threads = 0;
  uint32_t seed = 1;
  std::string dump;
  int64_t dump_joints = int64_t{1} << 20;
  std::string json;
};

[[noreturn]] void Usage(const std::string& problem) {
  std::fprintf(stderr,
               "triangulate_gpu_bench: %s\n"
               "usage: triangulate_gpu_bench [--views 4,8,16,32] [--joints N] [--max-obs N]\n"
               "         [--iters N] [--cpu-joints N] [--threads N] [--seed N] [--dump DIR]\n"
               "         [--dump-joints N] [--json OUT]\n",
               problem.c_str());
  std::exit(2);
}

int64_t ParseInt(const std::string& flag, const std::string& value, int64_t min) {
  char* end = nullptr;
  const long long v = std::strtoll(value.c_str(), &end, 10);
  if (end == value.c_str() || *end != '\0' || v < min) {
    Usage(flag + " wants an integer >= " + std::to_string(min) + ", got '" + value + "'");
  }
  return v;
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") Usage("help");
    if (i + 1 >= argc) Usage(flag + " needs a value");
    const std::string value = argv[++i];
    if (flag == "--views") {
      o.views.clear();
      std::stringstream list(value);
      std::string item;
      while (std::getline(list, item, ',')) {
        o.views.push_back(static_cast<int>(ParseInt(flag, item, 2)));
      }
      if (o.views.empty()) Usage("--views is empty");
    } else if (flag == "--joints") {
      o.joints = ParseInt(flag, value, kJoints);
    } else if (flag == "--max-obs") {
      o.max_obs = ParseInt(flag, value, kJoints * 2);
    } else if (flag == "--iters") {
      o.iters = static_cast<int>(ParseInt(flag, value, 1));
    } else if (flag == "--cpu-joints") {
      o.cpu_joints = ParseInt(flag, value, kJoints);
    } else if (flag == "--threads") {
      o.threads = static_cast<int>(ParseInt(flag, value, 0));
    } else if (flag == "--seed") {
      o.seed = static_cast<uint32_t>(ParseInt(flag, value, 0));
    } else if (flag == "--dump") {
      o.dump = value;
    } else if (flag == "--dump-joints") {
      o.dump_joints = ParseInt(flag, value, kJoints);
    } else if (flag == "--json") {
      o.json = value;
    } else {
      Usage("unknown flag " + flag);
    }
  }
  return o;
}

void Check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
  }
}

template <typename T>
struct DeviceArray {
  explicit DeviceArray(size_t n) : size(n) {
    Check(cudaMalloc(&data, sizeof(T) * std::max<size_t>(n, 1)), "cudaMalloc");
  }
  ~DeviceArray() { cudaFree(data); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  T* data = nullptr;
  size_t size = 0;
};

// Runs fn(begin, end) over [0, n) on `threads` threads.
void ParallelChunks(int64_t n, int threads, const std::function<void(int64_t, int64_t)>& fn) {
  std::vector<std::thread> pool;
  const int64_t chunk = (n + threads - 1) / threads;
  for (int t = 0; t < threads; ++t) {
    const int64_t begin = std::min(n, t * chunk);
    const int64_t end = std::min(n, begin + chunk);
    pool.emplace_back(fn, begin, end);
  }
  for (auto& th : pool) th.join();
}

struct Capture {
  int num_frames = 0;
  int num_views = 0;
  std::vector<float> poses;  // [V][12]
  std::vector<float> obs;    // [F][V][J][3]
  std::vector<float> gt;     // [F][J][3]
};

Capture MakeCapture(int views, int num_frames, uint32_t seed, int threads) {
  Capture cap;
  cap.num_frames = num_frames;
  cap.num_views = views;
  cap.poses.resize(static_cast<size_t>(views) * 12);
  constexpr double kPi = 3.14159265358979323846;
  for (int v = 0; v < views; ++v) {
    const double angle = 2 * kPi * v / views;
    const double c[3] = {5 * std::cos(angle), 5 * std::sin(angle), 1.5 + (v % 3) * 0.5};
    const double target[3] = {0, 0, 1};
    double f[3] = {target[0] - c[0], target[1] - c[1], target[2] - c[2]};
    const double fn = std::sqrt(f[0] * f[0] + f[1] * f[1] + f[2] * f[2]);
    for (double& x : f) x /= fn;
    // Camera axes x right, y down, z forward (world z up): right = down_world x forward.
    double r[3] = {-f[1], f[0], 0};  // (0, 0, -1) x f
    const double rn = std::sqrt(r[0] * r[0] + r[1] * r[1]);
    for (double& x : r) x /= rn;
    const double d[3] = {
        f[1] * r[2] - f[2] * r[1], f[2] * r[0] - f[0] * r[2], f[0] * r[1] - f[1] * r[0]};
    const double* rows[3] = {r, d, f};
    for (int i = 0; i < 3; ++i) {
      double t = 0;
      for (int k = 0; k < 3; ++k) {
        cap.poses[12 * v + 4 * i + k] = static_cast<float>(rows[i][k]);
        t -= rows[i][k] * c[k];
      }
      cap.poses[12 * v + 4 * i + 3] = static_cast<float>(t);
    }
  }
  const size_t per_frame_obs = static_cast<size_t>(views) * kJoints * 3;
  cap.obs.resize(per_frame_obs * num_frames);
  cap.gt.resize(static_cast<size_t>(num_frames) * kJoints * 3);
  constexpr int64_t kBlock = 4096;  // frames per RNG stream: the result does not depend on threads
  const int64_t blocks = (num_frames + kBlock - 1) / kBlock;
  ParallelChunks(blocks, threads, [&](int64_t block_begin, int64_t block_end) {
    for (int64_t b = block_begin; b < block_end; ++b) {
      std::mt19937 rng(seed * 1000003u + static_cast<uint32_t>(b));
      std::uniform_real_distribution<float> box(-1.f, 1.f);
      std::uniform_real_distribution<float> score(0.3f, 1.f);
      std::uniform_real_distribution<float> unit(0.f, 1.f);
      std::normal_distribution<float> noise(0.f, 2.f / 1000.f);
      const int64_t end = std::min<int64_t>(num_frames, (b + 1) * kBlock);
      for (int64_t frame = b * kBlock; frame < end; ++frame) {
        for (int j = 0; j < kJoints; ++j) {
          const float X[3] = {box(rng), box(rng), 1.f + box(rng)};
          float* g = &cap.gt[(static_cast<size_t>(frame) * kJoints + j) * 3];
          for (int k = 0; k < 3; ++k) g[k] = X[k];
          for (int v = 0; v < views; ++v) {
            const float* p = &cap.poses[12 * v];
            float cam[3];
            for (int i = 0; i < 3; ++i) {
              cam[i] = p[4 * i] * X[0] + p[4 * i + 1] * X[1] + p[4 * i + 2] * X[2] + p[4 * i + 3];
            }
            float* o = &cap.obs[static_cast<size_t>(frame) * per_frame_obs +
                                (static_cast<size_t>(v) * kJoints + j) * 3];
            if (unit(rng) < 0.02f) {
              o[0] = o[1] = o[2] = 0.f;
              continue;
            }
            o[0] = cam[0] / cam[2] + noise(rng);
            o[1] = cam[1] / cam[2] + noise(rng);
            o[2] = score(rng);
          }
        }
      }
    }
  });
  return cap;
}

// Wall-clock seconds of the fastest of three calls.
double BestOf3Seconds(const std::function<void()>& fn) {
  double best = 1e30;
  for (int i = 0; i < 3; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    best = std::min(best,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

struct Accuracy {
  double mpjpe_mm = 0;
  double valid_frac = 0;
};

Accuracy ErrorAgainstGt(const std::vector<float>& points, const std::vector<float>& gt, int64_t n) {
  double sum = 0;
  int64_t valid = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* p = &points[4 * i];
    if (p[3] != 1.f) continue;
    const float* g = &gt[3 * i];
    sum += std::sqrt(double(p[0] - g[0]) * (p[0] - g[0]) + double(p[1] - g[1]) * (p[1] - g[1]) +
                     double(p[2] - g[2]) * (p[2] - g[2]));
    ++valid;
  }
  return {valid > 0 ? 1000.0 * sum / valid : NAN, n > 0 ? double(valid) / n : 0};
}

void WriteRaw(const std::string& path, const float* data, size_t count) {
  const std::string tmp = path + ".tmp";
  std::ofstream out(tmp, std::ios::binary);
  out.write(reinterpret_cast<const char*>(data),
            static_cast<std::streamsize>(sizeof(float) * count));
  out.close();
  if (!out || std::rename(tmp.c_str(), path.c_str()) != 0) {
    throw std::runtime_error(path + ": cannot write");
  }
}

int Run(const Options& o) {
  int device_count = 0;
  if (cudaGetDeviceCount(&device_count) != cudaSuccess || device_count == 0) {
    std::printf("CUDA: no device (nothing to measure)\n");
    return 0;
  }
  cudaDeviceProp prop{};
  Check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  const int threads = o.threads > 0
                          ? o.threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  std::printf("device: %s, %d SMs, %.1f GiB; CPU: %d threads\n",
              prop.name,
              prop.multiProcessorCount,
              prop.totalGlobalMem / 1073741824.0,
              threads);
  std::printf(
      "| views | joints | kernel joints/s | kernel GB/s | host API joints/s (copies) | "
      "CPU f32 joints/s (%d thr) | kernel / CPU | MPJPE mm | valid | CUDA vs CPU max |dX| m "
      "| status mismatches |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
      threads);
  std::ostringstream json;
  json << "{\"bench\": \"triangulate_gpu\", \"device\": \"" << prop.name << "\", \"rows\": [";
  bool first_row = true;

  rigpose::DltOptions options;  // weighted, min_score 0, 1 degree
  options.num_threads = threads;
  for (const int views : o.views) {
    const int64_t joints_cap = std::min(o.joints, o.max_obs / views);
    const int num_frames = static_cast<int>(joints_cap / kJoints);
    const int64_t n = int64_t{num_frames} * kJoints;
    const Capture cap = MakeCapture(views, num_frames, o.seed + views, threads);

    DeviceArray<float> d_obs(cap.obs.size());
    DeviceArray<float> d_poses(cap.poses.size());
    DeviceArray<float> d_points(static_cast<size_t>(n) * 4);
    DeviceArray<uint8_t> d_status(static_cast<size_t>(n));
    Check(cudaMemcpy(
              d_obs.data, cap.obs.data(), sizeof(float) * cap.obs.size(), cudaMemcpyHostToDevice),
          "copy obs");
    Check(cudaMemcpy(d_poses.data,
                     cap.poses.data(),
                     sizeof(float) * cap.poses.size(),
                     cudaMemcpyHostToDevice),
          "copy poses");
    auto launch = [&] {
      rigpose::TriangulateNormalisedCudaAsync(d_obs.data,
                                              d_poses.data,
                                              num_frames,
                                              views,
                                              kJoints,
                                              options,
                                              d_points.data,
                                              d_status.data);
    };
    for (int i = 0; i < 3; ++i) launch();
    Check(cudaDeviceSynchronize(), "warm-up");
    cudaEvent_t start, stop;
    Check(cudaEventCreate(&start), "event");
    Check(cudaEventCreate(&stop), "event");
    float best_ms = 1e30f;
    for (int i = 0; i < o.iters; ++i) {
      Check(cudaEventRecord(start), "record");
      launch();
      Check(cudaEventRecord(stop), "record");
      Check(cudaEventSynchronize(stop), "sync");
      float ms = 0;
      Check(cudaEventElapsedTime(&ms, start, stop), "elapsed");
      best_ms = std::min(best_ms, ms);
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    const double kernel_jps = n / (best_ms * 1e-3);
    const double bytes = double(sizeof(float)) * cap.obs.size() + double(n) * (16 + 1);
    const double kernel_gbs = bytes / (best_ms * 1e-3) / 1e9;

    std::vector<float> points(static_cast<size_t>(n) * 4);
    std::vector<uint8_t> status(static_cast<size_t>(n));
    Check(cudaMemcpy(
              points.data(), d_points.data, sizeof(float) * points.size(), cudaMemcpyDeviceToHost),
          "copy points");
    Check(cudaMemcpy(status.data(), d_status.data, status.size(), cudaMemcpyDeviceToHost),
          "copy status");
    const Accuracy accuracy = ErrorAgainstGt(points, cap.gt, n);

    // Host API: pageable host arrays in and out, device allocations included (best of 3).
    std::vector<float> host_points(static_cast<size_t>(n) * 4);
    std::vector<uint8_t> host_status(static_cast<size_t>(n));
    const double host_best_s = BestOf3Seconds([&] {
      rigpose::TriangulateNormalisedCuda(cap.obs.data(),
                                         cap.poses.data(),
                                         num_frames,
                                         views,
                                         kJoints,
                                         options,
                                         host_points.data(),
                                         host_status.data());
    });
    const bool host_equal = host_points == points && host_status == status;

    // CPU float kernel on the first cpu_joints (whole frames), all threads; equivalence there.
    const int cpu_frames = static_cast<int>(std::min<int64_t>(num_frames, o.cpu_joints / kJoints));
    const int64_t cpu_n = int64_t{cpu_frames} * kJoints;
    std::vector<float> cpu_points(static_cast<size_t>(cpu_n) * 4);
    std::vector<uint8_t> cpu_status(static_cast<size_t>(cpu_n));
    const double cpu_best_s = BestOf3Seconds([&] {
      rigpose::TriangulateNormalisedCpu(cap.obs.data(),
                                        cap.poses.data(),
                                        cpu_frames,
                                        views,
                                        kJoints,
                                        options,
                                        cpu_points.data(),
                                        cpu_status.data());
    });
    int64_t mismatches = 0;
    double max_diff = 0;
    for (int64_t i = 0; i < cpu_n; ++i) {
      if (cpu_status[i] != status[i]) {
        ++mismatches;
        continue;
      }
      for (int k = 0; k < 3; ++k) {
        max_diff = std::max(max_diff, double(std::abs(cpu_points[4 * i + k] - points[4 * i + k])));
      }
    }
    const double cpu_jps = cpu_n / cpu_best_s;
    const double host_jps = n / host_best_s;
    std::printf("| %d | %lld | %.3g | %.0f | %.3g%s | %.3g | %.0fx | %.2f | %.4f | %.2g | %lld |\n",
                views,
                static_cast<long long>(n),
                kernel_jps,
                kernel_gbs,
                host_jps,
                host_equal ? "" : " (differs!)",
                cpu_jps,
                kernel_jps / cpu_jps,
                accuracy.mpjpe_mm,
                accuracy.valid_frac,
                max_diff,
                static_cast<long long>(mismatches));
    std::fflush(stdout);
    json << (first_row ? "" : ", ") << "{\"views\": " << views << ", \"joints\": " << n
         << ", \"kernel_ms\": " << best_ms << ", \"kernel_joints_per_s\": " << kernel_jps
         << ", \"kernel_gb_per_s\": " << kernel_gbs << ", \"host_api_joints_per_s\": " << host_jps
         << ", \"host_api_equal\": " << (host_equal ? "true" : "false")
         << ", \"cpu_threads\": " << threads << ", \"cpu_joints\": " << cpu_n
         << ", \"cpu_joints_per_s\": " << cpu_jps << ", \"mpjpe_mm\": " << accuracy.mpjpe_mm
         << ", \"valid_frac\": " << accuracy.valid_frac
         << ", \"cuda_vs_cpu_max_abs_m\": " << max_diff << ", \"status_mismatches\": " << mismatches
         << "}";
    first_row = false;

    if (!o.dump.empty()) {
      const int dump_frames =
          static_cast<int>(std::min<int64_t>(num_frames, o.dump_joints / kJoints));
      const std::string v = std::to_string(views);
      WriteRaw(o.dump + "/obs_v" + v + ".f32",
               cap.obs.data(),
               static_cast<size_t>(dump_frames) * views * kJoints * 3);
      WriteRaw(o.dump + "/poses_v" + v + ".f32", cap.poses.data(), cap.poses.size());
      WriteRaw(o.dump + "/ours_v" + v + ".f32",
               points.data(),
               static_cast<size_t>(dump_frames) * kJoints * 4);
      WriteRaw(o.dump + "/gt_v" + v + ".f32",
               cap.gt.data(),
               static_cast<size_t>(dump_frames) * kJoints * 3);
    }
  }
  json << "]}";
  std::printf("%s\n", json.str().c_str());
  if (!o.json.empty()) {
    const std::string tmp = o.json + ".tmp";
    std::ofstream out(tmp);
    out << json.str() << "\n";
    out.close();
    if (!out || std::rename(tmp.c_str(), o.json.c_str()) != 0) {
      throw std::runtime_error(o.json + ": cannot write");
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(ParseArgs(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "triangulate_gpu_bench: %s\n", e.what());
    return 1;
  }
}

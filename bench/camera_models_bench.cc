// SPDX-License-Identifier: BSD-3-Clause
// Camera model throughput (points/s) per model: projection, iterative unprojection, and the
// batched float projection kernel (CPU; CUDA when a device is present). Correctness is reported
// next to speed: the worst round-trip error (px) of each unprojection run.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>
#include <vector>

#include "core/camera.h"
#include "triangulate/project_points.h"

namespace rigpose {
namespace {

Camera BenchCamera(CameraModelId model) {
  Camera c;
  c.name = "bench";
  c.model_id = model;
  c.width = 1920;
  c.height = 1080;
  if (model == CameraModelId::kPinhole) c.params = {1500, 1500, 960, 540};
  if (model == CameraModelId::kOpenCV)
    c.params = {1500, 1500, 960, 540, -0.3, 0.1, 1e-3, -1e-3, -0.02};
  if (model == CameraModelId::kOpenCVFisheye)
    c.params = {900, 900, 960, 540, 0.05, -0.01, 0.002, -5e-4};
  c.cam_from_world =
      Rigid3d::FromRodrigues(Eigen::Vector3d(0.1, 0.2, 0.0), Eigen::Vector3d(0, 0, 4));
  return c;
}

std::vector<Eigen::Vector2d> Pixels(const Camera& c, int n) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<double> ux(0, c.width - 1.0);
  std::uniform_real_distribution<double> uy(0, c.height - 1.0);
  std::vector<Eigen::Vector2d> out(n);
  for (auto& p : out) p = Eigen::Vector2d(ux(rng), uy(rng));
  return out;
}

void BM_Project(benchmark::State& state) {
  const Camera camera = BenchCamera(static_cast<CameraModelId>(state.range(0)));
  std::vector<Eigen::Vector3d> points;
  for (const auto& px : Pixels(camera, 4096)) {
    UndistortStatus s;
    points.push_back(3.0 * Eigen::Vector3d(camera.CamFromImg(px, &s).homogeneous()));
  }
  for (auto _ : state) {
    for (const auto& p : points) benchmark::DoNotOptimize(camera.ImgFromCam(p));
  }
  state.SetItemsProcessed(state.iterations() * points.size());
  state.SetLabel(CameraModelName(camera.model_id));
}

void BM_Unproject(benchmark::State& state) {
  const Camera camera = BenchCamera(static_cast<CameraModelId>(state.range(0)));
  const std::vector<Eigen::Vector2d> pixels = Pixels(camera, 4096);
  double worst_px = 0.0;  // correctness, measured outside the timed loop
  for (const auto& px : pixels) {
    UndistortStatus s;
    const Eigen::Vector2d n = camera.CamFromImg(px, &s);
    worst_px = std::max(worst_px, (*camera.ImgFromCam(n.homogeneous()) - px).norm());
  }
  for (auto _ : state) {
    for (const auto& px : pixels) {
      UndistortStatus s;
      benchmark::DoNotOptimize(camera.CamFromImg(px, &s));
    }
  }
  state.SetItemsProcessed(state.iterations() * pixels.size());
  state.counters["roundtrip_max_px"] = worst_px;
  state.SetLabel(CameraModelName(camera.model_id));
}

void BM_ProjectBatchCpuFloat(benchmark::State& state) {
  const PackedCamera camera = PackCamera(BenchCamera(CameraModelId::kOpenCV));
  const int64_t n = state.range(0);
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> points(3 * n);
  for (auto& v : points) v = u(rng);
  std::vector<float> img(2 * n);
  std::vector<uint8_t> valid(n);
  for (auto _ : state) {
    ProjectPointsCpu(camera, points.data(), n, img.data(), valid.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * n);
}

BENCHMARK(BM_Project)->Arg(0)->Arg(1)->Arg(2);
BENCHMARK(BM_Unproject)->Arg(0)->Arg(1)->Arg(2);
BENCHMARK(BM_ProjectBatchCpuFloat)->Arg(1 << 16);

}  // namespace
}  // namespace rigpose

BENCHMARK_MAIN();

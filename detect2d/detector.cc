// SPDX-License-Identifier: BSD-3-Clause
#include "detect2d/detector.h"

#include <algorithm>
#include <cstring>
#include <thread>

#include "core/error.h"
#include "core/parallel_for.h"
#include "core/skeleton.h"
#include "detect2d/heatmap_decode.h"
#include "detect2d/model_internal.h"
#include "detect2d/movenet_decode.h"

namespace rigpose {

using detect2d_internal::LoadedModel;
using detect2d_internal::NetOutput;

std::vector<std::string> DetectorOptions::Check() const {
  std::vector<std::string> problems;
  if (device != "cpu" && device.rfind("cuda", 0) != 0) {
    problems.push_back("device must be cpu, cuda or cuda:N, got '" + device + "'");
  }
  if (num_threads < 0) problems.push_back("num_threads must be >= 0");
  if (batch_size < 1) problems.push_back("batch_size must be >= 1");
  if (mc_dropout_passes < 0 || mc_dropout_passes == 1) {
    problems.push_back("mc_dropout_passes must be 0 (off) or >= 2");
  }
  for (const std::string& p : decode.Check()) problems.push_back("decode: " + p);
  return problems;
}

bool DetectorCudaAvailable() { return torch::cuda::is_available(); }

namespace {

// A device tensor as a contiguous float32 host tensor. From CUDA through page-locked memory (the
// caching host allocator reuses it across batches): one DMA copy at bus speed instead of a staged
// copy into freshly faulted pageable pages.
torch::Tensor ToHostFloat(const torch::Tensor& t) {
  if (!t.is_cuda()) return t.to(torch::kFloat32).contiguous();
  torch::Tensor host =
      torch::empty(t.sizes(), torch::TensorOptions(torch::kFloat32).pinned_memory(true));
  host.copy_(t);
  return host;
}

}  // namespace

struct KeypointDetector::Impl {
  DetectorOptions options;
  LoadedModel model;
  torch::Device device{torch::kCPU};
  bool half = false;
  int heatmap_width = 0, heatmap_height = 0;
  std::vector<int> flip_permutation;  // when options.flip_test
};

KeypointDetector::KeypointDetector(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KeypointDetector::~KeypointDetector() = default;
const ModelInfo& KeypointDetector::info() const { return impl_->model.info; }
int KeypointDetector::heatmap_width() const { return impl_->heatmap_width; }
int KeypointDetector::heatmap_height() const { return impl_->heatmap_height; }
std::string KeypointDetector::device() const { return impl_->device.str(); }

std::unique_ptr<KeypointDetector> KeypointDetector::Load(const std::string& model_path,
                                                         const DetectorOptions& options) {
  const std::vector<std::string> problems = options.Check();
  if (!problems.empty()) throw UsageError(FormatProblems("detector options", problems));
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  if (options.device != "cpu") {
    if (!torch::cuda::is_available()) {
      throw UsageError("detector: device '" + options.device +
                       "' requested but no CUDA device is available to LibTorch (this build: " +
                       std::string(TORCH_VERSION) + ")");
    }
    try {
      impl->device = torch::Device(options.device);
    } catch (const c10::Error&) {
      throw UsageError("detector: bad device '" + options.device + "'");
    }
  } else {
    torch::set_num_threads(
        options.num_threads > 0
            ? options.num_threads
            : std::max(1, static_cast<int>(std::thread::hardware_concurrency())));
  }
  impl->model = detect2d_internal::LoadModel(model_path, impl->device);
  const ModelInfo& info = impl->model.info;
  if (options.mc_dropout_passes > 1 && (info.kind != "native" || info.dropout <= 0)) {
    throw UsageError(model_path + ": MC-dropout needs a native model with dropout (this one: " +
                     info.arch + ", dropout " + std::to_string(info.dropout) + ")");
  }
  impl->half = impl->device.is_cuda() && options.fp16;
  if (impl->device.is_cuda()) {
    const auto format =
        options.channels_last ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
    if (impl->model.net) {
      if (impl->half) impl->model.net->to(torch::kHalf);
      for (auto& p : impl->model.net->parameters()) {
        if (p.dim() == 4) p.set_data(p.contiguous(format));
      }
    } else if (impl->half) {
      impl->model.script->to(torch::kHalf);
    }
  }
  if (options.flip_test) {
    const Skeleton* skeleton = FindSkeleton(info.skeleton);
    if (!skeleton || skeleton->NumJoints() != info.num_joints) {
      throw UsageError(model_path +
                       ": the flip test needs the model's left/right joint pairs, "
                       "but its skeleton '" +
                       info.skeleton + "' is not a known skeleton of " +
                       std::to_string(info.num_joints) + " joints");
    }
    impl->flip_permutation = skeleton->FlipPermutation();
  }
  impl->heatmap_width = info.input_width / info.heatmap_stride;
  impl->heatmap_height = info.input_height / info.heatmap_stride;
  return std::unique_ptr<KeypointDetector>(new KeypointDetector(std::move(impl)));
}

std::vector<CropDetection> KeypointDetector::Detect(const std::vector<ImageU8>& crops) {
  Impl& m = *impl_;
  const ModelInfo& info = m.model.info;
  const int J = info.num_joints, W = info.input_width, H = info.input_height;
  const int hw = m.heatmap_width, hh = m.heatmap_height;
  const double stride = info.heatmap_stride;
  for (size_t i = 0; i < crops.size(); ++i) {
    const ImageU8& c = crops[i];
    if (!c.data || c.width != W || c.height != H || c.stride_bytes < 3 * c.width) {
      throw InputError("detector: crop " + std::to_string(i) + " is " + std::to_string(c.width) +
                       "x" + std::to_string(c.height) + (c.data ? "" : " (empty)") +
                       ", the model expects " + std::to_string(W) + "x" + std::to_string(H));
    }
  }
  std::vector<CropDetection> results(crops.size());
  torch::NoGradGuard no_grad;
  const int passes = std::max(1, m.options.mc_dropout_passes);
  if (m.model.net) m.model.net->set_mc_dropout(passes > 1);
  const auto mean =
      torch::tensor({info.mean[0], info.mean[1], info.mean[2]}).view({1, 3, 1, 1}).to(m.device);
  const auto std =
      torch::tensor({info.std[0], info.std[1], info.std[2]}).view({1, 3, 1, 1}).to(m.device);
  // One channel order for the whole call: the flip to RGB then runs once, on the device; crops of
  // mixed order are flipped one by one on the host.
  bool all_bgr = true, all_rgb = true;
  for (const ImageU8& c : crops) (c.bgr ? all_rgb : all_bgr) = false;
  const bool mixed_order = !all_bgr && !all_rgb;
  for (size_t begin = 0; begin < crops.size(); begin += m.options.batch_size) {
    const size_t end = std::min(crops.size(), begin + m.options.batch_size);
    const int B = static_cast<int>(end - begin);
    // uint8 crops go to the device as they are (4x fewer bytes than float), gathered row by row
    // straight into page-locked memory on CUDA (one asynchronous copy, no staging); channel
    // flip, layout and normalisation run there.
    torch::Tensor raw = torch::empty(
        {B, H, W, 3}, torch::TensorOptions(torch::kUInt8).pinned_memory(m.device.is_cuda()));
    uint8_t* raw_data = raw.data_ptr<uint8_t>();
    const size_t row_bytes = static_cast<size_t>(W) * 3;
    for (int b = 0; b < B; ++b) {
      const ImageU8& c = crops[begin + b];
      uint8_t* dst = raw_data + static_cast<size_t>(b) * H * row_bytes;
      if (mixed_order && c.bgr) {
        for (int y = 0; y < H; ++y) {
          const uint8_t* src = c.data + y * c.stride_bytes;
          uint8_t* d = dst + y * row_bytes;
          for (int x = 0; x < W; ++x) {
            d[3 * x] = src[3 * x + 2];
            d[3 * x + 1] = src[3 * x + 1];
            d[3 * x + 2] = src[3 * x];
          }
        }
      } else if (c.stride_bytes == static_cast<int64_t>(row_bytes)) {
        std::memcpy(dst, c.data, row_bytes * H);
      } else {
        for (int y = 0; y < H; ++y)
          std::memcpy(dst + y * row_bytes, c.data + y * c.stride_bytes, row_bytes);
      }
    }
    torch::Tensor batch = raw.to(m.device, /*non_blocking=*/true).permute({0, 3, 1, 2});
    if (all_bgr) batch = batch.flip({1});
    batch = (batch.to(torch::kFloat32) / 255.f - mean) / std;
    if (m.device.is_cuda() && m.options.channels_last) {
      batch = batch.contiguous(torch::MemoryFormat::ChannelsLast);
    } else {
      batch = batch.contiguous();
    }
    if (m.half) batch = batch.to(torch::kHalf);

    // MC dropout: one trunk pass, `passes` draws of the dropout head (DetectorNet::ForwardSamples).
    std::vector<NetOutput> outs;
    if (passes > 1) {
      outs = detect2d_internal::RunModelSamples(m.model, batch, passes);
    } else {
      outs.push_back(detect2d_internal::RunModel(m.model, batch));
    }
    const NetOutput& out = outs.front();
    // The passes' heatmaps leave the device in one copy; their mean and the mean sigma^2 of the
    // aleatoric head are formed there.
    torch::Tensor heatmaps, pass_heatmaps;
    if (passes > 1) {
      std::vector<torch::Tensor> maps;
      for (const NetOutput& o : outs) maps.push_back(o.heatmaps);
      const torch::Tensor stacked = torch::stack(maps);  // [T, B, J, h, w]
      heatmaps = ToHostFloat(stacked.to(torch::kFloat32).mean(0));
      pass_heatmaps = ToHostFloat(stacked);
    } else {
      heatmaps = ToHostFloat(out.heatmaps);
    }
    std::vector<double> sigma2_mean(static_cast<size_t>(B) * J, 0.0);
    if (out.log_var.defined()) {
      std::vector<torch::Tensor> log_vars;
      for (const NetOutput& o : outs) log_vars.push_back(o.log_var);
      const torch::Tensor s2 =
          ToHostFloat(torch::stack(log_vars).to(torch::kFloat32).exp().mean(0));
      for (int64_t k = 0; k < B * J; ++k) {
        sigma2_mean[k] = s2.data_ptr<float>()[k] * stride * stride;
      }
    }
    // Sums over the passes of the decoded coordinates (x, y, x^2, y^2), crops spread over threads.
    std::vector<double> moments(static_cast<size_t>(B) * J * 4, 0.0);
    if (passes > 1) {
      const float* all = pass_heatmaps.data_ptr<float>();
      const size_t plane = static_cast<size_t>(hh) * hw;
      internal::ParallelFor(
          B,
          m.options.num_threads,
          [&](int, int64_t b_begin, int64_t b_end) {
            std::vector<HeatmapPeak> peaks(J);
            for (int64_t b = b_begin; b < b_end; ++b) {
              for (int pass = 0; pass < passes; ++pass) {
                DecodeHeatmaps(all + (static_cast<size_t>(pass) * B + b) * J * plane,
                               J,
                               hh,
                               hw,
                               m.options.decode,
                               peaks.data());
                for (int j = 0; j < J; ++j) {
                  const double x = (peaks[j].x + 0.5) * stride - 0.5,
                               y = (peaks[j].y + 0.5) * stride - 0.5;
                  double* mo = &moments[(static_cast<size_t>(b) * J + j) * 4];
                  mo[0] += x;
                  mo[1] += y;
                  mo[2] += x * x;
                  mo[3] += y * y;
                }
              }
            }
          },
          /*min_items_per_thread=*/4);
    }
    const bool movenet = info.kind == "movenet";
    // The flip test's mirrored pass (input column u <-> W - 1 - u).
    torch::Tensor mirrored_heatmaps, mirrored_center, mirrored_regress, mirrored_offset;
    if (m.options.flip_test) {
      const NetOutput mirrored = detect2d_internal::RunModel(m.model, batch.flip({3}));
      mirrored_heatmaps = ToHostFloat(mirrored.heatmaps);
      if (movenet) {
        mirrored_center = ToHostFloat(mirrored.center);
        mirrored_regress = ToHostFloat(mirrored.regress);
        mirrored_offset = ToHostFloat(mirrored.offset);
      } else {
        std::vector<float> back =
            UnflipHeatmaps(mirrored_heatmaps.data_ptr<float>(), B, J, hh, hw, m.flip_permutation);
        heatmaps = 0.5f * (heatmaps + torch::from_blob(back.data(), heatmaps.sizes()));
      }
    }
    torch::Tensor center, regress, offset, features;
    if (movenet) {
      center = ToHostFloat(out.center);
      regress = ToHostFloat(out.regress);
      offset = ToHostFloat(out.offset);
    }
    if (m.options.keep_features && out.features.defined()) {
      features = ToHostFloat(out.features);
    }
    // Crop b of a host tensor [B, ...] (raw pointers: no tensor views made on the worker threads).
    const auto crop_of = [B](const torch::Tensor& t, int64_t b) {
      return t.data_ptr<float>() + b * (t.numel() / B);
    };
    // Decoding, crops spread over threads (each writes only its own results).
    internal::ParallelFor(
        B,
        m.options.num_threads,
        [&](int, int64_t b_begin, int64_t b_end) {
          for (int64_t b = b_begin; b < b_end; ++b) {
            CropDetection& r = results[begin + b];
            r.keypoints.resize(static_cast<size_t>(J) * 3);
            const float* hm = crop_of(heatmaps, b);
            if (movenet) {
              std::vector<MoveNetKeypoint> kp = DecodeMoveNet(
                  m.model.movenet, hm, crop_of(center, b), crop_of(regress, b), crop_of(offset, b));
              if (m.options.flip_test) {
                const std::vector<MoveNetKeypoint> km = DecodeMoveNet(m.model.movenet,
                                                                      crop_of(mirrored_heatmaps, b),
                                                                      crop_of(mirrored_center, b),
                                                                      crop_of(mirrored_regress, b),
                                                                      crop_of(mirrored_offset, b));
                // Normalised x' of the mirrored crop is 1 - x here; its joint perm[j] is our j.
                for (int j = 0; j < J; ++j) {
                  const MoveNetKeypoint& k = km[m.flip_permutation[j]];
                  kp[j].x = 0.5f * (kp[j].x + (1.f - k.x));
                  kp[j].y = 0.5f * (kp[j].y + k.y);
                  kp[j].score = 0.5f * (kp[j].score + k.score);
                }
              }
              for (int j = 0; j < J; ++j) {
                r.keypoints[3 * j] = kp[j].x * W - 0.5f;
                r.keypoints[3 * j + 1] = kp[j].y * H - 0.5f;
                r.keypoints[3 * j + 2] = kp[j].score;
              }
            } else {
              std::vector<HeatmapPeak> peaks(J);
              DecodeHeatmaps(hm, J, hh, hw, m.options.decode, peaks.data());
              for (int j = 0; j < J; ++j) {
                r.keypoints[3 * j] = static_cast<float>((peaks[j].x + 0.5) * stride - 0.5);
                r.keypoints[3 * j + 1] = static_cast<float>((peaks[j].y + 0.5) * stride - 0.5);
                r.keypoints[3 * j + 2] = peaks[j].score;
              }
            }
            if (passes > 1 || out.log_var.defined()) {
              r.variance.assign(J, 0.f);
              for (int j = 0; j < J; ++j) {
                const double* mo = &moments[(static_cast<size_t>(b) * J + j) * 4];
                double var = 0;
                if (passes > 1) {
                  const double mx = mo[0] / passes, my = mo[1] / passes;
                  var = 0.5 * (std::max(0.0, mo[2] / passes - mx * mx) +
                               std::max(0.0, mo[3] / passes - my * my));
                }
                var += sigma2_mean[static_cast<size_t>(b) * J + j];
                r.variance[j] = static_cast<float>(var);
              }
            }
            if (m.options.keep_heatmaps)
              r.heatmaps.assign(hm, hm + static_cast<size_t>(J) * hh * hw);
            if (features.defined()) {
              const float* f = crop_of(features, b);
              r.features.assign(f, f + features.size(1));
            }
          }
        },
        /*min_items_per_thread=*/8);
  }
  if (m.model.net) m.model.net->set_mc_dropout(false);
  return results;
}

}  // namespace rigpose

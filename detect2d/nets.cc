// SPDX-License-Identifier: BSD-3-Clause
#include "detect2d/nets.h"

#include <cmath>

#include "core/error.h"

namespace rigpose::detect2d_internal {
namespace {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

nn::Conv2d Conv(int in, int out, int k, int stride = 1, bool bias = false, int groups = 1) {
  return nn::Conv2d(
      nn::Conv2dOptions(in, out, k).stride(stride).padding(k / 2).bias(bias).groups(groups));
}
nn::BatchNorm2d BN(int channels) { return nn::BatchNorm2d(channels); }

// ---- ResNet blocks ----------------------------------------------------------------------
struct BasicBlockImpl : nn::Module {
  static constexpr int kExpansion = 1;
  BasicBlockImpl(int in, int planes, int stride) {
    conv1 = register_module("conv1", Conv(in, planes, 3, stride));
    bn1 = register_module("bn1", BN(planes));
    conv2 = register_module("conv2", Conv(planes, planes, 3));
    bn2 = register_module("bn2", BN(planes));
    if (stride != 1 || in != planes) {
      down_conv = register_module("down_conv", Conv(in, planes, 1, stride));
      down_bn = register_module("down_bn", BN(planes));
    }
  }
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor y = torch::relu(bn1(conv1(x)));
    y = bn2(conv2(y));
    return torch::relu(y + (down_conv ? down_bn(down_conv(x)) : x));
  }
  nn::Conv2d conv1{nullptr}, conv2{nullptr}, down_conv{nullptr};
  nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, down_bn{nullptr};
};
TORCH_MODULE(BasicBlock);

struct BottleneckImpl : nn::Module {
  static constexpr int kExpansion = 4;
  BottleneckImpl(int in, int planes, int stride) {
    conv1 = register_module("conv1", Conv(in, planes, 1));
    bn1 = register_module("bn1", BN(planes));
    conv2 = register_module("conv2", Conv(planes, planes, 3, stride));
    bn2 = register_module("bn2", BN(planes));
    conv3 = register_module("conv3", Conv(planes, planes * kExpansion, 1));
    bn3 = register_module("bn3", BN(planes * kExpansion));
    if (stride != 1 || in != planes * kExpansion) {
      down_conv = register_module("down_conv", Conv(in, planes * kExpansion, 1, stride));
      down_bn = register_module("down_bn", BN(planes * kExpansion));
    }
  }
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor y = torch::relu(bn1(conv1(x)));
    y = torch::relu(bn2(conv2(y)));
    y = bn3(conv3(y));
    return torch::relu(y + (down_conv ? down_bn(down_conv(x)) : x));
  }
  nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr}, down_conv{nullptr};
  nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr}, down_bn{nullptr};
};
TORCH_MODULE(Bottleneck);

// `count` blocks; the first one changes stride/width. Returns the output channel count.
template <typename Block>
int MakeLayer(nn::Sequential& seq, int in, int planes, int count, int stride) {
  seq->push_back(Block(in, planes, stride));
  const int out = planes * Block::Impl::kExpansion;
  for (int i = 1; i < count; ++i) seq->push_back(Block(out, planes, 1));
  return out;
}

// Shared tail: optional dropout, final 1x1 conv to heatmaps, optional aleatoric head.
struct HeatmapHead {
  nn::Conv2d final_conv{nullptr}, log_var_conv{nullptr};
  double dropout = 0;
  void Register(nn::Module& m, int in, const NetConfig& config) {
    dropout = config.dropout;
    final_conv = m.register_module("final_layer", Conv(in, config.num_joints, 1, 1, true));
    if (config.aleatoric) {
      log_var_conv = m.register_module("log_var_layer", Conv(in, config.num_joints, 1, 1, true));
    }
  }
  void Apply(torch::Tensor x, bool dropout_active, NetOutput* out) {
    if (dropout > 0) x = torch::dropout(x, dropout, dropout_active);
    out->heatmaps = final_conv(x);
    if (log_var_conv) out->log_var = log_var_conv(x).mean({2, 3});
  }
};

// A heatmap net: a deterministic trunk, then HeatmapHead (dropout + 1x1 convolutions). MC-dropout
// samples share one trunk pass: only the head is random.
class HeatmapNet : public DetectorNet {
 public:
  NetOutput Forward(const torch::Tensor& x) override {
    NetOutput out;
    head_.Apply(Trunk(x, &out.features), dropout_active(), &out);
    return out;
  }
  std::vector<NetOutput> ForwardSamples(const torch::Tensor& x, int samples) override {
    torch::Tensor features;
    const torch::Tensor trunk = Trunk(x, &features);
    std::vector<NetOutput> outs(std::max(samples, 1));
    for (NetOutput& out : outs) {
      out.features = features;
      head_.Apply(trunk, dropout_active(), &out);
    }
    return outs;
  }

 protected:
  // The head's input; *features = the pooled backbone features.
  virtual torch::Tensor Trunk(const torch::Tensor& x, torch::Tensor* features) = 0;
  HeatmapHead head_;
};

// ---- SimpleBaseline ---------------------------------------------------------------------
class SimpleBaseline : public HeatmapNet {
 public:
  explicit SimpleBaseline(const NetConfig& config) {
    const bool r50 = config.arch == "simplebaseline-r50";
    // mini: a quarter of ResNet-18's widths, one block per stage, 64-channel deconvolutions
    // (0.57 M parameters, ~15x fewer multiply-adds than R18): small enough to ship in the
    // repository for the synthetic domain.
    const bool mini = config.arch == "simplebaseline-mini";
    const int width = mini ? 16 : 64;
    const int deconv_channels = mini ? 64 : 256;
    conv1_ = register_module("conv1", Conv(3, width, 7, 2));
    bn1_ = register_module("bn1", BN(width));
    int in = width;
    const std::array<int, 4> counts = r50    ? std::array<int, 4>{3, 4, 6, 3}
                                      : mini ? std::array<int, 4>{1, 1, 1, 1}
                                             : std::array<int, 4>{2, 2, 2, 2};
    for (int i = 0; i < 4; ++i) {
      nn::Sequential layer;
      const int planes = width << i;
      in = r50 ? MakeLayer<Bottleneck>(layer, in, planes, counts[i], i == 0 ? 1 : 2)
               : MakeLayer<BasicBlock>(layer, in, planes, counts[i], i == 0 ? 1 : 2);
      layers_[i] = register_module("layer" + std::to_string(i + 1), layer);
    }
    feature_channels_ = in;
    for (int i = 0; i < 3; ++i) {
      deconv_->push_back(nn::ConvTranspose2d(
          nn::ConvTranspose2dOptions(in, deconv_channels, 4).stride(2).padding(1).bias(false)));
      deconv_->push_back(BN(deconv_channels));
      deconv_->push_back(nn::ReLU());
      in = deconv_channels;
    }
    register_module("deconv_layers", deconv_);
    head_.Register(*this, in, config);
  }

  torch::Tensor Trunk(const torch::Tensor& x, torch::Tensor* features) override {
    torch::Tensor y = torch::relu(bn1_(conv1_(x)));
    y = F::max_pool2d(y, F::MaxPool2dFuncOptions(3).stride(2).padding(1));
    for (auto& layer : layers_) y = layer->forward(y);
    *features = y.mean({2, 3});
    return deconv_->forward(y);
  }

 private:
  nn::Conv2d conv1_{nullptr};
  nn::BatchNorm2d bn1_{nullptr};
  std::array<nn::Sequential, 4> layers_;
  nn::Sequential deconv_;
  int feature_channels_ = 0;
};

// ---- HRNet-W32 --------------------------------------------------------------------------
// One high-resolution module: `branches` parallel streams of 4 basic blocks, then fusion
// (sum of every stream resampled to each output resolution: 1x1 conv + nearest upsampling from
// coarser streams, chains of stride-2 3x3 convs from finer ones).
struct HrModuleImpl : nn::Module {
  HrModuleImpl(const std::vector<int>& channels, int num_outputs) {
    const int n = static_cast<int>(channels.size());
    for (int b = 0; b < n; ++b) {
      nn::Sequential stream;
      MakeLayer<BasicBlock>(stream, channels[b], channels[b], 4, 1);
      branches->push_back(stream);
    }
    register_module("branches", branches);
    for (int i = 0; i < num_outputs; ++i) {
      nn::ModuleList row;
      for (int j = 0; j < n; ++j) {
        nn::Sequential f;
        if (j > i) {
          f->push_back(Conv(channels[j], channels[i], 1));
          f->push_back(BN(channels[i]));
          f->push_back(nn::Upsample(
              nn::UpsampleOptions()
                  .scale_factor(std::vector<double>{std::pow(2.0, j - i), std::pow(2.0, j - i)})
                  .mode(torch::kNearest)));
        } else if (j < i) {
          for (int k = 0; k < i - j; ++k) {
            const bool last = k == i - j - 1;
            f->push_back(Conv(channels[j], last ? channels[i] : channels[j], 3, 2));
            f->push_back(BN(last ? channels[i] : channels[j]));
            if (!last) f->push_back(nn::ReLU());
          }
        } else {
          f->push_back(nn::Identity());
        }
        row->push_back(f);
      }
      fuse->push_back(row);
    }
    register_module("fuse_layers", fuse);
  }
  std::vector<torch::Tensor> forward(std::vector<torch::Tensor> x) {
    for (size_t b = 0; b < x.size(); ++b) x[b] = branches[b]->as<nn::Sequential>()->forward(x[b]);
    std::vector<torch::Tensor> out;
    for (size_t i = 0; i < fuse->size(); ++i) {
      const auto row = fuse[i]->as<nn::ModuleList>();
      torch::Tensor y;
      for (size_t j = 0; j < x.size(); ++j) {
        const torch::Tensor t = (*row)[j]->as<nn::Sequential>()->forward(x[j]);
        y = j == 0 ? t : y + t;
      }
      out.push_back(torch::relu(y));
    }
    return out;
  }
  nn::ModuleList branches, fuse;
};
TORCH_MODULE(HrModule);

class HRNet : public HeatmapNet {
 public:
  explicit HRNet(const NetConfig& config) {
    constexpr int kWidth = 32;
    stem_->push_back(Conv(3, 64, 3, 2));
    stem_->push_back(BN(64));
    stem_->push_back(nn::ReLU());
    stem_->push_back(Conv(64, 64, 3, 2));
    stem_->push_back(BN(64));
    stem_->push_back(nn::ReLU());
    register_module("stem", stem_);
    const int layer1_out = MakeLayer<Bottleneck>(layer1_, 64, 64, 4, 1);
    register_module("layer1", layer1_);
    std::vector<int> channels = {layer1_out};
    const std::array<int, 3> modules = {1, 4, 3};
    for (int stage = 0; stage < 3; ++stage) {
      std::vector<int> next;
      for (int b = 0; b <= stage + 1; ++b) next.push_back(kWidth << b);
      // Transition: adapt existing streams' widths, add one stride-2 stream from the coarsest.
      nn::ModuleList transition;
      for (int b = 0; b < static_cast<int>(next.size()); ++b) {
        nn::Sequential t;
        if (b < static_cast<int>(channels.size())) {
          if (channels[b] != next[b]) {
            t->push_back(Conv(channels[b], next[b], 3));
            t->push_back(BN(next[b]));
            t->push_back(nn::ReLU());
          } else {
            t->push_back(nn::Identity());
          }
        } else {
          t->push_back(Conv(channels.back(), next[b], 3, 2));
          t->push_back(BN(next[b]));
          t->push_back(nn::ReLU());
        }
        transition->push_back(t);
      }
      transitions_[stage] = register_module("transition" + std::to_string(stage + 1), transition);
      nn::ModuleList stage_modules;
      for (int m = 0; m < modules[stage]; ++m) {
        const bool last = stage == 2 && m == modules[stage] - 1;
        stage_modules->push_back(HrModule(next, last ? 1 : static_cast<int>(next.size())));
      }
      stages_[stage] = register_module("stage" + std::to_string(stage + 2), stage_modules);
      channels = next;
    }
    feature_channels_ = channels.back();
    head_.Register(*this, kWidth, config);
  }

  torch::Tensor Trunk(const torch::Tensor& x, torch::Tensor* features) override {
    std::vector<torch::Tensor> streams = {layer1_->forward(stem_->forward(x))};
    for (int stage = 0; stage < 3; ++stage) {
      std::vector<torch::Tensor> next;
      auto& transition = transitions_[stage];
      for (size_t b = 0; b < transition->size(); ++b) {
        const torch::Tensor& source = b < streams.size() ? streams[b] : streams.back();
        next.push_back(transition[b]->as<nn::Sequential>()->forward(source));
      }
      if (stage == 2) *features = next.back().mean({2, 3});
      for (size_t m = 0; m < stages_[stage]->size(); ++m) {
        next = stages_[stage][m]->as<HrModule>()->forward(next);
      }
      streams = std::move(next);
    }
    return streams[0];
  }

 private:
  nn::Sequential stem_, layer1_;
  std::array<nn::ModuleList, 3> transitions_, stages_;
  int feature_channels_ = 0;
};

// ---- MoveNet (convolution DAG) -----------------------------------------------------------
class MoveNetNet : public DetectorNet {
 public:
  explicit MoveNetNet(const MoveNetSpec& spec) : spec_(spec) {
    for (size_t i = 0; i < spec.layers.size(); ++i) {
      const GraphLayer& layer = spec.layers[i];
      nn::Conv2d conv{nullptr};
      if (layer.kind == GraphLayer::Kind::kConv || layer.kind == GraphLayer::Kind::kDepthwiseConv) {
        const bool depthwise = layer.kind == GraphLayer::Kind::kDepthwiseConv;
        conv = nn::Conv2d(nn::Conv2dOptions(layer.in_channels, layer.out_channels, layer.kernel)
                              .stride(layer.stride)
                              .padding(0)
                              .groups(depthwise ? layer.in_channels : 1)
                              .bias(!layer.bias.empty()));
        torch::NoGradGuard no_grad;
        if (!layer.weight.empty()) {
          RIGPOSE_CHECK(static_cast<int64_t>(layer.weight.size()) == conv->weight.numel(),
                        layer.name << ": " << layer.weight.size() << " weights, expected "
                                   << conv->weight.numel());
          conv->weight.copy_(torch::from_blob(
              const_cast<float*>(layer.weight.data()), conv->weight.sizes(), torch::kFloat32));
        }
        if (!layer.bias.empty()) {
          conv->bias.copy_(torch::from_blob(
              const_cast<float*>(layer.bias.data()), {layer.out_channels}, torch::kFloat32));
        }
        register_module("layer" + std::to_string(i), conv);
      }
      convs_.push_back(conv);
      // Drop the weights from our copy of the spec: the parameters hold them now.
      spec_.layers[i].weight.clear();
      spec_.layers[i].weight.shrink_to_fit();
    }
  }

  NetOutput Forward(const torch::Tensor& x) override {
    std::vector<torch::Tensor> values(spec_.layers.size());
    for (size_t i = 0; i < spec_.layers.size(); ++i) {
      const GraphLayer& layer = spec_.layers[i];
      const torch::Tensor& in = layer.input < 0 ? x : values[layer.input];
      torch::Tensor y;
      switch (layer.kind) {
        case GraphLayer::Kind::kConv:
        case GraphLayer::Kind::kDepthwiseConv:
          y = convs_[i](PadSame(in, layer));
          break;
        case GraphLayer::Kind::kAdd:
          y = in + values[layer.input2];
          break;
        case GraphLayer::Kind::kUpsample:
          y = F::interpolate(in,
                             F::InterpolateFuncOptions()
                                 .scale_factor(std::vector<double>{double(layer.upsample_factor),
                                                                   double(layer.upsample_factor)})
                                 .mode(torch::kBilinear)
                                 .align_corners(false));
          break;
      }
      if (layer.activation == GraphLayer::Activation::kRelu) y = torch::relu(y);
      if (layer.activation == GraphLayer::Activation::kRelu6) y = torch::clamp(y, 0, 6);
      values[i] = y;
    }
    NetOutput out;
    out.heatmaps = torch::sigmoid(values[spec_.heatmap_layer]);
    out.center = torch::sigmoid(values[spec_.center_layer]);
    out.regress = values[spec_.regress_layer];
    out.offset = values[spec_.offset_layer];
    return out;
  }

 private:
  // TF "SAME": total padding max((ceil(n / s) - 1) * s + k - n, 0), the odd pixel after.
  static torch::Tensor PadSame(const torch::Tensor& x, const GraphLayer& layer) {
    if (!layer.pad_same || layer.kernel == 1) return x;
    auto total = [&](int64_t n) {
      const int64_t out = (n + layer.stride - 1) / layer.stride;
      return std::max<int64_t>((out - 1) * layer.stride + layer.kernel - n, 0);
    };
    const int64_t ph = total(x.size(2)), pw = total(x.size(3));
    return F::pad(x, F::PadFuncOptions({pw / 2, pw - pw / 2, ph / 2, ph - ph / 2}));
  }

  MoveNetSpec spec_;
  std::vector<nn::Conv2d> convs_;
};

}  // namespace

bool IsKnownArch(const std::string& arch) {
  return arch == "simplebaseline-r18" || arch == "simplebaseline-r50" ||
         arch == "simplebaseline-mini" || arch == "hrnet-w32";
}

std::shared_ptr<DetectorNet> MakeNet(const NetConfig& config) {
  if (config.num_joints < 1 || config.num_joints > 1000) {
    throw UsageError("detector: number of joints must be in [1, 1000], got " +
                     std::to_string(config.num_joints));
  }
  if (!(config.dropout >= 0 && config.dropout < 1)) {
    throw UsageError("detector: dropout must be in [0, 1), got " + std::to_string(config.dropout));
  }
  if (config.arch == "simplebaseline-r18" || config.arch == "simplebaseline-r50" ||
      config.arch == "simplebaseline-mini") {
    return std::make_shared<SimpleBaseline>(config);
  }
  if (config.arch == "hrnet-w32") return std::make_shared<HRNet>(config);
  throw UsageError("detector: unknown architecture '" + config.arch +
                   "' (simplebaseline-r18, simplebaseline-r50, simplebaseline-mini, hrnet-w32)");
}

std::shared_ptr<DetectorNet> MakeMoveNet(const MoveNetSpec& spec) {
  return std::make_shared<MoveNetNet>(spec);
}

}  // namespace rigpose::detect2d_internal

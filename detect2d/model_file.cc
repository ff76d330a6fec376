// SPDX-License-Identifier: BSD-3-Clause
#include <unistd.h>
#include <filesystem>
#include <sstream>

#include "core/error.h"
#include "core/skeleton.h"
#include "detect2d/model_internal.h"

namespace rigpose {
namespace {

namespace fs = std::filesystem;
using detect2d_internal::DetectorNet;
using detect2d_internal::LoadedModel;

constexpr const char* kInfoKey = "rigpose_model";
constexpr const char* kMoveNetKey = "rigpose_movenet";

std::string Trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t\r") - a + 1);
}

template <size_t N>
std::string Join(const std::array<float, N>& v) {
  std::ostringstream out;
  out.precision(9);
  for (size_t i = 0; i < N; ++i) out << (i ? ", " : "") << v[i];
  return out.str();
}

// MoveNet wiring as text: one line per layer (weights live in the parameters).
std::string MoveNetToText(const MoveNetSpec& spec) {
  std::ostringstream out;
  out.precision(9);
  out << "heads " << spec.heatmap_layer << ' ' << spec.center_layer << ' ' << spec.regress_layer
      << ' ' << spec.offset_layer << '\n'
      << "sizes " << spec.input_size << ' ' << spec.heatmap_size << '\n'
      << "norm " << spec.input_mean[0] << ' ' << spec.input_mean[1] << ' ' << spec.input_mean[2]
      << ' ' << spec.input_scale[0] << ' ' << spec.input_scale[1] << ' ' << spec.input_scale[2]
      << ' ' << spec.input_shift << '\n'
      << "decode " << spec.distance_bias << ' ' << spec.output_scale << '\n';
  for (const GraphLayer& l : spec.layers) {
    out << "layer " << static_cast<int>(l.kind) << ' ' << static_cast<int>(l.activation) << ' '
        << l.input << ' ' << l.input2 << ' ' << l.in_channels << ' ' << l.out_channels << ' '
        << l.kernel << ' ' << l.stride << ' ' << l.pad_same << ' ' << l.upsample_factor << ' '
        << !l.bias.empty() << ' ' << l.name << '\n';
  }
  return out.str();
}

MoveNetSpec MoveNetFromText(const std::string& text, const std::string& origin) {
  MoveNetSpec spec;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string tag;
    ls >> tag;
    if (tag == "heads") {
      ls >> spec.heatmap_layer >> spec.center_layer >> spec.regress_layer >> spec.offset_layer;
    } else if (tag == "sizes") {
      ls >> spec.input_size >> spec.heatmap_size;
    } else if (tag == "norm") {
      ls >> spec.input_mean[0] >> spec.input_mean[1] >> spec.input_mean[2] >> spec.input_scale[0] >>
          spec.input_scale[1] >> spec.input_scale[2] >> spec.input_shift;
    } else if (tag == "decode") {
      ls >> spec.distance_bias >> spec.output_scale;
    } else if (tag == "layer") {
      GraphLayer l;
      int kind = 0, act = 0, has_bias = 0;
      ls >> kind >> act >> l.input >> l.input2 >> l.in_channels >> l.out_channels >> l.kernel >>
          l.stride >> l.pad_same >> l.upsample_factor >> has_bias >> l.name;
      l.kind = static_cast<GraphLayer::Kind>(kind);
      l.activation = static_cast<GraphLayer::Activation>(act);
      if (has_bias) l.bias.assign(l.out_channels, 0.f);  // placeholder: loaded from parameters
      spec.layers.push_back(std::move(l));
    }
    if (!tag.empty() && ls.fail()) {
      throw IoError(origin + ": corrupt MoveNet description at line '" + line + "'");
    }
  }
  const int n = static_cast<int>(spec.layers.size());
  for (int head : {spec.heatmap_layer, spec.center_layer, spec.regress_layer, spec.offset_layer}) {
    if (head < 0 || head >= n) throw IoError(origin + ": corrupt MoveNet description (heads)");
  }
  return spec;
}

std::vector<int64_t> Shape(const torch::Tensor& t) {
  return std::vector<int64_t>(t.sizes().begin(), t.sizes().end());
}

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  return out.str() + ']';
}

}  // namespace

// ---- ModelInfo ---------------------------------------------------------------------------
std::vector<std::string> ModelInfo::Check() const {
  std::vector<std::string> problems;
  if (kind != "native" && kind != "movenet" && kind != "torchscript") {
    problems.push_back("kind must be native, movenet or torchscript, got '" + kind + "'");
  }
  if (num_joints < 1) problems.push_back("num_joints must be >= 1");
  if (input_width < 8 || input_height < 8) problems.push_back("input size must be >= 8 x 8");
  if (heatmap_stride < 1 || input_width % heatmap_stride || input_height % heatmap_stride) {
    problems.push_back("heatmap_stride must divide the input size");
  }
  for (float s : std) {
    if (!(s > 0)) problems.push_back("std must be > 0");
  }
  if (!(dropout >= 0 && dropout < 1)) problems.push_back("dropout must be in [0, 1)");
  if (!(sigma > 0)) problems.push_back("sigma must be > 0");
  const Skeleton* sk = FindSkeleton(skeleton);
  if (!sk) {
    problems.push_back("unknown skeleton '" + skeleton + "'");
  } else if (sk->NumJoints() != num_joints) {
    problems.push_back("skeleton " + skeleton + " has " + std::to_string(sk->NumJoints()) +
                       " joints, the model " + std::to_string(num_joints));
  }
  return problems;
}

std::string ModelInfo::ToText() const {
  std::ostringstream out;
  out.precision(9);
  out << "format = rigpose-model 1\n"
      << "kind = " << kind << "\narch = " << arch << "\nskeleton = " << skeleton
      << "\nnum_joints = " << num_joints << "\ninput_width = " << input_width
      << "\ninput_height = " << input_height << "\nheatmap_stride = " << heatmap_stride
      << "\nmean = " << Join(mean) << "\nstd = " << Join(std) << "\ndropout = " << dropout
      << "\naleatoric = " << (aleatoric ? 1 : 0) << "\nsigma = " << sigma
      << "\ntrained_epochs = " << trained_epochs << "\nsource = " << source << '\n';
  return out.str();
}

ModelInfo ModelInfo::FromText(const std::string& text, const std::string& origin) {
  ModelInfo info;
  std::istringstream in(text);
  std::string line;
  bool has_format = false;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (Trim(line).empty()) continue;
    const size_t eq = line.find('=');
    if (eq == std::string::npos) ThrowIo(origin, line_no, "", "expected 'key = value'");
    const std::string key = Trim(line.substr(0, eq)), value = Trim(line.substr(eq + 1));
    try {
      auto floats3 = [&](std::array<float, 3>* out) {
        std::istringstream vs(value);
        std::string item;
        for (int i = 0; i < 3; ++i) {
          if (!std::getline(vs, item, ',')) throw std::invalid_argument("3 numbers");
          (*out)[i] = std::stof(item);
        }
      };
      if (key == "format") {
        has_format = value == "rigpose-model 1";
      } else if (key == "kind") {
        info.kind = value;
      } else if (key == "arch") {
        info.arch = value;
      } else if (key == "skeleton") {
        info.skeleton = value;
      } else if (key == "num_joints") {
        info.num_joints = std::stoi(value);
      } else if (key == "input_width") {
        info.input_width = std::stoi(value);
      } else if (key == "input_height") {
        info.input_height = std::stoi(value);
      } else if (key == "heatmap_stride") {
        info.heatmap_stride = std::stoi(value);
      } else if (key == "mean") {
        floats3(&info.mean);
      } else if (key == "std") {
        floats3(&info.std);
      } else if (key == "dropout") {
        info.dropout = std::stod(value);
      } else if (key == "aleatoric") {
        info.aleatoric = std::stoi(value) != 0;
      } else if (key == "sigma") {
        info.sigma = std::stod(value);
      } else if (key == "trained_epochs") {
        info.trained_epochs = std::stoi(value);
      } else if (key == "source") {
        info.source = value;
      }  // unknown keys: written by a newer rigpose, ignored
    } catch (const std::exception&) {
      ThrowIo(origin, line_no, key, "bad value '" + value + "'");
    }
  }
  if (!has_format) throw IoError(origin + ": not a rigpose model description (no format line)");
  const std::vector<std::string> problems = info.Check();
  if (!problems.empty())
    throw IoError(FormatProblems(origin + ": bad model description", problems));
  return info;
}

namespace detect2d_internal {

void WriteFileAtomically(const std::string& path,
                         const std::function<void(const std::string&)>& save) {
  const fs::path target(path);
  if (target.has_parent_path() && !fs::is_directory(target.parent_path())) {
    throw IoError(path + ": the folder does not exist");
  }
  const std::string tmp = path + ".tmp" + std::to_string(::getpid());
  try {
    save(tmp);
    fs::rename(tmp, path);
  } catch (const c10::Error& e) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw IoError(path + ": cannot write: " + e.what_without_backtrace());
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
}

NetConfig NetConfigOf(const ModelInfo& info) {
  NetConfig config;
  config.arch = info.arch;
  config.num_joints = info.num_joints;
  config.dropout = info.dropout;
  config.aleatoric = info.aleatoric;
  return config;
}

void SaveModel(const std::string& path,
               const ModelInfo& info,
               DetectorNet& net,
               const MoveNetSpec* movenet) {
  detect2d_internal::WriteFileAtomically(path, [&](const std::string& tmp) {
    torch::serialize::OutputArchive archive;
    archive.write(kInfoKey, c10::IValue(info.ToText()));
    if (movenet) {
      archive.write(kMoveNetKey, c10::IValue(MoveNetToText(*movenet)));
      archive.write("movenet_center_weight",
                    torch::tensor(movenet->center_weight, torch::kFloat32),
                    /*is_buffer=*/true);
    }
    torch::serialize::OutputArchive net_archive;
    net.save(net_archive);
    archive.write("net", net_archive);
    archive.save_to(tmp);
  });
}

LoadedModel LoadModel(const std::string& path, const torch::Device& device) {
  if (!fs::is_regular_file(path)) throw IoError(path + ": model file not found");
  LoadedModel model;
  // Imported TorchScript carries its description as an extra file.
  torch::jit::ExtraFilesMap extra{{kInfoKey, ""}};
  torch::jit::Module module;
  try {
    module = torch::jit::load(path, device, extra);
  } catch (const c10::Error& e) {
    throw IoError(path + ": not a rigpose model file (not a LibTorch archive: " +
                  e.what_without_backtrace() + ")");
  }
  if (!extra[kInfoKey].empty()) {
    model.info = ModelInfo::FromText(extra[kInfoKey], path);
    module.eval();
    model.script = module;
    return model;
  }
  if (!module.hasattr(kInfoKey)) {
    throw IoError(path +
                  ": a LibTorch file but not a rigpose model (no description). A TorchScript "
                  "heatmap model must be imported first: rigpose model import torchscript");
  }
  try {
    model.info = ModelInfo::FromText(module.attr(kInfoKey).toStringRef(), path);
    torch::serialize::InputArchive archive;
    archive.load_from(path, device);
    if (model.info.kind == "movenet") {
      c10::IValue text;
      if (!archive.try_read(kMoveNetKey, text)) {
        throw IoError(path + ": MoveNet model without its layer description");
      }
      model.movenet = MoveNetFromText(text.toStringRef(), path);
      torch::Tensor center_weight;
      archive.read("movenet_center_weight", center_weight, /*is_buffer=*/true);
      center_weight = center_weight.to(torch::kCPU).contiguous();
      model.movenet.center_weight.assign(center_weight.data_ptr<float>(),
                                         center_weight.data_ptr<float>() + center_weight.numel());
      model.net = MakeMoveNet(model.movenet);
    } else if (model.info.kind == "native") {
      model.net = MakeNet(NetConfigOf(model.info));
    } else {
      throw IoError(path + ": model kind '" + model.info.kind + "' without its module");
    }
    torch::serialize::InputArchive net_archive;
    archive.read("net", net_archive);
    model.net->load(net_archive);
  } catch (const c10::Error& e) {
    throw IoError(path + ": corrupt rigpose model: " + e.what_without_backtrace());
  } catch (const UsageError& e) {
    throw IoError(path + ": " + e.what());
  }
  model.net->to(device);
  model.net->eval();
  return model;
}

namespace {

// The heatmap contract: [B, J, H / stride, W / stride] for input [B, 3, H, W].
void CheckHeatmapContract(const ModelInfo& info,
                          const torch::Tensor& images,
                          const NetOutput& out) {
  const std::vector<int64_t> expected = {images.size(0),
                                         info.num_joints,
                                         images.size(2) / info.heatmap_stride,
                                         images.size(3) / info.heatmap_stride};
  if (Shape(out.heatmaps) != expected) {
    throw InputError("model (" + info.arch + "): heatmap contract violated: output " +
                     ShapeString(Shape(out.heatmaps)) + ", expected " + ShapeString(expected) +
                     " for input " + ShapeString(Shape(images)));
  }
}

}  // namespace

NetOutput RunModel(LoadedModel& model, const torch::Tensor& images) {
  const ModelInfo& info = model.info;
  NetOutput out;
  if (model.script) {
    const c10::IValue result = model.script->forward({images});
    if (result.isTensor()) {
      out.heatmaps = result.toTensor();
    } else if (result.isTuple() && !result.toTupleRef().elements().empty() &&
               result.toTupleRef().elements()[0].isTensor()) {
      out.heatmaps = result.toTupleRef().elements()[0].toTensor();
    } else if (result.isList() && result.toListRef().size() > 0 &&
               result.toListRef()[0].isTensor()) {
      out.heatmaps = result.toListRef()[0].toTensor();
    } else {
      throw InputError(
          "TorchScript model: output is not a heatmap tensor (nor a tuple/list "
          "starting with one): heatmap contract violated");
    }
  } else {
    out = model.net->Forward(images);
  }
  CheckHeatmapContract(info, images, out);
  return out;
}

std::vector<NetOutput> RunModelSamples(LoadedModel& model,
                                       const torch::Tensor& images,
                                       int samples) {
  if (model.script) {
    std::vector<NetOutput> outs;
    for (int s = 0; s < std::max(samples, 1); ++s) outs.push_back(RunModel(model, images));
    return outs;
  }
  std::vector<NetOutput> outs = model.net->ForwardSamples(images, samples);
  for (const NetOutput& out : outs) CheckHeatmapContract(model.info, images, out);
  return outs;
}

}  // namespace detect2d_internal

ModelInfo ReadModelInfo(const std::string& path) {
  return detect2d_internal::LoadModel(path, torch::kCPU).info;
}

ModelInfo CreateNativeModel(const std::string& out_path, const ModelInfo& info_in, uint64_t seed) {
  ModelInfo info = info_in;
  info.kind = "native";
  const std::vector<std::string> problems = info.Check();
  if (!problems.empty()) throw UsageError(FormatProblems("model create", problems));
  torch::manual_seed(seed);
  auto net = detect2d_internal::MakeNet(detect2d_internal::NetConfigOf(info));
  detect2d_internal::SaveModel(out_path, info, *net);
  return info;
}

#if !defined(RIGPOSE_DETECT2D_NO_TFJS)
ModelInfo ImportMoveNet(const std::string& tfjs_dir, const std::string& out_path) {
  const MoveNetSpec spec = ReadMoveNetTfjs(tfjs_dir);
  ModelInfo info;
  info.kind = "movenet";
  info.arch = "movenet";
  info.skeleton = "coco17";
  info.num_joints = spec.num_joints();
  info.input_width = info.input_height = spec.input_size;
  info.heatmap_stride = spec.input_size / spec.heatmap_size;
  // Graph normalisation (x - m) * s - shift on 0..255, as (x / 255 - mean) / std.
  for (int c = 0; c < 3; ++c) {
    info.mean[c] = (spec.input_mean[c] + spec.input_shift / spec.input_scale[c]) / 255.f;
    info.std[c] = 1.f / (spec.input_scale[c] * 255.f);
  }
  info.sigma = 1.0;
  info.source = "MoveNet SinglePose (Google, Apache-2.0) imported from " + tfjs_dir;
  auto net = detect2d_internal::MakeMoveNet(spec);
  detect2d_internal::SaveModel(out_path, info, *net, &spec);
  return info;
}
#endif

ModelInfo ImportTorchScript(const std::string& script_path,
                            const std::string& out_path,
                            ModelInfo info) {
  info.kind = "torchscript";
  info.arch = "torchscript";
  const std::vector<std::string> problems = info.Check();
  if (!problems.empty()) throw UsageError(FormatProblems("model import torchscript", problems));
  torch::jit::Module module;
  try {
    module = torch::jit::load(script_path, torch::kCPU);
  } catch (const c10::Error& e) {
    throw IoError(script_path + ": not a TorchScript file: " + e.what_without_backtrace());
  }
  module.eval();
  detect2d_internal::LoadedModel model;
  model.info = info;
  model.script = module;
  {
    torch::NoGradGuard no_grad;
    try {
      detect2d_internal::RunModel(model, torch::zeros({2, 3, info.input_height, info.input_width}));
    } catch (const c10::Error& e) {
      throw InputError(script_path + ": the module fails on a [2, 3, " +
                       std::to_string(info.input_height) + ", " + std::to_string(info.input_width) +
                       "] batch: " + e.what_without_backtrace());
    } catch (const InputError& e) {
      throw InputError(script_path + ": " + e.what());
    }
  }
  detect2d_internal::WriteFileAtomically(out_path, [&](const std::string& tmp) {
    module.save(tmp, torch::jit::ExtraFilesMap{{kInfoKey, info.ToText()}});
  });
  return info;
}

}  // namespace rigpose

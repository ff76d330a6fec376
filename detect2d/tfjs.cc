// SPDX-License-Identifier: BSD-3-Clause
// TFJS graph-model reader (model.json + weight shards) and the MoveNet layer extraction.
// Format: https://www.tensorflow.org/js/guide/save_load (weightsManifest: groups of shards,
// tensors concatenated in manifest order, little-endian; quantisation float16 or uint8).
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "core/error.h"
#include "data/file_util.h"
#include "detect2d/movenet.h"

namespace rigpose {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct TfjsTensor {
  std::vector<int64_t> shape;
  std::vector<float> values;  // int32 constants are converted too (small integers)
};

float HalfToFloat(uint16_t h) {
  const uint32_t sign = (h >> 15) & 1u, exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
  float value;
  if (exponent == 0) {
    value = std::ldexp(static_cast<float>(mantissa), -24);  // subnormal
  } else if (exponent == 31) {
    value = mantissa ? std::nanf("") : INFINITY;
  } else {
    value = std::ldexp(static_cast<float>(mantissa | 0x400u), static_cast<int>(exponent) - 25);
  }
  return sign ? -value : value;
}

std::string FindModelJson(const std::string& dir) {
  if (fs::is_regular_file(dir)) return dir;
  if (!fs::is_directory(dir)) {
    throw IoError(dir + ": not a TFJS model folder (expected model.json + weight files)");
  }
  if (fs::exists(fs::path(dir) / "model.json")) return (fs::path(dir) / "model.json").string();
  std::vector<std::string> candidates;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    const std::string text = ReadFileToString(entry.path().string());
    if (text.find("\"weightsManifest\"") != std::string::npos) {
      candidates.push_back(entry.path().string());
    }
  }
  if (candidates.size() != 1) {
    throw IoError(dir + ": expected exactly one TFJS model JSON (with a weightsManifest), found " +
                  std::to_string(candidates.size()));
  }
  return candidates[0];
}

std::map<std::string, TfjsTensor> ReadWeights(const json& manifest, const std::string& json_path) {
  std::map<std::string, TfjsTensor> tensors;
  const fs::path folder = fs::path(json_path).parent_path();
  for (const json& group : manifest) {
    std::string bytes;
    for (const json& shard : group.at("paths")) {
      bytes += ReadFileToString((folder / shard.get<std::string>()).string());
    }
    size_t offset = 0;
    for (const json& w : group.at("weights")) {
      const std::string name = w.at("name");
      TfjsTensor tensor;
      int64_t count = 1;
      for (const json& d : w.at("shape")) {
        tensor.shape.push_back(d.get<int64_t>());
        count *= tensor.shape.back();
      }
      const std::string dtype = w.at("dtype");
      std::string quant;
      if (w.contains("quantization")) quant = w["quantization"].at("dtype");
      const size_t elem = quant == "float16" ? 2 : quant == "uint8" ? 1 : 4;
      const size_t need = elem * static_cast<size_t>(count);
      if (offset + need > bytes.size()) {
        throw IoError(json_path + ": weight '" + name +
                      "' runs past the end of the weight files (" + std::to_string(bytes.size()) +
                      " bytes): truncated download?");
      }
      tensor.values.resize(count);
      const unsigned char* p = reinterpret_cast<const unsigned char*>(bytes.data()) + offset;
      for (int64_t i = 0; i < count; ++i) {
        if (quant == "float16") {
          uint16_t h;
          std::memcpy(&h, p + 2 * i, 2);
          tensor.values[i] = HalfToFloat(h);
        } else if (quant == "uint8") {
          const double scale = w["quantization"].at("scale"), min = w["quantization"].at("min");
          tensor.values[i] = static_cast<float>(min + scale * p[i]);
        } else if (dtype == "int32") {
          int32_t v;
          std::memcpy(&v, p + 4 * i, 4);
          tensor.values[i] = static_cast<float>(v);
        } else if (dtype == "float32") {
          std::memcpy(&tensor.values[i], p + 4 * i, 4);
        } else {
          throw IoError(json_path + ": weight '" + name + "' has unsupported dtype " + dtype);
        }
      }
      offset += need;
      tensors[name] = std::move(tensor);
    }
    if (offset != bytes.size()) {
      throw IoError(json_path + ": weight files hold " + std::to_string(bytes.size()) +
                    " bytes but the manifest describes " + std::to_string(offset));
    }
  }
  return tensors;
}

std::string AttrString(const json& node, const std::string& key) {
  // TFJS stores strings base64-encoded. Only the handful of values we need are decoded.
  static const std::map<std::string, std::string> kKnown = {{"U0FNRQ==", "SAME"},
                                                            {"VkFMSUQ=", "VALID"},
                                                            {"Qmlhc0FkZA==", "BiasAdd"},
                                                            {"UmVsdQ==", "Relu"},
                                                            {"UmVsdTY=", "Relu6"},
                                                            {"TkhXQw==", "NHWC"}};
  const std::string encoded = node.at("attr").at(key).at("s");
  const auto it = kKnown.find(encoded);
  return it == kKnown.end() ? "?" + encoded : it->second;
}

std::vector<int> AttrInts(const json& node, const std::string& key) {
  std::vector<int> out;
  if (!node.contains("attr") || !node["attr"].contains(key)) return out;
  for (const json& v : node["attr"][key]["list"].value("i", json::array())) {
    out.push_back(std::stoi(v.get<std::string>()));
  }
  return out;
}

}  // namespace

MoveNetSpec ReadMoveNetTfjs(const std::string& dir) {
  const std::string json_path = FindModelJson(dir);
  json model;
  try {
    model = json::parse(ReadFileToString(json_path));
  } catch (const json::exception& e) {
    throw IoError(json_path + ": not valid JSON: " + e.what());
  }
  if (!model.contains("modelTopology") || !model.contains("weightsManifest")) {
    throw IoError(json_path + ": not a TFJS graph model (no modelTopology/weightsManifest)");
  }
  std::map<std::string, TfjsTensor> tensors;
  try {
    tensors = ReadWeights(model["weightsManifest"], json_path);
  } catch (const json::exception& e) {
    throw IoError(json_path + ": bad weightsManifest: " + e.what());
  }
  auto tensor = [&](const std::string& name) -> const TfjsTensor& {
    const auto it = tensors.find(name);
    if (it == tensors.end()) {
      throw InputError(json_path + ": not a MoveNet SinglePose graph: constant '" + name +
                       "' is missing");
    }
    return it->second;
  };

  MoveNetSpec spec;
  std::map<std::string, int> layer_of;  // node name -> layer index (-1: network input)
  std::map<std::string, json> nodes;
  const std::string kPrefix = "StatefulPartitionedCall/";
  for (const json& node : model["modelTopology"].at("node")) nodes[node.at("name")] = node;
  auto node = [&](const std::string& name) -> const json& {
    const auto it = nodes.find(name);
    if (it == nodes.end()) {
      throw InputError(json_path + ": not a MoveNet SinglePose graph: node '" + name +
                       "' is missing");
    }
    return it->second;
  };
  auto input_of = [&](const std::string& name, size_t i) -> std::string {
    const json& n = node(name);
    if (!n.contains("input") || n["input"].size() <= i) {
      throw InputError(json_path + ": node '" + name + "' has too few inputs");
    }
    return n["input"][i];
  };

  // Preprocessing: x_norm = (x - mean) * scale - shift, the output of node "sub_1".
  {
    const TfjsTensor& mean = tensor(input_of(kPrefix + "sub", 1));
    const TfjsTensor& scale = tensor(input_of(kPrefix + "truediv_1", 1));
    const TfjsTensor& shift = tensor(input_of(kPrefix + "sub_1", 1));
    if (mean.values.size() != 3 || scale.values.size() != 3 || shift.values.size() != 1) {
      throw InputError(json_path + ": unexpected normalisation constants (expected 3, 3, 1)");
    }
    for (int c = 0; c < 3; ++c) {
      spec.input_mean[c] = mean.values[c];
      spec.input_scale[c] = scale.values[c];
    }
    spec.input_shift = shift.values[0];
    layer_of[kPrefix + "sub_1"] = -1;
  }

  auto resolve = [&](const std::string& consumer, const std::string& input) {
    const auto it = layer_of.find(input);
    if (it == layer_of.end()) {
      throw InputError(json_path + ": node '" + consumer + "' reads '" + input +
                       "', which is not a supported layer (MoveNet import supports convolutions, "
                       "additions and bilinear upsampling)");
    }
    return it->second;
  };

  for (const json& n : model["modelTopology"]["node"]) {
    const std::string op = n.at("op"), name = n.at("name");
    GraphLayer layer;
    layer.name = name;
    if (op == "_FusedConv2D" || op == "FusedDepthwiseConv2dNative" ||
        op == "DepthwiseConv2dNative") {
      const bool depthwise = op != "_FusedConv2D";
      layer.kind = depthwise ? GraphLayer::Kind::kDepthwiseConv : GraphLayer::Kind::kConv;
      layer.input = resolve(name, n.at("input")[0]);
      const TfjsTensor& kernel = tensor(n["input"][1]);
      if (kernel.shape.size() != 4 || kernel.shape[0] != kernel.shape[1]) {
        throw InputError(json_path + ": node '" + name + "': expected a square 4-D kernel");
      }
      const int k = static_cast<int>(kernel.shape[0]);
      const int cin = static_cast<int>(kernel.shape[2]);
      const int cout = static_cast<int>(kernel.shape[3]);
      if (depthwise && cout != 1) {
        throw InputError(json_path + ": node '" + name + "': depth multiplier " +
                         std::to_string(cout) + " is not supported (only 1)");
      }
      layer.kernel = k;
      layer.in_channels = cin;
      layer.out_channels = depthwise ? cin : cout;
      const std::vector<int> strides = AttrInts(n, "strides");
      const std::vector<int> dilations = AttrInts(n, "dilations");
      layer.stride = strides.size() == 4 ? strides[1] : 1;
      if ((strides.size() == 4 && strides[1] != strides[2]) ||
          (dilations.size() == 4 && (dilations[1] != 1 || dilations[2] != 1))) {
        throw InputError(json_path + ": node '" + name +
                         "': unequal strides or dilation are not supported");
      }
      const std::string padding = AttrString(n, "padding");
      if (padding != "SAME" && padding != "VALID") {
        throw InputError(json_path + ": node '" + name + "': padding " + padding +
                         " is not supported");
      }
      layer.pad_same = padding == "SAME";
      // HWIO -> OIHW (depthwise: HWC1 -> C1HW).
      layer.weight.resize(static_cast<size_t>(k) * k * cin * (depthwise ? 1 : cout));
      for (int y = 0; y < k; ++y) {
        for (int x = 0; x < k; ++x) {
          for (int i = 0; i < cin; ++i) {
            for (int o = 0; o < (depthwise ? 1 : cout); ++o) {
              const float v = kernel.values[((static_cast<size_t>(y) * k + x) * cin + i) *
                                                (depthwise ? 1 : cout) +
                                            o];
              const size_t dst = depthwise ? (static_cast<size_t>(i) * k + y) * k + x
                                           : ((static_cast<size_t>(o) * cin + i) * k + y) * k + x;
              layer.weight[dst] = v;
            }
          }
        }
      }
      if (n["attr"].contains("fused_ops")) {
        std::vector<std::string> fused;
        for (const json& s : n["attr"]["fused_ops"]["list"].value("s", json::array())) {
          json one = n;
          one["attr"]["tmp"]["s"] = s;
          fused.push_back(AttrString(one, "tmp"));
        }
        for (const std::string& f : fused) {
          if (f == "BiasAdd") {
            const TfjsTensor& bias = tensor(n["input"][2]);
            if (static_cast<int>(bias.values.size()) != layer.out_channels) {
              throw InputError(json_path + ": node '" + name + "': bias size mismatch");
            }
            layer.bias = bias.values;
          } else if (f == "Relu") {
            layer.activation = GraphLayer::Activation::kRelu;
          } else if (f == "Relu6") {
            layer.activation = GraphLayer::Activation::kRelu6;
          } else {
            throw InputError(json_path + ": node '" + name + "': fused op " + f +
                             " is not supported");
          }
        }
      }
    } else if (op == "AddV2" && layer_of.count(n.at("input")[0]) &&
               layer_of.count(n.at("input")[1])) {
      layer.kind = GraphLayer::Kind::kAdd;
      layer.input = layer_of[n["input"][0]];
      layer.input2 = layer_of[n["input"][1]];
    } else if (op == "ResizeBilinear") {
      layer.kind = GraphLayer::Kind::kUpsample;
      layer.input = resolve(name, n.at("input")[0]);
      if (n["attr"].value("align_corners", json::object()).value("b", false) ||
          !n["attr"].value("half_pixel_centers", json::object()).value("b", false)) {
        throw InputError(json_path + ": node '" + name +
                         "': only half-pixel-centre bilinear resizing is supported");
      }
      layer.upsample_factor = 2;  // FPN: each level doubles (the golden test pins the sizes)
    } else {
      continue;  // preprocessing and decoding ops: handled by MoveNetSpec's fields
    }
    layer_of[name] = static_cast<int>(spec.layers.size());
    spec.layers.push_back(std::move(layer));
  }

  // Heads: the inputs of the two sigmoids and of the two GatherNd over the raw regressions.
  spec.heatmap_layer = resolve(kPrefix + "Sigmoid", input_of(kPrefix + "Sigmoid", 0));
  spec.center_layer = resolve(kPrefix + "Sigmoid_1", input_of(kPrefix + "Sigmoid_1", 0));
  spec.regress_layer = resolve(kPrefix + "GatherNd", input_of(kPrefix + "GatherNd", 0));
  spec.offset_layer = resolve(kPrefix + "GatherNd_1", input_of(kPrefix + "GatherNd_1", 0));
  auto expect_channels = [&](int layer, int channels) {
    if (spec.layers[layer].out_channels != channels) {
      throw InputError(json_path + ": head '" + spec.layers[layer].name + "' has " +
                       std::to_string(spec.layers[layer].out_channels) + " channels, expected " +
                       std::to_string(channels));
    }
  };
  expect_channels(spec.heatmap_layer, 17);
  expect_channels(spec.center_layer, 1);
  expect_channels(spec.regress_layer, 34);
  expect_channels(spec.offset_layer, 34);

  // Decoding constants.
  const TfjsTensor& center_weight = tensor(input_of(kPrefix + "truediv_2", 1));
  const int hm = static_cast<int>(std::lround(std::sqrt(center_weight.values.size())));
  if (hm * hm != static_cast<int>(center_weight.values.size())) {
    throw InputError(json_path + ": centre weight map is not square");
  }
  spec.heatmap_size = hm;
  spec.input_size = hm * 4;
  spec.center_weight = center_weight.values;
  spec.distance_bias = tensor(input_of(kPrefix + "add_5", 1)).values.at(0);
  spec.output_scale = tensor(input_of(kPrefix + "mul_2", 1)).values.at(0);
  return spec;
}

}  // namespace rigpose

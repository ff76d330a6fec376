// SPDX-License-Identifier: BSD-3-Clause
// `rigpose model import movenet --tfjs DIR --out FILE`, `rigpose model import torchscript
// --script FILE --out FILE [...]`, `rigpose model create --arch A --out FILE [...]`,
// `rigpose model info FILE`, `rigpose model eval --model FILE --coco JSON`: detector model files
// (detect2d/model.h) and their PCK (detect2d/train.h).
#include <cmath>
#include <iostream>
#include <memory>
#include <sstream>

#include <CLI/CLI.hpp>

#include "cli/cli.h"
#include "core/error.h"
#include "core/skeleton.h"
#include "data/file_util.h"
#include "detect2d/model.h"
#include "detect2d/train.h"

namespace rigpose::cli {
namespace {

#if defined(RIGPOSE_HAVE_TORCH)
ModelInfo InfoFromOptions(const ModelCliOptions& o) {
  ModelInfo info;
  info.arch = o.arch;
  info.skeleton = o.skeleton;
  const Skeleton* skeleton = FindSkeleton(o.skeleton);
  if (!skeleton) throw UsageError("--skeleton: unknown joint set '" + o.skeleton + "'");
  info.num_joints = skeleton->NumJoints();
  int w = 0, h = 0;
  char x = 0;
  std::istringstream size(o.input_size);
  if (!(size >> w >> x >> h) || x != 'x' || !size.eof()) {
    throw UsageError("--input-size '" + o.input_size + "' is not WxH");
  }
  info.input_width = w;
  info.input_height = h;
  info.heatmap_stride = o.heatmap_stride;
  if (!o.mean.empty() || !o.std.empty()) {
    if (o.mean.size() != 3 || o.std.size() != 3) {
      throw UsageError("--mean and --std take 3 values each (RGB of pixel / 255)");
    }
    for (int c = 0; c < 3; ++c) {
      info.mean[c] = o.mean[c];
      info.std[c] = o.std[c];
    }
  }
  info.dropout = o.dropout;
  info.aleatoric = o.aleatoric;
  return info;
}

void PrintInfo(const std::string& path, const ModelInfo& info, std::ostream& out) {
  out << path << ": " << info.arch << " (" << info.kind << "), " << info.num_joints << " joints ("
      << info.skeleton << "), input " << info.input_width << "x" << info.input_height
      << ", heatmaps /" << info.heatmap_stride;
  if (info.dropout > 0) out << ", dropout " << info.dropout;
  if (info.aleatoric) out << ", aleatoric head";
  if (info.trained_epochs > 0) out << ", trained " << info.trained_epochs << " epochs";
  out << "\n";
  if (!info.source.empty()) out << "  source: " << info.source << "\n";
}
#endif

}  // namespace

void RunModel(const ModelCliOptions& o, std::ostream& out) {
#if defined(RIGPOSE_HAVE_TORCH)
  if (o.action == "import-movenet") {
    PrintInfo(o.out, ImportMoveNet(o.input, o.out), out);
  } else if (o.action == "import-torchscript") {
    PrintInfo(o.out, ImportTorchScript(o.input, o.out, InfoFromOptions(o)), out);
  } else if (o.action == "create") {
    PrintInfo(o.out, CreateNativeModel(o.out, InfoFromOptions(o), o.seed), out);
  } else if (o.action == "info") {
    PrintInfo(o.input, ReadModelInfo(o.input), out);
  } else if (o.action == "eval") {
    const ModelInfo info = ReadModelInfo(o.input);
    const TrainingInputSpec spec = InputSpecOf(info);
    const KeypointTrainingSet set(o.coco, o.images, spec);
    const PckResult r =
        EvaluatePck(o.input, set, o.alpha, o.device, o.max_instances, o.threads, o.flip_test);
    out << o.input << ": PCK@" << o.alpha << (o.flip_test ? " (flip test) " : " ") << r.pck
        << " over " << r.joints << " labelled joints of " << o.coco << ", mean error "
        << r.mean_error_px << " px\n";
    if (!o.json_out.empty()) {
      std::ostringstream json;
      json.precision(10);
      json << "{\"pck\": " << r.pck << ", \"mean_error_px\": " << r.mean_error_px
           << ", \"joints\": " << r.joints << ", \"alpha\": " << o.alpha
           << ", \"flip_test\": " << (o.flip_test ? "true" : "false") << ", \"per_joint_pck\": [";
      for (size_t j = 0; j < r.per_joint_pck.size(); ++j) {
        json << (j ? ", " : "");
        if (std::isfinite(r.per_joint_pck[j])) {
          json << r.per_joint_pck[j];
        } else {
          json << "null";
        }
      }
      json << "]}\n";
      WriteFileAtomic(o.json_out, json.str());
    }
  } else {
    throw UsageError("model: unknown action '" + o.action + "'");
  }
#else
  (void)out;
  throw UsageError("model " + o.action + ": this rigpose was built without LibTorch");
#endif
}

void RegisterModel(CLI::App& app, Action& action) {
  CLI::App* model = app.add_subcommand("model", "Detector model files: import, create, info, eval");
  model->require_subcommand(1);
  auto add_net_options = [](CLI::App* cmd, ModelCliOptions* o) {
    cmd->add_option("--skeleton", o->skeleton, "Joint set of the heatmaps (core/skeleton.h)");
    cmd->add_option("--input-size", o->input_size, "Network input WxH (crop size)");
    cmd->add_option("--heatmap-stride", o->heatmap_stride, "Input pixels per heatmap pixel");
    cmd->add_option("--mean", o->mean, "RGB mean of pixel/255 (3 values)")->expected(3);
    cmd->add_option("--std", o->std, "RGB std of pixel/255 (3 values)")->expected(3);
  };

  CLI::App* import = model->add_subcommand("import", "Convert a model into a rigpose model file");
  import->require_subcommand(1);
  auto movenet = std::make_shared<ModelCliOptions>();
  movenet->action = "import-movenet";
  CLI::App* mn = import->add_subcommand(
      "movenet", "MoveNet SinglePose (TFJS graph model folder) rebuilt natively");
  mn->add_option("--tfjs", movenet->input, "Folder with the TFJS model JSON and weights")
      ->required();
  mn->add_option("--out", movenet->out, "Model file to write")->required();
  mn->callback([&action, movenet] { action = [movenet] { RunModel(*movenet, std::cout); }; });

  auto script = std::make_shared<ModelCliOptions>();
  script->action = "import-torchscript";
  CLI::App* ts = import->add_subcommand(
      "torchscript", "A scripted heatmap model (contract: docs/FORMATS.md, detector models)");
  ts->add_option("--script", script->input, "TorchScript file (torch.jit.save)")->required();
  ts->add_option("--out", script->out, "Model file to write")->required();
  add_net_options(ts, script.get());
  ts->callback([&action, script] { action = [script] { RunModel(*script, std::cout); }; });

  auto create = std::make_shared<ModelCliOptions>();
  create->action = "create";
  CLI::App* cr = model->add_subcommand("create", "A new native net (untrained) for rigpose train");
  cr->add_option("--arch",
                 create->arch,
                 "simplebaseline-r18 | simplebaseline-r50 | simplebaseline-mini | hrnet-w32");
  cr->add_option("--out", create->out, "Model file to write")->required();
  add_net_options(cr, create.get());
  cr->add_option("--dropout", create->dropout, "Dropout before the last layer (MC-dropout)");
  cr->add_flag("--aleatoric", create->aleatoric, "Add a per-joint log-variance head");
  cr->add_option("--seed", create->seed, "Initialisation seed");
  cr->callback([&action, create] { action = [create] { RunModel(*create, std::cout); }; });

  auto info = std::make_shared<ModelCliOptions>();
  info->action = "info";
  CLI::App* in = model->add_subcommand("info", "Print a model file's description");
  in->add_option("model", info->input, "Model file")->required();
  in->callback([&action, info] { action = [info] { RunModel(*info, std::cout); }; });

  auto eval = std::make_shared<ModelCliOptions>();
  eval->action = "eval";
  CLI::App* ev = model->add_subcommand(
      "eval", "PCK of a model on a COCO keypoints set (un-augmented crops of the labelled boxes)");
  ev->add_option("--model", eval->input, "Model file")->required();
  ev->add_option("--coco", eval->coco, "COCO keypoints JSON")->required();
  ev->add_option("--images", eval->images, "Image root (default: the capture root)");
  ev->add_option("--alpha", eval->alpha, "PCK threshold: fraction of the box's larger side");
  ev->add_option("--max", eval->max_instances, "First N instances only (0: all)");
  ev->add_flag("--flip-test",
               eval->flip_test,
               "Average each crop's heatmaps with its mirror image's (left/right swapped)");
  ev->add_option("--threads", eval->threads, "CPU threads (0: all cores)");
  ev->add_option("--device", eval->device, "cpu | cuda | cuda:N");
  ev->add_option("--json", eval->json_out, "Also write the result as JSON");
  ev->callback([&action, eval] { action = [eval] { RunModel(*eval, std::cout); }; });
}

}  // namespace rigpose::cli

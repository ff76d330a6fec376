// SPDX-License-Identifier: BSD-3-Clause
// Training loop of the native heatmap nets: loader threads assembling batches in a fixed order,
// Adam on the weighted heatmap MSE (+ aleatoric NLL), checkpoint/resume, PCK evaluation.
#include "detect2d/train.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <numeric>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "detect2d/heatmap_decode.h"
#include "detect2d/model_internal.h"

namespace rigpose {
namespace {

namespace fs = std::filesystem;
using detect2d_internal::DetectorNet;
using detect2d_internal::LoadedModel;
using detect2d_internal::NetOutput;
using detect2d_internal::WriteFileAtomically;
using Clock = std::chrono::steady_clock;

// Model description key (documented in detect2d/model.h), so that a checkpoint is a model file.
constexpr const char* kInfoKey = "rigpose_model";
constexpr const char* kCheckpointKey = "rigpose_checkpoint";
constexpr const char* kCheckpointFormat = "rigpose-checkpoint 1";
// Soft-argmax of the aleatoric term: softmax(beta * heatmap). Trained maps peak at ~1 over a ~0
// background, so beta = 20 makes the expectation local to the peak (about argmax with sub-pixel
// interpolation, the decoder's behaviour) while staying differentiable.
constexpr double kSoftArgmaxBeta = 20.0;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// SplitMix64 finaliser of a combined key: seeds for (seed, stream, epoch, position) that do not
// depend on thread timing.
uint64_t Mix(uint64_t a, uint64_t b) {
  uint64_t z = a + 0x9e3779b97f4a7c15ULL * (b + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

torch::Device ParseDevice(const std::string& name) {
  if (name == "cpu") return torch::Device(torch::kCPU);
  if (name.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available()) {
      throw UsageError("train: device '" + name +
                       "' requested but no CUDA device is available to LibTorch (this build: " +
                       std::string(TORCH_VERSION) + ")");
    }
    try {
      return torch::Device(name);
    } catch (const c10::Error&) {
      throw UsageError("train: bad device '" + name + "'");
    }
  }
  throw UsageError("train: device must be cpu, cuda or cuda:N, got '" + name + "'");
}

void SetThreads(const torch::Device& device, int num_threads) {
  if (device.is_cpu()) {
    torch::set_num_threads(
        num_threads > 0 ? num_threads
                        : std::max(1, static_cast<int>(std::thread::hardware_concurrency())));
  }
}

std::string SetDescription(const KeypointTrainingSet& set) {
  std::ostringstream s;
  s << set.num_joints() << " joints" << (set.skeleton().empty() ? "" : " (" + set.skeleton() + ")")
    << ", " << set.spec().input_width << "x" << set.spec().input_height << " input, stride "
    << set.spec().heatmap_stride;
  return s.str();
}

// InputError naming both sides when `set` cannot feed the model described by `info`.
void CheckSetFitsModel(const ModelInfo& info,
                       const std::string& model_path,
                       const KeypointTrainingSet& set,
                       const std::string& set_name) {
  const TrainingInputSpec& spec = set.spec();
  std::vector<std::string> problems;
  if (set.num_joints() != info.num_joints) {
    problems.push_back("the " + set_name + " has " + std::to_string(set.num_joints()) + " joints" +
                       (set.skeleton().empty() ? "" : " (" + set.skeleton() + ")") +
                       ", the model " + std::to_string(info.num_joints) + " (" + info.skeleton +
                       ")");
  }
  if (spec.input_width != info.input_width || spec.input_height != info.input_height) {
    problems.push_back("the " + set_name + "'s input is " + std::to_string(spec.input_width) + "x" +
                       std::to_string(spec.input_height) + ", the model's " +
                       std::to_string(info.input_width) + "x" + std::to_string(info.input_height));
  }
  if (spec.heatmap_stride != info.heatmap_stride) {
    problems.push_back("the " + set_name + "'s heatmap stride is " +
                       std::to_string(spec.heatmap_stride) + ", the model's " +
                       std::to_string(info.heatmap_stride));
  }
  for (int c = 0; c < 3; ++c) {
    if (std::abs(spec.mean[c] - info.mean[c]) > 1e-6f ||
        std::abs(spec.std[c] - info.std[c]) > 1e-6f) {
      problems.push_back("the " + set_name +
                         "'s normalisation (mean/std) differs from the model's");
      break;
    }
  }
  if (!problems.empty()) {
    throw InputError(FormatProblems(model_path + " (" + info.arch + ") does not fit the " +
                                        set_name + " [" + SetDescription(set) + "]",
                                    problems));
  }
}

// ---- Batches ------------------------------------------------------------------------------
struct BatchItem {
  int index = 0;      // instance
  uint64_t seed = 0;  // augmentation
};

struct Batch {
  int size = 0;
  std::vector<float> images;   // [B][3][H][W]
  std::vector<float> targets;  // [B][J][h][w]
  std::vector<float> weights;  // [B][J]
  std::vector<float> gt_xy;    // [B][J][2] heatmap px (0 where the weight is 0)
  std::vector<std::array<double, 6>> crop_from_image;
  std::vector<int> indices;
  std::exception_ptr error;
};

// Assembles the batches of a fixed plan with `threads` worker threads (0: on the caller's thread)
// and hands them out in plan order, at most `prefetch` ahead of the consumer. A worker's exception
// is rethrown by Next() for that batch.
class BatchLoader {
 public:
  BatchLoader(const KeypointTrainingSet& set,
              bool augment,
              std::vector<std::vector<BatchItem>> plan,
              int threads,
              int prefetch)
      : set_(set), augment_(augment), plan_(std::move(plan)), prefetch_(std::max(1, prefetch)) {
    for (int t = 0; t < threads; ++t) workers_.emplace_back([this] { Work(); });
  }
  ~BatchLoader() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
    for (std::thread& w : workers_) w.join();
  }
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  int num_batches() const { return static_cast<int>(plan_.size()); }

  Batch Next() {
    Batch batch;
    if (workers_.empty()) {
      RIGPOSE_CHECK(consumed_ < num_batches(), "no batch left");
      Fill(consumed_++, &batch);
    } else {
      std::unique_lock<std::mutex> lock(mutex_);
      const int wanted = consumed_;
      RIGPOSE_CHECK(wanted < num_batches(), "no batch left");
      changed_.wait(lock, [&] { return ready_.count(wanted) > 0; });
      batch = std::move(ready_[wanted]);
      ready_.erase(wanted);
      ++consumed_;
      lock.unlock();
      changed_.notify_all();
    }
    if (batch.error) std::rethrow_exception(batch.error);
    return batch;
  }

 private:
  void Work() {
    for (;;) {
      int b = 0;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        if (stop_ || next_ >= num_batches()) return;
        b = next_++;
        changed_.wait(lock, [&] { return stop_ || b < consumed_ + prefetch_; });
        if (stop_) return;
      }
      Batch batch;
      try {
        Fill(b, &batch);
      } catch (...) {
        batch.error = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        ready_[b] = std::move(batch);
      }
      changed_.notify_all();
    }
  }

  void Fill(int b, Batch* batch) const {
    const std::vector<BatchItem>& items = plan_[b];
    const TrainingInputSpec& spec = set_.spec();
    const int J = set_.num_joints();
    const size_t image_size = 3 * static_cast<size_t>(spec.input_width) * spec.input_height;
    const size_t target_size =
        static_cast<size_t>(J) * spec.heatmap_width() * spec.heatmap_height();
    const int B = static_cast<int>(items.size());
    batch->size = B;
    batch->images.resize(B * image_size);
    batch->targets.resize(B * target_size);
    batch->weights.resize(static_cast<size_t>(B) * J);
    batch->gt_xy.assign(static_cast<size_t>(B) * J * 2, 0.0f);
    batch->crop_from_image.resize(B);
    batch->indices.resize(B);
    const double stride = spec.heatmap_stride;
    for (int k = 0; k < B; ++k) {
      std::mt19937 rng(static_cast<std::mt19937::result_type>(items[k].seed));
      std::array<double, 6>& m = batch->crop_from_image[k];
      set_.GetSample(items[k].index,
                     augment_,
                     rng,
                     &batch->images[k * image_size],
                     &batch->targets[k * target_size],
                     &batch->weights[static_cast<size_t>(k) * J],
                     &m);
      batch->indices[k] = items[k].index;
      // The target's joint j is the instance's joint perm[j] after a flip (negative determinant).
      const bool flipped = m[0] * m[4] - m[1] * m[3] < 0;
      const TrainingInstance& inst = set_.instance(items[k].index);
      for (int j = 0; j < J; ++j) {
        const size_t w = static_cast<size_t>(k) * J + j;
        if (batch->weights[w] <= 0) continue;
        const int src = flipped ? set_.flip_permutation()[j] : j;
        const double x = inst.keypoints[3 * static_cast<size_t>(src)];
        const double y = inst.keypoints[3 * static_cast<size_t>(src) + 1];
        const double u = m[0] * x + m[1] * y + m[2], v = m[3] * x + m[4] * y + m[5];
        batch->gt_xy[2 * w] = static_cast<float>((u + 0.5) / stride - 0.5);
        batch->gt_xy[2 * w + 1] = static_cast<float>((v + 0.5) / stride - 0.5);
      }
    }
  }

  const KeypointTrainingSet& set_;
  const bool augment_;
  const std::vector<std::vector<BatchItem>> plan_;
  const int prefetch_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<int, Batch> ready_;
  int next_ = 0;      // next batch a worker builds
  int consumed_ = 0;  // batches handed out
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

// ---- Evaluation ---------------------------------------------------------------------------
PckResult Evaluate(LoadedModel& model,
                   const KeypointTrainingSet& set,
                   double alpha,
                   const torch::Device& device,
                   int max_instances,
                   int loader_threads,
                   bool flip_test) {
  const ModelInfo& info = model.info;
  const int J = info.num_joints;
  const int n = max_instances > 0 ? std::min(max_instances, set.size()) : set.size();
  constexpr int kBatch = 32;
  std::vector<std::vector<BatchItem>> plan;
  for (int i = 0; i < n; i += kBatch) {
    std::vector<BatchItem> items;
    for (int k = i; k < std::min(n, i + kBatch); ++k) items.push_back({k, 0});
    plan.push_back(std::move(items));
  }
  BatchLoader loader(set, false, std::move(plan), loader_threads, 2 * loader_threads + 1);

  if (model.net) {
    model.net->eval();
    model.net->set_mc_dropout(false);
  }
  torch::NoGradGuard no_grad;
  HeatmapDecodeOptions decode;
  decode.decoder = HeatmapDecoder::kDark;
  decode.dark_sigma = info.sigma;
  const int H = info.input_height, W = info.input_width;
  const int hh = H / info.heatmap_stride, hw = W / info.heatmap_stride;
  const double stride = info.heatmap_stride;
  std::vector<int64_t> correct(J, 0), labelled(J, 0);
  double error_sum = 0;
  std::vector<HeatmapPeak> peaks(J);
  for (int b = 0; b < loader.num_batches(); ++b) {
    Batch batch = loader.Next();
    const torch::Tensor images =
        torch::from_blob(batch.images.data(), {batch.size, 3, H, W}, torch::kFloat32).to(device);
    const NetOutput out = detect2d_internal::RunModel(model, images);
    torch::Tensor heatmaps = out.heatmaps.to(torch::kCPU, torch::kFloat32).contiguous();
    if (flip_test) {
      const NetOutput mirrored = detect2d_internal::RunModel(model, images.flip({3}));
      const torch::Tensor m = mirrored.heatmaps.to(torch::kCPU, torch::kFloat32).contiguous();
      const std::vector<float> back =
          UnflipHeatmaps(m.data_ptr<float>(), batch.size, J, hh, hw, set.flip_permutation());
      float* h = heatmaps.data_ptr<float>();
      for (size_t i = 0; i < back.size(); ++i) h[i] = 0.5f * (h[i] + back[i]);
    }
    for (int k = 0; k < batch.size; ++k) {
      const TrainingInstance& inst = set.instance(batch.indices[k]);
      DecodeHeatmaps(heatmaps[k].data_ptr<float>(), J, hh, hw, decode, peaks.data());
      const std::array<double, 6>& m = batch.crop_from_image[k];
      const double det = m[0] * m[4] - m[1] * m[3];
      const double threshold_px = alpha * std::max(inst.bbox[2], inst.bbox[3]);
      for (int j = 0; j < J; ++j) {
        const double* gt = &inst.keypoints[3 * static_cast<size_t>(j)];
        if (gt[2] <= 0) continue;
        // Crop px -> image px through the inverse affine.
        const double du = (peaks[j].x + 0.5) * stride - 0.5 - m[2];
        const double dv = (peaks[j].y + 0.5) * stride - 0.5 - m[5];
        const double x = (m[4] * du - m[1] * dv) / det, y = (-m[3] * du + m[0] * dv) / det;
        const double error = std::hypot(x - gt[0], y - gt[1]);
        ++labelled[j];
        error_sum += error;
        if (error <= threshold_px) ++correct[j];
      }
    }
  }
  PckResult result;
  result.per_joint_pck.assign(J, std::numeric_limits<double>::quiet_NaN());
  int64_t total_correct = 0;
  for (int j = 0; j < J; ++j) {
    result.joints += labelled[j];
    total_correct += correct[j];
    if (labelled[j] > 0) result.per_joint_pck[j] = double(correct[j]) / labelled[j];
  }
  if (result.joints > 0) {
    result.pck = double(total_correct) / result.joints;
    result.mean_error_px = error_sum / result.joints;
  }
  return result;
}

// ---- Checkpoints --------------------------------------------------------------------------
// A model file (ModelInfo + "net", so ReadModelInfo/LoadModel read it) plus the optimiser state
// and the number of epochs done.
void SaveCheckpoint(const std::string& path,
                    const ModelInfo& info,
                    DetectorNet& net,
                    torch::optim::Adam& optimizer,
                    int epochs_done,
                    uint64_t seed) {
  WriteFileAtomically(path, [&](const std::string& tmp) {
    torch::serialize::OutputArchive archive;
    archive.write(kInfoKey, c10::IValue(info.ToText()));
    std::ostringstream text;
    text << "format = " << kCheckpointFormat << "\nepochs_done = " << epochs_done
         << "\nseed = " << seed << '\n';
    archive.write(kCheckpointKey, c10::IValue(text.str()));
    torch::serialize::OutputArchive net_archive(archive.compilation_unit());
    net.save(net_archive);
    archive.write("net", net_archive);
    torch::serialize::OutputArchive optimizer_archive(archive.compilation_unit());
    optimizer.save(optimizer_archive);
    archive.write("optimizer", optimizer_archive);
    archive.save_to(tmp);
  });
}

// Loads a checkpoint into `net` and `optimizer`; returns the epochs it had done and sets
// `trained_epochs` to its model's bookkeeping. InputError when it holds another model, IoError
// naming the path when it is not a checkpoint.
int LoadCheckpoint(const std::string& path,
                   const ModelInfo& info,
                   const torch::Device& device,
                   DetectorNet& net,
                   torch::optim::Adam& optimizer,
                   int* trained_epochs) {
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path, device);
    c10::IValue text;
    if (!archive.try_read(kCheckpointKey, text) || !text.isString()) {
      throw IoError(path +
                    ": not a rigpose training checkpoint (a model file? train from it with "
                    "--model instead)");
    }
    int epochs_done = -1;
    bool format_ok = false;
    std::istringstream in(text.toStringRef());
    std::string line;
    while (std::getline(in, line)) {
      const size_t eq = line.find('=');
      if (eq == std::string::npos) continue;
      const std::string key = line.substr(0, eq);
      const std::string value = line.substr(eq + 1);
      if (key.find("format") == 0) format_ok = value.find(kCheckpointFormat) != std::string::npos;
      if (key.find("epochs_done") == 0) epochs_done = std::atoi(value.c_str());
    }
    if (!format_ok || epochs_done < 1) throw IoError(path + ": corrupt training checkpoint");
    c10::IValue info_text;
    if (!archive.try_read(kInfoKey, info_text) || !info_text.isString()) {
      throw IoError(path + ": corrupt training checkpoint (no model description)");
    }
    const ModelInfo saved = ModelInfo::FromText(info_text.toStringRef(), path);
    if (saved.arch != info.arch || saved.num_joints != info.num_joints ||
        saved.input_width != info.input_width || saved.input_height != info.input_height ||
        saved.dropout != info.dropout || saved.aleatoric != info.aleatoric) {
      throw InputError(
          path + ": the checkpoint is of another model (" + saved.arch + ", " +
          std::to_string(saved.num_joints) + " joints, " + std::to_string(saved.input_width) + "x" +
          std::to_string(saved.input_height) + ") than the one trained (" + info.arch + ", " +
          std::to_string(info.num_joints) + " joints, " + std::to_string(info.input_width) + "x" +
          std::to_string(info.input_height) + "): remove it or give another --checkpoint");
    }
    torch::serialize::InputArchive net_archive;
    archive.read("net", net_archive);
    net.load(net_archive);
    torch::serialize::InputArchive optimizer_archive;
    archive.read("optimizer", optimizer_archive);
    optimizer.load(optimizer_archive);
    *trained_epochs = saved.trained_epochs;
    return epochs_done;
  } catch (const c10::Error& e) {
    throw IoError(path + ": corrupt training checkpoint: " + e.what_without_backtrace());
  }
}

void SetLearningRate(torch::optim::Adam& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) {
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
  }
}

// Soft-argmax (heatmap px) of [B, J, h, w] maps: [B, J, 2].
torch::Tensor SoftArgmax(const torch::Tensor& heatmaps) {
  const int64_t B = heatmaps.size(0), J = heatmaps.size(1);
  const int64_t h = heatmaps.size(2), w = heatmaps.size(3);
  const torch::Tensor p =
      torch::softmax(heatmaps.reshape({B, J, h * w}) * kSoftArgmaxBeta, 2).reshape({B, J, h, w});
  const auto options = heatmaps.options();
  const torch::Tensor xs = torch::arange(w, options), ys = torch::arange(h, options);
  const torch::Tensor x = (p.sum(2) * xs).sum(2);  // [B, J]
  const torch::Tensor y = (p.sum(3) * ys).sum(2);
  return torch::stack({x, y}, 2);
}

}  // namespace

std::vector<std::string> TrainOptions::Check() const {
  std::vector<std::string> problems;
  if (device != "cpu" && device.rfind("cuda", 0) != 0) {
    problems.push_back("device must be cpu, cuda or cuda:N, got '" + device + "'");
  }
  if (num_threads < 0) problems.push_back("num_threads must be >= 0");
  if (epochs < 1) problems.push_back("epochs must be >= 1, got " + std::to_string(epochs));
  if (batch_size < 1) {
    problems.push_back("batch_size must be >= 1, got " + std::to_string(batch_size));
  }
  if (!(learning_rate > 0 && std::isfinite(learning_rate))) {
    problems.push_back("learning_rate must be > 0, got " + std::to_string(learning_rate));
  }
  for (int m : lr_milestones_epochs) {
    if (m < 0) problems.push_back("lr_milestones_epochs must be >= 0, got " + std::to_string(m));
  }
  if (!(lr_gamma > 0 && std::isfinite(lr_gamma))) {
    problems.push_back("lr_gamma must be > 0, got " + std::to_string(lr_gamma));
  }
  if (!(weight_decay >= 0 && std::isfinite(weight_decay))) {
    problems.push_back("weight_decay must be >= 0, got " + std::to_string(weight_decay));
  }
  if (loader_threads < 0 || loader_threads > 64) {
    problems.push_back("loader_threads must be in [0, 64], got " + std::to_string(loader_threads));
  }
  if (resume && checkpoint_path.empty()) problems.push_back("resume needs a checkpoint_path");
  if (!(aleatoric_weight >= 0 && std::isfinite(aleatoric_weight))) {
    problems.push_back("aleatoric_weight must be >= 0, got " + std::to_string(aleatoric_weight));
  }
  if (max_steps < 0) problems.push_back("max_steps must be >= 0 (0: no limit)");
  if (val_max_instances < 0) problems.push_back("val_max_instances must be >= 0 (0: all)");
  if (!(val_alpha > 0 && std::isfinite(val_alpha))) {
    problems.push_back("val_alpha must be > 0, got " + std::to_string(val_alpha));
  }
  for (const std::string& p : augment.Check()) problems.push_back("augment: " + p);
  return problems;
}

TrainSummary TrainDetector(const std::string& model_path,
                           const KeypointTrainingSet& train_set,
                           const KeypointTrainingSet* val_set,
                           const std::string& out_path,
                           const TrainOptions& options,
                           const std::function<void(const std::string&)>& log) {
  const auto start = Clock::now();
  if (const auto problems = options.Check(); !problems.empty()) {
    throw UsageError(FormatProblems("train options", problems));
  }
  const torch::Device device = ParseDevice(options.device);
  SetThreads(device, options.num_threads);
  if (out_path.empty()) throw UsageError("train: no output path");
  if (fs::path(out_path).has_parent_path() && !fs::is_directory(fs::path(out_path).parent_path())) {
    throw IoError(out_path + ": the output folder does not exist");
  }

  LoadedModel model = detect2d_internal::LoadModel(model_path, device);
  if (model.info.kind != "native" || !model.net) {
    throw InputError(model_path +
                     ": only native models (simplebaseline-r18/-r50/-mini, hrnet-w32) can "
                     "be trained, this one is " +
                     model.info.kind + " (" + model.info.arch + ")");
  }
  CheckSetFitsModel(model.info, model_path, train_set, "training set");
  if (val_set) CheckSetFitsModel(model.info, model_path, *val_set, "validation set");
  // Copies (annotations only) so that the options' augmentation and padding apply.
  KeypointTrainingSet train = train_set;
  train.set_augment_options(options.augment);
  std::optional<KeypointTrainingSet> val;
  if (val_set) {
    val = *val_set;
    AugmentOptions eval_augment = val->augment_options();
    eval_augment.box_padding = options.augment.box_padding;
    val->set_augment_options(eval_augment);
  }

  ModelInfo info = model.info;
  int base_epochs = info.trained_epochs;  // of the run's initial model
  info.sigma = train.spec().sigma;
  DetectorNet& net = *model.net;
  torch::optim::Adam optimizer(
      net.parameters(),
      torch::optim::AdamOptions(options.learning_rate).weight_decay(options.weight_decay));

  TrainSummary summary;
  int epochs_done = 0;
  if (options.resume && fs::exists(options.checkpoint_path)) {
    int trained_epochs = 0;
    epochs_done =
        LoadCheckpoint(options.checkpoint_path, info, device, net, optimizer, &trained_epochs);
    base_epochs = std::max(0, trained_epochs - epochs_done);
    summary.resumed = true;
    if (log) {
      log("resumed from " + options.checkpoint_path + " after epoch " +
          std::to_string(epochs_done));
    }
  } else if (options.resume && log) {
    log("no checkpoint at " + options.checkpoint_path + ": starting from the first epoch");
  }
  summary.start_epoch = epochs_done;

  const int N = train.size();
  const int J = train.num_joints();
  const TrainingInputSpec& spec = train.spec();
  const int H = spec.input_height, W = spec.input_width;
  const int hh = spec.heatmap_height(), hw = spec.heatmap_width();
  const bool aleatoric = info.aleatoric && options.aleatoric_weight > 0;
  double train_seconds = 0;
  int64_t samples = 0;
  bool stop = false;
  const auto validate = [&] {
    LoadedModel view{info, model.net, std::nullopt, {}};
    return Evaluate(view,
                    *val,
                    options.val_alpha,
                    device,
                    options.val_max_instances,
                    options.loader_threads,
                    options.val_flip_test);
  };
  for (int epoch = epochs_done; epoch < options.epochs && !stop; ++epoch) {
    if (options.max_steps > 0 && summary.steps >= options.max_steps) break;
    const auto epoch_start = Clock::now();
    double lr = options.learning_rate;
    for (int m : options.lr_milestones_epochs) {
      if (epoch >= m) lr *= options.lr_gamma;
    }
    SetLearningRate(optimizer, lr);

    // Order and augmentation seeds of this epoch.
    const uint64_t epoch_key = Mix(Mix(options.seed, 1), static_cast<uint64_t>(epoch));
    std::vector<int> order(N);
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 shuffle_rng(epoch_key);
    std::shuffle(order.begin(), order.end(), shuffle_rng);
    std::vector<std::vector<BatchItem>> plan;
    for (int i = 0; i < N; i += options.batch_size) {
      std::vector<BatchItem> items;
      for (int k = i; k < std::min(N, i + options.batch_size); ++k) {
        items.push_back({order[k], Mix(epoch_key, static_cast<uint64_t>(k))});
      }
      plan.push_back(std::move(items));
    }
    BatchLoader loader(
        train, true, std::move(plan), options.loader_threads, 2 * options.loader_threads + 1);

    net.train();
    TrainEpochStats stats;
    stats.epoch = epoch;
    stats.learning_rate = lr;
    double loss_sum = 0, heatmap_loss_sum = 0;
    int64_t epoch_samples = 0;
    for (int b = 0; b < loader.num_batches(); ++b) {
      if (options.max_steps > 0 && summary.steps >= options.max_steps) {
        stop = true;
        break;
      }
      Batch batch = loader.Next();
      const int B = batch.size;
      // Dropout masks of this step.
      torch::manual_seed(
          Mix(Mix(Mix(options.seed, 3), static_cast<uint64_t>(epoch)), static_cast<uint64_t>(b)));
      const torch::Tensor images =
          torch::from_blob(batch.images.data(), {B, 3, H, W}, torch::kFloat32).to(device);
      const torch::Tensor targets =
          torch::from_blob(batch.targets.data(), {B, J, hh, hw}, torch::kFloat32).to(device);
      const torch::Tensor weights =
          torch::from_blob(batch.weights.data(), {B, J}, torch::kFloat32).to(device);
      const NetOutput out = net.Forward(images);
      const torch::Tensor heatmap_loss =
          0.5 * ((out.heatmaps - targets).pow(2).mean({2, 3}) * weights).mean();
      torch::Tensor loss = heatmap_loss;
      if (aleatoric && out.log_var.defined()) {
        const torch::Tensor gt =
            torch::from_blob(batch.gt_xy.data(), {B, J, 2}, torch::kFloat32).to(device);
        const torch::Tensor d2 = (SoftArgmax(out.heatmaps.detach()) - gt).pow(2).sum(2);
        const torch::Tensor s = out.log_var.clamp(-20.0, 20.0);
        const torch::Tensor nll = 0.5 * torch::exp(-s) * d2 + s;
        loss = loss + options.aleatoric_weight * (nll * weights).sum() / weights.sum().clamp_min(1);
      }
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      const double loss_value = loss.item<double>();
      if (!std::isfinite(loss_value)) {
        throw InputError("train: the loss became " + std::to_string(loss_value) + " at epoch " +
                         std::to_string(epoch + 1) + " step " + std::to_string(b + 1) +
                         " (learning rate " + std::to_string(lr) + " too high?)");
      }
      loss_sum += loss_value;
      heatmap_loss_sum += heatmap_loss.item<double>();
      ++stats.steps;
      ++summary.steps;
      epoch_samples += B;
    }
    stats.seconds = Seconds(epoch_start);
    train_seconds += stats.seconds;
    samples += epoch_samples;
    if (stats.steps > 0) {
      stats.loss = loss_sum / stats.steps;
      stats.heatmap_loss = heatmap_loss_sum / stats.steps;
    }
    stats.samples_per_second = stats.seconds > 0 ? epoch_samples / stats.seconds : 0;
    const bool complete = stats.steps == loader.num_batches();
    if (stats.steps > 0) epochs_done = epoch + 1;
    if (complete && !options.checkpoint_path.empty()) {
      ModelInfo checkpoint_info = info;
      checkpoint_info.trained_epochs = base_epochs + epochs_done;
      SaveCheckpoint(
          options.checkpoint_path, checkpoint_info, net, optimizer, epochs_done, options.seed);
    }
    if (val && stats.steps > 0) {
      const PckResult pck = validate();
      stats.val_pck = pck.pck;
      stats.val_mean_error_px = pck.mean_error_px;
      summary.final_val_pck = pck.pck;
      summary.final_val_mean_error_px = pck.mean_error_px;
    }
    if (stats.steps > 0) {
      summary.epochs.push_back(stats);
      if (log) {
        std::ostringstream line;
        line.precision(4);
        line << "epoch " << epoch + 1 << "/" << options.epochs << (complete ? "" : " (partial)")
             << ": loss " << stats.loss << " (heatmap " << stats.heatmap_loss << "), lr " << lr
             << ", " << stats.steps << " steps, " << std::fixed;
        line.precision(1);
        line << stats.samples_per_second << " samples/s, " << stats.seconds << " s";
        if (stats.val_pck >= 0) {
          line.precision(3);
          line << ", val PCK@" << std::defaultfloat << options.val_alpha << std::fixed << " "
               << stats.val_pck;
          line.precision(2);
          line << " (mean error " << stats.val_mean_error_px << " px)";
        }
        log(line.str());
      }
    }
  }
  // A resumed run with nothing left to train still reports the validation of its weights.
  if (val && summary.epochs.empty()) {
    const PckResult pck = validate();
    summary.final_val_pck = pck.pck;
    summary.final_val_mean_error_px = pck.mean_error_px;
  }
  summary.samples_per_second = train_seconds > 0 ? samples / train_seconds : 0;
  info.trained_epochs = base_epochs + epochs_done;
  summary.trained_epochs = info.trained_epochs;
  net.eval();
  detect2d_internal::SaveModel(out_path, info, net);
  summary.seconds = Seconds(start);
  return summary;
}

PckResult EvaluatePck(const std::string& model_path,
                      const KeypointTrainingSet& set,
                      double alpha,
                      const std::string& device_name,
                      int max_instances,
                      int num_threads,
                      bool flip_test) {
  if (!(alpha > 0 && std::isfinite(alpha))) {
    throw UsageError("EvaluatePck: alpha must be > 0, got " + std::to_string(alpha));
  }
  if (max_instances < 0) throw UsageError("EvaluatePck: max_instances must be >= 0 (0: all)");
  const torch::Device device = ParseDevice(device_name);
  SetThreads(device, num_threads);
  LoadedModel model = detect2d_internal::LoadModel(model_path, device);
  CheckSetFitsModel(model.info, model_path, set, "evaluation set");
  return Evaluate(model, set, alpha, device, max_instances, 2, flip_test);
}

}  // namespace rigpose

// SPDX-License-Identifier: BSD-3-Clause
#include "detect2d/training_data.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <unordered_map>

#include <spdlog/spdlog.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.h"
#include "data/coco_keypoints.h"
#include "data/file_util.h"

namespace rigpose {
namespace fs = std::filesystem;
namespace {

bool IsVideoFile(const std::string& file_name) {
  static const std::set<std::string> kVideo = {
      ".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"};
  return kVideo.count(FileExtension(file_name)) > 0;
}

std::string JoinNames(const std::set<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
  return s.empty() ? "none" : s;
}

// crop = M * (x, y, 1).
inline void Apply(const std::array<double, 6>& m, double x, double y, double* u, double* v) {
  *u = m[0] * x + m[1] * y + m[2];
  *v = m[3] * x + m[4] * y + m[5];
}

// Unnormalised Gaussian (peak 1) at heatmap point (hx, hy), cut at 3 sigma; `map` is zeroed.
void DrawGaussian(float* map, int width, int height, double hx, double hy, double sigma) {
  const double radius = std::ceil(3.0 * sigma);
  const int x0 = std::max(0, static_cast<int>(std::floor(hx - radius)));
  const int x1 = std::min(width - 1, static_cast<int>(std::ceil(hx + radius)));
  const int y0 = std::max(0, static_cast<int>(std::floor(hy - radius)));
  const int y1 = std::min(height - 1, static_cast<int>(std::ceil(hy + radius)));
  const double inv = 1.0 / (2.0 * sigma * sigma);
  for (int y = y0; y <= y1; ++y) {
    const double dy2 = (y - hy) * (y - hy);
    for (int x = x0; x <= x1; ++x) {
      const double d2 = (x - hx) * (x - hx) + dy2;
      if (d2 > radius * radius) continue;
      map[static_cast<size_t>(y) * width + x] = static_cast<float>(std::exp(-d2 * inv));
    }
  }
}

// Brightness, contrast (about the mean grey level) and saturation (about each pixel's grey)
// factors on a float BGR image in [0, 1], clamped.
void JitterColour(cv::Mat& bgr, double brightness, double contrast, double saturation) {
  bgr *= brightness;
  cv::Mat grey;
  cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
  const double mean = cv::mean(grey)[0];
  bgr = (bgr - cv::Scalar::all(mean)) * contrast + cv::Scalar::all(mean);
  grey = (grey - mean) * contrast + mean;
  cv::Mat grey3;
  cv::cvtColor(grey, grey3, cv::COLOR_GRAY2BGR);
  cv::addWeighted(bgr, saturation, grey3, 1.0 - saturation, 0.0, bgr);
  cv::min(bgr, 1.0, bgr);
  cv::max(bgr, 0.0, bgr);
}

}  // namespace

std::vector<std::string> AugmentOptions::Check() const {
  std::vector<std::string> problems;
  const auto probability = [&](double p, const char* name) {
    if (!(p >= 0 && p <= 1))
      problems.push_back(std::string(name) + " must be in [0, 1], got " + std::to_string(p));
  };
  probability(flip_probability, "flip_probability");
  probability(rotation_probability, "rotation_probability");
  probability(full_image_probability, "full_image_probability");
  if (!(scale_range >= 0 && scale_range < 1))
    problems.push_back("scale_range must be in [0, 1), got " + std::to_string(scale_range));
  if (!(rotation_deg >= 0 && rotation_deg <= 180))
    problems.push_back("rotation_deg must be in [0, 180], got " + std::to_string(rotation_deg));
  if (!(shift_fraction >= 0 && shift_fraction <= 1))
    problems.push_back("shift_fraction must be in [0, 1], got " + std::to_string(shift_fraction));
  if (!(colour_jitter >= 0 && colour_jitter < 1))
    problems.push_back("colour_jitter must be in [0, 1), got " + std::to_string(colour_jitter));
  if (!(box_padding > 0 && std::isfinite(box_padding)))
    problems.push_back("box_padding must be > 0, got " + std::to_string(box_padding));
  return problems;
}

std::vector<std::string> TrainingInputSpec::Check() const {
  std::vector<std::string> problems;
  if (input_width <= 0 || input_height <= 0)
    problems.push_back("input_width and input_height must be > 0, got " +
                       std::to_string(input_width) + "x" + std::to_string(input_height));
  if (heatmap_stride <= 0) {
    problems.push_back("heatmap_stride must be > 0, got " + std::to_string(heatmap_stride));
  } else if (input_width % heatmap_stride != 0 || input_height % heatmap_stride != 0) {
    problems.push_back("heatmap_stride " + std::to_string(heatmap_stride) +
                       " must divide the input size " + std::to_string(input_width) + "x" +
                       std::to_string(input_height));
  }
  if (!(sigma > 0 && std::isfinite(sigma)))
    problems.push_back("sigma must be > 0, got " + std::to_string(sigma));
  for (int c = 0; c < 3; ++c) {
    if (!(std[c] > 0 && std::isfinite(std[c])) || !std::isfinite(mean[c])) {
      problems.push_back("mean/std channel " + std::to_string(c) + " must be finite with std > 0");
    }
  }
  return problems;
}

std::array<double, 6> CropFromBox(const std::array<double, 4>& bbox_xywh,
                                  int input_width,
                                  int input_height,
                                  double box_padding,
                                  double scale,
                                  double rotation_deg,
                                  double shift_x_px,
                                  double shift_y_px) {
  RIGPOSE_CHECK(input_width > 0 && input_height > 0,
                "input size " << input_width << "x" << input_height);
  RIGPOSE_CHECK(box_padding > 0 && scale > 0, "box_padding " << box_padding << ", scale " << scale);
  const double aspect = static_cast<double>(input_width) / input_height;
  double w = bbox_xywh[2] * box_padding;
  double h = bbox_xywh[3] * box_padding;
  RIGPOSE_CHECK(std::isfinite(w) && std::isfinite(h) && (w > 0 || h > 0) && w >= 0 && h >= 0,
                "box " << bbox_xywh[2] << "x" << bbox_xywh[3]);
  if (w > aspect * h) {
    h = w / aspect;
  } else {
    w = h * aspect;
  }
  w *= scale;
  const double s = w / input_width;  // image pixels per crop pixel (= h / input_height)
  const double cx = bbox_xywh[0] + 0.5 * bbox_xywh[2] + shift_x_px;
  const double cy = bbox_xywh[1] + 0.5 * bbox_xywh[3] + shift_y_px;
  const double theta = rotation_deg * M_PI / 180.0;
  const double a = std::cos(theta) / s;
  const double b = std::sin(theta) / s;
  // crop = R(theta) / s * (image - centre) + crop centre; the crop's centre is at
  // (W / 2 - 0.5, H / 2 - 0.5) with pixel centres at integers.
  const double u0 = 0.5 * input_width - 0.5;
  const double v0 = 0.5 * input_height - 0.5;
  return {a, b, u0 - a * cx - b * cy, -b, a, v0 + b * cx - a * cy};
}

std::vector<int> FlipPermutationFromNames(const std::vector<std::string>& joint_names) {
  static const std::vector<std::pair<std::string, std::string>> kPrefixes = {
      {"left_", "right_"}, {"l_", "r_"}, {"Left", "Right"}, {"L", "R"}, {"left", "right"}};
  std::unordered_map<std::string, int> index;
  for (size_t j = 0; j < joint_names.size(); ++j)
    index.emplace(joint_names[j], static_cast<int>(j));
  std::vector<int> perm(joint_names.size());
  for (size_t j = 0; j < joint_names.size(); ++j) {
    perm[j] = static_cast<int>(j);
    const std::string& name = joint_names[j];
    for (const auto& [left, right] : kPrefixes) {
      std::string mirror;
      if (name.size() > left.size() && name.compare(0, left.size(), left) == 0) {
        mirror = right + name.substr(left.size());
      } else if (name.size() > right.size() && name.compare(0, right.size(), right) == 0) {
        mirror = left + name.substr(right.size());
      } else {
        continue;
      }
      const auto it = index.find(mirror);
      if (it != index.end()) {
        perm[j] = it->second;
        break;
      }
    }
  }
  // Keep it an involution: a pairing that is not mutual is dropped.
  for (size_t j = 0; j < perm.size(); ++j) {
    if (perm[perm[j]] != static_cast<int>(j)) perm[j] = static_cast<int>(j);
  }
  return perm;
}

KeypointTrainingSet::KeypointTrainingSet(const std::string& coco_json,
                                         const std::string& image_root,
                                         const TrainingInputSpec& spec,
                                         std::vector<std::string> include_cameras,
                                         std::vector<std::string> exclude_cameras)
    : spec_(spec) {
  if (const auto problems = spec.Check(); !problems.empty())
    throw InputError(FormatProblems("training input spec", problems));
  CocoKeypointsDataset dataset = ReadCocoKeypoints(coco_json);
  joint_names_ = dataset.keypoint_names;
  bones_ = dataset.bones;
  skeleton_ = dataset.skeleton;
  flip_permutation_ = FlipPermutationFromNames(joint_names_);

  fs::path root(image_root);
  if (image_root.empty()) {
    const fs::path folder = fs::path(coco_json).parent_path();
    root = folder.filename() == "annotations" ? folder.parent_path() : folder;
  }

  std::set<std::string> cameras;
  for (const CocoImage& im : dataset.images) cameras.insert(im.camera);
  cameras.erase("");
  const auto check_cameras = [&](const std::vector<std::string>& names, const char* list) {
    for (const std::string& name : names) {
      if (cameras.count(name) == 0)
        throw InputError(coco_json + ": camera '" + name + "' in " + list +
                         ": no image has it (cameras: " + JoinNames(cameras) + ")");
    }
  };
  check_cameras(include_cameras, "include_cameras");
  check_cameras(exclude_cameras, "exclude_cameras");
  const std::set<std::string> include(include_cameras.begin(), include_cameras.end());
  const std::set<std::string> exclude(exclude_cameras.begin(), exclude_cameras.end());

  std::unordered_map<int64_t, const CocoImage*> images;
  for (const CocoImage& im : dataset.images) images.emplace(im.id, &im);
  std::set<int64_t> checked_images;
  int skipped_empty = 0, skipped_crowd = 0, skipped_box = 0;
  for (CocoAnnotation& a : dataset.annotations) {
    const CocoImage& im = *images.at(a.image_id);
    if (!include.empty() && include.count(im.camera) == 0) continue;
    if (exclude.count(im.camera) > 0) continue;
    if (a.iscrowd) {
      ++skipped_crowd;
      continue;
    }
    if (a.num_keypoints == 0) {
      ++skipped_empty;
      continue;
    }
    if (!(std::max(a.bbox[2], a.bbox[3]) > 1.0)) {  // no scale to crop at
      ++skipped_box;
      continue;
    }
    const fs::path path =
        fs::path(im.file_name).is_absolute() ? fs::path(im.file_name) : root / im.file_name;
    if (checked_images.insert(im.id).second) {
      if (IsVideoFile(im.file_name))
        throw InputError(coco_json + ": image id " + std::to_string(im.id) + " is a video ('" +
                         im.file_name + "', frame_index " + std::to_string(im.frame_index) +
                         "): video-backed COCO is not supported for training; render the "
                         "capture with image format png or jpg (rigpose synth --format png)");
      std::error_code ec;
      if (!fs::is_regular_file(path, ec))
        ThrowIo(path.string(),
                0,
                "",
                "image file not found (image id " + std::to_string(im.id) + " of " + coco_json +
                    ", image root '" + root.string() + "')");
    }
    TrainingInstance t;
    t.image_path = path.string();
    t.camera = im.camera;
    t.frame_index = im.frame_index;
    t.image_id = im.id;
    t.annotation_id = a.id;
    t.image_width = im.width;
    t.image_height = im.height;
    t.keypoints = std::move(a.keypoints);
    t.bbox = a.bbox;
    instances_.push_back(std::move(t));
  }
  if (skipped_empty + skipped_crowd + skipped_box > 0)
    spdlog::info("{}: skipped {} instances without keypoints, {} crowd, {} with a degenerate box",
                 coco_json,
                 skipped_empty,
                 skipped_crowd,
                 skipped_box);
  if (instances_.empty())
    throw InputError(coco_json + ": no person instance with keypoints" +
                     (include.empty() && exclude.empty() ? "" : " in the selected cameras"));
}

void KeypointTrainingSet::set_augment_options(const AugmentOptions& options) {
  if (const auto problems = options.Check(); !problems.empty())
    throw InputError(FormatProblems("augmentation options", problems));
  augment_ = options;
}

const TrainingInstance& KeypointTrainingSet::instance(int index) const {
  RIGPOSE_CHECK(index >= 0 && index < size(), "instance " << index << " of " << size());
  return instances_[index];
}

std::array<double, 6> KeypointTrainingSet::EvalCropFromImage(int index) const {
  return CropFromBox(
      instance(index).bbox, spec_.input_width, spec_.input_height, augment_.box_padding);
}

void KeypointTrainingSet::GetSample(int index,
                                    bool augment,
                                    std::mt19937& rng,
                                    float* image_chw,
                                    float* target,
                                    float* weight,
                                    std::array<double, 6>* crop_from_image) const {
  const TrainingInstance& inst = instance(index);
  RIGPOSE_CHECK(image_chw != nullptr && target != nullptr && weight != nullptr,
                "null output buffer");
  const int W = spec_.input_width;
  const int H = spec_.input_height;
  const int J = num_joints();

  // Draw every random number first, in a fixed order (reproducible whatever the branches).
  double scale = 1, rotation_deg = 0, shift_x = 0, shift_y = 0;
  double brightness = 1, contrast = 1, saturation = 1;
  bool flip = false, full_image = false;
  if (augment) {
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    const auto uniform = [&](double lo, double hi) { return lo + (hi - lo) * unit(rng); };
    const AugmentOptions& o = augment_;
    scale = uniform(1 - o.scale_range, 1 + o.scale_range);
    const double angle = uniform(-o.rotation_deg, o.rotation_deg);
    rotation_deg = unit(rng) < o.rotation_probability ? angle : 0.0;
    shift_x = uniform(-o.shift_fraction, o.shift_fraction) * inst.bbox[2];
    shift_y = uniform(-o.shift_fraction, o.shift_fraction) * inst.bbox[3];
    flip = unit(rng) < o.flip_probability;
    brightness = uniform(1 - o.colour_jitter, 1 + o.colour_jitter);
    contrast = uniform(1 - o.colour_jitter, 1 + o.colour_jitter);
    saturation = uniform(1 - o.colour_jitter, 1 + o.colour_jitter);
    // Drawn only when enabled: runs without it keep their random sequence.
    if (o.full_image_probability > 0) full_image = unit(rng) < o.full_image_probability;
  }
  const cv::Mat bgr = cv::imread(inst.image_path, cv::IMREAD_COLOR);
  if (bgr.empty()) ThrowIo(inst.image_path, 0, "", "cannot read the image");
  std::array<double, 6> m =
      full_image
          ? CropFromBox({0.0, 0.0, double(bgr.cols), double(bgr.rows)}, W, H, 1.0)
          : CropFromBox(
                inst.bbox, W, H, augment_.box_padding, scale, rotation_deg, shift_x, shift_y);
  if (flip) {  // u' = W - 1 - u
    m[0] = -m[0];
    m[1] = -m[1];
    m[2] = (W - 1) - m[2];
  }
  if (crop_from_image != nullptr) *crop_from_image = m;

  // Image.
  if ((inst.image_width > 0 && bgr.cols != inst.image_width) ||
      (inst.image_height > 0 && bgr.rows != inst.image_height))
    ThrowIo(inst.image_path,
            0,
            "",
            "image is " + std::to_string(bgr.cols) + "x" + std::to_string(bgr.rows) +
                ", the annotation (image id " + std::to_string(inst.image_id) + ") says " +
                std::to_string(inst.image_width) + "x" + std::to_string(inst.image_height));
  cv::Mat crop;
  const cv::Mat affine(2, 3, CV_64F, m.data());
  cv::warpAffine(bgr, crop, affine, cv::Size(W, H), cv::INTER_LINEAR, cv::BORDER_CONSTANT, 0);
  crop.convertTo(crop, CV_32FC3, 1.0 / 255.0);
  if (augment && augment_.colour_jitter > 0) JitterColour(crop, brightness, contrast, saturation);
  const size_t plane = static_cast<size_t>(W) * H;
  for (int y = 0; y < H; ++y) {
    const cv::Vec3f* row = crop.ptr<cv::Vec3f>(y);
    for (int x = 0; x < W; ++x) {
      for (int c = 0; c < 3; ++c) {  // RGB planes from BGR pixels
        image_chw[c * plane + static_cast<size_t>(y) * W + x] =
            (row[x][2 - c] - spec_.mean[c]) / spec_.std[c];
      }
    }
  }

  // Targets.
  const int hw = spec_.heatmap_width();
  const int hh = spec_.heatmap_height();
  const double stride = spec_.heatmap_stride;
  std::fill(target, target + static_cast<size_t>(J) * hw * hh, 0.0f);
  for (int j = 0; j < J; ++j) {
    const int src = flip ? flip_permutation_[j] : j;
    const double* k = &inst.keypoints[3 * static_cast<size_t>(src)];
    weight[j] = 0.0f;
    if (k[2] <= 0) continue;
    double u = 0, v = 0;
    Apply(m, k[0], k[1], &u, &v);
    if (!(u >= -0.5 && u < W - 0.5 && v >= -0.5 && v < H - 0.5)) continue;
    weight[j] = 1.0f;
    DrawGaussian(target + static_cast<size_t>(j) * hw * hh,
                 hw,
                 hh,
                 (u + 0.5) / stride - 0.5,
                 (v + 0.5) / stride - 0.5,
                 spec_.sigma);
  }
}

}  // namespace rigpose

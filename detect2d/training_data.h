// SPDX-License-Identifier: BSD-3-Clause
// Samples for training a top-down heatmap keypoint detector from a COCO keypoints file (the
// synthetic studio's annotations/person_keypoints.json, or a COCO/MMPose dataset): one sample is
// one person instance, cropped around its box, augmented, normalised, with Gaussian targets.
//
// Geometry (pixel centres at integers, rigpose/OpenCV convention, everywhere):
//  - The box (COCO bbox) grows by box_padding and is widened or heightened to the input aspect.
//  - crop_from_image is a 2x3 affine [a b tx; c d ty]: crop = A * image + t. Without rotation,
//    crop pixel u has its centre at image x = x0 + (u + 0.5) * s - 0.5, with x0 the crop
//    window's left edge in COCO (corner) coordinates and s image pixels per crop pixel. The
//    image is warped with exactly this matrix (cv::warpAffine, bilinear, black border) and the
//    keypoints are mapped with it, so the two always agree.
//  - Heatmaps (UDP-consistent, Huang et al., "The Devil is in the Details: Delving into Unbiased
//    Data Processing for Human Pose Estimation", CVPR 2020): crop point u -> heatmap
//    (u + 0.5) / stride - 0.5; each map is an unnormalised Gaussian (peak 1) of std `sigma`
//    heatmap pixels, cut at 3 sigma.
//  - Flip: mirror in the crop (u' = W - 1 - u, folded into crop_from_image, whose determinant is
//    then negative) and relabel joints: after a flip, joint j's target is where the person's
//    joint flip_permutation()[j] was drawn, since the mirrored person's anatomical left is the
//    original right.
#pragma once

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace rigpose {

struct AugmentOptions {
  double flip_probability = 0.5;  // mirror + swap left/right joints
  double scale_range = 0.25;      // box scale factor uniform in [1 - s, 1 + s]
  double rotation_deg = 30;       // uniform in [-r, r], applied with rotation_probability
  double rotation_probability = 0.6;
  double shift_fraction = 0.1;  // box centre shift, uniform in [-f, f] times the box w / h
  double colour_jitter = 0.2;   // brightness/contrast/saturation factors in [1 - c, 1 + c]
  double box_padding = 1.25;    // the box grows by this factor (also without augmentation)
  // Probability of training on the whole image, letterboxed, instead of the person's box: the
  // person is then small, as in the first (whole-frame) pass of `rigpose detect`.
  double full_image_probability = 0.0;

  // One sentence per problem, naming the field; empty when usable.
  std::vector<std::string> Check() const;
};

struct TrainingInputSpec {
  int input_width = 192;
  int input_height = 256;
  int heatmap_stride = 4;  // heatmap size = input size / stride (must divide it)
  double sigma = 2.0;      // Gaussian std in heatmap pixels
  // Per-channel normalisation in RGB order, on [0, 1] values: (rgb - mean) / std.
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};

  int heatmap_width() const { return heatmap_stride > 0 ? input_width / heatmap_stride : 0; }
  int heatmap_height() const { return heatmap_stride > 0 ? input_height / heatmap_stride : 0; }
  // One sentence per problem, naming the field; empty when usable.
  std::vector<std::string> Check() const;
};

// One person instance, in image pixels (rigpose convention).
struct TrainingInstance {
  std::string image_path;  // resolved (image_root / file_name)
  std::string camera;      // "" when the file has no "camera" key
  int frame_index = -1;
  int64_t image_id = 0;
  int64_t annotation_id = 0;
  int image_width = 0, image_height = 0;
  std::vector<double> keypoints;  // [J][3] = (x, y, v), v in {0, 1, 2}
  std::array<double, 4> bbox{};   // x, y (top-left corner), w, h
};

// The crop of a box: padded by `box_padding`, widened or heightened to
// input_width : input_height, scaled by `scale` (> 1: a larger window, a smaller person),
// rotated by `rotation_deg` (counter-clockwise in the crop as displayed, y down) about the
// box centre shifted by (shift_x_px, shift_y_px) image pixels. Returns crop_from_image, 2x3
// row-major. std::invalid_argument for a non-positive size, padding or scale.
std::array<double, 6> CropFromBox(const std::array<double, 4>& bbox_xywh,
                                  int input_width,
                                  int input_height,
                                  double box_padding,
                                  double scale = 1.0,
                                  double rotation_deg = 0.0,
                                  double shift_x_px = 0.0,
                                  double shift_y_px = 0.0);

// Index of each joint's mirror by name: "left_X" <-> "right_X", "l_X" <-> "r_X" (also
// "Left"/"L" capitalised prefixes); itself when unpaired.
std::vector<int> FlipPermutationFromNames(const std::vector<std::string>& joint_names);

class KeypointTrainingSet {
 public:
  // Reads the COCO JSON (ReadCocoKeypoints) and keeps the person instances with
  // num_keypoints > 0 and not iscrowd, in file order. Image paths: file_name resolved against
  // image_root; image_root "" means the capture root for the studio's layout (the JSON's folder's
  // parent when the JSON lives in an "annotations" folder) and the JSON's folder otherwise.
  // include_cameras (non-empty: only these) and exclude_cameras filter on the images' "camera".
  // Throws InputError for an unusable spec, a camera name in either list that no image has
  // (listing the known ones), video-backed images ("videos/<cam>.mp4" + frame_index: render the
  // capture with --format png or jpg), or no instance left; IoError naming the path for an image
  // file that does not exist, and for the JSON as ReadCocoKeypoints.
  KeypointTrainingSet(const std::string& coco_json,
                      const std::string& image_root,
                      const TrainingInputSpec& spec,
                      std::vector<std::string> include_cameras = {},
                      std::vector<std::string> exclude_cameras = {});

  // Augmentation used by GetSample(augment = true); box_padding also applies without it.
  // InputError listing Check()'s problems.
  void set_augment_options(const AugmentOptions& options);
  const AugmentOptions& augment_options() const { return augment_; }

  int size() const { return static_cast<int>(instances_.size()); }  // person instances
  int num_joints() const { return static_cast<int>(joint_names_.size()); }
  const std::vector<std::string>& joint_names() const { return joint_names_; }
  const std::vector<std::pair<int, int>>& bones() const { return bones_; }
  const std::string& skeleton() const { return skeleton_; }  // info.skeleton, "" when absent
  const std::vector<int>& flip_permutation() const { return flip_permutation_; }
  const TrainingInputSpec& spec() const { return spec_; }
  // Ground truth of instance `index` (image pixels) for evaluation (PCK against the box).
  const TrainingInstance& instance(int index) const;

  // Fills one sample into caller buffers (contiguous, row-major):
  //   image_chw  float [3][input_height][input_width], RGB, normalised with mean/std;
  //   target     float [J][heatmap_height][heatmap_width], Gaussians (0 where weight is 0);
  //   weight     float [J]: 1, or 0 for v == 0 and for a keypoint outside the crop
  //              (crop coordinates outside [-0.5, size - 0.5));
  //   crop_from_image (optional): the affine used, flip included.
  // augment = false: the deterministic centred crop of the padded box, rng untouched.
  // Reads the image on every call (no cache); safe to call from several threads at once.
  // IoError naming the image when it cannot be read; std::invalid_argument for a bad index.
  void GetSample(int index,
                 bool augment,
                 std::mt19937& rng,
                 float* image_chw,
                 float* target,
                 float* weight,
                 std::array<double, 6>* crop_from_image = nullptr) const;

  // The crop affine GetSample(index, false, ...) uses (no image read).
  std::array<double, 6> EvalCropFromImage(int index) const;

 private:
  TrainingInputSpec spec_;
  AugmentOptions augment_;
  std::vector<std::string> joint_names_;
  std::vector<std::pair<int, int>> bones_;
  std::string skeleton_;
  std::vector<int> flip_permutation_;
  std::vector<TrainingInstance> instances_;
};

}  // namespace rigpose

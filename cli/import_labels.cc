// SPDX-License-Identifier: BSD-3-Clause
// rigpose import-labels: an annotation tool's COCO keypoints -> a training set for rigpose train.
#include "cli/import_labels.h"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <utility>

#include <CLI/CLI.hpp>
#include <opencv2/imgcodecs.hpp>

#include "cli/export.h"
#include "core/error.h"
#include "core/joint_names.h"
#include "core/skeleton.h"
#include "data/coco_keypoints.h"

namespace rigpose::cli {
namespace {

namespace fs = std::filesystem;

// The folder `rigpose train` resolves a COCO file's relative file_name against when it is given
// no image root (detect2d/training_data.h): the JSON's folder, or its parent when that folder is
// named "annotations".
fs::path DefaultImageRoot(const std::string& coco_json) {
  const fs::path folder = fs::path(coco_json).parent_path();
  return folder.filename() == "annotations" ? folder.parent_path() : folder;
}

// An image of a labelled set, its file resolved.
struct LabelledImage {
  CocoImage image;  // file_name as read
  fs::path path;    // resolved, canonical (symbolic links and ".." resolved)
  std::vector<CocoAnnotation> annotations;
};

struct LabelledSet {
  std::vector<LabelledImage> images;  // file order; only images with a kept annotation
  int dropped_annotations = 0;
  std::vector<std::string> missing_joints;
};

// Camera and frame of an image whose tool dropped the "camera" / "frame_index" keys (CVAT and
// Label Studio do), from the name `rigpose export` gives it: <camera>_<frame:06d>.<ext>.
void RecoverView(CocoImage* image) {
  if (!image->camera.empty() && image->frame_index >= 0) return;
  // Parsed by hand: <regex> trips GCC 12's -Wmaybe-uninitialized under the sanitizers.
  const std::string name = fs::path(image->file_name).filename().string();
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos) return;
  const std::string ext = name.substr(dot + 1);
  if (ext != "png" && ext != "jpg") return;
  const std::string stem = name.substr(0, dot);
  if (stem.size() < 8 || stem[stem.size() - 7] != '_') return;
  const std::string digits = stem.substr(stem.size() - 6);
  if (!std::all_of(digits.begin(), digits.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    return;
  }
  if (image->camera.empty()) image->camera = stem.substr(0, stem.size() - 7);
  if (image->frame_index < 0) image->frame_index = std::stoi(digits);
}

// For every joint of `names` (a COCO file's), the skeleton joint it is. InputError naming the file
// and the names that are no skeleton joint, or two names that are the same joint.
std::vector<int> MapJointNames(const std::vector<std::string>& names,
                               const Skeleton& skeleton,
                               const std::string& path) {
  std::map<std::string, int> joint_of_key;
  for (int j = 0; j < skeleton.NumJoints(); ++j) {
    joint_of_key.emplace(JointNameKey(skeleton.joint_names[j]), j);
  }
  std::vector<int> joint(names.size(), -1);
  std::vector<int> source(skeleton.NumJoints(), -1);
  std::vector<std::string> unknown;
  for (size_t f = 0; f < names.size(); ++f) {
    const auto it = joint_of_key.find(JointNameKey(names[f]));
    if (it == joint_of_key.end()) {
      unknown.push_back("'" + names[f] + "'");
      continue;
    }
    if (source[it->second] >= 0) {
      throw InputError(path + ": joints '" + names[source[it->second]] + "' and '" + names[f] +
                       "' are both joint " + skeleton.joint_names[it->second] + " of skeleton " +
                       skeleton.name);
    }
    source[it->second] = static_cast<int>(f);
    joint[f] = it->second;
  }
  if (!unknown.empty()) {
    const int shown = std::min(6, skeleton.NumJoints());
    std::vector<std::string> valid(skeleton.joint_names.begin(),
                                   skeleton.joint_names.begin() + shown);
    throw InputError(path + ": joint name" + (unknown.size() > 1 ? "s " : " ") + JoinList(unknown) +
                     (unknown.size() > 1 ? " are not joints" : " is not a joint") +
                     " of skeleton " + skeleton.name + " (its joints: " + JoinList(valid) +
                     (shown < skeleton.NumJoints()
                          ? ", ... " + std::to_string(skeleton.NumJoints()) + " in all"
                          : std::string()) +
                     "; names such as 'LShoulder' or 'left_shoulder' match); pass the right "
                     "--skeleton");
  }
  return joint;
}

// Reads a COCO keypoints file into the skeleton's joint order (see the header for the rules).
LabelledSet ReadLabelledSet(const std::string& path,
                            const std::string& images_root,
                            const Skeleton& skeleton) {
  const CocoKeypointsDataset dataset = ReadCocoKeypoints(path);
  const std::vector<int> joint = MapJointNames(dataset.keypoint_names, skeleton, path);
  LabelledSet set;
  {
    std::vector<bool> present(skeleton.NumJoints(), false);
    for (int j : joint) present[j] = true;
    for (int j = 0; j < skeleton.NumJoints(); ++j) {
      if (!present[j]) set.missing_joints.push_back(skeleton.joint_names[j]);
    }
  }
  const fs::path root = images_root.empty() ? DefaultImageRoot(path) : fs::path(images_root);
  std::map<int64_t, size_t> index_of_image;
  std::vector<LabelledImage> images(dataset.images.size());
  for (size_t i = 0; i < dataset.images.size(); ++i) {
    images[i].image = dataset.images[i];
    index_of_image[dataset.images[i].id] = i;
  }
  const size_t num_joints = static_cast<size_t>(skeleton.NumJoints());
  for (const CocoAnnotation& annotation : dataset.annotations) {
    CocoAnnotation mapped = annotation;
    mapped.category_id = 1;
    mapped.keypoints.assign(3 * num_joints, 0.0);
    mapped.num_keypoints = 0;
    for (size_t f = 0; f < joint.size(); ++f) {
      const double* from = &annotation.keypoints[3 * f];
      if (from[2] <= 0) continue;
      double* to = &mapped.keypoints[3 * static_cast<size_t>(joint[f])];
      to[0] = from[0];
      to[1] = from[1];
      to[2] = from[2];
      ++mapped.num_keypoints;
    }
    if (mapped.num_keypoints == 0) {
      ++set.dropped_annotations;
      continue;
    }
    images[index_of_image.at(annotation.image_id)].annotations.push_back(std::move(mapped));
  }
  for (LabelledImage& labelled : images) {
    if (labelled.annotations.empty()) continue;
    CocoImage& image = labelled.image;
    RecoverView(&image);
    fs::path file = fs::path(image.file_name).is_absolute() ? fs::path(image.file_name)
                                                            : root / image.file_name;
    std::error_code error;
    if (!fs::is_regular_file(file, error) && !image.camera.empty()) {
      // A tool that flattened the export's folders (CVAT keeps only the image's name).
      const fs::path in_export =
          root / "images" / image.camera / fs::path(image.file_name).filename();
      if (fs::is_regular_file(in_export, error)) file = in_export;
    }
    if (!fs::is_regular_file(file, error)) {
      ThrowIo(file.string(),
              0,
              "",
              "image file not found (file_name '" + image.file_name + "' of image id " +
                  std::to_string(image.id) + " in " + path + ", image root '" + root.string() +
                  "'" + (images_root.empty() ? "; pass --images-root" : std::string()) + ")");
    }
    labelled.path = fs::weakly_canonical(file, error);
    if (error) labelled.path = fs::absolute(file).lexically_normal();
    if (image.width <= 0 || image.height <= 0) {
      const cv::Mat pixels = cv::imread(file.string(), cv::IMREAD_UNCHANGED);
      if (pixels.empty()) ThrowIo(file.string(), 0, "", "cannot read the image to get its size");
      image.width = pixels.cols;
      image.height = pixels.rows;
    }
    for (CocoAnnotation& annotation : labelled.annotations) {
      if (annotation.bbox[2] > 1.0 && annotation.bbox[3] > 1.0) continue;
      annotation.bbox = PaddedKeypointBox(annotation.keypoints, image.width, image.height);
      annotation.area = annotation.bbox[2] * annotation.bbox[3];
    }
    set.images.push_back(std::move(labelled));
  }
  return set;
}

// Same camera + frame (when the image has both), or the same file.
bool SameImage(const LabelledImage& a, const LabelledImage& b) {
  if (!a.image.camera.empty() && a.image.frame_index >= 0 && a.image.camera == b.image.camera &&
      a.image.frame_index == b.image.frame_index) {
    return true;
  }
  return a.path == b.path;
}

}  // namespace

ImportLabelsSummary RunImportLabels(const ImportLabelsOptions& options, std::ostream& out) {
  if (options.coco.empty()) throw UsageError("--coco is required");
  if (options.out.empty()) throw UsageError("--out is required");
  if (options.skeleton.empty()) {
    throw UsageError("--skeleton is required (" + JoinList(SkeletonNames()) + ")");
  }
  const Skeleton* found = FindSkeleton(options.skeleton);
  if (found == nullptr) {
    throw UsageError("--skeleton '" + options.skeleton +
                     "' is not known (known: " + JoinList(SkeletonNames()) + ")");
  }
  const Skeleton& skeleton = *found;

  LabelledSet imported = ReadLabelledSet(options.coco, options.images_root, skeleton);
  if (!imported.missing_joints.empty()) {
    out << "warning: " << options.coco << " has no joint " << JoinList(imported.missing_joints)
        << " of skeleton " << skeleton.name << ": left unlabelled (v = 0)\n";
  }
  LabelledSet existing;
  if (!options.append.empty()) {
    existing = ReadLabelledSet(options.append, "", skeleton);
    if (!existing.missing_joints.empty()) {
      out << "warning: " << options.append << " has no joint " << JoinList(existing.missing_joints)
          << " of skeleton " << skeleton.name << ": left unlabelled (v = 0)\n";
    }
  }

  ImportLabelsSummary summary;
  summary.skeleton = skeleton.name;
  summary.out = options.out;
  summary.missing_joints = imported.missing_joints;
  summary.dropped_annotations = imported.dropped_annotations;
  summary.imported_images = static_cast<int>(imported.images.size());
  for (const LabelledImage& image : imported.images) {
    summary.imported_annotations += static_cast<int>(image.annotations.size());
  }

  // Existing images first (their ids kept), then the imported ones with fresh ids.
  std::vector<LabelledImage*> kept;
  int64_t next_image_id = 1, next_annotation_id = 1;
  for (LabelledImage& image : existing.images) {
    const bool replaced = std::any_of(
        imported.images.begin(), imported.images.end(), [&](const LabelledImage& other) {
          return SameImage(image, other);
        });
    if (replaced) {
      ++summary.replaced_images;
      continue;
    }
    kept.push_back(&image);
    next_image_id = std::max(next_image_id, image.image.id + 1);
    for (const CocoAnnotation& annotation : image.annotations) {
      next_annotation_id = std::max(next_annotation_id, annotation.id + 1);
    }
  }
  summary.appended_images = static_cast<int>(kept.size());
  // Annotation ids of the kept images must stay unique with the new ones: any clash among the
  // existing ones is renumbered too.
  std::set<int64_t> annotation_ids;
  for (LabelledImage* image : kept) {
    for (CocoAnnotation& annotation : image->annotations) {
      if (!annotation_ids.insert(annotation.id).second) {
        annotation.id = next_annotation_id++;
        annotation_ids.insert(annotation.id);
      }
    }
  }
  for (LabelledImage& image : imported.images) {
    image.image.id = next_image_id++;
    for (CocoAnnotation& annotation : image.annotations) annotation.id = next_annotation_id++;
    kept.push_back(&image);
  }

  // File names relative to the folder `rigpose train` resolves OUT's names against.
  const fs::path out_path = fs::absolute(options.out);
  std::error_code error;
  fs::path out_root = fs::weakly_canonical(DefaultImageRoot(out_path.string()), error);
  if (error) out_root = DefaultImageRoot(out_path.string()).lexically_normal();
  CocoKeypointsDataset result;
  result.keypoint_names = skeleton.joint_names;
  result.bones = skeleton.bones;
  result.skeleton = skeleton.name;
  for (LabelledImage* labelled : kept) {
    CocoImage image = labelled->image;
    const fs::path relative = labelled->path.lexically_relative(out_root);
    image.file_name = relative.empty() ? labelled->path.string() : relative.generic_string();
    for (CocoAnnotation annotation : labelled->annotations) {
      annotation.image_id = image.id;
      annotation.category_id = 1;
      result.annotations.push_back(std::move(annotation));
    }
    result.images.push_back(std::move(image));
  }
  summary.num_images = static_cast<int>(result.images.size());
  summary.num_annotations = static_cast<int>(result.annotations.size());
  if (summary.num_annotations == 0) {
    throw InputError(options.coco + ": no annotation with a labelled joint (" +
                     std::to_string(imported.dropped_annotations) +
                     " without any); nothing to write");
  }
  if (out_path.has_parent_path()) fs::create_directories(out_path.parent_path(), error);
  WriteCocoKeypoints(options.out, result);

  if (!options.quiet) {
    out << "import-labels: " << options.coco << ": " << summary.imported_images << " images, "
        << summary.imported_annotations << " annotations (skeleton " << skeleton.name << "); "
        << summary.dropped_annotations << " annotations without a labelled joint dropped\n";
    if (!options.append.empty()) {
      out << "import-labels: " << options.append << ": kept " << summary.appended_images
          << " images, replaced " << summary.replaced_images
          << " (same camera + frame or same file)\n";
    }
    out << "import-labels: wrote " << options.out << ": " << summary.num_images << " images, "
        << summary.num_annotations << " annotations\n";
  }
  return summary;
}

void RegisterImportLabels(CLI::App& app, Action& action) {
  auto o = std::make_shared<ImportLabelsOptions>();
  CLI::App* cmd = app.add_subcommand(
      "import-labels",
      "Read an annotation tool's COCO keypoints (CVAT, Label Studio) as a training set");
  cmd->add_option("--coco", o->coco, "COCO keypoints JSON exported by the annotation tool")
      ->required();
  cmd->add_option("--images-root",
                  o->images_root,
                  "Folder the file names are relative to (default: the JSON's folder, or its "
                  "parent for an annotations/ folder)");
  cmd->add_option("--skeleton", o->skeleton, "Skeleton of the training set (e.g. coco17)")
      ->required();
  cmd->add_option("--out", o->out, "Training-set JSON to write (rigpose train --coco)")->required();
  cmd->add_option("--append", o->append, "Training set to extend (may be --out itself)");
  cmd->add_flag("--quiet", o->quiet, "No summary lines");
  cmd->callback([&action, o]() { action = [o] { RunImportLabels(*o, std::cout); }; });
}

}  // namespace rigpose::cli

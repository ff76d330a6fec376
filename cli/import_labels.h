// SPDX-License-Identifier: BSD-3-Clause
// rigpose import-labels --coco FILE [--images-root DIR] --skeleton NAME --out OUT.json
// [--append EXISTING.json]: reads the labels of an annotation tool (CVAT's or Label Studio's COCO
// keypoints export, or a `rigpose export` file edited by hand) and writes a training set that
// `rigpose train --coco OUT.json` reads.
//
//  - Joints: the file's joint names may come in any order and any naming JointNameKey() matches
//    ("LShoulder" = "left_shoulder"); keypoints are reordered into the skeleton's joint order.
//    Skeleton joints the file lacks are unlabelled (v = 0) with a warning naming them; a file
//    joint that is no skeleton joint is an InputError naming the file and the joint.
//  - Images: file_name is resolved against --images-root, by default as `rigpose train` resolves
//    it (the JSON's folder, or its parent when the JSON lies in an "annotations" folder). Each
//    image must exist (IoError naming it). OUT's file_name is relative to the folder `rigpose
//    train` resolves OUT's names against (OUT's folder, or its parent for an "annotations"
//    folder), so the training set finds the same files. "camera" and "frame_index" are kept.
//  - Annotations without any labelled joint are dropped (counted); images left without an
//    annotation are not written. A degenerate bbox (width or height <= 1 px, as some tools write
//    for keypoint-only labels) is replaced by the labelled joints' box padded by 10 %.
//  - --append: EXISTING's images and annotations are kept (read and checked the same way) and the
//    new ones added with fresh ids; a new image of the same camera + frame_index, or of the same
//    file, replaces the old image and its labels (counted as replaced).
// OUT is written atomically: on any error nothing is written.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "cli/cli.h"

namespace rigpose::cli {

struct ImportLabelsOptions {
  std::string coco;         // COCO keypoints JSON of the annotation tool
  std::string images_root;  // empty: see the file comment
  std::string skeleton;     // registry key (core/skeleton.h), required
  std::string out;          // training-set JSON to write
  std::string append;       // optional: a training set to extend (may equal `out`)
  bool quiet = false;       // no summary lines (warnings are still printed)
};

struct ImportLabelsSummary {
  int num_images = 0;       // images written (kept from --append + imported)
  int num_annotations = 0;  // annotations written
  int imported_images = 0;  // images of --coco with at least one labelled annotation
  int imported_annotations = 0;
  int dropped_annotations = 0;              // of --coco, without any labelled joint
  int appended_images = 0;                  // of --append, kept
  int replaced_images = 0;                  // of --append, replaced by an image of --coco
  std::vector<std::string> missing_joints;  // skeleton joints absent from --coco
  std::string skeleton;
  std::string out;
};

// UsageError for missing options or an unknown --skeleton; InputError / IoError naming the file
// (and the joint or image) for the problems in the file comment and for unreadable files.
ImportLabelsSummary RunImportLabels(const ImportLabelsOptions& options, std::ostream& out);

void RegisterImportLabels(CLI::App& app, Action& action);

}  // namespace rigpose::cli

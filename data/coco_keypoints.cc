// SPDX-License-Identifier: BSD-3-Clause
#include "data/coco_keypoints.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/file_util.h"

namespace rigpose {
namespace {

using nlohmann::json;

// COCO pixel coordinates have the top-left pixel's corner at 0; rigpose its centre.
constexpr double kCocoOffset = 0.5;

// Errors in the content of one file: "path: annotations[4] (id 17): key 'bbox': message".
class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void Fail(const std::string& where,
                         const std::string& key,
                         const std::string& message) const {
    std::string text = path_ + ": ";
    if (!where.empty()) text += where + ": ";
    if (!key.empty()) text += "key '" + key + "': ";
    throw InputError(text + message);
  }

  const json& Require(const json& object,
                      const std::string& where,
                      const std::string& key,
                      json::value_t type) const {
    const auto it = object.find(key);
    if (it == object.end()) Fail(where, key, "missing");
    const bool ok = type == json::value_t::number_float ? it->is_number() : it->type() == type;
    if (!ok)
      Fail(where, key, std::string("expected ") + TypeName(type) + ", got " + it->type_name());
    return *it;
  }

  double Number(const json& value, const std::string& where, const std::string& key) const {
    if (!value.is_number())
      Fail(where, key, std::string("expected a number, got ") + value.type_name());
    const double x = value.get<double>();
    if (!std::isfinite(x)) Fail(where, key, "not a finite number");
    return x;
  }

  int64_t Integer(const json& value, const std::string& where, const std::string& key) const {
    const double x = Number(value, where, key);
    if (value.is_number_integer()) return value.get<int64_t>();
    if (x != std::floor(x) || std::abs(x) > 9.0e15) Fail(where, key, "expected an integer");
    return static_cast<int64_t>(x);
  }

  int Int(const json& value, const std::string& where, const std::string& key) const {
    const int64_t x = Integer(value, where, key);
    if (x < std::numeric_limits<int>::min() || x > std::numeric_limits<int>::max())
      Fail(where, key, "integer out of range: " + std::to_string(x));
    return static_cast<int>(x);
  }

  std::optional<double> OptionalNumber(const json& object,
                                       const std::string& where,
                                       const std::string& key) const {
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) return std::nullopt;
    return Number(*it, where, key);
  }

  const std::string& path() const { return path_; }

 private:
  static const char* TypeName(json::value_t type) {
    switch (type) {
      case json::value_t::array:
        return "an array";
      case json::value_t::object:
        return "an object";
      case json::value_t::string:
        return "a string";
      default:
        return "a number";
    }
  }

  std::string path_;
};

std::string Entry(const char* array, size_t index, std::optional<int64_t> id = std::nullopt) {
  std::string s = std::string(array) + "[" + std::to_string(index) + "]";
  if (id) s += " (id " + std::to_string(*id) + ")";
  return s;
}

// Index of the person category: named "person", else the only one.
size_t PersonCategory(const Reader& reader, const json& categories) {
  if (categories.empty()) reader.Fail("", "categories", "empty (no keypoint category)");
  std::optional<size_t> person;
  for (size_t i = 0; i < categories.size(); ++i) {
    const json& c = categories[i];
    if (!c.is_object()) reader.Fail(Entry("categories", i), "", "expected an object");
    const auto name = c.find("name");
    if (name != c.end() && name->is_string() && name->get<std::string>() == "person") {
      if (person) reader.Fail(Entry("categories", i), "name", "a second 'person'");
      person = i;
    }
  }
  if (!person && categories.size() != 1)
    reader.Fail("", "categories", "no category named 'person' among several");
  return person.value_or(0);
}

}  // namespace

CocoKeypointsDataset ReadCocoKeypoints(const std::string& path) {
  const std::string text = ReadFileToString(path);
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    ThrowIo(path, 0, "", "not valid JSON (at byte " + std::to_string(e.byte) + "): " + e.what());
  } catch (const json::exception& e) {
    ThrowIo(path, 0, "", std::string("not valid JSON: ") + e.what());
  }
  const Reader reader(path);
  if (!doc.is_object()) reader.Fail("", "", "expected a JSON object at the top level");

  CocoKeypointsDataset dataset;
  if (const auto info = doc.find("info"); info != doc.end() && info->is_object()) {
    const auto skeleton = info->find("skeleton");
    if (skeleton != info->end() && skeleton->is_string()) dataset.skeleton = *skeleton;
  }

  // Category: joint names and bones.
  const json& categories = reader.Require(doc, "", "categories", json::value_t::array);
  const size_t person_index = PersonCategory(reader, categories);
  const json& person = categories[person_index];
  const std::string cat_where = Entry("categories", person_index);
  const int person_id = reader.Int(
      reader.Require(person, cat_where, "id", json::value_t::number_float), cat_where, "id");
  const json& names = reader.Require(person, cat_where, "keypoints", json::value_t::array);
  if (names.empty()) reader.Fail(cat_where, "keypoints", "empty (no joint names)");
  for (const json& n : names) {
    if (!n.is_string()) reader.Fail(cat_where, "keypoints", "expected joint names (strings)");
    dataset.keypoint_names.push_back(n);
  }
  const int J = dataset.NumJoints();
  if (const auto bones = person.find("skeleton"); bones != person.end() && !bones->is_null()) {
    if (!bones->is_array()) reader.Fail(cat_where, "skeleton", "expected an array of pairs");
    for (const json& b : *bones) {
      if (!b.is_array() || b.size() != 2) reader.Fail(cat_where, "skeleton", "expected pairs");
      const int a = reader.Int(b[0], cat_where, "skeleton");
      const int c = reader.Int(b[1], cat_where, "skeleton");
      if (a < 1 || a > J || c < 1 || c > J)
        reader.Fail(cat_where,
                    "skeleton",
                    "joint " + std::to_string(a < 1 || a > J ? a : c) + " out of 1.." +
                        std::to_string(J) + " (COCO bones are 1-based)");
      dataset.bones.emplace_back(a - 1, c - 1);
    }
  }

  // Images.
  const json& images = reader.Require(doc, "", "images", json::value_t::array);
  std::unordered_map<int64_t, size_t> image_index;
  dataset.images.reserve(images.size());
  for (size_t i = 0; i < images.size(); ++i) {
    const json& im = images[i];
    std::string where = Entry("images", i);
    if (!im.is_object()) reader.Fail(where, "", "expected an object");
    CocoImage image;
    image.id =
        reader.Integer(reader.Require(im, where, "id", json::value_t::number_float), where, "id");
    where = Entry("images", i, image.id);
    image.file_name = reader.Require(im, where, "file_name", json::value_t::string);
    image.width =
        reader.Int(reader.Require(im, where, "width", json::value_t::number_float), where, "width");
    image.height = reader.Int(
        reader.Require(im, where, "height", json::value_t::number_float), where, "height");
    if (image.width < 0 || image.height < 0) reader.Fail(where, "width", "negative image size");
    if (const auto cam = im.find("camera"); cam != im.end() && !cam->is_null()) {
      if (!cam->is_string()) reader.Fail(where, "camera", "expected a string");
      image.camera = *cam;
    }
    if (const auto f = im.find("frame_index"); f != im.end() && !f->is_null()) {
      image.frame_index = reader.Int(*f, where, "frame_index");
      if (image.frame_index < 0) reader.Fail(where, "frame_index", "negative");
    }
    if (!image_index.emplace(image.id, i).second)
      reader.Fail(where,
                  "id",
                  "duplicate image id " + std::to_string(image.id) + " (also images[" +
                      std::to_string(image_index.at(image.id)) + "])");
    dataset.images.push_back(std::move(image));
  }

  // Annotations of the person category.
  const json& annotations = reader.Require(doc, "", "annotations", json::value_t::array);
  for (size_t i = 0; i < annotations.size(); ++i) {
    const json& an = annotations[i];
    std::string where = Entry("annotations", i);
    if (!an.is_object()) reader.Fail(where, "", "expected an object");
    CocoAnnotation a;
    a.id =
        reader.Integer(reader.Require(an, where, "id", json::value_t::number_float), where, "id");
    where = Entry("annotations", i, a.id);
    a.category_id = person_id;
    if (const auto c = an.find("category_id"); c != an.end() && !c->is_null())
      a.category_id = reader.Int(*c, where, "category_id");
    if (a.category_id != person_id) continue;
    a.image_id = reader.Integer(
        reader.Require(an, where, "image_id", json::value_t::number_float), where, "image_id");
    if (image_index.count(a.image_id) == 0)
      reader.Fail(where, "image_id", "no image has id " + std::to_string(a.image_id));
    const json& kp = reader.Require(an, where, "keypoints", json::value_t::array);
    if (kp.size() != 3 * static_cast<size_t>(J))
      reader.Fail(where,
                  "keypoints",
                  "expected " + std::to_string(3 * J) + " numbers (3 x " + std::to_string(J) +
                      " joints), got " + std::to_string(kp.size()));
    a.keypoints.resize(kp.size());
    double x0 = std::numeric_limits<double>::infinity(), y0 = x0, x1 = -x0, y1 = -x0;
    for (int j = 0; j < J; ++j) {
      const int v =
          static_cast<int>(reader.Integer(kp[3 * j + 2], where, "keypoints"));  // finite, integral
      if (v < 0 || v > 2)
        reader.Fail(where,
                    "keypoints",
                    "joint " + std::to_string(j) + " (" + dataset.keypoint_names[j] +
                        "): visibility " + std::to_string(v) + " not in {0, 1, 2}");
      const double x = reader.Number(kp[3 * j], where, "keypoints");
      const double y = reader.Number(kp[3 * j + 1], where, "keypoints");
      double* out = &a.keypoints[3 * j];
      out[0] = v > 0 ? x - kCocoOffset : 0.0;
      out[1] = v > 0 ? y - kCocoOffset : 0.0;
      out[2] = v;
      if (v > 0) {
        ++a.num_keypoints;
        x0 = std::min(x0, out[0]);
        y0 = std::min(y0, out[1]);
        x1 = std::max(x1, out[0]);
        y1 = std::max(y1, out[1]);
      }
    }
    if (const auto box = an.find("bbox"); box != an.end() && !box->is_null()) {
      if (!box->is_array() || box->size() != 4)
        reader.Fail(where, "bbox", "expected 4 numbers [x, y, w, h]");
      for (int k = 0; k < 4; ++k) a.bbox[k] = reader.Number((*box)[k], where, "bbox");
      if (a.bbox[2] < 0 || a.bbox[3] < 0) reader.Fail(where, "bbox", "negative width or height");
      a.bbox[0] -= kCocoOffset;
      a.bbox[1] -= kCocoOffset;
    } else if (a.num_keypoints > 0) {
      a.bbox = {x0, y0, x1 - x0, y1 - y0};
    }
    a.area = reader.OptionalNumber(an, where, "area").value_or(a.bbox[2] * a.bbox[3]);
    if (const auto crowd = an.find("iscrowd"); crowd != an.end() && !crowd->is_null()) {
      if (crowd->is_boolean()) {
        a.iscrowd = crowd->get<bool>();
      } else {
        a.iscrowd = reader.Integer(*crowd, where, "iscrowd") != 0;
      }
    }
    dataset.annotations.push_back(std::move(a));
  }
  return dataset;
}

void WriteCocoKeypoints(const std::string& path, const CocoKeypointsDataset& dataset) {
  const int J = dataset.NumJoints();
  json coco;
  coco["info"] = {{"description", "rigpose COCO keypoints"}};
  if (!dataset.skeleton.empty()) coco["info"]["skeleton"] = dataset.skeleton;
  json bones = json::array();
  for (const auto& [a, b] : dataset.bones) {
    RIGPOSE_CHECK(a >= 0 && a < J && b >= 0 && b < J,
                  "bone (" << a << ", " << b << ") out of range for " << J << " joints");
    bones.push_back({a + 1, b + 1});
  }
  // Keep the category id of the annotations when they agree on one (round trip).
  int category_id = 1;
  if (!dataset.annotations.empty()) category_id = dataset.annotations.front().category_id;
  for (const CocoAnnotation& a : dataset.annotations) {
    RIGPOSE_CHECK(a.category_id == category_id,
                  "annotation " << a.id << ": category_id " << a.category_id
                                << " differs from the first annotation's " << category_id
                                << " (one person category is written)");
  }
  coco["categories"] = json::array({{{"id", category_id},
                                     {"name", "person"},
                                     {"supercategory", "person"},
                                     {"keypoints", dataset.keypoint_names},
                                     {"skeleton", bones}}});
  json images = json::array();
  for (const CocoImage& im : dataset.images) {
    json image = {
        {"id", im.id}, {"file_name", im.file_name}, {"width", im.width}, {"height", im.height}};
    if (!im.camera.empty()) image["camera"] = im.camera;
    if (im.frame_index >= 0) image["frame_index"] = im.frame_index;
    images.push_back(std::move(image));
  }
  json annotations = json::array();
  for (const CocoAnnotation& a : dataset.annotations) {
    RIGPOSE_CHECK(a.keypoints.size() == 3 * static_cast<size_t>(J),
                  "annotation " << a.id << ": " << a.keypoints.size()
                                << " keypoint values, expected " << 3 * J);
    json kp = json::array();
    int labelled = 0;
    for (int j = 0; j < J; ++j) {
      const double* k = &a.keypoints[3 * j];
      const int v = static_cast<int>(k[2]);
      RIGPOSE_CHECK(k[2] == v && v >= 0 && v <= 2,
                    "annotation " << a.id << " joint " << j << ": visibility " << k[2]);
      RIGPOSE_CHECK(v == 0 || (std::isfinite(k[0]) && std::isfinite(k[1])),
                    "annotation " << a.id << " joint " << j << ": non-finite coordinates");
      kp.push_back(v > 0 ? k[0] + kCocoOffset : 0.0);
      kp.push_back(v > 0 ? k[1] + kCocoOffset : 0.0);
      kp.push_back(v);
      labelled += v > 0;
    }
    annotations.push_back(
        {{"id", a.id},
         {"image_id", a.image_id},
         {"category_id", a.category_id},
         {"iscrowd", a.iscrowd ? 1 : 0},
         {"keypoints", std::move(kp)},
         {"num_keypoints", labelled},
         {"bbox", {a.bbox[0] + kCocoOffset, a.bbox[1] + kCocoOffset, a.bbox[2], a.bbox[3]}},
         {"area", a.area}});
  }
  coco["images"] = std::move(images);
  coco["annotations"] = std::move(annotations);
  WriteFileAtomic(path, coco.dump() + "\n");
}

}  // namespace rigpose

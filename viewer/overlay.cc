// SPDX-License-Identifier: BSD-3-Clause
#include "viewer/overlay.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "core/error.h"

namespace rigpose {
namespace {

constexpr int kShiftBits = 4;  // sub-pixel precision of cv::line / cv::circle
constexpr double kFarPx = 1e5;

cv::Scalar Bgr(const Eigen::Vector3f& rgb) {
  const auto byte = [](float v) { return std::lround(std::clamp(v, 0.0f, 1.0f) * 255.0f); };
  return cv::Scalar(byte(rgb[2]), byte(rgb[1]), byte(rgb[0]));
}

// A pixel position in OpenCV's fixed-point drawing coordinates.
cv::Point Fixed(const Eigen::Vector2d& img_point) {
  return cv::Point(static_cast<int>(std::lround(img_point.x() * (1 << kShiftBits))),
                   static_cast<int>(std::lround(img_point.y() * (1 << kShiftBits))));
}

bool Drawable(const std::optional<Eigen::Vector2d>& p, const cv::Mat& image) {
  return p && p->allFinite() && p->x() > -kFarPx && p->y() > -kFarPx &&
         p->x() < image.cols + kFarPx && p->y() < image.rows + kFarPx;
}

// Stroke sizes from the image size when the style leaves them at 0.
int AutoSize(int value, const cv::Mat& image, double fraction, int minimum) {
  if (value > 0) return value;
  return std::max(minimum,
                  static_cast<int>(std::lround(std::min(image.cols, image.rows) * fraction)));
}

void CheckImage(const cv::Mat* image_bgr) {
  RIGPOSE_CHECK(image_bgr != nullptr && !image_bgr->empty() && image_bgr->type() == CV_8UC3,
                "a non-empty BGR CV_8UC3 image is needed");
}

}  // namespace

std::vector<std::string> OverlayStyle::Problems() const {
  std::vector<std::string> problems;
  if (line_thickness_px < 0) problems.push_back("line thickness must be >= 0 px");
  if (joint_radius_px < 0) problems.push_back("joint radius must be >= 0 px");
  if (keypoint_marker_px < 0) problems.push_back("keypoint marker size must be >= 0 px");
  if (!std::isfinite(min_score)) problems.push_back("minimum score must be finite");
  if (grid_columns < 0) problems.push_back("grid columns must be >= 0");
  if (!(tile_scale > 0.0 && tile_scale <= 4.0)) {
    problems.push_back("tile scale " + std::to_string(tile_scale) + " must be in (0, 4]");
  }
  return problems;
}

Camera PinholePart(const Camera& camera) {
  Camera pinhole = camera;
  pinhole.model_id = CameraModelId::kPinhole;
  pinhole.params = {camera.fx(), camera.fy(), camera.cx(), camera.cy()};
  return pinhole;
}

std::vector<std::optional<Eigen::Vector2d>> ProjectJoints(
    const Camera& camera,
    const std::vector<Eigen::Vector3d>& joints_in_world,
    const std::vector<bool>& valid,
    bool distortion) {
  RIGPOSE_CHECK(valid.size() == joints_in_world.size(),
                "valid has " << valid.size() << " entries, joints " << joints_in_world.size());
  const Camera pinhole = distortion ? Camera() : PinholePart(camera);
  const Camera& model = distortion ? camera : pinhole;
  std::vector<std::optional<Eigen::Vector2d>> img_points(joints_in_world.size());
  for (size_t j = 0; j < joints_in_world.size(); ++j) {
    if (!valid[j] || !joints_in_world[j].allFinite()) continue;
    const std::optional<Eigen::Vector2d> img_point = model.ImgFromWorld(joints_in_world[j]);
    if (img_point && img_point->allFinite()) img_points[j] = img_point;
  }
  return img_points;
}

void DrawReprojectedSkeleton(const Skeleton& skeleton,
                             const std::vector<std::optional<Eigen::Vector2d>>& img_points,
                             const OverlayStyle& style,
                             cv::Mat* image_bgr) {
  CheckImage(image_bgr);
  RIGPOSE_CHECK(static_cast<int>(img_points.size()) == skeleton.NumJoints(),
                img_points.size() << " joint pixels for skeleton " << skeleton.name << " with "
                                  << skeleton.NumJoints() << " joints");
  cv::Mat& image = *image_bgr;
  const int thickness = AutoSize(style.line_thickness_px, image, 1.0 / 400, 2);
  const int radius = AutoSize(style.joint_radius_px, image, 1.0 / 200, 3);
  const cv::Scalar colour = Bgr(style.skeleton_colour);
  for (const auto& [a, b] : skeleton.bones) {
    if (!Drawable(img_points[a], image) || !Drawable(img_points[b], image)) continue;
    cv::line(image,
             Fixed(*img_points[a]),
             Fixed(*img_points[b]),
             colour,
             thickness,
             cv::LINE_AA,
             kShiftBits);
  }
  for (const std::optional<Eigen::Vector2d>& img_point : img_points) {
    if (!Drawable(img_point, image)) continue;
    const cv::Point centre = Fixed(*img_point);
    cv::circle(image,
               centre,
               (radius + 1) << kShiftBits,
               cv::Scalar(255, 255, 255),
               cv::FILLED,
               cv::LINE_AA,
               kShiftBits);
    cv::circle(image, centre, radius << kShiftBits, colour, cv::FILLED, cv::LINE_AA, kShiftBits);
  }
}

void DrawKeypoints2D(const Keypoints2D& keypoints,
                     int frame,
                     int camera,
                     const OverlayStyle& style,
                     cv::Mat* image_bgr) {
  CheckImage(image_bgr);
  RIGPOSE_CHECK(frame >= 0 && frame < keypoints.num_frames() && camera >= 0 &&
                    camera < keypoints.num_cameras(),
                "frame " << frame << " / camera " << camera << " outside the keypoints ("
                         << keypoints.num_frames() << " frames, " << keypoints.num_cameras()
                         << " cameras)");
  cv::Mat& image = *image_bgr;
  const int half_size = AutoSize(style.keypoint_marker_px, image, 1.0 / 150, 4);
  const int thickness = std::max(1, AutoSize(style.line_thickness_px, image, 1.0 / 400, 2) / 2);
  const cv::Scalar colour = Bgr(style.keypoint_colour);
  for (int j = 0; j < keypoints.num_joints(); ++j) {
    if (!keypoints.IsPresent(frame, camera, j) ||
        keypoints.score(frame, camera, j) < style.min_score) {
      continue;
    }
    const std::optional<Eigen::Vector2d> img_point =
        Eigen::Vector2d(keypoints.x(frame, camera, j), keypoints.y(frame, camera, j));
    if (!Drawable(img_point, image)) continue;
    const cv::Point centre = Fixed(*img_point);
    const int d = static_cast<int>(std::lround(half_size * 0.7071 * (1 << kShiftBits)));
    cv::line(image,
             centre + cv::Point(-d, -d),
             centre + cv::Point(d, d),
             colour,
             thickness,
             cv::LINE_AA,
             kShiftBits);
    cv::line(image,
             centre + cv::Point(-d, d),
             centre + cv::Point(d, -d),
             colour,
             thickness,
             cv::LINE_AA,
             kShiftBits);
  }
}

void AppendReprojectionDistances(const std::vector<std::optional<Eigen::Vector2d>>& img_points,
                                 const Keypoints2D& keypoints,
                                 int frame,
                                 int camera,
                                 double min_score,
                                 std::vector<double>* distances_px) {
  RIGPOSE_CHECK(distances_px != nullptr, "null output");
  RIGPOSE_CHECK(
      static_cast<int>(img_points.size()) == keypoints.num_joints(),
      img_points.size() << " reprojected joints, " << keypoints.num_joints() << " keypoint joints");
  RIGPOSE_CHECK(frame >= 0 && frame < keypoints.num_frames() && camera >= 0 &&
                    camera < keypoints.num_cameras(),
                "frame " << frame << " / camera " << camera << " outside the keypoints");
  for (int j = 0; j < keypoints.num_joints(); ++j) {
    if (!img_points[j] || !keypoints.IsPresent(frame, camera, j) ||
        keypoints.score(frame, camera, j) < min_score) {
      continue;
    }
    const Eigen::Vector2d detected(keypoints.x(frame, camera, j), keypoints.y(frame, camera, j));
    distances_px->push_back((*img_points[j] - detected).norm());
  }
}

double MedianOf(std::vector<double> values) {
  if (values.empty()) return std::nan("");
  const size_t mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + mid, values.end());
  if (values.size() % 2 == 1) return values[mid];
  const double upper = values[mid];
  const double lower = *std::max_element(values.begin(), values.begin() + mid);
  return 0.5 * (lower + upper);
}

cv::Point TileLayout::Origin(int index) const {
  RIGPOSE_CHECK(columns > 0 && index >= 0 && index < columns * rows,
                "tile " << index << " outside a " << columns << "x" << rows << " grid");
  return cv::Point((index % columns) * cell_width, (index / columns) * cell_height);
}

TileLayout ComputeTileLayout(const std::vector<cv::Size>& frame_sizes, const OverlayStyle& style) {
  if (const auto problems = style.Problems(); !problems.empty()) {
    throw UsageError(FormatProblems("overlay style", problems));
  }
  if (frame_sizes.empty()) throw UsageError("no camera frames to tile");
  int max_width = 0, max_height = 0;
  for (const cv::Size& size : frame_sizes) {
    if (size.width <= 0 || size.height <= 0) {
      throw UsageError("frame size " + std::to_string(size.width) + "x" +
                       std::to_string(size.height) + " is not positive");
    }
    max_width = std::max(max_width, size.width);
    max_height = std::max(max_height, size.height);
  }
  TileLayout layout;
  const int count = static_cast<int>(frame_sizes.size());
  layout.columns = style.grid_columns > 0
                       ? std::min(style.grid_columns, count)
                       : static_cast<int>(std::ceil(std::sqrt(static_cast<double>(count))));
  layout.rows = (count + layout.columns - 1) / layout.columns;
  layout.scale = style.tile_scale;
  const auto even = [](double v) { return 2 * static_cast<int>(std::ceil(v / 2 - 1e-9)); };
  layout.cell_width = std::max(2, even(max_width * layout.scale));
  layout.cell_height = std::max(2, even(max_height * layout.scale));
  return layout;
}

cv::Mat TileFrames(const std::vector<cv::Mat>& frames_bgr,
                   const std::vector<std::vector<std::string>>& captions,
                   const TileLayout& layout) {
  RIGPOSE_CHECK(frames_bgr.size() == captions.size(),
                frames_bgr.size() << " frames, " << captions.size() << " captions");
  RIGPOSE_CHECK(
      static_cast<int>(frames_bgr.size()) <= layout.columns * layout.rows,
      frames_bgr.size() << " frames for a " << layout.columns << "x" << layout.rows << " grid");
  cv::Mat mosaic(layout.height(), layout.width(), CV_8UC3, cv::Scalar(40, 40, 40));
  for (size_t i = 0; i < frames_bgr.size(); ++i) {
    const cv::Mat& frame = frames_bgr[i];
    CheckImage(&frame);
    cv::Mat resized = frame;
    if (layout.scale != 1.0) {
      cv::resize(frame,
                 resized,
                 cv::Size(),
                 layout.scale,
                 layout.scale,
                 layout.scale < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
    }
    RIGPOSE_CHECK(resized.cols <= layout.cell_width && resized.rows <= layout.cell_height,
                  "frame " << i << " (" << resized.cols << "x" << resized.rows
                           << ") is larger than its cell");
    const cv::Point origin = layout.Origin(static_cast<int>(i));
    cv::Mat cell = mosaic(cv::Rect(origin.x, origin.y, layout.cell_width, layout.cell_height));
    resized.copyTo(cell(cv::Rect(0, 0, resized.cols, resized.rows)));

    // Captions: font size from the cell, a translucent box behind the text.
    const double font_scale =
        std::clamp(std::min(layout.cell_width, layout.cell_height) / 900.0, 0.4, 2.0);
    const int font_thickness = std::max(1, static_cast<int>(std::lround(font_scale * 2)));
    const int margin = static_cast<int>(std::lround(8 * font_scale));
    int y = margin;
    for (const std::string& line : captions[i]) {
      int baseline = 0;
      const cv::Size text =
          cv::getTextSize(line, cv::FONT_HERSHEY_SIMPLEX, font_scale, font_thickness, &baseline);
      const cv::Rect box =
          cv::Rect(0, y - margin / 2, text.width + 2 * margin, text.height + baseline + margin) &
          cv::Rect(0, 0, cell.cols, cell.rows);
      if (box.area() > 0) {
        cv::Mat region = cell(box);
        region.convertTo(region, -1, 0.35, 0.0);  // darken: readable on any background
      }
      cv::putText(cell,
                  line,
                  cv::Point(margin, y + text.height),
                  cv::FONT_HERSHEY_SIMPLEX,
                  font_scale,
                  cv::Scalar(255, 255, 255),
                  font_thickness,
                  cv::LINE_AA);
      y += text.height + baseline + margin;
    }
  }
  return mosaic;
}

}  // namespace rigpose

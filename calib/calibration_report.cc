// SPDX-License-Identifier: BSD-3-Clause
#include "calib/calibration_report.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <sstream>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/camera_models.h"
#include "core/error.h"
#include "data/file_util.h"

namespace rigpose {
namespace fs = std::filesystem;
namespace {

std::string Fixed(double value, int digits) {
  if (!std::isfinite(value)) return "-";
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << value;
  return s.str();
}

nlohmann::json Number(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json();
}

// A colour per view index, spread over the hue circle.
cv::Scalar ViewColour(size_t index) {
  cv::Mat hsv(1, 1, CV_8UC3, cv::Scalar((index * 47) % 180, 200, 255));
  cv::Mat bgr;
  cv::cvtColor(hsv, bgr, cv::COLOR_HSV2BGR);
  const cv::Vec3b c = bgr.at<cv::Vec3b>(0, 0);
  return cv::Scalar(c[0], c[1], c[2]);
}

// The camera's image frame at most 960 px wide: every corner of the views used by the solve,
// one colour per view, over an 8 x 8 grid shaded by how many corners fell in each cell.
cv::Mat CoverageImage(const CameraDetections& detections, const std::vector<int>& used_frames) {
  const double scale = std::min(1.0, 960.0 / std::max(detections.width, detections.height));
  const int width = std::max(1, static_cast<int>(std::lround(detections.width * scale)));
  const int height = std::max(1, static_cast<int>(std::lround(detections.height * scale)));
  constexpr int kCells = 8;
  std::vector<int> counts(kCells * kCells, 0);
  for (const BoardObservation& obs : detections.observations) {
    if (!std::binary_search(used_frames.begin(), used_frames.end(), obs.frame)) continue;
    for (const Eigen::Vector2d& p : obs.img_points) {
      const int cx = std::clamp(static_cast<int>(p.x() / detections.width * kCells), 0, kCells - 1);
      const int cy =
          std::clamp(static_cast<int>(p.y() / detections.height * kCells), 0, kCells - 1);
      ++counts[cy * kCells + cx];
    }
  }
  cv::Mat image(height, width, CV_8UC3, cv::Scalar(40, 40, 40));
  int covered = 0;
  for (int cy = 0; cy < kCells; ++cy) {
    for (int cx = 0; cx < kCells; ++cx) {
      const int n = counts[cy * kCells + cx];
      covered += n > 0;
      const int shade = n == 0 ? 40 : std::min(110, 60 + 10 * static_cast<int>(std::log2(1 + n)));
      cv::rectangle(image,
                    cv::Point(cx * width / kCells, cy * height / kCells),
                    cv::Point((cx + 1) * width / kCells - 1, (cy + 1) * height / kCells - 1),
                    n == 0 ? cv::Scalar(30, 30, 90) : cv::Scalar(shade, shade, shade),
                    cv::FILLED);
    }
  }
  size_t view = 0;
  for (const BoardObservation& obs : detections.observations) {
    if (!std::binary_search(used_frames.begin(), used_frames.end(), obs.frame)) continue;
    const cv::Scalar colour = ViewColour(view++);
    for (const Eigen::Vector2d& p : obs.img_points) {
      cv::circle(
          image, cv::Point2d(p.x() * scale, p.y() * scale), 2, colour, cv::FILLED, cv::LINE_AA);
    }
  }
  std::ostringstream label;
  label << detections.camera << ": " << view << " views, " << covered << "/" << kCells * kCells
        << " cells (red: no corner)";
  cv::putText(image,
              label.str(),
              cv::Point(8, 22),
              cv::FONT_HERSHEY_SIMPLEX,
              0.6,
              cv::Scalar(255, 255, 255),
              1,
              cv::LINE_AA);
  return image;
}

// One histogram per camera (0-3 px in 0.1 px bins, the last bin holds the rest), stacked.
cv::Mat ResidualHistograms(const RigCalibrationResult& rig) {
  constexpr int kBins = 30;
  constexpr double kMaxPx = 3.0;
  constexpr int kWidth = 640;
  constexpr int kRow = 110;
  const int num_cameras = static_cast<int>(rig.residuals_px.size());
  cv::Mat image(std::max(1, num_cameras) * kRow, kWidth, CV_8UC3, cv::Scalar(255, 255, 255));
  for (int c = 0; c < num_cameras; ++c) {
    std::vector<int> bins(kBins, 0);
    for (const float r : rig.residuals_px[c]) {
      ++bins[std::clamp(static_cast<int>(r / kMaxPx * kBins), 0, kBins - 1)];
    }
    const int peak = std::max(1, *std::max_element(bins.begin(), bins.end()));
    const int top = c * kRow;
    const int plot_left = 150;
    const int plot_width = kWidth - plot_left - 10;
    for (int b = 0; b < kBins; ++b) {
      const int h = static_cast<int>(std::lround(80.0 * bins[b] / peak));
      cv::rectangle(image,
                    cv::Point(plot_left + b * plot_width / kBins, top + 90 - h),
                    cv::Point(plot_left + (b + 1) * plot_width / kBins - 2, top + 90),
                    cv::Scalar(180, 110, 40),
                    cv::FILLED);
    }
    cv::line(image,
             cv::Point(plot_left, top + 91),
             cv::Point(kWidth - 10, top + 91),
             cv::Scalar(0, 0, 0));
    for (int px = 0; px <= 3; ++px) {
      const int x = plot_left + px * plot_width / 3;
      cv::putText(image,
                  std::to_string(px) + " px",
                  cv::Point(x - 10, top + 105),
                  cv::FONT_HERSHEY_SIMPLEX,
                  0.35,
                  cv::Scalar(0, 0, 0),
                  1,
                  cv::LINE_AA);
    }
    const CalibratedCameraStats& stats = rig.cameras[c];
    cv::putText(image,
                stats.name,
                cv::Point(8, top + 40),
                cv::FONT_HERSHEY_SIMPLEX,
                0.5,
                cv::Scalar(0, 0, 0),
                1,
                cv::LINE_AA);
    cv::putText(image,
                "RMS " + Fixed(stats.rms_px, 3) + " px",
                cv::Point(8, top + 60),
                cv::FONT_HERSHEY_SIMPLEX,
                0.45,
                cv::Scalar(0, 0, 0),
                1,
                cv::LINE_AA);
  }
  return image;
}

void WriteImage(const std::string& path, const cv::Mat& image) {
  std::vector<uchar> bytes;
  if (!cv::imencode(".png", image, bytes)) throw IoError(path + ": PNG encoding failed");
  WriteFileAtomic(path, std::string(bytes.begin(), bytes.end()));
}

}  // namespace

std::string FormatCalibrationTable(const CalibrationReportInput& input) {
  const RigCalibrationResult& rig = input.rig;
  std::ostringstream out;
  out << "  camera          images  boards  views  corners  rejected   RMS px  median px";
  if (!input.intrinsics.empty()) out << "  intrinsics RMS";
  out << "\n";
  for (size_t c = 0; c < rig.cameras.size(); ++c) {
    const CalibratedCameraStats& s = rig.cameras[c];
    out << "  " << std::left << std::setw(14) << s.name << std::right << std::setw(8)
        << input.detections[c].num_images << std::setw(8) << input.detections[c].observations.size()
        << std::setw(7) << s.num_views << std::setw(9) << s.num_corners << std::setw(10)
        << s.num_rejected << std::setw(9) << Fixed(s.rms_px, 3) << std::setw(11)
        << Fixed(s.median_px, 3);
    if (!input.intrinsics.empty()) out << std::setw(16) << Fixed(input.intrinsics[c].rms_px, 3);
    out << "\n";
  }
  out << "  camera pairs (shared frames, RMS px; * = spanning tree):";
  int printed = 0;
  for (const CameraPairStats& pair : rig.pairs) {
    out << (printed++ % 3 == 0 ? "\n   " : "   ") << rig.cameras[pair.camera_a].name << "-"
        << rig.cameras[pair.camera_b].name << (pair.in_spanning_tree ? "*" : "") << " "
        << pair.shared_frames << ", " << Fixed(pair.rms_px, 3);
  }
  out << "\n  overall RMS " << Fixed(rig.rms_px, 3) << " px over " << rig.summary.num_residuals
      << " corners, " << rig.summary.num_frames << " board poses; " << rig.summary.termination
      << " after " << rig.summary.num_iterations << " iterations (" << Fixed(rig.summary.seconds, 2)
      << " s); world: " << input.world_frame << "\n";
  if (rig.summary.num_free_points > 0) {
    out << "  board flex: " << rig.summary.num_free_points
        << " corners solved as free points, RMS shift from the rigid board "
        << Fixed(1000 * rig.summary.corner_shift_rms_m, 2) << " mm\n";
  }
  return out.str();
}

void WriteCalibrationReport(const std::string& dir, const CalibrationReportInput& input) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_empty(dir, ec)) {
    throw IoError(dir + ": the report folder exists and is not empty");
  }
  const fs::path target(dir);
  const fs::path partial =
      target.parent_path() / (target.filename().string() + ".partial-" + std::to_string(getpid()));
  fs::remove_all(partial, ec);
  if (!fs::create_directories(partial, ec)) {
    throw IoError(partial.string() + ": cannot create the report folder (" + ec.message() + ")");
  }
  try {
    const RigCalibrationResult& rig = input.rig;
    nlohmann::json summary;
    summary["format"] = "rigpose-calibration-report";
    summary["version"] = 1;
    summary["board"] = BoardToYaml(input.board);
    summary["world_frame"] = input.world_frame;
    summary["intrinsics_source"] = input.intrinsics_source;
    summary["rms_px"] = Number(rig.rms_px);
    summary["solver"] = {{"termination", rig.summary.termination},
                         {"converged", rig.summary.converged},
                         {"iterations", rig.summary.num_iterations},
                         {"solves", rig.summary.num_solves},
                         {"initial_cost", rig.summary.initial_cost},
                         {"final_cost", rig.summary.final_cost},
                         {"reference_camera", rig.rig.cameras[rig.summary.reference_camera].name},
                         {"board_poses", rig.summary.num_frames},
                         {"corners", rig.summary.num_residuals},
                         {"free_points", rig.summary.num_free_points},
                         {"corner_shift_rms_m", rig.summary.corner_shift_rms_m},
                         {"seconds", rig.summary.seconds}};
    for (size_t c = 0; c < rig.cameras.size(); ++c) {
      const CalibratedCameraStats& s = rig.cameras[c];
      const Camera& camera = rig.rig.cameras[c];
      nlohmann::json entry = {
          {"name", s.name},
          {"model", CameraModelName(camera.model_id)},
          {"width", camera.width},
          {"height", camera.height},
          {"params", camera.params},
          {"param_names", CameraModelParamNames(camera.model_id)},
          {"images", input.detections[c].num_images},
          {"boards_detected", input.detections[c].observations.size()},
          {"boards_rejected_by_detector", input.detections[c].num_rejected},
          {"views", s.num_views},
          {"corners", s.num_corners},
          {"views_rejected", s.num_rejected},
          {"rms_px", Number(s.rms_px)},
          {"median_px", Number(s.median_px)},
          {"intrinsics_refined_in_bundle_adjustment", s.intrinsics_refined},
          {"center_in_world_m",
           {camera.CenterInWorld().x(), camera.CenterInWorld().y(), camera.CenterInWorld().z()}},
          {"coverage_image", "coverage_" + s.name + ".png"}};
      if (c < input.intrinsics.size()) {
        const IntrinsicsResult& intr = input.intrinsics[c];
        std::vector<nlohmann::json> stddev;
        for (double v : intr.param_stddev) stddev.push_back(Number(v));
        entry["intrinsics"] = {{"rms_px", Number(intr.rms_px)},
                               {"views", intr.views.size()},
                               {"views_rejected", intr.rejected_views.size()},
                               {"corners", intr.num_corners},
                               {"param_stddev", stddev}};
      }
      summary["cameras"].push_back(entry);
    }
    summary["pairs"] = nlohmann::json::array();
    for (const CameraPairStats& pair : rig.pairs) {
      summary["pairs"].push_back({{"a", rig.cameras[pair.camera_a].name},
                                  {"b", rig.cameras[pair.camera_b].name},
                                  {"shared_frames", pair.shared_frames},
                                  {"rms_px", Number(pair.rms_px)},
                                  {"spanning_tree", pair.in_spanning_tree}});
    }
    summary["residual_histograms"] = "residuals.png";
    summary["corners"] = "corners.csv";
    // Every detected corner, for re-evaluation with other tools.
    std::string csv = "camera,frame,corner_id,x_px,y_px,used\n";
    for (size_t c = 0; c < input.detections.size(); ++c) {
      const std::vector<int>& used = rig.used_frames[c];
      for (const BoardObservation& obs : input.detections[c].observations) {
        const bool is_used = std::binary_search(used.begin(), used.end(), obs.frame);
        for (size_t k = 0; k < obs.corner_ids.size(); ++k) {
          std::ostringstream row;
          row << std::setprecision(9) << input.detections[c].camera << "," << obs.frame << ","
              << obs.corner_ids[k] << "," << obs.img_points[k].x() << "," << obs.img_points[k].y()
              << "," << (is_used ? 1 : 0) << "\n";
          csv += row.str();
        }
      }
    }
    WriteFileAtomic((partial / "corners.csv").string(), csv);
    WriteFileAtomic((partial / "summary.json").string(), summary.dump(2) + "\n");
    for (size_t c = 0; c < rig.cameras.size(); ++c) {
      WriteImage((partial / ("coverage_" + rig.cameras[c].name + ".png")).string(),
                 CoverageImage(input.detections[c], rig.used_frames[c]));
    }
    WriteImage((partial / "residuals.png").string(), ResidualHistograms(rig));
    if (fs::exists(target, ec)) fs::remove(target, ec);  // empty
    fs::rename(partial, target, ec);
    if (ec) throw IoError(dir + ": cannot move the report into place (" + ec.message() + ")");
  } catch (...) {
    fs::remove_all(partial, ec);
    throw;
  }
}

}  // namespace rigpose

// SPDX-License-Identifier: BSD-3-Clause
#include "data/board.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>
#include <opencv2/aruco/dictionary.hpp>

#include "core/error.h"
#include "data/file_util.h"
#include "data/yaml_util.h"

namespace rigpose {
namespace {

using yaml_util::AsBool;
using yaml_util::AsDouble;
using yaml_util::AsInt;
using yaml_util::AsString;
using yaml_util::CheckKeys;
using yaml_util::Line;

constexpr int kMaxBoardSide = 1000;
constexpr double kMaxSquareSizeM = 1.0;
constexpr int kMaxTextureSide = 32768;

template <typename... Args>
std::string Cat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

const char* SizeKey(BoardType type) {
  return type == BoardType::kChessboard ? "inner_corners" : "squares";
}

// Shortest text that reads back to the same double; locale-independent.
std::string FormatExact(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

std::string InversionName(BoardInversion inverted) {
  switch (inverted) {
    case BoardInversion::kTrue:
      return "true";
    case BoardInversion::kFalse:
      return "false";
    case BoardInversion::kAuto:
      break;
  }
  return "auto";
}

void CheckValid(const BoardSpec& spec) {
  const std::vector<std::string> problems = spec.Problems();
  RIGPOSE_CHECK(problems.empty(), "invalid board: " << problems.front());
}

}  // namespace

// ---- BoardSpec ----

bool operator==(const BoardSpec& a, const BoardSpec& b) {
  return a.type == b.type && a.cols == b.cols && a.rows == b.rows &&
         a.square_size_m == b.square_size_m && a.marker_size_m == b.marker_size_m &&
         a.dictionary == b.dictionary && a.legacy_pattern == b.legacy_pattern &&
         a.inverted == b.inverted && a.margin_m == b.margin_m;
}

std::vector<std::string> BoardSpec::Problems() const {
  std::vector<std::string> problems;
  const bool charuco = type == BoardType::kCharuco;
  const int min_side = charuco ? 2 : 3;  // OpenCV: CharucoBoard > 1, patternSize > 2.
  const char* size_key = SizeKey(type);
  const bool size_ok =
      cols >= min_side && rows >= min_side && cols <= kMaxBoardSide && rows <= kMaxBoardSide;
  if (!size_ok) {
    problems.push_back(Cat(size_key,
                           " is [",
                           cols,
                           ", ",
                           rows,
                           "]: each must be between ",
                           min_side,
                           " and ",
                           kMaxBoardSide,
                           charuco ? " squares" : " inner corners"));
  }
  if (!(std::isfinite(square_size_m) && square_size_m > 0.0)) {
    problems.push_back(Cat("square_size_m is ", square_size_m, ": it must be positive"));
  } else if (square_size_m > kMaxSquareSizeM) {
    problems.push_back(Cat("square_size_m is ",
                           square_size_m,
                           ": more than ",
                           kMaxSquareSizeM,
                           " m, probably not metres"));
  }
  if (margin_m && !(std::isfinite(*margin_m) && *margin_m >= 0.0))
    problems.push_back(Cat("margin_m is ", *margin_m, ": it must be zero or positive"));
  if (charuco) {
    if (!(std::isfinite(marker_size_m) && marker_size_m > 0.0)) {
      problems.push_back(Cat("marker_size_m is ", marker_size_m, ": it must be positive"));
    } else if (!(marker_size_m < square_size_m)) {
      problems.push_back(Cat("marker_size_m (",
                             marker_size_m,
                             ") must be smaller than square_size_m (",
                             square_size_m,
                             ")"));
    }
    const std::optional<int> dictionary_size = ArucoDictionarySize(dictionary);
    if (!dictionary_size) {
      problems.push_back(Cat("dictionary '",
                             dictionary,
                             "' is not an OpenCV predefined dictionary (e.g. DICT_4X4_50, "
                             "DICT_5X5_1000, DICT_ARUCO_ORIGINAL)"));
    } else if (size_ok && NumMarkers() > *dictionary_size) {
      problems.push_back(Cat("dictionary ",
                             dictionary,
                             " has ",
                             *dictionary_size,
                             " markers but ",
                             size_key,
                             " [",
                             cols,
                             ", ",
                             rows,
                             "] needs ",
                             NumMarkers()));
    }
  } else {
    // Fields a chessboard ignores would not survive a board.yaml round trip.
    const BoardSpec defaults;
    if (marker_size_m != defaults.marker_size_m)
      problems.push_back("marker_size_m is only for ChArUco boards");
    if (dictionary != defaults.dictionary)
      problems.push_back("dictionary is only for ChArUco boards");
    if (legacy_pattern != defaults.legacy_pattern)
      problems.push_back("legacy_pattern is only for ChArUco boards");
  }
  return problems;
}

int BoardSpec::SquaresX() const { return type == BoardType::kChessboard ? cols + 1 : cols; }
int BoardSpec::SquaresY() const { return type == BoardType::kChessboard ? rows + 1 : rows; }

int BoardSpec::NumCorners() const {
  return type == BoardType::kChessboard ? cols * rows : (cols - 1) * (rows - 1);
}

int BoardSpec::NumMarkers() const { return type == BoardType::kCharuco ? cols * rows / 2 : 0; }

Eigen::Vector2d BoardSpec::PrintedSizeM() const {
  return Eigen::Vector2d(SquaresX() * square_size_m + 2.0 * MarginM(),
                         SquaresY() * square_size_m + 2.0 * MarginM());
}

bool BoardSpec::IsBlackSquare(int col, int row) const {
  // OpenCV >= 4.8 legacy rule: shifted by one row, for even row counts only.
  const bool legacy = type == BoardType::kCharuco && legacy_pattern && rows % 2 == 0;
  return (col + row) % 2 == (legacy ? 1 : 0);
}

// ---- Geometry ----

std::vector<Eigen::Vector3d> BoardCornersInBoard(const BoardSpec& spec) {
  CheckValid(spec);
  const int corners_x = spec.SquaresX() - 1;
  const int corners_y = spec.SquaresY() - 1;
  std::vector<Eigen::Vector3d> corners;
  corners.reserve(static_cast<size_t>(corners_x) * corners_y);
  for (int j = 0; j < corners_y; ++j) {
    for (int i = 0; i < corners_x; ++i) {
      corners.emplace_back((i + 1) * spec.square_size_m, (j + 1) * spec.square_size_m, 0.0);
    }
  }
  return corners;
}

std::vector<std::vector<Eigen::Vector3d>> BoardMarkerCornersInBoard(const BoardSpec& spec) {
  CheckValid(spec);
  std::vector<std::vector<Eigen::Vector3d>> markers;
  if (spec.type != BoardType::kCharuco) return markers;
  const double s = spec.square_size_m;
  const double m = spec.marker_size_m;
  const double inset = (s - m) / 2.0;
  for (int row = 0; row < spec.rows; ++row) {
    for (int col = 0; col < spec.cols; ++col) {
      if (spec.IsBlackSquare(col, row)) continue;
      const double x = col * s + inset;
      const double y = row * s + inset;
      markers.push_back({Eigen::Vector3d(x, y, 0.0),
                         Eigen::Vector3d(x + m, y, 0.0),
                         Eigen::Vector3d(x + m, y + m, 0.0),
                         Eigen::Vector3d(x, y + m, 0.0)});
    }
  }
  return markers;
}

std::optional<int> ArucoDictionaryId(const std::string& name) {
  namespace aruco = cv::aruco;
  static const std::pair<const char*, int> kDictionaries[] = {
      {"DICT_4X4_50", aruco::DICT_4X4_50},
      {"DICT_4X4_100", aruco::DICT_4X4_100},
      {"DICT_4X4_250", aruco::DICT_4X4_250},
      {"DICT_4X4_1000", aruco::DICT_4X4_1000},
      {"DICT_5X5_50", aruco::DICT_5X5_50},
      {"DICT_5X5_100", aruco::DICT_5X5_100},
      {"DICT_5X5_250", aruco::DICT_5X5_250},
      {"DICT_5X5_1000", aruco::DICT_5X5_1000},
      {"DICT_6X6_50", aruco::DICT_6X6_50},
      {"DICT_6X6_100", aruco::DICT_6X6_100},
      {"DICT_6X6_250", aruco::DICT_6X6_250},
      {"DICT_6X6_1000", aruco::DICT_6X6_1000},
      {"DICT_7X7_50", aruco::DICT_7X7_50},
      {"DICT_7X7_100", aruco::DICT_7X7_100},
      {"DICT_7X7_250", aruco::DICT_7X7_250},
      {"DICT_7X7_1000", aruco::DICT_7X7_1000},
      {"DICT_ARUCO_ORIGINAL", aruco::DICT_ARUCO_ORIGINAL},
      {"DICT_APRILTAG_16h5", aruco::DICT_APRILTAG_16h5},
      {"DICT_APRILTAG_25h9", aruco::DICT_APRILTAG_25h9},
      {"DICT_APRILTAG_36h10", aruco::DICT_APRILTAG_36h10},
      {"DICT_APRILTAG_36h11", aruco::DICT_APRILTAG_36h11},
  };
  for (const auto& [dictionary_name, id] : kDictionaries) {
    if (name == dictionary_name) return id;
  }
  return std::nullopt;
}

std::optional<int> ArucoDictionarySize(const std::string& name) {
  const std::optional<int> id = ArucoDictionaryId(name);
  if (!id) return std::nullopt;
  return cv::aruco::getPredefinedDictionary(*id)->bytesList.rows;
}

// ---- board.yaml ----

BoardSpec ReadBoard(const std::string& path) {
  const YAML::Node root = yaml_util::LoadFile(path);
  if (!root.IsMap()) ThrowIo(path, Line(root), "", "expected a mapping of board keys");
  if (!root["type"]) ThrowIo(path, Line(root), "type", "missing required key");

  BoardSpec spec;
  const std::string type = AsString(root["type"], path, "type");
  const std::set<std::string> charuco_only = {
      "squares", "marker_size_m", "dictionary", "legacy_pattern"};
  if (type == "chessboard") {
    spec.type = BoardType::kChessboard;
    CheckKeys(root,
              {"type", "inner_corners", "square_size_m"},
              {"inverted", "margin_m"},
              path,
              "",
              charuco_only,
              "only for 'type: charuco' boards");
  } else if (type == "charuco") {
    spec.type = BoardType::kCharuco;
    CheckKeys(root,
              {"type", "squares", "square_size_m", "marker_size_m", "dictionary", "legacy_pattern"},
              {"inverted", "margin_m"},
              path);
  } else {
    ThrowIo(path,
            Line(root["type"]),
            "type",
            "unknown board type '" + type + "' (expected chessboard or charuco)");
  }

  const char* size_key = SizeKey(spec.type);
  const YAML::Node size = root[size_key];
  if (!size.IsSequence() || size.size() != 2)
    ThrowIo(path, Line(size), size_key, "expected [cols, rows]");
  spec.cols = AsInt(size[0], path, size_key);
  spec.rows = AsInt(size[1], path, size_key);
  spec.square_size_m = AsDouble(root["square_size_m"], path, "square_size_m");
  if (spec.type == BoardType::kCharuco) {
    spec.marker_size_m = AsDouble(root["marker_size_m"], path, "marker_size_m");
    spec.dictionary = AsString(root["dictionary"], path, "dictionary");
    spec.legacy_pattern = AsBool(root["legacy_pattern"], path, "legacy_pattern");
  }
  // Optional: auto tries the printed and the inverted board.
  const std::string inverted =
      root["inverted"] ? AsString(root["inverted"], path, "inverted") : std::string("auto");
  if (inverted == "auto") {
    spec.inverted = BoardInversion::kAuto;
  } else if (inverted == "true") {
    spec.inverted = BoardInversion::kTrue;
  } else if (inverted == "false") {
    spec.inverted = BoardInversion::kFalse;
  } else {
    ThrowIo(path,
            Line(root["inverted"]),
            "inverted",
            "expected auto, true or false, got '" + inverted + "'");
  }
  if (root["margin_m"]) spec.margin_m = AsDouble(root["margin_m"], path, "margin_m");

  const std::vector<std::string> problems = spec.Problems();
  if (!problems.empty()) {
    std::string message = path + ": invalid board:";
    for (const std::string& problem : problems) message += "\n  - " + problem;
    throw InputError(message);
  }
  return spec;
}

std::string BoardToYaml(const BoardSpec& spec) {
  const std::vector<std::string> problems = spec.Problems();
  if (!problems.empty()) throw InputError("cannot write an invalid board: " + problems.front());
  std::ostringstream out;
  out << "# rigpose calibration board (docs/FORMATS.md). Board frame: origin at the top-left\n"
      << "# outer corner of the squares, x right, y down, z into the board; metres.\n";
  if (spec.type == BoardType::kChessboard) {
    out << "type: chessboard\n"
        << "inner_corners: [" << spec.cols << ", " << spec.rows << "]\n"
        << "square_size_m: " << FormatExact(spec.square_size_m) << "\n";
  } else {
    out << "type: charuco\n"
        << "squares: [" << spec.cols << ", " << spec.rows << "]\n"
        << "square_size_m: " << FormatExact(spec.square_size_m) << "\n"
        << "marker_size_m: " << FormatExact(spec.marker_size_m) << "\n"
        << "dictionary: " << spec.dictionary << "\n"
        << "legacy_pattern: " << (spec.legacy_pattern ? "true" : "false") << "\n";
  }
  out << "inverted: " << InversionName(spec.inverted) << "\n";
  if (spec.margin_m) out << "margin_m: " << FormatExact(*spec.margin_m) << "\n";
  return out.str();
}

void WriteBoard(const BoardSpec& spec, const std::string& path) {
  WriteFileAtomic(path, BoardToYaml(spec));
}

// ---- Texture ----

namespace {

// Texel count for a length in texels: a value within 1e-6 of an integer is that integer.
int TexelCount(double texels) {
  const double rounded = std::round(texels);
  if (std::abs(texels - rounded) < 1e-6) return static_cast<int>(rounded);
  return static_cast<int>(std::ceil(texels));
}

// Exact black area per texel of a union of non-overlapping rectangles, rasterised in bands of
// rows so that memory stays proportional to the output.
class CoverageRaster {
 public:
  CoverageRaster(double margin_m, double pixels_per_m)
      : margin_m_(margin_m), pixels_per_m_(pixels_per_m) {}

  // Rectangle [x0, x1] × [y0, y1] in board metres.
  void AddBlack(double x0, double y0, double x1, double y1) {
    rects_.push_back({ToTexels(x0), ToTexels(y0), ToTexels(x1), ToTexels(y1)});
  }

  cv::Mat Render(int width, int height, bool inverted) const {
    constexpr int kBandRows = 256;
    cv::Mat image(height, width, CV_8UC1);
    std::vector<double> black;
    for (int band_begin = 0; band_begin < height; band_begin += kBandRows) {
      const int band_end = std::min(height, band_begin + kBandRows);
      black.assign(static_cast<size_t>(band_end - band_begin) * width, 0.0);
      for (const Rect& r : rects_) {
        const int u_begin = std::max(0, static_cast<int>(std::floor(r.u0)));
        const int u_end = std::min(width, static_cast<int>(std::ceil(r.u1)));
        const int v_begin = std::max(band_begin, static_cast<int>(std::floor(r.v0)));
        const int v_end = std::min(band_end, static_cast<int>(std::ceil(r.v1)));
        for (int v = v_begin; v < v_end; ++v) {
          const double fy = std::min(r.v1, v + 1.0) - std::max(r.v0, static_cast<double>(v));
          if (fy <= 0.0) continue;
          double* row = &black[static_cast<size_t>(v - band_begin) * width];
          for (int u = u_begin; u < u_end; ++u) {
            const double fx = std::min(r.u1, u + 1.0) - std::max(r.u0, static_cast<double>(u));
            if (fx > 0.0) row[u] += fx * fy;
          }
        }
      }
      for (int v = band_begin; v < band_end; ++v) {
        const double* in = &black[static_cast<size_t>(v - band_begin) * width];
        uint8_t* out = image.ptr<uint8_t>(v);
        for (int u = 0; u < width; ++u) {
          const double b = std::clamp(in[u], 0.0, 1.0);
          out[u] = static_cast<uint8_t>(std::lround(255.0 * (inverted ? b : 1.0 - b)));
        }
      }
    }
    return image;
  }

 private:
  struct Rect {
    double u0, v0, u1, v1;  // Texel units.
  };

  double ToTexels(double board_m) const { return (board_m + margin_m_) * pixels_per_m_; }

  double margin_m_;
  double pixels_per_m_;
  std::vector<Rect> rects_;
};

}  // namespace

cv::Mat RenderBoardTexture(const BoardSpec& spec, double pixels_per_m) {
  CheckValid(spec);
  RIGPOSE_CHECK(std::isfinite(pixels_per_m) && pixels_per_m > 0.0, "pixels_per_m=" << pixels_per_m);
  const Eigen::Vector2d size_texels = spec.PrintedSizeM() * pixels_per_m;
  RIGPOSE_CHECK(size_texels.maxCoeff() <= kMaxTextureSide,
                "texture of " << size_texels.x() << " x " << size_texels.y() << " texels (max "
                              << kMaxTextureSide << " per side)");
  const int width = std::max(1, TexelCount(size_texels.x()));
  const int height = std::max(1, TexelCount(size_texels.y()));
  CoverageRaster raster(spec.MarginM(), pixels_per_m);

  const double s = spec.square_size_m;
  for (int row = 0; row < spec.SquaresY(); ++row) {
    for (int col = 0; col < spec.SquaresX(); ++col) {
      if (spec.IsBlackSquare(col, row))
        raster.AddBlack(col * s, row * s, (col + 1) * s, (row + 1) * s);
    }
  }

  if (spec.type == BoardType::kCharuco) {
    const cv::Ptr<cv::aruco::Dictionary> dictionary =
        cv::aruco::getPredefinedDictionary(*ArucoDictionaryId(spec.dictionary));
    const int cells = dictionary->markerSize + 2;  // Bits plus a 1-bit border on each side.
    const double cell_m = spec.marker_size_m / cells;
    const std::vector<std::vector<Eigen::Vector3d>> markers = BoardMarkerCornersInBoard(spec);
    for (size_t id = 0; id < markers.size(); ++id) {
      cv::Mat tiny;  // One pixel per cell: 0 black, 255 white.
      dictionary->drawMarker(static_cast<int>(id), cells, tiny, 1);
      const Eigen::Vector3d& top_left = markers[id][0];
      for (int j = 0; j < cells; ++j) {
        for (int i = 0; i < cells; ++i) {
          if (tiny.at<uint8_t>(j, i) != 0) continue;
          raster.AddBlack(top_left.x() + i * cell_m,
                          top_left.y() + j * cell_m,
                          top_left.x() + (i + 1) * cell_m,
                          top_left.y() + (j + 1) * cell_m);
        }
      }
    }
  }
  return raster.Render(width, height, spec.inverted == BoardInversion::kTrue);
}

}  // namespace rigpose

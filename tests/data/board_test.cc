// SPDX-License-Identifier: BSD-3-Clause
#include "data/board.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/aruco.hpp>
#include <opencv2/aruco/charuco.hpp>
#include <opencv2/calib3d.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.h"
#include "tests/board_fixtures.h"
#include "tests/test_util.h"

namespace rigpose {
namespace {

BoardSpec Chessboard(int cols, int rows, double square_m) {
  return test::MakeChessboard(cols, rows, square_m);
}

BoardSpec Charuco(int cols, int rows, double square_m, double marker_m, bool legacy = false) {
  return test::MakeCharuco(cols, rows, square_m, marker_m, legacy);
}

// Board point -> texel coordinates (OpenCV pixel convention: centres at integers).
cv::Point2d ToPixel(const Eigen::Vector3d& point_in_board, const BoardSpec& spec, double ppm) {
  return {(point_in_board.x() + spec.MarginM()) * ppm - 0.5,
          (point_in_board.y() + spec.MarginM()) * ppm - 0.5};
}

cv::Ptr<cv::aruco::CharucoBoard> OpenCVBoard(const BoardSpec& spec) {
  return cv::aruco::CharucoBoard::create(
      spec.cols,
      spec.rows,
      static_cast<float>(spec.square_size_m),
      static_cast<float>(spec.marker_size_m),
      cv::aruco::getPredefinedDictionary(*ArucoDictionaryId(spec.dictionary)));
}

struct CharucoDetection {
  std::vector<int> marker_ids;
  std::vector<std::vector<cv::Point2f>> marker_corners;
  std::vector<int> corner_ids;
  std::vector<cv::Point2f> corners;
};

// OpenCV 4.6's own ChArUco pipeline on an image, with its (new-pattern) board.
CharucoDetection DetectCharuco(const cv::Mat& image, const BoardSpec& spec) {
  const cv::Ptr<cv::aruco::CharucoBoard> board = OpenCVBoard(spec);
  CharucoDetection out;
  cv::aruco::detectMarkers(image, board->dictionary, out.marker_corners, out.marker_ids);
  if (!out.marker_ids.empty()) {
    cv::aruco::interpolateCornersCharuco(
        out.marker_corners, out.marker_ids, image, board, out.corners, out.corner_ids);
  }
  return out;
}

// OpenCV 4.6's interpolateCornersCharuco returns corners shifted by +0.5 px in x and y: the
// shifts around cornerSubPix added by opencv_contrib PR 3024 (2021); opencv issue 25539, fixed in
// OpenCV by PR 28380 (2026).
constexpr double kCharucoBiasPx = 0.5;

// Largest distance between detected ChArUco corners (minus `bias_px`) and their expected texel
// positions; infinity for an id out of range.
double MaxCornerError(const CharucoDetection& detection,
                      const BoardSpec& spec,
                      double ppm,
                      double bias_px = kCharucoBiasPx) {
  const std::vector<Eigen::Vector3d> expected = BoardCornersInBoard(spec);
  double worst = 0.0;
  for (size_t k = 0; k < detection.corner_ids.size(); ++k) {
    const int id = detection.corner_ids[k];
    if (id < 0 || id >= static_cast<int>(expected.size()))
      return std::numeric_limits<double>::infinity();
    const cv::Point2d d = cv::Point2d(detection.corners[k]) - cv::Point2d(bias_px, bias_px) -
                          ToPixel(expected[id], spec, ppm);
    worst = std::max(worst, std::hypot(d.x, d.y));
  }
  return worst;
}

// Largest distance between detected chessboard corners and BoardCornersInBoard, where detected
// corner k is board corner index(k).
template <typename Index>
double MaxChessboardError(const std::vector<cv::Point2f>& detected,
                          const BoardSpec& spec,
                          double ppm,
                          Index index) {
  const std::vector<Eigen::Vector3d> expected = BoardCornersInBoard(spec);
  if (detected.size() != expected.size()) return std::numeric_limits<double>::infinity();
  double worst = 0.0;
  for (size_t k = 0; k < detected.size(); ++k) {
    const cv::Point2d d = cv::Point2d(detected[k]) - ToPixel(expected[index(k)], spec, ppm);
    worst = std::max(worst, std::hypot(d.x, d.y));
  }
  return worst;
}

// Maps pixels of a cv::rotate(ROTATE_180) view (of size `size`) back to the unrotated image.
std::vector<cv::Point2f> UnrotateFrom180(const std::vector<cv::Point2f>& points, cv::Size size) {
  std::vector<cv::Point2f> out;
  for (const cv::Point2f& p : points)
    out.emplace_back(static_cast<float>(size.width - 1 - p.x),
                     static_cast<float>(size.height - 1 - p.y));
  return out;
}

// Expects `call` to throw E with every fragment in its message.
template <typename E, typename F>
void ExpectThrowWith(F call, const std::vector<std::string>& fragments) {
  try {
    call();
    ADD_FAILURE() << "no exception";
  } catch (const E& e) {
    const std::string message = e.what();
    for (const std::string& fragment : fragments)
      EXPECT_NE(message.find(fragment), std::string::npos) << fragment << " not in: " << message;
  }
}

// ---- BoardSpec ----

TEST(BoardSpec, DerivedSizes) {
  const BoardSpec chess = Chessboard(9, 6, 0.03);
  EXPECT_EQ(chess.SquaresX(), 10);
  EXPECT_EQ(chess.SquaresY(), 7);
  EXPECT_EQ(chess.NumCorners(), 54);
  EXPECT_EQ(chess.NumMarkers(), 0);
  EXPECT_DOUBLE_EQ(chess.MarginM(), 0.03);
  EXPECT_DOUBLE_EQ(chess.PrintedSizeM().x(), 12 * 0.03);
  EXPECT_DOUBLE_EQ(chess.PrintedSizeM().y(), 9 * 0.03);

  BoardSpec charuco = Charuco(7, 5, 0.04, 0.03);
  charuco.margin_m = 0.01;
  EXPECT_EQ(charuco.SquaresX(), 7);
  EXPECT_EQ(charuco.SquaresY(), 5);
  EXPECT_EQ(charuco.NumCorners(), 24);
  EXPECT_EQ(charuco.NumMarkers(), 17);
  EXPECT_DOUBLE_EQ(charuco.PrintedSizeM().x(), 7 * 0.04 + 0.02);
  EXPECT_TRUE(charuco.Problems().empty());
  EXPECT_TRUE(chess.Problems().empty());
}

TEST(BoardSpec, SquareColours) {
  // Top-left black for a chessboard and the new ChArUco pattern, white for legacy even rows.
  EXPECT_TRUE(Chessboard(9, 6, 0.03).IsBlackSquare(0, 0));
  EXPECT_TRUE(Charuco(5, 4, 0.04, 0.03).IsBlackSquare(0, 0));
  EXPECT_FALSE(Charuco(5, 4, 0.04, 0.03, true).IsBlackSquare(0, 0));
  EXPECT_TRUE(Charuco(5, 5, 0.04, 0.03, true).IsBlackSquare(0, 0));
  EXPECT_FALSE(Charuco(5, 4, 0.04, 0.03).IsBlackSquare(1, 0));
}

TEST(BoardSpec, ProblemsNameTheKey) {
  const auto first_problem = [](const BoardSpec& spec) {
    const std::vector<std::string> problems = spec.Problems();
    return problems.empty() ? std::string() : problems.front();
  };
  EXPECT_NE(first_problem(Chessboard(2, 6, 0.03)).find("inner_corners"), std::string::npos);
  EXPECT_NE(first_problem(Charuco(1, 6, 0.04, 0.03)).find("squares"), std::string::npos);
  EXPECT_TRUE(Charuco(2, 2, 0.04, 0.03).Problems().empty());
  EXPECT_NE(first_problem(Chessboard(9, 6, 0.0)).find("square_size_m"), std::string::npos);
  EXPECT_NE(first_problem(Chessboard(9, 6, 30.0)).find("square_size_m"), std::string::npos);
  EXPECT_NE(first_problem(Charuco(5, 5, 0.04, 0.04)).find("marker_size_m"), std::string::npos);
  EXPECT_NE(first_problem(Charuco(5, 5, 0.04, -0.01)).find("marker_size_m"), std::string::npos);
  BoardSpec spec = Charuco(11, 11, 0.04, 0.03);  // 60 markers > 50.
  EXPECT_NE(first_problem(spec).find("DICT_4X4_50 has 50 markers"), std::string::npos);
  spec.dictionary = "DICT_4X4_100";
  EXPECT_TRUE(spec.Problems().empty());
  spec.dictionary = "DICT_4X4_51";
  EXPECT_NE(first_problem(spec).find("dictionary"), std::string::npos);
  spec = Charuco(5, 5, 0.04, 0.03);
  spec.margin_m = -0.01;
  EXPECT_NE(first_problem(spec).find("margin_m"), std::string::npos);
  spec = Chessboard(9, 6, 0.03);
  spec.legacy_pattern = true;
  EXPECT_NE(first_problem(spec).find("legacy_pattern"), std::string::npos);
}

TEST(ArucoDictionaryId, KnownAndUnknownBoardDictionaries) {
  EXPECT_EQ(ArucoDictionaryId("DICT_4X4_50"), cv::aruco::DICT_4X4_50);
  EXPECT_EQ(ArucoDictionaryId("DICT_4X4_1000"), cv::aruco::DICT_4X4_1000);
  EXPECT_EQ(ArucoDictionaryId("DICT_5X5_100"), cv::aruco::DICT_5X5_100);
  EXPECT_EQ(ArucoDictionaryId("DICT_ARUCO_ORIGINAL"), cv::aruco::DICT_ARUCO_ORIGINAL);
  EXPECT_EQ(ArucoDictionaryId("DICT_APRILTAG_36h11"), cv::aruco::DICT_APRILTAG_36h11);
  EXPECT_FALSE(ArucoDictionaryId("dict_4x4_50"));
  EXPECT_FALSE(ArucoDictionaryId(""));
  EXPECT_EQ(ArucoDictionarySize("DICT_4X4_250"), 250);
  EXPECT_EQ(ArucoDictionarySize("DICT_ARUCO_ORIGINAL"), 1024);
  EXPECT_FALSE(ArucoDictionarySize("DICT_9X9_50"));
}

// ---- Geometry vs OpenCV ----

TEST(BoardCornersInBoard, MatchesOpenCVCharucoBoard) {
  for (const auto& [cols, rows] :
       std::vector<std::pair<int, int>>{{5, 4}, {5, 5}, {6, 7}, {2, 2}}) {
    const BoardSpec spec = Charuco(cols, rows, 0.04, 0.03);
    const cv::Ptr<cv::aruco::CharucoBoard> board = OpenCVBoard(spec);
    const std::vector<Eigen::Vector3d> corners = BoardCornersInBoard(spec);
    ASSERT_EQ(corners.size(), board->chessboardCorners.size());
    ASSERT_EQ(static_cast<int>(corners.size()), spec.NumCorners());
    for (size_t k = 0; k < corners.size(); ++k) {
      const cv::Point3f& cv_corner = board->chessboardCorners[k];
      EXPECT_NEAR(corners[k].x(), cv_corner.x, 1e-6) << cols << "x" << rows << " corner " << k;
      EXPECT_NEAR(corners[k].y(), cv_corner.y, 1e-6) << cols << "x" << rows << " corner " << k;
      EXPECT_EQ(corners[k].z(), 0.0);
    }
    // Marker ids and corner order (OpenCV's objPoints are indexed like board->ids).
    const std::vector<std::vector<Eigen::Vector3d>> markers = BoardMarkerCornersInBoard(spec);
    ASSERT_EQ(markers.size(), board->objPoints.size());
    ASSERT_EQ(static_cast<int>(markers.size()), spec.NumMarkers());
    for (size_t m = 0; m < markers.size(); ++m) {
      ASSERT_EQ(board->ids[m], static_cast<int>(m));
      for (int c = 0; c < 4; ++c) {
        EXPECT_NEAR(markers[m][c].x(), board->objPoints[m][c].x, 1e-6) << "marker " << m;
        EXPECT_NEAR(markers[m][c].y(), board->objPoints[m][c].y, 1e-6) << "marker " << m;
      }
    }
  }
}

TEST(BoardCornersInBoard, ChessboardRowMajorFromTopLeft) {
  const std::vector<Eigen::Vector3d> corners = BoardCornersInBoard(Chessboard(4, 3, 0.05));
  ASSERT_EQ(corners.size(), 12u);
  EXPECT_TRUE(corners[0].isApprox(Eigen::Vector3d(0.05, 0.05, 0.0)));
  EXPECT_TRUE(corners[1].isApprox(Eigen::Vector3d(0.10, 0.05, 0.0)));
  EXPECT_TRUE(corners[4].isApprox(Eigen::Vector3d(0.05, 0.10, 0.0)));
  EXPECT_TRUE(corners[11].isApprox(Eigen::Vector3d(0.20, 0.15, 0.0)));
  EXPECT_THROW(BoardCornersInBoard(Chessboard(1, 1, 0.05)), std::invalid_argument);
}

// ---- board.yaml ----

TEST(ReadBoard, RoundTripExact) {
  const std::string dir = test::ScratchDir("board");
  BoardSpec chess = Chessboard(9, 6, 0.1 + 0.2);
  chess.inverted = BoardInversion::kTrue;
  BoardSpec charuco = Charuco(8, 6, 1.0 / 30.0, 1.0 / 30.0 * 0.75, true);
  charuco.dictionary = "DICT_5X5_100";
  charuco.inverted = BoardInversion::kFalse;
  charuco.margin_m = 1.0 / 7.0;
  BoardSpec plain = Charuco(5, 7, 0.04, 0.03);
  plain.dictionary = "DICT_ARUCO_ORIGINAL";
  for (const BoardSpec& spec : {chess, charuco, plain}) {
    const std::string path = dir + "/board.yaml";
    WriteBoard(spec, path);
    const BoardSpec back = ReadBoard(path);
    EXPECT_TRUE(back == spec) << test::ReadText(path);
    EXPECT_EQ(back.square_size_m, spec.square_size_m);
    EXPECT_EQ(back.marker_size_m, spec.marker_size_m);
    EXPECT_EQ(back.margin_m, spec.margin_m);
    EXPECT_EQ(BoardToYaml(back), test::ReadText(path));
  }
  EXPECT_EQ(test::CountEntries(dir), 1);  // No temporary file left behind.
}

TEST(ReadBoard, ReadsDocumentedExample) {
  const std::string path = test::ScratchDir("board") + "/board.yaml";
  test::WriteText(path,
                  "type: charuco\n"
                  "squares: [7, 5]\n"
                  "square_size_m: 0.04\n"
                  "marker_size_m: 0.03\n"
                  "dictionary: DICT_4X4_1000\n"
                  "legacy_pattern: false\n"
                  "inverted: auto\n");
  const BoardSpec spec = ReadBoard(path);
  EXPECT_EQ(spec.type, BoardType::kCharuco);
  EXPECT_EQ(spec.cols, 7);
  EXPECT_EQ(spec.rows, 5);
  EXPECT_EQ(spec.square_size_m, 0.04);
  EXPECT_EQ(spec.marker_size_m, 0.03);
  EXPECT_EQ(spec.dictionary, "DICT_4X4_1000");
  EXPECT_FALSE(spec.legacy_pattern);
  EXPECT_EQ(spec.inverted, BoardInversion::kAuto);
  EXPECT_FALSE(spec.margin_m);
  EXPECT_DOUBLE_EQ(spec.MarginM(), 0.04);
}

// One mutation of a valid fixture per case; the message names the file and the key.
TEST(ReadBoard, BadInput) {
  const std::map<std::string, std::string> charuco = {
      {"type", "charuco"},
      {"squares", "[7, 5]"},
      {"square_size_m", "0.04"},
      {"marker_size_m", "0.03"},
      {"dictionary", "DICT_4X4_50"},
      {"legacy_pattern", "false"},
      {"inverted", "auto"},
  };
  const std::map<std::string, std::string> chess = {
      {"type", "chessboard"},
      {"inner_corners", "[9, 6]"},
      {"square_size_m", "0.03"},
      {"inverted", "false"},
  };
  struct Case {
    std::string name;
    std::map<std::string, std::string> base;
    std::string key;
    std::string value;  // "" removes the key.
    bool io_error;      // IoError (syntax, keys, types) vs InputError (Problems()).
    std::string fragment;
  };
  const std::vector<Case> cases = {
      {"missing_key", charuco, "marker_size_m", "", true, "marker_size_m"},
      {"missing_legacy_pattern", charuco, "legacy_pattern", "", true, "legacy_pattern"},
      {"missing_type", chess, "type", "", true, "type"},
      {"unknown_key", charuco, "colour", "red", true, "colour"},
      {"charuco_key_on_chessboard", chess, "dictionary", "DICT_4X4_50", true, "dictionary"},
      {"wrong_type_number", charuco, "square_size_m", "big", true, "square_size_m"},
      {"wrong_type_list", chess, "inner_corners", "9", true, "inner_corners"},
      {"wrong_length_list", chess, "inner_corners", "[9, 6, 1]", true, "inner_corners"},
      {"non_integer_size", charuco, "squares", "[7.5, 5]", true, "squares"},
      {"wrong_type_bool", charuco, "legacy_pattern", "maybe", true, "legacy_pattern"},
      {"bad_inverted", charuco, "inverted", "sometimes", true, "inverted"},
      {"unknown_board_type", chess, "type", "checkerboard", true, "type"},
      {"not_finite", chess, "square_size_m", ".inf", true, "square_size_m"},
      {"unknown_dictionary", charuco, "dictionary", "DICT_4X4_42", false, "dictionary"},
      {"marker_equals_square", charuco, "marker_size_m", "0.04", false, "marker_size_m"},
      {"marker_larger_than_square", charuco, "marker_size_m", "0.05", false, "marker_size_m"},
      {"too_many_markers", charuco, "squares", "[11, 11]", false, "dictionary"},
      {"one_by_one_corners", chess, "inner_corners", "[1, 1]", false, "inner_corners"},
      {"negative_size", chess, "square_size_m", "-0.03", false, "square_size_m"},
      {"negative_margin", chess, "margin_m", "-0.01", false, "margin_m"},
  };
  const std::string dir = test::ScratchDir("board");
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::map<std::string, std::string> keys = c.base;
    if (c.value.empty()) {
      keys.erase(c.key);
    } else {
      keys[c.key] = c.value;
    }
    std::string text;
    for (const auto& [key, value] : keys) text += key + ": " + value + "\n";
    const std::string path = dir + "/" + c.name + ".yaml";
    test::WriteText(path, text);
    if (c.io_error) {
      ExpectThrowWith<IoError>([&] { ReadBoard(path); }, {path, "key '" + c.fragment + "'"});
    } else {
      ExpectThrowWith<InputError>([&] { ReadBoard(path); }, {path, c.fragment});
    }
  }
  const std::string syntax = dir + "/syntax.yaml";
  test::WriteText(syntax, "type: [chessboard\n");
  ExpectThrowWith<IoError>([&] { ReadBoard(syntax); }, {syntax, "syntax"});
  ExpectThrowWith<IoError>([&] { ReadBoard(dir + "/missing.yaml"); }, {"missing.yaml"});
}

TEST(WriteBoard, InvalidSpecWritesNothing) {
  const std::string dir = test::ScratchDir("board");
  ExpectThrowWith<InputError>([&] { WriteBoard(Charuco(5, 5, 0.04, 0.05), dir + "/b.yaml"); },
                              {"marker_size_m"});
  EXPECT_EQ(test::CountEntries(dir), 0);
  EXPECT_THROW(WriteBoard(Chessboard(9, 6, 0.03), dir + "/no/such/dir/b.yaml"), IoError);
}

// ---- Texture ----

TEST(RenderBoardTexture, SizeAndExactEdges) {
  // 3x3 inner corners: 4x4 squares of 1 cm, margin 0.5 cm, 250 texels/m -> 2.5 texels/square.
  BoardSpec spec = Chessboard(3, 3, 0.01);
  spec.margin_m = 0.005;
  const cv::Mat texture = RenderBoardTexture(spec, 250.0);
  ASSERT_EQ(texture.type(), CV_8UC1);
  EXPECT_EQ(texture.cols, 13);  // 0.05 m * 250 = 12.5 -> 13.
  EXPECT_EQ(texture.rows, 13);
  // Square (0, 0) is black and covers texels [1.25, 3.75): texel 1 is 3/4 black in x and y.
  EXPECT_EQ(texture.at<uint8_t>(0, 0), 255);
  EXPECT_EQ(texture.at<uint8_t>(1, 1), std::lround(255.0 * (1.0 - 0.75 * 0.75)));
  EXPECT_EQ(texture.at<uint8_t>(2, 2), 0);
  // Texel 3 in x: [3, 3.75) of square (0, 0) is black, [3.75, 4) of square (1, 0) is white.
  EXPECT_EQ(texture.at<uint8_t>(2, 3), std::lround(255.0 * 0.25));
  // Past the printed area (12.5 texels): margin colour.
  EXPECT_EQ(texture.at<uint8_t>(12, 12), 255);

  // Integer texels per square: only 0 and 255.
  const cv::Mat crisp = RenderBoardTexture(Chessboard(9, 6, 0.03), 1000.0);
  EXPECT_EQ(crisp.cols, 360);
  EXPECT_EQ(crisp.rows, 270);
  EXPECT_EQ(cv::countNonZero((crisp != 0) & (crisp != 255)), 0);
  EXPECT_EQ(crisp.at<uint8_t>(30, 30), 0);    // Square (0, 0), first texel.
  EXPECT_EQ(crisp.at<uint8_t>(29, 30), 255);  // Margin above it.
  EXPECT_EQ(crisp.at<uint8_t>(30, 60), 255);  // Square (1, 0).
}

TEST(RenderBoardTexture, InvertedIsComplement) {
  for (BoardSpec spec : {Chessboard(9, 6, 0.03), Charuco(5, 4, 0.04, 0.03)}) {
    spec.inverted = BoardInversion::kAuto;
    const cv::Mat normal = RenderBoardTexture(spec, 1234.5);
    spec.inverted = BoardInversion::kFalse;
    EXPECT_EQ(cv::norm(normal, RenderBoardTexture(spec, 1234.5), cv::NORM_INF), 0.0);
    spec.inverted = BoardInversion::kTrue;
    const cv::Mat inverted = RenderBoardTexture(spec, 1234.5);
    cv::Mat complement;
    cv::subtract(cv::Scalar::all(255), normal, complement);
    EXPECT_EQ(cv::norm(inverted, complement, cv::NORM_INF), 0.0);
  }
}

TEST(RenderBoardTexture, FindChessboardCornersOrder) {
  // Classic detector + cornerSubPix: corner k is BoardCornersInBoard()[k] on an upright view.
  const double ppm = 2000.0;  // 60 texels per 3 cm square.
  for (const auto& [cols, rows] :
       std::vector<std::pair<int, int>>{{9, 6}, {5, 8}, {7, 5}, {6, 4}}) {
    SCOPED_TRACE(std::to_string(cols) + "x" + std::to_string(rows));
    const BoardSpec spec = Chessboard(cols, rows, 0.03);
    const cv::Mat texture = RenderBoardTexture(spec, ppm);
    std::vector<cv::Point2f> corners;
    ASSERT_TRUE(cv::findChessboardCorners(texture, cv::Size(cols, rows), corners));
    cv::cornerSubPix(texture,
                     corners,
                     cv::Size(5, 5),
                     cv::Size(-1, -1),
                     cv::TermCriteria(cv::TermCriteria::COUNT + cv::TermCriteria::EPS, 50, 1e-4));
    EXPECT_LT(MaxChessboardError(corners, spec, ppm, [](size_t k) { return k; }), 0.05);
  }
  // cols + rows odd: the colours fix the orientation, so the order follows the board.
  const BoardSpec spec = Chessboard(9, 6, 0.03);
  cv::Mat rotated;
  cv::rotate(RenderBoardTexture(spec, ppm), rotated, cv::ROTATE_180);
  std::vector<cv::Point2f> corners;
  ASSERT_TRUE(cv::findChessboardCorners(rotated, cv::Size(9, 6), corners));
  EXPECT_LT(MaxChessboardError(
                UnrotateFrom180(corners, rotated.size()), spec, ppm, [](size_t k) { return k; }),
            0.05);
}

TEST(RenderBoardTexture, FindChessboardCornersSBReversedOrder) {
  // The sector-based detector starts at the other end: corner k is BoardCornersInBoard()[N-1-k]
  // for a board with cols + rows odd, whatever the view's rotation.
  struct Case {
    int cols, rows;
    double ppm;  // 2000: edges on texel edges; 2013.7: edges inside texels.
  };
  for (const Case& c : std::vector<Case>{{9, 6, 2000.0}, {5, 8, 2000.0}, {9, 6, 2013.7}}) {
    SCOPED_TRACE(std::to_string(c.cols) + "x" + std::to_string(c.rows) + " at " +
                 std::to_string(c.ppm));
    const BoardSpec spec = Chessboard(c.cols, c.rows, 0.03);
    const size_t last = static_cast<size_t>(spec.NumCorners()) - 1;
    const auto reversed = [last](size_t k) { return last - k; };
    const cv::Mat texture = RenderBoardTexture(spec, c.ppm);
    std::vector<cv::Point2f> corners;
    ASSERT_TRUE(cv::findChessboardCornersSB(
        texture, cv::Size(c.cols, c.rows), corners, cv::CALIB_CB_ACCURACY));
    EXPECT_LT(MaxChessboardError(corners, spec, c.ppm, reversed), 0.05);

    cv::Mat rotated;
    cv::rotate(texture, rotated, cv::ROTATE_180);
    ASSERT_TRUE(cv::findChessboardCornersSB(
        rotated, cv::Size(c.cols, c.rows), corners, cv::CALIB_CB_ACCURACY));
    EXPECT_LT(MaxChessboardError(UnrotateFrom180(corners, rotated.size()), spec, c.ppm, reversed),
              0.05);
  }
}

TEST(RenderBoardTexture, AreaCoverageIsExact) {
  // At a texel size that puts edges anywhere in a texel, the texture still holds the exact black
  // area (up to 8-bit rounding of edge texels).
  BoardSpec spec = Charuco(7, 5, 0.03, 0.022);
  spec.margin_m = 0.0123;
  const double ppm = 1777.77;
  const cv::Mat texture = RenderBoardTexture(spec, ppm);
  double black_texels = 0.0;
  for (int v = 0; v < texture.rows; ++v)
    for (int u = 0; u < texture.cols; ++u)
      black_texels += (255 - texture.at<uint8_t>(v, u)) / 255.0;
  // Black squares plus the black cells of the markers (drawn by OpenCV at one pixel per cell).
  const cv::Ptr<cv::aruco::Dictionary> dictionary = cv::aruco::getPredefinedDictionary(0);
  const int cells = dictionary->markerSize + 2;
  double black_cells = 0.0;
  for (int id = 0; id < spec.NumMarkers(); ++id) {
    cv::Mat tiny;
    dictionary->drawMarker(id, cells, tiny, 1);
    black_cells += cv::countNonZero(tiny == 0);
  }
  const double cell_m = spec.marker_size_m / cells;
  const double expected_m2 =
      (spec.cols * spec.rows - spec.NumMarkers()) * 0.03 * 0.03 + black_cells * cell_m * cell_m;
  EXPECT_NEAR(black_texels / (ppm * ppm), expected_m2, 1e-3 * expected_m2);
}

TEST(RenderBoardTexture, CharucoCornersMatchOpenCVIds) {
  for (const double ppm : {2000.0, 2013.7}) {
    for (const auto& [cols, rows] : std::vector<std::pair<int, int>>{{7, 5}, {5, 4}, {6, 8}}) {
      SCOPED_TRACE(std::to_string(cols) + "x" + std::to_string(rows) + " at " +
                   std::to_string(ppm));
      const BoardSpec spec = Charuco(cols, rows, 0.03, 0.022);
      const cv::Mat texture = RenderBoardTexture(spec, ppm);
      const CharucoDetection detection = DetectCharuco(texture, spec);
      EXPECT_EQ(static_cast<int>(detection.marker_ids.size()), spec.NumMarkers());
      // Every marker sits where BoardMarkerCornersInBoard says (corner order included).
      const std::vector<std::vector<Eigen::Vector3d>> markers = BoardMarkerCornersInBoard(spec);
      for (size_t m = 0; m < detection.marker_ids.size(); ++m) {
        const int id = detection.marker_ids[m];
        ASSERT_LT(id, spec.NumMarkers());
        for (int c = 0; c < 4; ++c) {
          const cv::Point2d d =
              cv::Point2d(detection.marker_corners[m][c]) - ToPixel(markers[id][c], spec, ppm);
          EXPECT_LT(std::hypot(d.x, d.y), 1.5) << "marker " << id << " corner " << c;
        }
      }
      // Every corner is found, its id indexes BoardCornersInBoard, and 4.6's +0.5 px bias is
      // the only offset. With edges inside texels, cornerSubPix on an unblurred box-sampled
      // image has a phase-dependent error (~0.1 px; the classic chessboard detector shows it
      // too), hence the looser bound there.
      const double tolerance_px = ppm == 2000.0 ? 0.1 : 0.25;
      EXPECT_EQ(static_cast<int>(detection.corner_ids.size()), spec.NumCorners());
      EXPECT_LT(MaxCornerError(detection, spec, ppm), tolerance_px);
      EXPECT_GT(MaxCornerError(detection, spec, ppm, 0.0), 0.4);

      // Re-refining with cornerSubPix directly removes the bias.
      CharucoDetection refined = detection;
      for (cv::Point2f& p : refined.corners) p -= cv::Point2f(0.5f, 0.5f);
      cv::cornerSubPix(texture,
                       refined.corners,
                       cv::Size(5, 5),
                       cv::Size(-1, -1),
                       cv::TermCriteria(cv::TermCriteria::COUNT + cv::TermCriteria::EPS, 50, 1e-4));
      EXPECT_LT(MaxCornerError(refined, spec, ppm, 0.0), tolerance_px);
    }
  }
}

TEST(RenderBoardTexture, MatchesCharucoBoardDraw) {
  // 80 texels per square, 60 per marker (10 per cell), 80 margin: every edge on a texel edge,
  // so CharucoBoard::draw and the area-coverage texture agree exactly.
  for (const auto& [cols, rows] : std::vector<std::pair<int, int>>{{5, 4}, {5, 5}, {4, 6}}) {
    SCOPED_TRACE(std::to_string(cols) + "x" + std::to_string(rows));
    const BoardSpec spec = Charuco(cols, rows, 0.04, 0.03);
    const double ppm = 2000.0;
    const cv::Mat texture = RenderBoardTexture(spec, ppm);
    cv::Mat drawn;
    OpenCVBoard(spec)->draw(cv::Size(texture.cols, texture.rows), drawn, 80, 1);
    ASSERT_EQ(drawn.size(), texture.size());
    cv::Mat differ = cv::Mat(drawn != texture);
    EXPECT_LE(cv::countNonZero(differ), 0);
    // 4.6's drawing is the new pattern, not the legacy one (even rows differ).
    BoardSpec legacy = spec;
    legacy.legacy_pattern = true;
    const cv::Mat legacy_texture = RenderBoardTexture(legacy, ppm);
    if (rows % 2 == 0) {
      EXPECT_GT(cv::countNonZero(cv::Mat(drawn != legacy_texture)), 10000);
    } else {
      EXPECT_EQ(cv::countNonZero(cv::Mat(drawn != legacy_texture)), 0);
    }
  }
}

TEST(RenderBoardTexture, LegacyEvenRowsNotDetectedByOpenCV46) {
  const double ppm = 2000.0;
  const BoardSpec legacy = Charuco(5, 4, 0.03, 0.022, true);
  const cv::Mat texture = RenderBoardTexture(legacy, ppm);
  // Markers are found and sit where the legacy layout puts them...
  const CharucoDetection detection = DetectCharuco(texture, legacy);
  EXPECT_EQ(static_cast<int>(detection.marker_ids.size()), legacy.NumMarkers());
  const std::vector<std::vector<Eigen::Vector3d>> markers = BoardMarkerCornersInBoard(legacy);
  for (size_t m = 0; m < detection.marker_ids.size(); ++m) {
    const cv::Point2d d = cv::Point2d(detection.marker_corners[m][0]) -
                          ToPixel(markers[detection.marker_ids[m]][0], legacy, ppm);
    EXPECT_LT(std::hypot(d.x, d.y), 1.0) << "marker " << detection.marker_ids[m];
  }
  // ... but 4.6's CharucoBoard assumes the new layout: corners are missing or misplaced.
  const bool all_correct = static_cast<int>(detection.corner_ids.size()) == legacy.NumCorners() &&
                           MaxCornerError(detection, legacy, ppm) < 1.0;
  EXPECT_FALSE(all_correct) << detection.corner_ids.size() << " corners, max error "
                            << MaxCornerError(detection, legacy, ppm);

  // With an even number of columns the errors of a corner's two nearest markers cancel on a
  // full view, but a partial view puts corners one square off.
  const BoardSpec legacy_even_cols = Charuco(6, 8, 0.03, 0.022, true);
  const BoardSpec new_even_cols = Charuco(6, 8, 0.03, 0.022, false);
  for (const BoardSpec& spec : {legacy_even_cols, new_even_cols}) {
    const cv::Mat image = RenderBoardTexture(spec, ppm);
    CharucoDetection full = DetectCharuco(image, spec);
    EXPECT_EQ(static_cast<int>(full.corner_ids.size()), spec.NumCorners());
    EXPECT_LT(MaxCornerError(full, spec, ppm), 0.1);
    CharucoDetection partial;  // Every third marker only.
    for (size_t m = 0; m < full.marker_ids.size(); ++m) {
      if (full.marker_ids[m] % 3 != 0) continue;
      partial.marker_ids.push_back(full.marker_ids[m]);
      partial.marker_corners.push_back(full.marker_corners[m]);
    }
    cv::aruco::interpolateCornersCharuco(partial.marker_corners,
                                         partial.marker_ids,
                                         image,
                                         OpenCVBoard(spec),
                                         partial.corners,
                                         partial.corner_ids,
                                         cv::noArray(),
                                         cv::noArray(),
                                         1);
    ASSERT_FALSE(partial.corner_ids.empty());
    if (spec.legacy_pattern) {
      EXPECT_GT(MaxCornerError(partial, spec, ppm), 10.0);
    } else {
      EXPECT_LT(MaxCornerError(partial, spec, ppm), 0.1);
    }
  }

  // Odd rows: legacy_pattern changes nothing, and 4.6 detects it.
  const BoardSpec odd = Charuco(5, 5, 0.03, 0.022, true);
  const CharucoDetection odd_detection = DetectCharuco(RenderBoardTexture(odd, ppm), odd);
  EXPECT_EQ(static_cast<int>(odd_detection.corner_ids.size()), odd.NumCorners());
  EXPECT_LT(MaxCornerError(odd_detection, odd, ppm), 0.1);
}

TEST(RenderBoardTexture, InvertedCharucoDetectedWithInvertedMarkers) {
  BoardSpec spec = Charuco(5, 4, 0.03, 0.022);
  spec.inverted = BoardInversion::kTrue;
  const cv::Mat texture = RenderBoardTexture(spec, 2000.0);
  const cv::Ptr<cv::aruco::CharucoBoard> board = OpenCVBoard(spec);
  cv::Ptr<cv::aruco::DetectorParameters> params = cv::aruco::DetectorParameters::create();
  std::vector<int> ids;
  std::vector<std::vector<cv::Point2f>> corners;
  cv::aruco::detectMarkers(texture, board->dictionary, corners, ids, params);
  EXPECT_TRUE(ids.empty());
  params->detectInvertedMarker = true;
  cv::aruco::detectMarkers(texture, board->dictionary, corners, ids, params);
  EXPECT_EQ(static_cast<int>(ids.size()), spec.NumMarkers());
}

TEST(RenderBoardTexture, BadArgs) {
  const BoardSpec spec = Chessboard(9, 6, 0.03);
  EXPECT_THROW(RenderBoardTexture(spec, 0.0), std::invalid_argument);
  EXPECT_THROW(RenderBoardTexture(spec, -1.0), std::invalid_argument);
  EXPECT_THROW(RenderBoardTexture(spec, std::nan("")), std::invalid_argument);
  EXPECT_THROW(RenderBoardTexture(spec, 1e9), std::invalid_argument);
  EXPECT_THROW(RenderBoardTexture(Chessboard(9, 6, -0.03), 1000.0), std::invalid_argument);
  EXPECT_THROW(RenderBoardTexture(Charuco(5, 5, 0.03, 0.03), 1000.0), std::invalid_argument);
}

}  // namespace
}  // namespace rigpose

// SPDX-License-Identifier: BSD-3-Clause
// Calibration boards (chessboard, ChArUco): description, board.yaml I/O, 3D corner positions in
// the ids OpenCV detects, and an exact texture of the printed board for synthetic rendering.
//
// Board frame (a contract shared by the renderer and calibration): origin at the top-left OUTER
// corner of the square grid (not of the margin), x along the columns to the right, y along the
// rows downward, z = x × y pointing INTO the board, so the printed face is seen from z < 0.
// Metres. "Top-left" is the board as printed and viewed upright: marker 0 and corner 0 are
// near it. This is the frame of OpenCV 4.6's CharucoBoard object points (checked in tests).
//
// OpenCV ChArUco patterns: OpenCV 4.6.0 contrib always puts a BLACK square top-left (the "new"
// pattern, aligned with the chessboard; CharucoBoard::draw in 4.6 draws it); before 4.6.0, boards
// with an EVEN number of rows had a WHITE square (a marker) top-left (opencv_contrib issue 3291).
// OpenCV >= 4.8 handles those with CharucoBoard::setLegacyPattern(true), which `legacy_pattern`
// mirrors (same marker ids and corner ids); it changes nothing for an odd number of rows.
// OpenCV 4.6 detects only the new pattern natively: on a legacy board its markers are found but
// interpolateCornersCharuco puts corners one or more squares off (every corner with an odd number
// of columns; with an even number, those seen through a single marker).
// OpenCV 4.6's interpolateCornersCharuco also returns corners +0.5 px off in x and y (opencv issue
// 25539, from 2021 until a 2026 fix): subtract 0.5 and refine again with cv::cornerSubPix.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <opencv2/core.hpp>

namespace rigpose {

enum class BoardType { kChessboard, kCharuco };

// Black and white swapped on the print. kAuto: detection tries both; rendering renders normal.
enum class BoardInversion { kAuto, kTrue, kFalse };

struct BoardSpec {
  BoardType type = BoardType::kChessboard;
  // Chessboard: inner corners per row (cols) and per column (rows), OpenCV's patternSize.
  // ChArUco: squares per row (cols) and per column (rows), OpenCV's CharucoBoard size.
  int cols = 0;
  int rows = 0;
  double square_size_m = 0.0;
  double marker_size_m = 0.0;              // ChArUco only: side of a marker with its border.
  std::string dictionary = "DICT_4X4_50";  // ChArUco only: an OpenCV predefined dictionary.
  bool legacy_pattern = false;             // ChArUco only: pre-4.6.0 layout for even rows.
  BoardInversion inverted = BoardInversion::kAuto;
  // White quiet zone around the squares on the print; unset = one square.
  std::optional<double> margin_m;

  // What is wrong, one sentence each naming the board.yaml key; empty when valid.
  std::vector<std::string> Problems() const;

  // Squares per row / column (chessboard: inner corners + 1).
  int SquaresX() const;
  int SquaresY() const;
  // Inner corners: chessboard cols·rows, ChArUco (cols−1)·(rows−1).
  int NumCorners() const;
  // ChArUco markers (one per white square, ⌊cols·rows / 2⌋); 0 for a chessboard.
  int NumMarkers() const;
  double MarginM() const { return margin_m.value_or(square_size_m); }
  // Printed area: the squares plus a margin on each side.
  Eigen::Vector2d PrintedSizeM() const;
  // True when square (col, row) of the grid is black on a non-inverted print. Chessboard and new
  // ChArUco pattern: the top-left square is black; legacy ChArUco with even rows: white.
  bool IsBlackSquare(int col, int row) const;
};

// Field-wise equality (exact doubles), for round-trip checks.
bool operator==(const BoardSpec& a, const BoardSpec& b);
inline bool operator!=(const BoardSpec& a, const BoardSpec& b) { return !(a == b); }

// Inner corners in the board frame (z = 0), indexed as OpenCV reports them:
//  - chessboard: row-major from the top-left inner corner, corner (i, j) at ((i+1)·s, (j+1)·s)
//    with index j·cols + i. OpenCV 4.6, patternSize(cols, rows), on this texture (tested):
//    cv::findChessboardCorners returns this order on an upright view; when cols + rows is odd
//    the colours fix the orientation and the order follows the board at any rotation.
//    cv::findChessboardCornersSB returns the REVERSED order (its corner k is index N−1−k), also
//    following the board when cols + rows is odd. When cols + rows is even the print looks the
//    same turned by 180°, so corner k and N−1−k cannot be told apart: avoid such boards for
//    multi-camera calibration.
//  - ChArUco: the charuco id order of cv::aruco::CharucoBoard::chessboardCorners (OpenCV 4.6
//    contrib; same coordinates), so interpolateCornersCharuco ids index this vector directly.
// Precondition: spec.Problems() is empty (std::invalid_argument otherwise).
std::vector<Eigen::Vector3d> BoardCornersInBoard(const BoardSpec& spec);

// ChArUco marker corners in the board frame, indexed by marker id, each in OpenCV's order
// (top-left, top-right, bottom-right, bottom-left: clockwise as printed). Ids run row-major over
// the white squares from the top-left, as in OpenCV. Empty for a chessboard.
std::vector<std::vector<Eigen::Vector3d>> BoardMarkerCornersInBoard(const BoardSpec& spec);

// The OpenCV predefined dictionary id (cv::aruco::PREDEFINED_DICTIONARY_NAME) of a name such as
// "DICT_4X4_50" or "DICT_ARUCO_ORIGINAL"; nullopt when unknown.
std::optional<int> ArucoDictionaryId(const std::string& name);
// Number of markers in a known dictionary; nullopt when unknown.
std::optional<int> ArucoDictionarySize(const std::string& name);

// board.yaml (docs/FORMATS.md). Strict: unknown, missing or mistyped keys throw IoError naming
// the file, line and key; a well-formed but invalid board throws InputError naming the file and
// listing Problems().
BoardSpec ReadBoard(const std::string& path);
// Exact text (each double in the shortest form that reads back to it), so that
// ReadBoard(WriteBoard(spec)) == spec. InputError listing Problems() for an invalid spec.
std::string BoardToYaml(const BoardSpec& spec);
// Atomic write (temp file + rename); IoError on failure.
void WriteBoard(const BoardSpec& spec, const std::string& path);

// The printed board, margin included, as CV_8UC1: white 255, black 0 (swapped when inverted is
// kTrue, the margin included: the image is the complement). Texel (u, v) covers board
// x ∈ −margin + [u, u+1] / pixels_per_m, y ∈ −margin + [v, v+1] / pixels_per_m; its centre is at
// x = −margin + (u + 0.5) / pixels_per_m. Each texel holds the exact area coverage of black, so
// square and marker edges sit exactly at their board positions (a texel straddling an edge is
// grey). Board point (x, y) is at pixel ((x + margin)·ppm − 0.5, (y + margin)·ppm − 0.5) in
// OpenCV's pixel convention. The size is ⌈PrintedSizeM()·ppm⌉ texels (a size within 1e-6 texel of
// an integer is rounded); texels past the printed area show the margin.
// ChArUco markers are OpenCV's bit patterns with a 1-bit black border, centred in the white
// squares, as CharucoBoard::draw places them.
// Preconditions (std::invalid_argument): spec.Problems() empty, pixels_per_m > 0 and finite, each
// side at most 32768 texels.
cv::Mat RenderBoardTexture(const BoardSpec& spec, double pixels_per_m);

}  // namespace rigpose

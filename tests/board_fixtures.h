// SPDX-License-Identifier: BSD-3-Clause
// Calibration boards for tests (header-only: only the binaries that link rigpose_data use it).
#pragma once

#include <string>

#include "data/board.h"

namespace rigpose::test {

// cols x rows INNER corners, square side in metres.
inline BoardSpec MakeChessboard(int cols, int rows, double square_m) {
  BoardSpec spec;
  spec.type = BoardType::kChessboard;
  spec.cols = cols;
  spec.rows = rows;
  spec.square_size_m = square_m;
  return spec;
}

// cols x rows SQUARES, DICT_4X4_50 unless told otherwise.
inline BoardSpec MakeCharuco(int cols,
                             int rows,
                             double square_m,
                             double marker_m,
                             bool legacy = false,
                             const std::string& dictionary = "DICT_4X4_50") {
  BoardSpec spec;
  spec.type = BoardType::kCharuco;
  spec.cols = cols;
  spec.rows = rows;
  spec.square_size_m = square_m;
  spec.marker_size_m = marker_m;
  spec.dictionary = dictionary;
  spec.legacy_pattern = legacy;
  return spec;
}

}  // namespace rigpose::test

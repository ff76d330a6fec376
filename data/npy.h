// SPDX-License-Identifier: BSD-3-Clause
// NumPy .npy files (format versions 1.0, 2.0 and 3.0): dense little-endian arrays in C order.
// Reference: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
//
// Supported dtypes: '<f4', '<f8', '<i4', '<i8', '|u1', '|b1'. Big-endian data and
// fortran_order=True are rejected with an IoError rather than silently reinterpreted.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/keypoints.h"
#include "data/file_util.h"

namespace rigpose {

struct NpyArray {
  std::string dtype;           // one of the supported descr strings, e.g. "<f8"
  std::vector<int64_t> shape;  // C order; empty = a scalar (one element)
  std::vector<char> bytes;     // raw little-endian element data, NumElements() * item size

  // Product of the shape (1 for a scalar, 0 when any dimension is 0).
  int64_t NumElements() const;
  // Every element converted to double (bool/u1 -> 0/1). Precondition: a supported dtype and
  // bytes.size() == NumElements() * item size; throws std::invalid_argument otherwise.
  std::vector<double> AsDoubles() const;
};

// Bytes per element of a supported dtype ("<f8" -> 8); 0 when the dtype is not supported.
int NpyItemSize(const std::string& dtype);

// Reads a whole .npy file. A one-byte dtype written as '<u1', '=u1' or '|u1' is returned as '|u1'.
// Throws IoError naming the path and what was found for: unreadable file, wrong magic, unknown
// format version, truncated header or data, unparseable header dict, unsupported or big-endian
// dtype, fortran_order=True, negative dimensions, data size different from the shape's.
NpyArray ReadNpy(const std::string& path);

// The header of a .npy file, validated against the file size.
struct NpyHeader {
  std::string dtype;
  std::vector<int64_t> shape;
  int64_t data_offset = 0;  // bytes before the data
  int64_t NumElements() const;
};

// Reads and validates only the header (same errors as ReadNpy), for reading a long array in
// slices with ReadNpyRows.
NpyHeader ReadNpyHeader(const std::string& path);

// Rows [first_row, first_row + num_rows) along axis 0 of the array whose header is `header`.
// std::invalid_argument for a range outside the array or a scalar; IoError when reading fails.
NpyArray ReadNpyRows(const std::string& path,
                     const NpyHeader& header,
                     int64_t first_row,
                     int64_t num_rows);

// Writes a .npy file whose shape is known up front, in pieces (bounded memory): the data bytes
// are appended in C order and Commit() checks their count and renames the temporary file onto
// `path`. An uncommitted writer leaves nothing behind.
class NpyStreamWriter {
 public:
  NpyStreamWriter(const std::string& path,
                  const std::string& dtype,
                  const std::vector<int64_t>& shape);
  void Append(const void* data, int64_t num_bytes);
  void Commit();

 private:
  AtomicFileWriter file_;
  int64_t expected_bytes_ = 0;
  int64_t written_bytes_ = 0;
};

// Writes `array` atomically (format 1.0, or 2.0 when the header exceeds 65535 bytes; the header is
// padded so the data starts at a multiple of 64 bytes, as NumPy does). Precondition: a supported
// dtype and a byte count matching the shape (std::invalid_argument otherwise). IoError when the
// file cannot be written; no partial file is left behind.
void WriteNpy(const std::string& path, const NpyArray& array);

// Reads 2D keypoints: shape [F, C, J, 3] (or [F, J, 3], read as one camera), dtype <f4 or <f8,
// last axis (x px, y px, score). Camera names and skeleton are not stored in .npy and are left
// empty. IoError (naming the path, shape and dtype found) for any other rank, dtype or last axis.
Keypoints2D ReadKeypointsNpy(const std::string& path);
// Frames [first_frame, first_frame + max_frames) of the same file (max_frames < 0: to the end;
// a range past the end is clipped, so the result may have fewer frames), read without loading
// the rest. UsageError for first_frame < 0.
Keypoints2D ReadKeypointsNpyFrames(const std::string& path,
                                   int64_t first_frame,
                                   int64_t max_frames);

// Writes the keypoint array as <f4 [F, C, J, 3] (the exact bytes of Keypoints2D::data()).
// IoError when the file cannot be written.
void WriteKeypointsNpy(const std::string& path, const Keypoints2D& keypoints);

// Reads 3D poses (metres): shape [F, J, 4] = (x, y, z, valid) where valid != 0 with finite
// coordinates marks a valid joint, or [F, J, 3] where a row with any NaN is invalid. Dtype <f4 or
// <f8. Invalid joints are stored as Poses3D::SetInvalid does (zeros). IoError (naming the path,
// shape and dtype found) otherwise.
Poses3D ReadPosesNpy(const std::string& path);

// Writes the pose array as <f8 [F, J, 4] (the exact bytes of Poses3D::data()). Frame rate, skeleton
// and joint names are not stored. IoError when the file cannot be written.
void WritePosesNpy(const std::string& path, const Poses3D& poses);

}  // namespace rigpose

// SPDX-License-Identifier: BSD-3-Clause
#include "data/npy.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>

#include "core/error.h"
#include "data/file_util.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "data/npy.cc assumes a little-endian host"
#endif

namespace rigpose {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::ostringstream out;
  out << "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out << ", ";
    out << shape[i];
  }
  if (shape.size() == 1) out << ",";
  out << ")";
  return out.str();
}

// Canonical spelling of a dtype descr: '<f8' stays, one-byte types get '|'. Returns "" when the
// type is not supported (the caller reports the original text).
std::string CanonicalDtype(const std::string& descr) {
  if (descr.size() != 3) return "";
  const char order = descr[0];
  const std::string type = descr.substr(1);
  if (type == "u1" || type == "b1") {
    if (order == '|' || order == '<' || order == '>' || order == '=') return "|" + type;
    return "";
  }
  if (type == "f4" || type == "f8" || type == "i4" || type == "i8") {
    if (order == '<' || order == '=') return "<" + type;
  }
  return "";
}

// The header is a Python dict literal, e.g.
//   {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }
// This parser accepts exactly the literals NumPy writes: strings, True/False, tuples of ints.
struct HeaderValue {
  enum class Kind { kString, kBool, kTuple, kOther } kind = Kind::kOther;
  std::string text;
  bool flag = false;
  std::vector<int64_t> numbers;
};

class HeaderParser {
 public:
  HeaderParser(const std::string& path, const std::string& text) : path_(path), text_(text) {}

  std::map<std::string, HeaderValue> ParseDict() {
    std::map<std::string, HeaderValue> dict;
    Expect('{');
    while (true) {
      SkipSpace();
      if (Peek() == '}') {
        ++pos_;
        break;
      }
      const std::string key = ParseString();
      Expect(':');
      dict[key] = ParseValue();
      SkipSpace();
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      Expect('}');
      break;
    }
    SkipSpace();
    if (pos_ != text_.size()) Fail("unexpected text after the header dict");
    return dict;
  }

 private:
  [[noreturn]] void Fail(const std::string& what) const {
    ThrowIo(path_,
            0,
            "",
            "cannot parse .npy header (" + what + " at offset " + std::to_string(pos_) + "): '" +
                text_ + "'");
  }
  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void Expect(char c) {
    SkipSpace();
    if (Peek() != c) Fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string ParseString() {
    SkipSpace();
    const char quote = Peek();
    if (quote != '\'' && quote != '"') Fail("expected a quoted string");
    const size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string::npos) Fail("unterminated string");
    std::string s = text_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return s;
  }
  int64_t ParseInt() {
    SkipSpace();
    const size_t start = pos_;
    if (Peek() == '-') ++pos_;
    while (std::isdigit(static_cast<unsigned char>(Peek()))) ++pos_;
    if (pos_ == start || (pos_ == start + 1 && text_[start] == '-')) Fail("expected an integer");
    // Python 2 era files may append 'L' to longs.
    const std::string digits = text_.substr(start, pos_ - start);
    if (Peek() == 'L') ++pos_;
    errno = 0;
    const long long value = std::strtoll(digits.c_str(), nullptr, 10);
    if (errno == ERANGE) Fail("integer out of range");
    return value;
  }
  HeaderValue ParseValue() {
    SkipSpace();
    HeaderValue v;
    const char c = Peek();
    if (c == '\'' || c == '"') {
      v.kind = HeaderValue::Kind::kString;
      v.text = ParseString();
    } else if (text_.compare(pos_, 4, "True") == 0) {
      v.kind = HeaderValue::Kind::kBool;
      v.flag = true;
      pos_ += 4;
    } else if (text_.compare(pos_, 5, "False") == 0) {
      v.kind = HeaderValue::Kind::kBool;
      v.flag = false;
      pos_ += 5;
    } else if (c == '(') {
      v.kind = HeaderValue::Kind::kTuple;
      ++pos_;
      while (true) {
        SkipSpace();
        if (Peek() == ')') {
          ++pos_;
          break;
        }
        v.numbers.push_back(ParseInt());
        SkipSpace();
        if (Peek() == ',') {
          ++pos_;
          continue;
        }
        Expect(')');
        break;
      }
    } else if (c == '[' || c == '{') {
      // A structured dtype (list of fields) or nested dict: skip it balanced, report later.
      int depth = 0;
      const size_t start = pos_;
      do {
        const char ch = Peek();
        if (ch == '\0') Fail("unbalanced brackets");
        if (ch == '[' || ch == '{' || ch == '(') ++depth;
        if (ch == ']' || ch == '}' || ch == ')') --depth;
        ++pos_;
      } while (depth > 0);
      v.text = text_.substr(start, pos_ - start);
    } else {
      Fail("unexpected value");
    }
    return v;
  }

  const std::string& path_;
  const std::string& text_;
  size_t pos_ = 0;
};

uint32_t ReadLittleEndian(const std::string& bytes, size_t offset, int num_bytes) {
  uint32_t value = 0;
  for (int i = num_bytes - 1; i >= 0; --i) {
    value = (value << 8) | static_cast<unsigned char>(bytes[offset + i]);
  }
  return value;
}

// Parses the header from `file`, which holds at least the first bytes of the file (all of them
// when the caller has them; file_size is the size of the whole file). Throws IoError for anything
// malformed, including a data size that does not match the header.
NpyHeader ParseNpyHeader(const std::string& path, const std::string& file, uint64_t file_size) {
  if (file.size() < kMagicSize + 2 || file.compare(0, kMagicSize, kMagic, kMagicSize) != 0) {
    std::string found = file.substr(0, std::min<size_t>(file.size(), 8));
    for (char& c : found) {
      if (!std::isprint(static_cast<unsigned char>(c))) c = '?';
    }
    ThrowIo(path,
            0,
            "",
            "not a .npy file: expected the magic string \\x93NUMPY, found '" + found + "' (" +
                std::to_string(file_size) + " bytes)");
  }
  const int major = static_cast<unsigned char>(file[6]);
  const int minor = static_cast<unsigned char>(file[7]);
  int length_bytes = 0;
  if (major == 1) {
    length_bytes = 2;
  } else if (major == 2 || major == 3) {
    length_bytes = 4;
  } else {
    ThrowIo(path,
            0,
            "",
            "unsupported .npy format version " + std::to_string(major) + "." +
                std::to_string(minor) + " (supported: 1.0, 2.0, 3.0)");
  }
  const size_t header_start = kMagicSize + 2 + length_bytes;
  if (file.size() < header_start) {
    ThrowIo(path, 0, "", "truncated .npy file: " + std::to_string(file.size()) + " bytes");
  }
  const uint32_t header_length = ReadLittleEndian(file, kMagicSize + 2, length_bytes);
  if (file.size() < header_start + header_length) {
    ThrowIo(path,
            0,
            "",
            "truncated .npy header: declares " + std::to_string(header_length) +
                " header bytes, file has " + std::to_string(file.size() - header_start));
  }
  const std::string header = file.substr(header_start, header_length);
  const auto dict = HeaderParser(path, header).ParseDict();

  const auto descr = dict.find("descr");
  const auto fortran = dict.find("fortran_order");
  const auto shape = dict.find("shape");
  if (descr == dict.end() || fortran == dict.end() || shape == dict.end()) {
    ThrowIo(
        path,
        0,
        "",
        "the .npy header must have keys 'descr', 'fortran_order' and 'shape': '" + header + "'");
  }
  if (descr->second.kind != HeaderValue::Kind::kString) {
    ThrowIo(
        path, 0, "descr", "structured dtypes are not supported (found " + descr->second.text + ")");
  }
  if (fortran->second.kind != HeaderValue::Kind::kBool) {
    ThrowIo(path, 0, "fortran_order", "expected True or False in '" + header + "'");
  }
  if (shape->second.kind != HeaderValue::Kind::kTuple) {
    ThrowIo(path, 0, "shape", "expected a tuple of integers in '" + header + "'");
  }
  const std::string& dtype_text = descr->second.text;
  NpyHeader array;
  array.dtype = CanonicalDtype(dtype_text);
  if (array.dtype.empty()) {
    const bool big_endian = !dtype_text.empty() && dtype_text[0] == '>';
    ThrowIo(path,
            0,
            "descr",
            std::string(big_endian ? "big-endian dtype" : "unsupported dtype") + " '" + dtype_text +
                "' (supported: <f4, <f8, <i4, <i8, |u1, |b1)");
  }
  if (fortran->second.flag) {
    ThrowIo(path,
            0,
            "fortran_order",
            "Fortran-order (column-major) arrays are not supported; save with "
            "np.ascontiguousarray");
  }
  array.shape = shape->second.numbers;
  for (int64_t d : array.shape) {
    if (d < 0) ThrowIo(path, 0, "shape", "negative dimension in " + ShapeString(array.shape));
  }
  // Overflow-safe element count.
  const int64_t item_size = NpyItemSize(array.dtype);
  int64_t count = 1;
  for (int64_t d : array.shape) {
    if (d != 0 && count > std::numeric_limits<int64_t>::max() / item_size / d) {
      ThrowIo(path, 0, "shape", "shape " + ShapeString(array.shape) + " is too large");
    }
    count *= d;
  }
  const size_t data_start = header_start + header_length;
  const uint64_t expected = static_cast<uint64_t>(count * item_size);
  const uint64_t found = file_size - data_start;
  if (found != expected) {
    ThrowIo(path,
            0,
            "",
            "data size does not match the header: shape " + ShapeString(array.shape) + " dtype " +
                array.dtype + " needs " + std::to_string(expected) + " bytes, file has " +
                std::to_string(found) + (found < expected ? " (truncated)" : ""));
  }
  array.data_offset = static_cast<int64_t>(data_start);
  return array;
}

// Bytes needed to parse the header of a file starting with `prefix` (at least 12 bytes).
size_t NpyHeaderEnd(const std::string& prefix) {
  const int major = static_cast<unsigned char>(prefix[6]);
  const int length_bytes = major == 1 ? 2 : 4;
  return kMagicSize + 2 + length_bytes + ReadLittleEndian(prefix, kMagicSize + 2, length_bytes);
}

NpyArray ParseNpy(const std::string& path, const std::string& file) {
  const NpyHeader header = ParseNpyHeader(path, file, file.size());
  NpyArray array;
  array.dtype = header.dtype;
  array.shape = header.shape;
  array.bytes.assign(file.begin() + static_cast<std::ptrdiff_t>(header.data_offset), file.end());
  return array;
}

std::string DescribeArray(const NpyArray& array) {
  return "shape " + ShapeString(array.shape) + " dtype " + array.dtype;
}

template <typename T>
NpyArray MakeArray(const std::string& dtype, std::vector<int64_t> shape, const T* data, int64_t n) {
  NpyArray array;
  array.dtype = dtype;
  array.shape = std::move(shape);
  array.bytes.resize(static_cast<size_t>(n) * sizeof(T));
  if (n > 0) std::memcpy(array.bytes.data(), data, array.bytes.size());
  return array;
}

}  // namespace

int NpyItemSize(const std::string& dtype) {
  if (dtype == "<f8" || dtype == "<i8") return 8;
  if (dtype == "<f4" || dtype == "<i4") return 4;
  if (dtype == "|u1" || dtype == "|b1") return 1;
  return 0;
}

int64_t NpyArray::NumElements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::vector<double> NpyArray::AsDoubles() const {
  const int item_size = NpyItemSize(dtype);
  RIGPOSE_CHECK(item_size > 0, "unsupported dtype '" << dtype << "'");
  const int64_t n = NumElements();
  RIGPOSE_CHECK(static_cast<int64_t>(bytes.size()) == n * item_size,
                "bytes=" << bytes.size() << " expected=" << n * item_size);
  std::vector<double> out(static_cast<size_t>(n));
  const char* p = bytes.data();
  for (int64_t i = 0; i < n; ++i, p += item_size) {
    if (dtype == "<f8") {
      double v;
      std::memcpy(&v, p, 8);
      out[i] = v;
    } else if (dtype == "<f4") {
      float v;
      std::memcpy(&v, p, 4);
      out[i] = v;
    } else if (dtype == "<i8") {
      int64_t v;
      std::memcpy(&v, p, 8);
      out[i] = static_cast<double>(v);
    } else if (dtype == "<i4") {
      int32_t v;
      std::memcpy(&v, p, 4);
      out[i] = v;
    } else if (dtype == "|u1") {
      out[i] = static_cast<unsigned char>(*p);
    } else {  // |b1
      out[i] = *p != 0 ? 1.0 : 0.0;
    }
  }
  return out;
}

NpyArray ReadNpy(const std::string& path) { return ParseNpy(path, ReadFileToString(path)); }

int64_t NpyHeader::NumElements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

NpyHeader ReadNpyHeader(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) ThrowIo(path, 0, "", "cannot open for reading");
  std::error_code ec;
  const uint64_t file_size = std::filesystem::file_size(path, ec);
  if (ec) ThrowIo(path, 0, "", "cannot read the file size (" + ec.message() + ")");
  auto read_prefix = [&](uint64_t count) {
    std::string prefix(static_cast<size_t>(std::min(count, file_size)), '\0');
    in.seekg(0);
    in.read(prefix.data(), static_cast<std::streamsize>(prefix.size()));
    if (!in) ThrowIo(path, 0, "", "read failed");
    return prefix;
  };
  std::string prefix = read_prefix(4096);
  if (prefix.size() >= kMagicSize + 6 && prefix.compare(0, kMagicSize, kMagic, kMagicSize) == 0) {
    const size_t end = NpyHeaderEnd(prefix);
    if (end > prefix.size()) prefix = read_prefix(end);
  }
  return ParseNpyHeader(path, prefix, file_size);
}

NpyArray ReadNpyRows(const std::string& path,
                     const NpyHeader& header,
                     int64_t first_row,
                     int64_t num_rows) {
  RIGPOSE_CHECK(!header.shape.empty(), path << ": a scalar has no rows");
  RIGPOSE_CHECK(first_row >= 0 && num_rows >= 0 && first_row + num_rows <= header.shape[0],
                path << ": rows [" << first_row << ", " << first_row + num_rows
                     << ") outside the array's " << header.shape[0]);
  const int64_t row_bytes =
      header.shape[0] == 0 ? 0 : header.NumElements() / header.shape[0] * NpyItemSize(header.dtype);
  NpyArray array;
  array.dtype = header.dtype;
  array.shape = header.shape;
  array.shape[0] = num_rows;
  array.bytes.resize(static_cast<size_t>(row_bytes * num_rows));
  if (array.bytes.empty()) return array;
  std::ifstream in(path, std::ios::binary);
  in.seekg(header.data_offset + first_row * row_bytes);
  in.read(array.bytes.data(), static_cast<std::streamsize>(array.bytes.size()));
  if (!in) ThrowIo(path, 0, "", "read failed (was the file changed while reading?)");
  return array;
}

NpyStreamWriter::NpyStreamWriter(const std::string& path,
                                 const std::string& dtype,
                                 const std::vector<int64_t>& shape)
    : file_(path, /*binary=*/true) {
  const int item_size = NpyItemSize(dtype);
  RIGPOSE_CHECK(item_size > 0, "unsupported dtype '" << dtype << "'");
  int64_t count = 1;
  for (int64_t d : shape) {
    RIGPOSE_CHECK(d >= 0, "negative dimension " << d);
    count *= d;
  }
  expected_bytes_ = count * item_size;
  std::string dict =
      "{'descr': '" + dtype + "', 'fortran_order': False, 'shape': " + ShapeString(shape) + ", }";
  // Pad with spaces and a final newline so that magic + version + length + header is a multiple
  // of 64 bytes.
  auto padded = [&dict](size_t preamble) {
    std::string h = dict;
    const size_t total = preamble + h.size() + 1;
    h.append((64 - total % 64) % 64, ' ');
    h.push_back('\n');
    return h;
  };
  std::string header = padded(kMagicSize + 2 + 2);
  int major = 1;
  if (header.size() > 65535) {
    major = 2;
    header = padded(kMagicSize + 2 + 4);
  }
  std::string out(kMagic, kMagicSize);
  out.push_back(static_cast<char>(major));
  out.push_back(0);
  const uint32_t length = static_cast<uint32_t>(header.size());
  for (int i = 0; i < (major == 1 ? 2 : 4); ++i) {
    out.push_back(static_cast<char>((length >> (8 * i)) & 0xff));
  }
  out += header;
  file_.stream().write(out.data(), static_cast<std::streamsize>(out.size()));
}

void NpyStreamWriter::Append(const void* data, int64_t num_bytes) {
  RIGPOSE_CHECK(
      num_bytes >= 0 && written_bytes_ + num_bytes <= expected_bytes_,
      "appending " << num_bytes << " bytes to " << written_bytes_ << " of " << expected_bytes_);
  file_.stream().write(static_cast<const char*>(data), static_cast<std::streamsize>(num_bytes));
  written_bytes_ += num_bytes;
}

void NpyStreamWriter::Commit() {
  RIGPOSE_CHECK(written_bytes_ == expected_bytes_,
                "wrote " << written_bytes_ << " of the " << expected_bytes_ << " data bytes");
  file_.Commit();
}

void WriteNpy(const std::string& path, const NpyArray& array) {
  const int item_size = NpyItemSize(array.dtype);
  RIGPOSE_CHECK(item_size > 0, "unsupported dtype '" << array.dtype << "'");
  for (int64_t d : array.shape) RIGPOSE_CHECK(d >= 0, "negative dimension " << d);
  RIGPOSE_CHECK(static_cast<int64_t>(array.bytes.size()) == array.NumElements() * item_size,
                "bytes=" << array.bytes.size() << " expected=" << array.NumElements() * item_size);
  NpyStreamWriter writer(path, array.dtype, array.shape);
  writer.Append(array.bytes.data(), static_cast<int64_t>(array.bytes.size()));
  writer.Commit();
}

Keypoints2D ReadKeypointsNpy(const std::string& path) {
  return ReadKeypointsNpyFrames(path, 0, -1);
}

Keypoints2D ReadKeypointsNpyFrames(const std::string& path,
                                   int64_t first_frame,
                                   int64_t max_frames) {
  const NpyHeader header = ReadNpyHeader(path);
  if (first_frame < 0)
    throw UsageError(path + ": first frame " + std::to_string(first_frame) + " < 0");
  const int64_t total = header.shape.empty() ? 0 : header.shape[0];
  const int64_t begin = std::min(first_frame, total);
  const int64_t count = max_frames < 0 ? total - begin : std::min(max_frames, total - begin);
  const NpyArray array =
      header.shape.empty() ? ReadNpy(path) : ReadNpyRows(path, header, begin, count);
  std::vector<int64_t> shape = array.shape;
  if (shape.size() == 3) shape.insert(shape.begin() + 1, 1);
  if (shape.size() != 4 || shape[3] != 3) {
    ThrowIo(path,
            0,
            "",
            "expected 2D keypoints of shape [frames, cameras, joints, 3] or [frames, joints, 3], "
            "found " +
                DescribeArray(array));
  }
  if (array.dtype != "<f4" && array.dtype != "<f8") {
    ThrowIo(
        path, 0, "", "expected dtype <f4 or <f8 for 2D keypoints, found " + DescribeArray(array));
  }
  for (int i = 0; i < 3; ++i) {
    if (shape[i] > std::numeric_limits<int>::max()) {
      ThrowIo(path, 0, "", "dimension too large in " + DescribeArray(array));
    }
  }
  Keypoints2D keypoints(
      static_cast<int>(shape[0]), static_cast<int>(shape[1]), static_cast<int>(shape[2]));
  if (array.dtype == "<f4") {
    if (!array.bytes.empty()) std::memcpy(keypoints.data(), array.bytes.data(), array.bytes.size());
  } else {
    const std::vector<double> values = array.AsDoubles();
    float* out = keypoints.data();
    for (size_t i = 0; i < values.size(); ++i) out[i] = static_cast<float>(values[i]);
  }
  return keypoints;
}

void WriteKeypointsNpy(const std::string& path, const Keypoints2D& keypoints) {
  WriteNpy(path,
           MakeArray("<f4",
                     {keypoints.num_frames(), keypoints.num_cameras(), keypoints.num_joints(), 3},
                     keypoints.data(),
                     keypoints.size()));
}

Poses3D ReadPosesNpy(const std::string& path) {
  const NpyArray array = ReadNpy(path);
  const auto& shape = array.shape;
  if (shape.size() != 3 || (shape[2] != 3 && shape[2] != 4)) {
    ThrowIo(
        path,
        0,
        "",
        "expected 3D poses of shape [frames, joints, 4] (x, y, z, valid) or [frames, joints, 3], "
        "found " +
            DescribeArray(array));
  }
  if (array.dtype != "<f4" && array.dtype != "<f8") {
    ThrowIo(path, 0, "", "expected dtype <f4 or <f8 for 3D poses, found " + DescribeArray(array));
  }
  if (shape[0] > std::numeric_limits<int>::max() || shape[1] > std::numeric_limits<int>::max()) {
    ThrowIo(path, 0, "", "dimension too large in " + DescribeArray(array));
  }
  const std::vector<double> values = array.AsDoubles();
  const int num_frames = static_cast<int>(shape[0]);
  const int num_joints = static_cast<int>(shape[1]);
  const int stride = static_cast<int>(shape[2]);
  Poses3D poses(num_frames, num_joints);
  for (int f = 0; f < num_frames; ++f) {
    for (int j = 0; j < num_joints; ++j) {
      const double* v = values.data() + (static_cast<int64_t>(f) * num_joints + j) * stride;
      const bool finite = std::isfinite(v[0]) && std::isfinite(v[1]) && std::isfinite(v[2]);
      const bool valid = finite && (stride == 3 || (v[3] != 0.0 && !std::isnan(v[3])));
      if (valid) {
        poses.Set(f, j, Eigen::Vector3d(v[0], v[1], v[2]));
      } else {
        poses.SetInvalid(f, j);
      }
    }
  }
  return poses;
}

void WritePosesNpy(const std::string& path, const Poses3D& poses) {
  WriteNpy(
      path,
      MakeArray("<f8", {poses.num_frames(), poses.num_joints(), 4}, poses.data(), poses.size()));
}

}  // namespace rigpose

// SPDX-License-Identifier: BSD-3-Clause
#include "data/npy.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
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

NpyArray ParseNpy(const std::string& path, const std::string& file) {
  if (file.size() < kMagicSize + 2 || file.compare(0, kMagicSize, kMagic, kMagicSize) != 0) {
    std::string found = file.substr(0, std::min<size_t>(file.size(), 8));
    for (char& c : found) {
      if (!std::isprint(static_cast<unsigned char>(c))) c = '?';
    }
    ThrowIo(path,
            0,
            "",
            "not a .npy file: expected the magic string \\x93NUMPY, found '" + found + "' (" +
                std::to_string(file.size()) + " bytes)");
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
  NpyArray array;
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
  const uint64_t found = file.size() - data_start;
  if (found != expected) {
    ThrowIo(path,
            0,
            "",
            "data size does not match the header: shape " + ShapeString(array.shape) + " dtype " +
                array.dtype + " needs " + std::to_string(expected) + " bytes, file has " +
                std::to_string(found) + (found < expected ? " (truncated)" : ""));
  }
  array.bytes.assign(file.begin() + static_cast<std::ptrdiff_t>(data_start), file.end());
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

void WriteNpy(const std::string& path, const NpyArray& array) {
  const int item_size = NpyItemSize(array.dtype);
  RIGPOSE_CHECK(item_size > 0, "unsupported dtype '" << array.dtype << "'");
  for (int64_t d : array.shape) RIGPOSE_CHECK(d >= 0, "negative dimension " << d);
  RIGPOSE_CHECK(static_cast<int64_t>(array.bytes.size()) == array.NumElements() * item_size,
                "bytes=" << array.bytes.size() << " expected=" << array.NumElements() * item_size);

  std::string dict = "{'descr': '" + array.dtype +
                     "', 'fortran_order': False, 'shape': " + ShapeString(array.shape) + ", }";
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
  out.append(array.bytes.begin(), array.bytes.end());
  WriteFileAtomic(path, out);
}

Keypoints2D ReadKeypointsNpy(const std::string& path) {
  const NpyArray array = ReadNpy(path);
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

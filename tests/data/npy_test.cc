// SPDX-License-Identifier: BSD-3-Clause
#include "data/npy.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/test_util.h"

namespace rigpose {
namespace {

constexpr char kPython[] = "/usr/bin/python3";

// Builds a .npy file by hand: magic, version, little-endian header length, header, data.
std::string MakeNpyBytes(const std::string& dict, const std::string& data, int major = 1) {
  std::string header = dict;
  const size_t preamble = major == 1 ? 10 : 12;
  header.append((64 - (preamble + header.size() + 1) % 64) % 64, ' ');
  header.push_back('\n');
  std::string out("\x93NUMPY", 6);
  out.push_back(static_cast<char>(major));
  out.push_back(0);
  const uint32_t n = static_cast<uint32_t>(header.size());
  for (int i = 0; i < (major == 1 ? 2 : 4); ++i)
    out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  return out + header + data;
}

template <typename T>
std::string Bytes(std::initializer_list<T> values) {
  std::string out;
  for (T v : values) out.append(reinterpret_cast<const char*>(&v), sizeof(T));
  return out;
}

// Expects an IoError whose message contains the path and `fragment`.
void ExpectNpyError(const std::string& path, const std::string& fragment) {
  try {
    ReadNpy(path);
    ADD_FAILURE() << "no error reading " << path;
  } catch (const IoError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find(fragment), std::string::npos) << message;
  }
}

bool PythonHasNumpy() {
  if (!std::filesystem::exists(kPython)) return false;
  const std::string command = std::string(kPython) + " -c \"import numpy\" >/dev/null 2>&1";
  return std::system(command.c_str()) == 0;
}

int RunPython(const std::string& script) {
  const std::string command = std::string(kPython) + " -c \"" + script + "\"";
  return std::system(command.c_str());
}

TEST(ReadNpy, AllDtypes) {
  const std::string dir = test::ScratchDir("npy");
  struct Case {
    std::string descr;
    std::string data;
    std::vector<double> expected;
  };
  const std::vector<Case> cases = {
      {"<f4", Bytes<float>({1.5f, -2.25f}), {1.5, -2.25}},
      {"<f8", Bytes<double>({0.1, -1e300}), {0.1, -1e300}},
      {"<i4", Bytes<int32_t>({-7, 2147483647}), {-7, 2147483647}},
      {"<i8", Bytes<int64_t>({-9, int64_t{1} << 40}), {-9, 1099511627776.0}},
      {"|u1", Bytes<uint8_t>({0, 255}), {0, 255}},
      {"|b1", Bytes<uint8_t>({1, 0}), {1, 0}},
  };
  for (const Case& c : cases) {
    const std::string path = dir + "/a.npy";
    test::WriteText(
        path,
        MakeNpyBytes("{'descr': '" + c.descr + "', 'fortran_order': False, 'shape': (2,), }",
                     c.data));
    const NpyArray array = ReadNpy(path);
    EXPECT_EQ(array.dtype, c.descr);
    EXPECT_EQ(array.shape, std::vector<int64_t>({2}));
    EXPECT_EQ(array.NumElements(), 2);
    EXPECT_EQ(array.AsDoubles(), c.expected) << c.descr;
  }
}

TEST(ReadNpy, Version2AndScalar) {
  const std::string dir = test::ScratchDir("npy");
  test::WriteText(dir + "/v2.npy",
                  MakeNpyBytes("{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (1, 2)}",
                               Bytes<double>({3.0, 4.0}),
                               2));
  const NpyArray v2 = ReadNpy(dir + "/v2.npy");
  EXPECT_EQ(v2.shape, std::vector<int64_t>({1, 2}));
  EXPECT_EQ(v2.AsDoubles(), std::vector<double>({3.0, 4.0}));

  test::WriteText(dir + "/scalar.npy",
                  MakeNpyBytes("{'descr': '<i8', 'fortran_order': False, 'shape': (), }",
                               Bytes<int64_t>({42})));
  const NpyArray scalar = ReadNpy(dir + "/scalar.npy");
  EXPECT_TRUE(scalar.shape.empty());
  EXPECT_EQ(scalar.NumElements(), 1);
  EXPECT_EQ(scalar.AsDoubles(), std::vector<double>({42.0}));
}

TEST(WriteNpy, RoundTrip) {
  const std::string dir = test::ScratchDir("npy");
  NpyArray array;
  array.dtype = "<i4";
  array.shape = {2, 0, 3};
  WriteNpy(dir + "/empty.npy", array);
  EXPECT_EQ(ReadNpy(dir + "/empty.npy").shape, array.shape);

  array.dtype = "<f8";
  array.shape = {2, 3};
  const std::string data = Bytes<double>({1, 2, 3, 4, 5, std::numeric_limits<double>::quiet_NaN()});
  array.bytes.assign(data.begin(), data.end());
  WriteNpy(dir + "/a.npy", array);
  const std::string file = test::ReadText(dir + "/a.npy");
  // Header padded so the data starts on a 64-byte boundary.
  EXPECT_EQ((file.size() - data.size()) % 64, 0u);
  const NpyArray back = ReadNpy(dir + "/a.npy");
  EXPECT_EQ(back.dtype, "<f8");
  EXPECT_EQ(back.shape, array.shape);
  EXPECT_EQ(back.bytes, array.bytes);
}

TEST(WriteNpy, BadArgs) {
  const std::string dir = test::ScratchDir("npy");
  NpyArray array;
  array.dtype = "<f8";
  array.shape = {3};
  array.bytes.resize(16);  // 2 elements, shape says 3
  EXPECT_THROW(WriteNpy(dir + "/a.npy", array), std::invalid_argument);
  array.bytes.resize(24);
  array.dtype = "<f2";
  EXPECT_THROW(WriteNpy(dir + "/a.npy", array), std::invalid_argument);
  array.dtype = "<f8";
  EXPECT_THROW(WriteNpy(dir + "/missing/a.npy", array), IoError);
  EXPECT_EQ(test::CountEntries(dir), 0);
}

TEST(ReadNpy, Truncated) {
  const std::string dir = test::ScratchDir("npy");
  const std::string good = MakeNpyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }",
                                        Bytes<double>({1, 2, 3, 4}));
  test::WriteText(dir + "/data.npy", good.substr(0, good.size() - 5));
  ExpectNpyError(dir + "/data.npy", "truncated");
  test::WriteText(dir + "/header.npy", good.substr(0, 30));
  ExpectNpyError(dir + "/header.npy", "truncated .npy header");
  test::WriteText(dir + "/tiny.npy", good.substr(0, 9));
  ExpectNpyError(dir + "/tiny.npy", "truncated");
}

TEST(ReadNpy, WrongMagic) {
  const std::string dir = test::ScratchDir("npy");
  test::WriteText(dir + "/a.npy", "PK\x03\x04 this is a zip file, not npy");
  ExpectNpyError(dir + "/a.npy", "magic");
}

TEST(ReadNpy, UnknownVersion) {
  const std::string dir = test::ScratchDir("npy");
  std::string bytes = MakeNpyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (0,), }", "");
  bytes[6] = 9;
  test::WriteText(dir + "/a.npy", bytes);
  ExpectNpyError(dir + "/a.npy", "version 9.0");
}

TEST(ReadNpy, UnparseableHeader) {
  const std::string dir = test::ScratchDir("npy");
  test::WriteText(dir + "/a.npy",
                  MakeNpyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (4 x), }",
                               Bytes<double>({1, 2, 3, 4})));
  ExpectNpyError(dir + "/a.npy", "cannot parse .npy header");
  test::WriteText(dir + "/b.npy",
                  MakeNpyBytes("{'descr': '<f8', 'shape': (1,), }", Bytes<double>({1})));
  ExpectNpyError(dir + "/b.npy", "fortran_order");
}

TEST(ReadNpy, DataSizeMismatch) {
  const std::string dir = test::ScratchDir("npy");
  test::WriteText(dir + "/a.npy",
                  MakeNpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }",
                               Bytes<float>({1, 2, 3, 4, 5})));
  ExpectNpyError(dir + "/a.npy", "needs 16 bytes, file has 20");
}

TEST(ReadNpy, FortranOrder) {
  const std::string dir = test::ScratchDir("npy");
  test::WriteText(dir + "/a.npy",
                  MakeNpyBytes("{'descr': '<f8', 'fortran_order': True, 'shape': (1, 2), }",
                               Bytes<double>({1, 2})));
  ExpectNpyError(dir + "/a.npy", "Fortran-order");
}

TEST(ReadNpy, BigEndianAndUnsupportedDtype) {
  const std::string dir = test::ScratchDir("npy");
  test::WriteText(dir + "/be.npy",
                  MakeNpyBytes("{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }",
                               Bytes<double>({1})));
  ExpectNpyError(dir + "/be.npy", "big-endian dtype '>f8'");
  test::WriteText(dir + "/f2.npy",
                  MakeNpyBytes("{'descr': '<f2', 'fortran_order': False, 'shape': (1,), }", "ab"));
  ExpectNpyError(dir + "/f2.npy", "unsupported dtype '<f2'");
  test::WriteText(dir + "/rec.npy",
                  MakeNpyBytes("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }",
                               Bytes<double>({1})));
  ExpectNpyError(dir + "/rec.npy", "structured");
}

TEST(ReadKeypointsNpy, RoundTrip) {
  const std::string dir = test::ScratchDir("npy");
  Keypoints2D keypoints(3, 2, 5);
  for (int f = 0; f < 3; ++f) {
    for (int c = 0; c < 2; ++c) {
      for (int j = 0; j < 5; ++j) {
        if ((f + c + j) % 4 != 0)
          keypoints.Set(f, c, j, 100.25f * f + j, 0.1f * c + 7, 0.5f + 0.01f * j);
      }
    }
  }
  WriteKeypointsNpy(dir + "/k.npy", keypoints);
  const NpyArray raw = ReadNpy(dir + "/k.npy");
  EXPECT_EQ(raw.dtype, "<f4");
  EXPECT_EQ(raw.shape, std::vector<int64_t>({3, 2, 5, 3}));
  const Keypoints2D back = ReadKeypointsNpy(dir + "/k.npy");
  ASSERT_EQ(back.num_frames(), 3);
  ASSERT_EQ(back.num_cameras(), 2);
  ASSERT_EQ(back.num_joints(), 5);
  EXPECT_EQ(std::memcmp(back.data(), keypoints.data(), sizeof(float) * keypoints.size()), 0);
}

TEST(ReadKeypointsNpyFrames, SlicesMatchTheWholeArray) {
  Keypoints2D keypoints(7, 2, 3);
  for (int64_t i = 0; i < keypoints.size(); ++i) keypoints.data()[i] = 0.5f * i;
  const std::string path = test::ScratchDir("npy_frames") + "/k.npy";
  WriteKeypointsNpy(path, keypoints);
  const NpyHeader header = ReadNpyHeader(path);
  EXPECT_EQ(header.shape, std::vector<int64_t>({7, 2, 3, 3}));
  EXPECT_EQ(header.data_offset % 64, 0);
  for (const auto& [first, count, expected] : std::vector<std::tuple<int, int, int>>{
           {0, 3, 3}, {3, 3, 3}, {6, 3, 1}, {7, 3, 0}, {2, -1, 5}}) {
    const Keypoints2D chunk = ReadKeypointsNpyFrames(path, first, count);
    ASSERT_EQ(chunk.num_frames(), expected) << first;
    ASSERT_EQ(chunk.num_cameras(), 2);
    for (int64_t i = 0; i < chunk.size(); ++i) {
      ASSERT_EQ(chunk.data()[i], keypoints.data()[keypoints.Offset(first, 0, 0) + i]);
    }
  }
  EXPECT_THROW(ReadKeypointsNpyFrames(path, -1, 2), UsageError);
  // A truncated file fails at the header check, before any slice is read.
  const std::string bytes = test::ReadText(path);
  test::WriteText(path, bytes.substr(0, bytes.size() - 4));
  EXPECT_THROW(ReadNpyHeader(path), IoError);
}

TEST(NpyStreamWriter, PiecesAndUncommitted) {
  const std::string dir = test::ScratchDir("npy_stream");
  {
    NpyStreamWriter writer(dir + "/a.npy", "<i4", {2, 3});
    const int32_t first[3] = {1, 2, 3};
    const int32_t second[3] = {4, 5, 6};
    writer.Append(first, sizeof(first));
    EXPECT_THROW(writer.Commit(), std::invalid_argument);  // 3 of 6 values
    writer.Append(second, sizeof(second));
    EXPECT_THROW(writer.Append(second, sizeof(second)), std::invalid_argument);
    writer.Commit();
  }
  const NpyArray array = ReadNpy(dir + "/a.npy");
  EXPECT_EQ(array.AsDoubles(), std::vector<double>({1, 2, 3, 4, 5, 6}));
  { NpyStreamWriter abandoned(dir + "/b.npy", "<f8", {4}); }
  EXPECT_FALSE(std::filesystem::exists(dir + "/b.npy"));
  EXPECT_EQ(test::CountEntries(dir), 1);
}

TEST(ReadKeypointsNpy, ThreeDimensionalIsOneCameraAndF8) {
  const std::string dir = test::ScratchDir("npy");
  test::WriteText(dir + "/k.npy",
                  MakeNpyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 1, 3), }",
                               Bytes<double>({1.5, 2.5, 0.9, 3.5, 4.5, 0.0})));
  const Keypoints2D k = ReadKeypointsNpy(dir + "/k.npy");
  ASSERT_EQ(k.num_frames(), 2);
  ASSERT_EQ(k.num_cameras(), 1);
  ASSERT_EQ(k.num_joints(), 1);
  EXPECT_FLOAT_EQ(k.x(0, 0, 0), 1.5f);
  EXPECT_FLOAT_EQ(k.score(0, 0, 0), 0.9f);
  EXPECT_FALSE(k.IsPresent(1, 0, 0));
}

TEST(ReadKeypointsNpy, WrongRankOrDtype) {
  const std::string dir = test::ScratchDir("npy");
  test::WriteText(dir + "/rank.npy",
                  MakeNpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                               Bytes<float>({1, 2, 3, 4, 5, 6})));
  try {
    ReadKeypointsNpy(dir + "/rank.npy");
    ADD_FAILURE();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find(dir + "/rank.npy"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("found shape (2, 3)"), std::string::npos) << e.what();
  }
  test::WriteText(dir + "/last.npy",
                  MakeNpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 2), }",
                               Bytes<float>({1, 2})));
  EXPECT_THROW(ReadKeypointsNpy(dir + "/last.npy"), IoError);
  test::WriteText(dir + "/int.npy",
                  MakeNpyBytes("{'descr': '<i4', 'fortran_order': False, 'shape': (1, 1, 3), }",
                               Bytes<int32_t>({1, 2, 3})));
  EXPECT_THROW(ReadKeypointsNpy(dir + "/int.npy"), IoError);
}

TEST(ReadPosesNpy, RoundTrip) {
  const std::string dir = test::ScratchDir("npy");
  Poses3D poses(4, 3);
  for (int f = 0; f < 4; ++f) {
    for (int j = 0; j < 3; ++j) {
      if (f != j) poses.Set(f, j, Eigen::Vector3d(0.1 * f + 1e-9 * j, -1.0 / 3.0 * j, 1e5 + f));
    }
  }
  WritePosesNpy(dir + "/p.npy", poses);
  const NpyArray raw = ReadNpy(dir + "/p.npy");
  EXPECT_EQ(raw.dtype, "<f8");
  EXPECT_EQ(raw.shape, std::vector<int64_t>({4, 3, 4}));
  const Poses3D back = ReadPosesNpy(dir + "/p.npy");
  ASSERT_EQ(back.num_frames(), 4);
  ASSERT_EQ(back.num_joints(), 3);
  for (int f = 0; f < 4; ++f) {
    for (int j = 0; j < 3; ++j) {
      EXPECT_EQ(back.IsValid(f, j), f != j);
      EXPECT_EQ(back.Position(f, j), poses.Position(f, j));
    }
  }
}

TEST(ReadPosesNpy, NanRowsAreInvalid) {
  const std::string dir = test::ScratchDir("npy");
  const float nan = std::numeric_limits<float>::quiet_NaN();
  test::WriteText(dir + "/p.npy",
                  MakeNpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3), }",
                               Bytes<float>({1, 2, 3, nan, nan, nan})));
  const Poses3D poses = ReadPosesNpy(dir + "/p.npy");
  ASSERT_EQ(poses.num_joints(), 2);
  EXPECT_TRUE(poses.IsValid(0, 0));
  EXPECT_EQ(poses.Position(0, 0), Eigen::Vector3d(1, 2, 3));
  EXPECT_FALSE(poses.IsValid(0, 1));
}

TEST(ReadPosesNpy, WrongRank) {
  const std::string dir = test::ScratchDir("npy");
  test::WriteText(dir + "/p.npy",
                  MakeNpyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 1, 4), }",
                               Bytes<double>({1, 2, 3, 1})));
  EXPECT_THROW(ReadPosesNpy(dir + "/p.npy"), IoError);
  test::WriteText(dir + "/q.npy",
                  MakeNpyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 5), }",
                               Bytes<double>({1, 2, 3, 1, 0})));
  EXPECT_THROW(ReadPosesNpy(dir + "/q.npy"), IoError);
}

TEST(ReadNpy, FromPython) {
  if (!PythonHasNumpy()) GTEST_SKIP() << kPython << " with numpy not available";
  const std::string dir = test::ScratchDir("npy");
  ASSERT_EQ(RunPython("import numpy as np; "
                      "np.save('" +
                      dir +
                      "/k.npy', (np.arange(2*3*4*3, dtype=np.float32)/7)"
                      ".reshape(2,3,4,3)); "
                      "np.save('" +
                      dir +
                      "/p.npy', np.arange(5*2*3, dtype=np.float64)"
                      ".reshape(5,2,3)/3); "
                      "np.save('" +
                      dir +
                      "/b.npy', np.array([[True, False]])); "
                      "np.save('" +
                      dir +
                      "/i.npy', np.array([-3, 2**40], dtype='<i8')); "
                      "np.save('" +
                      dir +
                      "/f.npy', np.asfortranarray(np.ones((2, 3)))); "
                      "np.save('" +
                      dir + "/be.npy', np.ones(3, dtype='>f8'))"),
            0);
  const Keypoints2D k = ReadKeypointsNpy(dir + "/k.npy");
  ASSERT_EQ(k.num_frames(), 2);
  ASSERT_EQ(k.num_cameras(), 3);
  ASSERT_EQ(k.num_joints(), 4);
  for (int64_t i = 0; i < k.size(); ++i) EXPECT_EQ(k.data()[i], static_cast<float>(i) / 7.f);

  const Poses3D p = ReadPosesNpy(dir + "/p.npy");
  ASSERT_EQ(p.num_frames(), 5);
  ASSERT_EQ(p.num_joints(), 2);
  EXPECT_EQ(p.Position(4, 1), Eigen::Vector3d(27.0 / 3, 28.0 / 3, 29.0 / 3));
  EXPECT_TRUE(p.IsValid(4, 1));

  const NpyArray b = ReadNpy(dir + "/b.npy");
  EXPECT_EQ(b.dtype, "|b1");
  EXPECT_EQ(b.shape, std::vector<int64_t>({1, 2}));
  EXPECT_EQ(b.AsDoubles(), std::vector<double>({1, 0}));
  EXPECT_EQ(ReadNpy(dir + "/i.npy").AsDoubles(), std::vector<double>({-3, 1099511627776.0}));
  ExpectNpyError(dir + "/f.npy", "Fortran-order");
  ExpectNpyError(dir + "/be.npy", "big-endian");
}

TEST(WriteNpy, ReadByPython) {
  if (!PythonHasNumpy()) GTEST_SKIP() << kPython << " with numpy not available";
  const std::string dir = test::ScratchDir("npy");
  Keypoints2D keypoints(2, 3, 4);
  for (int f = 0; f < 2; ++f) {
    for (int c = 0; c < 3; ++c) {
      for (int j = 0; j < 4; ++j) keypoints.Set(f, c, j, f * 1000.5f + j, c + 0.25f, 0.125f * j);
    }
  }
  WriteKeypointsNpy(dir + "/k.npy", keypoints);
  Poses3D poses(3, 2);
  poses.Set(0, 0, Eigen::Vector3d(0.1, 0.2, 1.0 / 3.0));
  poses.Set(2, 1, Eigen::Vector3d(-1e-7, 5.0, 6.0));
  WritePosesNpy(dir + "/p.npy", poses);
  NpyArray mask;
  mask.dtype = "|u1";
  mask.shape = {3};
  mask.bytes = {1, 0, char(200)};
  WriteNpy(dir + "/m.npy", mask);
  EXPECT_EQ(
      RunPython("import numpy as np, sys; "
                "k = np.load('" +
                dir +
                "/k.npy'); "
                "f, c, j = np.meshgrid(np.arange(2), np.arange(3), np.arange(4), indexing='ij'); "
                "ok = k.dtype == np.float32 and k.shape == (2, 3, 4, 3); "
                "ok = ok and (k[..., 0] == (f * np.float32(1000.5) + j).astype(np.float32)).all(); "
                "ok = ok and (k[..., 1] == (c + np.float32(0.25))).all(); "
                "ok = ok and (k[..., 2] == np.float32(0.125) * j).all(); "
                "p = np.load('" +
                dir +
                "/p.npy'); "
                "ok = ok and p.dtype == np.float64 and p.shape == (3, 2, 4); "
                "ok = ok and (p[0, 0] == [0.1, 0.2, 1.0/3.0, 1.0]).all(); "
                "ok = ok and (p[2, 1] == [-1e-7, 5.0, 6.0, 1.0]).all(); "
                "ok = ok and p[1, :, 3].sum() == 0 and p[0, 1, 3] == 0; "
                "m = np.load('" +
                dir +
                "/m.npy'); "
                "ok = ok and m.dtype == np.uint8 and list(m) == [1, 0, 200]; "
                "sys.exit(0 if ok else 3)"),
      0);
}

}  // namespace
}  // namespace rigpose

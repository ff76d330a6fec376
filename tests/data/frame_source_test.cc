// SPDX-License-Identifier: BSD-3-Clause
// MultiCameraFrameSource on tiny fixtures written here: MJPG .avi videos and PNG folders whose
// frame k is a solid grey level 20 * k, so that synchronisation, stride and ranges can be read
// back from the pixels.
#include "data/frame_source.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include "core/error.h"

namespace rigpose {
namespace {

namespace fs = std::filesystem;

constexpr int kFrames = 12;
constexpr int kGreyStep = 20;  // frame k is grey level 20 * k (0 .. 220)

int Grey(int frame) { return kGreyStep * frame; }

// Writes an MJPG .avi of `num_frames` solid frames (frame k: grey 20 * k) through FFmpeg.
void WriteVideo(const std::string& path,
                int num_frames = kFrames,
                double fps = 25.0,
                cv::Size size = cv::Size(32, 24)) {
  cv::VideoWriter writer;
  if (!writer.open(path, cv::CAP_FFMPEG, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), fps, size)) {
    throw std::runtime_error("cannot write test video " + path);
  }
  for (int k = 0; k < num_frames; ++k) {
    writer.write(cv::Mat(size, CV_8UC3, cv::Scalar::all(Grey(k))));
  }
  writer.release();
}

// Writes 0.png .. (n-1).png (not zero-padded: natural order is needed) into dir/camera/.
void WriteImageFolder(const std::string& dir,
                      const std::string& camera,
                      int num_frames = kFrames,
                      cv::Size size = cv::Size(32, 24)) {
  const fs::path folder = fs::path(dir) / camera;
  fs::create_directories(folder);
  for (int k = 0; k < num_frames; ++k) {
    const std::string path = (folder / (std::to_string(k) + ".png")).string();
    if (!cv::imwrite(path, cv::Mat(size, CV_8UC3, cv::Scalar::all(Grey(k))))) {
      throw std::runtime_error("cannot write test image " + path);
    }
  }
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Byte offsets of the JPEG start-of-image markers of an MJPG file: one per frame.
std::vector<size_t> JpegStarts(const std::string& bytes) {
  std::vector<size_t> starts;
  for (size_t i = 0; i + 2 < bytes.size(); ++i) {
    if (bytes[i] == '\xff' && bytes[i + 1] == '\xd8' && bytes[i + 2] == '\xff') starts.push_back(i);
  }
  return starts;
}

// Runs fn, expects an exception of type E whose message contains every fragment.
template <typename E>
void ExpectError(const std::function<void()>& fn, std::initializer_list<std::string> fragments) {
  try {
    fn();
    ADD_FAILURE() << "no exception";
  } catch (const E& e) {
    const std::string message = e.what();
    for (const std::string& fragment : fragments) {
      EXPECT_NE(message.find(fragment), std::string::npos)
          << "'" << fragment << "' not in: " << message;
    }
  }
}

// Reads every synchronised frame; checks the shape of each and that every camera shows the grey
// level of the frame index. Returns the frame indices.
std::vector<int> ReadAll(MultiCameraFrameSource* source, int tolerance) {
  std::vector<int> indices;
  std::vector<cv::Mat> images;
  int index = -1;
  while (source->Next(&images, &index)) {
    indices.push_back(index);
    EXPECT_EQ(images.size(), source->cameras().size());
    for (size_t c = 0; c < images.size() && c < source->cameras().size(); ++c) {
      const CameraStreamInfo& info = source->cameras()[c];
      EXPECT_EQ(images[c].type(), CV_8UC3);
      EXPECT_EQ(images[c].cols, info.width);
      EXPECT_EQ(images[c].rows, info.height);
      const cv::Vec3b centre = images[c].at<cv::Vec3b>(images[c].rows / 2, images[c].cols / 2);
      EXPECT_NEAR(centre[0], Grey(index), tolerance) << info.name << " frame " << index;
      EXPECT_NEAR(centre[2], Grey(index), tolerance) << info.name << " frame " << index;
    }
  }
  EXPECT_TRUE(images.empty());
  EXPECT_FALSE(source->Next(&images, &index));  // stays at the end
  return indices;
}

std::vector<std::string> Names(const MultiCameraFrameSource& source) {
  std::vector<std::string> names;
  for (const CameraStreamInfo& info : source.cameras()) names.push_back(info.name);
  return names;
}

class FrameSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = (fs::path(::testing::TempDir()) / ("rigpose_frame_source_" + std::to_string(getpid())) /
            (std::string(info->test_suite_name()) + "." + info->name()))
               .string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(fs::path(dir_).parent_path()); }

  std::string Path(const std::string& name) const { return (fs::path(dir_) / name).string(); }

  // cam01 32x24, cam02 48x32, CAM03.AVI 40x24 (upper-case extension, written as .avi).
  void WriteThreeVideos() {
    WriteVideo(Path("cam01.avi"), kFrames, 25.0, cv::Size(32, 24));
    WriteVideo(Path("cam02.avi"), kFrames, 25.0, cv::Size(48, 32));
    WriteVideo(Path("tmp.avi"), kFrames, 25.0, cv::Size(40, 24));
    fs::rename(Path("tmp.avi"), Path("cam03.AVI"));
  }

  std::string dir_;
};

using FrameSourceVideos = FrameSourceTest;
using FrameSourceImages = FrameSourceTest;
using FrameSource = FrameSourceTest;

TEST_F(FrameSourceVideos, Nominal) {
  WriteThreeVideos();
  WriteBytes(Path("notes.txt"), "not a camera");
  WriteBytes(Path(".hidden.mp4"), "hidden and not a video");
  MultiCameraFrameSource source = MultiCameraFrameSource::OpenAuto(dir_, {});
  EXPECT_EQ(source.kind(), FrameSourceKind::kVideos);
  ASSERT_EQ(Names(source), (std::vector<std::string>{"cam01", "cam02", "cam03"}));
  EXPECT_EQ(source.cameras()[0].path, Path("cam01.avi"));
  EXPECT_EQ(source.cameras()[1].width, 48);
  EXPECT_EQ(source.cameras()[1].height, 32);
  EXPECT_EQ(source.cameras()[2].width, 40);
  for (const CameraStreamInfo& info : source.cameras()) {
    EXPECT_EQ(info.num_frames, kFrames) << info.name;
    EXPECT_NEAR(info.fps, 25.0, 1e-9) << info.name;
  }
  EXPECT_EQ(source.num_frames(), kFrames);
  std::vector<int> expected;
  for (int k = 0; k < kFrames; ++k) expected.push_back(k);
  EXPECT_EQ(ReadAll(&source, 4), expected);
}

TEST_F(FrameSourceVideos, FirstFrameStrideMaxFrames) {
  WriteThreeVideos();
  struct Case {
    int first, stride, max;
    std::vector<int> expected;
  };
  const std::vector<Case> cases = {{1, 3, 0, {1, 4, 7, 10}},
                                   {1, 3, 3, {1, 4, 7}},
                                   {0, 5, 0, {0, 5, 10}},
                                   {11, 1, 0, {11}},
                                   {0, 1, 2, {0, 1}},
                                   {4, 20, 0, {4}}};
  for (const Case& c : cases) {
    FrameSourceOptions options;
    options.first_frame = c.first;
    options.frame_stride = c.stride;
    options.max_frames = c.max;
    MultiCameraFrameSource source =
        MultiCameraFrameSource::Open(dir_, FrameSourceKind::kVideos, options);
    EXPECT_EQ(source.num_frames(), static_cast<int>(c.expected.size()));
    EXPECT_EQ(ReadAll(&source, 4), c.expected)
        << "first " << c.first << " stride " << c.stride << " max " << c.max;
  }
}

TEST_F(FrameSourceVideos, CameraOrder) {
  WriteThreeVideos();
  FrameSourceOptions options;
  options.camera_order = {"cam03", "cam01", "cam02"};
  MultiCameraFrameSource source =
      MultiCameraFrameSource::Open(dir_, FrameSourceKind::kVideos, options);
  EXPECT_EQ(Names(source), options.camera_order);
  EXPECT_EQ(source.cameras()[0].width, 40);
  EXPECT_EQ(ReadAll(&source, 4).size(), static_cast<size_t>(kFrames));

  // A camera with no video: named, with what the directory holds.
  options.camera_order = {"cam01", "cam02", "cam03", "cam04"};
  ExpectError<InputError>(
      [&] { MultiCameraFrameSource::Open(dir_, FrameSourceKind::kVideos, options); },
      {dir_, "cam04", "cam01.avi", "cam02.avi", "cam03.AVI"});

  // A video with no camera: named, unless extra videos are allowed.
  options.camera_order = {"cam02", "cam01"};
  ExpectError<InputError>(
      [&] { MultiCameraFrameSource::Open(dir_, FrameSourceKind::kVideos, options); },
      {dir_, "cam03.AVI"});
  options.allow_extra_videos = true;
  MultiCameraFrameSource two =
      MultiCameraFrameSource::Open(dir_, FrameSourceKind::kVideos, options);
  EXPECT_EQ(Names(two), (std::vector<std::string>{"cam02", "cam01"}));
  EXPECT_EQ(ReadAll(&two, 4).size(), static_cast<size_t>(kFrames));
}

TEST_F(FrameSourceVideos, DifferentLengths) {
  WriteVideo(Path("cam01.avi"), 12);
  WriteVideo(Path("cam02.avi"), 9);
  WriteVideo(Path("cam03.avi"), 12);
  FrameSourceOptions options;
  MultiCameraFrameSource source =
      MultiCameraFrameSource::Open(dir_, FrameSourceKind::kVideos, options);
  EXPECT_EQ(source.cameras()[1].num_frames, 9);
  EXPECT_EQ(source.num_frames(), 9);
  EXPECT_EQ(ReadAll(&source, 4), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8}));

  options.truncate_to_shortest = false;
  ExpectError<InputError>(
      [&] { MultiCameraFrameSource::Open(dir_, FrameSourceKind::kVideos, options); },
      {"cam01 12", "cam02 9", "cam03 12"});

  // first_frame past the truncated end.
  options.truncate_to_shortest = true;
  options.first_frame = 9;
  ExpectError<InputError>(
      [&] { MultiCameraFrameSource::Open(dir_, FrameSourceKind::kVideos, options); },
      {"first_frame 9", "9 frames"});
}

TEST_F(FrameSourceVideos, DifferentFrameRates) {
  WriteVideo(Path("cam01.avi"), 4, 25.0);
  WriteVideo(Path("cam02.avi"), 4, 30.0);
  ExpectError<InputError>([&] { MultiCameraFrameSource::Open(dir_, FrameSourceKind::kVideos, {}); },
                          {"cam01", "25 fps", "cam02", "30 fps"});

  // Within 0.1 %: accepted.
  fs::remove(Path("cam02.avi"));
  WriteVideo(Path("cam02.avi"), 4, 25.01);
  MultiCameraFrameSource source = MultiCameraFrameSource::Open(dir_, FrameSourceKind::kVideos, {});
  EXPECT_EQ(ReadAll(&source, 4).size(), 4u);
}

TEST_F(FrameSourceVideos, UnreadableVideo) {
  WriteVideo(Path("cam01.avi"), 4);
  WriteBytes(Path("cam02.mp4"), std::string(2000, '\x5a'));
  ExpectError<IoError>([&] { MultiCameraFrameSource::Open(dir_, FrameSourceKind::kVideos, {}); },
                       {Path("cam02.mp4"), "cam02"});
  // Same stem twice is refused, naming both files.
  fs::remove(Path("cam02.mp4"));
  WriteBytes(Path("cam01.mp4"), "x");
  ExpectError<InputError>([&] { MultiCameraFrameSource::Open(dir_, FrameSourceKind::kVideos, {}); },
                          {Path("cam01.avi"), Path("cam01.mp4")});
}

TEST_F(FrameSourceVideos, CorruptFrameMidVideoThrows) {
  WriteVideo(Path("cam01.avi"));
  WriteVideo(Path("cam02.avi"));
  // Zero all of frame 6's JPEG data, SOI to EOI (its AVI chunk header stays intact). Zeroing
  // only part of it is not enough: FFmpeg's MJPEG decoder conceals the damage and returns a frame.
  std::string bytes = ReadBytes(Path("cam02.avi"));
  const std::vector<size_t> starts = JpegStarts(bytes);
  ASSERT_EQ(starts.size(), static_cast<size_t>(kFrames));
  const size_t end = bytes.find("\xff\xd9", starts[6]);
  ASSERT_LT(end, starts[7]);
  for (size_t i = starts[6]; i < end + 2; ++i) bytes[i] = '\0';
  WriteBytes(Path("cam02.avi"), bytes);

  MultiCameraFrameSource source = MultiCameraFrameSource::Open(dir_, FrameSourceKind::kVideos, {});
  std::vector<cv::Mat> images;
  int index = -1;
  for (int k = 0; k < 6; ++k) {
    ASSERT_TRUE(source.Next(&images, &index));
    EXPECT_EQ(index, k);
  }
  ExpectError<IoError>([&] { source.Next(&images, &index); }, {"cam02", "frame 6"});
}

TEST_F(FrameSourceVideos, EndsBeforeReportedCount) {
  WriteVideo(Path("cam01.avi"));
  WriteVideo(Path("cam02.avi"));
  // Cut cam02 inside frame 8: the AVI header still reports 12 frames, the index is gone.
  std::string bytes = ReadBytes(Path("cam02.avi"));
  const std::vector<size_t> starts = JpegStarts(bytes);
  ASSERT_EQ(starts.size(), static_cast<size_t>(kFrames));
  WriteBytes(Path("cam02.avi"), bytes.substr(0, starts[8] + 20));

  MultiCameraFrameSource source = MultiCameraFrameSource::Open(dir_, FrameSourceKind::kVideos, {});
  EXPECT_EQ(source.cameras()[1].num_frames, kFrames) << "FFmpeg no longer trusts the header";
  EXPECT_EQ(ReadAll(&source, 4), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
}

TEST_F(FrameSourceImages, Nominal) {
  WriteImageFolder(dir_, "cam02", kFrames, cv::Size(16, 8));
  WriteImageFolder(dir_, "cam01");
  WriteImageFolder(dir_, "cam10");  // natural order: after cam02
  WriteBytes(Path("README.txt"), "ignored");
  WriteBytes(Path("cam01/notes.txt"), "ignored");
  WriteBytes(Path("cam01/.thumb.png"), "hidden, ignored");
  fs::create_directories(Path(".cache"));
  MultiCameraFrameSource source = MultiCameraFrameSource::OpenAuto(dir_, {});
  EXPECT_EQ(source.kind(), FrameSourceKind::kImages);
  ASSERT_EQ(Names(source), (std::vector<std::string>{"cam01", "cam02", "cam10"}));
  EXPECT_EQ(source.cameras()[1].width, 16);
  EXPECT_EQ(source.cameras()[1].height, 8);
  EXPECT_EQ(source.cameras()[0].fps, 0.0);
  EXPECT_EQ(source.cameras()[0].num_frames, kFrames);
  std::vector<int> expected;
  for (int k = 0; k < kFrames; ++k) expected.push_back(k);
  EXPECT_EQ(ReadAll(&source, 0), expected);  // 10.png after 9.png, exact grey levels

  FrameSourceOptions options;
  options.first_frame = 2;
  options.frame_stride = 4;
  options.camera_order = {"cam10", "cam01"};
  options.allow_extra_videos = true;
  MultiCameraFrameSource some =
      MultiCameraFrameSource::Open(dir_, FrameSourceKind::kImages, options);
  EXPECT_EQ(Names(some), options.camera_order);
  EXPECT_EQ(ReadAll(&some, 0), (std::vector<int>{2, 6, 10}));
}

TEST_F(FrameSourceImages, DifferentCounts) {
  WriteImageFolder(dir_, "cam01", 5);
  WriteImageFolder(dir_, "cam02", 4);
  MultiCameraFrameSource source = MultiCameraFrameSource::Open(dir_, FrameSourceKind::kImages, {});
  EXPECT_EQ(ReadAll(&source, 0), (std::vector<int>{0, 1, 2, 3}));
  FrameSourceOptions options;
  options.truncate_to_shortest = false;
  ExpectError<InputError>(
      [&] { MultiCameraFrameSource::Open(dir_, FrameSourceKind::kImages, options); },
      {"cam01 5", "cam02 4"});
}

TEST_F(FrameSourceImages, SizeChangeMidStream) {
  WriteImageFolder(dir_, "cam01", 6);
  WriteImageFolder(dir_, "cam02", 6);
  ASSERT_TRUE(cv::imwrite(Path("cam02/4.png"), cv::Mat(16, 16, CV_8UC3, cv::Scalar::all(80))));
  MultiCameraFrameSource source = MultiCameraFrameSource::Open(dir_, FrameSourceKind::kImages, {});
  std::vector<cv::Mat> images;
  int index = -1;
  for (int k = 0; k < 4; ++k) ASSERT_TRUE(source.Next(&images, &index));
  ExpectError<InputError>([&] { source.Next(&images, &index); },
                          {"cam02", "frame 4", "16x16", "32x24"});
}

TEST_F(FrameSourceImages, UnreadableImage) {
  WriteImageFolder(dir_, "cam01", 6);
  WriteImageFolder(dir_, "cam02", 6);
  WriteBytes(Path("cam01/3.png"), "not a png");
  MultiCameraFrameSource source = MultiCameraFrameSource::Open(dir_, FrameSourceKind::kImages, {});
  std::vector<cv::Mat> images;
  int index = -1;
  for (int k = 0; k < 3; ++k) ASSERT_TRUE(source.Next(&images, &index));
  ExpectError<IoError>([&] { source.Next(&images, &index); }, {Path("cam01/3.png")});

  // The first image is read at open time.
  WriteBytes(Path("cam02/0.png"), "not a png");
  ExpectError<IoError>([&] { MultiCameraFrameSource::Open(dir_, FrameSourceKind::kImages, {}); },
                       {Path("cam02/0.png")});
  // A camera folder without images.
  fs::create_directories(Path("cam03"));
  WriteBytes(Path("cam02/0.png"), ReadBytes(Path("cam02/1.png")));
  ExpectError<IoError>([&] { MultiCameraFrameSource::Open(dir_, FrameSourceKind::kImages, {}); },
                       {Path("cam03"), ".png"});
}

TEST_F(FrameSource, EmptyOrMissingDir) {
  ExpectError<IoError>([&] { MultiCameraFrameSource::OpenAuto(dir_, {}); },
                       {dir_, ".mp4", ".webm", ".png"});
  ExpectError<IoError>([&] { MultiCameraFrameSource::Open(dir_, FrameSourceKind::kVideos, {}); },
                       {dir_, ".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm"});
  ExpectError<IoError>([&] { MultiCameraFrameSource::Open(dir_, FrameSourceKind::kImages, {}); },
                       {dir_, "subfolder"});
  WriteBytes(Path("notes.txt"), "not a video");  // non-video files do not count
  ExpectError<IoError>([&] { MultiCameraFrameSource::Open(dir_, FrameSourceKind::kVideos, {}); },
                       {dir_, ".mp4"});
  ExpectError<IoError>(
      [&] { MultiCameraFrameSource::Open(Path("missing"), FrameSourceKind::kVideos, {}); },
      {Path("missing"), "does not exist"});
}

TEST_F(FrameSource, AmbiguousDir) {
  WriteVideo(Path("cam01.avi"), 3);
  WriteImageFolder(dir_, "cam02", 3);
  ExpectError<InputError>([&] { MultiCameraFrameSource::OpenAuto(dir_, {}); },
                          {dir_, "cam01.avi", "cam02/"});
  EXPECT_EQ(MultiCameraFrameSource::Open(dir_, FrameSourceKind::kVideos, {}).cameras().size(), 1u);
  EXPECT_EQ(MultiCameraFrameSource::Open(dir_, FrameSourceKind::kImages, {}).cameras().size(), 1u);
}

TEST_F(FrameSource, BadArgs) {
  WriteImageFolder(dir_, "cam01", 2);
  EXPECT_TRUE(FrameSourceOptions().Check().empty());
  const auto expect_bad = [&](const FrameSourceOptions& options, const std::string& fragment) {
    const std::vector<std::string> problems = options.Check();
    ASSERT_EQ(problems.size(), 1u) << fragment;
    EXPECT_NE(problems[0].find(fragment), std::string::npos) << problems[0];
    EXPECT_THROW(MultiCameraFrameSource::Open(dir_, FrameSourceKind::kImages, options),
                 std::invalid_argument);
    EXPECT_THROW(MultiCameraFrameSource::OpenAuto(dir_, options), std::invalid_argument);
  };
  FrameSourceOptions options;
  options.first_frame = -1;
  expect_bad(options, "first_frame");
  options = {};
  options.max_frames = -1;
  expect_bad(options, "max_frames");
  options = {};
  options.frame_stride = 0;
  expect_bad(options, "frame_stride");
  options = {};
  options.camera_order = {"cam01", "cam01"};
  expect_bad(options, "listed twice");
  options = {};
  options.camera_order = {""};
  expect_bad(options, "empty");

  MultiCameraFrameSource source = MultiCameraFrameSource::Open(dir_, FrameSourceKind::kImages, {});
  int index = 0;
  std::vector<cv::Mat> images;
  EXPECT_THROW(source.Next(nullptr, &index), std::invalid_argument);
  EXPECT_THROW(source.Next(&images, nullptr), std::invalid_argument);
}

}  // namespace
}  // namespace rigpose

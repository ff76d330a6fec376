// SPDX-License-Identifier: BSD-3-Clause
// Synchronised multi-camera frame reading: directory listing, camera selection, the frame-rate and
// frame-count policies, and sequential (seek-free) decoding with one frame held per camera.
#include "data/frame_source.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <sstream>
#include <utility>

#include <spdlog/spdlog.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <opencv2/videoio/registry.hpp>

#include "core/error.h"
#include "data/file_util.h"

namespace rigpose {
namespace {

namespace fs = std::filesystem;

constexpr const char* kVideoExtensions[] = {".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm"};
constexpr const char* kImageExtensions[] = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"};
// Frame rates that differ by more than this fraction are refused.
constexpr double kMaxRelativeFpsDifference = 1e-3;
// After grab() fails, how many more grab()s tell a corrupt frame (FFmpeg skips the bad packet and
// the next grab() succeeds) from the end of the stream (every grab() fails).
constexpr int kEndProbeGrabs = 4;
// How many entries an error message lists before "...".
constexpr size_t kMaxListed = 20;

template <size_t N>
std::string JoinExtensions(const char* const (&extensions)[N]) {
  std::string out;
  for (const char* ext : extensions) out += (out.empty() ? "" : " ") + std::string(ext);
  return out;
}

template <size_t N>
bool HasExtension(const fs::path& path, const char* const (&extensions)[N]) {
  const std::string ext = FileExtension(path.string());
  return std::any_of(
      std::begin(extensions), std::end(extensions), [&](const char* e) { return ext == e; });
}

bool IsHidden(const fs::path& path) {
  const std::string name = path.filename().string();
  return !name.empty() && name[0] == '.';
}

bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

// Natural order: runs of digits compare as numbers ("img2" < "img10"); ties fall back to plain
// byte order so that the order is total ("img02" vs "img2").
bool NaturalLess(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (IsDigit(a[i]) && IsDigit(b[j])) {
      size_t i_end = i, j_end = j;
      while (i_end < a.size() && IsDigit(a[i_end])) ++i_end;
      while (j_end < b.size() && IsDigit(b[j_end])) ++j_end;
      size_t i_start = i, j_start = j;
      while (i_start + 1 < i_end && a[i_start] == '0') ++i_start;
      while (j_start + 1 < j_end && b[j_start] == '0') ++j_start;
      const size_t a_len = i_end - i_start, b_len = j_end - j_start;
      if (a_len != b_len) return a_len < b_len;
      const int cmp = a.compare(i_start, a_len, b, j_start, b_len);
      if (cmp != 0) return cmp < 0;
      i = i_end;
      j = j_end;
    } else {
      if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]);
      ++i;
      ++j;
    }
  }
  if ((i < a.size()) != (j < b.size())) return j < b.size();
  return a < b;
}

std::string SizeText(int width, int height) {
  return std::to_string(width) + "x" + std::to_string(height);
}

std::string FpsText(double fps) {
  std::ostringstream s;
  s.precision(6);
  s << fps;
  return s.str();
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < kMaxListed; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > kMaxListed)
    out += ", ... (" + std::to_string(names.size() - kMaxListed) + " more)";
  return out.empty() ? "nothing" : out;
}

// FFmpeg when OpenCV has it: deterministic, and an unreadable file is refused without probing
// GStreamer (which prints pipeline warnings on such files).
int VideoBackend() {
  return cv::videoio_registry::hasBackend(cv::CAP_FFMPEG) ? cv::CAP_FFMPEG : cv::CAP_ANY;
}

struct DirListing {
  std::vector<fs::path> videos;   // non-hidden regular files with a video extension
  std::vector<fs::path> folders;  // non-hidden directories
};

DirListing ListDir(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw IoError(dir + (fs::exists(dir, ec) ? ": not a directory" : ": directory does not exist"));
  }
  DirListing out;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (IsHidden(entry.path())) continue;
    std::error_code type_ec;
    if (entry.is_directory(type_ec)) {
      out.folders.push_back(entry.path());
    } else if (entry.is_regular_file(type_ec) && HasExtension(entry.path(), kVideoExtensions)) {
      out.videos.push_back(entry.path());
    }
  }
  if (ec) throw IoError(dir + ": cannot list directory (" + ec.message() + ")");
  return out;
}

std::vector<std::string> ListImagesNatural(const std::string& folder) {
  std::vector<std::string> images;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    std::error_code type_ec;
    if (IsHidden(entry.path()) || !entry.is_regular_file(type_ec)) continue;
    if (HasExtension(entry.path(), kImageExtensions)) images.push_back(entry.path().string());
  }
  if (ec) throw IoError(folder + ": cannot list folder (" + ec.message() + ")");
  std::sort(images.begin(), images.end(), [](const std::string& a, const std::string& b) {
    return NaturalLess(fs::path(a).filename().string(), fs::path(b).filename().string());
  });
  return images;
}

struct CameraEntry {
  std::string name;
  std::string path;
};

// The cameras of the listing for `kind`, in the order the options ask for.
std::vector<CameraEntry> SelectCameras(const std::string& dir,
                                       const DirListing& listing,
                                       FrameSourceKind kind,
                                       const FrameSourceOptions& options) {
  const bool videos = kind == FrameSourceKind::kVideos;
  const std::vector<fs::path>& paths = videos ? listing.videos : listing.folders;
  const std::string what = videos ? "video" : "image folder";
  if (paths.empty()) {
    throw IoError(dir + (videos ? ": no camera video (" + JoinExtensions(kVideoExtensions) +
                                      ", any case) in the directory"
                                : ": no camera subfolder in the directory (one folder of images (" +
                                      JoinExtensions(kImageExtensions) + ") per camera expected)"));
  }
  std::vector<CameraEntry> found;
  for (const fs::path& p : paths) {
    found.push_back({videos ? p.stem().string() : p.filename().string(), p.string()});
  }
  std::sort(found.begin(), found.end(), [](const CameraEntry& a, const CameraEntry& b) {
    return NaturalLess(a.name, b.name) || (a.name == b.name && a.path < b.path);
  });
  for (size_t i = 1; i < found.size(); ++i) {
    if (found[i].name == found[i - 1].name) {
      throw InputError(dir + ": camera '" + found[i].name + "' has two videos: " +
                       found[i - 1].path + " and " + found[i].path + "; keep one");
    }
  }
  if (options.camera_order.empty()) return found;

  std::vector<std::string> present;
  for (const CameraEntry& e : found) present.push_back(fs::path(e.path).filename().string());
  std::vector<CameraEntry> selected;
  std::vector<std::string> missing;
  for (const std::string& name : options.camera_order) {
    const auto it = std::find_if(
        found.begin(), found.end(), [&](const CameraEntry& e) { return e.name == name; });
    if (it == found.end()) {
      missing.push_back(name);
    } else {
      selected.push_back(*it);
    }
  }
  std::vector<std::string> extra;
  for (const CameraEntry& e : found) {
    if (std::find(options.camera_order.begin(), options.camera_order.end(), e.name) ==
        options.camera_order.end()) {
      extra.push_back(fs::path(e.path).filename().string());
    }
  }
  std::string message;
  if (!missing.empty()) {
    message += "camera" + std::string(missing.size() > 1 ? "s " : " ") + JoinNames(missing) +
               " (asked for) " + (missing.size() > 1 ? "have" : "has") + " no " + what +
               " in the directory, which holds: " + JoinNames(present);
  }
  if (!extra.empty() && !options.allow_extra_videos) {
    message += std::string(message.empty() ? "" : "; ") + what + (extra.size() > 1 ? "s " : " ") +
               JoinNames(extra) + " match" + (extra.size() > 1 ? "" : "es") +
               " no camera asked for (" + JoinNames(options.camera_order) + "): remove or rename " +
               (extra.size() > 1 ? "them" : "it") + ", or allow extra videos";
  }
  if (!message.empty()) throw InputError(dir + ": " + message);
  return selected;
}

cv::Mat ToBgr8(const cv::Mat& frame) {
  cv::Mat bgr = frame;
  if (bgr.depth() != CV_8U) {
    cv::Mat converted;
    bgr.convertTo(converted, CV_8U, bgr.depth() == CV_16U ? 1.0 / 257.0 : 1.0);
    bgr = converted;
  }
  if (bgr.channels() == 1) {
    cv::Mat converted;
    cv::cvtColor(bgr, converted, cv::COLOR_GRAY2BGR);
    bgr = converted;
  } else if (bgr.channels() == 4) {
    cv::Mat converted;
    cv::cvtColor(bgr, converted, cv::COLOR_BGRA2BGR);
    bgr = converted;
  }
  return bgr;
}

}  // namespace

std::vector<std::string> FrameSourceOptions::Check() const {
  std::vector<std::string> p;
  if (first_frame < 0) p.push_back("first_frame must be >= 0, got " + std::to_string(first_frame));
  if (max_frames < 0)
    p.push_back("max_frames must be >= 0 (0: all), got " + std::to_string(max_frames));
  if (frame_stride < 1)
    p.push_back("frame_stride must be >= 1, got " + std::to_string(frame_stride));
  for (size_t i = 0; i < camera_order.size(); ++i) {
    if (camera_order[i].empty()) {
      p.push_back("camera_order[" + std::to_string(i) + "] is empty");
      continue;
    }
    for (size_t j = 0; j < i; ++j) {
      if (camera_order[j] == camera_order[i]) {
        p.push_back("camera_order: '" + camera_order[i] + "' is listed twice (at " +
                    std::to_string(j) + " and " + std::to_string(i) + ")");
        break;
      }
    }
  }
  return p;
}

// ---- one camera

namespace {

struct Stream {
  CameraStreamInfo info;
  std::vector<std::string> images;  // kImages: the frames, in order
  cv::VideoCapture capture;         // kVideos
  int next = 0;                     // source index of the frame the capture delivers next
  cv::Mat held;                     // decoded frame `held_index`, not yet delivered
  int held_index = -1;

  std::string Label() const { return info.path + ": camera " + info.name; }

  void CheckSize(const cv::Mat& frame, int index) const {
    if (frame.cols == info.width && frame.rows == info.height) return;
    throw InputError(Label() + ": frame " + std::to_string(index) +
                     (images.empty() ? "" : " (" + images[index] + ")") + " is " +
                     SizeText(frame.cols, frame.rows) + " but frame 0 is " +
                     SizeText(info.width, info.height) +
                     ": every frame of a camera must have the same size");
  }

  cv::Mat ReadImage(int index) const {
    const std::string& path = images[index];
    cv::Mat image;
    try {
      image = cv::imread(path, cv::IMREAD_COLOR);
    } catch (const cv::Exception& e) {
      throw IoError(path + ": camera " + info.name + ": cannot decode image (" + e.what() + ")");
    }
    if (image.empty()) {
      throw IoError(path + ": camera " + info.name +
                    ": cannot read image (missing, unreadable, corrupt or not an image)");
    }
    return ToBgr8(image);
  }

  // Advances the capture by one frame, decoding it into *frame when frame != nullptr. Returns
  // false at the end of the stream; IoError when a frame fails to decode and the video goes on.
  bool StepVideo(cv::Mat* frame) {
    bool grabbed = false;
    try {
      grabbed = capture.grab();
      if (grabbed && frame != nullptr && (!capture.retrieve(*frame) || frame->empty())) {
        throw IoError(Label() + ": frame " + std::to_string(next) + " cannot be decoded");
      }
    } catch (const cv::Exception& e) {
      throw IoError(Label() + ": frame " + std::to_string(next) + " cannot be decoded (" +
                    e.what() + ")");
    }
    if (grabbed) {
      ++next;
      return true;
    }
    // FFmpeg's grab() fails on a corrupt packet and resumes with the next one: a later success
    // means frame `next` is broken, not the end of the stream.
    for (int probe = 0; probe < kEndProbeGrabs; ++probe) {
      bool more = false;
      try {
        more = capture.grab();
      } catch (const cv::Exception&) {
        more = false;
      }
      if (more) {
        throw IoError(Label() + ": frame " + std::to_string(next) +
                      " cannot be decoded (the video goes on after it: corrupt file?)");
      }
    }
    return false;
  }

  void OpenVideo() {
    try {
      capture.open(info.path, VideoBackend());
    } catch (const cv::Exception& e) {
      throw IoError(Label() + ": cannot open video (" + e.what() + ")");
    }
    if (!capture.isOpened()) {
      throw IoError(Label() + ": cannot open video (unreadable or unsupported format)");
    }
    const double fps = capture.get(cv::CAP_PROP_FPS);
    info.fps = std::isfinite(fps) && fps > 0 ? fps : 0.0;
    const double count = capture.get(cv::CAP_PROP_FRAME_COUNT);
    cv::Mat first;
    if (!StepVideo(&first)) throw IoError(Label() + ": no frame could be decoded (empty video?)");
    held = ToBgr8(first);
    held_index = 0;
    info.width = held.cols;
    info.height = held.rows;
    if (std::isfinite(count) && count >= 1) {
      info.num_frames = count >= INT_MAX ? INT_MAX : static_cast<int>(std::llround(count));
      return;
    }
    // No count from the container: count the frames once (decoding, since grab() decodes).
    cv::VideoCapture counter;
    try {
      counter.open(info.path, VideoBackend());
      int n = 0;
      while (counter.isOpened() && n < INT_MAX && counter.grab()) ++n;
      info.num_frames = std::max(n, 1);
    } catch (const cv::Exception& e) {
      throw IoError(Label() + ": cannot count the frames (" + e.what() + ")");
    }
    spdlog::warn("{}: the container reports no frame count; counted {} frames by decoding",
                 Label(),
                 info.num_frames);
  }

  void OpenImages() {
    images = ListImagesNatural(info.path);
    if (images.empty()) {
      throw IoError(Label() + ": no image (" + JoinExtensions(kImageExtensions) +
                    ", any case) in the folder");
    }
    held = ReadImage(0);
    held_index = 0;
    next = 1;
    info.width = held.cols;
    info.height = held.rows;
    info.num_frames = static_cast<int>(std::min<size_t>(images.size(), INT_MAX));
  }

  // Source frame `index` (>= every index asked before) into *out; false when the video ended.
  bool ReadAt(int index, cv::Mat* out) {
    if (held_index == index) {
      *out = std::move(held);
      held = cv::Mat();
      held_index = -1;
      return true;
    }
    held = cv::Mat();
    held_index = -1;
    if (!images.empty()) {
      if (index >= static_cast<int>(images.size())) return false;
      cv::Mat image = ReadImage(index);
      CheckSize(image, index);
      next = index + 1;
      *out = std::move(image);
      return true;
    }
    while (next < index) {
      if (!StepVideo(nullptr)) return false;
    }
    const int decoded = next;
    cv::Mat frame;
    if (!StepVideo(&frame)) return false;
    CheckSize(frame, decoded);
    *out = ToBgr8(frame);
    return true;
  }
};

}  // namespace

struct MultiCameraFrameSource::Impl {
  FrameSourceKind kind = FrameSourceKind::kVideos;
  FrameSourceOptions options;
  std::vector<Stream> streams;
  std::vector<CameraStreamInfo> infos;
  int num_frames = 0;
  int delivered = 0;
  bool ended = false;
};

MultiCameraFrameSource::MultiCameraFrameSource(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
MultiCameraFrameSource::MultiCameraFrameSource(MultiCameraFrameSource&&) noexcept = default;
MultiCameraFrameSource& MultiCameraFrameSource::operator=(MultiCameraFrameSource&&) noexcept =
    default;
MultiCameraFrameSource::~MultiCameraFrameSource() = default;

FrameSourceKind MultiCameraFrameSource::DetectKind(const std::string& dir) {
  const DirListing listing = ListDir(dir);
  if (!listing.videos.empty() && !listing.folders.empty()) {
    std::vector<std::string> videos, folders;
    for (const fs::path& p : listing.videos) videos.push_back(p.filename().string());
    for (const fs::path& p : listing.folders) folders.push_back(p.filename().string() + "/");
    std::sort(videos.begin(), videos.end(), NaturalLess);
    std::sort(folders.begin(), folders.end(), NaturalLess);
    throw InputError(dir + ": holds both videos (" + JoinNames(videos) + ") and subfolders (" +
                     JoinNames(folders) +
                     "): cannot tell videos from image folders; say which explicitly");
  }
  if (!listing.videos.empty()) return FrameSourceKind::kVideos;
  if (!listing.folders.empty()) return FrameSourceKind::kImages;
  throw IoError(dir + ": no camera in the directory: expected one video per camera (" +
                JoinExtensions(kVideoExtensions) +
                ", any case) or one image subfolder per camera (" +
                JoinExtensions(kImageExtensions) + ")");
}

MultiCameraFrameSource MultiCameraFrameSource::OpenAuto(const std::string& dir,
                                                        const FrameSourceOptions& options) {
  const std::vector<std::string> problems = options.Check();
  RIGPOSE_CHECK(problems.empty(), FormatProblems("FrameSourceOptions", problems));
  return Open(dir, DetectKind(dir), options);
}

MultiCameraFrameSource MultiCameraFrameSource::Open(const std::string& dir,
                                                    FrameSourceKind kind,
                                                    const FrameSourceOptions& options) {
  const std::vector<std::string> problems = options.Check();
  RIGPOSE_CHECK(problems.empty(), FormatProblems("FrameSourceOptions", problems));
  RIGPOSE_CHECK(kind == FrameSourceKind::kVideos || kind == FrameSourceKind::kImages,
                "kind = " << static_cast<int>(kind) << " is not a FrameSourceKind");
  auto impl = std::make_unique<Impl>();
  impl->kind = kind;
  impl->options = options;
  const std::vector<CameraEntry> cameras = SelectCameras(dir, ListDir(dir), kind, options);
  impl->streams.resize(cameras.size());
  for (size_t c = 0; c < cameras.size(); ++c) {
    Stream& s = impl->streams[c];
    s.info.name = cameras[c].name;
    s.info.path = cameras[c].path;
    if (kind == FrameSourceKind::kVideos) {
      s.OpenVideo();
    } else {
      s.OpenImages();
    }
  }

  // Frame rates.
  if (kind == FrameSourceKind::kVideos) {
    const Stream* reference = nullptr;
    for (const Stream& s : impl->streams) {
      if (s.info.fps <= 0) {
        spdlog::warn("{}: the video reports no frame rate; assuming it matches the other cameras",
                     s.Label());
        continue;
      }
      if (reference == nullptr) {
        reference = &s;
        continue;
      }
      const double a = reference->info.fps, b = s.info.fps;
      if (std::abs(a - b) > kMaxRelativeFpsDifference * std::max(a, b)) {
        throw InputError(dir + ": cameras " + reference->info.name + " (" + FpsText(a) +
                         " fps) and " + s.info.name + " (" + FpsText(b) +
                         " fps) have different frame rates; resample the videos to one frame "
                         "rate first");
      }
    }
  }

  // Frame counts.
  int shortest = INT_MAX, longest = 0;
  std::string counts;
  for (const Stream& s : impl->streams) {
    shortest = std::min(shortest, s.info.num_frames);
    longest = std::max(longest, s.info.num_frames);
    counts += (counts.empty() ? "" : ", ") + s.info.name + " " + std::to_string(s.info.num_frames);
  }
  if (shortest != longest) {
    if (!options.truncate_to_shortest) {
      throw InputError(dir + ": cameras have different frame counts (" + counts +
                       "); trim them to one length or allow truncation to the shortest");
    }
    spdlog::warn("{}: cameras have different frame counts ({}); using the shortest, {} frames",
                 dir,
                 counts,
                 shortest);
  }
  if (options.first_frame >= shortest) {
    throw InputError(dir + ": first_frame " + std::to_string(options.first_frame) +
                     " is past the end: the cameras have " + std::to_string(shortest) +
                     " frames (" + counts + ")");
  }
  const int64_t available = shortest - options.first_frame;
  int64_t n = (available + options.frame_stride - 1) / options.frame_stride;
  if (options.max_frames > 0) n = std::min<int64_t>(n, options.max_frames);
  impl->num_frames = static_cast<int>(n);

  for (Stream& s : impl->streams) {
    if (s.held_index != options.first_frame) {
      s.held = cv::Mat();
      s.held_index = -1;
    }
    impl->infos.push_back(s.info);
  }
  return MultiCameraFrameSource(std::move(impl));
}

FrameSourceKind MultiCameraFrameSource::kind() const { return impl_->kind; }

const std::vector<CameraStreamInfo>& MultiCameraFrameSource::cameras() const {
  return impl_->infos;
}

int MultiCameraFrameSource::num_frames() const { return impl_->num_frames; }

bool MultiCameraFrameSource::Next(std::vector<cv::Mat>* images, int* frame_index) {
  RIGPOSE_CHECK(images != nullptr && frame_index != nullptr, "null output");
  RIGPOSE_CHECK(impl_ != nullptr, "Next() on a moved-from MultiCameraFrameSource");
  images->clear();  // release the previous frames before decoding the next ones
  Impl& impl = *impl_;
  if (impl.ended || impl.delivered >= impl.num_frames) return false;
  const int index = impl.options.first_frame + impl.delivered * impl.options.frame_stride;
  images->resize(impl.streams.size());
  for (size_t c = 0; c < impl.streams.size(); ++c) {
    Stream& s = impl.streams[c];
    if (!s.ReadAt(index, &(*images)[c])) {
      impl.ended = true;
      images->clear();
      spdlog::warn(
          "{}: the video ends after {} frames although its container reports {}; the "
          "synchronised stream of every camera ends there ({} of {} frames delivered)",
          s.Label(),
          s.next,
          s.info.num_frames,
          impl.delivered,
          impl.num_frames);
      return false;
    }
  }
  *frame_index = index;
  ++impl.delivered;
  return true;
}

}  // namespace rigpose

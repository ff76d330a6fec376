// SPDX-License-Identifier: BSD-3-Clause
#include "calib/board_detection.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <exception>
#include <filesystem>
#include <mutex>
#include <numeric>
#include <sstream>
#include <thread>
#include <utility>

#include <opencv2/aruco.hpp>
#include <opencv2/aruco/charuco.hpp>
#include <opencv2/calib3d.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <opencv2/videoio/registry.hpp>

#include "core/error.h"
#include "data/file_util.h"

namespace rigpose {
namespace {

namespace fs = std::filesystem;

std::string BoardName(const BoardSpec& board) {
  std::ostringstream s;
  s << board.cols << "x" << board.rows
    << (board.type == BoardType::kChessboard ? " chessboard" : " ChArUco board");
  return s.str();
}

int NumThreads(int requested) {
  if (requested > 0) return requested;
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

cv::TermCriteria SubPixCriteria() {
  return cv::TermCriteria(cv::TermCriteria::COUNT + cv::TermCriteria::EPS, 50, 1e-3);
}

// cornerSubPix half window for a grid whose neighbouring corners are `spacing_px` apart: at most
// a third of a square, so that the window never reaches the next corner.
int SubPixHalfWindow(double spacing_px, int max_half_window) {
  const int fit = static_cast<int>(std::floor(spacing_px / 3.0));
  return std::clamp(fit, 1, std::max(1, max_half_window));
}

// 255 - grey in a new buffer (never in place: `grey` may be the caller's image).
cv::Mat Inverted(const cv::Mat& grey) {
  cv::Mat out;
  cv::bitwise_not(grey, out);
  return out;
}

// Mean grey level of a 3x3 neighbourhood of a point (clamped to the image).
double SampleGrey(const cv::Mat& grey, const cv::Point2f& p) {
  const int cx = static_cast<int>(std::lround(p.x));
  const int cy = static_cast<int>(std::lround(p.y));
  double sum = 0.0;
  for (int dy = -1; dy <= 1; ++dy) {
    for (int dx = -1; dx <= 1; ++dx) {
      const int x = std::clamp(cx + dx, 0, grey.cols - 1);
      const int y = std::clamp(cy + dy, 0, grey.rows - 1);
      sum += grey.at<uint8_t>(y, x);
    }
  }
  return sum / 9.0;
}

// True when the inner squares between the detected corners alternate dark / light as on a
// chessboard: some contrast, and at least 2/3 of the squares of every row and column on the
// right side of the threshold halfway between the two colours' means. (The outer squares are not
// used: real boards have them cut by the paper's edge or covered by fingers.)
bool ColoursAlternate(const cv::Mat& grey,
                      const std::vector<cv::Point2f>& grid,
                      int cols,
                      int rows) {
  if (cols < 3 || rows < 3) return true;
  const int w = cols - 1, h = rows - 1;
  std::vector<double> g(static_cast<size_t>(w) * h);
  double sum[2] = {0.0, 0.0};
  int count[2] = {0, 0};
  for (int j = 0; j < h; ++j) {
    for (int i = 0; i < w; ++i) {
      const cv::Point2f centre = (grid[j * cols + i] + grid[j * cols + i + 1] +
                                  grid[(j + 1) * cols + i] + grid[(j + 1) * cols + i + 1]) /
                                 4;
      g[j * w + i] = SampleGrey(grey, centre);
      sum[(i + j) % 2] += g[j * w + i];
      ++count[(i + j) % 2];
    }
  }
  const double mean0 = sum[0] / count[0], mean1 = sum[1] / count[1];
  if (std::abs(mean0 - mean1) < 10.0) return false;
  const double threshold = (mean0 + mean1) / 2;
  const auto correct = [&](int i, int j) {
    const bool darker_group = ((i + j) % 2 == 0) == (mean0 < mean1);
    return (g[j * w + i] < threshold) == darker_group;
  };
  for (int j = 0; j < h; ++j) {
    int ok = 0;
    for (int i = 0; i < w; ++i) ok += correct(i, j);
    if (3 * ok < 2 * w) return false;
  }
  for (int i = 0; i < w; ++i) {
    int ok = 0;
    for (int j = 0; j < h; ++j) ok += correct(i, j);
    if (3 * ok < 2 * h) return false;
  }
  return true;
}

// A detector's chessboard grid (corner (i, j) at index j·cols + i in the detector's order) to
// BoardCornersInBoard ids, by the rule of board_detection.h: right-handed (the printed face seen
// from the front), then the colours (cols + rows odd) or the image top-left (even).
std::vector<int> ChessboardIds(const cv::Mat& grey,
                               const std::vector<cv::Point2f>& grid,
                               int cols,
                               int rows) {
  const int n = cols * rows;
  std::vector<int> ids(n);
  std::iota(ids.begin(), ids.end(), 0);
  const auto at = [&](int i, int j) { return grid[ids[j * cols + i]]; };
  // Handedness from the grid's extreme corners: board x (i) and y (j) must make a positive
  // cross product in the image (both frames are x right, y down).
  const cv::Point2f ex = at(cols - 1, 0) - at(0, 0);
  const cv::Point2f ey = at(0, rows - 1) - at(0, 0);
  if (ex.x * ey.y - ex.y * ey.x < 0) {  // Mirrored: reverse the rows.
    for (int j = 0; j < rows; ++j)
      for (int i = 0; i < cols; ++i) ids[j * cols + i] = (rows - 1 - j) * cols + i;
  }
  bool turn = false;
  if ((cols + rows) % 2 == 1) {
    // Inner square (i+1, j+1) lies between corners (i, j) and (i+1, j+1); black when i + j is
    // even on an upright print.
    double black = 0.0, white = 0.0;
    int num_black = 0, num_white = 0;
    for (int j = 0; j + 1 < rows; ++j) {
      for (int i = 0; i + 1 < cols; ++i) {
        const cv::Point2f centre = (at(i, j) + at(i + 1, j) + at(i, j + 1) + at(i + 1, j + 1)) / 4;
        const double g = SampleGrey(grey, centre);
        if ((i + j) % 2 == 0) {
          black += g;
          ++num_black;
        } else {
          white += g;
          ++num_white;
        }
      }
    }
    // 2x2 boards have one inner square (black when upright): compare with the outer squares.
    if (num_white == 0) {
      const cv::Point2f outside = at(0, 0) * 2 - (at(0, 0) + at(1, 1)) / 2;
      white = SampleGrey(grey, outside);
      num_white = 1;
    }
    turn = black / std::max(1, num_black) > white / std::max(1, num_white);
  } else {
    const cv::Point2f first = at(0, 0), last = at(cols - 1, rows - 1);
    turn = first.x + first.y > last.x + last.y;
  }
  if (turn) std::reverse(ids.begin(), ids.end());
  // ids[k] is the detector index of board corner k; return the inverse map.
  std::vector<int> board_id_of(n);
  for (int k = 0; k < n; ++k) board_id_of[ids[k]] = k;
  return board_id_of;
}

struct RawBoard {
  std::vector<int> ids;
  std::vector<cv::Point2f> points;
  bool implausible = false;  // found, but not a board (rejected)
};

std::optional<RawBoard> DetectChessboard(const cv::Mat& grey,
                                         const BoardSpec& board,
                                         const BoardDetectionOptions& options) {
  const cv::Size pattern(board.cols, board.rows);
  std::vector<cv::Point2f> grid;
  bool found = false;
  bool refine = true;
  if (options.use_sector_based) {
    const int flags =
        cv::CALIB_CB_NORMALIZE_IMAGE | (options.sector_based_accuracy ? cv::CALIB_CB_ACCURACY : 0);
    found = cv::findChessboardCornersSB(grey, pattern, grid, flags);
    refine = !options.sector_based_accuracy;
  }
  if (!found) {
    found = cv::findChessboardCorners(
        grey,
        pattern,
        grid,
        cv::CALIB_CB_ADAPTIVE_THRESH | cv::CALIB_CB_NORMALIZE_IMAGE | cv::CALIB_CB_FAST_CHECK);
    refine = true;
  }
  if (!found || static_cast<int>(grid.size()) != board.NumCorners()) return std::nullopt;
  if (refine) {
    double spacing = std::numeric_limits<double>::infinity();
    for (int j = 0; j < board.rows; ++j) {
      for (int i = 0; i + 1 < board.cols; ++i) {
        spacing =
            std::min(spacing, cv::norm(grid[j * board.cols + i + 1] - grid[j * board.cols + i]));
      }
    }
    const int half = SubPixHalfWindow(spacing, options.subpix_half_window_px);
    cv::cornerSubPix(grey, grid, cv::Size(half, half), cv::Size(-1, -1), SubPixCriteria());
  }
  if (static_cast<int>(grid.size()) != board.NumCorners()) return std::nullopt;
  RawBoard out;
  out.implausible = !ColoursAlternate(grey, grid, board.cols, board.rows);
  out.ids = ChessboardIds(grey, grid, board.cols, board.rows);
  out.points = std::move(grid);
  return out;
}

cv::Ptr<cv::aruco::CharucoBoard> OpenCVCharucoBoard(const BoardSpec& board) {
  return cv::aruco::CharucoBoard::create(
      board.cols,
      board.rows,
      static_cast<float>(board.square_size_m),
      static_cast<float>(board.marker_size_m),
      cv::aruco::getPredefinedDictionary(*ArucoDictionaryId(board.dictionary)));
}

std::optional<RawBoard> DetectCharuco(const cv::Mat& grey,
                                      const BoardSpec& board,
                                      const BoardDetectionOptions& options) {
  const cv::Ptr<cv::aruco::CharucoBoard> charuco = OpenCVCharucoBoard(board);
  std::vector<std::vector<cv::Point2f>> marker_corners;
  std::vector<int> marker_ids;
  cv::aruco::detectMarkers(grey, charuco->dictionary, marker_corners, marker_ids);
  // Markers of the dictionary that are not on this board say nothing about its corners.
  std::vector<std::vector<cv::Point2f>> on_board_corners;
  std::vector<int> on_board_ids;
  double marker_side_px = std::numeric_limits<double>::infinity();
  for (size_t m = 0; m < marker_ids.size(); ++m) {
    if (marker_ids[m] < 0 || marker_ids[m] >= board.NumMarkers()) continue;
    on_board_ids.push_back(marker_ids[m]);
    on_board_corners.push_back(marker_corners[m]);
    for (int c = 0; c < 4; ++c) {
      marker_side_px = std::min(
          marker_side_px,
          static_cast<double>(cv::norm(marker_corners[m][c] - marker_corners[m][(c + 1) % 4])));
    }
  }
  if (on_board_ids.empty()) return std::nullopt;
  std::vector<cv::Point2f> corners;
  std::vector<int> ids;
  cv::aruco::interpolateCornersCharuco(on_board_corners, on_board_ids, grey, charuco, corners, ids);
  if (ids.empty()) return std::nullopt;
  // OpenCV 4.6 returns the corners +0.5 px off (opencv issue 25539): undo, then refine again.
  for (cv::Point2f& p : corners) p -= cv::Point2f(0.5f, 0.5f);
  const double square_px = marker_side_px * board.square_size_m / board.marker_size_m;
  const int half = SubPixHalfWindow(square_px, options.subpix_half_window_px);
  cv::cornerSubPix(grey, corners, cv::Size(half, half), cv::Size(-1, -1), SubPixCriteria());
  RawBoard out;
  out.ids = std::move(ids);
  out.points = std::move(corners);
  return out;
}

// Checks a raw board (count, spread, homography) and sorts it into an observation.
std::optional<BoardObservation> Accept(const BoardSpec& board,
                                       const RawBoard& raw,
                                       const BoardDetectionOptions& options,
                                       int width,
                                       int height) {
  const int min_corners = options.min_corners > 0                ? options.min_corners
                          : board.type == BoardType::kChessboard ? board.NumCorners()
                                                                 : 6;
  const int n = static_cast<int>(raw.ids.size());
  if (raw.implausible || n < std::max(4, min_corners)) return std::nullopt;
  const std::vector<Eigen::Vector3d> corners_in_board = BoardCornersInBoard(board);
  std::vector<cv::Point2d> board_xy, img;
  int min_col = board.cols, max_col = -1, min_row = board.rows, max_row = -1;
  const double s = board.square_size_m;
  for (int k = 0; k < n; ++k) {
    const int id = raw.ids[k];
    if (id < 0 || id >= static_cast<int>(corners_in_board.size())) return std::nullopt;
    const Eigen::Vector3d& p = corners_in_board[id];
    board_xy.emplace_back(p.x() / s, p.y() / s);  // squares: well-conditioned
    img.emplace_back(raw.points[k]);
    const int col = static_cast<int>(std::lround(p.x() / s)),
              row = static_cast<int>(std::lround(p.y() / s));
    min_col = std::min(min_col, col);
    max_col = std::max(max_col, col);
    min_row = std::min(min_row, row);
    max_row = std::max(max_row, row);
  }
  // Corners on one line fix no homography (and no camera pose).
  if (min_col == max_col || min_row == max_row) return std::nullopt;
  const cv::Mat h = cv::findHomography(board_xy, img, 0);
  if (h.empty()) return std::nullopt;
  std::vector<cv::Point2d> projected;
  cv::perspectiveTransform(board_xy, projected, h);
  double worst = 0.0;
  for (int k = 0; k < n; ++k) worst = std::max(worst, cv::norm(projected[k] - img[k]));
  if (!(worst <= options.MaxHomographyErrorPx(width, height))) return std::nullopt;

  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return raw.ids[a] < raw.ids[b]; });
  BoardObservation obs;
  for (int k : order) {
    obs.corner_ids.push_back(raw.ids[k]);
    obs.img_points.emplace_back(raw.points[k].x, raw.points[k].y);
  }
  obs.homography_error_px = worst;
  return obs;
}

void CheckArgs(const BoardSpec& board, const BoardDetectionOptions& options) {
  const std::vector<std::string> board_problems = board.Problems();
  RIGPOSE_CHECK(board_problems.empty(), FormatProblems("invalid board", board_problems));
  const std::vector<std::string> option_problems = options.Problems();
  RIGPOSE_CHECK(option_problems.empty(),
                FormatProblems("invalid board detection options", option_problems));
}

std::optional<BoardObservation> DetectInMat(const BoardSpec& board,
                                            const cv::Mat& grey,
                                            const BoardDetectionOptions& options,
                                            bool* rejected) {
  std::vector<bool> tries;
  if (board.inverted != BoardInversion::kTrue) tries.push_back(false);
  if (board.inverted != BoardInversion::kFalse) tries.push_back(true);
  bool any_rejected = false;
  std::optional<BoardObservation> result;
  // ChArUco seen from behind (a translucent or backlit print) shows mirrored markers: found on
  // the mirrored image, mapped back to the image's own pixels.
  const bool mirror_too = board.type == BoardType::kCharuco && options.try_mirrored;
  for (int mirrored = 0; mirrored <= (mirror_too ? 1 : 0) && !result; ++mirrored) {
    for (const bool invert : tries) {
      cv::Mat image = invert ? Inverted(grey) : grey;
      if (mirrored) {
        cv::Mat flipped;
        cv::flip(image, flipped, 1);
        image = flipped;
      }
      std::optional<RawBoard> raw = board.type == BoardType::kChessboard
                                        ? DetectChessboard(image, board, options)
                                        : DetectCharuco(image, board, options);
      if (!raw) continue;
      if (mirrored) {
        for (cv::Point2f& p : raw->points) p.x = static_cast<float>(grey.cols - 1) - p.x;
      }
      result = Accept(board, *raw, options, grey.cols, grey.rows);
      if (result) {
        result->inverted = invert;
        result->mirrored = mirrored == 1;
        break;
      }
      any_rejected = true;
    }
  }
  if (rejected) *rejected = !result && any_rejected;
  return result;
}

// Runs body(i) for i in [0, n) on `threads` threads; the exception of the lowest failing index
// is rethrown after every thread has stopped (the others stop taking work).
template <typename Body>
void ParallelFor(int64_t n, int threads, const Body& body) {
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mutex;
  int64_t failed_index = n;
  std::exception_ptr error;
  const auto work = [&] {
    for (int64_t i = next++; i < n && !failed; i = next++) {
      try {
        body(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (i < failed_index) {
          failed_index = i;
          error = std::current_exception();
        }
        failed = true;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::min<int64_t>(threads, n); ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

// Serialises the user's progress callback.
class Progress {
 public:
  Progress(const DetectionProgressFn& fn, int64_t total) : fn_(fn), total_(total) {}
  void Step() {
    if (!fn_) return;
    std::lock_guard<std::mutex> lock(mutex_);
    ++done_;
    fn_(done_, std::max(total_, done_));
  }

 private:
  const DetectionProgressFn& fn_;
  int64_t total_;
  int64_t done_ = 0;
  std::mutex mutex_;
};

std::string Stem(const std::string& path) { return fs::path(path).stem().string(); }

// FFmpeg when OpenCV has it: deterministic, and an unreadable file is refused without probing
// GStreamer (which prints pipeline warnings and leaks in libusb on such files).
int VideoBackend() {
  return cv::videoio_registry::hasBackend(cv::CAP_FFMPEG) ? cv::CAP_FFMPEG : cv::CAP_ANY;
}

std::string SizeText(int width, int height) {
  return std::to_string(width) + "x" + std::to_string(height);
}

cv::Mat ReadGrey(const std::string& camera, const std::string& path) {
  cv::Mat grey;
  try {
    grey = cv::imread(path, cv::IMREAD_GRAYSCALE);
  } catch (const cv::Exception& e) {
    throw IoError(path + ": camera " + camera + ": cannot decode image (" + e.what() + ")");
  }
  if (grey.empty()) {
    throw IoError(path + ": camera " + camera +
                  ": cannot read image (missing, unreadable, corrupt or not an image)");
  }
  return grey;
}

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

bool IsVideoFile(const fs::path& path) {
  const std::string ext = FileExtension(path.string());
  return ext == ".mp4" || ext == ".avi" || ext == ".mov" || ext == ".mkv";
}

}  // namespace

// ---- options

std::vector<std::string> BoardDetectionOptions::Problems() const {
  std::vector<std::string> p;
  if (min_corners < 0) p.push_back("min_corners must be >= 0, got " + std::to_string(min_corners));
  if (!(max_homography_error_px >= 0.0) || !std::isfinite(max_homography_error_px)) {
    p.push_back("max_homography_error_px must be >= 0 (0: automatic), got " +
                std::to_string(max_homography_error_px));
  }
  if (subpix_half_window_px < 1) {
    p.push_back("subpix_half_window_px must be >= 1, got " + std::to_string(subpix_half_window_px));
  }
  if (frame_stride < 1)
    p.push_back("frame_stride must be >= 1, got " + std::to_string(frame_stride));
  if (max_frames < 0) p.push_back("max_frames must be >= 0, got " + std::to_string(max_frames));
  if (num_threads < 0) p.push_back("num_threads must be >= 0, got " + std::to_string(num_threads));
  return p;
}

double BoardDetectionOptions::MaxHomographyErrorPx(int width, int height) const {
  if (max_homography_error_px > 0.0) return max_homography_error_px;
  return std::max(4.0, 0.02 * std::hypot(width, height));
}

// ---- one image

std::optional<BoardObservation> DetectBoardInImage(const BoardSpec& board,
                                                   const uint8_t* grey,
                                                   int width,
                                                   int height,
                                                   int stride,
                                                   const BoardDetectionOptions& options,
                                                   bool* rejected) {
  CheckArgs(board, options);
  RIGPOSE_CHECK(grey != nullptr, "grey image is null");
  RIGPOSE_CHECK(width > 0 && height > 0, "image size " << width << "x" << height);
  RIGPOSE_CHECK(stride >= width, "stride " << stride << " < width " << width);
  const cv::Mat image(height, width, CV_8UC1, const_cast<uint8_t*>(grey), stride);
  return DetectInMat(board, image, options, rejected);
}

// ---- folders, videos

std::vector<std::string> ListImages(const std::string& folder) {
  std::vector<std::string> images;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    if (!entry.is_regular_file()) continue;
    const std::string ext = FileExtension(entry.path().string());
    if (ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp" || ext == ".tif" ||
        ext == ".tiff") {
      images.push_back(entry.path().string());
    }
  }
  if (ec) throw IoError(folder + ": cannot list folder (" + ec.message() + ")");
  std::sort(images.begin(), images.end());
  return images;
}

CameraDetections DetectBoardsInFolder(const BoardSpec& board,
                                      const std::string& folder,
                                      const BoardDetectionOptions& options) {
  CheckArgs(board, options);
  const auto start = std::chrono::steady_clock::now();
  CameraDetections out;
  out.camera = fs::path(folder).filename().string();
  if (out.camera.empty()) out.camera = fs::path(folder).parent_path().filename().string();
  out.path = folder;
  if (!fs::is_directory(folder)) {
    throw IoError(folder + ": camera " + out.camera + ": image folder does not exist");
  }
  out.images = ListImages(folder);
  if (out.images.empty()) {
    throw IoError(folder + ": camera " + out.camera +
                  ": no image (.png .jpg .jpeg .bmp .tif) in the folder");
  }
  const int n = static_cast<int>(out.images.size());
  const cv::Mat first = ReadGrey(out.camera, out.images[0]);
  out.width = first.cols;
  out.height = first.rows;
  std::vector<std::optional<BoardObservation>> found(n);
  std::vector<char> rejected(n, 0);
  Progress progress(options.progress, n);
  ParallelFor(n, NumThreads(options.num_threads), [&](int64_t i) {
    const cv::Mat grey = i == 0 ? first : ReadGrey(out.camera, out.images[i]);
    if (grey.cols != out.width || grey.rows != out.height) {
      throw InputError("camera " + out.camera + ": image " + out.images[i] + " is " +
                       SizeText(grey.cols, grey.rows) + " but " + out.images[0] + " is " +
                       SizeText(out.width, out.height) +
                       ": every image of a camera must have the same size");
    }
    bool was_rejected = false;
    found[i] = DetectInMat(board, grey, options, &was_rejected);
    rejected[i] = was_rejected;
    progress.Step();
  });
  out.num_images = n;
  for (int i = 0; i < n; ++i) {
    out.num_rejected += rejected[i];
    if (!found[i]) continue;
    found[i]->frame = i;
    found[i]->source = out.images[i];
    out.observations.push_back(std::move(*found[i]));
  }
  out.seconds = Seconds(start);
  return out;
}

CameraDetections DetectBoardsInVideo(const BoardSpec& board,
                                     const std::string& video,
                                     const BoardDetectionOptions& options) {
  CheckArgs(board, options);
  const auto start = std::chrono::steady_clock::now();
  CameraDetections out;
  out.camera = Stem(video);
  out.path = video;
  if (!fs::is_regular_file(video)) {
    throw IoError(video + ": camera " + out.camera + ": video file does not exist");
  }
  cv::VideoCapture capture;
  try {
    capture.open(video, VideoBackend());
  } catch (const cv::Exception& e) {
    throw IoError(video + ": camera " + out.camera + ": cannot open video (" + e.what() + ")");
  }
  if (!capture.isOpened()) {
    throw IoError(video + ": camera " + out.camera +
                  ": cannot open video (unreadable or unsupported format)");
  }
  const std::string name = fs::path(video).filename().string();
  const int64_t frame_count = static_cast<int64_t>(capture.get(cv::CAP_PROP_FRAME_COUNT));
  int64_t expected =
      frame_count > 0 ? (frame_count + options.frame_stride - 1) / options.frame_stride : 0;
  if (options.max_frames > 0) expected = std::min<int64_t>(expected, options.max_frames);
  Progress progress(options.progress, expected);

  // Decoder (this thread) -> bounded queue -> detection workers.
  struct Job {
    int frame;
    cv::Mat grey;
  };
  const int threads = NumThreads(options.num_threads);
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<Job> queue;
  bool done_decoding = false;
  std::vector<BoardObservation> found;
  int rejected = 0;
  std::exception_ptr worker_error;
  const auto worker = [&] {
    for (;;) {
      Job job;
      {
        std::unique_lock<std::mutex> lock(mutex);
        changed.wait(lock, [&] { return !queue.empty() || done_decoding; });
        if (queue.empty()) return;
        job = std::move(queue.front());
        queue.pop_front();
      }
      changed.notify_all();
      try {
        bool was_rejected = false;
        std::optional<BoardObservation> obs = DetectInMat(board, job.grey, options, &was_rejected);
        std::lock_guard<std::mutex> lock(mutex);
        rejected += was_rejected;
        if (obs) {
          obs->frame = job.frame;
          obs->source = name + "#" + std::to_string(job.frame);
          found.push_back(std::move(*obs));
        }
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!worker_error) worker_error = std::current_exception();
      }
      progress.Step();
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
  const auto finish = [&] {
    {
      std::lock_guard<std::mutex> lock(mutex);
      done_decoding = true;
    }
    changed.notify_all();
    for (std::thread& t : pool) t.join();
  };
  cv::Mat frame, grey;
  int examined = 0;
  try {
    for (int index = 0;; ++index) {
      if (options.max_frames > 0 && examined >= options.max_frames) break;
      if (index % options.frame_stride != 0) {
        if (!capture.grab()) break;
        continue;
      }
      if (!capture.read(frame) || frame.empty()) break;
      if (frame.channels() == 3) {
        cv::cvtColor(frame, grey, cv::COLOR_BGR2GRAY);
      } else if (frame.channels() == 4) {
        cv::cvtColor(frame, grey, cv::COLOR_BGRA2GRAY);
      } else {
        grey = frame.clone();
      }
      if (examined == 0) {
        out.width = grey.cols;
        out.height = grey.rows;
      } else if (grey.cols != out.width || grey.rows != out.height) {
        throw InputError("camera " + out.camera + ": frame " + std::to_string(index) + " of " +
                         video + " is " + SizeText(grey.cols, grey.rows) + " but frame 0 is " +
                         SizeText(out.width, out.height));
      }
      ++examined;
      std::unique_lock<std::mutex> lock(mutex);
      changed.wait(lock, [&] { return queue.size() < static_cast<size_t>(2 * threads); });
      queue.push_back({index, grey.clone()});
      lock.unlock();
      changed.notify_all();
    }
  } catch (...) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      queue.clear();
    }
    finish();
    throw;
  }
  finish();
  if (worker_error) std::rethrow_exception(worker_error);
  if (examined == 0) {
    throw IoError(video + ": camera " + out.camera + ": no frame could be decoded");
  }
  std::sort(found.begin(), found.end(), [](const BoardObservation& a, const BoardObservation& b) {
    return a.frame < b.frame;
  });
  out.num_images = examined;
  out.num_rejected = rejected;
  out.observations = std::move(found);
  out.seconds = Seconds(start);
  return out;
}

std::vector<CameraDetections> DetectBoardsInDir(const BoardSpec& board,
                                                const std::string& dir,
                                                bool videos,
                                                const BoardDetectionOptions& options) {
  CheckArgs(board, options);
  if (!fs::is_directory(dir)) throw IoError(dir + ": directory does not exist");
  std::vector<std::string> cameras;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (videos ? (entry.is_regular_file() && IsVideoFile(entry.path())) : entry.is_directory())
      cameras.push_back(entry.path().string());
  }
  if (ec) throw IoError(dir + ": cannot list directory (" + ec.message() + ")");
  if (cameras.empty()) {
    throw IoError(dir + (videos ? ": no camera video (.mp4 .avi .mov .mkv) in the directory"
                                : ": no camera subfolder in the directory (one folder of images "
                                  "per camera expected)"));
  }
  std::sort(cameras.begin(), cameras.end());
  std::vector<CameraDetections> out;
  for (const std::string& camera : cameras) {
    out.push_back(videos ? DetectBoardsInVideo(board, camera, options)
                         : DetectBoardsInFolder(board, camera, options));
  }
  return out;
}

// ---- diagnosis

namespace {

struct SampleImage {
  std::string label;  // "cam_02/000012.png" or "cam_02.mp4#12"
  cv::Mat grey;
};

std::vector<SampleImage> SampleImages(const CameraDetections& detections, int max_images) {
  std::vector<SampleImage> out;
  if (max_images <= 0) return out;
  const auto pick = [&](int64_t n) {
    std::vector<int64_t> indices;
    const int64_t count = std::min<int64_t>(n, max_images);
    for (int64_t k = 0; k < count; ++k) indices.push_back((2 * k + 1) * n / (2 * count));
    return indices;
  };
  const fs::path path(detections.path);
  if (fs::is_directory(path)) {
    std::vector<std::string> images = detections.images;
    if (images.empty()) images = ListImages(detections.path);
    for (int64_t i : pick(static_cast<int64_t>(images.size()))) {
      cv::Mat grey = cv::imread(images[i], cv::IMREAD_GRAYSCALE);
      if (grey.empty()) continue;
      out.push_back({detections.camera + "/" + fs::path(images[i]).filename().string(), grey});
    }
    return out;
  }
  cv::VideoCapture capture(detections.path, VideoBackend());
  if (!capture.isOpened()) return out;
  int64_t n = static_cast<int64_t>(capture.get(cv::CAP_PROP_FRAME_COUNT));
  if (n <= 0) n = std::max(1, detections.num_images);
  const std::vector<int64_t> wanted = pick(n);
  cv::Mat frame;
  size_t next = 0;
  for (int64_t index = 0; next < wanted.size() && capture.read(frame); ++index) {
    if (index != wanted[next]) continue;
    ++next;
    cv::Mat grey;
    cv::cvtColor(frame, grey, frame.channels() == 4 ? cv::COLOR_BGRA2GRAY : cv::COLOR_BGR2GRAY);
    out.push_back({path.filename().string() + "#" + std::to_string(index), grey});
  }
  return out;
}

struct Finding {
  std::string what;   // "a 7x5 chessboard"
  std::string where;  // image label
  std::string advice;
  int score = 0;  // more is a better explanation
};

// ArUco markers of the dictionary in an image, normal or inverted.
std::vector<int> FindMarkers(const cv::Mat& grey, int dictionary, bool* inverted) {
  const cv::Ptr<cv::aruco::Dictionary> dict = cv::aruco::getPredefinedDictionary(dictionary);
  for (const bool invert : {false, true}) {
    const cv::Mat image = invert ? Inverted(grey) : grey;
    std::vector<std::vector<cv::Point2f>> corners;
    std::vector<int> ids;
    cv::aruco::detectMarkers(image, dict, corners, ids);
    if (ids.size() >= 2) {
      *inverted = invert;
      return ids;
    }
  }
  return {};
}

const std::vector<std::string>& OtherDictionaries() {
  static const std::vector<std::string> names = {"DICT_4X4_1000",
                                                 "DICT_5X5_1000",
                                                 "DICT_6X6_1000",
                                                 "DICT_7X7_1000",
                                                 "DICT_ARUCO_ORIGINAL",
                                                 "DICT_APRILTAG_36h11"};
  return names;
}

// The first 4 characters after "DICT_" name the family (4X4, 5X5, ARUC, APRI).
bool SameFamily(const std::string& a, const std::string& b) {
  return a.substr(0, 8) == b.substr(0, 8);
}

void DiagnoseChessboard(const BoardSpec& board,
                        const SampleImage& sample,
                        std::vector<Finding>* findings) {
  // The spec itself on the other polarity (or rejected as implausible).
  BoardSpec any = board;
  any.inverted = BoardInversion::kAuto;
  BoardDetectionOptions options;
  options.max_homography_error_px = 1e9;
  if (const auto obs = DetectInMat(any, sample.grey, options, nullptr)) {
    if (obs->inverted && board.inverted == BoardInversion::kFalse) {
      findings->push_back({"the " + BoardName(board) + " on the inverted image",
                           sample.label,
                           "set inverted: true (or auto) in board.yaml",
                           1000});
    } else {
      findings->push_back({"a " + BoardName(board) + " that was rejected (corners " +
                               std::to_string(obs->homography_error_px) +
                               " px off a plane's homography)",
                           sample.label,
                           "check the image (two boards, strong distortion) or raise "
                           "max_homography_error_px",
                           10});
    }
  }
  // Neighbouring sizes (transposed first), classic detector: fast on images without them.
  std::vector<std::pair<int, int>> sizes = {{board.rows, board.cols}};
  for (int dc = -2; dc <= 2; ++dc) {
    for (int dr = -2; dr <= 2; ++dr) {
      const int c = board.cols + dc, r = board.rows + dr;
      if ((dc == 0 && dr == 0) || c < 2 || r < 2) continue;
      sizes.emplace_back(c, r);
      if (c != r) sizes.emplace_back(r, c);
    }
  }
  // Larger first; of equal size, the one oriented as the configured board (the classic detector
  // finds a 7x5 board as 5x7 too).
  const bool wide = board.cols >= board.rows;
  std::sort(sizes.begin(), sizes.end(), [wide](const auto& a, const auto& b) {
    if (a.first * a.second != b.first * b.second) return a.first * a.second > b.first * b.second;
    return (a.first >= a.second) == wide && (b.first >= b.second) != wide;
  });
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  // The size search only needs the grid, not accuracy: at most 640 px on the long side (the
  // classic detector is slow on a board of the wrong size: it tries hard).
  cv::Mat small = sample.grey;
  const double shrink = 640.0 / std::max(sample.grey.cols, sample.grey.rows);
  if (shrink < 1.0) cv::resize(sample.grey, small, cv::Size(), shrink, shrink, cv::INTER_AREA);
  int best = 0;
  std::pair<int, int> best_size;
  for (const auto& [c, r] : sizes) {
    if (c * r <= best || (c == board.cols && r == board.rows)) continue;
    std::vector<cv::Point2f> corners;
    for (const bool invert : {false, true}) {
      const cv::Mat image = invert ? Inverted(small) : small;
      if (cv::findChessboardCorners(image,
                                    cv::Size(c, r),
                                    corners,
                                    cv::CALIB_CB_ADAPTIVE_THRESH | cv::CALIB_CB_NORMALIZE_IMAGE |
                                        cv::CALIB_CB_FAST_CHECK)) {
        best = c * r;
        best_size = {c, r};
        break;
      }
    }
  }
  if (best > 0) {
    findings->push_back({"a " + std::to_string(best_size.first) + "x" +
                             std::to_string(best_size.second) + " chessboard",
                         sample.label,
                         "check cols/rows (inner corners per row / per column) in board.yaml",
                         best});
    return;
  }
  for (const std::string& name : OtherDictionaries()) {
    bool inverted = false;
    const std::vector<int> ids = FindMarkers(sample.grey, *ArucoDictionaryId(name), &inverted);
    if (ids.empty()) continue;
    findings->push_back({std::to_string(ids.size()) + " ArUco markers (" + name + ")",
                         sample.label,
                         "is it a ChArUco board? set type: charuco in board.yaml",
                         static_cast<int>(ids.size())});
    return;
  }
}

void DiagnoseCharuco(const BoardSpec& board,
                     const SampleImage& sample,
                     std::vector<Finding>* findings) {
  bool inverted = false;
  const std::vector<int> ids =
      FindMarkers(sample.grey, *ArucoDictionaryId(board.dictionary), &inverted);
  if (!ids.empty()) {
    const int max_id = *std::max_element(ids.begin(), ids.end());
    const std::string markers = std::to_string(ids.size()) + " " + board.dictionary + " markers" +
                                (inverted ? " on the inverted image" : "");
    if (max_id >= board.NumMarkers()) {
      findings->push_back({markers + " with ids up to " + std::to_string(max_id),
                           sample.label,
                           "a " + BoardName(board) + " has " + std::to_string(board.NumMarkers()) +
                               " markers (ids 0-" + std::to_string(board.NumMarkers() - 1) +
                               "): check cols/rows (squares) in board.yaml",
                           2000 + static_cast<int>(ids.size())});
    } else if (inverted && board.inverted == BoardInversion::kFalse) {
      findings->push_back(
          {markers, sample.label, "set inverted: true (or auto) in board.yaml", 1500});
    } else {
      findings->push_back({markers + " but no plausible board",
                           sample.label,
                           "check cols/rows and legacy_pattern in board.yaml (OpenCV 4.6 cannot "
                           "detect legacy boards with an even number of rows)",
                           1000 + static_cast<int>(ids.size())});
    }
    return;
  }
  for (const std::string& name : OtherDictionaries()) {
    if (SameFamily(name, board.dictionary)) continue;
    const std::vector<int> other = FindMarkers(sample.grey, *ArucoDictionaryId(name), &inverted);
    if (other.empty()) continue;
    findings->push_back({std::to_string(other.size()) + " markers of " + name,
                         sample.label,
                         "check dictionary in board.yaml",
                         500 + static_cast<int>(other.size())});
    return;
  }
  // A plain chessboard of the board's inner corners?
  std::vector<cv::Point2f> corners;
  if (board.cols > 2 && board.rows > 2 &&
      cv::findChessboardCorners(
          sample.grey,
          cv::Size(board.cols - 1, board.rows - 1),
          corners,
          cv::CALIB_CB_ADAPTIVE_THRESH | cv::CALIB_CB_NORMALIZE_IMAGE | cv::CALIB_CB_FAST_CHECK)) {
    findings->push_back({"a " + std::to_string(board.cols - 1) + "x" +
                             std::to_string(board.rows - 1) + " chessboard",
                         sample.label,
                         "set type: chessboard in board.yaml",
                         100});
  }
}

}  // namespace

std::string DiagnoseNoDetections(const BoardSpec& board,
                                 const CameraDetections& detections,
                                 int max_images) {
  CheckArgs(board, BoardDetectionOptions());
  std::ostringstream s;
  s << "no " << BoardName(board) << " found in " << detections.num_images
    << (fs::is_directory(detections.path) ? " images" : " frames") << " of " << detections.camera;
  if (detections.num_rejected > 0) {
    s << " (" << detections.num_rejected << " found but rejected as implausible)";
  }
  std::vector<Finding> findings;
  for (const SampleImage& sample : SampleImages(detections, max_images)) {
    const bool explained = std::any_of(
        findings.begin(), findings.end(), [](const Finding& f) { return f.score >= 100; });
    if (explained) break;
    if (board.type == BoardType::kChessboard) {
      DiagnoseChessboard(board, sample, &findings);
    } else {
      DiagnoseCharuco(board, sample, &findings);
    }
  }
  if (findings.empty()) {
    s << "; nothing board-like was seen in " << std::min(max_images, detections.num_images)
      << " sample images either: check that the board is in view, in focus and not too small";
    return s.str();
  }
  const Finding& best =
      *std::max_element(findings.begin(), findings.end(), [](const Finding& a, const Finding& b) {
        return a.score < b.score;
      });
  s << "; " << best.what << " was found in " << best.where << ": " << best.advice;
  return s.str();
}

}  // namespace rigpose

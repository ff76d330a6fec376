// SPDX-License-Identifier: BSD-3-Clause
// Calibration-board detection over one camera's images or video (chessboard and ChArUco, OpenCV
// 4.6 + contrib aruco), with the board conventions of data/board.h: corner ids and board-frame
// coordinates from BoardCornersInBoard, pixels in the OpenCV convention (core/camera_models.h).
//
// Corner ids (what makes observations of one board comparable across frames and cameras):
//  - ChArUco: the marker ids fix them (interpolateCornersCharuco ids == BoardCornersInBoard ids).
//  - Chessboard with cols + rows odd: the colours fix them, whatever the detector's order. Corner
//    0 is the inner corner of square (0, 0), which is black as printed; on a board detected on
//    the inverted image, or with BoardSpec::inverted == kTrue, the square (0, 0) is the one that
//    is white in the image. An inverted chessboard looks exactly like the normal one turned by
//    180°, so with kAuto an inverted print found on the normal image gets the 180°-turned ids:
//    consistent over frames and cameras, in a board frame turned by 180° about z.
//  - Chessboard with cols + rows even: the print is the same turned by 180°, so nothing on it
//    tells corner k from N−1−k. Rule: corner 0 is the one of the two extreme corners nearer the
//    image top-left (smaller x + y). Consistent frame to frame while the board stays within
//    ±135° of upright in the image, NOT across cameras looking from different sides: avoid
//    such boards for multi-camera calibration (data/board.h).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "data/board.h"

namespace rigpose {

// The board as seen in one image of one camera.
struct BoardObservation {
  int frame = 0;                            // image index (sorted file order) or video frame number
  std::string source;                       // image path, or "video.mp4#frame"
  std::vector<int> corner_ids;              // ids of BoardCornersInBoard(board), increasing
  std::vector<Eigen::Vector2d> img_points;  // pixels, same order as corner_ids
  bool inverted = false;                    // found on the inverted (255 - grey) image
  bool mirrored = false;  // ChArUco seen from behind: found on the mirrored image (points are
                          // in this image's pixels all the same)
  // Largest distance between a corner and the board→image homography fitted to all corners.
  double homography_error_px = 0.0;
};

// Everything found for one camera.
struct CameraDetections {
  std::string camera;  // the subfolder or video file name (without extension)
  std::string path;    // folder or video read
  int width = 0;       // image size (every image of a camera must have the same size)
  int height = 0;
  int num_images = 0;    // images / frames examined
  int num_rejected = 0;  // boards found but rejected (implausible geometry, too few corners)
  std::vector<BoardObservation> observations;  // accepted boards, by frame
  std::vector<std::string> images;             // the files examined (folders), in frame order
  double seconds = 0.0;                        // wall clock of the detection (decode included)
};

// (done, total) images; called from worker threads, serialised by the caller's function.
using DetectionProgressFn = std::function<void(int64_t done, int64_t total)>;

struct BoardDetectionOptions {
  // Fewest corners of an accepted board. 0: all corners for a chessboard (OpenCV finds all or
  // none), 6 for ChArUco (enough for a homography with some redundancy).
  int min_corners = 0;
  // Largest distance of a corner from the least-squares board→image homography. Lens distortion
  // bends the rows of a real board, so this only rejects gross errors (a corner on the wrong
  // square, a mirrored grid, two boards). 0: max(4 px, 0.02 × the image diagonal): the distorted
  // synthetic studio and the real captures in tests/calib stay below 0.6% of the diagonal.
  double max_homography_error_px = 0.0;
  // Chessboard: try cv::findChessboardCornersSB first (accurate, robust to blur), then the
  // classic detector + cornerSubPix.
  bool use_sector_based = true;
  // CALIB_CB_ACCURACY for the sector-based detector (its own upsampled refinement) instead of
  // cv::cornerSubPix: 4x slower (0.6 s vs 0.14 s on a 720p image), no more accurate on the
  // synthetic studio (see tests/calib/board_detection_test.cc).
  bool sector_based_accuracy = false;
  // Half side of the cornerSubPix window (classic chessboard and ChArUco refinement).
  int subpix_half_window_px = 5;
  // Videos: examine frames 0, stride, 2·stride, ...; at most max_frames of them (0: all).
  int frame_stride = 1;
  int max_frames = 0;
  // ChArUco: when no board is found, look for one seen from behind (mirrored markers: a
  // translucent or backlit print, as Caliscope's sample camera 1 sees it).
  bool try_mirrored = true;
  int num_threads = 0;  // 0: all cores
  DetectionProgressFn progress;

  // One sentence per problem, naming the option; empty when usable.
  std::vector<std::string> Problems() const;
  // The threshold in pixels for an image of this size.
  double MaxHomographyErrorPx(int width, int height) const;
};

// The board in one 8-bit grey image (row `stride` bytes apart). Tries the normal image, the
// inverted one, or both (kAuto: normal first) per board.inverted. nullopt when no board is found
// or the board found is implausible (fewer than min_corners corners, corners off a plane's
// homography; `rejected` is then set to true when not null). Ids sorted increasing.
// Preconditions (std::invalid_argument): board.Problems() and options.Problems() empty, grey not
// null, width, height > 0, stride >= width.
std::optional<BoardObservation> DetectBoardInImage(const BoardSpec& board,
                                                   const uint8_t* grey,
                                                   int width,
                                                   int height,
                                                   int stride,
                                                   const BoardDetectionOptions& options,
                                                   bool* rejected = nullptr);

// Image files of a folder (.png .jpg .jpeg .bmp .tif .tiff, any case), sorted by name.
std::vector<std::string> ListImages(const std::string& folder);

// Every image of a folder, in name order (frame = index in that order), in options.num_threads
// threads. Camera name: the folder's name. IoError naming the file for an image that cannot be
// read, and for a folder that does not exist or has no image; InputError naming both files and
// sizes for an image whose size differs from the first one's. No board anywhere is not an error:
// observations is empty (see DiagnoseNoDetections).
CameraDetections DetectBoardsInFolder(const BoardSpec& board,
                                      const std::string& folder,
                                      const BoardDetectionOptions& options);

// Frames 0, stride, ... of a video (decoded on this thread, detected in a pool). Camera name: the
// file name without extension; source "name.mp4#frame". IoError naming the file when it cannot
// be opened or yields no frame.
CameraDetections DetectBoardsInVideo(const BoardSpec& board,
                                     const std::string& video,
                                     const BoardDetectionOptions& options);

// One camera per subfolder of `dir` (videos == false) or per video file .mp4 .avi .mov .mkv
// (videos == true), sorted by name. IoError when dir does not exist or holds no camera.
std::vector<CameraDetections> DetectBoardsInDir(const BoardSpec& board,
                                                const std::string& dir,
                                                bool videos,
                                                const BoardDetectionOptions& options);

// Why a camera found no board, for the error message of the calibrator. Looks at up to
// `max_images` of the camera's images (folder) or frames (video), evenly spread, for the
// configurations a board.yaml typo gives: chessboard with cols/rows swapped or off by one or
// two, the other board type, the inverted print; ChArUco markers of another dictionary, or
// marker ids beyond the board's count. Returns one sentence, e.g. "no 9x6 chessboard found in
// 40 images of cam_02; a 7x5 chessboard was found in cam_02/000012.png: check cols/rows in
// board.yaml", or a sentence saying that nothing board-like was seen.
std::string DiagnoseNoDetections(const BoardSpec& board,
                                 const CameraDetections& detections,
                                 int max_images = 4);

}  // namespace rigpose

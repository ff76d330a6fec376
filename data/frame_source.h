// SPDX-License-Identifier: BSD-3-Clause
// Synchronised multi-camera frame reading for `rigpose detect` and `rigpose reconstruct`: one video
// file or one image folder per camera, read sequentially (no seeking) so that frame k of every
// camera comes out together, holding at most one decoded frame per camera.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace rigpose {

// What a capture directory holds.
//  - kVideos: one video file per camera; the camera is the file stem ("cam01.mp4" -> "cam01").
//    Extensions .mp4 .avi .mov .mkv .m4v .webm, any case. Other files are ignored.
//  - kImages: one subfolder per camera holding that camera's frames (.png .jpg .jpeg .bmp .tif
//    .tiff, any case), in natural name order ("img2.png" before "img10.png"); frame k is the k-th
//    image. Other files are ignored.
// Hidden entries (names starting with '.') are ignored in both.
enum class FrameSourceKind { kVideos, kImages };

struct FrameSourceOptions {
  // Source frames first_frame, first_frame + frame_stride, ... (at most max_frames of them; 0:
  // all).
  int first_frame = 0;
  int max_frames = 0;
  int frame_stride = 1;
  // When non-empty: open exactly these cameras, in this order (e.g. the rig's camera names).
  // A listed camera with no video/folder in DIR is an InputError naming it and listing what DIR
  // holds; a video/folder of DIR that is not listed is an InputError naming it, unless
  // allow_extra_videos (then it is skipped; applies to image folders as well).
  // When empty: every camera of DIR, sorted by name (natural order).
  std::vector<std::string> camera_order;
  bool allow_extra_videos = false;
  // Cameras with different frame counts: true -> use the shortest and log one warning naming each
  // camera's count; false -> InputError naming the cameras and their counts.
  bool truncate_to_shortest = true;

  // What is wrong with the options ("frame_stride must be >= 1, got 0"); empty when valid.
  std::vector<std::string> Check() const;
};

struct CameraStreamInfo {
  std::string name;  // file stem or folder name
  std::string path;  // video file or image folder
  int width = 0;     // of the first frame; every frame of the camera must have this size
  int height = 0;
  int num_frames = 0;  // source frames: reported by the container (videos) or images counted
  double fps = 0;      // 0: unknown (and always 0 for image folders)
};

// Reads frame k of every camera together. Policies (user-facing):
//  - Frame rates: videos whose fps differ by more than 0.1 % -> InputError naming both cameras and
//    their fps (the capture must be resampled first; we never guess a time alignment). A video
//    with unknown fps (0) is accepted with a warning.
//  - Frame counts: different counts follow FrameSourceOptions::truncate_to_shortest. A video's
//    count is what its container reports (CAP_PROP_FRAME_COUNT), which some containers get wrong:
//    when a video ends before its reported count, Next() ends the synchronised stream there for
//    every camera, with a warning (no exception); num_frames() is then an upper bound. When the
//    container reports no count, the video is counted once by decoding it at Open() (warning).
//  - A video that cannot be opened or whose first frame cannot be decoded -> IoError naming the
//    file. An unreadable image -> IoError naming the file. An empty image folder -> IoError.
//  - A frame that fails to decode in the middle of a video (the video goes on after it) ->
//    IoError naming the camera and the frame; frames are never silently dropped or duplicated.
//  - Frame size: a frame (video) or image (folder) whose size differs from the camera's first
//    frame -> InputError naming the camera, the frame index and both sizes. Cameras may differ in
//    size from each other.
//  - first_frame at or past the (truncated) end -> InputError.
// Videos are opened with OpenCV's FFmpeg backend when available (no GStreamer probing) and read
// sequentially: frames that stride or first_frame skip are grab()bed, not decoded to BGR.
// Not thread-safe; after an exception the source must not be used any further.
class MultiCameraFrameSource {
 public:
  // Opens the cameras of `dir`. Throws std::invalid_argument when options.Check() is not empty,
  // IoError when dir does not exist or holds no camera (naming dir and the accepted extensions),
  // and the errors of the policies above that can be detected at open time.
  static MultiCameraFrameSource Open(const std::string& dir,
                                     FrameSourceKind kind,
                                     const FrameSourceOptions& options);
  // Detects the kind: non-hidden subfolders and no video file -> kImages; video files and no
  // subfolder -> kVideos; both -> InputError (pass the kind explicitly); neither -> IoError.
  static MultiCameraFrameSource OpenAuto(const std::string& dir, const FrameSourceOptions& options);
  // The kind OpenAuto would pick for dir (same errors).
  static FrameSourceKind DetectKind(const std::string& dir);

  MultiCameraFrameSource(MultiCameraFrameSource&&) noexcept;
  MultiCameraFrameSource& operator=(MultiCameraFrameSource&&) noexcept;
  ~MultiCameraFrameSource();

  FrameSourceKind kind() const;
  const std::vector<CameraStreamInfo>& cameras() const;
  // Synchronised frames Next() will deliver: after truncation, first_frame, frame_stride and
  // max_frames (an upper bound when a container over-reports its frame count, see above).
  int num_frames() const;

  // Reads the next synchronised frame of every camera into (*images)[c] (BGR, CV_8UC3, in
  // cameras() order) and its source frame index into *frame_index. Returns false at the end,
  // leaving *images empty. Throws the per-frame errors of the policies above.
  bool Next(std::vector<cv::Mat>* images, int* frame_index);

 private:
  struct Impl;
  explicit MultiCameraFrameSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rigpose

// SPDX-License-Identifier: BSD-3-Clause
// Whether an X display can be opened (the Open3D legacy renderer needs one: run headless under
// `xvfb-run -a -s "-screen 0 1920x1080x24"`), checked before Open3D touches GLFW.
#pragma once

#include <optional>
#include <string>

#include "core/error.h"

namespace rigpose {

// No X display could be opened, or the OpenGL window could not be created on it. The message
// says to run under xvfb-run. CLI exit code 1.
class NoDisplayError : public Error {
 public:
  using Error::Error;
};

struct DisplayInfo {
  std::string name;  // $DISPLAY
  int width_px = 0;  // default screen size: windows larger than this render wrongly under Xvfb
  int height_px = 0;
};

// The default X display, or nullopt (with the reason in `why` when given) when $DISPLAY is unset
// or the display cannot be opened (after retrying for about a second). The first success keeps a
// connection to that display open until the process ends, so that Xvfb does not reset between
// snapshots. Always nullopt in a build without Open3D. Thread-safe.
std::optional<DisplayInfo> OpenDisplayInfo(std::string* why = nullptr);

// Throws NoDisplayError: "<what> needs an X display (<why>); run headless as
// xvfb-run -a -s \"-screen 0 1920x1080x24\" rigpose ...".
[[noreturn]] void ThrowNoDisplay(const std::string& what, const std::string& why);

}  // namespace rigpose

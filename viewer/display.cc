// SPDX-License-Identifier: BSD-3-Clause
#include "viewer/display.h"

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <thread>

#if defined(RIGPOSE_HAVE_OPEN3D)
#include <X11/Xlib.h>
#endif

namespace rigpose {

#if defined(RIGPOSE_HAVE_OPEN3D)
namespace {

// One connection kept open for the life of the process. Xvfb (as xvfb-run starts it) resets when
// its last client disconnects and refuses connections for a moment while it does: without a
// connection held here, the window of the next snapshot fails ("Failed to open display").
struct HeldDisplay {
  std::mutex mutex;
  std::string name;
  Display* display = nullptr;
};

HeldDisplay& Held() {
  static HeldDisplay* held = new HeldDisplay();  // never destroyed: no XCloseDisplay at exit
  return *held;
}

}  // namespace
#endif

std::optional<DisplayInfo> OpenDisplayInfo(std::string* why) {
  const auto fail = [&](const std::string& reason) -> std::optional<DisplayInfo> {
    if (why != nullptr) *why = reason;
    return std::nullopt;
  };
#if defined(RIGPOSE_HAVE_OPEN3D)
  const char* name = std::getenv("DISPLAY");
  if (name == nullptr || name[0] == '\0') return fail("DISPLAY is not set");
  HeldDisplay& held = Held();
  std::lock_guard<std::mutex> lock(held.mutex);
  if (held.display != nullptr && held.name != name) {
    XCloseDisplay(held.display);
    held.display = nullptr;
  }
  // A server that is resetting refuses connections briefly: retry for about a second.
  for (int attempt = 0; held.display == nullptr && attempt < 20; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    held.display = XOpenDisplay(name);
  }
  if (held.display == nullptr) return fail(std::string("cannot open display '") + name + "'");
  held.name = name;
  DisplayInfo info;
  info.name = name;
  const int screen = DefaultScreen(held.display);
  info.width_px = DisplayWidth(held.display, screen);
  info.height_px = DisplayHeight(held.display, screen);
  return info;
#else
  return fail("this rigpose was built without Open3D (RIGPOSE_WITH_OPEN3D=OFF)");
#endif
}

void ThrowNoDisplay(const std::string& what, const std::string& why) {
  throw NoDisplayError(what + " needs an X display (" + why +
                       "); run headless as: xvfb-run -a -s \"-screen 0 1920x1080x24\" rigpose ...");
}

}  // namespace rigpose

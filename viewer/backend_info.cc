// SPDX-License-Identifier: BSD-3-Clause
#include "viewer/backend_info.h"

#if defined(RIGPOSE_HAVE_OPEN3D)
#include <open3d/Open3DConfig.h>  // version macros only
#endif

namespace rigpose {

std::string ViewerBackendInfo() {
#if defined(RIGPOSE_HAVE_OPEN3D)
  return std::string("Open3D ") + OPEN3D_VERSION;
#else
  return "none (built without Open3D)";
#endif
}

}  // namespace rigpose

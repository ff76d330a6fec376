// SPDX-License-Identifier: BSD-3-Clause
// What viewer backend this build has (for `rigpose version` and bug reports).
#pragma once

#include <string>

namespace rigpose {

// "Open3D 0.16.1" when built with RIGPOSE_WITH_OPEN3D, else "none (built without Open3D)".
std::string ViewerBackendInfo();

}  // namespace rigpose

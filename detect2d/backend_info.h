// SPDX-License-Identifier: BSD-3-Clause
// What detector backend this build has (for `rigpose version` and bug reports).
#pragma once

#include <string>

namespace rigpose {

// "LibTorch 1.13.1" when built with RIGPOSE_WITH_TORCH, else "none (built without LibTorch)".
std::string DetectorBackendInfo();

}  // namespace rigpose

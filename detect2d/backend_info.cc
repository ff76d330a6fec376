// SPDX-License-Identifier: BSD-3-Clause
#include "detect2d/backend_info.h"

#if defined(RIGPOSE_HAVE_TORCH)
#include <torch/version.h>  // macros only: no heavy torch headers here
#endif

namespace rigpose {

std::string DetectorBackendInfo() {
#if defined(RIGPOSE_HAVE_TORCH)
  return std::string("LibTorch ") + TORCH_VERSION;
#else
  return "none (built without LibTorch)";
#endif
}

}  // namespace rigpose

// SPDX-License-Identifier: BSD-3-Clause
#pragma once

#include <string>

namespace rigpose {

// Versions of the libraries data/ is built against ("OpenCV 4.6.0, toml++ 3.3.0, ...").
std::string DataLibraryVersions();

}  // namespace rigpose

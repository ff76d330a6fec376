// SPDX-License-Identifier: BSD-3-Clause
// rigpose version: the version and what this build contains.
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/cli.h"
#include "core/build_info.h"
#include "data/versions.h"
#include "detect2d/backend_info.h"
#include "viewer/backend_info.h"

namespace rigpose::cli {

void RunVersion(std::ostream& out) {
  out << "rigpose " << RIGPOSE_VERSION_STRING << " (" << RIGPOSE_BUILD_TYPE << ", "
      << RIGPOSE_CXX_COMPILER << ")\n"
      << "  detector backend: " << DetectorBackendInfo() << "\n"
      << "  viewer backend:   " << ViewerBackendInfo() << "\n"
      << "  CUDA kernels:     " << (RIGPOSE_WITH_CUDA ? "built" : "not built") << "\n"
      << "  libraries:        " << DataLibraryVersions() << "\n";
}

void RegisterVersion(CLI::App& app, Action& action) {
  CLI::App* cmd = app.add_subcommand("version", "Print the version and the build's features");
  cmd->callback([&action]() { action = [] { RunVersion(std::cout); }; });
}

}  // namespace rigpose::cli

// SPDX-License-Identifier: BSD-3-Clause
// Builds the command table and maps errors to exit codes.
#include <exception>
#include <iostream>

#include <glog/logging.h>
#include <CLI/CLI.hpp>

#include "cli/cli.h"
#include "cli/export.h"
#include "cli/import_labels.h"
#include "cli/overlay.h"
#include "cli/select.h"
#include "cli/train.h"
#include "cli/view.h"
#include "core/error.h"

namespace rigpose::cli {

int Main(int argc, char** argv) {
  // Ceres logs through glog; its messages (e.g. a rank-deficient covariance, which the
  // calibration reports as NaN standard deviations) are not for users.
  static const bool glog_ready = [&] {
    google::InitGoogleLogging(argc > 0 ? argv[0] : "rigpose");
    FLAGS_minloglevel = google::GLOG_FATAL;
    return true;
  }();
  (void)glog_ready;
  CLI::App app{
      "rigpose: calibrated multi-camera rigs to 3D human skeletons, and which frames to "
      "annotate next"};
  app.require_subcommand(1);
  app.fallthrough(false);
  Action action;
  RegisterVersion(app, action);
  RegisterCalib(app, action);
  RegisterSynth(app, action);
  RegisterTriangulate(app, action);
  RegisterCalibrate(app, action);
  RegisterModel(app, action);
  RegisterDetect(app, action);
  RegisterReconstruct(app, action);
  RegisterOverlay(app, action);
  RegisterTrain(app, action);
  RegisterView(app, action);
  RegisterExport(app, action);
  RegisterImportLabels(app, action);
  RegisterSelect(app, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);  // prints the message
    return kExitUsageError;
  }
  try {
    if (action) action();
    return kExitOk;
  } catch (const UsageError& e) {
    std::cerr << "rigpose: usage error: " << e.what() << "\n";
    return kExitUsageError;
  } catch (const Error& e) {
    std::cerr << "rigpose: error: " << e.what() << "\n";
    return kExitRuntimeError;
  } catch (const std::exception& e) {
    std::cerr << "rigpose: internal error: " << e.what() << "\n";
    return kExitRuntimeError;
  }
}

}  // namespace rigpose::cli

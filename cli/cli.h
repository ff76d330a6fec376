// SPDX-License-Identifier: BSD-3-Clause
// The `rigpose` command table. Each subcommand lives in cli/<command>.cc: it parses its
// options into a typed struct and calls Run<Command>(options), which tests call directly.
//
// Exit codes: 0 success, 1 runtime or input error (bad file, bad data), 2 usage error.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace rigpose::cli {

constexpr int kExitOk = 0;
constexpr int kExitRuntimeError = 1;
constexpr int kExitUsageError = 2;

// Runs the command line; never throws.
int Main(int argc, char** argv);

// A subcommand's work, set by its CLI11 callback and run after parsing.
using Action = std::function<void()>;

// Registration of each subcommand on the top-level app (one per cli/<command>.cc).
void RegisterVersion(CLI::App& app, Action& action);
void RegisterCalib(CLI::App& app, Action& action);  // calib convert / calib info
void RegisterSynth(CLI::App& app, Action& action);

// ---- rigpose version --------------------------------------------------------------------
void RunVersion(std::ostream& out);

// ---- rigpose calib convert IN OUT -------------------------------------------------------
struct CalibConvertOptions {
  std::string input;
  std::string output;
  std::string from_format = "auto";  // see data/calib_io.h ParseCalibFormat
  std::string to_format;        // empty: from OUT's extension (.yaml -> rigpose, .toml -> anipose)
  std::string units;            // declares the input's translation unit (anipose: board units)
  std::string out_units = "m";  // translation unit written to anipose TOML
  bool force = false;           // write even when the output format drops a value
};
void RunCalibConvert(const CalibConvertOptions& options, std::ostream& out, std::ostream& err);

// ---- rigpose calib info RIG -------------------------------------------------------------
struct CalibInfoOptions {
  std::string rig;
  std::string format = "auto";
  std::string units;
};
void RunCalibInfo(const CalibInfoOptions& options, std::ostream& out, std::ostream& err);

// ---- rigpose calib compare A B ----------------------------------------------------------
struct CalibCompareOptions {
  std::string first;
  std::string second;
  double max_center_difference_m = -1.0;  // >= 0: exit 1 when exceeded (a check for scripts)
};
void RunCalibCompare(const CalibCompareOptions& options, std::ostream& out, std::ostream& err);

// ---- rigpose synth --out DIR ------------------------------------------------------------
// Options start from --preset (default "default"), then --config FILE.yaml, then each flag
// given on the command line (unset optionals keep the preset/config value).
struct SynthCliOptions {
  std::string out;
  std::string preset = "default";
  std::string config;
  std::optional<uint64_t> seed;
  std::optional<int> cameras, fisheye, frames, subjects, jpeg_quality, calib_frames, threads;
  std::optional<std::string> layout, resolution, motion, bvh, skeleton, format, calib;
  std::optional<std::string> chessboard_board, charuco_board;
  std::optional<double> radius, height, fps, bvh_unit, blur, noise;
  bool no_distortion = false;
  bool force = false;
  bool quiet = false;  // no progress bar
};
void RunSynth(const SynthCliOptions& options, std::ostream& out, std::ostream& err);

}  // namespace rigpose::cli

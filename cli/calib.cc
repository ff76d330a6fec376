// SPDX-License-Identifier: BSD-3-Clause
// rigpose calib convert IN OUT / rigpose calib info RIG.
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>

#include "calib/rig_summary.h"
#include "cli/cli.h"
#include "core/error.h"
#include "data/calib_io.h"
#include "data/file_util.h"

namespace rigpose::cli {

CalibFormat CalibFormatOption(const std::string& value, const std::string& flag) {
  const auto format = ParseCalibFormat(value);
  if (!format) {
    throw UsageError(flag + " '" + value +
                     "' is not a calibration format (rigpose, anipose, pose2sim, freemocap, "
                     "caliscope, panoptic, easymocap)");
  }
  return *format;
}

CalibFormat OutputCalibFormat(const std::string& path,
                              const std::string& format,
                              const std::string& flag) {
  CalibFormat to_format = CalibFormat::kAuto;
  if (!format.empty()) {
    to_format = CalibFormatOption(format, flag);
  } else {
    const std::string ext = FileExtension(path);
    std::error_code ec;
    if (ext == ".yaml" || ext == ".yml") {
      to_format = CalibFormat::kRigpose;
    } else if (ext == ".toml") {
      to_format = CalibFormat::kAnipose;
    } else if (std::filesystem::is_directory(path, ec)) {
      to_format = CalibFormat::kEasyMocap;
    }
  }
  bool writable = false;
  for (CalibFormat f : WritableCalibFormats()) writable = writable || f == to_format;
  if (!writable) {
    throw UsageError("cannot write '" + path + "': give " + flag +
                     " anipose|pose2sim|freemocap|rigpose|easymocap");
  }
  return to_format;
}

namespace {

std::optional<LengthUnit> UnitOption(const std::string& value, const std::string& flag) {
  if (value.empty()) return std::nullopt;
  const auto unit = ParseLengthUnit(value);
  if (!unit) throw UsageError(flag + " '" + value + "' is not a length unit (m, cm, mm)");
  return unit;
}

void PrintWarnings(const std::vector<std::string>& warnings, std::ostream& err) {
  for (const std::string& w : warnings) err << "warning: " << w << "\n";
}

}  // namespace

void RunCalibConvert(const CalibConvertOptions& options, std::ostream& out, std::ostream& err) {
  CalibReadOptions read_options;
  read_options.format = CalibFormatOption(options.from_format, "--from-format");
  read_options.unit = UnitOption(options.units, "--units");
  const auto out_unit = UnitOption(options.out_units, "--out-units");

  const CalibFormat to_format = OutputCalibFormat(options.output, options.to_format, "--to-format");

  std::vector<std::string> warnings;
  const Rig rig = ReadRig(options.input, read_options, &warnings);
  CalibWriteOptions write_options;
  write_options.format = to_format;
  write_options.unit = out_unit.value_or(LengthUnit::kMetre);
  write_options.force = options.force;
  WriteRig(rig, options.output, write_options, &warnings);
  PrintWarnings(warnings, err);
  out << "read " << rig.NumCameras() << " cameras from " << options.input << " ("
      << rig.source_format << ", " << UnitName(rig.source_unit) << "), wrote " << options.output
      << " (" << CalibFormatName(to_format) << ")\n";
}

void RunCalibInfo(const CalibInfoOptions& options, std::ostream& out, std::ostream& err) {
  CalibReadOptions read_options;
  read_options.format = CalibFormatOption(options.format, "--format");
  read_options.unit = UnitOption(options.units, "--units");
  std::vector<std::string> warnings;
  const Rig rig = ReadRig(options.rig, read_options, &warnings);
  out << FormatRigSummary(rig, SummarizeRig(rig));
  PrintWarnings(warnings, err);
}

void RunCalibCompare(const CalibCompareOptions& options, std::ostream& out, std::ostream& err) {
  std::vector<std::string> warnings;
  const Rig a = ReadRig(options.first, {}, &warnings);
  const Rig b = ReadRig(options.second, {}, &warnings);
  PrintWarnings(warnings, err);
  RigAlignment alignment = RigAlignment::kNone;
  if (options.align == "rigid") {
    alignment = RigAlignment::kRigid;
  } else if (options.align == "similarity") {
    alignment = RigAlignment::kSimilarity;
  } else if (options.align != "none") {
    throw UsageError("--align '" + options.align + "' is not none, rigid or similarity");
  }
  if (alignment != RigAlignment::kNone && std::min(a.NumCameras(), b.NumCameras()) < 3) {
    throw InputError("--align needs at least 3 cameras in each calibration");
  }
  const RigComparison comparison = CompareRigs(a, b, alignment);
  out << FormatRigComparison(comparison);
  if (options.max_center_difference_m >= 0.0 &&
      (comparison.max_center_difference_m > options.max_center_difference_m ||
       !comparison.only_in_a.empty() || !comparison.only_in_b.empty() ||
       !comparison.model_mismatch.empty())) {
    throw InputError("calibrations differ beyond --max-center-difference " +
                     std::to_string(options.max_center_difference_m) + " m");
  }
}

void RegisterCalib(CLI::App& app, Action& action) {
  CLI::App* calib =
      app.add_subcommand("calib", "Calibration files: convert between formats, inspect");
  calib->require_subcommand(1);

  auto convert_options = std::make_shared<CalibConvertOptions>();
  CLI::App* convert = calib->add_subcommand(
      "convert",
      "Convert a calibration (rigpose YAML, anipose/Pose2Sim/FreeMoCap/Caliscope TOML, Panoptic "
      "JSON, EasyMocap folder) to another format");
  convert->add_option("IN", convert_options->input, "Input calibration (format detected)")
      ->required();
  convert->add_option("OUT", convert_options->output, "Output file (EasyMocap: a directory)")
      ->required();
  convert->add_option(
      "--from-format", convert_options->from_format, "Input format (default: auto)");
  convert->add_option(
      "--to-format",
      convert_options->to_format,
      "anipose|pose2sim|freemocap|rigpose|easymocap (default: from OUT's extension)");
  convert->add_option(
      "--units", convert_options->units, "Unit of the input translations (m, cm, mm)");
  convert->add_option(
      "--out-units", convert_options->out_units, "Unit written to anipose TOML (default m)");
  convert->add_flag("--force", convert_options->force, "Write even if the format drops a value");
  convert->callback([&action, convert_options]() {
    action = [convert_options] { RunCalibConvert(*convert_options, std::cout, std::cerr); };
  });

  auto info_options = std::make_shared<CalibInfoOptions>();
  CLI::App* info =
      calib->add_subcommand("info", "Per-camera summary: size, focal, centre, FOV, distortion");
  info->add_option("RIG", info_options->rig, "Calibration file")->required();
  info->add_option("--format", info_options->format, "Input format (default: auto)");
  info->add_option("--units", info_options->units, "Unit of the input translations (m, cm, mm)");
  info->callback([&action, info_options]() {
    action = [info_options] { RunCalibInfo(*info_options, std::cout, std::cerr); };
  });

  auto compare_options = std::make_shared<CalibCompareOptions>();
  CLI::App* compare = calib->add_subcommand(
      "compare", "Compare two calibrations of the same cameras (matched by name)");
  compare->add_option("A", compare_options->first, "First calibration")->required();
  compare->add_option("B", compare_options->second, "Second calibration")->required();
  compare->add_option("--align",
                      compare_options->align,
                      "Map the second world onto the first before comparing: none | rigid | "
                      "similarity (fitted on the camera centres)");
  compare->add_option("--max-center-difference",
                      compare_options->max_center_difference_m,
                      "Exit 1 when a camera centre moved more than this (metres)");
  compare->callback([&action, compare_options]() {
    action = [compare_options] { RunCalibCompare(*compare_options, std::cout, std::cerr); };
  });
}

}  // namespace rigpose::cli

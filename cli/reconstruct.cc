// SPDX-License-Identifier: BSD-3-Clause
// `rigpose reconstruct`: videos + rig (+ detector) -> refined 3D skeletons, one session or a
// manifest of many (pipeline/reconstruct.h does the work; this file is options and the run table).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include <CLI/CLI.hpp>

#include "cli/cli.h"
#include "cli/progress.h"
#include "core/error.h"
#include "data/file_util.h"

namespace rigpose::cli {
namespace {

namespace fs = std::filesystem;

struct PlannedSession {
  std::string name;
  std::string out_dir;
  ReconstructConfig config;
  std::string error;  // the entry cannot run (manifest problems, options)
};

std::string Fixed(double value, int digits) {
  if (!std::isfinite(value)) return "-";
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << value;
  return s.str();
}

std::vector<PlannedSession> Plan(const ReconstructCliOptions& o) {
  ReconstructConfig base;
  if (!o.config.empty()) ApplyConfigFile(&base, o.config);
  std::vector<PlannedSession> plan;
  if (o.manifest.empty()) {
    PlannedSession session;
    session.config = base;
    for (const auto& [key, value] : o.values) {
      SetConfigValue(&session.config, key, value, "--" + key);
    }
    session.out_dir = o.out;
    session.name = fs::path(o.out).lexically_normal().filename().string();
    if (session.name.empty()) session.name = "session";
    plan.push_back(std::move(session));
    return plan;
  }
  for (const char* key : {"rig", "videos", "images", "keypoints"}) {
    if (o.values.count(key)) {
      throw UsageError("--" + std::string(key) +
                       " and --manifest: give the sessions' inputs in "
                       "the manifest");
    }
  }
  for (const ManifestEntry& entry : ReadManifest(o.manifest)) {
    PlannedSession session;
    session.name = entry.name;
    session.out_dir = (fs::path(o.out) / entry.name).string();
    session.config = base;
    session.error = entry.error;
    if (session.error.empty()) {
      try {
        if (!entry.config_file.empty()) ApplyConfigFile(&session.config, entry.config_file);
        for (const auto& [key, value] : entry.values) {
          SetConfigValue(&session.config, key, value, "manifest " + o.manifest);
        }
        for (const auto& [key, value] : o.values) {
          SetConfigValue(&session.config, key, value, "--" + key);
        }
      } catch (const std::exception& e) {
        session.error = e.what();
      }
    }
    plan.push_back(std::move(session));
  }
  return plan;
}

}  // namespace

ReconstructCliSummary RunReconstructCli(const ReconstructCliOptions& o,
                                        std::ostream& out,
                                        std::ostream& err) {
  if (o.out.empty() && !o.dump_config) throw UsageError("reconstruct: --out is required");
  const std::vector<PlannedSession> plan = Plan(o);
  ReconstructCliSummary summary;
  if (o.dump_config) {
    for (const PlannedSession& session : plan) {
      if (plan.size() > 1 || !o.manifest.empty()) out << "# session " << session.name << "\n";
      if (!session.error.empty()) {
        out << "# error: " << session.error << "\n";
        continue;
      }
      out << DumpConfigYaml(session.config);
    }
    return summary;
  }
  const bool manifest = !o.manifest.empty();
  if (manifest) fs::create_directories(o.out);
  ProgressBar sessions_bar("sessions", static_cast<int64_t>(plan.size()), manifest && !o.quiet);
  int done = 0;
  for (const PlannedSession& session : plan) {
    ReconstructSessionStatus status;
    status.name = session.name;
    try {
      if (!session.error.empty()) throw InputError(session.error);
      if (const auto problems = CheckReconstructConfig(session.config); !problems.empty()) {
        throw UsageError(FormatProblems("session " + session.name + ": options", problems));
      }
      ReconstructRunOptions run;
      run.name = session.name;
      run.force = o.force;
      std::unique_ptr<ProgressBar> bar;
      std::string bar_stage;
      if (!o.quiet) {
        run.progress = [&](const std::string& stage, int frames_done, int total) {
          if (stage != bar_stage) {
            if (bar) bar->Finish();
            bar = std::make_unique<ProgressBar>(session.name + " " + stage, total, true);
            bar_stage = stage;
          }
          bar->Update(frames_done);
        };
      }
      status.result = RunReconstruct(session.config, session.out_dir, run, out);
      if (bar) bar->Finish();
      status.status = status.result.skipped ? "skipped" : "ok";
    } catch (const UsageError& e) {
      if (!manifest) throw;
      status.status = "failed";
      status.message = e.what();
    } catch (const std::exception& e) {
      if (!manifest) throw;
      status.status = "failed";
      status.message = e.what();
    }
    if (status.status == "failed") {
      ++summary.failed;
      err << "error: session " << session.name << ": " << status.message << "\n";
    }
    summary.sessions.push_back(std::move(status));
    sessions_bar.Update(++done);
  }
  sessions_bar.Finish();
  if (!manifest) return summary;

  // The run table (also as OUT/summary.tsv).
  std::ostringstream tsv;
  tsv << "session\tstatus\tframes\tchunks_computed\tseconds\tframes_per_s\tmedian_px\tvalid_"
         "share\tmpjpe_mm\tmessage\n";
  out << "\n  session               status    frames   seconds   frames/s   median px   valid    "
         "MPJPE mm\n";
  for (const ReconstructSessionStatus& s : summary.sessions) {
    const ReconstructResult& r = s.result;
    const bool ran = s.status == "ok";
    const double fps = ran && r.seconds > 0 ? r.frames / r.seconds : NAN;
    const double mpjpe = r.mpjpe_m >= 0 ? 1e3 * r.mpjpe_m : NAN;
    std::string message = s.message;
    std::replace(message.begin(), message.end(), '\n', ' ');
    std::replace(message.begin(), message.end(), '\t', ' ');
    tsv << s.name << '\t' << s.status << '\t' << r.frames << '\t'
        << r.chunks_2d_computed + r.chunks_3d_computed << '\t' << Fixed(ran ? r.seconds : NAN, 2)
        << '\t' << Fixed(fps, 2) << '\t' << Fixed(r.median_px, 2) << '\t' << Fixed(r.valid_share, 4)
        << '\t' << Fixed(mpjpe, 2) << '\t' << message << '\n';
    out << "  " << std::left << std::setw(22) << s.name << std::setw(8) << s.status << std::right
        << std::setw(8) << r.frames << std::setw(10) << Fixed(ran ? r.seconds : NAN, 1)
        << std::setw(11) << Fixed(fps, 1) << std::setw(12) << Fixed(r.median_px, 2) << std::setw(8)
        << (s.status == "failed" ? "-" : Fixed(100 * r.valid_share, 1) + "%") << std::setw(12)
        << Fixed(mpjpe, 1) << "\n";
    if (s.status == "failed") out << "      " << message << "\n";
  }
  WriteFileAtomic((fs::path(o.out) / "summary.tsv").string(), tsv.str());
  out << "wrote " << (fs::path(o.out) / "summary.tsv").string() << "\n";
  if (summary.failed > 0) {
    throw InputError(std::to_string(summary.failed) + " of " +
                     std::to_string(summary.sessions.size()) + " sessions failed (see above)");
  }
  return summary;
}

void RegisterReconstruct(CLI::App& app, Action& action) {
  auto o = std::make_shared<ReconstructCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "reconstruct",
      "Videos + rig -> refined 3D skeletons (detect, robust triangulation, sequence refinement): "
      "streaming, resumable, one session or a manifest");
  cmd->add_option("--out", o->out, "Session folder (or, with --manifest, the run folder)");
  cmd->add_option("--config", o->config, "YAML configuration (keys = these flags' names)");
  cmd->add_option("--manifest", o->manifest, "YAML list of sessions (rig, videos, overrides)");
  cmd->add_flag("--force", o->force, "Recompute finished sessions");
  cmd->add_flag("--dump-config", o->dump_config, "Print the effective configuration and stop");
  cmd->add_flag("--quiet", o->quiet, "No progress bars");
  for (const ConfigKey& key : ReconstructConfigKeys()) {
    const std::string name = key.name;
    if (key.is_flag) {
      cmd->add_flag_function(
          "--" + name, [o, name](int64_t) { o->values[name] = "true"; }, key.help);
      if (name != "no-distortion") {
        cmd->add_flag_function(
            "--no-" + name, [o, name](int64_t) { o->values[name] = "false"; }, "Not --" + name);
      }
    } else {
      cmd->add_option_function<std::string>(
          "--" + name, [o, name](const std::string& v) { o->values[name] = v; }, key.help);
    }
  }
  cmd->callback([&action, o] { action = [o] { RunReconstructCli(*o, std::cout, std::cerr); }; });
}

}  // namespace rigpose::cli

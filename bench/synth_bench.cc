// SPDX-License-Identifier: BSD-3-Clause
// Synthetic studio throughput: 4 cameras x 300 frames at 1280x720 (the `bench` preset, 2
// subjects), with ground truth only, rendering only (1 thread = the baseline, then all cores), and
// rendering + encoding to MP4 / JPEG. Target (issue 3): render + write in < 30 s on 2 cores.
//
//   build/bench/synth_bench [--frames N] [--out DIR]
#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "data/synth/capture.h"

namespace {

struct Row {
  const char* name;
  std::string format;
  int threads;
};

}  // namespace

int main(int argc, char** argv) {
  int frames = 300;
  std::string root = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") +
                     "/rigpose-synth-bench-" + std::to_string(::getpid());
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--frames") frames = std::atoi(argv[i + 1]);
    if (flag == "--out") root = argv[i + 1];
  }
  rigpose::synth::SynthOptions base = *rigpose::synth::SynthPreset("bench");
  base.num_frames = frames;
  base.chessboard = base.charuco = false;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::printf("synth_bench: %d cameras x %d frames at %s, %d subjects, %d cores\n",
              base.rig.num_cameras,
              frames,
              base.rig.resolution.c_str(),
              base.num_subjects,
              cores);
  std::printf("%-34s %9s %12s %10s\n", "stage", "seconds", "frames/s", "speed");
  const Row rows[] = {{"ground truth only (no images)", "none", cores},
                      {"render, 1 thread (baseline)", "discard", 1},
                      {"render, all cores", "discard", cores},
                      {"render + MP4, all cores", "mp4", cores},
                      {"render + JPEG, all cores", "jpg", cores},
                      {"render + PNG, all cores", "png", cores}};
  double baseline = 0;
  double mp4_seconds = 0;
  for (const Row& row : rows) {
    rigpose::synth::SynthOptions o = base;
    o.image_format = row.format;
    o.num_threads = row.threads;
    o.force = true;
    const std::string out = root + "/" + row.format + std::to_string(row.threads);
    const rigpose::synth::SynthSummary s = rigpose::synth::WriteSynthCapture(o, out);
    std::filesystem::remove_all(out);
    const int64_t camera_frames = int64_t(s.num_cameras) * s.num_frames;
    const double seconds = s.total_seconds;
    if (row.format == "discard" && row.threads == 1) baseline = seconds;
    if (row.format == "mp4") mp4_seconds = seconds;
    std::printf("%-34s %9.2f %12.1f %10s\n",
                row.name,
                seconds,
                camera_frames / seconds,
                baseline > 0 && row.format != "none"
                    ? (std::to_string(baseline / seconds).substr(0, 4) + "x").c_str()
                    : "-");
  }
  std::filesystem::remove_all(root);
  std::printf("target: 4 x 300 frames rendered + written (MP4) in < 30 s: %.1f s (%s)\n",
              mp4_seconds * 300.0 / frames,
              mp4_seconds * 300.0 / frames < 30.0 ? "met" : "NOT met");
  return 0;
}

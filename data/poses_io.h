// SPDX-License-Identifier: BSD-3-Clause
// 3D pose files: TRC (OpenSim, as Pose2Sim writes it), CSV, JSON and .npy (data/npy.h).
// Values in memory are metres in the world frame (Z up for the Pose2Sim/Qualisys demo).
//
// Joint names written: Poses3D::joint_names when set, else the skeleton's canonical joint
// names (GetSkeleton(poses.skeleton)), else "J0", "J1", ... (see PoseJointNames).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/keypoints.h"
#include "core/units.h"
#include "data/file_util.h"
#include "data/npy.h"

namespace rigpose {

struct PosesWriteOptions {
  // TRC only: write Pose2Sim's Y-up axes (X_trc, Y_trc, Z_trc) = (Y_world, Z_world, X_world).
  bool y_up = false;
  // TRC DataRate/CameraRate/Time and the JSON frame_rate_hz; 0 -> poses.frame_rate_hz, or 30
  // when that is 0 too.
  double frame_rate_hz = 0.0;
  // TRC only: the unit of the written coordinates (Units field).
  LengthUnit unit = LengthUnit::kMetre;
};

struct PosesReadOptions {
  // TRC only: the file is Y-up; convert back to world: X = Z_trc, Y = X_trc, Z = Y_trc.
  bool y_up = false;
  // Optional skeleton registry key. CSV: joint names must be this skeleton's joints (any other
  // name is an error) and joints follow its order. All formats: the result's `skeleton` is set
  // to it, and the joint count must match (IoError otherwise). Empty: CSV joints are those of
  // the first frame in order of appearance, and `skeleton` is set when the joint names are
  // exactly a registered skeleton's names in its order.
  std::string skeleton;
};

// The joint names the writers use for `poses` (see the file comment). Throws
// std::invalid_argument when joint_names or the skeleton's joint count disagrees with
// poses.num_joints().
std::vector<std::string> PoseJointNames(const Poses3D& poses);

// Writes an OpenSim TRC file laid out exactly as Pose2Sim writes it (tab separated, five header
// lines, then `Frame# Time x y z ...` rows with Frame# from 1 and Time = Frame# / rate, values
// with 17 significant digits; invalid joints as empty fields, which OpenSim reads as missing
// markers). IoError when the file cannot be written (nothing is left behind);
// std::invalid_argument for a negative frame rate or bad joint names.
void WriteTrc(const std::string& path,
              const Poses3D& poses,
              const PosesWriteOptions& options = PosesWriteOptions());

// Reads a TRC file: marker names become joint_names, DataRate the frame rate, Units (m, cm, mm)
// is converted to metres. Empty, NaN and nan fields mark an invalid joint (a marker is valid only
// when its three coordinates are numbers). IoError naming the path and line (and column / marker
// when known) for: a missing or truncated header, NumMarkers disagreeing with the marker names, an
// unknown unit, a data row with the wrong number of columns, a non-numeric cell, fewer or more
// data rows than NumFrames.
Poses3D ReadTrc(const std::string& path, const PosesReadOptions& options = PosesReadOptions());

// Writes CSV with header `frame,joint,x,y,z,valid`, one row per frame and joint (frames from 0,
// joint = name, x y z in metres with 17 significant digits, empty for invalid joints, valid 0/1).
// IoError when the file cannot be written; std::invalid_argument for a joint name containing a
// comma, quote or newline.
void WritePosesCsv(const std::string& path,
                   const Poses3D& poses,
                   const PosesWriteOptions& options = PosesWriteOptions());

// Reads the CSV written above; the columns may come in any order and extra columns are ignored.
// num_frames = largest frame + 1; rows that are absent leave the joint invalid. IoError naming
// the path and line for: a missing column, a non-numeric or negative frame, a non-numeric
// coordinate or valid cell (names the column), an unknown joint name, a repeated (frame, joint).
Poses3D ReadPosesCsv(const std::string& path, const PosesReadOptions& options = PosesReadOptions());

// Writes {"format":"rigpose-poses3d","version":1,"unit":"m","frame_rate_hz":..,"skeleton":..,
// "joint_names":[..],"frames":[[[x,y,z] or null per joint]...]} (numbers round-trip exactly).
// IoError when the file cannot be written.
void WritePosesJson(const std::string& path,
                    const Poses3D& poses,
                    const PosesWriteOptions& options = PosesWriteOptions());

// Reads the JSON written above ("unit" may be m, cm or mm; converted to metres). IoError naming
// the path and the JSON location for malformed JSON, a wrong "format" or "version", a value of
// the wrong type, or a frame whose length differs from joint_names.
Poses3D ReadPosesJson(const std::string& path,
                      const PosesReadOptions& options = PosesReadOptions());

// Writes a 3D poses file frame chunk by frame chunk (bounded memory on long captures), in any
// of the formats above (by extension, exactly the bytes the whole-file writers produce: they are
// this writer with one chunk). The frame count is declared up front (TRC and .npy headers hold
// it); frames go to a temporary file beside `path` that Commit() renames onto it, so an error or
// an uncommitted writer leaves nothing behind. `metadata` gives the joint count and names, the
// skeleton and the frame rate (its frames are not written). UsageError for an unknown extension;
// std::invalid_argument for bad joint names, a chunk with another joint count, more frames than
// declared, or Commit() before every frame is written; IoError when writing fails.
class PosesStreamWriter {
 public:
  PosesStreamWriter(const std::string& path,
                    int num_frames,
                    const Poses3D& metadata,
                    const PosesWriteOptions& options = PosesWriteOptions());
  ~PosesStreamWriter();
  PosesStreamWriter(const PosesStreamWriter&) = delete;
  PosesStreamWriter& operator=(const PosesStreamWriter&) = delete;

  void Append(const Poses3D& chunk);
  void Commit();
  int frames_written() const { return frames_written_; }

 private:
  std::string path_;
  std::string format_;  // extension
  int num_frames_ = 0;
  int num_joints_ = 0;
  PosesWriteOptions options_;
  std::vector<std::string> names_;
  double rate_ = 30.0;
  int frames_written_ = 0;
  std::unique_ptr<AtomicFileWriter> file_;
  std::unique_ptr<NpyStreamWriter> npy_;
};

// Dispatch on the extension: .trc, .csv, .json, .npy (WritePosesNpy / ReadPosesNpy: no metadata;
// only PosesReadOptions::skeleton applies). UsageError naming the extension and listing the
// accepted ones otherwise.
void WritePoses(const std::string& path,
                const Poses3D& poses,
                const PosesWriteOptions& options = PosesWriteOptions());
Poses3D ReadPoses(const std::string& path, const PosesReadOptions& options = PosesReadOptions());

}  // namespace rigpose

// SPDX-License-Identifier: BSD-3-Clause
// Calibration readers/writers: round trips keep every number, camera identity survives
// anipose's text ordering, units are declared, and every defect gets a clear error naming the
// file and key with nothing half-written.
#include <cmath>
#include <filesystem>
#include <random>

#include <gtest/gtest.h>

#include "core/error.h"
#include "data/calib_io.h"
#include "tests/test_util.h"

namespace rigpose {
namespace {
namespace fs = std::filesystem;
using test::ReadText;
using test::ScratchDir;
using test::WriteText;

// A rig of `n` cameras on a ring, looking at the centre, with distinct intrinsics.
Rig RandomRig(int n, bool with_k3, bool with_fisheye, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  Rig rig;
  for (int i = 0; i < n; ++i) {
    Camera c;
    c.name = "cam_" + std::to_string(i);
    c.width = i % 2 ? 1920 : 1280;
    c.height = i % 2 ? 1080 : 720;
    const double f = 900.0 + 100.0 * i + 10.0 * u(rng);
    if (with_fisheye && i == 1) {
      c.model_id = CameraModelId::kOpenCVFisheye;
      c.params = {f,
                  f * 1.001,
                  c.width / 2.0 + u(rng),
                  c.height / 2.0 + u(rng),
                  0.01 * u(rng),
                  0.01 * u(rng),
                  0.001 * u(rng),
                  0.0005 * u(rng)};
    } else {
      c.model_id = CameraModelId::kOpenCV;
      c.params = {f,
                  f * 0.999,
                  c.width / 2.0 + 5 * u(rng),
                  c.height / 2.0 + 5 * u(rng),
                  -0.2 + 0.1 * u(rng),
                  0.05 * u(rng),
                  1e-3 * u(rng),
                  1e-3 * u(rng),
                  with_k3 ? 0.01 * u(rng) : 0.0};
    }
    const double angle = 2.0 * M_PI * i / n;
    const Eigen::Vector3d center(3.0 * std::cos(angle), 3.0 * std::sin(angle), 1.5 + 0.1 * u(rng));
    // Look at the origin: z axis towards (0, 0, 1), y down.
    const Eigen::Vector3d z = (Eigen::Vector3d(0, 0, 1) - center).normalized();
    const Eigen::Vector3d x = z.cross(Eigen::Vector3d::UnitZ()).normalized();
    const Eigen::Vector3d y = z.cross(x);
    Eigen::Matrix3d cam_from_world_r;
    cam_from_world_r.row(0) = x;
    cam_from_world_r.row(1) = y;
    cam_from_world_r.row(2) = z;
    c.cam_from_world = Rigid3d::FromMatrix(cam_from_world_r, -(cam_from_world_r * center));
    rig.cameras.push_back(c);
  }
  return rig;
}

// Numbers agree to 1e-9 relative (of the larger magnitude in the same vector, so that a
// coefficient of 1e-17 next to 1e-3 is not compared alone).
void ExpectSameRig(const Rig& a, const Rig& b, double rel = 1e-9) {
  ASSERT_EQ(a.NumCameras(), b.NumCameras());
  for (int i = 0; i < a.NumCameras(); ++i) {
    const Camera& ca = a.cameras[i];
    const Camera& cb = b.cameras[i];
    SCOPED_TRACE(ca.name);
    EXPECT_EQ(ca.name, cb.name);
    EXPECT_EQ(ca.width, cb.width);
    EXPECT_EQ(ca.height, cb.height);
    ASSERT_EQ(ca.DistortionParams().size(), cb.DistortionParams().size());
    for (size_t k = 0; k < 4; ++k)
      EXPECT_NEAR(ca.params[k], cb.params[k], rel * std::abs(ca.params[k]));
    const std::vector<double> da = ca.DistortionParams();
    const std::vector<double> db = cb.DistortionParams();
    double scale = 1e-300;
    for (double d : da) scale = std::max(scale, std::abs(d));
    for (size_t k = 0; k < da.size(); ++k) EXPECT_NEAR(da[k], db[k], rel * scale) << "coeff " << k;
    // Rotation matrices (entries O(1)); Rodrigues vectors are ambiguous at angle pi.
    const Eigen::Matrix3d ra = ca.cam_from_world.RotationMatrix();
    const Eigen::Matrix3d rb = cb.cam_from_world.RotationMatrix();
    EXPECT_LE((ra - rb).cwiseAbs().maxCoeff(), rel) << ra << "\nvs\n" << rb;
    const Eigen::Vector3d ta = ca.cam_from_world.translation;
    const Eigen::Vector3d tb = cb.cam_from_world.translation;
    EXPECT_LE((ta - tb).norm(), rel * ta.norm()) << ta.transpose() << " vs " << tb.transpose();
  }
}

TEST(CalibFormats, RoundTripThroughEveryWritableFormat) {
  const std::string dir = ScratchDir("rt");
  const Rig rig = RandomRig(5, /*with_k3=*/false, /*with_fisheye=*/false, 7);
  const std::string yaml = dir + "/rig.yaml";
  const std::string anipose = dir + "/anipose.toml";
  const std::string pose2sim = dir + "/pose2sim.toml";
  const std::string freemocap = dir + "/freemocap.toml";
  const std::string yaml2 = dir + "/rig2.yaml";
  WriteRig(rig, yaml, {CalibFormat::kRigpose});
  WriteRig(ReadRig(yaml), anipose, {CalibFormat::kAnipose});
  WriteRig(ReadRig(anipose), pose2sim, {CalibFormat::kPose2Sim});
  WriteRig(ReadRig(pose2sim), freemocap, {CalibFormat::kFreeMocap});
  const Rig from_freemocap = ReadRig(freemocap);
  EXPECT_EQ(from_freemocap.source_format, "freemocap");
  EXPECT_EQ(from_freemocap.source_unit, LengthUnit::kMillimetre);
  WriteRig(from_freemocap, yaml2, {CalibFormat::kRigpose});
  ExpectSameRig(rig, ReadRig(yaml2));
  // Each intermediate file is detected as what it is.
  EXPECT_EQ(DetectCalibFormat(yaml), CalibFormat::kRigpose);
  EXPECT_EQ(DetectCalibFormat(anipose), CalibFormat::kAnipose);
  EXPECT_EQ(DetectCalibFormat(pose2sim), CalibFormat::kPose2Sim);
  EXPECT_EQ(DetectCalibFormat(freemocap), CalibFormat::kFreeMocap);
  // FreeMoCap really stores millimetres.
  EXPECT_NE(ReadText(freemocap).find("unit = \"mm\""), std::string::npos);
}

TEST(CalibFormats, RoundTripFisheyeAndK3ThroughAniposeAndYaml) {
  const std::string dir = ScratchDir("fisheye");
  const Rig rig = RandomRig(3, /*with_k3=*/true, /*with_fisheye=*/true, 11);
  WriteRig(rig, dir + "/a.toml", {CalibFormat::kAnipose, LengthUnit::kMillimetre});
  const Rig back = ReadRig(dir + "/a.toml");
  EXPECT_EQ(back.cameras[1].model_id, CameraModelId::kOpenCVFisheye);
  EXPECT_EQ(back.source_unit, LengthUnit::kMillimetre);  // declared in [metadata]
  ExpectSameRig(rig, back);
  WriteRig(back, dir + "/b.yaml", {CalibFormat::kRigpose});
  ExpectSameRig(rig, ReadRig(dir + "/b.yaml"));
}

TEST(CalibFormats, RoundTripEasyMocap) {
  const std::string dir = ScratchDir("easymocap");
  const Rig rig = RandomRig(4, true, false, 3);
  WriteRig(rig, dir, {CalibFormat::kEasyMocap});
  EXPECT_EQ(DetectCalibFormat(dir), CalibFormat::kEasyMocap);
  EXPECT_EQ(ReadText(dir + "/intri.yml").rfind("%YAML:1.0", 0), 0u);
  ExpectSameRig(rig, ReadRig(dir));
  ExpectSameRig(rig, ReadRig(dir + "/extri.yml"));
}

TEST(CalibFormats, Pose2SimRefusesToDropK3UnlessForced) {
  const std::string dir = ScratchDir("k3");
  const Rig rig = RandomRig(2, /*with_k3=*/true, false, 5);
  const std::string out = dir + "/p2s.toml";
  try {
    WriteRig(rig, out, {CalibFormat::kPose2Sim});
    FAIL() << "expected IoError";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("k3"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("cam_0"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(out));
  EXPECT_EQ(test::CountEntries(dir), 0);
  std::vector<std::string> warnings;
  WriteRig(rig, out, {CalibFormat::kPose2Sim, LengthUnit::kMetre, /*force=*/true}, &warnings);
  EXPECT_EQ(warnings.size(), 2u);
  EXPECT_EQ(ReadRig(out).cameras[0].params[8], 0.0);
}

// anipose sorts its tables as text (cam_10 before cam_2): identity must come from `name`.
TEST(CalibFormats, AniposeTwelveCamerasKeepIdentity) {
  const std::string dir = ScratchDir("twelve");
  std::string text;
  // Tables in text order, as aniposelib writes them; fx encodes the camera number.
  std::vector<int> order = {0, 1, 10, 11, 2, 3, 4, 5, 6, 7, 8, 9};
  for (int i : order) {
    const double angle = 2 * M_PI * i / 12;
    text += "[cam_" + std::to_string(i) + "]\nname = \"cam" + std::to_string(i) + "\"\n" +
            "size = [1280, 720]\nmatrix = [[" + std::to_string(1000 + i) +
            ".0, 0.0, 640.0], [0.0, 1000.0, 360.0], [0.0, 0.0, 1.0]]\n" +
            "distortions = [0.0, 0.0, 0.0, 0.0, 0.0]\nrotation = [0.0, " + std::to_string(angle) +
            ", 0.0]\ntranslation = [0.0, 0.0, " + std::to_string(3000 + i) + ".0]\n\n";
  }
  WriteText(dir + "/calibration.toml", text);
  CalibReadOptions options;
  options.unit = LengthUnit::kMillimetre;
  const Rig rig = ReadRig(dir + "/calibration.toml", options);
  ASSERT_EQ(rig.NumCameras(), 12);
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(rig.cameras[i].name, "cam" + std::to_string(i));
    EXPECT_EQ(rig.cameras[i].fx(), 1000.0 + i);
    EXPECT_NEAR(rig.cameras[i].cam_from_world.translation.z(), (3000.0 + i) / 1000.0, 1e-12);
  }
  EXPECT_EQ(rig.MatchCamera("cam_10").value(), 10);
  EXPECT_EQ(rig.MatchCamera("Cam2").value(), 2);
  // Written back, the table keys are zero-padded so text order = camera order for aniposelib.
  WriteRig(rig, dir + "/out.toml", {CalibFormat::kAnipose});
  const std::string out = ReadText(dir + "/out.toml");
  EXPECT_NE(out.find("[cam_02]\nname = \"cam2\""), std::string::npos);
  const Rig back = ReadRig(dir + "/out.toml");
  for (int i = 0; i < 12; ++i) EXPECT_EQ(back.cameras[i].fx(), 1000.0 + i);
}

TEST(CalibFormats, AniposeUnitsAreDeclaredAndImplausibleSpreadWarns) {
  const std::string dir = ScratchDir("units");
  const Rig rig = RandomRig(4, false, false, 9);
  WriteRig(rig, dir + "/mm.toml", {CalibFormat::kAnipose, LengthUnit::kMillimetre});
  // Remove the [metadata] unit declaration: a plain anipose file in mm.
  std::string text = ReadText(dir + "/mm.toml");
  text = text.substr(0, text.find("[metadata]"));
  WriteText(dir + "/plain.toml", text);
  std::vector<std::string> warnings;
  const Rig as_metres = ReadRig(dir + "/plain.toml", {}, &warnings);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("--units mm"), std::string::npos) << warnings[0];
  EXPECT_NEAR(as_metres.MaxCameraSeparation(), 1000.0 * rig.MaxCameraSeparation(), 1e-6);
  warnings.clear();
  CalibReadOptions options;
  options.unit = LengthUnit::kMillimetre;
  const Rig declared = ReadRig(dir + "/plain.toml", options, &warnings);
  EXPECT_TRUE(warnings.empty());
  ExpectSameRig(rig, declared);
}

// ---- Bad input: one test per defect, each message names the file and the key. -----------

struct BadCase {
  std::string name;
  std::string file;  // file name (extension selects the reader)
  std::string content;
  std::string expect1;  // substrings the message must contain (besides the path)
  std::string expect2;
};

const char* kGoodAnipose =
    "[cam_0]\nname = \"cam_0\"\nsize = [1280, 720]\n"
    "matrix = [[1000.0, 0.0, 640.0], [0.0, 1000.0, 360.0], [0.0, 0.0, 1.0]]\n"
    "distortions = [-0.1, 0.01, 0.0, 0.0, 0.0]\nrotation = [0.1, 0.2, 0.3]\n"
    "translation = [0.1, 0.2, 3.0]\n";

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const size_t pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  return text.replace(pos, from.size(), to);
}

const char* kGoodYaml =
    "rigpose_rig_version: 1\ncameras:\n  - name: cam_0\n    model: OPENCV\n    width: 1280\n"
    "    height: 720\n    params: [1000, 1000, 640, 360, -0.1, 0.01, 0, 0, 0]\n"
    "    cam_from_world:\n      rotation_wxyz: [1, 0, 0, 0]\n      translation_m: [0, 0, 3]\n";

std::vector<BadCase> BadCases() {
  const std::string a = kGoodAnipose;
  const std::string y = kGoodYaml;
  return {
      // anipose / Pose2Sim TOML
      {"toml_missing_key",
       "c.toml",
       Replace(a, "rotation = [0.1, 0.2, 0.3]\n", ""),
       "cam_0.rotation",
       "missing"},
      {"toml_wrong_type",
       "c.toml",
       Replace(a, "size = [1280, 720]", "size = \"big\""),
       "cam_0.size",
       "list"},
      {"toml_nan",
       "c.toml",
       Replace(a, "[0.1, 0.2, 3.0]", "[0.1, nan, 3.0]"),
       "cam_0.translation",
       "finite"},
      {"toml_bad_rotation_matrix",
       "c.toml",
       Replace(a,
               "rotation = [0.1, 0.2, 0.3]",
               "rotation = [[1.0, 0.2, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]"),
       "cam_0.rotation",
       "orthonormal"},
      {"toml_reflection",
       "c.toml",
       Replace(a,
               "rotation = [0.1, 0.2, 0.3]",
               "rotation = [[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]"),
       "cam_0.rotation",
       "reflection"},
      {"toml_transposed_k",
       "c.toml",
       Replace(a,
               "[[1000.0, 0.0, 640.0], [0.0, 1000.0, 360.0], [0.0, 0.0, 1.0]]",
               "[[1000.0, 0.0, 0.0], [0.0, 1000.0, 0.0], [640.0, 360.0, 1.0]]"),
       "cam_0.matrix",
       "transposed"},
      {"toml_zero_focal",
       "c.toml",
       Replace(a, "[[1000.0, 0.0", "[[0.0, 0.0"),
       "cam_0.matrix",
       "focal"},
      {"toml_negative_size",
       "c.toml",
       Replace(a, "[1280, 720]", "[1280, -720]"),
       "cam_0.size",
       "positive"},
      {"toml_truncated", "c.toml", a.substr(0, 120), "TOML syntax error", ""},
      {"toml_bad_distortion_count",
       "c.toml",
       Replace(a, "[-0.1, 0.01, 0.0, 0.0, 0.0]", "[-0.1, 0.01, 0.0]"),
       "distortions",
       "3"},
      // rigpose YAML
      {"yaml_missing_key",
       "r.yaml",
       Replace(y, "    height: 720\n", ""),
       "cameras[0].height",
       "missing"},
      {"yaml_unknown_key",
       "r.yaml",
       Replace(y, "    width: 1280\n", "    width: 1280\n    widht: 1280\n"),
       "cameras[0].widht",
       "unknown key"},
      {"yaml_wrong_type",
       "r.yaml",
       Replace(y, "width: 1280", "width: wide"),
       "cameras[cam_0].width",
       "number"},
      {"yaml_nan",
       "r.yaml",
       Replace(y, "[1000, 1000, 640", "[.nan, 1000, 640"),
       "cameras[cam_0].params",
       "finite"},
      {"yaml_bad_quaternion",
       "r.yaml",
       Replace(y, "[1, 0, 0, 0]", "[1, 1, 0, 0]"),
       "rotation_wxyz",
       "unit length"},
      {"yaml_wrong_count",
       "r.yaml",
       Replace(y, "-0.1, 0.01, 0, 0, 0]", "-0.1]"),
       "cameras[cam_0].params",
       "9 numbers"},
      {"yaml_zero_focal", "r.yaml", Replace(y, "[1000, 1000, 640", "[1000, 0, 640"), "cam_0", "fy"},
      {"yaml_bad_size",
       "r.yaml",
       Replace(y, "width: 1280", "width: 0"),
       "cameras[cam_0].width",
       "positive"},
      {"yaml_truncated", "r.yaml", y.substr(0, 150) + "[1, 0,", "YAML syntax error", ""},
      {"yaml_bad_version",
       "r.yaml",
       Replace(y, "rigpose_rig_version: 1", "rigpose_rig_version: 7"),
       "rigpose_rig_version",
       "unsupported"},
      // Caliscope camera_array.toml
      {"caliscope_no_extrinsics",
       "camera_array.toml",
       "[cameras.0]\ncam_id = 0\nsize = [1280, 720]\nmatrix = [[900.0, 0.0, 640.0], [0.0, 900.0, "
       "360.0], "
       "[0.0, 0.0, 1.0]]\ndistortions = [0.0, 0.0, 0.0, 0.0, 0.0]\n",
       "cameras.0",
       "extrinsics"},
      // Panoptic JSON
      {"panoptic_missing_key",
       "p.json",
       R"({"cameras":[{"name":"00_00","type":"hd","resolution":[1920,1080],"K":[[1000,0,960],[0,1000,540],[0,0,1]],"distCoef":[0,0,0,0,0],"R":[[1,0,0],[0,1,0],[0,0,1]]}]})",
       "cameras[00_00].t",
       "missing"},
      {"panoptic_bad_r",
       "p.json",
       R"({"cameras":[{"name":"00_00","type":"hd","resolution":[1920,1080],"K":[[1000,0,960],[0,1000,540],[0,0,1]],"distCoef":[0,0,0,0,0],"R":[[2,0,0],[0,1,0],[0,0,1]],"t":[[0],[0],[100]]}]})",
       "cameras[00_00].R",
       "orthonormal"},
      {"panoptic_truncated",
       "p.json",
       R"({"cameras":[{"name":"00_00","type":"hd")",
       "JSON syntax error",
       ""},
      {"panoptic_wrong_type",
       "p.json",
       R"({"cameras":[{"name":"00_00","type":"hd","resolution":"hd","K":[[1000,0,960],[0,1000,540],[0,0,1]],"distCoef":[0,0,0,0,0],"R":[[1,0,0],[0,1,0],[0,0,1]],"t":[[0],[0],[100]]}]})",
       "cameras[00_00].resolution",
       "list"},
  };
}

class BadCalibration : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadCalibration, ClearErrorNamingFileAndKey) {
  const BadCase& c = GetParam();
  const std::string dir = ScratchDir(c.name);
  const std::string path = dir + "/" + c.file;
  WriteText(path, c.content);
  try {
    ReadRig(path);
    FAIL() << "expected IoError for " << c.name;
  } catch (const IoError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find(c.expect1), std::string::npos) << message;
    EXPECT_NE(message.find(c.expect2), std::string::npos) << message;
  }
}

INSTANTIATE_TEST_SUITE_P(EveryReader,
                         BadCalibration,
                         ::testing::ValuesIn(BadCases()),
                         [](const ::testing::TestParamInfo<BadCase>& param_info) {
                           return param_info.param.name;
                         });

TEST(CalibFormats, EasyMocapBadInput) {
  const std::string dir = ScratchDir("emc");
  const Rig rig = RandomRig(2, false, false, 1);
  WriteRig(rig, dir, {CalibFormat::kEasyMocap});
  // Missing extri.yml.
  fs::remove(dir + "/extri.yml");
  EXPECT_THROW(
      {
        try {
          ReadRig(dir);
        } catch (const IoError& e) {
          EXPECT_NE(std::string(e.what()).find("extri.yml"), std::string::npos) << e.what();
          throw;
        }
      },
      IoError);
  // A camera missing its K.
  WriteRig(rig, dir, {CalibFormat::kEasyMocap});
  std::string intri = ReadText(dir + "/intri.yml");
  const size_t k = intri.find("K_cam_1:");
  ASSERT_NE(k, std::string::npos);
  intri.replace(k, 8, "Q_cam_1:");
  WriteText(dir + "/intri.yml", intri);
  try {
    ReadRig(dir);
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("K_cam_1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("intri.yml"), std::string::npos) << e.what();
  }
}

TEST(CalibFormats, WriteToMissingDirectoryLeavesNothing) {
  const std::string dir = ScratchDir("missing");
  const Rig rig = RandomRig(2, false, false, 2);
  EXPECT_THROW(WriteRig(rig, dir + "/no/such/dir/rig.yaml", {CalibFormat::kRigpose}), IoError);
  EXPECT_THROW(WriteRig(rig, dir + "/no_dir_easymocap", {CalibFormat::kEasyMocap}), IoError);
  EXPECT_EQ(test::CountEntries(dir), 0);
}

TEST(CalibFormats, UnknownExtensionAndMissingFile) {
  const std::string dir = ScratchDir("ext");
  WriteText(dir + "/rig.txt", "hello");
  EXPECT_THROW(ReadRig(dir + "/rig.txt"), IoError);
  EXPECT_THROW(ReadRig(dir + "/absent.yaml"), IoError);
}

}  // namespace
}  // namespace rigpose

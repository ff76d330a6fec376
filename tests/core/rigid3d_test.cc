// SPDX-License-Identifier: BSD-3-Clause
#include "core/rigid3d.h"

#include <cmath>
#include <limits>
#include <random>

#include <gtest/gtest.h>

#include <Eigen/Core>
#include <Eigen/Geometry>

#if defined(RIGPOSE_TEST_WITH_OPENCV)
#include <opencv2/calib3d.hpp>
#include <opencv2/core.hpp>
#endif

namespace rigpose {
namespace {

Eigen::Vector3d RandomUnitVector(std::mt19937* rng) {
  std::normal_distribution<double> normal(0.0, 1.0);
  return Eigen::Vector3d(normal(*rng), normal(*rng), normal(*rng)).normalized();
}

Rigid3d RandomRigid3d(std::mt19937* rng) {
  std::uniform_real_distribution<double> angle(0.0, M_PI);
  std::uniform_real_distribution<double> coordinate(-5.0, 5.0);
  return Rigid3d::FromRodrigues(
      RandomUnitVector(rng) * angle(*rng),
      Eigen::Vector3d(coordinate(*rng), coordinate(*rng), coordinate(*rng)));
}

// Rodrigues formula written out, independent of the quaternion path.
Eigen::Matrix3d RotationFromRodriguesReference(const Eigen::Vector3d& rotation_vector) {
  const double angle = rotation_vector.norm();
  if (angle == 0.0) return Eigen::Matrix3d::Identity();
  return Eigen::AngleAxisd(angle, rotation_vector / angle).toRotationMatrix();
}

#if defined(RIGPOSE_TEST_WITH_OPENCV)
Eigen::Matrix3d RotationFromRodriguesCv(const Eigen::Vector3d& rotation_vector) {
  cv::Mat rotation_matrix;
  cv::Rodrigues(cv::Vec3d(rotation_vector.x(), rotation_vector.y(), rotation_vector.z()),
                rotation_matrix);
  Eigen::Matrix3d out;
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) out(r, c) = rotation_matrix.at<double>(r, c);
  }
  return out;
}

Eigen::Vector3d RodriguesFromRotationCv(const Eigen::Matrix3d& rotation_matrix) {
  cv::Mat m(3, 3, CV_64F);
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) m.at<double>(r, c) = rotation_matrix(r, c);
  }
  cv::Vec3d rotation_vector;
  cv::Rodrigues(m, rotation_vector);
  return Eigen::Vector3d(rotation_vector[0], rotation_vector[1], rotation_vector[2]);
}

TEST(QuaternionFromRodrigues, MatchesOpenCV) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<double> angle(0.0, M_PI);
  for (int i = 0; i < 2000; ++i) {
    const Eigen::Vector3d rotation_vector = RandomUnitVector(&rng) * angle(rng);
    const Eigen::Matrix3d expected = RotationFromRodriguesCv(rotation_vector);
    const Eigen::Matrix3d actual = QuaternionFromRodrigues(rotation_vector).toRotationMatrix();
    EXPECT_LT((actual - expected).cwiseAbs().maxCoeff(), 1e-14) << rotation_vector.transpose();
  }
}

TEST(RodriguesFromQuaternion, MatchesOpenCV) {
  std::mt19937 rng(2);
  std::uniform_real_distribution<double> angle(1e-3, M_PI - 1e-3);
  for (int i = 0; i < 2000; ++i) {
    const Eigen::Vector3d rotation_vector = RandomUnitVector(&rng) * angle(rng);
    const Eigen::Quaterniond q(
        Eigen::AngleAxisd(rotation_vector.norm(), rotation_vector.normalized()));
    const Eigen::Vector3d expected = RodriguesFromRotationCv(q.toRotationMatrix());
    EXPECT_LT((RodriguesFromQuaternion(q) - expected).norm(), 1e-9) << rotation_vector.transpose();
  }
}

TEST(QuaternionFromRodrigues, TinyAngleMatchesOpenCV) {
  std::mt19937 rng(3);
  for (double angle : {1e-12, 3e-10, 1e-9, 5e-9, 2e-8}) {
    const Eigen::Vector3d rotation_vector = RandomUnitVector(&rng) * angle;
    const Eigen::Matrix3d expected = RotationFromRodriguesCv(rotation_vector);
    const Eigen::Matrix3d actual = QuaternionFromRodrigues(rotation_vector).toRotationMatrix();
    EXPECT_LT((actual - expected).cwiseAbs().maxCoeff(), 1e-15) << angle;
    // The skew part (R - R^T) / 2 = sin(angle) [axis]_x carries the angle itself: relative
    // accuracy, not just absolute.
    const Eigen::Matrix3d skew = 0.5 * (actual - actual.transpose());
    EXPECT_NEAR(skew(2, 1), rotation_vector.x(), 1e-12 * angle);
    EXPECT_NEAR(skew(0, 2), rotation_vector.y(), 1e-12 * angle);
    EXPECT_NEAR(skew(1, 0), rotation_vector.z(), 1e-12 * angle);
  }
}
#endif  // RIGPOSE_TEST_WITH_OPENCV

TEST(QuaternionFromRodrigues, MatchesAngleAxis) {
  std::mt19937 rng(4);
  std::uniform_real_distribution<double> angle(0.0, M_PI);
  for (int i = 0; i < 1000; ++i) {
    const Eigen::Vector3d rotation_vector = RandomUnitVector(&rng) * angle(rng);
    const Eigen::Quaterniond q = QuaternionFromRodrigues(rotation_vector);
    EXPECT_NEAR(q.norm(), 1.0, 1e-15);
    EXPECT_LT((q.toRotationMatrix() - RotationFromRodriguesReference(rotation_vector))
                  .cwiseAbs()
                  .maxCoeff(),
              1e-14);
  }
  EXPECT_TRUE(QuaternionFromRodrigues(Eigen::Vector3d::Zero())
                  .coeffs()
                  .isApprox(Eigen::Quaterniond::Identity().coeffs()));
}

TEST(RodriguesFromQuaternion, RoundTrip) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> angle(0.0, M_PI - 1e-6);
  for (int i = 0; i < 2000; ++i) {
    const Eigen::Vector3d rotation_vector = RandomUnitVector(&rng) * angle(rng);
    const Eigen::Vector3d round_trip =
        RodriguesFromQuaternion(QuaternionFromRodrigues(rotation_vector));
    EXPECT_LT((round_trip - rotation_vector).norm(), 1e-14 * std::max(1.0, rotation_vector.norm()))
        << rotation_vector.transpose();
  }
}

TEST(RodriguesFromQuaternion, TinyAngleRelativeAccuracy) {
  std::mt19937 rng(6);
  for (double angle : {1e-300, 1e-100, 1e-12, 1e-9, 9.9e-9, 1.01e-8, 1e-7, 1e-4}) {
    const Eigen::Vector3d rotation_vector = RandomUnitVector(&rng) * angle;
    const Eigen::Vector3d round_trip =
        RodriguesFromQuaternion(QuaternionFromRodrigues(rotation_vector));
    EXPECT_LT((round_trip - rotation_vector).norm(), 1e-15 * angle) << angle;
  }
  EXPECT_EQ(RodriguesFromQuaternion(Eigen::Quaterniond::Identity()), Eigen::Vector3d::Zero());
}

// Near pi the axis comes from the vector part (sin(angle/2) ~ 1), where quaternions are exact;
// the sign convention keeps the angle in [0, pi].
TEST(RodriguesFromQuaternion, NearPi) {
  std::mt19937 rng(7);
  for (double gap : {1e-3, 1e-6, 1e-9, 1e-12, 0.0}) {
    for (int i = 0; i < 20; ++i) {
      const Eigen::Vector3d axis = RandomUnitVector(&rng);
      const Eigen::Vector3d rotation_vector = axis * (M_PI - gap);
      const Eigen::Vector3d round_trip =
          RodriguesFromQuaternion(QuaternionFromRodrigues(rotation_vector));
      EXPECT_LE(round_trip.norm(), M_PI + 1e-15);
      if (gap > 0.0) {
        EXPECT_LT((round_trip - rotation_vector).norm(), 1e-13) << gap;
      } else {
        // At exactly pi, axis and -axis are the same rotation.
        EXPECT_LT(
            std::min((round_trip - rotation_vector).norm(), (round_trip + rotation_vector).norm()),
            1e-13);
      }
      EXPECT_LT((QuaternionFromRodrigues(round_trip).toRotationMatrix() -
                 RotationFromRodriguesReference(rotation_vector))
                    .cwiseAbs()
                    .maxCoeff(),
                1e-14);
#if defined(RIGPOSE_TEST_WITH_OPENCV)
      EXPECT_LT((QuaternionFromRodrigues(rotation_vector).toRotationMatrix() -
                 RotationFromRodriguesCv(rotation_vector))
                    .cwiseAbs()
                    .maxCoeff(),
                1e-14);
#endif
    }
  }
}

// Beyond pi the same rotation is returned with the short way round.
TEST(RodriguesFromQuaternion, AngleBeyondPiWraps) {
  const Eigen::Vector3d axis = Eigen::Vector3d(1, 2, 3).normalized();
  const Eigen::Vector3d round_trip =
      RodriguesFromQuaternion(QuaternionFromRodrigues(axis * (1.5 * M_PI)));
  EXPECT_LT((round_trip - (-axis * (0.5 * M_PI))).norm(), 1e-14);
  // q and -q are the same rotation.
  const Eigen::Quaterniond q = QuaternionFromRodrigues(axis * 1.0);
  Eigen::Quaterniond minus_q = q;
  minus_q.coeffs() = -q.coeffs();
  EXPECT_LT((RodriguesFromQuaternion(minus_q) - axis).norm(), 1e-15);
  // Non-unit quaternions are normalised first.
  Eigen::Quaterniond scaled = q;
  scaled.coeffs() *= 3.0;
  EXPECT_LT((RodriguesFromQuaternion(scaled) - axis).norm(), 1e-15);
}

TEST(Rigid3d, ConstructorNormalises) {
  const Rigid3d t(Eigen::Quaterniond(2.0, 0.0, 0.0, 0.0), Eigen::Vector3d(1, 2, 3));
  EXPECT_NEAR(t.rotation.norm(), 1.0, 1e-15);
  EXPECT_LT((t * Eigen::Vector3d(1, 1, 1) - Eigen::Vector3d(2, 3, 4)).norm(), 1e-15);
  const Rigid3d identity;
  EXPECT_EQ(identity * Eigen::Vector3d(1, -2, 3), Eigen::Vector3d(1, -2, 3));
}

TEST(Rigid3d, ApplyMatchesMatrix) {
  std::mt19937 rng(8);
  for (int i = 0; i < 200; ++i) {
    const Rigid3d b_from_a = RandomRigid3d(&rng);
    const Eigen::Vector3d point_in_a = RandomUnitVector(&rng) * 3.0;
    const Eigen::Matrix<double, 3, 4> m = b_from_a.ToMatrix3x4();
    EXPECT_LT((m * point_in_a.homogeneous() - b_from_a * point_in_a).norm(), 1e-14);
    EXPECT_LT((m.leftCols<3>() - b_from_a.RotationMatrix()).norm(), 1e-15);
    EXPECT_EQ(m.col(3), b_from_a.translation);
    EXPECT_LT((m.leftCols<3>() * m.leftCols<3>().transpose() - Eigen::Matrix3d::Identity())
                  .cwiseAbs()
                  .maxCoeff(),
              1e-14);
  }
}

TEST(Rigid3d, Inverse) {
  std::mt19937 rng(9);
  for (int i = 0; i < 200; ++i) {
    const Rigid3d b_from_a = RandomRigid3d(&rng);
    const Rigid3d a_from_b = b_from_a.Inverse();
    const Eigen::Vector3d point_in_a = RandomUnitVector(&rng) * 7.0;
    EXPECT_LT((a_from_b * (b_from_a * point_in_a) - point_in_a).norm(), 1e-13);
    const Rigid3d identity = a_from_b * b_from_a;
    EXPECT_LT(identity.translation.norm(), 1e-14);
    EXPECT_NEAR(std::abs(identity.rotation.w()), 1.0, 1e-15);
    // Closed form of the inverse: [R^T | -R^T t].
    const Eigen::Matrix3d r = b_from_a.RotationMatrix();
    EXPECT_LT((a_from_b.RotationMatrix() - r.transpose()).cwiseAbs().maxCoeff(), 1e-14);
    EXPECT_LT((a_from_b.translation + r.transpose() * b_from_a.translation).norm(), 1e-14);
  }
}

TEST(Rigid3d, Composition) {
  std::mt19937 rng(10);
  for (int i = 0; i < 200; ++i) {
    const Rigid3d c_from_b = RandomRigid3d(&rng);
    const Rigid3d b_from_a = RandomRigid3d(&rng);
    const Rigid3d c_from_a = c_from_b * b_from_a;
    const Eigen::Vector3d point_in_a = RandomUnitVector(&rng) * 2.0;
    EXPECT_LT((c_from_a * point_in_a - c_from_b * (b_from_a * point_in_a)).norm(), 1e-13);
    Eigen::Matrix4d c_from_b_h = Eigen::Matrix4d::Identity();
    Eigen::Matrix4d b_from_a_h = Eigen::Matrix4d::Identity();
    c_from_b_h.topRows<3>() = c_from_b.ToMatrix3x4();
    b_from_a_h.topRows<3>() = b_from_a.ToMatrix3x4();
    EXPECT_LT(
        ((c_from_b_h * b_from_a_h).topRows<3>() - c_from_a.ToMatrix3x4()).cwiseAbs().maxCoeff(),
        1e-13);
    EXPECT_NEAR(c_from_a.rotation.norm(), 1.0, 1e-15);
  }
  // Not commutative: order matters.
  const Rigid3d rotate =
      Rigid3d::FromRodrigues(Eigen::Vector3d(0, 0, M_PI / 2), Eigen::Vector3d::Zero());
  const Rigid3d shift(Eigen::Quaterniond::Identity(), Eigen::Vector3d(1, 0, 0));
  EXPECT_LT(((rotate * shift) * Eigen::Vector3d::Zero() - Eigen::Vector3d(0, 1, 0)).norm(), 1e-15);
  EXPECT_LT(((shift * rotate) * Eigen::Vector3d::Zero() - Eigen::Vector3d(1, 0, 0)).norm(), 1e-15);
}

TEST(Rigid3d, FromMatrixAndRodrigues) {
  std::mt19937 rng(11);
  for (int i = 0; i < 200; ++i) {
    const Rigid3d expected = RandomRigid3d(&rng);
    const Rigid3d from_matrix =
        Rigid3d::FromMatrix(expected.RotationMatrix(), expected.translation);
    EXPECT_LT((from_matrix.ToMatrix3x4() - expected.ToMatrix3x4()).cwiseAbs().maxCoeff(), 1e-14);
    const Rigid3d from_rodrigues =
        Rigid3d::FromRodrigues(expected.RodriguesVector(), expected.translation);
    EXPECT_LT((from_rodrigues.ToMatrix3x4() - expected.ToMatrix3x4()).cwiseAbs().maxCoeff(), 1e-14);
    EXPECT_LE(expected.RodriguesVector().norm(), M_PI + 1e-15);
  }
}

TEST(RotationMatrixProblem, Nominal) {
  std::mt19937 rng(12);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(RotationMatrixProblem(RandomRigid3d(&rng).RotationMatrix()), "");
  }
  EXPECT_EQ(RotationMatrixProblem(Eigen::Matrix3d::Identity()), "");
  // Within tolerance.
  Eigen::Matrix3d almost = Eigen::Matrix3d::Identity();
  almost(0, 1) = 1e-8;
  EXPECT_EQ(RotationMatrixProblem(almost), "");
}

TEST(RotationMatrixProblem, NonOrthonormal) {
  const Eigen::Matrix3d scaled = 1.01 * Eigen::Matrix3d::Identity();
  EXPECT_NE(RotationMatrixProblem(scaled).find("not orthonormal"), std::string::npos)
      << RotationMatrixProblem(scaled);
  Eigen::Matrix3d sheared = Eigen::Matrix3d::Identity();
  sheared(0, 1) = 1e-3;
  EXPECT_NE(RotationMatrixProblem(sheared), "");
  // Tolerance is honoured both ways.
  EXPECT_EQ(RotationMatrixProblem(sheared, 1e-2), "");
  EXPECT_NE(RotationMatrixProblem(Eigen::Matrix3d::Zero()), "");
}

TEST(RotationMatrixProblem, Reflection) {
  const Eigen::Matrix3d reflection = Eigen::Vector3d(1, 1, -1).asDiagonal();
  const std::string problem = RotationMatrixProblem(reflection);
  EXPECT_NE(problem.find("reflection"), std::string::npos) << problem;
  EXPECT_NE(RotationMatrixProblem(-Eigen::Matrix3d::Identity()), "");
}

TEST(RotationMatrixProblem, NonFinite) {
  for (double bad : {std::numeric_limits<double>::quiet_NaN(),
                     std::numeric_limits<double>::infinity(),
                     -std::numeric_limits<double>::infinity()}) {
    Eigen::Matrix3d r = Eigen::Matrix3d::Identity();
    r(1, 2) = bad;
    const std::string problem = RotationMatrixProblem(r);
    EXPECT_NE(problem.find("non-finite"), std::string::npos) << problem;
  }
}

}  // namespace
}  // namespace rigpose

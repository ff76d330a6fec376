// SPDX-License-Identifier: BSD-3-Clause
#include "core/skeleton.h"

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"

namespace rigpose {
namespace {

TEST(SkeletonNames, JointCounts) {
  const std::map<std::string, int> expected = {{"coco17", 17},
                                               {"halpe26", 26},
                                               {"body25", 25},
                                               {"body25b", 25},
                                               {"h36m17", 17},
                                               {"panoptic19", 19}};
  EXPECT_EQ(SkeletonNames().size(), expected.size());
  for (const auto& [name, count] : expected) {
    const Skeleton& skeleton = GetSkeleton(name);
    EXPECT_EQ(skeleton.name, name);
    EXPECT_EQ(skeleton.NumJoints(), count) << name;
  }
}

TEST(Skeleton, BonesReferenceValidDistinctJoints) {
  for (const std::string& name : SkeletonNames()) {
    const Skeleton& skeleton = GetSkeleton(name);
    EXPECT_FALSE(skeleton.bones.empty()) << name;
    std::set<std::pair<int, int>> seen;
    for (const auto& [a, b] : skeleton.bones) {
      EXPECT_GE(a, 0) << name;
      EXPECT_GE(b, 0) << name;
      EXPECT_LT(a, skeleton.NumJoints()) << name;
      EXPECT_LT(b, skeleton.NumJoints()) << name;
      EXPECT_NE(a, b) << name;
      EXPECT_TRUE(seen.insert({std::min(a, b), std::max(a, b)}).second)
          << name << " duplicate bone " << a << "-" << b;
    }
    // A tree or better: every joint is on at least one bone.
    std::set<int> on_bone;
    for (const auto& [a, b] : skeleton.bones) {
      on_bone.insert(a);
      on_bone.insert(b);
    }
    EXPECT_EQ(static_cast<int>(on_bone.size()), skeleton.NumJoints()) << name;
  }
}

TEST(Skeleton, JointNamesUnique) {
  for (const std::string& name : SkeletonNames()) {
    const Skeleton& skeleton = GetSkeleton(name);
    const std::set<std::string> unique(skeleton.joint_names.begin(), skeleton.joint_names.end());
    EXPECT_EQ(static_cast<int>(unique.size()), skeleton.NumJoints()) << name;
    for (int j = 0; j < skeleton.NumJoints(); ++j) {
      EXPECT_EQ(skeleton.JointIndex(skeleton.joint_names[j]), j) << name;
    }
    EXPECT_FALSE(skeleton.JointIndex("no_such_joint").has_value());
  }
}

TEST(SkeletonFlipPermutation, InvolutionMapsLeftToRight) {
  for (const std::string& name : SkeletonNames()) {
    const Skeleton& skeleton = GetSkeleton(name);
    const std::vector<int> flip = skeleton.FlipPermutation();
    ASSERT_EQ(static_cast<int>(flip.size()), skeleton.NumJoints()) << name;
    int num_swapped = 0;
    for (int j = 0; j < skeleton.NumJoints(); ++j) {
      ASSERT_GE(flip[j], 0);
      ASSERT_LT(flip[j], skeleton.NumJoints());
      EXPECT_EQ(flip[flip[j]], j) << name << " " << skeleton.joint_names[j];
      const std::string& joint = skeleton.joint_names[j];
      const std::string& mirrored = skeleton.joint_names[flip[j]];
      if (joint.rfind("left_", 0) == 0) {
        EXPECT_EQ(mirrored, "right_" + joint.substr(5)) << name;
        ++num_swapped;
      } else if (joint.rfind("right_", 0) == 0) {
        EXPECT_EQ(mirrored, "left_" + joint.substr(6)) << name;
        ++num_swapped;
      } else {
        EXPECT_EQ(flip[j], j) << name << " " << joint;
      }
    }
    EXPECT_GT(num_swapped, 0) << name;
  }
}

TEST(Skeleton, Body25bStartsWithCoco17) {
  const Skeleton& coco = GetSkeleton("coco17");
  const Skeleton& body25b = GetSkeleton("body25b");
  ASSERT_GE(body25b.NumJoints(), 17);
  for (int j = 0; j < 17; ++j) EXPECT_EQ(body25b.joint_names[j], coco.joint_names[j]) << j;
  // Halpe-26 too.
  const Skeleton& halpe = GetSkeleton("halpe26");
  for (int j = 0; j < 17; ++j) EXPECT_EQ(halpe.joint_names[j], coco.joint_names[j]) << j;
}

TEST(Skeleton, Coco17Order) {
  const Skeleton& coco = GetSkeleton("coco17");
  EXPECT_EQ(coco.joint_names[0], "nose");
  EXPECT_EQ(coco.joint_names[5], "left_shoulder");
  EXPECT_EQ(coco.joint_names[16], "right_ankle");
  const Skeleton& body25 = GetSkeleton("body25");
  EXPECT_EQ(body25.joint_names[1], "neck");
  EXPECT_EQ(body25.joint_names[8], "mid_hip");
}

TEST(SkeletonFromJointCount, Nominal) {
  EXPECT_EQ(SkeletonFromJointCount(17), "coco17");
  EXPECT_EQ(SkeletonFromJointCount(26), "halpe26");
  EXPECT_EQ(SkeletonFromJointCount(19), "panoptic19");
  EXPECT_FALSE(SkeletonFromJointCount(25).has_value());
  EXPECT_FALSE(SkeletonFromJointCount(18).has_value());
  EXPECT_FALSE(SkeletonFromJointCount(0).has_value());
  EXPECT_FALSE(SkeletonFromJointCount(-1).has_value());
}

TEST(FindSkeleton, NamesAndAliases) {
  EXPECT_EQ(FindSkeleton("COCO-17"), &GetSkeleton("coco17"));
  EXPECT_EQ(FindSkeleton("BODY_25B"), &GetSkeleton("body25b"));
  EXPECT_EQ(FindSkeleton("body_25"), &GetSkeleton("body25"));
  EXPECT_EQ(FindSkeleton("Human3.6M-17"), &GetSkeleton("h36m17"));
  EXPECT_EQ(FindSkeleton("coco"), &GetSkeleton("coco17"));
  EXPECT_EQ(FindSkeleton("nope"), nullptr);
}

TEST(GetSkeleton, UnknownThrowsInputError) {
  EXPECT_THROW(GetSkeleton("nope"), InputError);
  try {
    GetSkeleton("nope");
    FAIL();
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("nope"), std::string::npos) << message;
    EXPECT_NE(message.find("coco17"), std::string::npos) << message;
  }
}

TEST(MakeJointMapping, Body25ToCoco17Exact) {
  const Skeleton& body25 = GetSkeleton("body25");
  const Skeleton& coco = GetSkeleton("coco17");
  const JointMapping m = MakeJointMapping(body25, coco);
  EXPECT_EQ(m.from, "body25");
  EXPECT_EQ(m.to, "coco17");
  ASSERT_EQ(static_cast<int>(m.sources.size()), 17);
  EXPECT_EQ(m.NumMapped(), 17);
  for (int j = 0; j < 17; ++j) {
    EXPECT_TRUE(m.exact[j]) << j;
    ASSERT_EQ(m.sources[j].size(), 1u) << j;
    EXPECT_EQ(body25.joint_names[m.sources[j][0].first], coco.joint_names[j]);
    EXPECT_EQ(m.sources[j][0].second, 1.0);
  }
}

TEST(MakeJointMapping, Coco17ToBody25DerivesNeckAndMidHip) {
  const Skeleton& coco = GetSkeleton("coco17");
  const Skeleton& body25 = GetSkeleton("body25");
  const JointMapping m = MakeJointMapping(coco, body25);
  ASSERT_EQ(static_cast<int>(m.sources.size()), 25);
  EXPECT_EQ(m.NumMapped(), 19);  // 17 by name + neck + mid_hip; feet unavailable
  using Sources = std::vector<std::pair<int, double>>;
  const int neck = *body25.JointIndex("neck");
  const int mid_hip = *body25.JointIndex("mid_hip");
  EXPECT_FALSE(m.exact[neck]);
  EXPECT_FALSE(m.exact[mid_hip]);
  EXPECT_EQ(m.sources[neck],
            (Sources{{*coco.JointIndex("left_shoulder"), 0.5},
                     {*coco.JointIndex("right_shoulder"), 0.5}}));
  EXPECT_EQ(m.sources[mid_hip],
            (Sources{{*coco.JointIndex("left_hip"), 0.5}, {*coco.JointIndex("right_hip"), 0.5}}));
  for (const char* foot : {"left_big_toe", "right_heel"}) {
    const int j = *body25.JointIndex(foot);
    EXPECT_TRUE(m.sources[j].empty()) << foot;
    EXPECT_FALSE(m.exact[j]) << foot;
  }
  for (int j = 0; j < 25; ++j) {
    double sum = 0.0;
    for (const auto& [index, weight] : m.sources[j]) {
      EXPECT_GE(index, 0);
      EXPECT_LT(index, coco.NumJoints());
      sum += weight;
    }
    if (!m.sources[j].empty()) {
      EXPECT_DOUBLE_EQ(sum, 1.0) << j;
    }
  }
}

TEST(MakeJointMapping, Panoptic19ToH36m17PelvisFromMidHip) {
  const Skeleton& panoptic = GetSkeleton("panoptic19");
  const Skeleton& h36m = GetSkeleton("h36m17");
  const JointMapping m = MakeJointMapping(panoptic, h36m);
  const int pelvis = *h36m.JointIndex("pelvis");
  ASSERT_EQ(m.sources[pelvis].size(), 1u);
  EXPECT_EQ(m.sources[pelvis][0].first, *panoptic.JointIndex("mid_hip"));
  EXPECT_EQ(m.sources[pelvis][0].second, 1.0);
  EXPECT_FALSE(m.exact[pelvis]);
  // Hips, knees, ankles, shoulders, elbows, wrists by name; spine, thorax, neck_base, head_top
  // unavailable.
  EXPECT_EQ(m.NumMapped(), 13);
  EXPECT_TRUE(m.sources[*h36m.JointIndex("head_top")].empty());
  EXPECT_TRUE(m.sources[*h36m.JointIndex("spine")].empty());
}

TEST(MakeJointMapping, IdentityIsExact) {
  for (const std::string& name : SkeletonNames()) {
    const Skeleton& skeleton = GetSkeleton(name);
    const JointMapping m = MakeJointMapping(skeleton, skeleton);
    EXPECT_EQ(m.NumMapped(), skeleton.NumJoints()) << name;
    for (int j = 0; j < skeleton.NumJoints(); ++j) {
      EXPECT_TRUE(m.exact[j]);
      ASSERT_EQ(m.sources[j].size(), 1u);
      EXPECT_EQ(m.sources[j][0].first, j);
    }
  }
}

}  // namespace
}  // namespace rigpose

// SPDX-License-Identifier: BSD-3-Clause
// Multi-view scores of a capture's 2D keypoints: what a calibrated rig knows about a detection
// that no single-view method can. Per (frame, camera, joint):
//
//  - residual: reprojection error of the view's keypoint with respect to the ROBUST 3D point
//    (triangulate/robust_triangulation.h: view-pair hypotheses + inlier refit, so one wrong view
//    cannot drag the point onto itself), divided by the person's size in that view (diagonal of
//    the box of its present keypoints; PCK's normalisation), clipped at residual_cap;
//  - inlier: whether the view agreed with the robust point (inlier share per joint);
//  - loo_shift: leave-one-view-out 3D spread: |X - X_without_view| over the inlier views,
//    weighted DLT, divided by the person's 3D size (a view that the point leans on);
//  - Bayesian: the 2D variance of the detector (MC-dropout epistemic + aleatoric, px^2; see
//    detect2d/detector.h) propagated to 3D through the triangulation to first order:
//    Sigma_X = (sum over inlier views c of J_c^T J_c / var_c)^-1, J_c the 2x3 Jacobian of the
//    full camera projection at X (central differences); scored as sqrt(trace Sigma_X) divided
//    by the person's 3D size.
//
// Aggregates per frame (documented in docs/ACTIVE_LEARNING.md): the mean of each score over
// the frame's joints (views: mean over present views first); per view: the mean over joints of
// the clipped residual plus the leave-one-out shift, and the 2D std over the person's size.
// Everything is deterministic (threads over frames, fixed robust seed).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/camera.h"
#include "core/keypoints.h"
#include "triangulate/robust_triangulation.h"

namespace rigpose {

struct ViewDisagreementOptions {
  // The robust triangulation (threshold in px, pair budget, min score of a usable keypoint
  // in robust.dlt.min_score).
  RobustOptions robust;
  // Normalised residuals are clipped here: a completely wrong view counts as 1 person size.
  double residual_cap = 1.0;
  // Person sizes below this (px) are raised to it (a person of two nearby joints).
  double min_person_size_px = 16.0;
  int num_threads = 0;  // 0: all cores
  std::vector<std::string> Check() const;
};

struct ViewDisagreement {
  int num_frames = 0, num_cameras = 0, num_joints = 0;
  Poses3D poses;                // robust 3D
  std::vector<uint8_t> status;  // [F][J] TriangulationStatus
  // [F][C] diagonal of the box of the view's present keypoints (px); NaN with < 2 keypoints.
  std::vector<float> person_size_px;
  // [F] diagonal of the 3D box of the frame's valid joints (m); frames with < 2 valid joints
  // get the median over the capture (NaN when no frame has a valid pose).
  std::vector<float> person_size_m;
  std::vector<float> residual;    // [F][C][J] see the file comment; NaN: no keypoint or 3D
  std::vector<uint8_t> inlier;    // [F][C][J] 1: the view is used by the robust point
  std::vector<float> loo_shift;   // [F][C][J] NaN: not an inlier, or < 3 inliers
  std::vector<float> bayes_std;   // [F][J] sqrt(trace Sigma_X) / size; empty without variance
  std::vector<float> view_std2d;  // [F][C][J] sqrt(var) / person_size_px; empty w/o variance

  // Frame aggregates [F] (NaN for a frame without any usable value).
  std::vector<float> frame_residual;       // mean over joints of the mean over views
  std::vector<float> frame_outlier_share;  // mean over valid joints of 1 - inliers / views
  std::vector<float> frame_loo_spread;     // mean over joints of the RMS over views of loo
  std::vector<float> frame_bayes;          // mean over valid joints of bayes_std
  std::vector<float> frame_reproj_px;      // mean reprojection error in px (Anipose's `bad`)
  // 1 - the mean detector score of the frame's present keypoints, every view (least confidence:
  // the detector's own doubt, from the forward pass that made the keypoints).
  std::vector<float> frame_low_confidence;
  // View aggregates [F][C] (NaN for a view without a keypoint).
  std::vector<float> view_disagreement;  // mean over joints of residual (+ loo_shift)
  std::vector<float> view_uncertainty;   // mean over joints of view_std2d

  int64_t Index(int frame, int camera, int joint) const {
    return (static_cast<int64_t>(frame) * num_cameras + camera) * num_joints + joint;
  }
};

// `variance`: [F][C][J] px^2 of the keypoints (empty: no Bayesian scores). cameras[c] is
// keypoints camera c. std::invalid_argument for a size mismatch or options failing Check().
ViewDisagreement ComputeViewDisagreement(const std::vector<Camera>& cameras,
                                         const Keypoints2D& keypoints,
                                         const std::vector<float>& variance,
                                         const ViewDisagreementOptions& options = {});

}  // namespace rigpose

#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Peer half of bench/calibrate_vs_peers.sh (run that; it drives this file).

  calibrate_vs_peers.py anipose --data DIR --variant default|true --json OUT [--seed 0]
  calibrate_vs_peers.py report  --data DIR --rigpose J [--anipose J ...] [--markdown OUT]

DIR is written by `calibrate_bench export`: board.yaml, rig_true.toml (anipose, mm),
detections/<camera>.npy <f8 [N, 4]> (frame, corner id, x, y), meta.json.

anipose: aniposelib's own calibration (CameraGroup.calibrate_rows) on those detections, called as
a user would after its board detection: one row per (camera, frame) with all corners and ids, a
Checkerboard(9, 6, 80) (aniposelib passes (squaresX, squaresY) to cv2.findChessboardCorners as
patternSize, so they are INNER corners, as in rigpose's board.yaml; its object points are rigpose's
shifted by one square, which only moves the board frames), translations in mm.
  default: its default initialisation (init_intrinsics: cv2.initCameraMatrix2D per camera,
           distortion zero; init_extrinsics from PnP + a spanning tree), then its iterative bundle
           adjustment of R, t, one focal length and k1 per camera;
  true:    the true intrinsics (K and all 5 distortion coefficients) given and kept
           (init_intrinsics=False, only_extrinsics=True): the like-for-like peer of rigpose with
           the intrinsics fixed.
Timed once, wall clock of calibrate_rows (its PnP, initialisation and bundle adjustment; loading
excluded). The calibrated rig is written as DIR/rig_anipose_<variant>.toml (cameras keyed by the
same names as rig_true.toml). aniposelib is called, never copied.

report: ONE evaluation applied to every calibration (truth, rigpose, aniposelib): every corner of
every frame seen by >= 2 cameras is triangulated with the calibration (aniposelib's
CameraGroup.triangulate: undistortion + DLT) and reprojected into each camera that saw it; RMS
over all those residuals (px), and the worst camera's RMS. Camera centre (mm) and rotation (deg)
errors against the truth after mapping both rigs into their first camera's frame (max over
cameras), worst focal error (%), seconds, and speed ratios against aniposelib.
"""
import argparse
import json
import os
import platform
import sys
import time

import numpy as np


def load_meta(data):
    with open(os.path.join(data, "meta.json")) as f:
        return json.load(f)


def load_detections(data, names):
    return [np.load(os.path.join(data, "detections", name + ".npy")) for name in names]


def load_rig_dicts(path, names):
    """Camera dicts of an anipose TOML in the order of `names`, matched by each table's `name`
    (never by table order: aniposelib sorts table keys as text, cam_10 before cam_2)."""
    import toml
    tables = toml.load(path)
    by_name = {t["name"]: t for k, t in tables.items() if k != "metadata" and isinstance(t, dict)}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise SystemExit("%s: no camera named %s" % (path, ", ".join(missing)))
    return [by_name[n] for n in names]


def load_group(path, names):
    from aniposelib.cameras import CameraGroup
    return CameraGroup.from_dicts(load_rig_dicts(path, names))


def versions():
    out = dict(python=platform.python_version(), numpy=np.__version__)
    try:
        from importlib.metadata import version
        for pkg in ("aniposelib", "scipy", "jax", "numba", "opencv-contrib-python"):
            try:
                out[pkg] = version(pkg)
            except Exception:  # noqa: BLE001 - informative only
                pass
    except ImportError:
        pass
    return out


# ---- aniposelib calibration -----------------------------------------------------------------


def run_anipose(args):
    import warnings

    from aniposelib.boards import Checkerboard
    from aniposelib.cameras import CameraGroup

    try:  # reprojection_error falls back to numba object mode, with a page of warnings
        from numba.core.errors import NumbaWarning
        warnings.simplefilter("ignore", NumbaWarning)
    except ImportError:
        pass

    meta = load_meta(args.data)
    names = meta["cameras"]
    board_meta = meta["board"]
    cols, rows_ = board_meta["inner_cols"], board_meta["inner_rows"]
    square_mm = 1000.0 * board_meta["square_m"]
    board = Checkerboard(cols, rows_, square_length=square_mm)
    n_corners = cols * rows_
    ids = np.arange(n_corners)

    truth = load_rig_dicts(os.path.join(args.data, "rig_true.toml"), names)
    all_rows = []
    for det in load_detections(args.data, names):
        rows = []
        frames = det[:, 0].astype(np.int64)
        for frame in np.unique(frames):
            sel = det[frames == frame]
            if sel.shape[0] != n_corners or np.any(sel[:, 1].astype(np.int64) != ids):
                raise SystemExit("frame %d: aniposelib's Checkerboard needs all %d corners"
                                 % (frame, n_corners))
            rows.append({"framenum": int(frame),
                         "corners": np.ascontiguousarray(sel[:, 2:4].reshape(-1, 1, 2)),
                         "ids": ids.copy()})
        # What aniposelib's detect_images / detect_video do to their rows before returning them.
        all_rows.append(board.fill_points_rows(rows))

    if args.variant == "default":
        cgroup = CameraGroup.from_names(names)
        for cam, t in zip(cgroup.cameras, truth):
            cam.set_size([int(v) for v in t["size"]])
        kwargs = dict(init_intrinsics=True, init_extrinsics=True)
    else:
        cgroup = CameraGroup.from_dicts([dict(t) for t in truth])
        for cam in cgroup.cameras:  # poses come from aniposelib's own initialisation
            cam.set_rotation(np.zeros(3))
            cam.set_translation(np.zeros(3))
        kwargs = dict(init_intrinsics=False, init_extrinsics=True, only_extrinsics=True)

    np.random.seed(args.seed)  # calibrate_rows subsamples points and board views at random
    print("aniposelib calibrate_rows (%s): %d cameras, %d board views; %s"
          % (args.variant, len(names), sum(len(r) for r in all_rows),
             ", ".join("%s %s" % kv for kv in versions().items())), flush=True)
    start = time.perf_counter()
    cpu_start = time.process_time()  # every thread of the process (jax, BLAS, numba)
    real_stdout = sys.stdout
    with open(os.path.join(args.data, "anipose_%s.log" % args.variant), "w") as log:
        sys.stdout = log  # calibrate_rows prints every camera dict and its graph
        try:
            error = cgroup.calibrate_rows(all_rows, board, verbose=False, **kwargs)
        finally:
            sys.stdout = real_stdout
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    rig_path = os.path.join(args.data, "rig_anipose_%s.toml" % args.variant)
    cgroup.metadata = {}
    cgroup.dump(rig_path)
    method = ("aniposelib calibrate_rows, default init" if args.variant == "default"
              else "aniposelib calibrate_rows, true intr.")
    out = dict(method=method, variant=args.variant, seconds=seconds, cpu_seconds=cpu_seconds,
               own_error_px=float(error), load_average=os.getloadavg(),
               rig=rig_path, timed_out=False, versions=versions(), cores=os.cpu_count())
    with open(args.json, "w") as f:
        json.dump(out, f, indent=1)
    print("  %s: %.1f s (CPU %.1f s), its own error (median per-point mean reprojection) %.4f px -> %s"
          % (method, seconds, cpu_seconds, error, rig_path), flush=True)


# ---- common evaluation ----------------------------------------------------------------------


def observations(data, names, n_corners):
    """[C, P, 2] pixels (NaN = not seen) over every (frame, corner) seen by >= 2 cameras."""
    dets = load_detections(data, names)
    frames = np.unique(np.concatenate([d[:, 0] for d in dets])).astype(np.int64)
    index = {f: i for i, f in enumerate(frames)}
    p2ds = np.full((len(names), len(frames) * n_corners, 2), np.nan)
    for c, det in enumerate(dets):
        rows = np.array([index[int(f)] for f in det[:, 0]], dtype=np.int64)
        p2ds[c, rows * n_corners + det[:, 1].astype(np.int64)] = det[:, 2:4]
    seen = np.sum(~np.isnan(p2ds[:, :, 0]), axis=0)
    return p2ds[:, seen >= 2]


def rodrigues(rvec):
    import cv2
    return cv2.Rodrigues(np.asarray(rvec, dtype=np.float64))[0]


def evaluate(cgroup_path, names, p2ds, truth_dicts):
    import warnings
    try:
        from numba.core.errors import NumbaWarning
        warnings.simplefilter("ignore", NumbaWarning)
    except ImportError:
        pass
    cgroup = load_group(cgroup_path, names)
    p3ds = cgroup.triangulate(p2ds, undistort=True)
    proj = cgroup.project(p3ds)  # [C, P, 2]
    sq = np.sum((proj - p2ds) ** 2, axis=2)
    valid = ~np.isnan(sq)
    rms = float(np.sqrt(np.mean(sq[valid])))
    per_cam = [float(np.sqrt(np.mean(sq[c][valid[c]]))) for c in range(len(names))]

    est = load_rig_dicts(cgroup_path, names)

    def cam_from_cam0(dicts, c):
        r0, t0 = rodrigues(dicts[0]["rotation"]), np.asarray(dicts[0]["translation"], float)
        rc, tc = rodrigues(dicts[c]["rotation"]), np.asarray(dicts[c]["translation"], float)
        r = rc @ r0.T
        return r, tc - r @ t0

    center_mm, rot_deg = [], []
    for c in range(1, len(names)):
        ra, ta = cam_from_cam0(truth_dicts, c)
        rb, tb = cam_from_cam0(est, c)
        center_mm.append(float(np.linalg.norm(-ra.T @ ta + rb.T @ tb)))
        cos = (np.trace(ra @ rb.T) - 1.0) / 2.0
        rot_deg.append(float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))))
    focal = []
    for t, e in zip(truth_dicts, est):
        kt, ke = np.asarray(t["matrix"]), np.asarray(e["matrix"])
        focal += [abs(ke[0, 0] / kt[0, 0] - 1.0), abs(ke[1, 1] / kt[1, 1] - 1.0)]
    return dict(rms_px=rms, worst_camera_rms_px=max(per_cam), points=int(p2ds.shape[1]),
                residuals=int(valid.sum()), center_max_mm=max(center_mm),
                center_mean_mm=float(np.mean(center_mm)), rot_max_deg=max(rot_deg),
                rot_mean_deg=float(np.mean(rot_deg)), focal_error_pct=100.0 * max(focal))


def fmt(v, spec):
    return "-" if v is None or (isinstance(v, float) and not np.isfinite(v)) else format(v, spec)


def ratio(a, b):
    if a is None or b is None or not b:
        return None
    return a / b


def run_report(args):
    meta = load_meta(args.data)
    names = meta["cameras"]
    n_corners = meta["corners_per_view"]
    truth_path = os.path.join(args.data, "rig_true.toml")
    truth = load_rig_dicts(truth_path, names)
    p2ds = observations(args.data, names, n_corners)
    with open(args.rigpose) as f:
        rigpose = json.load(f)
    anipose = []
    for path in args.anipose or []:
        if os.path.exists(path):
            with open(path) as f:
                anipose.append(json.load(f))

    rows = [dict(method="ground truth (same evaluation)", seconds=None, cpu=None, own_rms=None,
                 key=None, **evaluate(truth_path, names, p2ds, truth))]
    rows[0]["focal_error_pct"] = None
    by_variant = {}
    for a in anipose:
        row = dict(method=a["method"], seconds=a["seconds"], cpu=a.get("cpu_seconds"),
                   own_rms=a.get("own_error_px"),
                   key="anipose_" + a["variant"], timed_out=a.get("timed_out", False))
        if not row["timed_out"]:
            row.update(evaluate(a["rig"], names, p2ds, truth))
        else:
            row["method"] += " (timed out)"
        rows.append(row)
        by_variant[a["variant"]] = row
    for r in rigpose["rows"]:
        row = dict(method=r["method"], seconds=r["seconds"], cpu=r.get("cpu_seconds"),
                   own_rms=r["own_rms_px"],
                   split=r, key="rigpose")
        row.update(evaluate(r["rig"], names, p2ds, truth))
        if "true intr" in r["method"]:
            row["focal_error_pct"] = None  # held at the truth
            row["peer"] = by_variant.get("true")
        else:
            row["peer"] = by_variant.get("default")
        rows.append(row)
    for a in ("default", "true"):
        if a in by_variant and by_variant[a].get("timed_out"):
            by_variant[a]["focal_error_pct"] = None

    views = meta["views"]
    title = ("%d cameras x %d board poses (%d board views x %d corners, noise %.2f px), "
             "%d corners seen by >= 2 cameras evaluated (%d residuals)"
             % (len(names), meta["frames"], views, n_corners, meta["noise_px"],
                rows[0]["points"], rows[0]["residuals"]))
    header = ["method", "cameras", "board poses", "board views", "seconds", "CPU s",
              "RMS px (common)",
              "worst cam RMS px", "own error px (own definition)", "centre err mm (max)",
              "rot err deg (max)", "focal err %", "x faster than aniposelib (like for like)",
              "x faster than aniposelib default"]
    table = []
    default_row = by_variant.get("default")
    for row in rows:
        peer = row.get("peer")
        like = ratio(peer["seconds"], row["seconds"]) if peer and row.get("seconds") else None
        if peer and peer.get("timed_out") and like is not None:
            like_text = "> %.0fx" % like
        else:
            like_text = fmt(like, ".1f") + ("x" if like else "")
        vs_default = (ratio(default_row["seconds"], row["seconds"])
                      if default_row and row.get("seconds") and row["key"] == "rigpose" else None)
        table.append([row["method"], str(len(names)), str(meta["frames"]), str(views),
                      fmt(row["seconds"], ".2f"), fmt(row.get("cpu"), ".1f"),
                      fmt(row.get("rms_px"), ".4f"),
                      fmt(row.get("worst_camera_rms_px"), ".4f"), fmt(row["own_rms"], ".4f"),
                      fmt(row.get("center_max_mm"), ".2f"), fmt(row.get("rot_max_deg"), ".4f"),
                      fmt(row.get("focal_error_pct"), ".3f"),
                      like_text if row["key"] == "rigpose" else "-",
                      (fmt(vs_default, ".1f") + "x") if vs_default else "-"])
    widths = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(header)]
    print(title)
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    for t in table:
        print("  ".join(v.ljust(w) for v, w in zip(t, widths)))
    splits = []
    for row in rows:
        s = row.get("split")
        if s:
            intr = ""
            if s["seconds_intrinsics"] > 0:
                intr = (" (intrinsics, summed over the cameras: view selection %.2f + OpenCV "
                        "%.2f in %s cv::calibrateCamera calls + Ceres and covariance %.2f)"
                        % (s.get("seconds_intr_selection", float("nan")),
                           s.get("seconds_intr_opencv", float("nan")),
                           s.get("intr_opencv_runs", "?"),
                           s.get("seconds_intr_ceres", float("nan"))))
            splits.append("%s: %.2f s = CalibrateIntrinsics %.2f + CalibrateRig [PnP %.2f + "
                          "initialisation %.2f + bundle adjustment %.2f (%d solves, %d "
                          "iterations, %s)]%s; median of %d runs, fastest %.2f s"
                          % (row["method"], s["seconds"], s["seconds_intrinsics"],
                             s["seconds_board_poses"], s["seconds_initialisation"],
                             s["seconds_solve"], s["solves"], s["iterations"], s["termination"],
                             intr, rigpose.get("repeats", 1), s["seconds_min"]))
    for line in splits:
        print("  " + line)

    # Targets: BA <= 10 s; >= 20x faster than aniposelib at equal or lower RMS (like for like).
    targets = []
    for row in rows:
        if row["key"] != "rigpose":
            continue
        s = row["split"]
        ba = s["seconds_board_poses"] + s["seconds_initialisation"] + s["seconds_solve"]
        targets.append("%s: CalibrateRig %.2f s (%s <= 10 s), whole run %.2f s"
                       % (row["method"], ba, "met" if ba <= 10 else "NOT met", row["seconds"]))
        peer = row.get("peer")
        if peer is None:
            continue
        speed = peer["seconds"] / row["seconds"]
        if peer.get("timed_out"):
            targets.append("  vs %s: > %.0fx (aniposelib stopped at %.0f s)"
                           % (peer["method"], speed, peer["seconds"]))
            continue
        lower = row["rms_px"] <= peer["rms_px"]
        cpu = ratio(peer.get("cpu"), row.get("cpu"))
        targets.append("  vs %s: %.1fx faster (%s >= 20x; CPU time %sx), RMS %.4f vs %.4f px (%+.2f %%: %s), "
                       "centre %.2f vs %.2f mm, rotation %.4f vs %.4f deg"
                       % (peer["method"], speed, "met" if speed >= 20 else "NOT met",
                          fmt(cpu, ".1f"), row["rms_px"], peer["rms_px"],
                          100.0 * (row["rms_px"] / peer["rms_px"] - 1.0),
                          "equal or lower: met" if lower else "higher: NOT met",
                          row["center_max_mm"], peer["center_max_mm"], row["rot_max_deg"],
                          peer["rot_max_deg"]))
    print("targets:")
    for line in targets:
        print("  " + line)

    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(title + "\n\n")
            f.write("| " + " | ".join(header) + " |\n")
            f.write("|" + "|".join("---" if i == 0 else "---:" for i in range(len(header)))
                    + "|\n")
            for t in table:
                f.write("| " + " | ".join(t) + " |\n")
            f.write("\n")
            for line in splits:
                f.write("- " + line + "\n")
            f.write("\n```\n" + "\n".join(targets) + "\n```\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(title=title, rows=[{k: v for k, v in r.items() if k != "peer"}
                                              for r in rows], targets=targets), f, indent=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    a = sub.add_parser("anipose")
    a.add_argument("--data", required=True)
    a.add_argument("--variant", choices=["default", "true"], required=True)
    a.add_argument("--json", required=True)
    a.add_argument("--seed", type=int, default=0)
    r = sub.add_parser("report")
    r.add_argument("--data", required=True)
    r.add_argument("--rigpose", required=True)
    r.add_argument("--anipose", nargs="*")
    r.add_argument("--markdown")
    r.add_argument("--json")
    args = parser.parse_args()
    if args.mode == "anipose":
        run_anipose(args)
    else:
        run_report(args)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Peer half of bench/triangulate_vs_peers.sh (run that; it drives this file).

  triangulate_vs_peers.py anipose --data DIR --json OUT [--budget-s 3]   (venv with aniposelib)
  triangulate_vs_peers.py torch   --data DIR --json OUT                   (a Python with torch)
  triangulate_vs_peers.py report  --data DIR --rigpose J --anipose J [--torch J]

DIR is written by `triangulate_bench export`. Rows are joints/s and absolute MPJPE (mm) against
the exported ground truth, best of repeats after one warm-up call (JIT compilation excluded and
reported separately), sequences once. Per-point loops run for --budget-s seconds on a prefix of
the points and joints/s is extrapolated from it (the row says so); their MPJPE is over that prefix.
aniposelib is called, never copied.
"""
import argparse
import json
import os
import platform
import sys
import time

import numpy as np

VIEWS = [2, 4, 8, 16, 32]


def load_gt_mm(path):
    gt = np.load(path)  # [F, J, 4] metres, (x, y, z, valid)
    points = gt[..., :3].reshape(-1, 3) * 1000.0
    return points, gt[..., 3].reshape(-1) != 0


def mpjpe_mm(estimate_mm, gt_mm, gt_valid):
    """Absolute MPJPE over joints valid in gt and finite in the estimate; also the valid fraction."""
    ok = gt_valid & np.all(np.isfinite(estimate_mm), axis=1)
    if not ok.any():
        return float("nan"), 0.0
    error = np.linalg.norm(estimate_mm[ok] - gt_mm[ok], axis=1)
    return float(error.mean()), float(ok.sum() / max(1, gt_valid.sum()))


def time_best(fn, min_seconds=1.0, max_runs=5):
    """fn() once as warm-up (returned as first_s), then best of >= 2 runs / min_seconds."""
    start = time.perf_counter()
    result = fn()
    first = time.perf_counter() - start
    best, spent, runs = float("inf"), 0.0, 0
    while runs < 2 or (spent < min_seconds and runs < max_runs):
        start = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - start
        best, spent, runs = min(best, seconds), spent + seconds, runs + 1
    return result, best, first


def row(method, views, threads, joints, seconds, mpjpe, valid, note="", **extra):
    out = dict(method=method, views=views, threads=threads, joints=int(joints),
               seconds=float(seconds), joints_per_s=float(joints / seconds),
               mpjpe_mm=mpjpe, valid_frac=valid, note=note)
    out.update(extra)
    print("  %-52s V=%-2d %12.0f joints/s  MPJPE %7.2f mm  %s"
          % (method, views, out["joints_per_s"], mpjpe, note), flush=True)
    return out


# ---- aniposelib ----------------------------------------------------------------------------


def run_anipose(args):
    import warnings

    import aniposelib
    import cv2
    import jax
    import jax.numpy as jnp
    import scipy
    from aniposelib.cameras import CameraGroup, triangulate_simple

    try:  # triangulate_optim's residual falls back to numba object mode, with a page of warnings
        from numba.core.errors import NumbaWarning
        warnings.simplefilter("ignore", NumbaWarning)
    except ImportError:
        pass

    # CameraGroup.triangulate turns float64 on by itself; do it first so the per-point rows
    # run in the same precision.
    jax.config.update("jax_enable_x64", True)
    versions = dict(aniposelib=getattr(aniposelib, "__version__", "?"), jax=jax.__version__,
                    numpy=np.__version__, scipy=scipy.__version__, opencv=cv2.__version__,
                    python=platform.python_version())
    try:
        from importlib.metadata import version
        versions["aniposelib"] = version("aniposelib")
    except Exception:  # noqa: BLE001 - informative only
        pass
    print("aniposelib %(aniposelib)s, jax %(jax)s, numpy %(numpy)s, scipy %(scipy)s, "
          "opencv %(opencv)s" % versions, flush=True)
    rows = []
    gt_mm, gt_valid = load_gt_mm(os.path.join(args.data, "gt3d.npy"))
    jit_simple = jax.jit(triangulate_simple)
    for views in VIEWS:
        cgroup = CameraGroup.load(os.path.join(args.data, "rig_v%d.toml" % views))
        kp = np.load(os.path.join(args.data, "kp2d_v%d.npy" % views))  # [F, C, J, 3]
        frames, cams, joints_per_frame, _ = kp.shape
        assert cams == views == len(cgroup.cameras)
        n = frames * joints_per_frame
        # aniposelib layout: [C, N, 2] pixels, NaN = missing.
        points = kp[..., :2].transpose(1, 0, 2, 3).reshape(cams, n, 2).astype(np.float64)
        points[kp[..., 2].transpose(1, 0, 2).reshape(cams, n) <= 0] = np.nan

        out, seconds, first = time_best(lambda: cgroup.triangulate(points, undistort=True),
                                        args.min_seconds)
        err, valid = mpjpe_mm(out, gt_mm, gt_valid)
        rows.append(row("aniposelib CameraGroup.triangulate (batched)", views, os.cpu_count(), n,
                        seconds, err, valid,
                        "px in, undistort=True, jax vmap; first call %.2f s (JIT)" % first))

        # DLT per point, as CameraGroup.triangulate did it before it was vmapped: undistort
        # every point once (timed), then triangulate_simple point by point.
        start = time.perf_counter()
        undistorted = np.empty_like(points)
        for c, cam in enumerate(cgroup.cameras):
            undistorted[c] = cam.undistort_points(np.copy(points[c]))
        undistort_seconds = time.perf_counter() - start
        cam_mats = jnp.stack([cam.get_extrinsics_mat() for cam in cgroup.cameras])
        for label, fn in (("jax.jit", jit_simple), ("eager", triangulate_simple)):
            fn(jnp.asarray(undistorted[:, 0]), cam_mats,
               jnp.asarray(~np.isnan(undistorted[:, 0, 0]))).block_until_ready()  # warm-up
            estimate = np.full((n, 3), np.nan)
            done = 0
            start = time.perf_counter()
            while done < n and (done < 20 or time.perf_counter() - start < args.budget_s):
                good = ~np.isnan(undistorted[:, done, 0])
                if good.sum() >= 2:
                    estimate[done] = np.asarray(
                        fn(jnp.asarray(undistorted[:, done]), cam_mats, jnp.asarray(good)))
                done += 1
            loop_seconds = time.perf_counter() - start
            extrapolated = undistort_seconds + loop_seconds * n / done
            err, valid = mpjpe_mm(estimate[:done], gt_mm[:done], gt_valid[:done])
            note = ("per point (%s), %d of %d points in %.1f s%s; undistortion %.3f s"
                    % (label, done, n, loop_seconds, ", extrapolated" if done < n else "",
                       undistort_seconds))
            rows.append(row("aniposelib triangulate_simple per point (%s)" % label, views, 1, n,
                            extrapolated, err, valid, note, measured_points=done))

    # Sequence: the optimising triangulation with the same bones as constraints.
    cgroup = CameraGroup.load(os.path.join(args.data, "seq_rig.toml"))
    kp = np.load(os.path.join(args.data, "seq_kp2d.npy"))
    frames, cams, joints_per_frame, _ = kp.shape
    seq_gt_mm, seq_valid = load_gt_mm(os.path.join(args.data, "seq_gt3d.npy"))
    bones = np.load(os.path.join(args.data, "bones.npy")).tolist()
    points = kp[..., :2].transpose(1, 0, 2, 3).astype(np.float64)  # [C, F, J, 2]
    points[kp[..., 2].transpose(1, 0, 2) <= 0] = np.nan
    n = frames * joints_per_frame
    start = time.perf_counter()
    init = cgroup.triangulate(points.reshape(cams, n, 2), undistort=True)
    init_seconds = time.perf_counter() - start
    err, valid = mpjpe_mm(init, seq_gt_mm, seq_valid)
    rows.append(row("sequence: aniposelib CameraGroup.triangulate", cams, os.cpu_count(), n,
                    init_seconds, err, valid, "no refinement; includes JIT", sequence=True))
    optim_kwargs = dict(constraints=bones, scale_smooth=4, scale_length=2,
                        reproj_error_threshold=15, reproj_loss="soft_l1", n_deriv_smooth=1)
    start = time.perf_counter()
    refined = cgroup.triangulate_optim(points, **optim_kwargs)
    seconds = time.perf_counter() - start
    err, valid = mpjpe_mm(refined.reshape(-1, 3), seq_gt_mm, seq_valid)
    rows.append(row("sequence: aniposelib triangulate_optim", cams, None, n, seconds, err, valid,
                    "defaults (scale_smooth 4, scale_length 2, soft_l1 15 px), %d bones"
                    % len(bones), sequence=True, kwargs={k: v for k, v in optim_kwargs.items()
                                                         if k != "constraints"}))
    with open(args.json, "w") as f:
        json.dump(dict(tool="aniposelib", versions=versions, rows=rows), f, indent=1)


# ---- PyTorch batched SVD ---------------------------------------------------------------------


def run_torch(args):
    import torch

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print("torch %s, devices: %s%s" % (
        torch.__version__, ", ".join(devices),
        "" if "cuda" in devices else " (CUDA: no device)"), flush=True)
    gt_mm, gt_valid = load_gt_mm(os.path.join(args.data, "gt3d.npy"))
    rows = []
    for views in VIEWS:
        obs_np = np.load(os.path.join(args.data, "norm_v%d.npy" % views))  # [F, C, J, 3]
        poses_np = np.load(os.path.join(args.data, "poses_v%d.npy" % views)).reshape(views, 3, 4)
        frames, cams, joints_per_frame, _ = obs_np.shape
        n = frames * joints_per_frame
        obs_np = np.ascontiguousarray(obs_np.transpose(0, 2, 1, 3).reshape(n, cams, 3))
        # CPU: 1 thread and all cores (the report compares with the faster); CUDA: one run.
        configs = [("cpu", t) for t in sorted({1, os.cpu_count()})]
        configs += [("cuda", 0)] if "cuda" in devices else []
        for device, threads in configs:
            if threads:
                torch.set_num_threads(threads)
            for dtype in (torch.float64, torch.float32):
                obs_host = torch.from_numpy(obs_np).to(dtype)
                poses = torch.from_numpy(poses_np).to(dtype=dtype, device=device)

                def triangulate():
                    # Rows w (x P3 - P1), w (y P3 - P2) of every view: A is [N, 2C, 4]; the point
                    # is the right singular vector of the smallest singular value.
                    obs = obs_host.to(device)
                    w = obs[..., 2:3]
                    rows_x = w * (obs[..., 0:1] * poses[None, :, 2] - poses[None, :, 0])
                    rows_y = w * (obs[..., 1:2] * poses[None, :, 2] - poses[None, :, 1])
                    a = torch.cat([rows_x, rows_y], dim=1)
                    _, _, vh = torch.linalg.svd(a, full_matrices=False)
                    h = vh[:, -1]
                    out = (h[:, :3] / h[:, 3:4]).cpu()  # metres
                    if device == "cuda":
                        torch.cuda.synchronize()
                    return out

                out, seconds, _ = time_best(triangulate, args.min_seconds)
                err, valid = mpjpe_mm(1000.0 * out.double().numpy(), gt_mm, gt_valid)
                name = "torch.linalg.svd %s %s" % (str(dtype).replace("torch.float", "f"),
                                                   device)
                rows.append(row(name, views, threads, n, seconds, err, valid,
                                "normalised in; [N, 2V, 4] SVD"
                                + (", host<->device copies included" if device == "cuda" else ""),
                                device=device))
    with open(args.json, "w") as f:
        json.dump(dict(tool="torch", versions=dict(torch=torch.__version__), rows=rows), f,
                  indent=1)


# ---- report ----------------------------------------------------------------------------------


def fmt_ratio(ours, base):
    if not base or not ours or not np.isfinite(base) or not np.isfinite(ours):
        return "-"
    r = ours / base
    return "%.0fx" % r if r >= 10 else "%.1fx" % r


def fmt_threads(r):
    """Threads of a row: "GPU" for device rows, "-" where the peer does not say."""
    if r.get("device") == "cuda" or "Cuda" in r["method"]:
        return "GPU"
    return "-" if r["threads"] is None else str(r["threads"])


def run_report(args):
    def load(path):
        if not path or not os.path.exists(path):
            return dict(rows=[], versions={})
        with open(path) as f:
            return json.load(f)

    ours = load(args.rigpose)
    anipose = load(args.anipose)
    torch_rows = load(args.torch)
    meta = load(os.path.join(args.data, "meta.json")) if os.path.exists(
        os.path.join(args.data, "meta.json")) else {}

    def find(rows, views, prefix, sequence=False):
        """The fastest row of this view count whose method starts with prefix."""
        match = [r for r in rows if r["views"] == views and r["method"].startswith(prefix) and
                 r["method"].startswith("sequence:") == sequence]
        return max(match, key=lambda r: r["joints_per_s"]) if match else None

    print()
    print("rigpose triangulation vs peers: %d frames x 17 joints per view count, sigma %.1f px; "
          "MPJPE absolute (mm) vs ground truth" % (meta.get("frames", 0), meta.get("noise_px", 0)))
    print("machine: %s, %d cores, load average %.2f, %s; aniposelib %s, jax %s, torch %s" % (
        platform.processor() or platform.machine(), os.cpu_count(), os.getloadavg()[0],
        "CUDA device" if ours.get("cuda_device") else "no CUDA device",
        anipose["versions"].get("aniposelib", "-"), anipose["versions"].get("jax", "-"),
        torch_rows["versions"].get("torch", "-")))
    print("ratios = joints/s of the row / joints/s of the baseline: ani/pt = aniposelib "
          "triangulate_simple per point (jax.jit; eager: called as is), ani/batch = aniposelib "
          "CameraGroup.triangulate, torch = fastest torch.linalg.svd row of the same dtype and device, cv2 = OpenCV "
          "undistortPoints + triangulatePoints")
    header = ("| method | V | thr | joints/s | MPJPE mm | x ani/pt | x ani/pt eager | x ani/batch | "
              "x torch | x cv2 |")
    print()
    print(header)
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    targets = []
    for views in VIEWS:
        ani_pt = find(anipose["rows"], views, "aniposelib triangulate_simple per point (jax.jit)")
        ani_eager = find(anipose["rows"], views, "aniposelib triangulate_simple per point (eager)")
        ani_batch = find(anipose["rows"], views, "aniposelib CameraGroup.triangulate")
        cv = find(ours["rows"], views, "OpenCV")
        group = [r for r in anipose["rows"] + torch_rows["rows"] + ours["rows"]
                 if r["views"] == views and not r["method"].startswith("sequence:")]
        for r in group:
            is_ours = r["method"].startswith("rigpose")
            torch_base = None
            if is_ours and "Normalised" in r["method"]:
                dtype = "f32" if "f32" in r["method"] else "f64"
                device = "cuda" if "Cuda" in r["method"] else "cpu"
                torch_base = find(torch_rows["rows"], views,
                                  "torch.linalg.svd %s %s" % (dtype, device))
            jps = r["joints_per_s"]
            extrapolated = " (extrap.)" if "extrapolated" in r.get("note", "") else ""
            print("| %s%s | %d | %s | %.0f | %.2f | %s | %s | %s | %s | %s |" % (
                r["method"], extrapolated, views, fmt_threads(r), jps,
                r["mpjpe_mm"] if r["mpjpe_mm"] is not None else float("nan"),
                fmt_ratio(jps, ani_pt and ani_pt["joints_per_s"]) if is_ours else "-",
                fmt_ratio(jps, ani_eager and ani_eager["joints_per_s"]) if is_ours else "-",
                fmt_ratio(jps, ani_batch and ani_batch["joints_per_s"]) if is_ours else "-",
                fmt_ratio(jps, torch_base and torch_base["joints_per_s"]) if torch_base else "-",
                fmt_ratio(jps, cv["joints_per_s"]) if (is_ours and cv) else "-"))
        best = {}
        for dtype in ("f64", "f32"):
            dlt = [r for r in ours["rows"] if r["views"] == views and
                   r["method"].startswith("rigpose TriangulateDltBatch " + dtype)]
            best[dtype] = max(dlt, key=lambda r: r["joints_per_s"]) if dlt else None
        if best["f64"] and ani_pt and ani_batch:
            targets.append((views, best, ani_pt["joints_per_s"], ani_batch["joints_per_s"]))

    print()
    print("sequence: %d frames x 17 joints x 4 cameras, walking, sigma %.1f px, %.0f %% outliers"
          % (meta.get("seq_frames", 0), meta.get("seq_noise_px", 0),
             100 * meta.get("seq_outlier_fraction", 0)))
    print()
    print("| method | V | thr | seconds | joints/s | MPJPE mm | x aniposelib triangulate_optim |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    optim = find(anipose["rows"], 4, "sequence: aniposelib triangulate_optim", sequence=True)
    seq_rows = [r for r in anipose["rows"] + ours["rows"] if r["method"].startswith("sequence:")]
    for r in seq_rows:
        print("| %s | %d | %s | %.3f | %.0f | %.2f | %s |" % (
            r["method"][len("sequence: "):], r["views"], fmt_threads(r), r["seconds"],
            r["joints_per_s"], r["mpjpe_mm"],
            fmt_ratio(optim["seconds"], r["seconds"]) if (optim and r["method"].startswith(
                "sequence: rigpose")) else "-"))

    print()
    print("targets (rigpose TriangulateDltBatch, px in, undistortion included, best thread count; "
          "f32 = DltOptions::single_precision, counted when its MPJPE is within 0.01 mm of f64's):")
    for views, best, pt, batch in targets:
        f64, f32 = best["f64"], best["f32"]
        vs_pt = f64["joints_per_s"] / pt
        line = "  V=%-2d  f64 %6.0fx aniposelib per point (%s >= 100x), %5.1fx batched" % (
            views, vs_pt, "met" if vs_pt >= 100 else "NOT met", f64["joints_per_s"] / batch)
        fastest = f64["joints_per_s"]
        if f32:
            same = abs(f32["mpjpe_mm"] - f64["mpjpe_mm"]) <= 0.01
            line += "; f32 %5.1fx batched (MPJPE %.2f vs %.2f mm)" % (
                f32["joints_per_s"] / batch, f32["mpjpe_mm"], f64["mpjpe_mm"])
            if same:
                fastest = max(fastest, f32["joints_per_s"])
        line += "  -> %.0fx aniposelib batched (%s >= 100x)" % (
            fastest / batch, "met" if fastest / batch >= 100 else "NOT met")
        print(line)
    refine = find(ours["rows"], 4, "sequence: rigpose robust + RefineSequence", sequence=True)
    if refine and optim:
        speed = optim["seconds"] / refine["seconds"]
        ok_err = refine["mpjpe_mm"] <= optim["mpjpe_mm"]
        print("  sequence: RefineSequence (incl. robust init) %.0fx faster than triangulate_optim "
              "(%s >= 50x), MPJPE %.2f vs %.2f mm (%s)" % (
                  speed, "met" if speed >= 50 else "NOT met", refine["mpjpe_mm"],
                  optim["mpjpe_mm"], "equal or lower: met" if ok_err else "higher: NOT met"))
    else:
        print("  sequence: RefineSequence row missing (not built?)")
    if not ours.get("cuda_device"):
        print("CUDA: no device (no TriangulateNormalisedCuda / torch cuda rows)")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["anipose", "torch", "report"])
    parser.add_argument("--data", required=True)
    parser.add_argument("--json")
    parser.add_argument("--budget-s", type=float, default=3.0,
                        help="seconds per per-point loop before extrapolating")
    parser.add_argument("--min-seconds", type=float, default=1.0,
                        help="keep repeating a batched call until this much time is spent")
    parser.add_argument("--rigpose")
    parser.add_argument("--anipose")
    parser.add_argument("--torch")
    args = parser.parse_args()
    if args.mode in ("anipose", "torch") and not args.json:
        parser.error("--json is required")
    {"anipose": run_anipose, "torch": run_torch, "report": run_report}[args.mode](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

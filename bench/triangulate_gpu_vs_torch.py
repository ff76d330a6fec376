#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""PyTorch batched triangulation on the GPU against rigpose's CUDA kernel, on the same data.

    triangulate_gpu_vs_torch.py --dump DIR --ours BENCH.json [--json OUT] [--max-seconds 1]

DIR holds the raw float32 files that `triangulate_gpu_bench --dump DIR` wrote (obs_vV.f32
[F][V][17][3] normalised x, y, score; poses_vV.f32 [V][12] = [R|t]; ours_vV.f32 [F][17][4], the
CUDA kernel's output; gt_vV.f32 [F][17][3]). For every view count the baselines are, with the
data already on the device and timed with CUDA events (as the kernel's row):
  torch.linalg.svd  weighted DLT rows w (x P3 - P1), w (y P3 - P2) as A [N, 2V, 4], the right
                    singular vector of the smallest singular value (learnable-triangulation's
                    algebraic method, batched);
  torch.linalg.eigh the 4x4 normal matrix A^T A, eigenvector of the smallest eigenvalue (a
                    stronger baseline: the same solution with a 4x4 batched eigensolver).
The batch doubles from 2^14 joints until one call takes longer than --max-seconds or the whole
dump is used; the best joints/s is reported. Accuracy: MPJPE against the ground truth over the
joints our kernel marked valid, and the median distance between the two solutions there.
"""
import argparse
import json
import os
import time

import numpy as np
import torch

JOINTS = 17


def load(dump, name, views, shape_tail):
    a = np.fromfile(os.path.join(dump, "%s_v%d.f32" % (name, views)), dtype="<f4")
    return a.reshape((-1,) + shape_tail)


def build_rows(obs, poses):
    """obs [N, V, 3], poses [V, 3, 4] -> A [N, 2V, 4] (rows weighted by the score)."""
    w = obs[..., 2:3]
    rows_x = w * (obs[..., 0:1] * poses[None, :, 2] - poses[None, :, 0])
    rows_y = w * (obs[..., 1:2] * poses[None, :, 2] - poses[None, :, 1])
    return torch.cat([rows_x, rows_y], dim=1)


def solve_svd(obs, poses):
    a = build_rows(obs, poses)
    _, _, vh = torch.linalg.svd(a, full_matrices=False)
    h = vh[:, -1]
    return h[:, :3] / h[:, 3:4]


def solve_eigh(obs, poses):
    a = build_rows(obs, poses)
    m = a.transpose(1, 2) @ a
    _, vecs = torch.linalg.eigh(m)
    h = vecs[:, :, 0]
    return h[:, :3] / h[:, 3:4]


def time_call(fn, max_seconds):
    """Best of up to 5 calls (after one warm-up) timed with CUDA events, in seconds."""
    fn()
    torch.cuda.synchronize()
    best = float("inf")
    spent = 0.0
    for _ in range(5):
        start = torch.cuda.Event(enable_timing=True)
        stop = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        s = start.elapsed_time(stop) / 1000.0
        best = min(best, s)
        spent += s
        if spent > max_seconds:
            break
    return best


def sweep(solver, obs_d, poses_d, max_seconds):
    n_total = obs_d.shape[0]
    n = min(n_total, 1 << 14)
    best = (0.0, 0, 0.0)  # joints/s, batch, seconds
    while True:
        sub = obs_d[:n]
        try:
            seconds = time_call(lambda: solver(sub, poses_d), max_seconds)
        except RuntimeError as e:  # out of memory, or cuSOLVER refusing a batch this large
            print("  (%s stops at batch %d: %s)" % (solver.__name__, n, str(e).split("\n")[0][:160]),
                  flush=True)
            torch.cuda.empty_cache()
            break
        jps = n / seconds
        if jps > best[0]:
            best = (jps, n, seconds)
        if seconds > max_seconds or n == n_total:
            break
        n = min(n_total, 2 * n)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dump", required=True)
    parser.add_argument("--ours", required=True, help="triangulate_gpu_bench --json output")
    parser.add_argument("--json")
    parser.add_argument("--max-seconds", type=float, default=1.0)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("CUDA: no device (nothing to compare)")
        return
    ours_rows = {r["views"]: r for r in json.load(open(args.ours))["rows"]}
    print("torch %s (CUDA %s) on %s" % (torch.__version__, torch.version.cuda,
                                       torch.cuda.get_device_name(0)))
    print("| views | rigpose kernel joints/s | torch svd joints/s (batch) | rigpose / svd "
          "| torch eigh joints/s (batch) | rigpose / eigh | MPJPE mm rigpose / svd / eigh "
          "| median |rigpose - svd| mm |")
    print("|---:|---:|---:|---:|---:|---:|---|---:|")
    rows = []
    for views in sorted(ours_rows):
        path = os.path.join(args.dump, "obs_v%d.f32" % views)
        if not os.path.exists(path):
            continue
        obs = load(args.dump, "obs", views, (views, JOINTS, 3))
        frames = obs.shape[0]
        obs = np.ascontiguousarray(obs.transpose(0, 2, 1, 3).reshape(frames * JOINTS, views, 3))
        poses = load(args.dump, "poses", views, (3, 4))
        ours = load(args.dump, "ours", views, (4,))
        gt = load(args.dump, "gt", views, (3,))
        obs_d = torch.from_numpy(obs).cuda()
        poses_d = torch.from_numpy(poses).cuda()
        svd = sweep(solve_svd, obs_d, poses_d, args.max_seconds)
        eigh = sweep(solve_eigh, obs_d, poses_d, args.max_seconds)
        # Accuracy on the largest batch both solvers handled.
        n_acc = min(svd[1], eigh[1]) if svd[1] and eigh[1] else 0
        valid = ours[:n_acc, 3] == 1.0
        def mpjpe(points):
            d = np.linalg.norm(points[valid] - gt[:n_acc][valid], axis=1)
            return 1000.0 * float(np.nanmean(d))
        p_svd = solve_svd(obs_d[:n_acc], poses_d).cpu().numpy() if n_acc else np.zeros((0, 3))
        p_eigh = solve_eigh(obs_d[:n_acc], poses_d).cpu().numpy() if n_acc else np.zeros((0, 3))
        ours_mm = mpjpe(ours[:n_acc, :3]) if n_acc else float("nan")
        svd_mm = mpjpe(p_svd) if n_acc else float("nan")
        eigh_mm = mpjpe(p_eigh) if n_acc else float("nan")
        diff = (1000.0 * float(np.median(np.linalg.norm(ours[:n_acc, :3][valid] - p_svd[valid], axis=1)))
                if n_acc else float("nan"))
        k = ours_rows[views]["kernel_joints_per_s"]
        print("| %d | %.3g | %.3g (%d) | %.0fx | %.3g (%d) | %.0fx | %.2f / %.2f / %.2f | %.3g |" % (
            views, k, svd[0], svd[1], k / svd[0] if svd[0] else float("nan"), eigh[0], eigh[1],
            k / eigh[0] if eigh[0] else float("nan"), ours_mm, svd_mm, eigh_mm, diff), flush=True)
        rows.append(dict(views=views, rigpose_kernel_joints_per_s=k,
                         torch_svd_joints_per_s=svd[0], torch_svd_batch=svd[1],
                         torch_eigh_joints_per_s=eigh[0], torch_eigh_batch=eigh[1],
                         mpjpe_mm=dict(rigpose=ours_mm, svd=svd_mm, eigh=eigh_mm),
                         accuracy_joints=int(n_acc), median_diff_mm=diff))
        del obs_d
        torch.cuda.empty_cache()
    if args.json:
        tmp = args.json + ".tmp"
        with open(tmp, "w") as f:
            json.dump(dict(torch=torch.__version__, device=torch.cuda.get_device_name(0),
                           rows=rows), f, indent=1)
        os.replace(tmp, args.json)


if __name__ == "__main__":
    t0 = time.time()
    main()
    print("(%.1f s)" % (time.time() - t0))

#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Active-learning simulation harness (issue: label savings of the selection strategies).

For each seed: a synthetic capture (4 cameras, --subjects + 1 people taking turns in the volume,
doing walk/squat/arm_circles/jump/turn; --pool-shape sessions (default): the pool subjects
mostly walking with two rare clips each, the test subject cycling through all five; uniform:
everyone cycles through all five) in a domain the initial detector was not trained on
(--domain: a dome rig, sensor noise, blur). The first --subjects subjects' frames are the pool
(--pool-frames in all); the last subject is held out for testing (same rig, a person never
labelled: the lab's next participant; its 2D on every --test-stride-th frame). An initial random
set of --initial pool frames (every view) is labelled and the initial model (--init-model, the
shipped synthetic detector by default) fine-tuned on it; then, per strategy, cycles of

    train (fine-tune the previous cycle's model on every label so far)
    -> score the pool (`rigpose reconstruct` on the pool images: 2D keypoints + variance)
    -> select --per-cycle frames (`rigpose select --strategy S --labelled ...`)
    -> "annotate" them from the ground truth (the pool's COCO file)

and after every training: 2D PCK@0.05 on the held-out subject (`rigpose model eval`) and 3D
MPJPE of `rigpose reconstruct` on its frames against their ground truth. A strategy given as
NAME:views counts its budget in views (--per-cycle x cameras images per cycle). Also the PCK of
each selected batch under the model that selected it (failure finding) and the selection cost.

Outputs in --work: curves.csv (one row per seed x strategy x cycle), summary.md (label savings,
differences in standard deviations), curves.png (PCK vs labelled images, mean +- std over seeds).
Every step's files stay in --work/seed_S/..., and a rerun skips steps whose outputs exist.

Only the Python standard library and numpy (Debian's python3-numpy) are used.
"""
import argparse
import csv
import json
import math
import os
import random
import struct
import subprocess
import sys
import time
import zlib

import numpy as np

MOTIONS = "walk,squat,arm_circles,jump,turn"
CLIP_FRAMES = 45  # `rigpose synth --preset demo`: 1.5 s clips at 30 Hz (checked against synth.yaml)


def session_motions(frames_per_subject, subjects, clip_frames=CLIP_FRAMES, rare_per_subject=2):
    """--pool-shape sessions: the clip list for a capture shaped like a lab's sessions.

    `rigpose synth --subjects-in-turn` gives subject s the clip list rotated by s (clip k of its
    timeline, frames [k C, (k + 1) C), is list[(k + s) % len]) and shows it in frames
    [s W, (s + 1) W). With a list longer than the last k + s, every (subject, clip) has its own
    entry. The pool subjects (all but the last) walk, except rare_per_subject clips each at 1/4
    and 3/4 of their window (squat, arm circles, jump, turn in turn: ~17 % of the pool); the
    held-out subject cycles through all five motions (mostly the rare ones: what a lab wants the
    detector to get right)."""
    total = frames_per_subject * (subjects + 1)
    last_k = (total - 1) // clip_frames
    motions = ["walk"] * (last_k + subjects + 1)
    rare = ["squat", "arm_circles", "jump", "turn"]
    n_rare = 0
    for s in range(subjects + 1):
        k0 = s * frames_per_subject // clip_frames
        k1 = ((s + 1) * frames_per_subject - 1) // clip_frames
        if s == subjects:
            for i, k in enumerate(range(k0, k1 + 1)):
                motions[k + s] = MOTIONS.split(",")[i % 5]
            continue
        for r in range(rare_per_subject):
            k = k0 + 1 + (k1 - k0 - 1) * (2 * r + 1) // (2 * rare_per_subject)
            motions[k + s] = rare[n_rare % len(rare)]
            n_rare += 1
    return ",".join(motions)


def run(cmd, log):
    t = time.time()
    with open(log, "a") as fh:
        fh.write("$ " + " ".join(cmd) + "\n")
        fh.flush()
        r = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT)
        fh.write(f"# {time.time() - t:.1f} s\n")
    if r.returncode != 0:
        sys.exit(f"al_sim: failed ({r.returncode}): {' '.join(cmd)} (see {log})")
    return time.time() - t


def load_coco(path):
    with open(path) as fh:
        return json.load(fh)


def coco_subset(coco, keep):
    """The images (and their annotations) whose (frame_index, camera) is in keep."""
    images = [im for im in coco["images"] if (im["frame_index"], im["camera"]) in keep]
    ids = {im["id"] for im in images}
    out = dict(coco)
    out["images"] = images
    out["annotations"] = [a for a in coco["annotations"] if a["image_id"] in ids]
    return out


def write_json(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(data, fh)
    os.replace(tmp, path)


def write_selection(path, frames, cameras):
    """A selection file (al/selection_file.h) marking frames as labelled."""
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        fh.write("# rigpose-selection v1\n# strategy=initial\nrank,frame,views,score\n")
        for r, f in enumerate(frames):
            fh.write(f"{r + 1},{f},{';'.join(cameras)},0\n")
    os.replace(tmp, path)


def read_selection(path):
    rows = []
    with open(path) as fh:
        lines = [l for l in fh if not l.startswith("#")]
    for row in csv.DictReader(lines):
        rows.append((int(row["frame"]), row["views"].split(";")))
    return rows


def batch_pck(gt, det, rows, camera_index, alpha=0.05):
    """PCK@alpha of the detections on the selected views (GT box's larger side)."""
    ok = n = 0
    for f, views in rows:
        for v in views:
            c = camera_index[v]
            g, d = gt[f, c], det[f, c]
            vis = g[:, 2] > 0
            if vis.sum() < 2:
                continue
            size = max(np.ptp(g[vis, 0]), np.ptp(g[vis, 1]))
            err = np.hypot(d[:, 0] - g[:, 0], d[:, 1] - g[:, 1])
            good = (err <= alpha * size) & (d[:, 2] > 0)
            ok += int(good[vis].sum())
            n += int(vis.sum())
    return ok / n if n else float("nan")


def png_write(path, rgb):
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as fh:
        fh.write(png)


def plot(path, series, xlabel_max, ylo, yhi):
    """Mean curves with +-std bands: series = {name: (xs, means, stds, colour)}."""
    W, H, M = 720, 480, 50
    img = np.full((H, W, 3), 255, np.uint8)
    def to_px(x, y):
        return (int(M + (W - 2 * M) * x / xlabel_max), int(H - M - (H - 2 * M) * (y - ylo) / (yhi - ylo)))
    def line(p, q, colour, thick=1):
        n = max(abs(q[0] - p[0]), abs(q[1] - p[1]), 1)
        for i in range(n + 1):
            x = round(p[0] + (q[0] - p[0]) * i / n)
            y = round(p[1] + (q[1] - p[1]) * i / n)
            img[max(0, y - thick + 1):y + thick, max(0, x - thick + 1):x + thick] = colour
    line(to_px(0, ylo), to_px(xlabel_max, ylo), (0, 0, 0))
    line(to_px(0, ylo), to_px(0, yhi), (0, 0, 0))
    for k in range(11):  # grid every 0.1 of the range
        y = ylo + (yhi - ylo) * k / 10
        line(to_px(0, y), to_px(xlabel_max, y), (225, 225, 225))
    for name, (xs, means, stds, colour) in series.items():
        light = tuple(int(c + (255 - c) * 0.7) for c in colour)
        for x, m, s in zip(xs, means, stds):
            line(to_px(x, m - s), to_px(x, m + s), light, 2)
        for i in range(1, len(xs)):
            line(to_px(xs[i - 1], means[i - 1]), to_px(xs[i], means[i]), colour, 2)
    png_write(path, img)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--rigpose", default=os.path.join(here, "build", "cli", "rigpose"))
    ap.add_argument("--work", default=os.path.join(here, "build", "al_sim"))
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--strategies", default="random,multiview,multi-peak-entropy,anipose-bad")
    ap.add_argument("--pool-frames", type=int, default=2000, help="pool frames (all pool subjects)")
    ap.add_argument("--subjects", type=int, default=4, help="pool subjects (one more is held out for testing)")
    ap.add_argument("--test-stride", type=int, default=2, help="2D test: every N-th frame of the held-out subject")
    ap.add_argument("--initial", type=int, default=40, help="initial labelled frames (x cameras views)")
    ap.add_argument("--per-cycle", type=int, default=40, help="frames selected per cycle")
    ap.add_argument("--cycles", type=int, default=4)
    ap.add_argument("--initial-epochs", type=int, default=6)
    ap.add_argument("--cycle-epochs", type=int, default=6)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--resolution", default="640x480")
    ap.add_argument("--init-model", default=os.path.join(here, "samples", "models", "synth_mini_coco17.rpm"),
                    help="the detector before the campaign ('' = train a fresh simplebaseline-mini with dropout and "
                         "the aleatoric head on the initial set alone)")
    ap.add_argument("--domain", default="--layout dome --noise 8 --blur 1.5",
                    help="synth options of the pool and test captures (a domain the initial model was not trained on)")
    ap.add_argument("--lr", default="1e-4", help="fine-tuning learning rate")
    ap.add_argument("--pool-shape", choices=["sessions", "uniform"], default="sessions",
                    help="sessions: each pool subject walks but for 2 rare clips (squat, arm circles, jump, turn; "
                         "~17 %% of the pool), the test subject cycles through all five (session_motions); uniform: every subject cycles through all five "
                         "motions (the session 7-10 design)")
    args = ap.parse_args()
    motions = (session_motions(args.pool_frames // args.subjects, args.subjects) if args.pool_shape == "sessions"
               else MOTIONS)
    rp = args.rigpose
    os.makedirs(args.work, exist_ok=True)
    log = os.path.join(args.work, "al_sim.log")
    seeds = [int(s) for s in args.seeds.split(",")]
    strategies = args.strategies.split(",")
    threads = ["--threads", str(args.threads)] if args.threads else []
    rows = []
    for seed in seeds:
        sd = os.path.join(args.work, f"seed_{seed}")
        os.makedirs(sd, exist_ok=True)
        # One capture: frames [0, pool) are the pool, the last test frames are held out for testing
        # (the same rig and subject, other moments of the motions: a lab's next session).
        pool = os.path.join(sd, "capture")
        per_subject = args.pool_frames // args.subjects
        pool_frames = per_subject * args.subjects
        total = pool_frames + per_subject
        if not os.path.exists(os.path.join(pool, "annotations", "person_keypoints.json")):
            run([rp, "synth", "--preset", "demo", "--out", pool, "--cameras", "4", "--frames", str(total),
                 "--subjects", str(args.subjects + 1), "--subjects-in-turn", "--motion", motions, "--resolution", args.resolution, "--calib", "none",
                 "--format", "png", "--seed", str(1000 + seed), "--quiet", "--force"] + args.domain.split() + threads,
                log)
        if args.pool_shape == "sessions":
            with open(os.path.join(pool, "synth.yaml")) as fh:
                clip = [l.split(":")[1].strip() for l in fh if l.startswith("clip_duration:")]
            if not clip or abs(float(clip[0]) * 30 - CLIP_FRAMES) > 1e-6:
                sys.exit(f"al_sim: {pool}/synth.yaml has clip_duration {clip}, session_motions assumes "
                         f"{CLIP_FRAMES} frames at 30 Hz")
        all_coco = load_coco(os.path.join(pool, "annotations", "person_keypoints.json"))
        cameras = sorted({im["camera"] for im in all_coco["images"]})
        camera_index = {c: i for i, c in enumerate(cameras)}
        pool_coco = coco_subset(all_coco, {(f, c) for f in range(pool_frames) for c in cameras})
        test_coco = os.path.join(sd, "test.json")
        write_json(test_coco, coco_subset(all_coco, {(f, c) for f in range(pool_frames, total, args.test_stride)
                                                     for c in cameras}))
        # Subjects take turns: the ground truth of a frame is its subject's.
        gt_dirs = sorted(os.listdir(os.path.join(pool, "gt")))
        gt2d = None
        for s_index, name in enumerate(gt_dirs[: args.subjects]):
            frames = slice(s_index * per_subject, (s_index + 1) * per_subject)
            subject_2d = np.load(os.path.join(pool, "gt", name, "keypoints2d.npy"))
            if gt2d is None:
                gt2d = np.zeros((pool_frames,) + subject_2d.shape[1:], np.float32)
            gt2d[frames] = subject_2d[frames]
        test_ref = os.path.join(sd, "test_reference.npy")
        np.save(test_ref, np.load(os.path.join(pool, "gt", gt_dirs[args.subjects], "poses3d.npy"))[pool_frames:total])
        rng = random.Random(seed)
        initial = sorted(rng.sample(range(pool_frames), args.initial))

        # Cycle 0 (shared by every strategy): the initial random set and the model trained on it.
        c0 = os.path.join(sd, "cycle0")
        os.makedirs(c0, exist_ok=True)
        init_sel = os.path.join(c0, "selected.csv")
        write_selection(init_sel, initial, cameras)
        init_json = os.path.join(c0, "labels.json")
        keep = {(f, c) for f in initial for c in cameras}
        write_json(init_json, coco_subset(pool_coco, keep))
        model0 = os.path.join(c0, "model.rpm")
        if not os.path.exists(model0):
            if args.init_model:
                run([rp, "train", "--coco", init_json, "--images", pool, "--model", args.init_model, "--epochs",
                     str(args.initial_epochs), "--lr", args.lr, "--batch-size", "32", "--seed", str(seed),
                     "--out", model0] + threads, log)
            else:
                run([rp, "train", "--coco", init_json, "--images", pool, "--arch", "simplebaseline-mini",
                     "--input-size", "128x160", "--dropout", "0.1", "--aleatoric", "--epochs", str(args.initial_epochs),
                     "--lr-milestones", f"{int(args.initial_epochs * 0.8)}", "--batch-size", "32", "--seed", str(seed),
                     "--out", model0] + threads, log)
        for strategy in strategies:
            # "NAME:views": the budget counted in views (per-cycle frames x cameras images).
            name, _, unit = strategy.partition(":")
            tag = name + ("-" + unit if unit else "")
            labelled_sels = [init_sel]
            labelled = set(keep)
            model = model0
            cycle_dir = c0
            labels_json = init_json
            for cycle in range(args.cycles + 1):
                # Evaluate the current model (2D on the test capture, 3D after triangulation).
                ev = os.path.join(cycle_dir, "eval.json") if cycle == 0 else os.path.join(cycle_dir, f"eval_{tag}.json")
                if not os.path.exists(ev):
                    val_out = ev + ".pck.json"
                    run([rp, "model", "eval", "--model", model, "--coco", test_coco, "--images", pool, "--alpha",
                         "0.05", "--json", val_out] + threads, log)
                    rec = ev + ".test_reconstruct"
                    run([rp, "reconstruct", "--rig", os.path.join(pool, "rig.yaml"), "--images",
                         os.path.join(pool, "images"), "--first-frame", str(pool_frames), "--max-frames",
                         str(per_subject), "--model", model, "--reference", test_ref,
                         "--method", "robust", "--refine", "none", "--out", rec, "--force", "--quiet"] + threads, log)
                    report = load_coco(os.path.join(rec, "report.json"))
                    pck = load_coco(val_out)
                    mpjpe = report["reference"]["mpjpe_m"]
                    write_json(ev, {"pck": pck["pck"], "mpjpe_mm": 1000 * mpjpe if mpjpe is not None else float("nan")})
                e = load_coco(ev)
                row = {"seed": seed, "strategy": strategy, "cycle": cycle, "labelled_frames": len({f for f, _ in labelled}),
                       "labelled_images": len(labelled), "pck2d": e["pck"], "mpjpe_mm": e["mpjpe_mm"]}
                if cycle == args.cycles:
                    rows.append(row)
                    break
                # Score the pool with the current model and select.
                sd_strat = os.path.join(sd, f"{tag}_cycle{cycle + 1}")
                os.makedirs(sd_strat, exist_ok=True)
                scored = os.path.join(cycle_dir, "pool_scored")
                if name == "random" and cycle > 0:
                    # Random reads no score: the first cycle's session gives it the pool's frames
                    # (no batch PCK after the first cycle; failure finding is measured there).
                    scored = os.path.join(c0, "pool_scored")
                if not os.path.exists(os.path.join(scored, "report.json")):
                    run([rp, "reconstruct", "--rig", os.path.join(pool, "rig.yaml"), "--images",
                         os.path.join(pool, "images"), "--max-frames", str(pool_frames), "--model", model,
                         "--method", "robust", "--refine", "none", "--mc-dropout", "0", "--out", scored, "--force",
                         "--quiet"] + threads, log)
                sel = os.path.join(sd_strat, "selected.csv")
                select_seconds = 0.0
                if not os.path.exists(sel):
                    budget = args.per_cycle * (len(cameras) if unit == "views" else 1)
                    cmd = [rp, "select", "--rig", os.path.join(pool, "rig.yaml"), "--session", scored, "--budget",
                           str(budget), "--strategy", name, "--seed", str(seed * 100 + cycle),
                           "--out", sel, "--quiet"] + threads
                    if unit:
                        cmd += ["--unit", unit]
                    for s in labelled_sels:
                        cmd += ["--labelled", s]
                    if name in ("multi-peak-entropy", "core-set", "aleatoric", "learning-loss"):
                        cmd += ["--model", model, "--images", os.path.join(pool, "images")]
                    if name == "learning-loss":
                        cmd += ["--train-coco", labels_json, "--train-images", pool]
                    select_seconds = run(cmd, log)
                    with open(sel + ".seconds", "w") as fh:
                        fh.write(str(select_seconds))
                else:
                    select_seconds = float(open(sel + ".seconds").read())
                picked = read_selection(sel)
                if not (name == "random" and cycle > 0):
                    det = np.load(os.path.join(scored, "keypoints2d.npy"))
                    row["batch_pck"] = batch_pck(gt2d, det, picked, camera_index)
                row["select_seconds_per_frame"] = select_seconds / pool_frames
                rows.append(row)
                labelled_sels.append(sel)
                for f, views in picked:
                    for v in views:
                        labelled.add((f, v))
                labels = os.path.join(sd_strat, "labels.json")
                write_json(labels, coco_subset(pool_coco, labelled))
                labels_json = labels
                next_model = os.path.join(sd_strat, "model.rpm")
                if not os.path.exists(next_model):
                    run([rp, "train", "--coco", labels, "--images", pool, "--model", model, "--epochs",
                         str(args.cycle_epochs), "--lr", args.lr, "--batch-size", "32", "--seed", str(seed * 100 + cycle),
                         "--out", next_model] + threads, log)
                model = next_model
                cycle_dir = sd_strat
            print(f"al_sim: seed {seed} {strategy}: " + ", ".join(
                f"{r['labelled_images']}:{r['pck2d']:.3f}" for r in rows if r["seed"] == seed and r["strategy"] == strategy),
                flush=True)

    # ---- Curves, summary, plot ----
    keys = ["seed", "strategy", "cycle", "labelled_frames", "labelled_images", "pck2d", "mpjpe_mm", "batch_pck",
            "select_seconds_per_frame"]
    with open(os.path.join(args.work, "curves.csv"), "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in keys})
    lines = ["# Active-learning simulation", "",
             f"pool {pool_frames} frames x 4 cameras ({args.subjects} subjects in turn, pool shape {args.pool_shape}), "
             f"test: a held-out subject "
             f"(its {per_subject} frames, 2D on every {args.test_stride}), "
             f"initial {args.initial} frames, +{args.per_cycle} frames per cycle, {args.cycles} cycles, seeds {args.seeds}", "",
             "| strategy | cycle | images | 2D PCK@0.05 (mean +- std) | MPJPE mm | batch PCK (first cycle) |",
             "|---|---|---|---|---|---|"]
    colours = {"random": (120, 120, 120), "multiview": (200, 30, 30), "multi-peak-entropy": (30, 90, 200),
               "anipose-bad": (30, 160, 60), "geometry": (230, 140, 0), "bayesian": (150, 40, 170),
               "vl4pose": (0, 170, 170), "core-set": (120, 80, 20), "aleatoric": (220, 80, 160)}
    series = {}
    stats = {}
    for strategy in strategies:
        xs, means, stds = [], [], []
        for cycle in range(args.cycles + 1):
            rs = [r for r in rows if r["strategy"] == strategy and r["cycle"] == cycle]
            if not rs:
                continue
            p = np.array([r["pck2d"] for r in rs])
            m = np.array([r["mpjpe_mm"] for r in rs])
            b = [r["batch_pck"] for r in rs if "batch_pck" in r]
            xs.append(rs[0]["labelled_images"])
            means.append(p.mean())
            stds.append(p.std())
            stats[(strategy, cycle)] = (p.mean(), p.std(), rs[0]["labelled_images"])
            lines.append(f"| {strategy} | {cycle} | {rs[0]['labelled_images']} | {p.mean():.4f} +- {p.std():.4f} | "
                         f"{m.mean():.1f} +- {m.std():.1f} | {np.mean(b):.3f} |" if b else
                         f"| {strategy} | {cycle} | {rs[0]['labelled_images']} | {p.mean():.4f} +- {p.std():.4f} | "
                         f"{m.mean():.1f} +- {m.std():.1f} | |")
        colour = colours.get(strategy.split(":")[0], (0, 0, 0))
        if ":" in strategy:  # the views-budget variant: a darker shade
            colour = tuple(c // 2 for c in colour)
        series[strategy] = (xs, means, stds, colour)
    # Label savings: labels the strategy needs to reach random's final mean PCK (linear interpolation).
    if "random" in strategies:
        final = stats.get(("random", args.cycles))
        if final:
            lines += ["", f"Random's final 2D PCK: {final[0]:.4f} with {final[2]} images.", ""]
            for strategy in strategies:
                curve = [stats[(strategy, c)] for c in range(args.cycles + 1) if (strategy, c) in stats]
                need = None
                for (m0, _, x0), (m1, _, x1) in zip(curve, curve[1:]):
                    if m0 >= final[0]:
                        need = x0
                        break
                    if m1 >= final[0]:
                        need = x0 + (x1 - x0) * (final[0] - m0) / (m1 - m0)
                        break
                lines.append(f"- {strategy}: reaches it with " +
                             (f"{need:.0f} images ({100 * (1 - need / final[2]):.0f} % fewer)" if need else "— (not reached)"))
            for mv in [st for st in strategies if st.startswith("multiview")]:
                for other in [st for st in strategies if st.split(":")[0] in ("multi-peak-entropy", "anipose-bad")]:
                    better = []
                    for c in range(1, args.cycles + 1):
                        a, b = stats.get((mv, c)), stats.get((other, c))
                        if a and b:
                            sd = max(a[1], b[1])
                            better.append(f"cycle {c}: {a[0] - b[0]:+.4f} ({(a[0] - b[0]) / sd if sd > 0 else float('inf'):+.1f} std)")
                    lines.append(f"- {mv} vs {other}: " + "; ".join(better))
    # Failure finding: PCK of the first selected batch, relative to random's first batch.
    first = {st: [r["batch_pck"] for r in rows if r["strategy"] == st and r["cycle"] == 0 and "batch_pck" in r]
             for st in strategies}
    if first.get("random"):
        base = float(np.mean(first["random"]))
        lines += ["", f"Failure finding (first cycle): random batch PCK {base:.3f}"]
        for st in strategies:
            if st != "random" and first.get(st):
                b = float(np.mean(first[st]))
                lines.append(f"- {st}: batch PCK {b:.3f} = {b / base:.2f} x random's")
    cost = [r["select_seconds_per_frame"] for r in rows if "select_seconds_per_frame" in r]
    if cost:
        lines += ["", "Selection cost per pool frame (`rigpose select`, process included): " + ", ".join(
            f"{st} {1000 * np.mean([r['select_seconds_per_frame'] for r in rows if r['strategy'] == st and 'select_seconds_per_frame' in r]):.2f} ms"
            for st in strategies)]
    with open(os.path.join(args.work, "summary.md"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    allp = [r["pck2d"] for r in rows]
    if allp:
        xmax = max(r["labelled_images"] for r in rows)
        plot(os.path.join(args.work, "curves.png"), series, xmax * 1.05, max(0.0, min(allp) - 0.05), min(1.0, max(allp) + 0.05))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

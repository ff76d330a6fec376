# SPDX-License-Identifier: BSD-3-Clause
"""PyTorch eager baseline of bench/detect_bench.cc on the same weights (run by detect_vs_pytorch.sh).

1. Equivalence: loads the model file into the PyTorch twin (bench/hrnet_pytorch.py, strict state
   dict), runs the deterministic crops of `detect_bench --dump-heatmaps` (crop b, pixel (x, y),
   byte c of the BGR triple = (x*7 + y*13 + c*29 + b*31) % 256) on the same device and dtype and
   prints the max abs difference to the LibTorch heatmaps.
2. Speed: times the same pipeline as KeypointDetector::Detect on random uint8 BGR crops: BGR->RGB,
   HWC->CHW, float, (x/255 - mean)/std on the host, copy to the device (channels_last + half on
   CUDA, as the C++ side does), forward, heatmaps back to the host as float32, argmax per joint.
   Also prints forward-only throughput (input already on the device) for reference.
Prints a summary and one JSON line starting with {"bench": "detect_pytorch".
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hrnet_pytorch  # noqa: E402


def pattern_crops(count, width, height):
    y, x, c = np.meshgrid(np.arange(height), np.arange(width), np.arange(3), indexing="ij")
    return np.stack([((x * 7 + y * 13 + c * 29 + b * 31) % 256).astype(np.uint8)
                     for b in range(count)])  # [B, H, W, 3] BGR


class Pipeline:
    """detect2d/detector.cc Detect() in eager PyTorch."""

    def __init__(self, net, info, device, half, channels_last):
        self.net, self.device, self.half = net, device, half
        self.channels_last = channels_last and device.type == "cuda"
        self.mean = torch.tensor(info["mean"], dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(info["std"], dtype=torch.float32).view(1, 3, 1, 1)

    def preprocess(self, bgr_u8):
        # As detect2d/detector.cc: uint8 to the device, then flip, layout and normalisation there.
        raw = torch.from_numpy(bgr_u8).flip(3).contiguous()
        if self.device.type == "cuda":
            raw = raw.pin_memory()
        t = raw.to(self.device, non_blocking=True).permute(0, 3, 1, 2).to(torch.float32)
        t = (t / 255.0 - self.mean.to(self.device)) / self.std.to(self.device)
        if self.channels_last:
            t = t.contiguous(memory_format=torch.channels_last)
        return t.half() if self.half else t

    @torch.no_grad()
    def heatmaps(self, bgr_u8):
        return self.net(self.preprocess(bgr_u8)).to("cpu", torch.float32).contiguous()

    @torch.no_grad()
    def detect(self, bgr_u8):
        hm = self.heatmaps(bgr_u8)
        b, j, h, w = hm.shape
        score, idx = hm.view(b, j, h * w).max(dim=2)
        return torch.stack([idx % w, idx // w, score], dim=2)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="rigpose model file (native net)")
    ap.add_argument("--heatmaps", help="detect_bench --dump-heatmaps output to compare with")
    ap.add_argument("--dump-crops", type=int, default=4)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--fp16", type=int, default=1, help="CUDA only, as detect_bench")
    ap.add_argument("--channels-last", type=int, default=1, help="CUDA only, as detect_bench")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="CPU intra-op threads; 0: all cores")
    ap.add_argument("--max-abs-diff", type=float, default=None,
                    help="exit 1 when the heatmap difference exceeds this")
    args = ap.parse_args()

    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("detect_vs_pytorch: --device %s but torch %s sees no CUDA device"
                 % (args.device, torch.__version__))
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    elif device.type == "cpu":
        torch.set_num_threads(os.cpu_count() or 1)
    half = device.type == "cuda" and bool(args.fp16)
    net, info = hrnet_pytorch.load_model(args.model)
    net = net.to(device)
    if half:
        net = net.half()
    if device.type == "cuda" and args.channels_last:
        net = net.to(memory_format=torch.channels_last)
    pipe = Pipeline(net, info, device, half, bool(args.channels_last))
    W, H, J = info["input_width"], info["input_height"], info["num_joints"]
    dtype = "fp16" if half else "fp32"
    print("detect_vs_pytorch: torch %s, %s, %s %s, batch %d, %d threads"
          % (torch.__version__, info["arch"], device, dtype, args.batch, torch.get_num_threads()))

    # 1. Equivalence on the deterministic crops.
    max_abs_diff = max_abs_value = None
    if args.heatmaps:
        ours = pipe.heatmaps(pattern_crops(args.dump_crops, W, H)).numpy()
        theirs = np.fromfile(args.heatmaps, dtype="<f4")
        if theirs.size != ours.size:
            sys.exit("detect_vs_pytorch: %s has %d floats, expected %d (%s)"
                     % (args.heatmaps, theirs.size, ours.size, list(ours.shape)))
        theirs = theirs.reshape(ours.shape)
        max_abs_diff = float(np.abs(ours - theirs).max())
        max_abs_value = float(np.abs(theirs).max())
        peaks_equal = float(np.mean(ours.reshape(ours.shape[0], J, -1).argmax(2) ==
                                    theirs.reshape(ours.shape[0], J, -1).argmax(2)))
        print("equivalence: %d crops, max |LibTorch - PyTorch| = %.3g (max |heatmap| %.3g, "
              "relative %.3g), same argmax for %.1f %% of the joints"
              % (args.dump_crops, max_abs_diff, max_abs_value,
                 max_abs_diff / max(max_abs_value, 1e-30), 100 * peaks_equal))

    # 2. Speed, on random crops (seeded) of the model's input size.
    rng = np.random.default_rng(12345)
    crops = rng.integers(0, 256, size=(args.batch, H, W, 3), dtype=np.uint8)
    for _ in range(args.warmup):
        pipe.detect(crops)
    sync(device)
    ms = []
    start = time.perf_counter()
    for _ in range(args.iters):
        t0 = time.perf_counter()
        pipe.detect(crops)  # ends with a device -> host copy: synchronous
        ms.append((time.perf_counter() - t0) * 1000)
    total = time.perf_counter() - start
    crops_per_s = args.batch * args.iters / total

    # Forward only (input already on the device), for reference.
    x = pipe.preprocess(crops)
    with torch.no_grad():
        for _ in range(max(1, args.warmup)):
            net(x)
        sync(device)
        t0 = time.perf_counter()
        for _ in range(args.iters):
            net(x)
        sync(device)
        forward_crops_per_s = args.batch * args.iters / (time.perf_counter() - t0)

    ms.sort()
    print("pipeline: %.2f ms/batch mean, %.2f median, %.2f min: %.1f crops/s; forward only %.1f "
          "crops/s" % (total * 1000 / args.iters, ms[len(ms) // 2], ms[0], crops_per_s,
                       forward_crops_per_s))
    result = {"bench": "detect_pytorch", "torch": torch.__version__, "arch": info["arch"],
              "device": str(device), "dtype": dtype, "batch": args.batch, "iters": args.iters,
              "warmup": args.warmup, "threads": torch.get_num_threads(),
              "crops_per_s": crops_per_s, "forward_crops_per_s": forward_crops_per_s,
              "ms_per_batch_mean": total * 1000 / args.iters, "ms_per_batch_min": ms[0],
              "max_abs_diff": max_abs_diff, "max_abs_heatmap": max_abs_value}
    print(json.dumps(result))
    if args.max_abs_diff is not None and max_abs_diff is not None and max_abs_diff > args.max_abs_diff:
        print("detect_vs_pytorch: heatmap difference %.3g > %.3g" % (max_abs_diff, args.max_abs_diff),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

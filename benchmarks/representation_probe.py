#!/usr/bin/env python3
"""Representation probes of a savl model's degradation code (method.md, section 7), on photos
never trained on. Every row of the table is one set of features, probed the same way:

- global (probe_global.py): BSD68 and Set14 degraded uniformly on a grid (noise sigma 0/10/20/30 on 0-255 x
  Gaussian blur sigma none/1.6/3.2 HR pixels x JPEG none/40), one vector per LR image (the code: mean and std
  over pixels of each channel of mu and log sigma^2), L2-regularised multinomial logistic regression on
  standardised features: noise, blur and JPEG class trained on half of the photos and tested on the other half;
  image identity trained on the clean version of each photo and tested on its 23 degraded versions ("noise
  class, JPEG-free images" scores the noise probe on the test images without JPEG only);
- per-pixel: on the heterogeneous test sets (fitted on BSD68's pixels, R^2 on Set5's and Set14's), the
  ground-truth noise sigma, blur width and JPEG quality maps from mu averaged over a 9x9 window, by least
  squares and by a 2-layer MLP (64 hidden units, fixed seed); and the content probe: least squares from mu at
  the pixel to the clean luminance (Y of the bicubic downscale of the HR image) at that pixel.

Rows for scale: "LR pixel RGB" (pooled: per-channel mean and std; per pixel: the RGB itself) and "trivial LR
statistics" (pooled: per-channel mean, std and mean absolute Laplacian; per pixel: the same over the 9x9
window). A code earns credit only where it beats these. --untrained-control adds, after each model, its
encoder with PyTorch's default initialisation (seed 0): what the architecture gives without training. The KL column is the posterior's KL to N(0, I) in nats
per LR pixel (summed over channels), averaged over the grid images.

    python3 benchmarks/representation_probe.py \
        --model "v2=Models/savl-small-x4-v2.safetensors" --untrained-control --out runs/probe/table.md

A model whose code is `none` is skipped; a `global` code gets the global probe only. The encoder runs in
PyTorch (scripts/make_savl_fixtures.py's reference, which the Swift model is tested against).
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import probe_fit
import probe_global
import reference_model

REPO = reference_model.REPO
MAPS = ["noiseSigma", "blurWidth", "jpegQuality"]
WINDOW = 9


class Skip(Exception):
    pass


def encoder(model_path, untrained=False):
    """code(lr) -> (mu, log sigma^2 or None), (N, H, W, d) arrays ((N, 1, 1, d) for a global code) of a batch
    (N, H, W, 3) of LR images, and the code kind. `untrained`: the same network with PyTorch's default
    initialisation (seed 0) instead of the file's weights, a control for what the architecture alone gives."""
    def probe_able(cfg):
        if cfg["code"] not in ("variational", "deterministic", "global"):
            return f"no degradation code to probe (code is {cfg['code']})"

    try:
        fixtures, cfg, model = reference_model.load(model_path, require=probe_able)
    except SystemExit as refusal:
        raise Skip(str(refusal)) from None
    except Exception as error:  # a missing file, or weights that do not fit the reference network
        raise Skip(f"{model_path}: cannot load ({type(error).__name__}: {error})") from None
    if untrained:
        torch.manual_seed(0)
        model = fixtures.SAVLModel(cfg).eval()
    net = model.encoder.to(memory_format=torch.channels_last)

    def code(lr):
        x = torch.from_numpy(lr).permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
        with torch.no_grad(), probe_fit.threads(2):
            mean, log_variance = net(x)
        fixtures.KINKS.clear()
        as_nhwc = lambda t: None if t is None else t.permute(0, 2, 3, 1).double().numpy()
        return as_nhwc(mean), as_nhwc(log_variance)

    return code, cfg["code"]


def window_mean(x):
    """(H, W, C) averaged over the WINDOW x WINDOW window around each pixel (over the pixels inside the image)."""
    t = torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None]
    pooled = torch.nn.functional.avg_pool2d(t, WINDOW, stride=1, padding=WINDOW // 2, count_include_pad=False)
    return pooled[0].permute(1, 2, 0).numpy()


def local_trivial(lr):
    """Per pixel, the trivial statistics over its window: per-channel mean, std and mean |Laplacian|."""
    x = lr.astype(np.float64)
    lap = probe_global.laplacian_abs(torch.from_numpy(x).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
    mean = window_mean(x)
    std = np.sqrt(np.maximum(window_mean(x * x) - mean * mean, 0))
    return np.concatenate([mean, std, window_mean(lap)], axis=2)


def luminance(rgb):
    """Y of ITU-R BT.601 on [0, 1] RGB, as savl eval computes it."""
    return (16 + 65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]) / 255


def test_set_pixels(folder):
    """Per image: the LR image, and the probe targets per LR pixel."""
    manifest = json.loads((folder / "manifest.json").read_text())
    images = []
    for name in manifest["images"]:
        params = json.loads((folder / "params" / f"{name}.json").read_text())
        lr = np.asarray(Image.open(folder / "LR" / f"{name}.png").convert("RGB"), dtype=np.float32) / 255
        h, w = lr.shape[:2]
        targets = {}
        for kind in MAPS:
            info = params["maps"][kind]
            low, high = info["range"]
            raw = np.asarray(Image.open(folder / "maps" / info["file"]), dtype=np.float64) / 65535
            targets[kind] = (low + raw * (high - low)).reshape(-1)
        hr = Image.open(folder / "HR" / f"{name}.png").convert("RGB")
        clean = np.asarray(hr.resize((w, h), Image.BICUBIC), dtype=np.float64) / 255
        targets["content"] = luminance(clean).reshape(-1)
        images.append((lr, targets))
    return images


def per_pixel_probe(features, train, test):
    """`features(lr)` gives (at the pixel, over the window) per LR pixel, each (H, W, k)."""
    def stack(images):
        here, window = zip(*(features(lr) for lr, _ in images))
        flat = lambda parts: np.vstack([p.reshape(-1, p.shape[-1]) for p in parts])
        y = {t: np.concatenate([targets[t] for _, targets in images]) for t in MAPS + ["content"]}
        return flat(here), flat(window), y

    (train_here, train_window, train_y), (test_here, test_window, test_y) = stack(train), stack(test)
    maps_train = np.stack([train_y[t] for t in MAPS], axis=1)
    maps_test = np.stack([test_y[t] for t in MAPS], axis=1)
    linear = probe_fit.r_squared(train_window, maps_train, test_window, maps_test)
    rows = np.random.default_rng(0).choice(len(train_window), min(len(train_window), 200_000), replace=False)
    mlp = probe_fit.mlp_r_squared(train_window[rows], maps_train[rows], test_window, maps_test)
    out = {f"{t} R2 linear 9x9": float(r) for t, r in zip(MAPS, linear)}
    out.update({f"{t} R2 MLP 9x9": float(r) for t, r in zip(MAPS, mlp)})
    out["content R2"] = float(probe_fit.r_squared(train_here, train_y["content"], test_here, test_y["content"]))
    return out


COLUMNS = [("noise class", "noise class (chance .25)"), ("noise class, no JPEG", "noise class, JPEG-free images"),
           ("blur class", "blur class (.33)"),
           ("JPEG class", "JPEG class (.50)"), ("identity", "identity, clean to degraded (1/82)"),
           ("noiseSigma R2 linear 9x9", "noise σ R², linear 9×9"), ("blurWidth R2 linear 9x9", "blur R², linear 9×9"),
           ("jpegQuality R2 linear 9x9", "JPEG q R², linear 9×9"), ("noiseSigma R2 MLP 9x9", "noise σ R², MLP"),
           ("blurWidth R2 MLP 9x9", "blur R², MLP"), ("jpegQuality R2 MLP 9x9", "JPEG q R², MLP"),
           ("content R2", "content R² (Y)"), ("KL", "KL nats/px")]


def cell(value, key):
    if value is None:
        return "–"
    return f"{value:.2f}" if "class" in key or key == "identity" else f"{value:.3f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", default=[], metavar="LABEL=PATH",
                        help="a savl model file to probe (repeatable)")
    parser.add_argument("--work", type=Path, default=REPO / "runs/evidence",
                        help="where the test sets and the grid's bicubic LR images are cached")
    parser.add_argument("--savl", default=str(REPO / ".build/release/savl"))
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared/data/eval")
    parser.add_argument("--untrained-control", action="store_true",
                        help="after each model, a row for its encoder with untrained (random) weights")
    parser.add_argument("--out", type=Path, help="also write the table as Markdown here, and as JSON beside it")
    args = parser.parse_args()
    torch.set_num_threads(1)  # the encoder runs on 2 (probe_fit.threads)
    log = lambda message: print(message, file=sys.stderr, flush=True)

    start = time.perf_counter()
    evidence = reference_model.load_module("evidence", REPO / "benchmarks/evidence_table.py")
    folders = evidence.build_test_sets(args.savl, args.data, args.work)
    train = test_set_pixels(folders[("hetero", "BSD68")])
    test = test_set_pixels(folders[("hetero", "Set5")]) + test_set_pixels(folders[("hetero", "Set14")])
    grid, labels = probe_global.build_grid(args.savl, args.data, args.work)
    grid = [g.astype(np.float32) / 255 for g in grid]
    log(f"test sets and grid ({len(grid)} LR images) ready in {time.perf_counter() - start:.0f} s")

    rows = []
    pixel = lambda lr: (lr.astype(np.float64), window_mean(lr.astype(np.float64)))
    trivial = lambda lr: (local_trivial(lr),) * 2
    for label, pooled, local in (("LR pixel RGB", probe_global.pooled_pixels, pixel),
                                 ("trivial LR statistics", probe_global.pooled_trivial, trivial)):
        t = time.perf_counter()
        result = probe_global.probe(np.stack([pooled(g) for g in grid]), labels)
        result.update(per_pixel_probe(local, train, test))
        rows.append((label, result))
        log(f"{label}: {time.perf_counter() - t:.0f} s")

    specs = []
    for spec in args.model:
        label, _, path = spec.partition("=")
        if not path:
            sys.exit(f"--model {spec}: expected LABEL=PATH")
        specs.append((label, path, False))
        if args.untrained_control:
            specs.append((f"{label}: same encoder, untrained (control)", path, True))
    for label, path, untrained in specs:
        t = time.perf_counter()
        try:
            code, kind = encoder(path, untrained)
        except Skip as reason:
            log(f"skipping {label}: {reason}")
            continue
        pooled, kl = [None] * len(grid), []
        for image in np.unique(labels[:, 0]):  # the 24 conditions of one photo share a size: one batch
            members = np.flatnonzero(labels[:, 0] == image)
            mu, lv = code(np.stack([grid[i] for i in members]))
            for k, i in enumerate(members):
                pooled[i] = probe_global.pooled_code(mu[k], None if lv is None else lv[k])
            if kind == "variational":
                kl.append(0.5 * (mu * mu + np.exp(lv) - lv - 1).sum(axis=-1).mean(axis=(1, 2)))
        log(f"{label}: encoded the grid in {time.perf_counter() - t:.0f} s")
        result = probe_global.probe(np.stack(pooled), labels)
        if kl:
            result["KL"] = float(np.concatenate(kl).mean())
        if kind == "global":
            log(f"{label}: a global code has no per-pixel field; per-pixel probes skipped")
        else:
            def local(lr):
                mu = code(lr[None])[0][0]
                return mu, window_mean(mu)
            result.update(per_pixel_probe(local, train, test))
        rows.append((label, result))
        log(f"{label}: {time.perf_counter() - t:.0f} s")

    lines = ["| features | " + " | ".join(title for _, title in COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    lines += [f"| {label} | " + " | ".join(cell(r.get(key), key) for key, _ in COLUMNS) + " |" for label, r in rows]
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(table + "\n")
        args.out.with_suffix(".json").write_text(json.dumps(dict(rows), indent=1) + "\n")
    log(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()

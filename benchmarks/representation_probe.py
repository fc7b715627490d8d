#!/usr/bin/env python3
"""Representation probes of a savl model's degradation code (method.md, section 7): linear probes from the
per-pixel posterior mean mu to (1) the ground-truth degradation maps of the heterogeneous test sets (noise
sigma, blur width, JPEG quality: degradation should be decodable) and (2) the clean content at the same
pixel, the luminance of the bicubic downscale of the HR image (content should not be).

    python3 benchmarks/representation_probe.py --model "default=Models/savl-small-x4-v2.safetensors" \
        --model "beta 1e-3=runs/beta1e-3-x4/weights.safetensors"

The test sets are those of benchmarks/evidence_table.py (built with `savl degrade` when missing). Probes
are least squares with a bias on mu (d features), fitted on the BSD68 images and scored (R^2) on the
Set5 and Set14 images, so a probe must generalise to unseen photos and degradations. For scale, the same
probes on the LR pixel's own RGB values are printed as the first row. The encoder runs in PyTorch
(scripts/make_savl_fixtures.py's reference, which the Swift model is tested against).
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import reference_model

REPO = reference_model.REPO
MAPS = ["noiseSigma", "blurWidth", "jpegQuality"]
TARGETS = MAPS + ["content"]


def encoder(model_path):
    def per_pixel_code(cfg):
        if cfg["code"] not in ("variational", "deterministic"):
            return f"the probes need a per-pixel code (code is {cfg['code']})"

    fixtures, _, model = reference_model.load(model_path, require=per_pixel_code)

    def mu(lr):
        with torch.no_grad():
            mean, _ = model.encoder(torch.from_numpy(lr).permute(2, 0, 1)[None])
        fixtures.KINKS.clear()
        return mean[0].permute(1, 2, 0).reshape(-1, mean.shape[1]).numpy().astype(np.float64)

    return mu


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


def r_squared(train_x, train_y, test_x, test_y):
    """R^2 on the test pixels of the least-squares fit (with a bias) on the training pixels."""
    design = np.hstack([train_x, np.ones((len(train_x), 1))])
    coef, *_ = np.linalg.lstsq(design, train_y, rcond=None)
    predicted = np.hstack([test_x, np.ones((len(test_x), 1))]) @ coef
    residual = ((test_y - predicted) ** 2).sum()
    total = ((test_y - test_y.mean()) ** 2).sum()
    return 1 - residual / total


def probe(features, train, test):
    """R^2 per target; `features(lr)` gives one row per LR pixel."""
    def stack(images):
        x = np.vstack([features(lr) for lr, _ in images])
        y = {t: np.concatenate([targets[t] for _, targets in images]) for t in TARGETS}
        return x, y
    (train_x, train_y), (test_x, test_y) = stack(train), stack(test)
    return {t: r_squared(train_x, train_y[t], test_x, test_y[t]) for t in TARGETS}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", required=True, metavar="LABEL=PATH",
                        help="a savl model file to probe (repeatable)")
    parser.add_argument("--work", type=Path, default=REPO / "runs/evidence", help="where the test sets are cached")
    parser.add_argument("--savl", default=str(REPO / ".build/release/savl"))
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared/data/eval")
    parser.add_argument("--out", type=Path, help="also write the table as Markdown here")
    args = parser.parse_args()
    torch.set_num_threads(2)

    evidence = reference_model.load_module("evidence", REPO / "benchmarks/evidence_table.py")
    folders = evidence.build_test_sets(args.savl, args.data, args.work)
    train = test_set_pixels(folders[("hetero", "BSD68")])
    test = test_set_pixels(folders[("hetero", "Set5")]) + test_set_pixels(folders[("hetero", "Set14")])

    rows = [("LR pixel RGB (for scale)", probe(lambda lr: lr.reshape(-1, 3).astype(np.float64), train, test))]
    for spec in args.model:
        label, _, path = spec.partition("=")
        if not path:
            sys.exit(f"--model {spec}: expected LABEL=PATH")
        rows.append((label, probe(encoder(path), train, test)))

    lines = ["| features | noise sigma | blur width | JPEG quality | clean content (Y) |",
             "|---|---|---|---|---|"]
    lines += [f"| {label} | " + " | ".join(f"{r[t]:.3f}" for t in TARGETS) + " |" for label, r in rows]
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()

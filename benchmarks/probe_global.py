"""The global probe of representation_probe.py: photos never trained on (BSD68 and Set14) degraded uniformly on
a grid, one feature vector per LR image, and logistic-regression probes for the noise, blur and JPEG class and
for image identity across conditions.

The grid, 4 noise x 3 blur x 2 JPEG = 24 conditions per photo, deterministic:
1. blur: an isotropic Gaussian of sigma 0 (none), 1.6 or 3.2 *HR* pixels (kernel radius ceil(4 sigma), mirrored
   borders) on the HR photo in float, rounded to 8 bits;
2. downscale x4 with savl's MATLAB bicubic (`savl degrade --preset bicubic --mod-crop`), 8-bit LR;
3. noise: Gaussian, independent per channel, sigma 0, 10, 20 or 30 on 0-255, added to the 8-bit LR, rounded and
   clipped; numpy's default_rng seeded with (SEED, CRC-32 of "set/file", sigma, blur index), so the same photo and
   condition always get the same noise, and the JPEG none/40 pair of a condition shares one realisation;
4. JPEG: none, or Pillow's encoder at quality 40 (4:2:0 chroma subsampling).
Steps 1-2 are cached under WORK/probe-grid; steps 3-4 run in memory (a few seconds).
"""
import io
import subprocess
import sys
import zlib

import numpy as np
import torch
from PIL import Image

import probe_fit

SETS = ("BSD68", "Set14")
NOISE = (0, 10, 20, 30)
BLUR = (0.0, 1.6, 3.2)
JPEG = (None, 40)
SEED = 1


def gaussian_blur(image, sigma):
    """Separable Gaussian blur of an (H, W, C) float array, kernel radius ceil(4 sigma), mirrored borders."""
    radius = int(np.ceil(4 * sigma))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    padded = np.pad(image, ((radius, radius), (radius, radius), (0, 0)), mode="reflect")
    rows = sum(t * padded[:, i:i + image.shape[1]] for i, t in enumerate(taps))
    return sum(t * rows[i:i + image.shape[0]] for i, t in enumerate(taps))


def bicubic_lr(savl, data, work, name, blur_index):
    """{file name: 8-bit LR (H, W, 3)} of one set at one blur level, made (and cached) with savl."""
    sigma = BLUR[blur_index]
    folder = work / "probe-grid" / f"{name}-blur{sigma:g}"
    done = folder / "done"
    if not done.exists():
        source = data / name
        if sigma > 0:
            source = folder / "HR-blurred"
            source.mkdir(parents=True, exist_ok=True)
            for path in sorted((data / name).glob("*.png")):
                hr = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)
                blurred = np.clip(np.round(gaussian_blur(hr, sigma)), 0, 255).astype(np.uint8)
                Image.fromarray(blurred).save(source / path.name)
        command = [str(savl), "degrade", str(source), "-o", str(folder / "LR"), "--preset", "bicubic", "--mod-crop"]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr}")
        done.write_text("")
    return {path.name: np.asarray(Image.open(path).convert("RGB"))
            for path in sorted((folder / "LR").glob("*.png"))}


def degrade(lr, key, noise_index, blur_index, jpeg_index):
    """Steps 3 and 4 of the grid on an 8-bit LR image."""
    sigma = NOISE[noise_index]
    out = lr
    if sigma > 0:
        rng = np.random.default_rng([SEED, zlib.crc32(key.encode()), sigma, blur_index])
        out = np.clip(np.round(lr + sigma * rng.standard_normal(lr.shape)), 0, 255).astype(np.uint8)
    if JPEG[jpeg_index] is not None:
        buffer = io.BytesIO()
        Image.fromarray(out).save(buffer, format="JPEG", quality=JPEG[jpeg_index], subsampling=2)
        out = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    return out


def build_grid(savl, data, work):
    """(images, labels): every grid LR image (8-bit) and an (n, 4) int array of (image, noise, blur, JPEG) indices.
    Images are numbered over the sets in order, files sorted by name."""
    images, labels = [], []
    base = 0
    for name in SETS:
        levels = [bicubic_lr(savl, data, work, name, b) for b in range(len(BLUR))]
        files = sorted(levels[0])
        for i, file in enumerate(files):
            for b in range(len(BLUR)):
                for n in range(len(NOISE)):
                    for j in range(len(JPEG)):
                        images.append(degrade(levels[b][file], f"{name}/{file}", n, b, j))
                        labels.append((base + i, n, b, j))
        base += len(files)
    return images, np.array(labels)


def laplacian_abs(x):
    """|4-neighbour Laplacian| of (1, C, H, W), replicate borders."""
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1), mode="replicate")
    lap = (padded[..., :-2, 1:-1] + padded[..., 2:, 1:-1] + padded[..., 1:-1, :-2] + padded[..., 1:-1, 2:]
           - 4 * x)
    return lap.abs()


def pooled_pixels(lr):
    """LR pixel features: per-channel mean and std over the image (lr (H, W, 3) in [0, 1])."""
    flat = lr.reshape(-1, 3)
    return np.concatenate([flat.mean(axis=0), flat.std(axis=0)])


def pooled_trivial(lr):
    """Trivial LR statistics: per-channel mean, std and mean absolute Laplacian."""
    x = torch.from_numpy(lr).permute(2, 0, 1)[None].double()
    return np.concatenate([pooled_pixels(lr), laplacian_abs(x).mean(dim=(0, 2, 3)).numpy()])


def pooled_code(mu, log_variance):
    """Code features: per-channel mean and std over pixels of mu and (if there is one) of log sigma^2."""
    parts = [mu]
    if log_variance is not None:
        parts.append(log_variance)
    return np.concatenate([f for p in parts for f in (p.reshape(-1, p.shape[-1]).mean(axis=0),
                                                       p.reshape(-1, p.shape[-1]).std(axis=0))])


def probe(features, labels):
    """Accuracies of the global probes on one feature matrix (a row per grid image).

    Degradation classes: trained on the images of even rank (all 24 conditions of each), tested on those of odd
    rank. Identity: trained on the clean condition (no noise, no blur, no JPEG) of every image, tested on its
    other 23 conditions."""
    image = labels[:, 0]
    train, test = image % 2 == 0, image % 2 == 1
    out = {}
    for column, key, count in ((1, "noise class", len(NOISE)), (2, "blur class", len(BLUR)), (3, "JPEG class", len(JPEG))):
        predicted = probe_fit.logistic_predictions(features[train], labels[train, column], features[test], count,
                                                   groups=image[train])
        hits = predicted == labels[test, column]
        out[key] = float(hits.mean())
        if key == "noise class":  # the same probe, scored on the test images without JPEG only
            out["noise class, no JPEG"] = float(hits[labels[test, 3] == 0].mean())
    clean = (labels[:, 1] == 0) & (labels[:, 2] == 0) & (labels[:, 3] == 0)
    predicted = probe_fit.logistic_predictions(features[clean], image[clean], features[~clean], image.max() + 1,
                                               lam=probe_fit.IDENTITY_LAMBDA)
    out["identity"] = float((predicted == image[~clean]).mean())
    return out

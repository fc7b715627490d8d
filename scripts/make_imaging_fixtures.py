#!/usr/bin/env python3
"""Generates the golden fixtures for the Imaging and Evaluation tests.

Run from the repository root:  python3 scripts/make_imaging_fixtures.py
Needs numpy, scipy and torch (CPU). If the `bicubic_pytorch` package is installed, the MATLAB
imresize port below is also cross-checked against it.

Outputs (all small, committed):
- Tests/ImagingTests/Fixtures/goldens.json         manifest: inputs, cases and their files
- Tests/ImagingTests/Fixtures/*.f32                 planar (channel-major) float32 little endian
- Tests/EvaluationTests/MetricGoldens.swift         PSNR/SSIM reference values (generated Swift)

References:
- matlabBicubic: a numpy port of MATLAB imresize (bicubic), written from MATLAB's documented
  algorithm: cubic kernel a=-0.5, kernel scaled by the factor when shrinking (antialiasing),
  u = x/scale + 0.5*(1-1/scale), taps mirrored symmetrically at the edges, weights normalised.
- bicubic/bilinear/nearest/area: torch.nn.functional.interpolate(align_corners=False where allowed).
- YCbCr: MATLAB rgb2ycbcr on doubles in [0,1] and its exact inverse.
- PSNR/SSIM: BasicSR's definitions (calculate_psnr / calculate_ssim, test_y_channel, crop_border).
- PNG kinds the Swift encoder never writes (palette, tRNS, 1/2/4 bit, Adam7, gAMA/sRGB chunks):
  written here byte by byte from the PNG specification, with every filter type in use, together
  with the samples they hold.
"""
import json
import os
import struct
import sys
import zlib

import numpy as np
import torch
import torch.nn.functional as F
from scipy.signal import correlate2d

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Tests", "ImagingTests", "Fixtures")
METRIC_SWIFT = os.path.join(ROOT, "Tests", "EvaluationTests", "MetricGoldens.swift")


# ---------------------------------------------------------------- MATLAB imresize (bicubic)

def matlab_cubic(x):
    ax = np.abs(x)
    ax2, ax3 = ax ** 2, ax ** 3
    return ((1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1)
            + (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2)))


def matlab_axis_matrix(n_in, n_out):
    """Dense (n_out, n_in) matrix of MATLAB imresize bicubic contributions along one axis."""
    scale = n_out / n_in
    if scale < 1:
        kernel = lambda d: scale * matlab_cubic(scale * d)
        width = 4.0 / scale
    else:
        kernel = matlab_cubic
        width = 4.0
    x = np.arange(1, n_out + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - width / 2)
    taps = int(np.ceil(width)) + 2
    ind = left[:, None] + np.arange(taps)[None, :]
    w = kernel(u[:, None] - ind)
    w = w / w.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(n_in), np.arange(n_in)[::-1]])
    ind0 = mirror[np.mod(ind.astype(np.int64) - 1, 2 * n_in)]
    m = np.zeros((n_out, n_in))
    for i in range(n_out):
        for j in range(taps):
            m[i, ind0[i, j]] += w[i, j]
    return m


def matlab_imresize(img, out_w, out_h):
    """img: (C, H, W) float64. Separable, so the axis order does not change the exact result."""
    my = matlab_axis_matrix(img.shape[1], out_h)
    mx = matlab_axis_matrix(img.shape[2], out_w)
    return np.einsum("yh,chw,xw->cyx", my, img, mx)


def cross_check_matlab(img, out_w, out_h, ours):
    try:
        from bicubic_pytorch import core
    except ImportError:
        return
    t = torch.from_numpy(img[None]).double()
    theirs = core.imresize(t, sizes=(out_h, out_w), kernel="cubic", antialiasing=True)[0].numpy()
    err = np.abs(theirs - ours).max()
    # bicubic_pytorch computes in float32 whatever the input type, hence the tolerance.
    if err > 1e-5:
        sys.exit(f"MATLAB port disagrees with bicubic_pytorch for {out_w}x{out_h}: max error {err}")


# ---------------------------------------------------------------- torch interpolate

def torch_resize(img, out_w, out_h, mode):
    t = torch.from_numpy(img[None].astype(np.float32))
    kwargs = {} if mode in ("nearest", "area") else {"align_corners": False}
    return F.interpolate(t, size=(out_h, out_w), mode=mode, **kwargs)[0].numpy().astype(np.float64)


# ---------------------------------------------------------------- colour

RGB_TO_YCBCR = np.array([[65.481, 128.553, 24.966],
                         [-37.797, -74.203, 112.0],
                         [112.0, -93.786, -18.214]]) / 255.0
YCBCR_OFFSET = np.array([16.0, 128.0, 128.0]) / 255.0


def rgb2ycbcr(img):
    return np.einsum("kc,chw->khw", RGB_TO_YCBCR, img) + YCBCR_OFFSET[:, None, None]


def ycbcr2rgb(img):
    inv = np.linalg.inv(RGB_TO_YCBCR)
    return np.einsum("kc,chw->khw", inv, img - YCBCR_OFFSET[:, None, None])


# ---------------------------------------------------------------- metrics (BasicSR definitions)

def y_channel(img8):
    """img8: (C, H, W) values 0..255 (float64). Y for RGB, the plane itself for gray."""
    if img8.shape[0] == 1:
        return img8[0]
    r, g, b = img8[0], img8[1], img8[2]
    return 16.0 + (65.481 * r + 128.553 * g + 24.966 * b) / 255.0


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def ssim_plane(a, b):
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    g = np.exp(-((np.arange(11) - 5.0) ** 2) / (2 * 1.5 ** 2))
    g /= g.sum()
    window = np.outer(g, g)
    f = lambda x: correlate2d(x, window, mode="valid")
    mu1, mu2 = f(a), f(b)
    s11, s22, s12 = f(a * a) - mu1 ** 2, f(b * b) - mu2 ** 2, f(a * b) - mu1 * mu2
    m = ((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1 ** 2 + mu2 ** 2 + c1) * (s11 + s22 + c2))
    return m.mean()


def crop(x, border):
    return x if border == 0 else x[..., border:-border, border:-border]


def synthetic_pair(width, height, channels):
    """Integer-defined image pair, reproduced exactly by the Swift test (see MetricGoldens.swift)."""
    c, y, x = np.meshgrid(np.arange(channels), np.arange(height), np.arange(width), indexing="ij")
    a = (x * 37 + y * 91 + c * 53 + (x * y) % 17) % 256
    noise = (x * 13 + y * 7 + c * 3 + (x * y) % 5) % 51 - 25
    b = np.clip(a + noise, 0, 255)
    return a.astype(np.float64), b.astype(np.float64)


# ---------------------------------------------------------------- PNG files from the specification

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def png_chunk(kind, data):
    body = kind.encode() + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def pack_row(samples, depth):
    """samples: 1-D ints for one row (all channels interleaved)."""
    if depth == 16:
        return b"".join(struct.pack(">H", int(v)) for v in samples)
    if depth == 8:
        return bytes(int(v) for v in samples)
    out, acc, bits = bytearray(), 0, 0
    for v in samples:
        acc = (acc << depth) | int(v)
        bits += depth
        if bits == 8:
            out.append(acc)
            acc, bits = 0, 0
    if bits:
        out.append(acc << (8 - bits))
    return bytes(out)


def filter_rows(rows, bpp):
    """Filters each row with type (row index % 5), so that all five filters are exercised."""
    out, prev = bytearray(), bytes(len(rows[0])) if rows else b""
    for r, row in enumerate(rows):
        kind = r % 5
        line = bytearray([kind])
        for i, x in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if kind == 0:
                pred = 0
            elif kind == 1:
                pred = a
            elif kind == 2:
                pred = b
            elif kind == 3:
                pred = (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            line.append((x - pred) & 0xFF)
        out += line
        prev = row
    return bytes(out)


def make_png(samples, depth, color_type, interlace=False, extra_before_idat=b""):
    """samples: (H, W, C) ints as stored (palette indices for type 3)."""
    h, w, c = samples.shape
    bpp = max(1, c * depth // 8)
    raw = b""
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    for x0, y0, dx, dy in passes:
        sub = samples[y0::dy, x0::dx]
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            continue
        rows = [pack_row(sub[y].reshape(-1), depth) for y in range(sub.shape[0])]
        raw += filter_rows(rows, bpp)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 1 if interlace else 0)
    idat = zlib.compress(raw, 9)
    # Two IDAT chunks, to exercise reading across chunk boundaries.
    half = len(idat) // 2
    return (b"\x89PNG\r\n\x1a\n" + png_chunk("IHDR", ihdr) + extra_before_idat
            + png_chunk("IDAT", idat[:half]) + png_chunk("IDAT", idat[half:]) + png_chunk("IEND", b""))


def png_cases(rng):
    """Yields (name, png bytes, expected planar floats (C, H, W), bit depth of the decoded image)."""
    w, h = 9, 7

    def ints(maximum, channels):
        return rng.integers(0, maximum + 1, size=(h, w, channels))

    for depth in (1, 2, 4):
        g = ints(2 ** depth - 1, 1)
        yield f"gray{depth}", make_png(g, depth, 0), g.transpose(2, 0, 1) / (2 ** depth - 1), 8
    g = ints(255, 1)
    yield "gray8_interlaced", make_png(g, 8, 0, interlace=True), g.transpose(2, 0, 1) / 255, 8
    g = ints(65535, 1)
    yield "gray16_interlaced", make_png(g, 16, 0, interlace=True), g.transpose(2, 0, 1) / 65535, 16

    # Palette with partial transparency (tRNS shorter than the palette: the rest is opaque).
    palette = rng.integers(0, 256, size=(13, 3))
    alpha = rng.integers(0, 256, size=9)
    idx = ints(12, 1)
    plte = png_chunk("PLTE", bytes(palette.reshape(-1).tolist()))
    trns = png_chunk("tRNS", bytes(alpha.tolist()))
    full_alpha = np.concatenate([alpha, np.full(13 - 9, 255)])
    rgba = np.concatenate([palette[idx[..., 0]], full_alpha[idx[..., 0]][..., None]], axis=2)
    yield "palette8_trns", make_png(idx, 8, 3, extra_before_idat=plte + trns), rgba.transpose(2, 0, 1) / 255, 8
    idx4 = ints(12, 1)
    yield ("palette4_interlaced", make_png(idx4, 4, 3, interlace=True, extra_before_idat=plte),
           palette[idx4[..., 0]].transpose(2, 0, 1) / 255, 8)

    # Colour-key transparency on gray and RGB.
    g = ints(255, 1)
    key = int(g[3, 4, 0])
    ga = np.concatenate([g, np.where(g == key, 0, 255)], axis=2)
    yield ("gray8_trns", make_png(g, 8, 0, extra_before_idat=png_chunk("tRNS", struct.pack(">H", key))),
           ga.transpose(2, 0, 1) / 255, 8)
    rgb = ints(255, 3)
    k = rgb[2, 2]
    opaque = np.where((rgb == k).all(axis=2), 0, 255)[..., None]
    yield ("rgb8_trns", make_png(rgb, 8, 2, extra_before_idat=png_chunk("tRNS", struct.pack(">HHH", *k.tolist()))),
           np.concatenate([rgb, opaque], axis=2).transpose(2, 0, 1) / 255, 8)

    # Colour-space chunks that a converting reader would act on: samples must come back as stored.
    gamma_linear = png_chunk("gAMA", struct.pack(">I", 100000))
    srgb = png_chunk("sRGB", bytes([0]))
    rgb8 = ints(255, 3)
    yield "rgb8_gamma1", make_png(rgb8, 8, 2, extra_before_idat=gamma_linear), rgb8.transpose(2, 0, 1) / 255, 8
    rgb16 = ints(65535, 3)
    yield "rgb16_srgb", make_png(rgb16, 16, 2, extra_before_idat=srgb), rgb16.transpose(2, 0, 1) / 65535, 16
    rgba16 = ints(65535, 4)
    rgba16[0, :, 3] = 0  # fully transparent row: its colour must survive too
    yield ("rgba16_interlaced_gamma", make_png(rgba16, 16, 6, interlace=True, extra_before_idat=png_chunk("gAMA", struct.pack(">I", 45455))),
           rgba16.transpose(2, 0, 1) / 65535, 16)
    ga16 = ints(65535, 2)
    yield "ga16", make_png(ga16, 16, 4), ga16.transpose(2, 0, 1) / 65535, 16
    rgba8 = ints(255, 4)
    yield "rgba8_interlaced", make_png(rgba8, 8, 6, interlace=True), rgba8.transpose(2, 0, 1) / 255, 8


# ---------------------------------------------------------------- output

def write_plane_file(name, img):
    arr = np.ascontiguousarray(img, dtype="<f4")
    with open(os.path.join(FIXTURES, name), "wb") as f:
        f.write(arr.tobytes())
    return name


def main():
    os.makedirs(FIXTURES, exist_ok=True)
    rng = np.random.default_rng(20240611)
    inputs = {
        # 8-bit-like values with a gradient, so edges and mirroring matter.
        "rgb13x11": (np.round(rng.uniform(0, 255, (3, 11, 13)) * 0.5
                              + np.linspace(0, 127, 13)[None, None, :]) / 255.0),
        "gray16x12": np.round(rng.uniform(0, 255, (1, 12, 16))) / 255.0,
    }
    manifest = {"inputs": {}, "resize": [], "ycbcr": {}, "png": []}
    for name, img in inputs.items():
        manifest["inputs"][name] = {"file": write_plane_file(f"input_{name}.f32", img),
                                    "channels": img.shape[0], "height": img.shape[1], "width": img.shape[2]}

    cases = [
        ("matlabBicubic", "rgb13x11", [(7, 5), (4, 3), (13, 5), (20, 17), (26, 22)]),
        ("matlabBicubic", "gray16x12", [(4, 3), (8, 6), (32, 24), (5, 12)]),
        ("bicubic", "rgb13x11", [(7, 5), (20, 17), (5, 19)]),
        ("bilinear", "rgb13x11", [(7, 5), (20, 17), (5, 19)]),
        ("nearest", "rgb13x11", [(7, 5), (20, 17), (5, 19), (26, 22)]),
        ("area", "rgb13x11", [(7, 5), (20, 17), (5, 19), (4, 3)]),
        ("bicubic", "gray16x12", [(4, 3), (32, 24)]),
    ]
    torch_modes = {"bicubic": "bicubic", "bilinear": "bilinear", "nearest": "nearest", "area": "area"}
    for method, input_name, sizes in cases:
        img = inputs[input_name]
        for w, h in sizes:
            if method == "matlabBicubic":
                out = matlab_imresize(img, w, h)
                cross_check_matlab(img, w, h, out)
            else:
                out = torch_resize(img, w, h, torch_modes[method])
            file = write_plane_file(f"resize_{method}_{input_name}_{w}x{h}.f32", out)
            manifest["resize"].append({"method": method, "input": input_name,
                                       "width": w, "height": h, "file": file})

    ycc = rgb2ycbcr(inputs["rgb13x11"])
    back = ycbcr2rgb(ycc)
    assert np.abs(back - inputs["rgb13x11"]).max() < 1e-12
    manifest["ycbcr"] = {"input": "rgb13x11", "file": write_plane_file("ycbcr_rgb13x11.f32", ycc)}

    for name, data, expected, depth in png_cases(np.random.default_rng(7)):
        with open(os.path.join(FIXTURES, f"png_{name}.png"), "wb") as f:
            f.write(data)
        manifest["png"].append({"file": f"png_{name}.png", "expected": write_plane_file(f"png_{name}.f32", expected),
                                "channels": expected.shape[0], "height": expected.shape[1],
                                "width": expected.shape[2], "bitDepth": depth})

    with open(os.path.join(FIXTURES, "goldens.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")

    write_metric_goldens()


def write_metric_goldens():
    lines = []
    for channels, width, height in [(3, 40, 32), (1, 40, 32)]:
        a, b = synthetic_pair(width, height, channels)
        ya, yb = y_channel(a), y_channel(b)
        for border in (0, 4):
            lines.append((f"y{channels}c{width}x{height}b{border}",
                          psnr(crop(ya, border), crop(yb, border)),
                          ssim_plane(crop(ya, border), crop(yb, border))))
        ca, cb = crop(a, 2), crop(b, 2)
        lines.append((f"rgb{channels}c{width}x{height}b2", psnr(ca, cb),
                      np.mean([ssim_plane(ca[i], cb[i]) for i in range(channels)])))

    body = "\n".join(f'    "{k}": (psnr: {float(p)!r}, ssim: {float(s)!r}),' for k, p, s in lines)
    source = f"""// Generated by scripts/make_imaging_fixtures.py: do not edit.
// PSNR / SSIM of `syntheticPair(width:height:channels:)` computed with BasicSR's definitions.

/// Keys: `y<channels>c<width>x<height>b<border>` (Y channel) and `rgb...b<border>` (all channels).
let metricGoldens: [String: (psnr: Double, ssim: Double)] = [
{body}
]
"""
    with open(METRIC_SWIFT, "w") as f:
        f.write(source)


if __name__ == "__main__":
    main()

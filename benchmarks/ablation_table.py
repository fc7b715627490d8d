#!/usr/bin/env python3
"""The ablation table of the degradation-code experiments (docs/experiments.md): x4 Y-PSNR (border 4) of
savl models on clean bicubic LR (Set5, Set14, BSD68), the heterogeneous test sets of the same photos
(`savl degrade --test-set --preset heterogeneous --seed 1`, as benchmarks/evidence_table.py builds them)
and real camera pairs (../shared/data/eval/DRealSR-x4), with the mean over the seven sets; bicubic
interpolation is the first row.

    python3 benchmarks/ablation_table.py --model "paper=runs/exp/paper/weights.safetensors" \
        --model "cross-content + heteroscedastic=runs/exp/cross-hs/weights.safetensors" --out runs/exp/ablation.md

A model's spec is LABEL=MODEL followed by any `savl eval` options for that row (e.g. `--colour-correction 0`).
Every score comes from `savl eval` (the pipeline of `savl upscale`). An `oracle` model reads ground-truth
maps that these sets do not all have; it is compared on the training runs' validation crops instead.
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

from evidence_table import build_test_sets, run

SETS = ["Set5", "Set14", "BSD68"]


def scores(savl, folders, extra, report):
    run([savl, "eval", *[str(f) for f in folders], "--scale", "4", "--json", str(report), *extra])
    # meanRGBPSNR is missing from the reports of binaries that predate it.
    by_name = {s["name"]: (s["meanPSNR"], s.get("meanRGBPSNR")) for s in json.loads(report.read_text())["sets"]}
    return [by_name[f.name] for f in folders]


def main():
    repo = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--savl", default=str(repo / ".build/release/savl"))
    parser.add_argument("--data", default=str(repo.parent / "shared/data/eval"))
    parser.add_argument("--work", default=str(repo / "runs/evidence"), help="where the test sets are cached")
    parser.add_argument("--model", action="append", default=[], help="LABEL=MODEL_FILE (repeatable)")
    parser.add_argument("--threads", default="2")
    parser.add_argument("--out", default=str(repo / "runs/exp/ablation.md"))
    args = parser.parse_args()

    data, work = Path(args.data), Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    hetero = build_test_sets(args.savl, data, work)
    folders = [data / name for name in SETS] + [hetero[("hetero", name)] for name in SETS] + [data / "DRealSR-x4"]
    titles = [f"{name} clean" for name in SETS] + [f"{name} hetero" for name in SETS] + ["DRealSR"]

    rows = [("bicubic interpolation", scores(args.savl, folders, [], work / "ablation-bicubic.json"))]
    for i, spec in enumerate(args.model):
        label, _, model = spec.partition("=")
        model, *options = model.split()
        report = work / f"ablation-model{i}.json"
        rows.append((label, scores(args.savl, folders, ["--method", "model", "--model", model, "--threads", args.threads, *options],
                                   report)))
        print(f"{label}: {' '.join(f'{v[0]:.2f}' for v in rows[-1][1])}", file=sys.stderr)

    lines = ["| model | " + " | ".join(titles) + " | mean | RGB mean |", "|" + "---|" * (len(titles) + 3)]
    for label, values in rows:
        y, rgb = [v[0] for v in values], [v[1] for v in values]
        rgb_mean = f"{sum(rgb) / len(rgb):.2f}" if None not in rgb else "-"
        lines.append(f"| {label} | " + " | ".join(f"{v:.2f}" for v in y) + f" | {sum(y) / len(y):.2f} | {rgb_mean} |")
    text = "\n".join(lines) + "\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()

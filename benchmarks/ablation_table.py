#!/usr/bin/env python3
"""The ablation table of the degradation-code experiments (docs/experiments.md): x4 Y-PSNR (border 4) of
savl models on clean bicubic LR (Set5, Set14, BSD68), the heterogeneous test sets of the same photos
(`savl degrade --test-set --preset heterogeneous --seed 1`, as benchmarks/evidence_table.py builds them)
and real camera pairs (../shared/data/eval/DRealSR-x4), with the mean over the seven sets; bicubic
interpolation is the first row.

    python3 benchmarks/ablation_table.py --model "paper=runs/exp/paper/weights.safetensors" \
        --model "cross-content + heteroscedastic=runs/exp/cross-hs/weights.safetensors" --out runs/exp/ablation.md

A model's spec is LABEL=MODEL followed by any `savl eval` options for that row (e.g. `--colour-correction 0`).
Every score comes from `savl eval` (the pipeline of `savl upscale`). An `oracle` model (`model.code: oracle`)
takes `--oracle-maps` in its spec: the clean sets give it zero maps, the heterogeneous ones their records'
maps; DRealSR has none, so its row leaves DRealSR out, and the table then adds the mean of the six
synthetic sets for every row.
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

from evidence_table import build_test_sets, run

SETS = ["Set5", "Set14", "BSD68"]


def scores(savl, folders, extra, report):
    """(Y-PSNR, RGB-PSNR) per folder; (None, None) for DRealSR when `extra` holds --oracle-maps."""
    scored = [f for f in folders if "--oracle-maps" not in extra or f.name != "DRealSR-x4"]
    run([savl, "eval", *[str(f) for f in scored], "--scale", "4", "--json", str(report), *extra])
    # meanRGBPSNR is missing from the reports of binaries that predate it.
    by_name = {s["name"]: (s["meanPSNR"], s.get("meanRGBPSNR")) for s in json.loads(report.read_text())["sets"]}
    return [by_name.get(f.name, (None, None)) if f in scored else (None, None) for f in folders]


def mean(values):
    return f"{sum(values) / len(values):.2f}" if values and None not in values else "-"


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
        print(f"{label}: {' '.join('-' if v[0] is None else f'{v[0]:.2f}' for v in rows[-1][1])}", file=sys.stderr)

    six = any(v[0] is None for _, values in rows for v in values)
    header = " | mean | mean of six (no DRealSR) | RGB mean |" if six else " | mean | RGB mean |"
    lines = ["| model | " + " | ".join(titles) + header, "|" + "---|" * (len(titles) + (4 if six else 3))]
    for label, values in rows:
        y, rgb = [v[0] for v in values], [v[1] for v in values]
        cells = ["-" if v is None else f"{v:.2f}" for v in y] + [mean(y)] + ([mean(y[:6])] if six else []) + [mean(rgb)]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""What `--strength` does to a model's scores: x4 Y-PSNR (border 4) of one savl model at several strengths on
clean bicubic LR (Set5, Set14, BSD68) and on the heterogeneous test sets of the same photos (built as
benchmarks/evidence_table.py builds them).

    python3 benchmarks/strength_table.py --model Models/savl-small-x4-v3.safetensors --out runs/evidence/strength.md

Every score comes from `savl eval --method model --strength S`.
"""
import argparse
import json
from pathlib import Path

from evidence_table import SETS, build_test_sets, run


def main():
    repo = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--savl", default=str(repo / ".build/release/savl"))
    parser.add_argument("--data", default=str(repo.parent / "shared/data/eval"))
    parser.add_argument("--work", default=str(repo / "runs/evidence"), help="where the test sets are cached")
    parser.add_argument("--model", default="default", help="an embedded model's name or a model file")
    parser.add_argument("--strengths", default="0,0.5,1,1.5")
    parser.add_argument("--threads", default="2")
    parser.add_argument("--out", default=str(repo / "runs/evidence/strength.md"))
    args = parser.parse_args()

    data, work = Path(args.data), Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    folders = build_test_sets(args.savl, data, work)
    columns = [(f"{name} clean", folders[("bicubic", name)]) for name in SETS] + \
              [(f"{name} hetero", folders[("hetero", name)]) for name in SETS]
    lines = ["| strength | " + " | ".join(title for title, _ in columns) + " |", "|" + "---|" * (len(columns) + 1)]
    for strength in args.strengths.split(","):
        report = work / f"strength-{strength}.json"
        run([args.savl, "eval", *[str(f) for _, f in columns], "--scale", "4", "--method", "model", "--model", args.model,
             "--strength", strength, "--threads", args.threads, "--json", str(report)])
        by_name = {s["name"]: s["meanPSNR"] for s in json.loads(report.read_text())["sets"]}
        lines.append(f"| {strength} | " + " | ".join(f"{by_name[f.name]:.2f}" for _, f in columns) + " |")
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()

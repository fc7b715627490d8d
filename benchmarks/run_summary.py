#!/usr/bin/env python3
"""One line per training run for docs/experiments.md, read from the runs' log.jsonl: steps done, wall time
of the steps (summed from the logged step rates, so pauses between sessions do not count), best and last
validation PSNR (EMA weights), and the KL in nats per LR pixel averaged over the last 50 logged stage-1
steps.

    python3 benchmarks/run_summary.py runs/exp/paper runs/exp/cross-hs
"""
import json
import sys
from pathlib import Path


def summary(folder):
    entries = [json.loads(line) for line in (Path(folder) / "log.jsonl").read_text().splitlines() if line.strip()]
    seconds, previous = 0.0, 0
    for e in entries:
        if e.get("stepsPerSecond"):
            seconds += (e["step"] - previous) / e["stepsPerSecond"]
        previous = e["step"]
    validated = [e for e in entries if e.get("validationPSNR") is not None]
    best = max(validated, key=lambda e: e["validationPSNR"]) if validated else None
    stage1 = [e["kl"] for e in entries if e["stage"] == 1][-50:]
    return {
        "run": Path(folder).name,
        "steps": entries[-1]["step"] if entries else 0,
        "wall": f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min",
        "best": f"{best['validationPSNR']:.2f} (step {best['step']})" if best else "-",
        "last": f"{validated[-1]['validationPSNR']:.2f}" if validated else "-",
        "kl": f"{sum(stage1) / len(stage1):.3f}" if stage1 else "-",
    }


def main():
    print("| run | steps | wall | val PSNR best | val PSNR last | KL nats/px |")
    print("|---|---|---|---|---|---|")
    for folder in sys.argv[1:]:
        s = summary(folder)
        print(f"| {s['run']} | {s['steps']} | {s['wall']} | {s['best']} | {s['last']} | {s['kl']} |")


if __name__ == "__main__":
    main()

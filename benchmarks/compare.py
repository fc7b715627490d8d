#!/usr/bin/env python3
"""Runs `savl bench --json` and the PyTorch reference alternately, several rounds, in one run,
and prints the median of each figure and the savl/PyTorch ratios (the machine is shared: medians
of interleaved runs are what can be compared)."""
import argparse
import json
import statistics
import subprocess
import sys


def run(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--savl", default=".build/release/savl")
    args = p.parse_args()
    savl_cmd = [args.savl, "bench", "--json", "--steps", str(args.steps)]
    torch_cmd = [sys.executable, "benchmarks/pytorch_reference.py", "--json", "--steps", str(args.steps)]
    runs = {"savl": [], "pytorch": []}
    for r in range(args.rounds):
        runs["savl"].append(run(savl_cmd))
        runs["pytorch"].append(run(torch_cmd))
        print(f"round {r + 1}/{args.rounds}: savl step {runs['savl'][-1]['train_step_ms']:.0f} ms, "
              f"pytorch step {runs['pytorch'][-1]['train_step_ms']:.0f} ms", file=sys.stderr)
    keys = ["conv_fwd_gflops", "conv_bwd_data_gflops", "conv_bwd_weights_gflops", "train_step_ms", "infer_ms",
            "params", "peak_rss_mb", "rss_growth_mb"]
    med = {k: {n: statistics.median(r[k] for r in runs[n]) for n in runs} for k in keys}
    print(f"| figure | savl | PyTorch 2.13 CPU | savl / PyTorch |")
    print(f"|---|---|---|---|")
    for k in keys:
        s, t = med[k]["savl"], med[k]["pytorch"]
        ratio = f"{s / t:.2f}" if t else "-"
        print(f"| {k} | {s:.1f} | {t:.1f} | {ratio} |")
    print(json.dumps({"rounds": args.rounds, "steps": args.steps, "median": med}), file=sys.stderr)


if __name__ == "__main__":
    main()

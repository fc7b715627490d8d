#!/usr/bin/env python3
"""Runs `savl bench --json` and the PyTorch reference alternately, several rounds, in one run,
and prints the median of each figure and the ratios to PyTorch (the machine is shared: medians
of interleaved runs are what can be compared).

`--configs` picks what runs in each round (default `savl-f32,pytorch-f32`):
`savl-f32`, `savl-bf16`, `pytorch-f32`, `pytorch-f32-cl` (channels-last), `pytorch-bf16-cl`
(bf16 autocast + channels-last). Ratios are taken against the last PyTorch configuration named.
"""
import argparse
import json
import platform
import statistics
import subprocess
import sys


def run(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def cpu_line():
    model, flags = platform.processor() or "?", []
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    flags = line.split(":", 1)[1].split()
                    break
    except OSError:
        pass
    wanted = ["avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"]
    return f"{model}; flags: {' '.join(f for f in wanted if f in flags) or 'none of ' + ' '.join(wanted)}"


def commands(args):
    savl = [args.savl, "bench", "--json", "--steps", str(args.steps), "--threads", str(args.threads)]
    torch = [sys.executable, "benchmarks/pytorch_reference.py", "--json", "--steps", str(args.steps),
             "--threads", str(args.threads)]
    return {
        "savl-f32": savl + ["--precision", "f32"],
        "savl-bf16": savl + ["--precision", "bf16"],
        "pytorch-f32": torch,
        "pytorch-f32-cl": torch + ["--channels-last"],
        "pytorch-bf16-cl": torch + ["--channels-last", "--bf16"],
    }


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--savl", default=".build/release/savl")
    p.add_argument("--configs", default="savl-f32,pytorch-f32")
    args = p.parse_args()
    table = commands(args)
    names = args.configs.split(",")
    unknown = [n for n in names if n not in table]
    if unknown:
        p.error(f"unknown configuration(s) {', '.join(unknown)}; known: {', '.join(table)}")
    print(f"CPU: {cpu_line()}; {args.threads} threads", file=sys.stderr)
    runs = {n: [] for n in names}
    for r in range(args.rounds):
        for n in names:
            runs[n].append(run(table[n]))
        steps = ", ".join(f"{n} {runs[n][-1]['train_step_ms']:.0f} ms" for n in names)
        print(f"round {r + 1}/{args.rounds}: step {steps}", file=sys.stderr)
    keys = ["conv_fwd_gflops", "conv_bwd_data_gflops", "conv_bwd_weights_gflops", "train_step_ms", "infer_ms",
            "params", "peak_rss_mb", "rss_growth_mb"]
    med = {k: {n: statistics.median(r[k] for r in runs[n]) for n in names} for k in keys}
    reference = next((n for n in reversed(names) if n.startswith("pytorch")), None)
    print(f"CPU: {cpu_line()}; {args.threads} threads; medians of {args.rounds} interleaved rounds")
    print("| figure | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for k in keys:
        print(f"| {k} | " + " | ".join(f"{med[k][n]:.1f}" for n in names) + " |")
    if reference:
        print()
        for n in names:
            if n.startswith("savl"):
                ratios = ", ".join(f"{k} {med[k][n] / med[k][reference]:.2f}" for k in ("train_step_ms", "infer_ms"))
                print(f"{n} / {reference}: {ratios}")
    print(json.dumps({"rounds": args.rounds, "steps": args.steps, "median": med}), file=sys.stderr)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The reference network of `savl bench`, in PyTorch CPU, measured the same way.

Head conv 3->64, 8 residual blocks (conv3x3-ReLU-conv3x3), a global skip, tail conv 64->48,
pixel shuffle x4; batch 16 of 3x48x48; L1 loss; Adam. Prints the same keys as `savl bench --json`.

`--channels-last` keeps activations and weights in NHWC (oneDNN's preferred layout on CPU);
`--bf16` runs forward passes under `torch.autocast("cpu", torch.bfloat16)` (convolutions in bf16,
weights and the optimizer in f32), PyTorch's mixed precision on CPU.
"""
import contextlib
import argparse
import json
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return x + self.conv2(F.relu(self.conv1(x)))


class BenchmarkNetwork(nn.Module):
    def __init__(self, channels=64, blocks=8):
        super().__init__()
        self.head = nn.Conv2d(3, channels, 3, padding=1)
        self.body = nn.Sequential(*[Block(channels) for _ in range(blocks)])
        self.tail = nn.Conv2d(channels, 48, 3, padding=1)

    def forward(self, x):
        h = self.head(x)
        return F.pixel_shuffle(self.tail(self.body(h) + h), 4)


def median_ms(fn, repeats, warmup=1):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--steps", type=int, default=10, help="timed training steps after 2 warm-up steps")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--channels-last", action="store_true", help="NHWC activations and weights")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast (mixed precision)")
    args = parser.parse_args()
    fmt = torch.channels_last if args.channels_last else torch.contiguous_format
    autocast = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if args.bf16 else contextlib.nullcontext
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    # Convolution passes, 3x3 64->64 on batch x 48 x 48.
    b = args.batch
    dtype = torch.bfloat16 if args.bf16 else torch.float32
    conv = nn.Conv2d(64, 64, 3, padding=1).to(dtype=dtype, memory_format=fmt)
    x = torch.full((b, 64, 48, 48), 0.5, dtype=dtype).to(memory_format=fmt).requires_grad_()
    gy = torch.full((b, 64, 48, 48), 0.1, dtype=dtype).to(memory_format=fmt)
    macs = b * 64 * 48 * 48 * 64 * 9
    with torch.no_grad():
        fwd = median_ms(lambda: conv(x), 10)
    wmask = (False, True, True)
    dmask = (True, False, False)
    bwd_data = median_ms(lambda: torch.ops.aten.convolution_backward(
        gy, x, conv.weight, [64], [1, 1], [1, 1], [1, 1], False, [0, 0], 1, dmask), 10)
    bwd_weights = median_ms(lambda: torch.ops.aten.convolution_backward(
        gy, x, conv.weight, [64], [1, 1], [1, 1], [1, 1], False, [0, 0], 1, wmask), 10)
    gflops = lambda ms: 2 * macs / (ms / 1000) / 1e9

    net = BenchmarkNetwork().to(memory_format=fmt)
    inp = torch.rand(b, 3, 48, 48).to(memory_format=fmt)
    target = torch.rand(b, 3, 192, 192).to(memory_format=fmt)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)

    def train_step():
        opt.zero_grad(set_to_none=True)
        with autocast():
            out = net(inp)
        loss = F.l1_loss(out.float(), target)
        loss.backward()
        opt.step()

    for _ in range(2):
        train_step()
    rss_before = rss_mb()
    step_ms = median_ms(train_step, args.steps, warmup=0)
    rss_after = rss_mb()
    with torch.no_grad(), autocast():
        infer_ms = median_ms(lambda: net(inp), max(args.steps, 3))

    result = {
        "conv_fwd_ms": fwd, "conv_bwd_data_ms": bwd_data, "conv_bwd_weights_ms": bwd_weights,
        "conv_fwd_gflops": gflops(fwd), "conv_bwd_data_gflops": gflops(bwd_data),
        "conv_bwd_weights_gflops": gflops(bwd_weights),
        "train_step_ms": step_ms, "infer_ms": infer_ms,
        "params": sum(p.numel() for p in net.parameters()),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_growth_mb": rss_after - rss_before, "steps": args.steps, "batch": b,
        "channels_last": args.channels_last, "precision": "bf16" if args.bf16 else "f32",
    }
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        for k in sorted(result):
            v = result[k]
            print(f"{k:26s} {v:.2f}" if isinstance(v, float) else f"{k:26s} {v}")


if __name__ == "__main__":
    main()

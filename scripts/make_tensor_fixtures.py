#!/usr/bin/env python3
"""Writes the PyTorch golden fixtures of Tests/LayersTests/Fixtures.

Usage: python3 scripts/make_tensor_fixtures.py [output directory]

Needs torch (CPU) and safetensors. Everything is float32 and seeded, so a rerun with the same
PyTorch version gives the same values. The Swift tests read:

- golden_conv.safetensors, golden_ops.safetensors: for each case `<case>.<input>`, the output
  `<case>.out`, a fixed random `<case>.grad_out` of the output's shape, and `<case>.grad.<input>`,
  the gradient of sum(out * grad_out) with respect to every input.
- golden_convnet_weights.safetensors: a small residual network's state_dict (PyTorch names).
- golden_convnet.safetensors: its `input`, `target`, `output`, L1 `loss`, and `grad.<name>`
  for every parameter and the input.
- python_dtypes.safetensors: F32, F16 and BF16 tensors (with special values) and metadata, plus
  F32 copies `<name>.as_f32` of the 16-bit ones, for the reader's dtype conversions.
"""

import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

# One metadata key per file: the Python package writes several in an arbitrary order, which would
# change the bytes of every fixture on each run.
GENERATOR = {"generator": f"scripts/make_tensor_fixtures.py, torch {torch.__version__}"}


def case(store, name, fn, **inputs):
    """Runs fn on inputs (which require gradients) and stores inputs, output and gradients."""
    leaves = {k: v.detach().clone().float().requires_grad_(True) for k, v in inputs.items()}
    out = fn(**leaves)
    grad_out = torch.randn(out.shape)
    (out * grad_out).sum().backward()
    for k, v in leaves.items():
        store[f"{name}.{k}"] = v.detach()
        store[f"{name}.grad.{k}"] = v.grad.detach()
    store[f"{name}.out"] = out.detach()
    store[f"{name}.grad_out"] = grad_out


def away_from_zero(shape, margin=0.02):
    """Normal values at least `margin` from 0, where |x|, relu-like kinks would make gradients ambiguous."""
    x = torch.randn(shape)
    return x + margin * torch.sign(x)


def conv_cases():
    store = {}
    case(store, "conv3x3", lambda x, weight, bias: F.conv2d(x, weight, bias, padding=1),
         x=torch.randn(2, 3, 8, 7), weight=0.3 * torch.randn(8, 3, 3, 3), bias=torch.randn(8))
    case(store, "strided_dilated", lambda x, weight, bias: F.conv2d(x, weight, bias, stride=2, padding=2, dilation=2),
         x=torch.randn(1, 4, 11, 10), weight=0.3 * torch.randn(6, 4, 3, 3), bias=torch.randn(6))
    case(store, "depthwise", lambda x, weight, bias: F.conv2d(x, weight, bias, padding=1, groups=8),
         x=torch.randn(2, 8, 7, 6), weight=0.3 * torch.randn(8, 1, 3, 3), bias=torch.randn(8))
    case(store, "grouped1x1", lambda x, weight: F.conv2d(x, weight, groups=2),
         x=torch.randn(1, 8, 5, 4), weight=0.3 * torch.randn(16, 4, 1, 1))
    return store


def op_cases():
    store = {}
    case(store, "matmul_batched", lambda a, b: torch.matmul(a, b), a=torch.randn(3, 4, 5), b=torch.randn(3, 5, 6))
    case(store, "matmul_shared", lambda a, b: torch.matmul(a, b), a=torch.randn(2, 3, 4, 5), b=torch.randn(5, 6))
    case(store, "softmax_axis1", lambda x: torch.softmax(x, dim=1), x=2 * torch.randn(2, 5, 3, 4))
    case(store, "layer_norm", lambda x, weight, bias: F.layer_norm(x, (7,), weight, bias, eps=1e-5),
         x=torch.randn(2, 3, 7) + 0.5, weight=1 + 0.3 * torch.randn(7), bias=0.3 * torch.randn(7))
    case(store, "pixel_shuffle", lambda x: F.pixel_shuffle(x, 2), x=torch.randn(1, 8, 3, 4))
    case(store, "pixel_unshuffle", lambda x: F.pixel_unshuffle(x, 2), x=torch.randn(1, 2, 6, 8))
    case(store, "bilinear_up", lambda x: F.interpolate(x, size=(9, 12), mode="bilinear", align_corners=False, antialias=False),
         x=torch.randn(1, 2, 5, 7))
    case(store, "bilinear_down", lambda x: F.interpolate(x, size=(4, 6), mode="bilinear", align_corners=False, antialias=False),
         x=torch.randn(1, 2, 11, 13))
    case(store, "nearest", lambda x: F.interpolate(x, size=(10, 3), mode="nearest"), x=torch.randn(1, 2, 14, 8))
    # PyTorch takes source row floor(o * float32(26 / 22)): for o = 11 that is 12, not the exact 13.
    # 26 -> 22 is the only such size pair below 30 (sizes equal or doubling take another code path).
    case(store, "nearest_float_scale", lambda x: F.interpolate(x, size=(22, 3), mode="nearest"), x=torch.randn(1, 1, 26, 3))
    case(store, "nearest_up", lambda x: F.interpolate(x, size=(8, 11), mode="nearest"), x=torch.randn(1, 2, 5, 7))
    case(store, "avg_pool_k3s2p1", lambda x: F.avg_pool2d(x, 3, stride=2, padding=1), x=torch.randn(1, 3, 9, 8))
    case(store, "avg_pool_k2", lambda x: F.avg_pool2d(x, 2), x=torch.randn(2, 2, 6, 8))
    wide = torch.cat([3 * away_from_zero((3, 16)).flatten(), torch.tensor([-25.0, -19.0, 19.5, 21.0, 25.0])])
    case(store, "gelu", lambda x: F.gelu(x), x=wide)
    case(store, "leaky_relu", lambda x: F.leaky_relu(x, 0.2), x=wide)
    case(store, "softplus", lambda x: F.softplus(x), x=wide)
    prediction, target = torch.randn(2, 3, 4, 5), torch.randn(2, 3, 4, 5)
    assert (prediction - target).abs().min() > 1e-3, "an L1 kink too close to a sample"
    case(store, "l1_loss", lambda prediction, target: F.l1_loss(prediction, target), prediction=prediction, target=target)
    case(store, "mse_loss", lambda prediction, target: F.mse_loss(prediction, target), prediction=prediction, target=target)
    case(store, "charbonnier_loss", lambda prediction, target: torch.sqrt((prediction - target) ** 2 + 1e-3 ** 2).mean(),
         prediction=prediction, target=target)
    # Cases added later draw from a seed of their own and give the global generator back as it was, so
    # the fixtures written after this one keep their bytes.
    state = torch.get_rng_state()
    torch.manual_seed(20261202)
    case(store, "avg_pool_k5s1p2_uncounted", lambda x: F.avg_pool2d(x, 5, stride=1, padding=2, count_include_pad=False),
         x=torch.randn(1, 2, 7, 9))
    torch.set_rng_state(state)
    return store


class ResidualBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return x + self.conv2(F.leaky_relu(self.conv1(x), 0.1))


class TinySR(nn.Module):
    """head conv 3->8, two residual blocks, a global skip, tail conv 8->12, pixel shuffle x2."""

    def __init__(self):
        super().__init__()
        self.head = nn.Conv2d(3, 8, 3, padding=1)
        self.body = nn.Sequential(ResidualBlock(8), ResidualBlock(8))
        self.tail = nn.Conv2d(8, 3 * 4, 3, padding=1)

    def forward(self, x):
        h = self.head(x)
        return F.pixel_shuffle(self.tail(self.body(h) + h), 2)


def convnet():
    net = TinySR()
    x = torch.randn(2, 3, 6, 7, requires_grad=True)
    target = torch.randn(2, 3, 12, 14)
    output = net(x)
    assert (output - target).abs().min() > 1e-4, "an L1 kink too close to a sample"
    loss = F.l1_loss(output, target)
    loss.backward()
    weights = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    io = {"input": x.detach(), "target": target, "output": output.detach(), "loss": loss.detach()}
    io.update({f"grad.{k}": p.grad for k, p in net.named_parameters()})
    io["grad.input"] = x.grad
    return weights, io


def dtype_cases():
    special = torch.tensor([0.0, -0.0, 1.0, -2.5, 65504.0, 6e-8, -3e-5, 0.1, float("inf"), float("-inf"), float("nan")])
    half, bf16 = special.half(), torch.cat([special, torch.tensor([3.0e38, 1e-39])]).bfloat16()
    return {
        "f32": torch.arange(12, dtype=torch.float32).reshape(3, 4) / 8 - 0.5,
        "half": half, "half.as_f32": half.float(),
        "bf16": bf16, "bf16.as_f32": bf16.float(),
        "scalar": torch.tensor(3.25),
        "empty": torch.zeros(0, 3),
    }


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "Tests", "LayersTests", "Fixtures")
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(20240611)
    torch.set_num_threads(1)
    files = {
        "golden_conv.safetensors": (conv_cases(), GENERATOR),
        "golden_ops.safetensors": (op_cases(), GENERATOR),
    }
    weights, io = convnet()
    # The Swift tests also re-encode this file expecting the same bytes.
    files["golden_convnet_weights.safetensors"] = (weights, {"format": "pt"})
    files["golden_convnet.safetensors"] = (io, GENERATOR)
    files["python_dtypes.safetensors"] = (dtype_cases(), {"note": "quote \" backslash \\ tab \t é"})
    for name, (tensors, metadata) in files.items():
        path = os.path.join(out_dir, name)
        save_file({k: v.contiguous() for k, v in tensors.items()}, path, metadata=metadata)
        print(f"{name}: {len(tensors)} tensors, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()

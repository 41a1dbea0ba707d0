"""archdoc's trace plus page against torchinfo's summary on meta, model by model.

Run from the repository root with the project's environment (torchinfo is in the
test extra):

    .venv/bin/python benchmarks/bench_peers.py [--repeat 3] [PATTERN ...]

For every zoo model (or those whose names contain one of the PATTERNs) and a few
small models with attention and depthwise convolutions, in one warm process:

- archdoc: ``archdoc.trace(model)`` (with the input-range search a page shows)
  followed by ``render_page`` (table, arithmetic, diagrams);
- torchinfo: the same builder under ``torch.device("meta")``, then ``torchinfo.summary``
  at the same input, ``device="meta"``, ``depth=3`` (torchinfo's default), no printing.

Both times include building the model, as a user of either pays it. Each figure is the
median of N runs after one warm-up, the two interleaved. Prints a table and the models
where archdoc is slower; asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import warnings

import torch
import torchinfo
from torch import nn

import archdoc
from archdoc.page import render_page
from archdoc.registry import get_entry


class Attention(nn.Module):
    """A pre-norm transformer encoder of 4 layers over 64 tokens of width 128."""

    def __init__(self) -> None:
        super().__init__()
        layer = nn.TransformerEncoderLayer(128, 4, 256, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, 4, enable_nested_tensor=False)
        self.head = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x).mean(1))


class SdpaBlock(nn.Module):
    """Hand-written attention with F.scaled_dot_product_attention, as timm and transformers write it."""

    def __init__(self, width: int = 128, heads: int = 4) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        y = nn.functional.scaled_dot_product_attention(q, k, v)
        return x + self.proj(y.transpose(1, 2).reshape(b, n, c))


class Depthwise(nn.Module):
    """Eight depthwise-separable blocks (3×3 depthwise, 1×1 pointwise, BatchNorm, ReLU6)."""

    def __init__(self) -> None:
        super().__init__()
        blocks: list[nn.Module] = [nn.Conv2d(3, 32, 3, 2, 1)]
        width = 32
        for i in range(8):
            out = width * 2 if i % 2 else width
            blocks += [
                nn.Conv2d(width, width, 3, 2 if i % 2 else 1, 1, groups=width, bias=False),
                nn.BatchNorm2d(width), nn.ReLU6(),
                nn.Conv2d(width, out, 1, bias=False), nn.BatchNorm2d(out), nn.ReLU6(),
            ]
            width = out
        self.features = nn.Sequential(*blocks)
        self.head = nn.Linear(width, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean((2, 3)))


EXTRA = {
    "test:attention": (Attention, (64, 128)),
    "test:sdpa": (lambda: nn.Sequential(*[SdpaBlock() for _ in range(4)]), (64, 128)),
    "test:depthwise": (Depthwise, (3, 224, 224)),
}


def cases(patterns: list[str]) -> list[tuple[str, object, tuple[int, ...]]]:
    found = []
    for name in archdoc.list_models():
        if not patterns or any(p in name for p in patterns):
            found.append((name, lambda name=name: archdoc.get_model(name), tuple(get_entry(name).default_input)))
    for name, (build, size) in EXTRA.items():
        if not patterns or any(p in name for p in patterns):
            found.append((name, build, size))
    return found


def ours(name: str, build, size: tuple[int, ...]) -> float:
    start = time.perf_counter()
    if name.startswith("test:"):
        with torch.device("meta"):
            model = build()
        trace = archdoc.trace(model, size)
    else:
        trace = archdoc.trace(name, size)
    render_page(trace)
    return time.perf_counter() - start


def theirs(build, size: tuple[int, ...]) -> float:
    start = time.perf_counter()
    with torch.device("meta"):
        model = build()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torchinfo.summary(model, (1, *size), device="meta", verbose=0)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("patterns", nargs="*")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, torch {torch.__version__}, torchinfo {torchinfo.__version__}")
    ours("resnet18", None, (3, 224, 224))  # warm-up: torch's lazy imports
    print(f"{'model':24} {'archdoc s':>10} {'torchinfo s':>12} {'ratio':>7}")
    slower = []
    ratios = []
    total_ours = total_theirs = 0.0
    for name, build, size in cases(args.patterns):
        a, b = [], []
        ours(name, build, size), theirs(build, size)
        for _ in range(args.repeat):
            gc.collect()
            a.append(ours(name, build, size))
            gc.collect()
            b.append(theirs(build, size))
        a_med, b_med = statistics.median(a), statistics.median(b)
        ratios.append(a_med / b_med)
        total_ours += a_med
        total_theirs += b_med
        print(f"{name:24} {a_med:10.3f} {b_med:12.3f} {a_med / b_med:7.2f}", flush=True)
        if a_med > b_med:
            slower.append(name)
    print(f"\n{len(ratios)} models: archdoc/torchinfo median ratio {statistics.median(ratios):.2f}, "
          f"max {max(ratios):.2f}; sums {total_ours:.1f} s vs {total_theirs:.1f} s")
    print(f"archdoc slower on {len(slower)}: {', '.join(slower) or 'none'}")


if __name__ == "__main__":
    main()

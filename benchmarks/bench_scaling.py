"""How archdoc's cost grows with the number of layers, the nesting depth, and the input-range search.

Run from the repository root with the project's environment:

    .venv/bin/python benchmarks/bench_scaling.py

Figures (targets from the structure issue, 2-core machine):

- N leaf layers (Linear+ReLU pairs, and residual blocks) traced and rendered in every
  format (markdown page, table, shapes, json, mermaid): trace time and each format's
  time, for N up to 10,000 (target: all formats ≤ 10 s at 10,000), and 100,000 ReLUs
  in one Sequential;
- a Linear wrapped in D nested Sequentials, D up to 100 (target ≤ 2 s at 100);
- the input-range search: forward passes it runs for each zoo model, and for an input
  a fixed-width Linear rejects at 3×1000×1000 (target: bounded, bisection, never a scan).

Each case runs once in this warm process; asserts nothing.
"""

from __future__ import annotations

import statistics
import sys
import time

import torch
from torch import nn

import archdoc
from archdoc.render import render_trace
from archdoc.request import FORMATS, RenderOptions
from archdoc.tracing import input_range


def timed(call):
    start = time.perf_counter()
    result = call()
    return result, time.perf_counter() - start


class Residual(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.fc = nn.Linear(width, width)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.act(self.fc(x))


def flat(n: int) -> nn.Module:
    """n leaf layers: alternating Linear(16, 16) and ReLU in one Sequential."""
    return nn.Sequential(*[nn.Linear(16, 16) if i % 2 == 0 else nn.ReLU() for i in range(n)])


def residual(n: int) -> nn.Module:
    """n leaf layers in n/2 residual blocks (each block adds a join to the dataflow)."""
    return nn.Sequential(*[Residual(16) for _ in range(n // 2)])


def nested(depth: int) -> nn.Module:
    model: nn.Module = nn.Linear(16, 16)
    for _ in range(depth):
        model = nn.Sequential(model)
    return model


def formats(model: nn.Module, size: tuple[int, ...], label: str) -> None:
    trace, t_trace = timed(lambda: archdoc.trace(model, size, input_range=False))
    cells = [f"trace {t_trace:6.2f}"]
    worst = t_trace
    for fmt in FORMATS:
        _, t = timed(lambda fmt=fmt: render_trace(trace, RenderOptions(fmt)))
        cells.append(f"{fmt} {t:6.2f}")
        worst = max(worst, t_trace + t)
    print(f"{label:34} " + "  ".join(cells) + f"   worst trace+format {worst:6.2f} s", flush=True)


def passes_of(call) -> int:
    """Forward passes the input-range search ran during ``call``."""
    counted = [0]
    run, features = input_range.SizeProbe._run, input_range.SizeProbe.features_at

    def counting_run(self, size):
        counted[0] += 1
        return run(self, size)

    def counting_features(self, layer, size):
        counted[0] += 1
        return features(self, layer, size)

    input_range.SizeProbe._run, input_range.SizeProbe.features_at = counting_run, counting_features
    try:
        call()
    except archdoc.errors.ArchdocError:
        pass
    finally:
        input_range.SizeProbe._run, input_range.SizeProbe.features_at = run, features
    return counted[0]


def main() -> None:
    print(f"python {sys.version.split()[0]}, torch {torch.__version__}")
    archdoc.trace("resnet18", (3, 64, 64))  # warm-up: torch's lazy imports

    print("\n== leaf layers, every format (seconds) ==")
    for n in (100, 1_000, 10_000):
        with torch.device("meta"):
            a, b = flat(n), residual(n)
        formats(a, (16,), f"{n:,} leaves, one Sequential")
        formats(b, (16,), f"{n:,} leaves, residual blocks")
    with torch.device("meta"):
        relus = nn.Sequential(*[nn.ReLU() for _ in range(100_000)])
    formats(relus, (16,), "100,000 ReLUs, one Sequential")

    print("\n== nesting depth (seconds, page) ==")
    for depth in (10, 25, 50, 100):
        model = nested(depth)
        _, t = timed(lambda: render_trace(archdoc.trace(model, (16,), input_range=False), RenderOptions("markdown")))
        _, t_table = timed(lambda: render_trace(archdoc.trace(model, (16,), input_range=False), RenderOptions("table")))
        print(f"{depth:3} levels: trace+page {t:.3f} s, trace+table {t_table:.3f} s", flush=True)

    print("\n== input-range search: forward passes per zoo model ==")
    counts = {}
    for name in archdoc.list_models():
        counts[name] = passes_of(lambda name=name: archdoc.trace(name))
    print(f"{len(counts)} models: median {statistics.median(counts.values())}, max {max(counts.values())} "
          f"({max(counts, key=counts.get)}), min {min(counts.values())}")
    print("  " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1])[:8]))

    # A flatten into a fixed-width Linear at a size it rejects: the error path's search.
    def rejected():
        return archdoc.trace("lenet5", (1, 1000, 1000))

    n, t = timed(lambda: passes_of(rejected))
    print(f"lenet5 at 1x1000x1000 (rejected by its Linear): {n} passes, {t:.2f} s to the error")


if __name__ == "__main__":
    main()

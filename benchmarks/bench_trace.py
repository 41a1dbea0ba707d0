"""Speed and memory of archdoc's CLI and tracer. Prints figures; asserts nothing.

Run from the repository root with the project's environment:

    .venv/bin/python benchmarks/bench_trace.py [--repeat 5]

Measurements (targets from the trace issue):

- ``archdoc render resnet18 --input 1x116x116`` against ``python -c "import torch"``,
  wall time, median of N runs, the two commands interleaved (target ≤ 1.15×);
- ``archdoc --help`` against ``python -c "import click"`` (target ≤ 3×);
- a trace of vgg16 at batch 32 × 3×224×224 against ``torchinfo.summary`` of the same
  model on CPU (target ≥ 50× faster);
- a trace of resnet50 at 16×3×1024×1024: wall time and peak RSS of a fresh process
  (targets ≤ 2 s, ≤ 1.2 GB).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def interleaved(a: list[str], b: list[str], repeat: int) -> tuple[float, float]:
    wall(a), wall(b)  # warm the file cache
    times_a, times_b = [], []
    for _ in range(repeat):
        times_a.append(wall(a))
        times_b.append(wall(b))
    return statistics.median(times_a), statistics.median(times_b)


def in_child(code: str) -> tuple[float, float]:
    """Run ``code`` in a fresh interpreter; return its printed seconds and peak RSS in MB."""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    seconds, rss_kb = out.split()
    return float(seconds), int(rss_kb) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    archdoc = str(BIN / "archdoc")
    py = sys.executable
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")

    render, torch_import = interleaved(
        [archdoc, "render", "resnet18", "--input", "1x116x116"], [py, "-c", "import torch"], args.repeat
    )
    print(f"render resnet18 1x116x116: {render:.3f} s   import torch: {torch_import:.3f} s   "
          f"ratio {render / torch_import:.2f}x (target <= 1.15x)")

    helptime, click_import = interleaved([archdoc, "--help"], [py, "-c", "import click"], args.repeat)
    print(f"archdoc --help: {helptime:.3f} s   import click: {click_import:.3f} s   "
          f"ratio {helptime / click_import:.2f}x (target <= 3x)")

    ours = []
    theirs = []
    for _ in range(3):
        ours.append(in_child(
            "import time, resource, archdoc\n"
            "archdoc.trace('resnet18', (3, 32, 32))  # warm-up: lazy imports inside torch\n"
            "t = time.perf_counter(); archdoc.trace('vgg16', (3, 224, 224), batch=32)\n"
            "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
        )[0])
        theirs.append(in_child(
            "import time, resource, torch, torchinfo, archdoc\n"
            "model = archdoc.get_model('vgg16')\n"
            "t = time.perf_counter(); torchinfo.summary(model, input_size=(32, 3, 224, 224), device='cpu', verbose=0)\n"
            "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
        )[0])
    o, t = statistics.median(ours), statistics.median(theirs)
    print(f"vgg16 batch 32: archdoc trace {o:.3f} s   torchinfo.summary on CPU {t:.3f} s   "
          f"speed-up {t / o:.0f}x (target >= 50x)")

    cold, rss = in_child(
        "import time, resource\n"
        "t = time.perf_counter()\n"
        "import archdoc\n"
        "archdoc.trace('resnet50', (3, 1024, 1024), batch=16)\n"
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    warm, _ = in_child(
        "import time, resource, archdoc\n"
        "archdoc.trace('resnet18', (3, 32, 32))\n"
        "t = time.perf_counter(); archdoc.trace('resnet50', (3, 1024, 1024), batch=16)\n"
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    print(f"resnet50 16x3x1024x1024: {cold:.3f} s from import (trace alone {warm:.3f} s), "
          f"peak RSS {rss:.0f} MB (targets <= 2 s, <= 1200 MB)")


if __name__ == "__main__":
    main()

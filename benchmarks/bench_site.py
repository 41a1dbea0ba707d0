"""Wall time of ``mkdocs build`` for the site, and the marginal cost of each model page.

Run from the repository root with the project's environment:

    .venv/bin/python benchmarks/bench_site.py [--repeat 3]

Measurements (targets from the site issue, on a 2-core machine):

- the full site of this repository (``mkdocs build --strict``), median of N runs (≤ 20 s);
- the marginal cost of a model page (≤ 0.3 s): builds of a small project in one warm
  process (separate processes vary by more than a page costs), with LeNet-5 only, with
  ResNet-18 at 1×116×116 added (the seed page), and with all of this site's pages added;
  (time with k more pages − time without) / k, medians of N builds each. A fresh
  process also pays once for importing torch, shown separately.

Each build runs in a fresh process, as `mkdocs build` does. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}

SMALL = """site_name: bench
theme:
  name: material
  font: false
plugins:
  - search
  - archdoc:
      models: {models}
  - mkdocstrings
markdown_extensions:
  - tables
  - footnotes
  - admonition
  - attr_list
  - md_in_html
  - pymdownx.superfences:
      custom_fences:
        - name: mermaid
          class: mermaid
          format: !!python/name:pymdownx.superfences.fence_code_format
"""


def build_seconds(config: Path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as site:
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f", str(config), "-d", site],
                check=True,
                env=ENV,
            )
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def site_models() -> list:
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8").replace("!!python/name:", "")
    plugins = yaml.safe_load(text)["plugins"]
    return next(p["archdoc"]["models"] for p in plugins if isinstance(p, dict) and "archdoc" in p)


def small_project(folder: Path, models: list) -> Path:
    (folder / "docs").mkdir(parents=True, exist_ok=True)
    (folder / "docs" / "index.md").write_text("# Bench\n", encoding="utf-8")
    config = folder / "mkdocs.yml"
    config.write_text(SMALL.format(models=yaml.safe_dump(models, default_flow_style=True, width=10_000).strip()), encoding="utf-8")
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, median of {args.repeat} builds each")

    full = build_seconds(ROOT / "mkdocs.yml", args.repeat)
    print(f"full site ({len(site_models())} model pages + guides + API reference): {full:6.2f} s   (target ≤ 20 s)")

    with tempfile.TemporaryDirectory() as tmp:
        base = build_seconds(small_project(Path(tmp) / "none", []), args.repeat)
        one = build_seconds(small_project(Path(tmp) / "one", [{"name": "resnet18"}]), args.repeat)
        print(f"fresh process, small project, no model page: {base:5.2f} s; with the ResNet-18 page {one:5.2f} s (imports torch)")

        # Marginal costs in one warm process: separate processes vary by more than a page costs.
        seed = {"name": "resnet18", "input": "1x116x116", "classes": 2}
        configs = {
            "none": small_project(Path(tmp) / "w0", [{"name": "lenet5", "slug": "baseline"}]),
            "seed": small_project(Path(tmp) / "w1", [{"name": "lenet5", "slug": "baseline"}, seed]),
            "all": small_project(Path(tmp) / "w2", [{"name": "lenet5", "slug": "baseline"}, *site_models()]),
        }
        warm = {name: warm_build_seconds(config, args.repeat) for name, config in configs.items()}
        count = len(site_models())
        print(f"warm process, + ResNet-18 1×116×116 page:   marginal {warm['seed'] - warm['none']:5.2f} s   (target ≤ 0.3 s)")
        print(f"warm process, + all {count} pages of this site: marginal {(warm['all'] - warm['none']) / count:5.2f} s per page   (target ≤ 0.3 s)")


def warm_build_seconds(config: Path, repeat: int) -> float:
    """Median wall time of `mkdocs build` run in this process, after one warm-up build."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    times = []
    for i in range(repeat + 1):
        with tempfile.TemporaryDirectory() as site:
            loaded = load_config(str(config), site_dir=site, strict=True)
            loaded.plugins.on_startup(command="build", dirty=False)  # as `mkdocs build` does
            start = time.perf_counter()
            try:
                build(loaded)
            finally:
                loaded.plugins.on_shutdown()
            if i:
                times.append(time.perf_counter() - start)
    return statistics.median(times)


if __name__ == "__main__":
    main()

"""Wall time of ``mkdocs build`` for the site, and the marginal cost of each model page.

Run from the repository root with the project's environment:

    .venv/bin/python benchmarks/bench_site.py [--repeat 3]

Measurements (targets from the site issue, on a 2-core machine):

- the full site of this repository (``mkdocs build --strict``), median of N runs (≤ 20 s);
- the marginal cost of a model page: a small project built with no model, then with
  the configurations of this site's pages added, (time with k pages − time with none) / k,
  median of N runs each (≤ 0.3 s per page). Reported for all pages together and for
  the seed page ResNet-18 at 1×116×116 alone.

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
        print(f"small project, no model page:              {base:6.2f} s")
        seed = [{"name": "resnet18", "input": "1x116x116", "classes": 2}]
        one = build_seconds(small_project(Path(tmp) / "one", seed), args.repeat)
        print(f"+ ResNet-18 1×116×116 page:                 {one:6.2f} s   marginal {one - base:5.2f} s   (target ≤ 0.3 s)")
        models = site_models()
        every = build_seconds(small_project(Path(tmp) / "all", models), args.repeat)
        print(
            f"+ all {len(models)} pages of this site:               {every:6.2f} s   "
            f"marginal {(every - base) / len(models):5.2f} s per page   (target ≤ 0.3 s)"
        )


if __name__ == "__main__":
    main()

"""Shared fixtures: golden files and cached traces."""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import shutil
import tempfile
from pathlib import Path

import pytest

# Traces made in this test run, shared by the xdist workers through one directory
# (each worker would otherwise trace the whole zoo again). Made fresh for every run.
_TRACES: Path | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _TRACES
    shared = getattr(config, "workerinput", {}).get("archdoc_traces")
    if shared:
        _TRACES = Path(shared)
    else:
        _TRACES = Path(tempfile.mkdtemp(prefix="archdoc-test-traces-"))
        config.add_cleanup(lambda: shutil.rmtree(_TRACES, ignore_errors=True))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:  # noqa: ANN001  (an xdist hook: runs in the controller)
    node.workerinput["archdoc_traces"] = str(_TRACES)

GOLDEN = Path(__file__).parent / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="Rewrite tests/golden/* from the current output (review the diff before committing).",
    )


@pytest.fixture
def golden(request: pytest.FixtureRequest):
    """Compare text with tests/golden/NAME, or rewrite it with --update-golden."""

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if request.config.getoption("--update-golden"):
            path.write_text(text, encoding="utf-8", newline="")
            return
        assert path.exists(), f"missing golden file {path}; run pytest --update-golden and review it"
        expected = path.read_text(encoding="utf-8")
        assert text == expected, f"output differs from {path}; if intended, run pytest --update-golden"

    return check


def cached_trace(name: str, input_size: str | None = None, **kwargs):
    """One trace per configuration for the whole session (each worker's), however it is asked for."""
    return _cached_trace(name, input_size, tuple(sorted(kwargs.items())))


@functools.lru_cache(maxsize=None)
def _cached_trace(name: str, input_size: str | None, kwargs: tuple):
    import archdoc

    key = hashlib.sha256(repr((name, input_size, kwargs)).encode()).hexdigest()[:20]
    path = _TRACES / f"{key}.pickle" if _TRACES else None
    if path is not None and path.exists():
        return pickle.loads(path.read_bytes())
    trace = archdoc.trace(name, input_size, **dict(kwargs))
    if path is not None:
        partial = path.with_suffix(f".{os.getpid()}")
        partial.write_bytes(pickle.dumps(trace))
        partial.replace(path)  # atomic: another worker reads a whole trace or none
    return trace


class MermaidParser:
    """One long-lived node process running mermaid.parse (tests/js/parse.mjs)."""

    def __init__(self) -> None:
        import shutil
        import subprocess

        js = Path(__file__).parent / "js"
        node = shutil.which("node")
        assert node, "node is required for the Mermaid parser tests (see scripts/test)"
        if not (js / "node_modules" / "mermaid").exists():
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=js, check=True)
        self.proc = subprocess.Popen(
            [node, "parse.mjs"], cwd=js, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8"
        )

    def parse(self, text: str) -> tuple[bool, str | None]:
        import json

        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(text) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, "the Mermaid parser process died"
        answer = json.loads(line)
        return answer["ok"], answer["error"]

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="session")
def mermaid():
    parser = MermaidParser()
    yield parser
    parser.close()

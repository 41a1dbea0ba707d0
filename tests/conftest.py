"""Shared fixtures: golden files, cached traces, the Mermaid parser, and the browser tests' site and Chromium."""

from __future__ import annotations

import fcntl
import gc
import hashlib
import os
import pickle
import shutil
import tempfile
from pathlib import Path

import pytest

# A worker holds ~600,000 objects (torch, the zoo's cached traces); with the default thresholds
# their full collections took about 11 of the suite's ~130 CPU-seconds, for little garbage.
gc.set_threshold(50_000, 20, 100)

# Traces and oracle figures made in this test run, shared by the xdist workers through one
# directory (each worker would otherwise trace the whole zoo again). Made fresh for every run.
_SHARED: Path | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _SHARED
    shared = getattr(config, "workerinput", {}).get("archdoc_traces")
    if shared:
        _SHARED = Path(shared)
    else:
        _SHARED = Path(tempfile.mkdtemp(prefix="archdoc-test-traces-"))
        config.add_cleanup(lambda: shutil.rmtree(_SHARED, ignore_errors=True))


# The order files are handed out in (scripts/test hands out whole files): the longest first, the
# zoo-wide ones before the diagram test, which then finds every zoo trace made; the two browser
# files last, one per worker. Those wait for the site build and Chromium, which scripts/test makes
# beside the tests: the rest of the suite runs meanwhile instead of waiting with them.
FIRST = [
    "test_torchinfo.py", "test_zoo_catalogue_d.py", "test_zoo_catalogue_c.py", "test_site.py", "test_diagram.py",
    # Then by measured time, so the last files handed out are short and both workers end together.
    "test_metaops.py", "test_hostile.py", "test_zoo_catalogue_b.py", "test_lock.py", "test_cli.py",
    "test_zoo_catalogue_a.py", "test_user_models.py", "test_zoo.py", "test_registry.py", "test_loading.py",
    "test_trace.py", "test_structure.py",
]
LAST = ["test_browser.py", "test_browser_b.py"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(FIRST)} | {name: len(FIRST) + 1 + i for i, name in enumerate(LAST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(FIRST)))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:  # noqa: ANN001  (an xdist hook: runs in the controller)
    node.workerinput["archdoc_traces"] = str(_SHARED)

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
    import archdoc

    kwargs_key = tuple(sorted(kwargs.items()))
    return shared("trace", (name, input_size, kwargs_key), lambda: archdoc.trace(name, input_size, **kwargs))


_MEMO: dict[tuple, object] = {}


def shared_folder() -> Path:
    """A folder every xdist worker of this run sees, removed when the run ends."""
    assert _SHARED is not None
    return _SHARED


def shared(kind: str, key: tuple, compute):
    """``compute()``, once per test run for all xdist workers (``key`` names the value within ``kind``)."""
    if (kind, key) not in _MEMO:
        _MEMO[kind, key] = _computed_once(kind, key, compute)
    return _MEMO[kind, key]


def _computed_once(kind: str, key: tuple, compute):
    if _SHARED is None:
        return compute()
    digest = hashlib.sha256(repr((kind, key)).encode()).hexdigest()[:20]
    path = _SHARED / f"{kind}-{digest}.pickle"
    # One worker computes while the other waits on the lock, then reads the result.
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return pickle.loads(path.read_bytes())
        value = compute()
        partial = path.with_suffix(f".{os.getpid()}")
        partial.write_bytes(pickle.dumps(value))
        partial.replace(path)  # atomic: a reader gets a whole value or none
        return value


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


# The browser tests' session fixtures, here so that both browser files share one of each when
# they run in one process.


@pytest.fixture(scope="session")
def site() -> Path:
    """This repository's site (`sites.repository_site`), built once for every worker."""
    from sites import repository_site

    return shared("site", ("repository",), lambda: repository_site(shared_folder() / "site"))


@pytest.fixture(scope="session")
def served(site: Path):
    """``site`` served locally, its search index listing no pages (no check but one visit uses search): its base URL."""
    from sites import serve

    base, server = serve(site, search=False)
    yield base
    server.shutdown()


@pytest.fixture(scope="session")
def served_with_search(site: Path):
    """``site`` served locally as it is, search index and all: its base URL."""
    from sites import serve

    base, server = serve(site)
    yield base
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, driven by Playwright."""
    from playwright.sync_api import sync_playwright
    from sites import CHROMIUM, CHROMIUM_ARGS, finished

    installing = os.environ.get("ARCHDOC_TEST_CHROMIUM")  # scripts/test installs it while the tests start
    if installing:
        finished(Path(installing), Path(installing).with_suffix(".log"), "installing Chromium")
    assert Path(CHROMIUM).exists(), "Chromium is missing: apt-get install -y chromium (scripts/test does)"
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()

"""Helpers for tests that build MkDocs sites: small projects, in-process builds, a local server,
this repository's site, Debian's Chromium, and the steps scripts/test runs beside the tests."""

from __future__ import annotations

import functools
import http.server
import io
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Debian's Chromium, and the flags it needs headless as root with no network outside.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

MARKDOWN = """
markdown_extensions:
  - tables
  - footnotes
  - attr_list
  - md_in_html
  - pymdownx.superfences:
      custom_fences:
        - name: mermaid
          class: mermaid
          format: !!python/name:pymdownx.superfences.fence_code_format
"""


def project(folder: Path, plugin: str, extra: str = MARKDOWN, pages: dict[str, str] | None = None) -> Path:
    """A minimal MkDocs project using the archdoc plugin with the given YAML block; its mkdocs.yml."""
    (folder / "docs").mkdir(exist_ok=True)
    for name, text in {"index.md": "# Home\n", **(pages or {})}.items():
        path = folder / "docs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    config = folder / "mkdocs.yml"
    config.write_text(f"site_name: t\ntheme:\n  name: material\n  font: false\nplugins:\n{plugin}{extra}", encoding="utf-8")
    return config


class Messages(logging.Handler):
    """Collects the warnings and errors a build logs."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.warnings: list[str] = []
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        (self.errors if record.levelno >= logging.ERROR else self.warnings).append(record.getMessage())


class BuildFailed(Exception):
    """A strict build stopped; what it logged."""

    def __init__(self, warnings: list[str], errors: list[str]) -> None:
        super().__init__("\n".join(errors + warnings))
        self.warnings = warnings
        self.errors = errors


def build(config: Path, site: Path) -> list[str]:
    """Build ``config`` into ``site`` in this process with ``--strict``, as `mkdocs build --strict` does.

    Returns:
        The warnings logged (none, or the build would have stopped).

    Raises:
        BuildFailed: A plugin refused the configuration, or a warning stopped the strict build.
    """
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    handler = Messages()
    logger = logging.getLogger("mkdocs")
    logger.addHandler(handler)
    try:
        loaded = load_config(str(config), site_dir=str(site), strict=True)
        loaded.plugins.on_startup(command="build", dirty=False)
        try:
            mkdocs_build(loaded)
        finally:
            loaded.plugins.on_shutdown()
    except MkDocsException as exc:
        raise BuildFailed(handler.warnings, handler.errors or [str(exc)]) from None
    finally:
        logger.removeHandler(handler)
    return handler.warnings


def serve(folder: Path, prefix: str = "", search: bool = True) -> tuple[str, http.server.ThreadingHTTPServer]:
    """A local HTTP server for a built site, optionally under a path prefix: (base URL, server).

    Like GitHub Pages, it lets browsers cache what it sends for 10 minutes, so a tab going from
    page to page fetches and compiles the scripts once. (Routing requests in Playwright would turn
    that cache off: a fifth more time over the page visits.) With ``search=False``, the search
    index keeps its settings but lists no pages: Material's search then has nothing to rebuild on
    each page (a third of a visit with this site's 2.2 MB index).
    """
    index = folder / "search" / "search_index.json"

    @functools.cache
    def index_without_pages() -> bytes:
        return json.dumps({"config": json.loads(index.read_text(encoding="utf-8"))["config"], "docs": []}).encode()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def end_headers(self) -> None:
            self.send_header("Cache-Control", "max-age=600")
            super().end_headers()

        def send_head(self):  # noqa: ANN202  (the file object the base class copies out)
            if search or Path(self.translate_path(self.path)) != index:
                return super().send_head()
            body = index_without_pages()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            return io.BytesIO(body)

        def translate_path(self, path: str) -> str:
            if prefix:
                if not path.startswith(prefix):
                    return str(folder / "__outside_the_prefix__")
                path = "/" + path[len(prefix):].lstrip("/")
            return super().translate_path(path)

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            page = folder / "404.html"
            if code == 404 and page.exists():  # as GitHub Pages does
                body = page.read_bytes()
                self.send_response(404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            super().send_error(code, message, explain)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}{prefix}/", server


def repository_site(out: Path) -> Path:
    """This repository's site, checked to have been built with ``--strict`` and no warning.

    Under scripts/test given no arguments, it is the site scripts/site built as the Pages
    workflow does (archdoc installed non-editable), named by ``ARCHDOC_TEST_SITE``, once that
    build has ended.
    Otherwise it is built into ``out`` by the ``mkdocs build --strict`` command, as a project
    builds it (its zoo models traced by forked workers).
    """
    prebuilt = os.environ.get("ARCHDOC_TEST_SITE")
    if prebuilt:
        return _built_by_scripts_site(Path(prebuilt))
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f", str(ROOT / "mkdocs.yml"), "-d", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}, timeout=900)
    assert result.returncode == 0 and "WARNING" not in result.stderr, result.stderr
    return out


def _built_by_scripts_site(out: Path) -> Path:
    """``out`` once scripts/site has built it; scripts/test writes its exit status and log beside it."""
    text = finished(out.with_name(out.name + ".status"), out.with_name(out.name + ".log"), f"scripts/site building {out}")
    assert not re.findall(r"^WARNING\s+-", text, re.M), text[-4000:]  # MkDocs's own warnings
    return out


def finished(status: Path, log: Path, what: str) -> str:
    """Wait until a step scripts/test runs beside the tests has written its exit status; its log.

    Fails the test when the step failed, showing the end of the log.
    """
    deadline = time.monotonic() + 900
    while not status.exists():
        if time.monotonic() > deadline:
            tail = log.read_text(encoding="utf-8", errors="replace")[-4000:] if log.exists() else "(no log)"
            raise AssertionError(f"{what} has not finished in 15 minutes; its log ends:\n{tail}")
        time.sleep(0.25)
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    assert status.read_text(encoding="utf-8").strip() == "0", f"{what} failed:\n{text[-4000:]}"
    return text

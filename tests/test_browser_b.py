"""This repository's site in headless Chromium: the other half of its pages (see test_browser.py,
which another worker runs at the same time, and whose checks of every page run here on this
half), and a check of its own: a diagram beyond Mermaid's default limits.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import test_browser as first_half
from sites import build, project, serve
from test_browser import DRAWN, load

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The visits of test_browser.py, to this file's half of the pages.
visits = first_half.visits


@pytest.fixture(scope="module")
def half() -> int:
    """This file visits the odd-numbered pages (test_browser.py the even)."""
    return 1


# First: it builds its own small site, while the repository's is still being built.
def test_a_diagram_beyond_mermaids_default_limits_renders(tmp_path, browser, monkeypatch):
    """130 residual blocks expanded: 4 edges each, more than Mermaid's default 500."""
    shutil.copy(Path(__file__).parent / "user_models.py", tmp_path / "user_models_deep.py")
    monkeypatch.chdir(tmp_path)
    config = project(tmp_path, '  - archdoc:\n      models:\n        - {name: "user_models_deep:DeepResidual", input: 4x8x8, depth: 1, set: {blocks: 130}}\n')
    build(config, tmp_path / "site")
    html = (tmp_path / "site" / "models" / "user_models_deep-deepresidual-4x8x8-blocks-130" / "index.html").read_text(encoding="utf-8")
    network = html.rsplit('class="archdoc-diagram"', 1)[1]
    assert network.count("--&gt;") > 500  # drawn expanded, not collapsed to the default limits
    base, server = serve(tmp_path / "site", search=False)
    try:
        context, page, watch = load(browser, base, "models/user_models_deep-deepresidual-4x8x8-blocks-130/")
        boxes = page.evaluate(DRAWN)
        assert boxes and all(b["drawn"] and not b["error"] for b in boxes), boxes
        assert not watch.problems, watch.problems
        context.close()
    finally:
        server.shutdown()


# test_browser.py's checks of every page, on this half (after the one above, which runs while
# the site is being built).
test_every_page_loads_cleanly_and_draws_its_diagrams = first_half.test_every_page_loads_cleanly_and_draws_its_diagrams
test_tables_fit_without_sideways_scrolling_at_1280 = first_half.test_tables_fit_without_sideways_scrolling_at_1280
test_mermaid_loads_only_on_pages_with_diagrams = first_half.test_mermaid_loads_only_on_pages_with_diagrams

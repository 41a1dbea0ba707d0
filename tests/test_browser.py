"""This repository's site in headless Chromium, as a reader sees it (half of its pages; the
other half in test_browser_b.py, which another worker runs at the same time).

The site (the ``site`` fixture of conftest.py, from ``sites.repository_site``) is the one
scripts/test, given no arguments, builds as the Pages workflow does; otherwise one
``mkdocs build --strict`` for both files. It is served locally.
Every page loads with no console error and no request leaving the site; every
diagram is drawn; tables fit; mermaid.js loads only where diagrams are; the
full-size view zooms, pans and downloads; block nodes link to their diagrams;
the 404 page keeps its styling under the configured ``site_url``.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
from sites import ROOT, serve

# scripts/test gives each file to one worker: this half of the pages on one, test_browser_b.py's on the other.
pytestmark = [pytest.mark.browser, pytest.mark.slow]

DRAWN = """() => [...document.querySelectorAll('.archdoc-diagram')].map(box => ({
  drawn: box.classList.contains('archdoc-drawn') && !!box.querySelector('svg'),
  error: box.querySelector('.archdoc-error') ? box.querySelector('.archdoc-error').textContent : null,
  links: box.querySelectorAll('g.archdoc-link').length,
  dead: [...box.querySelectorAll('g.archdoc-link')].map(g => g.getAttribute('data-href') || '(none)')
    .filter(h => !document.getElementById(h.replace(/^#/, ''))),
}))"""


ALL_DRAWN = "[...document.querySelectorAll('.archdoc-diagram')].every(b => b.classList.contains('archdoc-drawn') || b.querySelector('.archdoc-error'))"


@pytest.fixture(scope="module")
def half() -> int:
    """Which half of the pages this file visits: the even-numbered ones (test_browser_b.py: the odd)."""
    return 0


def pages_of(site: Path) -> list[str]:
    found = sorted(p.parent.relative_to(site).as_posix() for p in site.rglob("index.html"))
    return ["" if p == "." else p + "/" for p in found]


class Watch:
    """Console errors, page errors, failed requests and requests leaving the site, for one page."""

    def __init__(self, page, *bases: str) -> None:  # noqa: ANN001
        self.problems: list[str] = []
        self.requests: list[str] = []
        origins = {urlparse(base).netloc for base in bases}
        page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        # A request the browser itself cancels as the tab moves on (the last page's favicon) is no fault of the site.
        page.on("requestfailed", lambda r: r.failure != "net::ERR_ABORTED" and self.problems.append(f"failed: {r.url} ({r.failure})"))

        def request(r) -> None:  # noqa: ANN001
            self.requests.append(r.url)
            if urlparse(r.url).scheme in ("http", "https") and urlparse(r.url).netloc not in origins:
                self.problems.append(f"outside: {r.url}")

        page.on("request", request)


def load(browser, base: str, path: str, scheme: str = "light", width: int = 1280):  # noqa: ANN001
    """``path`` loaded with every diagram drawn (no check made with it uses search: ``base`` may serve an index without pages)."""
    context = browser.new_context(color_scheme=scheme, viewport={"width": width, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(120_000)  # a loaded 2-core machine takes long over the biggest diagrams
    watch = Watch(page, base)
    page.goto(base + path, wait_until="load")
    if page.locator(".archdoc-diagram").count():
        page.wait_for_function(f"() => {ALL_DRAWN}", timeout=120_000, polling=50)
    return context, page, watch


WIDE = """() => [...document.querySelectorAll('.md-typeset__scrollwrap, .archdoc-summary, .archdoc-arithmetic')]
     .map(e => ({cls: e.className, client: e.clientWidth, table: e.querySelector('table') ? e.querySelector('table').scrollWidth : 0}))
     .filter(f => f.table > f.client + 1)"""
# Whether mermaid.js came with the page (its script element, and the library it defines),
# and whether the page has a diagram to draw: archdoc's, or one Material draws from a fence.
MERMAID = """() => ({
  script: [...document.scripts].some(s => (s.src || '').endsWith('/mermaid.min.js')),
  library: typeof window.mermaid?.render === 'function',
  diagrams: document.querySelectorAll('.archdoc-diagram, .mermaid').length,
})"""
# Every page of one kind, and the diagram-heavy ones, are also visited in the dark scheme.
DARK = {"", "models/", "guide/cli/", "reference/", "models/resnet18-1x116x116-2-classes/", "models/googlenet/", "models/resnet152/"}
# Every page fetches the same search index (2.2 MB, every layer row) and Material's search
# rebuilds it in a worker; the home page, in both schemes, is visited with it (the others are
# served with an index of no pages: see `sites.serve`).
SEARCHED = {""}


# Tabs open at once in the page visits. Each draws in its own renderer process, so an idle core
# draws one page while another core draws the next: run alone, 95 pages took 107 s with two tabs
# against 121 s with one. When both cores are busy (CI's full run), it changes nothing.
TABS = 2


class Tab:
    """One tab of its own browser context, visiting pages in turn and recording what each shows."""

    def __init__(self, browser, base: str, searched: str, scheme: str) -> None:  # noqa: ANN001
        self.context = browser.new_context(color_scheme=scheme, viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.page.set_default_timeout(120_000)
        self.watch = Watch(self.page, base, searched)
        self.base = base  # the site, its search index without pages
        self.searched = searched  # the site whole, for the pages in SEARCHED
        self.path = ""

    def open(self, path: str) -> None:
        """Start loading ``path``: returns once the navigation is under way, so other tabs draw meanwhile."""
        self.path = path
        self.watch.problems.clear()
        self.page.goto((self.searched if path in SEARCHED else self.base) + path, wait_until="commit")

    def seen(self) -> dict:
        """What the open page shows once it has loaded and drawn every diagram, with its details opened."""
        self.page.wait_for_load_state("load")
        if self.page.locator(".archdoc-diagram").count():
            self.page.wait_for_function(f"() => {ALL_DRAWN}", polling=50)
        diagrams = self.page.evaluate(DRAWN)
        self.page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
        return {"diagrams": diagrams, "problems": list(self.watch.problems), "wide": self.page.evaluate(WIDE),
                "mermaid": self.page.evaluate(MERMAID)}


def my_pages(site: Path, half: int) -> list[str]:
    """This file's half of the pages: every other one in path order, so each half gets some of the large."""
    return pages_of(site)[half::2]


@pytest.fixture(scope="module")
def visits(site, served, served_with_search, browser, half) -> dict[tuple[str, str], dict]:
    """Each of this half's pages visited once at 1280 px in the light scheme (and some in the dark one), with what was seen.

    One visit serves several tests, since loading a page and drawing its diagrams is what costs.
    `TABS` tabs per scheme go from page to page, as a reader does; while one tab's page is
    read, the others draw theirs. Material's search rebuilds its index (2.2 MB, every layer
    row) on each page; outside the home page (`SEARCHED`), a tab gets an index with no pages,
    which saves a third of the time.
    """
    seen = {}
    for scheme in ["light", "dark"]:
        waiting = iter([path for path in my_pages(site, half) if scheme == "light" or path in DARK])
        tabs = [Tab(browser, served, served_with_search, scheme) for _ in range(TABS)]
        drawing = []
        for tab in tabs:
            path = next(waiting, None)
            if path is not None:
                tab.open(path)
                drawing.append(tab)
        while drawing:
            tab = drawing.pop(0)
            seen[tab.path, scheme] = tab.seen()
            path = next(waiting, None)
            if path is not None:
                tab.open(path)
                drawing.append(tab)
        for tab in tabs:
            tab.context.close()
    return seen


def test_every_page_loads_cleanly_and_draws_its_diagrams(site, visits, half):
    assert len(pages_of(site)) >= 29
    pages = my_pages(site, half)
    assert {path for path, _ in visits} == set(pages)
    problems, drawn, links = [], 0, 0
    for (path, scheme), seen in visits.items():
        for i, box in enumerate(seen["diagrams"]):
            drawn += 1
            if not box["drawn"] or box["error"]:
                problems.append(f"{path} ({scheme}): diagram {i}: {box['error']}")
            if box["dead"]:  # a node that looks like a link must lead somewhere
                problems.append(f"{path} ({scheme}): diagram {i}: links to missing {box['dead'][:5]}")
            links += box["links"]
        problems += [f"{path} ({scheme}): {p}" for p in seen["problems"]]
    assert not problems, "\n".join(problems)
    assert links > 500  # nodes still link to their rows and blocks (over 1,000 in the two halves)
    blocks = sum((site / p / "index.html").read_text(encoding="utf-8").count('class="archdoc-diagram"') for p in pages)
    model_pages = [p for p in pages if p.startswith("models/") and p != "models/"]
    dark_blocks = sum((site / p / "index.html").read_text(encoding="utf-8").count('class="archdoc-diagram"') for p in pages if p in DARK)
    assert drawn == blocks + dark_blocks and blocks >= len(model_pages)  # at least the whole network on each


# Pages with no diagram: the home page, the guide, the API reference and the overview.
WITHOUT_DIAGRAMS = {"", "guide/cli/", "guide/plugin/", "guide/embed/", "guide/checks/", "guide/python/", "guide/trust/", "reference/", "models/"}


def test_mermaid_loads_only_on_pages_with_diagrams(visits):
    """mermaid.js (3.5 MB) comes only with the pages that draw a diagram: every model page, no other."""
    found = {path: seen["mermaid"] for (path, scheme), seen in visits.items() if scheme == "light"}
    wrong = {path: m for path, m in found.items() if m["script"] != bool(m["diagrams"]) or m["library"] != bool(m["diagrams"])}
    assert not wrong, wrong
    models = [p for p in found if p.startswith("models/") and p != "models/"]
    assert models and all(found[p]["diagrams"] for p in models)
    plain = [p for p in found if p in WITHOUT_DIAGRAMS]
    assert plain and not any(found[p]["script"] or found[p]["library"] for p in plain)
    assert set(found) <= set(models) | WITHOUT_DIAGRAMS  # a new page is placed in one or the other


def test_tables_fit_without_sideways_scrolling_at_1280(site, visits, half):
    """At 1280 px every column of every page's summary and arithmetic tables shows (details opened)."""
    model_pages = [p for p in my_pages(site, half) if p.startswith("models/")]
    assert model_pages and all((p, "light") in visits for p in model_pages)
    wide = [f"{path}: {frame}" for (path, scheme), seen in visits.items() if scheme == "light" for frame in seen["wide"]]
    assert not wide, "\n".join(wide)


@pytest.mark.parametrize("path", ["models/", "models/resnet18-1x116x116-2-classes/", "guide/cli/"])
def test_pages_fit_a_phone(served, browser, path):
    """At 390 px wide tables, charts and code scroll inside their own boxes; the page itself never scrolls sideways."""
    context, page, _ = load(browser, served, path, width=390)
    page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # Code keeps its lines and indentation (it scrolls in its box rather than wrapping).
    spaces = page.evaluate("() => [...document.querySelectorAll('pre > code')].map(c => getComputedStyle(c).whiteSpace)")
    assert set(spaces) <= {"pre"}, spaces
    context.close()


def test_full_size_view_zooms_pans_and_downloads(served, browser):
    context, page, watch = load(browser, served, "models/resnet18-1x116x116-2-classes/")
    network = page.locator("#whole-network ~ .archdoc-diagram").first
    network.get_by_role("button", name="Full size").click()
    overlay = page.locator(".archdoc-overlay")
    assert overlay.is_visible() and overlay.locator("svg").count() == 1
    before = overlay.locator("svg").evaluate("s => s.style.transform")
    overlay.get_by_role("button", name="+").click()
    zoomed = overlay.locator("svg").evaluate("s => s.style.transform")
    assert zoomed != before and "scale(" in zoomed
    stage = overlay.locator(".archdoc-overlay-stage").bounding_box()
    page.mouse.move(stage["x"] + 200, stage["y"] + 200)
    page.mouse.down()
    page.mouse.move(stage["x"] + 260, stage["y"] + 240)
    page.mouse.up()
    assert overlay.locator("svg").evaluate("s => s.style.transform") != zoomed  # panned
    page.keyboard.press("Escape")
    assert page.locator(".archdoc-overlay").count() == 0
    with page.expect_download() as info:
        network.get_by_role("button", name="Download SVG").click()
    path = info.value.path()
    assert info.value.suggested_filename.endswith(".svg")
    assert Path(path).read_text(encoding="utf-8").startswith("<svg")
    assert not watch.problems
    context.close()


def test_nodes_name_their_module_and_link_to_diagrams_and_rows(served, browser):
    context, page, _ = load(browser, served, "models/resnet18-1x116x116-2-classes/")
    network = page.locator("#whole-network ~ .archdoc-diagram").first
    titles = network.locator("g.node title").all_text_contents()
    assert "layer2.0" in titles and "conv1" in titles  # hovering shows the module path
    block = network.locator("g.node.archdoc-link", has_text="BasicBlock, projection /2").first
    block.click()
    assert page.evaluate("location.hash") == "#block-basicblock-projection-2"
    conv = network.locator("g.node.archdoc-link", has_text="Conv 7×7 /2, 64").first
    conv.click()
    assert page.evaluate("location.hash") == "#layer-conv1"
    assert page.locator("#layer-conv1").is_visible()  # its row, in the shape arithmetic
    context.close()


def test_overview_sorts_filters_and_links(served, browser):
    context, page, watch = load(browser, served, "models/")
    rows = page.locator(".md-typeset__table tbody tr")
    count = rows.count()
    page.get_by_role("button", name="Parameters").click()
    first = rows.first.locator("td").first.inner_text()
    assert first == "LeNet-5"  # 61,706 parameters: the fewest
    page.get_by_role("button", name="Parameters").click()
    assert rows.first.locator("td").first.inner_text() != "LeNet-5"
    page.locator(".archdoc-filter select").select_option("ResNet")
    visible = [r for r in rows.all() if r.is_visible()]
    assert 0 < len(visible) < count and all("ResNet" in r.inner_text() for r in visible)
    page.locator("a.archdoc-point").first.click()
    page.wait_for_load_state("load")
    assert re.search(r"/models/[^/]+/$", page.url)
    assert not watch.problems
    context.close()


def test_not_found_page_keeps_its_styling_under_the_site_url(site, browser):
    prefix = urlparse(re.search(r"^site_url:\s*(\S+)", (ROOT / "mkdocs.yml").read_text(encoding="utf-8"), re.M).group(1)).path.rstrip("/")
    base, server = serve(site, prefix)
    try:
        context = browser.new_context()
        page = context.new_page()
        watch = Watch(page, base)
        response = page.goto(base + "no/such/page/", wait_until="networkidle")
        assert response.status == 404
        assert page.evaluate("document.styleSheets.length") >= 2
        header = page.evaluate("getComputedStyle(document.querySelector('.md-header')).position")
        assert header in ("sticky", "fixed")  # Material's stylesheet applied
        # Chromium reports the page's own 404 in the console; nothing else may fail.
        assert [p for p in watch.problems if "status of 404" not in p] == [], watch.problems
        assert len([p for p in watch.problems if "status of 404" in p]) == 1
        context.close()
    finally:
        server.shutdown()

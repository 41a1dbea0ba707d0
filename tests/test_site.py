"""The MkDocs plugin and this repository's site: strict build, generated pages, errors, and the overview."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from archdoc.errors import ArchdocError
from archdoc.request import parse_site_entries
from archdoc.site.chart import ChartPoint, scatter_svg
from archdoc.site.overview import weight_depth
from conftest import cached_trace

ROOT = Path(__file__).resolve().parents[1]
MKDOCS = [sys.executable, "-m", "mkdocs"]
ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}

MARKDOWN = """
markdown_extensions:
  - tables
  - footnotes
  - pymdownx.superfences:
      custom_fences:
        - name: mermaid
          class: mermaid
          format: !!python/name:pymdownx.superfences.fence_code_format
"""


def build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MKDOCS, "build", "--strict", "-f", str(config), "-d", str(site)],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=300,
    )


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This repository's site, built once with --strict."""
    out = tmp_path_factory.mktemp("site")
    result = build(ROOT / "mkdocs.yml", out)
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    return out


def project(tmp_path: Path, plugin: str, extra: str = MARKDOWN) -> Path:
    """A minimal MkDocs project using the archdoc plugin with the given YAML block."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# Home\n", encoding="utf-8")
    config = tmp_path / "mkdocs.yml"
    config.write_text(f"site_name: t\ntheme:\n  name: material\n  font: false\nplugins:\n{plugin}{extra}", encoding="utf-8")
    return config


# --------------------------------------------------------------------------- this site


def test_every_configured_model_has_a_page(site):
    import yaml

    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    text = text.replace("!!python/name:", "")
    entries = next(p["archdoc"] for p in yaml.safe_load(text)["plugins"] if isinstance(p, dict) and "archdoc" in p)["models"]
    for entry in parse_site_entries(entries):
        assert (site / "models" / entry.slug / "index.html").exists(), entry.slug
    # Every zoo model at its default input, and the three seed configurations.
    import archdoc

    for name in archdoc.list_models():
        assert (site / "models" / name / "index.html").exists(), name
    for slug in ("resnet18-1x116x116-2-classes", "resnet50-1x116x116-2-classes", "alexnet_bn-3x224x224-3-classes"):
        assert (site / "models" / slug / "index.html").exists(), slug


def test_generated_pages_are_not_in_the_repository():
    tracked = subprocess.run(["git", "ls-files", "docs"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert tracked and not any(path.startswith("docs/models/") for path in tracked)


def test_seed_page_figures(site):
    html = (site / "models" / "resnet18-1x116x116-2-classes" / "index.html").read_text(encoding="utf-8")
    # Seed 000: 11,171,266 parameters; the first convolution gives ⌊(116 + 6 − 7)/2⌋ + 1 = 58.
    assert "11,171,266" in html
    assert "⌊(116 + 2·3 − 7) / 2⌋ + 1 = 58" in html
    assert re.search(r"<h1[^>]*>ResNet-18 \(1×116×116, 2 classes\)", html)
    # The citation footnote links the DOI and the arXiv abstract.
    assert 'href="https://doi.org/10.1109/CVPR.2016.90"' in html
    assert 'href="https://arxiv.org/abs/1512.03385"' in html
    # The builder's docstring, rendered by mkdocstrings (its signature and heading).
    assert 'class="doc doc-heading"' in html and "resnet18" in html
    assert html.count('class="mermaid"') >= 3


def test_navigation_groups_pages_by_family(site):
    html = (site / "index.html").read_text(encoding="utf-8")
    nav = html[html.index("md-nav--primary") :]
    titles = re.findall(r">\s*([^<>]+?)\s*<", nav)
    models = titles.index("Models")
    families = ["LeNet", "AlexNet", "VGG", "GoogLeNet", "ResNet"]
    positions = [titles.index(family, models) for family in families]
    assert positions == sorted(positions)
    # Each family lists its pages: ResNet holds the 1×116×116 seed page after ResNet-18.
    resnet = titles[positions[-1] :]
    assert resnet.index("ResNet-18") < resnet.index("ResNet-18 (1×116×116, 2 classes)") < resnet.index("ResNet-34")
    # The section opens on the overview (Material's navigation.indexes).
    assert 'href="models/"' in nav


def test_overview_lists_every_page_with_depth(site):
    html = (site / "models" / "index.html").read_text(encoding="utf-8")
    assert html.count('href="../resnet18/"') + html.count('href="resnet18/"') >= 1
    assert "<svg" in html and html.count("<circle") >= 21
    rows = {}
    for row in html.split("<tr>")[2:]:
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        rows[cells[0]] = cells
    # LeNet-5: 32 → 28 → 14 → 10 → 5 → C5 (5×5) gives 1, and 35 → 31 → 15 → 11 → 5 → 1 too; 36 gives 2, too many for F6.
    assert rows["LeNet-5"][-1] == "32×32 to 35×35"
    # VGG-16: five 2×2 poolings take 32 to 1 and 31 to 0; larger inputs meet the adaptive pooling.
    assert rows["VGG-16"][-1] == "32×32 and up"
    assert rows["ResNet-50"][4] == "50" and rows["GoogLeNet"][4] == "22"


def test_site_makes_no_outside_reference(site):
    """No script, style or font is loaded from outside the site."""
    for page in site.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        for tag in re.findall(r"<(?:script|link|img)\b[^>]*>", html):
            src = re.search(r'(?:src|href)="([^"]+)"', tag)
            if src and ("stylesheet" in tag or tag.startswith(("<script", "<img"))):
                assert not re.match(r"(https?:)?//", src.group(1)), (page, tag)
    assert (site / "assets" / "archdoc" / "mermaid.min.js").stat().st_size > 1_000_000


def test_shipped_mermaid_matches_the_tested_parser():
    """The site's mermaid.js is the version the test suite parses every diagram with."""
    import json

    lock = json.loads((ROOT / "tests" / "js" / "package-lock.json").read_text(encoding="utf-8"))
    version = lock["packages"]["node_modules/mermaid"]["version"]
    shipped = (ROOT / "archdoc" / "assets" / "mermaid.min.js").read_bytes()
    tested = (ROOT / "tests" / "js" / "node_modules" / "mermaid" / "dist" / "mermaid.min.js").read_bytes()
    assert shipped == tested, f"archdoc/assets/mermaid.min.js is not mermaid {version}"


# --------------------------------------------------------------------------- plugin behaviour


@pytest.mark.parametrize(
    "entry, message",
    [
        ("- resnet19", "models[0] (resnet19): unknown model 'resnet19'"),
        ("- {name: alexnet, input: 3x62x62}", "models[0] (alexnet): input 3x62x62 is too small"),
        ("- {name: vgg11, input: 3xx2}", "models[0] (vgg11): bad input '3xx2'"),
        ("- {name: resnet18, classes: 0}", "models[0] (resnet18): classes must be an integer ≥ 1"),
        ("- {name: resnet18, colour: red}", "models[0] (resnet18): unknown key 'colour'"),
        ("- {name: resnet18, set: {widen: 2}}", "models[0] (resnet18)"),
    ],
)
def test_bad_entries_fail_the_build_naming_the_entry(tmp_path, entry, message):
    config = project(tmp_path, f"  - archdoc:\n      models:\n        {entry}\n")
    result = build(config, tmp_path / "site")
    assert result.returncode != 0
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "site" / "index.html").exists()


def test_missing_mermaid_fence_is_a_strict_failure(tmp_path):
    config = project(tmp_path, "  - archdoc:\n      models: [lenet5]\n", extra="markdown_extensions: [tables, footnotes]\n")
    result = build(config, tmp_path / "site")
    assert result.returncode != 0
    assert "mermaid" in result.stderr and "custom fence" in result.stderr


def test_project_templates_override_archdoc_templates(tmp_path):
    config = project(tmp_path, "  - archdoc:\n      templates: tpl\n      models: [lenet5]\n")
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "page.md.j2").write_text("# {{ title }} by our template\n\n{{ figures.params }}\n", encoding="utf-8")
    result = build(config, tmp_path / "site")
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "site" / "models" / "lenet5" / "index.html").read_text(encoding="utf-8")
    # LeNet-5: 61,706 parameters (LeCun et al., 1998, with a 10-way output layer).
    assert "LeNet-5 by our template" in html and "61,706" in html


def test_each_configuration_is_traced_once(tmp_path, monkeypatch):
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config

    import archdoc.tracing

    calls = []
    real = archdoc.tracing.trace

    def counting(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(archdoc.tracing, "trace", counting)
    plugin = (
        "  - archdoc:\n      models:\n"
        "        - lenet5\n"
        "        - {name: lenet5, title: Again, slug: lenet5-again}\n"
        "        - {name: lenet5, input: 1x34x34}\n"
    )
    config = load_config(str(project(tmp_path, plugin)), site_dir=str(tmp_path / "site"))
    mkdocs_build(config)
    assert sorted(calls) == ["lenet5", "lenet5"]  # two configurations, three pages
    assert (tmp_path / "site" / "models" / "lenet5-again" / "index.html").exists()
    assert not (tmp_path / "docs" / "models").exists()  # nothing written into docs/


def test_users_models_by_import_path(tmp_path):
    """A project documents its own models: import paths, token inputs, --device cpu, tied weights."""
    import shutil

    shutil.copy(Path(__file__).parent / "user_models.py", tmp_path / "user_models.py")
    plugin = (
        "  - archdoc:\n      models:\n"
        '        - {name: "user_models:TiedLM", input: "8:int64"}\n'
        '        - {name: "user_models:Branchy", input: "8", device: cpu}\n'
        "  - mkdocstrings\n"
    )
    config = project(tmp_path, plugin)
    result = subprocess.run(
        [*MKDOCS, "build", "--strict", "-d", str(tmp_path / "site")], cwd=tmp_path, capture_output=True, text=True, env=ENV, timeout=300
    )
    assert result.returncode == 0, result.stderr
    tied = (tmp_path / "site" / "models" / "user_models-tiedlm-8-int64" / "index.html").read_text(encoding="utf-8")
    # Embedding 100·16 and mix 16·16 + 16; the decoder's weight is the embedding's, counted once.
    assert f"{100 * 16 + 16 * 16 + 16:,}" in tied and "counted once" in tied
    assert "Linear 16 → 100, shared" in tied.replace("\u00a0", " ")  # flagged in the diagram
    assert "A language model whose output projection reuses the embedding matrix." in tied  # mkdocstrings
    branchy = (tmp_path / "site" / "models" / "user_models-branchy-8" / "index.html").read_text(encoding="utf-8")
    assert "--device cpu" in re.sub(r"<[^>]+>", "", branchy)  # the reproduce command, once highlighting is stripped


def test_two_entries_writing_one_page_are_refused():
    with pytest.raises(ArchdocError, match=r"models\[1\] \(resnet18\): its page resnet18.md is already made by models\[0\]"):
        parse_site_entries(["resnet18", {"name": "resnet18", "title": "Same configuration"}])


def test_slugs_name_the_configuration():
    entries = parse_site_entries(["resnet18", {"name": "resnet18", "input": "1x116x116", "classes": 2}, {"name": "pkg.mod:Net", "input": ["3x8x8", "10"]}])
    assert [e.slug for e in entries] == ["resnet18", "resnet18-1x116x116-2-classes", "pkg-mod-net-3x8x8-10"]


# --------------------------------------------------------------------------- overview


@pytest.mark.parametrize(
    "name, depth",
    # The depth in the papers' names: weight layers on the longest path.
    [("resnet18", 18), ("resnet34", 34), ("resnet50", 50), ("resnet101", 101), ("resnet152", 152), ("vgg11", 11), ("vgg16_bn", 16), ("vgg19", 19), ("googlenet", 22), ("alexnet", 8), ("lenet5", 5)],
)
def test_weight_depth_matches_the_names(name, depth):
    assert weight_depth(cached_trace(name)) == depth


def test_chart_is_valid_svg_and_deterministic():
    rows = [
        ChartPoint("A", "F", 1_000, 10_000),
        ChartPoint("B & C", "G", 2_000_000, 5_000_000_000),
        ChartPoint("B & C twin", "G", 2_000_001, 5_000_000_001),
    ]
    svg = scatter_svg(rows)
    assert svg == scatter_svg(rows)
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert len([c for c in root.iter(f"{ns}circle") if c.find(f"{ns}title") is not None]) == 3
    labels = [t.text for t in root.iter(f"{ns}text")]
    assert "B &amp; C" not in labels and "B & C, B & C twin" in labels  # escaped in the source, one label for twins


# --------------------------------------------------------------------------- in a browser

CHROMIUM = "/usr/bin/chromium"
# Material renders Mermaid into a closed shadow root; open it so the test can look inside.
OPEN_SHADOW_ROOTS = (
    "const attach = Element.prototype.attachShadow;"
    "Element.prototype.attachShadow = function (init) { return attach.call(this, Object.assign({}, init, {mode: 'open'})); };"
)
RENDERED = """() => {
  const hosts = [...document.querySelectorAll('.mermaid')];
  return hosts.map(h => {
    const root = h.shadowRoot || h;
    const svg = root.querySelector('svg');
    return {svg: !!svg, text: root.textContent || '', error: !!root.querySelector('.error-icon, .error-text')};
  });
}"""


def serve(folder: Path):
    """A local HTTP server for a built site: (base URL, server)."""
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # noqa: ANN002
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/", server


def browse(base: str, pages: list[str]) -> tuple[list[str], int]:
    """Load each page in headless Chromium, light then dark; the problems seen and the diagrams checked."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Chromium is missing: apt-get install -y chromium (scripts/test does)"
    problems: list[str] = []
    diagrams = 0
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            for scheme in ("light", "dark"):
                context = browser.new_context(color_scheme=scheme)
                context.add_init_script(OPEN_SHADOW_ROOTS)
                page = context.new_page()
                current = {"url": ""}
                page.on("console", lambda m: m.type == "error" and problems.append(f"{current['url']}: console: {m.text}"))
                page.on("pageerror", lambda e: problems.append(f"{current['url']}: page error: {e}"))
                page.on("requestfailed", lambda r: problems.append(f"{current['url']}: failed: {r.url}"))
                page.on(
                    "request",
                    lambda r: r.url.startswith(base) or r.url.startswith("data:") or problems.append(f"{current['url']}: outside: {r.url}"),
                )
                for path in pages:
                    current["url"] = f"{path} ({scheme})"
                    page.goto(base + path, wait_until="load")
                    if page.locator(".mermaid").count():
                        page.wait_for_function(
                            "() => [...document.querySelectorAll('.mermaid')].every(h => (h.shadowRoot || h).querySelector('svg'))",
                            timeout=60_000,
                        )
                    for i, block in enumerate(page.evaluate(RENDERED)):
                        diagrams += 1
                        if not block["svg"] or block["error"] or "Syntax error" in block["text"] or "limit exceeded" in block["text"]:
                            problems.append(f"{path} ({scheme}): diagram {i} did not render: {block['text'][:160]}")
                    page.wait_for_load_state("networkidle")
                context.close()
        finally:
            browser.close()
    return problems, diagrams


@pytest.mark.browser
def test_every_page_renders_in_chromium(site):
    """Every page: each Mermaid block became an SVG, no Mermaid error, no console error,
    no failed request and no request outside the site; in the light and the dark scheme."""
    pages = sorted(p.parent.relative_to(site).as_posix() for p in site.rglob("index.html"))
    pages = ["" if p == "." else p + "/" for p in pages]
    assert len(pages) >= 29  # home, 5 guides, API reference, overview, 21 model pages
    base, server = serve(site)
    try:
        problems, diagrams = browse(base, pages)
    finally:
        server.shutdown()
    assert not problems, "\n".join(problems)
    # Every Mermaid block of the built HTML was checked, in both schemes.
    blocks = sum((site / p / "index.html").read_text(encoding="utf-8").count('class="mermaid"') for p in pages)
    assert blocks >= 21 and diagrams == 2 * blocks  # at least the network diagram on each model page


@pytest.mark.browser
def test_a_diagram_beyond_mermaids_default_limits_renders(tmp_path):
    """200 residual blocks expanded: about 800 edges, more than Mermaid's default 500."""
    import shutil

    shutil.copy(Path(__file__).parent / "user_models.py", tmp_path / "user_models.py")
    config = project(tmp_path, '  - archdoc:\n      models:\n        - {name: "user_models:DeepResidual", input: 4x8x8, depth: 1}\n')
    result = subprocess.run(
        [*MKDOCS, "build", "--strict", "-d", str(tmp_path / "site")], cwd=tmp_path, capture_output=True, text=True, env=ENV, timeout=300
    )
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "site" / "models" / "user_models-deepresidual-4x8x8" / "index.html").read_text(encoding="utf-8")
    network = html.rsplit('class="mermaid"', 1)[1]
    assert network.count("--&gt;") > 500  # drawn expanded, not collapsed to the default limits
    base, server = serve(tmp_path / "site")
    try:
        problems, diagrams = browse(base, ["models/user_models-deepresidual-4x8x8/"])
    finally:
        server.shutdown()
    assert not problems, "\n".join(problems)
    assert diagrams == 2 * 2  # a block diagram and the network diagram, in both schemes


def test_site_limits_match_the_shipped_script():
    """The plugin draws diagrams up to the limits archdoc.js gives Mermaid on the site."""
    from archdoc.site.plugin import MERMAID_LIMITS

    script = (ROOT / "archdoc" / "assets" / "archdoc.js").read_text(encoding="utf-8")
    assert f"maxEdges: {MERMAID_LIMITS[0]}, maxTextSize: {MERMAID_LIMITS[1]}" in script


def test_deep_diagrams_use_the_raised_limits():
    import torch.nn as nn

    import archdoc
    from archdoc.diagram import MAX_EDGES, MAX_TEXT, network_diagram
    from archdoc.site.plugin import MERMAID_LIMITS

    class Residual(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(4, 4, 3, padding=1)
            self.conv2 = nn.Conv2d(4, 4, 3, padding=1)

        def forward(self, x):
            return x + self.conv2(self.conv1(x))

    # 200 blocks, each expanded to two convolutions and an add: 4 edges a block, 800 in all.
    trace = archdoc.trace(nn.Sequential(*[Residual() for _ in range(200)]), (4, 8, 8))
    default = network_diagram(trace, depth=1)
    raised = network_diagram(trace, depth=1, limits=MERMAID_LIMITS)
    edges = lambda text: sum("-->" in line for line in text.splitlines())  # noqa: E731
    assert edges(default) <= MAX_EDGES and len(default) <= MAX_TEXT  # collapsed to one node a block
    assert MAX_EDGES < edges(raised) <= MERMAID_LIMITS[0] and len(raised) <= MERMAID_LIMITS[1]


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"name": "lenet5", "set": "abc"}, "models[0] (lenet5): 'set' must map builder argument names"),
        ({"name": "lenet5", "set": {1: 2}}, "models[0] (lenet5): 'set' must map builder argument names"),
        ({"name": "lenet5", "input": [1, 32, 32]}, "models[0] (lenet5): write the input size as text, input: 1x32x32"),
        ({"name": "---"}, "models[0] (---): no file name can be made from it"),
    ],
)
def test_malformed_entries_are_named(entry, message):
    with pytest.raises(ArchdocError) as info:
        parse_site_entries([entry])
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(
    "plugin, message",
    [
        ("  - archdoc:\n      models: [lenet5, {name: lenet5, input: 1x32x32, slug: index}]\n", "slug 'index' is the overview page"),
        ("  - archdoc:\n      directory: ../out\n      models: [lenet5]\n", "must be a folder inside docs"),
    ],
)
def test_plugin_options_that_would_lose_pages_are_refused(tmp_path, plugin, message):
    result = build(project(tmp_path, plugin), tmp_path / "site")
    assert result.returncode != 0 and message in result.stderr and "Traceback" not in result.stderr


def test_plugin_order_does_not_matter_for_builder_docs(tmp_path):
    """mkdocstrings listed before archdoc still finds the zoo's builders."""
    config = project(tmp_path, "  - mkdocstrings\n  - archdoc:\n      models: [lenet5]\n")
    result = build(config, tmp_path / "site")
    assert result.returncode == 0, result.stderr
    assert "archdoc.zoo.lenet.lenet5" in (tmp_path / "site" / "models" / "lenet5" / "index.html").read_text(encoding="utf-8")


def test_own_pages_in_the_models_folder_stay_in_the_nav(tmp_path):
    config = project(tmp_path, "  - archdoc:\n      models: [lenet5]\n")
    (tmp_path / "docs" / "models").mkdir()
    (tmp_path / "docs" / "models" / "notes.md").write_text("# Our notes\n", encoding="utf-8")
    result = build(config, tmp_path / "site")
    assert result.returncode == 0, result.stderr
    assert 'href="models/notes/"' in (tmp_path / "site" / "index.html").read_text(encoding="utf-8")


def test_models_section_placeholder_may_be_nested():
    from archdoc.site.plugin import _fill

    nav = [{"Home": "index.md"}, {"Reference": [{"API": "api.md"}, {"Models": []}]}]
    assert _fill(nav, "Models", [{"Overview": "models/index.md"}])
    assert nav[1] == {"Reference": [{"API": "api.md"}, {"Models": [{"Overview": "models/index.md"}]}]}
    page = [{"Models": "ours.md"}]
    assert _fill(page, "Models", [{"Overview": "models/index.md"}])
    assert page == [{"Models": [{"Models": "ours.md"}, {"Overview": "models/index.md"}]}]  # the page keeps its title
    assert not _fill([{"Home": "index.md"}], "Models", [])

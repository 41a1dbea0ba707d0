"""The MkDocs plugin: generated pages, navigation, overview, scripts, search and errors; built in this process.

Whole-site builds in a subprocess and everything a browser must show are in
``test_browser.py``.
"""

from __future__ import annotations

import json
import math
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
from sites import ROOT, BuildFailed, build, project

MINI = """  - search
  - archdoc:
      models:
        - lenet5
        - vgg16
        - googlenet
        - resnet18
        - {name: resnet18, input: 1x116x116, classes: 2, title: "ResNet-18 (1×116×116, 2 classes)"}
        - resnet50
  - mkdocstrings
"""


@pytest.fixture(scope="module")
def mini(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small site of six configurations (four families) and a guide page, built once."""
    folder = tmp_path_factory.mktemp("mini")
    config = project(folder, MINI, pages={"guide.md": "# A guide\n\n```bash\narchdoc render resnet18\n```\n"})
    assert build(config, folder / "site") == []
    return folder / "site"


def read(site: Path, page: str) -> str:
    return (site / page / "index.html").read_text(encoding="utf-8")


def text_of(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html).replace("\u00a0", " ")


# --------------------------------------------------------------------------- pages


def test_generated_pages_are_not_in_the_repository():
    tracked = subprocess.run(["git", "ls-files", "docs"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert tracked and not any(path.startswith("docs/models/") for path in tracked)


def test_every_configured_model_has_a_page(mini):
    for entry in parse_site_entries(["lenet5", "vgg16", "googlenet", "resnet18", {"name": "resnet18", "input": "1x116x116", "classes": 2}, "resnet50"]):
        assert (mini / "models" / entry.slug / "index.html").exists(), entry.slug


def test_seed_page_figures(mini):
    html = read(mini, "models/resnet18-1x116x116-2-classes")
    # Seed 000: 11,171,266 parameters; the first convolution gives ⌊(116 + 6 − 7)/2⌋ + 1 = 58.
    assert "11,171,266" in html
    assert "⌊(116 + 2·3 − 7) / 2⌋ + 1 = 58" in html
    assert re.search(r"<h1[^>]*>ResNet-18 \(1×116×116, 2 classes\)", html)
    # The citation footnote links the DOI and the arXiv abstract.
    assert 'href="https://doi.org/10.1109/CVPR.2016.90"' in html
    assert 'href="https://arxiv.org/abs/1512.03385"' in html
    # The builder's docstring, rendered by mkdocstrings (its signature and heading).
    assert 'class="doc doc-heading"' in html and "resnet18" in html
    # Two kinds of block and the whole network, each drawn by archdoc.js from its source.
    assert html.count('class="archdoc-diagram"') == 3


def test_tables_have_an_anchor_on_every_row(mini):
    html = read(mini, "models/resnet18-1x116x116-2-classes")
    assert 'id="layer-conv1"' in html and 'id="layer-layer3-1-conv2"' in html  # shape arithmetic rows
    assert 'id="summary-layer1"' in html  # summary rows
    # The plain-text table stays, behind a disclosure.
    assert '<details class="archdoc-text">' in html and "Total mult-adds (M): 520.96" in html
    # Diagram nodes link to block diagrams and to rows.
    nodes = json.loads(re.search(r'data-nodes="([^"]*)"', html.split('id="whole-network"')[1]).group(1).replace("&quot;", '"'))
    hrefs = {info.get("href") for info in nodes.values()}
    assert "#block-basicblock-projection-2" in hrefs and "#layer-conv1" in hrefs
    assert 'id="block-basicblock-projection-2"' in html


def test_long_sections_are_collapsible(mini):
    html = read(mini, "models/resnet50")
    # ResNet-50: 1 + 16·3 + 4 = 53 convolutions, two poolings and the classifier (its flatten is
    # torch.flatten, a function, not a layer): 56 rows.
    assert re.search(r'<details class="archdoc-long">\s*<summary>All 56 layers</summary>', html)
    assert 'id="layer-layer4-2-conv3"' in html  # still anchored, for links and search


def test_navigation_groups_pages_by_family(mini):
    html = read(mini, "")
    nav = html[html.index("md-nav--primary"):]
    titles = re.findall(r">\s*([^<>]+?)\s*<", nav)
    models = titles.index("Models")
    positions = [titles.index(family, models) for family in ["LeNet", "VGG", "GoogLeNet", "ResNet"]]
    assert positions == sorted(positions)
    resnet = titles[positions[-1]:]
    assert resnet.index("ResNet-18") < resnet.index("ResNet-18 (1×116×116, 2 classes)") < resnet.index("ResNet-50")
    assert 'href="models/"' in nav  # the section opens on the overview


def test_overview_lists_every_page(mini):
    html = read(mini, "models")
    rows = {}
    for row in html.split("<tr>")[2:]:
        cells = [text_of(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        rows[cells[0]] = cells
    assert list(rows) == ["LeNet-5", "VGG-16", "GoogLeNet", "ResNet-18", "ResNet-18 (1×116×116, 2 classes)", "ResNet-50"]
    # LeNet-5: 32 → 28 → 14 → 10 → 5 → C5 (5×5) gives 1, and 35 → 31 → 15 → 11 → 5 → 1 too; 36 gives 2, too many for F6.
    assert rows["LeNet-5"][-1] == "32 to 35"
    # VGG-16: five 2×2 poolings take 32 to 1 and 31 to 0; larger inputs meet the adaptive pooling.
    assert rows["VGG-16"][-1] == "32 and up"
    assert rows["ResNet-50"][4] == "50" and rows["GoogLeNet"][4] == "22"
    # The same units as on the pages: LeNet-5's 416,520 mult-adds.
    assert rows["LeNet-5"][3] == "416.52 k" and "416.52 k (416,520)" in text_of(read(mini, "models/lenet5"))
    families = json.loads(re.search(r'data-families="([^"]*)"', html).group(1).replace("&quot;", '"'))
    assert families == ["LeNet", "VGG", "GoogLeNet", "ResNet", "ResNet", "ResNet"]
    # Chart points link to the pages.
    assert '<a href="resnet50/" class="archdoc-point">' in html and html.count('class="archdoc-point"') == 6


def test_scripts_load_only_where_they_are_needed(mini):
    for page in ("", "guide"):
        assert "mermaid.min.js" not in read(mini, page) and "archdoc.js" not in read(mini, page)
    model = read(mini, "models/lenet5")
    # Before Material's bundle, so Material never asks a CDN for mermaid.
    assert model.index("mermaid.min.js") < model.index("archdoc.js") < model.index("assets/javascripts/bundle.")
    assert "overview.js" in read(mini, "models") and "mermaid.min.js" not in read(mini, "models")


def test_search_lands_on_layer_rows(mini):
    index = json.loads((mini / "search" / "search_index.json").read_text(encoding="utf-8"))
    found = {d["location"]: d for d in index["docs"] if d["title"] == "layer3.1.conv2"}
    assert "models/resnet50/#layer-layer3-1-conv2" in found
    assert "Conv2d 3×3, pad 1" in found["models/resnet50/#layer-layer3-1-conv2"]["text"]


def test_site_makes_no_outside_reference(mini):
    """No script, style or font is loaded from outside the site."""
    for page in mini.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        for tag in re.findall(r"<(?:script|link|img)\b[^>]*>", html):
            src = re.search(r'(?:src|href)="([^"]+)"', tag)
            if src and ("stylesheet" in tag or tag.startswith(("<script", "<img"))):
                assert not re.match(r"(https?:)?//", src.group(1)), (page, tag)
    assert (mini / "assets" / "archdoc" / "mermaid.min.js").stat().st_size > 1_000_000


def test_shipped_mermaid_matches_the_tested_parser():
    """The site's mermaid.js is the version the test suite parses every diagram with."""
    lock = json.loads((ROOT / "tests" / "js" / "package-lock.json").read_text(encoding="utf-8"))
    version = lock["packages"]["node_modules/mermaid"]["version"]
    shipped = (ROOT / "archdoc" / "assets" / "mermaid.min.js").read_bytes()
    tested = (ROOT / "tests" / "js" / "node_modules" / "mermaid" / "dist" / "mermaid.min.js").read_bytes()
    assert shipped == tested, f"archdoc/assets/mermaid.min.js is not mermaid {version}"


# --------------------------------------------------------------------------- plugin behaviour


def lenet_project(tmp_path: Path, plugin: str = "  - archdoc:\n      models: [lenet5]\n", **kwargs) -> Path:
    return project(tmp_path, plugin, **kwargs)


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
    with pytest.raises(BuildFailed) as info:
        build(config, tmp_path / "site")
    assert any(message in line for line in info.value.errors), info.value.errors
    assert all("\n" not in line and "Traceback" not in line for line in info.value.errors)  # one line each
    assert not (tmp_path / "site" / "index.html").exists()


def test_missing_markdown_extensions_are_a_strict_failure(tmp_path):
    config = lenet_project(tmp_path, extra="markdown_extensions: [tables, footnotes]\n")
    with pytest.raises(BuildFailed) as info:
        build(config, tmp_path / "site")
    assert any("attr_list" in line for line in info.value.warnings)


def test_project_templates_override_archdoc_templates(tmp_path):
    config = lenet_project(tmp_path, "  - archdoc:\n      templates: tpl\n      models: [lenet5]\n")
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "page.md.j2").write_text("# {{ title }} by our template\n\n{{ figures.params }}\n", encoding="utf-8")
    build(config, tmp_path / "site")
    html = read(tmp_path / "site", "models/lenet5")
    # LeNet-5: 61,706 parameters (LeCun et al., 1998, with a 10-way output layer).
    assert "LeNet-5 by our template" in html and "61,706" in html


def test_each_configuration_is_traced_once(tmp_path, monkeypatch):
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
    build(project(tmp_path, plugin), tmp_path / "site")
    assert sorted(calls) == ["lenet5", "lenet5"]  # two configurations, three pages
    assert (tmp_path / "site" / "models" / "lenet5-again" / "index.html").exists()
    assert not (tmp_path / "docs" / "models").exists()  # nothing written into docs/


def test_users_models_by_import_path(tmp_path, monkeypatch):
    """A project documents its own models: import paths, token inputs, --device cpu, tied weights."""
    import shutil

    shutil.copy(Path(__file__).parent / "user_models.py", tmp_path / "user_models_site.py")
    monkeypatch.chdir(tmp_path)
    plugin = (
        "  - archdoc:\n      models:\n"
        '        - {name: "user_models_site:TiedLM", input: "8:int64"}\n'
        '        - {name: "user_models_site:Branchy", input: "8", device: cpu}\n'
        "  - mkdocstrings\n"
    )
    build(project(tmp_path, plugin), tmp_path / "site")
    tied = read(tmp_path / "site", "models/user_models_site-tiedlm-8-int64")
    # Embedding 100·16 and mix 16·16 + 16; the decoder's weight is the embedding's, counted once.
    assert f"{100 * 16 + 16 * 16 + 16:,}" in tied and "counted once" in tied
    assert "Linear 16 → 100, shared" in tied.replace("\u00a0", " ")  # flagged in the diagram
    assert "A language model whose output projection reuses the embedding matrix." in tied  # mkdocstrings
    branchy = read(tmp_path / "site", "models/user_models_site-branchy-8")
    assert "--device cpu" in text_of(branchy)  # the reproduce command, once highlighting is stripped


def test_two_entries_writing_one_page_are_refused():
    with pytest.raises(ArchdocError, match=r"models\[1\] \(resnet18\): its page resnet18.md is already made by models\[0\]"):
        parse_site_entries(["resnet18", {"name": "resnet18", "title": "Same configuration"}])


def test_slugs_name_the_configuration():
    entries = parse_site_entries(["resnet18", {"name": "resnet18", "input": "1x116x116", "classes": 2}, {"name": "pkg.mod:Net", "input": ["3x8x8", "10"]}])
    assert [e.slug for e in entries] == ["resnet18", "resnet18-1x116x116-2-classes", "pkg-mod-net-3x8x8-10"]


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
    with pytest.raises(BuildFailed) as info:
        build(project(tmp_path, plugin), tmp_path / "site")
    assert any(message in line for line in info.value.errors)


def test_plugin_order_does_not_matter_for_builder_docs(tmp_path):
    """mkdocstrings listed before archdoc still finds the zoo's builders."""
    build(lenet_project(tmp_path, "  - mkdocstrings\n  - archdoc:\n      models: [lenet5]\n"), tmp_path / "site")
    assert "archdoc.zoo.lenet.lenet5" in read(tmp_path / "site", "models/lenet5")


def test_own_pages_in_the_models_folder_stay_in_the_nav(tmp_path):
    config = lenet_project(tmp_path, pages={"models/notes.md": "# Our notes\n"})
    build(config, tmp_path / "site")
    assert 'href="models/notes/"' in read(tmp_path / "site", "")


def test_models_section_placeholder_may_be_nested():
    from archdoc.site.plugin import _fill

    nav = [{"Home": "index.md"}, {"Reference": [{"API": "api.md"}, {"Models": []}]}]
    assert _fill(nav, "Models", [{"Overview": "models/index.md"}])
    assert nav[1] == {"Reference": [{"API": "api.md"}, {"Models": [{"Overview": "models/index.md"}]}]}
    page = [{"Models": "ours.md"}]
    assert _fill(page, "Models", [{"Overview": "models/index.md"}])
    assert page == [{"Models": [{"Models": "ours.md"}, {"Overview": "models/index.md"}]}]  # the page keeps its title
    assert not _fill([{"Home": "index.md"}], "Models", [])


# mkdocs's own command (`mkdocs build`, as its console script calls it) for each argument list
# given as JSON, one after the other in this process; stderr is split by a line per build.
_MKDOCS_BUILDS = """
import json, sys
from mkdocs.__main__ import cli
codes = []
for args in sys.argv[1:]:
    print("@@@ build", file=sys.stderr, flush=True)
    try:
        cli.main(["build", *json.loads(args)], prog_name="mkdocs")
    except SystemExit as done:
        codes.append(done.code or 0)
print(json.dumps(codes))
"""


@pytest.mark.slow
def test_mkdocs_command_line_builds_strictly(tmp_path):
    """The plugin through mkdocs's own `build --strict` command, as a project runs it.

    There, with no other thread in the process, two forked workers trace the zoo models
    while the pages are made; the pages are those of a build that traces in its own process.
    Both command-line builds run in one fresh process, one after the other, as `mkdocs serve`
    rebuilds: the second starts from what the first left.
    """
    models = "[lenet5, alexnet, squeezenet1_1, {name: alexnet, input: 3x63x63, classes: 2}]"
    config = lenet_project(tmp_path, f"  - archdoc:\n      workers: 2\n      models: {models}\n")
    # A model that fails in a worker is traced again by the build itself, which names it as ever.
    (tmp_path / "bad").mkdir()
    bad = project(tmp_path / "bad", "  - archdoc:\n      workers: 2\n      models: [lenet5, alexnet, squeezenet1_1, {name: alexnet, input: 3x62x62}]\n")
    builds = [
        ["--strict", "-v", "-f", str(config), "-d", str(tmp_path / "site")],
        ["--strict", "-f", str(bad), "-d", str(tmp_path / "bad" / "site")],
    ]
    result = subprocess.run(
        [sys.executable, "-c", _MKDOCS_BUILDS, *map(json.dumps, builds)],
        capture_output=True, text=True, env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"}, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    good, failed = result.stderr.split("@@@ build\n")[1:]
    codes = json.loads(result.stdout.splitlines()[-1])
    assert codes[0] == 0, good
    assert "archdoc: 4 of 4 models traced by 2 worker processes" in good
    assert codes[1] != 0 and "models[3] (alexnet): input 3x62x62 is too small" in failed
    assert "Traceback" not in result.stderr
    (tmp_path / "one").mkdir()
    alone = lenet_project(tmp_path / "one", f"  - archdoc:\n      workers: 1\n      models: {models}\n")
    build(alone, tmp_path / "one" / "site")
    pages = ["lenet5", "alexnet", "squeezenet1_1", "alexnet-3x63x63-2-classes"]
    for page in pages:
        forked = (tmp_path / "site" / "models" / page / "index.html").read_text(encoding="utf-8")
        assert forked == (tmp_path / "one" / "site" / "models" / page / "index.html").read_text(encoding="utf-8"), page


# --------------------------------------------------------------------------- overview pieces


@pytest.mark.parametrize(
    "name, depth",
    # The depth in the papers' names: weight layers on the longest path.
    [("resnet18", 18), ("resnet34", 34), ("resnet50", 50), ("resnet101", 101), ("resnet152", 152), ("vgg11", 11), ("vgg16_bn", 16), ("vgg19", 19), ("googlenet", 22), ("alexnet", 8), ("lenet5", 5)],
)
def test_weight_depth_matches_the_names(name, depth):
    assert weight_depth(cached_trace(name)) == depth


def test_chart_is_valid_svg_and_deterministic():
    rows = [
        ChartPoint("A", "F", 1_000, 10_000, "a/"),
        ChartPoint("B & C", "G", 2_000_000, 5_000_000_000, "b/"),
        ChartPoint("B & C twin", "G", 2_000_001, 5_000_000_001, "c/"),
    ]
    svg = scatter_svg(rows)
    assert svg == scatter_svg(rows)
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert len([c for c in root.iter(f"{ns}circle") if c.find(f"{ns}title") is not None]) == 3
    labels = [t.text for t in root.iter(f"{ns}text")]
    assert "B &amp; C" not in labels and "B & C, B & C twin" in labels  # escaped in the source, one label for twins
    assert [a.get("href") for a in root.iter(f"{ns}a")] == ["a/", "b/", "c/"]


def test_crowded_chart_labels_are_left_out_rather_than_misplaced():
    # Forty points about 6 px apart on a diagonal: not every one can have a label beside it.
    rows = [ChartPoint(f"M{i}", "F", int(1e7 * 10 ** (i * 0.03)), int(1e9 * 10 ** (i * 0.03))) for i in range(40)]
    root = ET.fromstring(scatter_svg(rows))
    ns = "{http://www.w3.org/2000/svg}"
    points = {c.find(f"{ns}title").text.split(":")[0]: (float(c.get("cx")), float(c.get("cy")))
              for c in root.iter(f"{ns}circle") if c.find(f"{ns}title") is not None}
    assert len(points) == 40  # every point kept, with its tooltip
    labels = [t for t in root.iter(f"{ns}text") if t.text and re.fullmatch(r"M\d+", t.text)]
    assert 0 < len(labels) < 40
    for label in labels:  # each label is nearer its own point than any other
        x, y = float(label.get("x")), float(label.get("y")) - 4
        width = len(label.text) * 6.6
        left = x if label.get("text-anchor") == "start" else x - width
        gap = {name: math.hypot(max(left - px, 0, px - left - width), max(y - 6 - py, 0, py - y - 7))
               for name, (px, py) in points.items()}
        assert min(gap, key=gap.get) == label.text


def test_site_limits_match_the_shipped_script():
    """The plugin draws diagrams up to the limits archdoc.js gives Mermaid on the site."""
    from archdoc.site.plugin import MERMAID_LIMITS

    script = (ROOT / "archdoc" / "assets" / "archdoc.js").read_text(encoding="utf-8")
    assert f"maxEdges: {MERMAID_LIMITS[0]}, maxTextSize: {MERMAID_LIMITS[1]}" in script


def test_deep_diagrams_use_the_raised_limits():
    import torch.nn as nn

    import archdoc
    from archdoc.diagram import MAX_EDGES, MAX_TEXT, network_figure
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
    default = network_figure(trace, depth=1)
    raised = network_figure(trace, depth=1, limits=MERMAID_LIMITS)
    assert default.edges <= MAX_EDGES and len(default.text) <= MAX_TEXT
    assert "Residual ×200" in default.text and default.notes  # collapsed, and the page says so
    assert MAX_EDGES < raised.edges <= MERMAID_LIMITS[0] and len(raised.text) <= MERMAID_LIMITS[1] and not raised.notes


def test_deferred_blocks_come_back_as_markdown_would_show_them():
    """The site keeps its large HTML blocks out of Markdown: converting the page with them swapped
    for comments, then putting them back, gives the elements, attributes and text Markdown gives
    for the page itself (Markdown only adds line breaks between the tags of a nested block)."""
    import markdown

    from archdoc.diagram.section import structure_section
    from archdoc.page import render_page
    from archdoc.site.deferred import defer_blocks, restore_blocks

    trace = cached_trace("resnet18", "1x116x116", num_classes=2)
    page = render_page(trace, diagrams=structure_section(trace, 0, interactive=True), site=True)
    extensions = ["tables", "footnotes", "admonition", "attr_list", "md_in_html", "toc"]
    deferred, blocks = defer_blocks(page)
    # The two kinds of BasicBlock and the whole network, the summary table, the arithmetic inside its collapsible.
    assert [b.split('"')[1] for b in blocks] == ["archdoc-diagram"] * 3 + ["archdoc-summary", "archdoc-arithmetic"]
    assert len(deferred) < len(page) / 3

    def tags(html: str) -> str:
        return re.sub(r">\s+<", "><", html.replace(' markdown="0"', ""))

    direct = markdown.markdown(page, extensions=extensions)
    assert tags(restore_blocks(markdown.markdown(deferred, extensions=extensions), blocks)) == tags(direct)
    assert 'markdown="0"' not in restore_blocks(deferred, blocks) and "archdoc-deferred" not in restore_blocks(deferred, blocks)

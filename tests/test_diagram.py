"""Diagrams: read like a paper's figure, and every one goes through Mermaid's real parser (mermaid 11, via node)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

import archdoc
import diagram_models as dm
from archdoc.diagram import MAX_EDGES, MAX_TEXT, block_figures, escape_label, network_diagram, network_figure, render_mermaid, section_figures
from archdoc.diagram.section import structure_section
from archdoc.registry import get_entry
from conftest import cached_trace

SEED_DIAGRAMS = Path(__file__).resolve().parent / "fixtures" / "seed_000_diagrams.mmd"
SEED_CONFIGS = [
    ("resnet18", "1x116x116", 2),
    ("resnet50", "1x116x116", 2),
    ("alexnet_bn", "3x224x224", 3),
]
NBSP = "\u00a0"


def labels(text: str) -> list[str]:
    """Node labels with line breaks as " / " and non-breaking spaces as spaces."""
    return [lab.replace("<br/>", " / ").replace(NBSP, " ") for lab in re.findall(r'\b[nc]\d+\["([^"]*)"\]', text)]


def node_labels(text: str) -> list[str]:
    return [lab.replace("<br/>", " / ").replace(NBSP, " ") for lab in re.findall(r'\bn\d+\["([^"]*)"\]', text)]


def edge_labels(text: str) -> list[str]:
    return [lab.replace("<br/>", " / ").replace(NBSP, " ") for lab in re.findall(r'-->\|"([^"]*)"\|', text)]


def ids(text: str) -> dict[str, str]:
    return {lab.replace("<br/>", " / ").replace(NBSP, " "): node for node, lab in re.findall(r'\b(n\d+)\["([^"]*)"\]', text)}


def boxes(text: str) -> dict[str, tuple[str, set[str]]]:
    """Each subgraph id: its title and every node inside it (nested ones included)."""
    found: dict[str, tuple[str, set[str]]] = {}
    stack: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        opened = re.match(r'subgraph (s\d+) \["([^"]*)"\]', line)
        if opened:
            for box in stack:  # a box inside a box is inside it too, for arrows that start or end at it
                found[box][1].add(opened.group(1))
            stack.append(opened.group(1))
            found[opened.group(1)] = (opened.group(2), set())
        elif line == "end":
            stack.pop()
        else:
            node = re.match(r"([nc]\d+)\[", line)
            if node:
                for box in stack:
                    found[box][1].add(node.group(1))
    return found


def arrows_through_titles(text: str) -> list[str]:
    """Arrows from outside a titled box to a node inside it: they run through the title."""
    found = boxes(text)
    bad = []
    for src, dst in re.findall(r"^\s+(\w+) -->(?:\|\"[^\"]*\"\|)? (\w+)$", text, re.M):
        for box, (title, inside) in found.items():
            if title.strip() and dst in inside and src not in inside and src != box:
                bad.append(f"{src} --> {dst} through {title!r}")
    return bad


def test_parser_rejects_the_seeds_broken_diagrams(mermaid):
    """The harness can fail: seed 000's whole-network diagrams use `::convNode` and never parsed."""
    text = SEED_DIAGRAMS.read_text(encoding="utf-8")
    blocks = [part.split("\n", 1)[1] for part in text.split("%%% diagram ")[1:]]
    assert [mermaid.parse(b)[0] for b in blocks] == [True, True, True, True, False, False]


def all_zoo_traces():
    for name in archdoc.list_models():
        yield name, cached_trace(name)
    for name, size, classes in SEED_CONFIGS:
        yield f"{name} {size}", cached_trace(name, size, num_classes=classes)


def _statement_form(line: str) -> str:
    """A diagram line with its labels, names and numbers blanked: what kind of statement it is."""
    return re.sub(r"\d+", "0", re.sub(r"\b[A-Za-z_]\w*\b", "w", re.sub(r'"[^"]*"', '"t"', line))).strip()


def test_every_zoo_diagram_parses_fits_and_keeps_titles_clear(mermaid):
    """Every form of diagram a page shows goes through the parser, and the largest expansions.

    Diagrams that differ only inside their quoted labels ("Conv 3×3, 64<br/>64 × 56 × 56" against
    "Conv 3×3, 128<br/>128 × 28 × 28") are one form: Mermaid reads a quoted label as one string
    token whatever its characters once `escape_label` has made them safe, which
    `test_any_label_text_parses` checks for any text, so the parser gets the first diagram of
    each form, labels and all (323 diagrams are 74 forms). Expanded (depth 1)
    diagrams are shown only on request; each is checked here for size and arrows. They are made
    of the statements the shown diagrams are made of (checked: no statement of another kind),
    nested deeper and more of them, so the parser gets the two nearest Mermaid's limits: the
    longest text and the most edges.
    """
    failures = []
    expansions: list[tuple[int, int, str, str]] = []
    parsed: set[str] = set()
    statements: set[str] = set()
    for name, trace in all_zoo_traces():
        expansion = network_figure(trace, 1)
        network, blocks = section_figures(trace)  # what a page shows, from one structure
        shown = [network] + [b.figure for b in blocks]
        for figure in [expansion, *shown]:
            assert figure.edges <= MAX_EDGES and len(figure.text) <= MAX_TEXT, name
            assert arrows_through_titles(figure.text) == [], name
            assert " x " not in figure.text, name  # "×" in diagrams as in the text
        expansions.append((len(expansion.text), expansion.edges, expansion.text, name))
        for figure in shown:
            form = re.sub(r'"[^"]*"', '"t"', figure.text)
            if form not in parsed:
                parsed.add(form)
                statements.update(_statement_form(line) for line in figure.text.splitlines())
                ok, error = mermaid.parse(figure.text)
                if not ok:
                    failures.append((name, error))
    assert len({get_entry(name.split()[0]).family for *_, name in expansions}) == 21  # torchvision's 19 (EfficientNetV2 apart), LeNet, AlexNet
    for _, _, text, name in expansions:
        assert {_statement_form(line) for line in text.splitlines()} <= statements, name
    longest, most_edges = max(expansions), max(expansions, key=lambda e: (e[1], e[0]))
    for _, _, text, name in dict.fromkeys([longest, most_edges]):
        ok, error = mermaid.parse(text)
        if not ok:
            failures.append((f"{name} expanded", error))
    assert failures == []


def test_resnet152_is_twenty_nodes_and_expands_on_request(mermaid):
    trace = cached_trace("resnet152")
    found = node_labels(network_diagram(trace, 0))
    assert len(found) <= 20
    # Stage 3 of ResNet-152: one projection block, then 35 alike (the paper's 36).
    assert "Bottleneck ×35 / 1024 × 14 × 14" in found
    assert "Bottleneck, projection /2 / 1024 × 14 × 14" in found
    for depth in (1, 5):
        figure = network_figure(trace, depth)
        assert figure.edges <= MAX_EDGES and mermaid.parse(figure.text)[0]
        assert sum("Conv 3×3" in lab for lab in node_labels(figure.text)) == 3 + 8 + 36 + 3  # every block's 3×3 conv


def test_one_name_per_kind_of_block_everywhere():
    trace = cached_trace("resnet50", "1x116x116", num_classes=2)
    kinds = [b.kind.name for b in block_figures(trace)]
    assert kinds == ["Bottleneck, projection", "Bottleneck", "Bottleneck, projection /2"]
    nodes = [lab.split(" / ")[0] for lab in node_labels(network_diagram(trace))]
    assert {re.sub(r" ×\d+$", "", n) for n in nodes if n.startswith("Bottleneck")} == set(kinds)
    # Seed 000 marked the first ResNet-50 block "/2"; it keeps 29 × 29.
    assert "Bottleneck, projection / 256 × 29 × 29" in node_labels(network_diagram(trace))
    page = archdoc.render_page(trace)
    assert all(f"#### {kind}\n" in page.replace("\\", "") for kind in kinds)


def test_resnet_blocks_show_the_shortcut():
    trace = cached_trace("resnet18", "1x116x116", num_classes=2)
    plain, down = block_figures(trace)
    assert (plain.kind.name, down.kind.name) == ("BasicBlock", "BasicBlock, projection /2")
    assert plain.caption.startswith("As in `layer1.0`: 64 × 29 × 29 → 64 × 29 × 29")
    n = ids(plain.figure.text)
    # Identity shortcut: the input goes straight into the addition.
    assert f"{n['Input / 64 × 29 × 29']} --> {n['add / 64 × 29 × 29']}" in plain.figure.text
    n = ids(down.figure.text)
    # Projection shortcut: a strided 1×1 convolution, then BatchNorm into the addition.
    shortcut = n["Conv 1×1 /2, 128 / 128 × 15 × 15"]
    add = n["add / 128 × 15 × 15"]
    assert f"{n['Input / 64 × 29 × 29']} --> " in down.figure.text
    assert re.search(rf"{shortcut} -->\|\"BatchNorm\"\| {add}|s\d+ -->\|\"BatchNorm\"\| {add}", down.figure.text)
    assert f'{add} -->|"ReLU"| {n["Output / 128 × 15 × 15"]}' in down.figure.text


def test_seed_resnet18_network_reads_like_the_seed():
    text = network_diagram(cached_trace("resnet18", "1x116x116", num_classes=2))
    assert node_labels(text) == [
        "Input / 1 × 116 × 116",
        "Conv 7×7 /2, 64 / 64 × 58 × 58",
        "MaxPool 3×3 /2 / 64 × 29 × 29",
        "AvgPool → 1×1 / 512 × 1 × 1",
        "Linear 512 → 2 / 2",
        "Output / 2",
        "BasicBlock ×2 / 64 × 29 × 29",
        "BasicBlock, projection /2 / 128 × 15 × 15",
        "BasicBlock / 128 × 15 × 15",
        "BasicBlock, projection /2 / 256 × 8 × 8",
        "BasicBlock / 256 × 8 × 8",
        "BasicBlock, projection /2 / 512 × 4 × 4",
        "BasicBlock / 512 × 4 × 4",
    ]
    assert [title for title, _ in boxes(text).values()] == ["layer1", "layer2", "layer3", "layer4"]
    assert "BatchNorm / ReLU" in edge_labels(text) and "Flatten" in edge_labels(text)
    # Terms never break inside: "Conv 7×7 /2" is one unbreakable term.
    assert f"Conv{NBSP}7×7{NBSP}/2, 64" in text


def test_alexnet_bn_has_two_4096_linear_layers_and_boxes_every_stage():
    """Seed 001 drew three 4096-wide Linear layers; the model has two."""
    text = network_diagram(cached_trace("alexnet_bn", "3x224x224", num_classes=3))
    found = node_labels(text)
    assert sum(lab.startswith("Linear") and lab.endswith("/ 4096") for lab in found) == 2
    assert sum(lab.startswith("Linear 4096 → 3") for lab in found) == 1
    titles = [title for title, _ in boxes(text).values()]
    assert [t for t in titles if t.startswith("layer")] == ["layer1", "layer2", "layer3", "layer4", "layer5"]


def test_inception_branches_are_drawn_alike():
    block = block_figures(cached_trace("googlenet"))[0]
    assert block.kind.name == "Inception" and block.caption.startswith("As in `inception3a`")
    assert sorted(title for title, _ in boxes(block.figure.text).values()) == ["branch1", "branch2", "branch3", "branch4"]
    concat = ids(block.figure.text)["concat / 256 × 28 × 28"]
    assert len(re.findall(rf"\s{concat}$", block.figure.text, re.M)) == 4
    # torchvision's "5×5" branch uses a 3×3 kernel (a deviation listed on the card).
    assert sum(lab.startswith("Conv 3×3") for lab in node_labels(block.figure.text)) == 2


def test_googlenet_shows_its_stages_and_module_names():
    text = network_diagram(cached_trace("googlenet"))
    assert [title for title, _ in boxes(text).values()] == ["inception3", "inception4", "inception5"]
    found = node_labels(text)
    assert [lab.split(" · ")[0] for lab in found if "· Inception" in lab] == [
        "inception3a", "inception3b", "inception4a", "inception4b", "inception4c", "inception4d", "inception4e",
        "inception5a", "inception5b",
    ]


# --------------------------------------------------------------------------- patterns of modern networks


def figures_of(model: nn.Module, size: str):
    trace = archdoc.trace(model, size)
    return trace, network_figure(trace, 0), network_figure(trace, 1)


def inputs(text: str) -> list[str]:
    return [lab for lab in node_labels(text) if lab.startswith("Input")]


def test_weights_read_in_forward_belong_to_their_op(mermaid):
    _, flat, deep = figures_of(dm.OwnWeights(), "3x16x16")
    for figure in (flat, deep):
        assert inputs(figure.text) == ["Input / 3 × 16 × 16"]
        assert mermaid.parse(figure.text)[0]
    # F.conv2d with the model's own weight: one node named by the weight; 16 → 8 (stride 2, pad 1).
    assert node_labels(flat.text)[1:3] == ["conv stem_weight / 8 × 8 × 8", "WeightConv / 8 × 8 × 8"]


def test_layer_scale_is_an_edge_label_and_alike_blocks_one_node(mermaid):
    _, flat, deep = figures_of(dm.LayerScaleNet(), "3x32x32")
    assert node_labels(flat.text) == [
        "Input / 3 × 32 × 32", "Conv 4×4 /4, 16 / 16 × 8 × 8", "ScaledBlock ×3 / 16 × 8 × 8",
        "Linear 16 → 10 / 10", "Output / 10",
    ]
    assert edge_labels(deep.text).count("multiply gamma") == 3
    assert inputs(deep.text) == ["Input / 3 × 32 × 32"]
    assert mermaid.parse(deep.text)[0]


def test_class_token_and_position_embedding_and_twelve_layers(mermaid):
    trace, flat, deep = figures_of(dm.TinyViT(), "3x32x32")
    assert len(node_labels(flat.text)) == 5
    assert "EncoderBlock ×12 / 17 × 32" in node_labels(flat.text)  # 4·4 patches + the class token
    assert "view / transpose / concat class_token / add pos_embedding" in edge_labels(flat.text)
    assert inputs(deep.text) == ["Input / 3 × 32 × 32"]
    assert sum(lab.startswith("MultiheadAttention 32, 4 heads") for lab in node_labels(deep.text)) == 12
    assert mermaid.parse(flat.text)[0] and mermaid.parse(deep.text)[0]
    assert [b.kind.name for b in block_figures(trace)] == ["EncoderBlock"]


def test_an_encoder_module_around_the_layers_is_a_box_not_one_block(mermaid):
    """torchvision's ViT keeps its 12 layers in an Encoder module: the run still shows, and the block is one layer."""
    trace, flat, _ = figures_of(dm.WrappedViT(), "3x32x32")
    assert "EncoderBlock ×12 / 17 × 32" in node_labels(flat.text)
    assert "Encoder / 17 × 32" not in node_labels(flat.text)
    assert [b.kind.name for b in block_figures(trace)] == ["EncoderBlock"]
    assert mermaid.parse(flat.text)[0]


def test_a_torch_encoder_is_one_node():
    _, flat, _ = figures_of(dm.TorchEncoder(), "10:int64")
    assert node_labels(flat.text) == [
        "Input / 10", "Embedding 100 → 32 / 10 × 32", "TransformerEncoder, 12 layers / 10 × 32", "Linear 32 → 2 / 2", "Output / 2",
    ]


def test_fused_norm_and_activation_fold_onto_edges():
    _, flat, _ = figures_of(dm.FusedNormNet(), "3x16x16")
    assert inputs(flat.text) == ["Input / 3 × 16 × 16"]
    assert edge_labels(flat.text)[:1] == ["BatchNorm / ReLU"]
    assert len(node_labels(flat.text)) == 5


def test_dense_connectivity_is_compressed_not_collapsed(mermaid):
    _, flat, deep = figures_of(dm.TinyDenseNet(), "3x8x8")
    found = node_labels(flat.text)
    # Six layers of growth 4 on 8 channels: 8 + 6·4 = 32 after the final concatenation.
    assert "DenseLayer ×6 / dense: each reads all before it / 4 × 8 × 8" in found
    assert "concat / 32 × 8 × 8" in found and len(found) == 6
    assert len(node_labels(deep.text)) > len(found)
    assert mermaid.parse(flat.text)[0] and mermaid.parse(deep.text)[0]


def test_a_video_model_gets_a_full_diagram(mermaid):
    _, flat, _ = figures_of(dm.Video3D(), "3x8x32x32")
    assert node_labels(flat.text) == [
        "Input / 3 × 8 × 32 × 32",
        "Conv 3×7×7 /1×2×2, 8 / 8 × 8 × 16 × 16",
        "MaxPool 1×3×3 /1×2×2 / 8 × 8 × 8 × 8",
        "Conv 3×3×3 /2, 16 / 16 × 4 × 4 × 4",
        "Linear 16 → 4 / 4",
        "Output / 4",
    ]
    assert mermaid.parse(flat.text)[0]


# --------------------------------------------------------------------------- robustness

HOSTILE = ["end", "class", "click", "subgraph", "style", 'a"b', "<script>", "x|y", "#1", "[a]", "{b}", "a;b", "é ü", "graph", "--> n1", "a%b", "&amp;"]


def hostile_model(names: list[str]) -> nn.Module:
    stage = nn.ModuleDict({name: nn.Sequential(nn.Conv2d(2, 2, 3, padding=1), nn.ReLU()) for name in names})
    block_type = type("end", (nn.Module,), {})

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stage = stage
            self.block = block_type()
            self.block.add_module("conv", nn.Conv2d(2, 2, 1))
            self.block.add_module("conv2", nn.Conv2d(2, 2, 1))

        def forward(self, x):
            for module in self.stage.values():
                x = module(x)
            return self.block.conv2(self.block.conv(x)) + x

    return Net()


def test_hostile_module_and_class_names_parse(mermaid):
    trace = archdoc.trace(hostile_model(HOSTILE), (2, 8, 8))
    for depth in (0, 1):
        ok, error = mermaid.parse(network_diagram(trace, depth))
        assert ok, error
    for block in block_figures(trace):
        assert mermaid.parse(block.figure.text)[0]


# torch refuses child names that shadow a ModuleDict attribute ("type", "eval", ...) or are empty.
names = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="."), min_size=1, max_size=12).filter(
    lambda name: not hasattr(nn.ModuleDict(), name)
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(names, min_size=1, max_size=4, unique=True))
def test_any_module_names_parse(mermaid, module_names):
    trace = archdoc.trace(hostile_model(module_names), (2, 8, 8))
    ok, error = mermaid.parse(network_diagram(trace))
    assert ok, (module_names, error)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_any_label_text_parses(mermaid, text):
    label = escape_label(text)
    diagram = f'flowchart TD\n    n1["{label}"]\n    n2["x"]\n    n1 -->|"{label or "e"}"| n2\n    subgraph s1 ["{label}"]\n        n3["y"]\n    end\n'
    ok, error = mermaid.parse(diagram)
    assert ok, (text, error)


def test_output_is_deterministic():
    a = archdoc.trace("googlenet")
    b = archdoc.trace("googlenet")
    assert network_diagram(a, 1) == network_diagram(b, 1)
    assert block_figures(a) == block_figures(b)


def test_render_mermaid_is_plain_mermaid_for_a_readme():
    text = render_mermaid(cached_trace("lenet5"))
    assert text.startswith("```mermaid\nflowchart TD\n") and text.endswith("```\n")
    assert "click" not in text and "<div" not in text and "%%{" not in text


@pytest.mark.parametrize("name, size, classes", SEED_CONFIGS)
def test_golden_seed_diagrams(golden, name, size, classes):
    trace = cached_trace(name, size, num_classes=classes)
    parts = [network_diagram(trace)] + [f"%% {b.kind.name}: {b.caption}\n{b.figure.text}" for b in block_figures(trace)]
    golden(f"{name}_{size}_c{classes}.mmd", "\n".join(parts))


def test_blocks_that_differ_by_how_many_layers_they_hold_are_named_by_the_count():
    """DenseNet's dense blocks hold 6, 12, 24 and 16 layers: named by count, not by listing denselayer7 … denselayer24."""
    from archdoc.zoo.densenet import DenseBlock

    model = nn.Sequential(DenseBlock(2, 8, 4, 2, 0.0), DenseBlock(3, 16, 4, 2, 0.0))
    names = [b.kind.name for b in block_figures(archdoc.trace(model, "8x8x8"))]
    assert names == ["DenseBlock, 2 × denselayer", "DenseBlock, 3 × denselayer"]


def test_a_block_too_large_for_mermaid_is_drawn_coarser_and_says_so(mermaid):
    """RAFT's update block, run twelve times, gave a block diagram of 571 edges: past Mermaid's 500."""
    trace = archdoc.trace(dm.IterativeRefiner(), "3x8x8")
    (full,) = block_figures(trace)
    assert full.kind.name == "Refiner" and full.figure.notes == [] and full.figure.edges > 12 * 3
    (coarse,) = block_figures(trace, 0, (full.figure.edges - 1, MAX_TEXT))
    assert coarse.figure.edges < full.figure.edges and mermaid.parse(coarse.figure.text)[0]
    assert coarse.figure.notes == ["Blocks inside it are drawn as one node each, to stay within Mermaid's limits."]
    assert "update · Update / 8 × 8 × 8" in node_labels(coarse.figure.text)
    page = structure_section(trace, limits=(full.figure.edges - 1, MAX_TEXT))
    assert "> Blocks inside it are drawn as one node each, to stay within Mermaid's limits.\n" in page

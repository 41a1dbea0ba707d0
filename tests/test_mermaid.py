"""Diagrams: every one goes through Mermaid's real parser (mermaid 11, via node)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

import archdoc
from archdoc.mermaid import MAX_EDGES, MAX_TEXT, block_diagrams, escape_label, network_diagram, render_mermaid
from conftest import cached_trace

SEED_DIAGRAMS = Path(__file__).resolve().parent / "fixtures" / "seed_000_diagrams.mmd"
SEED_CONFIGS = [
    ("resnet18", "1x116x116", 2),
    ("resnet50", "1x116x116", 2),
    ("alexnet_bn", "3x224x224", 3),
]


def edges(text: str) -> int:
    return sum(1 for line in text.splitlines() if "-->" in line)


def labels(text: str) -> list[str]:
    return re.findall(r'n\d+\["([^"]*)"\]', text)


def test_parser_rejects_the_seeds_broken_diagrams(mermaid):
    """The harness can fail: seed 000's whole-network diagrams use `::convNode` and never parsed."""
    text = SEED_DIAGRAMS.read_text(encoding="utf-8")
    blocks = [part.split("\n", 1)[1] for part in text.split("%%% diagram ")[1:]]
    results = [mermaid.parse(b)[0] for b in blocks]
    assert results == [True, True, True, True, False, False]


def all_zoo_traces():
    for name in archdoc.list_models():
        yield name, cached_trace(name)
    for name, size, classes in SEED_CONFIGS:
        yield f"{name} {size}", cached_trace(name, size, num_classes=classes)


def test_every_zoo_diagram_parses_and_fits(mermaid):
    failures = []
    for name, trace in all_zoo_traces():
        diagrams = [network_diagram(trace, depth) for depth in (0, 1)]
        diagrams += [text for _, text in block_diagrams(trace)]
        for text in diagrams:
            assert edges(text) <= MAX_EDGES and len(text) <= MAX_TEXT, name
            ok, error = mermaid.parse(text)
            if not ok:
                failures.append((name, error))
    assert failures == []


def test_resnet152_fully_expanded_still_fits(mermaid):
    trace = cached_trace("resnet152")
    for depth in (0, 1, 5):
        text = network_diagram(trace, depth)
        assert edges(text) <= MAX_EDGES and len(text) <= MAX_TEXT
        assert mermaid.parse(text)[0]
    assert labels(network_diagram(trace, 0)).count("Bottleneck: 1024 x 14 x 14") == 35


def test_resnet_blocks_show_the_shortcut():
    trace = cached_trace("resnet18", "1x116x116", num_classes=2)
    (plain_caption, plain), (down_caption, down) = block_diagrams(trace)
    assert plain_caption.startswith("BasicBlock, as in `layer1.0`")
    assert down_caption.startswith("BasicBlock/2, as in `layer2.0`")
    ids = {label: node for node, label in re.findall(r'(n\d+)\["([^"]*)"\]', plain)}
    # Identity shortcut: the input goes straight into the addition.
    assert f"{ids['Input: 64 x 29 x 29']} --> {ids['add: 64 x 29 x 29']}" in plain
    ids = {label: node for node, label in re.findall(r'(n\d+)\["([^"]*)"\]', down)}
    # Projection shortcut: a strided 1x1 convolution, then BatchNorm into the addition.
    shortcut = ids["Conv(kernel=1 x 1,stride=2): 128 x 15 x 15"]
    assert f"{ids['Input: 64 x 29 x 29']} --> {shortcut}" in down
    assert f'{shortcut} -->|"BatchNorm"| {ids["add: 128 x 15 x 15"]}' in down
    assert f'{ids["add: 128 x 15 x 15"]} -->|"ReLU"| {ids["Output: 128 x 15 x 15"]}' in down


def test_downsampling_marker_only_where_size_halves():
    text = network_diagram(cached_trace("resnet50", "1x116x116", num_classes=2))
    found = labels(text)
    # Seed 000 marks the first ResNet-50 block "/2"; it keeps 29 x 29.
    assert "Bottleneck: 256 x 29 x 29" in found and "Bottleneck/2: 256 x 29 x 29" not in found
    assert [lab for lab in found if "/2" in lab] == [
        "Bottleneck/2: 512 x 15 x 15",
        "Bottleneck/2: 1024 x 8 x 8",
        "Bottleneck/2: 2048 x 4 x 4",
    ]


def test_seed_resnet18_network_reads_like_the_seed():
    text = network_diagram(cached_trace("resnet18", "1x116x116", num_classes=2))
    assert labels(text) == [
        "Input: 1 x 116 x 116",
        "Conv(kernel=7 x 7,stride=2,pad=3): 64 x 58 x 58",
        "Pool(max,kernel=3 x 3,stride=2,pad=1): 64 x 29 x 29",
        "AdaptivePool(avg,output=1 x 1): 512 x 1 x 1",
        "Linear(): 2",
        "Output: 2",
        "BasicBlock: 64 x 29 x 29",
        "BasicBlock: 64 x 29 x 29",
        "BasicBlock/2: 128 x 15 x 15",
        "BasicBlock: 128 x 15 x 15",
        "BasicBlock/2: 256 x 8 x 8",
        "BasicBlock: 256 x 8 x 8",
        "BasicBlock/2: 512 x 4 x 4",
        "BasicBlock: 512 x 4 x 4",
    ]
    assert '-->|"BatchNorm<br/>ReLU"|' in text
    assert text.count("subgraph") == 4


def test_alexnet_bn_has_two_4096_linear_layers_not_three():
    """Seed 001 drew three 4096-wide Linear layers; the model has two."""
    text = network_diagram(cached_trace("alexnet_bn", "3x224x224", num_classes=3))
    found = labels(text)
    assert found.count("Linear(): 4096") == 2
    assert found.count("Linear(): 3") == 1


def test_inception_shows_four_branches_and_the_concatenation():
    blocks = block_diagrams(cached_trace("googlenet"))
    caption, text = blocks[0]
    assert caption.startswith("Inception, as in `inception3a`")
    ids = {label: node for node, label in re.findall(r'(n\d+)\["([^"]*)"\]', text)}
    concat = next(node for label, node in ids.items() if label.startswith("concat: 256 x 28 x 28"))
    assert len(re.findall(rf"--> {concat}$|\| {concat}$", text, re.M)) == 4
    found = labels(text)
    # torchvision's "5x5" branch uses a 3x3 kernel (a deviation listed on the card).
    assert sum("kernel=3 x 3" in lab and lab.startswith("Conv") for lab in found) == 2


def test_models_fx_cannot_trace_still_get_a_diagram(mermaid):
    class Branchy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(3, 4, 3)
            self.b = nn.Linear(4, 2)

        def forward(self, x):
            y = self.a(x)
            if y.sum() > 0:
                y = y * 2
            return self.b(y.mean((2, 3)))

    trace = archdoc.trace(Branchy(), (3, 8, 8), device="cpu")
    assert trace.dataflow is None
    text = network_diagram(trace)
    assert "execution order" in text
    assert mermaid.parse(text)[0]
    assert "merges" in archdoc.render_page(trace)


HOSTILE = ["end", "class", "click", "subgraph", "style", 'a"b', "<script>", "x|y", "#1", "[a]", "{b}", "a;b", "é ü", "graph", "--> n1"]


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
        text = network_diagram(trace, depth)
        ok, error = mermaid.parse(text)
        assert ok, error
    for _, text in block_diagrams(trace):
        assert mermaid.parse(text)[0]


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
    assert block_diagrams(a) == block_diagrams(b)


def test_render_mermaid_is_a_fenced_block():
    text = render_mermaid(cached_trace("lenet5"))
    assert text.startswith("```mermaid\nflowchart TD\n") and text.endswith("```\n")


@pytest.mark.parametrize("name, size, classes", SEED_CONFIGS)
def test_golden_seed_diagrams(golden, name, size, classes):
    trace = cached_trace(name, size, num_classes=classes)
    parts = [network_diagram(trace)] + [f"%% {caption}\n{text}" for caption, text in block_diagrams(trace)]
    golden(f"{name}_{size}_c{classes}.mmd", "\n".join(parts))

"""Shape arithmetic: formulas written out by hand, and checked against torch's shapes."""

from __future__ import annotations

import dataclasses

import pytest
from torch import nn

import archdoc
from archdoc.arithmetic import arithmetic_rows, check_arithmetic, render_arithmetic, render_arithmetic_html
from archdoc.errors import ArithmeticMismatchError
from conftest import cached_trace


def rows_of(model: nn.Module, size: tuple[int, ...]):
    return {row.layer: row for row in arithmetic_rows(archdoc.trace(model, size))}


def test_resnet18_stem_as_the_issue_writes_it():
    rows = {row.layer: row for row in arithmetic_rows(cached_trace("resnet18", "1x116x116", num_classes=2))}
    assert rows["conv1"].operation == "Conv2d 7×7/2, pad 3"
    assert rows["conv1"].formula == "⌊(116 + 2·3 − 7) / 2⌋ + 1 = 58"
    assert rows["maxpool"].formula == "⌊(58 + 2·1 − 3) / 2⌋ + 1 = 29"
    # The teacher's sequence 116 → 58 → 29 → 15 → 8 → 4.
    assert rows["layer2.0.conv1"].formula == "⌊(29 + 2·1 − 3) / 2⌋ + 1 = 15"
    assert rows["layer3.0.conv1"].formula == "⌊(15 + 2·1 − 3) / 2⌋ + 1 = 8"
    assert rows["layer4.0.conv1"].formula == "⌊(8 + 2·1 − 3) / 2⌋ + 1 = 4"
    assert rows["layer2.0.downsample.0"].formula == "⌊(29 − 1) / 2⌋ + 1 = 15"
    assert rows["avgpool"].formula == "adaptive: 4 → 1"
    assert rows["fc"].formula == "512 → 2 features"


def test_ceil_mode_drops_a_window_that_starts_in_padding():
    # n=5, k=2, s=2, p=1: ⌈(5 + 2 − 2)/2⌉ + 1 = 4, but window 4 would start at 6 ≥ 5 + 1: 3.
    rows = rows_of(nn.Sequential(nn.MaxPool2d(2, 2, padding=1, ceil_mode=True)), (1, 5, 5))
    assert rows["0"].formula == "⌈(5 + 2·1 − 2) / 2⌉ + 1 − 1 = 3 (last window starts in the padding, dropped)"
    assert rows["0"].output == (1, 3, 3)


def test_ceil_mode_without_drop():
    # GoogLeNet-style pooling: ⌈(112 − 3)/2⌉ + 1 = 56.
    rows = rows_of(nn.Sequential(nn.MaxPool2d(3, 2, ceil_mode=True)), (1, 112, 112))
    assert rows["0"].formula == "⌈(112 − 3) / 2⌉ + 1 = 56"
    assert rows["0"].operation == "MaxPool2d 3×3/2, ceil"


def test_dilation():
    # Effective kernel d·(k − 1) + 1 = 5: ⌊(10 + 4 − 5)/1⌋ + 1 = 10.
    rows = rows_of(nn.Sequential(nn.Conv2d(1, 1, 3, padding=2, dilation=2)), (1, 10, 10))
    assert rows["0"].formula == "⌊(10 + 2·2 − 2·(3 − 1) − 1) / 1⌋ + 1 = 10"
    assert rows["0"].operation == "Conv2d 3×3, pad 2, dilation 2"


def test_non_square_input_shows_each_axis():
    rows = rows_of(nn.Sequential(nn.Conv2d(1, 2, 3, stride=2)), (1, 9, 16))
    assert rows["0"].formula == "H: ⌊(9 − 3) / 2⌋ + 1 = 4; W: ⌊(16 − 3) / 2⌋ + 1 = 7"


def test_transposed_convolution():
    # (n − 1)·s − 2p + (k − 1) + 1: (16 − 1)·2 − 0 + 1 + 1 = 32.
    rows = rows_of(nn.Sequential(nn.ConvTranspose2d(4, 2, 2, stride=2)), (4, 16, 16))
    assert rows["0"].formula == "(16 − 1)·2 − 2·0 + (2 − 1) + 1 = 32"


def test_one_and_three_dimensional():
    rows = rows_of(nn.Sequential(nn.Conv1d(2, 4, 5, stride=3), nn.AvgPool1d(2)), (2, 50))
    assert rows["0"].formula == "⌊(50 − 5) / 3⌋ + 1 = 16"
    assert rows["1"].formula == "⌊(16 − 2) / 2⌋ + 1 = 8"
    rows = rows_of(nn.Sequential(nn.Conv3d(1, 2, 3, padding=1, stride=(1, 2, 2))), (1, 8, 16, 16))
    # Three spatial axes are a clip's frames, height and width (T×H×W), as on the page.
    assert rows["0"].formula == (
        "T: ⌊(8 + 2·1 − 3) / 1⌋ + 1 = 8; H: ⌊(16 + 2·1 − 3) / 2⌋ + 1 = 8; W: ⌊(16 + 2·1 − 3) / 2⌋ + 1 = 8"
    )


def test_flatten_and_linear():
    model = nn.Sequential(nn.Conv2d(1, 256, 1), nn.AdaptiveAvgPool2d((6, 6)), nn.Flatten(), nn.Linear(9216, 10))
    rows = rows_of(model, (1, 13, 13))
    assert rows["1"].formula == "adaptive: 13 → 6"
    assert rows["2"].formula == "256 · 6 · 6 = 9216"
    assert rows["3"].formula == "9216 → 10 features"


def test_a_wrong_formula_raises(monkeypatch):
    trace = cached_trace("resnet18", "1x116x116", num_classes=2)
    conv1 = trace.layers[1]
    bad = dataclasses.replace(conv1, output_shapes=((1, 64, 57, 57),))
    broken = dataclasses.replace(trace, layers=(trace.layers[0], bad, *trace.layers[2:]))
    with pytest.raises(ArithmeticMismatchError, match="conv1"):
        check_arithmetic(broken)
    # The page still renders: the row says the sum does not hold instead of printing it.
    row = {r.layer: r for r in arithmetic_rows(broken)}["conv1"]
    assert not row.explained
    assert row.formula.startswith("not explained: the layer's attributes give 58, the trace has 57×57")
    assert "⌊" not in render_arithmetic(broken).split("conv1")[1].splitlines()[0]


def test_every_zoo_model_arithmetic_agrees_with_its_trace():
    for name in archdoc.list_models():
        trace = cached_trace(name)
        rows = check_arithmetic(trace)  # raises on any disagreement
        assert len(rows) >= 2, name


def test_markdown_table_escapes_pipes():
    text = render_arithmetic(cached_trace("resnet18", "1x116x116", num_classes=2))
    assert text.startswith("| Layer | Operation | Arithmetic | Output (C × H × W) |\n|---|---|---|---|\n")
    assert "| `conv1` | Conv2d 7×7/2, pad 3 | ⌊(116 + 2·3 − 7) / 2⌋ + 1 = 58 | 64 × 58 × 58 |" in text


def test_site_table_lets_a_long_layer_name_wrap_after_its_dots():
    html = render_arithmetic_html(cached_trace("resnet18", "1x116x116", num_classes=2))
    assert '<tr id="layer-layer3-0-downsample-0"><td><code>layer3.<wbr>0.<wbr>downsample.<wbr>0</code></td>' in html
    assert '<td><code>conv1</code></td><td>Conv2d 7×7/2, pad 3</td>' in html

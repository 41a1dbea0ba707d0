"""MobileNetV2, MobileNetV3, EfficientNet and EfficientNetV2 against published figures.

Expected numbers come from outside this code:
- torchvision 0.29's weights metadata: ``num_params``, ``_ops`` (its "GFLOPS", which count
  multiply-accumulates), ``min_size`` and the evaluation crop of each builder's weights;
- the papers' architecture tables (MobileNetV2 Table 2, MobileNetV3 Tables 1 and 2,
  EfficientNet Table 1, EfficientNetV2 Table 4);
- hand arithmetic, written out below.
"""

from __future__ import annotations


import pytest
import torch
from torch import nn

import archdoc
from archdoc.registry import get_entry
from conftest import cached_trace
from oracles import dispatcher_mult_adds, meta_model, zoo_oracle

# name: (params, mult-adds in G at the default input, decimals published) — torchvision's weights meta.
PUBLISHED = {
    "mobilenet_v2": (3_504_872, 0.301, 3),
    "mobilenet_v3_large": (5_483_032, 0.217, 3),
    "mobilenet_v3_small": (2_542_856, 0.057, 3),
    "efficientnet_b0": (5_288_548, 0.386, 3),
    "efficientnet_b1": (7_794_184, 0.687, 3),
    "efficientnet_b2": (9_109_994, 1.088, 3),
    "efficientnet_b3": (12_233_232, 1.827, 3),
    "efficientnet_b4": (19_341_616, 4.394, 3),
    "efficientnet_b5": (30_389_784, 10.266, 3),
    "efficientnet_b6": (43_040_704, 19.068, 3),
    "efficientnet_b7": (66_347_960, 37.746, 3),
    "efficientnet_v2_s": (21_458_488, 8.366, 3),
    "efficientnet_v2_m": (54_139_356, 24.582, 3),
    "efficientnet_v2_l": (118_515_272, 56.08, 2),
}

# torchvision's evaluation crop for each builder's weights (its transforms' crop_size).
CROP = {
    "mobilenet_v2": 224,
    "mobilenet_v3_large": 224,
    "mobilenet_v3_small": 224,
    "efficientnet_b0": 224,
    "efficientnet_b1": 240,
    "efficientnet_b2": 288,
    "efficientnet_b3": 300,
    "efficientnet_b4": 380,
    "efficientnet_b5": 456,
    "efficientnet_b6": 528,
    "efficientnet_b7": 600,
    "efficientnet_v2_s": 384,
    "efficientnet_v2_m": 480,
    "efficientnet_v2_l": 480,
}

# torchvision's min_size: 1×1 for all but EfficientNetV2, which documents 33×33.
DOCUMENTED_MIN = {name: 33 if name.startswith("efficientnet_v2") else 1 for name in PUBLISHED}


def stage_outputs(model: nn.Module, size: int) -> list[tuple[int, int]]:
    """(channels, side) after each child of ``model.features``, by forward hooks on meta."""
    shapes: list[tuple[int, int]] = []
    hooks = [
        child.register_forward_hook(lambda _m, _a, out: shapes.append((out.shape[1], out.shape[-1])))
        for child in model.features
    ]
    try:
        model(torch.empty(1, 3, size, size, device="meta"))
    finally:
        for hook in hooks:
            hook.remove()
    return shapes


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_params_and_mult_adds(name):
    params, gmacs, decimals = PUBLISHED[name]
    assert get_entry(name).default_input == (3, CROP[name], CROP[name])
    counted = zoo_oracle(name)
    mult_adds = counted.mult_adds
    assert counted.params == params
    assert counted.output_shape == (1, 1000)
    # Equal to the published figure at its precision, and within 0.5 % of it, or of its rounding:
    # MobileNetV3-Small's 0.057 stands for anything from 0.0565 to 0.0575 G (±0.9 %).
    assert round(mult_adds / 1e9, decimals) == gmacs
    assert abs(mult_adds / 1e9 - gmacs) <= max(0.005 * gmacs, 0.5 * 10**-decimals)
    trace = cached_trace(name)
    assert (trace.total_params, trace.mult_adds) == (params, mult_adds)
    # Every convolution pads (k − 1)/2 · dilation, so a k×k stride-2 layer maps n to ⌈n/2⌉ and never below 1,
    # and the pooling is adaptive: a 1×1 input runs (checked below without archdoc).
    assert trace.minimum_input == (1, 1)


def test_mobilenet_v3_small_mult_adds_by_hand():
    # The paper's Table 2 at 224×224, counted by hand: a k×k convolution costs Cout·(Cin/groups)·k²·Hout·Wout,
    # a linear layer in·out. Per bneck row: input side, input channels, kernel, exp size, #out, stride, and the
    # squeeze-and-excitation width (a quarter of exp size, to a multiple of 8, at least 8; None without SE).
    rows = [
        (112, 16, 3, 16, 16, 2, 8),
        (56, 16, 3, 72, 24, 2, None),
        (28, 24, 3, 88, 24, 1, None),
        (28, 24, 5, 96, 40, 2, 24),
        (14, 40, 5, 240, 40, 1, 64),
        (14, 40, 5, 240, 40, 1, 64),
        (14, 40, 5, 120, 48, 1, 32),
        (14, 48, 5, 144, 48, 1, 40),
        (14, 48, 5, 288, 96, 2, 72),
        (7, 96, 5, 576, 96, 1, 144),
        (7, 96, 5, 576, 96, 1, 144),
    ]
    total = 112 * 112 * 16 * 3 * 3 * 3  # stem: 3×3, 3 → 16, stride 2
    for side, cin, k, exp, out, stride, squeeze in rows:
        after = side // stride
        if exp != cin:  # 1×1 expansion, only when exp size differs from the input
            total += side * side * cin * exp
        total += after * after * exp * k * k  # depthwise
        if squeeze:
            total += 2 * exp * squeeze  # two 1×1 convolutions on the pooled 1×1 map
        total += after * after * exp * out  # linear 1×1 projection
    total += 7 * 7 * 96 * 576 + 576 * 1024 + 1024 * 1000  # 1×1 to 576, then the two NBN layers
    assert total == 56_510_400
    assert zoo_oracle("mobilenet_v3_small").mult_adds == total  # the trace's count equals it (above)


def test_efficientnet_b2_at_the_papers_resolution():
    # The paper's Table 2 gives B2 1.0 B FLOPS at its resolution of 260; torchvision evaluates at 288.
    mult_adds, _ = dispatcher_mult_adds(meta_model("efficientnet_b2"), (3, 260, 260))
    assert round(mult_adds / 1e9, 1) == 1.0
    assert any("260×260" in d for d in get_entry("efficientnet_b2").deviations)


def test_mobilenet_v2_follows_table_2():
    # Table 2's "Input" column gives each row's input; the next row's input is this row's output.
    # Rows: conv2d 32 (s2); bottlenecks (t, c, n, s) = (1,16,1,1) (6,24,2,2) (6,32,3,2) (6,64,4,2)
    # (6,96,3,1) (6,160,3,2) (6,320,1,1); conv2d 1×1 to 1280.
    inputs = [(32, 112), (16, 112), (24, 56), (32, 28), (64, 14), (96, 14), (160, 7), (320, 7), (1280, 7)]
    repeats = [1, 1, 2, 3, 4, 3, 3, 1, 1]
    expected = [shape for shape, n in zip(inputs, repeats) for _ in range(n)]
    assert stage_outputs(meta_model("mobilenet_v2"), 224) == expected


@pytest.mark.parametrize(
    "name, expected",
    [
        # Table 1 (Large), the input of each following row: 112²×16 after the stem, then 15 bnecks,
        # then 7²×960 into the pool.
        (
            "mobilenet_v3_large",
            [(16, 112), (16, 112), (24, 56), (24, 56), (40, 28), (40, 28), (40, 28)]
            + [(80, 14)] * 4 + [(112, 14)] * 2 + [(160, 7)] * 3 + [(960, 7)],
        ),
        # Table 2 (Small): 112²×16 after the stem, 11 bnecks, 7²×576 into the pool.
        (
            "mobilenet_v3_small",
            [(16, 112), (16, 56), (24, 28), (24, 28)] + [(40, 14)] * 3 + [(48, 14)] * 2 + [(96, 7)] * 3 + [(576, 7)],
        ),
    ],
)
def test_mobilenet_v3_follows_the_papers_tables(name, expected):
    assert stage_outputs(meta_model(name), 224) == expected


def test_mobilenet_v3_squeeze_excitation_and_activations_follow_the_tables():
    # SE and NL columns of Table 1 (Large) and Table 2 (Small), bneck rows in order.
    columns = {
        "mobilenet_v3_large": ("---✓✓✓----✓✓✓✓✓", "RRRRRRHHHHHHHHH"),
        "mobilenet_v3_small": ("✓--✓✓✓✓✓✓✓✓", "RRRHHHHHHHH"),
    }
    for name, (se, nl) in columns.items():
        blocks = list(meta_model(name).features)[1:-1]
        marks = ["✓" if any(type(m).__name__ == "SqueezeExcitation" for m in b.modules()) else "-" for b in blocks]
        assert "".join(marks) == se
        acts = ["H" if any(isinstance(m, nn.Hardswish) for m in b.modules()) else "R" for b in blocks]
        assert "".join(acts) == nl
    # The Small model's final 1×1 convolution has no SE, although Table 2 marks one (a listed deviation).
    head = meta_model("mobilenet_v3_small").features[-1]
    assert not any(type(m).__name__ == "SqueezeExcitation" for m in head.modules())
    assert get_entry("mobilenet_v3_small").deviations


def test_efficientnet_b0_follows_table_1():
    # Table 1: stages 1-9 with #channels 32, 16, 24, 40, 80, 112, 192, 320, 1280 and #layers 1, 1, 2, 2, 3,
    # 3, 4, 1, 1; each stage's output side is the next stage's resolution (224 input: 112, 112, 56, 28, 14,
    # 14, 7, 7, and 7 into the pool).
    model = meta_model("efficientnet_b0")
    assert stage_outputs(model, 224) == [
        (32, 112), (16, 112), (24, 56), (40, 28), (80, 14), (112, 14), (192, 7), (320, 7), (1280, 7)
    ]
    assert [len(stage) for stage in model.features[1:-1]] == [1, 2, 2, 3, 3, 4, 1]
    # MBConv1 (stage 2) has no expansion; kernels k3, k3, k5, k3, k5, k5, k3 by stage.
    kernels = [
        next(m.kernel_size[0] for m in stage.modules() if isinstance(m, nn.Conv2d) and m.groups > 1)
        for stage in model.features[1:-1]
    ]
    assert kernels == [3, 3, 5, 3, 5, 5, 3]


def test_efficientnet_scaling_rounds_depth_up():
    # B7: depth 3.1 over B0's layers 1, 2, 2, 3, 3, 4, 1 gives ⌈3.1⌉, ⌈6.2⌉, ⌈6.2⌉, ⌈9.3⌉, ⌈9.3⌉, ⌈12.4⌉,
    # ⌈3.1⌉.
    assert [len(stage) for stage in meta_model("efficientnet_b7").features[1:-1]] == [4, 7, 7, 10, 10, 13, 4]


def test_efficientnet_v2_s_follows_table_4():
    # Table 4: stage 0 conv 3×3 s2 24; 1 Fused-MBConv1 s1 24 ×2; 2 Fused-MBConv4 s2 48 ×4; 3 Fused-MBConv4
    # s2 64 ×4; 4 MBConv4 SE s2 128 ×6; 5 MBConv6 SE s1 160 ×9; 6 MBConv6 SE s2 256 ×15; 7 conv 1×1 1280.
    model = meta_model("efficientnet_v2_s")
    assert stage_outputs(model, 384) == [
        (24, 192), (24, 192), (48, 96), (64, 48), (128, 24), (160, 24), (256, 12), (1280, 12)
    ]
    stages = list(model.features[1:-1])
    assert [len(stage) for stage in stages] == [2, 4, 4, 6, 9, 15]
    assert [type(stage[0]).__name__ for stage in stages] == ["FusedMBConv"] * 3 + ["MBConv"] * 3
    has_se = [any(type(m).__name__ == "SqueezeExcitation" for m in stage.modules()) for stage in stages]
    assert has_se == [False] * 3 + [True] * 3


@pytest.mark.parametrize("name", ["mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0", "efficientnet_v2_s"])
def test_trace_sets_channels_from_the_input(name):
    trace = archdoc.trace(name, (2, 96, 96), num_classes=7, batch=2)
    assert trace.output_shape == (2, 7)
    assert dict(trace.builder_kwargs)["in_channels"] == 2


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_minimum_input_classes_and_channels(name):
    # A 1×1 input runs (the measured minimum, see above); at 0×0 the stem's 3×3 convolution sees a padded
    # 2×2 map. torchvision documents 1×1 for all but EfficientNetV2, whose 33×33 is a floor, not a limit.
    assert get_entry(name).documented_min_size == DOCUMENTED_MIN[name]
    model = meta_model(name, in_channels=1, num_classes=7)
    assert model.features[0][0].in_channels == 1
    assert model(torch.empty(2, 1, 1, 1, device="meta")).shape == (2, 7)
    with pytest.raises(RuntimeError, match="Kernel size can't be greater than actual input size"):
        model(torch.empty(2, 1, 0, 0, device="meta"))


@pytest.mark.parametrize(
    "name, kwargs, side, channels",
    [
        # MobileNetV3's segmentation options: half the last stage's channels (Large: 960 → 480 before the
        # pool), and dilation instead of the last stride (7×7 → 14×14 at 224).
        ("mobilenet_v3_large", {"reduced_tail": True}, 7, 480),
        ("mobilenet_v3_large", {"dilated": True}, 14, 960),
        ("mobilenet_v3_small", {"reduced_tail": True, "dilated": True}, 14, 288),
        # MobileNetV2 keeps 1280 channels at the end for a width multiplier below one.
        ("mobilenet_v2", {"width_mult": 0.5}, 7, 1280),
    ],
)
def test_builder_options(name, kwargs, side, channels):
    assert stage_outputs(meta_model(name, **kwargs), 224)[-1] == (channels, side)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_every_card_is_complete(name):
    entry = get_entry(name)
    card = entry.card
    assert card.title and card.authors and card.year > 2010 and card.venue
    assert len(card.description) > 80
    assert card.doi or card.arxiv
    assert "torchvision" in card.implementation
    assert entry.all_deviations
    assert entry.display_name
    assert entry.family_title in {"MobileNetV2", "MobileNetV3", "EfficientNet", "EfficientNetV2"}


def test_display_names():
    names = {name: get_entry(name).display_name for name in PUBLISHED}
    assert names["mobilenet_v3_large"] == "MobileNetV3-Large"
    assert names["efficientnet_b0"] == "EfficientNet-B0"
    assert names["efficientnet_v2_s"] == "EfficientNetV2-S"
    assert get_entry("efficientnet_v2_s").card is not get_entry("efficientnet_b0").card

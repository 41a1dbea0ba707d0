"""SqueezeNet, DenseNet, Inception v3, ShuffleNet V2 and MNASNet against published figures.

Expected numbers come from outside this code:
- torchvision's weights metadata (``num_params``, ``_ops`` in GFLOPS, which are in fact
  multiply-accumulates, ``min_size``), as listed in its model documentation;
- the papers' tables and the reference code they point to:
  SqueezeNet's Table 1 (the Fire modules and the total parameter count);
  DenseNet's Table 1 (growth rate and layers per dense block);
  Inception v3's Table 1 (the 35×35, 17×17 and 8×8 grids);
  ShuffleNet V2's Table 5 (units and output channels per stage);
  MnasNet-B1's stage table in the authors' TensorFlow code (widths and repeats);
- hand arithmetic, written out next to each figure.
"""

from __future__ import annotations

import functools
import inspect

import pytest
import torch

import archdoc
from archdoc.errors import BuildError
from archdoc.registry import get_entry
from conftest import cached_trace
from oracles import dispatcher_mult_adds, meta_model, zoo_oracle

@functools.lru_cache(maxsize=None)
def default_model(name: str) -> torch.nn.Module:
    """The builder's default model on meta, in eval mode, built once (tests must not change it)."""
    return meta_model(name)


# name: (params, mult-adds in G at the default input) from torchvision's weights metadata
# (num_params, _ops), IMAGENET1K_V1 for every builder.
PUBLISHED = {
    "inception_v3": (27_161_264, 5.713),  # counts the auxiliary classifier's params, not its mult-adds
    "densenet121": (7_978_856, 2.834),
    "densenet161": (28_681_000, 7.728),
    "densenet169": (14_149_480, 3.360),
    "densenet201": (20_013_928, 4.291),
    "squeezenet1_0": (1_248_424, 0.819),  # also the SqueezeNet paper's Table 1 total, 1,248,424
    "squeezenet1_1": (1_235_496, 0.349),
    "shufflenet_v2_x0_5": (1_366_792, 0.040),
    "shufflenet_v2_x1_0": (2_278_604, 0.145),
    "shufflenet_v2_x1_5": (3_503_624, 0.296),
    "shufflenet_v2_x2_0": (7_393_996, 0.583),
    "mnasnet0_5": (2_218_512, 0.104),
    "mnasnet0_75": (3_170_208, 0.215),
    "mnasnet1_0": (4_383_312, 0.314),
    "mnasnet1_3": (6_282_256, 0.526),
}

# torchvision's evaluation crop (the weights' transforms) and min_size.
CROP = {name: 299 if name == "inception_v3" else 224 for name in PUBLISHED}
DOCUMENTED_MIN = {
    "inception_v3": 75,
    **{f"densenet{d}": 29 for d in (121, 161, 169, 201)},
    "squeezenet1_0": 21,
    "squeezenet1_1": 17,
    **{name: 1 for name in PUBLISHED if name.startswith("shufflenet")},
    **{name: 1 for name in PUBLISHED if name.startswith("mnasnet")},
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_params_and_mult_adds(name):
    params, gmacs = PUBLISHED[name]
    entry = get_entry(name)
    assert entry.default_input == (3, CROP[name], CROP[name])
    counted = zoo_oracle(name)
    assert counted.params == params
    mult_adds = counted.mult_adds
    assert counted.output_shape == (1, 1000)
    # Within 0.5 %, or within half a unit of the published third decimal where that is coarser
    # (a published 0.040 G can be anything from 0.0395 to 0.0405 G).
    assert abs(mult_adds / 1e9 - gmacs) <= max(0.005 * gmacs, 0.0005)
    assert round(mult_adds / 1e9, 3) == gmacs
    trace = cached_trace(name)
    assert (trace.total_params, trace.mult_adds) == (params, mult_adds)


# Hand arithmetic for the classifier(s) and the first convolution:
# (inputs + 1 bias) per class, and (output channels × kernel area) per input channel.
CLASSIFIER_FAN_IN = {
    "inception_v3": (2048 + 1) + (768 + 1),  # fc and AuxLogits.fc
    "densenet121": 1024 + 1,
    "densenet161": 2208 + 1,
    "densenet169": 1664 + 1,
    "densenet201": 1920 + 1,
    "squeezenet1_0": 512 + 1,  # conv10, 1×1
    "squeezenet1_1": 512 + 1,
    **{f"shufflenet_v2_x{m}": 1024 + 1 for m in ("0_5", "1_0", "1_5")},
    "shufflenet_v2_x2_0": 2048 + 1,
    **{f"mnasnet{a}": 1280 + 1 for a in ("0_5", "0_75", "1_0", "1_3")},
}
FIRST_CONV_PER_CHANNEL = {
    "inception_v3": 32 * 3 * 3,
    "densenet121": 64 * 7 * 7,  # 2k filters with k = 32
    "densenet161": 96 * 7 * 7,  # k = 48
    "densenet169": 64 * 7 * 7,
    "densenet201": 64 * 7 * 7,
    "squeezenet1_0": 96 * 7 * 7,
    "squeezenet1_1": 64 * 3 * 3,
    **{f"shufflenet_v2_x{m}": 24 * 3 * 3 for m in ("0_5", "1_0", "1_5", "2_0")},
    "mnasnet0_5": 16 * 3 * 3,  # 32 × 0.5
    "mnasnet0_75": 24 * 3 * 3,  # 32 × 0.75
    "mnasnet1_0": 32 * 3 * 3,
    "mnasnet1_3": 40 * 3 * 3,  # 32 × 1.3 = 41.6, rounded to a multiple of 8
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_classes_and_channels_change_params_by_hand(name):
    params, _ = PUBLISHED[name]
    model = meta_model(name, in_channels=1, num_classes=10)
    expected = params - (1000 - 10) * CLASSIFIER_FAN_IN[name] - (3 - 1) * FIRST_CONV_PER_CHANNEL[name]
    assert sum(p.numel() for p in model.parameters()) == expected
    side = max(DOCUMENTED_MIN[name], 32)  # small inputs keep the test fast
    assert model(torch.empty(2, 1, side, side, device="meta")).shape == (2, 10)


# Why each minimum, by hand (floor((n + 2p − k) / s) + 1 per layer, ceil for SqueezeNet's pools):
# - Inception v3: 75 → 37 → 35 → 35 → 17 (pool) → 17 → 15 → 7 (pool) → 3 (Mixed_6a) → 1 (Mixed_7a).
#   At 74 Mixed_6a leaves 2×2, and Mixed_7a's unpadded 3×3/2 convolution does not fit.
# - DenseNet: 29 → 15 (conv0) → 8 (pool0) → 4 → 2 → 1 (transitions). At 28: 14 → 7 → 3 → 1, and
#   transition3's 2×2 average pool gets a 1×1 map.
# - SqueezeNet 1.0: 21 → 8 (conv1 7×7/2) → 4 → 2 → 1 (ceil-mode 3×3/2 pools). At 20: 7 → 3 → 1,
#   and the third pool's output would be ceil(−1) + 1 = 0.
# - SqueezeNet 1.1: 17 → 8 (conv1 3×3/2) → 4 → 2 → 1. At 16: 7 → 3 → 1 → 0 at the third pool.
# - ShuffleNet V2 pads every convolution and pool by k // 2, so a 1×1 input stays 1×1 through every
#   stride: no layer ever gets an empty map, and 1 is a real limit, not a floor.
# - MNASNet pads the same way (k // 2 for its 3×3 and 5×5 kernels): 1×1 stays 1×1 throughout.
@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_minimum_input(name):
    minimum = DOCUMENTED_MIN[name]
    entry = get_entry(name)
    assert entry.documented_min_size == minimum
    trace = cached_trace(name)
    assert trace.minimum_input == (minimum, minimum)
    assert trace.maximum_input is None  # adaptive or mean pooling: no upper bound
    model = default_model(name)
    assert model(torch.empty(1, 3, minimum, minimum, device="meta")).shape == (1, 1000)
    if minimum > 1:
        with pytest.raises(RuntimeError):
            model(torch.empty(1, 3, minimum - 1, minimum - 1, device="meta"))


FAMILIES = {
    "inception": ("Inception v3", "Rethinking the Inception Architecture for Computer Vision"),
    "densenet": ("DenseNet", "Densely Connected Convolutional Networks"),
    "squeezenet": ("SqueezeNet", "SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and <0.5MB model size"),
    "shufflenetv2": ("ShuffleNet V2", "ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design"),
    "mnasnet": ("MNASNet", "MnasNet: Platform-Aware Neural Architecture Search for Mobile"),
}
DISPLAY_NAMES = {
    "inception_v3": "Inception v3",
    "densenet121": "DenseNet-121",
    "densenet161": "DenseNet-161",
    "densenet169": "DenseNet-169",
    "densenet201": "DenseNet-201",
    "squeezenet1_0": "SqueezeNet 1.0",
    "squeezenet1_1": "SqueezeNet 1.1",
    "shufflenet_v2_x0_5": "ShuffleNet V2 ×0.5",
    "shufflenet_v2_x1_0": "ShuffleNet V2 ×1.0",
    "shufflenet_v2_x1_5": "ShuffleNet V2 ×1.5",
    "shufflenet_v2_x2_0": "ShuffleNet V2 ×2.0",
    "mnasnet0_5": "MNASNet 0.5",
    "mnasnet0_75": "MNASNet 0.75",
    "mnasnet1_0": "MNASNet 1.0",
    "mnasnet1_3": "MNASNet 1.3",
}


def test_families_register_exactly_these_builders():
    registered = {name for name in archdoc.list_models() if get_entry(name).family in FAMILIES}
    assert registered == set(PUBLISHED) == set(DISPLAY_NAMES)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_every_card_is_complete(name):
    entry = get_entry(name)
    card = entry.card
    assert (entry.family_title, card.title) == FAMILIES[entry.family]
    assert entry.display_name == DISPLAY_NAMES[name]
    assert card.authors and 2016 <= card.year <= 2019 and card.venue
    assert len(card.description) > 80
    assert card.arxiv
    assert "torchvision-compatible" in card.implementation
    assert entry.all_deviations and all(d.strip().endswith(".") for d in entry.all_deviations)
    parameters = inspect.signature(entry.builder).parameters
    assert all(p.kind is p.KEYWORD_ONLY for p in parameters.values())
    assert (parameters["in_channels"].default, parameters["num_classes"].default) == (3, 1000)


# --- Inception v3 ---------------------------------------------------------------------------

# AuxLogits by hand: conv0 768·128 + BN 2·128, conv1 128·768·5·5 + BN 2·768, fc 768·1000 + 1000.
AUX_PARAMS = (768 * 128 + 2 * 128) + (128 * 768 * 25 + 2 * 768) + (768 * 1000 + 1000)


def test_inception_v3_without_aux_logits():
    assert AUX_PARAMS == 3_326_696
    model = meta_model("inception_v3", aux_logits=False)
    assert model.AuxLogits is None
    assert sum(p.numel() for p in model.parameters()) == 27_161_264 - AUX_PARAMS
    # The auxiliary classifier never runs in eval mode, so the mult-adds do not change.
    assert dispatcher_mult_adds(model, (3, 299, 299))[0] == cached_trace("inception_v3").mult_adds


def test_inception_v3_training_mode_returns_aux_logits():
    model = meta_model("inception_v3").train()
    out = model(torch.empty(2, 3, 299, 299, device="meta"))
    assert out.logits.shape == out.aux_logits.shape == (2, 1000)
    assert default_model("inception_v3")(torch.empty(2, 3, 299, 299, device="meta")).shape == (2, 1000)
    # Training needs 299: 298 → 148 → 146 → 146 → 72 → 72 → 70 → 34 → 16 at Mixed_6e, and the
    # auxiliary 5×5/3 average pool leaves 4×4, too small for its 5×5 convolution (299 gives 17 → 5).
    with pytest.raises(RuntimeError):
        model(torch.empty(2, 3, 298, 298, device="meta"))
    model = meta_model("inception_v3", aux_logits=False).train()
    assert model(torch.empty(2, 3, 299, 299, device="meta")).shape == (2, 1000)
    assert model(torch.empty(2, 3, 75, 75, device="meta")).shape == (2, 1000)


def test_inception_v3_transform_input():
    # A pixel p normalised with ImageNet's (mean, std) must come out normalised with (0.5, 0.5).
    mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
    pixels = torch.tensor([0.0, 0.25, 1.0]).view(1, 1, 3, 1).expand(1, 3, 3, 1)
    imagenet = (pixels - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1)
    model = meta_model("inception_v3", transform_input=True)
    torch.testing.assert_close(model._transform_input(imagenet), (pixels - 0.5) / 0.5)
    assert default_model("inception_v3")._transform_input(imagenet) is imagenet
    with pytest.raises(BuildError):
        archdoc.get_model("inception_v3", in_channels=1, transform_input=True)


def test_inception_v3_grids():
    # Table 1's grids at 299×299: 35×35×288, 17×17×768, 8×8×2048 (after the last module).
    trace = cached_trace("inception_v3")
    shapes = {layer.name: layer.output_shape for layer in trace.layers}
    assert shapes["Mixed_5d"] == (1, 288, 35, 35)
    assert shapes["Mixed_6e"] == (1, 768, 17, 17)
    assert shapes["Mixed_7a"] == (1, 1280, 8, 8)
    assert shapes["Mixed_7c"] == (1, 2048, 8, 8)


# --- DenseNet -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, widths",
    [
        # Each block adds layers·k channels, each transition halves them (θ = 0.5):
        # 64 + 6·32 = 256 → 128 + 12·32 = 512 → 256 + 24·32 = 1024 → 512 + 16·32 = 1024.
        ("densenet121", (256, 512, 1024, 1024)),
        # 96 + 6·48 = 384 → 192 + 12·48 = 768 → 384 + 36·48 = 2112 → 1056 + 24·48 = 2208.
        ("densenet161", (384, 768, 2112, 2208)),
        # 256 → 512 → 256 + 32·32 = 1280 → 640 + 32·32 = 1664.
        ("densenet169", (256, 512, 1280, 1664)),
        # 256 → 512 → 256 + 48·32 = 1792 → 896 + 32·32 = 1920.
        ("densenet201", (256, 512, 1792, 1920)),
    ],
)
def test_densenet_block_widths(name, widths):
    trace = cached_trace(name)
    shapes = {layer.name: layer.output_shape for layer in trace.layers}
    sizes = (56, 28, 14, 7)  # 224 / 4, then halved by each transition
    assert [shapes[f"features.denseblock{i}"] for i in range(1, 5)] == [
        (1, c, s, s) for c, s in zip(widths, sizes)
    ]


# --- SqueezeNet -----------------------------------------------------------------------------


def test_squeezenet_fire_modules_follow_table_1():
    # The paper's Table 1: fire2..fire9 as (s1x1, e1x1, e3x3).
    table = [(16, 64, 64), (16, 64, 64), (32, 128, 128), (32, 128, 128),
             (48, 192, 192), (48, 192, 192), (64, 256, 256), (64, 256, 256)]  # fmt: skip
    for name in ("squeezenet1_0", "squeezenet1_1"):
        fires = [m for m in default_model(name).modules() if type(m).__name__ == "Fire"]
        assert [(f.squeeze.out_channels, f.expand1x1.out_channels, f.expand3x3.out_channels) for f in fires] == table


# --- ShuffleNet V2 --------------------------------------------------------------------------


def test_channel_shuffle_interleaves_the_halves():
    unit = default_model("shufflenet_v2_x1_0").stage3[1]
    x = torch.arange(6.0).view(1, 6, 1, 1)
    # Two groups (0 1 2 | 3 4 5), read as a 2×3 matrix and transposed: 0 3 1 4 2 5.
    assert unit.shuffle(x).flatten().tolist() == [0, 3, 1, 4, 2, 5]


@pytest.mark.parametrize(
    "name, widths",
    [
        # Table 5: Stage2, Stage3, Stage4 and Conv5 output channels; 28, 14, 7 at 224×224.
        ("shufflenet_v2_x0_5", (48, 96, 192, 1024)),
        ("shufflenet_v2_x1_0", (116, 232, 464, 1024)),
        ("shufflenet_v2_x1_5", (176, 352, 704, 1024)),
        ("shufflenet_v2_x2_0", (244, 488, 976, 2048)),
    ],
)
def test_shufflenet_v2_stages_follow_table_5(name, widths):
    trace = cached_trace(name)
    shapes = {layer.name: layer.output_shape for layer in trace.layers}
    assert [shapes[n] for n in ("stage2", "stage3", "stage4", "conv5")] == [
        (1, widths[0], 28, 28), (1, widths[1], 14, 14), (1, widths[2], 7, 7), (1, widths[3], 7, 7)
    ]
    model = default_model(name)
    assert [len(model.get_submodule(f"stage{i}")) for i in (2, 3, 4)] == [4, 8, 4]  # 1 + 3, 1 + 7, 1 + 3


# --- MNASNet --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, widths",
    [
        # Stem, separable conv and the six stages of MnasNet-B1 (32, 16, 24, 40, 80, 96, 192, 320),
        # times the multiplier, rounded to a multiple of 8 but never below 90 % of the product:
        # 0.5: 16, 8, 12 → 16, 20 → 24, 40, 48, 96, 160.
        ("mnasnet0_5", (16, 8, 16, 24, 40, 48, 96, 160)),
        # 0.75: 24, 12 → 16, 18 → 16 < 16.2 so 24, 30 → 32, 60 → 64, 72, 144, 240.
        ("mnasnet0_75", (24, 16, 24, 32, 64, 72, 144, 240)),
        ("mnasnet1_0", (32, 16, 24, 40, 80, 96, 192, 320)),
        # 1.3: 41.6 → 40, 20.8 → 24, 31.2 → 32, 52 → 56, 104, 124.8 → 128, 249.6 → 248, 416.
        ("mnasnet1_3", (40, 24, 32, 56, 104, 128, 248, 416)),
    ],
)
def test_mnasnet_widths(name, widths):
    layers = default_model(name).layers
    stem, separable = layers[0].out_channels, layers[6].out_channels
    stages = [layers[i][-1].layers[6].out_channels for i in range(8, 14)]
    assert (stem, separable, *stages) == widths
    # Repeats 3, 3, 3, 2, 4, 1; the shortcut only where a block keeps its shape.
    assert [len(layers[i]) for i in range(8, 14)] == [3, 3, 3, 2, 4, 1]
    residual = [[block.apply_residual for block in layers[i]] for i in range(8, 14)]
    assert residual == [[False, True, True], [False, True, True], [False, True, True],
                        [False, True], [False, True, True, True], [False]]  # fmt: skip

"""ResNeXt, Wide ResNet and RegNet against published figures.

Expected numbers come from outside this code:
- torchvision 0.29.1's weights meta: ``num_params``, ``_ops`` (its "GFLOPS", which count
  multiply-accumulates) at the evaluation crop, and ``min_size``;
- torchvision 0.29.1's printed modules (RegNet stage widths, depths and group widths);
- the papers' tables (ResNeXt's Table 1 block) and hand arithmetic in the comments.
"""

from __future__ import annotations

import functools

import pytest
import torch

import archdoc
from archdoc.registry import get_entry
from archdoc.zoo.regnet import CONFIGS as REGNET_CONFIGS
from archdoc.zoo.resnet import BasicBlock
from conftest import cached_trace
from oracles import meta_model, zoo_oracle

# name: (params, mult-adds in G at the default input), torchvision's weights meta (IMAGENET1K_V1;
# RegNetY-128GF: IMAGENET1K_SWAG_E2E_V1, its default weights, evaluated at 384×384).
PUBLISHED = {
    "resnext50_32x4d": (25_028_904, 4.230),
    "resnext101_32x8d": (88_791_336, 16.414),
    "resnext101_64x4d": (83_455_272, 15.460),
    "wide_resnet50_2": (68_883_240, 11.398),
    "wide_resnet101_2": (126_886_696, 22.753),
    "regnet_y_400mf": (4_344_144, 0.402),
    "regnet_y_800mf": (6_432_512, 0.834),
    "regnet_y_1_6gf": (11_202_430, 1.612),
    "regnet_y_3_2gf": (19_436_338, 3.176),
    "regnet_y_8gf": (39_381_472, 8.473),
    "regnet_y_16gf": (83_590_140, 15.912),
    "regnet_y_32gf": (145_046_770, 32.280),
    "regnet_y_128gf": (644_812_894, 374.570),
    "regnet_x_400mf": (5_495_976, 0.414),
    "regnet_x_800mf": (7_259_656, 0.800),
    "regnet_x_1_6gf": (9_190_136, 1.603),
    "regnet_x_3_2gf": (15_296_552, 3.177),
    "regnet_x_8gf": (39_572_648, 7.995),
    "regnet_x_16gf": (54_278_536, 15.941),
    "regnet_x_32gf": (107_811_560, 31.736),
}

@functools.lru_cache(maxsize=None)
def default_model(name: str) -> torch.nn.Module:
    """The builder's default configuration on meta, built once (eval mode: running it changes nothing)."""
    return meta_model(name)


# torchvision's evaluation crops: 224 for every builder's default weights, 384 for RegNetY-128GF's.
CROP = {name: 384 if name == "regnet_y_128gf" else 224 for name in PUBLISHED}


def test_every_builder_of_the_families_is_registered():
    registered = archdoc.list_models("resnext*") + archdoc.list_models("wide_resnet*") + archdoc.list_models("regnet*")
    assert sorted(registered) == sorted(PUBLISHED)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_params_and_mult_adds(name):
    params, gmacs = PUBLISHED[name]
    entry = get_entry(name)
    assert entry.default_input == (3, CROP[name], CROP[name])
    counted = zoo_oracle(name)  # built on meta: RegNetY-128GF too, no 2.6 GB allocated
    assert counted.params == params
    mult_adds = counted.mult_adds
    assert counted.output_shape == (1, 1000)
    assert abs(mult_adds / 1e9 - gmacs) <= 0.005 * gmacs
    trace = cached_trace(name)
    assert (trace.total_params, trace.mult_adds) == (params, mult_adds)


# By hand: every convolution and pool here pads (k − 1)/2 (7×7 pad 3, 3×3 pad 1, 1×1 pad 0), so
# at stride s a 1×1 map gives ⌊(1 + 2p − k)/s⌋ + 1 = ⌊0/s⌋ + 1 = 1: a 1×1 input stays 1×1 down to
# the adaptive average pool, and the smallest input is 1×1. torchvision documents min_size 1×1
# for all twenty builders, so its figure is the hard limit.
@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_classes_channels_and_the_smallest_input(name):
    model = meta_model(name, in_channels=1, num_classes=7)
    assert model(torch.empty(2, 1, 1, 1, device="meta")).shape == (2, 7)
    with pytest.raises(RuntimeError):  # the stem expects one channel now
        model(torch.empty(2, 3, 1, 1, device="meta"))


@pytest.mark.parametrize("name", ["resnext50_32x4d", "wide_resnet50_2", "regnet_y_400mf"])
def test_trace_sets_in_channels_from_the_input(name):
    trace = archdoc.trace(name, (4, 64, 64), num_classes=7, batch=2)
    assert trace.output_shape == (2, 7)
    assert dict(trace.builder_kwargs)["in_channels"] == 4


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_minimum_input(name):
    # The 1×1 input runs (by hand and above); archdoc's bisection finds the same, and torchvision's
    # documented min_size is recorded for the page.
    assert get_entry(name).documented_min_size == 1
    assert cached_trace(name).minimum_input == (1, 1)
    assert cached_trace(name).maximum_input is None  # adaptive pooling: no upper bound


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_every_card_is_complete(name):
    entry = get_entry(name)
    card = entry.card
    assert card.title and card.authors and card.year > 2015 and card.venue
    assert len(card.description) > 80 and card.description.count(". ") >= 1
    assert card.doi and card.arxiv
    assert "torchvision" in card.implementation
    assert entry.all_deviations and all(d.endswith(".") for d in entry.all_deviations)
    assert entry.display_name and entry.family_title in ("ResNeXt", "Wide ResNet", "RegNet")


# torchvision 0.29.1's printed modules: (output width, blocks, group width) of stages 1-4.
REGNET_STAGES = {
    "RegNetX-400MF": [(32, 1, 16), (64, 2, 16), (160, 7, 16), (400, 12, 16)],
    "RegNetX-800MF": [(64, 1, 16), (128, 3, 16), (288, 7, 16), (672, 5, 16)],
    "RegNetX-1.6GF": [(72, 2, 24), (168, 4, 24), (408, 10, 24), (912, 2, 24)],
    "RegNetX-3.2GF": [(96, 2, 48), (192, 6, 48), (432, 15, 48), (1008, 2, 48)],
    "RegNetX-8.0GF": [(80, 2, 80), (240, 5, 120), (720, 15, 120), (1920, 1, 120)],
    "RegNetX-16GF": [(256, 2, 128), (512, 6, 128), (896, 13, 128), (2048, 1, 128)],
    "RegNetX-32GF": [(336, 2, 168), (672, 7, 168), (1344, 13, 168), (2520, 1, 168)],
    "RegNetY-400MF": [(48, 1, 8), (104, 3, 8), (208, 6, 8), (440, 6, 8)],
    "RegNetY-800MF": [(64, 1, 16), (144, 3, 16), (320, 8, 16), (784, 2, 16)],
    "RegNetY-1.6GF": [(48, 2, 24), (120, 6, 24), (336, 17, 24), (888, 2, 24)],
    "RegNetY-3.2GF": [(72, 2, 24), (216, 5, 24), (576, 13, 24), (1512, 1, 24)],
    "RegNetY-8.0GF": [(224, 2, 56), (448, 4, 56), (896, 10, 56), (2016, 1, 56)],
    "RegNetY-16GF": [(224, 2, 112), (448, 4, 112), (1232, 11, 112), (3024, 1, 112)],
    "RegNetY-32GF": [(232, 2, 232), (696, 5, 232), (1392, 12, 232), (3712, 1, 232)],
    "RegNetY-128GF": [(528, 2, 264), (1056, 7, 264), (2904, 17, 264), (7392, 1, 264)],
}


@pytest.mark.parametrize("config", sorted(REGNET_STAGES))
def test_regnet_widths_from_the_design_parameters(config):
    stages = REGNET_CONFIGS[config].stages()
    assert [(s.width, s.depth, s.group_width) for s in stages] == REGNET_STAGES[config]
    assert sum(s.depth for s in stages) == REGNET_CONFIGS[config].d


def test_regnet_x_400mf_quantisation_by_hand():
    # d = 22, w0 = 24, wa = 24.48, wm = 2.54. Block j's linear width u_j = 24 + 24.48 j snaps to
    # 24 · 2.54^s with s = round(log(u_j / 24) / log 2.54): s = 0 for j = 0 (u = 24); s = 1 for
    # j = 1..2 (u = 48.5, 73.0: exponents 0.75, 1.19); s = 2 for j = 3..9 (u = 97.4 .. 244.3:
    # exponents 1.503 .. 2.49); s = 3 for j = 10..21 (u = 268.8 .. 538.1: exponents 2.59 .. 3.34).
    # Widths 24, 61, 155, 393 round to multiples of 8: 24, 64, 152, 392; then to multiples of
    # the group width 16, halves up (24 → 32, 152 → 160, 392 → 400); depths 1, 2, 7, 12.
    stages = REGNET_CONFIGS["RegNetX-400MF"].stages()
    assert [(s.width, s.depth) for s in stages] == [(32, 1), (64, 2), (160, 7), (400, 12)]


def test_regnet_y_squeeze_excitation_is_a_quarter_of_the_block_input():
    model = default_model("regnet_y_400mf")
    first, second = model.trunk_output.block2[0], model.trunk_output.block2[1]
    # Stage 2 goes from 48 to 104 channels: 48 / 4 = 12 in its first block, 104 / 4 = 26 after.
    assert (first.f.se.fc1.out_channels, second.f.se.fc1.out_channels) == (12, 26)
    assert not hasattr(default_model("regnet_x_400mf").trunk_output.block2[0].f, "se")


def test_resnext50_block_matches_the_papers_table_1():
    # Table 1, conv2: [1×1, 128; 3×3, 128, C = 32; 1×1, 256] ×3.
    model = default_model("resnext50_32x4d")
    block = model.layer1[0]
    assert (block.conv1.out_channels, block.conv2.out_channels, block.conv2.groups) == (128, 128, 32)
    assert block.conv3.out_channels == 256 and len(model.layer1) == 3
    # conv5: [1×1, 1024; 3×3, 1024, C = 32; 1×1, 2048] ×3.
    assert (model.layer4[0].conv2.out_channels, model.layer4[0].conv3.out_channels) == (1024, 2048)


def test_wide_resnet_doubles_only_the_inner_width():
    # ResNet-50's first bottleneck is 64-64-256; the wide one 128-128-256.
    block = default_model("wide_resnet50_2").layer1[0]
    assert (block.conv1.out_channels, block.conv2.out_channels, block.conv3.out_channels) == (128, 128, 256)
    assert block.conv2.groups == 1


def test_basic_blocks_refuse_groups_and_widths():
    with pytest.raises(ValueError, match="BasicBlock"):
        BasicBlock(64, 64, groups=32)
    with pytest.raises(ValueError, match="BasicBlock"):
        BasicBlock(64, 64, base_width=128)

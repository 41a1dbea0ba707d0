"""ConvNeXt, Vision Transformer, Swin Transformer (V1 and V2) and MaxViT against published figures.

Expected numbers come from outside this code:
- torchvision 0.29's weights metadata for each builder's default weights: ``num_params``,
  ``_ops`` (its "GFLOPS", which count multiply-accumulates) and ``min_size``;
- the papers' configuration tables and training settings (widths, depths, drop-path rates);
- hand arithmetic, written out next to each figure.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import archdoc
from archdoc.errors import BuildError
from archdoc.registry import get_entry
from archdoc.zoo import swin_transformer, vision_transformer
from conftest import cached_trace
from oracles import dispatcher_mult_adds, meta_model, zoo_oracle

# name: (params, GMACs at the default input) from torchvision's weights metadata (ImageNet-1K, V1 weights
# unless noted).
PUBLISHED = {
    "convnext_tiny": (28_589_128, 4.456),
    "convnext_small": (50_223_688, 8.684),
    "convnext_base": (88_591_464, 15.355),
    "convnext_large": (197_767_336, 34.361),
    "vit_b_16": (86_567_656, 17.564),
    "vit_b_32": (88_224_232, 4.409),
    "vit_l_16": (304_326_632, 61.555),
    "vit_l_32": (306_535_400, 15.378),
    "vit_h_14": (632_045_800, 167.295),  # IMAGENET1K_SWAG_LINEAR_V1, 224x224
    "swin_t": (28_288_354, 4.491),
    "swin_s": (49_606_258, 8.741),
    "swin_b": (87_768_224, 15.431),
    "swin_v2_t": (28_351_570, 5.940),  # at 256x256
    "swin_v2_s": (49_737_442, 11.546),
    "swin_v2_b": (87_930_848, 20.325),
    "maxvit_t": (30_919_624, 5.558),
}

# torchvision's weights metadata: min_size of each builder's default weights.
DOCUMENTED_MIN_SIZE = {
    **{f"convnext_{s}": 32 for s in ("tiny", "small", "base", "large")},
    **{f"vit_{v}": 224 for v in ("b_16", "b_32", "l_16", "l_32", "h_14")},
    **{f"swin_{s}": 224 for s in "tsb"},
    **{f"swin_v2_{s}": 256 for s in "tsb"},
    "maxvit_t": 224,
}

# Drop-path rates of the papers' ImageNet-1K training: ConvNeXt's Appendix A (T, S, B, L),
# Swin's Appendix A2.1 (T, S, B; V2 trains T, S, B with the same), MaxViT-T's 0.2.
DROP_PATH = {
    "convnext_tiny": 0.1, "convnext_small": 0.4, "convnext_base": 0.5, "convnext_large": 0.5,
    "swin_t": 0.2, "swin_s": 0.3, "swin_b": 0.5, "swin_v2_t": 0.2, "swin_v2_s": 0.3, "swin_v2_b": 0.5,
    "maxvit_t": 0.2,
}

DISPLAY_NAMES = {
    "convnext_tiny": "ConvNeXt-T", "convnext_small": "ConvNeXt-S", "convnext_base": "ConvNeXt-B",
    "convnext_large": "ConvNeXt-L", "vit_b_16": "ViT-B/16", "vit_b_32": "ViT-B/32", "vit_l_16": "ViT-L/16",
    "vit_l_32": "ViT-L/32", "vit_h_14": "ViT-H/14", "swin_t": "Swin-T", "swin_s": "Swin-S", "swin_b": "Swin-B",
    "swin_v2_t": "Swin-V2-T", "swin_v2_s": "Swin-V2-S", "swin_v2_b": "Swin-V2-B", "maxvit_t": "MaxViT-T",
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_params_and_mult_adds(name):
    params, gmacs = PUBLISHED[name]
    counted = zoo_oracle(name)
    assert counted.params == params
    mult_adds = counted.mult_adds
    assert counted.output_shape == (1, 1000)
    assert round(mult_adds / 1e9, 3) == gmacs  # torchvision publishes 3 decimals
    trace = cached_trace(name)
    assert (trace.total_params, trace.mult_adds) == (params, mult_adds)
    # The recorded dataflow holds the residual additions the diagrams draw.
    assert any(node.target == "add" and len(node.inputs) == 2 for node in trace.dataflow)
    if name in DROP_PATH:
        rates = counted.drop_rates  # from the same meta build
        # Linear in depth: 0 at the first block, the paper's rate at the last.
        assert (rates[0], rates[-1]) == (0.0, pytest.approx(DROP_PATH[name]))


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_classes_and_channels_are_honoured(name):
    model = meta_model(name, in_channels=4, num_classes=7)
    first = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    assert (first.in_channels, last.out_features) == (4, 7)


# One forward per family (a forward costs as much as the rest of a builder's checks).
@pytest.mark.parametrize("name", ["convnext_tiny", "vit_b_32", "swin_t", "swin_v2_t", "maxvit_t"])
def test_classes_and_channels_run(name):
    _, h, w = get_entry(name).default_input
    model = meta_model(name, in_channels=4, num_classes=7)
    with torch.no_grad():
        assert model(torch.empty(2, 4, h, w, device="meta")).shape == (2, 7)
        with pytest.raises(RuntimeError):  # the first layer really takes 4 channels now
            model(torch.empty(2, 3, h, w, device="meta"))


# The measured range of input sides, (minimum, maximum or None for no upper bound), by hand:
# - ConvNeXt: the 4×4/4 stem gives ⌊n/4⌋ and three 2×2/2 downsamplings halve it; the last one
#   needs a 2×2 map, so ⌊n/4⌋ ≥ 8, n ≥ 32 (at 31: 7 → 3 → 1, and the 2×2 kernel exceeds 1×1).
#   Adaptive pooling puts no upper bound. torchvision documents the same 32.
# - ViT: 197 position embeddings (1 + (224/16)²; 1 + 16² for H/14) fit one input size only.
# - Swin: the 4×4/4 patch embedding needs n ≥ 4; after it, maps are padded to whole windows and
#   to even sides before patch merging, so a 1×1 map passes every stage (1 → pad 2 → 1).
#   torchvision's 224 (256 for V2) is a documentation floor, not a limit.
# - MaxViT: the stem and the first layer of each stage give ⌈n/2⌉; the partitions are fixed at
#   build for 56, 28, 14, 7 maps, so ⌈⌈n/2⌉/2⌉ = 56: ⌈n/2⌉ ∈ {111, 112}, n ∈ 221..224.
MEASURED_RANGE = {
    **{f"convnext_{s}": (32, None) for s in ("tiny", "small", "base", "large")},
    **{f"vit_{v}": (224, 224) for v in ("b_16", "b_32", "l_16", "l_32", "h_14")},
    **{f"swin_{v}{s}": (4, None) for v in ("", "v2_") for s in "tsb"},
    "maxvit_t": (221, 224),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_input_range(name):
    low, high = MEASURED_RANGE[name]
    trace = cached_trace(name)
    assert trace.minimum_input == (low, low)
    assert trace.maximum_input == (None if high is None else (high, high))
    assert get_entry(name).documented_min_size == DOCUMENTED_MIN_SIZE[name]
    # The trace ran the model at `low` to find it; one pixel less must fail.
    model = meta_model(name)
    with torch.no_grad(), pytest.raises((RuntimeError, ValueError)):
        model(torch.empty(1, 3, low - 1, low - 1, device="meta"))
    if high is not None:
        with torch.no_grad(), pytest.raises(ValueError):
            model(torch.empty(1, 3, high + 1, high + 1, device="meta"))


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_every_card_is_complete(name):
    entry = get_entry(name)
    card = entry.card
    assert card.title and card.authors and card.year > 2019 and card.venue
    assert len(card.description) > 80
    assert card.doi or card.arxiv
    assert "torchvision" in card.implementation
    assert entry.all_deviations
    assert entry.display_name == DISPLAY_NAMES[name]
    # Swin V2 builders carry the V2 paper; V1's its own.
    assert ("V2" in card.title) == name.startswith("swin_v2")


# torchvision's SWAG weights fine-tuned end to end (IMAGENET1K_SWAG_E2E_V1): image size, num_params,
# GFLOPS. By hand, a larger image only adds position embeddings: ((s/p)² − (224/p)²) · width.
@pytest.mark.parametrize(
    "name, size, params, gmacs, extra",
    [
        ("vit_b_16", 384, 86_859_496, 55.484, (24**2 - 14**2) * 768),
        ("vit_l_16", 512, 305_174_504, 361.986, (32**2 - 14**2) * 1024),
        ("vit_h_14", 518, 633_470_440, 1016.717, (37**2 - 16**2) * 1280),
    ],
)
def test_vit_at_the_swag_sizes_gives_their_figures(name, size, params, gmacs, extra):
    model = meta_model(name, image_size=size)
    assert sum(p.numel() for p in model.parameters()) == params == PUBLISHED[name][0] + extra
    mult_adds, out_shape = dispatcher_mult_adds(model, (3, size, size))
    assert round(mult_adds / 1e9, 3) == gmacs and out_shape == (1, 1000)


def test_a_vit_built_for_another_size_is_traced_at_it_by_default():
    trace = archdoc.trace("vit_b_16", image_size=384)  # no input given: the size it was built for
    assert trace.inputs[0].shape == (3, 384, 384)
    assert (trace.total_params, round(trace.mult_adds / 1e9, 3)) == (86_859_496, 55.484)  # torchvision's SWAG E2E figures


def test_vit_b_16_mult_adds_by_hand():
    # L = 197 tokens of width D = 768, 12 layers: per layer 4·L·D² (q, k, v, output projections)
    # + 2·L·D·3072 (MLP) + 2·L²·D (scores and weighted sum); the 16×16×3 patch embedding for 196
    # patches; the 1000-way head.
    length, dim = 197, 768
    layer = 4 * length * dim**2 + 2 * length * dim * 3072 + 2 * length**2 * dim
    total = 12 * layer + 196 * dim * 16 * 16 * 3 + dim * 1000
    assert cached_trace("vit_b_16").mult_adds == total == 17_563_828_224


def test_representation_size_adds_a_tanh_pre_logits_layer():
    model = meta_model("vit_b_32", representation_size=512)
    assert [type(m) for m in model.heads] == [nn.Linear, nn.Tanh, nn.Linear]
    # 768·512 + 512 more, and the head shrinks from 768 to 512 inputs: 393,728 − 256,000.
    assert sum(p.numel() for p in model.parameters()) == PUBLISHED["vit_b_32"][0] + 768 * 512 + 512 - 256 * 1000


def test_relative_position_index_by_hand():
    # A 2×2 window: cells (0,0), (0,1), (1,0), (1,1); a 3×3 table of offsets, indexed
    # (Δrow + 1)·3 + (Δcol + 1) with Δ = query − key.
    expected = [4, 3, 1, 0, 5, 4, 2, 1, 7, 6, 4, 3, 8, 7, 5, 4]
    assert swin_transformer.relative_position_index((2, 2)).tolist() == expected
    with torch.device("meta"):  # builds without values
        assert swin_transformer.relative_position_index((7, 7)).shape == (49 * 49,)


def test_log_spaced_coordinates_by_hand():
    # A 2×2 window has offsets −1, 0, 1, normalised by (2 − 1) and scaled by 8: sign·log2(1 + 8)/3.
    table = swin_transformer.log_spaced_coordinates((2, 2))
    assert table.shape == (1, 3, 3, 2)
    far = math.log2(9) / 3
    assert table[0, 0, 0].tolist() == pytest.approx([-far, -far])
    assert table[0, 1, 1].tolist() == [0.0, 0.0]
    assert table[0, 2, 0].tolist() == pytest.approx([far, -far])


def test_shift_mask_by_hand():
    # A 4×4 map in 2×2 windows shifted by 1: rows fall in regions [0, 2), [2, 3), [3, 4), columns
    # likewise. The top-left window lies in one region (no mask); the bottom-right one holds four
    # cells from four regions, so every pair of different cells is masked.
    mask = swin_transformer.shift_mask(torch.zeros(1), (4, 4), (2, 2), (1, 1))
    assert mask.shape == (4, 4, 4)
    assert mask[0].tolist() == [[0.0] * 4] * 4
    assert mask[3].tolist() == [[0.0 if i == j else -100.0 for j in range(4)] for i in range(4)]
    # Top-right window: columns 2 and 3 are different regions, rows 0 and 1 the same.
    assert mask[1].tolist() == [[0.0 if i % 2 == j % 2 else -100.0 for j in range(4)] for i in range(4)]


def test_swin_v2_ignores_the_key_bias():
    # The paper's V2 attention has query and value biases only.
    torch.manual_seed(0)
    attn = swin_transformer.ShiftedWindowAttentionV2(8, (2, 2), (1, 1), num_heads=2).eval()
    x = torch.randn(1, 4, 4, 8)
    with torch.no_grad():
        before = attn(x)
        attn.qkv.bias[8:16] = torch.randn(8)
        assert torch.equal(attn(x), before)
        attn.qkv.bias[:8] = torch.randn(8)
        assert not torch.equal(attn(x), before)


def test_vit_attention_is_counted_on_cpu():
    # nn.MultiheadAttention would take a fused kernel here, which counts no matrix products.
    attn = vision_transformer.MultiheadSelfAttention(16, 2).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        attn(torch.randn(1, 5, 16))
    # 5·16·48 (q, k, v) + 2·5·5·16 (scores, weighted sum) + 5·16·16 (output projection).
    assert counter.get_total_flops() // 2 == 5 * 16 * 48 + 2 * 5 * 5 * 16 + 5 * 16 * 16


def test_maxvit_rejects_sizes_its_partitions_do_not_tile():
    with pytest.raises(BuildError, match="do not tile"):
        meta_model("maxvit_t", image_size=200)  # 200 → 100 → 50, not a multiple of 7
    model = meta_model("maxvit_t", image_size=448)  # 448 → 224 after the stem, then 112, 56, 28, 14
    assert [block.map_size for block in model.blocks] == [112, 56, 28, 14]

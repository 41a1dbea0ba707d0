"""EfficientNet-B0 to -B7.

Tan and Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
Networks", ICML 2019 (PMLR 97), arXiv:1905.11946.

Module names and shapes follow ``torchvision.models.efficientnet_b0`` … ``_b7``, so a
torchvision checkpoint loads with ``load_state_dict(..., strict=True)``. The MBConv
block and the network skeleton are shared with EfficientNetV2 (``efficientnet_v2``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial
from typing import NamedTuple

import torch
from torch import nn

from archdoc.registry import PaperCard, register_model
from archdoc.zoo.layers import ConvNormAct, SqueezeExcitation, StochasticDepth, make_divisible

FAMILY = "EfficientNet"

CARD = PaperCard(
    title="EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks",
    authors=("Mingxing Tan", "Quoc V. Le"),
    year=2019,
    venue="ICML 2019",
    arxiv="1905.11946",
    description=(
        "EfficientNet scales a searched mobile baseline, B0 (MBConv blocks with "
        "squeeze-and-excitation and SiLU), in depth, width and input resolution together by one "
        "compound coefficient, instead of growing a single dimension. EfficientNet-B7 reached "
        "84.3 % ImageNet top-1 while being 8.4× smaller and 6.1× faster at inference than the best "
        "ConvNet before it."
    ),
    implementation=(
        "torchvision-compatible: module names and shapes match `torchvision.models.efficientnet_b0` "
        "… `efficientnet_b7`, so torchvision checkpoints load with `strict=True`."
    ),
    deviations=(
        "The width and depth multipliers of B1–B7 are those of the authors' released code; the "
        "paper derives them from one coefficient φ (depth 1.2^φ, width 1.1^φ). Widths round to a "
        "multiple of 8, depths round up.",
        "Stochastic depth drops a block's residual branch with a probability that rises linearly "
        "over the blocks from 0 to 0.2 (training only); the paper quotes one survival probability, 0.8.",
        "Global average pooling is adaptive, so inputs of any size down to 1×1 run; each model of "
        "the paper has one input resolution, from 224×224 (B0) to 600×600 (B7).",
        "The first convolution takes `in_channels` input channels instead of a fixed 3, and the "
        "classifier has `num_classes` outputs instead of 1000.",
    ),
)

NormLayer = Callable[..., nn.Module]


class ResidualBlock(nn.Module):
    """A block of layers with a shortcut when input and output shapes agree.

    On the shortcut, stochastic depth drops the block's branch while training. The
    layers sit in ``block``, as torchvision names them, so checkpoints load.

    Args:
        block: The block's layers.
        in_channels: Input channels.
        out_channels: Output channels.
        stride: The block's stride.
        sd_prob: Stochastic depth drop probability.
    """

    def __init__(self, block: nn.Sequential, in_channels: int, out_channels: int, stride: int, sd_prob: float) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        self.use_res_connect = stride == 1 and in_channels == out_channels
        self.block = block
        self.stochastic_depth = StochasticDepth(sd_prob, "row")
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)  # N x out_channels x H/s x W/s
        if self.use_res_connect:
            out = self.stochastic_depth(out) + x
        return out


class MBConv(ResidualBlock):
    """Mobile inverted bottleneck: 1×1 expand → depthwise k×k → squeeze-and-excitation → linear 1×1.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        expand_ratio: Expansion of the 1×1 convolution (1 leaves it out).
        kernel: Depthwise kernel size.
        stride: Depthwise stride.
        sd_prob: Stochastic depth drop probability.
        norm_layer: Normalisation after each convolution.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        expand_ratio: float,
        kernel: int,
        stride: int,
        sd_prob: float,
        norm_layer: NormLayer,
    ) -> None:
        expanded = make_divisible(in_channels * expand_ratio)
        layers: list[nn.Module] = []
        if expanded != in_channels:
            layers.append(ConvNormAct(in_channels, expanded, 1, norm_layer=norm_layer, activation_layer=nn.SiLU))
        layers += [
            ConvNormAct(
                expanded, expanded, kernel, stride, groups=expanded, norm_layer=norm_layer, activation_layer=nn.SiLU
            ),
            # The squeeze width is a quarter of the block's input, not of its expansion.
            SqueezeExcitation(expanded, max(1, in_channels // 4), activation=nn.SiLU),
            ConvNormAct(expanded, out_channels, 1, norm_layer=norm_layer, activation_layer=None),
        ]
        super().__init__(nn.Sequential(*layers), in_channels, out_channels, stride, sd_prob)


class Stage(NamedTuple):
    """One stage, already scaled: ``layers`` blocks, the first with ``stride`` and ``in_channels``."""

    block: Callable[..., nn.Module]
    expand_ratio: float
    kernel: int
    stride: int
    in_channels: int
    out_channels: int
    layers: int


class EfficientNet(nn.Module):
    """3×3 stem (stride 2), stages of MBConv (or Fused-MBConv) blocks, 1×1 head, pooling, classifier.

    Args:
        stages: The stages in order; the stem's width is the first stage's input.
        last_channel: Width of the final 1×1 convolution.
        in_channels: Input image channels.
        num_classes: Classifier outputs.
        dropout: Dropout probability before the classifier.
        stochastic_depth_prob: Stochastic depth scale: block i of n (counting from 0) drops its
            branch with probability ``stochastic_depth_prob · i / n`` while training.
        norm_layer: Normalisation after each convolution.
    """

    def __init__(
        self,
        stages: Sequence[Stage],
        last_channel: int,
        in_channels: int = 3,
        num_classes: int = 1000,
        dropout: float = 0.2,
        stochastic_depth_prob: float = 0.2,
        norm_layer: NormLayer = nn.BatchNorm2d,
    ) -> None:
        super().__init__()
        stem = ConvNormAct(in_channels, stages[0].in_channels, 3, 2, norm_layer=norm_layer, activation_layer=nn.SiLU)
        features: list[nn.Module] = [stem]
        total = sum(stage.layers for stage in stages)
        index = 0
        for stage in stages:
            blocks: list[nn.Module] = []
            for i in range(stage.layers):
                first = i == 0  # only a stage's first block changes width and resolution
                blocks.append(
                    stage.block(
                        stage.in_channels if first else stage.out_channels,
                        stage.out_channels,
                        stage.expand_ratio,
                        stage.kernel,
                        stage.stride if first else 1,
                        stochastic_depth_prob * index / total,
                        norm_layer,
                    )
                )
                index += 1
            features.append(nn.Sequential(*blocks))
        features.append(
            ConvNormAct(stages[-1].out_channels, last_channel, 1, norm_layer=norm_layer, activation_layer=nn.SiLU)
        )
        self.features = nn.Sequential(*features)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True), nn.Linear(last_channel, num_classes))

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                bound = 1.0 / math.sqrt(m.out_features)
                nn.init.uniform_(m.weight, -bound, bound)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # N x last_channel x H/32 x W/32
        x = torch.flatten(self.avgpool(x), 1)  # N x last_channel
        return self.classifier(x)  # N x num_classes


# The paper's Table 1 (EfficientNet-B0), stages 2 to 8 as (MBConv expansion, kernel, stride, #channels,
# #layers), with each stage's input resolution; the stride is 2 where the next stage's resolution halves.
# Stage 1 is a 3×3 convolution to 32 channels at stride 2, stage 9 a 1×1 convolution to 1280, pooling
# and the classifier.
B0: tuple[tuple[int, int, int, int, int], ...] = (
    (1, 3, 1, 16, 1),  # stage 2: MBConv1, k3×3, 112×112
    (6, 3, 2, 24, 2),  # stage 3: MBConv6, k3×3, 112×112
    (6, 5, 2, 40, 2),  # stage 4: MBConv6, k5×5, 56×56
    (6, 3, 2, 80, 3),  # stage 5: MBConv6, k3×3, 28×28
    (6, 5, 1, 112, 3),  # stage 6: MBConv6, k5×5, 14×14
    (6, 5, 2, 192, 4),  # stage 7: MBConv6, k5×5, 14×14
    (6, 3, 1, 320, 1),  # stage 8: MBConv6, k3×3, 7×7
)
STEM, HEAD = 32, 1280

# Compound scaling, as (width multiplier, depth multiplier, resolution) per model, the authors' released
# values. Dropout before the classifier grows with the model too, from 0.2 (B0) to 0.5 (B7): each
# builder's default.
SCALING: dict[str, tuple[float, float, int]] = {
    "b0": (1.0, 1.0, 224),
    "b1": (1.0, 1.1, 240),
    "b2": (1.1, 1.2, 260),
    "b3": (1.2, 1.4, 300),
    "b4": (1.4, 1.8, 380),
    "b5": (1.6, 2.2, 456),
    "b6": (1.8, 2.6, 528),
    "b7": (2.0, 3.1, 600),
}


def scaled_stages(width: float, depth: float) -> list[Stage]:
    """B0's stages with widths times ``width`` (to multiples of 8) and depths times ``depth`` (rounded up)."""
    stages = []
    channels = make_divisible(STEM * width)
    for t, k, s, c, n in B0:
        out = make_divisible(c * width)
        stages.append(Stage(MBConv, t, k, s, channels, out, math.ceil(n * depth)))
        channels = out
    return stages


def _efficientnet(
    variant: str,
    in_channels: int,
    num_classes: int,
    dropout: float,
    stochastic_depth_prob: float,
    norm_layer: NormLayer = nn.BatchNorm2d,
) -> EfficientNet:
    width, depth, _ = SCALING[variant]
    stages = scaled_stages(width, depth)
    head = make_divisible(HEAD * width)
    return EfficientNet(stages, head, in_channels, num_classes, dropout, stochastic_depth_prob, norm_layer)


def _input(variant: str) -> tuple[int, int, int]:
    resolution = SCALING[variant][2]
    return (3, resolution, resolution)


# B5 to B7 normalise with TensorFlow's BatchNorm settings, as torchvision's models do.
TF_NORM = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
TORCH_NORM = (
    "BatchNorm uses PyTorch's defaults (eps 1e-5, momentum 0.1); the paper trains with momentum 0.99 "
    "(0.01 in PyTorch's convention)."
)
B2_CROP = (
    "The default input is 288×288, torchvision's evaluation crop for its B2 weights; the paper's B2 "
    "resolution is 260×260."
)


@register_model(
    card=CARD,
    display_name="EfficientNet-B0",
    default_input=_input("b0"),
    deviations=(TORCH_NORM,),
    documented_min_size=1,
)
def efficientnet_b0(
    *, in_channels: int = 3, num_classes: int = 1000, dropout: float = 0.2, stochastic_depth_prob: float = 0.2
) -> EfficientNet:
    """EfficientNet-B0, the searched baseline: width 1.0, depth 1.0."""
    return _efficientnet("b0", in_channels, num_classes, dropout, stochastic_depth_prob)


@register_model(
    card=CARD,
    display_name="EfficientNet-B1",
    default_input=_input("b1"),
    deviations=(TORCH_NORM,),
    documented_min_size=1,
)
def efficientnet_b1(
    *, in_channels: int = 3, num_classes: int = 1000, dropout: float = 0.2, stochastic_depth_prob: float = 0.2
) -> EfficientNet:
    """EfficientNet-B1: width 1.0, depth 1.1."""
    return _efficientnet("b1", in_channels, num_classes, dropout, stochastic_depth_prob)


@register_model(
    card=CARD,
    display_name="EfficientNet-B2",
    default_input=(3, 288, 288),
    deviations=(TORCH_NORM, B2_CROP),
    documented_min_size=1,
)
def efficientnet_b2(
    *, in_channels: int = 3, num_classes: int = 1000, dropout: float = 0.3, stochastic_depth_prob: float = 0.2
) -> EfficientNet:
    """EfficientNet-B2: width 1.1, depth 1.2."""
    return _efficientnet("b2", in_channels, num_classes, dropout, stochastic_depth_prob)


@register_model(
    card=CARD,
    display_name="EfficientNet-B3",
    default_input=_input("b3"),
    deviations=(TORCH_NORM,),
    documented_min_size=1,
)
def efficientnet_b3(
    *, in_channels: int = 3, num_classes: int = 1000, dropout: float = 0.3, stochastic_depth_prob: float = 0.2
) -> EfficientNet:
    """EfficientNet-B3: width 1.2, depth 1.4."""
    return _efficientnet("b3", in_channels, num_classes, dropout, stochastic_depth_prob)


@register_model(
    card=CARD,
    display_name="EfficientNet-B4",
    default_input=_input("b4"),
    deviations=(TORCH_NORM,),
    documented_min_size=1,
)
def efficientnet_b4(
    *, in_channels: int = 3, num_classes: int = 1000, dropout: float = 0.4, stochastic_depth_prob: float = 0.2
) -> EfficientNet:
    """EfficientNet-B4: width 1.4, depth 1.8."""
    return _efficientnet("b4", in_channels, num_classes, dropout, stochastic_depth_prob)


@register_model(card=CARD, display_name="EfficientNet-B5", default_input=_input("b5"), documented_min_size=1)
def efficientnet_b5(
    *, in_channels: int = 3, num_classes: int = 1000, dropout: float = 0.4, stochastic_depth_prob: float = 0.2
) -> EfficientNet:
    """EfficientNet-B5: width 1.6, depth 2.2; BatchNorm eps 1e-3, momentum 0.01."""
    return _efficientnet("b5", in_channels, num_classes, dropout, stochastic_depth_prob, TF_NORM)


@register_model(card=CARD, display_name="EfficientNet-B6", default_input=_input("b6"), documented_min_size=1)
def efficientnet_b6(
    *, in_channels: int = 3, num_classes: int = 1000, dropout: float = 0.5, stochastic_depth_prob: float = 0.2
) -> EfficientNet:
    """EfficientNet-B6: width 1.8, depth 2.6; BatchNorm eps 1e-3, momentum 0.01."""
    return _efficientnet("b6", in_channels, num_classes, dropout, stochastic_depth_prob, TF_NORM)


@register_model(card=CARD, display_name="EfficientNet-B7", default_input=_input("b7"), documented_min_size=1)
def efficientnet_b7(
    *, in_channels: int = 3, num_classes: int = 1000, dropout: float = 0.5, stochastic_depth_prob: float = 0.2
) -> EfficientNet:
    """EfficientNet-B7: width 2.0, depth 3.1; BatchNorm eps 1e-3, momentum 0.01."""
    return _efficientnet("b7", in_channels, num_classes, dropout, stochastic_depth_prob, TF_NORM)

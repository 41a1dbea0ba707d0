"""RegNetX and RegNetY, 400MF to 32GF, and RegNetY-128GF.

Radosavovic, Kosaraju, Girshick, He and Dollár, "Designing Network Design
Spaces", CVPR 2020, doi:10.1109/CVPR42600.2020.01044, arXiv:2003.13678.

RegNetY-128GF is from Singh et al., "Revisiting Weakly Supervised Pre-Training
of Visual Perception Models", CVPR 2022, arXiv:2201.08371.

A RegNet is a stem, four stages of residual bottleneck blocks and a head. The
widths and depths of the stages are not listed one by one: they follow from six
numbers (depth d, initial width w0, slope wa, multiplier wm, group width g,
bottleneck ratio b) through the paper's quantised linear rule, computed here in
plain Python. Module names and shapes follow ``torchvision.models.regnet``, so a
torchvision checkpoint loads with ``load_state_dict(..., strict=True)``.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

from archdoc.registry import PaperCard, register_model
from archdoc.zoo.layers import ConvNormAct, SqueezeExcitation, make_divisible

FAMILY = "RegNet"

CARD = PaperCard(
    title="Designing Network Design Spaces",
    authors=("Ilija Radosavovic", "Raj Prateek Kosaraju", "Ross Girshick", "Kaiming He", "Piotr Dollár"),
    year=2020,
    venue="CVPR 2020",
    doi="10.1109/CVPR42600.2020.01044",
    arxiv="2003.13678",
    description=(
        "Instead of searching for single networks, the paper narrows a space of ResNeXt-like networks "
        "step by step, and finds that good ones have stage widths that grow linearly with depth, "
        "quantised to a few stages. Networks sampled from this RegNet space with six numbers matched "
        "EfficientNet's accuracy while running up to five times faster on GPUs."
    ),
    implementation=(
        "torchvision-compatible: module names and shapes match `torchvision.models.regnet`, so "
        "torchvision checkpoints load with `strict=True`."
    ),
    deviations=(
        "The stem's convolution takes `in_channels` input channels instead of a fixed 3, and the "
        "classifier has `num_classes` outputs instead of 1000.",
        "Global average pooling is adaptive, so inputs of any size down to 1×1 run; the paper trains "
        "and tests on 224×224 crops.",
    ),
)


class BottleneckTransform(nn.Sequential):
    """1×1 to the bottleneck width, grouped 3×3 (strided), optional squeeze-excitation, 1×1 out.

    The squeeze-excitation bottleneck is ``se_ratio`` times the block's input width,
    as in the authors' code.
    """

    def __init__(
        self,
        width_in: int,
        width_out: int,
        stride: int,
        group_width: int,
        bottleneck_ratio: float,
        se_ratio: float | None,
    ) -> None:
        width_b = int(round(width_out * bottleneck_ratio))
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        layers["a"] = ConvNormAct(width_in, width_b, 1)
        layers["b"] = ConvNormAct(width_b, width_b, 3, stride=stride, groups=width_b // group_width)
        if se_ratio:
            layers["se"] = SqueezeExcitation(width_b, int(round(se_ratio * width_in)))
        layers["c"] = ConvNormAct(width_b, width_out, 1, activation_layer=None)
        super().__init__(layers)


class ResBottleneckBlock(nn.Module):
    """The X block (the Y block with squeeze-excitation): a bottleneck transform plus a shortcut.

    The shortcut is a strided 1×1 projection with BatchNorm where the width or size changes.
    """

    def __init__(
        self,
        width_in: int,
        width_out: int,
        stride: int,
        group_width: int,
        bottleneck_ratio: float = 1.0,
        se_ratio: float | None = None,
    ) -> None:
        super().__init__()
        self.proj: ConvNormAct | None = None
        if width_in != width_out or stride != 1:
            self.proj = ConvNormAct(width_in, width_out, 1, stride=stride, activation_layer=None)
        self.f = BottleneckTransform(width_in, width_out, stride, group_width, bottleneck_ratio, se_ratio)
        self.activation = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.proj is None else self.proj(x)  # N x width_out x H/s x W/s
        return self.activation(shortcut + self.f(x))


class AnyStage(nn.Sequential):
    """``depth`` blocks of one width; the first one halves the size. Blocks are named ``block{i}-{j}``."""

    def __init__(
        self,
        width_in: int,
        width_out: int,
        depth: int,
        group_width: int,
        bottleneck_ratio: float,
        se_ratio: float | None,
        index: int,
    ) -> None:
        super().__init__()
        for j in range(depth):
            first = j == 0
            block = ResBottleneckBlock(
                width_in if first else width_out, width_out, 2 if first else 1, group_width, bottleneck_ratio, se_ratio
            )
            self.add_module(f"block{index}-{j}", block)


@dataclass(frozen=True)
class Stage:
    """One stage of a RegNet: its width, its number of blocks and its group width."""

    width: int
    depth: int
    group_width: int


class RegNet(nn.Module):
    """A 3×3 stride-2 stem, four stages of residual bottlenecks, global average pool, linear classifier."""

    def __init__(
        self,
        stages: list[Stage],
        in_channels: int = 3,
        num_classes: int = 1000,
        stem_width: int = 32,
        bottleneck_ratio: float = 1.0,
        se_ratio: float | None = None,
    ) -> None:
        super().__init__()
        self.stem = ConvNormAct(in_channels, stem_width, 3, stride=2)
        trunk: OrderedDict[str, nn.Module] = OrderedDict()
        width = stem_width
        for i, stage in enumerate(stages, 1):
            trunk[f"block{i}"] = AnyStage(
                width, stage.width, stage.depth, stage.group_width, bottleneck_ratio, se_ratio, index=i
            )
            width = stage.width
        self.trunk_output = nn.Sequential(trunk)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                # std √(2 / (k² · out_channels)), groups ignored, as in the authors' code
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0.0, std=0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)  # N x 32 x H/2 x W/2
        x = self.trunk_output(x)  # N x w4 x H/32 x W/32 (each stage halves the size)
        x = torch.flatten(self.avgpool(x), 1)  # N x w4
        return self.fc(x)  # N x num_classes


@dataclass(frozen=True)
class DesignParams:
    """A point of the RegNet design space, in the paper's symbols.

    Attributes:
        d: Depth, the number of blocks.
        w0: Initial width.
        wa: Slope of the linear widths.
        wm: Width multiplier between consecutive stages.
        g: Group width of the 3×3 convolutions.
        b: Bottleneck ratio (the transform's width over the block's output width).
        se: Squeeze-excitation ratio (RegNetY), or ``None`` (RegNetX).
    """

    d: int
    w0: int
    wa: float
    wm: float
    g: int
    b: float = 1.0
    se: float | None = None

    def stages(self, q: int = 8) -> list[Stage]:
        """Stage widths, depths and group widths by the paper's rule (Section 3.3).

        Block j's linear width u_j = w0 + wa·j is snapped to w0·wm^s_j with s_j the
        rounded log_wm(u_j / w0), then to a multiple of ``q``; runs of equal widths form
        the stages. Each stage's bottleneck width is then made a multiple of its group
        width (a group width larger than the bottleneck shrinks to it), with torchvision's
        rounding: halves up, never more than 10 % down (:func:`make_divisible`).
        """
        widths = []
        for j in range(self.d):
            s = round(math.log((self.w0 + self.wa * j) / self.w0) / math.log(self.wm))
            widths.append(int(round(self.w0 * self.wm**s / q)) * q)
        runs: list[list[int]] = []  # [width, depth]
        for w in widths:
            if runs and runs[-1][0] == w:
                runs[-1][1] += 1
            else:
                runs.append([w, 1])
        stages = []
        for w, depth in runs:
            width_b = int(w * self.b)
            g = min(self.g, width_b)
            width_b = make_divisible(width_b, g)
            stages.append(Stage(int(width_b / self.b), depth, g))
        return stages


# The paper's Appendix tables of RegNetX and RegNetY models (b = 1 throughout; the Y
# models add squeeze-excitation with ratio 1/4). RegNetY-128GF is SWAG's (Singh et al.).
CONFIGS: dict[str, DesignParams] = {
    "RegNetX-400MF": DesignParams(d=22, w0=24, wa=24.48, wm=2.54, g=16),
    "RegNetX-800MF": DesignParams(d=16, w0=56, wa=35.73, wm=2.28, g=16),
    "RegNetX-1.6GF": DesignParams(d=18, w0=80, wa=34.01, wm=2.25, g=24),
    "RegNetX-3.2GF": DesignParams(d=25, w0=88, wa=26.31, wm=2.25, g=48),
    "RegNetX-8.0GF": DesignParams(d=23, w0=80, wa=49.56, wm=2.88, g=120),
    "RegNetX-16GF": DesignParams(d=22, w0=216, wa=55.59, wm=2.1, g=128),
    "RegNetX-32GF": DesignParams(d=23, w0=320, wa=69.86, wm=2.0, g=168),
    "RegNetY-400MF": DesignParams(d=16, w0=48, wa=27.89, wm=2.09, g=8, se=0.25),
    "RegNetY-800MF": DesignParams(d=14, w0=56, wa=38.84, wm=2.4, g=16, se=0.25),
    "RegNetY-1.6GF": DesignParams(d=27, w0=48, wa=20.71, wm=2.65, g=24, se=0.25),
    "RegNetY-3.2GF": DesignParams(d=21, w0=80, wa=42.63, wm=2.66, g=24, se=0.25),
    "RegNetY-8.0GF": DesignParams(d=17, w0=192, wa=76.82, wm=2.19, g=56, se=0.25),
    "RegNetY-16GF": DesignParams(d=18, w0=200, wa=106.23, wm=2.48, g=112, se=0.25),
    "RegNetY-32GF": DesignParams(d=20, w0=232, wa=115.89, wm=2.53, g=232, se=0.25),
    "RegNetY-128GF": DesignParams(d=27, w0=456, wa=160.83, wm=2.52, g=264, se=0.25),
}


def _regnet(config: str, in_channels: int, num_classes: int) -> RegNet:
    params = CONFIGS[config]
    return RegNet(params.stages(), in_channels, num_classes, bottleneck_ratio=params.b, se_ratio=params.se)


_IMAGENET = (3, 224, 224)


def _rounded_up(stage_widths: str) -> str:
    return (
        "Stage widths are made multiples of the group width with halves rounded up and never more than "
        f"10 % down (torchvision's rule), where the authors' code rounds to the nearest multiple: {stage_widths}."
    )


SWAG = (
    "RegNetY-128GF is not in the paper: Singh et al. (2022, SWAG, arXiv:2201.08371) chose it from the "
    "RegNetY space for weakly supervised pre-training; its torchvision weights are evaluated at 384×384."
)


@register_model(card=CARD, display_name="RegNetY-400MF", default_input=_IMAGENET, documented_min_size=1)
def regnet_y_400mf(*, in_channels: int = 3, num_classes: int = 1000) -> RegNet:
    """RegNetY-400MF."""
    return _regnet("RegNetY-400MF", in_channels, num_classes)


@register_model(
    card=CARD,
    display_name="RegNetY-800MF",
    default_input=_IMAGENET,
    deviations=(_rounded_up("144 and 784 channels in stages 2 and 4 instead of 128 and 768"),),
    documented_min_size=1,
)
def regnet_y_800mf(*, in_channels: int = 3, num_classes: int = 1000) -> RegNet:
    """RegNetY-800MF."""
    return _regnet("RegNetY-800MF", in_channels, num_classes)


@register_model(card=CARD, display_name="RegNetY-1.6GF", default_input=_IMAGENET, documented_min_size=1)
def regnet_y_1_6gf(*, in_channels: int = 3, num_classes: int = 1000) -> RegNet:
    """RegNetY-1.6GF."""
    return _regnet("RegNetY-1.6GF", in_channels, num_classes)


@register_model(card=CARD, display_name="RegNetY-3.2GF", default_input=_IMAGENET, documented_min_size=1)
def regnet_y_3_2gf(*, in_channels: int = 3, num_classes: int = 1000) -> RegNet:
    """RegNetY-3.2GF."""
    return _regnet("RegNetY-3.2GF", in_channels, num_classes)


@register_model(
    card=CARD,
    display_name="RegNetY-8.0GF",
    default_input=_IMAGENET,
    deviations=(_rounded_up("224 channels in stage 1 instead of 168"),),
    documented_min_size=1,
)
def regnet_y_8gf(*, in_channels: int = 3, num_classes: int = 1000) -> RegNet:
    """RegNetY-8.0GF."""
    return _regnet("RegNetY-8.0GF", in_channels, num_classes)


@register_model(card=CARD, display_name="RegNetY-16GF", default_input=_IMAGENET, documented_min_size=1)
def regnet_y_16gf(*, in_channels: int = 3, num_classes: int = 1000) -> RegNet:
    """RegNetY-16GF."""
    return _regnet("RegNetY-16GF", in_channels, num_classes)


@register_model(card=CARD, display_name="RegNetY-32GF", default_input=_IMAGENET, documented_min_size=1)
def regnet_y_32gf(*, in_channels: int = 3, num_classes: int = 1000) -> RegNet:
    """RegNetY-32GF."""
    return _regnet("RegNetY-32GF", in_channels, num_classes)


@register_model(
    card=CARD, display_name="RegNetY-128GF", default_input=(3, 384, 384), deviations=(SWAG,), documented_min_size=1
)
def regnet_y_128gf(*, in_channels: int = 3, num_classes: int = 1000) -> RegNet:
    """RegNetY-128GF (about 645 M parameters; build it on the meta device to inspect it)."""
    return _regnet("RegNetY-128GF", in_channels, num_classes)


@register_model(
    card=CARD,
    display_name="RegNetX-400MF",
    default_input=_IMAGENET,
    deviations=(_rounded_up("400 channels in stage 4 instead of 384"),),
    documented_min_size=1,
)
def regnet_x_400mf(*, in_channels: int = 3, num_classes: int = 1000) -> RegNet:
    """RegNetX-400MF."""
    return _regnet("RegNetX-400MF", in_channels, num_classes)


@register_model(card=CARD, display_name="RegNetX-800MF", default_input=_IMAGENET, documented_min_size=1)
def regnet_x_800mf(*, in_channels: int = 3, num_classes: int = 1000) -> RegNet:
    """RegNetX-800MF."""
    return _regnet("RegNetX-800MF", in_channels, num_classes)


@register_model(card=CARD, display_name="RegNetX-1.6GF", default_input=_IMAGENET, documented_min_size=1)
def regnet_x_1_6gf(*, in_channels: int = 3, num_classes: int = 1000) -> RegNet:
    """RegNetX-1.6GF."""
    return _regnet("RegNetX-1.6GF", in_channels, num_classes)


@register_model(card=CARD, display_name="RegNetX-3.2GF", default_input=_IMAGENET, documented_min_size=1)
def regnet_x_3_2gf(*, in_channels: int = 3, num_classes: int = 1000) -> RegNet:
    """RegNetX-3.2GF."""
    return _regnet("RegNetX-3.2GF", in_channels, num_classes)


@register_model(card=CARD, display_name="RegNetX-8.0GF", default_input=_IMAGENET, documented_min_size=1)
def regnet_x_8gf(*, in_channels: int = 3, num_classes: int = 1000) -> RegNet:
    """RegNetX-8.0GF."""
    return _regnet("RegNetX-8.0GF", in_channels, num_classes)


@register_model(card=CARD, display_name="RegNetX-16GF", default_input=_IMAGENET, documented_min_size=1)
def regnet_x_16gf(*, in_channels: int = 3, num_classes: int = 1000) -> RegNet:
    """RegNetX-16GF."""
    return _regnet("RegNetX-16GF", in_channels, num_classes)


@register_model(card=CARD, display_name="RegNetX-32GF", default_input=_IMAGENET, documented_min_size=1)
def regnet_x_32gf(*, in_channels: int = 3, num_classes: int = 1000) -> RegNet:
    """RegNetX-32GF."""
    return _regnet("RegNetX-32GF", in_channels, num_classes)

"""ShuffleNet V2 ×0.5, ×1.0, ×1.5 and ×2.0.

Ma, Zhang, Zheng and Sun, "ShuffleNet V2: Practical Guidelines for Efficient CNN
Architecture Design", ECCV 2018, doi:10.1007/978-3-030-01264-9_8, arXiv:1807.11164.

Module names and shapes follow ``torchvision.models.shufflenetv2``.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from archdoc.registry import PaperCard, register_model

FAMILY = "ShuffleNet V2"

CARD = PaperCard(
    title="ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design",
    authors=("Ningning Ma", "Xiangyu Zhang", "Hai-Tao Zheng", "Jian Sun"),
    year=2018,
    venue="ECCV 2018",
    doi="10.1007/978-3-030-01264-9_8",
    arxiv="1807.11164",
    description=(
        "Each unit splits its channels in two, passes one half through untouched and the other through "
        "a 1×1, depthwise 3×3, 1×1 branch of equal widths, then concatenates and shuffles the channels "
        "so the halves mix. The paper argued that speed must be measured on the target hardware rather "
        "than read from FLOPs, and derived the unit from four guidelines on memory access and parallelism."
    ),
    implementation=(
        "torchvision-compatible: module names and shapes match `torchvision.models.shufflenetv2`, so "
        "torchvision checkpoints load with `strict=True`."
    ),
    deviations=(
        "The global pool is a mean over the whole map, so inputs of any size down to 1×1 run; the "
        "paper's Table 5 pools a 7×7 map of a 224×224 input.",
        "The first convolution takes `in_channels` channels and the classifier has `num_classes` outputs.",
    ),
)


def _depthwise(channels: int, stride: int) -> nn.Conv2d:
    return nn.Conv2d(channels, channels, kernel_size=3, stride=stride, padding=1, groups=channels, bias=False)


def _pointwise(in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False)


class ShuffleUnit(nn.Module):
    """Figure 3(c) at stride 1 (split, one branch, concatenate, shuffle) and 3(d) at stride 2 (two branches)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        half = out_channels // 2
        if stride == 1 and in_channels != 2 * half:
            raise ValueError(f"a stride-1 unit keeps its width, got {in_channels} → {out_channels} channels")
        # At stride 1 the left half passes untouched: no branch1 and no parameters.
        self.branch1: Optional[nn.Sequential] = None
        if stride == 2:
            self.branch1 = nn.Sequential(
                _depthwise(in_channels, stride),
                nn.BatchNorm2d(in_channels),
                _pointwise(in_channels, half),
                nn.BatchNorm2d(half),
                nn.ReLU(inplace=True),
            )
        self.branch2 = nn.Sequential(
            _pointwise(in_channels if stride == 2 else half, half),
            nn.BatchNorm2d(half),
            nn.ReLU(inplace=True),
            _depthwise(half, stride),
            nn.BatchNorm2d(half),
            _pointwise(half, half),
            nn.BatchNorm2d(half),
            nn.ReLU(inplace=True),
        )
        # Interleaves the two halves' channels (0 1 2 | 3 4 5 → 0 3 1 4 2 5), so information
        # crosses between them in the next unit.
        self.shuffle = nn.ChannelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.branch1 is None:
            left, right = x.chunk(2, dim=1)  # N x C/2 x H x W each
            out = torch.cat((left, self.branch2(right)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)  # N x C' x H/2 x W/2
        return self.shuffle(out)


class ShuffleNetV2(nn.Module):
    """Conv1 and max-pool, three stages of shuffle units, conv5, global pool, linear classifier."""

    def __init__(
        self,
        stage_repeats: tuple[int, int, int],
        stage_channels: tuple[int, int, int, int, int],
        in_channels: int = 3,
        num_classes: int = 1000,
    ) -> None:
        super().__init__()
        conv1, *stages, conv5 = stage_channels
        self.conv1 = nn.Sequential(
            nn.Conv2d(in_channels, conv1, kernel_size=3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(conv1),
            nn.ReLU(inplace=True),
        )
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        channels = conv1
        for i, (repeats, width) in enumerate(zip(stage_repeats, stages), start=2):
            units = [ShuffleUnit(channels, width, 2)] + [ShuffleUnit(width, width, 1) for _ in range(repeats - 1)]
            self.add_module(f"stage{i}", nn.Sequential(*units))
            channels = width
        self.conv5 = nn.Sequential(
            nn.Conv2d(channels, conv5, kernel_size=1, bias=False),
            nn.BatchNorm2d(conv5),
            nn.ReLU(inplace=True),
        )
        self.fc = nn.Linear(conv5, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.conv1(x))  # N x 24 x H/4 x W/4
        x = self.stage2(x)  # N x c2 x H/8 x W/8
        x = self.stage3(x)  # N x c3 x H/16 x W/16
        x = self.stage4(x)  # N x c4 x H/32 x W/32
        x = self.conv5(x)  # N x 1024 (2048 at ×2.0) x H/32 x W/32
        x = x.mean([2, 3])  # N x 1024: global average pool
        return self.fc(x)  # N x num_classes


# The paper's Table 5: units per stage (one stride-2 unit, then 3, 7, 3 at stride 1), and
# output channels of Conv1, Stage2, Stage3, Stage4 and Conv5, keyed by the complexity multiplier.
STAGE_REPEATS = (4, 8, 4)
OUTPUT_CHANNELS: dict[str, tuple[int, int, int, int, int]] = {
    "0.5x": (24, 48, 96, 192, 1024),
    "1x": (24, 116, 232, 464, 1024),
    "1.5x": (24, 176, 352, 704, 1024),
    "2x": (24, 244, 488, 976, 2048),
}


def _shufflenet_v2(multiplier: str, in_channels: int, num_classes: int) -> ShuffleNetV2:
    return ShuffleNetV2(STAGE_REPEATS, OUTPUT_CHANNELS[multiplier], in_channels, num_classes)


_IMAGENET = (3, 224, 224)


# torchvision's min_size is 1 for every ShuffleNet V2.
@register_model(card=CARD, display_name="ShuffleNet V2 ×0.5", default_input=_IMAGENET, documented_min_size=1)
def shufflenet_v2_x0_5(*, in_channels: int = 3, num_classes: int = 1000) -> ShuffleNetV2:
    """ShuffleNet V2 0.5×: stages of 48, 96 and 192 channels."""
    return _shufflenet_v2("0.5x", in_channels, num_classes)


@register_model(card=CARD, display_name="ShuffleNet V2 ×1.0", default_input=_IMAGENET, documented_min_size=1)
def shufflenet_v2_x1_0(*, in_channels: int = 3, num_classes: int = 1000) -> ShuffleNetV2:
    """ShuffleNet V2 1×: stages of 116, 232 and 464 channels."""
    return _shufflenet_v2("1x", in_channels, num_classes)


@register_model(card=CARD, display_name="ShuffleNet V2 ×1.5", default_input=_IMAGENET, documented_min_size=1)
def shufflenet_v2_x1_5(*, in_channels: int = 3, num_classes: int = 1000) -> ShuffleNetV2:
    """ShuffleNet V2 1.5×: stages of 176, 352 and 704 channels."""
    return _shufflenet_v2("1.5x", in_channels, num_classes)


@register_model(card=CARD, display_name="ShuffleNet V2 ×2.0", default_input=_IMAGENET, documented_min_size=1)
def shufflenet_v2_x2_0(*, in_channels: int = 3, num_classes: int = 1000) -> ShuffleNetV2:
    """ShuffleNet V2 2×: stages of 244, 488 and 976 channels, conv5 of 2048."""
    return _shufflenet_v2("2x", in_channels, num_classes)

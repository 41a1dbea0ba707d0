"""MobileNetV2.

Sandler, Howard, Zhu, Zhmoginov and Chen, "MobileNetV2: Inverted Residuals and
Linear Bottlenecks", CVPR 2018, doi:10.1109/CVPR.2018.00474, arXiv:1801.04381.

Module names and shapes follow ``torchvision.models.mobilenet_v2``, so a
torchvision checkpoint loads with ``load_state_dict(..., strict=True)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from archdoc.registry import PaperCard, register_model
from archdoc.zoo.layers import ConvNormAct, make_divisible

FAMILY = "MobileNetV2"

CARD = PaperCard(
    title="MobileNetV2: Inverted Residuals and Linear Bottlenecks",
    authors=("Mark Sandler", "Andrew Howard", "Menglong Zhu", "Andrey Zhmoginov", "Liang-Chieh Chen"),
    year=2018,
    venue="CVPR 2018",
    doi="10.1109/CVPR.2018.00474",
    arxiv="1801.04381",
    description=(
        "MobileNetV2 stacks inverted residual blocks: a 1×1 convolution expands a thin bottleneck "
        "six-fold, a depthwise 3×3 convolution filters it, and a linear 1×1 projection (no "
        "activation, to keep information in the narrow space) returns to the bottleneck, with the "
        "shortcut between bottlenecks. It reached 72 % ImageNet top-1 with 300 M multiply-adds and "
        "became the standard backbone for mobile classification, detection and segmentation."
    ),
    implementation=(
        "torchvision-compatible: module names and shapes match `torchvision.models.mobilenet_v2`, "
        "so torchvision checkpoints load with `strict=True`."
    ),
    deviations=(
        "Blocks with expansion factor t = 1 have no 1×1 expansion convolution (the depthwise "
        "convolution reads the input directly), as in the authors' released code; the paper's "
        "Table 1 draws every bottleneck with one.",
        "The head is adaptive global average pooling, dropout (p = 0.2) and a linear layer, so inputs "
        "of any size down to 1×1 run; the paper's Table 2 ends in a fixed 7×7 average pool and a 1×1 "
        "convolution.",
        "The first convolution takes `in_channels` input channels instead of a fixed 3, and the "
        "classifier has `num_classes` outputs instead of 1000.",
        "A `width_mult` other than 1.0 follows torchvision's rounding and does not rebuild the "
        "authors' scaled models: at 1.4 it gives 6.1 M parameters and 582 M mult-adds, against 6.9 M "
        "and 585 M in the paper's Table 4.",
    ),
)


def init_weights(model: nn.Module) -> None:
    """MobileNet initialisation: He-normal (fan-out) convolutions, N(0, 0.01) linear layers, zero biases."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)


class InvertedResidual(nn.Module):
    """Expand (1×1, ReLU6) → depthwise 3×3 (ReLU6) → linear 1×1 projection, around a shortcut."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        hidden = int(round(in_channels * expand_ratio))
        # The shortcut joins two bottlenecks of the same shape only.
        self.use_res_connect = stride == 1 and in_channels == out_channels
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvNormAct(in_channels, hidden, kernel_size=1, activation_layer=nn.ReLU6))
        layers += [
            ConvNormAct(hidden, hidden, stride=stride, groups=hidden, activation_layer=nn.ReLU6),
            nn.Conv2d(hidden, out_channels, 1, bias=False),  # linear bottleneck: no activation
            nn.BatchNorm2d(out_channels),
        ]
        self.conv = nn.Sequential(*layers)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)  # N x out_channels x H/s x W/s
        return x + out if self.use_res_connect else out


class MobileNetV2(nn.Module):
    """Stem convolution, inverted residual blocks, a 1×1 convolution to 1280 channels, classifier.

    Args:
        bottlenecks: Rows ``(t, c, n, s)`` of the paper's Table 2.
        stem_channels: Output channels of the 3×3 stem convolution.
        last_channel: Output channels of the final 1×1 convolution.
        in_channels: Input image channels.
        num_classes: Classifier outputs.
        width_mult: The paper's width multiplier; channel counts round to multiples of 8.
        dropout: Dropout probability before the classifier.
    """

    def __init__(
        self,
        bottlenecks: Sequence[tuple[int, int, int, int]],
        stem_channels: int = 32,
        last_channel: int = 1280,
        in_channels: int = 3,
        num_classes: int = 1000,
        width_mult: float = 1.0,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        channels = make_divisible(stem_channels * width_mult)
        # The paper keeps the last layer at 1280 channels for multipliers below one.
        last_channel = make_divisible(last_channel * max(1.0, width_mult))
        features: list[nn.Module] = [ConvNormAct(in_channels, channels, stride=2, activation_layer=nn.ReLU6)]
        for t, c, n, s in bottlenecks:
            out = make_divisible(c * width_mult)
            for i in range(n):
                # Only the first block of a sequence strides.
                features.append(InvertedResidual(channels, out, s if i == 0 else 1, t))
                channels = out
        features.append(ConvNormAct(channels, last_channel, kernel_size=1, activation_layer=nn.ReLU6))
        self.features = nn.Sequential(*features)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(last_channel, num_classes))
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # N x 1280 x H/32 x W/32
        x = torch.flatten(self.avgpool(x), 1)  # N x 1280
        return self.classifier(x)  # N x num_classes


# The paper's Table 2: each bottleneck sequence as (t expansion, c output channels, n repeats, s stride),
# between a 3×3 stem convolution with 32 channels (stride 2) and a 1×1 convolution with 1280.
BOTTLENECKS: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


@register_model(card=CARD, display_name="MobileNetV2", default_input=(3, 224, 224), documented_min_size=1)
def mobilenet_v2(
    *, in_channels: int = 3, num_classes: int = 1000, width_mult: float = 1.0, dropout: float = 0.2
) -> MobileNetV2:
    """MobileNetV2 at width multiplier `width_mult` (1.0 for the paper's main model)."""
    return MobileNetV2(BOTTLENECKS, 32, 1280, in_channels, num_classes, width_mult, dropout)

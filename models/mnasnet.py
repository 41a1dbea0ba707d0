"""MNASNet 0.5, 0.75, 1.0 and 1.3 (MnasNet-B1 at four depth multipliers).

Tan, Chen, Pang, Vasudevan, Sandler, Howard and Le, "MnasNet: Platform-Aware Neural
Architecture Search for Mobile", CVPR 2019, doi:10.1109/CVPR.2019.00293, arXiv:1807.11626.

Module names and shapes follow ``torchvision.models.mnasnet``.
"""

from __future__ import annotations

import torch
from torch import nn

from archdoc.registry import PaperCard, register_model
from archdoc.zoo.layers import make_divisible

FAMILY = "MNASNet"

CARD = PaperCard(
    title="MnasNet: Platform-Aware Neural Architecture Search for Mobile",
    authors=(
        "Mingxing Tan",
        "Bo Chen",
        "Ruoming Pang",
        "Vijay Vasudevan",
        "Mark Sandler",
        "Andrew Howard",
        "Quoc V. Le",
    ),
    year=2019,
    venue="CVPR 2019",
    doi="10.1109/CVPR.2019.00293",
    arxiv="1807.11626",
    description=(
        "A reinforcement-learning search picks, block by block, the operations of a mobile network of "
        "inverted-residual (MBConv) layers, rewarding accuracy and penalising latency measured on a real "
        "phone. The searched models beat MobileNetV2 on both accuracy and measured latency, and the "
        "factorised, per-block search space became the starting point of EfficientNet."
    ),
    implementation=(
        "torchvision-compatible: module names and shapes match `torchvision.models.mnasnet`, so "
        "torchvision checkpoints load with `strict=True`."
    ),
    deviations=(
        "The architecture is MnasNet-B1 from the authors' TensorFlow reference code: the same kind of "
        "MBConv blocks without squeeze-and-excitation, with stages of 24, 40, 80, 96, 192 and 320 "
        "channels repeated 3, 3, 3, 2, 4 and 1 times; the paper's Figure 7 shows MnasNet-A1 instead.",
        "The depth multiplier scales every width from the stem to the 320-channel stage, rounded to a "
        "multiple of 8 and never more than 10 % down; the last 1×1 convolution keeps 1280 channels.",
        "BatchNorm updates its running statistics with momentum 0.0003 (a decay of 0.9997); the paper "
        "trains with batch-norm momentum 0.99 (0.01 in PyTorch's convention).",
        "The global pool is a mean over the whole map, so inputs of any size down to 1×1 run.",
        "The first convolution takes `in_channels` channels and the classifier has `num_classes` outputs.",
    ),
)

_BN_MOMENTUM = 1 - 0.9997


class InvertedResidual(nn.Module):
    """MBConv: 1×1 expansion, depthwise k×k, linear 1×1 projection; a shortcut when the shape is kept."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, expansion: int) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        if kernel_size not in (3, 5):
            raise ValueError(f"kernel_size must be 3 or 5, got {kernel_size}")
        mid = in_channels * expansion
        self.apply_residual = in_channels == out_channels and stride == 1
        self.layers = nn.Sequential(
            nn.Conv2d(in_channels, mid, 1, bias=False),
            nn.BatchNorm2d(mid, momentum=_BN_MOMENTUM),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid, mid, kernel_size, stride, padding=kernel_size // 2, groups=mid, bias=False),
            nn.BatchNorm2d(mid, momentum=_BN_MOMENTUM),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels, momentum=_BN_MOMENTUM),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.layers(x)  # N x out x H/s x W/s
        return out + x if self.apply_residual else out


def _stack(
    in_channels: int, out_channels: int, kernel_size: int, stride: int, expansion: int, repeats: int
) -> nn.Sequential:
    # Only the first block changes the size and the width.
    blocks = [InvertedResidual(in_channels, out_channels, kernel_size, stride, expansion)]
    blocks += [InvertedResidual(out_channels, out_channels, kernel_size, 1, expansion) for _ in range(repeats - 1)]
    return nn.Sequential(*blocks)


# MnasNet-B1 in the paper's notation, stage by stage: MBConv expansion t, kernel k, the first
# block's stride s, output channels c (at depth multiplier 1.0) and repeats n.
STEM = (32, 16)  # Conv 3×3/2 to 32, then SepConv (k3×3) to 16
B1: tuple[tuple[int, int, int, int, int], ...] = (
    (3, 3, 2, 24, 3),  # MBConv3 (k3×3) ×3
    (3, 5, 2, 40, 3),  # MBConv3 (k5×5) ×3
    (6, 5, 2, 80, 3),  # MBConv6 (k5×5) ×3
    (6, 3, 1, 96, 2),  # MBConv6 (k3×3) ×2
    (6, 5, 2, 192, 4),  # MBConv6 (k5×5) ×4
    (6, 3, 1, 320, 1),  # MBConv6 (k3×3) ×1
)
HEAD = 1280  # Conv 1×1, not scaled by the multiplier


class MNASNet(nn.Module):
    """Stem (conv, separable conv), six MBConv stages, 1×1 conv to 1280, global pool, dropout, linear."""

    def __init__(self, alpha: float, in_channels: int = 3, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        if alpha <= 0.0:
            raise ValueError(f"alpha must be positive, got {alpha}")
        stem, separable = (make_divisible(c * alpha, 8) for c in STEM)
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, stem, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(stem, momentum=_BN_MOMENTUM),
            nn.ReLU(inplace=True),
            nn.Conv2d(stem, stem, 3, padding=1, groups=stem, bias=False),
            nn.BatchNorm2d(stem, momentum=_BN_MOMENTUM),
            nn.ReLU(inplace=True),
            nn.Conv2d(stem, separable, 1, bias=False),
            nn.BatchNorm2d(separable, momentum=_BN_MOMENTUM),
        ]
        channels = separable
        for expansion, kernel, stride, width, repeats in B1:
            width = make_divisible(width * alpha, 8)
            layers.append(_stack(channels, width, kernel, stride, expansion, repeats))
            channels = width
        layers += [
            nn.Conv2d(channels, HEAD, 1, bias=False),
            nn.BatchNorm2d(HEAD, momentum=_BN_MOMENTUM),
            nn.ReLU(inplace=True),
        ]
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True), nn.Linear(HEAD, num_classes))

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.kaiming_uniform_(m.weight, mode="fan_out", nonlinearity="sigmoid")
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layers(x)  # N x 1280 x H/32 x W/32
        x = x.mean([2, 3])  # N x 1280: global average pool
        return self.classifier(x)  # N x num_classes


def _mnasnet(alpha: float, in_channels: int, num_classes: int, dropout: float) -> MNASNet:
    return MNASNet(alpha, in_channels, num_classes, dropout)


_IMAGENET = (3, 224, 224)


# torchvision's min_size is 1 for every MNASNet.
@register_model(card=CARD, display_name="MNASNet 0.5", default_input=_IMAGENET, documented_min_size=1)
def mnasnet0_5(*, in_channels: int = 3, num_classes: int = 1000, dropout: float = 0.2) -> MNASNet:
    """MnasNet-B1 at depth multiplier 0.5."""
    return _mnasnet(0.5, in_channels, num_classes, dropout)


@register_model(card=CARD, display_name="MNASNet 0.75", default_input=_IMAGENET, documented_min_size=1)
def mnasnet0_75(*, in_channels: int = 3, num_classes: int = 1000, dropout: float = 0.2) -> MNASNet:
    """MnasNet-B1 at depth multiplier 0.75."""
    return _mnasnet(0.75, in_channels, num_classes, dropout)


@register_model(card=CARD, display_name="MNASNet 1.0", default_input=_IMAGENET, documented_min_size=1)
def mnasnet1_0(*, in_channels: int = 3, num_classes: int = 1000, dropout: float = 0.2) -> MNASNet:
    """MnasNet-B1 at depth multiplier 1.0."""
    return _mnasnet(1.0, in_channels, num_classes, dropout)


@register_model(card=CARD, display_name="MNASNet 1.3", default_input=_IMAGENET, documented_min_size=1)
def mnasnet1_3(*, in_channels: int = 3, num_classes: int = 1000, dropout: float = 0.2) -> MNASNet:
    """MnasNet-B1 at depth multiplier 1.3."""
    return _mnasnet(1.3, in_channels, num_classes, dropout)

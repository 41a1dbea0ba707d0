"""VGG-11, -13, -16 and -19, with and without BatchNorm.

Simonyan and Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", ICLR 2015, arXiv:1409.1556.

The configurations are the paper's Table 1 columns A, B, D and E. Module names
and shapes follow ``torchvision.models.vgg``.
"""

from __future__ import annotations

from typing import Union

import torch
from torch import nn

from archdoc.registry import PaperCard, register_model

FAMILY = "VGG"

CARD = PaperCard(
    title="Very Deep Convolutional Networks for Large-Scale Image Recognition",
    authors=("Karen Simonyan", "Andrew Zisserman"),
    year=2015,
    venue="ICLR 2015",
    arxiv="1409.1556",
    description=(
        "Stacks of 3×3 convolutions between five 2×2 max-pools, then three fully connected layers, "
        "at depths of 11 to 19 weight layers. It showed that depth built from small filters beats "
        "large filters, and its features became a standard backbone."
    ),
    implementation=(
        "torchvision-compatible: module names and shapes match `torchvision.models.vgg`, so "
        "torchvision checkpoints load with `strict=True`."
    ),
    deviations=(
        "An adaptive 7×7 average pool before the classifier lets any input of at least 32×32 run; "
        "the paper's classifier expects exactly 7×7 maps (224×224 inputs) and is applied densely "
        "(as convolutions) at test time.",
        "The first convolution takes `in_channels` channels and the classifier has `num_classes` "
        "outputs.",
    ),
)
BATCHNORM = "BatchNorm follows every convolution (not in the paper, which predates BatchNorm)."

# Table 1 of the paper: output channels of each 3x3 convolution, "M" for a 2x2 max-pool.
Config = list[Union[int, str]]
CONFIGS: dict[str, Config] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


def make_features(config: Config, in_channels: int, batch_norm: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    channels = in_channels
    for v in config:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        assert isinstance(v, int)
        layers.append(nn.Conv2d(channels, v, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU(inplace=True))
        channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """Convolutional features, adaptive 7×7 pool, three linear layers."""

    def __init__(self, features: nn.Sequential, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.constant_(m.bias, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # N x 512 x H/32 x W/32
        x = torch.flatten(self.avgpool(x), 1)  # N x 25088
        return self.classifier(x)


def _vgg(config: str, batch_norm: bool, in_channels: int, num_classes: int, dropout: float) -> VGG:
    return VGG(make_features(CONFIGS[config], in_channels, batch_norm), num_classes, dropout)


_IMAGENET = (3, 224, 224)


@register_model(card=CARD, display_name="VGG-11", default_input=_IMAGENET)
def vgg11(*, in_channels: int = 3, num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-11, configuration A."""
    return _vgg("A", False, in_channels, num_classes, dropout)


@register_model(card=CARD, display_name="VGG-13", default_input=_IMAGENET)
def vgg13(*, in_channels: int = 3, num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-13, configuration B."""
    return _vgg("B", False, in_channels, num_classes, dropout)


@register_model(card=CARD, display_name="VGG-16", default_input=_IMAGENET)
def vgg16(*, in_channels: int = 3, num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-16, configuration D."""
    return _vgg("D", False, in_channels, num_classes, dropout)


@register_model(card=CARD, display_name="VGG-19", default_input=_IMAGENET)
def vgg19(*, in_channels: int = 3, num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-19, configuration E."""
    return _vgg("E", False, in_channels, num_classes, dropout)


@register_model(card=CARD, display_name="VGG-11-BN", default_input=_IMAGENET, deviations=(BATCHNORM,))
def vgg11_bn(*, in_channels: int = 3, num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-11 with BatchNorm, configuration A."""
    return _vgg("A", True, in_channels, num_classes, dropout)


@register_model(card=CARD, display_name="VGG-13-BN", default_input=_IMAGENET, deviations=(BATCHNORM,))
def vgg13_bn(*, in_channels: int = 3, num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-13 with BatchNorm, configuration B."""
    return _vgg("B", True, in_channels, num_classes, dropout)


@register_model(card=CARD, display_name="VGG-16-BN", default_input=_IMAGENET, deviations=(BATCHNORM,))
def vgg16_bn(*, in_channels: int = 3, num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-16 with BatchNorm, configuration D."""
    return _vgg("D", True, in_channels, num_classes, dropout)


@register_model(card=CARD, display_name="VGG-19-BN", default_input=_IMAGENET, deviations=(BATCHNORM,))
def vgg19_bn(*, in_channels: int = 3, num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-19 with BatchNorm, configuration E."""
    return _vgg("E", True, in_channels, num_classes, dropout)

"""DenseNet-121, -161, -169 and -201 (DenseNet-BC).

Huang, Liu, van der Maaten and Weinberger, "Densely Connected Convolutional
Networks", CVPR 2017, doi:10.1109/CVPR.2017.243, arXiv:1608.06993.

Module names and shapes follow ``torchvision.models.densenet``.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from archdoc.registry import PaperCard, register_model

FAMILY = "DenseNet"

CARD = PaperCard(
    title="Densely Connected Convolutional Networks",
    authors=("Gao Huang", "Zhuang Liu", "Laurens van der Maaten", "Kilian Q. Weinberger"),
    year=2017,
    venue="CVPR 2017",
    doi="10.1109/CVPR.2017.243",
    arxiv="1608.06993",
    description=(
        "Inside a dense block every layer receives the concatenated feature maps of all layers "
        "before it and adds only k new ones (the growth rate); transition layers halve the channels "
        "and the resolution between blocks. Feature reuse let DenseNets match ResNets' ImageNet "
        "accuracy with far fewer parameters, and the paper won the CVPR 2017 best paper award."
    ),
    implementation=(
        "torchvision-compatible: module names and shapes match `torchvision.models.densenet`, so the "
        "state_dict of a torchvision DenseNet loads with `strict=True`. torchvision's downloadable "
        "checkpoint files use older key names (`norm.1` for `norm1`), which torchvision renames when "
        "loading; rename them the same way before loading such a file directly."
    ),
    deviations=(
        "A BatchNorm and ReLU (`norm5`) follow the last dense block before the pool, as in the authors' "
        "code; the paper's Table 1 does not list them.",
        "The global average pool is adaptive, so any input of at least 29×29 runs; the paper's Table 1 "
        "pools a fixed 7×7 map of 224×224 inputs.",
        "The first convolution takes `in_channels` channels and the classifier has `num_classes` outputs.",
    ),
)
DENSENET_161 = (
    "DenseNet-161 (growth rate 48, 96 initial features) is not in the paper's Table 1; it comes from "
    "the authors' released ImageNet models."
)


class DenseLayer(nn.Module):
    """BN-ReLU-Conv(1×1) to 4k channels, then BN-ReLU-Conv(3×3) to k new channels (the paper's H_l)."""

    def __init__(self, in_channels: int, growth_rate: int, bn_size: int, drop_rate: float) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(in_channels)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_channels, bn_size * growth_rate, kernel_size=1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, kernel_size=3, padding=1, bias=False)
        self.drop_rate = drop_rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(self.relu1(self.norm1(x)))  # N x 4k x H x W: the bottleneck caps the cost
        x = self.conv2(self.relu2(self.norm2(x)))  # N x k x H x W
        if self.drop_rate > 0:
            x = F.dropout(x, p=self.drop_rate, training=self.training)
        return x


class DenseBlock(nn.Module):
    """``num_layers`` dense layers; each sees the block input and every earlier layer's output."""

    def __init__(self, num_layers: int, in_channels: int, growth_rate: int, bn_size: int, drop_rate: float) -> None:
        super().__init__()
        for i in range(num_layers):
            layer = DenseLayer(in_channels + i * growth_rate, growth_rate, bn_size, drop_rate)
            self.add_module(f"denselayer{i + 1}", layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The concatenation grows by k channels per layer: [x_0, x_1, ..., x_l].
        for layer in self.children():
            x = torch.cat([x, layer(x)], 1)  # N x (C + l·k) x H x W
        return x


class Transition(nn.Sequential):
    """BN-ReLU-Conv(1×1) compressing the channels, then a 2×2 average pool halving the size."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            OrderedDict(
                norm=nn.BatchNorm2d(in_channels),
                relu=nn.ReLU(inplace=True),
                conv=nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False),
                pool=nn.AvgPool2d(kernel_size=2, stride=2),
            )
        )


class DenseNet(nn.Module):
    """Stem, four dense blocks with transitions between them, BN-ReLU, global pool, linear classifier."""

    def __init__(
        self,
        growth_rate: int,
        block_config: tuple[int, int, int, int],
        in_channels: int = 3,
        num_classes: int = 1000,
        bn_size: int = 4,
        compression: float = 0.5,
        drop_rate: float = 0.0,
    ) -> None:
        super().__init__()
        channels = 2 * growth_rate  # the paper's stem: 2k filters of 7×7, stride 2
        stem = OrderedDict(
            conv0=nn.Conv2d(in_channels, channels, kernel_size=7, stride=2, padding=3, bias=False),
            norm0=nn.BatchNorm2d(channels),
            relu0=nn.ReLU(inplace=True),
            pool0=nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        )
        self.features = nn.Sequential(stem)
        for i, num_layers in enumerate(block_config, start=1):
            block = DenseBlock(num_layers, channels, growth_rate, bn_size, drop_rate)
            self.features.add_module(f"denseblock{i}", block)
            channels += num_layers * growth_rate
            if i < len(block_config):
                compressed = int(channels * compression)
                self.features.add_module(f"transition{i}", Transition(channels, compressed))
                channels = compressed
        self.features.add_module("norm5", nn.BatchNorm2d(channels))
        self.relu = nn.ReLU(inplace=True)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.classifier = nn.Linear(channels, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.constant_(m.bias, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # DenseNet-121 at 224 x 224: stem 64 x 56 x 56, blocks 256 x 56, 512 x 28, 1024 x 14, 1024 x 7
        # (each transition halves the channels and the size).
        x = self.relu(self.features(x))  # N x C x H/32 x W/32
        x = torch.flatten(self.avgpool(x), 1)  # N x C
        return self.classifier(x)  # N x num_classes


# The paper's Table 1 (DenseNet-BC, bottleneck 4k, compression 0.5): growth rate k and the
# number of layers in dense blocks 1 to 4, keyed by depth.
CONFIGS: dict[int, tuple[int, tuple[int, int, int, int]]] = {
    121: (32, (6, 12, 24, 16)),
    161: (48, (6, 12, 36, 24)),  # the authors' release, see DENSENET_161
    169: (32, (6, 12, 32, 32)),
    201: (32, (6, 12, 48, 32)),
}


def _densenet(depth: int, in_channels: int, num_classes: int, drop_rate: float) -> DenseNet:
    growth_rate, block_config = CONFIGS[depth]
    return DenseNet(growth_rate, block_config, in_channels, num_classes, drop_rate=drop_rate)


_IMAGENET = (3, 224, 224)


# torchvision's min_size is 29 for every DenseNet.
@register_model(card=CARD, display_name="DenseNet-121", default_input=_IMAGENET, documented_min_size=29)
def densenet121(*, in_channels: int = 3, num_classes: int = 1000, drop_rate: float = 0.0) -> DenseNet:
    """DenseNet-121: k = 32, blocks (6, 12, 24, 16)."""
    return _densenet(121, in_channels, num_classes, drop_rate)


@register_model(
    card=CARD, display_name="DenseNet-161", default_input=_IMAGENET, deviations=(DENSENET_161,), documented_min_size=29
)
def densenet161(*, in_channels: int = 3, num_classes: int = 1000, drop_rate: float = 0.0) -> DenseNet:
    """DenseNet-161: k = 48, blocks (6, 12, 36, 24)."""
    return _densenet(161, in_channels, num_classes, drop_rate)


@register_model(card=CARD, display_name="DenseNet-169", default_input=_IMAGENET, documented_min_size=29)
def densenet169(*, in_channels: int = 3, num_classes: int = 1000, drop_rate: float = 0.0) -> DenseNet:
    """DenseNet-169: k = 32, blocks (6, 12, 32, 32)."""
    return _densenet(169, in_channels, num_classes, drop_rate)


@register_model(card=CARD, display_name="DenseNet-201", default_input=_IMAGENET, documented_min_size=29)
def densenet201(*, in_channels: int = 3, num_classes: int = 1000, drop_rate: float = 0.0) -> DenseNet:
    """DenseNet-201: k = 32, blocks (6, 12, 48, 32)."""
    return _densenet(201, in_channels, num_classes, drop_rate)

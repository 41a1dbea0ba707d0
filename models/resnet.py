"""ResNet-18, -34, -50, -101 and -152.

He, Zhang, Ren and Sun, "Deep Residual Learning for Image Recognition",
CVPR 2016, doi:10.1109/CVPR.2016.90, arXiv:1512.03385.

The modules and their names follow ``torchvision.models.resnet``, so a
torchvision checkpoint loads with ``load_state_dict(..., strict=True)``.
"""

from __future__ import annotations

from typing import Union

import torch
from torch import nn

from archdoc.registry import PaperCard, register_model

FAMILY = "ResNet"

CARD = PaperCard(
    title="Deep Residual Learning for Image Recognition",
    authors=("Kaiming He", "Xiangyu Zhang", "Shaoqing Ren", "Jian Sun"),
    year=2016,
    venue="CVPR 2016",
    doi="10.1109/CVPR.2016.90",
    arxiv="1512.03385",
    description=(
        "Residual networks add an identity shortcut around every two or three convolutions, "
        "so each block learns a correction to its input. The shortcuts made networks of 50 to "
        "152 layers trainable and won ILSVRC 2015."
    ),
    implementation=(
        "torchvision-compatible: module names and shapes match `torchvision.models.resnet`, "
        "so torchvision checkpoints load with `strict=True`."
    ),
    deviations=(
        "Shortcuts that change shape are 1×1 projections with BatchNorm (the paper's option B) "
        "for every depth; the paper's ImageNet ResNet-18/34 used zero-padded identity shortcuts "
        "(option A).",
        "The first convolution takes `in_channels` input channels instead of a fixed 3, and the "
        "classifier has `num_classes` outputs instead of 1000.",
        "Global average pooling is adaptive, so inputs of any size down to 1×1 run; the paper "
        "trains and tests on 224×224 crops.",
    ),
)

V15 = (
    "Bottleneck blocks downsample in the 3×3 convolution (stride 2 in `conv2`), as in torchvision's "
    "ResNet v1.5; the paper puts the stride in the first 1×1 convolution."
)


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, groups=groups, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3×3 convolutions around an identity (or projection) shortcut.

    It has no grouped or widened form: ``groups`` and ``base_width`` are accepted so that
    both block types share one signature, and must keep their defaults.
    """

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        groups: int = 1,
        base_width: int = 64,
    ) -> None:
        super().__init__()
        if groups != 1 or base_width != 64:
            raise ValueError(f"BasicBlock takes groups=1 and base_width=64, got {groups} and {base_width}")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x  # N x C x H x W
        out = self.relu(self.bn1(self.conv1(x)))  # N x planes x H/s x W/s
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)  # match the residual's channels and size
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1×1 reduce, 3×3, 1×1 expand (×4), around a shortcut; stride sits on the 3×3 (v1.5).

    The inner width is ``planes · base_width / 64`` channels per group times ``groups``:
    ``planes`` for ResNet (1 group of 64), 32 groups of 4 for ResNeXt-50 32×4d, twice
    ``planes`` for Wide ResNet-50-2 (1 group of 128). The 3×3 convolution is grouped.
    """

    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        groups: int = 1,
        base_width: int = 64,
    ) -> None:
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride, groups)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x  # N x C x H x W
        out = self.relu(self.bn1(self.conv1(x)))  # N x width x H x W
        out = self.relu(self.bn2(self.conv2(out)))  # N x width x H/s x W/s
        out = self.bn3(self.conv3(out))  # N x 4*planes x H/s x W/s
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


Block = Union[type[BasicBlock], type[Bottleneck]]


class ResNet(nn.Module):
    """Stem, four stages of residual blocks, global average pool and a linear classifier.

    ``groups`` and ``width_per_group`` set the bottlenecks' inner width (see
    :class:`Bottleneck`); their defaults give ResNet, and ResNeXt and Wide ResNet reuse
    this class with other values.
    """

    def __init__(
        self,
        block: Block,
        layers: tuple[int, int, int, int],
        in_channels: int = 3,
        num_classes: int = 1000,
        zero_init_residual: bool = False,
        groups: int = 1,
        width_per_group: int = 64,
    ) -> None:
        super().__init__()
        self.inplanes = 64
        self.groups = groups
        self.base_width = width_per_group
        self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            # Each block then starts as the identity (Goyal et al., 2017).
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.constant_(m.bn3.weight, 0)
                elif isinstance(m, BasicBlock):
                    nn.init.constant_(m.bn2.weight, 0)

    def _make_layer(self, block: Block, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width)]
        self.inplanes = planes * block.expansion
        layers += [
            block(self.inplanes, planes, groups=self.groups, base_width=self.base_width) for _ in range(1, blocks)
        ]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # N x 64 x H/4 x W/4
        x = self.layer1(x)  # N x 64e x H/4 x W/4
        x = self.layer2(x)  # N x 128e x H/8 x W/8
        x = self.layer3(x)  # N x 256e x H/16 x W/16
        x = self.layer4(x)  # N x 512e x H/32 x W/32
        x = torch.flatten(self.avgpool(x), 1)  # N x 512e
        return self.fc(x)  # N x num_classes


# The paper's Table 1, as (block, blocks per stage conv2_x..conv5_x).
CONFIGS: dict[int, tuple[Block, tuple[int, int, int, int]]] = {
    18: (BasicBlock, (2, 2, 2, 2)),
    34: (BasicBlock, (3, 4, 6, 3)),
    50: (Bottleneck, (3, 4, 6, 3)),
    101: (Bottleneck, (3, 4, 23, 3)),
    152: (Bottleneck, (3, 8, 36, 3)),
}


def _resnet(depth: int, in_channels: int, num_classes: int, zero_init_residual: bool) -> ResNet:
    block, layers = CONFIGS[depth]
    return ResNet(block, layers, in_channels, num_classes, zero_init_residual)


_IMAGENET = (3, 224, 224)


@register_model(card=CARD, display_name="ResNet-18", default_input=_IMAGENET)
def resnet18(*, in_channels: int = 3, num_classes: int = 1000, zero_init_residual: bool = False) -> ResNet:
    """ResNet-18: BasicBlocks (2, 2, 2, 2)."""
    return _resnet(18, in_channels, num_classes, zero_init_residual)


@register_model(card=CARD, display_name="ResNet-34", default_input=_IMAGENET)
def resnet34(*, in_channels: int = 3, num_classes: int = 1000, zero_init_residual: bool = False) -> ResNet:
    """ResNet-34: BasicBlocks (3, 4, 6, 3)."""
    return _resnet(34, in_channels, num_classes, zero_init_residual)


@register_model(card=CARD, display_name="ResNet-50", default_input=_IMAGENET, deviations=(V15,))
def resnet50(*, in_channels: int = 3, num_classes: int = 1000, zero_init_residual: bool = False) -> ResNet:
    """ResNet-50: Bottlenecks (3, 4, 6, 3)."""
    return _resnet(50, in_channels, num_classes, zero_init_residual)


@register_model(card=CARD, display_name="ResNet-101", default_input=_IMAGENET, deviations=(V15,))
def resnet101(*, in_channels: int = 3, num_classes: int = 1000, zero_init_residual: bool = False) -> ResNet:
    """ResNet-101: Bottlenecks (3, 4, 23, 3)."""
    return _resnet(101, in_channels, num_classes, zero_init_residual)


@register_model(card=CARD, display_name="ResNet-152", default_input=_IMAGENET, deviations=(V15,))
def resnet152(*, in_channels: int = 3, num_classes: int = 1000, zero_init_residual: bool = False) -> ResNet:
    """ResNet-152: Bottlenecks (3, 8, 36, 3)."""
    return _resnet(152, in_channels, num_classes, zero_init_residual)

"""SqueezeNet 1.0 and 1.1.

Iandola, Han, Moskewicz, Ashraf, Dally and Keutzer, "SqueezeNet: AlexNet-level
accuracy with 50x fewer parameters and <0.5MB model size", 2016, arXiv:1602.07360.
Version 1.1 comes from the authors' release of the model (github.com/forresti/SqueezeNet),
not from the paper.

Module names and shapes follow ``torchvision.models.squeezenet``.
"""

from __future__ import annotations

from typing import Union

import torch
from torch import nn

from archdoc.registry import PaperCard, register_model

FAMILY = "SqueezeNet"

CARD = PaperCard(
    title="SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and <0.5MB model size",
    authors=(
        "Forrest N. Iandola",
        "Song Han",
        "Matthew W. Moskewicz",
        "Khalid Ashraf",
        "William J. Dally",
        "Kurt Keutzer",
    ),
    year=2016,
    venue="arXiv preprint",
    arxiv="1602.07360",
    description=(
        "Fire modules squeeze the channels with 1×1 convolutions, then expand them again with "
        "1×1 and 3×3 convolutions side by side; there are no fully connected layers, and a 1×1 "
        "convolution with global average pooling classifies. It matched AlexNet's ImageNet "
        "accuracy with 50 times fewer parameters, and made model size a design goal."
    ),
    implementation=(
        "torchvision-compatible: module names and shapes match `torchvision.models.squeezenet`, "
        "so torchvision checkpoints load with `strict=True`."
    ),
    deviations=(
        "The final pool is adaptive (to 1×1), so any input from the minimum size up runs; the paper's "
        "avgpool10 pools a fixed 13×13 map.",
        "The first convolution takes `in_channels` channels and the classifying convolution has "
        "`num_classes` outputs.",
        "There are no bypass connections (the paper's vanilla SqueezeNet, not its simple or "
        "complex bypass variants).",
    ),
)
CROP_224 = (
    "The default input is torchvision's 224×224 crop (conv1 gives 109×109); the sizes in the paper's "
    "Table 1 (conv1 111×111) come from Caffe's 227×227 crops."
)
V11 = (
    "Version 1.1 is not in the paper: the authors' release has 64 3×3 filters in conv1 and max-pools "
    "after conv1, fire3 and fire5 (instead of conv1, fire4 and fire8), for 2.4× less computation at "
    "the same accuracy."
)


class Fire(nn.Module):
    """Squeeze with 1×1 convolutions, then expand with 1×1 and 3×3 convolutions, concatenated."""

    def __init__(self, in_channels: int, squeeze: int, expand1x1: int, expand3x3: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(in_channels, squeeze, kernel_size=1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze, expand1x1, kernel_size=1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze, expand3x3, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.squeeze_activation(self.squeeze(x))  # N x s1x1 x H x W
        ones = self.expand1x1_activation(self.expand1x1(x))  # N x e1x1 x H x W
        threes = self.expand3x3_activation(self.expand3x3(x))  # N x e3x3 x H x W
        return torch.cat([ones, threes], 1)  # N x (e1x1 + e3x3) x H x W


# A stage entry: a Fire module as the paper's (s1x1, e1x1, e3x3), or "M" for a 3×3/2 max-pool.
Layer = Union[tuple[int, int, int], str]


class SqueezeNet(nn.Module):
    """conv1, max-pools and Fire modules, then dropout, a 1×1 classifying convolution and a global pool."""

    def __init__(
        self,
        conv1: tuple[int, int],
        layers: list[Layer],
        in_channels: int = 3,
        num_classes: int = 1000,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        width, kernel = conv1
        modules: list[nn.Module] = [nn.Conv2d(in_channels, width, kernel_size=kernel, stride=2), nn.ReLU(inplace=True)]
        channels = width
        for layer in layers:
            if layer == "M":
                modules.append(nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True))
                continue
            squeeze, expand1x1, expand3x3 = layer
            modules.append(Fire(channels, squeeze, expand1x1, expand3x3))
            channels = expand1x1 + expand3x3
        self.features = nn.Sequential(*modules)
        conv10 = nn.Conv2d(channels, num_classes, kernel_size=1)
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), conv10, nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d((1, 1))
        )

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                # conv10 starts small: its outputs are the class scores.
                if m is conv10:
                    nn.init.normal_(m.weight, mean=0.0, std=0.01)
                else:
                    nn.init.kaiming_uniform_(m.weight)
                nn.init.constant_(m.bias, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # N x 512 x 13 x 13 at 224 x 224
        x = self.classifier(x)  # N x num_classes x 1 x 1
        return torch.flatten(x, 1)  # N x num_classes


# The paper's Table 1 (1.0) and the authors' v1.1 release: conv1 as (filters, kernel), then
# maxpool1 and fire2 ... fire9 in order.
CONFIGS: dict[str, tuple[tuple[int, int], list[Layer]]] = {
    "1.0": (
        (96, 7),
        ["M", (16, 64, 64), (16, 64, 64), (32, 128, 128), "M",
         (32, 128, 128), (48, 192, 192), (48, 192, 192), (64, 256, 256), "M", (64, 256, 256)],
    ),
    "1.1": (
        (64, 3),
        ["M", (16, 64, 64), (16, 64, 64), "M", (32, 128, 128), (32, 128, 128), "M",
         (48, 192, 192), (48, 192, 192), (64, 256, 256), (64, 256, 256)],
    ),
}  # fmt: skip


def _squeezenet(version: str, in_channels: int, num_classes: int, dropout: float) -> SqueezeNet:
    conv1, layers = CONFIGS[version]
    return SqueezeNet(conv1, layers, in_channels, num_classes, dropout)


_IMAGENET = (3, 224, 224)


# torchvision's min_size: 21 (1.0), 17 (1.1).
@register_model(
    card=CARD, display_name="SqueezeNet 1.0", default_input=_IMAGENET, deviations=(CROP_224,), documented_min_size=21
)
def squeezenet1_0(*, in_channels: int = 3, num_classes: int = 1000, dropout: float = 0.5) -> SqueezeNet:
    """SqueezeNet 1.0, the paper's Table 1."""
    return _squeezenet("1.0", in_channels, num_classes, dropout)


@register_model(
    card=CARD, display_name="SqueezeNet 1.1", default_input=_IMAGENET, deviations=(V11,), documented_min_size=17
)
def squeezenet1_1(*, in_channels: int = 3, num_classes: int = 1000, dropout: float = 0.5) -> SqueezeNet:
    """SqueezeNet 1.1: conv1 3×3 with 64 filters, pools moved earlier."""
    return _squeezenet("1.1", in_channels, num_classes, dropout)

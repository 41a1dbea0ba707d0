"""GoogLeNet (Inception v1).

Szegedy, Liu, Jia, Sermanet, Reed, Anguelov, Erhan, Vanhoucke and Rabinovich,
"Going Deeper with Convolutions", CVPR 2015, doi:10.1109/CVPR.2015.7298594,
arXiv:1409.4842.

Module names and shapes follow ``torchvision.models.googlenet``.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Union

import torch
import torch.nn.functional as F
from torch import nn

from archdoc.registry import PaperCard, register_model

FAMILY = "GoogLeNet"

CARD = PaperCard(
    title="Going Deeper with Convolutions",
    authors=(
        "Christian Szegedy",
        "Wei Liu",
        "Yangqing Jia",
        "Pierre Sermanet",
        "Scott Reed",
        "Dragomir Anguelov",
        "Dumitru Erhan",
        "Vincent Vanhoucke",
        "Andrew Rabinovich",
    ),
    year=2015,
    venue="CVPR 2015",
    doi="10.1109/CVPR.2015.7298594",
    arxiv="1409.4842",
    description=(
        "Inception modules run 1×1, 3×3 and 5×5 convolutions and a pooling branch side by side "
        "and concatenate them, with 1×1 bottlenecks keeping the cost down. The 22-layer network "
        "won ILSVRC 2014 with a twelfth of AlexNet's parameters."
    ),
    implementation=(
        "torchvision-compatible: module names and shapes match `torchvision.models.googlenet`, "
        "so torchvision checkpoints load with `strict=True`."
    ),
    deviations=(
        "The \"5×5\" branch of every Inception module uses a 3×3 kernel, as torchvision's "
        "implementation does (kept for checkpoint compatibility).",
        "Every convolution is followed by BatchNorm (eps 0.001) and has no bias; the paper predates "
        "BatchNorm.",
        "There is no local response normalisation after the stem.",
        "The auxiliary classifiers are optional (`aux_logits`, off by default) and pool adaptively "
        "to 4×4; they only run in training mode.",
        "Max-pools round up (`ceil_mode=True`) and the final pool is adaptive.",
        "The max-pool before inception (5a) is 2×2/2, where the paper's table has 3×3/2; the "
        "output is 7×7 either way.",
    ),
)


class GoogLeNetOutputs(NamedTuple):
    logits: torch.Tensor
    aux_logits2: Optional[torch.Tensor]
    aux_logits1: Optional[torch.Tensor]


class BasicConv2d(nn.Module):
    """Convolution without bias, BatchNorm, ReLU."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)), inplace=True)


class Inception(nn.Module):
    """Four branches, concatenated along channels: 1×1 | 1×1→3×3 | 1×1→3×3 ("5×5") | pool→1×1."""

    def __init__(
        self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int, ch5x5: int, pool_proj: int
    ) -> None:
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(
            BasicConv2d(in_channels, ch3x3red, kernel_size=1),
            BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1),
        )
        self.branch3 = nn.Sequential(
            BasicConv2d(in_channels, ch5x5red, kernel_size=1),
            BasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1),  # 3x3, see the card
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            BasicConv2d(in_channels, pool_proj, kernel_size=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]
        return torch.cat(branches, 1)  # N x (ch1x1 + ch3x3 + ch5x5 + pool_proj) x H x W


class InceptionAux(nn.Module):
    """Auxiliary classifier on an intermediate Inception output (training only)."""

    def __init__(self, in_channels: int, num_classes: int, dropout: float = 0.7) -> None:
        super().__init__()
        self.conv = BasicConv2d(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(x, (4, 4))  # N x C x 4 x 4
        x = torch.flatten(self.conv(x), 1)  # N x 2048
        x = self.dropout(F.relu(self.fc1(x), inplace=True))
        return self.fc2(x)


# Table 1 of the paper: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj per module.
INCEPTION: dict[str, tuple[int, int, int, int, int, int]] = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


def _inception(in_channels: int, key: str) -> Inception:
    return Inception(in_channels, *INCEPTION[key])


class GoogLeNet(nn.Module):
    """Stem, nine Inception modules in three stages, global average pool, linear classifier."""

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 1000,
        aux_logits: bool = False,
        transform_input: bool = False,
        dropout: float = 0.2,
        dropout_aux: float = 0.7,
    ) -> None:
        super().__init__()
        self.aux_logits = aux_logits
        self.transform_input = transform_input
        self.conv1 = BasicConv2d(in_channels, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = _inception(192, "3a")
        self.inception3b = _inception(256, "3b")
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = _inception(480, "4a")
        self.inception4b = _inception(512, "4b")
        self.inception4c = _inception(512, "4c")
        self.inception4d = _inception(512, "4d")
        self.inception4e = _inception(528, "4e")
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = _inception(832, "5a")
        self.inception5b = _inception(832, "5b")
        self.aux1: Optional[InceptionAux] = InceptionAux(512, num_classes, dropout_aux) if aux_logits else None
        self.aux2: Optional[InceptionAux] = InceptionAux(528, num_classes, dropout_aux) if aux_logits else None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(1024, num_classes)

        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _transform_input(self, x: torch.Tensor) -> torch.Tensor:
        # Map inputs normalised with (0.5, 0.5) to ImageNet's mean and std, per channel.
        if self.transform_input:
            x_ch0 = torch.unsqueeze(x[:, 0], 1) * (0.229 / 0.5) + (0.485 - 0.5) / 0.5
            x_ch1 = torch.unsqueeze(x[:, 1], 1) * (0.224 / 0.5) + (0.456 - 0.5) / 0.5
            x_ch2 = torch.unsqueeze(x[:, 2], 1) * (0.225 / 0.5) + (0.406 - 0.5) / 0.5
            x = torch.cat((x_ch0, x_ch1, x_ch2), 1)
        return x

    def forward(self, x: torch.Tensor) -> Union[GoogLeNetOutputs, torch.Tensor]:
        x = self._transform_input(x)
        x = self.maxpool1(self.conv1(x))  # N x 64 x 56 x 56
        x = self.maxpool2(self.conv3(self.conv2(x)))  # N x 192 x 28 x 28
        x = self.inception3b(self.inception3a(x))  # N x 480 x 28 x 28
        x = self.inception4a(self.maxpool3(x))  # N x 512 x 14 x 14
        aux1 = self.aux1(x) if self.aux1 is not None and self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))  # N x 528 x 14 x 14
        aux2 = self.aux2(x) if self.aux2 is not None and self.training else None
        x = self.maxpool4(self.inception4e(x))  # N x 832 x 7 x 7
        x = self.inception5b(self.inception5a(x))  # N x 1024 x 7 x 7
        x = torch.flatten(self.avgpool(x), 1)  # N x 1024
        x = self.fc(self.dropout(x))  # N x num_classes
        if self.training and self.aux_logits:
            return GoogLeNetOutputs(x, aux2, aux1)
        return x


@register_model(card=CARD, display_name="GoogLeNet", default_input=(3, 224, 224))
def googlenet(
    *,
    in_channels: int = 3,
    num_classes: int = 1000,
    aux_logits: bool = False,
    transform_input: bool = False,
    dropout: float = 0.2,
    dropout_aux: float = 0.7,
) -> GoogLeNet:
    """GoogLeNet; `aux_logits=True` adds the two auxiliary classifiers (used in training)."""
    return GoogLeNet(in_channels, num_classes, aux_logits, transform_input, dropout, dropout_aux)

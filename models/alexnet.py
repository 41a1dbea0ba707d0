"""AlexNet: torchvision's single-GPU variant, the 2012 paper's network, and a BatchNorm variant.

Krizhevsky, Sutskever and Hinton, "ImageNet Classification with Deep
Convolutional Neural Networks", NIPS 2012 (Communications of the ACM 60(6),
2017, doi:10.1145/3065386).

Krizhevsky, "One weird trick for parallelizing convolutional neural networks",
arXiv:1404.5997, 2014: the 64/192/384/256/256 network that torchvision ships.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from archdoc.registry import PaperCard, register_model

FAMILY = "AlexNet"

PAPER_2012 = PaperCard(
    title="ImageNet Classification with Deep Convolutional Neural Networks",
    authors=("Alex Krizhevsky", "Ilya Sutskever", "Geoffrey E. Hinton"),
    year=2012,
    venue="Advances in Neural Information Processing Systems 25 (NIPS 2012)",
    doi="10.1145/3065386",
    description=(
        "Five convolutional and three fully connected layers with ReLU, dropout, local response "
        "normalisation and overlapping pooling, trained on two GPUs. It won ILSVRC 2012 by a wide "
        "margin and started the deep-learning era of computer vision."
    ),
    implementation="archdoc's reference implementation of the paper's Figure 2, including the two-GPU grouping.",
    deviations=(
        "The two GPUs' halves are expressed as grouped convolutions (`groups=2` on conv2, conv4 "
        "and conv5); conv3 and the classifier see both halves, as in the paper.",
        "The input is 3×227×227, which makes the paper's 55×55 first-layer maps come out exactly; "
        "the paper's text says 224×224.",
    ),
)

WEIRD_TRICK = PaperCard(
    title="One weird trick for parallelizing convolutional neural networks",
    authors=("Alex Krizhevsky",),
    year=2014,
    venue="arXiv preprint",
    arxiv="1404.5997",
    description=(
        "A single-tower AlexNet with 64/192/384/256/256 filters and no response normalisation, "
        "built to study data and model parallelism. It is the AlexNet that torchvision ships."
    ),
    implementation=(
        "torchvision-compatible: module names and shapes match `torchvision.models.alexnet`, so "
        "torchvision checkpoints load with `strict=True`."
    ),
    deviations=(
        "Filter counts are 64/192/384/256/256 instead of the 2012 network's 96/256/384/384/256, "
        "with no local response normalisation and no two-GPU grouping.",
        "An adaptive 6×6 average pool before the classifier accepts any input of at least 63×63.",
    ),
)


def classifier(num_classes: int, dropout: float) -> nn.Sequential:
    """The three fully connected layers on 256 x 6 x 6 features (indices as torchvision's)."""
    return nn.Sequential(
        nn.Dropout(p=dropout),
        nn.Linear(256 * 6 * 6, 4096),
        nn.ReLU(inplace=True),
        nn.Dropout(p=dropout),
        nn.Linear(4096, 4096),
        nn.ReLU(inplace=True),
        nn.Linear(4096, num_classes),
    )


class AlexNet(nn.Module):
    """torchvision's AlexNet: five convolutions, adaptive 6×6 pool, three linear layers."""

    def __init__(self, in_channels: int = 3, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 64, kernel_size=11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = classifier(num_classes, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # N x 256 x 6 x 6 at 224 x 224
        x = torch.flatten(self.avgpool(x), 1)  # N x 9216
        return self.classifier(x)


class AlexNet2012(nn.Module):
    """The 2012 network: 96/256/384/384/256 filters, LRN, overlapping pooling, two GPU groups."""

    def __init__(self, in_channels: int = 3, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()

        def lrn() -> nn.LocalResponseNorm:
            # Section 3.3: k = 2, n = 5, alpha = 1e-4, beta = 0.75.
            return nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0)

        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 96, kernel_size=11, stride=4),  # N x 96 x 55 x 55
            nn.ReLU(inplace=True),
            lrn(),
            nn.MaxPool2d(kernel_size=3, stride=2),  # overlapping: N x 96 x 27 x 27
            nn.Conv2d(96, 256, kernel_size=5, padding=2, groups=2),
            nn.ReLU(inplace=True),
            lrn(),
            nn.MaxPool2d(kernel_size=3, stride=2),  # N x 256 x 13 x 13
            nn.Conv2d(256, 384, kernel_size=3, padding=1),  # both GPUs' maps
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 384, kernel_size=3, padding=1, groups=2),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1, groups=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),  # N x 256 x 6 x 6
        )
        self.classifier = classifier(num_classes, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.features(x), 1)  # N x 9216
        return self.classifier(x)


def _conv_bn(in_channels: int, out_channels: int, pool: bool, **conv: int) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, out_channels, **conv),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
    ]
    if pool:
        layers.append(nn.MaxPool2d(kernel_size=3, stride=2))
    return nn.Sequential(*layers)


class AlexNetBN(nn.Module):
    """AlexNet with BatchNorm after every convolution, in one column (no two-GPU grouping)."""

    def __init__(self, in_channels: int = 3, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.layer1 = _conv_bn(in_channels, 96, True, kernel_size=11, stride=4)  # N x 96 x 26 x 26
        self.layer2 = _conv_bn(96, 256, True, kernel_size=5, padding=2)  # N x 256 x 12 x 12
        self.layer3 = _conv_bn(256, 384, False, kernel_size=3, padding=1)
        self.layer4 = _conv_bn(384, 384, False, kernel_size=3, padding=1)
        self.layer5 = _conv_bn(384, 256, True, kernel_size=3, padding=1)  # N x 256 x 5 x 5
        self.flatten = nn.Flatten()
        self.fc = nn.Sequential(nn.Dropout(dropout), nn.Linear(256 * 5 * 5, 4096), nn.ReLU())
        self.fc1 = nn.Sequential(nn.Dropout(dropout), nn.Linear(4096, 4096), nn.ReLU())
        self.fc2 = nn.Sequential(nn.Linear(4096, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer5(self.layer4(self.layer3(self.layer2(self.layer1(x)))))
        x = self.flatten(x)  # N x 6400 at 224 x 224
        return self.fc2(self.fc1(self.fc(x)))


@register_model(card=WEIRD_TRICK, display_name="AlexNet", default_input=(3, 224, 224))
def alexnet(*, in_channels: int = 3, num_classes: int = 1000, dropout: float = 0.5) -> AlexNet:
    """torchvision's AlexNet (64/192/384/256/256 filters)."""
    return AlexNet(in_channels, num_classes, dropout)


@register_model(card=PAPER_2012, display_name="AlexNet (2012)", default_input=(3, 227, 227))
def alexnet_2012(*, in_channels: int = 3, num_classes: int = 1000, dropout: float = 0.5) -> AlexNet2012:
    """The NIPS 2012 AlexNet, with LRN and the two-GPU grouping."""
    return AlexNet2012(in_channels, num_classes, dropout)


BATCHNORM_VARIANT = replace(
    PAPER_2012,
    implementation="archdoc's variant of the 2012 network: the paper's layer sizes, with BatchNorm after every convolution.",
    deviations=(
        "BatchNorm follows every convolution, replacing local response normalisation.",
        "No two-GPU grouping: conv2, conv4 and conv5 see all input maps.",
        "conv1 has no padding and the input is 224×224, so its maps are 54×54 and the classifier "
        "sees 256 × 5 × 5 = 6,400 features instead of 9,216.",
    ),
)


@register_model(card=BATCHNORM_VARIANT, display_name="AlexNet-BN", default_input=(3, 224, 224))
def alexnet_bn(*, in_channels: int = 3, num_classes: int = 1000, dropout: float = 0.5) -> AlexNetBN:
    """AlexNet with the 2012 layer sizes and BatchNorm after every convolution."""
    return AlexNetBN(in_channels, num_classes, dropout)

"""LeNet-5.

LeCun, Bottou, Bengio and Haffner, "Gradient-based learning applied to document
recognition", Proceedings of the IEEE 86(11), 1998, doi:10.1109/5.726791.

Layers keep the paper's names: C1, S2, C3, S4, C5, F6 and the output layer.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from archdoc.registry import PaperCard, register_model

FAMILY = "LeNet"

CARD = PaperCard(
    title="Gradient-Based Learning Applied to Document Recognition",
    authors=("Yann LeCun", "Léon Bottou", "Yoshua Bengio", "Patrick Haffner"),
    year=1998,
    venue="Proceedings of the IEEE 86(11)",
    doi="10.1109/5.726791",
    description=(
        "Two rounds of 5×5 convolution and 2×2 subsampling, then fully connected layers, read "
        "handwritten digits from 32×32 images. It set the pattern of convolution, pooling and a "
        "classifier that later CNNs scaled up."
    ),
    implementation="archdoc's reference implementation of the paper's architecture, in its common modern form.",
    deviations=(
        "C3 connects every S2 map to every C3 map (2,416 parameters); the paper's connection table "
        "links each C3 map to a subset of S2 maps (1,516 parameters).",
        "S2 and S4 are plain 2×2 average pooling; the paper's subsampling layers multiply by a "
        "trainable coefficient and add a trainable bias per map.",
        "Activations are plain tanh; the paper scales them as 1.7159·tanh(2x/3).",
        "The output layer is linear (logits for cross-entropy); the paper used Euclidean RBF units.",
    ),
)


class LeNet5(nn.Module):
    """C1-S2-C3-S4-C5 feature extractor, then F6 and the output layer."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            OrderedDict(
                [
                    ("c1", nn.Conv2d(in_channels, 6, kernel_size=5)),
                    ("tanh1", nn.Tanh()),
                    ("s2", nn.AvgPool2d(kernel_size=2, stride=2)),
                    ("c3", nn.Conv2d(6, 16, kernel_size=5)),
                    ("tanh3", nn.Tanh()),
                    ("s4", nn.AvgPool2d(kernel_size=2, stride=2)),
                    ("c5", nn.Conv2d(16, 120, kernel_size=5)),
                    ("tanh5", nn.Tanh()),
                ]
            )
        )
        self.classifier = nn.Sequential(
            OrderedDict(
                [
                    ("flatten", nn.Flatten()),
                    ("f6", nn.Linear(120, 84)),
                    ("tanh6", nn.Tanh()),
                    ("output", nn.Linear(84, num_classes)),
                ]
            )
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # N x 120 x 1 x 1 for a 32 x 32 input
        return self.classifier(x)  # N x num_classes


@register_model(card=CARD, display_name="LeNet-5", default_input=(1, 32, 32))
def lenet5(*, in_channels: int = 1, num_classes: int = 10) -> LeNet5:
    """LeNet-5 for 32×32 inputs (MNIST digits padded from 28×28)."""
    return LeNet5(in_channels, num_classes)

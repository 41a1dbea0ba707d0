"""Inception v3.

Szegedy, Vanhoucke, Ioffe, Shlens and Wojna, "Rethinking the Inception Architecture
for Computer Vision", CVPR 2016, doi:10.1109/CVPR.2016.308, arXiv:1512.00567.

Module names (``Conv2d_1a_3x3``, ``Mixed_5b``, ...) and shapes follow
``torchvision.models.inception_v3``, whose names come from the TensorFlow reference model.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Union

import torch
from torch import nn

from archdoc.registry import PaperCard, register_model
from archdoc.zoo.googlenet import BasicConv2d

FAMILY = "Inception v3"

CARD = PaperCard(
    title="Rethinking the Inception Architecture for Computer Vision",
    authors=("Christian Szegedy", "Vincent Vanhoucke", "Sergey Ioffe", "Jonathon Shlens", "Zbigniew Wojna"),
    year=2016,
    venue="CVPR 2016",
    doi="10.1109/CVPR.2016.308",
    arxiv="1512.00567",
    description=(
        "Inception v3 factorises large convolutions into stacks of small and asymmetric ones (a 5×5 "
        "into two 3×3, an n×n into 1×n then n×1) and shrinks the grid with modules that pool and "
        "convolve side by side, at 35×35, 17×17 and 8×8. With BatchNorm throughout, a batch-normalised "
        "auxiliary classifier and label smoothing it reached 21.2 % top-1 error on ImageNet with a "
        "single crop at about 5 billion multiply-adds."
    ),
    implementation=(
        "torchvision-compatible: module names and shapes match `torchvision.models.inception_v3`, so "
        "torchvision checkpoints load with `strict=True`."
    ),
    deviations=(
        "After the first max-pool the stem is a 1×1 convolution to 80 channels, a 3×3 convolution to "
        "192 and a second 3×3/2 max-pool, as in the TensorFlow reference model; the paper's Table 1 "
        "lists 3×3 convolutions there.",
        "The 17×17 grid has four Figure 6 modules (`Mixed_6b` to `Mixed_6e`, n = 7) after the grid "
        "reduction, where Table 1 lists five.",
        "The auxiliary classifier (`aux_logits`, on by default as in torchvision) runs only in training "
        "mode, where it needs inputs of at least 299×299, and its fully connected layer is not "
        "batch-normalised (the paper's BN-auxiliary is).",
        "`transform_input=True` rescales inputs normalised with ImageNet's mean and std to the [−1, 1] "
        "range of the original TensorFlow checkpoint; it is off by default, as in torchvision's builder "
        "without weights (torchvision turns it on when it loads its ImageNet weights).",
        "The final pool is adaptive, so any input of at least 75×75 runs; the paper pools the 8×8 grid "
        "of a 299×299 input.",
        "The first convolution takes `in_channels` channels and the classifiers have `num_classes` outputs.",
    ),
)


class InceptionOutputs(NamedTuple):
    logits: torch.Tensor
    aux_logits: Optional[torch.Tensor]


class InceptionA(nn.Module):
    """Figure 5 at 35×35: 1×1 | 1×1→5×5 | 1×1→3×3→3×3 | avg-pool→1×1."""

    def __init__(self, in_channels: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(in_channels, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.pool = nn.AvgPool2d(kernel_size=3, stride=1, padding=1)
        self.branch_pool = BasicConv2d(in_channels, pool_features, kernel_size=1)
        self.out_channels = 64 + 64 + 96 + pool_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(self.pool(x))
        return torch.cat([b1, b5, b3, bp], 1)  # N x (224 + pool_features) x 35 x 35


class InceptionB(nn.Module):
    """Grid reduction 35→17 (Figure 10): 3×3/2 | 1×1→3×3→3×3/2 | max-pool/2."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)
        self.pool = nn.MaxPool2d(kernel_size=3, stride=2)
        self.out_channels = 384 + 96 + in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3(x)
        bd = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([b3, bd, self.pool(x)], 1)  # N x 768 x 17 x 17


class InceptionC(nn.Module):
    """Figure 6 at 17×17 with n = 7: 1×1 | 1×1→1×7→7×1 | 1×1→7×1→1×7→7×1→1×7 | avg-pool→1×1."""

    def __init__(self, in_channels: int, channels_7x7: int) -> None:
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.pool = nn.AvgPool2d(kernel_size=3, stride=1, padding=1)
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1)
        self.out_channels = 4 * 192

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = self.branch7x7dbl_1(x)
        bd = self.branch7x7dbl_5(self.branch7x7dbl_4(self.branch7x7dbl_3(self.branch7x7dbl_2(bd))))
        bp = self.branch_pool(self.pool(x))
        return torch.cat([b1, b7, bd, bp], 1)  # N x 768 x 17 x 17


class InceptionD(nn.Module):
    """Grid reduction 17→8: 1×1→3×3/2 | 1×1→1×7→7×1→3×3/2 | max-pool/2."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)
        self.pool = nn.MaxPool2d(kernel_size=3, stride=2)
        self.out_channels = 320 + 192 + in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([b3, b7, self.pool(x)], 1)  # N x 1280 x 8 x 8


class InceptionE(nn.Module):
    """Figure 7 at 8×8, the expanded filter bank: 1×1 | 1×1→(1×3, 3×1) | 1×1→3×3→(1×3, 3×1) | pool→1×1."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(in_channels, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.pool = nn.AvgPool2d(kernel_size=3, stride=1, padding=1)
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1)
        self.out_channels = 320 + 2 * 384 + 2 * 384 + 192

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)  # N x 768 x 8 x 8
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)  # N x 768 x 8 x 8
        bp = self.branch_pool(self.pool(x))
        return torch.cat([b1, b3, bd, bp], 1)  # N x 2048 x 8 x 8


class InceptionAux(nn.Module):
    """Auxiliary classifier on the 17×17 grid: 5×5/3 avg-pool, 1×1 to 128, 5×5 to 768, linear."""

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.pool = nn.AvgPool2d(kernel_size=5, stride=3)
        self.conv0 = BasicConv2d(in_channels, 128, kernel_size=1)
        self.conv1 = BasicConv2d(128, 768, kernel_size=5)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(768, num_classes)
        # Smaller initial weights than the rest of the network (see Inception3's init).
        self.conv1.stddev = 0.01
        self.fc.stddev = 0.001

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(x)  # N x 768 x 5 x 5
        x = self.conv1(self.conv0(x))  # N x 768 x 1 x 1
        x = torch.flatten(self.avgpool(x), 1)  # N x 768
        return self.fc(x)  # N x num_classes


Block = Union[type[InceptionA], type[InceptionB], type[InceptionC], type[InceptionD], type[InceptionE]]

# The paper's Table 1 from the 35×35 grid on, as the TensorFlow reference builds it: per grid,
# each module's name, its figure's block, and the width that varies between modules of one kind
# (InceptionA's pool branch, InceptionC's 7×7 branches); the reductions lead the 17×17 and 8×8 rows.
GRIDS: dict[str, tuple[tuple[str, Block, Optional[int]], ...]] = {
    "35×35 (Figure 5)": (("Mixed_5b", InceptionA, 32), ("Mixed_5c", InceptionA, 64), ("Mixed_5d", InceptionA, 64)),
    "17×17 (Figure 6, n = 7)": (
        ("Mixed_6a", InceptionB, None),
        ("Mixed_6b", InceptionC, 128),
        ("Mixed_6c", InceptionC, 160),
        ("Mixed_6d", InceptionC, 160),
        ("Mixed_6e", InceptionC, 192),
    ),
    "8×8 (Figure 7)": (("Mixed_7a", InceptionD, None), ("Mixed_7b", InceptionE, None), ("Mixed_7c", InceptionE, None)),
}


class Inception3(nn.Module):
    """Stem of five convolutions and two pools, Inception modules on three grids, pool, linear classifier."""

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 1000,
        aux_logits: bool = True,
        transform_input: bool = False,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        if transform_input and in_channels != 3:
            raise ValueError(f"transform_input rescales 3 RGB channels, got in_channels={in_channels}")
        self.aux_logits = aux_logits
        self.transform_input = transform_input
        self.Conv2d_1a_3x3 = BasicConv2d(in_channels, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.maxpool1 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.maxpool2 = nn.MaxPool2d(kernel_size=3, stride=2)
        channels = 192
        for grid in GRIDS.values():
            for name, block, width in grid:
                module = block(channels) if width is None else block(channels, width)
                self.add_module(name, module)
                channels = module.out_channels
            if grid[-1][0] == "Mixed_6e":
                # Registered here, between the grids, so the state_dict keeps torchvision's order.
                self.AuxLogits: Optional[InceptionAux] = InceptionAux(channels, num_classes) if aux_logits else None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(channels, num_classes)

        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                std = float(getattr(m, "stddev", 0.1))
                nn.init.trunc_normal_(m.weight, mean=0.0, std=std, a=-2, b=2)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _transform_input(self, x: torch.Tensor) -> torch.Tensor:
        # (x·σ + μ − 0.5) / 0.5 per channel: undo ImageNet's normalisation, apply (0.5, 0.5)'s.
        if not self.transform_input:
            return x
        channels = [
            torch.unsqueeze(x[:, i], 1) * (std / 0.5) + (mean - 0.5) / 0.5
            for i, (mean, std) in enumerate(((0.485, 0.229), (0.456, 0.224), (0.406, 0.225)))
        ]
        return torch.cat(channels, 1)

    def forward(self, x: torch.Tensor) -> Union[InceptionOutputs, torch.Tensor]:
        x = self._transform_input(x)  # N x 3 x 299 x 299
        x = self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x))  # N x 32 x 147 x 147
        x = self.maxpool1(self.Conv2d_2b_3x3(x))  # N x 64 x 73 x 73
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))  # N x 192 x 71 x 71
        x = self.maxpool2(x)  # N x 192 x 35 x 35
        x = self.Mixed_5d(self.Mixed_5c(self.Mixed_5b(x)))  # N x 288 x 35 x 35
        x = self.Mixed_6a(x)  # N x 768 x 17 x 17
        x = self.Mixed_6e(self.Mixed_6d(self.Mixed_6c(self.Mixed_6b(x))))  # N x 768 x 17 x 17
        aux = self.AuxLogits(x) if self.AuxLogits is not None and self.training else None
        x = self.Mixed_7a(x)  # N x 1280 x 8 x 8
        x = self.Mixed_7c(self.Mixed_7b(x))  # N x 2048 x 8 x 8
        x = torch.flatten(self.dropout(self.avgpool(x)), 1)  # N x 2048
        x = self.fc(x)  # N x num_classes
        if self.training and self.aux_logits:
            return InceptionOutputs(x, aux)
        return x


@register_model(card=CARD, display_name="Inception v3", default_input=(3, 299, 299), documented_min_size=75)
def inception_v3(
    *,
    in_channels: int = 3,
    num_classes: int = 1000,
    aux_logits: bool = True,
    transform_input: bool = False,
    dropout: float = 0.5,
) -> Inception3:
    """Inception v3 at 299×299; `aux_logits=False` drops the auxiliary classifier's 3.3 M parameters."""
    return Inception3(in_channels, num_classes, aux_logits, transform_input, dropout)

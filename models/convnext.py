"""ConvNeXt-T, -S, -B and -L.

Liu, Mao, Wu, Feichtenhofer, Darrell and Xie, "A ConvNet for the 2020s",
CVPR 2022, doi:10.1109/CVPR52688.2022.01167, arXiv:2201.03545.

The modules and their names follow ``torchvision.models.convnext``, so a
torchvision checkpoint loads with ``load_state_dict(..., strict=True)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from archdoc.registry import PaperCard, register_model
from archdoc.zoo.layers import StochasticDepth

FAMILY = "ConvNeXt"

CARD = PaperCard(
    title="A ConvNet for the 2020s",
    authors=(
        "Zhuang Liu",
        "Hanzi Mao",
        "Chao-Yuan Wu",
        "Christoph Feichtenhofer",
        "Trevor Darrell",
        "Saining Xie",
    ),
    year=2022,
    venue="CVPR 2022",
    doi="10.1109/CVPR52688.2022.01167",
    arxiv="2201.03545",
    description=(
        "ConvNeXt modernises a ResNet step by step towards the design of vision Transformers: a "
        "4×4 patchify stem, stage ratios 1:1:3:1, 7×7 depthwise convolutions, inverted bottlenecks, "
        "LayerNorm, GELU and separate downsampling layers. The resulting pure ConvNet matched or "
        "beat Swin Transformers of the same size on ImageNet, COCO and ADE20K."
    ),
    implementation=(
        "torchvision-compatible: module names and shapes match `torchvision.models.convnext`, "
        "so torchvision checkpoints load with `strict=True`."
    ),
    deviations=(
        "The stem takes `in_channels` input channels instead of a fixed 3, and the classifier has "
        "`num_classes` outputs instead of 1000.",
        "Global average pooling is adaptive, so any input from 32×32 up runs; the paper trains and "
        "tests at 224×224 (and fine-tunes at 384×384).",
        "The stochastic depth rates are builder options, defaulting to the paper's ImageNet-1K "
        "rates (0.1, 0.4, 0.5, 0.5 for T, S, B, L), which only matter in training.",
    ),
)


class Permute(nn.Module):
    """Reorders the dimensions, e.g. to channels-last for LayerNorm and Linear layers."""

    def __init__(self, dims: Sequence[int]) -> None:
        super().__init__()
        self.dims = tuple(dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.permute(x, self.dims)

    def extra_repr(self) -> str:
        return f"dims={self.dims}"


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an N x C x H x W map (each pixel normalised on its own)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)  # N x H x W x C
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)  # N x C x H x W


class CNBlock(nn.Module):
    """7×7 depthwise conv, LayerNorm, 1×1 up ×4, GELU, 1×1 down, layer scale, residual."""

    def __init__(self, dim: int, layer_scale: float, stochastic_depth_prob: float) -> None:
        super().__init__()
        # The residual branch starts near zero (1e-6), so a deep stack starts near the identity.
        self.layer_scale = nn.Parameter(torch.full((dim, 1, 1), layer_scale))
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim, bias=True),
            Permute((0, 2, 3, 1)),
            nn.LayerNorm(dim, eps=1e-6),
            nn.Linear(dim, 4 * dim),  # the 1×1 convolutions, as linear layers on channels-last maps
            nn.GELU(),
            nn.Linear(4 * dim, dim),
            Permute((0, 3, 1, 2)),
        )
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.layer_scale * self.block(x)  # N x C x H x W
        return x + self.stochastic_depth(out)


class ConvNeXt(nn.Module):
    """Patchify stem, four stages of ConvNeXt blocks with downsampling between them, pooled classifier.

    ``features`` holds the stem, then stages and downsampling layers alternately
    (``features.1``, ``.3``, ``.5``, ``.7`` are the stages), as in torchvision.
    """

    def __init__(
        self,
        widths: Sequence[int],
        depths: Sequence[int],
        in_channels: int = 3,
        num_classes: int = 1000,
        stochastic_depth_prob: float = 0.0,
        layer_scale: float = 1e-6,
    ) -> None:
        super().__init__()
        stem = nn.Sequential(
            nn.Conv2d(in_channels, widths[0], kernel_size=4, stride=4, bias=True),
            LayerNorm2d(widths[0], eps=1e-6),
        )
        layers: list[nn.Module] = [stem]
        total, index = sum(depths), 0
        for stage, (width, depth) in enumerate(zip(widths, depths)):
            blocks = []
            for _ in range(depth):
                # Stochastic depth grows linearly from 0 at the first block to the rate at the last.
                blocks.append(CNBlock(width, layer_scale, stochastic_depth_prob * index / (total - 1.0)))
                index += 1
            layers.append(nn.Sequential(*blocks))
            if stage + 1 < len(widths):
                layers.append(
                    nn.Sequential(
                        LayerNorm2d(width, eps=1e-6),
                        nn.Conv2d(width, widths[stage + 1], kernel_size=2, stride=2),
                    )
                )
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            LayerNorm2d(widths[-1], eps=1e-6),
            nn.Flatten(1),
            nn.Linear(widths[-1], num_classes),
        )

        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # For ConvNeXt-T at 224: stem 96 x 56 x 56, stages 96 x 56², 192 x 28², 384 x 14², 768 x 7².
        x = self.features(x)  # N x C4 x H/32 x W/32
        x = self.avgpool(x)  # N x C4 x 1 x 1
        return self.classifier(x)  # N x num_classes


# The paper's model variants (Section 3): channels C and blocks B per stage, with the
# stochastic depth rate of its ImageNet-1K training settings (Appendix A).
CONFIGS: dict[str, dict[str, tuple[int, ...] | float]] = {
    "T": {"C": (96, 192, 384, 768), "B": (3, 3, 9, 3), "drop_path": 0.1},
    "S": {"C": (96, 192, 384, 768), "B": (3, 3, 27, 3), "drop_path": 0.4},
    "B": {"C": (128, 256, 512, 1024), "B": (3, 3, 27, 3), "drop_path": 0.5},
    "L": {"C": (192, 384, 768, 1536), "B": (3, 3, 27, 3), "drop_path": 0.5},
}


def _convnext(size: str, in_channels: int, num_classes: int, stochastic_depth_prob: float | None) -> ConvNeXt:
    cfg = CONFIGS[size]
    rate = cfg["drop_path"] if stochastic_depth_prob is None else stochastic_depth_prob
    return ConvNeXt(cfg["C"], cfg["B"], in_channels, num_classes, rate)  # type: ignore[arg-type]


_IMAGENET = (3, 224, 224)
# torchvision's weights document min_size 32: the stem and three downsamplings divide by 4·2·2·2.
_MIN = 32


@register_model(card=CARD, display_name="ConvNeXt-T", default_input=_IMAGENET, documented_min_size=_MIN)
def convnext_tiny(
    *, in_channels: int = 3, num_classes: int = 1000, stochastic_depth_prob: float | None = None
) -> ConvNeXt:
    """ConvNeXt-T: C = (96, 192, 384, 768), B = (3, 3, 9, 3)."""
    return _convnext("T", in_channels, num_classes, stochastic_depth_prob)


@register_model(card=CARD, display_name="ConvNeXt-S", default_input=_IMAGENET, documented_min_size=_MIN)
def convnext_small(
    *, in_channels: int = 3, num_classes: int = 1000, stochastic_depth_prob: float | None = None
) -> ConvNeXt:
    """ConvNeXt-S: C = (96, 192, 384, 768), B = (3, 3, 27, 3)."""
    return _convnext("S", in_channels, num_classes, stochastic_depth_prob)


@register_model(card=CARD, display_name="ConvNeXt-B", default_input=_IMAGENET, documented_min_size=_MIN)
def convnext_base(
    *, in_channels: int = 3, num_classes: int = 1000, stochastic_depth_prob: float | None = None
) -> ConvNeXt:
    """ConvNeXt-B: C = (128, 256, 512, 1024), B = (3, 3, 27, 3)."""
    return _convnext("B", in_channels, num_classes, stochastic_depth_prob)


@register_model(card=CARD, display_name="ConvNeXt-L", default_input=_IMAGENET, documented_min_size=_MIN)
def convnext_large(
    *, in_channels: int = 3, num_classes: int = 1000, stochastic_depth_prob: float | None = None
) -> ConvNeXt:
    """ConvNeXt-L: C = (192, 384, 768, 1536), B = (3, 3, 27, 3)."""
    return _convnext("L", in_channels, num_classes, stochastic_depth_prob)

"""Wide ResNet-50-2 and Wide ResNet-101-2.

Zagoruyko and Komodakis, "Wide Residual Networks", BMVC 2016,
doi:10.5244/C.30.87, arXiv:1605.07146.

These are the ImageNet "wide bottleneck" networks: ResNet-50/101 with the inner
width of every bottleneck doubled, built from :mod:`archdoc.zoo.resnet`'s blocks.
Module names and shapes follow torchvision's ``wide_resnet*`` builders, so a
torchvision checkpoint loads with ``load_state_dict(..., strict=True)``.
"""

from __future__ import annotations

from archdoc.registry import PaperCard, register_model
from archdoc.zoo.resnet import CONFIGS as RESNET_CONFIGS
from archdoc.zoo.resnet import ResNet

FAMILY = "Wide ResNet"

CARD = PaperCard(
    title="Wide Residual Networks",
    authors=("Sergey Zagoruyko", "Nikos Komodakis"),
    year=2016,
    venue="BMVC 2016",
    doi="10.5244/C.30.87",
    arxiv="1605.07146",
    description=(
        "Wide residual networks trade depth for width: each residual block's convolutions get k "
        "times more channels and the network gets far fewer blocks. A 16-layer wide network beat "
        "thousand-layer thin ResNets on CIFAR and trained several times faster, showing that width "
        "was an underused dimension of residual networks."
    ),
    implementation=(
        "torchvision-compatible: module names and shapes match torchvision's `wide_resnet*` "
        "builders (its `ResNet` with `width_per_group=128`), so torchvision checkpoints load with "
        "`strict=True`."
    ),
    deviations=(
        "This is not the paper's WRN-d-k design (pre-activation blocks of two widened 3×3 "
        "convolutions with dropout between them, BN-ReLU before each convolution): it is a "
        "post-activation ResNet bottleneck network whose inner 1×1 and 3×3 convolutions are twice "
        "as wide, the outer 1×1 convolutions keeping ResNet's widths, the kind of network of the "
        "paper's ImageNet experiments (WRN-50-2-bottleneck).",
        "Bottleneck blocks downsample in the 3×3 convolution (stride 2 in `conv2`), as in "
        "torchvision's ResNet v1.5; the original ResNet bottleneck puts the stride in the first 1×1 "
        "convolution.",
        "The first convolution takes `in_channels` input channels instead of a fixed 3, and the "
        "classifier has `num_classes` outputs instead of 1000.",
        "Global average pooling is adaptive, so inputs of any size down to 1×1 run.",
    ),
)

# WRN-d-k in the paper's naming: depth d (ResNet-50/101's blocks per stage) and the
# widening factor k applied to each bottleneck's inner width (64·k channels in conv2).
CONFIGS: dict[str, tuple[int, int]] = {  # name: (d, k)
    "WRN-50-2": (50, 2),
    "WRN-101-2": (101, 2),
}


def _wide_resnet(config: str, in_channels: int, num_classes: int, zero_init_residual: bool) -> ResNet:
    depth, k = CONFIGS[config]
    block, layers = RESNET_CONFIGS[depth]
    return ResNet(block, layers, in_channels, num_classes, zero_init_residual, width_per_group=64 * k)


_IMAGENET = (3, 224, 224)


@register_model(card=CARD, display_name="Wide ResNet-50-2", default_input=_IMAGENET, documented_min_size=1)
def wide_resnet50_2(*, in_channels: int = 3, num_classes: int = 1000, zero_init_residual: bool = False) -> ResNet:
    """Wide ResNet-50-2: ResNet-50's blocks (3, 4, 6, 3), inner widths doubled."""
    return _wide_resnet("WRN-50-2", in_channels, num_classes, zero_init_residual)


@register_model(card=CARD, display_name="Wide ResNet-101-2", default_input=_IMAGENET, documented_min_size=1)
def wide_resnet101_2(*, in_channels: int = 3, num_classes: int = 1000, zero_init_residual: bool = False) -> ResNet:
    """Wide ResNet-101-2: ResNet-101's blocks (3, 4, 23, 3), inner widths doubled."""
    return _wide_resnet("WRN-101-2", in_channels, num_classes, zero_init_residual)

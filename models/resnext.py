"""ResNeXt-50 32×4d, ResNeXt-101 32×8d and ResNeXt-101 64×4d.

Xie, Girshick, Dollár, Tu and He, "Aggregated Residual Transformations for Deep
Neural Networks", CVPR 2017, doi:10.1109/CVPR.2017.634, arXiv:1611.05431.

ResNeXt is ResNet's bottleneck network with a grouped 3×3 convolution, so the
blocks and the model class are :mod:`archdoc.zoo.resnet`'s. Module names and
shapes follow ``torchvision.models.resnet``'s ``resnext*`` builders, so a
torchvision checkpoint loads with ``load_state_dict(..., strict=True)``.
"""

from __future__ import annotations

from archdoc.registry import PaperCard, register_model
from archdoc.zoo.resnet import CONFIGS as RESNET_CONFIGS
from archdoc.zoo.resnet import ResNet

FAMILY = "ResNeXt"

CARD = PaperCard(
    title="Aggregated Residual Transformations for Deep Neural Networks",
    authors=("Saining Xie", "Ross Girshick", "Piotr Dollár", "Zhuowen Tu", "Kaiming He"),
    year=2017,
    venue="CVPR 2017",
    doi="10.1109/CVPR.2017.634",
    arxiv="1611.05431",
    description=(
        "ResNeXt splits the 3×3 convolution of every ResNet bottleneck into C parallel paths of "
        "equal width (a grouped convolution), making this cardinality a dimension of its own beside "
        "depth and width. At the same cost, more paths gave better ImageNet accuracy than a deeper or "
        "wider ResNet, and the design placed second in ILSVRC 2016."
    ),
    implementation=(
        "torchvision-compatible: module names and shapes match torchvision's `resnext*` builders "
        "(its `ResNet` with `groups` and `width_per_group`), so torchvision checkpoints load with "
        "`strict=True`."
    ),
    deviations=(
        "The C paths of a block are one grouped 3×3 convolution between shared 1×1 convolutions, the "
        "paper's equivalent form (c) of its block (Fig. 3), not C separate branches.",
        "The first convolution takes `in_channels` input channels instead of a fixed 3, and the "
        "classifier has `num_classes` outputs instead of 1000.",
        "Global average pooling is adaptive, so inputs of any size down to 1×1 run; the paper "
        "trains and tests on 224×224 crops (and 320×320 for its final comparison).",
    ),
)

# The paper's "C×d" template (Table 1): cardinality C and the width d of each path in
# conv2, doubling from stage to stage like ResNet's widths; the depth picks the blocks
# per stage from ResNet's Table 1.
CONFIGS: dict[str, tuple[int, int, int]] = {  # name: (depth, C, d)
    "ResNeXt-50 (32×4d)": (50, 32, 4),
    "ResNeXt-101 (32×8d)": (101, 32, 8),
    "ResNeXt-101 (64×4d)": (101, 64, 4),
}


def _resnext(config: str, in_channels: int, num_classes: int, zero_init_residual: bool) -> ResNet:
    depth, cardinality, path_width = CONFIGS[config]
    block, layers = RESNET_CONFIGS[depth]
    return ResNet(
        block,
        layers,
        in_channels,
        num_classes,
        zero_init_residual,
        groups=cardinality,
        width_per_group=path_width,
    )


_IMAGENET = (3, 224, 224)
NOT_TABULATED = (
    "The paper reports ResNeXt-101 as 32×4d and 64×4d; 32×8d is the same template with 8 channels "
    "per path (twice 32×4d's width), which the paper's tables do not include."
)


@register_model(card=CARD, display_name="ResNeXt-50 32×4d", default_input=_IMAGENET, documented_min_size=1)
def resnext50_32x4d(*, in_channels: int = 3, num_classes: int = 1000, zero_init_residual: bool = False) -> ResNet:
    """ResNeXt-50 (32×4d): blocks (3, 4, 6, 3), 32 paths of 4 channels in conv2."""
    return _resnext("ResNeXt-50 (32×4d)", in_channels, num_classes, zero_init_residual)


@register_model(
    card=CARD,
    display_name="ResNeXt-101 32×8d",
    default_input=_IMAGENET,
    deviations=(NOT_TABULATED,),
    documented_min_size=1,
)
def resnext101_32x8d(*, in_channels: int = 3, num_classes: int = 1000, zero_init_residual: bool = False) -> ResNet:
    """ResNeXt-101 (32×8d): blocks (3, 4, 23, 3), 32 paths of 8 channels in conv2."""
    return _resnext("ResNeXt-101 (32×8d)", in_channels, num_classes, zero_init_residual)


@register_model(card=CARD, display_name="ResNeXt-101 64×4d", default_input=_IMAGENET, documented_min_size=1)
def resnext101_64x4d(*, in_channels: int = 3, num_classes: int = 1000, zero_init_residual: bool = False) -> ResNet:
    """ResNeXt-101 (64×4d): blocks (3, 4, 23, 3), 64 paths of 4 channels in conv2."""
    return _resnext("ResNeXt-101 (64×4d)", in_channels, num_classes, zero_init_residual)

"""EfficientNetV2-S, -M and -L.

Tan and Le, "EfficientNetV2: Smaller Models and Faster Training", ICML 2021
(PMLR 139), arXiv:2104.00298.

Module names and shapes follow ``torchvision.models.efficientnet_v2_s``, ``_m`` and
``_l``, so a torchvision checkpoint loads with ``load_state_dict(..., strict=True)``.
The MBConv block and the network skeleton come from EfficientNet (``efficientnet``).
"""

from __future__ import annotations

from functools import partial

from torch import nn

from archdoc.registry import PaperCard, register_model
from archdoc.zoo.efficientnet import EfficientNet, MBConv, NormLayer, ResidualBlock, Stage
from archdoc.zoo.layers import ConvNormAct, make_divisible

FAMILY = "EfficientNetV2"

CARD = PaperCard(
    title="EfficientNetV2: Smaller Models and Faster Training",
    authors=("Mingxing Tan", "Quoc V. Le"),
    year=2021,
    venue="ICML 2021",
    arxiv="2104.00298",
    description=(
        "EfficientNetV2 replaces the depthwise MBConv blocks of the early, high-resolution stages "
        "with Fused-MBConv blocks, whose single regular 3×3 convolution runs faster on "
        "accelerators, in a network found by training-aware architecture search and scaled for "
        "training speed. Trained with progressive learning (image size and regularisation grow "
        "together), the models train much faster than earlier state-of-the-art models while being "
        "up to 6.8× smaller."
    ),
    implementation=(
        "torchvision-compatible: module names and shapes match `torchvision.models.efficientnet_v2_s`, "
        "`_m` and `_l`, so torchvision checkpoints load with `strict=True`."
    ),
    deviations=(
        "A Fused-MBConv block with expansion 1 is a single 3×3 convolution, as in the authors' "
        "released code; the paper's Figure 2 draws a 3×3 and a 1×1 convolution.",
        "Dropout before the classifier is fixed per model; the paper's progressive learning raises "
        "it during training together with the image size.",
        "BatchNorm has eps 1e-3 and PyTorch's default momentum 0.1; the paper trains with momentum "
        "0.99 (0.01 in PyTorch's convention).",
        "Global average pooling is adaptive, so inputs of any size down to 1×1 run.",
        "The first convolution takes `in_channels` input channels instead of a fixed 3, and the "
        "classifier has `num_classes` outputs instead of 1000.",
    ),
)


class FusedMBConv(ResidualBlock):
    """MBConv with its 1×1 expansion and depthwise convolution fused into one regular k×k convolution.

    Expansion then projection (k×k, then linear 1×1) for ``expand_ratio`` above 1, a single k×k
    convolution for 1. There is no squeeze-and-excitation. Arguments as for :class:`MBConv`.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        expand_ratio: float,
        kernel: int,
        stride: int,
        sd_prob: float,
        norm_layer: NormLayer,
    ) -> None:
        expanded = make_divisible(in_channels * expand_ratio)
        if expanded != in_channels:
            layers = [
                ConvNormAct(in_channels, expanded, kernel, stride, norm_layer=norm_layer, activation_layer=nn.SiLU),
                ConvNormAct(expanded, out_channels, 1, norm_layer=norm_layer, activation_layer=None),
            ]
        else:
            layers = [
                ConvNormAct(in_channels, out_channels, kernel, stride, norm_layer=norm_layer, activation_layer=nn.SiLU)
            ]
        super().__init__(nn.Sequential(*layers), in_channels, out_channels, stride, sd_prob)


# Stage 0 is a 3×3 convolution at stride 2 to STEM channels; stages 1 to 6 (S) or 7 (M, L) follow as
# (operator, expansion, kernel, stride, #channels, #layers), MBConv stages with squeeze-and-excitation
# reducing to 0.25 of their input; the last stage is a 1×1 convolution to 1280 channels, pooling and the
# classifier. "s" is the paper's Table 4; the paper scales it up to "m" and "l", whose stages are those
# of the authors' released code.
STEM = {"s": 24, "m": 24, "l": 32}
STAGES: dict[str, tuple[tuple[type[nn.Module], int, int, int, int, int], ...]] = {
    "s": (
        (FusedMBConv, 1, 3, 1, 24, 2),
        (FusedMBConv, 4, 3, 2, 48, 4),
        (FusedMBConv, 4, 3, 2, 64, 4),
        (MBConv, 4, 3, 2, 128, 6),
        (MBConv, 6, 3, 1, 160, 9),
        (MBConv, 6, 3, 2, 256, 15),
    ),
    "m": (
        (FusedMBConv, 1, 3, 1, 24, 3),
        (FusedMBConv, 4, 3, 2, 48, 5),
        (FusedMBConv, 4, 3, 2, 80, 5),
        (MBConv, 4, 3, 2, 160, 7),
        (MBConv, 6, 3, 1, 176, 14),
        (MBConv, 6, 3, 2, 304, 18),
        (MBConv, 6, 3, 1, 512, 5),
    ),
    "l": (
        (FusedMBConv, 1, 3, 1, 32, 4),
        (FusedMBConv, 4, 3, 2, 64, 7),
        (FusedMBConv, 4, 3, 2, 96, 7),
        (MBConv, 4, 3, 2, 192, 10),
        (MBConv, 6, 3, 1, 224, 19),
        (MBConv, 6, 3, 2, 384, 25),
        (MBConv, 6, 3, 1, 640, 7),
    ),
}
HEAD = 1280


def _efficientnet_v2(
    size: str, in_channels: int, num_classes: int, dropout: float, stochastic_depth_prob: float
) -> EfficientNet:
    stages = []
    channels = STEM[size]
    for block, t, k, s, c, n in STAGES[size]:
        stages.append(Stage(block, t, k, s, channels, c, n))
        channels = c
    norm_layer = partial(nn.BatchNorm2d, eps=0.001)
    return EfficientNet(stages, HEAD, in_channels, num_classes, dropout, stochastic_depth_prob, norm_layer)


# torchvision's weights document 33×33 as their smallest input; the network itself runs down to 1×1.
_MIN = 33


@register_model(card=CARD, display_name="EfficientNetV2-S", default_input=(3, 384, 384), documented_min_size=_MIN)
def efficientnet_v2_s(
    *, in_channels: int = 3, num_classes: int = 1000, dropout: float = 0.2, stochastic_depth_prob: float = 0.2
) -> EfficientNet:
    """EfficientNetV2-S (the paper's Table 4), evaluated at 384×384."""
    return _efficientnet_v2("s", in_channels, num_classes, dropout, stochastic_depth_prob)


@register_model(card=CARD, display_name="EfficientNetV2-M", default_input=(3, 480, 480), documented_min_size=_MIN)
def efficientnet_v2_m(
    *, in_channels: int = 3, num_classes: int = 1000, dropout: float = 0.3, stochastic_depth_prob: float = 0.2
) -> EfficientNet:
    """EfficientNetV2-M, evaluated at 480×480."""
    return _efficientnet_v2("m", in_channels, num_classes, dropout, stochastic_depth_prob)


@register_model(card=CARD, display_name="EfficientNetV2-L", default_input=(3, 480, 480), documented_min_size=_MIN)
def efficientnet_v2_l(
    *, in_channels: int = 3, num_classes: int = 1000, dropout: float = 0.4, stochastic_depth_prob: float = 0.2
) -> EfficientNet:
    """EfficientNetV2-L, evaluated at 480×480."""
    return _efficientnet_v2("l", in_channels, num_classes, dropout, stochastic_depth_prob)

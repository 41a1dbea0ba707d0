"""MobileNetV3-Large and MobileNetV3-Small.

Howard, Sandler, Chu, Chen, Chen, Tan, Wang, Zhu, Pang, Vasudevan, Le and Adam,
"Searching for MobileNetV3", ICCV 2019, doi:10.1109/ICCV.2019.00140, arXiv:1905.02244.

Module names and shapes follow ``torchvision.models.mobilenet_v3_large`` and
``mobilenet_v3_small``, so a torchvision checkpoint loads with ``strict=True``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import torch
from torch import nn

from archdoc.registry import PaperCard, register_model
from archdoc.zoo.layers import ConvNormAct, SqueezeExcitation, make_divisible
from archdoc.zoo.mobilenetv2 import init_weights

FAMILY = "MobileNetV3"

CARD = PaperCard(
    title="Searching for MobileNetV3",
    authors=(
        "Andrew Howard",
        "Mark Sandler",
        "Grace Chu",
        "Liang-Chieh Chen",
        "Bo Chen",
        "Mingxing Tan",
        "Weijun Wang",
        "Yukun Zhu",
        "Ruoming Pang",
        "Vijay Vasudevan",
        "Quoc V. Le",
        "Hartwig Adam",
    ),
    year=2019,
    venue="ICCV 2019",
    doi="10.1109/ICCV.2019.00140",
    arxiv="1905.02244",
    description=(
        "MobileNetV3 keeps MobileNetV2's inverted residual blocks but chooses their kernel sizes, "
        "expansions and widths by hardware-aware architecture search (platform-aware NAS, then "
        "NetAdapt), adds squeeze-and-excitation to some blocks, and replaces ReLU by the cheap "
        "hard-swish in the deeper half. With a lighter stem and head, the Large model is 3.2 % more "
        "accurate than MobileNetV2 on ImageNet at 20 % lower latency on a phone CPU."
    ),
    implementation=(
        "torchvision-compatible: module names and shapes match `torchvision.models.mobilenet_v3_large` "
        "and `mobilenet_v3_small`, so torchvision checkpoints load with `strict=True`."
    ),
    deviations=(
        "The two final 1×1 convolutions without BatchNorm (the paper's 'NBN' rows) are linear layers "
        "on the pooled 1×1 features, which compute the same; dropout (p = 0.2) precedes the last one.",
        "Squeeze-and-excitation reduces to a quarter of the expansion channels rounded to a multiple "
        "of 8; the paper states the quarter without the rounding.",
        "Global average pooling is adaptive, so inputs of any size down to 1×1 run; the paper's "
        "tables pool a fixed 7×7 map.",
        "A `width_mult` other than 1.0 scales every layer and rounds it to a multiple of 8 "
        "(torchvision's rule); it does not rebuild the paper's 0.75 models, whose sizes differ.",
        "The first convolution takes `in_channels` input channels instead of a fixed 3, and the "
        "classifier has `num_classes` outputs instead of 1000.",
    ),
)

ACTIVATIONS: dict[str, type[nn.Module]] = {"RE": nn.ReLU, "HS": nn.Hardswish}


class InvertedResidual(nn.Module):
    """Expand (1×1) → depthwise k×k → optional squeeze-and-excitation → linear 1×1, around a shortcut.

    Args:
        in_channels: Input channels.
        kernel: Depthwise kernel size.
        expanded: Channels after the expansion ("exp size").
        out_channels: Output channels ("#out").
        se: Whether the block has squeeze-and-excitation.
        nl: Non-linearity, ``"RE"`` (ReLU) or ``"HS"`` (hard-swish).
        stride: Depthwise stride; 1 when ``dilation`` is above 1.
        dilation: Depthwise dilation.
        norm_layer: Normalisation after each convolution.
    """

    def __init__(
        self,
        in_channels: int,
        kernel: int,
        expanded: int,
        out_channels: int,
        se: bool,
        nl: str,
        stride: int,
        dilation: int,
        norm_layer: Callable[..., nn.Module],
    ) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        self.use_res_connect = stride == 1 and in_channels == out_channels
        activation = ACTIVATIONS[nl]
        layers: list[nn.Module] = []
        if expanded != in_channels:
            layers.append(ConvNormAct(in_channels, expanded, 1, norm_layer=norm_layer, activation_layer=activation))
        # A dilated stage keeps its resolution: the dilation replaces the stride.
        layers.append(
            ConvNormAct(
                expanded,
                expanded,
                kernel,
                stride=1 if dilation > 1 else stride,
                groups=expanded,
                dilation=dilation,
                norm_layer=norm_layer,
                activation_layer=activation,
            )
        )
        if se:
            layers.append(SqueezeExcitation(expanded, make_divisible(expanded // 4), scale_activation=nn.Hardsigmoid))
        layers.append(ConvNormAct(expanded, out_channels, 1, norm_layer=norm_layer, activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)  # N x out_channels x H/s x W/s
        return x + out if self.use_res_connect else out


Row = tuple[int, int, int, bool, str, int]


class MobileNetV3(nn.Module):
    """Hard-swish stem, the searched bottlenecks, a 1×1 convolution, pooling and a two-layer head.

    Args:
        bnecks: Rows ``(kernel, exp size, #out, SE, NL, s)`` of the paper's Table 1 or 2.
        last_channel: Width of the hidden head layer (1280 or 1024).
        stem_channels: Output channels of the 3×3 stem convolution.
        in_channels: Input image channels.
        num_classes: Classifier outputs.
        width_mult: Width multiplier; channel counts round to multiples of 8.
        reduced_tail: Halve the channels of the last stage (from its strided block on).
        dilated: Replace the last stage's stride by dilation 2.
        dropout: Dropout probability before the last linear layer.
    """

    def __init__(
        self,
        bnecks: Sequence[Row],
        last_channel: int,
        stem_channels: int = 16,
        in_channels: int = 3,
        num_classes: int = 1000,
        width_mult: float = 1.0,
        reduced_tail: bool = False,
        dilated: bool = False,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        norm_layer = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)  # TensorFlow's defaults
        divider = 2 if reduced_tail else 1
        tail = max(i for i, row in enumerate(bnecks) if row[5] == 2)  # the last stage's strided block

        channels = make_divisible(stem_channels * width_mult)
        features: list[nn.Module] = [
            ConvNormAct(in_channels, channels, stride=2, norm_layer=norm_layer, activation_layer=nn.Hardswish)
        ]
        for i, (kernel, expanded, out, se, nl, stride) in enumerate(bnecks):
            if i > tail:  # the strided block keeps its expansion: its input is still full width
                expanded //= divider
            if i >= tail:
                out //= divider
            expanded, out = make_divisible(expanded * width_mult), make_divisible(out * width_mult)
            dilation = 2 if dilated and i >= tail else 1
            features.append(InvertedResidual(channels, kernel, expanded, out, se, nl, stride, dilation, norm_layer))
            channels = out
        # The last 1×1 convolution widens six-fold (960 = 6 × 160, 576 = 6 × 96).
        features.append(ConvNormAct(channels, 6 * channels, 1, norm_layer=norm_layer, activation_layer=nn.Hardswish))
        self.features = nn.Sequential(*features)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        hidden = make_divisible(last_channel // divider * width_mult)
        self.classifier = nn.Sequential(
            nn.Linear(6 * channels, hidden),
            nn.Hardswish(inplace=True),
            nn.Dropout(p=dropout, inplace=True),
            nn.Linear(hidden, num_classes),
        )
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # N x 960 (Large) or 576 (Small) x H/32 x W/32
        x = torch.flatten(self.avgpool(x), 1)  # N x 960 or 576
        return self.classifier(x)  # N x num_classes


# The paper's Tables 1 and 2, one bneck row each: (kernel, exp size, #out, SE, NL, s). Both start with a
# 3×3 hard-swish convolution to 16 channels at stride 2 and end with a 1×1 convolution (6 × the last
# #out), pooling, a 1×1 "NBN" convolution to the hidden width and one to the classes.
BNECK: dict[str, tuple[Row, ...]] = {
    "large": (
        (3, 16, 16, False, "RE", 1),
        (3, 64, 24, False, "RE", 2),
        (3, 72, 24, False, "RE", 1),
        (5, 72, 40, True, "RE", 2),
        (5, 120, 40, True, "RE", 1),
        (5, 120, 40, True, "RE", 1),
        (3, 240, 80, False, "HS", 2),
        (3, 200, 80, False, "HS", 1),
        (3, 184, 80, False, "HS", 1),
        (3, 184, 80, False, "HS", 1),
        (3, 480, 112, True, "HS", 1),
        (3, 672, 112, True, "HS", 1),
        (5, 672, 160, True, "HS", 2),
        (5, 960, 160, True, "HS", 1),
        (5, 960, 160, True, "HS", 1),
    ),
    "small": (
        (3, 16, 16, True, "RE", 2),
        (3, 72, 24, False, "RE", 2),
        (3, 88, 24, False, "RE", 1),
        (5, 96, 40, True, "HS", 2),
        (5, 240, 40, True, "HS", 1),
        (5, 240, 40, True, "HS", 1),
        (5, 120, 48, True, "HS", 1),
        (5, 144, 48, True, "HS", 1),
        (5, 288, 96, True, "HS", 2),
        (5, 576, 96, True, "HS", 1),
        (5, 576, 96, True, "HS", 1),
    ),
}
HIDDEN = {"large": 1280, "small": 1024}


def _mobilenet_v3(
    size: str,
    in_channels: int,
    num_classes: int,
    width_mult: float,
    reduced_tail: bool,
    dilated: bool,
    dropout: float,
) -> MobileNetV3:
    return MobileNetV3(
        BNECK[size], HIDDEN[size], 16, in_channels, num_classes, width_mult, reduced_tail, dilated, dropout
    )


_IMAGENET = (3, 224, 224)


@register_model(card=CARD, display_name="MobileNetV3-Large", default_input=_IMAGENET, documented_min_size=1)
def mobilenet_v3_large(
    *,
    in_channels: int = 3,
    num_classes: int = 1000,
    width_mult: float = 1.0,
    reduced_tail: bool = False,
    dilated: bool = False,
    dropout: float = 0.2,
) -> MobileNetV3:
    """MobileNetV3-Large (the paper's Table 1).

    `reduced_tail` and `dilated` are the paper's changes for its detection and segmentation
    backbones: half the channels from the last strided block on, and dilation 2 instead of its stride.
    """
    return _mobilenet_v3("large", in_channels, num_classes, width_mult, reduced_tail, dilated, dropout)


SMALL_HEAD_SE = (
    "The final 1×1 convolution (576 channels) has no squeeze-and-excitation, as in the released "
    "models; the paper's Table 2 marks one there."
)


@register_model(
    card=CARD,
    display_name="MobileNetV3-Small",
    default_input=_IMAGENET,
    deviations=(SMALL_HEAD_SE,),
    documented_min_size=1,
)
def mobilenet_v3_small(
    *,
    in_channels: int = 3,
    num_classes: int = 1000,
    width_mult: float = 1.0,
    reduced_tail: bool = False,
    dilated: bool = False,
    dropout: float = 0.2,
) -> MobileNetV3:
    """MobileNetV3-Small (the paper's Table 2); `reduced_tail` and `dilated` as for the Large model."""
    return _mobilenet_v3("small", in_channels, num_classes, width_mult, reduced_tail, dilated, dropout)

"""MaxViT-T.

Tu, Talebi, Zhang, Yang, Milanfar, Bovik and Li, "MaxViT: Multi-Axis Vision
Transformer", ECCV 2022, doi:10.1007/978-3-031-20053-3_27, arXiv:2204.01697.

The modules and their names follow ``torchvision.models.maxvit``, so a
torchvision checkpoint loads with ``load_state_dict(..., strict=True)``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from functools import partial

import torch
from torch import nn

from archdoc.registry import PaperCard, register_model
from archdoc.zoo import vision_transformer
from archdoc.zoo.layers import ConvNormAct, SqueezeExcitation, StochasticDepth
from archdoc.zoo.swin_transformer import relative_position_index

FAMILY = "MaxViT"

CARD = PaperCard(
    title="MaxViT: Multi-Axis Vision Transformer",
    authors=(
        "Zhengzhong Tu",
        "Hossein Talebi",
        "Han Zhang",
        "Feng Yang",
        "Peyman Milanfar",
        "Alan Bovik",
        "Yinxiao Li",
    ),
    year=2022,
    venue="ECCV 2022",
    doi="10.1007/978-3-031-20053-3_27",
    arxiv="2204.01697",
    description=(
        "MaxViT stacks one block type: an MBConv convolution, attention inside local P×P windows, "
        "and attention over a sparse G×G grid that spans the whole image, so every stage mixes "
        "local and global information at a cost linear in image size. The hybrid reached 86.5 % "
        "ImageNet-1K top-1 without extra data."
    ),
    implementation=(
        "torchvision-compatible: module names and shapes match `torchvision.models.maxvit`, "
        "so torchvision checkpoints load with `strict=True`."
    ),
    deviations=(
        "Attention logits are scaled by 1/√C, C the block's width, instead of scaled dot-product "
        "attention's 1/√d of a head's width (d = 32), as in torchvision, whose weights are trained so.",
        "The number of windows and grid cells is fixed when the model is built (`image_size`), so only "
        "inputs that give the same feature-map sizes run (221 to 224 for 224); the paper changes the "
        "window and grid sizes with the resolution.",
        "The stem takes `in_channels` input channels instead of a fixed 3, and the classifier has "
        "`num_classes` outputs instead of 1000.",
    ),
)

# TensorFlow's BatchNorm defaults (momentum 0.99 there, 1 − 0.99 here), as in the paper's TensorFlow code.
_BatchNorm = partial(nn.BatchNorm2d, eps=1e-3, momentum=0.01)


def _halved(size: int) -> int:
    """Side after a 3×3 convolution or pool with stride 2 and padding 1: ⌈size / 2⌉."""
    return (size - 1) // 2 + 1


def window_partition(x: torch.Tensor, p: int) -> torch.Tensor:
    """N x C x H x W → N x (H/p · W/p) x p² x C: non-overlapping p × p windows, tokens row-major."""
    x = x.unflatten(2, (-1, p)).unflatten(4, (-1, p))  # N x C x H/p x p x W/p x p
    return x.permute(0, 2, 4, 3, 5, 1).flatten(3, 4).flatten(1, 2)


def window_departition(x: torch.Tensor, p: int, rows: int, cols: int) -> torch.Tensor:
    """Inverse of :func:`window_partition` for a map of rows × cols windows: back to N x C x H x W."""
    x = x.unflatten(1, (rows, cols)).unflatten(3, (p, p))  # N x rows x cols x p x p x C
    return x.permute(0, 5, 1, 3, 2, 4).flatten(4, 5).flatten(2, 3)


def check_map_size(x: torch.Tensor, size: int) -> None:
    """Raise unless ``x`` is N x C x size x size."""
    if tuple(x.shape[-2:]) != (size, size):
        h, w = x.shape[-2:]
        raise ValueError(
            f"this MaxViT layer was built for {size}x{size} maps, got {h}x{w}: the model's image_size sets the "
            "number of windows and grid cells"
        )


class MBConv(nn.Module):
    """Pre-norm inverted bottleneck: BN, 1×1 up ×4, 3×3 depthwise, squeeze-excitation, 1×1 down."""

    def __init__(
        self, in_channels: int, out_channels: int, stride: int, stochastic_depth_prob: float,
        expansion_ratio: float = 4.0, squeeze_ratio: float = 0.25,
    ) -> None:
        super().__init__()
        self.proj: nn.Module = nn.Identity()
        if stride == 2 or in_channels != out_channels:
            shortcut: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=True)]
            if stride == 2:
                shortcut.insert(0, nn.AvgPool2d(kernel_size=3, stride=stride, padding=1))
            self.proj = nn.Sequential(*shortcut)
        self.stochastic_depth: nn.Module = (
            StochasticDepth(stochastic_depth_prob, "row") if stochastic_depth_prob > 0 else nn.Identity()
        )
        mid = int(out_channels * expansion_ratio)
        conv = partial(ConvNormAct, norm_layer=_BatchNorm, activation_layer=nn.GELU, inplace=None)
        self.layers = nn.Sequential(
            OrderedDict(
                pre_norm=_BatchNorm(in_channels),
                conv_a=conv(in_channels, mid, kernel_size=1),
                conv_b=conv(mid, mid, kernel_size=3, stride=stride, groups=mid),
                squeeze_excitation=SqueezeExcitation(mid, int(out_channels * squeeze_ratio), activation=nn.SiLU),
                conv_c=nn.Conv2d(mid, out_channels, kernel_size=1, bias=True),
            )
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x) + self.stochastic_depth(self.layers(x))  # N x C_out x H/s x W/s


class RelativePositionalMultiHeadAttention(nn.Module):
    """Self-attention among the P = p² tokens of each partition, with a learned relative position bias."""

    def __init__(self, dim: int, head_dim: int, partition_size: int) -> None:
        super().__init__()
        if dim % head_dim:
            raise ValueError(f"width {dim} is not divisible by the head width {head_dim}")
        self.num_heads = dim // head_dim
        self.partition_size = partition_size
        self.scale = dim**-0.5  # see the card's deviations
        self.to_qkv = nn.Linear(dim, 3 * dim)
        self.merge = nn.Linear(dim, dim)
        side = 2 * partition_size - 1
        self.relative_position_bias_table = nn.Parameter(torch.empty(side * side, self.num_heads))
        tokens = partition_size * partition_size
        index = relative_position_index((partition_size, partition_size)).view(tokens, tokens)
        self.register_buffer("relative_position_index", index)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def position_bias(self) -> torch.Tensor:
        """1 x heads x P x P: each head's bias for every (query, key) offset in a partition."""
        tokens = self.partition_size**2
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        return bias.view(tokens, tokens, self.num_heads).permute(2, 0, 1).unsqueeze(0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        qkv = self.to_qkv(x)  # N x G x P x 3C
        out = vision_transformer.multi_head_attention(qkv, self.num_heads, self.scale, self.position_bias())
        return self.merge(out)  # N x G x P x C


class PartitionAttention(nn.Module):
    """Pre-norm attention and MLP over partitions of the map: p × p windows, or a dilated p × p grid.

    Block ("window") attention mixes each p × p window. Grid attention cuts the
    map into (H/p) × (W/p) windows and attends across them, among the tokens at the
    same place in every window: a p × p grid with stride H/p spanning the map.
    """

    def __init__(
        self, dim: int, head_dim: int, partition_size: int, partition_type: str, map_size: int,
        stochastic_depth_prob: float, mlp_ratio: int = 4, attention_dropout: float = 0.0, mlp_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if partition_type not in ("window", "grid"):
            raise ValueError(f"partition_type must be 'window' or 'grid', got {partition_type!r}")
        self.partition_type = partition_type
        self.map_size = map_size
        # Side of the windows the map is cut into: p for block attention, H/p for the grid.
        self.window = partition_size if partition_type == "window" else map_size // partition_size
        self.attn_layer = nn.Sequential(
            nn.LayerNorm(dim),
            RelativePositionalMultiHeadAttention(dim, head_dim, partition_size),
            nn.Dropout(attention_dropout),
        )
        self.mlp_layer = nn.Sequential(
            nn.LayerNorm(dim),
            nn.Linear(dim, dim * mlp_ratio),
            nn.GELU(),
            nn.Linear(dim * mlp_ratio, dim),
            nn.Dropout(mlp_dropout),
        )
        self.stochastic_dropout = StochasticDepth(stochastic_depth_prob, "row")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_map_size(x, self.map_size)
        x = window_partition(x, self.window)  # N x windows x tokens x C
        if self.partition_type == "grid":
            x = x.transpose(-2, -3)  # N x tokens x windows x C: attend across windows
        x = x + self.stochastic_dropout(self.attn_layer(x))
        x = x + self.stochastic_dropout(self.mlp_layer(x))
        if self.partition_type == "grid":
            x = x.transpose(-2, -3)
        side = self.map_size // self.window
        return window_departition(x, self.window, side, side)  # N x C x H x W

    def extra_repr(self) -> str:
        return f"partition_type={self.partition_type!r}, map_size={self.map_size}"


class MaxVitLayer(nn.Module):
    """One MaxViT block of the paper: MBConv, then block attention, then grid attention."""

    def __init__(
        self, in_channels: int, out_channels: int, stride: int, map_size: int, head_dim: int, partition_size: int,
        stochastic_depth_prob: float,
    ) -> None:
        super().__init__()
        attention = partial(PartitionAttention, out_channels, head_dim, partition_size)
        self.layers = nn.Sequential(
            OrderedDict(
                MBconv=MBConv(in_channels, out_channels, stride, stochastic_depth_prob),
                window_attention=attention("window", map_size, stochastic_depth_prob),
                grid_attention=attention("grid", map_size, stochastic_depth_prob),
            )
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class MaxVitBlock(nn.Module):
    """One stage: MaxViT layers, the first halving the map and changing the width."""

    def __init__(
        self, in_channels: int, out_channels: int, depth: int, input_size: int, head_dim: int, partition_size: int,
        stochastic_depth_probs: Sequence[float],
    ) -> None:
        super().__init__()
        self.map_size = _halved(input_size)
        self.layers = nn.ModuleList(
            MaxVitLayer(
                in_channels if i == 0 else out_channels, out_channels, 2 if i == 0 else 1, self.map_size, head_dim,
                partition_size, stochastic_depth_probs[i],
            )
            for i in range(depth)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x  # N x C_out x H/2 x W/2


class MaxVit(nn.Module):
    """Convolutional stem, four stages of MaxViT blocks, pooled classifier with a tanh pre-logits layer."""

    def __init__(
        self,
        image_size: int,
        stem_channels: int,
        block_channels: Sequence[int],
        block_layers: Sequence[int],
        in_channels: int = 3,
        num_classes: int = 1000,
        head_dim: int = 32,
        partition_size: int = 7,
        stochastic_depth_prob: float = 0.2,
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            ConvNormAct(
                in_channels, stem_channels, 3, stride=2, norm_layer=_BatchNorm, activation_layer=nn.GELU, inplace=None
            ),
            ConvNormAct(stem_channels, stem_channels, 3, norm_layer=None, activation_layer=None),
        )
        size = _halved(image_size)  # after the stem
        total = sum(block_layers)
        # Stochastic depth grows linearly over all layers, from 0 to the rate.
        rates = [i * (stochastic_depth_prob / (total - 1)) for i in range(total)]
        self.blocks = nn.ModuleList()
        channels, start = stem_channels, 0
        for out_channels, depth in zip(block_channels, block_layers):
            if _halved(size) % partition_size:
                raise ValueError(
                    f"image_size {image_size} gives a {_halved(size)}x{_halved(size)} feature map, which "
                    f"{partition_size}x{partition_size} partitions do not tile"
                )
            rate = rates[start : start + depth]
            self.blocks.append(MaxVitBlock(channels, out_channels, depth, size, head_dim, partition_size, rate))
            channels, size, start = out_channels, _halved(size), start + depth
        width = block_channels[-1]
        self.classifier = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.LayerNorm(width),
            nn.Linear(width, width),
            nn.Tanh(),
            nn.Linear(width, num_classes, bias=False),
        )

        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)  # N x 64 x H/2 x W/2
        for block in self.blocks:
            x = block(x)  # MaxViT-T at 224: 64 x 56², 128 x 28², 256 x 14², 512 x 7²
        return self.classifier(x)  # N x num_classes


# The paper's MaxViT-T variant: stem width, then per stage its blocks B and channels C.
CONFIGS: dict[str, dict[str, int | tuple[int, ...]]] = {
    "T": {"stem": 64, "B": (2, 2, 5, 2), "C": (64, 128, 256, 512)},
}


@register_model(card=CARD, display_name="MaxViT-T", default_input=(3, 224, 224), documented_min_size=224)
def maxvit_t(
    *, in_channels: int = 3, num_classes: int = 1000, image_size: int = 224, partition_size: int = 7,
    stochastic_depth_prob: float = 0.2,
) -> MaxVit:
    """MaxViT-T: B = (2, 2, 5, 2), C = (64, 128, 256, 512), 7×7 windows and grid, 32-channel heads."""
    cfg = CONFIGS["T"]
    return MaxVit(
        image_size, cfg["stem"], cfg["C"], cfg["B"], in_channels, num_classes,  # type: ignore[arg-type]
        partition_size=partition_size, stochastic_depth_prob=stochastic_depth_prob,
    )

"""Swin Transformer (Swin-T, -S, -B) and Swin Transformer V2 (Swin-V2-T, -S, -B).

Liu, Lin, Cao, Hu, Wei, Zhang, Lin and Guo, "Swin Transformer: Hierarchical Vision
Transformer using Shifted Windows", ICCV 2021, doi:10.1109/ICCV48922.2021.00986,
arXiv:2103.14030.

Liu, Hu, Lin, Yao, Xie, Wei, Ning, Cao, Zhang, Dong, Wei and Guo, "Swin Transformer
V2: Scaling Up Capacity and Resolution", CVPR 2022, doi:10.1109/CVPR52688.2022.01170,
arXiv:2111.09883.

Both versions live in one file because V2 keeps V1's whole skeleton (patch
embedding, four stages of shifted-window blocks, patch merging, pooled head) and
changes three things inside it: cosine attention with a continuous position bias,
normalisation after each residual branch instead of before, and patch merging that
normalises after its reduction. Each version has its own paper card. The modules
and their names follow ``torchvision.models.swin_transformer``, so torchvision
checkpoints load with ``load_state_dict(..., strict=True)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from archdoc.registry import PaperCard, register_model
from archdoc.zoo.convnext import Permute
from archdoc.zoo.layers import StochasticDepth
from archdoc.zoo.vision_transformer import MLPBlock

FAMILY = "Swin Transformer"

_PADDING = (
    "Feature maps are padded with zeros to whole windows, and to even sizes before patch merging, "
    "so any input from 4×4 up runs; the paper's sizes divide evenly, and its code shrinks the "
    "window to a smaller map instead of padding the map."
)
_IO = (
    "The patch embedding takes `in_channels` input channels instead of a fixed 3, and the head has "
    "`num_classes` outputs instead of 1000."
)

CARD = PaperCard(
    title="Swin Transformer: Hierarchical Vision Transformer using Shifted Windows",
    authors=("Ze Liu", "Yutong Lin", "Yue Cao", "Han Hu", "Yixuan Wei", "Zheng Zhang", "Stephen Lin", "Baining Guo"),
    year=2021,
    venue="ICCV 2021",
    doi="10.1109/ICCV48922.2021.00986",
    arxiv="2103.14030",
    description=(
        "Swin Transformer computes self-attention inside non-overlapping local windows and shifts "
        "the window grid by half a window in every other layer, so information crosses windows "
        "at a cost linear in image size; patch merging builds a four-stage hierarchy like a CNN's. "
        "It became a general-purpose vision backbone, leading ImageNet, COCO and ADE20K in 2021."
    ),
    implementation=(
        "torchvision-compatible: module names and shapes match `torchvision.models.swin_transformer`, "
        "so torchvision checkpoints load with `strict=True`."
    ),
    deviations=(_PADDING, _IO),
)

CARD_V2 = PaperCard(
    title="Swin Transformer V2: Scaling Up Capacity and Resolution",
    authors=(
        "Ze Liu", "Han Hu", "Yutong Lin", "Zhuliang Yao", "Zhenda Xie", "Yixuan Wei", "Jia Ning", "Yue Cao",
        "Zheng Zhang", "Li Dong", "Furu Wei", "Baining Guo",
    ),
    year=2022,
    venue="CVPR 2022",
    doi="10.1109/CVPR52688.2022.01170",
    arxiv="2111.09883",
    description=(
        "Swin Transformer V2 stabilises large Swin models with scaled cosine attention and "
        "residual post-normalisation, and replaces the learned bias table with a small MLP over "
        "log-spaced relative coordinates, so a model transfers to larger windows and images. "
        "It scaled Swin to 3 billion parameters and 1,536×1,536 inputs."
    ),
    implementation=(
        "torchvision-compatible: module names and shapes match `torchvision.models.swin_transformer`, "
        "so torchvision checkpoints load with `strict=True`."
    ),
    deviations=(
        "The query/key/value projection has one bias vector of three parts (checkpoint layout), "
        "whose key part is replaced by zeros in every forward pass, so as in the paper only queries "
        "and values have biases; the unused key biases are counted in the parameters.",
        "Relative coordinates are normalised by the window the model is built with; the paper's "
        "normalisation by a pre-training window, for transfer to larger windows, is not implemented.",
        _PADDING,
        _IO,
    ),
)


def relative_position_index(window: Sequence[int]) -> torch.Tensor:
    """Index into the ((2Wh − 1)(2Ww − 1))-row bias table for every (query, key) pair of a window.

    Built in plain Python: on the meta device the tensor has no values, which is fine
    because forward only indexes with it. Returns ``(Wh·Ww)²`` indices, query-major.
    """
    wh, ww = window
    cells = [(i, j) for i in range(wh) for j in range(ww)]
    index = [(qi - ki + wh - 1) * (2 * ww - 1) + (qj - kj + ww - 1) for qi, qj in cells for ki, kj in cells]
    return torch.tensor(index, dtype=torch.long)


def log_spaced_coordinates(window: Sequence[int]) -> torch.Tensor:
    """V2's relative coordinates, 1 x (2Wh − 1) x (2Ww − 1) x 2: sign(Δ)·log2(1 + |8Δ/(W − 1)|)/3."""
    # Built in plain Python, like the index above: on meta, tensor arithmetic runs PyTorch's
    # Python references, and nothing reads these values there.
    def scaled(delta: int, size: int) -> float:
        d = 8 * delta / (size - 1) if size > 1 else math.nan
        return math.copysign(math.log2(abs(d) + 1.0) / 3.0, d) if d else 0.0  # / log2(8): at most log2(9)/3 ≈ 1.06

    wh, ww = window
    table = [[[scaled(i, wh), scaled(j, ww)] for j in range(-(ww - 1), ww)] for i in range(-(wh - 1), wh)]
    return torch.tensor([table], dtype=torch.float32)


def _regions(size: int, window: int, shift: int) -> list[tuple[int, int]]:
    # After a cyclic shift, the last `window` rows hold two pieces that were not neighbours.
    return [(0, size)] if shift == 0 else [(0, size - window), (size - window, size - shift), (size - shift, size)]


def shift_mask(
    like: torch.Tensor, size: tuple[int, int], window: tuple[int, int], shift: tuple[int, int]
) -> torch.Tensor:
    """Additive mask, windows x L x L: 0 within a region of the shifted map, −100 across regions."""
    labels = like.new_zeros(size)
    region = 0
    for r0, r1 in _regions(size[0], window[0], shift[0]):
        for c0, c1 in _regions(size[1], window[1], shift[1]):
            labels[r0:r1, c0:c1] = region
            region += 1
    labels = labels.view(size[0] // window[0], window[0], size[1] // window[1], window[1])
    labels = labels.permute(0, 2, 1, 3).reshape(-1, window[0] * window[1])  # windows x L
    different = labels.unsqueeze(1) != labels.unsqueeze(2)
    return torch.zeros(different.shape, dtype=like.dtype, device=like.device).masked_fill(different, -100.0)


def shifted_window_attention(
    x: torch.Tensor,
    qkv_weight: torch.Tensor,
    qkv_bias: torch.Tensor,
    proj_weight: torch.Tensor,
    proj_bias: torch.Tensor,
    position_bias: torch.Tensor,
    window: tuple[int, int],
    shift_size: tuple[int, int],
    num_heads: int,
    logit_scale: torch.Tensor | None = None,
    attention_dropout: float = 0.0,
    dropout: float = 0.0,
    training: bool = False,
) -> torch.Tensor:
    """Multi-head self-attention inside the (shifted) windows of an N x H x W x C map.

    Scores are scaled dot products, or with ``logit_scale`` (V2) cosine similarities times
    a per-head temperature. Its steps depend on the map's size (padding, whether to shift).
    """
    n, h, w, c = x.shape  # channels last
    wh, ww = window
    x = F.pad(x, (0, 0, 0, -w % ww, 0, -h % wh))  # N x H' x W' x C, whole windows
    ph, pw = x.shape[1:3]
    # A window that covers the whole map sees everything already: no shift.
    shift = (shift_size[0] if wh < ph else 0, shift_size[1] if ww < pw else 0)
    if any(shift):
        x = torch.roll(x, shifts=(-shift[0], -shift[1]), dims=(1, 2))
    windows = x.view(n, ph // wh, wh, pw // ww, ww, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, wh * ww, c)
    b, length = windows.shape[:2]  # N·windows x L x C, L = Wh·Ww tokens each

    qkv = F.linear(windows, qkv_weight, qkv_bias).reshape(b, length, 3, num_heads, c // num_heads)
    qkv = qkv.permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]  # each N·windows x heads x L x C/heads
    if logit_scale is None:
        attn = (q * (c // num_heads) ** -0.5) @ k.transpose(-2, -1)  # N·windows x heads x L x L
    else:
        attn = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
        attn = attn * torch.clamp(logit_scale, max=math.log(100.0)).exp()  # temperature at most 100
    attn = attn + position_bias
    if any(shift):
        # Keep pieces that the roll brought together from attending to each other.
        mask = shift_mask(x, (ph, pw), (wh, ww), shift)  # windows x L x L
        attn = attn.view(n, -1, num_heads, length, length) + mask.unsqueeze(1).unsqueeze(0)
        attn = attn.view(b, num_heads, length, length)
    attn = F.dropout(attn.softmax(dim=-1), attention_dropout, training)
    out = (attn @ v).transpose(1, 2).reshape(b, length, c)  # N·windows x L x C
    out = F.dropout(F.linear(out, proj_weight, proj_bias), dropout, training)

    out = out.view(n, ph // wh, pw // ww, wh, ww, c).permute(0, 1, 3, 2, 4, 5).reshape(n, ph, pw, c)
    if any(shift):
        out = torch.roll(out, shifts=shift, dims=(1, 2))
    return out[:, :h, :w, :].contiguous()  # N x H x W x C


class ShiftedWindowAttention(nn.Module):
    """Multi-head self-attention inside (shifted) windows, with a learned relative position bias."""

    def __init__(
        self, dim: int, window_size: Sequence[int], shift_size: Sequence[int], num_heads: int,
        attention_dropout: float = 0.0, dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.window_size = (window_size[0], window_size[1])
        self.shift_size = (shift_size[0], shift_size[1])
        self.num_heads = num_heads
        self.attention_dropout = attention_dropout
        self.dropout = dropout
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self._position_parameters()

    def _position_parameters(self) -> None:
        wh, ww = self.window_size
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * wh - 1) * (2 * ww - 1), self.num_heads))
        self.register_buffer("relative_position_index", relative_position_index(self.window_size))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def _table(self) -> torch.Tensor:
        return self.relative_position_bias_table

    def position_bias(self) -> torch.Tensor:
        """1 x heads x L x L: each head's bias for every (query, key) offset in a window."""
        length = self.window_size[0] * self.window_size[1]
        bias = self._table()[self.relative_position_index].view(length, length, -1)
        return bias.permute(2, 0, 1).unsqueeze(0)

    def _qkv_bias(self) -> torch.Tensor:
        return self.qkv.bias

    def _logit_scale(self) -> torch.Tensor | None:
        return None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return shifted_window_attention(
            x, self.qkv.weight, self._qkv_bias(), self.proj.weight, self.proj.bias, self.position_bias(),
            self.window_size, self.shift_size, self.num_heads, self._logit_scale(), self.attention_dropout,
            self.dropout, self.training,
        )

    def extra_repr(self) -> str:
        return f"window_size={self.window_size}, shift_size={self.shift_size}, num_heads={self.num_heads}"


class ShiftedWindowAttentionV2(ShiftedWindowAttention):
    """V2's window attention: scaled cosine similarity, and a bias from an MLP on log-spaced offsets."""

    def _position_parameters(self) -> None:
        # A learned temperature per head; it starts at 10.
        self.logit_scale = nn.Parameter(torch.full((self.num_heads, 1, 1), math.log(10.0)))
        self.cpb_mlp = nn.Sequential(
            nn.Linear(2, 512), nn.ReLU(inplace=True), nn.Linear(512, self.num_heads, bias=False)
        )
        self.register_buffer("relative_coords_table", log_spaced_coordinates(self.window_size))
        self.register_buffer("relative_position_index", relative_position_index(self.window_size))

    def _table(self) -> torch.Tensor:
        return self.cpb_mlp(self.relative_coords_table).view(-1, self.num_heads)  # (2Wh−1)(2Ww−1) x heads

    def position_bias(self) -> torch.Tensor:
        return 16 * torch.sigmoid(super().position_bias())  # bounded to (0, 16)

    def _qkv_bias(self) -> torch.Tensor:
        c = self.qkv.out_features // 3
        bias = self.qkv.bias
        return torch.cat((bias[:c], torch.zeros(c, dtype=bias.dtype, device=bias.device), bias[2 * c :]))  # no key bias

    def _logit_scale(self) -> torch.Tensor | None:
        return self.logit_scale


class SwinTransformerBlock(nn.Module):
    """Pre-norm block: x + (S)W-MSA(LN(x)), then x + MLP(LN(x))."""

    attention = ShiftedWindowAttention

    def __init__(
        self, dim: int, num_heads: int, window_size: Sequence[int], shift_size: Sequence[int], mlp_ratio: float = 4.0,
        dropout: float = 0.0, attention_dropout: float = 0.0, stochastic_depth_prob: float = 0.0,
    ) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = self.attention(dim, window_size, shift_size, num_heads, attention_dropout, dropout)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = MLPBlock(dim, int(dim * mlp_ratio), dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.stochastic_depth(self.attn(self.norm1(x)))  # N x H x W x C
        return x + self.stochastic_depth(self.mlp(self.norm2(x)))


class SwinTransformerBlockV2(SwinTransformerBlock):
    """Residual post-norm block: x + LN((S)W-MSA(x)), then x + LN(MLP(x))."""

    attention = ShiftedWindowAttentionV2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.stochastic_depth(self.norm1(self.attn(x)))  # N x H x W x C
        return x + self.stochastic_depth(self.norm2(self.mlp(x)))


class PatchMerging(nn.Module):
    """Concatenates each 2×2 neighbourhood (4C channels), normalises, reduces linearly to 2C."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(self._norm_width(dim))

    @staticmethod
    def _norm_width(dim: int) -> int:
        return 4 * dim

    @staticmethod
    def merge(x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (0, 0, 0, x.shape[2] % 2, 0, x.shape[1] % 2))  # N x H' x W' x C, even sides
        # Top-left, bottom-left, top-right, bottom-right of each 2×2 cell: the checkpoints' order.
        parts = (x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2])
        return torch.cat(parts, dim=-1)  # N x H'/2 x W'/2 x 4C

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.reduction(self.norm(self.merge(x)))  # N x H/2 x W/2 x 2C


class PatchMergingV2(PatchMerging):
    """V2's patch merging: the linear reduction to 2C comes first, then LayerNorm."""

    @staticmethod
    def _norm_width(dim: int) -> int:
        return 2 * dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.reduction(self.merge(x)))  # N x H/2 x W/2 x 2C


class SwinTransformer(nn.Module):
    """Patch embedding, four stages of Swin blocks with patch merging between them, pooled linear head.

    ``features`` holds the patch embedding, then stages and merging layers
    alternately (``features.1``, ``.3``, ``.5``, ``.7`` are the stages). Blocks
    alternate regular (even) and shifted (odd) windows.
    """

    def __init__(
        self,
        embed_dim: int,
        depths: Sequence[int],
        num_heads: Sequence[int],
        window_size: Sequence[int],
        stochastic_depth_prob: float = 0.1,
        in_channels: int = 3,
        num_classes: int = 1000,
        patch_size: int = 4,
        mlp_ratio: float = 4.0,
        dropout: float = 0.0,
        attention_dropout: float = 0.0,
        block: type[SwinTransformerBlock] = SwinTransformerBlock,
        merging: type[PatchMerging] = PatchMerging,
    ) -> None:
        super().__init__()
        embedding = nn.Sequential(
            nn.Conv2d(in_channels, embed_dim, kernel_size=patch_size, stride=patch_size),
            Permute((0, 2, 3, 1)),  # channels last from here on
            nn.LayerNorm(embed_dim),
        )
        layers: list[nn.Module] = [embedding]
        total, index = sum(depths), 0
        for stage, (depth, heads) in enumerate(zip(depths, num_heads)):
            dim = embed_dim * 2**stage
            blocks = []
            for i in range(depth):
                shift = [0 if i % 2 == 0 else size // 2 for size in window_size]
                rate = stochastic_depth_prob * index / (total - 1)  # linear in depth, 0 at the first block
                blocks.append(block(dim, heads, window_size, shift, mlp_ratio, dropout, attention_dropout, rate))
                index += 1
            layers.append(nn.Sequential(*blocks))
            if stage + 1 < len(depths):
                layers.append(merging(dim))
        self.features = nn.Sequential(*layers)
        width = embed_dim * 2 ** (len(depths) - 1)
        self.norm = nn.LayerNorm(width)
        self.permute = Permute((0, 3, 1, 2))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.head = nn.Linear(width, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # For Swin-T at 224: tokens 56 x 56 x 96, then 28² x 192, 14² x 384, 7² x 768.
        x = self.features(x)  # N x H/32 x W/32 x 8C
        x = self.permute(self.norm(x))  # N x 8C x H/32 x W/32
        x = self.flatten(self.avgpool(x))  # N x 8C
        return self.head(x)  # N x num_classes


# The Swin paper's Section 3.3: channel number C of the first stage and layer numbers; every
# head has d = 32 channels, so stage i has C·2^i / 32 heads. ImageNet-1K stochastic depth
# rates from its Appendix A2.1 (V2 trains T/S/B with the same rates).
HEAD_DIM = 32
CONFIGS: dict[str, dict[str, int | tuple[int, ...] | float]] = {
    "T": {"C": 96, "layers": (2, 2, 6, 2), "drop_path": 0.2},
    "S": {"C": 96, "layers": (2, 2, 18, 2), "drop_path": 0.3},
    "B": {"C": 128, "layers": (2, 2, 18, 2), "drop_path": 0.5},
}
# Window size M: 7 at 224×224 (V1), 8 at 256×256 (V2's ImageNet-1K models).
WINDOW = {1: 7, 2: 8}


def _swin(
    size: str, version: int, in_channels: int, num_classes: int, stochastic_depth_prob: float | None
) -> SwinTransformer:
    cfg = CONFIGS[size]
    c, layers = cfg["C"], cfg["layers"]
    heads = [c * 2**i // HEAD_DIM for i in range(len(layers))]  # type: ignore[operator,arg-type]
    rate = cfg["drop_path"] if stochastic_depth_prob is None else stochastic_depth_prob
    block, merging = (SwinTransformerBlock, PatchMerging) if version == 1 else (SwinTransformerBlockV2, PatchMergingV2)
    window = (WINDOW[version], WINDOW[version])
    return SwinTransformer(
        c, layers, heads, window, rate, in_channels, num_classes, block=block, merging=merging  # type: ignore[arg-type]
    )


_V1 = {"card": CARD, "default_input": (3, 224, 224), "documented_min_size": 224}
_V2 = {"card": CARD_V2, "default_input": (3, 256, 256), "documented_min_size": 256}


@register_model(display_name="Swin-T", **_V1)
def swin_t(
    *, in_channels: int = 3, num_classes: int = 1000, stochastic_depth_prob: float | None = None
) -> SwinTransformer:
    """Swin-T: C = 96, layers (2, 2, 6, 2), 7×7 windows."""
    return _swin("T", 1, in_channels, num_classes, stochastic_depth_prob)


@register_model(display_name="Swin-S", **_V1)
def swin_s(
    *, in_channels: int = 3, num_classes: int = 1000, stochastic_depth_prob: float | None = None
) -> SwinTransformer:
    """Swin-S: C = 96, layers (2, 2, 18, 2), 7×7 windows."""
    return _swin("S", 1, in_channels, num_classes, stochastic_depth_prob)


@register_model(display_name="Swin-B", **_V1)
def swin_b(
    *, in_channels: int = 3, num_classes: int = 1000, stochastic_depth_prob: float | None = None
) -> SwinTransformer:
    """Swin-B: C = 128, layers (2, 2, 18, 2), 7×7 windows."""
    return _swin("B", 1, in_channels, num_classes, stochastic_depth_prob)


@register_model(display_name="Swin-V2-T", **_V2)
def swin_v2_t(
    *, in_channels: int = 3, num_classes: int = 1000, stochastic_depth_prob: float | None = None
) -> SwinTransformer:
    """Swin-V2-T: C = 96, layers (2, 2, 6, 2), 8×8 windows."""
    return _swin("T", 2, in_channels, num_classes, stochastic_depth_prob)


@register_model(display_name="Swin-V2-S", **_V2)
def swin_v2_s(
    *, in_channels: int = 3, num_classes: int = 1000, stochastic_depth_prob: float | None = None
) -> SwinTransformer:
    """Swin-V2-S: C = 96, layers (2, 2, 18, 2), 8×8 windows."""
    return _swin("S", 2, in_channels, num_classes, stochastic_depth_prob)


@register_model(display_name="Swin-V2-B", **_V2)
def swin_v2_b(
    *, in_channels: int = 3, num_classes: int = 1000, stochastic_depth_prob: float | None = None
) -> SwinTransformer:
    """Swin-V2-B: C = 128, layers (2, 2, 18, 2), 8×8 windows."""
    return _swin("B", 2, in_channels, num_classes, stochastic_depth_prob)

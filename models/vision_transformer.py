"""Vision Transformer: ViT-B/16, -B/32, -L/16, -L/32 and -H/14.

Dosovitskiy, Beyer, Kolesnikov, Weissenborn, Zhai, Unterthiner, Dehghani,
Minderer, Heigold, Gelly, Uszkoreit and Houlsby, "An Image is Worth 16x16 Words:
Transformers for Image Recognition at Scale", ICLR 2021, arXiv:2010.11929.

The modules and their names follow ``torchvision.models.vision_transformer``, so
a torchvision checkpoint loads with ``load_state_dict(..., strict=True)``.
Self-attention keeps ``nn.MultiheadAttention``'s parameters (``in_proj_weight``,
``in_proj_bias``, ``out_proj``) but computes with plain matrix products, so its
multiply-accumulates are counted on every device (``nn.MultiheadAttention`` takes
a fused kernel on CPU in inference, which the dispatcher cannot see into).
"""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from archdoc.registry import PaperCard, register_model

FAMILY = "Vision Transformer"

CARD = PaperCard(
    title="An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale",
    authors=(
        "Alexey Dosovitskiy",
        "Lucas Beyer",
        "Alexander Kolesnikov",
        "Dirk Weissenborn",
        "Xiaohua Zhai",
        "Thomas Unterthiner",
        "Mostafa Dehghani",
        "Matthias Minderer",
        "Georg Heigold",
        "Sylvain Gelly",
        "Jakob Uszkoreit",
        "Neil Houlsby",
    ),
    year=2021,
    venue="ICLR 2021",
    arxiv="2010.11929",
    description=(
        "ViT cuts an image into fixed-size patches, embeds each linearly, prepends a learned class "
        "token, adds position embeddings and feeds the sequence to a standard Transformer encoder. "
        "Pre-trained on enough data (ImageNet-21k, JFT-300M), this convolution-free model matched "
        "or beat the best CNNs, and started the wave of vision Transformers."
    ),
    implementation=(
        "torchvision-compatible: module names and shapes match "
        "`torchvision.models.vision_transformer`, so torchvision checkpoints load with `strict=True`."
    ),
    deviations=(
        "The head is one linear layer, as the paper uses for fine-tuning; the hidden tanh layer of "
        "its pre-training head comes back with `representation_size`.",
        "The position embeddings are learned for one input size (`image_size`, fixed at build), and "
        "only that size runs; the paper interpolates them in 2-D to fine-tune at higher resolutions.",
        "The patch embedding takes `in_channels` input channels instead of a fixed 3, and the head "
        "has `num_classes` outputs instead of 1000.",
        "Dropout rates are builder options, 0 by default.",
    ),
)


def check_image_size(x: torch.Tensor, size: int) -> None:
    """Raise unless ``x`` is N x C x size x size."""
    if tuple(x.shape[-2:]) != (size, size):
        h, w = x.shape[-2:]
        raise ValueError(
            f"this ViT takes {size}x{size} inputs (its position embeddings are learned for that size), got {h}x{w}; "
            f"build it with image_size={h} for square inputs of another size"
        )


def multi_head_attention(
    qkv: torch.Tensor,
    num_heads: int,
    scale: float,
    bias: torch.Tensor | None = None,
    dropout: float = 0.0,
    training: bool = False,
) -> torch.Tensor:
    """softmax(scale · QKᵀ + bias) · V in each head, from packed projections ... x L x 3D to ... x L x D.

    ``qkv`` holds the queries, keys and values side by side, each split into heads. Plain
    matrix products, which the dispatcher counts on every device (a fused kernel on the CPU
    would hide them from the count).
    """
    qkv = qkv.unflatten(-1, (3, num_heads, -1)).movedim(-3, 0).transpose(-2, -3)  # 3 x ... x heads x L x d
    q, k, v = qkv[0], qkv[1], qkv[2]
    attn = (q * scale) @ k.transpose(-2, -1)  # ... x heads x L x L
    if bias is not None:
        attn = attn + bias
    attn = F.dropout(attn.softmax(dim=-1), dropout, training)
    return (attn @ v).transpose(-2, -3).flatten(-2)  # ... x L x D, heads side by side


class MultiheadSelfAttention(nn.Module):
    """Scaled dot-product self-attention over all tokens, in ``num_heads`` heads.

    Parameters are laid out as in ``nn.MultiheadAttention``: one packed
    query/key/value projection and an output projection.
    """

    def __init__(self, dim: int, num_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"width {dim} is not divisible by {num_heads} heads")
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.dropout = dropout
        self.in_proj_weight = nn.Parameter(torch.empty(3 * dim, dim))
        self.in_proj_bias = nn.Parameter(torch.empty(3 * dim))
        self.out_proj = nn.Linear(dim, dim)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.in_proj_bias)
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias)  # N x L x 3D
        out = multi_head_attention(qkv, self.num_heads, self.head_dim**-0.5, None, self.dropout, self.training)
        return self.out_proj(out)  # N x L x D

    def extra_repr(self) -> str:
        return f"num_heads={self.num_heads}, dropout={self.dropout}"


class MLPBlock(nn.Sequential):
    """Linear up to the MLP size, GELU, linear back down, with dropout after each linear layer."""

    def __init__(self, dim: int, mlp_dim: int, dropout: float) -> None:
        super().__init__(
            nn.Linear(dim, mlp_dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(mlp_dim, dim), nn.Dropout(dropout)
        )
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.normal_(m.bias, std=1e-6)


class EncoderBlock(nn.Module):
    """Pre-norm Transformer layer: x + MSA(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, num_heads: int, dim: int, mlp_dim: int, dropout: float, attention_dropout: float) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.ln_1 = nn.LayerNorm(dim, eps=1e-6)
        self.self_attention = MultiheadSelfAttention(dim, num_heads, attention_dropout)
        self.dropout = nn.Dropout(dropout)
        self.ln_2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = MLPBlock(dim, mlp_dim, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.dropout(self.self_attention(self.ln_1(x)))  # N x L x D
        return x + self.mlp(self.ln_2(x))


class Encoder(nn.Module):
    """Position embeddings, the stack of Transformer layers and a final LayerNorm."""

    def __init__(
        self, seq_length: int, num_layers: int, num_heads: int, dim: int, mlp_dim: int, dropout: float,
        attention_dropout: float,
    ) -> None:
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.empty(1, seq_length, dim).normal_(std=0.02))
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.Sequential(
            OrderedDict(
                (f"encoder_layer_{i}", EncoderBlock(num_heads, dim, mlp_dim, dropout, attention_dropout))
                for i in range(num_layers)
            )
        )
        self.ln = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.dropout(x + self.pos_embedding)  # N x L x D, one learned embedding per position
        return self.ln(self.layers(x))


class VisionTransformer(nn.Module):
    """Patch embedding, class token, Transformer encoder, and a head on the class token."""

    def __init__(
        self,
        image_size: int,
        patch_size: int,
        num_layers: int,
        num_heads: int,
        hidden_dim: int,
        mlp_dim: int,
        in_channels: int = 3,
        num_classes: int = 1000,
        dropout: float = 0.0,
        attention_dropout: float = 0.0,
        representation_size: int | None = None,
    ) -> None:
        super().__init__()
        if image_size % patch_size:
            raise ValueError(f"image_size {image_size} is not a multiple of the patch size {patch_size}")
        self.image_size = image_size
        self.patch_size = patch_size
        self.hidden_dim = hidden_dim
        self.class_token = nn.Parameter(torch.zeros(1, 1, hidden_dim))
        self.conv_proj = nn.Conv2d(in_channels, hidden_dim, kernel_size=patch_size, stride=patch_size)
        seq_length = (image_size // patch_size) ** 2 + 1  # the patches and the class token
        self.encoder = Encoder(seq_length, num_layers, num_heads, hidden_dim, mlp_dim, dropout, attention_dropout)
        heads: OrderedDict[str, nn.Module] = OrderedDict()
        if representation_size is None:
            heads["head"] = nn.Linear(hidden_dim, num_classes)
        else:
            heads["pre_logits"] = nn.Linear(hidden_dim, representation_size)
            heads["act"] = nn.Tanh()
            heads["head"] = nn.Linear(representation_size, num_classes)
        self.heads = nn.Sequential(heads)

        # The patch embedding and pre-logits as LeCun-normal; the head starts at zero.
        fan_in = self.conv_proj.in_channels * patch_size * patch_size
        nn.init.trunc_normal_(self.conv_proj.weight, std=math.sqrt(1 / fan_in))
        nn.init.zeros_(self.conv_proj.bias)
        if representation_size is not None:
            nn.init.trunc_normal_(self.heads.pre_logits.weight, std=math.sqrt(1 / hidden_dim))
            nn.init.zeros_(self.heads.pre_logits.bias)
        nn.init.zeros_(self.heads.head.weight)
        nn.init.zeros_(self.heads.head.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_image_size(x, self.image_size)
        x = self.conv_proj(x)  # N x D x H/p x W/p, one embedding per p x p patch
        x = x.flatten(2).transpose(1, 2)  # N x HW/p² x D
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1)  # N x (1 + HW/p²) x D
        x = self.encoder(x)
        return self.heads(x[:, 0])  # the class token's final state → N x num_classes


# The paper's Table 1; the builder's name adds the patch size (ViT-B/16: Base, 16×16 patches).
CONFIGS: dict[str, dict[str, int]] = {
    "Base": {"layers": 12, "hidden_size": 768, "mlp_size": 3072, "heads": 12},
    "Large": {"layers": 24, "hidden_size": 1024, "mlp_size": 4096, "heads": 16},
    "Huge": {"layers": 32, "hidden_size": 1280, "mlp_size": 5120, "heads": 16},
}


def _vit(
    model: str, patch_size: int, image_size: int, in_channels: int, num_classes: int, dropout: float,
    attention_dropout: float, representation_size: int | None,
) -> VisionTransformer:
    cfg = CONFIGS[model]
    return VisionTransformer(
        image_size, patch_size, cfg["layers"], cfg["heads"], cfg["hidden_size"], cfg["mlp_size"],
        in_channels, num_classes, dropout, attention_dropout, representation_size,
    )


_IMAGENET = (3, 224, 224)
# torchvision's ImageNet-1K weights document min_size 224: the only size these models take.
_MIN = 224
VIT_H_518 = (
    "The default input is 224×224 (torchvision's builder default, and the size of its SWAG linear-probe "
    "weights); the paper fine-tunes ViT-H/14 on ImageNet at 518×518, which `image_size=518` builds "
    "(the size of torchvision's default, end-to-end fine-tuned SWAG weights)."
)


@register_model(card=CARD, display_name="ViT-B/16", default_input=_IMAGENET, documented_min_size=_MIN)
def vit_b_16(
    *, in_channels: int = 3, num_classes: int = 1000, image_size: int = 224, dropout: float = 0.0,
    attention_dropout: float = 0.0, representation_size: int | None = None,
) -> VisionTransformer:
    """ViT-B/16: Base (12 layers, width 768, 12 heads) on 16×16 patches."""
    return _vit("Base", 16, image_size, in_channels, num_classes, dropout, attention_dropout, representation_size)


@register_model(card=CARD, display_name="ViT-B/32", default_input=_IMAGENET, documented_min_size=_MIN)
def vit_b_32(
    *, in_channels: int = 3, num_classes: int = 1000, image_size: int = 224, dropout: float = 0.0,
    attention_dropout: float = 0.0, representation_size: int | None = None,
) -> VisionTransformer:
    """ViT-B/32: Base (12 layers, width 768, 12 heads) on 32×32 patches."""
    return _vit("Base", 32, image_size, in_channels, num_classes, dropout, attention_dropout, representation_size)


@register_model(card=CARD, display_name="ViT-L/16", default_input=_IMAGENET, documented_min_size=_MIN)
def vit_l_16(
    *, in_channels: int = 3, num_classes: int = 1000, image_size: int = 224, dropout: float = 0.0,
    attention_dropout: float = 0.0, representation_size: int | None = None,
) -> VisionTransformer:
    """ViT-L/16: Large (24 layers, width 1024, 16 heads) on 16×16 patches."""
    return _vit("Large", 16, image_size, in_channels, num_classes, dropout, attention_dropout, representation_size)


@register_model(card=CARD, display_name="ViT-L/32", default_input=_IMAGENET, documented_min_size=_MIN)
def vit_l_32(
    *, in_channels: int = 3, num_classes: int = 1000, image_size: int = 224, dropout: float = 0.0,
    attention_dropout: float = 0.0, representation_size: int | None = None,
) -> VisionTransformer:
    """ViT-L/32: Large (24 layers, width 1024, 16 heads) on 32×32 patches."""
    return _vit("Large", 32, image_size, in_channels, num_classes, dropout, attention_dropout, representation_size)


@register_model(
    card=CARD, display_name="ViT-H/14", default_input=_IMAGENET, documented_min_size=_MIN, deviations=(VIT_H_518,)
)
def vit_h_14(
    *, in_channels: int = 3, num_classes: int = 1000, image_size: int = 224, dropout: float = 0.0,
    attention_dropout: float = 0.0, representation_size: int | None = None,
) -> VisionTransformer:
    """ViT-H/14: Huge (32 layers, width 1280, 16 heads) on 14×14 patches."""
    return _vit("Huge", 14, image_size, in_channels, num_classes, dropout, attention_dropout, representation_size)

"""Small models with the patterns of the big hubs' models (torchvision, timm, Hugging Face).

The tests cannot import those packages (torchvision does not import beside the torch
the tests run on), so each pattern that made a real model fail is written out here, small
enough that its figures can be checked by hand.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class TfSameConv2d(nn.Conv2d):
    """A convolution padded like TensorFlow's "SAME": dynamically, the odd pixel after (timm's ``Conv2dSame``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for n, k, s, d in zip(x.shape[-2:], self.kernel_size, self.stride, self.dilation):
            total = max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
            pads.append((total // 2, total - total // 2))
        (top, bottom), (left, right) = pads
        x = F.pad(x, [left, right, top, bottom])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class TfStem(nn.Module):
    """A stem of two TF-"SAME" convolutions and an explicit ``F.pad`` before a pooling layer."""

    def __init__(self) -> None:
        super().__init__()
        self.conv_stem = TfSameConv2d(3, 8, 3, stride=2, bias=False)
        self.conv2 = TfSameConv2d(8, 8, 4, stride=1, bias=False)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv2(self.conv_stem(x))
        return self.pool(F.pad(x, (0, 1, 0, 1)))


class TinySeq2Seq(nn.Module):
    """An encoder-decoder whose second positional parameter is not the decoder's input (like T5)."""

    def __init__(self, vocab: int = 100, width: int = 16) -> None:
        super().__init__()
        self.shared = nn.Embedding(vocab, width)
        self.encoder = nn.Linear(width, width)
        self.decoder = nn.Linear(2 * width, width)
        self.lm_head = nn.Linear(width, vocab, bias=False)
        self.lm_head.weight = self.shared.weight  # tied, as in T5

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
        decoder_input_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if decoder_input_ids is None:
            raise ValueError("You must specify exactly one of input_ids or inputs_embeds")
        memory = self.encoder(self.shared(input_ids)).mean(dim=1, keepdim=True)
        target = self.shared(decoder_input_ids)
        hidden = self.decoder(torch.cat([target, memory.expand_as(target)], dim=-1))
        return self.lm_head(hidden)


class SecretStride(nn.Conv2d):
    """A convolution whose forward ignores its own stride: its attributes cannot explain its output."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight, self.bias, 1, self.padding)


class WidthSchedule(nn.Module):
    """A builder that computes its widths with tensors and reads them back, like torchvision's RegNet.

    Widths ``round(16 · 1.5^i / 8) · 8`` for i = 0, 1, 2 are 16, 24, 32 (36 rounds to 32);
    the depth comes from ``.item()``.
    """

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        widths = (torch.round(16 * 1.5 ** torch.arange(3) / 8) * 8).int().tolist()
        depth = int(torch.tensor([1, 1]).sum().item())
        layers: list[nn.Module] = []
        channels = 3
        for width in widths:
            for _ in range(depth):
                layers += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU()]
                channels = width
        self.register_buffer("scale", torch.ones(widths[-1]))
        self.offset = torch.zeros(1)  # a plain tensor attribute, neither parameter nor buffer
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x).mean(dim=(2, 3)) * self.scale + self.offset
        return self.head(x)


def failing_builder() -> nn.Module:
    """A builder that fails for a reason that has nothing to do with meta tensors."""
    raise ValueError("width must be even")


class SdpaBlock(nn.Module):
    """Self-attention through ``F.scaled_dot_product_attention``: 4 heads of 16 over width 64."""

    def __init__(self, width: int = 64, heads: int = 4, causal: bool = False) -> None:
        super().__init__()
        self.heads, self.causal = heads, causal
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape
        q, k, v = self.qkv(x).view(batch, length, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal)
        return self.proj(y.transpose(1, 2).reshape(batch, length, width))


class MhaBlock(nn.Module):
    """``nn.MultiheadAttention`` (batch first, width 64, 4 heads) as a model's only layer."""

    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(64, 4, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attn(x, x, x, need_weights=False)[0]


class TinyConfig:
    """A configuration object, like a Hugging Face ``PretrainedConfig``."""

    def __init__(self, layers: int = 2, width: int = 8, vocab: int = 50) -> None:
        self.layers, self.width, self.vocab = layers, width, vocab


class ConfiguredModel(nn.Module):
    """A model built from a configuration object (``Model(config)``), like ``transformers:BertModel``."""

    def __init__(self, config: TinyConfig) -> None:
        super().__init__()
        self.embed = nn.Embedding(config.vocab, config.width)
        self.layers = nn.Sequential(*(nn.Linear(config.width, config.width) for _ in range(config.layers)))

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.layers(self.embed(input_ids))


class ScoreFilter(nn.Module):
    """A detector-like head: keeps the positions whose score passes a threshold (a boolean mask)."""

    def __init__(self) -> None:
        super().__init__()
        self.score = nn.Conv2d(3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scores = self.score(x).flatten(1)
        return scores[scores.sigmoid() > 0.5]


class Detector(nn.Module):
    """A backbone and the detector-like head above."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Conv2d(3, 3, 3, padding=1)
        self.head = ScoreFilter()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


class TinyVideoNet(nn.Module):
    """A clip model on C×T×H×W: frames and pixels shrink at different rates.

    Per axis, with the output ⌊(n + 2p − k) / s⌋ + 1 of each layer:
    - frames T: conv k=3 p=0 s=1, then pool k=2 s=2, then conv k=3 p=0 s=1;
    - height and width: conv k=3 p=1 s=2, then pool k=2 s=2, then conv k=3 p=0 s=1.
    """

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv3d(3, 8, kernel_size=3, stride=(1, 2, 2), padding=(0, 1, 1))
        self.pool = nn.MaxPool3d(2)
        self.conv = nn.Conv3d(8, 8, kernel_size=3)
        self.head = nn.Sequential(nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(8, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.conv(self.pool(self.stem(x))))

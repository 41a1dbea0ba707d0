"""Models that are not in the zoo, loaded by import path (``user_models:UNet``) in the tests.

Each is small enough that its parameters and mult-adds can be counted by hand
(see tests/test_user_models.py).
"""

from __future__ import annotations

import torch
from torch import nn


def double_conv(cin: int, cout: int) -> nn.Sequential:
    """Two 3×3 convolutions with padding 1 (size kept), each followed by ReLU."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(), nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU()
    )


class UNet(nn.Module):
    """A two-level U-Net: the decoder concatenates the encoder's features (skip connections)."""

    def __init__(self, in_channels: int = 3, num_classes: int = 2, width: int = 8) -> None:
        super().__init__()
        w = width
        self.enc1 = double_conv(in_channels, w)
        self.enc2 = double_conv(w, 2 * w)
        self.pool = nn.MaxPool2d(2)
        self.bottleneck = double_conv(2 * w, 4 * w)
        self.up2 = nn.ConvTranspose2d(4 * w, 2 * w, 2, stride=2)
        self.dec2 = double_conv(4 * w, 2 * w)
        self.up1 = nn.ConvTranspose2d(2 * w, w, 2, stride=2)
        self.dec1 = double_conv(2 * w, w)
        self.head = nn.Conv2d(w, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        b = self.bottleneck(self.pool(e2))
        d2 = self.dec2(torch.cat([self.up2(b), e2], dim=1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], dim=1))
        return self.head(d1)


class Factories:
    """Builders reached through a dotted attribute path (``user_models:Factories.tiny_unet``)."""

    @staticmethod
    def tiny_unet(width: int = 4) -> UNet:
        """A U-Net for one-channel images."""
        return UNet(in_channels=1, num_classes=1, width=width)


class TokenTransformer(nn.Module):
    """Token ids → embedding → transformer encoder → per-token vocabulary logits."""

    default_input = "16:int64"

    def __init__(self, vocab: int = 100, dim: int = 32, heads: int = 4, ff: int = 64, layers: int = 2) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        layer = nn.TransformerEncoderLayer(dim, heads, ff, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(dim, vocab)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(self.embed(tokens)))


class LSTMClassifier(nn.Module):
    """Token ids → embedding → two-layer LSTM → class logits from the last step."""

    def __init__(self, vocab: int = 50, dim: int = 16, hidden: int = 32, num_classes: int = 3) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.lstm = nn.LSTM(dim, hidden, num_layers=2, batch_first=True)
        self.fc = nn.Linear(hidden, num_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.embed(tokens))
        return self.fc(out[:, -1])


class TiedLM(nn.Module):
    """A language model whose output projection reuses the embedding matrix."""

    def __init__(self, vocab: int = 100, dim: int = 16) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.mix = nn.Linear(dim, dim)
        self.decoder = nn.Linear(dim, vocab, bias=False)
        self.decoder.weight = self.embed.weight  # tied: one (vocab, dim) tensor

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.decoder(torch.tanh(self.mix(self.embed(tokens))))


class TwoHeads(nn.Module):
    """A shared trunk with a classification head and a regression head, returned as a dict."""

    def __init__(self, features: int = 20, hidden: int = 32, num_classes: int = 5) -> None:
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(features, hidden), nn.ReLU())
        self.classify = nn.Linear(hidden, num_classes)
        self.regress = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.trunk(x)
        return {"logits": self.classify(h), "score": self.regress(h)}


class Branchy(nn.Module):
    """Takes a branch on tensor values: cannot run on meta tensors, fine on cpu."""

    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Linear(8, 8)
        self.second = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.first(x)
        if h.sum() > 0:
            h = torch.relu(h)
        else:
            h = -h
        return self.second(h)


class ImageAndVector(nn.Module):
    """Two inputs: an image and a feature vector (``--input 3x32x32 --input 10``)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.vector = nn.Linear(10, 8)
        self.fc = nn.Linear(16, 2)

    def forward(self, image: torch.Tensor, vector: torch.Tensor) -> torch.Tensor:
        a = self.pool(self.conv(image)).flatten(1)
        return self.fc(torch.cat([a, self.vector(vector)], dim=1))


def make_list() -> list[int]:
    """Not a model: returns a list."""
    return [1, 2, 3]


NOT_A_MODEL = 42


class Unrolled(nn.Module):
    """Applies one block three times (a module called more than once)."""

    def __init__(self, width: int = 6) -> None:
        super().__init__()
        self.block = nn.Sequential(nn.Linear(width, width), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for _ in range(3):
            x = self.block(x)
        return x


class _Residual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.conv1(x))


class DeepResidual(nn.Sequential):
    """Many small residual blocks: expanded, its diagram has more edges than Mermaid allows by default."""

    def __init__(self, blocks: int = 200, channels: int = 4) -> None:
        super().__init__(*[_Residual(channels) for _ in range(blocks)])


class Video3D(nn.Module):
    """A clip classifier on 3-D inputs (channels × frames × height × width)."""

    def __init__(self, classes: int = 5) -> None:
        super().__init__()
        self.conv = nn.Conv3d(3, 8, 3, padding=1)
        self.pool = nn.MaxPool3d(2)
        self.head = nn.Sequential(nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(8, classes))

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(torch.relu(self.conv(clip))))  # N x 8 x T/2 x H/2 x W/2 before the head

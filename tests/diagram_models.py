"""Small models with the patterns that break diagrams drawn from a symbolic trace.

Each reproduces a pattern of a well-known architecture family, at a size that
traces in milliseconds: a layer reading its own weight with ``F.conv2d``, a
layer-scale parameter, a class token and a position embedding, a fused
normalisation + activation module, a 12-layer encoder, a dense block, a 3-D
video network. Expected figures in the tests are worked out by hand.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn


class WeightConv(nn.Module):
    """A convolution that holds its weight itself and calls ``F.conv2d`` (no nn.Conv2d child)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(cout, cin, 3, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight, padding=1)


class OwnWeights(nn.Module):
    """A stem that convolves with a weight of the model itself, then a ``WeightConv``."""

    def __init__(self) -> None:
        super().__init__()
        self.stem_weight = nn.Parameter(torch.empty(8, 3, 3, 3))
        self.body = WeightConv(8, 8)
        self.head = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(F.conv2d(x, self.stem_weight, stride=2, padding=1))  # N x 8 x H/2 x W/2
        x = self.body(x)
        return self.head(x.mean((2, 3)))


class ScaledBlock(nn.Module):
    """A ConvNeXt-style residual: depthwise conv, norm, two pointwise layers, a learned per-channel scale."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.GroupNorm(1, dim)
        self.pw1 = nn.Conv2d(dim, 4 * dim, 1)
        self.act = nn.GELU()
        self.pw2 = nn.Conv2d(4 * dim, dim, 1)
        self.gamma = nn.Parameter(torch.full((dim,), 1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.pw2(self.act(self.pw1(self.norm(self.dwconv(x)))))
        return x + self.gamma[:, None, None] * y


class LayerScaleNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 4, stride=4)
        self.blocks = nn.Sequential(*[ScaledBlock(16) for _ in range(3)])
        self.head = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.stem(x))  # N x 16 x H/4 x W/4
        return self.head(x.mean((2, 3)))


class EncoderBlock(nn.Module):
    """Pre-norm transformer layer: attention and MLP, each around a residual addition."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim)
        self.attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.ln_1(x)
        x = x + self.attention(y, y, y, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class TinyViT(nn.Module):
    """Patches, a class token concatenated, a position embedding added, 12 identical layers, a head."""

    def __init__(self, dim: int = 32, depth: int = 12, image: int = 32, patch: int = 8) -> None:
        super().__init__()
        self.patchify = nn.Conv2d(3, dim, patch, stride=patch)
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embedding = nn.Parameter(torch.zeros(1, (image // patch) ** 2 + 1, dim))
        self.layers = nn.ModuleList(EncoderBlock(dim, 4) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patchify(x).flatten(2).transpose(1, 2)  # N x 16 x dim
        token = self.class_token.expand(x.shape[0], -1, -1)
        x = torch.cat([token, x], dim=1) + self.pos_embedding  # N x 17 x dim
        for layer in self.layers:
            x = layer(x)
        return self.head(self.norm(x)[:, 0])


class Encoder(nn.Module):
    """torchvision's ViT layout: position embedding, dropout, named layers in a Sequential, final norm."""

    def __init__(self, dim: int = 32, depth: int = 12, tokens: int = 17) -> None:
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.zeros(1, tokens, dim))
        self.dropout = nn.Dropout(0.0)
        self.layers = nn.Sequential(OrderedDict((f"encoder_layer_{i}", EncoderBlock(dim, 4)) for i in range(depth)))
        self.ln = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ln(self.layers(self.dropout(x + self.pos_embedding)))


class WrappedViT(nn.Module):
    """TinyViT with its layers inside an ``Encoder`` module, as torchvision writes ViT."""

    def __init__(self, dim: int = 32, patch: int = 8) -> None:
        super().__init__()
        self.conv_proj = nn.Conv2d(3, dim, patch, stride=patch)
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.encoder = Encoder(dim)
        self.head = nn.Linear(dim, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_proj(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1)
        return self.head(self.encoder(x)[:, 0])


class TorchEncoder(nn.Module):
    """The same depth with ``nn.TransformerEncoder``: twelve identical torch layers."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(100, 32)
        self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(32, 4, 64, batch_first=True), 12)
        self.head = nn.Linear(32, 2)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(self.embed(tokens)).mean(1))


class BatchNormAct(nn.BatchNorm2d):
    """Batch norm and an activation in one module, calling ``F.batch_norm`` on its own weights."""

    def __init__(self, channels: int) -> None:
        super().__init__(channels)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)
        return self.act(x)


class FusedNormNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = BatchNormAct(8)
        self.conv2 = nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.bn2 = BatchNormAct(8)
        self.fc = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn2(self.conv2(self.bn1(self.conv1(x))))
        return self.fc(x.mean((2, 3)))


class DenseLayer(nn.Module):
    """Norm, ReLU, 1×1 conv to 4k, norm, ReLU, 3×3 conv to k, on the concatenation of all before it."""

    def __init__(self, cin: int, growth: int) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, 4 * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(4 * growth)
        self.conv2 = nn.Conv2d(4 * growth, growth, 3, padding=1, bias=False)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        x = torch.cat(features, 1)
        x = self.conv1(F.relu(self.norm1(x)))
        return self.conv2(F.relu(self.norm2(x)))


class DenseBlock(nn.ModuleDict):
    def __init__(self, layers: int, cin: int, growth: int) -> None:
        super().__init__({f"denselayer{i + 1}": DenseLayer(cin + i * growth, growth) for i in range(layers)})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class TinyDenseNet(nn.Module):
    """A stem, one dense block of six layers (growth 4) and a classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.block = DenseBlock(6, 8, 4)
        self.head = nn.Linear(8 + 6 * 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.block(self.stem(x)).mean((2, 3)))


class Video3D(nn.Module):
    """A 3-D convolutional video classifier: frames × height × width."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv3d(3, 8, (3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3)), nn.BatchNorm3d(8), nn.ReLU())
        self.pool = nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))
        self.conv = nn.Conv3d(8, 16, 3, stride=2, padding=1)
        self.head = nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(self.pool(self.stem(x)))
        return self.head(x.mean((2, 3, 4)))


class Update(nn.Module):
    """A residual update of a hidden state from fixed features (RAFT's update block, in small)."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(8, 8, 3, padding=1)
        self.b = nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return h + self.b(torch.relu(self.a(x + h)))


class Refiner(nn.Module):
    """Encodes, then runs one Update module twelve times: a block whose full drawing is large."""

    def __init__(self) -> None:
        super().__init__()
        self.encode = nn.Conv2d(3, 8, 3, padding=1)
        self.context = nn.Conv2d(3, 8, 3, padding=1)
        self.update = Update()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats, h = self.encode(x), self.context(x)
        for _ in range(12):
            h = self.update(feats, h)
        return h


class IterativeRefiner(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.refine = Refiner()
        self.head = nn.Conv2d(8, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.refine(x))

"""What a module is, as far as the renderers care: its kind and its hyper-parameters.

Both are read off the module (torch's base classes, attributes it sets), never
inferred from names.
"""

from __future__ import annotations

import functools
from typing import Any

import torch
from torch import nn

from archdoc.tracing.record import LayerKind

__all__ = ["kind_of", "attrs_of"]

# Hyper-parameters worth recording when a module has them (read, never inferred).
ATTRS = (
    "in_channels",
    "out_channels",
    "kernel_size",
    "stride",
    "padding",
    "dilation",
    "groups",
    "output_padding",
    "ceil_mode",
    "count_include_pad",
    "output_size",
    "in_features",
    "out_features",
    "start_dim",
    "end_dim",
    "num_features",
    "p",
    "size",
    "scale_factor",
    "mode",
    "alpha",
    "beta",
    "k",
    "normalized_shape",
    "num_embeddings",
    "embedding_dim",
    "hidden_size",
    "num_layers",
    "embed_dim",
    "num_heads",
)


_KIND_TABLE: tuple[tuple[tuple[type, ...], str], ...] = (
    ((nn.modules.conv._ConvTransposeNd,), LayerKind.CONV_TRANSPOSE),
    ((nn.modules.conv._ConvNd,), LayerKind.CONV),
    ((nn.modules.pooling._MaxPoolNd,), LayerKind.MAXPOOL),
    ((nn.modules.pooling._AvgPoolNd,), LayerKind.AVGPOOL),
    ((nn.modules.pooling._AdaptiveMaxPoolNd,), LayerKind.ADAPTIVE_MAXPOOL),
    ((nn.modules.pooling._AdaptiveAvgPoolNd,), LayerKind.ADAPTIVE_AVGPOOL),
    ((nn.Flatten,), LayerKind.FLATTEN),
    ((nn.Linear, nn.Bilinear), LayerKind.LINEAR),
    (
        (
            nn.modules.batchnorm._NormBase,
            nn.GroupNorm,
            nn.LayerNorm,
            nn.LocalResponseNorm,
            nn.RMSNorm,
        ),
        LayerKind.NORM,
    ),
    ((nn.modules.dropout._DropoutNd,), LayerKind.DROPOUT),
    ((nn.Embedding, nn.EmbeddingBag), LayerKind.EMBEDDING),
    ((nn.RNNBase,), LayerKind.RECURRENT),
    ((nn.Sequential, nn.ModuleList, nn.ModuleDict), LayerKind.CONTAINER),
)
_ACTIVATIONS = frozenset(
    name
    for name in dir(nn.modules.activation)
    if isinstance(getattr(nn.modules.activation, name), type)
    and issubclass(getattr(nn.modules.activation, name), nn.Module)
    and name != "MultiheadAttention"
)


def kind_of(module: nn.Module) -> str:
    """The module's [`LayerKind`][archdoc.tracing.LayerKind], from torch's base classes (activations by their torch.nn class)."""
    return _kind_of_type(type(module))


@functools.lru_cache(maxsize=None)
def _kind_of_type(cls: type) -> str:
    for bases, kind in _KIND_TABLE:
        if issubclass(cls, bases):
            return kind
    if cls.__name__ in _ACTIVATIONS and cls.__module__.startswith("torch.nn"):
        return LayerKind.ACTIVATION
    return LayerKind.OTHER


@functools.lru_cache(maxsize=None)
def _constants(cls: type) -> frozenset[str]:
    return frozenset(getattr(cls, "__constants__", ()) or ()) & frozenset(ATTRS)


def _plain(value: Any) -> Any:
    if isinstance(value, torch.Size):
        return tuple(int(v) for v in value)
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return str(value)


def attrs_of(module: nn.Module) -> tuple[tuple[str, Any], ...]:
    """The hyper-parameters of `ATTRS` that the module sets itself, as plain values."""
    out = []
    own = module.__dict__
    constants = _constants(type(module))
    for key in ATTRS:
        if key in own or key in constants:
            value = getattr(module, key, None)
            if value is None or isinstance(value, (nn.Module, torch.Tensor)) or callable(value):
                continue
            out.append((key, _plain(value)))
    return tuple(out)

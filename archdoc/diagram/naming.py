"""What diagram nodes say: layers in the field's compact notation, and one name per kind of block.

Labels are lists of *terms*, each a line or a comma-separated part of one. Inside
a term the spaces are non-breaking, so Mermaid may wrap a label between terms
but never inside one (``Conv 3×3 /2`` stays whole).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from archdoc.format import shape_text
from archdoc.tracing.record import Layer, LayerKind

__all__ = ["term", "shape_term", "layer_lines", "Kind", "name_kinds", "downsample_marker", "slug", "run_stem"]

NBSP = "\u00a0"

# Extra submodules that make a block's shortcut a projection, in the papers' word.
_PROJECTIONS = frozenset({"downsample", "shortcut", "skip", "proj", "projection", "residual"})


def term(text: str) -> str:
    """``text`` as one unbreakable term (its spaces non-breaking)."""
    return text.replace(" ", NBSP)


def shape_term(shape: Sequence[int] | None) -> str:
    """``(128, 15, 15)`` → ``128 × 15 × 15`` as one term; ``"scalar"`` for a 0-d tensor."""
    if shape is None:
        return "?"
    return term(shape_text(shape)) if len(shape) else "scalar"


def _per_dim(value: Any, dims: int) -> tuple[Any, ...]:
    if isinstance(value, (tuple, list)):
        return tuple(value) * dims if len(value) == 1 else tuple(value)
    return (value,) * dims


def _window(values: Sequence[Any]) -> str:
    return "×".join(str(v) for v in values)


def _stride(values: Sequence[Any], up: bool = False) -> str:
    if all(v == 1 for v in values):
        return ""
    mark = "↑" if up else "/"
    return f" {mark}{values[0] if len(set(values)) == 1 else _window(values)}"


def downsample_marker(layer: Layer) -> str:
    """``/2`` when a call halves its input's spatial size (``/4`` for a quarter...), else ``""``."""
    inp, out = layer.input_shape, layer.output_shape
    if len(inp) < 3 or len(out) != len(inp) or any(o <= 0 for o in out[2:]):
        return ""
    # Odd sizes halve to one more than half (35 → 18 at stride 2): the ratio rounds to the stride.
    ratios = [round(i / o) for i, o in zip(inp[2:], out[2:])]
    return f"/{ratios[0]}" if len(set(ratios)) == 1 and ratios[0] > 1 else ""


def _conv(layer: Layer, dims: int) -> str:
    kernel = _per_dim(layer.attr("kernel_size", 1), dims)
    stride = _per_dim(layer.attr("stride", 1), dims)
    transposed = layer.kind == LayerKind.CONV_TRANSPOSE
    head = term(("ConvTranspose " if transposed else "Conv ") + _window(kernel) + _stride(stride, up=transposed))
    parts = [head, str(layer.attr("out_channels", "?"))]
    groups = layer.attr("groups", 1)
    if groups != 1:
        parts.append("depthwise" if groups == layer.attr("in_channels") else term(f"groups {groups}"))
    dilation = _per_dim(layer.attr("dilation", 1), dims)
    if any(d != 1 for d in dilation):
        parts.append(term(f"dilation {dilation[0] if len(set(dilation)) == 1 else _window(dilation)}"))
    return ", ".join(parts)


def _pool(layer: Layer, dims: int) -> str:
    name = "MaxPool" if layer.kind in (LayerKind.MAXPOOL, LayerKind.ADAPTIVE_MAXPOOL) else "AvgPool"
    if layer.kind in (LayerKind.ADAPTIVE_MAXPOOL, LayerKind.ADAPTIVE_AVGPOOL):
        size = _per_dim(layer.attr("output_size"), dims)
        return term(f"{name} → {_window('*' if s is None else s for s in size)}")
    kernel = _per_dim(layer.attr("kernel_size", 1), dims)
    stride = _per_dim(layer.attr("stride") or layer.attr("kernel_size", 1), dims)
    return term(f"{name} {_window(kernel)}{_stride(stride)}")


def layer_lines(layer: Layer, shape: Sequence[int] | None) -> list[str]:
    """A unit's label: what it does in compact notation, then its output shape (batch dropped)."""
    out = shape_term(shape[1:] if shape else None)
    dims = max(len(layer.input_shape) - 2, 1)
    kind = layer.kind
    if kind in (LayerKind.CONV, LayerKind.CONV_TRANSPOSE):
        head = _conv(layer, dims)
    elif kind in (LayerKind.MAXPOOL, LayerKind.AVGPOOL, LayerKind.ADAPTIVE_MAXPOOL, LayerKind.ADAPTIVE_AVGPOOL):
        head = _pool(layer, dims)
    elif kind == LayerKind.LINEAR and layer.attr("in_features") is not None:
        head = term(f"Linear {layer.attr('in_features')} → {layer.attr('out_features')}")
    elif kind == LayerKind.EMBEDDING and layer.attr("num_embeddings") is not None:
        head = term(f"Embedding {layer.attr('num_embeddings')} → {layer.attr('embedding_dim')}")
    elif kind == LayerKind.RECURRENT and layer.attr("hidden_size") is not None:
        layers = layer.attr("num_layers", 1)
        head = term(f"{layer.type} {layer.attr('hidden_size')}") + (f", {layers}{NBSP}layers" if layers != 1 else "")
    elif layer.attr("num_heads") is not None and layer.attr("embed_dim") is not None:
        head = term(f"{layer.type} {layer.attr('embed_dim')}") + f", {layer.attr('num_heads')}{NBSP}heads"
    elif layer.attr("num_layers") is not None:
        head = term(layer.type) + f", {layer.attr('num_layers')}{NBSP}layers"
    else:
        head = term(layer.type)
    if layer.shared_params:
        head += ", shared"  # weights tied to another layer (embedding and output projection)
    return [head, out]


def fold_term(layer: Layer) -> str:
    """The edge label a folded layer becomes: ``BatchNorm``, ``ReLU``, ``Dropout 0.5``."""
    name = re.sub(r"[123]d$", "", layer.type)
    name = {"LocalResponseNorm": "LRN"}.get(name, name)
    if layer.kind == LayerKind.DROPOUT and layer.attr("p") is not None:
        return term(f"{name} {layer.attr('p')}")
    return term(name)


# --------------------------------------------------------------------------- kinds of blocks


@dataclass(frozen=True)
class Kind:
    """One kind of block: blocks that draw the same.

    Attributes:
        name: The name shown everywhere (heading, node, legend): ``"Bottleneck, projection /2"``.
        anchor: The block diagram's anchor on a page: ``"block-bottleneck-projection-2"``.
        example: The first block of this kind, by qualified name.
        count: How many blocks of this kind the network has.
    """

    name: str
    anchor: str
    example: str
    count: int


def slug(text: str) -> str:
    """A lower-case anchor fragment: ``Bottleneck, projection /2`` → ``bottleneck-projection-2``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "block"


def name_kinds(blocks: Sequence[str], signature: Any, children: Any, block_layer: Any) -> dict[str, Kind]:
    """One `Kind` per distinct signature among ``blocks``, named by what tells them apart.

    Args:
        blocks: Qualified names of the blocks, in call order.
        signature: Maps a block to what makes two blocks draw the same.
        children: Maps a block to the names of its direct submodules.
        block_layer: Maps a block to its first call's [`Layer`][archdoc.tracing.Layer].

    Returns:
        The kind of every block.
    """
    first: dict[Any, str] = {}
    members: dict[Any, list[str]] = {}
    for block in blocks:
        sig = signature(block)
        first.setdefault(sig, block)
        members.setdefault(sig, []).append(block)
    by_type: dict[str, list[Any]] = {}
    for sig, block in first.items():
        by_type.setdefault(block_layer(block).type, []).append(sig)
    names: dict[Any, str] = {}
    for type_name, sigs in by_type.items():
        everyone = set.intersection(*(set(children(first[s])) for s in sigs)) if sigs else set()
        extras = {sig: sorted(set(children(first[sig])) - everyone) for sig in sigs}
        # Runs that tell kinds apart by length (DenseNet's denselayer1 … denselayer24) are counted, not listed.
        counted = sorted({
            run_stem(name) for sig in sigs for name in extras[sig]
            if run_stem(name) and run_stem(name) != name
            and sum(run_stem(other) == run_stem(name) for other in [*extras[sig], *everyone]) >= 2
        })
        for sig in sigs:
            block = first[sig]
            kids = children(block)
            words = [_extra_words(name for name in extras[sig] if run_stem(name) not in counted)]
            words += [f"{sum(run_stem(kid) == stem for kid in kids)} × {stem}" for stem in counted]
            marker = downsample_marker(block_layer(block))
            text = ", ".join([type_name, *[w for w in words if w]])
            names[sig] = f"{text} {marker}" if marker else text
        _tell_apart(names, sigs, first, type_name)
    used: dict[str, int] = {}
    kinds: dict[str, Kind] = {}
    for sig, block in first.items():
        anchor = "block-" + slug(names[sig])
        used[anchor] = used.get(anchor, 0) + 1
        if used[anchor] > 1:
            anchor += f"-{used[anchor]}"
        kind = Kind(names[sig], anchor, block, len(members[sig]))
        for member in members[sig]:
            kinds[member] = kind
    return kinds


def run_stem(name: str) -> str:
    """What numbered siblings share: ``denselayer12`` → ``denselayer``, ``inception3a`` → ``inception``; ``0`` → ``""``."""
    return re.sub(r"\d+[a-z]?$", "", name)


def _extra_words(extra: Iterable[str]) -> str:
    words = ["projection" if name.lower() in _PROJECTIONS else f"with {name}" for name in extra]
    return ", ".join(dict.fromkeys(words))


def _tell_apart(names: dict[Any, str], sigs: Sequence[Any], first: dict[Any, str], type_name: str) -> None:
    """Give kinds that still share a name the inner setting that differs (``conv2 5×5``), else a letter."""
    by_name: dict[str, list[Any]] = {}
    for sig in sigs:
        by_name.setdefault(names[sig], []).append(sig)
    for name, same in by_name.items():
        if len(same) < 2:
            continue
        details = [_difference(sig, same) for sig in same]
        if len(set(details)) == len(details) and all(details):
            for sig, detail in zip(same, details):
                names[sig] = f"{name}, {detail}"
        else:
            for i, sig in enumerate(same):
                names[sig] = f"{name}, form {chr(ord('A') + i)}" if i < 26 else f"{name}, form {i + 1}"


def _difference(sig: Any, others: Sequence[Any]) -> str:
    """The first inner layer whose settings differ among ``others``, as ``conv2 5×5 /2``."""
    inner = dict((path, rest) for path, *rest in sig[2])
    for path, rest in inner.items():
        seen = {tuple(dict((p, r) for p, *r in o[2]).get(path) or ()) for o in others}
        if len(seen) > 1:
            kernel, stride = rest[1], rest[2]
            text = path
            if kernel is not None:
                text += " " + _window(kernel if isinstance(kernel, (tuple, list)) else (kernel,))
            if stride is not None and any(v != 1 for v in (stride if isinstance(stride, (tuple, list)) else (stride,))):
                text += _stride(stride if isinstance(stride, (tuple, list)) else (stride,))
            return term(text)
    return ""

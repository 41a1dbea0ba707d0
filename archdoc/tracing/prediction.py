"""Whether a model runs at an input size, predicted from its traced dataflow graph alone.

A size is pushed through the graph: each tensor is followed as the spatial sizes it
has while they still depend on the input (and where those axes sit, so a
channels-last permute is followed too), as a feature count after a flatten, or as
fixed once adaptive pooling or a global reduction has made it independent of the
input. A size fails when a window gets less than it spans, when a merge meets
unequal sizes, or when a flatten hands a linear layer another number of features
than it had at the traced size.

A step the prediction cannot follow (a window partition, a reshape into tokens)
makes everything computed from it unknown. The prediction is then a lower bound:
it still fails every size that a step it did follow rejects, which is where the
search for the smallest size starts (`archdoc.tracing.input_range` confirms every
predicted edge with real passes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from archdoc.tracing.record import FlowNode, Layer, LayerKind
from archdoc.window import transposed_size, window_size

__all__ = ["Prediction", "size_predictor"]

_WINDOWED = (LayerKind.CONV, LayerKind.MAXPOOL, LayerKind.AVGPOOL, LayerKind.CONV_TRANSPOSE)
_ADAPTIVE = (LayerKind.ADAPTIVE_AVGPOOL, LayerKind.ADAPTIVE_MAXPOOL)
_PASS_THROUGH = (LayerKind.NORM, LayerKind.ACTIVATION, LayerKind.DROPOUT)
_FLATTENS = frozenset({"flatten", "view", "reshape"})
_REDUCTIONS = frozenset({"mean", "sum", "amax", "max", "amin"})
_ERRORS = (TypeError, ValueError, IndexError, KeyError, ZeroDivisionError)

_FIXED = ("fixed", None, None)
_UNKNOWN = ("unknown", None, None)


class _Unpredictable(Exception):
    """The graph holds a step the prediction cannot follow."""


class _Fails(Exception):
    """The size fails at a step the prediction follows."""


class Prediction:
    """The graph's answer to "does the model run at these spatial sizes?".

    Attributes:
        exact: Every step was followed at the traced size: `runs` is the model's own
            answer (still confirmed by passes). Otherwise `runs` is true wherever the
            steps it follows allow, so it may say a size runs that fails later.
    """

    def __init__(self, flow: Sequence[FlowNode], layers: Sequence[Layer], dims: int) -> None:
        self._flow = flow
        self._by_name = {layer.name: layer for layer in reversed(layers)}  # first call of each module
        self._shapes = {node.name: node.shape for node in flow}
        self._consumers: dict[str, list[FlowNode]] = {}
        for node in flow:
            for name in node.inputs:
                self._consumers.setdefault(name, []).append(node)
        self._input = next(n for n in flow if n.op == "placeholder")
        self._dims = dims
        self.exact = True
        traced = tuple(self._input.shape[-dims:]) if self._input.shape else ()
        ran, self.exact = self._follow(traced)
        if not ran:  # the traced size ran, so a step was misread
            raise _Unpredictable(self._input.name)

    def runs(self, spatial: tuple[int, ...]) -> bool:
        """Whether the model runs at ``spatial`` as far as the steps followed tell."""
        try:
            return self._follow(spatial)[0]
        except (_Unpredictable, *_ERRORS):
            return False

    def _follow(self, spatial: tuple[int, ...]) -> tuple[bool, bool]:
        rank = len(self._input.shape)
        state: dict[str, tuple[str, Any, Any]] = {
            self._input.name: ("spatial", tuple(spatial), tuple(range(rank - self._dims, rank)))
        }
        exact = True
        for node in self._flow:
            if node.op in ("placeholder", "output") or node.name in state:
                continue
            movers = [i for i in node.inputs if i in state and state[i][0] != "fixed"]
            moving = {state[i] for i in movers}
            if not moving or node.shape is None:  # independent of the input size, or not a tensor
                state[node.name] = _FIXED
            elif any(kind == "unknown" for kind, _, _ in moving):
                state[node.name] = _UNKNOWN
            elif len(moving) > 1:  # a merge (addition, concatenation) of unequal sizes
                if any(kind != "spatial" for kind, _, _ in moving):
                    state[node.name], exact = _UNKNOWN, False
                    continue
                return False, exact
            else:
                try:
                    state[node.name] = self._step(node, self._shapes[movers[0]], *moving.pop())
                except _Fails:
                    return False, exact
                except _Unpredictable:
                    state[node.name], exact = _UNKNOWN, False
        return True, exact

    def _step(self, node: FlowNode, source: Any, kind: str, sizes: Any, axes: Any) -> tuple[str, Any, Any]:
        """The state of ``node``'s output, from the one state its moving inputs share (``source`` is the first's shape)."""
        shape = node.shape
        module = node.kind if node.op == "call_module" else None
        if kind == "features":
            if module in _PASS_THROUGH:
                return kind, sizes, axes
            raise _Unpredictable(node.name)
        if source is None or shape is None:
            raise _Unpredictable(node.name)
        if module in _WINDOWED:
            layer = self._by_name.get(node.target)
            if layer is None or axes != tuple(range(len(source) - self._dims, len(source))):
                raise _Unpredictable(node.name)
            out = _through_window(layer, sizes)
            if min(out) < 1:
                raise _Fails(node.name)
            return "spatial", out, tuple(range(len(shape) - self._dims, len(shape)))
        if module in _ADAPTIVE:
            return _FIXED
        if node.target in _REDUCTIONS and len(shape) == 2 and len(source) > 2:
            return _FIXED  # global pooling by a reduction: (N, C) whatever the size
        if len(shape) == len(source) and all(shape[a] == source[a] for a in axes):
            return kind, sizes, axes  # elementwise, normalisation, channel mixing
        if (node.target in _FLATTENS or module == LayerKind.FLATTEN) and len(shape) == 2:
            if not self._feeds_linear(node.name):
                raise _Unpredictable(node.name)
            features = shape[1] // max(1, _product(source[a] for a in axes)) * _product(sizes)
            if features != shape[1]:
                raise _Fails(node.name)  # the linear layer after it has a fixed width
            return _FIXED
        if len(shape) == len(source) and sorted(shape) == sorted(source):
            return kind, sizes, _permuted(source, shape, axes)
        raise _Unpredictable(node.name)

    def _feeds_linear(self, name: str) -> bool:
        for user in self._consumers.get(name, []):
            if user.op == "call_module" and user.kind == LayerKind.LINEAR:
                return True
            if user.op == "call_module" and user.kind in _PASS_THROUGH and self._feeds_linear(user.name):
                return True
        return False


def size_predictor(flow: Sequence[FlowNode], layers: Sequence[Layer], dims: int) -> Prediction | None:
    """The [`Prediction`][archdoc.tracing.prediction.Prediction] for a traced graph; ``None`` if it cannot start."""
    inputs = [n for n in flow if n.op == "placeholder"]
    if not inputs or inputs[0].shape is None or len(inputs[0].shape) < 1 + dims:
        return None
    try:
        return Prediction(flow, layers, dims)
    except (_Unpredictable, *_ERRORS):
        return None


def _permuted(source: Sequence[int], shape: Sequence[int], axes: tuple[int, ...]) -> tuple[int, ...]:
    """Where the spatial ``axes`` of ``source`` went in ``shape``, a permutation of it, told apart by size.

    Axes of one size keep their order (as a channels-last permute keeps height before width).
    """
    spatial = {source[a] for a in axes}
    if any(size in spatial for i, size in enumerate(source) if i not in axes):
        raise _Unpredictable("a permute that mixes a spatial axis with another of its size")
    places: dict[int, list[int]] = {}
    for i, size in enumerate(shape):
        if size in spatial:
            places.setdefault(size, []).append(i)
    return tuple(places[source[a]].pop(0) for a in axes)


def _per_dim(value: Any, dims: int) -> tuple[Any, ...]:
    if isinstance(value, (tuple, list)):
        return tuple(value) * dims if len(value) == 1 else tuple(value)
    return (value,) * dims


def _through_window(layer: Layer, sizes: tuple[int, ...]) -> tuple[int, ...]:
    dims = len(sizes)
    attrs = dict(layer.attrs)
    kernel = _per_dim(attrs.get("kernel_size"), dims)
    stride = _per_dim(attrs.get("stride") or attrs.get("kernel_size"), dims)
    padding = attrs.get("padding", 0)
    if padding == "same":
        return sizes
    padding = _per_dim(0 if padding == "valid" else padding, dims)
    dilation = _per_dim(attrs.get("dilation", 1), dims) if layer.kind != LayerKind.AVGPOOL else (1,) * dims
    values = (*kernel, *stride, *padding, *dilation)
    if not all(type(v) is int for v in values):
        raise _Unpredictable(layer.name)
    if layer.kind == LayerKind.CONV_TRANSPOSE:
        extra = _per_dim(attrs.get("output_padding", 0), dims)
        return tuple(transposed_size(n, k, s, p, d, o) for n, k, s, p, d, o in zip(sizes, kernel, stride, padding, dilation, extra))
    ceil = bool(attrs.get("ceil_mode", False))
    return tuple(window_size(n, k, s, p, d, ceil) for n, k, s, p, d in zip(sizes, kernel, stride, padding, dilation))


def _product(values: Any) -> int:
    out = 1
    for v in values:
        out *= v
    return out

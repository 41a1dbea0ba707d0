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
search for the smallest size starts (`archdoc.tracing.input_range` confirms
predicted edges with real passes).

A graph made only of steps whose every failure the arithmetic knows (``torch.nn``'s
own windows, zero- or edge-padded; norms over channels that never take a statistic of a
single value; activations and dropout; elementwise ops, channel
concatenations, global reductions and flattens between them, reading no weight or
constant with spatial extent) is *vouched for*: its answer is the model's, so no pass
has to confirm it (the tests confirm it on one zoo model of each family that has such
graphs, and show the hostile models that only look like one getting their passes).
The graph records what ran, not the Python around it: a ``forward`` may test a size
and raise, and no node would show it. So a graph is vouched for only when every
``forward`` that ran is ``torch.nn``'s own or that of one of `READ_CLASSES` (see `reads_every_forward`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from torch import nn

from archdoc.tracing.record import FlowNode, Layer, LayerKind
from archdoc.window import transposed_size, window_size

__all__ = ["READ_CLASSES", "Prediction", "reads_every_forward", "size_predictor"]

_WINDOWED = (LayerKind.CONV, LayerKind.MAXPOOL, LayerKind.AVGPOOL, LayerKind.CONV_TRANSPOSE)
_ADAPTIVE = (LayerKind.ADAPTIVE_AVGPOOL, LayerKind.ADAPTIVE_MAXPOOL)
_PASS_THROUGH = (LayerKind.NORM, LayerKind.ACTIVATION, LayerKind.DROPOUT)
_FLATTENS = frozenset({"flatten", "view", "reshape"})
_REDUCTIONS = frozenset({"mean", "sum", "amax", "max", "amin"})
_JOINS = frozenset({"cat", "stack", "concat", "concatenate", "hstack", "vstack", "dstack"})  # need equal sizes; other merges broadcast
_ERRORS = (TypeError, ValueError, IndexError, KeyError, ZeroDivisionError)
# Units whose every failure at another size is a window's: on inputs laid out as
# (N, C, spatial...), they work on channels or element by element, or slide a window.
_VOUCHED_KINDS = frozenset({
    *_WINDOWED, *_ADAPTIVE, *_PASS_THROUGH, LayerKind.FLATTEN,
})
_TRAILING_NORMS = frozenset({"LayerNorm", "RMSNorm"})  # normalise fixed trailing (here spatial) sizes
# Ops between units that work on any size their inputs share.
_VOUCHED_OPS = frozenset({
    "add", "sub", "mul", "div", "cat", "flatten", "clone", "dropout", "relu", "relu6", "hardtanh",
    "sigmoid", "tanh", "silu", "gelu", "hardswish", "hardsigmoid", "leaky_relu", "elu", "clamp",
    "clamp_min", "clamp_max", *_REDUCTIONS,
})


# The zoo's own classes whose forward (their own, or torch.nn's Sequential's) has been read
# against the arithmetic: each calls its children and joins, adds, scales or flattens what comes
# back, and never looks at a size; what differs between calls (a residual connection, the input
# transform of GoogLeNet and Inception v3) is decided when the model is built. Named class by
# class: a subclass, which may override what forward calls, is not read.
READ_CLASSES = frozenset(
    f"archdoc.zoo.{name}"
    for name in (
        "alexnet.AlexNet", "alexnet.AlexNet2012", "alexnet.AlexNetBN", "lenet.LeNet5", "vgg.VGG",
        "densenet.DenseBlock", "densenet.DenseLayer", "densenet.DenseNet", "densenet.Transition",
        "googlenet.BasicConv2d", "googlenet.GoogLeNet", "googlenet.Inception",
        "inception.Inception3", "inception.InceptionA", "inception.InceptionAux", "inception.InceptionB",
        "inception.InceptionC", "inception.InceptionD", "inception.InceptionE",
        "layers.ConvNormAct", "layers.SqueezeExcitation", "mnasnet.InvertedResidual", "mnasnet.MNASNet",
        "mobilenetv2.InvertedResidual", "mobilenetv2.MobileNetV2", "mobilenetv3.InvertedResidual", "mobilenetv3.MobileNetV3",
        "regnet.AnyStage", "regnet.BottleneckTransform", "regnet.RegNet", "regnet.ResBottleneckBlock",
        "resnet.BasicBlock", "resnet.Bottleneck", "resnet.ResNet", "squeezenet.Fire", "squeezenet.SqueezeNet",
    )
)


def reads_every_forward(model: nn.Module) -> bool:
    """Whether the traced graph of ``model`` shows all its forwards do: every module is read.

    A module is read when its class is ``torch.nn``'s own (not a subclass from elsewhere) or one
    of `READ_CLASSES`, with the forward that class defines or inherits from ``torch.nn``; when
    neither the class nor the instance brings a call of its own (``__call__``, ``_call_impl``, a
    compiled call); when the instance holds nothing callable of its own (a ``forward``, or a
    method its forward calls, set on it); and when it has no forward hooks. While a global forward
    hook is set, no module is read. Unread code may test a size and raise (a user's
    ``if x.shape[-1] < 7``) without any op to record, so a graph that holds it is not vouched
    for. Call it before the tracer adds its own hooks.
    """
    if any(getattr(nn.modules.module, hooks, None) for hooks in ("_global_forward_hooks", "_global_forward_pre_hooks")):
        return False
    return all(_read(module) for module in model.modules())


def _read(module: nn.Module) -> bool:
    cls = type(module)
    if module._forward_hooks or module._forward_pre_hooks or getattr(module, "_compiled_call_impl", None) is not None:
        return False
    if any(callable(value) for value in vars(module).values()):
        return False
    if cls.__call__ is not nn.Module.__call__ or cls._call_impl is not nn.Module._call_impl:
        return False
    name = f"{cls.__module__}.{cls.__qualname__}"
    forward = f"{getattr(cls.forward, '__module__', '')}.{getattr(cls.forward, '__qualname__', '')}"
    if name in READ_CLASSES:
        return forward == f"{name}.forward" or forward.startswith("torch.nn.")
    return name.startswith("torch.nn.") and forward.startswith("torch.nn.")


class _Unpredictable(Exception):
    """The graph holds a step the prediction cannot follow."""


class Prediction:
    """The graph's answer to "does the model run at these spatial sizes?".

    The graph is read once, at the traced size, into a plan: the steps whose output
    still depends on the input size, each with what it does to the sizes (keeps them,
    slides a window over them, or flattens them for a linear layer). `runs` replays
    that plan for other sizes.

    Args:
        flow: The traced graph.
        layers: The traced module calls (for the windows' hyper-parameters).
        dims: How many trailing axes of the input are spatial.
        opaque: Nodes whose effect on sizes is not the arithmetic's to vouch for
            (`archdoc.tracing.dataflow.FlowRecorder.opaque`).
        read: Whether every forward that ran is one the arithmetic may vouch for
            (`reads_every_forward`); if not, the prediction is never vouched.

    Attributes:
        exact: Every step was followed: `runs` is the model's own answer, as far as the
            steps' recorded shapes tell. Otherwise `runs` is true wherever the steps it
            follows allow, so it may say a size runs that fails later.
        vouched: Every step is one whose failures the arithmetic knows in full (see the
            module's notes), so `runs` needs no pass to confirm it.
    """

    def __init__(
        self, flow: Sequence[FlowNode], layers: Sequence[Layer], dims: int, opaque: frozenset[str], read: bool
    ) -> None:
        self._by_name = {layer.name: layer for layer in reversed(layers)}  # first call of each module
        self._shapes = {node.name: node.shape for node in flow}
        self._consumers: dict[str, list[FlowNode]] = {}
        for node in flow:
            for name in node.inputs:
                self._consumers.setdefault(name, []).append(node)
        self._input = next(n for n in flow if n.op == "placeholder")
        self._dims = dims
        self._opaque = opaque
        self.exact = True
        self.vouched = read
        self._steps = _compiled(self._read(flow), self._input.name)
        if not self.runs(tuple(self._input.shape[-dims:])):  # the traced size ran, so a step was misread
            raise _Unpredictable(self._input.name)

    def runs(self, spatial: tuple[int, ...]) -> bool:
        """Whether the model runs at ``spatial`` as far as the steps followed tell."""
        sizes: dict[str, tuple[int, ...]] = {self._input.name: tuple(spatial)}
        try:
            for action, name, movers, param in self._steps:
                first = sizes[movers[0]]
                if action == "window":
                    out = param(first)
                    if min(out) < 1:
                        return False
                    sizes[name] = out
                elif action == "merge":
                    merged = _merged([sizes[m] for m in movers], param)
                    if merged is None:
                        return False  # a concatenation of unequal sizes, or an addition that cannot broadcast them
                    sizes[name] = merged
                elif param[0] * math.prod(first) != param[1]:
                    return False  # a flatten: the linear layer after it has a fixed width
        except _ERRORS:
            return False
        return True

    def _read(self, flow: Sequence[FlowNode]) -> list[tuple[str, tuple[str, ...], str, Any]]:
        """The plan: each step reading a size-dependent tensor (name, the tensors it reads, action, parameter)."""
        plan: list[tuple[str, tuple[str, ...], str, Any]] = []
        rank = len(self._input.shape)
        axes_of: dict[str, tuple[int, ...]] = {self._input.name: tuple(range(rank - self._dims, rank))}
        unknown: set[str] = set()
        for node in flow:
            if node.op in ("placeholder", "output") or node.name in axes_of:
                continue
            movers = tuple(i for i in node.inputs if i in axes_of or i in unknown)
            if not movers or node.shape is None:  # independent of the input size, or not a tensor
                continue
            if any(m in unknown for m in movers):
                unknown.add(node.name)
                continue
            try:
                if len({axes_of[m] for m in movers}) > 1:
                    raise _Unpredictable(node.name)  # merged tensors hold their sizes on different axes
                axes, action, param = self._step(node, self._shapes[movers[0]], axes_of[movers[0]])
            except _Unpredictable:
                unknown.add(node.name)
                self.exact = False
                continue
            plan.append((node.name, movers, action, param))
            if axes is not None:
                axes_of[node.name] = axes
            if self.vouched and not self._vouches(node, movers, self._shapes[movers[0]], axes_of[movers[0]], action):
                self.vouched = False
        self.vouched = self.vouched and self.exact
        return plan

    def _vouches(self, node: FlowNode, movers: tuple[str, ...], source: Any, axes: tuple[int, ...], action: str) -> bool:
        """Whether ``node``'s step, as read, fails exactly where the arithmetic says (see the module's notes)."""
        shape = node.shape
        if node.name in self._opaque:
            return False
        if node.op == "call_module":
            layer = self._by_name.get(node.target)
            if node.kind not in _VOUCHED_KINDS or layer is None or layer.type in _TRAILING_NORMS:
                return False
            if node.kind in _ADAPTIVE and None in _per_dim(layer.attr("output_size"), self._dims):
                return False  # an axis of size None keeps its input's size
        elif node.target not in _VOUCHED_OPS:
            return False
        if action == "fixed" and node.op != "call_module" and (shape != tuple(source[:2]) or source[1] in (source[a] for a in axes)):
            return False  # a reduction that may keep a spatial axis
        for other in node.inputs:  # a tensor that depends on no size must broadcast along the spatial axes
            extent = self._shapes.get(other) if other not in movers else ()
            if extent is None or any(size != 1 for size in extent[max(0, len(extent) - self._dims):]):
                return False
        return True

    def _step(self, node: FlowNode, source: Any, axes: tuple[int, ...]) -> tuple[Any, str, Any]:
        """What ``node`` does to sizes on ``axes`` of ``source``: its output's axes (``None`` once fixed), action, parameter."""
        shape = node.shape
        module = node.kind if node.op == "call_module" else None
        if source is None or shape is None:
            raise _Unpredictable(node.name)
        if module in _WINDOWED:
            layer = self._by_name.get(node.target)
            if layer is None or axes != tuple(range(len(source) - self._dims, len(source))):
                raise _Unpredictable(node.name)
            return tuple(range(len(shape) - self._dims, len(shape))), "window", _window(layer, self._dims)
        if module in _ADAPTIVE:
            return None, "fixed", None
        if node.target in _REDUCTIONS and len(shape) == 2 and len(source) > 2:
            return None, "fixed", None  # global pooling by a reduction: (N, C) whatever the size
        if len(shape) == len(source) and all(shape[a] == source[a] for a in axes):
            # Elementwise, normalisation, channel mixing; the parameter: whether it broadcasts what it merges.
            return axes, "keep", node.op == "call_function" and node.target not in _JOINS
        if (node.target in _FLATTENS or module == LayerKind.FLATTEN) and len(shape) == 2:
            if not self._feeds_linear(node.name):
                raise _Unpredictable(node.name)
            return None, "flatten", (shape[1] // max(1, math.prod(source[a] for a in axes)), shape[1])
        if len(shape) == len(source) and sorted(shape) == sorted(source):
            return _permuted(source, shape, axes), "keep", None
        raise _Unpredictable(node.name)

    def _feeds_linear(self, name: str) -> bool:
        for user in self._consumers.get(name, []):
            if user.op == "call_module" and user.kind == LayerKind.LINEAR:
                return True
            if user.op == "call_module" and user.kind in _PASS_THROUGH and self._feeds_linear(user.name):
                return True
        return False


def size_predictor(
    flow: Sequence[FlowNode], layers: Sequence[Layer], dims: int, opaque: frozenset[str], read: bool
) -> Prediction | None:
    """The [`Prediction`][archdoc.tracing.prediction.Prediction] for a traced graph; ``None`` if it cannot start."""
    inputs = [n for n in flow if n.op == "placeholder"]
    if not inputs or inputs[0].shape is None or len(inputs[0].shape) < 1 + dims:
        return None
    try:
        return Prediction(flow, layers, dims, opaque, read)
    except (_Unpredictable, *_ERRORS):
        return None


def _compiled(plan: Sequence[tuple[str, tuple[str, ...], str, Any]], source: str) -> list[tuple[str, str, tuple[str, ...], Any]]:
    """The plan as the steps that can fail or change sizes, each reading the tensors whose sizes it meets.

    A step that keeps sizes (elementwise, normalisation, a window that gives its input's
    size) only names its input's sizes again, so every tensor is traced back to the last
    step that changed them; merges of tensors traced back to one source always agree.
    """
    origin: dict[str, str] = {source: source}
    steps: list[tuple[str, str, tuple[str, ...], Any]] = []
    for name, movers, action, param in plan:
        roots = tuple(dict.fromkeys(origin[m] for m in movers))
        if len(roots) > 1:
            steps.append(("merge", name, roots, action == "keep" and param))
            origin[name] = name
        if action == "window" and param is not None:
            steps.append(("window", name, roots[:1], param))
            origin[name] = name
        elif action == "flatten":
            steps.append(("flatten", name, roots[:1], param))
        elif len(roots) == 1:  # kept, or made fixed (then nothing reads it as a size)
            origin[name] = roots[0]
    return steps


def _merged(sizes: Sequence[tuple[int, ...]], broadcasts: bool) -> tuple[int, ...] | None:
    """The sizes of a merge of tensors with these ``sizes``; ``None`` where it fails.

    A concatenation needs them equal; an elementwise op broadcasts, so an axis of
    size 1 takes the other's.
    """
    first = sizes[0]
    if all(other == first for other in sizes[1:]):
        return first
    if not broadcasts:
        return None
    out = []
    for along in zip(*sizes):
        wide = set(along) - {1}
        if len(wide) > 1:
            return None
        out.append(wide.pop() if wide else 1)
    return tuple(out)


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


def _window(layer: Layer, dims: int) -> Any:
    """The sizes a convolution or pooling layer gives for the sizes it gets, as a function;
    ``None`` when it gives every size back unchanged."""
    attrs = dict(layer.attrs)
    padding = attrs.get("padding", 0)
    if padding == "same":
        return None
    kernel = _per_dim(attrs.get("kernel_size"), dims)
    stride = _per_dim(attrs.get("stride") or attrs.get("kernel_size"), dims)
    padding = _per_dim(0 if padding == "valid" else padding, dims)
    dilation = _per_dim(attrs.get("dilation", 1), dims) if layer.kind != LayerKind.AVGPOOL else (1,) * dims
    if not all(type(v) is int for v in (*kernel, *stride, *padding, *dilation)) or len(kernel) != dims:
        raise _Unpredictable(layer.name)
    if layer.kind == LayerKind.CONV_TRANSPOSE:
        extra = _per_dim(attrs.get("output_padding", 0), dims)
        axes = tuple(zip(kernel, stride, padding, dilation, extra))
        return lambda sizes: tuple(transposed_size(n, *a) for n, a in zip(sizes, axes))
    # PyTorch's 3-D average pooling also refuses an input smaller than its window, padded or not.
    unpadded_floor = layer.type == "AvgPool3d" and any(k > 1 for k in kernel)
    if not unpadded_floor and all(s == 1 and d * (k - 1) == 2 * p for k, s, p, d in zip(kernel, stride, padding, dilation)):
        return None  # every size n ≥ 1 gives n + 2p − d(k − 1) = n: a 1×1 or a padded 3×3 convolution
    ceil = bool(attrs.get("ceil_mode", False))
    axes = tuple((k, s, p, d, ceil) for k, s, p, d in zip(kernel, stride, padding, dilation))
    if unpadded_floor:
        return lambda sizes: tuple(0 if n < a[0] else window_size(n, *a) for n, a in zip(sizes, axes))
    return lambda sizes: tuple(window_size(n, *a) for n, a in zip(sizes, axes))

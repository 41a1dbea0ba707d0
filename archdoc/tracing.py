"""Trace a model once on the meta device into one immutable :class:`Trace`.

The trace is the single source of truth: tables, arithmetic, diagrams and pages
are pure functions of it. :func:`trace` reads in call order: resolve the model
→ build or copy it on meta → hook every module → run once → collect.

Mult-adds are counted at the dispatcher (``torch.utils.flop_counter``'s
formulas, one multiply-accumulate per two FLOPs), attributed to every module
call active when the op runs.
"""

from __future__ import annotations

import copy
import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from archdoc.errors import ArchdocError, InputError, TraceError
from archdoc.loading import import_model, is_import_path
from archdoc.metaops import FastMeta, meta_shortcut
from archdoc.registry import ModelEntry, PaperCard, get_entry
from archdoc.shapes import InputSpec, as_input_specs, format_shape

__all__ = ["Trace", "Layer", "FlowNode", "trace", "LayerKind"]

Shape = tuple[int, ...]

# Hyper-parameters worth recording when a module has them (read, never inferred).
_ATTRS = (
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


class LayerKind:
    """What a layer does, as far as the renderers care. Decided from torch's base classes."""

    CONV = "conv"
    CONV_TRANSPOSE = "conv_transpose"
    MAXPOOL = "maxpool"
    AVGPOOL = "avgpool"
    ADAPTIVE_MAXPOOL = "adaptive_maxpool"
    ADAPTIVE_AVGPOOL = "adaptive_avgpool"
    FLATTEN = "flatten"
    LINEAR = "linear"
    NORM = "norm"
    ACTIVATION = "activation"
    DROPOUT = "dropout"
    EMBEDDING = "embedding"
    RECURRENT = "recurrent"
    CONTAINER = "container"
    OTHER = "other"


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


def _kind_of(module: nn.Module) -> str:
    for bases, kind in _KIND_TABLE:
        if isinstance(module, bases):
            return kind
    if type(module).__name__ in _ACTIVATIONS and type(module).__module__.startswith("torch.nn"):
        return LayerKind.ACTIVATION
    return LayerKind.OTHER


@dataclass(frozen=True)
class Layer:
    """One call of one module, in execution order.

    Attributes:
        index: Position in :attr:`Trace.layers`.
        name: Qualified module name (``"layer1.0.conv1"``); ``""`` for the model itself.
        type: The module's class name.
        kind: A :class:`LayerKind` value.
        depth: Nesting depth of the call; the model is 0.
        parent: Index of the enclosing call, ``None`` for the model.
        is_leaf: Whether the module has no child modules.
        repeat_of: For a module called again, the index of its first call.
        input_shapes: Shapes of the tensors it received, batch included.
        output_shapes: Shapes of the tensors it returned, batch included.
        output_dtypes: Dtype names of the returned tensors.
        params: Parameters held by the module and its children (each tensor once).
        trainable_params: Those of them that require grad.
        shared_params: Parameters of this module that some other module holds too.
        param_bytes: Bytes of :attr:`params`.
        mult_adds: Multiply-accumulates of every op run during this call.
        attrs: Hyper-parameters read off the module, e.g. ``(("kernel_size", (7, 7)), ...)``.
    """

    index: int
    name: str
    type: str
    kind: str
    depth: int
    parent: int | None
    is_leaf: bool
    repeat_of: int | None
    input_shapes: tuple[Shape, ...]
    output_shapes: tuple[Shape, ...]
    output_dtypes: tuple[str, ...]
    params: int
    trainable_params: int
    shared_params: int
    param_bytes: int
    mult_adds: int
    attrs: tuple[tuple[str, Any], ...] = ()

    def attr(self, key: str, default: Any = None) -> Any:
        """A recorded hyper-parameter, or ``default``."""
        for k, v in self.attrs:
            if k == key:
                return v
        return default

    @property
    def output_shape(self) -> Shape:
        """The first output's shape (what tables show)."""
        return self.output_shapes[0] if self.output_shapes else ()

    @property
    def input_shape(self) -> Shape:
        """The first input's shape (what tables show)."""
        return self.input_shapes[0] if self.input_shapes else ()

    @property
    def label(self) -> str:
        """The qualified name, or the type for the model itself."""
        return self.name or self.type


@dataclass(frozen=True)
class FlowNode:
    """One node of the torch.fx dataflow graph.

    Attributes:
        name: The fx node name (unique, stable).
        op: ``placeholder``, ``call_module``, ``call_function``, ``call_method``, ``get_attr`` or ``output``.
        target: Qualified module name, function or method name.
        inputs: Names of the nodes it consumes, in argument order.
        scope: Qualified name of the module whose forward runs it (the module itself
            for ``call_module``); ``""`` for the model's own forward.
        shape: Shape of its (first) tensor output, batch included, if it has one.
        kind: For ``call_module``, the module's :class:`LayerKind`; else ``""``.
    """

    name: str
    op: str
    target: str
    inputs: tuple[str, ...]
    scope: str = ""
    shape: Shape | None = None
    kind: str = ""


@dataclass(frozen=True)
class Trace:
    """Everything archdoc knows about one model at one input size.

    Attributes:
        model: The registry name or import path of the model.
        display_name: A human title, e.g. ``"ResNet-18"``.
        model_type: The model's class name.
        family: The zoo family key, ``None`` for users' models.
        card: The paper card, ``None`` for users' models.
        deviations: Deviations from the paper, card's first.
        builder_kwargs: Keyword arguments the model was built with, sorted.
        inputs: The inputs, without batch.
        batch: The batch size.
        device: The device the model ran on (``"meta"`` unless asked otherwise).
        layers: Every module call, in execution order; ``layers[0]`` is the model.
        output_shapes: Shapes of the model's outputs, batch included.
        output_names: For outputs in a dict, each tensor's key (``"logits"``); ``""`` otherwise.
        total_params: Parameters, each shared tensor counted once.
        trainable_params: Those that require grad.
        shared_params: Parameters held by more than one module (counted once in the total).
        param_bytes: Bytes of all parameters.
        buffer_params: Elements in buffers (BatchNorm running statistics, ...).
        mult_adds: Multiply-accumulates of the whole forward pass.
        dataflow: The fx graph, or ``None`` if the model does not trace symbolically.
        dataflow_error: Why fx failed, when it did.
        minimum_input: Smallest spatial size the model accepts (all spatial dims equal), if known.
        maximum_input: Largest such size, when one exists below twice the traced size
            (a Flatten feeding a fixed-width Linear accepts only a narrow range).
    """

    model: str
    display_name: str
    model_type: str
    family: str | None
    card: PaperCard | None
    deviations: tuple[str, ...]
    builder_kwargs: tuple[tuple[str, Any], ...]
    inputs: tuple[InputSpec, ...]
    batch: int
    device: str
    layers: tuple[Layer, ...]
    output_shapes: tuple[Shape, ...]
    total_params: int
    trainable_params: int
    shared_params: int
    param_bytes: int
    buffer_params: int
    mult_adds: int
    dataflow: tuple[FlowNode, ...] | None
    dataflow_error: str | None
    minimum_input: Shape | None = field(default=None)
    maximum_input: Shape | None = field(default=None)
    output_names: tuple[str, ...] = field(default=())

    @property
    def input_shapes(self) -> tuple[Shape, ...]:
        """Input shapes with the batch dimension."""
        return tuple((self.batch, *spec.shape) for spec in self.inputs)

    def output_text(self, dims: Any) -> str:
        """The outputs without batch, ``dims`` formatting each shape: ``logits 5; score 1`` for a dict."""
        names = self.output_names or ("",) * len(self.output_shapes)
        return "; ".join(
            (f"{name} " if name else "") + (dims(shape[1:]) or "scalar") for name, shape in zip(names, self.output_shapes)
        )

    @property
    def output_shape(self) -> Shape:
        """The first output's shape."""
        return self.output_shapes[0] if self.output_shapes else ()

    def children(self, index: int) -> tuple[Layer, ...]:
        """The direct children of the call at ``index``."""
        return tuple(layer for layer in self.layers if layer.parent == index)

    def input_text(self) -> str:
        """The inputs as given on the command line, e.g. ``1x116x116``."""
        return " ".join(str(spec) for spec in self.inputs)


# --------------------------------------------------------------------------- resolve


@dataclass(frozen=True)
class _Resolved:
    module: nn.Module
    entry: ModelEntry | None
    name: str  # what the trace records: zoo name, import path or class name
    display_name: str
    inputs: tuple[InputSpec, ...]
    kwargs: dict[str, Any]


def _resolve(
    model_or_name: Any, inputs: tuple[InputSpec, ...] | None, builder_kwargs: dict[str, Any], device: str
) -> _Resolved:
    """Build a registry or import-path model on ``device``, or copy a user's instance there."""
    if isinstance(model_or_name, nn.Module):
        if builder_kwargs:
            raise ArchdocError("builder arguments only apply to models given by name")
        if inputs is None:
            raise ArchdocError("an input size is required for a model instance")
        name = type(model_or_name).__name__
        return _Resolved(_copy_to(model_or_name, device), None, name, name, inputs, {})
    if not isinstance(model_or_name, str):
        raise ArchdocError(f"expected a model name or an nn.Module, got {type(model_or_name).__name__}")
    if is_import_path(model_or_name):
        return _resolve_import(model_or_name, inputs, builder_kwargs, device)
    entry = get_entry(model_or_name)
    if inputs is None:
        inputs = (InputSpec(entry.default_input),)
    kwargs = dict(builder_kwargs)
    first = inputs[0]
    if "in_channels" in entry.parameters and "in_channels" not in kwargs and len(first.shape) >= 2:
        kwargs["in_channels"] = first.shape[0]
    if len(inputs) != 1:
        raise InputError(f"{entry.name} takes one input, got {len(inputs)}")
    if len(first.shape) != len(entry.default_input):
        dims = "×".join("CHWD"[i] if i < 4 else "?" for i in range(len(entry.default_input)))
        raise InputError(
            f"{entry.name} takes {len(entry.default_input)}-dimensional inputs ({dims}, batch excluded), "
            f"got {first}"
        )
    with _building_on(device):
        module = entry.build(**kwargs)
    return _Resolved(module, entry, entry.name, entry.display_name, inputs, kwargs)


def _resolve_import(
    spec: str, inputs: tuple[InputSpec, ...] | None, kwargs: dict[str, Any], device: str
) -> _Resolved:
    """Import ``package.module:attribute`` and build (or copy) the model on ``device``."""
    imported = import_model(spec)
    inputs = inputs or imported.default_input
    if not inputs:
        raise InputError(
            f"{spec} needs an input size: give --input (e.g. --input 3x224x224, or input_size= in Python), "
            f"or give {imported.attribute} a default_input attribute"
        )
    if imported.is_instance:
        module = _copy_to(imported.build(**kwargs), device)
    else:
        with _building_on(device):
            module = imported.build(**kwargs)
    return _Resolved(module, None, spec, imported.attribute, inputs, dict(kwargs))


class _SkipRandomInit(TorchFunctionMode):
    """Make random in-place initialisers no-ops on meta tensors.

    A meta tensor has no values, so skipping them changes nothing; running them
    would import torch._dynamo through the reference implementations (over a second).
    """

    _SKIP = frozenset(
        {
            torch.Tensor.normal_,
            torch.Tensor.uniform_,
            torch.Tensor.random_,
            torch.Tensor.exponential_,
            torch.Tensor.log_normal_,
            torch.Tensor.cauchy_,
            torch.Tensor.geometric_,
            torch.Tensor.bernoulli_,
            torch.Tensor.erfinv_,
            # nn.init functions that dispatch as torch functions themselves: the
            # tensor methods they call would run below this mode and not be seen.
            nn.init.normal_,
            nn.init.uniform_,
            nn.init.trunc_normal_,
        }
    )

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        kwargs = kwargs or {}
        if func in self._SKIP:
            # Tensor methods get the tensor first; nn.init passes it as `tensor=`.
            target = args[0] if args else kwargs.get("tensor")
            if isinstance(target, torch.Tensor) and target.is_meta:
                return target
        return func(*args, **kwargs)


class _building_on:
    """Context: build modules directly on ``device``."""

    def __init__(self, device: str) -> None:
        self.device = torch.device(device)
        self._stack: list[Any] = []

    def __enter__(self) -> None:
        self._stack = []
        if self.device.type == "meta":
            # Below the device context, which PyTorch runs first: what it hands on
            # (nn.init.normal_, Tensor.normal_, ...) then reaches this mode.
            skip = _SkipRandomInit()
            skip.__enter__()
            self._stack.append(skip)
        self.device.__enter__()
        self._stack.append(self.device)
        if self.device.type != "meta":
            # Real weights: seeded, so pages are reproducible, without touching the caller's RNG.
            rng = torch.random.fork_rng(devices=[])
            rng.__enter__()
            self._stack.append(rng)
            torch.manual_seed(0)

    def __exit__(self, *exc: object) -> None:
        for ctx in reversed(self._stack):
            ctx.__exit__(*exc)


def _copy_to(module: nn.Module, device: str) -> nn.Module:
    """Deep-copy ``module`` with every parameter and buffer replaced on ``device``.

    Tied tensors stay tied (the memo maps each tensor once) and the original is
    never touched: no device move, no value change, no hook, same training flag.
    """
    memo: dict[int, Any] = {}
    dev = torch.device(device)
    for tensor in list(module.parameters()) + list(module.buffers()):
        if id(tensor) in memo:
            continue
        if dev.type == "meta":
            data = torch.empty_like(tensor, device=dev)
        else:
            data = tensor.detach().to(dev, copy=True)
        if isinstance(tensor, nn.Parameter):
            memo[id(tensor)] = nn.Parameter(data, requires_grad=tensor.requires_grad)
        else:
            memo[id(tensor)] = data
    return copy.deepcopy(module, memo)


# --------------------------------------------------------------------------- record


@dataclass
class _Call:
    index: int
    module: nn.Module
    depth: int
    parent: int | None
    repeat_of: int | None
    input_shapes: tuple[Shape, ...]
    output_shapes: tuple[Shape, ...] = ()
    output_dtypes: tuple[str, ...] = ()
    flops: int = 0


def _tensors(obj: Any) -> Iterator[torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, dict):
        for value in obj.values():
            yield from _tensors(value)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            yield from _tensors(value)


def _output_names(obj: Any, prefix: str = "") -> Iterator[str]:
    """Names of the tensors :func:`_tensors` yields: dict keys (``logits``, ``aux.score``), else ``""``."""
    if isinstance(obj, torch.Tensor):
        yield prefix
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from _output_names(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            yield from _output_names(value, prefix)


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


# Ops worth decomposing to find matmuls or convolutions inside. Decomposing every
# uncounted op (normalisation, pointwise) would import torch._refs for nothing.
_MAY_HIDE_MATMUL = re.compile(r"mm|mv|dot|conv|attention|linear|matmul|einsum|bilinear|lstm|gru|rnn")


class _Recorder(TorchDispatchMode):
    """Hooks every module and counts dispatcher-level FLOPs per active call."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.calls: list[_Call] = []
        self.stack: list[_Call] = []
        self.first_call: dict[int, int] = {}
        self.handles: list[Any] = []
        self.failed_op: str | None = None  # the first aten op that raised, e.g. "aten._local_scalar_dense"

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # Nothing here runs under torch.compile; wrapping the dispatch in
        # dynamo's "disable" would import torch._dynamo (over a second) for nothing.
        return False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        kwargs = kwargs or {}
        packet = func._overloadpacket
        if packet not in flop_registry and _MAY_HIDE_MATMUL.search(packet.__name__):
            # Like FlopCounterMode: look inside composite ops that may contain counted ones.
            decomposed = func.decompose(*args, **kwargs)
            if decomposed is not NotImplemented:
                return decomposed
        out = meta_shortcut(func, args) if not kwargs else None
        try:
            out = func(*args, **kwargs) if out is None else out
        except Exception:
            self.failed_op = self.failed_op or str(packet)
            raise
        if packet in flop_registry and self.stack:
            flops = int(flop_registry[packet](*args, **kwargs, out_val=out))
            for call in self.stack:
                call.flops += flops
        return out

    def attach(self) -> None:
        for module in self.model.modules():
            self.handles.append(module.register_forward_pre_hook(self._pre, with_kwargs=True))
            self.handles.append(module.register_forward_hook(self._post, with_kwargs=True))

    def detach(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles.clear()

    def _pre(self, module: nn.Module, args: Any, kwargs: Any) -> None:
        index = len(self.calls)
        call = _Call(
            index=index,
            module=module,
            depth=len(self.stack),
            parent=self.stack[-1].index if self.stack else None,
            repeat_of=self.first_call.get(id(module)),
            input_shapes=tuple(tuple(t.shape) for t in _tensors((args, kwargs))),
        )
        self.first_call.setdefault(id(module), index)
        self.calls.append(call)
        self.stack.append(call)

    def _post(self, module: nn.Module, args: Any, kwargs: Any, output: Any) -> None:
        call = self.stack.pop()
        outs = list(_tensors(output))
        call.output_shapes = tuple(tuple(t.shape) for t in outs)
        call.output_dtypes = tuple(_dtype_name(t.dtype) for t in outs)


def _make_inputs(inputs: tuple[InputSpec, ...], batch: int, device: str) -> list[torch.Tensor]:
    tensors = []
    for spec in inputs:
        dtype = getattr(torch, spec.dtype)
        shape = (batch, *spec.shape)
        if device == "meta" or not spec.is_float:
            tensors.append(torch.zeros(shape, dtype=dtype, device=device))
        else:
            gen = torch.Generator(device="cpu").manual_seed(0)
            tensors.append(torch.randn(shape, dtype=dtype, generator=gen).to(device))
    return tensors


# --------------------------------------------------------------------------- collect


def _owners(model: nn.Module) -> dict[int, list[str]]:
    """Qualified names of the modules that hold each parameter tensor directly."""
    owners: dict[int, list[str]] = {}
    for name, module in model.named_modules(remove_duplicate=False):
        for param in module._parameters.values():
            if param is not None and name not in owners.setdefault(id(param), []):
                owners[id(param)].append(name)
    return owners


def _shared_outside(param: nn.Parameter, name: str, owners: dict[int, list[str]]) -> bool:
    """Whether a module outside ``name``'s subtree also holds ``param``."""
    holders = owners.get(id(param), [])
    if len(holders) < 2:
        return False
    inside = (lambda o: True) if name == "" else (lambda o: o == name or o.startswith(name + "."))
    return not all(inside(o) for o in holders)


def _plain(value: Any) -> Any:
    if isinstance(value, torch.Size):
        return tuple(int(v) for v in value)
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return str(value)


def _attrs_of(module: nn.Module) -> tuple[tuple[str, Any], ...]:
    out = []
    for key in _ATTRS:
        if key in module.__dict__ or (hasattr(type(module), "__constants__") and key in type(module).__constants__):
            value = getattr(module, key, None)
            if value is None or isinstance(value, (nn.Module, torch.Tensor)) or callable(value):
                continue
            out.append((key, _plain(value)))
    return tuple(out)


def _layers(model: nn.Module, calls: list[_Call]) -> tuple[Layer, ...]:
    names: dict[int, str] = {}
    for name, module in model.named_modules(remove_duplicate=False):
        names.setdefault(id(module), name)
    owners = _owners(model)
    layers = []
    for call in calls:
        module = call.module
        params = list(module.parameters())
        layers.append(
            Layer(
                index=call.index,
                name=names.get(id(module), "?"),
                type=type(module).__name__,
                kind=_kind_of(module),
                depth=call.depth,
                parent=call.parent,
                is_leaf=not any(True for _ in module.children()),
                repeat_of=call.repeat_of,
                input_shapes=call.input_shapes,
                output_shapes=call.output_shapes,
                output_dtypes=call.output_dtypes,
                params=sum(p.numel() for p in params),
                trainable_params=sum(p.numel() for p in params if p.requires_grad),
                shared_params=sum(p.numel() for p in params if _shared_outside(p, names.get(id(module), ""), owners)),
                param_bytes=sum(p.numel() * p.element_size() for p in params),
                mult_adds=call.flops // 2,
                attrs=_attrs_of(module),
            )
        )
    return tuple(layers)


def _dataflow(
    model: nn.Module, tensors: Sequence[torch.Tensor]
) -> tuple[tuple[FlowNode, ...] | None, str | None]:
    """The fx graph of ``model`` with each node's output shape, or why fx cannot trace it."""
    import torch.fx

    try:
        with warnings.catch_warnings():
            # fx compiles generated code; odd module names make it warn about escapes.
            warnings.simplefilter("ignore")
            graph = torch.fx.Tracer().trace(model)
            module = torch.fx.GraphModule(model, graph)
    except Exception as exc:  # fx raises whatever the model's Python raises
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, f"{type(exc).__name__}: {first}"

    shapes: dict[str, Shape] = {}

    class _Shapes(torch.fx.Interpreter):
        def run_node(self, node: torch.fx.Node) -> Any:
            out = super().run_node(node)
            first = next(_tensors(out), None)
            if first is not None:
                shapes[node.name] = tuple(first.shape)
            return out

    try:
        with torch.no_grad(), FastMeta():
            _Shapes(module).run(*tensors)
    except Exception:
        shapes.clear()  # the graph stays useful without shapes

    kinds = {name: _kind_of(m) for name, m in model.named_modules()}
    nodes = []
    for node in graph.nodes:
        target = node.target
        if node.op == "call_function":
            target = getattr(target, "__name__", str(target))
        stack = list(node.meta.get("nn_module_stack", {}) or {})
        scope = re.sub(r"@\d+$", "", stack[-1]) if stack else ""
        if node.op == "call_module":
            scope = str(target)
        nodes.append(
            FlowNode(
                name=node.name,
                op=node.op,
                target=str(target),
                inputs=tuple(n.name for n in node.all_input_nodes),
                scope=scope,
                shape=shapes.get(node.name),
                kind=kinds.get(str(target), LayerKind.OTHER) if node.op == "call_module" else "",
            )
        )
    return tuple(nodes), None


# --------------------------------------------------------------------------- diagnose


def _runs(model: nn.Module, inputs: tuple[InputSpec, ...], device: str) -> bool:
    try:
        with torch.no_grad(), FastMeta():
            out = model(*_make_inputs(inputs, 1, device))
    except Exception:
        return False
    return all(t.numel() > 0 for t in _tensors(out))


def _with_spatial(spec: InputSpec, size: int) -> InputSpec:
    return InputSpec((spec.shape[0],) + (size,) * (len(spec.shape) - 1), spec.dtype)


def _spatial_input(inputs: tuple[InputSpec, ...]) -> bool:
    return len(inputs) == 1 and inputs[0].is_float and len(inputs[0].shape) >= 2


def minimum_input(model: nn.Module, spec: InputSpec, known_good: int, device: str = "meta") -> int | None:
    """Smallest spatial size ``s`` (all spatial dims equal) at which ``model`` runs.

    Bisects between 1 and ``known_good`` (a size that runs), so every size from
    the result up to ``known_good`` is assumed to run, which holds for networks
    whose layers shrink sizes monotonically.
    """
    if not _runs(model, (_with_spatial(spec, known_good),), device):
        return None
    if _runs(model, (_with_spatial(spec, 1),), device):
        return 1
    return _edge(model, spec, good=known_good, bad=1, device=device)


def maximum_input(model: nn.Module, spec: InputSpec, known_good: int, device: str = "meta") -> int | None:
    """Largest spatial size up to ``2 * known_good`` at which ``model`` runs, or ``None`` if that runs.

    Bisects between ``known_good`` (runs) and ``2 * known_good``, assuming the
    sizes that run form one range.
    """
    ceiling = 2 * known_good
    if _runs(model, (_with_spatial(spec, ceiling),), device):
        return None
    return _edge(model, spec, good=known_good, bad=ceiling, device=device)


def _edge(model: nn.Module, spec: InputSpec, good: int, bad: int, device: str) -> int:
    """Bisect between a size that runs and one that fails; return the last that runs."""
    while abs(good - bad) > 1:
        mid = (good + bad) // 2
        if _runs(model, (_with_spatial(spec, mid),), device):
            good = mid
        else:
            bad = mid
    return good


def working_sizes(model: nn.Module, spec: InputSpec, limit: int, device: str = "meta") -> list[int]:
    """Every spatial size in ``1..limit`` at which ``model`` runs."""
    return [s for s in range(1, limit + 1) if _runs(model, (_with_spatial(spec, s),), device)]


def _ranges(sizes: Sequence[int]) -> str:
    parts: list[str] = []
    start = prev = None
    for s in list(sizes) + [None]:
        if start is None:
            start = prev = s
        elif s is not None and s == prev + 1:
            prev = s
        else:
            parts.append(f"{start}" if start == prev else f"{start}–{prev}")
            start = prev = s
    return ", ".join(parts)


# Ops that need tensor values, which meta tensors do not have, and what Python code calls them.
_VALUE_OPS = {
    "aten._local_scalar_dense": ".item(), bool(), int() or float() of a tensor, e.g. an `if` on tensor values",
    "aten.is_nonzero": "bool() of a tensor, e.g. an `if` on tensor values",
    "aten.nonzero": "nonzero() or a boolean mask, whose output size depends on the values",
    "aten.masked_select": "a boolean mask, whose output size depends on the values",
}
_META_MESSAGE = re.compile(r"meta tensor|data.dependent|register_meta", re.IGNORECASE)


def _value_error(
    exc: Exception, name: str, where: str, module: nn.Module | None, op: str | None
) -> TraceError | None:
    """The error for a model that reads tensor values on meta, or ``None`` if that is not the failure."""
    from archdoc.loading import user_frame

    if op not in _VALUE_OPS and not _META_MESSAGE.search(str(exc)):
        return None
    what = f"{op}: {_VALUE_OPS[op]}" if op in _VALUE_OPS else (op or type(exc).__name__)
    label = where if module is None or where == type(module).__name__ else f"{where} ({type(module).__name__})"
    frame = user_frame(exc)
    at = f" at {frame}" if frame else ""
    return TraceError(
        f"{name} cannot run on the meta device: {label or name} reads tensor values ({what}){at}; "
        "meta tensors have shapes but no values. Trace it on real tensors with --device cpu "
        "(device='cpu' in Python)",
        layer=where or None,
    )


def _diagnose(
    exc: Exception,
    model: nn.Module,
    name: str,
    inputs: tuple[InputSpec, ...],
    failing: _Call | None,
    device: str,
    op: str | None = None,
) -> ArchdocError:
    """Turn a failure of the forward pass into an error that says what to change."""
    from archdoc.arithmetic import failing_arithmetic

    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    module = failing.module if failing else None
    where = ""
    if failing is not None:
        names = {id(m): n for n, m in model.named_modules()}
        where = names.get(id(module), "") or type(module).__name__
    shape = failing.input_shapes[0] if failing and failing.input_shapes else None
    given = " ".join(str(s) for s in inputs)
    if torch.device(device).type == "meta":
        value_error = _value_error(exc, name, where, module, op)
        if value_error is not None:
            return value_error

    in_channels = getattr(module, "in_channels", None)
    if isinstance(in_channels, int) and shape is not None and len(shape) >= 2 and shape[1] != in_channels:
        return InputError(
            f"{name}: {where} ({type(module).__name__}) expects {in_channels} input channels, "
            f"but gets {shape[1]} (input {given})",
            layer=where,
        )
    in_features = getattr(module, "in_features", None)
    if isinstance(in_features, int) and shape is not None and shape[-1] != in_features and _spatial_input(inputs):
        spec = inputs[0]
        limit = max(64, 2 * max(spec.shape[1:]))
        sizes = working_sizes(model, spec, limit, device)
        works = f"sizes that work (up to {limit}): {_ranges(sizes)}" if sizes else f"no size up to {limit} works"
        return InputError(
            f"{name} cannot take {given}: {where} (Linear) expects {in_features} features but gets "
            f"{shape[-1]}; {works}",
            layer=where,
            minimum=sizes[0] if sizes else None,
        )
    arithmetic = failing_arithmetic(module, shape) if module is not None and shape is not None else None
    if arithmetic is not None and _spatial_input(inputs):
        spec = inputs[0]
        smallest = None
        for good in (256, 1024, 4096):
            smallest = minimum_input(model, spec, good, device)
            if smallest is not None:
                break
        minimum = f"; the minimum input is {'×'.join([str(smallest)] * (len(spec.shape) - 1))}" if smallest else ""
        return InputError(
            f"input {given} is too small for {name}: {where} ({type(module).__name__}) gets "
            f"{format_shape(shape[2:], '×')}: {arithmetic}{minimum}",
            layer=where,
            minimum=smallest,
        )
    shapes = ", ".join(str(list(s)) for s in (failing.input_shapes if failing else ()))
    at = f" in {where} ({type(module).__name__}) on input {shapes}" if failing else ""
    return TraceError(f"{name} failed{at}: {message}", layer=where or None, input_shapes=failing.input_shapes if failing else ())


# --------------------------------------------------------------------------- main


def _check_device(device: str) -> None:
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ArchdocError(f"unknown device {device!r}: use meta (the default) or a real one such as cpu") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ArchdocError(f"device {device!r} is not available: this torch has no usable CUDA")


def trace(
    model_or_name: nn.Module | str,
    input_size: Any = None,
    *,
    batch: int = 1,
    device: str = "meta",
    **builder_kwargs: Any,
) -> Trace:
    """Trace a model once and return the immutable record every renderer reads.

    Args:
        model_or_name: A registry name such as ``"resnet18"``, an import path
            ``"package.module:attribute"`` naming a module class, a factory or a
            module (see :mod:`archdoc.loading`), or an ``nn.Module``. A module is
            copied to ``device`` first and never changed.
        input_size: Input size without batch: ``(3, 224, 224)``, ``"3x224x224"``,
            or a list of those for several inputs. ``None`` uses the model's default.
            For registry models, the first size sets ``in_channels``.
        batch: Batch size.
        device: ``"meta"`` (no memory, no values) or a real device such as ``"cpu"``.
        **builder_kwargs: Builder arguments for registry and import-path models, e.g. ``num_classes=2``.

    Returns:
        The :class:`Trace`.

    Raises:
        UnknownModelError: The name is not registered.
        ModelImportError: An import path cannot be imported or names no attribute.
        NotAModelError: An import path names something that builds no ``nn.Module``.
        ModelArgumentError: The builder rejects a keyword.
        InputSpecError: The input size cannot be read.
        InputError: The model cannot take the input (too small, wrong channels, ...).
        TraceError: The model failed for another reason, e.g. it reads tensor values on meta.
    """
    if batch < 1:
        raise InputError(f"batch must be at least 1, got {batch}")
    inputs = None if input_size is None else as_input_specs(input_size)
    _check_device(device)
    resolved = _resolve(model_or_name, inputs, builder_kwargs, device)
    model, entry, name, inputs, kwargs = (
        resolved.module, resolved.entry, resolved.name, resolved.inputs, resolved.kwargs
    )
    model.eval()

    recorder = _Recorder(model)
    recorder.attach()
    try:
        tensors = _make_inputs(inputs, batch, device)
        with torch.no_grad(), recorder:
            output = model(*tensors)
    except Exception as exc:
        failing = recorder.stack[-1] if recorder.stack else None
        recorder.detach()
        raise _diagnose(exc, model, name, inputs, failing, device, recorder.failed_op) from exc
    finally:
        recorder.detach()

    layers = _layers(model, recorder.calls)
    params = list(model.parameters())
    owners = _owners(model)
    dataflow, dataflow_error = _dataflow(model, tensors)
    spatial_min = spatial_max = None
    windowed = {LayerKind.CONV, LayerKind.CONV_TRANSPOSE, LayerKind.MAXPOOL, LayerKind.AVGPOOL}
    # Only convolutional models have a minimum spatial size; a (sequence, features)
    # input to a transformer has no "channels" to keep fixed.
    if _spatial_input(inputs) and any(layer.kind in windowed for layer in layers):
        spec = inputs[0]
        traced = max(spec.shape[1:])
        smallest = minimum_input(model, spec, traced, device)
        if smallest is not None:
            spatial_min = (smallest,) * (len(spec.shape) - 1)
            largest = maximum_input(model, spec, traced, device)
            if largest is not None:
                spatial_max = (largest,) * (len(spec.shape) - 1)

    card = entry.card if entry else None
    return Trace(
        model=name,
        display_name=resolved.display_name,
        model_type=type(model).__name__,
        family=entry.family if entry else None,
        card=card,
        deviations=entry.all_deviations if entry else (),
        builder_kwargs=tuple(sorted(kwargs.items())),
        inputs=inputs,
        batch=batch,
        device=str(torch.device(device)),
        layers=layers,
        output_shapes=tuple(tuple(t.shape) for t in _tensors(output)),
        output_names=tuple(_output_names(output)),
        total_params=sum(p.numel() for p in params),
        trainable_params=sum(p.numel() for p in params if p.requires_grad),
        shared_params=sum(p.numel() for p in params if len(owners.get(id(p), ())) > 1),
        param_bytes=sum(p.numel() * p.element_size() for p in params),
        buffer_params=sum(b.numel() for b in model.buffers()),
        mult_adds=layers[0].mult_adds if layers else 0,
        dataflow=dataflow,
        dataflow_error=dataflow_error,
        minimum_input=spatial_min,
        maximum_input=spatial_max,
    )


"""The trace record: one immutable description of a model at an input.

Every renderer reads a [`Trace`][archdoc.tracing.Trace] and nothing else. The record holds plain
Python values (names, shapes, counts), no tensors or modules, so it can be kept,
compared and rendered without torch doing any more work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from archdoc.format import shape_text
from archdoc.registry import PaperCard
from archdoc.shapes import InputSpec

__all__ = ["Trace", "Layer", "FlowNode", "LayerKind", "Pad", "Shape"]

Shape = tuple[int, ...]


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


@dataclass(frozen=True)
class Layer:
    """One call of one module, in execution order.

    Attributes:
        index: Position in `Trace.layers`.
        name: Qualified module name (``"layer1.0.conv1"``); ``""`` for the model itself.
        type: The module's class name.
        kind: A [`LayerKind`][archdoc.tracing.LayerKind] value.
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
        param_bytes: Bytes of `params`.
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
    """One node of the recorded dataflow graph (see `archdoc.tracing.dataflow`).

    Attributes:
        name: A unique name: the module's (``layer1.0.conv1``), the op's (``add``), the
            input's (``x``); a repeat gets ``#2``, ``#3``...
        op: ``placeholder`` (an input), ``call_module`` (a unit: one module drawn as one
            step), ``call_function`` (an op between units) or ``output``.
        target: Qualified module name, or the op's Python name (``add``, ``cat``, ``flatten``).
        inputs: Names of the nodes whose tensors it reads, in order of first use.
        scope: Qualified name of the module whose forward runs it (the module itself
            for ``call_module``); ``""`` for the model's own forward.
        shape: Shape of its (first) tensor output, batch included, if it has one.
        kind: For ``call_module``, the module's [`LayerKind`][archdoc.tracing.LayerKind]; else ``""``.
        reads: Parameters and buffers the node reads outside any module that owns
            them (a position embedding added, a class token concatenated), by qualified name.
    """

    name: str
    op: str
    target: str
    inputs: tuple[str, ...]
    scope: str = ""
    shape: Shape | None = None
    kind: str = ""
    reads: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pad:
    """One explicit padding op (``F.pad``, or the padding a "same" convolution adds itself).

    Attributes:
        call: Index in `Trace.layers` of the innermost module call that ran it.
        after: How many module calls had started when it ran (places it among the layers).
        op: The aten op, e.g. ``constant_pad_nd`` or ``reflection_pad2d``.
        input_shape: Shape it padded, batch included.
        output_shape: Shape it gave.
        amounts: ``(before, after)`` per padded dimension, from the first padded dimension
            on (negative values crop).
    """

    call: int | None
    after: int
    op: str
    input_shape: Shape
    output_shape: Shape
    amounts: tuple[tuple[int, int], ...]

    @property
    def first_dim(self) -> int:
        """The first dimension padded (batch is 0)."""
        return len(self.input_shape) - len(self.amounts)


@dataclass(frozen=True)
class Trace:
    """Everything archdoc knows about one model at one input size.

    Attributes:
        model: The registry name or import path of the model.
        display_name: A human title, e.g. ``"ResNet-18"``.
        model_type: The model's class name.
        family: The zoo family key, ``None`` for users' models.
        family_title: The family's name as readers know it (``"Wide ResNet"``), ``None`` for users' models.
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
        dataflow: The recorded dataflow graph, in the order the nodes ran.
        minimum_input: Per spatial axis, the smallest size the model accepts at the traced batch, if
            known: height and width searched as one square, the frames of a T×H×W input on their own.
        maximum_input: Per spatial axis, the largest such size where one exists below twice the
            traced size (a Flatten feeding a fixed-width Linear accepts only a narrow range); ``None``
            on an axis without one, and ``None`` altogether when no axis has one.
        documented_min_size: The minimum input side the reference implementation documents
            (torchvision's ``min_size``), for zoo models that record it.
        built_with_values: Why the builder ran on the CPU before the trace on meta (it computes
            with tensor values, e.g. ``.tolist()`` on a width schedule), or ``None``.
        pads: Explicit padding run inside the forward pass (``F.pad``), in order.
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
    dataflow: tuple[FlowNode, ...]
    minimum_input: Shape | None = field(default=None)
    maximum_input: tuple[int | None, ...] | None = field(default=None)
    output_names: tuple[str, ...] = field(default=())
    family_title: str | None = field(default=None)
    documented_min_size: int | None = field(default=None)
    built_with_values: str | None = field(default=None)
    pads: tuple[Pad, ...] = field(default=())

    @property
    def input_shapes(self) -> tuple[Shape, ...]:
        """Input shapes with the batch dimension."""
        return tuple((self.batch, *spec.shape) for spec in self.inputs)

    def output_text(self, dims: Callable[[Shape], str] = shape_text) -> str:
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

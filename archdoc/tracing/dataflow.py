"""The dataflow graph of one forward pass, recorded as it runs.

Every tensor is followed from the op or module call that made it to the ones
that read it, so the graph holds what really ran: module calls, the additions
and concatenations between them, each with its output shape. Nothing is traced
symbolically, so a model that branches on shapes or values gets its graph as
well, and it costs no second pass.

- A *unit* is a module drawn as one step: a module without children, or a
  module of ``torch.nn`` itself (``nn.MultiheadAttention``), never the model.
  What runs inside a unit stays inside it.
- Between units, every aten op is a node, named as Python code calls it
  (``add``, ``cat``, ``view``).
- A parameter or buffer is never a node. An op that reads one lists it in
  `FlowNode.reads`; so does every op downstream of tensors made from
  weights alone (a class token expanded to the batch).
- Tensors made from nothing (``torch.zeros``) are constants, not inputs.

Nodes whose effect on sizes the window arithmetic cannot vouch for are kept in
`FlowRecorder.opaque` (see `archdoc.tracing.prediction`): units of a class that is not
``torch.nn``'s own (their forward is anyone's code); ``torch.nn``'s own that fail at
sizes their windows allow (`_limited_beyond_windows`); and ops that read a tensor no node
made (a weight or a constant) of more than one element.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from archdoc.errors import TraceError
from archdoc.tracing.kinds import kind_of
from archdoc.tracing.record import FlowNode, Shape

__all__ = ["FlowRecorder", "is_unit", "MAX_NODES"]

# More steps than any diagram could show; a model that runs more is stopped (a runaway loop).
MAX_NODES = 1_000_000

_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
# aten names as Python code writes them; in-place variants (``add_``) lose the underscore.
_NAMES = {
    "_unsafe_view": "view",
    "reshape": "view",
    "_reshape_alias": "view",
    "native_batch_norm": "batch_norm",
    "_native_batch_norm_legit_no_training": "batch_norm",
    "_native_batch_norm_legit": "batch_norm",
    "native_layer_norm": "layer_norm",
    "native_group_norm": "group_norm",
    "_softmax": "softmax",
    "_log_softmax": "log_softmax",
    "convolution": "conv",
    "max_pool2d_with_indices": "max_pool2d",
    "max_pool3d_with_indices": "max_pool3d",
    "_adaptive_avg_pool2d": "adaptive_avg_pool2d",
    "_adaptive_avg_pool3d": "adaptive_avg_pool3d",
    "addmm": "linear",
    "bmm": "matmul",
    "mm": "matmul",
    "_scaled_dot_product_efficient_attention": "attention",
    "_scaled_dot_product_flash_attention": "attention",
    "_scaled_dot_product_flash_attention_for_cpu": "attention",
    "_scaled_dot_product_attention_math": "attention",
}


def is_unit(module: nn.Module, root: nn.Module) -> bool:
    """Whether ``module`` is drawn as one step: no children, or a ``torch.nn`` module other than a container."""
    if module is root:
        return False
    if next(iter(module.children()), None) is None:
        return True
    return type(module).__module__.startswith("torch.nn.") and not isinstance(module, _CONTAINERS)


def op_name(packet_name: str, inputs: Sequence[Shape], output: Shape | None) -> str:
    """The Python name of an aten op: ``add_`` → ``add``; a view to (batch, features) → ``flatten``."""
    name = packet_name[:-1] if packet_name.endswith("_") and not packet_name.endswith("__") else packet_name
    name = _NAMES.get(name, name)
    if name == "view" and output is not None and len(output) == 2 and inputs and len(inputs[0]) > 2:
        return "flatten"
    return name


def _tensors(obj: Any) -> list[torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, dict):
        return [t for value in obj.values() for t in _tensors(value)]
    if isinstance(obj, (list, tuple)):
        return [t for value in obj for t in _tensors(value)]
    return []


def _limited_beyond_windows(module: nn.Module) -> bool:
    """Whether a ``torch.nn`` layer may fail at a size its window arithmetic allows.

    A norm by the statistics of the values it gets needs more than one of them per statistic:
    a batch norm without running statistics (or in training) per channel across the batch, so a
    1×1 map at batch 1 fails; an instance norm without them per channel of each sample, so a 1×1
    map fails at any batch; a group norm of one channel per group per group and sample. A
    convolution that pads by reflecting needs its input larger than the padding, and one that
    wraps around needs it at least as large.
    """
    if isinstance(module, nn.modules.batchnorm._NormBase):
        return module.training or module.running_mean is None
    if isinstance(module, nn.GroupNorm):
        return module.num_channels == module.num_groups
    if isinstance(module, nn.modules.conv._ConvNd):
        return module.padding_mode in ("reflect", "circular")  # "replicate" works at any size
    return False


class FlowRecorder:
    """Builds the dataflow while the `Recorder` sees calls and ops.

    Args:
        model: The model being run.
        names: Qualified name of every module, by ``id``.
    """

    def __init__(self, model: nn.Module, names: dict[int, str]) -> None:
        self.names = names
        self.nodes: list[FlowNode] = []
        self.unit_depth = 0  # > 0 while a unit runs: its inner ops are its own
        self._producer: dict[int, str] = {}  # id(tensor) -> node that made it
        self._weights: dict[int, tuple[str, ...]] = {}  # id(tensor) -> weights it was made from
        self._keep: list[torch.Tensor] = []  # meta tensors kept alive so their ids stay theirs
        self._counts: dict[str, int] = {}
        for name, tensor in [*model.named_parameters(remove_duplicate=False), *model.named_buffers(remove_duplicate=False)]:
            self._weights.setdefault(id(tensor), (name,))
        self._units: dict[int, bool] = {id(m): is_unit(m, model) for m in model.modules()}
        self._unvouched_units = {
            id(m) for m in model.modules() if not type(m).__module__.startswith("torch.nn.") or _limited_beyond_windows(m)
        }
        self.opaque: set[str] = set()
        self._open: list[tuple[nn.Module, tuple[str, ...], tuple[str, ...]]] = []

    # ------------------------------------------------------------------ inputs and outputs

    def inputs(
        self, model: nn.Module, given: Sequence[torch.Tensor], named: Mapping[str, torch.Tensor] | None = None
    ) -> None:
        """Placeholders for the model's inputs, named after ``forward``'s parameters (keyword inputs by their names)."""
        try:
            params = [p.name for p in inspect.signature(model.forward).parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        except (TypeError, ValueError):
            params = []
        for i, tensor in enumerate(given):
            name = params[i] if i < len(params) else f"input{i + 1}"
            self._add(FlowNode(self._unique(name), "placeholder", name, (), "", tuple(tensor.shape)), [tensor])
        for name, tensor in (named or {}).items():
            self._add(FlowNode(self._unique(name), "placeholder", name, (), "", tuple(tensor.shape)), [tensor])

    def outputs(self, output: Any) -> None:
        """The output node, reading every tensor the model returns."""
        sources = tuple(dict.fromkeys(self._producer[id(t)] for t in _tensors(output) if id(t) in self._producer))
        self.nodes.append(FlowNode(self._unique("output"), "output", "output", sources, ""))

    # ------------------------------------------------------------------ module calls

    def enter(self, module: nn.Module, given: Sequence[torch.Tensor]) -> None:
        """A module call starts with the tensors ``given`` (positional, then keyword);
        a unit outside any other unit becomes a node when it ends."""
        if self.unit_depth:
            if self._units.get(id(module), False):
                self.unit_depth += 1
            return
        if self._units.get(id(module), False):
            self.unit_depth = 1
            inputs, reads = self._sources(given)
            self._open.append((module, inputs, reads))

    def leave(self, module: nn.Module, outs: Sequence[torch.Tensor]) -> None:
        """A module call ends, returning the tensors ``outs``."""
        if not self._units.get(id(module), False) or not self.unit_depth:
            return
        self.unit_depth -= 1
        if self.unit_depth:
            return
        _, inputs, reads = self._open.pop()
        name = self.names.get(id(module), type(module).__name__)
        node = FlowNode(
            self._unique(name), "call_module", name, inputs, name,
            tuple(outs[0].shape) if outs else None, kind_of(module), reads,
        )
        if id(module) in self._unvouched_units:
            self.opaque.add(node.name)
        self._add(node, outs)

    # ------------------------------------------------------------------ ops between units

    def op(self, packet_name: str, args: Any, kwargs: Any, out: Any, scope: str) -> None:
        """An aten op ran outside every unit: a node, unless it only reshapes weights or makes constants."""
        if self.unit_depth:
            return
        read = _tensors((args, kwargs))
        outs = _tensors(out)
        inputs, reads = self._sources(read)
        if not inputs:
            # Made from weights alone (or from nothing): not a step of the network; its
            # consumers read those weights instead.
            for t in outs:
                self._weights[id(t)] = reads
                self._keep.append(t)
            return
        shape = tuple(outs[0].shape) if outs else None
        name = op_name(packet_name, [tuple(t.shape) for t in read], shape)
        node = FlowNode(self._unique(name), "call_function", name, inputs, scope, shape, "", reads)
        if reads or any(id(t) not in self._producer and t.numel() > 1 for t in read):
            self.opaque.add(node.name)
        self._add(node, outs)

    # ------------------------------------------------------------------ bookkeeping

    def _sources(self, tensors: Sequence[torch.Tensor]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The nodes that made these tensors, and the weights among (or behind) them."""
        inputs: dict[str, None] = {}
        reads: dict[str, None] = {}
        for t in tensors:
            key = id(t)
            producer = self._producer.get(key)
            if producer is not None:
                inputs[producer] = None
            else:
                reads.update(dict.fromkeys(self._weights.get(key, ())))
        return tuple(inputs), tuple(reads)

    def _add(self, node: FlowNode, outs: Sequence[torch.Tensor]) -> None:
        if len(self.nodes) >= MAX_NODES:
            raise TraceError(
                f"the model ran more than {MAX_NODES:,} operations outside its modules; "
                "archdoc stops rather than record a graph no diagram could show"
            )
        self.nodes.append(node)
        for t in outs:
            key = id(t)
            self._producer[key] = node.name
            self._weights.pop(key, None)
            if t.is_meta:
                self._keep.append(t)
            else:  # a real tensor may be large: forget it when it dies, so its id can be reused
                weakref.finalize(t, self._producer.pop, key, None)

    def _unique(self, name: str) -> str:
        """``add``, ``add#2``, ...: module names never hold ``#``, so these never clash."""
        count = self._counts.get(name, 0) + 1
        self._counts[name] = count
        return name if count == 1 else f"{name}#{count}"

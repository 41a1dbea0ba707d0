"""Record one forward pass: every module call with its shapes, the mult-adds of every op, the dataflow.

Module hooks open and close a `Call` per module call; a dispatch mode
sees every aten op below autograd and adds its multiply-accumulates
(``torch.utils.flop_counter``'s formulas, two FLOPs per multiply-accumulate) to
every call open at the time. Composite ops that may hide a matrix product are
decomposed first, as ``FlopCounterMode`` does, so nothing counted is missed.
Calls and ops also go to a `FlowRecorder`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from archdoc.shapes import InputSpec
from archdoc.tracing.dataflow import FlowRecorder
from archdoc.tracing.metaops import ShapesRefused, meta_shortcut, shortcut_allowed
from archdoc.tracing.record import Pad, Shape

__all__ = ["Call", "Recorder", "tensors", "flat_tensors", "output_names", "make_inputs", "dtype_name"]


@dataclass
class Call:
    """One module call while it is recorded (mutable; `archdoc.tracing.collect` freezes it)."""

    index: int
    module: nn.Module
    depth: int
    parent: int | None
    repeat_of: int | None
    input_shapes: tuple[Shape, ...]
    output_shapes: tuple[Shape, ...] = ()
    output_dtypes: tuple[str, ...] = ()
    flops: int = 0


def tensors(obj: Any) -> Iterator[torch.Tensor]:
    """The tensors in a nest of tuples, lists and dicts, in order."""
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, dict):
        for value in obj.values():
            yield from tensors(value)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            yield from tensors(value)


def flat_tensors(obj: Any) -> list[torch.Tensor]:
    """`tensors()` as a list, at once for the common case of a tuple of tensors (a module's arguments)."""
    if type(obj) is tuple and all(isinstance(t, torch.Tensor) for t in obj):
        return list(obj)
    return list(tensors(obj))


def output_names(obj: Any, prefix: str = "") -> Iterator[str]:
    """Names of the tensors `tensors()` yields: dict keys (``logits``, ``aux.score``), else ``""``."""
    if isinstance(obj, torch.Tensor):
        yield prefix
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from output_names(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            yield from output_names(value, prefix)


def dtype_name(dtype: torch.dtype) -> str:
    """``torch.float32`` → ``"float32"``."""
    return str(dtype).removeprefix("torch.")


def _attention_flops(query: Any, key: Any, value: Any, *args: Any, out_val: Any = None, **kwargs: Any) -> int:
    """FLOPs of a fused attention kernel: the two matrix products the math path would run.

    ``query @ keyᵀ`` and ``weights @ value`` per batch and head (query heads, so grouped
    keys count as the math path's repeated ones); softmax, scaling and masks are not
    multiply-accumulates, and a causal mask is counted in full, as on meta.
    """
    *lead, length, dim = query.shape
    heads = 1
    for size in lead:
        heads *= size
    return 2 * heads * length * key.shape[-2] * (dim + value.shape[-1])


# PyTorch's counter has the GPU kernels; these run on other devices. Counting them
# here gives the same figure on cpu as on meta, where attention runs as matmuls.
_FLOPS: dict[Any, Any] = {
    **flop_registry,
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _attention_flops,
    torch.ops.aten._scaled_dot_product_fused_attention_overrideable: _attention_flops,
    torch.ops.aten._scaled_dot_product_attention_math_for_mps: _attention_flops,
}

def _matmul_flops(a: Any, b: Any) -> int:
    """FLOPs of ``a @ b`` for 2-D or batched 3-D shapes: two per multiply-accumulate."""
    *batch, rows, inner = a
    return 2 * rows * inner * b[-1] * (batch[0] if batch else 1)


def _conv_flops(x: Any, w: Any, out: Any, transposed: bool) -> int:
    """FLOPs of a convolution: per output position (per input one when transposed), a
    multiply-accumulate for every weight, two FLOPs each."""
    return 2 * x[0] * math.prod((x if transposed else out)[2:]) * math.prod(w)


# The matrix products by their operands' positions; PyTorch's formulas for the ones
# with a bias call the plain formula through its pytree wrapper, the costliest part of
# counting a linear layer. Tests hold these to `flop_registry` on every zoo model.
_MATMULS = {
    torch.ops.aten.mm: (0, 1),
    torch.ops.aten.bmm: (0, 1),
    torch.ops.aten.addmm: (1, 2),
    torch.ops.aten.baddbmm: (1, 2),
}


def _shape_of(value: Any) -> Any:
    return value.shape if isinstance(value, torch.Tensor) else value


def _count_flops(packet: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    """``_FLOPS[packet]`` on the op's arguments; PyTorch's formulas called on shapes directly
    where no argument nests tensors in a list (its wrapper maps a pytree over every call)."""
    if packet is torch.ops.aten.convolution and len(args) >= 7 and isinstance(out, torch.Tensor):
        return _conv_flops(args[0].shape, args[1].shape, out.shape, bool(args[6]))
    operands = _MATMULS.get(packet)
    if operands is not None and all(isinstance(args[i], torch.Tensor) for i in operands):
        return _matmul_flops(args[operands[0]].shape, args[operands[1]].shape)
    formula = _FLOPS[packet]
    raw = getattr(formula, "__wrapped__", None)
    if raw is None or kwargs or any(isinstance(a, (list, tuple)) and any(isinstance(x, torch.Tensor) for x in a) for a in args):
        return int(formula(*args, **kwargs, out_val=out))
    out_shape = tuple(_shape_of(o) for o in out) if isinstance(out, (list, tuple)) else _shape_of(out)
    return int(raw(*(_shape_of(a) for a in args), out_shape=out_shape))


# Explicit padding ops (F.pad's modes below autograd); their padding list runs from the last dimension back.
_PADS = frozenset(
    getattr(torch.ops.aten, name)
    for name in (
        "constant_pad_nd", "reflection_pad1d", "reflection_pad2d", "reflection_pad3d",
        "replication_pad1d", "replication_pad2d", "replication_pad3d",
    )
)


def _pad(packet: Any, call: int | None, after: int, args: Any, out: Any) -> Pad | None:
    tensor, amounts = args[0], list(args[1])
    if not isinstance(out, torch.Tensor) or len(amounts) % 2:
        return None
    pairs = tuple((int(amounts[i]), int(amounts[i + 1])) for i in range(0, len(amounts), 2))[::-1]
    return Pad(call, after, packet.__name__, tuple(tensor.shape), tuple(out.shape), pairs)


# Ops worth decomposing to find matmuls or convolutions inside. Decomposing every
# uncounted op (normalisation, pointwise) would import torch._refs for nothing.
_MAY_HIDE_MATMUL = re.compile(r"mm|mv|dot|conv|attention|linear|matmul|einsum|bilinear|lstm|gru|rnn")


class Recorder(TorchDispatchMode):
    """Hooks every module of ``model`` and counts dispatcher-level FLOPs per open call.

    Use `attach()` before the forward pass and `detach()` after it (in
    ``finally``); enter the recorder as a context manager around the pass.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.names: dict[int, str] = {}
        for name, module in model.named_modules(remove_duplicate=False):
            self.names.setdefault(id(module), name)
        self.flow = FlowRecorder(model, self.names)
        self.calls: list[Call] = []
        self.stack: list[Call] = []
        self.first_call: dict[int, int] = {}
        self.handles: list[Any] = []
        self.pads: list[Pad] = []
        self.failed_op: str | None = None  # the first aten op that raised, e.g. "aten._local_scalar_dense"
        self._decompose: dict[Any, bool] = {}

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # Nothing here runs under torch.compile; wrapping the dispatch in
        # dynamo's "disable" would import torch._dynamo (over a second) for nothing.
        return False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        kwargs = kwargs or {}
        packet = func._overloadpacket
        decompose = self._decompose.get(packet)
        if decompose is None:
            decompose = packet not in _FLOPS and bool(_MAY_HIDE_MATMUL.search(packet.__name__))
            self._decompose[packet] = decompose
        if decompose:
            # Like FlopCounterMode: look inside composite ops that may contain counted ones.
            decomposed = func.decompose(*args, **kwargs)
            if decomposed is not NotImplemented:
                return decomposed
        try:
            out = meta_shortcut(func, args) if shortcut_allowed(kwargs) else None
        except ShapesRefused:
            out = None  # the kernel fails with PyTorch's own message, which the error report quotes
        if out is None:
            try:
                out = func(*args, **kwargs)
            except Exception:
                self.failed_op = self.failed_op or str(packet)
                raise
        if self.stack and packet in _FLOPS:
            flops = _count_flops(packet, args, kwargs, out)
            for call in self.stack:
                call.flops += flops
        if packet in _PADS:
            pad = _pad(packet, self.stack[-1].index if self.stack else None, len(self.calls), args, out)
            if pad is not None:
                self.pads.append(pad)
        if not self.flow.unit_depth:
            scope = self.names.get(id(self.stack[-1].module), "") if self.stack else ""
            self.flow.op(packet.__name__, args, kwargs, out, scope)
        return out

    def attach(self) -> None:
        """Hook every module."""
        for module in self.model.modules():
            self.handles.append(module.register_forward_pre_hook(self._pre, with_kwargs=True))
            self.handles.append(module.register_forward_hook(self._post, with_kwargs=True))

    def detach(self) -> None:
        """Remove every hook (safe to call twice)."""
        for handle in self.handles:
            handle.remove()
        self.handles.clear()

    def _pre(self, module: nn.Module, args: Any, kwargs: Any) -> None:
        index = len(self.calls)
        given = flat_tensors(args) + (flat_tensors(kwargs) if kwargs else [])
        call = Call(
            index=index,
            module=module,
            depth=len(self.stack),
            parent=self.stack[-1].index if self.stack else None,
            repeat_of=self.first_call.get(id(module)),
            input_shapes=tuple(tuple(t.shape) for t in given),
        )
        self.first_call.setdefault(id(module), index)
        self.calls.append(call)
        self.stack.append(call)
        self.flow.enter(module, given)

    def _post(self, module: nn.Module, args: Any, kwargs: Any, output: Any) -> None:
        call = self.stack.pop()
        outs = flat_tensors(output)
        self.flow.leave(module, outs)
        call.output_shapes = tuple(tuple(t.shape) for t in outs)
        call.output_dtypes = tuple(dtype_name(t.dtype) for t in outs)



def make_inputs(
    inputs: tuple[InputSpec, ...], batch: int, device: str
) -> tuple[list[torch.Tensor], dict[str, torch.Tensor]]:
    """Input tensors, by position and by name: empty on meta, zeros for integer inputs, seeded normal values elsewhere."""
    args: list[torch.Tensor] = []
    kwargs: dict[str, torch.Tensor] = {}
    for spec in inputs:
        dtype = getattr(torch, spec.dtype)
        shape = (batch, *spec.shape)
        if device == "meta":
            tensor = torch.empty(shape, dtype=dtype, device=device)  # no values to fill
        elif not spec.is_float:
            tensor = torch.zeros(shape, dtype=dtype, device=device)
        else:
            gen = torch.Generator(device="cpu").manual_seed(0)
            tensor = torch.randn(shape, dtype=dtype, generator=gen).to(device)
        if spec.name:
            kwargs[spec.name] = tensor
        else:
            args.append(tensor)
    return args, kwargs

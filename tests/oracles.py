"""Figures for zoo models from outside archdoc: PyTorch's dispatcher and torchinfo, on meta.

The models are built here with PyTorch's own ``torch.device("meta")``, not with archdoc's
builder, and counted without archdoc's tracer:
- every op the dispatcher runs is counted with PyTorch's FLOP formulas (``flop_registry``
  of ``torch.utils.flop_counter``; 2 FLOPs per multiply-add);
- torchinfo 1.8 walks the module tree with its own hooks.
"""

from __future__ import annotations

import types
import warnings
from dataclasses import dataclass

import torch
import torchinfo
from torch import nn
from torch.utils._device import DeviceContext, _device_constructors
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

import archdoc
from archdoc.registry import get_entry
from archdoc.zoo.layers import StochasticDepth
from conftest import shared

# In-place initialisers: on meta there are no values to fill, so running them changes nothing
# but the time a build takes (PyTorch runs their meta versions in Python).
_INITIALISERS = frozenset(
    {"normal_", "uniform_", "trunc_normal_", "kaiming_normal_", "kaiming_uniform_", "xavier_normal_",
     "xavier_uniform_", "orthogonal_", "constant_", "zeros_", "ones_", "fill_", "zero_"}
)


class _OnMeta(DeviceContext):
    """``torch.device("meta")`` that also skips in-place initialisers on meta tensors: one Python
    handler for every torch call of a build instead of two (a tenth of the time a build takes)."""

    def __init__(self) -> None:
        super().__init__(torch.device("meta"))

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if getattr(func, "__name__", "") in _INITIALISERS:
            target = args[0] if args else kwargs.get("tensor")
            if isinstance(target, torch.Tensor) and target.is_meta:
                return target
        elif kwargs.get("device") is None and func in _device_constructors():
            kwargs["device"] = self.device
        return func(*args, **kwargs)


def meta_model(name: str, *, norm_shortcut: bool = True, **kwargs) -> nn.Module:
    """Build a zoo model on the meta device (no weights, initialisers skipped), in eval mode.

    Its forward runs PyTorch's meta kernels, batch and layer norm apart (`NormShortcut`)
    unless ``norm_shortcut`` is false (for a caller whose own mode answers them).
    """
    with _OnMeta():
        model = archdoc.get_model(name, **kwargs).eval()
    if norm_shortcut:
        model.forward = types.MethodType(_forward_with_norm_shortcut, model)  # a copy's stays its own
    return model


def _forward_with_norm_shortcut(self: nn.Module, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
    with NormShortcut():
        return type(self).forward(self, *args, **kwargs)


_aten = torch.ops.aten


def norm_outputs(func, args: tuple, kwargs: dict) -> tuple[torch.Tensor, ...] | None:  # noqa: ANN001
    """What batch norm or layer norm returns for float32 meta tensors, by definition; else ``None``.

    On meta PyTorch computes these two through Python decompositions, a third of the time of
    the oracle over the zoo. Their results have fixed shapes: the input's shape (batch norm
    keeps a contiguous or channels-last layout, layer norm gives a contiguous result) and the
    statistics kept per channel (batch norm) or per normalised group (layer norm). Anything
    else, such as a weight of another size, returns ``None``: the kernel runs and raises its
    own error. ``test_zoo.py`` checks these results against the kernels.
    """
    x = args[0] if args else None
    if kwargs or not (isinstance(x, torch.Tensor) and x.is_meta and x.dtype == torch.float32 and x.dim() >= 2):
        return None
    dense = x.is_contiguous() or (x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last))
    if func is _aten.native_batch_norm.default and len(args) == 8 and dense:
        per, stats = (x.shape[1],), (x.shape[1],)
        out = torch.empty_strided(x.shape, x.stride(), dtype=x.dtype, device="meta")
    elif func is _aten.native_layer_norm.default and len(args) == 5 and isinstance(args[1], (list, tuple)):
        per = tuple(args[1])
        if not per or tuple(x.shape[x.dim() - len(per):]) != per:
            return None
        stats = (*x.shape[: x.dim() - len(per)], *([1] * len(per)))
        out = torch.empty(x.shape, dtype=x.dtype, device="meta")
    else:
        return None
    weights = args[1:5] if func is _aten.native_batch_norm.default else args[2:4]
    if any(w is not None and not (isinstance(w, torch.Tensor) and w.is_meta and w.dtype == x.dtype and tuple(w.shape) == per) for w in weights):
        return None
    return out, torch.empty(stats, dtype=x.dtype, device="meta"), torch.empty(stats, dtype=x.dtype, device="meta")


class _PlainDispatch(TorchDispatchMode):
    """A dispatch mode whose ``__torch_dispatch__`` PyTorch calls directly.

    By default PyTorch wraps it in dynamo's "disable", for modes used under torch.compile;
    nothing here is compiled, and the wrapper ran around every op (the oracle over the zoo:
    21.8 s with it, 20.4 s without).
    """

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        return False


class NormShortcut(_PlainDispatch):
    """Batch and layer norm from `norm_outputs`; every other op by its kernel."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        kwargs = kwargs or {}
        out = norm_outputs(func, args, kwargs)
        return func(*args, **kwargs) if out is None else out


class DispatcherCount(_PlainDispatch):
    """Multiply-adds of the ops the dispatcher runs, by PyTorch's FLOP formulas.

    ``FlopCounterMode`` with its module tracking and per-op decomposition left out: those
    double the time of a meta forward, and give the same totals on every zoo model. A
    `meta_model`'s norms stop at its `NormShortcut` and never reach the count; they have
    no FLOP formula. With ``norms``, the count answers them itself (`norm_outputs`), for a
    model built without the shortcut: one mode for every op instead of two (8 % of the
    oracle's time over the zoo).
    """

    def __init__(self, norms: bool = False) -> None:
        super().__init__()
        self.flops = 0
        self.norms = norms

    @property
    def mult_adds(self) -> int:
        return self.flops // 2

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if self.norms:
            out = norm_outputs(func, args, kwargs)
            if out is not None:
                return out
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.flops += formula(*args, **kwargs, out_val=out)
        return out


def dispatcher_mult_adds(model: nn.Module, input_size: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
    """Mult-adds counted by PyTorch's dispatcher (independently of archdoc.trace) and the output shape."""
    with DispatcherCount() as counter, torch.no_grad():
        out = model(torch.empty(1, *input_size, device="meta"))
    return counter.mult_adds, tuple(out.shape)


def torchinfo_rows(model: nn.Module, size: tuple[int, ...]) -> tuple[list[tuple], torchinfo.model_statistics.ModelStatistics]:
    """torchinfo's rows (class, depth, output shape, params, params outside children) and statistics."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = torchinfo.summary(model, (1, *size), device="meta", verbose=0, depth=100)
    rows = []
    lifted: list[int] = []  # depths of list containers that never ran, whose rows torchinfo adds
    for r in stats.summary_list:
        while lifted and r.depth <= lifted[-1]:
            lifted.pop()
        if r.class_name in ("ModuleList", "ModuleDict") and not r.output_size:
            # Known torchinfo behaviour: a ModuleList that forward iterates (and never calls) gets a
            # row, and the calls inside it are nested one level deeper. archdoc's table follows the calls.
            lifted.append(r.depth)
            continue
        rows.append((r.class_name, r.depth - len(lifted), tuple(r.output_size), r.num_params, r.leftover_params()))
    return rows, stats


@dataclass(frozen=True)
class Oracle:
    """A zoo model at its default input, counted from outside archdoc."""

    params: int  # the meta build's parameters, each tensor once
    mult_adds: int  # the dispatcher's
    output_shape: tuple[int, ...]
    rows: list[tuple]  # torchinfo's, as torchinfo_rows gives them
    torchinfo_params: int
    torchinfo_mult_adds: int
    drop_rates: tuple[float, ...]  # the stochastic depth layers' drop probabilities, in order


def zoo_oracle(name: str) -> Oracle:
    """The figures for ``name``, from one meta build and one torchinfo summary under the flop counter."""
    return shared("oracle", (name,), lambda: _count(name))


def _count(name: str) -> Oracle:
    model = meta_model(name, norm_shortcut=False)
    assert all(t.is_meta for t in [*model.parameters(), *model.buffers()])
    with DispatcherCount(norms=True) as counter:
        rows, stats = torchinfo_rows(model, get_entry(name).default_input)
    return Oracle(
        params=sum(p.numel() for p in model.parameters()),
        mult_adds=counter.mult_adds,
        output_shape=tuple(stats.summary_list[0].output_size),  # the model's own row
        rows=rows,
        torchinfo_params=stats.total_params,
        torchinfo_mult_adds=stats.total_mult_adds,
        drop_rates=tuple(m.p for m in model.modules() if isinstance(m, StochasticDepth)),
    )

"""Turn a failed forward pass into an error that says what to change.

The recorder knows which module was running and what it received; from that
this module tells apart an input that is too small (with the sum that came out
below one and the smallest input that works), the wrong number of channels, a
flatten that does not fit a fixed-width classifier (with the sizes that do),
and a model that reads tensor values, which meta tensors do not have.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch
from torch import nn

from archdoc.errors import ArchdocError, InputError, TraceError
from archdoc.format import shape_text
from archdoc.loading import user_source
from archdoc.shapes import InputSpec
from archdoc.tracing.input_range import SizeProbe, minimum_per_axis, spatial_input
from archdoc.tracing.kinds import attrs_of, kind_of
from archdoc.tracing.record import LayerKind, Shape
from archdoc.tracing.recorder import Call
from archdoc.window import window_formula

__all__ = ["diagnose", "failing_arithmetic"]

# Ops that need tensor values, which meta tensors do not have, and what Python code calls them.
_VALUE_OPS = {
    "aten._local_scalar_dense": ".item(), bool(), int() or float() of a tensor, e.g. an `if` on tensor values",
    "aten.is_nonzero": "bool() of a tensor, e.g. an `if` on tensor values",
    "aten.nonzero": "nonzero() or a boolean mask, whose output size depends on the values",
    "aten.masked_select": "a boolean mask, whose output size depends on the values",
    "aten.index": "indexing with a boolean mask (x[mask]), whose output size depends on the values",
    "aten._unique2": "unique(), whose output size depends on the values",
    "aten.unique_dim": "unique(), whose output size depends on the values",
    "aten.unique_consecutive": "unique_consecutive(), whose output size depends on the values",
    "aten.bincount": "bincount(), whose output size depends on the values",
    "aten.repeat_interleave": "repeat_interleave() with tensor repeats, whose output size depends on the values",
}
_DEVICE_MISMATCH = re.compile(r"expected device|same device|on device \w+ is not", re.IGNORECASE)
_SHAPE_MISMATCH = re.compile(r"shape|size|dimension|cannot be multiplied", re.IGNORECASE)
_META_MESSAGE = re.compile(r"meta tensor|meta device|data.dependent|register_meta|'Meta' backend", re.IGNORECASE)
_WINDOWED = (LayerKind.CONV, LayerKind.MAXPOOL, LayerKind.AVGPOOL)


def _per_dim(value: object, dims: int) -> tuple[object, ...]:
    if isinstance(value, (tuple, list)):
        return tuple(value) * dims if len(value) == 1 else tuple(value)
    return (value,) * dims


def failing_arithmetic(module: nn.Module, input_shape: Sequence[int]) -> str | None:
    """The formula that yields an empty output for ``module`` at ``input_shape`` (batch included), if any."""
    kind = kind_of(module)
    if kind not in _WINDOWED or len(input_shape) < 3:
        return None
    attrs = dict(attrs_of(module))
    dims = len(input_shape) - 2
    try:
        kernel = _per_dim(attrs["kernel_size"], dims)
        stride = _per_dim(attrs.get("stride") or attrs["kernel_size"], dims)
        raw = attrs.get("padding", 0)
        padding = _per_dim(0 if raw == "valid" else raw, dims)
        dilation = _per_dim(attrs.get("dilation", 1), dims) if kind != LayerKind.AVGPOOL else (1,) * dims
        parts = [
            window_formula(n, int(k), int(s), int(p), int(d), bool(attrs.get("ceil_mode", False)))  # type: ignore[arg-type]
            for n, k, s, p, d in zip(input_shape[2:], kernel, stride, padding, dilation)
        ]
    except (KeyError, TypeError, ValueError):  # string padding ("same") never empties an output
        return None
    bad = [text for text, value in parts if value < 1]
    return bad[0] if bad else None


def _value_error(exc: Exception, name: str, where: str, module: nn.Module | None, op: str | None) -> TraceError | None:
    """The error for a model that reads tensor values on meta, or ``None`` if that is not the failure."""
    if op not in _VALUE_OPS and not _META_MESSAGE.search(str(exc)):
        return None
    what = f"{op}: {_VALUE_OPS[op]}" if op in _VALUE_OPS else (op or type(exc).__name__)
    label = where if module is None or where == type(module).__name__ else f"{where} ({type(module).__name__})"
    frame = user_source(exc)
    at = f" at {frame}" if frame else ""
    return TraceError(
        f"{name} cannot run on the meta device: {label or name} reads tensor values ({what}){at}; "
        "meta tensors have shapes but no values. Trace it on real tensors with --device cpu "
        "(device='cpu' in Python)",
        layer=where or None,
    )


def diagnose(
    exc: Exception,
    model: nn.Module,
    name: str,
    inputs: tuple[InputSpec, ...],
    failing: Call | None,
    device: str,
    op: str | None = None,
    batch: int = 1,
) -> ArchdocError:
    """The error for a failed forward pass of ``model`` (``name`` on ``inputs``).

    Args:
        exc: What the pass raised.
        model: The model, on ``device``.
        name: How messages name the model.
        inputs: The inputs it was given.
        failing: The innermost module call open when it failed.
        device: The device it ran on.
        op: The first aten op that raised, if the recorder saw one.
        batch: The batch size it ran at (the sizes that work are searched at it).
    """
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    module = failing.module if failing else None
    where = ""
    if failing is not None:
        names = {id(m): n for n, m in model.named_modules()}
        where = names.get(id(module), "") or type(module).__name__
    shape: Shape | None = failing.input_shapes[0] if failing and failing.input_shapes else None
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
    if (
        module is not None
        and isinstance(in_features, int)
        and shape is not None
        and shape[-1] != in_features
        and spatial_input(inputs)
    ):
        spec = inputs[0]
        limit = max(64, 2 * max(spec.shape[1:]))
        found = SizeProbe(model, spec, device, batch=batch).sizes_for_features(module, in_features, limit)
        if found is None:
            works = f"no size up to {limit} works"
        else:
            works = f"sizes that work (up to {limit}): {found[0]}" + (f"–{found[1]}" if found[1] != found[0] else "")
        return InputError(
            f"{name} cannot take {given}: {where} (Linear) expects {in_features} features but gets "
            f"{shape[-1]}; {works}",
            layer=where,
            minimum=found[0] if found else None,
        )
    arithmetic = failing_arithmetic(module, shape) if module is not None and shape is not None else None
    if arithmetic is not None and spatial_input(inputs):
        spec = inputs[0]
        smallest = minimum_per_axis(model, spec, device, batch=batch)
        minimum = ""
        if smallest:
            axes = " (T×H×W)" if len(smallest) == 3 else ""
            minimum = f"; the minimum input is {'×'.join(map(str, smallest))}{axes}"
        return InputError(
            f"input {given} is too small for {name}: {where} ({type(module).__name__}) gets "
            f"{shape_text(shape[2:], '×')}: {arithmetic}{minimum}",
            layer=where,
            minimum=(smallest[0] if len(set(smallest)) == 1 else smallest) if smallest else None,
        )
    shapes = ", ".join(str(list(s)) for s in (failing.input_shapes if failing else ()))
    at = f" in {where} ({type(module).__name__})" + (f" on input {shapes}" if shapes else "") if failing else ""
    frame = user_source(exc)
    line = f" at {frame}" if frame else ""
    return TraceError(
        f"{name} failed{at}: {message}{line}; {_advice(message, device)}",
        layer=where or None,
        input_shapes=failing.input_shapes if failing else (),
    )


def _advice(message: str, device: str) -> str:
    """What to do about a failure archdoc cannot explain better."""
    if _DEVICE_MISMATCH.search(message):
        return (
            f"the model mixes tensors of two devices: create tensors in forward on the input's device "
            f"(device=x.device) and keep fixed ones as buffers (register_buffer), so they follow the model to {device}"
        )
    if _SHAPE_MISMATCH.search(message):
        return "the input sizes do not fit the model: check --input (and --set for the builder's sizes)"
    return (
        "check the inputs (--input; name=SIZES passes one by keyword) and the builder's arguments (--set); "
        "--debug shows the whole traceback"
    )

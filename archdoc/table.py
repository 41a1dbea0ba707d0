"""The summary table, in torchinfo's layout, drawn from a trace.

It keeps torchinfo's columns, tree glyphs and totals block (the layout of the
seed pages) and fixes what torchinfo 1.8 gets wrong: the mult-adds unit reads
``(M)``/``(G)``, shared parameters count once, and the user's model is never
moved or run again — every figure comes from the :class:`~archdoc.tracing.Trace`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from archdoc.format import scale
from archdoc.shapes import DTYPE_BYTES
from archdoc.tracing.record import Layer, Trace

__all__ = ["render_table", "COLUMNS", "summary_totals", "own_params"]

COLUMNS = {
    "input_size": "Input Shape",
    "output_size": "Output Shape",
    "kernel_size": "Kernel Shape",
    "num_params": "Param #",
    "mult_adds": "Mult-Adds",
}
DEFAULT_COLUMNS = ("input_size", "output_size", "kernel_size", "num_params")
_COL_WIDTH = 25
_NAME_WIDTH = 40


def _number(value: float) -> str:
    return f"{int(value):,d}" if float(value).is_integer() else f"{value:,.2f}"


def _shape(shape: Sequence[int]) -> str:
    return str(list(shape)) if shape else "--"


def _kernel(layer: Layer) -> str:
    k = layer.attr("kernel_size")
    if k is None:
        return "--"
    return str(list(k)) if isinstance(k, tuple) else str(k)


def own_params(layers: Sequence[Layer]) -> list[int]:
    """Per call, the parameters torchinfo shows on its row when it is not at the deepest level.

    A leaf shows all its parameters; a container only those it holds outside its
    children (calls of an already called module count nothing). One pass from
    the last call back, so the cost grows with the number of calls, not the nesting.
    """
    own = [0] * len(layers)
    inside = [0] * len(layers)  # what the calls below each call account for
    for layer in reversed(layers):
        i = layer.index
        own[i] = layer.params if layer.is_leaf else layer.params - inside[i]
        counted = inside[i] + (own[i] if layer.repeat_of is None else 0)
        if layer.parent is not None:
            inside[layer.parent] += counted
    return own


def _params_cell(layer: Layer, at_max_depth: bool, own: int) -> str:
    if layer.params == 0:
        return "--"
    if layer.repeat_of is not None:
        return "(recursive)"
    if at_max_depth or layer.is_leaf:
        text = f"{layer.params:,}"
        text = text if layer.trainable_params else f"({text})"
        return f"{text} (shared)" if layer.shared_params and layer.is_leaf else text
    return f"{own:,}" if own > 0 else "--"


def _macs_cell(layer: Layer, at_max_depth: bool) -> str:
    if layer.mult_adds <= 0 or not (layer.is_leaf or at_max_depth):
        return "--"
    return f"{layer.mult_adds:,}"


def _row(name: str, values: Sequence[str], name_width: int) -> str:
    line = f"{name:<{name_width}} " + "".join(f"{v:<{_COL_WIDTH}} " for v in values)
    return line.rstrip() + "\n"


def _prefix(depth: int) -> str:
    if depth == 0:
        return ""
    if depth == 1:
        return "├─"
    return "│    " * (depth - 1) + "└─"


def summary_totals(trace: Trace) -> dict[str, int]:
    """Byte counts of torchinfo's size estimate, from the trace.

    ``forward_backward_bytes`` follows torchinfo: twice the output bytes of every
    call of a leaf module that holds parameters (activations kept for backward).
    """
    inputs = sum(trace.batch * math.prod(spec.shape) * spec.itemsize for spec in trace.inputs)
    activations = 0
    for layer in trace.layers:
        if layer.is_leaf and layer.params > 0 and layer.output_shapes:
            first, dtype = layer.output_shapes[0], layer.output_dtypes[0]
            activations += 2 * math.prod(first) * DTYPE_BYTES.get(dtype, 4)
    return {
        "input_bytes": inputs,
        "forward_backward_bytes": activations,
        "param_bytes": trace.param_bytes,
        "total_bytes": inputs + activations + trace.param_bytes,
    }


def render_table(trace: Trace, depth: int = 3, columns: Sequence[str] = DEFAULT_COLUMNS) -> str:
    """The torchinfo-style summary of ``trace``.

    Args:
        trace: The trace to show.
        depth: Deepest nesting level shown; deeper calls are folded into their parent.
        columns: Keys of :data:`COLUMNS`, in order.

    Returns:
        The table as text, ending in a newline.
    """
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise ValueError(f"unknown columns {unknown}; choose from {list(COLUMNS)}")
    own = own_params(trace.layers)
    counters: dict[int, int] = {}
    names: list[str] = []
    for layer in trace.layers:
        counters[layer.depth] = counters.get(layer.depth, 0) + 1
        suffix = f": {layer.depth}-{counters[layer.depth]}" if layer.depth > 0 else ""
        names.append(f"{layer.type}{suffix}")
    longest = max((len(n) + layer.depth * 5 + 1 for n, layer in zip(names, trace.layers)), default=0)
    name_width = _NAME_WIDTH if longest < _NAME_WIDTH else math.ceil(longest / 5) * 5

    divider = "=" * (len(columns) * _COL_WIDTH + name_width) + "\n"
    out = [divider, _row("Layer (type:depth-idx)", [COLUMNS[c] for c in columns], name_width), divider]
    for layer, name in zip(trace.layers, names):
        if layer.depth > depth:
            continue
        at_max = layer.depth == depth
        cells = {
            "input_size": _shape(layer.input_shape),
            "output_size": _shape(layer.output_shape),
            "kernel_size": _kernel(layer),
            "num_params": _params_cell(layer, at_max, own[layer.index]),
            "mult_adds": _macs_cell(layer, at_max),
        }
        out.append(_row(_prefix(layer.depth) + name, [cells[c] for c in columns], name_width))

    unit, value = scale(trace.mult_adds, smallest="M")  # torchinfo's units: M, G, T
    sizes = summary_totals(trace)
    out += [
        divider,
        f"Total params: {trace.total_params:,}\n",
        f"Trainable params: {trace.trainable_params:,}\n",
        f"Non-trainable params: {trace.total_params - trace.trainable_params:,}\n",
    ]
    if trace.shared_params:
        out.append(f"Shared params (counted once): {trace.shared_params:,}\n")
    out += [
        f"Total mult-adds ({unit}): {_number(value)}\n",
        divider,
        f"Input size (MB): {sizes['input_bytes'] / 1e6:0.2f}\n",
        f"Forward/backward pass size (MB): {sizes['forward_backward_bytes'] / 1e6:0.2f}\n",
        f"Params size (MB): {sizes['param_bytes'] / 1e6:0.2f}\n",
        f"Estimated Total Size (MB): {sizes['total_bytes'] / 1e6:0.2f}\n",
        divider.rstrip("\n"),
    ]
    return "".join(out) + "\n"

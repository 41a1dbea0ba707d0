"""The summary table, in torchinfo's layout, drawn from a trace.

It keeps torchinfo's columns, tree glyphs and totals block (the layout readers
know) and fixes what torchinfo 1.8 gets wrong: the mult-adds unit reads
``(M)``/``(G)``, shared parameters count once, and the user's model is never
moved or run again — every figure comes from the [`Trace`][archdoc.tracing.Trace].
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from archdoc.format import scale
from archdoc.markdown import attribute, html_text, one_line
from archdoc.shapes import DTYPE_BYTES
from archdoc.tracing.record import Layer, Trace

__all__ = ["render_table", "render_table_html", "table_rows", "totals", "COLUMNS", "summary_totals", "own_params"]

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


def _check(columns: Sequence[str]) -> None:
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise ValueError(f"unknown columns {unknown}; choose from {list(COLUMNS)}")


def table_rows(trace: Trace, depth: int = 3, columns: Sequence[str] = DEFAULT_COLUMNS) -> list[tuple[Layer, str, str, list[str]]]:
    """The rows torchinfo would show: ``(layer, tree glyphs, "Type: depth-idx", cells)`` per shown call."""
    _check(columns)
    own = own_params(trace.layers)
    counters: dict[int, int] = {}
    rows = []
    for layer in trace.layers:
        counters[layer.depth] = counters.get(layer.depth, 0) + 1
        if layer.depth > depth:
            continue
        suffix = f": {layer.depth}-{counters[layer.depth]}" if layer.depth > 0 else ""
        at_max = layer.depth == depth
        cells = {
            "input_size": _shape(layer.input_shape),
            "output_size": _shape(layer.output_shape),
            "kernel_size": _kernel(layer),
            "num_params": _params_cell(layer, at_max, own[layer.index]),
            "mult_adds": _macs_cell(layer, at_max),
        }
        rows.append((layer, _prefix(layer.depth), f"{one_line(layer.type)}{suffix}", [cells[c] for c in columns]))
    return rows


def totals(trace: Trace) -> tuple[list[str], list[str]]:
    """The totals block: parameter and mult-add lines, then torchinfo's size estimate."""
    unit, value = scale(trace.mult_adds, smallest="M")  # torchinfo's units: M, G, T
    sizes = summary_totals(trace)
    counts = [
        f"Total params: {trace.total_params:,}",
        f"Trainable params: {trace.trainable_params:,}",
        f"Non-trainable params: {trace.total_params - trace.trainable_params:,}",
    ]
    if trace.shared_params:
        counts.append(f"Shared params (counted once): {trace.shared_params:,}")
    counts.append(f"Total mult-adds ({unit}): {_number(value)}")
    memory = [
        f"Input size (MB): {sizes['input_bytes'] / 1e6:0.2f}",
        f"Forward/backward pass size (MB): {sizes['forward_backward_bytes'] / 1e6:0.2f}",
        f"Params size (MB): {sizes['param_bytes'] / 1e6:0.2f}",
        f"Estimated Total Size (MB): {sizes['total_bytes'] / 1e6:0.2f}",
    ]
    return counts, memory


def render_table(trace: Trace, depth: int = 3, columns: Sequence[str] = DEFAULT_COLUMNS) -> str:
    """The torchinfo-style summary of ``trace``.

    Args:
        trace: The trace to show.
        depth: Deepest nesting level shown; deeper calls are folded into their parent.
        columns: Keys of `COLUMNS`, in order.

    Returns:
        The table as text, ending in a newline.
    """
    rows = table_rows(trace, depth, columns)
    longest = max((len(name) + layer.depth * 5 + 1 for layer, _, name, _ in rows), default=0)
    name_width = _NAME_WIDTH if longest < _NAME_WIDTH else math.ceil(longest / 5) * 5
    divider = "=" * (len(columns) * _COL_WIDTH + name_width) + "\n"
    out = [divider, _row("Layer (type:depth-idx)", [COLUMNS[c] for c in columns], name_width), divider]
    out += [_row(prefix + name, cells, name_width) for _, prefix, name, cells in rows]
    counts, memory = totals(trace)
    out += [divider, *(line + "\n" for line in counts), divider, *(line + "\n" for line in memory), divider.rstrip("\n")]
    return "".join(out) + "\n"


def render_table_html(trace: Trace, depth: int = 3, columns: Sequence[str] = DEFAULT_COLUMNS) -> str:
    """The same summary as an HTML table, for the site: tree glyphs, the same columns, the totals block.

    Every row has an ``id`` (``summary-layer3-1-conv2``), so links and searches land on it.
    """
    rows = table_rows(trace, depth, columns)
    head = "".join(f"<th>{html_text(COLUMNS[c])}</th>" for c in columns)
    body = []
    for layer, prefix, name, cells in rows:
        anchor = "summary-" + ("".join(ch if ch.isalnum() else "-" for ch in layer.name.lower()).strip("-") or "model")
        tree = f'<span class="archdoc-tree">{html_text(prefix)}</span>' if prefix else ""
        tds = "".join(f"<td>{html_text(cell)}</td>" for cell in cells)
        body.append(
            f'<tr id="{attribute(anchor)}" title="{attribute(layer.name or layer.type)}">'
            f'<td class="archdoc-layer">{tree}{html_text(name)}</td>{tds}</tr>'
        )
    counts, memory = totals(trace)
    foot = "".join(f'<tr><td colspan="{len(columns) + 1}">{html_text(line)}</td></tr>' for line in [*counts, *memory])
    return (
        '<div class="archdoc-summary" markdown="0">\n<table>\n'
        f"<thead><tr><th>Layer (type:depth-idx)</th>{head}</tr></thead>\n"
        "<tbody>\n" + "\n".join(body) + "\n</tbody>\n"
        f'<tfoot class="archdoc-totals">{foot}</tfoot>\n'
        "</table>\n</div>\n"
    )

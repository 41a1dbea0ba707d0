"""Output-shape arithmetic: every size-changing layer's formula with the numbers filled in.

Each result is checked against the traced shape; a mismatch raises
[`ArithmeticMismatchError`][archdoc.errors.ArithmeticMismatchError], because it would mean this
module's formulas are wrong, and a page must never print a wrong sum.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from archdoc.errors import ArithmeticMismatchError
from archdoc.format import shape_text
from archdoc.markdown import attribute, code_span, html_text, one_line, table_cell
from archdoc.tracing.record import Layer, LayerKind, Trace
from archdoc.window import transposed_formula, window_formula

__all__ = ["ArithmeticRow", "arithmetic_rows", "render_arithmetic", "render_arithmetic_html", "row_anchor"]

_WINDOWED = (LayerKind.CONV, LayerKind.MAXPOOL, LayerKind.AVGPOOL, LayerKind.CONV_TRANSPOSE)
_ADAPTIVE = (LayerKind.ADAPTIVE_AVGPOOL, LayerKind.ADAPTIVE_MAXPOOL)
COVERED = _WINDOWED + _ADAPTIVE + (LayerKind.FLATTEN, LayerKind.LINEAR)


@dataclass(frozen=True)
class ArithmeticRow:
    """One line of the shape arithmetic.

    Attributes:
        layer: Qualified layer name.
        operation: Short description, e.g. ``"Conv2d 7×7/2, pad 3"``.
        formula: The arithmetic with numbers, e.g. ``"⌊(116 + 2·3 − 7) / 2⌋ + 1 = 58"``.
        output: The traced output shape without batch.
    """

    layer: str
    operation: str
    formula: str
    output: tuple[int, ...]


def _per_dim(value: Any, dims: int) -> tuple[Any, ...]:
    """A hyper-parameter as one value per spatial dim (``3`` → ``(3, 3)``)."""
    if isinstance(value, (tuple, list)):
        return tuple(value) * dims if len(value) == 1 else tuple(value)
    return (value,) * dims


def _fmt_dims(values: Sequence[Any]) -> str:
    return "×".join(str(v) for v in values)


def _window(kind: str, attrs: dict[str, Any], n: int, i: int, dims: int) -> tuple[str, int]:
    """Formula text and result for one spatial dimension of a windowed layer."""
    k = _per_dim(attrs["kernel_size"], dims)[i]
    s = _per_dim(attrs.get("stride") or attrs["kernel_size"], dims)[i]
    d = _per_dim(attrs.get("dilation", 1), dims)[i] if kind != LayerKind.AVGPOOL else 1
    padding = attrs.get("padding", 0)
    if padding == "valid":
        padding = 0
    if padding == "same":
        return f"{n} (padding='same')", n
    p = _per_dim(padding, dims)[i]
    if kind == LayerKind.CONV_TRANSPOSE:
        return transposed_formula(n, k, s, p, d, _per_dim(attrs.get("output_padding", 0), dims)[i])
    return window_formula(n, k, s, p, d, bool(attrs.get("ceil_mode", False)))


def _operation(layer_type: str, kind: str, attrs: dict[str, Any], dims: int) -> str:
    if kind in _WINDOWED:
        k = _per_dim(attrs["kernel_size"], dims)
        s = _per_dim(attrs.get("stride") or attrs["kernel_size"], dims)
        text = f"{layer_type} {_fmt_dims(k)}"
        if any(v != 1 for v in s):
            text += f"/{s[0] if len(set(s)) == 1 else _fmt_dims(s)}"
        padding = attrs.get("padding", 0)
        if isinstance(padding, str):
            text += f", pad {padding}"
        else:
            p = _per_dim(padding, dims)
            if any(p):
                text += f", pad {p[0] if len(set(p)) == 1 else _fmt_dims(p)}"
        dil = _per_dim(attrs.get("dilation", 1), dims) if kind != LayerKind.AVGPOOL else (1,)
        if any(v != 1 for v in dil):
            text += f", dilation {dil[0] if len(set(dil)) == 1 else _fmt_dims(dil)}"
        if attrs.get("groups", 1) != 1:
            text += f", groups {attrs['groups']}"
        if attrs.get("ceil_mode"):
            text += ", ceil"
        return text
    if kind in _ADAPTIVE:
        return f"{layer_type} → {_fmt_dims(_per_dim(attrs['output_size'], dims))}"
    return layer_type


def _spatial(kind: str, attrs: dict[str, Any], sizes: Sequence[int]) -> tuple[str, tuple[int, ...]]:
    """Formula text over all spatial dims; identical dims are shown once."""
    dims = len(sizes)
    results = []
    for i, n in enumerate(sizes):
        if kind in _ADAPTIVE:
            target = _per_dim(attrs["output_size"], dims)[i]
            out = n if target is None else target
            results.append((f"adaptive: {n} → {out}", out))
        else:
            results.append(_window(kind, attrs, n, i, dims))
    if len({text for text, _ in results}) == 1:
        return results[0][0], tuple(v for _, v in results)
    axes = "HWD" if dims <= 3 else "".join(str(i) for i in range(dims))
    text = "; ".join(f"{axes[i] if dims > 1 else ''}: {t}" for i, (t, _) in enumerate(results))
    return text, tuple(v for _, v in results)


def _row(layer: Layer) -> ArithmeticRow | None:
    attrs = dict(layer.attrs)
    out = layer.output_shape
    inp = layer.input_shape
    if not inp or not out:
        return None
    kind = layer.kind
    if kind in _WINDOWED or kind in _ADAPTIVE:
        if len(inp) < 3:
            return None
        sizes = inp[2:]
        formula, computed = _spatial(kind, attrs, sizes)
        if computed != tuple(out[2:]):
            raise ArithmeticMismatchError(
                f"{layer.label}: arithmetic gives {computed}, the trace has {tuple(out[2:])}"
            )
        return ArithmeticRow(layer.label, _operation(layer.type, kind, attrs, len(sizes)), formula, tuple(out[1:]))
    if kind == LayerKind.FLATTEN:
        start = attrs.get("start_dim", 1) % len(inp)
        end = attrs.get("end_dim", -1) % len(inp)
        factors = inp[start : end + 1]
        total = math.prod(factors)
        expected = tuple(inp[:start]) + (total,) + tuple(inp[end + 1 :])
        if expected != tuple(out):
            raise ArithmeticMismatchError(f"{layer.label}: flatten gives {expected}, the trace has {tuple(out)}")
        return ArithmeticRow(layer.label, layer.type, f"{' · '.join(str(f) for f in factors)} = {total}", tuple(out[1:]))
    if kind == LayerKind.LINEAR and "in_features" in attrs and "out_features" in attrs:
        if out[-1] != attrs["out_features"]:
            raise ArithmeticMismatchError(f"{layer.label}: expected {attrs['out_features']} features, trace has {out[-1]}")
        return ArithmeticRow(
            layer.label, layer.type, f"{attrs['in_features']} → {attrs['out_features']} features", tuple(out[1:])
        )
    return None


def arithmetic_rows(trace: Trace) -> list[ArithmeticRow]:
    """The shape arithmetic of every convolution, pooling, flatten and linear call.

    Raises:
        ArithmeticMismatchError: If a formula disagrees with the traced shape.
    """
    rows = []
    for layer in trace.layers:
        if layer.is_leaf and layer.kind in COVERED:
            row = _row(layer)
            if row is not None:
                rows.append(row)
    return rows


def _header(trace: Trace) -> list[str]:
    spatial = "Output (C × H × W)" if trace.inputs and len(trace.inputs[0].shape) == 3 else "Output"
    return ["Layer", "Operation", "Arithmetic", spatial]


def render_arithmetic(trace: Trace) -> str:
    """The shape arithmetic as a Markdown table (one row per size-changing call)."""
    lines = ["| " + " | ".join(_header(trace)) + " |", "|---|---|---|---|"]
    for row in arithmetic_rows(trace):
        lines.append(
            f"| {code_span(row.layer).replace('|', chr(92) + '|')} | {table_cell(row.operation)} | "
            f"{table_cell(row.formula)} | {shape_text(row.output)} |"
        )
    return "\n".join(lines) + "\n"


def row_anchor(name: str) -> str:
    """A layer's row anchor: ``layer3.1.conv2`` → ``layer-layer3-1-conv2``."""
    return "layer-" + ("".join(c if c.isalnum() else "-" for c in name.lower()).strip("-") or "model")


def render_arithmetic_html(trace: Trace, rows: list[ArithmeticRow] | None = None) -> str:
    """The shape arithmetic as an HTML table for the site; each row has an ``id`` (see [`row_anchor()`][archdoc.arithmetic.row_anchor])."""
    rows = arithmetic_rows(trace) if rows is None else rows
    head = "".join(f"<th>{html_text(h)}</th>" for h in _header(trace))
    body = "\n".join(
        f'<tr id="{attribute(row_anchor(row.layer))}"><td><code>{html_text(one_line(row.layer))}</code></td>'
        f"<td>{html_text(row.operation)}</td><td>{html_text(row.formula)}</td><td>{html_text(shape_text(row.output))}</td></tr>"
        for row in rows
    )
    return (
        f'<div class="archdoc-arithmetic" markdown="0">\n<table>\n<thead><tr>{head}</tr></thead>\n'
        f"<tbody>\n{body}\n</tbody>\n</table>\n</div>\n"
    )

"""Output-shape arithmetic: every size-changing layer's formula with the numbers filled in.

Explicit padding is part of it: ``F.pad`` run inside a layer's own forward (TF-style
"same" convolutions pad dynamically, often unequally) joins that layer's formula as
``⌊(300 + 0 + 1 − 3) / 2⌋ + 1``; a "same" convolution shows the padding PyTorch adds;
``F.pad`` anywhere else gets a row of its own.

Each result is checked against the traced shape. A result that disagrees is never
printed as if it held: its row says what the arithmetic gives, what the trace has and
that the difference is not explained. [`check_arithmetic()`][archdoc.arithmetic.check_arithmetic]
raises on such a row; the tests run it over the zoo.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from archdoc.errors import ArithmeticMismatchError
from archdoc.format import shape_text
from archdoc.markdown import attribute, code_span, html_text, one_line, table_cell
from archdoc.tracing.record import Layer, LayerKind, Pad, Trace
from archdoc.window import signed, transposed_formula, window_formula

__all__ = [
    "ArithmeticRow", "arithmetic_rows", "check_arithmetic", "render_arithmetic", "render_arithmetic_html", "row_anchor",
]

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
        explained: Whether the formula gives the traced shape; when not, `formula` says so.
    """

    layer: str
    operation: str
    formula: str
    output: tuple[int, ...]
    explained: bool = True


def _per_dim(value: Any, dims: int) -> tuple[Any, ...]:
    """A hyper-parameter as one value per spatial dim (``3`` → ``(3, 3)``)."""
    if isinstance(value, (tuple, list)):
        return tuple(value) * dims if len(value) == 1 else tuple(value)
    return (value,) * dims


def _fmt_dims(values: Sequence[Any]) -> str:
    return "×".join(str(v) for v in values)


def _window(
    kind: str, attrs: dict[str, Any], n: int, i: int, dims: int, explicit: tuple[int, int]
) -> tuple[str, int]:
    """Formula text and result for one spatial dimension of a windowed layer."""
    k = _per_dim(attrs["kernel_size"], dims)[i]
    s = _per_dim(attrs.get("stride") or attrs["kernel_size"], dims)[i]
    d = _per_dim(attrs.get("dilation", 1), dims)[i] if kind != LayerKind.AVGPOOL else 1
    padding = attrs.get("padding", 0)
    if padding == "valid":
        padding = 0
    if padding == "same":
        # PyTorch pads d·(k − 1) in all, the odd one after (stride is 1).
        total = d * (k - 1)
        return window_formula(n, k, s, 0, d, explicit=(total // 2, total - total // 2))
    p = _per_dim(padding, dims)[i]
    if kind == LayerKind.CONV_TRANSPOSE:
        text, out = transposed_formula(n + sum(explicit), k, s, p, d, _per_dim(attrs.get("output_padding", 0), dims)[i])
        if any(explicit):
            text = text.replace(f"({n + sum(explicit)} − 1)", f"({n}{signed(explicit[0])}{signed(explicit[1])} − 1)", 1)
        return text, out
    return window_formula(n, k, s, p, d, bool(attrs.get("ceil_mode", False)), explicit)


def _operation(layer_type: str, kind: str, attrs: dict[str, Any], dims: int, explicit: str = "") -> str:
    if kind in _WINDOWED:
        k = _per_dim(attrs["kernel_size"], dims)
        s = _per_dim(attrs.get("stride") or attrs["kernel_size"], dims)
        text = f"{layer_type} {_fmt_dims(k)}"
        if any(v != 1 for v in s):
            text += f"/{s[0] if len(set(s)) == 1 else _fmt_dims(s)}"
        padding = attrs.get("padding", 0)
        if isinstance(padding, str):
            text += f", pad {padding}"
        elif explicit:
            text += f", pad {explicit} (F.pad)"
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


def _joined(results: Sequence[tuple[str, int]]) -> tuple[str, tuple[int, ...]]:
    """Per-dimension formulas as one text; identical dims are shown once."""
    if len({text for text, _ in results}) == 1:
        return results[0][0], tuple(v for _, v in results)
    dims = len(results)
    axes = ("H", "W") if dims == 2 else ("T", "H", "W") if dims == 3 else tuple(f"d{i + 1}" for i in range(dims))
    text = "; ".join(f"{axes[i] if dims > 1 else ''}: {t}" for i, (t, _) in enumerate(results))
    return text, tuple(v for _, v in results)


def _spatial(
    kind: str, attrs: dict[str, Any], sizes: Sequence[int], explicit: Sequence[tuple[int, int]]
) -> tuple[str, tuple[int, ...]]:
    """Formula text over all spatial dims."""
    dims = len(sizes)
    results = []
    for i, n in enumerate(sizes):
        if kind in _ADAPTIVE:
            target = _per_dim(attrs["output_size"], dims)[i]
            out = n if target is None else target
            results.append((f"adaptive: {n} → {out}", out))
        else:
            results.append(_window(kind, attrs, n, i, dims, explicit[i]))
    return _joined(results)


def _pairs_text(pairs: Sequence[tuple[int, int]]) -> str:
    """``0+1`` (the same on every axis) or ``0+1, 1+1`` (per axis)."""
    texts = [f"{a}+{b}" if b >= 0 else f"{a}{b}" for a, b in pairs]
    return texts[0] if len(set(texts)) == 1 else ", ".join(texts)


def _input_padding(layer: Layer, pads: Sequence[Pad]) -> tuple[list[tuple[int, int]], list[Pad]]:
    """Padding the layer's own forward adds to its input before its window, per spatial dim, and the pads used.

    Only pads of the spatial dims of the very tensor the layer received (or of the result
    of such a pad) count.
    """
    shape = tuple(layer.input_shape)
    explicit = [(0, 0)] * (len(shape) - 2)
    used = []
    for pad in pads:
        if pad.input_shape != shape or pad.first_dim < 2:
            continue
        for offset, (a, b) in enumerate(pad.amounts):
            i = pad.first_dim - 2 + offset
            explicit[i] = (explicit[i][0] + a, explicit[i][1] + b)
        shape = pad.output_shape
        used.append(pad)
    return explicit, used


def _window_row(layer: Layer, pads: Sequence[Pad]) -> tuple[ArithmeticRow | None, Sequence[Pad]]:
    inp, out, kind = layer.input_shape, layer.output_shape, layer.kind
    if len(inp) < 3:
        return None, ()
    attrs = dict(layer.attrs)
    sizes = inp[2:]
    if attrs.get("padding") == "same":
        # PyTorch pads an odd total itself, with F.pad: the formula already has it.
        explicit, used = [(0, 0)] * len(sizes), list(pads)
        operation = _operation(layer.type, kind, attrs, len(sizes))
    else:
        explicit, used = _input_padding(layer, pads if kind not in _ADAPTIVE else ())
        operation = _operation(layer.type, kind, attrs, len(sizes), _pairs_text(explicit) if used else "")
    formula, computed = _spatial(kind, attrs, sizes, explicit)
    if computed != tuple(out[2:]):
        shown = computed[0] if len(set(computed)) == 1 and len(set(out[2:])) == 1 else computed
        return _unexplained(layer.label, operation, shown, out[2:], out), ()
    return ArithmeticRow(layer.label, operation, formula, tuple(out[1:])), used


def _unexplained(label: str, operation: str, computed: Any, traced: Sequence[int], out: Sequence[int]) -> ArithmeticRow:
    traced_text = shape_text(tuple(traced), "×")
    computed_text = shape_text(tuple(computed), "×") if isinstance(computed, tuple) else str(computed)
    return ArithmeticRow(
        label,
        operation,
        f"not explained: the layer's attributes give {computed_text}, the trace has {traced_text} "
        "(its forward changes the size in a way archdoc does not model)",
        tuple(out[1:]),
        explained=False,
    )


_PAD_NAMES = {"constant_pad_nd": "F.pad", "reflection": "F.pad reflect", "replication": "F.pad replicate"}


def _pad_row(label: str, pad: Pad) -> ArithmeticRow:
    name = next((text for key, text in _PAD_NAMES.items() if pad.op.startswith(key)), pad.op)
    dims = pad.amounts
    results = [
        (f"{n}{signed(a)}{signed(b)} = {n + a + b}", n + a + b)
        for n, (a, b) in zip(pad.input_shape[pad.first_dim :], dims)
    ]
    formula, computed = _joined(results)
    operation = f"{name} {_pairs_text(dims)}"
    if computed != tuple(pad.output_shape[pad.first_dim :]):
        return _unexplained(label, operation, computed, pad.output_shape[pad.first_dim :], pad.output_shape)
    return ArithmeticRow(label, operation, formula, tuple(pad.output_shape[1:]))


def _row(layer: Layer, pads: Sequence[Pad]) -> tuple[ArithmeticRow | None, Sequence[Pad]]:
    """The layer's row, and the pads its formula took in."""
    if layer.kind in _WINDOWED or layer.kind in _ADAPTIVE:
        return _window_row(layer, pads) if layer.input_shape and layer.output_shape else (None, ())
    return _plain_row(layer), ()


def _plain_row(layer: Layer) -> ArithmeticRow | None:
    attrs = dict(layer.attrs)
    out = layer.output_shape
    inp = layer.input_shape
    if not inp or not out:
        return None
    kind = layer.kind
    if kind == LayerKind.FLATTEN:
        start = attrs.get("start_dim", 1) % len(inp)
        end = attrs.get("end_dim", -1) % len(inp)
        factors = inp[start : end + 1]
        total = math.prod(factors)
        expected = tuple(inp[:start]) + (total,) + tuple(inp[end + 1 :])
        if expected != tuple(out):
            return _unexplained(layer.label, layer.type, expected[1:], out[1:], out)
        return ArithmeticRow(layer.label, layer.type, f"{' · '.join(str(f) for f in factors)} = {total}", tuple(out[1:]))
    if kind == LayerKind.LINEAR and "in_features" in attrs and "out_features" in attrs:
        if out[-1] != attrs["out_features"]:
            return _unexplained(layer.label, layer.type, (attrs["out_features"],), out[-1:], out)
        return ArithmeticRow(
            layer.label, layer.type, f"{attrs['in_features']} → {attrs['out_features']} features", tuple(out[1:])
        )
    return None


def arithmetic_rows(trace: Trace) -> list[ArithmeticRow]:
    """The shape arithmetic of every convolution, pooling, flatten and linear call, and of explicit padding.

    A pad run inside a windowed layer's own forward joins that layer's row; any other
    gets its own row, where it ran. A row whose formula disagrees with the trace says so
    (`ArithmeticRow.explained` is false).
    """
    by_call: dict[int | None, list[Pad]] = {}
    for pad in trace.pads:
        by_call.setdefault(pad.call, []).append(pad)
    keyed: list[tuple[tuple[int, int], ArithmeticRow]] = []
    used: set[int] = set()
    for layer in trace.layers:
        if layer.is_leaf and layer.kind in COVERED:
            row, taken = _row(layer, by_call.get(layer.index, ()))
            if row is not None:
                keyed.append(((layer.index, 1), row))
                used.update(id(p) for p in taken)
    for pad in trace.pads:
        if id(pad) not in used:
            owner = trace.layers[pad.call] if pad.call is not None and pad.call < len(trace.layers) else None
            keyed.append(((pad.after, 0), _pad_row(owner.label if owner else trace.model_type, pad)))
    return [row for _, row in sorted(keyed, key=lambda item: item[0])]


def check_arithmetic(trace: Trace) -> list[ArithmeticRow]:
    """The rows of [`arithmetic_rows()`][archdoc.arithmetic.arithmetic_rows], all explained.

    Raises:
        ArithmeticMismatchError: A formula disagrees with the traced shape.
    """
    rows = arithmetic_rows(trace)
    for row in rows:
        if not row.explained:
            raise ArithmeticMismatchError(f"{row.layer}: {row.formula}")
    return rows


def _header(trace: Trace) -> list[str]:
    spatial = "Output (C × H × W)" if trace.inputs and len(trace.inputs[0].shape) == 3 else "Output"
    return ["Layer", "Operation", "Arithmetic", spatial]


def render_arithmetic(trace: Trace, rows: list[ArithmeticRow] | None = None) -> str:
    """The shape arithmetic as a Markdown table (one row per size-changing call; ``rows``:
    `arithmetic_rows` of ``trace``, when the caller has them already)."""
    lines = ["| " + " | ".join(_header(trace)) + " |", "|---|---|---|---|"]
    for row in arithmetic_rows(trace) if rows is None else rows:
        lines.append(
            f"| {code_span(row.layer).replace('|', chr(92) + '|')} | {table_cell(row.operation)} | "
            f"{table_cell(row.formula)} | {shape_text(row.output)} |"
        )
    return "\n".join(lines) + "\n"


def row_anchor(name: str) -> str:
    """A layer's row anchor: ``layer3.1.conv2`` → ``layer-layer3-1-conv2``."""
    return "layer-" + ("".join(c if c.isalnum() else "-" for c in name.lower()).strip("-") or "model")


def _breakable(name: str) -> str:
    """A dotted layer name that may wrap after each dot on a narrow page (``<wbr>`` is not copied)."""
    return ".<wbr>".join(html_text(part) for part in one_line(name).split("."))


def render_arithmetic_html(trace: Trace, rows: list[ArithmeticRow] | None = None) -> str:
    """The shape arithmetic as an HTML table for the site; each row has an ``id`` (see [`row_anchor()`][archdoc.arithmetic.row_anchor])."""
    rows = arithmetic_rows(trace) if rows is None else rows
    head = "".join(f"<th>{html_text(h)}</th>" for h in _header(trace))
    seen: set[str] = set()
    lines = []
    for row in rows:
        anchor = row_anchor(row.layer)  # a module that pads and then pools has two rows
        if anchor in seen:
            anchor += f"-{sum(1 for a in seen if a == anchor or a.startswith(anchor + '-')) + 1}"
        seen.add(anchor)
        lines.append(
            f'<tr id="{attribute(anchor)}"><td><code>{_breakable(row.layer)}</code></td>'
            f"<td>{html_text(row.operation)}</td><td>{html_text(row.formula)}</td><td>{html_text(shape_text(row.output))}</td></tr>"
        )
    body = "\n".join(lines)
    return (
        f'<div class="archdoc-arithmetic" markdown="0">\n<table>\n<thead><tr>{head}</tr></thead>\n'
        f"<tbody>\n{body}\n</tbody>\n</table>\n</div>\n"
    )

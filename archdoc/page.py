"""Model pages (Markdown through jinja2) and the JSON record, both pure functions of a trace."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from archdoc.arithmetic import (
    arithmetic_rows,
    render_arithmetic,
    render_arithmetic_html,
)
from archdoc.calls import ImportCall
from archdoc.format import scale, scaled, shape_text
from archdoc.jinja import environment
from archdoc.markdown import code_span, paragraph, table_cell
from archdoc.table import render_table, render_table_html
from archdoc.tracing.record import Layer, LayerKind, Trace

__all__ = ["render_page", "render_json", "page_context", "reproduce_command", "torchinfo_mult_adds"]


def torchinfo_mult_adds(trace: Trace) -> int:
    """The total torchinfo 1.8 would print, rebuilt from the trace.

    torchinfo multiplies parameter counts by output sizes per leaf layer: for a
    convolution every parameter (bias included) counts once per output position,
    for any other layer with parameters once per batch item. That counts
    BatchNorm's scale and shift as mult-adds, which archdoc's dispatcher count
    does not. Shown on pages only to explain the difference.
    """
    return sum(_torchinfo_layer(layer) for layer in _torchinfo_counted(trace))


def _torchinfo_counted(trace: Trace) -> list[Layer]:
    """The calls torchinfo counts mult-adds for: leaves with parameters and an output."""
    return [layer for layer in trace.layers if layer.is_leaf and layer.params and layer.output_shape]


def _torchinfo_layer(layer: Layer) -> int:
    out = layer.output_shape
    if layer.kind in (LayerKind.CONV, LayerKind.CONV_TRANSPOSE):
        return layer.params * out[0] * math.prod(out[2:])  # once per output position
    return out[0] * layer.params  # once per batch item


def torchinfo_differences(trace: Trace) -> list[str]:
    """Why torchinfo's total differs from the trace's, as phrases for the page's note.

    Per layer with parameters, torchinfo's figure is above the dispatcher's when it
    counts biases and normalisation scales, below it when a linear layer runs at many
    positions (tokens) per sample; and it never sees products made outside such layers.
    """
    counted = _torchinfo_counted(trace)
    reasons = []
    if any(_torchinfo_layer(layer) > layer.mult_adds for layer in counted):
        reasons.append("also counts bias and normalisation parameters as mult-adds")
    if any(layer.kind == LayerKind.LINEAR and _torchinfo_layer(layer) < layer.mult_adds for layer in counted):
        reasons.append("counts each linear layer once per sample rather than once per token")
    if trace.mult_adds > sum(layer.mult_adds for layer in counted):
        reasons.append("misses products computed outside layers with parameters (such as attention's)")
    return reasons


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks in ``text``, so the text cannot close it."""
    return "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))


def reproduce_command(trace: Trace) -> str:
    """The ``archdoc render`` command line that produces this trace."""
    parts = ["archdoc", "render", trace.model]
    for spec in trace.inputs:
        parts += ["--input", str(spec)]
    if trace.batch != 1:
        parts += ["--batch", str(trace.batch)]
    if trace.device != "meta":
        parts += ["--device", trace.device]
    kwargs = dict(trace.builder_kwargs)
    if trace.card is not None and kwargs.get("in_channels") == trace.inputs[0].shape[0]:
        kwargs.pop("in_channels")
    if "num_classes" in kwargs:
        parts += ["--classes", str(kwargs.pop("num_classes"))]
    for key, value in kwargs.items():
        parts += ["--set", f"{key}={value!r}"]
    return " ".join(_quote(p) for p in parts)


def _quote(text: str) -> str:
    return text if re.fullmatch(r"[A-Za-z0-9_.:=/x,+-]+", text) else "'" + text.replace("'", "'\\''") + "'"


def _python(trace: Trace) -> str:
    kwargs = dict(trace.builder_kwargs)
    if trace.card is not None and kwargs.get("in_channels") == trace.inputs[0].shape[0]:
        kwargs.pop("in_channels")
    if all(spec.name for spec in trace.inputs):
        inputs = "{" + ", ".join(f"{_py(s.name)}: {_py(str(replace(s, name='')))}" for s in trace.inputs) + "}"
    elif len(trace.inputs) == 1:
        inputs = _py(str(trace.inputs[0]))
    else:
        inputs = "[" + ", ".join(_py(str(s)) for s in trace.inputs) + "]"
    args = [_py(trace.model), inputs]
    if trace.batch != 1:
        args.append(f"batch={trace.batch}")
    if trace.device != "meta":
        args.append(f"device={_py(trace.device)}")
    args += [f"{k}={_py(v)}" for k, v in kwargs.items()]
    return "\n".join(
        [
            "import archdoc",
            "",
            f"trace = archdoc.trace({', '.join(args)})",
            "print(archdoc.render_page(trace))",
        ]
    )


def _py(value: Any) -> str:
    """A Python literal, with double-quoted strings as most code is written; an import call as archdoc.import_call()."""
    if isinstance(value, ImportCall):
        return f"archdoc.import_call({json.dumps(repr(value))})"
    return json.dumps(value) if isinstance(value, str) else repr(value)


def _footnote(trace: Trace) -> str:
    card = trace.card
    assert card is not None
    surname = re.sub(r"[^A-Za-z]", "", card.authors[0].split()[-1])
    return f"{surname}-{card.year}"


def _short_citation(trace: Trace) -> str:
    """``He et al., 2016``: surnames as in running text."""
    card = trace.card
    assert card is not None
    names = [author.split()[-1] for author in card.authors]
    who = names[0] if len(names) == 1 else " and ".join(names) if len(names) == 2 else f"{names[0]} et al."
    return f"{who}, {card.year}"


_AXES = {1: ("L",), 2: ("H", "W"), 3: ("T", "H", "W")}


def minimum_text(trace: Trace) -> str:
    """The smallest input that runs, per axis and named, with the largest where a classifier caps it.

    Where the reference implementation documents a minimum (torchvision's ``min_size``),
    says whether the measured one agrees, and if not, which is the hard limit.
    """
    low, high = trace.minimum_input, trace.maximum_input
    if not low:
        return "not determined"
    axes = _AXES.get(len(low), tuple(f"d{i + 1}" for i in range(len(low))))
    text = f"{shape_text(low)} ({' × '.join(axes)})"
    if high and any(h is not None for h in high):
        top = " × ".join("any" if h is None else str(h) for h in high)
        text += f"; only sizes from {shape_text(low)} to {top} run (a fixed-width classifier follows the features)"
    documented = trace.documented_min_size
    if documented is not None:
        side = low[-1]
        if documented == side:
            text += f"; torchvision documents the same ({documented})"
        elif documented > side:
            text += (
                f"; torchvision documents {documented}, a floor for its trained weights rather than a "
                f"hard limit: the network itself runs from {side}"
            )
        else:
            text += f"; torchvision documents {documented}, but the network needs at least {side}"
    return text


def _build_note(trace: Trace) -> str:
    """Says how a builder that reads tensor values was built, or ``""``."""
    if not trace.built_with_values:
        return ""
    return "**Built on the CPU first.** " + paragraph(
        "The builder computes with tensor values, which meta tensors do not have: "
        f"{trace.built_with_values}. archdoc ran it on the CPU, "
        "moving every parameter and buffer to meta as it was created and skipping random "
        "initialisation, so no weights were filled; the trace then ran on meta as usual."
    )


def page_context(
    trace: Trace, depth: int = 2, diagrams: str = "", title: str | None = None, site: bool = False
) -> dict[str, Any]:
    """Everything the page template shows, computed from ``trace``.

    Args:
        trace: The trace.
        depth: Depth of the summary table.
        diagrams: Markdown of the structure section, if diagrams are rendered.
        title: The page title; the model's display name by default.
        site: For the documentation site: tables as HTML with an anchor on every row,
            long ones collapsible; the plain text table kept behind a disclosure.
    """
    kwargs = dict(trace.builder_kwargs)
    cli, python = reproduce_command(trace), _python(trace)
    table = render_table(trace, depth=depth)
    rows = arithmetic_rows(trace)
    params = f"{trace.total_params:,}"
    if trace.trainable_params == trace.total_params:
        params += " (all trainable)"
    else:
        params += f" ({trace.trainable_params:,} trainable)"
    if trace.shared_params:
        params += f"; {trace.shared_params:,} shared, counted once"
    minimum = minimum_text(trace)
    torchinfo = torchinfo_mult_adds(trace)
    note = ""
    if torchinfo != trace.mult_adds and trace.mult_adds:
        unit, ours = scale(trace.mult_adds, smallest="M")  # in torchinfo's units, as it prints them
        theirs = torchinfo * ours / trace.mult_adds
        if f"{theirs:.2f}" != f"{ours:.2f}":
            reasons = torchinfo_differences(trace)
            because = " and ".join(reasons) if len(reasons) < 3 else ", ".join(reasons[:-1]) + ", and " + reasons[-1]
            note = (
                f"Mult-adds are counted by PyTorch's dispatcher (convolutions and matrix products). "
                f"torchinfo 1.8 reports {theirs:,.2f} {unit} for this model" + (f" because it {because}." if because else ".")
            )
    return {
        "title": paragraph(title or trace.display_name),
        "card": trace.card,
        "footnote": _footnote(trace) if trace.card else "",
        "short_citation": _short_citation(trace) if trace.card else "",
        "figures": {
            "params": params,
            "mult_adds": f"{scaled(trace.mult_adds)} ({trace.mult_adds:,}) at batch {trace.batch}",
            "input": "; ".join(
                (f"{code_span(spec.name)} " if spec.name else "")
                + shape_text(spec.shape)
                + ("" if spec.dtype == "float32" else f" ({spec.dtype})")
                for spec in trace.inputs
            )
            + f" (batch {trace.batch})",
            "output": table_cell(trace.output_text()),
            "minimum": table_cell(minimum),
            "built_with": ", ".join(code_span(f"{k}={v!r}").replace("|", "\\|") for k, v in kwargs.items()),
            "torchinfo_note": note,
            "build_note": _build_note(trace),
        },
        "diagrams": diagrams,
        "table": table,
        "fence": _fence(table),
        "site": site,
        "table_html": render_table_html(trace, depth=depth) if site else "",
        "table_rows": sum(1 for layer in trace.layers if layer.depth <= depth),
        "table_depth": depth,
        "arithmetic": render_arithmetic(trace, rows),
        "arithmetic_html": render_arithmetic_html(trace, rows) if site else "",
        "arithmetic_rows": len(rows),
        "deviations": trace.deviations,
        "reproduce": {"cli": cli, "python": python, "fence": _fence(cli + python)},
        "builder_doc": "",
    }


def render_page(
    trace: Trace,
    depth: int = 2,
    diagram_depth: int = 0,
    diagrams: str | None = None,
    template: str = "page.md.j2",
    template_dirs: Sequence[str | Path] = (),
    title: str | None = None,
    extra: Mapping[str, Any] | None = None,
    site: bool = False,
) -> str:
    """The Markdown page of a model.

    Args:
        trace: The trace to document.
        depth: Depth of the summary table.
        diagram_depth: Levels of blocks expanded in the whole-network diagram.
        diagrams: Markdown for the structure section; ``None`` draws it from the trace.
        template: Template name.
        template_dirs: Folders searched before archdoc's own templates.
        title: The page title; the model's display name by default.
        extra: More template variables, e.g. ``builder_doc`` (Markdown shown under "Builder").
        site: The documentation site's form: HTML tables with an anchor on every row.
    """
    if diagrams is None:
        from archdoc.diagram.section import structure_section

        diagrams = structure_section(trace, diagram_depth)
    context = page_context(trace, depth=depth, diagrams=diagrams, title=title, site=site)
    context.update(extra or {})
    text = environment(template_dirs).get_template(template).render(**context)
    return re.sub(r"\n{3,}", "\n\n", text).rstrip("\n") + "\n"


def _json_value(value: Any) -> Any:
    """A builder argument as JSON: literals as they are, anything else (an object made from an import path) as its text."""
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value


def render_json(trace: Trace) -> str:
    """The trace as JSON: totals, shapes and one record per layer call."""
    first = trace.inputs[0]
    record = {
        "model": trace.model,
        "display_name": trace.display_name,
        "input_size": list(first.shape),
        "inputs": [{"shape": list(s.shape), "dtype": s.dtype, **({"name": s.name} if s.name else {})} for s in trace.inputs],
        "batch": trace.batch,
        "builder_kwargs": {k: _json_value(v) for k, v in trace.builder_kwargs},
        "built_with_values": trace.built_with_values,
        "output_shape": list(trace.output_shape),
        "output_shapes": [list(s) for s in trace.output_shapes],
        "output_names": list(trace.output_names),
        "total_params": trace.total_params,
        "trainable_params": trace.trainable_params,
        "shared_params": trace.shared_params,
        "mult_adds": trace.mult_adds,
        "param_bytes": trace.param_bytes,
        "minimum_input": list(trace.minimum_input) if trace.minimum_input else None,
        "maximum_input": list(trace.maximum_input) if trace.maximum_input else None,
        "dataflow_nodes": len(trace.dataflow),
        "layers": [
            {
                "index": layer.index,
                "name": layer.name,
                "type": layer.type,
                "kind": layer.kind,
                "depth": layer.depth,
                "parent": layer.parent,
                "repeat_of": layer.repeat_of,
                "input_shape": list(layer.input_shape),
                "output_shape": list(layer.output_shape),
                "params": layer.params,
                "trainable_params": layer.trainable_params,
                "shared_params": layer.shared_params,
                "mult_adds": layer.mult_adds,
                "attrs": {k: list(v) if isinstance(v, tuple) else v for k, v in layer.attrs},
            }
            for layer in trace.layers
        ],
    }
    return json.dumps(record, indent=2, ensure_ascii=False) + "\n"

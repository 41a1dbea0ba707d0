"""One call per CLI command: trace, then render in the asked format."""

from __future__ import annotations

from typing import Any

from archdoc.errors import ArchdocError
from archdoc.page import render_json, render_page
from archdoc.registry import get_entry, list_models
from archdoc.shapes import format_shape
from archdoc.tracing import Trace, _building_on, trace

__all__ = ["render", "render_trace", "zoo_rows"]


def render_trace(result: Trace, fmt: str = "markdown", depth: int = 0, table_depth: int = 2) -> str:
    """Render an existing trace in one of the CLI's formats.

    Args:
        result: The trace.
        fmt: ``markdown``, ``table``, ``shapes``, ``json`` or ``mermaid``.
        depth: Levels of blocks expanded in diagrams.
        table_depth: Depth of the summary table.
    """
    if fmt == "markdown":
        return render_page(result, depth=table_depth, diagram_depth=depth)
    if fmt == "table":
        from archdoc.table import render_table

        return render_table(result, depth=table_depth)
    if fmt == "shapes":
        from archdoc.arithmetic import render_arithmetic

        return render_arithmetic(result)
    if fmt == "json":
        return render_json(result)
    if fmt == "mermaid":
        from archdoc.mermaid import render_mermaid

        return render_mermaid(result, depth=depth)
    raise ArchdocError(f"unknown format {fmt!r}")


def render(
    model: Any,
    inputs: Any = None,
    *,
    fmt: str = "markdown",
    batch: int = 1,
    device: str = "meta",
    depth: int = 0,
    table_depth: int = 2,
    **kwargs: Any,
) -> str:
    """Trace ``model`` once and render it: what ``archdoc render`` prints.

    ``model``, ``inputs``, ``batch``, ``device`` and ``kwargs`` go to
    :func:`archdoc.trace`; ``fmt``, ``depth`` and ``table_depth`` to :func:`render_trace`.
    """
    result = trace(model, inputs, batch=batch, device=device, **kwargs)
    return render_trace(result, fmt=fmt, depth=depth, table_depth=table_depth)


def zoo_rows(pattern: str | None = None) -> list[tuple[str, str, str, str]]:
    """``(name, family, params, default input)`` for each registered model.

    Parameters are counted on a meta build: no memory, no initialisation.
    """
    rows = []
    for name in list_models(pattern):
        entry = get_entry(name)
        with _building_on("meta"):
            model = entry.build()
        params = sum(p.numel() for p in model.parameters())
        rows.append((name, entry.family, f"{params:,}", format_shape(entry.default_input, "x")))
    return rows

"""One call per CLI command: trace a request, then render it in the asked format."""

from __future__ import annotations

from typing import Any

from archdoc.errors import DEFAULT_TIMEOUT, ArchdocError
from archdoc.format import shape_text
from archdoc.page import render_json, render_page
from archdoc.registry import get_entry, list_models
from archdoc.request import ModelRequest, RenderOptions
from archdoc.shapes import as_input_specs
from archdoc.tracing import Trace
from archdoc.tracing.build import parameter_count

__all__ = ["render", "render_request", "render_trace", "zoo_rows"]


def render_trace(result: Trace, options: RenderOptions = RenderOptions()) -> str:
    """Render an existing trace in one of the CLI's formats (see `archdoc.request.FORMATS`)."""
    fmt = options.fmt
    if fmt == "markdown":
        return render_page(result, depth=options.table_depth, diagram_depth=options.depth)
    if fmt == "table":
        from archdoc.table import render_table

        return render_table(result, depth=options.table_depth)
    if fmt == "shapes":
        from archdoc.arithmetic import render_arithmetic

        return render_arithmetic(result)
    if fmt == "json":
        return render_json(result)
    if fmt == "mermaid":
        from archdoc.diagram import render_mermaid

        return render_mermaid(result, depth=options.depth)
    raise ArchdocError(f"unknown format {fmt!r}")


def render_request(
    request: ModelRequest, options: RenderOptions = RenderOptions(), timeout: float | None = DEFAULT_TIMEOUT
) -> str:
    """Trace ``request`` once and render it: what ``archdoc render`` prints.

    The input-size search runs only for formats that show its result.
    """
    return render_trace(request.trace(input_range=options.needs_input_range, timeout=timeout), options)


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
    """`render_request()` with the request's parts as arguments (``kwargs`` are builder arguments)."""
    specs = as_input_specs(inputs) if inputs is not None else ()
    request = ModelRequest.from_options(model, specs, settings=kwargs.items(), batch=batch, device=device)
    return render_request(request, RenderOptions(fmt, depth, table_depth))


def zoo_rows(pattern: str | None = None) -> list[tuple[str, str, str, str]]:
    """``(name, family, params, default input)`` for each registered model.

    Parameters are counted on a meta build: no memory, no initialisation.
    """
    rows = []
    for name in list_models(pattern):
        entry = get_entry(name)
        rows.append((name, entry.family, f"{parameter_count(name):,}", shape_text(entry.default_input, "x")))
    return rows

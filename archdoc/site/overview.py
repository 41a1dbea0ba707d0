"""The overview page: every configured model in one table, with a chart of parameters against mult-adds."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from archdoc.format import scaled
from archdoc.jinja import environment
from archdoc.markdown import attribute, table_cell
from archdoc.site.chart import ChartPoint, scatter_svg
from archdoc.tracing.record import LayerKind, Trace

__all__ = ["OverviewRow", "overview_row", "render_overview", "weight_depth", "family_title"]


def weight_depth(trace: Trace) -> int:
    """Weight layers (convolutions and linear layers) on the longest path through the network.

    This is the depth the papers put in the names: 18 for ResNet-18, 16 for
    VGG-16, 22 for GoogLeNet. Parallel branches count once (a projection
    shortcut beside two convolutions adds nothing). Without a dataflow graph
    the weight layers are counted in execution order.
    """
    weighted = {LayerKind.CONV, LayerKind.CONV_TRANSPOSE, LayerKind.LINEAR}
    depth: dict[str, int] = {}
    for node in trace.dataflow:  # the recorded dataflow is in the order the nodes ran
        here = max((depth.get(name, 0) for name in node.inputs), default=0)
        depth[node.name] = here + (1 if node.op == "call_module" and node.kind in weighted else 0)
    return max(depth.values(), default=0)


@dataclass(frozen=True)
class OverviewRow:
    """One model on the overview page."""

    title: str
    link: str
    family: str
    year: int | None
    params: int
    mult_adds: int
    depth: int
    input: str
    minimum: str


def overview_row(trace: Trace, title: str, link: str) -> OverviewRow:
    """Summarise one trace for the overview page."""
    return OverviewRow(
        title=title,
        link=link,
        family=_family_title(trace),
        year=trace.card.year if trace.card else None,
        params=trace.total_params,
        mult_adds=trace.mult_adds,
        depth=weight_depth(trace),
        input=" + ".join("×".join(map(str, spec.shape)) for spec in trace.inputs),
        minimum=_size_range(trace),
    )


def _sides(values: Sequence[int | None]) -> str:
    """``(32, 32)`` → ``32`` (a square's side); ``(1, 32, 32)`` → ``1×32×32``."""
    shown = ["any" if v is None else str(v) for v in values]
    return shown[0] if len(set(shown)) == 1 else "×".join(shown)


def _size_range(trace: Trace) -> str:
    """``32 and up``, or ``195 to 226`` when a fixed-width classifier also caps the size (square sides)."""
    if not trace.minimum_input:
        return "–"
    text = _sides(trace.minimum_input)
    if trace.maximum_input:
        return f"{text} to {_sides(trace.maximum_input)}"
    return f"{text} and up"


def _family_title(trace: Trace) -> str:
    """The zoo family's name (``Wide ResNet``); else the display name up to the first dash or space."""
    if trace.family_title:
        return trace.family_title
    return re.split(r"[-\s(]", trace.display_name, maxsplit=1)[0] or trace.display_name


def family_title(trace: Trace) -> str:
    """The navigation group of a model page (its family's name)."""
    return _family_title(trace) if trace.family else "Your models"


def render_overview(
    rows: Sequence[OverviewRow], template_dirs: Sequence[str | Path] = (), urls: Sequence[str] = ()
) -> str:
    """The overview page: a comparison table and a chart of parameters against mult-adds.

    Args:
        rows: One per model, in the order of the site's navigation.
        template_dirs: Folders searched before archdoc's own templates.
        urls: Each row's page as the chart links to it from the overview (the table links by file).
    """
    order = {family: i for i, family in enumerate(dict.fromkeys(r.family for r in rows))}
    ranked = sorted(range(len(rows)), key=lambda i: order[rows[i].family])  # grouped by family, stable
    table = [
        {
            "title": table_cell(rows[i].title),
            "link": rows[i].link,
            "family": table_cell(rows[i].family),
            "year": rows[i].year or "–",
            "params": scaled(rows[i].params),
            "mult_adds": scaled(rows[i].mult_adds),
            "depth": rows[i].depth,
            "input": table_cell(rows[i].input),
            "minimum": table_cell(rows[i].minimum),
        }
        for i in ranked
    ]
    links = list(urls) or [""] * len(rows)
    chart = scatter_svg([ChartPoint(r.title, r.family, r.params, r.mult_adds, link) for r, link in zip(rows, links)])
    families = attribute(json.dumps([rows[i].family for i in ranked], ensure_ascii=False))
    text = environment(template_dirs).get_template("overview.md.j2").render(rows=table, chart=chart, families=families)
    return re.sub(r"\n{3,}", "\n\n", text).rstrip("\n") + "\n"

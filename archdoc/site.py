"""The site's building blocks, free of MkDocs: configured model entries, the overview page and its chart.

The MkDocs plugin (:mod:`archdoc.plugin`) reads ``models:`` entries with
:func:`parse_models`, traces each once, renders each page with
:func:`archdoc.page.render_page` and the comparison page with :func:`render_overview`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from archdoc.errors import ArchdocError
from archdoc.lock import LockEntry
from archdoc.shapes import parse_input
from archdoc.tracing import LayerKind, Trace

__all__ = ["SiteModel", "parse_models", "weight_depth", "OverviewRow", "overview_row", "render_overview", "scatter_svg"]

_KEYS = ("name", "input", "classes", "set", "batch", "device", "title", "slug", "depth", "table_depth")


@dataclass(frozen=True)
class SiteModel:
    """One ``models:`` entry of the plugin configuration, checked.

    Attributes:
        index: Position in the list, for messages.
        name: Zoo name or ``package.module:attribute``.
        inputs: Input sizes as written (``"1x116x116"``), or ``None`` for the model's default.
        kwargs: Builder arguments (``classes`` becomes ``num_classes``).
        batch: Batch size.
        device: Device to trace on.
        title: Page and navigation title; ``None`` for the model's display name.
        slug: File name of the page, without ``.md``.
        depth: Levels of blocks expanded in the whole-network diagram.
        table_depth: Depth of the summary table.
    """

    index: int
    name: str
    inputs: tuple[str, ...] | None = None
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    batch: int = 1
    device: str = "meta"
    title: str | None = None
    slug: str = ""
    depth: int = 0
    table_depth: int = 2

    @property
    def label(self) -> str:
        """How messages name the entry: ``models[2] (resnet18)``."""
        return f"models[{self.index}] ({self.name})"

    @property
    def config(self) -> LockEntry:
        """What is traced, as `archdoc lock` records it; equal labels share one trace."""
        return LockEntry(self.name, self.inputs, dict(self.kwargs), self.batch, self.device)


def slugify(text: str) -> str:
    """A lower-case file name: ``pkg.mod:Net`` → ``pkg-mod-net``; ``vgg11_bn`` and ``1x116x116`` stay."""
    return re.sub(r"[^a-z0-9_]+", "-", text.lower()).strip("-")


def _int(value: Any, what: str, label: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ArchdocError(f"{label}: {what} must be an integer ≥ {minimum}, got {value!r}")
    return value


def _entry(index: int, item: Any) -> SiteModel:
    if isinstance(item, str):
        item = {"name": item}
    if not isinstance(item, Mapping):
        raise ArchdocError(f"models[{index}]: expected a model name or a mapping with 'name', got {item!r}")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ArchdocError(f"models[{index}]: 'name' is required (a zoo name or package.module:attribute)")
    label = f"models[{index}] ({name})"
    unknown = sorted(set(item) - set(_KEYS))
    if unknown:
        raise ArchdocError(f"{label}: unknown key {unknown[0]!r} (expected one of: {', '.join(_KEYS)})")
    raw = item.get("input")
    inputs: tuple[str, ...] | None = None
    if raw is not None:
        if isinstance(raw, (list, tuple)) and raw and all(type(x) is int for x in raw):
            raise ArchdocError(
                f"{label}: write the input size as text, input: {'x'.join(map(str, raw))} "
                "(a list is for several inputs, each like '3x224x224')"
            )
        inputs = tuple(str(x) for x in raw) if isinstance(raw, (list, tuple)) else (str(raw),)
        for text in inputs:
            try:
                parse_input(text)
            except ArchdocError as exc:
                raise ArchdocError(f"{label}: bad input {text!r}: {exc}") from None
    settings = item.get("set") or {}
    if not isinstance(settings, Mapping) or not all(isinstance(k, str) and k.isidentifier() for k in settings):
        raise ArchdocError(f"{label}: 'set' must map builder argument names to values, e.g. {{aux_logits: true}}")
    kwargs = dict(settings)
    if "classes" in item:
        if "num_classes" in kwargs:
            raise ArchdocError(f"{label}: give the number of classes once, as 'classes' or in 'set'")
        kwargs["num_classes"] = _int(item["classes"], "classes", label, 1)
    title = item.get("title")
    if title is not None and not isinstance(title, str):
        raise ArchdocError(f"{label}: 'title' must be text")
    slug = item.get("slug")
    if slug is None:
        parts = [name, *(inputs or ())]
        parts += [f"{v}-classes" if k == "num_classes" else f"{k}-{v}" for k, v in sorted(kwargs.items())]
        if item.get("batch", 1) != 1:
            parts.append(f"batch-{item['batch']}")
        slug = slugify("-".join(str(p) for p in parts))
        if not slug or slug[0] in "-_":
            raise ArchdocError(f"{label}: no file name can be made from it; give a 'slug'")
    elif not isinstance(slug, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", slug):
        raise ArchdocError(f"{label}: 'slug' must be a file name of letters, digits, '.', '_' and '-'")
    device = item.get("device", "meta")
    if not isinstance(device, str):
        raise ArchdocError(f"{label}: 'device' must be text such as 'meta' or 'cpu'")
    return SiteModel(
        index=index,
        name=name.strip(),
        inputs=inputs,
        kwargs=kwargs,
        batch=_int(item.get("batch", 1), "batch", label, 1),
        device=device,
        title=title,
        slug=slug,
        depth=_int(item.get("depth", 0), "depth", label, 0),
        table_depth=_int(item.get("table_depth", 2), "table_depth", label, 0),
    )


def parse_models(items: Sequence[Any]) -> list[SiteModel]:
    """Check the plugin's ``models:`` list and give each entry a unique page.

    Raises:
        ArchdocError: An entry is malformed, naming it (``models[2] (resnet18): ...``),
            or two entries would write the same page.
    """
    entries = [_entry(i, item) for i, item in enumerate(items)]
    seen: dict[str, SiteModel] = {}
    for entry in entries:
        other = seen.get(entry.slug.lower())
        if other is not None:
            raise ArchdocError(
                f"{entry.label}: its page {entry.slug}.md is already made by {other.label}; "
                "give one of them a different configuration or a 'slug'"
            )
        seen[entry.slug.lower()] = entry
    return entries


def weight_depth(trace: Trace) -> int:
    """Weight layers (convolutions and linear layers) on the longest path through the network.

    This is the depth the papers put in the names: 18 for ResNet-18, 16 for
    VGG-16, 22 for GoogLeNet. Parallel branches count once (a projection
    shortcut beside two convolutions adds nothing). Without a dataflow graph
    the weight layers are counted in execution order.
    """
    weighted = {LayerKind.CONV, LayerKind.CONV_TRANSPOSE, LayerKind.LINEAR}
    if trace.dataflow is None:
        return sum(1 for layer in trace.layers if layer.is_leaf and layer.kind in weighted and layer.repeat_of is None)
    depth: dict[str, int] = {}
    for node in trace.dataflow:  # fx nodes are in topological order
        here = max((depth.get(name, 0) for name in node.inputs), default=0)
        depth[node.name] = here + (1 if node.op == "call_module" and node.kind in weighted else 0)
    return max(depth.values(), default=0)


# --------------------------------------------------------------------------- overview


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


def _size_range(trace: Trace) -> str:
    """``32×32 and up``, or ``195×195 to 226×226`` when a fixed-width classifier also caps the size."""
    if not trace.minimum_input:
        return "–"
    text = "×".join(map(str, trace.minimum_input))
    if trace.maximum_input:
        return text + " to " + "×".join(map(str, trace.maximum_input))
    return text + " and up"


def _family_title(trace: Trace) -> str:
    """``ResNet`` for ResNet-18, ``VGG`` for VGG-11-BN: the display name up to the first dash or space."""
    return re.split(r"[-\s(]", trace.display_name, maxsplit=1)[0] or trace.display_name


def family_title(trace: Trace) -> str:
    """The navigation group of a model page (its family's name)."""
    return _family_title(trace) if trace.family else "Your models"


def _scaled(count: int) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if count >= scale:
            return f"{count / scale:,.2f} {unit}"
    return f"{count:,}"


def render_overview(rows: Sequence[OverviewRow], template_dirs: Sequence[str | Path] = ()) -> str:
    """The overview page: a comparison table and a chart of parameters against mult-adds."""
    from archdoc.page import _environment

    table = [
        {
            "title": row.title,
            "link": row.link,
            "year": row.year or "–",
            "params": f"{row.params:,}",
            "params_short": _scaled(row.params),
            "mult_adds": _scaled(row.mult_adds),
            "depth": row.depth,
            "input": row.input,
            "minimum": row.minimum,
        }
        for row in rows
    ]
    text = _environment(template_dirs).get_template("overview.md.j2").render(rows=table, chart=scatter_svg(rows))
    return re.sub(r"\n{3,}", "\n\n", text).rstrip("\n") + "\n"


# --------------------------------------------------------------------------- chart

_PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")
_W, _H = 760, 520
_LEFT, _RIGHT, _TOP, _BOTTOM = 78, 24, 20, 58
_CHAR = 6.6  # average glyph width at 12 px, for label placement


def _log_range(values: Sequence[float], pad_high: float) -> tuple[float, float]:
    """The data's range in log10, padded: a quarter decade below, ``pad_high`` above (room for labels)."""
    low, high = math.log10(min(values)), math.log10(max(values))
    return low - 0.25, max(high + pad_high, low + 1.0)


def _tick(exponent: int) -> str:
    value = 10**exponent
    for unit, scale in (("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if value >= scale:
            return f"{value // scale:g}\u202f{unit}"
    return str(value)


def _candidates() -> list[tuple[float, float, str]]:
    """Label offsets from a point, nearest first: beside it, then further up or down (with a leader line)."""
    near = [(8, 4, "start"), (-8, 4, "end"), (8, -9, "start"), (8, 17, "start"), (-8, -9, "end"), (-8, 17, "end")]
    far = []
    for step in range(1, 9):
        for dy in (4 - 14 * step - 8, 4 + 14 * step + 8):
            far += [(14, dy, "start"), (-14, dy, "end")]
    return near + far


def _merge_close(points: Sequence[OverviewRow], px: Any, py: Any) -> list[list[OverviewRow]]:
    """Points drawn within 4 px of each other share one label (VGG-11 and VGG-11-BN, say)."""
    groups: list[list[OverviewRow]] = []
    for row in sorted(points, key=lambda r: (r.mult_adds, r.params, r.title)):
        for group in groups:
            if math.dist((px(group[0].mult_adds), py(group[0].params)), (px(row.mult_adds), py(row.params))) < 4:
                group.append(row)
                break
        else:
            groups.append([row])
    return groups


def scatter_svg(rows: Sequence[OverviewRow]) -> str:
    """An inline SVG scatter plot, log–log, of parameters (y) against mult-adds (x).

    Colours are one per family; text and axes use ``currentColor`` so the chart
    follows the page's light or dark palette. Points closer than 4 px share a
    label; labels go where they overlap no other label, point or the legend,
    further away with a leader line when the neighbourhood is crowded. The
    output is deterministic.
    """
    points = [r for r in rows if r.params > 0 and r.mult_adds > 0]
    if not points:
        return ""
    x0, x1 = _log_range([r.mult_adds for r in points], 0.6)
    y0, y1 = _log_range([r.params for r in points], 0.8)
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM

    def px(v: float) -> float:
        return _LEFT + (math.log10(v) - x0) / (x1 - x0) * plot_w

    def py(v: float) -> float:
        return _TOP + plot_h - (math.log10(v) - y0) / (y1 - y0) * plot_h

    families = list(dict.fromkeys(r.family for r in points))
    colour = {f: _PALETTE[i % len(_PALETTE)] for i, f in enumerate(families)}
    out = [
        f'<svg class="archdoc-chart" viewBox="0 0 {_W} {_H}" role="img" '
        'aria-labelledby="archdoc-chart-title" xmlns="http://www.w3.org/2000/svg" '
        'font-family="inherit" font-size="12" fill="currentColor">',
        '<title id="archdoc-chart-title">Parameters against mult-adds, both on log scales</title>',
    ]
    for e in range(math.ceil(x0), math.floor(x1) + 1):
        x = px(10**e)
        out.append(f'<line x1="{x:.1f}" y1="{_TOP}" x2="{x:.1f}" y2="{_TOP + plot_h}" stroke="currentColor" stroke-opacity="0.15"/>')
        out.append(f'<text x="{x:.1f}" y="{_TOP + plot_h + 18}" text-anchor="middle">{_tick(e)}</text>')
    for e in range(math.ceil(y0), math.floor(y1) + 1):
        y = py(10**e)
        out.append(f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{_LEFT + plot_w}" y2="{y:.1f}" stroke="currentColor" stroke-opacity="0.15"/>')
        out.append(f'<text x="{_LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{_tick(e)}</text>')
    out.append(
        f'<rect x="{_LEFT}" y="{_TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="currentColor" stroke-opacity="0.5"/>'
    )
    out.append(f'<text x="{_LEFT + plot_w / 2:.1f}" y="{_H - 14}" text-anchor="middle">Mult-adds per image (log scale)</text>')
    out.append(
        f'<text transform="translate(18 {_TOP + plot_h / 2:.1f}) rotate(-90)" text-anchor="middle">Parameters (log scale)</text>'
    )
    boxes: list[tuple[float, float, float, float]] = [(px(r.mult_adds) - 5, py(r.params) - 5, 10, 10) for r in points]
    # The legend sits in the bottom-right corner (many mult-adds, few parameters), usually empty.
    legend_w = max(len(f) for f in families) * _CHAR + 24
    legend_x = _LEFT + plot_w - legend_w
    legend_y = _TOP + plot_h - 8 - 18 * len(families)
    boxes.append((legend_x - 4, legend_y, legend_w + 4, 18 * len(families) + 8))
    for row in sorted(points, key=lambda r: (r.mult_adds, r.params, r.title)):
        x, y = px(row.mult_adds), py(row.params)
        out.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{colour[row.family]}" stroke="currentColor" stroke-opacity="0.6">'
            f"<title>{escape(row.title)}: {row.params:,} parameters, {row.mult_adds:,} mult-adds</title></circle>"
        )
    for group in _merge_close(points, px, py):
        x, y = px(group[0].mult_adds), py(group[0].params)
        text = ", ".join(r.title for r in group)
        width = len(text) * _CHAR
        placed = None
        for dx, dy, anchor in _candidates():
            left = x + dx if anchor == "start" else x + dx - width
            box = (left, y + dy - 10, width, 13)
            inside = _LEFT <= left and left + width <= _LEFT + plot_w and _TOP <= box[1] and box[1] + 13 <= _TOP + plot_h
            if inside and not any(_overlap(box, other) for other in boxes):
                placed = (x + dx, y + dy, anchor, box)
                break
        if placed is None:  # nowhere free: keep it beside the point and accept the overlap
            placed = (x + 8, y + 4, "start", (x + 8, y - 6, width, 13))
        tx, ty, anchor, box = placed
        boxes.append(box)
        if abs(ty - 4 - y) > 14:  # a leader line from the point to the label
            edge = tx - 2 if anchor == "start" else tx + 2
            out.append(
                f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{edge:.1f}" y2="{ty - 4:.1f}" stroke="currentColor" stroke-opacity="0.45"/>'
            )
        out.append(f'<text x="{tx:.1f}" y="{ty:.1f}" text-anchor="{anchor}">{escape(text)}</text>')
    for i, family in enumerate(families):
        y = legend_y + 16 + i * 18
        out.append(f'<circle cx="{legend_x:.1f}" cy="{y - 4}" r="5" fill="{colour[family]}"/>')
        out.append(f'<text x="{legend_x + 10:.1f}" y="{y}">{escape(family)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]

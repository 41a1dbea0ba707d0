"""The overview's chart: an inline SVG scatter plot of parameters against mult-adds, log–log.

Every point links to its model's page and names it in a tooltip. A label is
written next to a point only where it overlaps no other label, point or axis;
a crowded point keeps its tooltip and link instead, so no label is ever
ambiguous. Families have a colour each, listed in a legend under the plot.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from archdoc.format import scaled

__all__ = ["ChartPoint", "scatter_svg"]


@dataclass(frozen=True)
class ChartPoint:
    """One model in the chart: its title, family, counts and the page it links to."""

    title: str
    family: str
    params: int
    mult_adds: int
    link: str = ""


# Twenty colours that stay apart on white and on slate.
_PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
    "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#e15759", "#76b7b2", "#edc948", "#ff9da7", "#9c755f", "#393b79",
)
_W = 760
_LEFT, _RIGHT, _TOP, _PLOT_H = 78, 24, 20, 440
_CHAR = 6.6  # average glyph width at 12 px, for label placement
_LEGEND_COLUMNS = 4


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
    for step in range(1, 5):
        for dy in (4 - 14 * step - 8, 4 + 14 * step + 8):
            far += [(14, dy, "start"), (-14, dy, "end")]
    return near + far


def _merge_close(points: Sequence[ChartPoint], px: Any, py: Any) -> list[list[ChartPoint]]:
    """Points drawn within 4 px of each other share one label (VGG-11 and VGG-11-BN, say)."""
    groups: list[list[ChartPoint]] = []
    for row in sorted(points, key=lambda r: (r.mult_adds, r.params, r.title)):
        for group in groups:
            if math.dist((px(group[0].mult_adds), py(group[0].params)), (px(row.mult_adds), py(row.params))) < 4:
                group.append(row)
                break
        else:
            groups.append([row])
    return groups


def _nearest(box: tuple[float, float, float, float], own: tuple[float, float], centres: Sequence[tuple[float, float]]) -> bool:
    """Whether a label's box is nearer its own point than any other point, so it reads as that point's."""

    def gap(point: tuple[float, float]) -> float:
        dx = max(box[0] - point[0], 0.0, point[0] - (box[0] + box[2]))
        dy = max(box[1] - point[1], 0.0, point[1] - (box[1] + box[3]))
        return math.hypot(dx, dy)

    mine = gap(own)
    return all(gap(c) > mine + 2 for c in centres if math.dist(c, own) >= 4)


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def scatter_svg(rows: Sequence[ChartPoint]) -> str:
    """An inline SVG scatter plot, log–log, of parameters (y) against mult-adds (x).

    Text and axes use ``currentColor`` so the chart follows the page's light or
    dark palette. The output is deterministic.
    """
    points = [r for r in rows if r.params > 0 and r.mult_adds > 0]
    if not points:
        return ""
    x0, x1 = _log_range([r.mult_adds for r in points], 0.6)
    y0, y1 = _log_range([r.params for r in points], 0.8)
    plot_w = _W - _LEFT - _RIGHT
    families = list(dict.fromkeys(r.family for r in points))
    legend_rows = math.ceil(len(families) / _LEGEND_COLUMNS)
    height = _TOP + _PLOT_H + 58 + 18 * legend_rows + 8

    def px(v: float) -> float:
        return _LEFT + (math.log10(v) - x0) / (x1 - x0) * plot_w

    def py(v: float) -> float:
        return _TOP + _PLOT_H - (math.log10(v) - y0) / (y1 - y0) * _PLOT_H

    colour = {f: _PALETTE[i % len(_PALETTE)] for i, f in enumerate(families)}
    out = [
        f'<svg class="archdoc-chart" viewBox="0 0 {_W} {height}" role="img" '
        'aria-labelledby="archdoc-chart-title" xmlns="http://www.w3.org/2000/svg" '
        'font-family="inherit" font-size="12" fill="currentColor">',
        '<title id="archdoc-chart-title">Parameters against mult-adds, both on log scales</title>',
    ]
    for e in range(math.ceil(x0), math.floor(x1) + 1):
        x = px(10**e)
        out.append(f'<line x1="{x:.1f}" y1="{_TOP}" x2="{x:.1f}" y2="{_TOP + _PLOT_H}" stroke="currentColor" stroke-opacity="0.15"/>')
        out.append(f'<text x="{x:.1f}" y="{_TOP + _PLOT_H + 18}" text-anchor="middle">{_tick(e)}</text>')
    for e in range(math.ceil(y0), math.floor(y1) + 1):
        y = py(10**e)
        out.append(f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{_LEFT + plot_w}" y2="{y:.1f}" stroke="currentColor" stroke-opacity="0.15"/>')
        out.append(f'<text x="{_LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{_tick(e)}</text>')
    out.append(
        f'<rect x="{_LEFT}" y="{_TOP}" width="{plot_w}" height="{_PLOT_H}" fill="none" stroke="currentColor" stroke-opacity="0.5"/>'
    )
    out.append(f'<text x="{_LEFT + plot_w / 2:.1f}" y="{_TOP + _PLOT_H + 40}" text-anchor="middle">Mult-adds per image (log scale)</text>')
    out.append(
        f'<text transform="translate(18 {_TOP + _PLOT_H / 2:.1f}) rotate(-90)" text-anchor="middle">Parameters (log scale)</text>'
    )
    boxes: list[tuple[float, float, float, float]] = [(px(r.mult_adds) - 5, py(r.params) - 5, 10, 10) for r in points]
    centres = [(px(r.mult_adds), py(r.params)) for r in points]
    for row in sorted(points, key=lambda r: (r.mult_adds, r.params, r.title)):
        x, y = px(row.mult_adds), py(row.params)
        tip = f"{row.title}: {scaled(row.params)} parameters ({row.params:,}), {scaled(row.mult_adds)} mult-adds ({row.mult_adds:,})"
        circle = (
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{colour[row.family]}" stroke="currentColor" stroke-opacity="0.6">'
            f"<title>{escape(tip)}</title></circle>"
        )
        out.append(f'<a href={quoteattr(row.link)} class="archdoc-point">{circle}</a>' if row.link else circle)
    for group in _merge_close(points, px, py):
        x, y = px(group[0].mult_adds), py(group[0].params)
        text = ", ".join(r.title for r in group)
        width = len(text) * _CHAR
        for dx, dy, anchor in _candidates():
            left = x + dx if anchor == "start" else x + dx - width
            box = (left, y + dy - 10, width, 13)
            inside = _LEFT <= left and left + width <= _LEFT + plot_w and _TOP <= box[1] and box[1] + 13 <= _TOP + _PLOT_H
            if inside and not any(_overlap(box, other) for other in boxes) and _nearest(box, (x, y), centres):
                break
        else:
            continue  # nowhere free: the point keeps its tooltip and link, and no label can mislead
        boxes.append(box)
        tx, ty = x + dx, y + dy
        if abs(ty - 4 - y) > 14:  # a leader line from the point to the label
            edge = tx - 2 if anchor == "start" else tx + 2
            out.append(
                f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{edge:.1f}" y2="{ty - 4:.1f}" stroke="currentColor" stroke-opacity="0.45"/>'
            )
        out.append(f'<text x="{tx:.1f}" y="{ty:.1f}" text-anchor="{anchor}">{escape(text)}</text>')
    column_w = plot_w / _LEGEND_COLUMNS
    for i, family in enumerate(families):
        lx = _LEFT + (i % _LEGEND_COLUMNS) * column_w + 6
        ly = _TOP + _PLOT_H + 66 + (i // _LEGEND_COLUMNS) * 18
        out.append(f'<circle cx="{lx:.1f}" cy="{ly - 4}" r="5" fill="{colour[family]}"/>')
        out.append(f'<text x="{lx + 10:.1f}" y="{ly}">{escape(family)}</text>')
    out.append("</svg>")
    return "\n".join(out)

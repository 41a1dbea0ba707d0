"""The overview's chart: an inline SVG scatter plot of parameters against mult-adds, log–log."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

__all__ = ["ChartPoint", "scatter_svg"]


@dataclass(frozen=True)
class ChartPoint:
    """One model in the chart."""

    title: str
    family: str
    params: int
    mult_adds: int

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


def scatter_svg(rows: Sequence[ChartPoint]) -> str:
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

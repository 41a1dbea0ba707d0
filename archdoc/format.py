"""How archdoc writes shapes and large counts, the same on every page, table, diagram and chart."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["shape_text", "scale", "scaled"]

# Unit letters from the largest down; ``smallest`` in `scale()` cuts the list.
_UNITS = (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3))


def shape_text(shape: Sequence[int], sep: str = " × ") -> str:
    """``(64, 58, 58)`` → ``"64 × 58 × 58"``; ``sep="x"`` gives the command line's ``64x58x58``."""
    return sep.join(str(d) for d in shape)


def scale(count: float, smallest: str = "k") -> tuple[str, float]:
    """The unit letter and scaled value for ``count``: the largest unit it reaches.

    Units run T, G, M, k; ``smallest`` is the last one tried, used even when
    ``count`` is below it (torchinfo's tables stop at ``"M"``: 416,520 → ``("M", 0.41652)``).
    A count below ``"k"`` with ``smallest="k"`` keeps no unit: ``("", count)``.
    """
    units = _UNITS[: [u for u, _ in _UNITS].index(smallest) + 1]
    for unit, size in units:
        if count >= size:
            return unit, count / size
    if smallest == "k":
        return "", float(count)
    unit, size = units[-1]
    return unit, count / size


def scaled(count: float, smallest: str = "k") -> str:
    """``520961280`` → ``"520.96 M"``; ``61706`` → ``"61.71 k"``; ``950`` → ``"950"``."""
    unit, value = scale(count, smallest)
    if not unit:
        return f"{int(value):,}" if float(value).is_integer() else f"{value:,.2f}"
    return f"{value:,.2f} {unit}"

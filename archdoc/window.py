"""The output-size arithmetic of sliding windows (convolutions and pooling), without torch.

One place for PyTorch's rules, used three ways: the shape-arithmetic section
writes the formula with numbers, the tracer's meta shortcut gets a
convolution's output size from it, and error messages show the sum that came
out below one.

For input size n, kernel k, stride s, padding p on each side and dilation d::

    ⌊(n + 2p − d·(k − 1) − 1) / s⌋ + 1

With ``ceil_mode`` the floor becomes a ceiling, and PyTorch drops a last window
that would start inside the right padding. A transposed convolution inverts it:
``(n − 1)·s − 2p + d·(k − 1) + output_padding + 1``.
"""

from __future__ import annotations

import math

__all__ = ["signed", "window_size", "window_formula", "transposed_size", "transposed_formula"]


def window_size(n: int, k: int, s: int, p: int = 0, d: int = 1, ceil: bool = False) -> int:
    """The output size of one dimension; below 1 when the input is too small."""
    numerator = n + 2 * p - d * (k - 1) - 1
    if not ceil:
        return math.floor(numerator / s) + 1
    out = -(-numerator // s) + 1
    if (out - 1) * s >= n + p:  # the last window would start in the right padding
        out -= 1
    return out


def signed(value: int) -> str:
    """`` + 3`` or `` − 3``: a term added to a sum."""
    return f" + {value}" if value >= 0 else f" − {-value}"


def window_formula(
    n: int, k: int, s: int, p: int = 0, d: int = 1, ceil: bool = False, explicit: tuple[int, int] = (0, 0)
) -> tuple[str, int]:
    """The arithmetic with the numbers filled in, and its result.

    ``window_formula(116, 7, 2, 3)`` → ``("⌊(116 + 2·3 − 7) / 2⌋ + 1 = 58", 58)``.
    ``explicit`` is padding added before the layer (``F.pad``, or a "same" convolution's
    own), before and after, possibly unequal: ``window_formula(300, 3, 2, explicit=(0, 1))``
    → ``"⌊(300 + 0 + 1 − 3) / 2⌋ + 1 = 150"``.
    """
    before, after = explicit
    reach = f"{d}·({k} − 1) − 1" if d != 1 else f"{k}"
    pad = (f"{signed(before)}{signed(after)}" if before or after else "") + (f" + 2·{p}" if p else "")
    size = n + before + after
    out = window_size(size, k, s, p, d, ceil)
    if not ceil:
        return f"⌊({n}{pad} − {reach}) / {s}⌋ + 1 = {out}", out
    dropped = out != -(-(size + 2 * p - d * (k - 1) - 1) // s) + 1
    note = " (last window starts in the padding, dropped)" if dropped else ""
    return f"⌈({n}{pad} − {reach}) / {s}⌉ + 1{' − 1' if dropped else ''} = {out}{note}", out


def transposed_size(n: int, k: int, s: int, p: int = 0, d: int = 1, output_padding: int = 0) -> int:
    """The output size of one dimension of a transposed convolution."""
    return (n - 1) * s - 2 * p + d * (k - 1) + output_padding + 1


def transposed_formula(n: int, k: int, s: int, p: int = 0, d: int = 1, output_padding: int = 0) -> tuple[str, int]:
    """The transposed convolution's arithmetic with numbers, and its result."""
    out = transposed_size(n, k, s, p, d, output_padding)
    span = f"{d}·({k} − 1)" if d != 1 else f"({k} − 1)"
    extra = f" + {output_padding}" if output_padding else ""
    return f"({n} − 1)·{s} − 2·{p} + {span}{extra} + 1 = {out}", out

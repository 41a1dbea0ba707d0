"""The memory layout (strides) of an elementwise op's output on meta tensors.

A shape shortcut must also give the layout PyTorch would: a later ``view``
succeeds or fails by it. These rules follow PyTorch's elementwise references
and iterators (``compute_elementwise_output_logical_to_physical_perm``) for plain
integer sizes, without their symbolic-shape machinery, whose import costs about a
second. `archdoc.tracing.metaops` uses them; the tests compare every case with
PyTorch's own kernels.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["elementwise_strides", "suggests_channels_last"]


def elementwise_strides(shape: Sequence[int], operands: Sequence[torch.Tensor]) -> tuple[int, ...]:
    """The output strides of an elementwise op over ``operands``, broadcast to ``shape``."""
    ndim = len(shape)
    if ndim == 0:
        return ()
    if ndim == 1:
        return (1,)
    if all(tuple(t.shape) == tuple(shape) and t.is_contiguous() for t in operands):  # the common case, decided in C++
        return _contiguous(shape)
    strides = [_expanded(shape, t) for t in operands]
    contiguous = all(_is_contiguous(shape, s) for s in strides)
    channels_last = ndim in (4, 5) and all(_is_contiguous(shape, s, _channels_last_order(ndim)) for s in strides)
    if contiguous and not channels_last:
        return _contiguous(shape)
    if channels_last and not contiguous:
        return _channels_last(shape)
    perm = _physical_order(shape, strides)  # innermost first
    out = [0] * ndim
    step = 1
    for d in perm:
        out[d] = step
        step *= max(shape[d], 1)
    return tuple(out)


def _expanded(shape: Sequence[int], t: torch.Tensor) -> tuple[int, ...]:
    """``t``'s strides once broadcast to ``shape``, as ``expand`` gives them (the references compare these)."""
    return tuple(t.stride()) if tuple(t.shape) == tuple(shape) else tuple(t.expand(shape).stride())


def _physical_order(shape: Sequence[int], strides: Sequence[Sequence[int]]) -> list[int]:
    """Dimensions from innermost to outermost, decided by the first operand whose strides tell them apart."""

    def ge(a: int, b: int) -> bool:
        return b == 0 or (a != 0 and (a >= b or a % b == 0))

    def should_swap(a: int, b: int) -> int:
        for s in strides:
            if s[a] == 0 or s[b] == 0:
                continue
            if s[a] == s[b]:
                if ge(shape[b], shape[a]):
                    continue
                return 1
            if ge(s[b], s[a]):
                return -1
            if ge(s[a], s[b]):
                return 1
        return 0

    perm = list(reversed(range(len(shape))))
    for i in range(1, len(shape)):
        dim1 = i
        for dim0 in reversed(range(i)):
            comparison = should_swap(perm[dim0], perm[dim1])
            if comparison > 0:
                perm[dim0], perm[dim1] = perm[dim1], perm[dim0]
                dim1 = dim0
            elif comparison < 0:
                break
    return perm


def _channels_last_order(ndim: int) -> list[int]:
    """Channels-last dimensions from innermost to outermost: C, then W, H (and D), then N."""
    return [1, *range(ndim - 1, 1, -1), 0]


def _is_contiguous(shape: Sequence[int], strides: Sequence[int], order: Sequence[int] | None = None) -> bool:
    """Contiguous in ``order`` (innermost first; row-major by default), size-1 dimensions ignored."""
    expected = 1
    for d in order if order is not None else reversed(range(len(shape))):
        if shape[d] == 1:
            continue
        if strides[d] != expected:
            return False
        expected *= shape[d]
    return True


def suggests_channels_last(t: torch.Tensor) -> bool:
    """PyTorch's ``suggest_memory_format`` test: a 4-D or 5-D tensor whose strides run like N, H, W, C."""
    shape, strides = tuple(t.shape), t.stride()
    if len(shape) not in (4, 5) or strides[1] == 0:
        return False
    low = 0
    for d in _channels_last_order(len(shape)):
        if shape[d] == 0 or strides[d] < low or (d == 0 and low == strides[1]):
            return False
        low = strides[d] * shape[d]
    return True


def _contiguous(shape: Sequence[int]) -> tuple[int, ...]:
    out, step = [], 1
    for size in reversed(shape):
        out.append(step)
        step *= max(size, 1)
    return tuple(reversed(out))


def _channels_last(shape: Sequence[int]) -> tuple[int, ...]:
    out, step = [0] * len(shape), 1
    for d in _channels_last_order(len(shape)):
        out[d] = step
        step *= max(shape[d], 1)
    return tuple(out)

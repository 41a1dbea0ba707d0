"""Shapes of common ops on meta tensors without PyTorch's Python meta kernels.

On the meta device PyTorch computes convolutions, batch norm, ``addmm``, ``mean``,
``cat`` and the elementwise ops in Python: a few milliseconds per batch norm, the
first convolution imports sympy (half a second), and the first elementwise op
imports ``torch._dynamo`` (over a second). Their output shapes need no kernel.
:func:`meta_shortcut` gives them directly (a convolution's size from
:mod:`archdoc.window`, the same arithmetic the pages print) and returns ``None``
whenever it is unsure, so the real kernel runs and raises its own error. Each
shortcut is checked against PyTorch's meta kernel in the tests.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from archdoc.window import transposed_size, window_size

__all__ = ["meta_shortcut", "FastMeta"]

_aten = torch.ops.aten
# Elementwise ops whose output has the input's shape and dtype.
_UNARY = frozenset(
    {
        _aten.relu.default, _aten.relu_.default, _aten.tanh.default, _aten.tanh_.default,
        _aten.sigmoid.default, _aten.sigmoid_.default, _aten.hardtanh.default, _aten.hardtanh_.default,
        _aten.gelu.default, _aten.silu.default, _aten.silu_.default,
    }
)
_BINARY = frozenset(
    {
        _aten.add.Tensor, _aten.add_.Tensor, _aten.mul.Tensor, _aten.mul_.Tensor,
        _aten.div.Tensor, _aten.div_.Tensor, _aten.pow.Tensor_Scalar,
    }
)


def meta_shortcut(func: Any, args: tuple[Any, ...]) -> Any:
    """The result of a common op on meta tensors without running its kernel, or ``None``.

    On meta, PyTorch computes batch norm, ``addmm`` and the elementwise ops through Python
    decompositions: a few milliseconds per batch norm (most of the time spent
    tracing ResNet-152), and the first elementwise op imports torch._dynamo
    (over a second). Their outputs' shapes need no kernel. Only the plain case is
    taken: contiguous float32 or float64 meta tensors, valid dimensions, no type
    promotion. Anything else returns ``None``, so the real kernel runs and gives
    its own result or error.
    """
    if func is _aten.convolution.default and len(args) == 9:
        return _meta_convolution(*args)
    if func is _aten.cat.default and args and isinstance(args[0], (list, tuple)) and len(args) <= 2:
        return _meta_cat(list(args[0]), args[1] if len(args) == 2 else 0)
    x = args[0] if args else None
    if not _plain(x):
        return None
    in_place = func._overloadpacket.__name__.endswith("_")
    if func in _UNARY:
        if any(isinstance(a, torch.Tensor) for a in args[1:]):
            return None
        return x if in_place else _empty(x.shape, x.dtype)
    if func in _BINARY:
        if len(args) != 2:
            return None
        other = args[1]
        if type(other) in (int, float):  # a float tensor with a Python number keeps its dtype
            return x if in_place else _empty(x.shape, x.dtype)
        if not _plain(other) or other.dtype != x.dtype:
            return None
        try:
            shape = torch.broadcast_shapes(x.shape, other.shape)
        except RuntimeError:
            return None
        if in_place:
            return x if shape == x.shape else None
        return _empty(shape, x.dtype)
    if func is _aten.mean.dim and 2 <= len(args) <= 3 and x.dim() > 0 and args[1]:  # global average pooling
        dims = _dims(args[1], x.dim())
        if dims is None:
            return None
        keep = len(args) == 3 and bool(args[2])
        shape = [1 if i in dims else n for i, n in enumerate(x.shape) if keep or i not in dims]
        return _empty(shape, x.dtype)
    if func is _aten.addmm.default and len(args) == 3:  # Linear: bias + input @ weight.T
        mat1, mat2 = args[1], args[2]
        # The weight arrives transposed (not contiguous); the product is a new contiguous tensor.
        if not (_plain(mat1, strided=True) and _plain(mat2, strided=True) and mat1.dim() == mat2.dim() == 2):
            return None
        if mat1.shape[1] != mat2.shape[0] or not (x.dtype == mat1.dtype == mat2.dtype):
            return None
        shape = (mat1.shape[0], mat2.shape[1])
        try:
            if torch.broadcast_shapes(x.shape, shape) != shape:
                return None
        except RuntimeError:
            return None
        return _empty(shape, x.dtype)
    if func is _aten.native_batch_norm.default:
        weight, bias, mean, var = args[1:5]
        if x.dim() < 2:
            return None
        channels = x.shape[1]
        for t in (weight, bias, mean, var):
            if t is not None and (not _plain(t) or t.dtype != x.dtype or t.dim() != 1 or t.shape[0] != channels):
                return None
        return _empty(x.shape, x.dtype), _empty((channels,), x.dtype), _empty((channels,), x.dtype)
    return None


def _empty(shape: Any, dtype: torch.dtype) -> torch.Tensor:
    # torch.empty is a C++ kernel on meta; empty_like goes through a Python reference (30× slower).
    return torch.empty(shape, dtype=dtype, device="meta")


def _ints(values: Any, dims: int) -> tuple[int, ...] | None:
    """One non-negative int per spatial dim (a single value repeated), or ``None``."""
    if not isinstance(values, (list, tuple)) or not all(type(v) is int and v >= 0 for v in values):
        return None
    if len(values) == 1:
        return tuple(values) * dims
    return tuple(values) if len(values) == dims else None


def _meta_convolution(
    x: Any, weight: Any, bias: Any, stride: Any, padding: Any, dilation: Any, transposed: Any, output_padding: Any, groups: Any
) -> torch.Tensor | None:
    """``aten.convolution`` of plain batched meta tensors whose sizes all come out positive; else ``None``."""
    if not (_plain(x) and _plain(weight) and x.dtype == weight.dtype) or type(groups) is not int or groups < 1:
        return None
    if x.dim() < 3 or x.dim() != weight.dim() or type(transposed) is not bool:
        return None
    if bias is not None and not (_plain(bias) and bias.dtype == x.dtype and bias.dim() == 1):
        return None
    dims = x.dim() - 2
    s, p, d = _ints(stride, dims), _ints(padding, dims), _ints(dilation, dims)
    if s is None or p is None or d is None or 0 in s or 0 in d:
        return None
    kernel = tuple(weight.shape[2:])
    if transposed:
        extra = _ints(output_padding, dims)
        if extra is None or weight.shape[0] != x.shape[1] or weight.shape[0] % groups:
            return None
        if any(o >= max(si, di) for o, si, di in zip(extra, s, d)):
            return None
        channels = weight.shape[1] * groups
        sizes = [transposed_size(n, k, si, pi, di, o) for n, k, si, pi, di, o in zip(x.shape[2:], kernel, s, p, d, extra)]
    else:
        if x.shape[1] != weight.shape[1] * groups or weight.shape[0] % groups:
            return None
        channels = weight.shape[0]
        sizes = [window_size(n, k, si, pi, di) for n, k, si, pi, di in zip(x.shape[2:], kernel, s, p, d)]
    if bias is not None and bias.shape[0] != channels:
        return None
    if min(sizes) < 1 or 0 in x.shape or 0 in weight.shape:
        return None
    return _empty((x.shape[0], channels, *sizes), x.dtype)


def _plain(t: Any, strided: bool = False) -> bool:
    """A float32 or float64 meta tensor, contiguous unless ``strided``: the case the shortcuts are sure of."""
    return (
        isinstance(t, torch.Tensor)
        and t.is_meta
        and t.dtype in (torch.float32, torch.float64)
        and (strided or t.is_contiguous())
    )


def _dims(dims: Any, ndim: int) -> set[int] | None:
    """``dims`` made non-negative, or ``None`` if one is out of range or repeated."""
    if not isinstance(dims, (list, tuple)) or not all(type(d) is int and -ndim <= d < ndim for d in dims):
        return None
    normal = {d % ndim for d in dims}
    return normal if len(normal) == len(dims) else None


def _meta_cat(tensors: list[Any], dim: Any) -> Any:
    """``torch.cat`` of plain meta tensors of one dtype that agree outside ``dim``; else ``None``."""
    if not tensors or not all(_plain(t) for t in tensors):
        return None
    first = tensors[0]
    if first.dim() == 0 or any(t.dim() != first.dim() or t.dtype != first.dtype for t in tensors):
        return None
    if type(dim) is not int or not -first.dim() <= dim < first.dim():
        return None
    dim %= first.dim()
    if any(t.shape[:dim] != first.shape[:dim] or t.shape[dim + 1 :] != first.shape[dim + 1 :] for t in tensors):
        return None
    shape = list(first.shape)
    shape[dim] = sum(t.shape[dim] for t in tensors)
    return _empty(shape, first.dtype)


class FastMeta(TorchDispatchMode):
    """Runs a model with :func:`meta_shortcut` (for the input-size searches)."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        return False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        out = meta_shortcut(func, args) if not kwargs else None
        return out if out is not None else func(*args, **(kwargs or {}))

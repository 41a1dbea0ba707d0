"""Shapes of common ops on meta tensors without PyTorch's Python decompositions.

On the meta device PyTorch computes batch norm, ``addmm``, ``mean``, ``cat`` and
the elementwise ops through Python decompositions: a few milliseconds per batch
norm, and the first elementwise op imports ``torch._dynamo`` (over a second).
Their output shapes need no kernel. :func:`meta_shortcut` gives them directly and
returns ``None`` whenever it is unsure, so the real kernel runs and raises its own
error.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

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
    if func is _aten.cat.default and args and isinstance(args[0], (list, tuple)) and len(args) <= 2:
        return _meta_cat(list(args[0]), args[1] if len(args) == 2 else 0)
    x = args[0] if args else None
    if not _plain(x):
        return None
    in_place = func._overloadpacket.__name__.endswith("_")
    if func in _UNARY:
        if any(isinstance(a, torch.Tensor) for a in args[1:]):
            return None
        return x if in_place else torch.empty_like(x)
    if func in _BINARY:
        if len(args) != 2:
            return None
        other = args[1]
        if type(other) in (int, float):  # a float tensor with a Python number keeps its dtype
            return x if in_place else torch.empty_like(x)
        if not _plain(other) or other.dtype != x.dtype:
            return None
        try:
            shape = torch.broadcast_shapes(x.shape, other.shape)
        except RuntimeError:
            return None
        if in_place:
            return x if shape == x.shape else None
        return torch.empty(shape, dtype=x.dtype, device="meta")
    if func is _aten.mean.dim and 2 <= len(args) <= 3 and x.dim() > 0 and args[1]:  # global average pooling
        dims = _dims(args[1], x.dim())
        if dims is None:
            return None
        keep = len(args) == 3 and bool(args[2])
        shape = [1 if i in dims else n for i, n in enumerate(x.shape) if keep or i not in dims]
        return torch.empty(shape, dtype=x.dtype, device="meta")
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
        return torch.empty(shape, dtype=x.dtype, device="meta")
    if func is _aten.native_batch_norm.default:
        weight, bias, mean, var = args[1:5]
        if x.dim() < 2:
            return None
        channels = x.shape[1]
        for t in (weight, bias, mean, var):
            if t is not None and (not _plain(t) or t.dtype != x.dtype or t.dim() != 1 or t.shape[0] != channels):
                return None
        stats = torch.empty((channels,), dtype=x.dtype, device="meta")
        return torch.empty_like(x), stats, torch.empty_like(stats)
    return None


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
    return torch.empty(shape, dtype=first.dtype, device="meta")


class FastMeta(TorchDispatchMode):
    """Runs a model with :func:`meta_shortcut` (for the input-size searches)."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        return False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        out = meta_shortcut(func, args) if not kwargs else None
        return out if out is not None else func(*args, **(kwargs or {}))

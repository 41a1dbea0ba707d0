"""Shapes of common ops on meta tensors without PyTorch's Python meta kernels.

On the meta device PyTorch computes convolutions, batch norm, ``addmm``, ``mean``,
``cat`` and the elementwise ops in Python: a few milliseconds per batch norm, the
first convolution imports sympy (half a second), and the first elementwise op
imports ``torch._dynamo`` (over a second). Their output shapes need no kernel.
`meta_shortcut()` gives them directly (a convolution's size from
`archdoc.window`, the same arithmetic the pages print) and returns ``None``
whenever it is unsure, so the real kernel runs and raises its own error. Each
shortcut is checked against PyTorch's meta kernel in the tests.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from archdoc.tracing.layout import elementwise_strides, suggests_channels_last
from archdoc.window import transposed_size, window_size

__all__ = ["meta_shortcut", "composite_shortcut", "COMPOSITE_MODULES", "shortcut_allowed", "ShapesRefused"]

_aten = torch.ops.aten
# Elementwise ops whose output has the input's shape and dtype.
_UNARY = frozenset(
    {
        _aten.relu.default, _aten.relu_.default, _aten.tanh.default, _aten.tanh_.default,
        _aten.sigmoid.default, _aten.sigmoid_.default, _aten.hardtanh.default, _aten.hardtanh_.default,
        _aten.gelu.default, _aten.silu.default, _aten.silu_.default,
        _aten.hardswish.default, _aten.hardswish_.default, _aten.hardsigmoid.default, _aten.hardsigmoid_.default,
        _aten.clamp_min.default, _aten.clamp_min_.default, _aten.clamp.default, _aten.clamp_.default,
        _aten.exp.default, _aten.neg.default, _aten.sqrt.default, _aten.rsqrt.default, _aten.abs.default,
        _aten.leaky_relu.default, _aten.leaky_relu_.default, _aten.elu.default, _aten.elu_.default,
        _aten.mish.default, _aten.softplus.default, _aten.log.default,
    }
)
# Keyword arguments a shortcut may see: they change values, never shapes or dtypes.
_VALUE_KEYWORDS = frozenset({"approximate"})
_BINARY = frozenset(
    {
        _aten.add.Tensor, _aten.add_.Tensor, _aten.mul.Tensor, _aten.mul_.Tensor,
        _aten.div.Tensor, _aten.div_.Tensor, _aten.pow.Tensor_Scalar, _aten.mul.Scalar,
    }
)
_COMPARISONS = frozenset({_aten.ne.Tensor, _aten.eq.Tensor})  # boolean results (Swin's shift mask)
# Ops whose result is a new contiguous tensor, whatever the inputs' layouts.
_FRESH = frozenset(
    {_aten.bmm.default, _aten.mm.default, _aten.index.Tensor, _aten.roll.default, _aten.channel_shuffle.default}
)

# Window pooling: (op, spatial dims, returns indices too, takes dilation).
_POOLS = {
    _aten.max_pool2d_with_indices.default: (2, True, True),
    _aten.max_pool3d_with_indices.default: (3, True, True),
    _aten.avg_pool2d.default: (2, False, False),
    _aten.avg_pool3d.default: (3, False, False),
}
_ADAPTIVE = {
    _aten._adaptive_avg_pool2d.default: (2, False),
    _aten._adaptive_avg_pool3d.default: (3, False),
    _aten.adaptive_max_pool2d.default: (2, True),
    _aten.adaptive_max_pool3d.default: (3, True),
}


class ShapesRefused(RuntimeError):
    """The kernel would refuse these shapes: a window larger than its (padded) input, or a
    matrix product whose inner sizes differ (a flatten feeding a linear layer of another width).

    Raised by `meta_shortcut()` so the input-size search fails a pass without the
    kernel's own check, whose first call imports sympy; a caller wanting PyTorch's
    message runs the kernel instead.
    """


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
    if func is _aten.native_layer_norm.default and len(args) == 5:
        return _meta_layer_norm(*args)
    if func is _aten.linalg_vector_norm.default and 1 <= len(args) <= 4:
        return _meta_vector_norm(*args)
    if func is _aten.convolution.default and len(args) == 9:
        return _meta_convolution(*args)
    if func in _POOLS:
        return _meta_pool(func, args)
    if func in _ADAPTIVE and len(args) == 2:
        return _meta_adaptive(func, *args)
    if func is _aten.cat.default and args and isinstance(args[0], (list, tuple)) and len(args) <= 2:
        return _meta_cat(list(args[0]), args[1] if len(args) == 2 else 0)
    if func in _FRESH:
        return _meta_fresh(func, args)
    if func is _aten.masked_fill.Scalar and len(args) == 3 and type(args[2]) in (int, float):
        x, mask = args[0], args[1]
        same = isinstance(mask, torch.Tensor) and mask.is_meta and mask.dtype == torch.bool and mask.shape == x.shape
        return _empty(x.shape, x.dtype) if _plain(x) and same and mask.is_contiguous() else None
    x = args[0] if args else None
    in_place = func._overloadpacket.__name__.endswith("_")
    if func in _UNARY or (func in _BINARY and len(args) == 2 and type(args[1]) in (int, float)):
        # One tensor (a float tensor with a Python number keeps its dtype).
        if any(isinstance(a, torch.Tensor) for a in args[1:]) or not _plain(x, strided=True) or 0 in x.shape:
            return None
        if in_place:
            return x
        return _empty(x.shape, x.dtype) if x.is_contiguous() else _strided(x.shape, elementwise_strides(x.shape, [x]), x.dtype)
    if func in _BINARY or func in _COMPARISONS:
        other = args[1] if len(args) == 2 else None
        if not (_plain(x, strided=True) and _plain(other, strided=True)) or other.dtype != x.dtype:
            return None
        shape = _broadcast(x.shape, other.shape)
        if shape is None or 0 in shape:
            return None
        if in_place:
            return x if shape == tuple(x.shape) else None
        dtype = torch.bool if func in _COMPARISONS else x.dtype
        return _strided(shape, elementwise_strides(shape, [x, other]), dtype)
    if func is _aten.mean.dim and 2 <= len(args) <= 3 and _plain(x, strided=True) and x.dim() > 0 and args[1]:
        dims = _dims(args[1], x.dim())  # global average pooling
        if dims is None:
            return None
        keep = len(args) == 3 and bool(args[2])
        shape = [1 if i in dims else n for i, n in enumerate(x.shape) if keep or i not in dims]
        return _empty(shape, x.dtype)  # contiguous from any layout, as PyTorch's meta reductions give
    if not _plain(x):
        return None
    softmax = func is _aten._softmax.default and len(args) == 3 and args[2] is False
    if (softmax or (func is _aten._safe_softmax.default and len(args) == 2)) and type(args[1]) is int:
        # _safe_softmax: the attention math path's (a Python decomposition on meta, a millisecond a call).
        return _empty(x.shape, x.dtype) if -x.dim() <= args[1] < max(x.dim(), 1) else None
    if func is _aten.addmm.default and len(args) == 3:  # Linear: bias + input @ weight.T
        mat1, mat2 = args[1], args[2]
        # The weight arrives transposed (not contiguous); the product is a new contiguous tensor.
        if not (_plain(mat1, strided=True) and _plain(mat2, strided=True) and mat1.dim() == mat2.dim() == 2):
            return None
        if not (x.dtype == mat1.dtype == mat2.dtype):
            return None
        if mat1.shape[1] != mat2.shape[0]:
            raise ShapesRefused(f"matrix product of {list(mat1.shape)} and {list(mat2.shape)}")
        shape = (mat1.shape[0], mat2.shape[1])
        if _broadcast(x.shape, shape) != shape:
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


def shortcut_allowed(kwargs: Any) -> bool:
    """Whether an op called with ``kwargs`` may take a shortcut (only value-changing keywords)."""
    return not kwargs or set(kwargs) <= _VALUE_KEYWORDS


def _broadcast(a: Any, b: Any) -> tuple[int, ...] | None:
    """The broadcast of two shapes, or ``None`` (torch.broadcast_shapes would import sympy)."""
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        m = a[-i] if i <= len(a) else 1
        n = b[-i] if i <= len(b) else 1
        if m != n and 1 not in (m, n):
            return None
        out.append(n if m == 1 else m)
    return tuple(reversed(out))


def _empty(shape: Any, dtype: torch.dtype) -> torch.Tensor:
    # torch.empty is a C++ kernel on meta; empty_like goes through a Python reference (30× slower).
    return torch.empty(shape, dtype=dtype, device="meta")


def _meta_fresh(func: Any, args: tuple[Any, ...]) -> Any:
    """Matrix products, a table indexed by one integer tensor, a roll, a channel shuffle: new contiguous tensors."""
    x = args[0]
    if not _plain(x, strided=True):
        return None
    if func in (_aten.bmm.default, _aten.mm.default) and len(args) == 2:
        other, dims = args[1], 3 if func is _aten.bmm.default else 2
        if not (_plain(other, strided=True) and other.dtype == x.dtype and x.dim() == other.dim() == dims):
            return None
        if x.shape[:-2] != other.shape[:-2] or x.shape[-1] != other.shape[-2]:
            raise ShapesRefused(f"matrix product of {list(x.shape)} and {list(other.shape)}")
        return _empty((*x.shape[:-1], other.shape[-1]), x.dtype)
    if func is _aten.index.Tensor and len(args) == 2 and isinstance(args[1], (list, tuple)) and len(args[1]) == 1:
        index = args[1][0]  # a relative-position table looked up by a precomputed index
        if not (isinstance(index, torch.Tensor) and index.is_meta and index.dtype == torch.int64 and x.dim() >= 1):
            return None
        return _empty((*index.shape, *x.shape[1:]), x.dtype)
    if func is _aten.roll.default and len(args) in (2, 3) and 0 not in x.shape:
        return _empty(x.shape, x.dtype)
    if func is _aten.channel_shuffle.default and len(args) == 2 and type(args[1]) is int and x.dim() >= 3:
        if args[1] > 0 and x.shape[1] % args[1] == 0 and x.is_contiguous():  # ShuffleNet's channel shuffle
            return _empty(x.shape, x.dtype)
    return None


def _strided(shape: Any, strides: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """An empty meta tensor laid out by ``strides`` (a C++ kernel, as fast as ``torch.empty``)."""
    return torch.empty_strided(shape, strides, dtype=dtype, device="meta")


def _ints(values: Any, dims: int) -> tuple[int, ...] | None:
    """One non-negative int per spatial dim (a single value repeated), or ``None``."""
    if not isinstance(values, (list, tuple)):
        return None
    for v in values:  # a loop: this runs for every convolution and pooling of every pass
        if type(v) is not int or v < 0:
            return None
    if len(values) == 1:
        return tuple(values) * dims
    return tuple(values) if len(values) == dims else None


def _meta_convolution(
    x: Any, weight: Any, bias: Any, stride: Any, padding: Any, dilation: Any, transposed: Any, output_padding: Any, groups: Any
) -> torch.Tensor | None:
    """``aten.convolution`` of plain batched meta tensors whose sizes all come out positive; else ``None``."""
    # A channels-last input (ConvNeXt's, after its permuted block) gives a contiguous output on meta.
    laid_out = _plain(x) or (_plain(x, strided=True) and x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last))
    if not (laid_out and _plain(weight) and x.dtype == weight.dtype) or type(groups) is not int or groups < 1:
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
    if 0 in x.shape or 0 in weight.shape:
        return None
    if min(sizes) < 1:
        raise ShapesRefused(f"convolution output {sizes} for input {list(x.shape)}")
    return _empty((x.shape[0], channels, *sizes), x.dtype)


def _meta_layer_norm(x: Any, shape: Any, weight: Any, bias: Any, eps: Any) -> Any:
    """``native_layer_norm``: the output, and the mean and inverse deviation kept per normalised group."""
    # Any layout: the kernel normalises a contiguous copy (a channels-last permute in ConvNeXt).
    if not _plain(x, strided=True) or not isinstance(shape, (list, tuple)) or not all(type(n) is int for n in shape):
        return None
    k = len(shape)
    if k == 0 or x.dim() < k or tuple(x.shape[x.dim() - k:]) != tuple(shape):
        return None
    for t in (weight, bias):
        if t is not None and not (_plain(t) and t.dtype == x.dtype and tuple(t.shape) == tuple(shape)):
            return None
    stats = (*x.shape[: x.dim() - k], *([1] * k))
    return _empty(x.shape, x.dtype), _empty(stats, x.dtype), _empty(stats, x.dtype)


def _meta_vector_norm(x: Any, order: Any = 2, dim: Any = None, keepdim: Any = False) -> Any:
    """``linalg_vector_norm`` over some dimensions (cosine attention); ``None`` for the whole tensor."""
    # Any layout (Swin V2 normalises strided queries); the result is contiguous.
    if not _plain(x, strided=True) or type(order) not in (int, float) or type(keepdim) is not bool or x.dim() == 0:
        return None
    dims = _dims(list(dim), x.dim()) if isinstance(dim, (list, tuple)) and dim else None
    if dims is None:
        return None
    shape = [1 if i in dims else n for i, n in enumerate(x.shape) if keepdim or i not in dims]
    return _empty(shape, x.dtype)


def _meta_pool(func: Any, args: tuple[Any, ...]) -> Any:
    """Max and average pooling of a plain batched meta tensor, PyTorch's checks mirrored; else ``None``."""
    dims, indices, dilated = _POOLS[func]
    x = args[0]
    if not _plain(x) or x.dim() != dims + 2 or 0 in x.shape:
        return None
    k = _ints(args[1] if len(args) > 1 else None, dims)
    s = _ints(args[2], dims) if len(args) > 2 and args[2] else k  # an empty stride means the kernel size
    p = _ints(args[3] if len(args) > 3 else [0], dims)
    if dilated:
        d = _ints(args[4] if len(args) > 4 else [1], dims)
        ceil = args[5] if len(args) > 5 else False
        extra_ok = len(args) <= 6
    else:
        d = (1,) * dims
        ceil = args[4] if len(args) > 4 else False
        # count_include_pad changes values, not shapes; a divisor override must be non-zero.
        extra_ok = len(args) <= 7 and (len(args) < 7 or args[6] is None or (type(args[6]) is int and args[6] != 0))
    if k is None or s is None or p is None or d is None or type(ceil) is not bool or not extra_ok:
        return None
    if 0 in k or 0 in s or 0 in d or any(pi > ki // 2 for pi, ki in zip(p, k)):
        return None  # the kernel raises its own error
    sizes = [window_size(n, ki, si, pi, di, ceil) for n, ki, si, pi, di in zip(x.shape[2:], k, s, p, d)]
    if min(sizes) < 1:
        raise ShapesRefused(f"pooling output {sizes} for input {list(x.shape)}")
    out = _empty((*x.shape[:2], *sizes), x.dtype)
    return (out, _empty(out.shape, torch.int64)) if indices else out


def _meta_adaptive(func: Any, x: Any, output_size: Any) -> Any:
    """Adaptive pooling of a plain batched meta tensor to a given size; else ``None``."""
    dims, indices = _ADAPTIVE[func]
    size = _ints(output_size, dims)
    if not _plain(x) or x.dim() != dims + 2 or 0 in x.shape[1:] or size is None:
        return None
    out = _empty((*x.shape[:2], *size), x.dtype)
    return (out, _empty(out.shape, torch.int64)) if indices else out


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
    # The result is contiguous whatever the inputs' layouts (a vision transformer's class token
    # joins permuted patches; Swin's patch merging joins strided slices), unless one of them is
    # laid out channels-last, whose layout cat may keep.
    if not tensors or not all(_plain(t, strided=True) and not suggests_channels_last(t) for t in tensors):
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


def _meta_local_response_norm(x: Any, size: Any, *args: Any, **kwargs: Any) -> Any:
    """``F.local_response_norm`` of a plain meta tensor: its input's shape, without its dozen ops."""
    if not (_plain(x) and x.dim() >= 3 and type(size) is int and size >= 1 and x.numel() > 0):
        return None
    return _empty(x.shape, x.dtype)


# Functions made of many ops whose result has their input's shape, answered whole, and the
# modules that call them (a model without these gains nothing from looking for the functions).
_COMPOSITES = {F.local_response_norm: _meta_local_response_norm}
COMPOSITE_MODULES = (nn.LocalResponseNorm,)


def composite_shortcut(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The result of a composite torch function (``_COMPOSITES``) on meta tensors without its ops, or ``None``."""
    shortcut = _COMPOSITES.get(func)
    return shortcut(*args, **kwargs) if shortcut is not None else None

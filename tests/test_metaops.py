"""The meta shortcuts give what PyTorch's own meta kernels give, and step aside when unsure."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from archdoc.tracing.metaops import ShapesRefused, meta_shortcut

aten = torch.ops.aten


def meta(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.empty(shape, dtype=dtype, device="meta")


CASES = [
    (aten.relu.default, (meta(2, 3, 4, 4),)),
    (aten.tanh.default, (meta(5, 7),)),
    (aten.gelu.default, (meta(2, 16, 32),)),
    (aten.add.Tensor, (meta(2, 8, 4, 4), meta(2, 8, 4, 4))),
    (aten.add.Tensor, (meta(2, 8, 4, 4), meta(8, 1, 1))),  # broadcast
    (aten.mul.Tensor, (meta(3, 1), meta(1, 5))),
    (aten.mul.Tensor, (meta(2, 8, 5, 5), 0.5)),  # local response norm's scalars
    (aten.add.Tensor, (meta(2, 8, 5, 5), 2.0)),
    (aten.pow.Tensor_Scalar, (meta(2, 8, 5, 5), 0.75)),
    (aten.div.Tensor, (meta(2, 8, 5, 5), meta(2, 8, 5, 5))),
    (aten.addmm.default, (meta(10), meta(4, 7), meta(7, 10))),
    (aten.mean.dim, (meta(2, 8, 5, 5), [-1, -2], True)),
    (aten.mean.dim, (meta(2, 8, 5, 5), [2, 3])),
    (aten.cat.default, ([meta(2, 3, 4, 4), meta(2, 5, 4, 4)], 1)),
    (aten.cat.default, ([meta(2, 3), meta(4, 3)],)),
    (aten.native_batch_norm.default, (meta(2, 8, 4, 4), meta(8), meta(8), meta(8), meta(8), False, 0.1, 1e-5)),
    (aten.convolution.default, (meta(2, 3, 116, 116), meta(64, 3, 7, 7), None, [2, 2], [3, 3], [1, 1], False, [0, 0], 1)),
    (aten.convolution.default, (meta(1, 32, 15, 15), meta(32, 1, 3, 3), meta(32), [1, 1], [1, 1], [1, 1], False, [0, 0], 32)),
    (aten.convolution.default, (meta(1, 8, 9, 9), meta(4, 8, 3, 3), None, [1], [2], [2], False, [0], 1)),  # dilated
    (aten.convolution.default, (meta(1, 8, 7, 7), meta(8, 4, 4, 4), meta(4), [2, 2], [1, 1], [1, 1], True, [1, 1], 1)),
    (aten.convolution.default, (meta(1, 4, 5, 6, 7), meta(6, 4, 3, 1, 3), None, [1, 2, 1], [1, 0, 0], [1, 1, 1], False, [0, 0, 0], 1)),
    (aten.convolution.default, (meta(2, 6, 10), meta(6, 3, 5), None, [3], [0], [1], False, [0], 2)),  # 1-D, grouped
    (aten.max_pool2d_with_indices.default, (meta(2, 3, 9, 9), [3, 3], [2, 2], [1, 1], [1, 1], True)),
    (aten.max_pool2d_with_indices.default, (meta(2, 3, 8, 8), [3, 3], [2, 2], [0, 0], [1, 1], True)),  # ceil
    (aten.max_pool2d_with_indices.default, (meta(2, 3, 9, 9), [3, 3])),  # stride defaults to the kernel
    (aten.max_pool3d_with_indices.default, (meta(1, 2, 6, 6, 6), [2, 2, 2], [2, 2, 2])),
    (aten.avg_pool2d.default, (meta(2, 3, 8, 8), [2, 2], [2, 2])),
    (aten.avg_pool2d.default, (meta(2, 3, 7, 7), [3, 3], [2, 2], [1, 1], True, False)),
    (aten.avg_pool3d.default, (meta(2, 1, 5, 9, 9), [5, 1, 1], [1, 1, 1], [0, 0, 0])),  # local response norm
    (aten._adaptive_avg_pool2d.default, (meta(2, 3, 7, 7), [1, 1])),
    (aten.adaptive_max_pool2d.default, (meta(2, 3, 7, 7), [2, 3])),
    (aten.native_layer_norm.default, (meta(2, 49, 96), [96], meta(96), meta(96), 1e-5)),
    (aten.native_layer_norm.default, (meta(2, 8, 7, 7), [7, 7], None, None, 1e-5)),
    (aten.linalg_vector_norm.default, (meta(6, 49, 32), 2.0, [-1], True)),
    (aten.linalg_vector_norm.default, (meta(6, 49, 32), 2, [1, 2])),
    (aten.hardswish.default, (meta(2, 16, 8, 8),)),
    (aten.hardsigmoid.default, (meta(2, 16, 1, 1),)),
    (aten.clamp_min.default, (meta(6, 49, 1), 1e-12)),
    (aten.clamp.default, (meta(3, 1, 1), None, 4.6)),
    (aten.exp.default, (meta(3, 1, 1),)),
    (aten._softmax.default, (meta(1, 12, 197, 197), -1, False)),
    (aten._safe_softmax.default, (meta(1, 4, 64, 64), -1)),  # attention's math path
    (aten.mul.Scalar, (meta(1, 4, 64, 32), 0.42)),  # its scaled query
    (aten.ne.Tensor, (meta(64, 1, 49), meta(64, 49, 1))),  # Swin's shift mask: a boolean result
    (aten.masked_fill.Scalar, (meta(64, 49, 49), meta(64, 49, 49, dtype=torch.bool), -100.0)),
    (aten.mm.default, (meta(1, 512), meta(1000, 512).t())),  # a linear layer without bias
    (aten.channel_shuffle.default, (meta(1, 116, 28, 28), 2)),
]


@pytest.mark.parametrize("func, args", CASES, ids=lambda c: str(c) if not isinstance(c, tuple) else "")
def test_shortcut_matches_the_meta_kernel(func, args):
    expected = func(*args)
    got = meta_shortcut(func, args)
    assert got is not None
    expected = expected if isinstance(expected, tuple) else (expected,)
    got = got if isinstance(got, tuple) else (got,)
    assert [(t.shape, t.dtype) for t in got] == [(t.shape, t.dtype) for t in expected]


def channels_last_view(*shape: int) -> torch.Tensor:
    """A (N, H, W, C) view of a (N, C, H, W) tensor, as ConvNeXt's blocks permute it: dense, not contiguous."""
    n, h, w, c = shape
    return meta(n, c, h, w).permute(0, 2, 3, 1)


# Non-contiguous inputs: the shortcut must give the kernel's layout too, since a later view depends on it.
LAYOUT_CASES = [
    (aten.native_layer_norm.default, (channels_last_view(2, 7, 5, 96), [96], meta(96), meta(96), 1e-6)),
    (aten.native_layer_norm.default, (meta(2, 96, 7, 5)[:, :, :, 1:], [4], None, None, 1e-5)),  # with gaps
    (aten.gelu.default, (channels_last_view(2, 7, 5, 96),)),
    (aten.relu.default, (meta(2, 3, 4, 5).transpose(1, 3),)),
    (aten.mul.Tensor, (channels_last_view(1, 3, 3, 8), 0.5)),
    (aten.add.Tensor, (channels_last_view(1, 3, 3, 8), 1)),
    (aten.relu_.default, (channels_last_view(1, 3, 3, 8),)),
    (aten.add.Tensor, (meta(2, 3, 4, 4).to(memory_format=torch.channels_last), meta(2, 3, 4, 4))),  # the first decides
    (aten.relu.default, (meta(3, 1).expand(3, 4),)),  # overlapping
    (aten.gelu.default, (meta(2, 8, 6)[:, ::2],)),  # with gaps
    (aten.mul.Tensor, (meta(4, 6).t(), meta(6, 4))),
    (aten.mul.Tensor, (meta(1, 12, 197, 3, 64).permute(0, 3, 1, 2, 4)[:, 0], 0.125)),  # a vision transformer's query
    (aten.mul.Tensor, (meta(96, 1, 1), meta(1, 56, 56, 96).permute(0, 3, 1, 2))),  # ConvNeXt's layer scale
    (aten.cat.default, ([meta(1, 1, 768), meta(1, 768, 196).permute(0, 2, 1)], 1)),  # class token and patches
    (aten.cat.default, ([meta(1, 28, 28, 96)[:, i::2, j::2, :] for i in (0, 1) for j in (0, 1)], -1)),  # Swin's patch merging
    (aten.mean.dim, (meta(1, 7, 7, 768).permute(0, 3, 1, 2), [-1, -2], True)),  # Swin's pooling after its last permute
    (aten.bmm.default, (meta(1, 197, 12, 64).permute(0, 2, 1, 3)[0], meta(64, 12, 197).permute(1, 0, 2))),  # attention
    (aten.roll.default, (meta(1, 56, 56, 96).permute(0, 3, 1, 2), [-3, -3], [2, 3])),  # Swin's shifted windows
    (aten.index.Tensor, (meta(3, 169).t(), [meta(2401, dtype=torch.int64)])),  # a relative-position table
    # Channels-last inputs (stored N, H, W, C): ConvNeXt's depthwise convolution after its block, and a plain one.
    (aten.convolution.default, (meta(1, 14, 14, 8).permute(0, 3, 1, 2), meta(8, 1, 7, 7), meta(8), [1, 1], [3, 3], [1, 1], False, [0, 0], 8)),
    (aten.convolution.default, (meta(1, 8, 8, 4).permute(0, 3, 1, 2), meta(8, 4, 3, 3), None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1)),
]


@pytest.mark.parametrize("func, args", LAYOUT_CASES, ids=lambda c: str(c) if not isinstance(c, tuple) else "")
def test_shortcut_gives_the_kernels_layout(func, args):
    tensors = [t for a in args for t in (a if isinstance(a, list) else [a]) if isinstance(t, torch.Tensor)]
    assert not all(t.is_contiguous() for t in tensors)
    expected = func(*[a.clone() if isinstance(a, torch.Tensor) and func._overloadpacket.__name__.endswith("_") else a for a in args])
    got = meta_shortcut(func, args)
    assert got is not None
    expected = expected if isinstance(expected, tuple) else (expected,)
    got = got if isinstance(got, tuple) else (got,)
    assert [(layout(t), t.dtype) for t in got] == [(layout(t), t.dtype) for t in expected]


@pytest.mark.parametrize(
    "func, args",
    [
        (aten.add.Tensor, (meta(2, 3), meta(4, 5))),  # not broadcastable: the kernel must raise
        (aten.add.Tensor, (meta(2, 3), meta(2, 3, dtype=torch.float16))),  # type promotion
        (aten.add_.Tensor, (meta(1, 3), meta(4, 3))),  # in place cannot grow
        (aten.cat.default, ([meta(2, 3, 4), meta(2, 3, 5)], 1)),  # differ outside dim
        (aten.native_batch_norm.default, (meta(2, 8, 4), meta(6), meta(6), meta(6), meta(6), False, 0.1, 1e-5)),
        (aten.relu.default, (torch.zeros(3),)),  # not meta
        (aten.mul.Tensor, (meta(3, dtype=torch.int64), 0.5)),  # int × float promotes
        (aten.div.Tensor, (meta(3, dtype=torch.int64), meta(3, dtype=torch.int64))),  # true division gives floats
        (aten.sigmoid.default, (meta(3, dtype=torch.int64),)),  # promotes to float
        (aten.mean.dim, (meta(2, 8, 5, 5), [5])),  # out of range: the kernel raises
        (aten.mean.dim, (meta(2, 8, 5, 5), [1, -3])),  # the same dim twice
        (aten.mean.dim, (meta(), [0])),  # 0-d
        (aten.cat.default, ([meta(2, 3), meta(2, 3)], 2)),  # dim out of range
        (aten.native_batch_norm.default, (meta(2, 8, 4, dtype=torch.float16), meta(8), meta(8), meta(8), meta(8), False, 0.1, 1e-5)),
        (aten.convolution.default, (meta(1, 4, 8, 8), meta(8, 3, 3, 3), None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1)),  # channels
        (aten.convolution.default, (meta(3, 8, 8), meta(8, 3, 3, 3), None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1)),  # unbatched
        (aten.convolution.default, (meta(1, 8, 7, 7), meta(8, 4, 3, 3), None, [2, 2], [1, 1], [1, 1], True, [2, 2], 1)),  # output padding ≥ stride
        (aten.max_pool2d_with_indices.default, (meta(1, 3, 8, 8), [3, 3], [2, 2], [2, 2])),  # padding over half the kernel
        (aten.max_pool2d_with_indices.default, (meta(3, 8, 8), [3, 3], [2, 2])),  # unbatched
        (aten.avg_pool2d.default, (meta(1, 3, 8, 8), [2, 2], [2, 2], [0, 0], False, True, 0)),  # divisor 0
        (aten._adaptive_avg_pool2d.default, (meta(3, 7, 7), [1, 1])),  # unbatched
        (aten.native_layer_norm.default, (meta(2, 49, 96), [48], None, None, 1e-5)),  # shape mismatch
        (aten.native_layer_norm.default, (meta(2, 49, 96), [96], meta(48), None, 1e-5)),  # weight mismatch
        (aten.linalg_vector_norm.default, (meta(6, 49, 32), 2.0, [3], True)),  # dim out of range
        (aten.linalg_vector_norm.default, (meta(6, 49, 32),)),  # the whole tensor
        (aten.clamp.default, (meta(3, 1, 1), meta(3, 1, 1), None)),  # a tensor bound
        (aten.index.Tensor, (meta(4, 3), [meta(4, dtype=torch.bool)])),  # a mask: the size depends on values
        (aten._softmax.default, (meta(2, 3), 2, False)),  # dim out of range
        (aten._softmax.default, (meta(2, 3).t(), 1, False)),  # another layout: the kernel decides
        (aten._safe_softmax.default, (meta(2, 3), -3)),  # dim out of range
        (aten.mul.Scalar, (meta(2, 3, dtype=torch.int64), 0.5)),  # an integer tensor times a float: promoted
        (aten.masked_fill.Scalar, (meta(4, 3), meta(3, dtype=torch.bool), 1.0)),  # a broadcast mask
        (aten.cat.default, ([meta(1, 8, 4, 4).to(memory_format=torch.channels_last)] * 2, 1)),  # the kernel keeps this layout
        (aten.index.Tensor, (meta(4, 3), [None, meta(2, dtype=torch.int64)])),  # not the first dimension
    ],
)
def test_shortcut_steps_aside_when_unsure(func, args):
    assert meta_shortcut(func, args) is None


def shortcut_or_failure(func, args):
    """The shortcut's result, or "fails" where it knows the kernel would fail."""
    try:
        return meta_shortcut(func, args)
    except ShapesRefused:
        return "fails"


@pytest.mark.parametrize(
    "func, args",
    [
        (aten.convolution.default, (meta(1, 3, 2, 2), meta(8, 3, 3, 3), None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1)),
        (aten.convolution.default, (meta(1, 3, 9, 9), meta(8, 3, 3, 3), None, [1, 1], [0, 0], [5, 5], False, [0, 0], 1)),  # dilated
        (aten.max_pool2d_with_indices.default, (meta(1, 3, 2, 2), [3, 3], [2, 2])),
        (aten.avg_pool2d.default, (meta(1, 3, 1, 4), [2, 2], [2, 2])),
        (aten.addmm.default, (meta(10), meta(4, 6), meta(7, 10))),  # inner sizes differ
        (aten.bmm.default, (meta(2, 4, 6), meta(2, 7, 5))),
        (aten.bmm.default, (meta(2, 4, 6), meta(3, 6, 5))),  # batch sizes differ
        (aten.mm.default, (meta(4, 6), meta(5, 3))),
    ],
)
def test_shapes_the_kernel_refuses_fail_without_the_kernel(func, args):
    with pytest.raises(RuntimeError):  # PyTorch's own kernel refuses it too
        func(*args)
    assert shortcut_or_failure(func, args) == "fails"


from hypothesis import given, settings
from hypothesis import strategies as st


@st.composite
def laid_out(draw, shape: tuple[int, ...]) -> torch.Tensor:
    """A meta tensor of ``shape`` in any layout: dimensions permuted in storage, with gaps, or repeated."""
    if not shape:
        return meta()
    order = draw(st.permutations(range(len(shape))))
    gaps = [draw(st.sampled_from([1, 1, 2])) for _ in shape]
    base = meta(*[shape[d] * gaps[d] for d in order]).permute(*[order.index(d) for d in range(len(shape))])
    t = base[tuple(slice(None, None, g) for g in gaps)]
    if draw(st.booleans()) and shape:  # repeat along one dimension (stride 0)
        d = draw(st.integers(0, len(shape) - 1))
        t = t.narrow(d, 0, 1).expand(*shape)
    return t


@settings(max_examples=300, deadline=None)
@given(data=st.data(), shape=st.lists(st.integers(1, 4), min_size=1, max_size=5).map(tuple))
def test_elementwise_layouts_agree_with_the_kernels(data, shape):
    x = data.draw(laid_out(shape))
    kept = data.draw(st.lists(st.booleans(), min_size=len(shape), max_size=len(shape)))
    small = tuple(n if keep else 1 for n, keep in zip(shape, kept))[data.draw(st.integers(0, len(shape))):]
    y = data.draw(laid_out(small))
    for func, args in [
        (aten.relu.default, (x,)), (aten.mul.Tensor, (x, 0.5)), (aten.add.Tensor, (x, y)), (aten.mul.Tensor, (y, x)),
        (aten.ne.Tensor, (y, x)),
    ]:
        got, expected = meta_shortcut(func, args), func(*args)
        assert got is not None
        assert layout(got) == layout(expected), (func, [a.stride() for a in args if isinstance(a, torch.Tensor)])


@settings(max_examples=200, deadline=None)
@given(data=st.data(), shape=st.lists(st.integers(1, 4), min_size=2, max_size=5).map(tuple))
def test_reduction_layouts_agree_with_the_kernels(data, shape):
    x = data.draw(laid_out(shape))
    dim = data.draw(st.integers(0, len(shape) - 1))
    keep = data.draw(st.booleans())
    for func, args in [(aten.mean.dim, (x, [dim], keep)), (aten.linalg_vector_norm.default, (x, 2.0, [dim], keep))]:
        got, expected = meta_shortcut(func, args), func(*args)
        assert got is not None and layout(got) == layout(expected), (func, x.stride())


def layout(t: torch.Tensor) -> tuple:
    """Shape and strides, but not the stride of a size-1 dimension: it is never stepped along, and
    PyTorch's kernels set it differently (C++ iterators anew, the Python references as the input had it)."""
    return tuple(t.shape), tuple(st if n != 1 else None for n, st in zip(t.shape, t.stride()))


@settings(max_examples=150, deadline=None)
@given(
    size=st.integers(1, 40),
    kernel=st.integers(1, 7),
    stride=st.integers(1, 4),
    padding=st.integers(0, 4),
    dilation=st.integers(1, 3),
    groups=st.sampled_from([1, 2]),
    transposed=st.booleans(),
    extra=st.integers(0, 3),
)
def test_convolution_shortcut_agrees_with_the_kernel_or_steps_aside(size, kernel, stride, padding, dilation, groups, transposed, extra):
    weight = meta(4, 2, kernel, kernel) if transposed else meta(6, 4 // groups, kernel, kernel)
    args = (meta(1, 4, size, size), weight, None, [stride] * 2, [padding] * 2, [dilation] * 2, transposed, [extra] * 2, groups)
    got = shortcut_or_failure(aten.convolution.default, args)
    try:
        expected = aten.convolution.default(*args)
    except RuntimeError:
        assert got in (None, "fails")  # never a result where the kernel fails
        return
    assert got != "fails"
    if got is not None:
        assert (got.shape, got.dtype) == (expected.shape, expected.dtype)


@settings(max_examples=150, deadline=None)
@given(
    size=st.integers(1, 30),
    kernel=st.integers(1, 6),
    stride=st.integers(1, 4),
    padding=st.integers(0, 3),
    dilation=st.integers(1, 2),
    ceil=st.booleans(),
    op=st.sampled_from(["max", "avg"]),
)
def test_pool_shortcut_agrees_with_the_kernel_or_steps_aside(size, kernel, stride, padding, dilation, ceil, op):
    x = meta(1, 3, size, size)
    if op == "max":
        func, args = aten.max_pool2d_with_indices.default, (x, [kernel] * 2, [stride] * 2, [padding] * 2, [dilation] * 2, ceil)
    else:
        func, args = aten.avg_pool2d.default, (x, [kernel] * 2, [stride] * 2, [padding] * 2, ceil)
    got = shortcut_or_failure(func, args)
    try:
        expected = func(*args)
    except RuntimeError:
        assert got in (None, "fails")
        return
    assert got != "fails"
    if got is not None:
        expected = expected if isinstance(expected, tuple) else (expected,)
        got = got if isinstance(got, tuple) else (got,)
        assert [(t.shape, t.dtype) for t in got] == [(t.shape, t.dtype) for t in expected]


@pytest.mark.slow
def test_a_render_imports_neither_sympy_nor_dynamo():
    """torch._dynamo and sympy cost seconds to import; pages of these models need neither (a fresh process tells)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from archdoc.render import render\n"
        "page = render('resnet18', '1x116x116', num_classes=2)\n"
        "assert '| `conv1` |' in page\n"
        # Probes that fail (AlexNet), channels-last blocks (ConvNeXt), attention (ViT, MaxViT), a channel shuffle,
        # shifted windows and cosine attention (Swin, Swin V2).
        "for name in ('alexnet', 'convnext_tiny', 'vit_b_16', 'maxvit_t', 'shufflenet_v2_x0_5', 'swin_t', 'swin_v2_t'):\n"
        "    assert render(name).startswith('# ')\n"
        "print(sorted(m for m in ('sympy', 'torch._dynamo', 'torch._inductor') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(
    "shape, size",
    [((2, 96, 27, 27), 5), ((1, 3, 8), 5), ((1, 4, 3, 5, 5), 2), ((2, 2, 6, 6), 7), ((1, 16, 1, 1), 1)],
)
def test_local_response_norm_is_answered_whole_as_the_function_gives_it(shape, size):
    """AlexNet 2012's normalisation: a dozen ops on meta, answered by its input's shape when FastMeta is asked to."""
    from archdoc.tracing.input_range import FastMeta

    x = meta(*shape)
    expected = F.local_response_norm(x, size, 1e-4, 0.75, 2.0)
    with FastMeta(composites=True):
        got = F.local_response_norm(x, size, 1e-4, 0.75, 2.0)
    assert (got.shape, got.dtype, got.device) == (expected.shape, expected.dtype, expected.device)


def test_local_response_norm_keeps_its_own_errors_and_edge_cases():
    from archdoc.tracing.input_range import FastMeta, holds_composites

    with FastMeta(composites=True), pytest.raises(ValueError, match="3D or higher"):
        F.local_response_norm(meta(4, 5), 3)
    with FastMeta(composites=True):
        empty = meta(0, 3, 4, 4)
        assert F.local_response_norm(empty, 3) is empty  # the function returns its empty input itself
        assert F.local_response_norm(meta(1, 4, 5, 5, dtype=torch.float16), 3).dtype == torch.float16
    assert holds_composites(torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.LocalResponseNorm(5)))
    assert not holds_composites(torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU()))


@pytest.mark.parametrize(
    "packet, args",
    [
        (aten.mm, (meta(3, 7), meta(7, 5))),
        (aten.addmm, (meta(5), meta(3, 7), meta(7, 5))),
        (aten.bmm, (meta(4, 3, 7), meta(4, 7, 5))),
        (aten.baddbmm, (meta(4, 3, 5), meta(4, 3, 7), meta(4, 7, 5))),
        (aten.convolution, (meta(2, 3, 16, 16), meta(8, 3, 3, 3), None, [2, 2], [1, 1], [1, 1], False, [0, 0], 1)),
        (aten.convolution, (meta(1, 8, 9, 9), meta(8, 2, 3, 3), None, [1, 1], [0, 0], [2, 2], False, [0, 0], 4)),
        (aten.convolution, (meta(1, 8, 7, 7), meta(8, 4, 4, 4), None, [2, 2], [1, 1], [1, 1], True, [1, 1], 1)),
        (aten.convolution, (meta(2, 6, 10), meta(6, 3, 5), None, [3], [0], [1], False, [0], 2)),
    ],
    ids=lambda c: str(c) if not isinstance(c, tuple) else "",
)
def test_the_recorders_own_flop_formulas_agree_with_pytorchs(packet, args):
    """Matrix products and convolutions are counted without PyTorch's pytree wrapper: the same figures."""
    from torch.utils.flop_counter import flop_registry

    from archdoc.tracing.recorder import _count_flops

    out = packet.default(*args)
    expected = flop_registry[packet](*args, out_val=out)
    assert _count_flops(packet, args, {}, out) == expected > 0


def _layout(out: object) -> list[tuple]:
    outs = out if isinstance(out, tuple) else (out,)
    return [(t.shape, t.dtype, t.stride(), t.device) for t in outs]


class _Mixed(nn.Module):
    """A little of everything the shortcuts answer, and some they do not."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 7, 2, 3, bias=False), nn.BatchNorm2d(16), nn.ReLU(inplace=True))
        self.pool = nn.MaxPool2d(3, 2, 1)
        self.lrn = nn.LocalResponseNorm(5)
        self.branch = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1, groups=16), nn.Hardswish(), nn.Conv2d(16, 8, 1))
        self.other = nn.Sequential(nn.Conv2d(16, 8, 3, padding="same"), nn.ReLU6())
        self.se = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(16, 4, 1), nn.SiLU(), nn.Conv2d(4, 16, 1), nn.Sigmoid())
        self.norm = nn.LayerNorm(16)
        self.head = nn.Linear(16 * 4 * 4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.lrn(self.pool(self.stem(x)))
        x = torch.cat([self.branch(x), self.other(x)], 1) + x
        x = x * self.se(x)
        x = self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        x = F.avg_pool2d(x, 2)
        return self.head(torch.flatten(x, 1))


@pytest.mark.parametrize("size", [5, 8, 28, 29, 32, 36, 37, 64])
def test_a_fast_pass_agrees_with_a_plain_pass_on_meta(size):
    """Whole passes: the same output where the model runs, a failure where it does not."""
    from archdoc.tracing.input_range import FastMeta, holds_composites

    model = _Mixed().to("meta").eval()
    x = meta(1, 3, size, size)
    try:
        with torch.no_grad():
            expected = model(x)
    except RuntimeError:
        expected = None
    try:
        with torch.no_grad(), FastMeta(holds_composites(model)):
            got = model(x)
    except RuntimeError:
        got = None
    assert (expected is None) == (got is None)
    if expected is not None:
        assert _layout(got) == _layout(expected)
    # Side ⌊⌈⌈n/2⌉/2⌉/2⌋ = 4 gives the head its 16·4·4 features: ⌈n/4⌉ is 8 or 9, n from 29 to 36.
    assert (expected is not None) == (29 <= size <= 36)

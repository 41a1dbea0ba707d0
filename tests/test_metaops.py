"""The meta shortcuts give what PyTorch's own meta kernels give, and step aside when unsure."""

from __future__ import annotations

import pytest
import torch

from archdoc.tracing.metaops import meta_shortcut

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
]


@pytest.mark.parametrize("func, args", CASES, ids=lambda c: str(c) if not isinstance(c, tuple) else "")
def test_shortcut_matches_the_meta_kernel(func, args):
    expected = func(*args)
    got = meta_shortcut(func, args)
    assert got is not None
    expected = expected if isinstance(expected, tuple) else (expected,)
    got = got if isinstance(got, tuple) else (got,)
    assert [(t.shape, t.dtype) for t in got] == [(t.shape, t.dtype) for t in expected]


@pytest.mark.parametrize(
    "func, args",
    [
        (aten.add.Tensor, (meta(2, 3), meta(4, 5))),  # not broadcastable: the kernel must raise
        (aten.add.Tensor, (meta(2, 3), meta(2, 3, dtype=torch.float16))),  # type promotion
        (aten.add_.Tensor, (meta(1, 3), meta(4, 3))),  # in place cannot grow
        (aten.addmm.default, (meta(10), meta(4, 6), meta(7, 10))),  # inner sizes differ
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
        (aten.add.Tensor, (meta(2, 3, 4, 4).to(memory_format=torch.channels_last), meta(2, 3, 4, 4))),  # strides matter
    ],
)
def test_shortcut_steps_aside_when_unsure(func, args):
    assert meta_shortcut(func, args) is None

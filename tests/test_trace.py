"""The trace against the seed tables, hand arithmetic and torch's own counts."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

import archdoc
from archdoc.errors import InputError
from archdoc.page import render_json, torchinfo_mult_adds
from archdoc.table import render_table, summary_totals
from conftest import cached_trace

# Seed 000_5ce81eb5a6deaa6a.txt, ResNet-18 table (1x116x116, 2 classes), transcribed by hand:
# (type, depth, input shape, output shape, kernel, params shown by the seed or None for "--").
SEED_RESNET18 = [
    ("ResNet", 0, [1, 1, 116, 116], [1, 2], None, None),
    ("Conv2d", 1, [1, 1, 116, 116], [1, 64, 58, 58], "[7, 7]", 3136),
    ("BatchNorm2d", 1, [1, 64, 58, 58], [1, 64, 58, 58], None, 128),
    ("ReLU", 1, [1, 64, 58, 58], [1, 64, 58, 58], None, None),
    ("MaxPool2d", 1, [1, 64, 58, 58], [1, 64, 29, 29], "3", None),
    ("Sequential", 1, [1, 64, 29, 29], [1, 64, 29, 29], None, None),
    ("BasicBlock", 2, [1, 64, 29, 29], [1, 64, 29, 29], None, None),
    ("BasicBlock", 2, [1, 64, 29, 29], [1, 64, 29, 29], None, None),
    ("Sequential", 1, [1, 64, 29, 29], [1, 128, 15, 15], None, None),
    ("BasicBlock", 2, [1, 64, 29, 29], [1, 128, 15, 15], None, None),
    ("BasicBlock", 2, [1, 128, 15, 15], [1, 128, 15, 15], None, None),
    ("Sequential", 1, [1, 128, 15, 15], [1, 256, 8, 8], None, None),
    ("BasicBlock", 2, [1, 128, 15, 15], [1, 256, 8, 8], None, None),
    ("BasicBlock", 2, [1, 256, 8, 8], [1, 256, 8, 8], None, None),
    ("Sequential", 1, [1, 256, 8, 8], [1, 512, 4, 4], None, None),
    ("BasicBlock", 2, [1, 256, 8, 8], [1, 512, 4, 4], None, None),
    ("BasicBlock", 2, [1, 512, 4, 4], [1, 512, 4, 4], None, None),
    ("AdaptiveAvgPool2d", 1, [1, 512, 4, 4], [1, 512, 1, 1], None, None),
    ("Linear", 1, [1, 512], [1, 2], None, 1026),
]

# Seed 000, ResNet-50 table (1x116x116, 2 classes): output shapes of the depth-1 rows.
SEED_RESNET50_STAGES = [
    ("Conv2d", [1, 64, 58, 58], 3136),
    ("BatchNorm2d", [1, 64, 58, 58], 128),
    ("ReLU", [1, 64, 58, 58], None),
    ("MaxPool2d", [1, 64, 29, 29], None),
    ("Sequential", [1, 256, 29, 29], None),
    ("Sequential", [1, 512, 15, 15], None),
    ("Sequential", [1, 1024, 8, 8], None),
    ("Sequential", [1, 2048, 4, 4], None),
    ("AdaptiveAvgPool2d", [1, 2048, 1, 1], None),
    ("Linear", [1, 2], 4098),
]


def seed18():
    return cached_trace("resnet18", "1x116x116", num_classes=2)


def test_resnet18_rows_equal_seed_table():
    trace = seed18()
    rows = [layer for layer in trace.layers if layer.depth <= 2]
    assert len(rows) == len(SEED_RESNET18)
    for layer, (typ, depth, inp, out, kernel, params) in zip(rows, SEED_RESNET18):
        assert (layer.type, layer.depth, list(layer.input_shape), list(layer.output_shape)) == (typ, depth, inp, out)
        if kernel is not None:
            k = layer.attr("kernel_size")
            assert (str(list(k)) if isinstance(k, tuple) else str(k)) == kernel
        if params is not None:
            assert layer.params == params


def test_resnet18_totals_equal_seed():
    trace = seed18()
    assert trace.total_params == 11_171_266
    assert trace.trainable_params == 11_171_266
    sizes = summary_totals(trace)
    # Seed: Input size 0.05, Forward/backward 11.16, Params 44.69, Total 55.90 (MB).
    assert f"{sizes['input_bytes'] / 1e6:.2f}" == "0.05"
    assert f"{sizes['forward_backward_bytes'] / 1e6:.2f}" == "11.16"
    assert f"{sizes['param_bytes'] / 1e6:.2f}" == "44.69"
    assert f"{sizes['total_bytes'] / 1e6:.2f}" == "55.90"
    table = render_table(trace, depth=2)
    assert "Total params: 11,171,266" in table
    assert "Units." not in table and "Total mult-adds (M): " in table


def test_resnet18_mult_adds_by_hand():
    # Hand arithmetic, Cout·Cin·k²·Hout·Wout per convolution, with sizes 58, 29, 15, 8, 4:
    conv1 = 64 * 1 * 49 * 58 * 58  # 10,549,504
    layer1 = 4 * 64 * 64 * 9 * 29 * 29
    layer2 = 128 * 64 * 9 * 15 * 15 + 3 * 128 * 128 * 9 * 15 * 15 + 128 * 64 * 15 * 15
    layer3 = 256 * 128 * 9 * 8 * 8 + 3 * 256 * 256 * 9 * 8 * 8 + 256 * 128 * 8 * 8
    layer4 = 512 * 256 * 9 * 4 * 4 + 3 * 512 * 512 * 9 * 4 * 4 + 512 * 256 * 4 * 4
    fc = 512 * 2
    expected = conv1 + layer1 + layer2 + layer3 + layer4 + fc
    assert expected == 520_961_280
    trace = seed18()
    assert trace.mult_adds == expected
    assert trace.layers[1].name == "conv1" and trace.layers[1].mult_adds == conv1


def test_seed_520_97_is_torchinfo_counting_batchnorm():
    """The seed prints 520.97 M: torchinfo adds BatchNorm's 9,600 and the fc bias's 2."""
    trace = seed18()
    bn_params = sum(layer.params for layer in trace.layers if layer.type == "BatchNorm2d")
    assert bn_params == 9_600
    assert torchinfo_mult_adds(trace) == trace.mult_adds + bn_params + 2
    assert f"{torchinfo_mult_adds(trace) / 1e6:.2f}" == "520.97"


def test_torchinfo_estimate_matches_torchinfo_itself():
    import torchinfo

    model = archdoc.get_model("resnet18", in_channels=1, num_classes=2)
    stats = torchinfo.summary(model, input_size=(1, 1, 116, 116), verbose=0, device="cpu")
    assert torchinfo_mult_adds(seed18()) == stats.total_mult_adds
    assert stats.total_params == seed18().total_params


def test_resnet50_stages_equal_seed():
    trace = cached_trace("resnet50", "1x116x116", num_classes=2)
    rows = [layer for layer in trace.layers if layer.depth == 1]
    assert [(r.type, list(r.output_shape)) for r in rows] == [(t, s) for t, s, _ in SEED_RESNET50_STAGES]
    for row, (_, _, params) in zip(rows, SEED_RESNET50_STAGES):
        if params is not None:
            assert row.params == params
    assert trace.total_params == 23_505_858
    assert f"{trace.mult_adds / 1e9:.2f}" == "1.22"
    sizes = summary_totals(trace)
    # Seed: Forward/backward 50.98, Params 94.02, Total 145.05 (MB).
    assert f"{sizes['forward_backward_bytes'] / 1e6:.2f}" == "50.98"
    assert f"{sizes['param_bytes'] / 1e6:.2f}" == "94.02"
    assert f"{sizes['total_bytes'] / 1e6:.2f}" == "145.05"


def test_seed_first_resnet50_block_does_not_downsample():
    """Seed 000 labels it Bottleneck/2; the trace shows its spatial size is unchanged."""
    trace = cached_trace("resnet50", "1x116x116", num_classes=2)
    first = next(layer for layer in trace.layers if layer.name == "layer1.0")
    assert first.input_shape[2:] == first.output_shape[2:] == (29, 29)


class Tied(nn.Module):
    """Embedding and output projection share one weight."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Linear(8, 16, bias=False)
        self.out = nn.Linear(16, 8, bias=False)
        self.out.weight = nn.Parameter(self.embed.weight.t().contiguous())
        self.proj = nn.Linear(16, 16)
        self.proj2 = nn.Linear(16, 16)
        self.proj2.weight = self.proj.weight  # tied

    def forward(self, x):
        return self.out(self.proj2(self.proj(self.embed(x))))


def test_shared_parameters_count_once():
    model = Tied()
    trace = archdoc.trace(model, (8,))
    assert trace.total_params == sum(p.numel() for p in model.parameters())
    # Hand count: embed 128, out 128, proj 256 + 16, proj2 bias 16 (weight shared).
    assert trace.total_params == 128 + 128 + 256 + 16 + 16
    assert trace.shared_params == 256
    flagged = {layer.name for layer in trace.layers if layer.shared_params}
    assert flagged == {"proj", "proj2"}
    assert "(shared)" in render_table(trace)


class Twice(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = nn.Linear(4, 4)

    def forward(self, x):
        return self.block(self.block(x))


def test_module_called_twice_is_recorded_twice():
    trace = archdoc.trace(Twice(), (4,))
    calls = [layer for layer in trace.layers if layer.name == "block"]
    assert len(calls) == 2
    assert calls[0].repeat_of is None and calls[1].repeat_of == calls[0].index
    assert trace.total_params == 20
    assert trace.mult_adds == 2 * 16


def _snapshot(model: nn.Module):
    return (
        model.training,
        [(n, p.device, p.requires_grad, p.detach().clone()) for n, p in model.named_parameters()],
        [(n, b.detach().clone()) for n, b in model.named_buffers()],
        [(n, len(m._forward_hooks), len(m._forward_pre_hooks)) for n, m in model.named_modules()],
    )


def _same(a, b) -> bool:
    if a[0] != b[0] or a[3] != b[3]:
        return False
    for (n1, d1, r1, t1), (n2, d2, r2, t2) in zip(a[1], b[1]):
        if (n1, d1, r1) != (n2, d2, r2) or not torch.equal(t1, t2):
            return False
    return all(n1 == n2 and torch.equal(t1, t2) for (n1, t1), (n2, t2) in zip(a[2], b[2]))


@pytest.mark.parametrize("training", [True, False])
def test_user_model_is_never_mutated(training):
    torch.manual_seed(0)
    model = archdoc.get_model("resnet18", num_classes=3)
    model.train(training)
    model.layer1[0].bn1.weight.requires_grad_(False)
    before = _snapshot(model)
    trace = archdoc.trace(model, (3, 64, 64))
    assert trace.total_params == sum(p.numel() for p in model.parameters())
    assert trace.trainable_params == trace.total_params - 64
    assert _same(before, _snapshot(model))
    # And when tracing fails.
    with pytest.raises(InputError, match="expects 3 input channels"):
        archdoc.trace(model, (5, 64, 64))
    assert _same(before, _snapshot(model))
    assert next(model.parameters()).device.type == "cpu"


def test_trace_is_immutable():
    trace = seed18()
    with pytest.raises(AttributeError):
        trace.total_params = 1  # type: ignore[misc]
    with pytest.raises(AttributeError):
        trace.layers[0].params = 1  # type: ignore[misc]


def test_output_is_deterministic():
    a = archdoc.trace("resnet18", "1x116x116", num_classes=2)
    b = archdoc.trace("resnet18", "1x116x116", num_classes=2)
    assert render_json(a) == render_json(b)
    assert archdoc.render_page(a) == archdoc.render_page(b)


def test_json_record():
    data = json.loads(render_json(seed18()))
    assert data["model"] == "resnet18"
    assert data["input_size"] == [1, 116, 116]
    assert data["output_shape"] == [1, 2]
    assert data["total_params"] == 11_171_266 and isinstance(data["total_params"], int)
    assert data["trainable_params"] == 11_171_266
    assert data["mult_adds"] == 520_961_280
    conv1 = data["layers"][1]
    assert conv1 == {**conv1, "name": "conv1", "type": "Conv2d", "input_shape": [1, 1, 116, 116],
                     "output_shape": [1, 64, 58, 58], "params": 3136, "mult_adds": 10_549_504}


def test_dataflow_has_the_residual_additions():
    trace = seed18()
    adds = [n for n in trace.dataflow if n.op == "call_function" and n.target == "add"]
    assert len(adds) == 8  # one per BasicBlock
    downsample = [n for n in trace.dataflow if n.op == "call_module" and n.target.endswith("downsample.0")]
    assert len(downsample) == 3


class DataDependent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(4, 4)
        self.b = nn.Linear(4, 2)

    def forward(self, x):
        y = self.a(x)
        if x.shape[0] > 0 and y.sum() > 0:  # fx cannot trace a branch on values
            y = -y
        return self.b(y)


def test_a_branch_on_values_is_recorded_as_it_ran():
    trace = archdoc.trace(DataDependent(), (4,), device="cpu")
    assert [layer.name for layer in trace.layers] == ["", "a", "b"]
    # The test of the sum, then the branch that ran (a negation, or none) into b.
    flow = {n.name: n for n in trace.dataflow}
    assert flow["a"].inputs == ("x",) and flow["sum"].inputs == ("a",)
    assert flow["b"].inputs in (("neg",), ("a",))
    assert flow["output"].inputs == ("b",)


def test_batch_scales_mult_adds_not_params():
    one = cached_trace("resnet18", "3x64x64")
    eight = archdoc.trace("resnet18", "3x64x64", batch=8)
    assert eight.total_params == one.total_params
    assert eight.mult_adds == 8 * one.mult_adds
    assert eight.output_shape == (8, 1000)


def test_large_input_costs_no_memory():
    # 16 x 3 x 1024 x 1024 on meta: nothing is allocated; shapes still exact.
    trace = archdoc.trace("resnet50", (3, 1024, 1024), batch=16)
    assert trace.output_shape == (16, 1000)
    stem = trace.layers[1]
    assert stem.output_shape == (16, 64, 512, 512)
    assert math.prod(stem.output_shape) * 4 > 1e9  # would be over 1 GB if it were real


def test_transformer_counts_by_hand_and_has_no_minimum_size():
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(32, 4, 64, batch_first=True)
    model = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
    trace = archdoc.trace(model, (10, 32))
    assert trace.total_params == sum(p.numel() for p in model.parameters())
    # Per layer, 10 tokens of width 32: in-projection 10·32·96, scores 4·10·10·8, weighted
    # values 4·10·10·8, out-projection 10·32·32, feed-forward 2·10·32·64.
    per_layer = 10 * 32 * 96 + 2 * 4 * 10 * 10 * 8 + 10 * 32 * 32 + 2 * 10 * 32 * 64
    assert trace.mult_adds == 2 * per_layer
    assert trace.minimum_input is None


def test_lstm_with_token_ids_counts_by_hand():
    class Classifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(100, 16)
            self.lstm = nn.LSTM(16, 32, batch_first=True)
            self.fc = nn.Linear(32, 4)

        def forward(self, x):
            out, _ = self.lstm(self.emb(x))
            return self.fc(out[:, -1])

    model = Classifier()
    trace = archdoc.trace(model, "12:int64")
    assert trace.inputs[0].dtype == "int64"
    assert trace.total_params == 1600 + 4 * 32 * (16 + 32 + 2) + 32 * 4 + 4
    # Four gates, 12 steps: 12·4·32·(16 + 32), then the classifier 32·4.
    assert trace.mult_adds == 12 * 4 * 32 * (16 + 32) + 32 * 4
    assert trace.output_shape == (1, 4)


def test_building_on_meta_places_and_skips_as_the_device_context_would():
    from archdoc.tracing.build import building_on

    with building_on("meta"):
        assert torch.get_default_device() == torch.device("meta")  # as under torch.device("meta")
        layer = nn.Linear(2, 3)
        made = torch.zeros(2)
        on_cpu = torch.zeros(2, device="cpu")
        on_cpu.normal_()  # real values: initialised (skipping on meta is what keeps a render free
        # of torch._dynamo: test_metaops.test_a_render_imports_neither_sympy_nor_dynamo)
    assert layer.weight.is_meta and layer.bias.is_meta and made.is_meta
    assert on_cpu.device.type == "cpu" and bool((on_cpu != 0).any())
    assert torch.get_default_device() == torch.device("cpu")

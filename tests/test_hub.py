"""Models from the big hubs, by their patterns: TF "SAME" padding, builders that read values,
attention on any device, named inputs, configuration objects, value reads, clips.

Every expected figure is worked out by hand in the comment beside it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel

import archdoc
from archdoc.arithmetic import arithmetic_rows, check_arithmetic, render_arithmetic
from archdoc.calls import ImportCall, decode_value, encode_value, parse_import_call
from archdoc.errors import ArchdocError, BuildError, InputError, InputSpecError, TraceError, UntrustedCodeError
from archdoc.lock import lock_record
from archdoc.marker import parse_marker
from archdoc.request import ModelRequest, OptionError, parse_setting, parse_site_entries
from hub_models import (
    Detector,
    MhaBlock,
    SdpaBlock,
    SecretStride,
    TfStem,
    TinySeq2Seq,
    TinyVideoNet,
    WidthSchedule,
)
from test_cli import assert_clean_error, run

TESTS = Path(__file__).parent

# ------------------------------------------------------------------ explicit padding


def _rows(model: nn.Module, size: str) -> list:
    return arithmetic_rows(archdoc.trace(model, size, input_range=False))


def test_tf_same_padding_at_an_odd_size():
    # 299, k 3, s 2: TF pads (⌈299/2⌉ − 1)·2 + 3 − 299 = 2, one on each side: ⌊(299 + 1 + 1 − 3)/2⌋ + 1 = 150.
    # conv2 (k 4, s 1) pads 3, the odd one after: ⌊(150 + 1 + 2 − 4)/1⌋ + 1 = 150.
    # Then F.pad (0, 1) in the model's own forward: 150 + 0 + 1 = 151; MaxPool 2: ⌊(151 − 2)/2⌋ + 1 = 75.
    rows = _rows(TfStem(), "3x299x299")
    assert [(r.layer, r.operation, r.formula) for r in rows] == [
        ("conv_stem", "TfSameConv2d 3×3/2, pad 1+1 (F.pad)", "⌊(299 + 1 + 1 − 3) / 2⌋ + 1 = 150"),
        ("conv2", "TfSameConv2d 4×4, pad 1+2 (F.pad)", "⌊(150 + 1 + 2 − 4) / 1⌋ + 1 = 150"),
        ("TfStem", "F.pad 0+1", "150 + 0 + 1 = 151"),
        ("pool", "MaxPool2d 2×2/2", "⌊(151 − 2) / 2⌋ + 1 = 75"),
    ]
    assert all(r.explained for r in rows)


def test_tf_same_padding_at_an_even_size_is_asymmetric():
    # 300, k 3, s 2: (150 − 1)·2 + 3 − 300 = 1, all of it after: ⌊(300 + 0 + 1 − 3)/2⌋ + 1 = 150.
    rows = _rows(TfStem(), "3x300x300")
    assert rows[0].formula == "⌊(300 + 0 + 1 − 3) / 2⌋ + 1 = 150"
    assert rows[0].operation == "TfSameConv2d 3×3/2, pad 0+1 (F.pad)"
    # Every output agrees with the same model run on real tensors.
    real = TfStem()(torch.zeros(1, 3, 300, 300))
    assert rows[-1].output == tuple(real.shape[1:]) == (8, 75, 75)


@pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel")
def test_same_padding_shows_the_padding_pytorch_adds():
    # "same", k 4: 3 in all, 1 before and 2 after; k 3 dilation 2: 4, 2 and 2.
    model = nn.Sequential(nn.Conv2d(3, 4, 4, padding="same"), nn.Conv2d(4, 4, 3, padding="same", dilation=2))
    rows = _rows(model, "3x10x10")
    assert rows[0].formula == "⌊(10 + 1 + 2 − 4) / 1⌋ + 1 = 10"
    assert rows[1].formula == "⌊(10 + 2 + 2 − 2·(3 − 1) − 1) / 1⌋ + 1 = 10"
    assert len(rows) == 2  # PyTorch's own F.pad for the odd pixel is part of the first row


def test_a_formula_that_does_not_hold_is_said_never_raised():
    # SecretStride says stride 2 but runs stride 1: ⌊(9 − 3)/2⌋ + 1 = 4 against the traced 7.
    trace = archdoc.trace(nn.Sequential(SecretStride(1, 1, 3, stride=2)), "1x9x9", input_range=False)
    (row,) = arithmetic_rows(trace)
    assert not row.explained
    assert row.formula.startswith("not explained: the layer's attributes give 4, the trace has 7×7")
    assert "not explained" in render_arithmetic(trace)
    assert "not explained" in archdoc.render_page(trace)
    with pytest.raises(ArchdocError, match="the trace has 7×7"):
        check_arithmetic(trace)
    result = run("render", "hub_models:SecretStride", "--set", "in_channels=1", "--set", "out_channels=1",
                 "--set", "kernel_size=3", "--set", "stride=2", "--input", "1x9x9", "--format", "shapes")
    assert result.exit_code == 0, result.output
    assert "not explained" in result.output


# ------------------------------------------------------------------ builders that need values


def test_a_builder_that_reads_values_is_built_on_the_cpu_and_traced_on_meta():
    # Widths 16, 24, 32 (16·1.5² = 36 → round(4.5) = 4 → 32), two 3×3 convs each:
    # 448 + 2,320 + 3,480 + 5,208 + 6,944 + 9,248 conv parameters, and Linear 32 → 10: 330. Total 27,978.
    trace = archdoc.trace("hub_models:WidthSchedule", "3x32x32")
    assert trace.total_params == 27_978
    assert trace.device == "meta"
    assert trace.built_with_values.startswith("tests/hub_models.py:")
    assert ".tolist()" in trace.built_with_values
    page = archdoc.render_page(trace)
    assert "**Built on the CPU first.**" in page and "no weights were filled" in page
    assert json.loads(archdoc.render_json(trace))["built_with_values"] == trace.built_with_values


def test_building_with_values_leaves_no_weight_on_the_cpu():
    from archdoc.tracing.build import building_with_values

    with building_with_values():
        model = WidthSchedule()
    tensors = [*model.parameters(), *model.buffers()]
    assert tensors and all(t.is_meta for t in tensors)
    # The plain tensor attribute is not registered; it follows when the build ends (see resolve).
    assert not model.offset.is_meta


def test_a_user_instance_keeps_plain_tensors_with_its_weights():
    # The instance is built by the user on the CPU; its plain tensor `offset` goes to meta with the copy.
    trace = archdoc.trace(WidthSchedule(), "3x32x32", input_range=False)
    assert trace.total_params == 27_978 and trace.built_with_values is None


def test_a_builder_failing_for_another_reason_is_not_retried():
    with pytest.raises(BuildError, match="width must be even"):
        archdoc.trace("hub_models:failing_builder", "3x8x8")


# ------------------------------------------------------------------ attention on any device

# SdpaBlock at 10 tokens × 64: qkv 10·64·192 = 122,880, proj 10·64·64 = 40,960,
# attention 2 · (4 heads · 10 · 10 · 16) = 12,800. Total 176,640.
SDPA_MULT_ADDS = 176_640


@pytest.mark.parametrize("backend", [None, SDPBackend.MATH, SDPBackend.FLASH_ATTENTION])
@pytest.mark.parametrize("causal", [False, True])
def test_sdpa_counts_the_same_on_cpu_and_meta(backend, causal):
    def count(device: str) -> int:
        model = SdpaBlock(causal=causal)
        if backend is None:
            return archdoc.trace(model, "10x64", device=device).mult_adds
        with sdpa_kernel([backend]):
            return archdoc.trace(model, "10x64", device=device).mult_adds

    # A causal mask halves no multiply-accumulate that the math path runs: counted in full on both.
    assert count("meta") == count("cpu") == SDPA_MULT_ADDS


def test_multihead_attention_and_encoder_layers_count_the_same_on_cpu_and_meta():
    # MultiheadAttention(64, 4) at 10 tokens: in-projection 10·64·192, out-projection 10·64·64,
    # attention 12,800, as above: 176,640.
    assert archdoc.trace(MhaBlock(), "10x64").mult_adds == SDPA_MULT_ADDS
    assert archdoc.trace(MhaBlock(), "10x64", device="cpu").mult_adds == SDPA_MULT_ADDS
    # TransformerEncoderLayer(64, 4, 128) adds the feed-forward 10·64·128 + 10·128·64 = 163,840.
    layer = nn.TransformerEncoderLayer(64, 4, 128, batch_first=True)
    assert archdoc.trace(layer, "10x64", device="cpu").mult_adds == SDPA_MULT_ADDS + 163_840
    assert archdoc.trace(layer, "10x64").mult_adds == SDPA_MULT_ADDS + 163_840
    assert torch.backends.mha.get_fastpath_enabled()  # the fast path is only off while tracing


# ------------------------------------------------------------------ named inputs

# TinySeq2Seq: embedding 100·16 = 1,600 (tied with lm_head, counted once), encoder 16·16 + 16,
# decoder 32·16 + 16: 2,400 parameters. Mult-adds at 12 source and 5 target tokens:
# encoder 12·16·16 = 3,072, decoder 5·32·16 = 2,560, lm_head 5·16·100 = 8,000: 13,632.


def test_named_inputs_from_python():
    trace = archdoc.trace(TinySeq2Seq(), {"input_ids": "12:int64", "decoder_input_ids": "5:int64"})
    assert (trace.total_params, trace.mult_adds, trace.output_shape) == (2_400, 13_632, (1, 5, 100))
    assert [n.name for n in trace.dataflow if n.op == "placeholder"] == ["input_ids", "decoder_input_ids"]
    page = archdoc.render_page(trace)
    assert "| Input | `input_ids` 12 (int64); `decoder_input_ids` 5 (int64) (batch 1) |" in page
    assert 'archdoc.trace("TinySeq2Seq", {"input_ids": "12:int64", "decoder_input_ids": "5:int64"})' in page


def test_named_inputs_on_the_command_line():
    result = run("render", "hub_models:TinySeq2Seq", "--input", "input_ids=12:int64",
                 "--input", "decoder_input_ids=5:int64", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["inputs"] == [
        {"shape": [12], "dtype": "int64", "name": "input_ids"},
        {"shape": [5], "dtype": "int64", "name": "decoder_input_ids"},
    ]
    assert data["mult_adds"] == 13_632
    page = run("render", "hub_models:TinySeq2Seq", "--input", "input_ids=12:int64", "--input", "decoder_input_ids=5:int64")
    assert "archdoc render hub_models:TinySeq2Seq --input input_ids=12:int64 --input decoder_input_ids=5:int64" in page.output


def test_the_second_positional_input_goes_to_the_second_parameter():
    # Given by position, 5 tokens land in attention_mask and the decoder gets nothing: the model's own error.
    failed = run("render", "hub_models:TinySeq2Seq", "--input", "12:int64", "--input", "5:int64")
    assert_clean_error(failed, 1)
    assert "You must specify exactly one of input_ids or inputs_embeds" in failed.output
    assert "tests/hub_models.py:" in failed.output


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (["input_ids=12:int64", "decoder_ids=5:int64"], "has no parameter 'decoder_ids'"),
        (["12:int64", "input_ids=5:int64"], "input input_ids is given twice"),
    ],
)
def test_named_inputs_the_model_cannot_take(inputs, message):
    with pytest.raises(InputError, match=message):
        archdoc.trace(TinySeq2Seq(), inputs)


@pytest.mark.parametrize("inputs", [["a=1", "3x4"], ["a=1", "a=2"], ["2bad=1"]])
def test_named_inputs_malformed(inputs):
    with pytest.raises(InputSpecError):
        ModelRequest.from_options("hub_models:TinySeq2Seq", inputs)


def test_named_inputs_in_mkdocs_yml_and_markers():
    (entry,) = parse_site_entries([{"name": "hub_models:TinySeq2Seq", "input": {"input_ids": "12:int64", "decoder_input_ids": "5:int64"}}])
    assert [str(s) for s in entry.request.inputs] == ["input_ids=12:int64", "decoder_input_ids=5:int64"]
    request, _ = parse_marker("hub_models:TinySeq2Seq --input input_ids=12:int64 --input decoder_input_ids=5:int64")
    assert request == entry.request


# ------------------------------------------------------------------ builder arguments from an import path

# ConfiguredModel(TinyConfig(layers=3, width=8)): embedding 50·8 = 400, three Linear(8, 8): 3·72 = 216. Total 616.


def test_an_import_call_is_parsed_not_evaluated():
    call = parse_import_call("hub_models:TinyConfig(3, width=8, vocab=50)")
    assert call == ImportCall("hub_models:TinyConfig", (3,), (("width", 8), ("vocab", 50)))
    assert repr(call) == "hub_models:TinyConfig(3, width=8, vocab=50)"
    assert parse_setting("norm=torch.nn:BatchNorm2d") == ("norm", ImportCall("torch.nn:BatchNorm2d", called=False))
    assert parse_setting("name='a:b'") == ("name", "a:b")  # a quoted literal stays text
    for text in (
        "config=m:C(__import__('os').system('true'))",
        "config=m:C(x=y)",
        "config=m:C(*args)",
        "config=m:C(**kw)",
        "config=m:C(lambda: 1)",
        "config=m:C(1 if True else 2)",
    ):
        with pytest.raises(OptionError):
            parse_setting(text)


def test_a_config_object_from_the_command_line():
    result = run("render", "hub_models:ConfiguredModel", "--input", "7:int64",
                 "--set", "config=hub_models:TinyConfig(layers=3, width=8)", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["total_params"] == 616
    assert data["builder_kwargs"] == {"config": "hub_models:TinyConfig(layers=3, width=8)"}
    page = run("render", "hub_models:ConfiguredModel", "--input", "7:int64", "--set", "config=hub_models:TinyConfig(layers=3, width=8)")
    assert "--set 'config=hub_models:TinyConfig(layers=3, width=8)'" in page.output
    assert 'config=archdoc.import_call("hub_models:TinyConfig(layers=3, width=8)"))' in page.output
    missing = run("render", "hub_models:ConfiguredModel", "--input", "7:int64")
    assert_clean_error(missing, 1)
    assert "--set 'config=package.module:Name(key=value, ...)'" in missing.output


def test_a_config_object_in_mkdocs_yml_markers_and_the_lock(monkeypatch):
    monkeypatch.chdir(TESTS)  # the project's own code, as a data file may name it
    (entry,) = parse_site_entries(
        [{"name": "hub_models:ConfiguredModel", "input": "7:int64", "set": {"config": "hub_models:TinyConfig(layers=3, width=8)"}}]
    )
    request, _ = parse_marker("hub_models:ConfiguredModel --input 7:int64 --set 'config=hub_models:TinyConfig(layers=3, width=8)'")
    assert request == entry.request
    trace = entry.request.trace()
    assert trace.total_params == 616
    record = lock_record(entry.request, trace)
    assert record["kwargs"] == {"config": {"import_call": "hub_models:TinyConfig(layers=3, width=8)"}}
    again = ModelRequest.from_record(json.loads(json.dumps(record)))
    assert again.kwargs == entry.request.kwargs and again.trace().total_params == 616
    assert decode_value(encode_value(5)) == 5


def test_a_data_file_may_not_name_other_code_in_an_argument(monkeypatch):
    monkeypatch.chdir(TESTS)  # the model is the project's own; the argument's code is not
    request, _ = parse_marker("hub_models:ConfiguredModel --input 7:int64 --set 'config=torch.nn:Identity()'")
    with pytest.raises(UntrustedCodeError, match="'torch' is neither"):
        request.trace()
    trusted, _ = parse_marker("hub_models:ConfiguredModel --input 7:int64 --set 'config=torch.nn:Identity()'", ["torch"])
    with pytest.raises(BuildError, match="Identity"):  # trusted, imported and called, but no config
        trusted.trace()
    with pytest.raises(UntrustedCodeError, match="standard library"):
        parse_marker("hub_models:ConfiguredModel --set 'config=os:getcwd()'")[0].trace()  # before any import


# ------------------------------------------------------------------ models that read values


def test_a_value_read_names_module_op_line_and_way_forward():
    with pytest.raises(TraceError) as caught:
        archdoc.trace(Detector(), "3x16x16")
    message = str(caught.value)
    assert "head (ScoreFilter) reads tensor values (aten.index: indexing with a boolean mask" in message
    assert "at tests/hub_models.py:" in message and "(return scores[scores.sigmoid() > 0.5])" in message
    assert "--device cpu" in message
    trace = archdoc.trace(Detector(), "3x16x16", device="cpu")
    assert len(trace.output_shape) == 1  # as many positions as passed: a value-dependent size


def test_every_other_failure_names_the_line_and_what_to_do():
    model = nn.Sequential(nn.Flatten(), nn.Linear(10, 2))
    with pytest.raises(ArchdocError) as caught:
        archdoc.trace(model, "3x4x4")  # 48 features into Linear(10)
    assert "expects 10 features but gets 48" in str(caught.value)


# ------------------------------------------------------------------ clips


def test_a_clip_model_has_a_minimum_per_axis():
    # Frames: conv k3 → pool 2 → conv k3 needs T ≥ 8: T − 2 ≥ 6 so that ⌊(T − 2 − 2)/2⌋ + 1 ≥ 3.
    # Height and width: ⌊(H − 1)/2⌋ + 1 ≥ 6 before the pool, so H ≥ 11.
    trace = archdoc.trace(TinyVideoNet(), "3x16x64x64")
    assert trace.minimum_input == (8, 11, 11)
    assert "| Minimum input | 8 × 11 × 11 (T × H × W) |" in archdoc.render_page(trace)
    with pytest.raises(InputError, match=r"the minimum input is 8×11×11 \(T×H×W\)") as caught:
        archdoc.trace(TinyVideoNet(), "3x4x64x64")
    assert caught.value.minimum == (8, 11, 11)


def test_a_clip_model_arithmetic_names_its_axes():
    rows = {r.layer: r for r in _rows(TinyVideoNet(), "3x16x64x64")}
    # T: ⌊(16 − 3)/1⌋ + 1 = 14; H, W: ⌊(64 + 2 − 3)/2⌋ + 1 = 32.
    assert rows["stem"].formula == "T: ⌊(16 − 3) / 1⌋ + 1 = 14; H: ⌊(64 + 2·1 − 3) / 2⌋ + 1 = 32; W: ⌊(64 + 2·1 − 3) / 2⌋ + 1 = 32"


def test_a_zoo_model_with_the_wrong_number_of_axes_names_them():
    with pytest.raises(InputError, match=r"3-dimensional inputs \(C×H×W, batch excluded\)"):
        archdoc.trace("resnet18", "3x8x32x32")

"""Models outside the zoo (tests/user_models.py), loaded by import path, against hand arithmetic.

Every expected number below is worked out by hand from the layer sizes, then
cross-checked against ``sum(p.numel() for p in model.parameters())``, which
counts a tied tensor once, like archdoc.
"""

from __future__ import annotations

import functools
import re
import types
from collections.abc import Iterator

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import archdoc
import user_models
from archdoc.errors import TraceError
from archdoc.diagram import block_figures, network_diagram
from archdoc.render import render
from archdoc.zoo.googlenet import GoogLeNet
from archdoc.table import render_table


@functools.lru_cache(maxsize=None)
def traced(spec: str, inputs: tuple[str, ...], device: str = "meta"):
    return archdoc.trace(spec, list(inputs), device=device)


def plain_count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def conv(cout: int, cin: int, k: int) -> int:
    """Parameters of a k×k convolution with bias."""
    return cout * cin * k * k + cout


def assert_page(spec: str, inputs: list[str], params: int, mult_adds: int, output: str, **kwargs) -> str:
    page = render(spec, inputs, fmt="markdown", **kwargs)
    assert page.startswith(f"# {spec.partition(':')[2]}\n")
    assert f"| Parameters | {params:,} (all trainable)" in page
    assert f"({mult_adds:,}) at batch 1 |" in page
    assert f"| Output | {output} |" in page
    assert f"archdoc render {spec} " + " ".join(f"--input {i}" for i in inputs) in page
    return page


def assert_diagrams_parse(trace, mermaid) -> None:
    texts = [network_diagram(trace, depth) for depth in (0, 1)] + [b.figure.text for b in block_figures(trace)]
    for text in texts:
        ok, error = mermaid.parse(text)
        assert ok, f"{error}\n{text}"


# ------------------------------------------------------------------ U-Net


# 3×32×32 in, width 8: encoder at 32² and 16², bottleneck at 8², decoder back up.
UNET_PARAMS = (
    conv(8, 3, 3) + conv(8, 8, 3)  # enc1: 224 + 584
    + conv(16, 8, 3) + conv(16, 16, 3)  # enc2
    + conv(32, 16, 3) + conv(32, 32, 3)  # bottleneck
    + (32 * 16 * 2 * 2 + 16)  # up2, ConvTranspose 32→16, 2×2
    + conv(16, 32, 3) + conv(16, 16, 3)  # dec2 takes cat(up2, enc2): 16 + 16 channels
    + (16 * 8 * 2 * 2 + 8)  # up1
    + conv(8, 16, 3) + conv(8, 8, 3)  # dec1 takes cat(up1, enc1): 8 + 8 channels
    + conv(2, 8, 1)  # head
)
# Mult-adds of a convolution: Cout·Cin·k²·Hout·Wout. A transposed 2×2 convolution with
# stride 2 touches each output pixel once per input channel: Cout·Cin·Hout·Wout.
UNET_MULT_ADDS = (
    8 * 3 * 9 * 32 * 32 + 8 * 8 * 9 * 32 * 32  # enc1
    + 16 * 8 * 9 * 16 * 16 + 16 * 16 * 9 * 16 * 16  # enc2
    + 32 * 16 * 9 * 8 * 8 + 32 * 32 * 9 * 8 * 8  # bottleneck
    + 16 * 32 * 16 * 16  # up2
    + 16 * 32 * 9 * 16 * 16 + 16 * 16 * 9 * 16 * 16  # dec2
    + 8 * 16 * 32 * 32  # up1
    + 8 * 16 * 9 * 32 * 32 + 8 * 8 * 9 * 32 * 32  # dec1
    + 2 * 8 * 32 * 32  # head
)


def test_unet_counts_by_hand():
    assert UNET_PARAMS == 29_474 and UNET_PARAMS == plain_count(user_models.UNet())
    trace = traced("user_models:UNet", ("3x32x32",))
    assert trace.total_params == UNET_PARAMS
    assert trace.mult_adds == UNET_MULT_ADDS
    assert trace.output_shapes == ((1, 2, 32, 32),)
    assert (trace.model, trace.display_name, trace.model_type) == ("user_models:UNet", "UNet", "UNet")
    enc1 = next(layer for layer in trace.layers if layer.name == "enc1.0")
    assert enc1.mult_adds == 8 * 3 * 9 * 32 * 32
    up2 = next(layer for layer in trace.layers if layer.name == "up2")
    assert up2.output_shape == (1, 16, 16, 16) and up2.mult_adds == 16 * 32 * 16 * 16
    dec2 = next(layer for layer in trace.layers if layer.name == "dec2")
    assert dec2.input_shape == (1, 32, 16, 16)  # the concatenation doubled the channels


def test_unet_page_and_diagram(mermaid):
    assert_page("user_models:UNet", ["3x32x32"], UNET_PARAMS, UNET_MULT_ADDS, "2 × 32 × 32")
    trace = traced("user_models:UNet", ("3x32x32",))
    text = network_diagram(trace)
    assert text.count('["concat<br/>') == 2  # both skips are drawn as merges
    assert_diagrams_parse(trace, mermaid)


def test_dotted_factory_with_arguments():
    trace = archdoc.trace("user_models:Factories.tiny_unet", "1x16x16", width=2)
    assert trace.display_name == "Factories.tiny_unet"
    assert trace.builder_kwargs == (("width", 2),)
    assert trace.total_params == plain_count(user_models.Factories.tiny_unet(width=2))
    assert trace.output_shapes == ((1, 1, 16, 16),)
    assert trace.minimum_input == (4,) * 2  # two 2× poolings need at least 4×4


# ------------------------------------------------------------------ transformer


# 16 tokens, vocabulary 100, width 32, 4 heads of 8, feed-forward 64, 2 layers.
ENCODER_LAYER_PARAMS = (
    3 * 32 * 32 + 3 * 32  # packed q, k, v in-projection
    + 32 * 32 + 32  # out-projection
    + 32 * 64 + 64 + 64 * 32 + 32  # feed-forward
    + 2 * (32 + 32)  # two LayerNorms
)
TRANSFORMER_PARAMS = 100 * 32 + 2 * ENCODER_LAYER_PARAMS + 32 * 100 + 100
# Per layer: in-projection 16·32·96, scores 4·16·16·8, weighted values 4·16·16·8,
# out-projection 16·32·32, feed-forward 16·32·64 twice. The embedding is a lookup (0).
TRANSFORMER_MULT_ADDS = 2 * (16 * 32 * 96 + 2 * 4 * 16 * 16 * 8 + 16 * 32 * 32 + 2 * 16 * 32 * 64) + 16 * 32 * 100


def test_transformer_counts_by_hand_with_its_default_input():
    assert TRANSFORMER_PARAMS == plain_count(user_models.TokenTransformer())
    trace = archdoc.trace("user_models:TokenTransformer")  # default_input = "16:int64"
    assert [str(s) for s in trace.inputs] == ["16:int64"]
    assert trace.total_params == TRANSFORMER_PARAMS
    assert trace.mult_adds == TRANSFORMER_MULT_ADDS
    assert trace.output_shapes == ((1, 16, 100),)
    assert trace.minimum_input is None


def test_transformer_page_and_diagram(mermaid):
    page = assert_page("user_models:TokenTransformer", ["16:int64"], TRANSFORMER_PARAMS, TRANSFORMER_MULT_ADDS, "16 × 100")
    assert "| Input | 16 (int64) (batch 1) |" in page
    assert_diagrams_parse(traced("user_models:TokenTransformer", ("16:int64",)), mermaid)


# ------------------------------------------------------------------ LSTM


# 12 tokens, vocabulary 50, width 16, hidden 32, 2 layers, 3 classes. Per LSTM layer:
# four gates, each with input weights h·i, recurrent weights h·h and two biases: 4h(i+h) + 8h.
LSTM_PARAMS = 50 * 16 + (4 * 32 * (16 + 32) + 8 * 32) + (4 * 32 * (32 + 32) + 8 * 32) + 32 * 3 + 3
# Each step runs the four gates' products: 4·h·(i + h) per layer, 12 steps; then the classifier.
LSTM_MULT_ADDS = 12 * 4 * 32 * (16 + 32) + 12 * 4 * 32 * (32 + 32) + 32 * 3


def test_lstm_counts_by_hand(mermaid):
    assert LSTM_PARAMS == plain_count(user_models.LSTMClassifier())
    trace = traced("user_models:LSTMClassifier", ("12:int64",))
    assert trace.total_params == LSTM_PARAMS
    assert trace.mult_adds == LSTM_MULT_ADDS
    assert trace.output_shapes == ((1, 3),)
    assert_page("user_models:LSTMClassifier", ["12:int64"], LSTM_PARAMS, LSTM_MULT_ADDS, "3")
    assert_diagrams_parse(trace, mermaid)


# ------------------------------------------------------------------ tied weights


# Embedding 100×16 and decoder 16→100 share one 100×16 matrix; mix is 16→16 with bias.
TIED_PARAMS = 100 * 16 + (16 * 16 + 16)
TIED_MULT_ADDS = 8 * 16 * 16 + 8 * 16 * 100  # 8 tokens through mix, then the decoder


def test_tied_weights_count_once_and_are_flagged(mermaid):
    model = user_models.TiedLM()
    assert TIED_PARAMS == plain_count(model)  # parameters() yields the tied tensor once
    trace = traced("user_models:TiedLM", ("8:int64",))
    assert trace.total_params == TIED_PARAMS
    assert trace.shared_params == 100 * 16
    assert trace.mult_adds == TIED_MULT_ADDS
    assert trace.output_shapes == ((1, 8, 100),)
    assert {layer.name for layer in trace.layers if layer.shared_params} == {"embed", "decoder"}
    table = render_table(trace)
    assert [line.split()[0] for line in table.splitlines() if "(shared)" in line] == ["├─Embedding:", "├─Linear:"]
    text = network_diagram(trace)
    flat = text.replace("\u00a0", " ")
    assert '"Embedding 100 → 16, shared<br/>8 × 16"' in flat and '"Linear 16 → 100, shared<br/>8 × 100"' in flat
    assert '"Linear 16 → 16<br/>8 × 16"' in flat  # mix holds its own weights
    assert_diagrams_parse(trace, mermaid)
    page = render("user_models:TiedLM", ["8:int64"], fmt="markdown")
    assert f"| Parameters | {TIED_PARAMS:,} (all trainable); {100 * 16:,} shared, counted once |" in page


# ------------------------------------------------------------------ dict output


TWO_HEADS_PARAMS = (20 * 32 + 32) + (32 * 5 + 5) + (32 * 1 + 1)
TWO_HEADS_MULT_ADDS = 20 * 32 + 32 * 5 + 32 * 1


def test_two_heads_dict_output(mermaid):
    assert TWO_HEADS_PARAMS == plain_count(user_models.TwoHeads())
    trace = traced("user_models:TwoHeads", ("20",))
    assert trace.total_params == TWO_HEADS_PARAMS
    assert trace.mult_adds == TWO_HEADS_MULT_ADDS
    assert trace.output_shapes == ((1, 5), (1, 1))  # the dict's values, in order
    assert trace.output_names == ("logits", "score")  # its keys, as TwoHeads.forward returns them
    assert_page("user_models:TwoHeads", ["20"], TWO_HEADS_PARAMS, TWO_HEADS_MULT_ADDS, "logits 5; score 1")
    assert '["Output<br/>logits\u00a05#59;\u00a0score\u00a01"]' in network_diagram(trace)
    assert_diagrams_parse(trace, mermaid)


# ------------------------------------------------------------------ several inputs


# Image 3×32×32 through a 3×3 convolution to 8 channels, pooled to 8; vector 10 → 8; 16 → 2.
TWO_INPUT_PARAMS = conv(8, 3, 3) + (10 * 8 + 8) + (16 * 2 + 2)
TWO_INPUT_MULT_ADDS = 8 * 3 * 9 * 32 * 32 + 10 * 8 + 16 * 2


def test_several_inputs(mermaid):
    assert TWO_INPUT_PARAMS == plain_count(user_models.ImageAndVector())
    trace = traced("user_models:ImageAndVector", ("3x32x32", "10"))
    assert trace.input_shapes == ((1, 3, 32, 32), (1, 10))
    assert trace.total_params == TWO_INPUT_PARAMS
    assert trace.mult_adds == TWO_INPUT_MULT_ADDS
    assert trace.output_shapes == ((1, 2),)
    page = assert_page("user_models:ImageAndVector", ["3x32x32", "10"], TWO_INPUT_PARAMS, TWO_INPUT_MULT_ADDS, "2")
    assert "| Input | 3 × 32 × 32; 10 (batch 1) |" in page
    assert_diagrams_parse(trace, mermaid)


# ------------------------------------------------------------------ branch on values


BRANCHY_PARAMS = (8 * 8 + 8) + (8 * 2 + 2)
BRANCHY_MULT_ADDS = 8 * 8 + 8 * 2


def test_branch_on_values_fails_on_meta_with_a_way_out():
    with pytest.raises(TraceError) as info:
        archdoc.trace("user_models:Branchy", "8")
    message = str(info.value)
    assert "aten._local_scalar_dense" in message and "`if` on tensor values" in message
    assert "--device cpu" in message and "user_models.py:" in message
    assert info.value.layer == "Branchy"


def test_branch_on_values_runs_on_cpu(mermaid):
    state = torch.random.get_rng_state()
    trace = traced("user_models:Branchy", ("8",), "cpu")
    assert torch.equal(state, torch.random.get_rng_state())  # seeded without touching the caller's RNG
    assert trace.device == "cpu"
    assert trace.total_params == BRANCHY_PARAMS == plain_count(user_models.Branchy())
    assert trace.mult_adds == BRANCHY_MULT_ADDS
    assert trace.output_shapes == ((1, 2),)
    # The dataflow is what ran: the branch taken, and the test of the sum that nothing else reads.
    ran = [n.target for n in trace.dataflow]
    assert ran[:4] == ["x", "first", "sum", "gt"] and ran[-2:] == ["second", "output"]
    text = network_diagram(trace).replace("\u00a0", " ")
    found = re.findall(r'n\d+\["([^"]*)"\]', text)
    assert found == ["Input<br/>8", "Linear 8 → 8<br/>8", "Linear 8 → 2<br/>2", "Output<br/>2"]  # the test is not drawn
    assert re.findall(r'-->\|"([^"]*)"\|', text) in (["ReLU"], ["neg"])
    assert_diagrams_parse(trace, mermaid)
    page = assert_page("user_models:Branchy", ["8"], BRANCHY_PARAMS, BRANCHY_MULT_ADDS, "2", device="cpu")
    assert "archdoc render user_models:Branchy --input 8 --device cpu\n" in page
    assert 'archdoc.trace("user_models:Branchy", "8", device="cpu")' in page
    assert page == render("user_models:Branchy", ["8"], fmt="markdown", device="cpu")  # seeded: same page


# ------------------------------------------------------------------ 3-D input


# A 3×3×3 convolution 3 → 8 with bias, then a linear 8 → 5.
VIDEO_PARAMS = (8 * 3 * 27 + 8) + (8 * 5 + 5)
# The convolution keeps 8×32×32 = 8,192 positions (padding 1), each 8 · 3 · 27 multiply-adds; then 8 · 5.
VIDEO_MULT_ADDS = 8 * 32 * 32 * 8 * 3 * 27 + 8 * 5


def test_3d_input(mermaid):
    assert VIDEO_PARAMS == plain_count(user_models.Video3D())
    trace = traced("user_models:Video3D", ("3x8x32x32",))
    assert trace.total_params == VIDEO_PARAMS
    assert trace.mult_adds == VIDEO_MULT_ADDS
    assert trace.output_shapes == ((1, 5),)
    pool = next(layer for layer in trace.layers if layer.name == "pool")
    assert pool.output_shape == (1, 8, 4, 16, 16)  # every dimension halved
    # MaxPool3d(2) needs at least 2 in each dimension.
    assert trace.minimum_input == (2, 2, 2)
    page = assert_page("user_models:Video3D", ["3x8x32x32"], VIDEO_PARAMS, VIDEO_MULT_ADDS, "5")
    assert "⌊(8 + 2·1 − 3) / 1⌋ + 1 = 8" in page  # the frame axis through the convolution
    assert_diagrams_parse(trace, mermaid)


# ------------------------------------------------------------------ input-range search


class ChannelsLast(torch.nn.Module):
    """ConvNeXt's pattern: a 4×4/4 stem, a block on channels-last tensors, a 2×2/2 downsampling."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = torch.nn.Conv2d(3, 8, 4, 4)
        self.norm = torch.nn.LayerNorm(8)
        self.mix = torch.nn.Linear(8, 8)
        self.down = torch.nn.Conv2d(8, 16, 2, 2)
        self.head = torch.nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = x + self.mix(self.norm(x.permute(0, 2, 3, 1))).permute(0, 3, 1, 2)
        return self.head(self.down(x).mean((2, 3)))


class Tokens(torch.nn.Module):
    """Swin's pattern: a 4×4/4 patch embedding, then tokens whose reshaping the graph cannot follow."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = torch.nn.Conv2d(3, 8, 4, 4)
        self.head = torch.nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.embed(x).flatten(2).transpose(1, 2)  # (N, H·W, C)
        return self.head(tokens.mean(1))


def count_passes(monkeypatch) -> list[int]:
    from archdoc.tracing.input_range import SizeProbe

    sizes: list[int] = []
    run = SizeProbe._run

    def counted(self, size):
        sizes.append(size)
        return run(self, size)

    monkeypatch.setattr(SizeProbe, "_run", counted)
    return sizes


@pytest.mark.parametrize(
    ("model", "minimum", "most"),
    [
        # ⌊n/4⌋ must reach 2 for the 2×2 downsampling: n ≥ 8. The permutes are followed, so the
        # predicted edge needs only its confirmation (8 runs, 7 fails) and the check at 2 × 64.
        (ChannelsLast, 8, 3),
        # The 4×4/4 embedding needs n ≥ 4. The token reshaping is not followed, so 4 is a lower
        # bound, confirmed at 4 and 3; then 65 and 128 show no upper bound. Bisection from 1 took 10.
        (Tokens, 4, 4),
    ],
)
def test_input_range_search_follows_the_graph(monkeypatch, model, minimum, most):
    sizes = count_passes(monkeypatch)
    trace = archdoc.trace(model(), "3x64x64")
    assert trace.minimum_input == (minimum, minimum)
    assert trace.maximum_input is None
    assert len(sizes) <= most, sizes
    with torch.no_grad(), pytest.raises(RuntimeError):  # one pixel less fails
        model()(torch.empty(1, 3, minimum - 1, minimum - 1))
    assert model()(torch.empty(1, 3, minimum, minimum)).shape == (1, 10)


def read_as_the_zoo_is(monkeypatch, *classes: type) -> None:
    """Count these classes among those whose forward the arithmetic has read (`READ_CLASSES`), as the zoo's
    are, so that a test model meets the rules about its graph rather than the one about unread code."""
    from archdoc.tracing import prediction

    names = {f"{cls.__module__}.{cls.__qualname__}" for cls in classes}
    monkeypatch.setattr(prediction, "READ_CLASSES", prediction.READ_CLASSES | names)


# Graphs that look like ones the size arithmetic vouches for, but where a prediction without
# passes would be wrong. Each is traced at 10×10: a 3×3 convolution without padding gives 8×8.
# Their forwards count as read (`read_as_the_zoo_is`): what they test is the graph.


class _Conv8(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)


class JoinsAPositionMap(_Conv8):
    """A learnt 8×8 map concatenated to the features: only 10×10 runs."""

    def __init__(self) -> None:
        super().__init__()
        self.position = torch.nn.Parameter(torch.zeros(1, 4, 8, 8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.conv(x), self.position], 1)


class JoinsAConstant(_Conv8):
    """An 8×8 constant made in forward, concatenated to the features: only 10×10 runs."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.conv(x), torch.ones(1, 1, 8, 8, device=x.device)], 1)


class FixedView(_Conv8):
    """A view to a hard-coded 4-D shape: only 10×10 runs."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x).view(1, 4, 8, 8) * 2


class SpatialLayerNorm(_Conv8):
    """A layer norm over the 8×8 map itself: only 10×10 runs."""

    def __init__(self) -> None:
        super().__init__()
        self.norm = torch.nn.LayerNorm([8, 8])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.conv(x))


class _IntoHead(_Conv8):
    """The convolution, then ``middle``, flattened into a linear layer of ``features`` inputs."""

    def __init__(self, middle, features: int) -> None:  # noqa: ANN001
        super().__init__()
        self.middle = middle
        self.head = torch.nn.Linear(features, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.flatten(self.middle(self.conv(x)), 1))


class HalfAdaptive(_IntoHead):
    """Adaptive pooling that keeps the height (output size (None, 2)), then a fixed-width head:
    the head needs 4·8·2 features, so the height after the convolution must be 8: only 10 runs."""

    def __init__(self) -> None:
        super().__init__(torch.nn.AdaptiveAvgPool2d((None, 2)), 4 * 8 * 2)


class Crop(_IntoHead):
    """A crop to 8×8 before a fixed-width head: every size from 10 up runs (the crop clamps)."""

    def __init__(self) -> None:
        super().__init__(lambda y: y[:, :, :8, :8], 4 * 8 * 8)


class CroppingConv(torch.nn.Conv2d):
    """A convolution of the user's own class that crops its output to at most 8×8."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x)[:, :, :8, :8]


class OwnConv(torch.nn.Module):
    """A `torch.nn.Conv2d` subclass with its own forward, then a fixed-width head: at 10×10 it
    gives what its attributes say, but the crop lets every size from 10 up run."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = CroppingConv(3, 4, 3)
        self.head = torch.nn.Linear(4 * 8 * 8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.flatten(self.conv(x), 1))


class SumsOverChannelsAndHeight(_Conv8):
    """A sum over channels and height, leaving the width, then a fixed-width head: only 10 runs."""

    def __init__(self, channels: int = 4) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, channels, 3)
        self.head = torch.nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.conv(x).sum((1, 2)))


class SumsOverEightChannelsAndHeight(SumsOverChannelsAndHeight):
    """The same with 8 channels: the width left over (8) looks like the channels a global pooling keeps."""

    def __init__(self) -> None:
        super().__init__(channels=8)


class ResizesTo8(_IntoHead):
    """A resize to 8×8 (which the 10×10 trace keeps as it is) before a fixed-width head: every size
    from 3 up runs, as the 3×3 convolution needs."""

    def __init__(self) -> None:
        super().__init__(torch.nn.Upsample(size=(8, 8)), 4 * 8 * 8)


class JoinsAPooledMap(_Conv8):
    """The features concatenated with an 8×8 adaptive pooling of themselves: only 10×10 runs."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = torch.nn.AdaptiveAvgPool2d(8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return torch.cat([y, self.pool(y)], 1)


@pytest.mark.parametrize(
    ("model", "low", "high"),
    [
        (JoinsAPositionMap, 10, 10),
        (JoinsAConstant, 10, 10),
        (FixedView, 10, 10),
        (SpatialLayerNorm, 10, 10),
        (HalfAdaptive, 10, 10),
        (Crop, 10, None),
        (OwnConv, 10, None),
        (JoinsAPooledMap, 10, 10),
        (ResizesTo8, 3, None),
        (SumsOverChannelsAndHeight, 10, 10),
        (SumsOverEightChannelsAndHeight, 10, 10),
    ],
)
def test_a_range_the_arithmetic_cannot_vouch_for_is_found_by_passes(monkeypatch, model, low, high):
    # Without passes, each would be predicted from what it keeps or changes at 10×10 (3×3 and up,
    # no maximum; or exactly 10 where a fixed-width head follows).
    read_as_the_zoo_is(monkeypatch, model, CroppingConv)
    sizes = count_passes(monkeypatch)
    trace = archdoc.trace(model(), "3x10x10")
    assert trace.minimum_input == (low, low)
    assert trace.maximum_input == (None if high is None else (high, high))
    assert sizes, "the range needed passes"
    with torch.no_grad():
        for size in (low, high or 2 * 10):
            model()(torch.empty(1, 3, size, size))
        for size in (low - 1, high and high + 1):
            if size:
                with pytest.raises(RuntimeError):
                    model()(torch.empty(1, 3, size, size))


class Vouched(torch.nn.Module):
    """Only steps the arithmetic vouches for: windows, batch norm, a residual addition with a
    1×1 stride-2 shortcut, squeeze-and-excitation scaling, a concatenation, a flatten to a
    fixed-width head. By hand: 7×7/2 pad 3 then 3×3/2 pad 1 give ⌈n/4⌉; the residual's 3×3/2
    pad 1 and 1×1/2 agree at ⌈m/2⌉; the head needs 16·2·2 features, so ⌈⌈n/4⌉/2⌉ = 2: n = 9..16."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 7, 2, 3), torch.nn.BatchNorm2d(8), torch.nn.ReLU())
        self.pool = torch.nn.MaxPool2d(3, 2, 1)
        self.body = torch.nn.Conv2d(8, 8, 3, 2, 1)
        self.shortcut = torch.nn.Conv2d(8, 8, 1, 2)
        self.squeeze = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Conv2d(8, 8, 1), torch.nn.Sigmoid())
        self.head = torch.nn.Linear(16 * 2 * 2, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.stem(x))
        y = torch.relu(self.body(x) + self.shortcut(x))
        y = torch.cat([y, y * self.squeeze(y)], 1)
        return self.head(torch.flatten(y, 1))


class PooledGate(torch.nn.Module):
    """Features scaled by an 8×8/8 max pooling of themselves: the gate is 1×1 from 8 to 15, which
    the multiplication broadcasts; at 16 it is 2×2 against 16×16, which it cannot; below 8 the
    pooling gets less than its window."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 1)
        self.gate = torch.nn.MaxPool2d(8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return y * self.gate(y)


class JoinsTwoBranches(torch.nn.Module):
    """An 8×8 convolution (n − 7) and an 8×8/8 pooling (⌊n/8⌋) concatenated: both 1×1 at 8 only;
    at 9 they are 2×2 and 1×1, which a concatenation does not broadcast."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 8)
        self.pool = torch.nn.MaxPool2d(8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.conv(x), self.pool(x)], 1)


@pytest.mark.parametrize(
    ("model", "traced", "low", "high"), [(Vouched, 16, 9, 16), (PooledGate, 10, 8, 15), (JoinsTwoBranches, 8, 8, 8)]
)
def test_a_range_the_arithmetic_vouches_for_takes_no_pass(monkeypatch, model, traced, low, high):
    read_as_the_zoo_is(monkeypatch, model)
    sizes = count_passes(monkeypatch)
    trace = archdoc.trace(model(), f"3x{traced}x{traced}")
    assert sizes == []
    assert (trace.minimum_input, trace.maximum_input) == ((low, low), (high, high))
    with torch.no_grad():
        for size in (low, high):
            model()(torch.empty(1, 3, size, size))
        for size in (low - 1, high + 1):
            with pytest.raises(RuntimeError):
                model()(torch.empty(1, 3, size, size))


class ChecksTheSize(_Conv8):
    """A forward that tests the map's width itself and raises below 7 (n − 2 < 7): every size from
    9 up runs. Its graph is a convolution, a global pooling and a linear layer, as a model that
    runs from 3 up would have; no op shows the test."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.head = torch.nn.Linear(4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        if y.shape[-1] < 7:
            raise RuntimeError(f"a {y.shape[-1]}-wide map is too narrow")
        return self.head(torch.flatten(self.pool(y), 1))


def _sequential() -> torch.nn.Sequential:
    return _pooled_head(torch.nn.Conv2d(3, 4, 3))


def _narrow_input_fails(module: torch.nn.Module, args: tuple) -> None:
    if args[0].shape[-1] < 9:
        raise RuntimeError("too narrow")


def hooked_sequential() -> torch.nn.Sequential:
    """`torch.nn`'s own layers and forwards, and a user's forward pre-hook that refuses inputs below 9."""
    model = _sequential()
    model.register_forward_pre_hook(_narrow_input_fails)
    return model


def sequential_with_its_own_forward() -> torch.nn.Sequential:
    """A `torch.nn.Sequential` whose instance has a forward of its own that refuses inputs below 9."""
    def forward(self: torch.nn.Sequential, x: torch.Tensor) -> torch.Tensor:
        _narrow_input_fails(self, (x,))
        return torch.nn.Sequential.forward(self, x)

    model = _sequential()
    model.forward = types.MethodType(forward, model)  # bound to the instance, so a copy gets its own
    return model


def sequential_with_its_own_call() -> torch.nn.Sequential:
    """A `torch.nn.Sequential` whose instance has a call of its own (``_call_impl``) that refuses inputs below 9."""
    def call(self: torch.nn.Sequential, *args: torch.Tensor, **kwargs: torch.Tensor) -> torch.Tensor:
        _narrow_input_fails(self, args)
        return torch.nn.Module._call_impl(self, *args, **kwargs)

    model = _sequential()
    model._call_impl = types.MethodType(call, model)
    return model


class _NarrowChildrenFail(torch.nn.Sequential):
    """A Sequential of the user's own that only changes how it iterates: its first child refuses inputs
    below 9, though the forward is still torch.nn's."""

    def __iter__(self) -> Iterator:
        first, *rest = super().__iter__()
        return iter([lambda x: first(x) if x.shape[-1] >= 9 else _narrow_input_fails(first, (x,)), *rest])


def sequential_subclass_iterating_its_own_way() -> torch.nn.Sequential:
    return _NarrowChildrenFail(*_sequential())


@pytest.mark.parametrize(
    "make",
    [ChecksTheSize, hooked_sequential, sequential_with_its_own_forward, sequential_with_its_own_call,
     sequential_subclass_iterating_its_own_way],
)
def test_a_size_tested_in_code_the_arithmetic_has_not_read_is_found_by_passes(monkeypatch, make):
    sizes = count_passes(monkeypatch)
    trace = archdoc.trace(make(), "3x10x10")
    assert (trace.minimum_input, trace.maximum_input) == ((9, 9), None)
    assert sizes, "the range needed passes"
    with torch.no_grad():
        make()(torch.empty(1, 3, 9, 9))
        make()(torch.empty(1, 3, 20, 20))
        with pytest.raises(RuntimeError):
            make()(torch.empty(1, 3, 8, 8))


def test_code_the_arithmetic_has_read_is_trusted_so_reading_it_matters(monkeypatch):
    """The same model with its forward counted as read: the graph alone answers, and says 3."""
    read_as_the_zoo_is(monkeypatch, ChecksTheSize)
    sizes = count_passes(monkeypatch)
    assert archdoc.trace(ChecksTheSize(), "3x10x10").minimum_input == (3, 3)  # by hand: a 3×3 convolution
    assert sizes == []


def test_a_global_forward_hook_leaves_no_forward_read():
    """A hook every module calls (`register_module_forward_pre_hook`) is code around every forward."""

    def narrow_input_fails(module: torch.nn.Module, args: tuple) -> None:
        if isinstance(module, torch.nn.Conv2d):
            _narrow_input_fails(module, args)

    handle = torch.nn.modules.module.register_module_forward_pre_hook(narrow_input_fails)
    try:
        trace = archdoc.trace(_sequential(), "3x10x10")
    finally:
        handle.remove()
    assert trace.minimum_input == (9, 9)
    assert archdoc.trace(_sequential(), "3x10x10").minimum_input == (3, 3)  # the hook gone: a 3×3 convolution


def _pooled_head(*layers: torch.nn.Module) -> torch.nn.Sequential:
    return torch.nn.Sequential(*layers, torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 10))


# torch.nn's own layers whose windows allow sizes they refuse, each traced at 10×10 in a Sequential
# (torch.nn's forward throughout). By hand: a 3×3 convolution gives n − 2, and a norm by the
# statistics of the values it gets needs more than one per statistic: at batch 1 per channel
# (batch norm without running statistics, instance norm, a group norm of one channel per group),
# so n − 2 ≥ 2; at batch 2 the batch norm has two per channel at 1×1, so n − 2 ≥ 1. A 3×3
# convolution padded by 2 gives n + 2 for any n ≥ 1, but reflecting needs the padding below n
# and wrapping needs it at most n.
@pytest.mark.parametrize(
    ("make", "batch", "low"),
    [
        (lambda: _pooled_head(torch.nn.Conv2d(3, 4, 3), torch.nn.InstanceNorm2d(4)), 1, 4),
        (lambda: _pooled_head(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4, track_running_stats=False)), 1, 4),
        (lambda: _pooled_head(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4, track_running_stats=False)), 2, 3),
        (lambda: _pooled_head(torch.nn.Conv2d(3, 4, 3), torch.nn.GroupNorm(4, 4)), 1, 4),
        (lambda: _pooled_head(torch.nn.Conv2d(3, 4, 3, padding=2, padding_mode="reflect")), 1, 3),
        (lambda: _pooled_head(torch.nn.Conv2d(3, 4, 3, padding=2, padding_mode="circular")), 1, 2),
    ],
    ids=["instance-norm", "batch-norm-without-running-statistics", "the-same-at-batch-2", "group-norm-of-single-channels",
         "reflect-padding", "circular-padding"],
)
def test_a_layer_limited_beyond_its_window_gets_passes(monkeypatch, make, batch, low):
    sizes = count_passes(monkeypatch)
    trace = archdoc.trace(make(), "3x10x10", batch=batch)
    assert (trace.minimum_input, trace.maximum_input) == ((low, low), None)
    assert sizes, "the range needed passes"
    model = make().eval()
    with torch.no_grad():
        model(torch.empty(batch, 3, low, low))
        with pytest.raises((RuntimeError, ValueError)):
            model(torch.empty(batch, 3, low - 1, low - 1))


def test_three_dimensional_average_pooling_needs_its_window_padded_or_not(monkeypatch):
    """PyTorch's 3-D average pooling refuses an input smaller than its 3×3×3 window although its padding
    of 1 would give a 1×1×1 output at n = 1 (n + 2 − 3 + 1 = n): the arithmetic knows, so no pass."""

    def make() -> torch.nn.Sequential:
        return torch.nn.Sequential(torch.nn.Conv3d(3, 4, 1), torch.nn.AvgPool3d(3, stride=1, padding=1))

    sizes = count_passes(monkeypatch)
    assert archdoc.trace(make(), "3x8x8x8").minimum_input == (3, 3, 3)
    assert sizes == []
    with torch.no_grad():
        make()(torch.empty(1, 3, 3, 3, 3))
        with pytest.raises(RuntimeError):
            make()(torch.empty(1, 3, 2, 2, 2))


def test_a_norm_with_running_statistics_and_replicate_padding_are_vouched_for(monkeypatch):
    """The same layers where only the windows limit them: running statistics in eval mode, and
    padding by repeating the edge, which works at any size. By hand: the padded 3×3 gives n + 2, the
    unpadded 3×3 after it n ≥ 1."""
    def make() -> torch.nn.Sequential:
        return _pooled_head(
            torch.nn.Conv2d(3, 4, 3, padding=2, padding_mode="replicate"), torch.nn.Conv2d(4, 4, 3),
            torch.nn.BatchNorm2d(4), torch.nn.InstanceNorm2d(4, track_running_stats=True),
        )

    sizes = count_passes(monkeypatch)
    assert archdoc.trace(make(), "3x10x10").minimum_input == (1, 1)
    assert sizes == []
    with torch.no_grad():
        make().eval()(torch.empty(1, 3, 1, 1))


# Any stack of torch.nn's own layers is traced in torch.nn's own forward (a Sequential), so a
# vouched range must be the model's own: checked against PyTorch's kernels at every size, at the
# traced batch.
_CHANNELS = 4


@st.composite
def torch_nn_layers(draw) -> torch.nn.Module:
    """One of torch.nn's windows, norms, activations or adaptive pools, on 4 channels."""
    c, ints = _CHANNELS, st.integers
    kind = draw(st.sampled_from(["conv", "max", "avg", "transpose", "norm", "activation", "adaptive"]))
    if kind == "conv":
        kernel, stride, dilation = draw(ints(1, 5)), draw(ints(1, 3)), draw(ints(1, 2))
        mode = draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
        padding = draw(ints(0 if mode == "zeros" else 1, 2))
        return torch.nn.Conv2d(c, c, kernel, stride, padding, dilation, padding_mode=mode)
    if kind in ("max", "avg"):
        kernel, stride = draw(ints(1, 4)), draw(ints(1, 3))
        padding, ceil = draw(ints(0, kernel // 2)), draw(st.booleans())
        if kind == "max":
            return torch.nn.MaxPool2d(kernel, stride, padding, ceil_mode=ceil)
        return torch.nn.AvgPool2d(kernel, stride, padding, ceil_mode=ceil, count_include_pad=draw(st.booleans()))
    if kind == "transpose":
        kernel, stride = draw(ints(1, 4)), draw(ints(1, 3))
        return torch.nn.ConvTranspose2d(c, c, kernel, stride, draw(ints(0, kernel - 1)), output_padding=draw(ints(0, stride - 1)))
    if kind == "norm":
        return draw(st.sampled_from([
            lambda: torch.nn.BatchNorm2d(c), lambda: torch.nn.BatchNorm2d(c, track_running_stats=False),
            lambda: torch.nn.InstanceNorm2d(c), lambda: torch.nn.InstanceNorm2d(c, track_running_stats=True),
            lambda: torch.nn.GroupNorm(2, c), lambda: torch.nn.GroupNorm(c, c), lambda: torch.nn.LocalResponseNorm(2),
        ]))()
    if kind == "activation":
        return draw(st.sampled_from([torch.nn.ReLU, torch.nn.Hardswish, torch.nn.Dropout2d, torch.nn.Softmax2d, lambda: torch.nn.PReLU(c)]))()
    pool = draw(st.sampled_from([torch.nn.AdaptiveAvgPool2d, torch.nn.AdaptiveMaxPool2d]))
    return pool(draw(st.sampled_from([1, 2, 3, (None, 2), (2, None)])))


def _runs_on_meta(model: torch.nn.Module, side: int, batch: int = 1) -> bool:
    try:
        with torch.no_grad():
            return model(torch.empty(batch, 3, side, side, device="meta")).numel() > 0
    except (RuntimeError, ValueError, IndexError):
        return False


@settings(max_examples=30, deadline=None, derandomize=True)
@given(data=st.data(), traced=st.integers(6, 14), head=st.sampled_from(["none", "pooled", "fixed"]), batch=st.sampled_from([1, 2]))
def test_any_stack_of_torch_nn_layers_gets_the_range_its_kernels_give(data, traced, head, batch):
    layers = [torch.nn.Conv2d(3, _CHANNELS, data.draw(st.integers(1, 3)))]
    layers += data.draw(st.lists(torch_nn_layers(), min_size=1, max_size=5))
    body = torch.nn.Sequential(*layers).eval()
    assume(_runs_on_meta(body.to("meta"), traced, batch))
    out = body(torch.empty(batch, 3, traced, traced, device="meta"))
    if head == "pooled":
        layers += [torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(_CHANNELS, 3)]
    elif head == "fixed" and out.dim() == 4:
        layers += [torch.nn.Flatten(), torch.nn.Linear(out[0].numel(), 3)]  # fixes the size the flatten gives
    model = torch.nn.Sequential(*layers).eval().to("meta")
    trace = archdoc.trace(model, (3, traced, traced), batch=batch)
    sides = [n for n in range(1, 2 * traced + 1) if _runs_on_meta(model, n, batch)]
    assert sides == list(range(sides[0], sides[-1] + 1))  # one range, as the search assumes
    largest = None if sides[-1] == 2 * traced else sides[-1]
    assert (trace.minimum_input, trace.maximum_input) == ((sides[0],) * 2, largest and (largest,) * 2), layers


def _wide_enough(x: torch.Tensor) -> torch.Tensor:
    if x.shape[-1] < 64:
        raise RuntimeError("GoogLeNet of this project's own needs 64×64")
    return x


class WideGoogLeNet(GoogLeNet):
    """The zoo's GoogLeNet, whose forward is read, with the input transform it calls overridden."""

    def _transform_input(self, x: torch.Tensor) -> torch.Tensor:
        return _wide_enough(x)


def googlenet_with_its_own_transform() -> GoogLeNet:
    model = GoogLeNet()
    model._transform_input = _wide_enough  # on the instance: what the read forward calls
    return model


@pytest.mark.parametrize("make", [WideGoogLeNet, googlenet_with_its_own_transform])
def test_a_zoo_forward_calling_what_a_project_changed_gets_passes(monkeypatch, make):
    # GoogLeNet's own minimum is 15 (see test_zoo.py); these refuse anything below 64.
    with torch.device("meta"):
        model = make()
    sizes = count_passes(monkeypatch)
    assert archdoc.trace(model, "3x224x224").minimum_input == (64, 64)
    assert sizes, "the range needed passes"

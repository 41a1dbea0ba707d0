"""The reference zoo against published figures.

Expected numbers come from outside this code:
- torchvision's model documentation tables (params, GFLOPS = multiply-accumulates);
- the papers (LeNet-5: 61,706 params from its layer sizes; AlexNet 2012 by hand below);
- the seed pages 000 and 001 (ResNet-18/50 at 1x116x116 with 2 classes, AlexNet-BN).
"""

from __future__ import annotations

import inspect

import pytest
import torch

import archdoc
from archdoc.registry import get_entry
from conftest import cached_trace
from oracles import dispatcher_mult_adds, meta_model, zoo_oracle

# name: (params, mult-adds in G at the default input, rounding digits) — torchvision docs unless noted.
PUBLISHED = {
    "lenet5": (61_706, None, None),  # LeNet-5 layer sizes: 156 + 2,416 + 48,120 + 10,164 + 850
    "alexnet": (61_100_840, 0.714, 3),
    "alexnet_2012": (60_965_224, None, None),  # mult-adds checked by hand below
    "alexnet_bn": (50_846_760, None, None),  # seed 001 with 1000 classes: 46,762,051 - 12,291 + 4,097,000
    "vgg11": (132_863_336, 7.609, 3),
    "vgg13": (133_047_848, 11.308, 3),
    "vgg16": (138_357_544, 15.470, 3),
    "vgg19": (143_667_240, 19.632, 3),
    "vgg11_bn": (132_868_840, 7.609, 3),
    "vgg13_bn": (133_053_736, 11.308, 3),
    "vgg16_bn": (138_365_992, 15.470, 3),
    "vgg19_bn": (143_678_248, 19.632, 3),
    "googlenet": (6_624_904, 1.498, 3),
    "resnet18": (11_689_512, 1.814, 3),
    "resnet34": (21_797_672, 3.664, 3),
    "resnet50": (25_557_032, 4.089, 3),
    "resnet101": (44_549_160, 7.801, 3),
    "resnet152": (60_192_808, 11.514, 3),
}


def test_every_registered_model_has_a_published_figure():
    from test_zoo_catalogue_a import PUBLISHED as ZOO_A  # Inception v3, DenseNet, SqueezeNet, ShuffleNet V2, MNASNet
    from test_zoo_catalogue_b import PUBLISHED as ZOO_B  # MobileNet V2/V3, EfficientNet, EfficientNetV2
    from test_zoo_catalogue_c import PUBLISHED as ZOO_C  # ResNeXt, Wide ResNet, RegNet
    from test_zoo_catalogue_d import PUBLISHED as ZOO_D  # ConvNeXt, ViT, Swin, MaxViT

    assert sorted(archdoc.list_models()) == sorted({**PUBLISHED, **ZOO_A, **ZOO_B, **ZOO_C, **ZOO_D})


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_params_and_mult_adds(name):
    params, gmacs, digits = PUBLISHED[name]
    entry = get_entry(name)
    counted = zoo_oracle(name)
    assert counted.params == params
    mult_adds = counted.mult_adds
    classes = inspect.signature(entry.builder).parameters["num_classes"].default
    assert counted.output_shape == (1, classes)
    if gmacs is not None:
        assert round(mult_adds / 1e9, digits) == gmacs
    # The tracer reports the same figures.
    trace = cached_trace(name)
    assert (trace.total_params, trace.mult_adds) == (params, mult_adds)


@pytest.mark.parametrize(
    "name, kwargs, size, params, gmacs",
    [
        # Seed 000: 11,171,266 (its 520.97 M is torchinfo's count; see test_trace for the dispatcher's).
        ("resnet18", {"in_channels": 1, "num_classes": 2}, (1, 116, 116), 11_171_266, None),
        # Seed 000: 23,505,858 and 1.22 G.
        ("resnet50", {"in_channels": 1, "num_classes": 2}, (1, 116, 116), 23_505_858, 1.22),
        # Seed 001: 46,762,051 and 1.01 G.
        ("alexnet_bn", {"num_classes": 3}, (3, 224, 224), 46_762_051, 1.01),
        # torchvision GoogLeNet with auxiliary classifiers: 13,004,888 (eval mode: they do not run).
        ("googlenet", {"aux_logits": True}, (3, 224, 224), 13_004_888, 1.50),
    ],
)
def test_seed_configurations(name, kwargs, size, params, gmacs):
    model = meta_model(name, **kwargs)
    assert sum(p.numel() for p in model.parameters()) == params
    mult_adds, out_shape = dispatcher_mult_adds(model, size)
    assert out_shape == (1, kwargs.get("num_classes", 1000))
    if gmacs is not None:
        assert round(mult_adds / 1e9, 2) == gmacs
    trace = archdoc.trace(name, size, **kwargs)
    assert (trace.total_params, trace.mult_adds) == (params, mult_adds)


def test_alexnet_2012_mult_adds_by_hand():
    # Cout·(Cin/groups)·k²·Hout·Wout per convolution at 227x227 (55, 27, 13, 13, 13), then in·out.
    convs = (
        96 * 3 * 11 * 11 * 55 * 55
        + 256 * 48 * 5 * 5 * 27 * 27
        + 384 * 256 * 3 * 3 * 13 * 13
        + 384 * 192 * 3 * 3 * 13 * 13
        + 256 * 192 * 3 * 3 * 13 * 13
    )
    fcs = 9216 * 4096 + 4096 * 4096 + 4096 * 1000
    assert dispatcher_mult_adds(meta_model("alexnet_2012"), (3, 227, 227))[0] == convs + fcs == 724_406_816
    trace = cached_trace("alexnet_2012")
    assert trace.mult_adds == convs + fcs
    # The published 0.725 G counts one bias addition per output too (torchinfo's convention).
    biases = 96 * 55 * 55 + 256 * 27 * 27 + 384 * 13 * 13 * 2 + 256 * 13 * 13 + 4096 + 4096 + 1000
    assert round((convs + fcs + biases) / 1e9, 3) == 0.725
    from archdoc.page import torchinfo_mult_adds

    assert torchinfo_mult_adds(trace) == convs + fcs + biases


# torchvision's docs: min_size 63x63 (AlexNet), 32x32 (VGG), 15x15 (GoogLeNet).
MINIMUM = {"alexnet": 63, "googlenet": 15, **{name: 32 for name in PUBLISHED if name.startswith("vgg")}}


@pytest.mark.parametrize("name, minimum", sorted(MINIMUM.items()))
def test_minimum_input(name, minimum):
    trace = cached_trace(name)
    assert trace.minimum_input == (minimum, minimum)
    model = meta_model(name)
    model(torch.empty(1, 3, minimum, minimum, device="meta"))
    with pytest.raises(RuntimeError):
        model(torch.empty(1, 3, minimum - 1, minimum - 1, device="meta"))


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_output_shapes_follow_classes_and_channels(name):
    entry = get_entry(name)
    channels, *spatial = entry.default_input
    trace = archdoc.trace(name, (channels + 1, *spatial), num_classes=7, batch=2)
    assert trace.output_shape == (2, 7)
    assert dict(trace.builder_kwargs)["in_channels"] == channels + 1


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_every_card_is_complete(name):
    entry = get_entry(name)
    card = entry.card
    assert card.title and card.authors and card.year > 1980 and card.venue
    assert len(card.description) > 80
    assert card.doi or card.arxiv
    assert card.implementation
    assert entry.all_deviations
    assert entry.display_name


# Seed 001's table, transcribed by hand: leaf layers as (type, output shape, params).
SEED_ALEXNET_BN = [
    ("Conv2d", [1, 96, 54, 54], 34_944), ("BatchNorm2d", [1, 96, 54, 54], 192), ("ReLU", [1, 96, 54, 54], 0),
    ("MaxPool2d", [1, 96, 26, 26], 0),
    ("Conv2d", [1, 256, 26, 26], 614_656), ("BatchNorm2d", [1, 256, 26, 26], 512), ("ReLU", [1, 256, 26, 26], 0),
    ("MaxPool2d", [1, 256, 12, 12], 0),
    ("Conv2d", [1, 384, 12, 12], 885_120), ("BatchNorm2d", [1, 384, 12, 12], 768), ("ReLU", [1, 384, 12, 12], 0),
    ("Conv2d", [1, 384, 12, 12], 1_327_488), ("BatchNorm2d", [1, 384, 12, 12], 768), ("ReLU", [1, 384, 12, 12], 0),
    ("Conv2d", [1, 256, 12, 12], 884_992), ("BatchNorm2d", [1, 256, 12, 12], 512), ("ReLU", [1, 256, 12, 12], 0),
    ("MaxPool2d", [1, 256, 5, 5], 0),
    ("Flatten", [1, 6400], 0),
    ("Dropout", [1, 6400], 0), ("Linear", [1, 4096], 26_218_496), ("ReLU", [1, 4096], 0),
    ("Dropout", [1, 4096], 0), ("Linear", [1, 4096], 16_781_312), ("ReLU", [1, 4096], 0),
    ("Linear", [1, 3], 12_291),
]


# Seed 001's depth-1 rows: Sequential x5, Flatten, Sequential x3 (names as on the seed page's model).
SEED_ALEXNET_BN_TOP = [
    ("layer1", "Sequential", [1, 96, 26, 26]), ("layer2", "Sequential", [1, 256, 12, 12]),
    ("layer3", "Sequential", [1, 384, 12, 12]), ("layer4", "Sequential", [1, 384, 12, 12]),
    ("layer5", "Sequential", [1, 256, 5, 5]), ("flatten", "Flatten", [1, 6400]),
    ("fc", "Sequential", [1, 4096]), ("fc1", "Sequential", [1, 4096]), ("fc2", "Sequential", [1, 3]),
]


def test_alexnet_bn_layers_equal_seed_001():
    # Forward hooks on meta, independently of archdoc.trace.
    model = meta_model("alexnet_bn", num_classes=3)
    rows: dict[str, tuple[str, list[int], int]] = {}

    def record(name: str):
        def hook(module: torch.nn.Module, args: object, out: torch.Tensor) -> None:
            rows[name] = (type(module).__name__, list(out.shape), sum(p.numel() for p in module.parameters()))

        return hook

    hooks = [module.register_forward_hook(record(name)) for name, module in model.named_modules() if name]
    try:
        model(torch.empty(1, 3, 224, 224, device="meta"))
    finally:
        for hook in hooks:
            hook.remove()
    assert [(name, *rows[name][:2]) for name, _ in model.named_children()] == SEED_ALEXNET_BN_TOP
    leaves = [rows[name] for name, module in model.named_modules() if name and not list(module.children())]
    assert leaves == SEED_ALEXNET_BN
    trace = cached_trace("alexnet_bn", "3x224x224", num_classes=3)
    assert [(lay.type, list(lay.output_shape), lay.params) for lay in trace.layers if lay.is_leaf] == leaves


def test_googlenet_training_mode_returns_aux_outputs():
    model = meta_model("googlenet", aux_logits=True).train()
    out = model(torch.empty(2, 3, 224, 224, device="meta"))
    assert out.logits.shape == out.aux_logits1.shape == out.aux_logits2.shape == (2, 1000)
    assert model.eval()(torch.empty(2, 3, 224, 224, device="meta")).shape == (2, 1000)
    plain = meta_model("googlenet")
    assert plain.aux1 is None and plain.aux2 is None
    assert archdoc.get_model.__module__ == "archdoc.registry"


def test_zoo_does_not_install_a_bare_models_package():
    import importlib.util

    import archdoc.zoo

    assert archdoc.zoo.__name__ == "archdoc.zoo"
    spec = importlib.util.find_spec("models")
    # Run from the repository root, the folder itself is importable; installed, nothing named
    # "models" may come from archdoc's distribution.
    assert spec is None or "site-packages" not in str(spec.origin)


@pytest.mark.parametrize(
    "name, low, high",
    [
        # LeNet-5: C5 must see 5x5 maps; by hand, ⌊(⌊(n − 4)/2⌋ − 4)/2⌋ = 5 for n = 32..35.
        ("lenet5", 32, 35),
        # AlexNet 2012: the classifier needs 6x6 maps; by hand, n = 227..258 gives 55..62 after conv1
        # and 6 after the last pool; 259 gives 7.
        ("alexnet_2012", 227, 258),
        ("alexnet", 63, None),  # adaptive pooling: no upper bound
    ],
)
def test_accepted_input_range(name, low, high):
    trace = cached_trace(name)
    assert trace.minimum_input == (low, low)
    assert trace.maximum_input == (None if high is None else (high, high))


def test_the_oracles_norm_outputs_are_the_kernels():
    """oracles.norm_outputs gives what PyTorch's meta kernels give: shapes, layouts, dtypes."""
    from oracles import norm_outputs

    aten = torch.ops.aten
    x = torch.empty(2, 8, 5, 6, device="meta")
    c = torch.empty(8, device="meta")
    ln = torch.empty(4, 6, device="meta")
    cases = [
        (aten.native_batch_norm.default, (x, c, c, c, c, False, 0.1, 1e-5)),
        (aten.native_batch_norm.default, (x, None, None, c, c, False, 0.1, 1e-5)),
        (aten.native_batch_norm.default, (x.to(memory_format=torch.channels_last), c, c, c, c, False, 0.1, 1e-5)),
        (aten.native_batch_norm.default, (x, c, c, None, None, True, 0.1, 1e-5)),  # training
        (aten.native_batch_norm.default, (torch.empty(3, 8, device="meta"), c, c, c, c, False, 0.1, 1e-5)),
        (aten.native_layer_norm.default, (torch.empty(2, 5, 6, device="meta"), [6], ln[0], ln[0], 1e-5)),
        (aten.native_layer_norm.default, (torch.empty(2, 3, 4, 6, device="meta"), [4, 6], ln, ln, 1e-5)),
        (aten.native_layer_norm.default, (x.permute(0, 2, 3, 1), [8], c, None, 1e-6)),  # ConvNeXt's channels-last
    ]
    for func, args in cases:
        ours, theirs = norm_outputs(func, args, {}), func(*args)
        assert ours is not None and len(ours) == len(theirs) == 3
        for a, b in zip(ours, theirs):
            assert (a.shape, a.stride(), a.dtype, a.device) == (b.shape, b.stride(), b.dtype, b.device), func
    # Not the plain case: the kernel runs.
    assert norm_outputs(aten.native_batch_norm.default, (x[:, :, :, :3], c, c, c, c, False, 0.1, 1e-5), {}) is None
    assert norm_outputs(aten.native_batch_norm.default, (x.half(), None, None, None, None, True, 0.1, 1e-5), {}) is None
    assert norm_outputs(aten.native_layer_norm.default, (x, [5], None, None, 1e-5), {}) is None
    assert norm_outputs(aten.relu.default, (x,), {}) is None
    assert norm_outputs(aten.native_batch_norm.default, (x, torch.empty(4, device="meta"), None, None, None, True, 0.1, 1e-5), {}) is None
    assert norm_outputs(aten.native_layer_norm.default, (torch.empty(2, 5, 6, device="meta"), [6], ln, None, 1e-5), {}) is None


def test_the_dispatcher_count_agrees_with_pytorchs_flop_counter():
    """oracles.DispatcherCount is FlopCounterMode without its decompositions: same totals."""
    from torch import nn
    from torch.utils.flop_counter import FlopCounterMode

    from archdoc.zoo.vision_transformer import MultiheadSelfAttention
    from oracles import DispatcherCount

    cases = [
        (meta_model("lenet5"), (1, 1, 32, 32)),
        (meta_model("mobilenet_v3_small"), (1, 3, 224, 224)),  # depthwise, squeeze-excitation, hardswish
        (meta_model("shufflenet_v2_x0_5"), (1, 3, 224, 224)),  # channel shuffle
        (MultiheadSelfAttention(16, 2).to("meta").eval(), (1, 5, 16)),  # scaled dot-product attention
        (nn.TransformerEncoderLayer(16, 2, 32, batch_first=True).to("meta").eval(), (2, 5, 16)),
    ]
    for model, size in cases:
        with FlopCounterMode(display=False) as theirs, torch.no_grad():
            model(torch.empty(size, device="meta"))
        with DispatcherCount() as ours, torch.no_grad():
            model(torch.empty(size, device="meta"))
        assert ours.mult_adds == theirs.get_total_flops() // 2 > 0


# One model per family whose graph the size arithmetic vouches for: its range takes no pass
# (archdoc.tracing.prediction), so passes on PyTorch's meta kernels confirm it here instead.
# The figures themselves are torchvision's min_size (test_minimum_input here and in the
# catalogue files) and hand arithmetic (test_accepted_input_range).
VOUCHED = ["lenet5", "alexnet_2012", "vgg11", "resnet18", "googlenet", "squeezenet1_1", "densenet121",
           "mobilenet_v3_small", "mnasnet0_5", "regnet_x_400mf"]


@pytest.mark.parametrize("name", VOUCHED)
def test_a_vouched_range_takes_no_pass_and_the_kernels_agree(monkeypatch, name):
    from archdoc.tracing.input_range import SizeProbe

    monkeypatch.setattr(SizeProbe, "_run", lambda self, size: pytest.fail(f"{name}: a pass at {size}"))
    trace = archdoc.trace(name)
    monkeypatch.undo()
    model = meta_model(name)
    (low, _), (channels, _, traced) = trace.minimum_input, trace.inputs[0].shape

    def runs(size: int) -> bool:
        try:
            return model(torch.empty(1, channels, size, size, device="meta")).numel() > 0
        except RuntimeError:
            return False

    assert runs(low) and (low == 1 or not runs(low - 1))
    if trace.maximum_input is None:
        assert runs(2 * traced)
    else:
        high = trace.maximum_input[0]
        assert runs(high) and not runs(high + 1)


def test_every_read_class_is_a_zoo_class_with_the_forward_that_was_read():
    """`READ_CLASSES` names classes; each must be a zoo class whose forward is its own or torch.nn's, so a
    renamed class or a moved forward cannot leave a stale name behind (its models would lose vouching)."""
    import importlib

    from archdoc.tracing.prediction import READ_CLASSES

    for qualified in sorted(READ_CLASSES):
        module, name = qualified.rsplit(".", 1)
        cls = getattr(importlib.import_module(module), name)
        assert module.startswith("archdoc.zoo.") and issubclass(cls, torch.nn.Module), qualified
        assert "forward" in vars(cls) or cls.forward.__module__.startswith("torch.nn."), qualified

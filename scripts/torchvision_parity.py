"""Check the zoo against torchvision: same state_dict keys and shapes, same outputs.

Not part of the test suite or CI: torchvision is not a dependency, and PyPI's
torchvision does not import beside the CPU torch the project installs. Run it in
a throwaway environment that has torchvision, with archdoc installed without deps:

    python -m venv /tmp/tv && /tmp/tv/bin/pip install torch==2.14.1 torchvision==0.29.1
    /tmp/tv/bin/pip install --no-deps -e . && /tmp/tv/bin/pip install click jinja2 torchinfo numpy
    /tmp/tv/bin/python scripts/torchvision_parity.py            # every pair
    /tmp/tv/bin/python scripts/torchvision_parity.py 'convnext*' 'efficientnet*'  # the pairs whose names match

For each model it builds torchvision's and archdoc's on CPU, compares keys and
shapes, loads torchvision's weights into archdoc's with ``strict=True``, and
compares the two models' outputs on the same input (at the model's default input size) in eval
mode, after giving torchvision's BatchNorm layers random running statistics.
"""

from __future__ import annotations

import fnmatch
import sys

import torch
import torchvision

import archdoc
from archdoc.registry import get_entry

PAIRS = [
    ("alexnet", {}),
    *[(f"vgg{d}{bn}", {}) for d in (11, 13, 16, 19) for bn in ("", "_bn")],
    ("googlenet", {"aux_logits": False}),
    ("googlenet", {"aux_logits": True}),
    *[(f"resnet{d}", {}) for d in (18, 34, 50, 101, 152)],
    *[(name, {}) for name in ("resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d")],
    *[(name, {}) for name in ("wide_resnet50_2", "wide_resnet101_2")],
    *[(f"regnet_{kind}_{size}", {}) for kind in "yx" for size in ("400mf", "800mf", "1_6gf", "3_2gf", "8gf", "16gf", "32gf")],
    ("regnet_y_128gf", {}),
    ("inception_v3", {"aux_logits": True}),
    ("inception_v3", {"aux_logits": False}),
    ("inception_v3", {"transform_input": True}),
    *[(f"densenet{d}", {}) for d in (121, 161, 169, 201)],
    ("squeezenet1_0", {}),
    ("squeezenet1_1", {}),
    *[(f"shufflenet_v2_x{m}", {}) for m in ("0_5", "1_0", "1_5", "2_0")],
    *[(f"mnasnet{a}", {}) for a in ("0_5", "0_75", "1_0", "1_3")],
    ("mobilenet_v2", {}),
    ("mobilenet_v2", {"width_mult": 0.75}),
    ("mobilenet_v2", {"width_mult": 1.4}),
    ("mobilenet_v3_large", {}),
    ("mobilenet_v3_large", {"width_mult": 0.75}),
    ("mobilenet_v3_large", {"reduced_tail": True, "dilated": True}),
    ("mobilenet_v3_small", {}),
    ("mobilenet_v3_small", {"reduced_tail": True}),
    ("mobilenet_v3_small", {"dilated": True}),
    *[(f"efficientnet_b{i}", {}) for i in range(8)],
    *[(f"efficientnet_v2_{size}", {}) for size in "sml"],
    *[(f"convnext_{size}", {}) for size in ("tiny", "small", "base", "large")],
    *[(f"vit_{v}", {}) for v in ("b_16", "b_32", "l_16", "l_32", "h_14")],
    ("vit_h_14", {"image_size": 518}),
    ("vit_b_16", {"representation_size": 768}),
    *[(f"swin_{v}{size}", {}) for v in ("", "v2_") for size in "tsb"],
    ("maxvit_t", {}),
]

# Input side per model where the 224 default does not fit (the weights' evaluation crop).
SIZES = {"inception_v3": 299}


def torchvision_model(name: str, kwargs: dict) -> torch.nn.Module:
    builder = getattr(torchvision.models, name)
    if name == "googlenet":
        return builder(weights=None, init_weights=True, transform_input=False, **kwargs)
    if name == "inception_v3":
        return builder(weights=None, init_weights=True, **{"transform_input": False, **kwargs})
    return builder(weights=None, **kwargs)


def randomise_norm_statistics(model: torch.nn.Module) -> None:
    """Give BatchNorm layers non-trivial statistics, so a wrong eps or a missing layer shows in the outputs."""
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.normal_(0.0, 0.1)
            m.running_var.uniform_(0.5, 1.5)


def main(patterns: list[str]) -> None:
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}")
    for name, kwargs in PAIRS:
        if patterns and not any(fnmatch.fnmatchcase(name, p) for p in patterns):
            continue
        theirs = torchvision_model(name, kwargs).eval()
        ours = archdoc.get_model(name, **kwargs).eval()
        ts, os_ = theirs.state_dict(), ours.state_dict()
        same_keys = list(ts) == list(os_)
        same_shapes = same_keys and all(ts[k].shape == os_[k].shape for k in ts)
        # Buffers each side computes itself (relative position indices, BatchNorm statistics).
        same_buffers = all(torch.equal(b, os_[k]) for k, b in theirs.named_buffers() if k in os_)
        # Initialisation leaves some parameters at 0 or 1 (ViT's head starts at zero, which makes
        # every output 0): perturb them all, so that each one shows in the outputs compared.
        with torch.no_grad():
            for p in theirs.parameters():
                p.add_(0.02 * torch.randn_like(p))
        randomise_norm_statistics(theirs)
        ours.load_state_dict(theirs.state_dict(), strict=True)
        # Models with a fixed input size (ViT, MaxViT) take it as `image_size`.
        size = kwargs.get("image_size", get_entry(name).default_input[-1])
        x = torch.randn(2, 3, size, size)
        with torch.no_grad():
            expected = theirs(x)
            diff = (expected - ours(x)).abs().max().item()
        label = name + ("" if not kwargs else f" {kwargs}")
        print(f"{label:32s} keys {'same order' if same_keys else 'DIFFER'}  shapes {'same' if same_shapes else 'DIFFER'}  "
              f"buffers {'same' if same_buffers else 'DIFFER'}  strict load ok  "
              f"max |output diff| {diff:.2e} (max |output| {expected.abs().max().item():.2e}, {len(ts)} tensors)")


if __name__ == "__main__":
    main(sys.argv[1:])

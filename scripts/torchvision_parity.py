"""Check the zoo against torchvision: same state_dict keys and shapes, same outputs.

Not part of the test suite or CI: torchvision is not a dependency, and PyPI's
torchvision does not import beside the CPU torch the project installs. Run it in
a throwaway environment that has torchvision, with archdoc installed without deps:

    python -m venv /tmp/tv && /tmp/tv/bin/pip install torch==2.14.1 torchvision==0.29.1
    /tmp/tv/bin/pip install --no-deps -e . && /tmp/tv/bin/pip install click jinja2 torchinfo numpy
    /tmp/tv/bin/python scripts/torchvision_parity.py

For each model it builds torchvision's and archdoc's on CPU, compares keys and
shapes, loads torchvision's weights into archdoc's with ``strict=True``, and
compares the two models' outputs on the same input in eval mode.
"""

from __future__ import annotations

import torch
import torchvision

import archdoc

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


def main() -> None:
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}")
    for name, kwargs in PAIRS:
        theirs = torchvision_model(name, kwargs).eval()
        ours = archdoc.get_model(name, **kwargs).eval()
        ts, os_ = theirs.state_dict(), ours.state_dict()
        same_keys = list(ts) == list(os_)
        same_shapes = same_keys and all(ts[k].shape == os_[k].shape for k in ts)
        ours.load_state_dict(ts, strict=True)
        side = SIZES.get(name, 224)
        x = torch.randn(2, 3, side, side)
        with torch.no_grad():
            diff = (theirs(x) - ours(x)).abs().max().item()
        label = name + ("" if not kwargs else f" {kwargs}")
        print(f"{label:40s} keys {'same order' if same_keys else 'DIFFER'}  "
              f"shapes {'same' if same_shapes else 'DIFFER'}  "
              f"strict load ok  max |output diff| {diff:.2e}  ({len(ts)} tensors)")


if __name__ == "__main__":
    main()

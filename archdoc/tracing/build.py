"""Get the model to trace onto its device: build a zoo or import-path model there, or copy a user's instance.

On the meta device nothing is allocated and random initialisation is skipped
(a meta tensor has no values to initialise). A module handed in by a user is
never changed: it is deep-copied with every tensor replaced on the target device.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from archdoc.errors import ArchdocError, InputError
from archdoc.loading import Trust, import_model, is_import_path
from archdoc.registry import ModelEntry, get_entry
from archdoc.shapes import InputSpec

__all__ = ["Resolved", "resolve", "building_on", "copy_to", "check_device", "parameter_count"]


@dataclass(frozen=True)
class Resolved:
    """A model ready to trace.

    Attributes:
        module: The module, on the trace's device.
        entry: The zoo entry, ``None`` for import paths and instances.
        name: What the trace records: zoo name, import path or class name.
        display_name: The page title.
        inputs: The input sizes (the zoo model's default when none were given).
        kwargs: The builder arguments, ``in_channels`` included when it came from the input.
    """

    module: nn.Module
    entry: ModelEntry | None
    name: str
    display_name: str
    inputs: tuple[InputSpec, ...]
    kwargs: dict[str, Any]


def resolve(
    model_or_name: Any, inputs: tuple[InputSpec, ...] | None, builder_kwargs: dict[str, Any], device: str,
    trust: Trust | None = None,
) -> Resolved:
    """Build a registry or import-path model on ``device``, or copy a user's instance there.

    ``trust`` says where an import path comes from and so which code it may name.
    """
    if isinstance(model_or_name, nn.Module):
        if builder_kwargs:
            raise ArchdocError("builder arguments only apply to models given by name")
        if inputs is None:
            raise ArchdocError("an input size is required for a model instance")
        name = type(model_or_name).__name__
        return Resolved(copy_to(model_or_name, device), None, name, name, inputs, {})
    if not isinstance(model_or_name, str):
        raise ArchdocError(f"expected a model name or an nn.Module, got {type(model_or_name).__name__}")
    if is_import_path(model_or_name):
        return _resolve_import(model_or_name, inputs, builder_kwargs, device, trust)
    entry = get_entry(model_or_name)
    if inputs is None:
        inputs = (InputSpec(entry.default_input),)
    kwargs = dict(builder_kwargs)
    first = inputs[0]
    if "in_channels" in entry.parameters and "in_channels" not in kwargs and len(first.shape) >= 2:
        kwargs["in_channels"] = first.shape[0]
    if len(inputs) != 1:
        raise InputError(f"{entry.name} takes one input, got {len(inputs)}")
    if len(first.shape) != len(entry.default_input):
        dims = "×".join("CHWD"[i] if i < 4 else "?" for i in range(len(entry.default_input)))
        raise InputError(
            f"{entry.name} takes {len(entry.default_input)}-dimensional inputs ({dims}, batch excluded), "
            f"got {first}"
        )
    with building_on(device):
        module = entry.build(**kwargs)
    return Resolved(module, entry, entry.name, entry.display_name, inputs, kwargs)


def _resolve_import(
    spec: str, inputs: tuple[InputSpec, ...] | None, kwargs: dict[str, Any], device: str, trust: Trust | None
) -> Resolved:
    """Import ``package.module:attribute`` and build (or copy) the model on ``device``."""
    imported = import_model(spec, trust)
    inputs = inputs or imported.default_input
    if not inputs:
        raise InputError(
            f"{spec} needs an input size: give --input (e.g. --input 3x224x224, or input_size= in Python), "
            f"or give {imported.attribute} a default_input attribute"
        )
    if imported.is_instance:
        module = copy_to(imported.build(**kwargs), device)
    else:
        with building_on(device):
            module = imported.build(**kwargs)
    return Resolved(module, None, spec, imported.attribute, inputs, dict(kwargs))


class _SkipRandomInit(TorchFunctionMode):
    """Make random in-place initialisers no-ops on meta tensors.

    A meta tensor has no values, so skipping them changes nothing; running them
    would import torch._dynamo through the reference implementations (over a second).
    """

    _SKIP = frozenset(
        {
            torch.Tensor.normal_,
            torch.Tensor.uniform_,
            torch.Tensor.random_,
            torch.Tensor.exponential_,
            torch.Tensor.log_normal_,
            torch.Tensor.cauchy_,
            torch.Tensor.geometric_,
            torch.Tensor.bernoulli_,
            torch.Tensor.erfinv_,
            # nn.init functions that dispatch as torch functions themselves: the
            # tensor methods they call would run below this mode and not be seen.
            nn.init.normal_,
            nn.init.uniform_,
            nn.init.trunc_normal_,
        }
    )

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        kwargs = kwargs or {}
        if func in self._SKIP:
            # Tensor methods get the tensor first; nn.init passes it as `tensor=`.
            target = args[0] if args else kwargs.get("tensor")
            if isinstance(target, torch.Tensor) and target.is_meta:
                return target
        return func(*args, **kwargs)


class building_on:
    """Context: build modules directly on ``device``."""

    def __init__(self, device: str) -> None:
        self.device = torch.device(device)
        self._stack: list[Any] = []

    def __enter__(self) -> None:
        self._stack = []
        if self.device.type == "meta":
            # Below the device context, which PyTorch runs first: what it hands on
            # (nn.init.normal_, Tensor.normal_, ...) then reaches this mode.
            skip = _SkipRandomInit()
            skip.__enter__()
            self._stack.append(skip)
        self.device.__enter__()
        self._stack.append(self.device)
        if self.device.type != "meta":
            # Real weights: seeded, so pages are reproducible, without touching the caller's RNG.
            rng = torch.random.fork_rng(devices=[])
            rng.__enter__()
            self._stack.append(rng)
            torch.manual_seed(0)

    def __exit__(self, *exc: object) -> None:
        for ctx in reversed(self._stack):
            ctx.__exit__(*exc)


def copy_to(module: nn.Module, device: str) -> nn.Module:
    """Deep-copy ``module`` with every parameter and buffer replaced on ``device``.

    Tied tensors stay tied (the memo maps each tensor once) and the original is
    never touched: no device move, no value change, no hook, same training flag.
    """
    memo: dict[int, Any] = {}
    dev = torch.device(device)
    for tensor in list(module.parameters()) + list(module.buffers()):
        if id(tensor) in memo:
            continue
        if dev.type == "meta":
            data = torch.empty_like(tensor, device=dev)
        else:
            data = tensor.detach().to(dev, copy=True)
        if isinstance(tensor, nn.Parameter):
            memo[id(tensor)] = nn.Parameter(data, requires_grad=tensor.requires_grad)
        else:
            memo[id(tensor)] = data
    return copy.deepcopy(module, memo)


def check_device(device: str) -> None:
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ArchdocError(f"unknown device {device!r}: use meta (the default) or a real one such as cpu") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ArchdocError(f"device {device!r} is not available: this torch has no usable CUDA")


def parameter_count(name: str) -> int:
    """Parameters of a zoo model at its defaults, counted on a meta build (no memory, no initialisation)."""
    with building_on("meta"):
        model = get_entry(name).build()
    return sum(p.numel() for p in model.parameters())

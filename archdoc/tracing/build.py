"""Get the model to trace onto its device: build a zoo or import-path model there, or copy a user's instance.

On the meta device nothing is allocated and random initialisation is skipped
(a meta tensor has no values to initialise). A module handed in by a user is
never changed: it is deep-copied with every tensor replaced on the target device.

Some builders compute with tensor values while they build (torchvision's RegNets
round ``torch.arange`` widths and read them back with ``.tolist()``), which meta
tensors cannot do. Such a builder runs again on the CPU, where its arithmetic has
values, while every parameter and buffer moves to meta the moment it is registered
and random initialisation is skipped: its weights are never filled, and never all
held at once (see `building_with_values`).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._device import DeviceContext, _device_constructors

from archdoc.calls import ImportCall
from archdoc.errors import ArchdocError, InputError
from archdoc.loading import Trust, check_trusted, import_model, is_import_path, user_source
from archdoc.registry import ModelEntry, get_entry
from archdoc.shapes import InputSpec

__all__ = [
    "Resolved", "resolve", "building_on", "building_with_values", "copy_to", "check_device", "parameter_count",
    "reads_values",
]

# What PyTorch says when code asks a meta tensor for values it does not have.
_NO_VALUES = re.compile(r"meta tensor|meta device|data.dependent|register_meta|'Meta' backend", re.IGNORECASE)


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
        built_with_values: Why the builder ran on the CPU (it read tensor values), or ``None``.
    """

    module: nn.Module
    entry: ModelEntry | None
    name: str
    display_name: str
    inputs: tuple[InputSpec, ...]
    kwargs: dict[str, Any]
    built_with_values: str | None = None


def reads_values(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is PyTorch refusing to give a meta tensor's values."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _NO_VALUES.search(str(current)):
            return True
        current = current.__cause__ or current.__context__
    return False


def _made(kwargs: dict[str, Any], trust: Trust | None) -> dict[str, Any]:
    """The builder arguments with every import call made (imported under ``trust`` and called)."""
    return {key: value.make(trust, key) if isinstance(value, ImportCall) else value for key, value in kwargs.items()}


def _build(build: Callable[[], nn.Module], device: str) -> tuple[nn.Module, str | None]:
    """Run ``build`` on ``device``; on meta, again with values if it reads them (and the reason)."""
    try:
        with building_on(device):
            return build(), None
    except Exception as exc:
        if torch.device(device).type != "meta" or not reads_values(exc):
            raise
        first = exc
    with building_with_values():
        module = build()
    _plain_tensors_to(module, torch.device("meta"))
    cause = first.__cause__ or first
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    return module, user_source(cause) or text


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
    for value in builder_kwargs.values():  # every import path is vetted before any is imported
        if isinstance(value, ImportCall):
            check_trusted(value.path, trust)
    if is_import_path(model_or_name):
        return _resolve_import(model_or_name, inputs, builder_kwargs, device, trust)
    entry = get_entry(model_or_name)
    if inputs is None:
        default = entry.default_input
        size = builder_kwargs.get("image_size")
        if type(size) is int and size > 0 and len(default) == 3:  # a ViT built for another size runs at it
            default = (default[0], size, size)
        inputs = (InputSpec(default),)
    kwargs = dict(builder_kwargs)
    first = inputs[0]
    if "in_channels" in entry.parameters and "in_channels" not in kwargs and len(first.shape) >= 2:
        kwargs["in_channels"] = first.shape[0]
    if len(inputs) != 1:
        raise InputError(f"{entry.name} takes one input, got {len(inputs)}")
    if len(first.shape) != len(entry.default_input):
        dims = {2: "C×L", 3: "C×H×W", 4: "C×T×H×W"}.get(len(entry.default_input), f"{len(entry.default_input)} sizes")
        raise InputError(
            f"{entry.name} takes {len(entry.default_input)}-dimensional inputs ({dims}, batch excluded), "
            f"got {first}"
        )
    made = _made(kwargs, trust)
    module, reason = _build(lambda: entry.build(**made), device)
    return Resolved(module, entry, entry.name, entry.display_name, inputs, kwargs, reason)


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
    reason = None
    made = _made(kwargs, trust)
    if imported.is_instance:
        module = copy_to(imported.build(**made), device)
    else:
        module, reason = _build(lambda: imported.build(**made), device)
    return Resolved(module, None, spec, imported.attribute, inputs, dict(kwargs), reason)


# In-place initialisers. A meta tensor has no values, so skipping them there changes
# nothing; running them would import torch._dynamo through the reference implementations
# (over a second).
_RANDOM_FILLS = frozenset(
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
        # tensor methods they call would run below the mode and not be seen.
        nn.init.normal_,
        nn.init.uniform_,
        nn.init.trunc_normal_,
        # Linear's and the convolutions' default: skipped whole, it would first
        # work out the fan-in through a dozen tensor calls, each seen by the mode.
        nn.init.kaiming_uniform_,
    }
)
# Constant fills (batch norm's ones and zeros, a running variance's fill): on meta each is a
# Python kernel, a fifth of the time a batch-normalised network takes to build. Skipped on
# meta tensors only, since a builder run with values may compute with what they fill.
_CONSTANT_FILLS = frozenset({torch.Tensor.fill_, torch.Tensor.zero_, nn.init.zeros_, nn.init.ones_, nn.init.constant_})


def _filled(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """The tensor an initialiser would fill (tensor methods get it first; nn.init passes it as ``tensor=``)."""
    target = args[0] if args else kwargs.get("tensor")
    return target if isinstance(target, torch.Tensor) else None


class _OnMeta(DeviceContext):
    """``torch.device("meta")`` that also skips every initialiser on meta tensors.

    One mode, so every torch call of a build (a few thousand for a ResNet) passes one
    Python handler. Being a `DeviceContext`, it is what ``torch.get_default_device()``
    reports, as the plain device context is.
    """

    _SKIP = _RANDOM_FILLS | _CONSTANT_FILLS

    def __init__(self) -> None:
        super().__init__(torch.device("meta"))

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        kwargs = kwargs or {}
        if func in self._SKIP:
            target = _filled(args, kwargs)
            if target is not None and target.is_meta:
                return target
        elif kwargs.get("device") is None and func in _device_constructors():
            kwargs["device"] = self.device
        return func(*args, **kwargs)


class _SkipRandomInit(TorchFunctionMode):
    """For a builder run with values on the CPU: random initialisers are no-ops on every
    tensor (the weights they would fill go to meta anyway), constant fills on meta tensors."""

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        kwargs = kwargs or {}
        if func in _RANDOM_FILLS or func in _CONSTANT_FILLS:
            target = _filled(args, kwargs)
            if target is not None and (target.is_meta or func in _RANDOM_FILLS):
                return target
        return func(*args, **kwargs)


class building_on:
    """Context: build modules directly on ``device``."""

    def __init__(self, device: str) -> None:
        self.device = torch.device(device)
        self._stack: list[Any] = []

    def __enter__(self) -> None:
        self._stack = [_OnMeta() if self.device.type == "meta" else self.device]
        self._stack[0].__enter__()
        if self.device.type != "meta":
            # Real weights: seeded, so pages are reproducible, without touching the caller's RNG.
            rng = torch.random.fork_rng(devices=[])
            rng.__enter__()
            self._stack.append(rng)
            torch.manual_seed(0)

    def __exit__(self, *exc: object) -> None:
        for ctx in reversed(self._stack):
            ctx.__exit__(*exc)


class building_with_values:
    """Context: build on the CPU, so a builder's own arithmetic has values, with its weights on meta.

    Every parameter and buffer is replaced by a meta tensor as it is registered, so
    at most one freshly created (never filled) tensor is on the CPU at a time, and
    random initialisation is skipped. Tensors a module keeps as plain attributes go
    to meta when the build ends. The seeded random state of `building_on` applies.
    """

    def __enter__(self) -> None:
        from torch.nn.modules import module as hooks

        self._handles = [
            hooks.register_module_parameter_registration_hook(_param_to_meta),
            hooks.register_module_buffer_registration_hook(_buffer_to_meta),
        ]
        self._skip = _SkipRandomInit()
        self._skip.__enter__()
        self._cpu = building_on("cpu")
        self._cpu.__enter__()

    def __exit__(self, *exc: object) -> None:
        self._cpu.__exit__(*exc)
        self._skip.__exit__(*exc)
        for handle in self._handles:
            handle.remove()


def _param_to_meta(module: nn.Module, name: str, param: Any) -> Any:
    if not isinstance(param, nn.Parameter) or param.is_meta or isinstance(param, nn.parameter.UninitializedParameter):
        return None
    return nn.Parameter(torch.empty_like(param, device="meta"), requires_grad=param.requires_grad)


def _buffer_to_meta(module: nn.Module, name: str, buffer: Any) -> Any:
    if not isinstance(buffer, torch.Tensor) or buffer.is_meta or isinstance(buffer, nn.parameter.UninitializedBuffer):
        return None
    return torch.empty_like(buffer, device="meta")


def _plain_tensors_to(module: nn.Module, device: torch.device) -> None:
    """Tensors kept as plain attributes (not parameters or buffers) follow the weights to ``device``.

    Zero-dimensional ones stay: PyTorch mixes a CPU scalar with tensors on any device,
    and code may read its value (``if self.step > 0``).
    """
    for sub in module.modules():
        for key, value in list(vars(sub).items()):
            if isinstance(value, torch.Tensor) and value.dim() > 0 and value.device != device:
                object.__setattr__(sub, key, value.to(device))


def copy_to(module: nn.Module, device: str) -> nn.Module:
    """Deep-copy ``module`` with every parameter and buffer replaced on ``device``.

    Tied tensors stay tied (the memo maps each tensor once) and the original is
    never touched: no device move, no value change, no hook, same training flag.
    Tensors the modules keep as plain attributes go to ``device`` too.
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
    copied = copy.deepcopy(module, memo)
    _plain_tensors_to(copied, dev)
    return copied


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

"""Trace a model once on the meta device into one immutable [`Trace`][archdoc.tracing.Trace].

The trace is the single source of truth: tables, arithmetic, diagrams and pages
are pure functions of it. [`trace()`][archdoc.tracing.trace] reads in call order:

1. read the input sizes and check the device;
2. build the model on the device, or copy a user's instance there (`.build`);
3. hook every module and run once, recording calls and mult-adds (`.recorder`);
4. on failure, explain it (`.diagnose`);
5. collect layers and parameter counts (`.collect`), the dataflow graph
   recorded on the way (`.dataflow`), and the range of input sizes (`.input_range`).
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn

from archdoc.errors import InputError, TraceError
from archdoc.loading import Trust
from archdoc.shapes import as_input_specs
from archdoc.tracing.build import check_device, resolve
from archdoc.tracing.collect import collect_layers, owners
from archdoc.tracing.diagnose import diagnose
from archdoc.tracing.guard import DEFAULT_TIMEOUT, guarded
from archdoc.tracing.input_range import SizeProbe, axis_groups, find_input_range, spatial_input
from archdoc.tracing.prediction import reads_every_forward, size_predictor
from archdoc.tracing.record import FlowNode, Layer, LayerKind, Pad, Shape, Trace
from archdoc.tracing.recorder import Recorder, make_inputs, output_names, tensors

__all__ = ["trace", "Trace", "Layer", "FlowNode", "LayerKind", "Pad", "Shape"]

# Layers that give a network a minimum input size; a transformer on (sequence,
# features) inputs has none, and its "channels" are not held fixed.
_WINDOWED = frozenset({LayerKind.CONV, LayerKind.CONV_TRANSPOSE, LayerKind.MAXPOOL, LayerKind.AVGPOOL})


def _input_range(
    model: nn.Module, spec: Any, device: str, batch: int, flow: Any, layers: Any, output: Any, opaque: frozenset[str], read: bool
) -> tuple[Any, Any]:
    """Per spatial axis, the smallest input that runs at ``batch`` and, where one exists, the largest."""
    dims = len(spec.shape) - 1
    predictor = size_predictor(flow, layers, dims, opaque, read)
    ran = all(t.numel() > 0 for t in tensors(output))
    low: list[int | None] = [None] * dims
    high: list[int | None] = [None] * dims
    for axes in axis_groups(dims):
        traced = [spec.shape[1 + a] for a in axes]
        square = len(set(traced)) == 1
        probe = SizeProbe(model, spec, device, known={traced[0]: ran} if square else None, axes=axes, batch=batch)
        found = find_input_range(probe, max(traced), predictor if square else None)
        for a in axes:
            low[a], high[a] = found
    if any(v is None for v in low):
        return None, None
    return tuple(low), (tuple(high) if any(v is not None for v in high) else None)


def _check_names(model: nn.Module, inputs: Any, name: str) -> None:
    """Refuse keyword inputs ``forward`` cannot take, before running anything."""
    named = [spec.name for spec in inputs if spec.name]
    if not named:
        return
    try:
        params = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    by_position = [p.name for p in params.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    by_position = by_position[: len(inputs) - len(named)]
    for key in named:
        param = params.get(key)
        if key in by_position:
            raise InputError(f"{name}: input {key} is given twice, by position and by name")
        if (param is None and not takes_any) or (param is not None and param.kind in (param.POSITIONAL_ONLY, param.VAR_POSITIONAL)):
            accepted = ", ".join(p.name for p in params.values() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
            raise InputError(
                f"{name}.forward has no parameter {key!r} to pass an input to by name (it takes: {accepted or 'none'})"
            )


def trace(
    model_or_name: nn.Module | str,
    input_size: Any = None,
    *,
    batch: int = 1,
    device: str = "meta",
    input_range: bool = True,
    timeout: float | None = DEFAULT_TIMEOUT,
    trust: Trust | None = None,
    **builder_kwargs: Any,
) -> Trace:
    """Trace a model once and return the immutable record every renderer reads.

    Args:
        model_or_name: A registry name such as ``"resnet18"``, an import path
            ``"package.module:attribute"`` naming a module class, a factory or a
            module (see `archdoc.loading`), or an ``nn.Module``. A module is
            copied to ``device`` first and never changed.
        input_size: Input size without batch: ``(3, 224, 224)``, ``"3x224x224"``,
            or a list of those for several inputs. ``None`` uses the model's default.
            For registry models, the first size sets ``in_channels``.
        batch: Batch size.
        device: ``"meta"`` (no memory, no values) or a real device such as ``"cpu"``.
        input_range: Search the smallest (and largest) square input the model runs on at ``batch``:
            worked out from the layers' window arithmetic, with a few more passes on ``device``
            wherever the arithmetic cannot vouch for every step; off, `Trace.minimum_input` stays ``None``.
        timeout: Seconds the model's code may run (import, build, every pass); ``None`` for no limit.
        trust: Where an import path comes from and what it may run (see `archdoc.loading.Trust`);
            from Python, any module but the standard library's.
        **builder_kwargs: Builder arguments for registry and import-path models, e.g. ``num_classes=2``.

    Returns:
        The [`Trace`][archdoc.tracing.Trace].

    Raises:
        UnknownModelError: The name is not registered.
        ModelImportError: An import path cannot be imported or names no attribute.
        NotAModelError: An import path names something that builds no ``nn.Module``.
        ModelArgumentError: The builder rejects a keyword.
        InputSpecError: The input size cannot be read.
        InputError: The model cannot take the input (too small, wrong channels, ...).
        TraceError: The model failed for another reason, e.g. it reads tensor values on meta.
        UserCodeExit: The model's code called ``sys.exit()``.
        TimeLimitError: It ran longer than ``timeout``.
        UntrustedCodeError: The import path names code its source may not run.
    """
    if batch < 1:
        raise InputError(f"batch must be at least 1, got {batch}")
    inputs = None if input_size is None else as_input_specs(input_size)
    check_device(device)
    label = model_or_name if isinstance(model_or_name, str) else type(model_or_name).__name__
    with guarded(f"tracing {label}", timeout):
        return _trace(model_or_name, inputs, batch, device, input_range, trust, builder_kwargs)


def _trace(
    model_or_name: Any, inputs: Any, batch: int, device: str, input_range: bool, trust: Trust | None,
    builder_kwargs: dict[str, Any],
) -> Trace:
    resolved = resolve(model_or_name, inputs, builder_kwargs, device, trust)
    model, entry, name, inputs = resolved.module, resolved.entry, resolved.name, resolved.inputs
    model.eval()
    _check_names(model, inputs, name)

    read = input_range and reads_every_forward(model)  # before the recorder adds its hooks
    recorder = Recorder(model)
    recorder.attach()
    try:
        args, kwargs = make_inputs(inputs, batch, device)
        recorder.flow.inputs(model, args, kwargs)
        with torch.no_grad(), recorder:
            output = model(*args, **kwargs)
    except Exception as exc:
        failing = recorder.stack[-1] if recorder.stack else None
        recorder.detach()
        raise diagnose(exc, model, name, inputs, failing, device, recorder.failed_op, batch) from exc
    finally:
        recorder.detach()

    if next(tensors(output), None) is None:
        raise TraceError(
            f"{name} returned {type(output).__name__}, not a tensor (or a tuple, list or dict of tensors); "
            "archdoc documents what a model computes from its output"
        )
    holders = owners(model)
    layers = collect_layers(model, recorder.calls, holders)
    recorder.flow.outputs(output)
    flow = tuple(recorder.flow.nodes)
    smallest = largest = None
    if input_range and spatial_input(inputs) and any(layer.kind in _WINDOWED for layer in layers):
        smallest, largest = _input_range(model, inputs[0], device, batch, flow, layers, output, frozenset(recorder.flow.opaque), read)

    params = list(model.parameters())
    return Trace(
        model=name,
        display_name=resolved.display_name,
        model_type=type(model).__name__,
        family=entry.family if entry else None,
        card=entry.card if entry else None,
        deviations=entry.all_deviations if entry else (),
        builder_kwargs=tuple(sorted(resolved.kwargs.items())),
        inputs=inputs,
        batch=batch,
        device=str(torch.device(device)),
        layers=layers,
        output_shapes=tuple(tuple(t.shape) for t in tensors(output)),
        output_names=tuple(output_names(output)),
        total_params=sum(p.numel() for p in params),
        trainable_params=sum(p.numel() for p in params if p.requires_grad),
        shared_params=sum(p.numel() for p in params if len(holders.get(id(p), ())) > 1),
        param_bytes=sum(p.numel() * p.element_size() for p in params),
        buffer_params=sum(b.numel() for b in model.buffers()),
        mult_adds=layers[0].mult_adds if layers else 0,
        dataflow=flow,
        minimum_input=smallest,
        maximum_input=largest,
        family_title=entry.family_title if entry else None,
        documented_min_size=entry.documented_min_size if entry else None,
        built_with_values=resolved.built_with_values,
        pads=tuple(recorder.pads),
    )

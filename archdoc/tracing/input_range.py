"""The input sizes a model runs on, found on meta tensors.

Convolutional networks shrink their input step by step, so below some size a
layer gets nothing to work on; a flatten feeding a fixed-width linear layer also
caps the size from above. The sizes that run are assumed to form one range,
which holds for networks whose layers shrink sizes monotonically.

The edges are first predicted from the traced dataflow graph, pushing a size
through the window arithmetic of every convolution and pooling layer with no
forward pass, and then confirmed by running the model on either side of each
edge. When the graph holds something the prediction cannot follow, or a
confirmation fails, the edges are found by bisection over real passes (a
logarithmic number of them).
"""

from __future__ import annotations

from dataclasses import replace

from typing import Any, Self

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

from archdoc.shapes import InputSpec
from archdoc.tracing.metaops import COMPOSITE_MODULES, composite_shortcut, meta_shortcut, shortcut_allowed
from archdoc.tracing.prediction import Prediction
from archdoc.tracing.recorder import make_inputs, tensors

__all__ = ["FastMeta", "holds_composites", "SizeProbe", "with_spatial", "spatial_input", "find_input_range", "minimum_per_axis"]


class _WholeComposites(TorchFunctionMode):
    """Answers composite functions (`composite_shortcut`) before they run their ops."""

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        kwargs = kwargs or {}
        out = composite_shortcut(func, args, kwargs)
        return out if out is not None else func(*args, **kwargs)


class FastMeta(TorchDispatchMode):
    """Runs a model with `meta_shortcut()`: the passes of the size searches.

    Args:
        composites: Also answer a few functions whole (local response norm), through a
            function mode that sees every torch call: worth it only for a model that has them
            (see `holds_composites`); it doubles the cost of a pass of LeNet-5.
    """

    def __init__(self, composites: bool = False) -> None:
        super().__init__()
        self._functions = _WholeComposites() if composites else None

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        return False

    def __enter__(self) -> Self:
        if self._functions is not None:
            self._functions.__enter__()
        return super().__enter__()

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        if self._functions is not None:
            self._functions.__exit__(*exc)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        out = meta_shortcut(func, args) if shortcut_allowed(kwargs) else None
        return out if out is not None else func(*args, **(kwargs or {}))


def holds_composites(model: nn.Module) -> bool:
    """Whether ``model`` has modules that `FastMeta` can answer whole."""
    return any(isinstance(m, COMPOSITE_MODULES) for m in model.modules())


def with_spatial(spec: InputSpec, size: int) -> InputSpec:
    """``spec`` with every spatial dimension (all but the first) set to ``size``."""
    return replace(spec, shape=(spec.shape[0],) + (size,) * (len(spec.shape) - 1))


def axis_groups(dims: int) -> list[tuple[int, ...]]:
    """The spatial axes searched together: height and width as one square; frames (T of T×H×W) on their own."""
    return [tuple(range(dims))] if dims <= 2 else [(0,), tuple(range(1, dims))]


def spatial_input(inputs: tuple[InputSpec, ...]) -> bool:
    """Whether the model takes one float input with channels and at least one spatial dimension."""
    return len(inputs) == 1 and inputs[0].is_float and len(inputs[0].shape) >= 2


class _Reached(Exception):
    """Raised by a pre-hook to stop a pass at a layer, carrying what it received."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = shape


class SizeProbe:
    """Runs one model at sizes of one input along some of its axes, remembering each answer.

    Args:
        model: The model, on ``device``.
        spec: The input whose spatial sizes vary.
        device: Where ``model`` lives; passes run on meta tensors whenever it is meta.
        known: Answers already known (the traced size ran).
        axes: The spatial axes (0 is the first after channels) that take the size tried; all by default.
        batch: The batch size of every pass (the traced one: a norm by the batch's own statistics
            runs at sizes with a larger batch that it refuses with a smaller one).
    """

    def __init__(
        self, model: nn.Module, spec: InputSpec, device: str, known: dict[int, bool] | None = None,
        axes: tuple[int, ...] | None = None, batch: int = 1,
    ) -> None:
        self.model = model
        self.spec = spec
        self.device = device
        self.batch = batch
        self.axes = tuple(range(len(spec.shape) - 1)) if axes is None else axes
        self.passes = 0
        self._composites = holds_composites(model)
        self._answers: dict[int, bool] = dict(known or {})

    def sizes(self, size: int) -> tuple[int, ...]:
        """The spatial sizes tried for ``size``: it on the probed axes, the traced sizes elsewhere."""
        spatial = list(self.spec.shape[1:])
        for axis in self.axes:
            spatial[axis] = size
        return tuple(spatial)

    def _input(self, size: int) -> InputSpec:
        return replace(self.spec, shape=(self.spec.shape[0], *self.sizes(size)))

    def runs(self, size: int) -> bool:
        """Whether the model gives non-empty outputs at ``size`` (each size is tried once)."""
        if size not in self._answers:
            self._answers[size] = self._run(size)
        return self._answers[size]

    def _run(self, size: int) -> bool:
        self.passes += 1
        try:
            args, kwargs = make_inputs((self._input(size),), self.batch, self.device)
            with torch.no_grad(), FastMeta(self._composites):
                out = self.model(*args, **kwargs)
        except Exception:
            return False
        return all(t.numel() > 0 for t in tensors(out))

    def minimum(self, known_good: int, known_bad: int = 0) -> int | None:
        """Smallest size that runs, above ``known_bad`` (a size that failed; 0 for none) and at most
        ``known_good`` (a size that must run); ``None`` if ``known_good`` does not."""
        if not self.runs(known_good):
            return None
        if known_bad == 0 and self.runs(1):
            return 1
        return self._edge(good=known_good, bad=max(known_bad, 1))

    def maximum(self, known_good: int) -> int | None:
        """Largest size up to ``2 * known_good`` that runs, or ``None`` when ``2 * known_good`` runs."""
        ceiling = 2 * known_good
        if self.runs(ceiling):
            return None
        return self._edge(good=known_good, bad=ceiling)

    def smallest_above(self, limits: tuple[int, ...]) -> int | None:
        """The minimum size, searched below each of ``limits`` in turn until one runs."""
        for good in limits:
            found = self.minimum(good)
            if found is not None:
                return found
        return None

    def _edge(self, good: int, bad: int) -> int:
        """Bisect between a size that runs and one that fails; the last size that runs."""
        while abs(good - bad) > 1:
            mid = (good + bad) // 2
            if self.runs(mid):
                good = mid
            else:
                bad = mid
        return good

    def features_at(self, layer: nn.Module, size: int) -> int | None:
        """The last dimension ``layer`` receives at ``size``; ``None`` if the pass fails before it."""
        self.passes += 1

        def stop(module: nn.Module, args: Any) -> None:
            first = next(tensors(args), None)
            raise _Reached(tuple(first.shape) if first is not None else ())

        handle = layer.register_forward_pre_hook(stop)
        try:
            args, kwargs = make_inputs((self._input(size),), self.batch, self.device)
            with torch.no_grad(), FastMeta(self._composites):
                self.model(*args, **kwargs)
        except _Reached as reached:
            return reached.shape[-1] if reached.shape else None
        except Exception:
            return None
        finally:
            handle.remove()
        return None

    def sizes_for_features(self, layer: nn.Module, wanted: int, limit: int) -> tuple[int, int] | None:
        """The sizes in ``1..limit`` at which ``layer`` receives exactly ``wanted`` features, by bisection.

        The features a flatten hands on grow with the input size, so the sizes
        giving ``wanted`` form one range; a size whose pass fails earlier counts as too small.
        """

        def below(size: int) -> bool:
            got = self.features_at(layer, size)
            return got is None or got < wanted

        def at_most(size: int) -> bool:
            got = self.features_at(layer, size)
            return got is None or got <= wanted

        low = _first_false(below, 1, limit)  # first size with at least `wanted`
        high = _first_false(at_most, 1, limit) - 1  # last size with at most `wanted`
        if low > limit or high < low:
            return None
        return low, high


def _first_false(predicate: Any, low: int, high: int) -> int:
    """The first ``n`` in ``low..high`` where a monotone (true, then false) predicate is false; ``high + 1`` if none."""
    while low <= high:
        mid = (low + high) // 2
        if predicate(mid):
            low = mid + 1
        else:
            high = mid - 1
    return low


def minimum_per_axis(
    model: nn.Module, spec: InputSpec, device: str, limits: tuple[int, ...] = (256, 1024, 4096), batch: int = 1
) -> tuple[int, ...] | None:
    """The smallest size per spatial axis group (see `axis_groups`), the other axes held at a size that runs.

    First a size that runs on every axis is found among ``limits``; then each group is
    bisected below it. ``None`` when no limit runs. For one or two spatial axes this is
    the smallest square's side, repeated.
    """
    dims = len(spec.shape) - 1
    everywhere = SizeProbe(model, spec, device, batch=batch)
    good = next((limit for limit in limits if everywhere.runs(limit)), None)
    if good is None:
        return None
    wide = with_spatial(spec, good)
    found: list[int] = [good] * dims
    for axes in axis_groups(dims):
        smallest = SizeProbe(model, wide, device, known={good: True}, axes=axes, batch=batch).minimum(good)
        for axis in axes:
            found[axis] = good if smallest is None else smallest
    return tuple(found)


def find_input_range(probe: SizeProbe, traced: int, prediction: Prediction | None) -> tuple[int | None, int | None]:
    """Along the probe's axes, the smallest size that runs and the largest up to ``2 * traced`` (``None`` when that runs too).

    A prediction vouched for (`Prediction.vouched`) is the answer. Otherwise a predicted edge
    is confirmed by real passes on both sides of it; an inexact prediction
    gives a lower bound for the smallest size, where the search starts. Without a confirmed
    edge, the sizes next to the traced one are tried (a model built for one size, like a
    vision transformer, fails on both and needs no search); otherwise bisection finds the edge.
    """
    predict = (lambda n: prediction.runs(probe.sizes(n))) if prediction is not None else None
    if predict is not None and prediction.vouched and probe.runs(traced):  # a prediction runs at the traced size
        ceiling = 2 * traced
        largest = None if predict(ceiling) else _first_false(predict, traced, ceiling) - 1
        return _first_false(lambda n: not predict(n), 1, traced), largest
    smallest = None
    bad = 0  # the largest size a pass showed to fail below the traced one
    if predict is not None and predict(traced):
        guess = _first_false(lambda n: not predict(n), 1, traced)
        if not probe.runs(guess):
            bad = guess
        elif guess == 1 or not probe.runs(guess - 1):
            smallest = guess
    if smallest is None and probe.runs(traced) and traced > 1 and not probe.runs(traced - 1):
        smallest = traced
    if smallest is None:
        smallest = probe.minimum(traced, known_bad=bad)
        if smallest is None:
            return None, None
    ceiling = 2 * traced
    if predict is not None and not predict(ceiling):
        guess = _first_false(predict, traced, ceiling) - 1
        if guess >= traced and probe.runs(guess) and not probe.runs(guess + 1):
            return smallest, guess
    # A model that runs only near its traced size (a vision transformer's fixed position
    # embeddings) likely stops right above it too: one pass settles that before any bisection.
    near = smallest > traced // 2
    if near and (prediction is None or not prediction.exact) and not probe.runs(traced + 1):
        return smallest, traced
    return smallest, probe.maximum(traced)

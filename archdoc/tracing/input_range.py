"""The square input sizes a model runs on, found by bisection on meta tensors.

Convolutional networks shrink their input step by step, so below some size a
layer gets nothing to work on; a flatten feeding a fixed-width linear layer also
caps the size from above. Both edges are found by bisection (a logarithmic
number of forward passes), assuming the sizes that run form one range, which
holds for networks whose layers shrink sizes monotonically.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from archdoc.shapes import InputSpec
from archdoc.tracing.metaops import FastMeta
from archdoc.tracing.recorder import make_inputs, tensors

__all__ = ["SizeProbe", "with_spatial", "spatial_input"]


def with_spatial(spec: InputSpec, size: int) -> InputSpec:
    """``spec`` with every spatial dimension (all but the first) set to ``size``."""
    return InputSpec((spec.shape[0],) + (size,) * (len(spec.shape) - 1), spec.dtype)


def spatial_input(inputs: tuple[InputSpec, ...]) -> bool:
    """Whether the model takes one float input with channels and at least one spatial dimension."""
    return len(inputs) == 1 and inputs[0].is_float and len(inputs[0].shape) >= 2


class _Reached(Exception):
    """Raised by a pre-hook to stop a pass at a layer, carrying what it received."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = shape


class SizeProbe:
    """Runs one model at square sizes of one input, remembering each answer.

    Args:
        model: The model, on ``device``.
        spec: The input whose spatial sizes vary.
        device: Where ``model`` lives; passes run on meta tensors whenever it is meta.
    """

    def __init__(self, model: nn.Module, spec: InputSpec, device: str) -> None:
        self.model = model
        self.spec = spec
        self.device = device
        self.passes = 0
        self._answers: dict[int, bool] = {}

    def runs(self, size: int) -> bool:
        """Whether the model gives non-empty outputs at ``size`` (each size is tried once)."""
        if size not in self._answers:
            self._answers[size] = self._run(size)
        return self._answers[size]

    def _run(self, size: int) -> bool:
        self.passes += 1
        try:
            with torch.no_grad(), FastMeta():
                out = self.model(*make_inputs((with_spatial(self.spec, size),), 1, self.device))
        except Exception:
            return False
        return all(t.numel() > 0 for t in tensors(out))

    def minimum(self, known_good: int) -> int | None:
        """Smallest size that runs, at most ``known_good`` (a size that must run); ``None`` if it does not."""
        if not self.runs(known_good):
            return None
        if self.runs(1):
            return 1
        return self._edge(good=known_good, bad=1)

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
            with torch.no_grad(), FastMeta():
                self.model(*make_inputs((with_spatial(self.spec, size),), 1, self.device))
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

"""Pin an architecture in a test, in one line.

::

    from archdoc.testing import assert_architecture, assert_matches_lock

    def test_resnet18_is_unchanged():
        assert_architecture("resnet18", "1x116x116", num_classes=2, params=11_171_266, output_shape=(1, 2))

    def test_models_match_the_lock():
        assert_matches_lock("archdoc.lock.json")

Failures are ``AssertionError`` with a readable message, so pytest shows what changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["assert_architecture", "assert_matches_lock"]


def assert_architecture(
    model: Any,
    input_size: Any = None,
    *,
    params: int | None = None,
    trainable_params: int | None = None,
    mult_adds: int | None = None,
    output_shape: Sequence[int] | None = None,
    batch: int = 1,
    device: str = "meta",
    **builder_kwargs: Any,
) -> Any:
    """Trace ``model`` and assert the given figures; returns the trace for further checks.

    Args:
        model: A zoo name, ``package.module:attribute`` or an ``nn.Module``.
        input_size: Input size(s) without batch; ``None`` for the model's default.
        params: Expected number of parameters (shared tensors once).
        trainable_params: Expected number of trainable parameters.
        mult_adds: Expected mult-adds at this batch.
        output_shape: Expected shape of the (first) output, batch included.
        batch: Batch size.
        device: ``"meta"`` or ``"cpu"``.
        **builder_kwargs: Builder arguments, e.g. ``num_classes=2``.

    Raises:
        AssertionError: A figure differs; the message lists every difference.
    """
    from archdoc.tracing import trace

    result = trace(model, input_size, batch=batch, device=device, **builder_kwargs)
    name = result.model
    expected = {
        "params": params,
        "trainable params": trainable_params,
        "mult-adds": mult_adds,
        "output shape": tuple(output_shape) if output_shape is not None else None,
    }
    actual = {
        "params": result.total_params,
        "trainable params": result.trainable_params,
        "mult-adds": result.mult_adds,
        "output shape": tuple(result.output_shape),
    }
    wrong = [
        f"{name}: {what} {_show(actual[what])}, expected {_show(want)}"
        for what, want in expected.items()
        if want is not None and actual[what] != want
    ]
    if wrong:
        raise AssertionError("\n".join(wrong))
    return result


def assert_matches_lock(
    path: str | Path = "archdoc.lock.json", models: Iterable[str] | str = (), trusted: Sequence[str] = ()
) -> None:
    """Assert that every model of a lock file (or the named ones: one name or several) still matches it.

    ``trusted`` names packages the lock's import paths may name besides the project's own
    code (as ``archdoc check --trust``).

    Raises:
        AssertionError: Lines such as ``resnet18: params 11,689,512 → 11,689,000 (layer4.1.conv2: ...)``.
        ArchdocError: The lock file is unreadable, or a name matches none of its entries.
    """
    from archdoc.lock import check_lock

    differences = check_lock(path, models, trusted)
    if differences:
        raise AssertionError(f"the architecture differs from {path}:\n" + "\n".join(differences))


def _show(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)

"""Run a model's own code on a short leash: no exit, no endless run, no state left behind.

- ``sys.exit()`` (``SystemExit``) from the model's code becomes an error: a check
  must never pass because the code it ran asked to stop.
- A time limit stops a model that never returns.
- PyTorch's global settings a model may change while it runs (default dtype and
  device, grad mode, deterministic algorithms, threads) are put back, so one
  model cannot change how the next is traced.
- The fused fast path of ``nn.MultiheadAttention`` and ``nn.TransformerEncoderLayer``
  is off while a model runs: on cpu it replaces the attention's matrix products with
  one kernel that counts nothing, so the same model would give fewer mult-adds on cpu
  than on meta, where that path never runs.
"""

from __future__ import annotations

import gc
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from archdoc.errors import DEFAULT_TIMEOUT, TimeLimitError, UserCodeExit

__all__ = ["guarded", "DEFAULT_TIMEOUT"]


class _Expired(BaseException):
    """Raised into the running model when its time is up (not an Exception: the model's
    own ``except Exception`` blocks cannot swallow it)."""


@contextmanager
def _torch_state() -> Iterator[None]:
    dtype = torch.get_default_dtype()
    device = torch.get_default_device()
    grad = torch.is_grad_enabled()
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    threads = torch.get_num_threads()
    mha = torch.backends.mha
    fastpath = mha.get_fastpath_enabled()
    mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        mha.set_fastpath_enabled(fastpath)
        torch.set_default_dtype(dtype)
        if torch.get_default_device() != device:
            torch.set_default_device(device)
        torch.set_grad_enabled(grad)
        # Only when the model changed it: the call imports torch._inductor and torch._dynamo (seconds).
        if (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()) != (
            deterministic, warn_only
        ):
            torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


@contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`_Expired` in this thread after ``seconds`` (main thread only; elsewhere no limit)."""
    usable = (
        seconds is not None and seconds > 0 and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    collecting = [False]

    def expire(signum: int, frame: object) -> None:
        # Not while the garbage collector runs callbacks: raised there, it would be
        # swallowed and printed. The next firing, 50 ms on, stops the model.
        if not collecting[0]:
            raise _Expired()

    def gc_start(phase: str, info: object) -> None:
        if phase == "start":
            collecting[0] = True

    def gc_stop(phase: str, info: object) -> None:
        if phase == "stop":
            collecting[0] = False

    def unraisable(report: object) -> None:
        # A firing inside a __del__ or weakref callback is swallowed there; say nothing.
        if not isinstance(getattr(report, "exc_value", None), _Expired):
            hook(report)

    hook = sys.unraisablehook
    gc.callbacks.insert(0, gc_start)  # first to see "start", last to see "stop"
    gc.callbacks.append(gc_stop)
    sys.unraisablehook = unraisable
    previous = signal.signal(signal.SIGALRM, expire)
    # Fire again every 50 ms after the limit: a firing that cannot stop the model where it
    # lands (above) must not be the last.
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.05)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        sys.unraisablehook = hook
        gc.callbacks.remove(gc_start)
        gc.callbacks.remove(gc_stop)


@contextmanager
def guarded(what: str, timeout: float | None = DEFAULT_TIMEOUT) -> Iterator[None]:
    """Run the model's code for ``what`` (``"tracing resnet18"``) within the limits above.

    Raises:
        UserCodeExit: The code raised ``SystemExit``.
        TimeLimitError: It ran longer than ``timeout`` seconds.
    """
    try:
        with _torch_state(), _time_limit(timeout):
            yield
    except _Expired:
        raise TimeLimitError(float(timeout or 0), what) from None
    except SystemExit as exc:
        raise UserCodeExit(exc.code, what) from None

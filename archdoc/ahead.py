"""Trace many zoo models ahead of their use, on every CPU.

Tracing is about half of a zoo site's build and all of `archdoc check`, and each
model's trace is independent of the others. The zoo models among a list of requests
are traced in forked worker processes, one model at a time per process, and their
traces come back pickled while the caller uses them in order (the plugin makes each
page as its trace arrives), so the output is the same byte for byte as with one process.

Only what is safe to fork is sent: registry models on meta, from a process with no
other Python thread (``mkdocs serve`` has its server's threads; a fork would copy
their locks in whatever state they hold). A model that fails in a worker, and any
other request (a project's own model by import path, a real device), is traced by the
caller itself, so errors read exactly as they would without workers.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from archdoc.errors import ArchdocError
from archdoc.registry import get_entry
from archdoc.request import ModelRequest

__all__ = ["TracesAhead", "available_workers"]

# Below this many models, starting the workers costs more than it saves.
_WORTH_IT = 4


def available_workers(wanted: int | None = None) -> int:
    """How many worker processes may trace: ``wanted``, by default one per CPU this process may
    use (at most 8), and 0 where forking is unsafe (not Linux, or other threads running)."""
    if sys.platform != "linux" or threading.active_count() > 1:
        return 0
    return max(wanted, 0) if wanted is not None else min(len(os.sched_getaffinity(0)), 8)


def _forkable(request: ModelRequest) -> bool:
    if request.device != "meta":
        return False
    try:
        get_entry(request.model)
    except ArchdocError:
        return False  # an import path or an unknown name: the caller reports it
    return True


def _trace_or_none(request: ModelRequest, timeout: float | None, input_range: bool) -> Any:
    try:
        return request.trace(input_range=input_range, timeout=timeout)
    except BaseException:  # noqa: BLE001  (the caller traces it again and reports the error itself)
        return None


class TracesAhead:
    """Traces of the zoo models among ``requests``, made by ``workers`` forked processes while the caller goes on
    (with the input-range search unless ``input_range`` is false).

    The caller asks for each trace in the order of ``requests`` (`trace`), rendering
    one page while the workers trace the next models; what no worker made is traced in
    the caller's process, raising as ``request.trace`` does. With fewer than two workers,
    or few models, no process is started. Use it as a context manager: leaving it stops
    the workers.
    """

    def __init__(self, requests: list[ModelRequest], timeout: float | None, workers: int, input_range: bool = True) -> None:
        todo = list({r.label: r for r in requests if _forkable(r)}.values())
        self._timeout = timeout
        self._input_range = input_range
        self._labels = [r.label for r in todo]
        self._ready: dict[str, Any] = {}
        self.made = 0  # traces the workers handed back
        self._pool: ProcessPoolExecutor | None = None
        self._results: Any = iter(())
        if workers >= 2 and len(todo) >= _WORTH_IT:
            context = multiprocessing.get_context("fork")
            self._pool = ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=context)
            self._results = self._pool.map(_trace_or_none, todo, [timeout] * len(todo), [input_range] * len(todo))

    def trace(self, request: ModelRequest) -> Any:
        """The trace of ``request``: a worker's, or else made here."""
        made = self._take(request.label)
        return made if made is not None else request.trace(input_range=self._input_range, timeout=self._timeout)

    def _take(self, label: str) -> Any:
        """The trace for ``label`` once a worker has made it, or ``None`` (not sent, or it failed there)."""
        if label not in self._labels:
            return self._ready.pop(label, None)
        try:
            while label not in self._ready:
                self._ready[self._labels.pop(0)] = next(self._results)
        except Exception:  # noqa: BLE001  (a worker died or a trace would not pickle: the caller traces the rest)
            self._labels = []
            self.close()
        result = self._ready.pop(label, None)
        self.made += result is not None
        return result

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> TracesAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

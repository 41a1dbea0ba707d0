"""archdoc: architecture documentation for PyTorch models that cannot drift from the code.

The public surface is imported lazily so that ``archdoc --help`` and listing
names never pay for importing torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "list_models": "archdoc.registry",
    "get_model": "archdoc.registry",
    "register_model": "archdoc.registry",
    "PaperCard": "archdoc.registry",
    "trace": "archdoc.tracing",
    "Trace": "archdoc.tracing",
    "render_table": "archdoc.table",
    "render_arithmetic": "archdoc.arithmetic",
    "render_page": "archdoc.page",
    "render_json": "archdoc.page",
    "ImportCall": "archdoc.calls",
    "import_call": "archdoc.calls",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'archdoc' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)

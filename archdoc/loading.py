"""Models given as ``package.module:attribute``: import, check and build them.

The same string works on the command line (``archdoc render mymodels:Net``), in
[`archdoc.trace()`][archdoc.tracing.trace], in embed markers and in the MkDocs plugin, because they
all end up here. The attribute may be dotted (``pkg.mod:Outer.factory``) and
names an ``nn.Module`` subclass, a function returning a module (both called
with the builder keyword arguments), or a module instance. Modules are also
looked up in the current working directory, so a project's own files import.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import os
import re
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from archdoc.errors import ArchdocError, BuildError, ModelArgumentError, ModelImportError, NotAModelError
from archdoc.shapes import InputSpec, as_input_specs

__all__ = ["ImportedModel", "import_model", "is_import_path"]

_MODULE_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_KEYWORDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def is_import_path(text: str) -> bool:
    """Whether ``text`` names a model by import path rather than by zoo name."""
    return ":" in text


@dataclass(frozen=True)
class ImportedModel:
    """What an import path points to, ready to be built.

    Attributes:
        spec: The full text, e.g. ``"mymodels:Net"``; traces keep it to reproduce the page.
        attribute: The attribute path, e.g. ``"Net"``; the page's title.
        target: The class, factory or module instance it names.
    """

    spec: str
    attribute: str
    target: Any

    @property
    def is_instance(self) -> bool:
        """Whether the target is an already built module (it takes no arguments)."""
        return isinstance(self.target, nn.Module)

    @property
    def default_input(self) -> tuple[InputSpec, ...] | None:
        """The target's ``default_input`` attribute as input specs, if it has one."""
        value = getattr(self.target, "default_input", None)
        return None if value is None else as_input_specs(value)

    def parameters(self) -> tuple[str, ...] | None:
        """Keyword arguments the target accepts, or ``None`` when it accepts any."""
        if self.is_instance:
            return ()
        try:
            signature = inspect.signature(self.target)
        except (TypeError, ValueError):  # some builtins have no signature
            return None
        params = signature.parameters.values()
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
            return None
        return tuple(p.name for p in params if p.kind in _KEYWORDS)

    def build(self, **kwargs: Any) -> nn.Module:
        """Call the class or factory with ``kwargs`` and check that a module comes back.

        A module instance is returned as it is (the tracer copies it).

        Raises:
            ModelArgumentError: A keyword is not accepted.
            BuildError: A required argument is missing, or the call raised.
            NotAModelError: A factory returned something other than a module.
        """
        accepted = self.parameters()  # () for an instance: it takes no arguments
        if accepted is not None:
            bad = sorted(k for k in kwargs if k not in accepted)
            if bad:
                raise ModelArgumentError(self.spec, bad, accepted)
            missing = [] if self.is_instance else self._missing(kwargs)
            if missing:
                sets = " ".join(f"--set {m}=VALUE" for m in missing)
                noun = "argument" if len(missing) == 1 else "arguments"
                raise BuildError(self.spec, kwargs, f"missing required {noun} {', '.join(missing)} (give {sets})")
        if self.is_instance:
            return self.target
        try:
            module = self.target(**kwargs)
        except ArchdocError:
            raise
        except Exception as exc:  # the user's code may raise anything
            raise BuildError(self.spec, kwargs, _describe(exc)) from exc
        if not isinstance(module, nn.Module):
            raise NotAModelError(self.spec, f"returned {type(module).__name__}, not a torch.nn.Module")
        return module

    def _missing(self, kwargs: dict[str, Any]) -> list[str]:
        signature = inspect.signature(self.target)
        return [
            p.name
            for p in signature.parameters.values()
            if p.kind in _KEYWORDS and p.default is inspect.Parameter.empty and p.name not in kwargs
        ]


def import_model(spec: str) -> ImportedModel:
    """Import the object that ``spec`` (``package.module:attribute``) names.

    Raises:
        ModelImportError: The module cannot be found or fails to import, or the
            attribute does not exist (with close matches).
        NotAModelError: The attribute is neither a module class, a callable nor a module.
    """
    module_name, _, attribute = spec.partition(":")
    module_name, attribute = module_name.strip(), attribute.strip()
    if not _MODULE_NAME.match(module_name) or not all(part.isidentifier() for part in attribute.split(".")):
        raise ModelImportError(spec, f"expected package.module:attribute (e.g. mymodels:Net), got {spec!r}")
    target: Any = _import(module_name, spec)
    walked: list[str] = []
    for part in attribute.split("."):
        if not hasattr(target, part):
            owner = f"module {module_name!r}" if not walked else f"{module_name}:{'.'.join(walked)}"
            raise ModelImportError(spec, f"{owner} has no attribute {part!r}", _close(part, dir(target)))
        target = getattr(target, part)
        walked.append(part)
    _check_target(spec, target)
    return ImportedModel(spec=spec, attribute=attribute, target=target)


def _check_target(spec: str, target: Any) -> None:
    if isinstance(target, nn.Module):
        return
    if inspect.isclass(target):
        if not issubclass(target, nn.Module):
            raise NotAModelError(spec, "is a class that is not a torch.nn.Module subclass")
        return
    if not callable(target):
        raise NotAModelError(
            spec, f"is {type(target).__name__}, not an nn.Module class or a function that returns a module"
        )


def _import(module_name: str, spec: str) -> Any:
    with _cwd_on_path():
        try:
            return importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            missing = exc.name or ""
            if missing and (module_name == missing or module_name.startswith(missing + ".")):
                raise ModelImportError(
                    spec,
                    f"cannot import {module_name!r}: no module named {missing!r} "
                    "(looked in the current directory and on sys.path)",
                ) from None
            raise ModelImportError(spec, f"importing {module_name!r} failed: {_describe(exc)}") from exc
        except Exception as exc:  # the user's module may raise anything at import time
            raise ModelImportError(spec, f"importing {module_name!r} failed: {_describe(exc)}") from exc


@contextmanager
def _cwd_on_path() -> Iterator[None]:
    """Put the working directory first on ``sys.path`` while importing, if it is not there."""
    cwd = os.getcwd()
    added = cwd not in sys.path and "" not in sys.path
    if added:
        sys.path.insert(0, cwd)
    importlib.invalidate_caches()
    try:
        yield
    finally:
        if added and cwd in sys.path:
            sys.path.remove(cwd)


def _close(name: str, candidates: list[str]) -> list[str]:
    public = {c.lower(): c for c in candidates if not c.startswith("_")}
    return [public[m] for m in difflib.get_close_matches(name.lower(), list(public), n=3, cutoff=0.6)]


def _describe(exc: BaseException) -> str:
    """``Type: first line of the message (file.py:line)`` for an exception from user code."""
    text = str(exc).strip()
    message = f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__
    where = user_frame(exc)
    return f"{message} ({where})" if where else message


def user_frame(exc: BaseException) -> str | None:
    """``file.py:line`` of the innermost traceback frame outside torch, archdoc and importlib."""
    skip = tuple(str(Path(m.__file__).parent) for m in (sys.modules["torch"], sys.modules["archdoc"]))
    frames = [
        f for f in traceback.extract_tb(exc.__traceback__)
        if not f.filename.startswith(skip) and not f.filename.startswith("<frozen")
    ]
    if not frames:
        return None
    return f"{Path(frames[-1].filename).name}:{frames[-1].lineno}"

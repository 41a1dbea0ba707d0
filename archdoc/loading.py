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
import importlib.util
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


from archdoc.errors import ArchdocError, BuildError, ModelArgumentError, ModelImportError, NotAModelError, UntrustedCodeError
from archdoc.shapes import InputSpec, as_input_specs

__all__ = ["ImportedModel", "Trust", "check_trusted", "describe_error", "import_model", "import_object", "is_import_path", "user_frame",
           "user_source"]

_MODULE_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_KEYWORDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _nn() -> Any:
    """torch.nn, imported when a model is loaded (so ``archdoc --help`` never imports torch)."""
    from torch import nn

    return nn


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
        return isinstance(self.target, _nn().Module)

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

    def build(self, **kwargs: Any) -> Any:
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
                raise BuildError(
                    self.spec, kwargs,
                    f"missing required {noun} {', '.join(missing)} (give {sets}; an object such as a configuration "
                    f"is made from an import path: --set '{missing[0]}=package.module:Name(key=value, ...)')",
                )
        if self.is_instance:
            return self.target
        try:
            module = self.target(**kwargs)
        except ArchdocError:
            raise
        except Exception as exc:  # the user's code may raise anything
            raise BuildError(self.spec, kwargs, _describe(exc)) from exc
        if not isinstance(module, _nn().Module):
            raise NotAModelError(self.spec, f"returned {type(module).__name__}, not a torch.nn.Module")
        return module

    def _missing(self, kwargs: dict[str, Any]) -> list[str]:
        signature = inspect.signature(self.target)
        return [
            p.name
            for p in signature.parameters.values()
            if p.kind in _KEYWORDS and p.default is inspect.Parameter.empty and p.name not in kwargs
        ]


@dataclass(frozen=True)
class Trust:
    """Where an import path comes from, and so what code it may name.

    Code named on the command line or from Python runs because a person asked for
    it: any module but the standard library's. A file archdoc reads as data (an
    embed marker, a lock file, ``mkdocs.yml``) may name only the project's own
    code (modules under the working directory) and packages trusted by name
    (``--trust timm``, the plugin's ``trust:``); nothing else is even imported.

    Attributes:
        source: ``"the command line"``, ``"Python"``, ``"an embed marker"``, ``"a lock file"`` or ``"mkdocs.yml"``.
        packages: Top-level packages a data file may name besides the project's own.
    """

    source: str = "Python"
    packages: tuple[str, ...] = ()

    @property
    def from_data(self) -> bool:
        """Whether the path comes from a file archdoc reads as data."""
        return self.source not in ("the command line", "Python")


def _stdlib(module: str) -> bool:
    top = module.split(".")[0]
    return top in getattr(sys, "stdlib_module_names", ()) or top in sys.builtin_module_names or top == "builtins"


def _vet_module(spec: str, module_name: str, trust: Trust) -> None:
    """Refuse a module the source may not import (before importing anything)."""
    top = module_name.split(".")[0]
    if _stdlib(module_name):
        raise UntrustedCodeError(spec, trust.source, f"{top} is part of Python's standard library; archdoc never calls it as a model")
    if not trust.from_data or top in trust.packages:
        return
    with _cwd_on_path():
        try:
            found = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            found = None
    origin = Path(found.origin).resolve() if found is not None and found.origin else None
    locations = [Path(p).resolve() for p in (found.submodule_search_locations or [])] if found is not None else []
    here = Path.cwd().resolve()
    places = [*([origin] if origin else []), *locations]
    # An installed package is not the project's own code, even in a virtual environment inside the project.
    installed = any(part in ("site-packages", "dist-packages") for place in places for part in place.parts)
    if places and not installed and all(place == here or here in place.parents for place in places):
        return
    raise UntrustedCodeError(
        spec,
        trust.source,
        f"{trust.source} may name only this project's own code (modules under {here}) and packages trusted by name; "
        f"{top!r} is neither, so archdoc did not import it (give --trust {top}, or trust: [{top}] in mkdocs.yml)",
    )


def check_trusted(spec: str, trust: Trust | None = None) -> None:
    """Refuse ``spec`` if ``trust`` does not allow importing it; nothing is imported.

    Raises:
        ModelImportError: ``spec`` is not of the form ``package.module:attribute``.
        UntrustedCodeError: The standard library, or code a data file may not name.
    """
    module_name, _, attribute = spec.partition(":")
    module_name = module_name.strip()
    if not _MODULE_NAME.match(module_name) or not all(part.isidentifier() for part in attribute.strip().split(".")):
        raise ModelImportError(spec, f"expected package.module:attribute (e.g. mymodels:Net), got {spec!r}")
    _vet_module(spec, module_name, trust or Trust())


def import_object(spec: str, trust: Trust | None = None) -> Any:
    """Import what ``spec`` (``package.module:attribute``, the attribute possibly dotted) names, if ``trust`` allows it.

    Raises:
        ModelImportError: The module cannot be found or fails to import, or the
            attribute does not exist (with close matches).
        UntrustedCodeError: The standard library, or code a data file may not name.
    """
    trust = trust or Trust()
    module_name, _, attribute = spec.partition(":")
    module_name, attribute = module_name.strip(), attribute.strip()
    if not _MODULE_NAME.match(module_name) or not all(part.isidentifier() for part in attribute.split(".")):
        raise ModelImportError(spec, f"expected package.module:attribute (e.g. mymodels:Net), got {spec!r}")
    _vet_module(spec, module_name, trust)
    target: Any = _import(module_name, spec)
    walked: list[str] = []
    for part in attribute.split("."):
        if not hasattr(target, part):
            owner = f"module {module_name!r}" if not walked else f"{module_name}:{'.'.join(walked)}"
            raise ModelImportError(spec, f"{owner} has no attribute {part!r}", _close(part, dir(target)))
        target = getattr(target, part)
        walked.append(part)
    defined = getattr(target, "__module__", None) or ""
    if not isinstance(target, type) and _stdlib(defined):  # a standard-library function under another name
        raise UntrustedCodeError(spec, trust.source, f"it is {defined}.{getattr(target, '__name__', '?')}, from Python's standard library; archdoc never calls it")
    return target


def import_model(spec: str, trust: Trust | None = None) -> ImportedModel:
    """Import the model that ``spec`` (``package.module:attribute``) names, if ``trust`` allows it.

    Raises:
        ModelImportError: The module cannot be found or fails to import, or the
            attribute does not exist (with close matches).
        NotAModelError: The attribute is neither a module class, a callable nor a module.
        UntrustedCodeError: The standard library, or code a data file may not name.
    """
    trust = trust or Trust()
    target = import_object(spec, trust)
    _check_target(spec, target, trust)
    return ImportedModel(spec=spec, attribute=spec.partition(":")[2].strip(), target=target)


def _check_target(spec: str, target: Any, trust: Trust) -> None:
    nn = _nn()
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


def describe_error(exc: BaseException) -> str:
    """``Type: first line of the message (file.py:line)`` for an exception from the user's code."""
    return _describe(exc)


def _describe(exc: BaseException) -> str:
    """``Type: first line of the message (file.py:line)`` for an exception from user code."""
    text = str(exc).strip()
    message = f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__
    where = user_frame(exc)
    return f"{message} ({where})" if where else message


def _frames_outside_libraries(exc: BaseException) -> list[traceback.FrameSummary]:
    """The traceback's frames outside torch's and archdoc's own directories (``torchvision/`` is outside ``torch/``)."""
    skip = tuple(str(Path(m.__file__).parent) + os.sep for m in (sys.modules["torch"], sys.modules["archdoc"]))
    return [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith(skip)]


def user_frame(exc: BaseException) -> str | None:
    """``file.py:line`` of the innermost traceback frame outside torch, archdoc and importlib.

    The file is shown relative to the working directory when it is under it
    (``models/net.py:12``), else relative to its ``sys.path`` entry
    (``torchvision/models/regnet.py:270``), so it can be opened as shown.
    """
    frames = [f for f in _frames_outside_libraries(exc) if not f.filename.startswith("<frozen")]
    if not frames:
        return None
    return f"{_short_path(frames[-1].filename)}:{frames[-1].lineno}"


def user_source(exc: BaseException) -> str | None:
    """`user_frame()` with the line of code it ran: ``net.py:12 (widths = w.tolist())`` (long lines cut)."""
    where = user_frame(exc)
    if where is None:
        return None
    frames = _frames_outside_libraries(exc)
    code = (frames[-1].line or "").strip() if frames else ""
    if len(code) > 100:
        code = code[:99] + "…"
    return f"{where} ({code})" if code else where


def _short_path(filename: str) -> str:
    path = Path(filename)
    if not path.is_absolute():
        return filename
    entries = sorted((Path(entry) for entry in sys.path if entry), key=lambda b: len(str(b)), reverse=True)
    installed = any(part in ("site-packages", "dist-packages") for part in path.parts)
    for base in [*([] if installed else [Path.cwd()]), *entries]:
        try:
            return path.relative_to(base).as_posix()
        except ValueError:
            continue
    return path.name

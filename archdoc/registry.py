"""The model registry and the paper cards that the zoo registers with.

A zoo file declares its family's [`PaperCard`][archdoc.registry.PaperCard] once and registers each
public builder with [`register_model()`][archdoc.registry.register_model]. Names are unique: registering one
twice raises. Looking up an unknown name raises [`UnknownModelError`][archdoc.errors.UnknownModelError]
carrying the close matches.

This module does not import torch, so listing names and reading cards is cheap.
"""

from __future__ import annotations

import difflib
import functools
import fnmatch
import importlib
import inspect
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from archdoc.errors import (
    ArchdocError,
    BuildError,
    DuplicateModelError,
    EntryPointError,
    ModelArgumentError,
    UnknownModelError,
)

__all__ = [
    "PaperCard",
    "ModelEntry",
    "register_model",
    "list_models",
    "get_entry",
    "get_model",
]


@dataclass(frozen=True)
class PaperCard:
    """What a model page says about the paper a model comes from.

    Attributes:
        title: The paper's title.
        authors: Authors in the paper's order.
        year: Year of publication.
        venue: Conference or journal, e.g. ``"CVPR 2016"``.
        description: Two sentences on what the architecture is and why it mattered.
        doi: The DOI, without the ``https://doi.org/`` prefix.
        arxiv: The arXiv identifier, e.g. ``"1512.03385"``.
        url: A link to the paper when it has neither DOI nor arXiv id.
        implementation: Which implementation the zoo follows, e.g. torchvision's.
        deviations: How the implementation differs from the paper, one sentence each.
    """

    title: str
    authors: tuple[str, ...]
    year: int
    venue: str
    description: str
    doi: str | None = None
    arxiv: str | None = None
    url: str | None = None
    implementation: str = ""
    deviations: tuple[str, ...] = ()

    @property
    def links(self) -> tuple[tuple[str, str], ...]:
        """``(label, url)`` pairs for the DOI, arXiv and plain links, in that order."""
        out = []
        if self.doi:
            out.append((f"doi:{self.doi}", f"https://doi.org/{self.doi}"))
        if self.arxiv:
            out.append((f"arXiv:{self.arxiv}", f"https://arxiv.org/abs/{self.arxiv}"))
        if self.url:
            out.append((self.url, self.url))
        return tuple(out)

    @property
    def citation(self) -> str:
        """A one-line citation: authors (year), title, venue."""
        authors = list(self.authors)
        if len(authors) > 3:
            who = f"{authors[0]} et al."
        elif len(authors) > 1:
            who = ", ".join(authors[:-1]) + " and " + authors[-1]
        else:
            who = authors[0]
        return f"{who} ({self.year}). *{self.title}*. {self.venue}."


@dataclass(frozen=True)
class ModelEntry:
    """A registered builder with its page metadata.

    Attributes:
        name: Registry name, e.g. ``"resnet18"``.
        family: Family key, the zoo file's name, e.g. ``"resnet"``.
        display_name: Human name, e.g. ``"ResNet-18"``.
        builder: The public builder function.
        card: The paper card.
        default_input: Default input size without batch, e.g. ``(3, 224, 224)``.
        deviations: Deviations specific to this model, added to the card's.
        family_title: The family's name as readers know it, e.g. ``"Wide ResNet"``: the
            zoo file's ``FAMILY`` constant.
        documented_min_size: The smallest input side the reference implementation
            documents (torchvision's ``min_size``), compared on the page with the measured one.
    """

    name: str
    family: str
    display_name: str
    builder: Callable[..., Any]
    card: PaperCard
    default_input: tuple[int, ...]
    deviations: tuple[str, ...] = field(default=())
    family_title: str = ""
    documented_min_size: int | None = None

    @property
    def all_deviations(self) -> tuple[str, ...]:
        """The card's deviations followed by this model's own."""
        return self.card.deviations + self.deviations

    @property
    def parameters(self) -> tuple[str, ...]:
        """The keyword arguments the builder accepts."""
        return _keywords(self.builder)

    def build(self, **kwargs: Any) -> Any:
        """Call the builder, rejecting unknown keyword arguments with a clear error."""
        accepted = self.parameters
        bad = [k for k in kwargs if k not in accepted]
        if bad:
            raise ModelArgumentError(self.name, sorted(bad), accepted)
        try:
            return self.builder(**kwargs)
        except (TypeError, ValueError, RuntimeError, ZeroDivisionError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise BuildError(self.name, kwargs, reason) from exc


@functools.lru_cache(maxsize=None)
def _keywords(builder: Callable[..., Any]) -> tuple[str, ...]:
    sig = inspect.signature(builder)
    return tuple(p.name for p in sig.parameters.values() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))


_REGISTRY: dict[str, ModelEntry] = {}
_ZOO_LOADED = False


def register_model(
    *,
    card: PaperCard,
    display_name: str,
    default_input: tuple[int, ...],
    deviations: tuple[str, ...] = (),
    name: str | None = None,
    documented_min_size: int | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a public builder under its function name (or ``name``).

    The family is the builder's module (``resnet`` for ``archdoc.zoo.resnet``); its
    title is that module's ``FAMILY`` constant (``FAMILY = "ResNet"``), written once per file.

    Args:
        card: The family's paper card.
        display_name: Human name for titles, e.g. ``"ResNet-18"``.
        default_input: Default input size without batch, e.g. ``(3, 224, 224)``.
        deviations: Deviations from the paper specific to this model.
        name: Registry name; defaults to the builder's ``__name__``.
        documented_min_size: The smallest input side the reference implementation
            documents (torchvision's ``min_size``).

    Raises:
        DuplicateModelError: If the name is taken.
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        key = name or fn.__name__
        if key in _REGISTRY:
            raise DuplicateModelError(key)
        family = fn.__module__.rsplit(".", 1)[-1]
        title = getattr(sys.modules.get(fn.__module__), "FAMILY", None)
        _REGISTRY[key] = ModelEntry(
            name=key,
            family=family,
            display_name=display_name,
            builder=fn,
            card=card,
            default_input=tuple(default_input),
            deviations=tuple(deviations),
            family_title=title if isinstance(title, str) and title else family,
            documented_min_size=documented_min_size,
        )
        return fn

    return decorate


ENTRY_POINT_GROUP = "archdoc.models"
_PLUGINS_LOADED = False
_PLUGIN_FAILURE: EntryPointError | None = None


def _load_zoo() -> None:
    """Import archdoc's zoo, then third-party zoos, once, on first use."""
    global _ZOO_LOADED
    if not _ZOO_LOADED:
        _ZOO_LOADED = True
        importlib.import_module("archdoc.zoo")
    _load_plugins()


def _load_plugins() -> None:
    """Load the ``archdoc.models`` entry points of installed packages.

    An entry point names a module (importing it registers its builders with
    [`register_model()`][archdoc.registry.register_model]) or a callable (called without arguments to register
    them). A failure names the entry point and is raised again on the next
    lookup (the same error, without loading it twice) rather than leaving the
    zoo silently incomplete.

    Raises:
        EntryPointError: An entry point fails to load or to register.
    """
    global _PLUGINS_LOADED, _PLUGIN_FAILURE
    if _PLUGIN_FAILURE is not None:
        raise _PLUGIN_FAILURE
    if _PLUGINS_LOADED:
        return
    _PLUGINS_LOADED = True
    from importlib.metadata import entry_points

    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = point.load()
            if callable(loaded) and not inspect.ismodule(loaded):
                loaded()
        except (Exception, SystemExit) as exc:  # a third party's import may raise anything, even sys.exit()
            _PLUGIN_FAILURE = EntryPointError(point.name, point.value, _first_line(exc))
            raise _PLUGIN_FAILURE from exc


def _first_line(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"it called sys.exit({exc.code!r})"
    text = str(exc).strip()
    if isinstance(exc, ArchdocError):
        return text
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def natural_key(name: str) -> tuple[Any, ...]:
    """Sort key that orders embedded numbers numerically: resnet18 < resnet101."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


def list_models(pattern: str | None = None) -> list[str]:
    """Names of registered models, naturally sorted.

    Args:
        pattern: A shell-style wildcard such as ``"resnet*"``; ``None`` lists all.

    Returns:
        Matching names, with ``resnet18`` before ``resnet101``.
    """
    _load_zoo()
    names = [n for n in _REGISTRY if pattern is None or fnmatch.fnmatchcase(n, pattern)]
    return sorted(names, key=natural_key)


def get_entry(name: str) -> ModelEntry:
    """The registry entry for ``name``.

    Raises:
        UnknownModelError: If no model has that name; it carries close matches.
    """
    _load_zoo()
    try:
        return _REGISTRY[name]
    except KeyError:
        lowered = {n.lower(): n for n in _REGISTRY}
        matches = difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.6)
        raise UnknownModelError(name, [lowered[m] for m in matches]) from None


def get_model(name: str, **kwargs: Any) -> Any:
    """Build a registered model, like ``torchvision.models.get_model``.

    Args:
        name: Registry name, e.g. ``"resnet18"``.
        **kwargs: Builder arguments such as ``in_channels`` and ``num_classes``.

    Returns:
        The ``torch.nn.Module``, on the current default device.

    Raises:
        UnknownModelError: If no model has that name.
        ModelArgumentError: If the builder does not accept a keyword.
    """
    return get_entry(name).build(**kwargs)

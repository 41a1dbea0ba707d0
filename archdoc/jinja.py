"""The jinja2 environment for pages and the overview: archdoc's templates, which a project may override."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import jinja2

__all__ = ["TEMPLATES", "environment"]

TEMPLATES = Path(__file__).parent / "templates"


def environment(template_dirs: Sequence[str | Path] = ()) -> jinja2.Environment:
    """The template environment; folders in ``template_dirs`` are searched before archdoc's own.

    One environment per set of folders, so each template compiles once per process.
    """
    return _cached(tuple(str(d) for d in template_dirs))


@functools.lru_cache(maxsize=16)
def _cached(template_dirs: tuple[str, ...]) -> jinja2.Environment:
    loader = jinja2.FileSystemLoader([*template_dirs, str(TEMPLATES)])
    return jinja2.Environment(
        loader=loader,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
    )

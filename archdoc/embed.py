"""Keep generated regions of Markdown files current.

A region sits between an opening marker that carries ``archdoc render``
arguments and a closing marker::

    <!-- archdoc: resnet18 --input 1x116x116 --format mermaid -->
    ...generated...
    <!-- /archdoc -->

Only the text between the two marker lines changes; every byte outside them,
line endings and the final newline included, stays as it was. Markers inside
fenced code blocks are examples, not regions, and are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from archdoc.errors import ArchdocError

__all__ = ["Region", "EmbedError", "find_regions", "embed_text", "embed_files", "StaleRegion"]

_OPEN = re.compile(r"^\s*<!--\s*archdoc:(?P<args>.*?)-->\s*$")
_CLOSE = re.compile(r"^\s*<!--\s*/archdoc\s*-->\s*$")
_LOOSE = re.compile(r"<!--\s*/?\s*archdoc\b")
_FENCE = re.compile(r"^\s{0,3}(?P<fence>`{3,}|~{3,})")


class EmbedError(ArchdocError):
    """A file's markers are malformed, unbalanced, or name something that cannot render.

    Attributes:
        path: The file.
        line: The 1-based line of the offending marker.
    """

    def __init__(self, path: str, line: int, reason: str) -> None:
        self.path = path
        self.line = line
        super().__init__(f"{path}:{line}: {reason}")


@dataclass(frozen=True)
class Region:
    """One generated region.

    Attributes:
        line: 1-based line of the opening marker.
        args: The render arguments written in the marker.
        start: Offset of the first byte after the opening marker's line.
        end: Offset of the first byte of the closing marker's line.
        newline: The opening marker's line ending, used for the generated lines.
    """

    line: int
    args: str
    start: int
    end: int
    newline: str


@dataclass(frozen=True)
class StaleRegion:
    """A region whose content differs from what its marker generates."""

    path: str
    line: int
    args: str


def find_regions(text: str, path: str = "<text>") -> list[Region]:
    """Locate the regions of ``text``.

    Raises:
        EmbedError: For an opening marker without a closing one (or the reverse),
            nested openings, empty arguments, or a marker-like line that is malformed.
    """
    regions: list[Region] = []
    offset = 0
    fence: str | None = None
    opened: tuple[int, str, int, str] | None = None  # line, args, start, newline
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        body = line.rstrip("\r\n")
        newline = line[len(body) :]
        match = _FENCE.match(body)
        if match and opened is None:
            mark = match.group("fence")
            if fence is None:
                fence = mark
            elif mark[0] == fence[0] and len(mark) >= len(fence) and not body.strip()[len(mark) :].strip():
                fence = None
        elif fence is None:
            if _OPEN.match(body):
                if opened is not None:
                    raise EmbedError(path, number, f"a new archdoc marker opens before the one on line {opened[0]} is closed")
                args = _OPEN.match(body).group("args").strip()  # type: ignore[union-attr]
                if not args:
                    raise EmbedError(path, number, "the archdoc marker names no model")
                opened = (number, args, offset + len(line), newline or "\n")
            elif _CLOSE.match(body):
                if opened is None:
                    raise EmbedError(path, number, "<!-- /archdoc --> closes nothing")
                regions.append(Region(opened[0], opened[1], opened[2], offset, opened[3]))
                opened = None
            elif _LOOSE.search(body):
                raise EmbedError(path, number, "malformed archdoc marker; write <!-- archdoc: MODEL [OPTIONS] --> and <!-- /archdoc --> on lines of their own")
        offset += len(line)
    if opened is not None:
        raise EmbedError(path, opened[0], "the archdoc marker is never closed with <!-- /archdoc -->")
    return regions


def embed_text(text: str, generate: Callable[[str], str], path: str = "<text>") -> tuple[str, list[Region]]:
    """Regenerate every region of ``text``.

    Args:
        text: The file's content.
        generate: Maps a marker's arguments to the region's new content.
        path: For error messages.

    Returns:
        The new text and the regions whose content changed.
    """
    regions = find_regions(text, path)
    pieces, stale, last = [], [], 0
    for region in regions:
        try:
            fresh = generate(region.args)
        except ArchdocError as exc:
            raise EmbedError(path, region.line, str(exc)) from exc
        fresh = fresh.replace("\r\n", "\n")
        if not fresh.endswith("\n"):
            fresh += "\n"
        fresh = fresh.replace("\n", region.newline)
        if text[region.start : region.end] != fresh:
            stale.append(region)
        pieces += [text[last : region.start], fresh]
        last = region.end
    pieces.append(text[last:])
    return "".join(pieces), stale


def _render_args(args: str) -> str:
    """Render what a marker's ``archdoc render`` arguments describe."""
    from archdoc.render import render_request
    from archdoc.request import parse_marker

    request, options = parse_marker(args)
    return render_request(request, options)


def embed_files(paths: Sequence[str | Path], check: bool = False) -> tuple[list[StaleRegion], list[str]]:
    """Regenerate the regions of ``paths``; with ``check``, only report.

    Every file is read and every region rendered before anything is written, so
    an error in any file leaves all of them untouched. Files are written
    atomically, and only when a region changed.

    Returns:
        The stale regions, and the files that were (or with ``check`` would be) rewritten.

    Raises:
        EmbedError: A marker is malformed or its arguments fail.
        OutputError: A file cannot be written.
    """
    from archdoc.files import write_atomic

    cache: dict[str, str] = {}

    def generate(args: str) -> str:
        if args not in cache:
            cache[args] = _render_args(args)
        return cache[args]

    updates: list[tuple[Path, str]] = []
    stale: list[StaleRegion] = []
    for name in paths:
        path = Path(name)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise EmbedError(str(path), 0, exc.strerror or str(exc)) from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise EmbedError(str(path), 0, "not UTF-8 text") from None
        new, changed = embed_text(text, generate, str(path))
        stale += [StaleRegion(str(path), r.line, r.args) for r in changed]
        if new != text:
            updates.append((path, new))
    if not check:
        for path, new in updates:
            write_atomic(path, new)
    return stale, [str(p) for p, _ in updates]

"""Keep generated regions of Markdown files current.

A region sits between an opening marker that carries ``archdoc render``
arguments and a closing marker::

    <!-- archdoc: resnet18 --input 1x116x116 --format mermaid -->
    ...generated...
    <!-- /archdoc -->

Only the text between the two marker lines changes; every byte outside them,
line endings and the final newline included, stays as it was. A marker counts
only as a line of its own within three spaces of the margin, outside any code
block and any longer HTML comment: markers in fenced blocks (however indented,
in list items too), in indented code blocks and inside comments are examples,
not regions, and are left alone. Lines end at ``\n``, ``\r\n`` or ``\r``: a form
feed or a Unicode line separator inside a line is just a character.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from archdoc.errors import DEFAULT_TIMEOUT, ArchdocError

__all__ = ["Region", "EmbedError", "find_regions", "embed_text", "embed_files", "StaleRegion"]

_OPEN = re.compile(r"^ {0,3}<!--[ \t]*archdoc:(?P<args>.*?)-->[ \t]*$")
_CLOSE = re.compile(r"^ {0,3}<!--[ \t]*/archdoc[ \t]*-->[ \t]*$")
_LOOSE = re.compile(r"<!--\s*/?\s*archdoc\b")
_FENCE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})")
_INDENTED = re.compile(r"^(?: {4}|\t)")


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


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def _lines(text: str) -> list[str]:
    """The lines of ``text`` with their endings: ``\n``, ``\r\n`` or a lone ``\r`` end a line, nothing else does."""
    return _LINE.findall(text)


def find_regions(text: str, path: str = "<text>") -> list[Region]:
    """Locate the regions of ``text``.

    Raises:
        EmbedError: For an opening marker without a closing one (or the reverse),
            nested openings, empty arguments, or a marker-like line that is malformed.
    """
    regions: list[Region] = []
    offset = 0
    fence: str | None = None
    comment = False  # inside an HTML comment that spans lines
    code = False  # inside an indented code block
    blank = True
    opened: tuple[int, str, int, str] | None = None  # line, args, start, newline
    for number, line in enumerate(_lines(text), start=1):
        body = line.rstrip("\r\n")
        newline = line[len(body):]
        match = _FENCE.match(body)
        if comment:
            # Inside a comment left open on an earlier line: markers here are commented out,
            # and the comment ends at the first other line that closes one.
            if not (_OPEN.match(body) or _CLOSE.match(body)):
                comment = "-->" not in body
        elif fence is not None:
            if match and match.group("fence")[0] == fence[0] and len(match.group("fence")) >= len(fence) and not body.strip()[len(match.group("fence")):].strip():
                fence = None
        elif opened is None and match:
            fence = match.group("fence")
        elif _INDENTED.match(body) and (blank or code) and opened is None:
            code = True  # four spaces after a blank line: an indented code block, not markup
        elif _OPEN.match(body):
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
        elif _LOOSE.search(body) and not (body.count("<!--") > body.count("-->")):
            raise EmbedError(path, number, "malformed archdoc marker; write <!-- archdoc: MODEL [OPTIONS] --> and <!-- /archdoc --> on lines of their own")
        elif opened is None and body.rfind("<!--") > body.rfind("-->"):
            comment = True  # a comment opens here and closes on a later line
        if not _INDENTED.match(body) and body.strip():
            code = False
        blank = not body.strip()
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

    Raises:
        EmbedError: A marker is malformed, its arguments fail, or what it generates
            holds a line that would read as a marker next time.
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
        for line in fresh.split("\n"):
            if _OPEN.match(line) or _CLOSE.match(line):
                raise EmbedError(path, region.line, "the generated text holds a line that reads as an archdoc marker; nothing was written")
        fresh = fresh.replace("\n", region.newline)
        if text[region.start : region.end] != fresh:
            stale.append(region)
        pieces += [text[last : region.start], fresh]
        last = region.end
    pieces.append(text[last:])
    return "".join(pieces), stale


def embed_files(
    paths: Sequence[str | Path], check: bool = False, trusted: Sequence[str] = (), timeout: float | None = DEFAULT_TIMEOUT
) -> tuple[list[StaleRegion], list[str]]:
    """Regenerate the regions of ``paths``; with ``check``, only report.

    Every file is read and every region rendered before anything is written, so
    an error in any file leaves all of them untouched; then all files are written
    at once, atomically, and only if none changed since it was read.

    Args:
        paths: Markdown files.
        check: Write nothing; only report the stale regions.
        trusted: Packages a marker may name besides the project's own code (``--trust``).
        timeout: Seconds each model's code may run.

    Returns:
        The stale regions, and the files that were (or with ``check`` would be) rewritten.

    Raises:
        EmbedError: A marker is malformed or its arguments fail.
        InputFileError: A file cannot be read (not a regular file, too large, not UTF-8).
        OutputError: A file cannot be written, or changed meanwhile; nothing was written.
    """
    from archdoc.files import Planned, read_text, write_all
    from archdoc.render import render_request
    from archdoc.marker import parse_marker

    cache: dict[str, str] = {}

    def generate(args: str) -> str:
        if args not in cache:
            request, options = parse_marker(args, trusted)
            cache[args] = render_request(request, options, timeout=timeout)
        return cache[args]

    updates: list[Planned] = []
    stale: list[StaleRegion] = []
    for name in paths:
        text, raw = read_text(name)
        new, changed = embed_text(text, generate, str(name))
        stale += [StaleRegion(str(name), r.line, r.args) for r in changed]
        if new != text:
            updates.append(Planned(str(name), new, raw))
    if not check:
        write_all(updates)
    return stale, [plan.path for plan in updates]

"""The ``archdoc render`` arguments written in an embed marker, read without click.

``<!-- archdoc: resnet18 --input 1x116x116 --format mermaid -->`` takes the options
of ``archdoc render`` that say what to show, read into the same
[`ModelRequest`][archdoc.request.ModelRequest] as the command line's.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

from archdoc.errors import InputSpecError
from archdoc.loading import Trust
from archdoc.request import FORMATS, ModelRequest, OptionError, RenderOptions, parse_setting
from archdoc.shapes import parse_input

__all__ = ["MARKER_OPTIONS", "parse_marker"]

# The options a marker takes: those of `archdoc render` that describe what it prints.
MARKER_OPTIONS = ("--input", "--batch", "--device", "--classes", "--set", "--format", "--depth", "--table-depth")


def parse_marker(args: str, trusted: Sequence[str] = ()) -> tuple[ModelRequest, RenderOptions]:
    """Read the ``archdoc render`` arguments written in an embed marker.

    Only what a region can show is accepted: no ``-o`` (the region is the output)
    and no ``--help`` (a marker must render, never print help instead).

    Raises:
        OptionError: The arguments cannot be read (``bad marker arguments: ...``).
    """
    try:
        return _parse_marker(args, trusted)
    except (OptionError, InputSpecError) as exc:
        raise OptionError(f"bad marker arguments: {exc}") from None


def _parse_marker(args: str, trusted: Sequence[str]) -> tuple[ModelRequest, RenderOptions]:
    try:
        words = shlex.split(args)
    except ValueError as exc:
        raise OptionError(f"cannot read marker arguments: {exc}") from None
    values: dict[str, list[str]] = {}
    positional: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word in ("-h", "--help", "--version") or word.startswith("--debug"):
            raise OptionError(f"{word} has no place in a marker: a marker names what to render")
        if word in ("-o", "--output") or word.startswith(("--output=", "-o")):
            raise OptionError("-o/--output has no place in a marker: the region is the output")
        if word.startswith("-") and not re.fullmatch(r"-\d.*", word):
            name, sep, value = word.partition("=")
            if name not in MARKER_OPTIONS:
                raise OptionError(f"unknown option {name!r} in a marker; it takes {', '.join(MARKER_OPTIONS)}")
            if not sep:
                i += 1
                if i == len(words):
                    raise OptionError(f"{name} needs a value")
                value = words[i]
            values.setdefault(name, []).append(value)
        else:
            positional.append(word)
        i += 1
    if len(positional) != 1:
        raise OptionError(f"a marker names one model, got {len(positional)}: {' '.join(positional) or 'none'}")
    for name, given in values.items():
        if name not in ("--input", "--set") and len(given) > 1:
            raise OptionError(f"{name} is given {len(given)} times")

    def one(name: str, default: str) -> str:
        return values.get(name, [default])[0]

    inputs = [parse_input(text) for text in values.get("--input", [])]
    fmt = one("--format", "markdown")
    if fmt not in FORMATS:
        raise OptionError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    classes = values.get("--classes")
    request = ModelRequest.from_options(
        positional[0],
        inputs,
        classes=_whole(classes[0], "--classes", 1) if classes else None,
        settings=[parse_setting(text) for text in values.get("--set", [])],
        batch=_whole(one("--batch", "1"), "--batch", 1),
        device=one("--device", "meta"),
        trust=Trust("an embed marker", tuple(trusted)),
    )
    options = RenderOptions(fmt, _whole(one("--depth", "0"), "--depth", 0), _whole(one("--table-depth", "2"), "--table-depth", 0))
    return request, options


def _whole(text: str, name: str, minimum: int) -> int:
    if not re.fullmatch(r"[+-]?\d+", text.strip()) or int(text) < minimum:
        raise OptionError(f"{name} must be a whole number ≥ {minimum}, got {text!r}")
    return int(text)

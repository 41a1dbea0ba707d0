"""Text from models made safe for where it lands in Markdown and HTML.

Module names, class names, output keys and docstrings come from the model's
code and may hold anything: backticks, pipes, angle brackets, newlines. Each
helper makes one kind of place safe: a code span, a table cell, a paragraph,
an HTML attribute or element.
"""

from __future__ import annotations

import html
import re

__all__ = ["code_span", "table_cell", "paragraph", "attribute", "html_text", "one_line"]


_BREAKS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")
_TICKS = re.compile(r"`+")
_MARKUP = re.compile(r"([\\`*_{}\[\]|])")


def one_line(text: str) -> str:
    """Control characters and line breaks (``\\n``, ``\\r``, U+2028, ...) as single spaces."""
    return _BREAKS.sub(" ", text)


def code_span(text: str) -> str:
    """``text`` as inline code, whatever backticks it holds (the fence is longer than any run in it)."""
    text = one_line(text)
    longest = max((len(run) for run in _TICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def paragraph(text: str) -> str:
    """``text`` as plain paragraph text: Markdown and HTML syntax shown literally."""
    text = one_line(text)
    text = html.escape(text, quote=False)
    return _MARKUP.sub(r"\\\1", text)


def table_cell(text: str) -> str:
    """``text`` safe in a Markdown table cell: one line, pipes escaped, no live HTML or Markdown."""
    return paragraph(text)


def attribute(text: str) -> str:
    """``text`` for a double- or single-quoted HTML attribute value."""
    return html.escape(one_line(text), quote=True)


def html_text(text: str) -> str:
    """``text`` as HTML element content (``<pre>``...): only ``&``, ``<``, ``>`` matter there."""
    return html.escape(text, quote=False)

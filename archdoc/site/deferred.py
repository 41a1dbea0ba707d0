"""Keep a model page's large HTML blocks out of Markdown and out of the search plugin's parser.

A model page is mostly HTML that archdoc writes itself: the diagrams (their Mermaid
source and node data), the summary table and the layer arithmetic, together about
nine tenths of a deep network's page. Python-Markdown would parse every tag of it
(``md_in_html``) only to hand it back unchanged, and Material's search plugin would
parse it again to index its text, which the diagrams' sources only clutter (each
layer row is indexed by the plugin itself, with its anchor).

So before Markdown the blocks are swapped for HTML comments, and after the page is
rendered the comments are swapped back as archdoc wrote them, without the ``markdown="0"``
that only told Markdown to leave them alone. The page shows the same elements, attributes
and text as when Markdown passed them through (where it re-serialised a block, inside a
collapsible section, it only added line breaks between tags).
"""

from __future__ import annotations

import re

__all__ = ["defer_blocks", "restore_blocks"]

# A block archdoc writes, from its opening line to its closing </div> line (its text is
# escaped, so no line inside starts with </div>).
_BLOCK = re.compile(r'^(<div class="archdoc-(?:diagram|arithmetic|summary)"[^\n]*) markdown="0">(\n.*?^</div>)$', re.MULTILINE | re.DOTALL)
_MARK = "<!--archdoc-deferred-{}-->"


def defer_blocks(markdown: str) -> tuple[str, list[str]]:
    """``markdown`` with each of archdoc's HTML blocks replaced by a comment, and the blocks as the page shows them."""
    blocks: list[str] = []

    def mark(match: re.Match[str]) -> str:
        blocks.append(f"{match.group(1)}>{match.group(2)}")
        return _MARK.format(len(blocks) - 1)

    return _BLOCK.sub(mark, markdown), blocks


def restore_blocks(html: str, blocks: list[str]) -> str:
    """The page's HTML with the blocks back in place of their comments."""
    for number, block in enumerate(blocks):
        html = html.replace(_MARK.format(number), block, 1)
    return html

"""The "Model structure" section of a page: one diagram per kind of block, then the whole network.

Two forms. The plain form fences each diagram as ``mermaid`` (GitHub and any
Mermaid-aware viewer draw it). The interactive form, for the documentation site,
wraps each in an HTML block that ``archdoc.js`` draws with zoom, pan, SVG download,
tooltips naming each node's module and links from block nodes to their diagrams.
"""

from __future__ import annotations

import json

from archdoc.diagram import MAX_EDGES, MAX_TEXT, BlockFigure, Figure, section_figures
from archdoc.markdown import attribute, code_span, html_text, paragraph
from archdoc.tracing.record import Trace

__all__ = ["structure_section", "NETWORK_ANCHOR"]

NETWORK_ANCHOR = "whole-network"


def _diagram(figure: Figure, interactive: bool, label: str) -> str:
    if not interactive:
        return f"```mermaid\n{figure.text}```\n"
    nodes = json.dumps(figure.nodes, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return (
        f'<div class="archdoc-diagram" data-nodes="{attribute(nodes)}" aria-label="{attribute(label)}" markdown="0">\n'
        f'<pre class="archdoc-mermaid">{html_text(figure.text)}</pre>\n'
        "</div>\n"
    )


def _caption(block: BlockFigure) -> str:
    # The caption names the block by its module path, which may hold anything.
    text = block.caption
    head, sep, rest = text.partition("`")
    path, _, tail = rest.partition("`: ")
    if sep and tail:
        return f"{paragraph(head)}{code_span(path)}: {paragraph(tail)}"
    return paragraph(text)


def structure_section(
    trace: Trace, depth: int = 0, limits: tuple[int, int] = (MAX_EDGES, MAX_TEXT), interactive: bool = False
) -> str:
    """The section's Markdown: block diagrams (one per kind), then the whole network.

    Args:
        trace: The trace.
        depth: Levels of blocks expanded in the whole-network diagram.
        limits: Mermaid's ``maxEdges`` and ``maxTextSize`` where the page is shown.
        interactive: The site's form (HTML blocks for ``archdoc.js``) instead of fenced Mermaid.
    """
    network, blocks = section_figures(trace, depth, limits)
    parts = []
    if blocks:
        parts.append("### Blocks\n")
        parts.append(
            "Each kind of block once, with every layer inside it; the whole network below "
            "draws each block as one node under the same name.\n"
        )
        for block in blocks:
            anchor = f" {{ #{block.kind.anchor} }}" if interactive else ""
            parts.append(f"#### {paragraph(block.kind.name)}{anchor}\n")
            back = f" [Back to the whole network](#{NETWORK_ANCHOR})." if interactive else ""
            parts.append(f"{_caption(block)}{back}\n")
            for note in block.figure.notes:
                parts.append(f"> {paragraph(note)}\n")
            parts.append(_diagram(block.figure, interactive, block.kind.name))
    anchor = f" {{ #{NETWORK_ANCHOR} }}" if interactive else ""
    parts.append(f"### Whole network{anchor}\n")
    for note in network.notes:
        parts.append(f"> {paragraph(note)}\n")
    parts.append(_diagram(network, interactive, f"{trace.display_name}: the whole network"))
    return "\n".join(parts)

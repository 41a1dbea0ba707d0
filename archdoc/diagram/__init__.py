"""Diagrams that read like a paper's figure, drawn from a trace's recorded dataflow.

- Only real inputs are ``Input`` nodes; weights read in ``forward`` belong to the op that reads them.
- Blocks (a residual unit, an Inception module) are one node each, named by their
  kind; a run of alike blocks is one node with its count (``Bottleneck ×35``).
- Containers are boxes; normalisation, activations and reshapes sit on the edges.
- Labels use the field's notation (``Conv 3×3 /2, 128``) and never break inside a term.

[`network_figure()`][archdoc.diagram.network_figure] gives the whole network within Mermaid's limits, saying
what it left out to fit; [`block_figures()`][archdoc.diagram.block_figures] one diagram per kind of block.
"""

from __future__ import annotations

from dataclasses import dataclass

from archdoc.diagram.emit import Figure, emit, escape_label
from archdoc.diagram.build import build
from archdoc.diagram.graph import Graph, Vertex
from archdoc.diagram.naming import Kind, shape_term, term
from archdoc.diagram.structure import Structure
from archdoc.tracing.record import Trace

__all__ = [
    "MAX_EDGES",
    "MAX_TEXT",
    "BlockFigure",
    "Figure",
    "block_figures",
    "escape_label",
    "network_diagram",
    "network_figure",
    "render_mermaid",
    "section_figures",
    "Graph",
    "Structure",
]

# Mermaid's defaults for maxEdges and maxTextSize.
MAX_EDGES = 500
MAX_TEXT = 50_000
# The most vertices a cut-down drawing keeps when even the coarsest one is too large.
_MAX_VERTICES = 400


@dataclass(frozen=True)
class BlockFigure:
    """The diagram of one kind of block."""

    kind: Kind
    caption: str
    figure: Figure


def _output_lines(trace: Trace) -> list[str]:
    return ["Output", term(trace.output_text())]


def _fits(figure: Figure, limits: tuple[int, int]) -> bool:
    return figure.edges <= limits[0] and len(figure.text) <= limits[1]


def _draw(structure: Structure, trace: Trace, level: int, coarse: bool = False, layers: bool = False) -> Figure:
    graph = build(structure, level, output_lines=_output_lines(trace), coarse=coarse)
    graph.fold()
    graph.compress(layers)
    return emit(graph, structure)


def network_figure(trace: Trace, depth: int = 0, limits: tuple[int, int] = (MAX_EDGES, MAX_TEXT)) -> Figure:
    """The whole-network diagram.

    Args:
        trace: The trace.
        depth: Levels of blocks to expand (0: every block is one node, runs of alike blocks one node).
        limits: Mermaid's ``maxEdges`` and ``maxTextSize`` where the diagram is shown.

    Returns:
        The figure. When it had to be drawn coarser than asked to fit ``limits``,
        its notes say how.
    """
    return _network_figure(Structure.of(trace), trace, depth, limits)


def _network_figure(structure: Structure, trace: Trace, depth: int, limits: tuple[int, int]) -> Figure:
    deepest = max((structure.block_depth(b) for b in structure.blocks), default=0)
    for level in range(min(max(depth, 0), deepest), -1, -1):
        for layers in (False, True):
            figure = _draw(structure, trace, level, layers=layers)
            if _fits(figure, limits):
                if level < depth and level < deepest:
                    figure.notes.append(f"Blocks are expanded {level} level(s) deep instead of {depth}, to stay within Mermaid's limits.")
                if layers:
                    figure.notes.append("Runs of alike layers are drawn as one node with their count, to stay within Mermaid's limits.")
                return figure
    figure = _draw(structure, trace, 0, coarse=True, layers=True)
    figure.notes.append("Every top-level module is drawn as one node: the network is too large to draw layer by layer.")
    if _fits(figure, limits):
        return figure
    return _truncated(structure, trace, limits)


def _truncated(structure: Structure, trace: Trace, limits: tuple[int, int]) -> Figure:
    """The coarse drawing cut to its first vertices, with the cut stated in the diagram and the notes."""
    graph = build(structure, 0, output_lines=_output_lines(trace), coarse=True)
    graph.fold()
    graph.compress(layers=True)
    keys = list(graph.vertices)
    keep = min(_MAX_VERTICES, limits[0] // 2, len(keys))
    dropped = len(keys) - keep
    for key in keys[keep - 1:-1]:
        graph.remove(key)
    last = keys[keep - 2] if keep >= 2 else keys[0]
    graph.add(Vertex("omitted", [term(f"… {dropped} more nodes not drawn")], "otherNode"))
    graph.link(last, "omitted")
    graph.link("omitted", keys[-1])
    figure = emit(graph, structure)
    figure.notes.append(f"Only the first {keep - 1} nodes are drawn; {dropped} more are left out to stay within Mermaid's limits.")
    return figure


def network_diagram(trace: Trace, depth: int = 0, limits: tuple[int, int] = (MAX_EDGES, MAX_TEXT)) -> str:
    """The whole-network diagram's Mermaid source (see [`network_figure()`][archdoc.diagram.network_figure])."""
    return network_figure(trace, depth, limits).text


def block_figures(trace: Trace, depth: int = 0, limits: tuple[int, int] = (MAX_EDGES, MAX_TEXT)) -> list[BlockFigure]:
    """One diagram per kind of block drawn as a node in the whole-network diagram at ``depth``.

    Each shows the block's inside in full: every layer, the shortcut and the
    merge, nested blocks as boxes. A block too large for Mermaid's ``limits`` (RAFT's
    update block, run twelve times) draws runs of alike layers as one node, then its
    nested blocks as nodes, and its figure's notes say so.
    """
    return _block_figures(Structure.of(trace), depth, limits)


def section_figures(trace: Trace, depth: int = 0, limits: tuple[int, int] = (MAX_EDGES, MAX_TEXT)) -> tuple[Figure, list[BlockFigure]]:
    """The whole network at ``depth`` and its blocks' diagrams, as a page shows them: the blocks
    at the same depth, or at depth 0 when the network had to be drawn coarser than asked.
    The trace's structure is worked out once for both."""
    structure = Structure.of(trace)
    network = _network_figure(structure, trace, depth, limits)
    return network, _block_figures(structure, depth if depth == 0 or not network.notes else 0, limits)


def _block_figures(structure: Structure, depth: int, limits: tuple[int, int]) -> list[BlockFigure]:
    shown: dict[str, str] = {}
    for node in structure.flow:
        block = structure.collapsed(node.scope, depth) if node.op != "placeholder" else None
        if block is not None and block in structure.kinds:
            shown.setdefault(structure.kinds[block].name, block)
    out = []
    for name, block in shown.items():
        kind = structure.kinds[block]
        layer = structure.layers[block]
        figure = _block_figure(structure, block, limits)
        inp = shape_term(layer.input_shape[1:]) if layer.input_shape else "?"
        out_shape = shape_term(layer.output_shape[1:]) if layer.output_shape else "?"
        times = "once" if kind.count == 1 else f"{kind.count} times"
        caption = f"As in `{block}`: {inp} → {out_shape}; {times} in the network."
        out.append(BlockFigure(kind, caption.replace("\u00a0", " "), figure))
    return out


def _block_figure(structure: Structure, block: str, limits: tuple[int, int]) -> Figure:
    """A block's inside, in full when it fits ``limits``, else coarser (see `block_figures`)."""
    layer = structure.layers[block]
    nested = max((structure.block_depth(b) - structure.block_depth(block) for b in structure.blocks
                  if b.startswith(block + ".")), default=0)
    output_lines = ["Output", shape_term(layer.output_shape[1:] if layer.output_shape else None)]
    figure = None
    for level in [10**6, *range(nested - 1, -1, -1)]:
        for layers in (False, True):
            graph = build(structure, level, inside=block, input_shapes=layer.input_shapes[:1], output_lines=output_lines)
            graph.fold()
            graph.compress(layers)
            figure = emit(graph, structure, inside=block)
            if _fits(figure, limits):
                if level < nested:
                    figure.notes.append("Blocks inside it are drawn as one node each, to stay within Mermaid's limits.")
                elif layers:
                    figure.notes.append("Runs of alike layers are drawn as one node with their count, to stay within Mermaid's limits.")
                return figure
    figure.notes.append("Even so it is larger than Mermaid's limits allow; a viewer must raise maxEdges or maxTextSize to draw it.")
    return figure


def render_mermaid(trace: Trace, depth: int = 0) -> str:
    """The whole-network diagram as a fenced Markdown block, ready for a README (plain Mermaid)."""
    return f"```mermaid\n{network_diagram(trace, depth)}```\n"


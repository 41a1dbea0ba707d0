"""Mermaid text from a diagram graph: valid by construction, boxes drawn consistently.

Node ids are generated (``n1``, ``n2``, ...), never taken from module names, and
every label goes through `escape_label()`, so no name can break the parser.

An arrow into a box whose contents start at one node points at the box itself,
so it stops at the border and never runs through the box's title; a box entered
at several nodes gets its title as a caption inside it instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archdoc.diagram.build import group_chain
from archdoc.diagram.graph import Graph
from archdoc.diagram.structure import Structure, consistent_boxes

__all__ = ["Figure", "emit", "escape_label", "CLASS_DEFS"]

# Stroke colours by layer kind: yellow convolutions, cyan pooling, green linear layers.
CLASS_DEFS = (
    "classDef convNode stroke:#E6C000,stroke-width:2px;",
    "classDef poolNode stroke:#00B8D4,stroke-width:2px;",
    "classDef linearNode stroke:#00C853,stroke-width:2px;",
    "classDef normNode stroke:#AA66CC,stroke-width:2px;",
    "classDef mergeNode stroke:#FF6D00,stroke-width:2px;",
    "classDef blockNode stroke:#E6C000,stroke-width:3px;",
    "classDef otherNode stroke:#9E9E9E,stroke-width:1px;",
    "classDef simpleText stroke-opacity:0,fill-opacity:0;",
)

_ENTITIES = {
    "#": "#35;",
    '"': "#quot;",
    "<": "#lt;",
    ">": "#gt;",
    "|": "#124;",
    "`": "#96;",
    "[": "#91;",
    "]": "#93;",
    "{": "#123;",
    "}": "#125;",
    ";": "#59;",
    "&": "#38;",
    "%": "#37;",
}
# One pass: control characters and line breaks to spaces, the rest of the above to entities.
_LABEL = str.maketrans({**{chr(i): " " for i in range(32)}, **dict.fromkeys("\u2028\u2029\x7f\x85", " "), **_ENTITIES})


def escape_label(text: str) -> str:
    """Make ``text`` safe inside a double-quoted Mermaid label.

    Quotes, ``#``, ``&``, ``%``, angle brackets, pipes, backticks, brackets and
    semicolons become entity codes; control characters and line breaks become
    spaces. Reserved words (``end``, ``class``, ``subgraph``...) are harmless
    inside quotes, and ids never come from labels.
    """
    # Mermaid rejects an empty quoted label; a space keeps the node and reads as blank.
    return text.translate(_LABEL) or " "


@dataclass
class Figure:
    """A diagram: its Mermaid source and, per node id, the module it draws and what it links to."""

    text: str
    nodes: dict[str, dict[str, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def edges(self) -> int:
        return sum(1 for line in self.text.splitlines() if "-->" in line or "~~~" in line)


def _lines(lines: list[str]) -> str:
    return "<br/>".join(escape_label(line) for line in lines)


def emit(graph: Graph, structure: Structure, inside: str = "", comment: str = "") -> Figure:
    """The Mermaid flowchart of ``graph`` (a network, or the block ``inside``)."""
    order = list(graph.vertices)
    chains = {key: group_chain(structure, graph.vertices[key].group, inside) if graph.vertices[key].group else []
              for key in order}
    counts: dict[str, int] = {}
    parent_of: dict[str, str] = {}
    for chain in chains.values():
        for i, g in enumerate(chain):
            counts[g] = counts.get(g, 0) + 1
            parent_of.setdefault(g, chain[i - 1] if i else "")
    boxed = consistent_boxes(list(counts), counts, parent_of)
    boxes = {key: [g for g in chain if g in boxed] for key, chain in chains.items()}

    ids = {key: f"n{i}" for i, key in enumerate(order, start=1)}
    box_order: list[str] = []
    for key in order:
        for g in boxes[key]:
            if g not in box_order:
                box_order.append(g)
    box_ids = {g: f"s{i}" for i, g in enumerate(box_order, start=1)}
    box_parent = {g: (boxes_chain[boxes_chain.index(g) - 1] if boxes_chain.index(g) else "")
                  for boxes_chain in boxes.values() for g in boxes_chain}

    entries: dict[str, set[str]] = {g: set() for g in box_order}
    exits: dict[str, set[str]] = {g: set() for g in box_order}
    for src, targets in graph.out.items():
        for dst in targets:
            for g in set(boxes[dst]) - set(boxes[src]):
                entries[g].add(dst)
            for g in set(boxes[src]) - set(boxes[dst]):
                exits[g].add(src)
    captioned = {g for g in box_order if len(entries[g]) > 1}

    lines = ["flowchart TD"]
    if comment:
        lines.append(f"    %% {escape_label(comment)}")
    lines += [f"    {c}" for c in CLASS_DEFS]
    members: dict[str, list[str]] = {}
    for key in order:
        members.setdefault(boxes[key][-1] if boxes[key] else "", []).append(key)
    children: dict[str, list[str]] = {}
    for g in box_order:
        children.setdefault(box_parent[g], []).append(g)
    invisible: list[str] = []

    def title(g: str) -> str:
        """A box's name relative to the box around it (or to the block drawn)."""
        outer = box_parent[g] or inside
        return g[len(outer) + 1:] if outer and g.startswith(outer + ".") else g

    def write(g: str, indent: int) -> None:
        pad = "    " * indent
        if g in captioned:
            cap = f"c{box_ids[g][1:]}"
            lines.append(f'{pad}{cap}["{escape_label(title(g))}"]:::simpleText')
            first = next(iter(sorted(entries[g], key=order.index)))
            invisible.append(f"    {cap} ~~~ {ids[first]}")
        for key in members.get(g, []):
            vertex = graph.vertices[key]
            lines.append(f'{pad}{ids[key]}["{_lines(vertex.lines)}"]:::{vertex.cls}')
        for child in children.get(g, []):
            shown = " " if child in captioned else escape_label(title(child))
            lines.append(f'{pad}subgraph {box_ids[child]} ["{shown}"]')
            # A box entered only at its border is laid out on its own, left to right unless told.
            lines.append(f"{pad}    direction TB")
            write(child, indent + 1)
            lines.append(f"{pad}end")

    write("", 1)

    def end(key: str, other: str, side: dict[str, set[str]]) -> str:
        """The id an arrow attaches to: the outermost box ``key`` alone enters or leaves, else the node."""
        for g in boxes[key]:
            if g not in boxes[other] and len(side[g]) == 1 and g not in captioned:
                return box_ids[g]
        return ids[key]

    for src in order:
        for dst, labels in graph.out[src].items():
            a, b = end(src, dst, exits), end(dst, src, entries)
            text = _lines(list(labels)) if labels else ""
            arrow = f'-->|"{text}"|' if text else "-->"
            lines.append(f"    {a} {arrow} {b}")
    lines += invisible
    nodes = {}
    for key in order:
        vertex = graph.vertices[key]
        info = {"path": vertex.path} if vertex.path else {}
        if vertex.link:
            info["href"] = "#" + vertex.link
        if info:
            nodes[ids[key]] = info
    return Figure("\n".join(lines) + "\n", nodes, list(graph.notes))

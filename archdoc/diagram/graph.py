"""The graph a diagram draws: vertices, labelled edges, and the steps that simplify it.

After `archdoc.diagram.build.build()` has made one vertex per unit, op or
collapsed block, two steps, each linear in the size of the graph:

1. `Graph.fold()` moves normalisation, activations and reshapes onto the
   edges that leave them;
2. `Graph.compress()` draws a run of blocks that are alike as one node with
   its count (``Bottleneck ×35``), and a densely connected run as one node too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archdoc.diagram.naming import NBSP, term

__all__ = ["Vertex", "Graph"]

@dataclass
class Vertex:
    """One node of a diagram.

    Attributes:
        key: Unique within the graph.
        lines: The label's lines (terms).
        cls: Mermaid class (colour of the stroke).
        group: Innermost box candidate that holds it, by qualified name (``""`` for none).
        path: The module it draws, for tooltips.
        link: An anchor on the page it links to (a block diagram or a layer's row).
        fold: When it may fold into the edge that leaves it, the term it becomes.
        run: Vertices with equal ``run`` in a chain are drawn as one with a count.
        dense: Like ``run``, for runs whose members read every member before them.
        count: How many consecutive vertices it stands for.
        base: The first line to show when it stands for several (the kind, without a module name).
    """

    key: str
    lines: list[str]
    cls: str
    group: str = ""
    path: str = ""
    link: str = ""
    fold: str | None = None
    run: tuple[object, ...] | None = None
    dense: tuple[object, ...] | None = None
    count: int = 1
    base: str = ""


@dataclass
class Graph:
    """Vertices in drawing order and labelled edges, with both directions indexed."""

    vertices: dict[str, Vertex] = field(default_factory=dict)
    out: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    inn: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, vertex: Vertex) -> Vertex:
        if vertex.key not in self.vertices:
            self.vertices[vertex.key] = vertex
            self.out[vertex.key] = {}
            self.inn[vertex.key] = {}
        return self.vertices[vertex.key]

    def link(self, src: str, dst: str, labels: tuple[str, ...] = ()) -> None:
        if src != dst and dst not in self.out[src]:
            self.out[src][dst] = labels
            self.inn[dst][src] = labels

    def remove(self, key: str) -> None:
        for dst in self.out.pop(key):
            self.inn[dst].pop(key, None)
        for src in self.inn.pop(key):
            self.out[src].pop(key, None)
        del self.vertices[key]

    def edge_count(self) -> int:
        return sum(len(targets) for targets in self.out.values())

    def prune(self, sink: str) -> None:
        """Drop vertices whose tensors never reach ``sink`` (a test of values, a size looked up)."""
        reach = {sink}
        stack = [sink]
        while stack:
            for src in self.inn[stack.pop()]:
                if src not in reach:
                    reach.add(src)
                    stack.append(src)
        for key in [k for k in self.vertices if k not in reach]:
            self.remove(key)

    # ------------------------------------------------------------------ folding

    def fold(self) -> None:
        """Move every foldable vertex with one input onto the edges that leave it."""
        for key in list(self.vertices):
            vertex = self.vertices[key]
            if vertex.fold is None or len(self.inn[key]) != 1 or not self.out[key]:
                continue
            (src, before), = self.inn[key].items()
            after = list(self.out[key].items())
            self.remove(key)
            for dst, labels in after:
                self.link(src, dst, _squeeze(before + (vertex.fold,) + labels))

    # ------------------------------------------------------------------ repeats

    def compress(self, layers: bool = False) -> None:
        """Draw runs of alike blocks as one: chains first, then densely connected runs.

        With ``layers``, runs of alike layers too (``Linear 64 → 64 ×100``), for networks
        too large to draw layer by layer.
        """
        self._chains(layers)
        self._dense()

    def _chains(self, layers: bool) -> None:
        """Merge chains of alike vertices; a chain with labelled links only if its exit has the same label."""
        runs: list[list[str]] = []
        for key, vertex in self.vertices.items():
            if vertex.run is not None and vertex.run[0] == "unit" and not layers:
                continue
            if runs and self._continues(runs[-1], key):
                runs[-1].append(key)
            elif vertex.run is not None:
                runs.append([key])
        for run in runs:
            if len(run) < 2:
                continue
            inner = self.inn[run[1]][run[0]]
            exits = set(self.out[run[-1]].values())
            if inner and exits != {inner}:
                continue  # "each then BatchNorm" would not be true of the last one
            head = self.vertices[run[0]]
            after = list(self.out[run[-1]].items())
            for key in run[1:]:
                self.remove(key)
            for dst, labels in after:
                self.link(head.key, dst, labels)
            head.count = len(run)
            _mark_run(head, inner)

    def _continues(self, run: list[str], key: str) -> bool:
        head, last = self.vertices[run[0]], run[-1]
        vertex = self.vertices[key]
        if vertex.run is None or vertex.run != head.run or vertex.group != head.group:
            return False
        if list(self.out[last]) != [key] or list(self.inn[key]) != [last]:
            return False
        return len(run) < 2 or self.inn[key][last] == self.inn[run[1]][run[0]]

    def _dense(self) -> None:
        keys = [k for k, v in self.vertices.items() if v.dense is not None]
        i = 0
        while i < len(keys):
            first = self.vertices[keys[i]]
            members = [first]
            outside = set(self.inn[first.key])
            j = i + 1
            while j < len(keys):
                nxt = self.vertices[keys[j]]
                sources = set(self.inn[nxt.key])
                before = {m.key for m in members}
                if nxt.dense != first.dense or nxt.group != first.group or not sources <= outside | before:
                    break
                if not sources & before:
                    break
                members.append(nxt)
                j += 1
            reads_all = len(members) >= 3 and all(
                {m.key for m in members[:n]} <= set(self.inn[members[n].key]) for n in range(1, len(members))
            )
            if reads_all:
                self._merge_dense(members, outside)
            i = j if reads_all else i + 1

    def _merge_dense(self, members: list[Vertex], outside: set[str]) -> None:
        head = members[0]
        names = {m.key for m in members}
        consumers: dict[str, tuple[str, ...]] = {}
        for m in members:
            for dst, labels in self.out[m.key].items():
                if dst not in names:
                    consumers.setdefault(dst, labels)
        for m in members[1:]:
            self.remove(m.key)
        for dst in list(self.out[head.key]):
            self.out[head.key].pop(dst)
            self.inn[dst].pop(head.key, None)
        for dst, labels in consumers.items():
            self.link(head.key, dst, labels)
        head.count = len(members)
        head.lines = [f"{head.base or head.lines[0]} ×{head.count}", term("dense: each reads all before it"), *head.lines[1:]]


def _mark_run(head: Vertex, inner: tuple[str, ...] | None) -> None:
    if head.count < 2:
        return
    head.lines = [f"{head.base or head.lines[0]} ×{head.count}", *head.lines[1:]]
    if inner:
        head.lines.append(term("each then " + " · ".join(inner)))


def _squeeze(labels: tuple[str, ...]) -> tuple[str, ...]:
    """Repeated terms in a row become one with a count: ``ReLU, ReLU, ReLU`` → ``ReLU ×3``."""
    out: list[tuple[str, int]] = []
    for label in labels:
        base, _, count = label.partition(f"{NBSP}×")
        n = int(count) if count.isdigit() else 1
        if out and out[-1][0] == base:
            out[-1] = (base, out[-1][1] + n)
        else:
            out.append((base if count.isdigit() else label, n))
    return tuple(f"{b}{NBSP}×{n}" if n > 1 else b for b, n in out)

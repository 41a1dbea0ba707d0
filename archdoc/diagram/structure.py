"""The module tree as the diagrams see it: units, blocks, groups and the kind of every block.

- A *unit* is a module the dataflow records as one step (a layer).
- A *block* is a composite module worth one node of its own: it holds at least
  two layers that do work, or merges tensors (a residual addition, a
  concatenation). A composite that is not a block is a *wrapper* (conv + norm +
  activation) and reads as its main layer.
- A *group* is a box: a container (``nn.Sequential``, ``nn.ModuleList``,
  ``nn.ModuleDict``), an expanded block or wrapper, or a run of siblings named
  like ``inception3a``, ``inception3b`` (the stage the names imply).
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from archdoc.diagram.naming import Kind, downsample_marker, name_kinds, run_stem
from archdoc.tracing.record import FlowNode, Layer, LayerKind, Trace

__all__ = ["Structure", "FOLDED_KINDS", "SHAPE_ONLY", "ancestors"]

# Layers drawn on the edge that leaves them rather than as a node.
FOLDED_KINDS = frozenset({LayerKind.NORM, LayerKind.ACTIVATION, LayerKind.DROPOUT, LayerKind.FLATTEN})
# Ops that only move data around; with one input they fold into the edge.
SHAPE_ONLY = frozenset(
    {
        "view", "flatten", "permute", "transpose", "contiguous", "squeeze", "unsqueeze", "expand", "clone",
        "t", "select", "slice", "split", "split_with_sizes", "unbind", "chunk", "alias", "detach", "to", "_to_copy",
        "unflatten", "movedim", "roll", "pad", "constant_pad_nd", "repeat", "narrow",
    }
)
ELEMENTWISE = frozenset(
    {
        "relu", "gelu", "silu", "sigmoid", "tanh", "hardswish", "hardsigmoid", "hardtanh", "leaky_relu", "elu",
        "softmax", "log_softmax", "dropout", "native_dropout", "mul", "div", "add", "sub", "neg", "pow", "sqrt",
        "rsqrt", "exp", "clamp", "batch_norm", "layer_norm", "group_norm", "mean", "sum",
    }
)


@functools.lru_cache(maxsize=1 << 16)
def ancestors(name: str) -> tuple[str, ...]:
    """``"a.b.c"`` → ``("a", "a.b", "a.b.c")``; ``""`` → ``()`` (asked for again and again while a diagram is drawn)."""
    if not name:
        return ()
    parts = name.split(".")
    return tuple(".".join(parts[:i]) for i in range(1, len(parts) + 1))


def _stem(name: str) -> str:
    """What siblings named alike share: ``branch1`` → ``branch``, ``inception3`` → ``inception``, ``0`` → ``""``."""
    return run_stem(name.rsplit(".", 1)[-1])


@dataclass
class Structure:
    """What the diagrams need to know about the module tree of a trace."""

    layers: dict[str, Layer]
    flow: tuple[FlowNode, ...]
    units: frozenset[str]
    containers: frozenset[str]
    composites: frozenset[str]
    blocks: frozenset[str]
    virtual: dict[str, str]  # a module -> the stage its name implies (``inception3a`` -> ``inception3``)
    kinds: dict[str, Kind] = field(default_factory=dict)
    order: dict[str, int] = field(default_factory=dict)  # first call of each module
    _sorted: list[str] = field(default_factory=list)
    _depths: dict[str, int] = field(default_factory=dict)
    _candidates: frozenset[str] | None = None

    @classmethod
    def of(cls, trace: Trace) -> Structure:
        """Analyse ``trace``'s module tree and dataflow."""
        layers: dict[str, Layer] = {}
        for layer in trace.layers:
            layers.setdefault(layer.name, layer)
        flow = trace.dataflow
        units = frozenset(n.target for n in flow if n.op == "call_module")
        containers = frozenset(
            name for name, layer in layers.items()
            if name and layer.kind == LayerKind.CONTAINER and name not in units
        )
        composites = frozenset(
            name for name, layer in layers.items()
            if name and not layer.is_leaf and name not in units and name not in containers
        )
        work: dict[str, int] = {}
        merges: dict[str, int] = {}
        for node in flow:
            if node.op == "call_module" and node.kind not in FOLDED_KINDS:
                for scope in ancestors(node.scope)[:-1]:
                    work[scope] = work.get(scope, 0) + 1
            elif node.op == "call_function":
                if len(node.inputs) >= 2:
                    target = merges
                elif node.target in SHAPE_ONLY or node.target in ELEMENTWISE:
                    continue
                else:
                    target = work
                for scope in ancestors(node.scope):
                    target[scope] = target.get(scope, 0) + 1
        blocks = frozenset(c for c in composites if work.get(c, 0) >= 2 or merges.get(c, 0))
        blocks -= _stages(blocks, layers, containers)
        order = {layer.name: layer.index for layer in reversed(trace.layers)}
        structure = cls(layers, flow, units, containers, composites, blocks, _virtual_stages(layers, order), order=order)
        structure._sorted = sorted(layers)
        structure.kinds = structure._kinds()
        return structure

    # ------------------------------------------------------------------ queries

    def block_depth(self, name: str) -> int:
        """How many blocks enclose ``name``, itself included."""
        if name not in self._depths:
            self._depths[name] = sum(1 for a in ancestors(name) if a in self.blocks)
        return self._depths[name]

    def descendants(self, name: str) -> list[str]:
        """Qualified names of every submodule below ``name``, in name order."""
        start = bisect.bisect_left(self._sorted, name + ".")
        end = bisect.bisect_left(self._sorted, name + "/")  # "/" sorts right after "."
        return self._sorted[start:end]

    def collapsed(self, scope: str, level: int, inside: str = "") -> str | None:
        """The outermost block around ``scope`` (below ``inside``) drawn as one node at ``level``."""
        base = self.block_depth(inside) if inside else 0
        for name in ancestors(scope):
            if inside and not name.startswith(inside + "."):
                continue
            if name in self.blocks and self.block_depth(name) - base > level:
                return name
        return None

    def children(self, name: str) -> list[str]:
        """Direct submodule names (last components) of a module."""
        below = self.descendants(name) if name else [n for n in self._sorted if n]
        prefix = len(name) + 1 if name else 0
        return sorted({n[prefix:].split(".")[0] for n in below})

    def signature(self, block: str) -> tuple[object, ...]:
        """What makes two blocks draw the same: type, downsampling, and their layers' settings."""
        layer = self.layers[block]
        inner = tuple(
            (lay.name[len(block) + 1:], lay.type, lay.attr("kernel_size"), lay.attr("stride"), _grouping(lay))
            for lay in sorted((self.layers[n] for n in self.descendants(block)), key=lambda x: x.index)
            if (lay.is_leaf or lay.name in self.units)
            and not any(a in self.units for a in ancestors(lay.name)[:-1])
        )
        return (layer.type, downsample_marker(layer), inner)

    def inner_shapes(self, block: str) -> tuple[object, ...]:
        """The output shapes of every layer inside ``block``: equal for blocks that are alike to the width."""
        return tuple(tuple(self.layers[n].output_shape) for n in self.descendants(block))

    def group_candidates(self) -> frozenset[str]:
        """Every module or implied stage that may be drawn as a box."""
        if self._candidates is None:
            self._candidates = frozenset(self.containers) | frozenset(self.composites) | frozenset(self.virtual.values())
        return self._candidates

    def stem(self, name: str) -> str:
        return _stem(name)

    def _kinds(self) -> dict[str, Kind]:
        blocks = sorted(self.blocks, key=lambda b: self.order.get(b, 0))
        return name_kinds(blocks, self.signature, self.children, lambda b: self.layers[b])


def _stages(blocks: frozenset[str], layers: dict[str, Layer], containers: frozenset[str]) -> set[str]:
    """Composites that hold a run of blocks: ViT's ``Encoder`` around ``layers`` (12 encoder blocks in a Sequential).

    A run is two or more blocks of one type named alike (``encoder_layer_0`` …, ``0``, ``1`` …)
    in one container (a ``ModuleList`` that is iterated rather than called counts too).
    The module holding it is a stage: a box around the run (``EncoderBlock ×12``), not one
    block whose own diagram would draw every layer of every block in it.
    """
    runs: dict[tuple[str, str, str], int] = {}
    for block in blocks:
        parent, _, name = block.rpartition(".")
        if parent and (parent in containers or parent not in layers):
            key = (parent, layers[block].type, _stem(name))
            runs[key] = runs.get(key, 0) + 1
    stages = set()
    for (container, _, _), count in runs.items():
        if count < 2:
            continue
        owner = container
        while (owner in containers or owner not in layers) and "." in owner:  # up to the module holding the run
            owner = owner.rpartition(".")[0]
        if owner in blocks:
            stages.add(owner)
    return stages


def _grouping(layer: Layer) -> str:
    """How a convolution groups its channels, in words that do not depend on the width."""
    groups = layer.attr("groups", 1)
    if groups in (None, 1):
        return ""
    return "depthwise" if groups == layer.attr("in_channels") else "grouped"


def _virtual_stages(layers: dict[str, Layer], order: dict[str, int]) -> dict[str, str]:
    """Siblings named ``<stem><digit><letter>`` in a row (``inception4a`` … ``inception4e``) form a stage."""
    siblings: dict[str, list[str]] = {}
    for name in sorted(layers, key=lambda n: order.get(n, 0)):
        if name:
            parent = name.rsplit(".", 1)[0] if "." in name else ""
            siblings.setdefault(parent, []).append(name)
    stages: dict[str, str] = {}
    for parent, names in siblings.items():
        run: list[str] = []
        for name in [*names, ""]:
            match = re.fullmatch(r"(.*\d)[a-z]", name.rsplit(".", 1)[-1]) if name else None
            stem = match.group(1) if match else None
            same = run and stem is not None and re.fullmatch(r"(.*\d)[a-z]", run[-1].rsplit(".", 1)[-1]).group(1) == stem
            if same and layers[name].type == layers[run[-1]].type:
                run.append(name)
                continue
            if len(run) >= 2:
                stage = re.fullmatch(r"(.*\d)[a-z]", run[0].rsplit(".", 1)[-1]).group(1)
                for member in run:
                    stages[member] = f"{parent}.{stage}" if parent else stage
            run = [name] if stem is not None else []
    return stages


def consistent_boxes(candidates: Sequence[str], vertices_in: dict[str, int], parent_of: dict[str, str]) -> set[str]:
    """The groups drawn as boxes: any with two or more vertices, and then every sibling named alike that has one.

    Siblings named alike (``layer1`` … ``layer5``, ``branch1`` … ``branch4``) are boxed
    all or none, so a stage of one layer is not drawn differently from its neighbours.
    """
    boxed = {g for g in candidates if vertices_in.get(g, 0) >= 2}
    classes: dict[tuple[str, str], list[str]] = {}
    for g in candidates:
        classes.setdefault((parent_of.get(g, ""), _stem(g)), []).append(g)
    for members in classes.values():
        if any(m in boxed for m in members):
            boxed.update(m for m in members if vertices_in.get(m, 0) >= 1)
    return boxed

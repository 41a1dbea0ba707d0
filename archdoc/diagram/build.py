"""Build a diagram's graph from the recorded dataflow: one vertex per unit, op or collapsed block.

Each tensor that flows between two of them is an edge. In a block diagram the
block's outside becomes one input and one output vertex. Vertices whose tensors
never reach the output (a test of values, a size looked up) are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

from archdoc.diagram.graph import Graph, Vertex
from archdoc.diagram.naming import fold_term, layer_lines, shape_term, term
from archdoc.diagram.structure import ELEMENTWISE, FOLDED_KINDS, SHAPE_ONLY, Structure, ancestors
from archdoc.tracing.record import FlowNode, LayerKind, Shape

__all__ = ["build", "group_chain", "row_anchor"]

_CLASSES = {
    LayerKind.CONV: "convNode",
    LayerKind.CONV_TRANSPOSE: "convNode",
    LayerKind.MAXPOOL: "poolNode",
    LayerKind.AVGPOOL: "poolNode",
    LayerKind.ADAPTIVE_MAXPOOL: "poolNode",
    LayerKind.ADAPTIVE_AVGPOOL: "poolNode",
    LayerKind.LINEAR: "linearNode",
    LayerKind.NORM: "normNode",
}
_OP_NAMES = {
    "add": "add", "sub": "subtract", "cat": "concat", "stack": "stack", "mul": "multiply", "div": "divide",
    "matmul": "matmul", "linear": "linear", "attention": "attention", "relu": "ReLU", "gelu": "GELU",
    "silu": "SiLU", "sigmoid": "Sigmoid", "tanh": "Tanh", "hardswish": "Hardswish", "softmax": "Softmax",
    "log_softmax": "LogSoftmax", "dropout": "Dropout", "native_dropout": "Dropout", "flatten": "Flatten",
    "batch_norm": "BatchNorm", "layer_norm": "LayerNorm", "group_norm": "GroupNorm", "mean": "mean",
}


def row_anchor(name: str) -> str:
    """The anchor of a layer's row in a page's tables: ``layer3.1.conv2`` → ``layer-layer3-1-conv2``."""
    return "layer-" + "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")


# Weight names that say nothing about what is read (a functional layer's own weight and bias).
_GENERIC = frozenset({"weight", "bias", "running_mean", "running_var", "num_batches_tracked", "in_proj_weight", "in_proj_bias"})
# One-input ops that fold into an edge besides reshapes and elementwise ones.
_FOLDABLE = frozenset({"cat", "stack"})


def _op_name(node: FlowNode) -> str:
    """``add pos_embedding``: the op, and the weights it reads when they tell something."""
    name = _OP_NAMES.get(node.target, node.target)
    told = [r.rsplit(".", 1)[-1] for r in node.reads if r.rsplit(".", 1)[-1] not in _GENERIC]
    if told:
        name += " " + ", ".join(dict.fromkeys(told))
    return term(name)


def _op_lines(node: FlowNode) -> list[str]:
    return [_op_name(node), shape_term(node.shape[1:] if node.shape else None)]


def _fold_op(node: FlowNode) -> str | None:
    """The edge term a one-input op becomes, or ``None`` if it stays a node."""
    if node.target in SHAPE_ONLY or node.target in ELEMENTWISE or node.target in _FOLDABLE:
        return _op_name(node)
    return None


def group_chain(structure: Structure, path: str, inside: str = "") -> list[str]:
    """The box candidates around ``path`` (itself included), outermost first, below ``inside``."""
    candidates = structure.group_candidates()
    chain = []
    for name in ancestors(path):
        if inside and not name.startswith(inside + "."):
            continue
        stage = structure.virtual.get(name)
        if stage is not None and stage not in chain:
            chain.append(stage)
        if name in candidates:
            chain.append(name)
    return chain


def build(
    structure: Structure,
    level: int,
    inside: str = "",
    input_shapes: Sequence[Shape] = (),
    output_lines: Sequence[str] = (),
    coarse: bool = False,
) -> Graph:
    """The graph of the whole network (``inside=""``) or of one block, before folding.

    Args:
        structure: The analysed trace.
        level: Blocks nested deeper than this (below ``inside``) are one node each.
        inside: A block to draw alone, its outside reduced to an input and an output.
        input_shapes: For a block, the shapes it receives.
        output_lines: The output node's label.
        coarse: Draw every top-level module as one node (for networks too large otherwise).
    """
    graph = Graph()
    owner: dict[str, str] = {}
    flow = structure.flow
    consumers: dict[str, list[FlowNode]] = {}
    for node in flow:
        for i in node.inputs:
            consumers.setdefault(i, []).append(node)

    def within(scope: str) -> bool:
        return not inside or scope == inside or scope.startswith(inside + ".")

    if inside:
        _boundary_input(graph, input_shapes)

    def group_of(path: str, own: bool) -> str:
        chain = group_chain(structure, path, inside)
        if not own and chain and chain[-1] == path:
            chain = chain[:-1]
        return chain[-1] if chain else ""

    for node in flow:
        if node.op == "output":
            continue
        if node.op == "placeholder":
            if not inside:
                label = "Input" if sum(1 for n in flow if n.op == "placeholder") == 1 else term(f"Input {node.target}")
                graph.add(Vertex(node.name, [label, shape_term(node.shape[1:] if node.shape else None)], "simpleText"))
                owner[node.name] = node.name
            continue
        if not within(node.scope):
            continue
        block = None
        if coarse and node.scope:
            top = node.scope.split(".")[0]
            if top != node.scope or node.op != "call_module":  # inside a top-level module that is not a unit
                block = top
        block = block or structure.collapsed(node.scope, level, inside)
        if block is not None:
            owner[node.name] = _block_vertex(graph, structure, block, inside, group_of).key
        elif node.op == "call_module":
            layer = structure.layers[node.target]
            kind = node.kind
            vertex = Vertex(
                node.name, layer_lines(layer, node.shape), _CLASSES.get(kind, "otherNode"),
                group_of(node.target, own=False), node.target, row_anchor(node.target),
            )
            if kind in FOLDED_KINDS:
                vertex.fold = fold_term(layer)
            else:
                vertex.run = ("unit", tuple(vertex.lines), tuple(layer.input_shape))
            owner[node.name] = graph.add(vertex).key
        else:
            lines = _op_lines(node)
            merge = len(node.inputs) >= 2
            vertex = Vertex(node.name, lines, "mergeNode" if merge else "otherNode", group_of(node.scope, own=True), node.scope)
            if not merge:
                vertex.fold = _fold_op(node)
            owner[node.name] = graph.add(vertex).key
        for i in node.inputs:
            src = owner.get(i)
            if src is None and inside:
                src = _boundary_input(graph, input_shapes)
            if src is not None:
                graph.link(src, owner[node.name])
    _outputs(graph, structure, flow, owner, consumers, inside, within, output_lines)
    graph.prune("output")
    return graph


def _block_vertex(graph: Graph, structure: Structure, block: str, inside: str, group_of) -> Vertex:  # noqa: ANN001
    if block in graph.vertices:
        return graph.vertices[block]
    layer = structure.layers[block]
    kind = structure.kinds.get(block)
    name = kind.name if kind else layer.type
    own = block.rsplit(".", 1)[-1]
    # A name that ends in a number counts instances (0, block2-1, denselayer3); one that does not names it (inception3a).
    numbered = own[-1:].isdigit()
    first = term(name) if numbered or not kind else f"{term(own)} · {term(name)}"
    vertex = Vertex(
        block, [first, shape_term(layer.output_shape[1:] if layer.output_shape else None)], "blockNode",
        group_of(block, own=False), block, kind.anchor if kind else "",
    )
    if kind:
        # Alike blocks named alike (0, 1, 2 or denselayer1, denselayer2) may be drawn as one.
        stem = structure.stem(block)
        vertex.run = ("block", name, stem, tuple(layer.input_shape), structure.inner_shapes(block))
        vertex.dense = ("block", name, stem, tuple(layer.output_shape))
        vertex.base = term(name)
    return graph.add(vertex)


def _boundary_input(graph: Graph, shapes: Sequence[Shape]) -> str:
    key = "input:block"
    if key not in graph.vertices:
        label = "; ".join(shape_term(s[1:]) for s in shapes) or "?"
        graph.add(Vertex(key, ["Input", label], "simpleText"))
    return key


def _outputs(graph, structure, flow, owner, consumers, inside, within, output_lines) -> None:  # noqa: ANN001
    vertex = graph.add(Vertex("output", list(output_lines) or ["Output"], "simpleText"))
    for node in flow:
        if node.op == "output" and not inside:
            for i in node.inputs:
                if i in owner:
                    graph.link(owner[i], vertex.key)
        elif inside and node.name in owner and node.op != "placeholder":
            leaves = any(c.op == "output" or not within(c.scope) for c in consumers.get(node.name, ()))
            if leaves:
                graph.link(owner[node.name], vertex.key)

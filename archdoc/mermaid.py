"""Mermaid flowcharts drawn from a trace's dataflow, valid by construction.

Node ids are generated (``n1``, ``n2``, ...), never taken from module names, and
every label goes through :func:`escape_label`, so no module name, class name or
shape can break the parser. Blocks (custom modules such as ``BasicBlock`` or an
Inception module) collapse into one node; containers (``nn.Sequential``) become
subgraphs; parameter-free elementwise layers and normalisation fold into the
label of the edge that leaves them. Diagrams are kept under Mermaid's default
limits (500 edges, 50,000 characters) by collapsing further when needed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from archdoc.tracing.record import FlowNode, Layer, LayerKind, Trace

__all__ = [
    "escape_label",
    "network_diagram",
    "block_diagrams",
    "render_mermaid",
    "structure_section",
    "MAX_EDGES",
    "MAX_TEXT",
]

MAX_EDGES = 500
MAX_TEXT = 50_000

# The seed's strokes: yellow convolutions, cyan pooling, green linear layers.
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

_FOLD_KINDS = {LayerKind.NORM, LayerKind.ACTIVATION, LayerKind.DROPOUT, LayerKind.FLATTEN}
_PRIMARY_CLASS = {
    LayerKind.CONV: "convNode",
    LayerKind.CONV_TRANSPOSE: "convNode",
    LayerKind.MAXPOOL: "poolNode",
    LayerKind.AVGPOOL: "poolNode",
    LayerKind.ADAPTIVE_MAXPOOL: "poolNode",
    LayerKind.ADAPTIVE_AVGPOOL: "poolNode",
    LayerKind.LINEAR: "linearNode",
    LayerKind.NORM: "normNode",
}
_FUNCTION_NAMES = {
    "relu": "ReLU",
    "relu_": "ReLU",
    "gelu": "GELU",
    "silu": "SiLU",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "softmax": "Softmax",
    "log_softmax": "LogSoftmax",
    "flatten": "Flatten",
    "dropout": "Dropout",
    "add": "add",
    "iadd": "add",
    "cat": "concat",
    "concat": "concat",
    "stack": "stack",
    "mul": "multiply",
    "matmul": "matmul",
}
_SHAPE_ONLY = {"view", "reshape", "flatten", "permute", "transpose", "contiguous", "squeeze", "unsqueeze", "expand"}


# ----------------------------------------------------------------------------- escaping

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
}
_ESCAPE = re.compile("|".join(re.escape(c) for c in _ENTITIES))


def escape_label(text: str) -> str:
    """Make ``text`` safe inside a double-quoted Mermaid label.

    Quotes, ``#``, angle brackets, pipes, backticks, brackets and semicolons
    become entity codes; control characters and line breaks become spaces.
    Reserved words (``end``, ``class``, ``subgraph``...) are harmless inside
    quotes, and ids never come from labels.
    """
    text = "".join(" " if ord(c) < 32 or c in "\u2028\u2029\x7f" else c for c in text)
    # Mermaid rejects an empty quoted label; a space keeps the node and reads as blank.
    return _ESCAPE.sub(lambda m: _ENTITIES[m.group(0)], text) or " "


def _dims(shape: Sequence[int] | None) -> str:
    return " x ".join(str(d) for d in shape) if shape else "?"


# ----------------------------------------------------------------------------- model structure


@dataclass(frozen=True)
class _Tree:
    """The module tree as the diagrams see it."""

    layers: dict[str, Layer]  # first call of each module
    blocks: frozenset[str]  # composite modules drawn as one node when collapsed
    containers: frozenset[str]  # Sequential/ModuleList/ModuleDict: subgraphs

    def block_depth(self, name: str) -> int:
        parts = name.split(".")
        return sum(1 for i in range(1, len(parts) + 1) if ".".join(parts[:i]) in self.blocks)

    def ancestors(self, name: str) -> list[str]:
        """Qualified names from the outermost ancestor down to ``name`` itself."""
        return _ancestors(name)


def _ancestors(name: str) -> list[str]:
    if not name:
        return []
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _tree(trace: Trace, flow: Sequence[FlowNode]) -> _Tree:
    layers: dict[str, Layer] = {}
    for layer in trace.layers:
        layers.setdefault(layer.name, layer)
    merges_in: dict[str, int] = {}
    shaped = _shaped(flow)
    for node in flow:
        if node.op in ("call_function", "call_method") and sum(i in shaped for i in node.inputs) >= 2:
            for scope in _ancestors(node.scope):
                merges_in[scope] = merges_in.get(scope, 0) + 1
    blocks, containers = set(), set()
    for name, layer in layers.items():
        if not name or layer.is_leaf:
            continue
        if layer.kind == LayerKind.CONTAINER:
            containers.add(name)
            continue
        leaves = [
            lay for lay in layers.values() if lay.is_leaf and lay.name.startswith(name + ".")
        ]
        primary = [lay for lay in leaves if lay.kind not in _FOLD_KINDS]
        # A wrapper such as conv + BatchNorm + ReLU reads best as the convolution itself.
        if len(primary) <= 1 and not merges_in.get(name):
            continue
        blocks.add(name)
    return _Tree(layers, frozenset(blocks), frozenset(containers))


def _shaped(flow: Sequence[FlowNode]) -> set[str]:
    """Names of the nodes that carry tensors (placeholders and nodes with a shape)."""
    return {n.name for n in flow if n.shape is not None or n.op == "placeholder"}


def _execution_order(trace: Trace) -> tuple[FlowNode, ...]:
    """A stand-in dataflow when fx cannot trace: leaf calls in order, one after another."""
    nodes = [FlowNode("x", "placeholder", "x", (), "", trace.input_shapes[0] if trace.inputs else None)]
    prev = "x"
    for layer in trace.layers:
        if layer.is_leaf and layer.index > 0:
            name = f"call{layer.index}"
            nodes.append(FlowNode(name, "call_module", layer.name, (prev,), layer.name, layer.output_shape or None, layer.kind))
            prev = name
    nodes.append(FlowNode("output", "output", "output", (prev,), ""))
    return tuple(nodes)


def _flow(trace: Trace) -> tuple[FlowNode, ...]:
    return trace.dataflow if trace.dataflow is not None else _execution_order(trace)


# ----------------------------------------------------------------------------- graph building


@dataclass
class _Vertex:
    key: str
    label: str
    cls: str
    group: str  # container qualname for the subgraph, "" for top level
    foldable: bool = False
    fold_label: str = ""


@dataclass
class _Graph:
    vertices: dict[str, _Vertex] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    edges: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)

    def add(self, vertex: _Vertex) -> None:
        if vertex.key not in self.vertices:
            self.vertices[vertex.key] = vertex
            self.order.append(vertex.key)

    def link(self, src: str, dst: str, labels: tuple[str, ...] = ()) -> None:
        if src != dst and (src, dst, labels) not in self.edges:
            self.edges.append((src, dst, labels))


def _downsample_marker(layer: Layer) -> str:
    inp, out = layer.input_shape, layer.output_shape
    if len(inp) < 3 or len(out) != len(inp) or any(o <= 0 for o in out[2:]):
        return ""
    ratios = [math.ceil(i / o) for i, o in zip(inp[2:], out[2:])]
    return f"/{ratios[0]}" if len(set(ratios)) == 1 and ratios[0] > 1 else ""


def _hyper(layer: Layer) -> str:
    def dims(value: object) -> str:
        return " x ".join(str(v) for v in value) if isinstance(value, tuple) else str(value)

    def nontrivial(value: object, trivial: int) -> bool:
        values = value if isinstance(value, tuple) else (value,)
        return any(v != trivial for v in values)

    parts = []
    k = layer.attr("kernel_size")
    if k is not None:
        parts.append(f"kernel={dims(k if isinstance(k, tuple) else (k, k) if len(layer.output_shape) == 4 else k)}")
    stride = layer.attr("stride")
    if stride is not None and nontrivial(stride, 1):
        parts.append(f"stride={dims(stride) if isinstance(stride, tuple) and len(set(stride)) > 1 else (stride[0] if isinstance(stride, tuple) else stride)}")
    pad = layer.attr("padding")
    if isinstance(pad, str):
        parts.append(f"pad={pad}")
    elif pad is not None and nontrivial(pad, 0):
        parts.append(f"pad={dims(pad) if isinstance(pad, tuple) and len(set(pad)) > 1 else (pad[0] if isinstance(pad, tuple) else pad)}")
    dil = layer.attr("dilation")
    if layer.kind != LayerKind.AVGPOOL and dil is not None and nontrivial(dil, 1):
        parts.append(f"dilation={dil[0] if isinstance(dil, tuple) else dil}")
    if layer.attr("groups", 1) != 1:
        parts.append(f"groups={layer.attr('groups')}")
    if layer.attr("ceil_mode"):
        parts.append("ceil")
    return ",".join(parts)


def _module_vertex(layer: Layer, shape: Sequence[int] | None, group: str) -> _Vertex:
    kind = layer.kind
    out = _dims(shape[1:] if shape else layer.output_shape[1:])
    # Weights tied to another layer (e.g. embedding and output projection) are marked on both.
    shared = " (shared)" if layer.shared_params else ""
    if kind in (LayerKind.CONV, LayerKind.CONV_TRANSPOSE):
        name = "ConvTranspose" if kind == LayerKind.CONV_TRANSPOSE else "Conv"
        return _Vertex(layer.name, f"{name}({_hyper(layer)}){shared}: {out}", "convNode", group)
    if kind in (LayerKind.MAXPOOL, LayerKind.AVGPOOL):
        how = "max" if kind == LayerKind.MAXPOOL else "avg"
        return _Vertex(layer.name, f"Pool({how},{_hyper(layer)}): {out}", "poolNode", group)
    if kind in (LayerKind.ADAPTIVE_MAXPOOL, LayerKind.ADAPTIVE_AVGPOOL):
        how = "max" if kind == LayerKind.ADAPTIVE_MAXPOOL else "avg"
        size = layer.attr("output_size")
        size = " x ".join(str(s) for s in size) if isinstance(size, tuple) else str(size)
        return _Vertex(layer.name, f"AdaptivePool({how},output={size}): {out}", "poolNode", group)
    if kind == LayerKind.LINEAR:
        return _Vertex(layer.name, f"Linear(){shared}: {out}", "linearNode", group)
    fold = kind in _FOLD_KINDS or (layer.params == 0 and layer.input_shape == layer.output_shape)
    short = _fold_name(layer)
    return _Vertex(
        layer.name, f"{layer.type}{shared}: {out}", _PRIMARY_CLASS.get(kind, "otherNode"), group, fold, short
    )


def _fold_name(layer: Layer) -> str:
    name = re.sub(r"[123]d$", "", layer.type)
    if layer.kind == LayerKind.DROPOUT and layer.attr("p") is not None:
        return f"{name}({layer.attr('p')})"
    return {"LocalResponseNorm": "LRN"}.get(name, name)


def _function_vertex(node: FlowNode, tensor_inputs: int, group: str) -> _Vertex:
    name = _FUNCTION_NAMES.get(node.target, node.target)
    out = _dims(node.shape[1:] if node.shape else None)
    if tensor_inputs >= 2:
        return _Vertex(node.name, f"{name}: {out}", "mergeNode", group)
    foldable = node.target in _FUNCTION_NAMES or node.target in _SHAPE_ONLY
    return _Vertex(node.name, f"{name}: {out}", "otherNode", group, foldable, name)


def _group(tree: _Tree, scope: str, stop: str = "") -> str:
    """The innermost container that encloses ``scope`` (below ``stop``)."""
    group = ""
    for name in tree.ancestors(scope):
        if stop and not name.startswith(stop + "."):
            continue
        if name in tree.containers and name != scope:
            group = name
    return group


def _build(
    trace: Trace,
    tree: _Tree,
    flow: Sequence[FlowNode],
    collapse: Callable[[str], str | None],
    inside: Callable[[FlowNode], bool],
    input_label: Callable[[FlowNode], str],
    output_label: str,
    stop: str = "",
) -> _Graph:
    """Turn fx nodes into diagram vertices and edges (before folding)."""
    graph = _Graph()
    by_name = {node.name: node for node in flow}
    unit: dict[str, str] = {}
    shaped = _shaped(flow)
    consumers: dict[str, list[str]] = {}
    for node in flow:
        for i in node.inputs:
            consumers.setdefault(i, []).append(node.name)

    def source_key(name: str) -> str | None:
        if name in unit:
            return unit[name]
        node = by_name.get(name)
        if node is None or name not in shaped:
            return None
        key = f"input:{name}"
        graph.add(_Vertex(key, input_label(node), "simpleText", ""))
        unit[name] = key
        return key

    for node in flow:
        if node.op in ("placeholder", "output", "get_attr") or not inside(node) or node.name not in shaped:
            continue
        block = collapse(node.scope)
        if block is not None:
            layer = tree.layers[block]
            graph.add(
                _Vertex(
                    block,
                    f"{layer.type}{_downsample_marker(layer)}: {_dims(layer.output_shape[1:])}",
                    "blockNode",
                    _group(tree, block, stop),
                )
            )
            unit[node.name] = block
        elif node.op == "call_module":
            layer = tree.layers.get(node.target)
            if layer is None:
                continue
            vertex = _module_vertex(layer, node.shape, _group(tree, node.target, stop))
            vertex.key = node.name
            graph.add(vertex)
            unit[node.name] = node.name
        else:
            graph.add(_function_vertex(node, sum(1 for i in node.inputs if i in shaped), _group(tree, node.scope, stop)))
            unit[node.name] = node.name
        for i in node.inputs:
            src = source_key(i)
            if src is not None:
                graph.link(src, unit[node.name])

    out_key = "output"
    outputs: list[str] = []
    for node in flow:
        if node.op == "output":
            outputs += [i for i in node.inputs if i in unit]
        elif node.name in unit and any(
            c in by_name and not inside(by_name[c]) and by_name[c].op != "output" for c in consumers.get(node.name, [])
        ):
            outputs.append(node.name)
    graph.add(_Vertex(out_key, output_label, "simpleText", ""))
    for name in outputs:
        graph.link(unit[name], out_key)
    # Inputs first and the output last, whatever order they were met in.
    inputs = [k for k in graph.order if k.startswith("input:")]
    graph.order = inputs + [k for k in graph.order if k not in inputs and k != out_key] + [out_key]
    return graph


def _fold(graph: _Graph) -> _Graph:
    """Remove foldable vertices, moving their names onto the edges through them."""
    for key in list(graph.order):
        vertex = graph.vertices[key]
        if not vertex.foldable:
            continue
        incoming = [e for e in graph.edges if e[1] == key]
        if len(incoming) != 1:
            vertex.foldable = False
            continue
        src, _, before = incoming[0]
        outgoing = [e for e in graph.edges if e[0] == key]
        graph.edges = [e for e in graph.edges if key not in (e[0], e[1])]
        for _, dst, after in outgoing:
            graph.link(src, dst, before + (vertex.fold_label,) + after)
        del graph.vertices[key]
        graph.order.remove(key)
    return graph


def _emit(graph: _Graph, comment: str = "", strip: str = "") -> str:
    ids = {key: f"n{i}" for i, key in enumerate(graph.order, start=1)}
    lines = ["flowchart TD"]
    if comment:
        lines.append(f"    %% {escape_label(comment).replace('%', ' percent')}")
    lines += [f"    {c}" for c in CLASS_DEFS]

    groups: dict[str, list[str]] = {}
    for key in graph.order:
        groups.setdefault(graph.vertices[key].group, []).append(key)
    # A subgraph around a single node says nothing: lift the node to the enclosing group.
    for g in sorted(groups, key=len, reverse=True):
        nested = any(o != g and o.startswith(g + ".") for o in groups)
        if g and len(groups[g]) == 1 and not nested:
            key = groups.pop(g)[0]
            parent = max((o for o in groups if o == "" or g.startswith(o + ".")), key=len, default="")
            groups.setdefault(parent, []).append(key)
            groups[parent].sort(key=graph.order.index)
    names = sorted(groups, key=lambda g: min(graph.order.index(k) for k in groups[g]))
    sub_ids = {g: f"s{i}" for i, g in enumerate(names, start=1) if g}

    def parent_of(g: str) -> str:
        best = ""
        for other in names:
            if other and other != g and g.startswith(other + ".") and len(other) > len(best):
                best = other
        return best

    def write(group: str, indent: int) -> None:
        pad = "    " * indent
        for key in groups.get(group, []):
            v = graph.vertices[key]
            lines.append(f'{pad}{ids[key]}["{escape_label(v.label)}"]:::{v.cls}')
        for child in names:
            if child and parent_of(child) == group:
                title = child[len(strip) + 1 :] if strip and child.startswith(strip + ".") else child
                lines.append(f'{pad}subgraph {sub_ids[child]} ["{escape_label(title)}"]')
                write(child, indent + 1)
                lines.append(f"{pad}end")

    write("", 1)
    position = {key: i for i, key in enumerate(graph.order)}
    for src, dst, labels in sorted(graph.edges, key=lambda e: (position[e[0]], position[e[1]])):
        text = escape_label(" / ".join(labels)).replace(" / ", "<br/>") if labels else ""
        arrow = f'-->|"{text}"|' if text else "-->"
        lines.append(f"    {ids[src]} {arrow} {ids[dst]}")
    return "\n".join(lines) + "\n"


def _within(text: str, limits: tuple[int, int]) -> bool:
    edges = sum(1 for line in text.splitlines() if "-->" in line)
    return edges <= limits[0] and len(text) <= limits[1]


# ----------------------------------------------------------------------------- public


def _input_label(trace: Trace) -> Callable[[FlowNode], str]:
    placeholders = [n for n in _flow(trace) if n.op == "placeholder"]

    def label(node: FlowNode) -> str:
        shape = node.shape[1:] if node.shape else None
        if shape is None:
            index = next((i for i, p in enumerate(placeholders) if p.name == node.name), 0)
            shape = trace.inputs[index].shape if index < len(trace.inputs) else None
        prefix = f"Input {node.name}" if len(placeholders) > 1 else "Input"
        return f"{prefix}: {_dims(shape)}"

    return label


def _output_label(trace: Trace) -> str:
    return "Output: " + trace.output_text(_dims)


def _shapes_label(shapes: Sequence[Sequence[int]]) -> str:
    return "Output: " + "; ".join(_dims(s[1:]) or "scalar" for s in shapes)


def network_diagram(trace: Trace, depth: int = 0, limits: tuple[int, int] = (MAX_EDGES, MAX_TEXT)) -> str:
    """The whole-network flowchart.

    Args:
        trace: The trace.
        depth: How many levels of blocks to expand (0: every block is one node).
            Lowered automatically until the diagram fits ``limits``.
        limits: Mermaid's ``maxEdges`` and ``maxTextSize`` where the diagram is shown;
            its defaults, unless the page raises them (the MkDocs plugin does).

    Returns:
        Mermaid source, without a Markdown fence.
    """
    flow = _flow(trace)
    tree = _tree(trace, flow)
    comment = "" if trace.dataflow is not None else "execution order: fx could not trace this model, merges may be missing"
    for level in range(max(depth, 0), -1, -1):

        def collapse(scope: str, level: int = level) -> str | None:
            for name in tree.ancestors(scope):
                if name in tree.blocks and tree.block_depth(name) > level:
                    return name
            return None

        text = _emit(
            _fold(_build(trace, tree, flow, collapse, lambda n: True, _input_label(trace), _output_label(trace))),
            comment,
        )
        if _within(text, limits):
            return text
    # Still too large: draw every top-level module as one node.
    top = frozenset(name for name in tree.layers if name and "." not in name)
    coarse = _Tree(tree.layers, top, frozenset())
    return _emit(
        _fold(
            _build(
                trace,
                coarse,
                flow,
                lambda scope: next((n for n in coarse.ancestors(scope) if n in top and not coarse.layers[n].is_leaf), None),
                lambda n: True,
                _input_label(trace),
                _output_label(trace),
            )
        ),
        "collapsed to top-level modules to stay within Mermaid's limits",
    )


def _signature(trace: Trace, tree: _Tree, block: str) -> tuple[object, ...]:
    """What makes two blocks draw the same: their type and their inner layers' settings."""
    layer = tree.layers[block]
    inner = tuple(
        (lay.name[len(block) + 1 :], lay.type, lay.attr("kernel_size"), lay.attr("stride"))
        for lay in tree.layers.values()
        if lay.name.startswith(block + ".") and lay.is_leaf
    )
    return (layer.type, bool(_downsample_marker(layer)), inner)


def block_diagrams(trace: Trace) -> list[tuple[str, str]]:
    """One detail diagram per distinct block type: ``(caption, mermaid)`` pairs.

    Blocks are distinct when their type, downsampling or inner layers differ
    (a BasicBlock with a projection shortcut is drawn apart from one without).
    """
    flow = _flow(trace)
    if trace.dataflow is None:
        return []
    tree = _tree(trace, flow)
    top_blocks = [name for name in tree.layers if name in tree.blocks and tree.block_depth(name) == 1]
    seen: dict[tuple[object, ...], str] = {}
    for name in top_blocks:
        seen.setdefault(_signature(trace, tree, name), name)
    children: dict[str, set[str]] = {
        block: {n[len(block) + 1 :].split(".")[0] for n in tree.layers if n.startswith(block + ".")}
        for block in seen.values()
    }
    kinds: dict[tuple[str, str], list[str]] = {}
    for block in seen.values():
        layer = tree.layers[block]
        kinds.setdefault((layer.type, _downsample_marker(layer)), []).append(block)
    out = []
    for block in seen.values():
        layer = tree.layers[block]
        same = kinds[(layer.type, _downsample_marker(layer))]
        extra = ""
        if len(same) > 1:
            # Tell look-alikes apart by the submodules only some of them have.
            common = set.intersection(*(children[b] for b in same))
            extra_names = sorted(children[block] - common)
            extra = f" with {', '.join(f'`{n}`' for n in extra_names)}" if extra_names else f" (variant {same.index(block) + 1})"

        def inside(node: FlowNode, block: str = block) -> bool:
            return node.scope == block or node.scope.startswith(block + ".")

        graph = _build(
            trace,
            tree,
            flow,
            lambda scope: None,
            inside,
            lambda node, layer=layer: f"Input: {_dims(layer.input_shape[1:])}",
            _shapes_label([layer.output_shape]),
            stop=block,
        )
        text = _emit(_fold(graph), strip=block)
        count = sum(1 for name in top_blocks if _signature(trace, tree, name) == _signature(trace, tree, block))
        caption = (
            f"{layer.type}{_downsample_marker(layer)}{extra}, as in `{block}` "
            f"({_dims(layer.input_shape[1:])} → {_dims(layer.output_shape[1:])}; {count} in the network)"
        )
        out.append((caption, text))
    return out


def render_mermaid(trace: Trace, depth: int = 0) -> str:
    """The whole-network diagram as a fenced Markdown block, ready for a README."""
    return f"```mermaid\n{network_diagram(trace, depth)}```\n"


def structure_section(trace: Trace, depth: int = 0, limits: tuple[int, int] = (MAX_EDGES, MAX_TEXT)) -> str:
    """The "Model structure" section of a page: block diagrams, then the whole network (within ``limits``)."""
    parts = []
    if trace.dataflow is None:
        parts.append(
            f"> torch.fx could not trace this model ({escape_md(trace.dataflow_error or '')}), so the diagram "
            "follows execution order and merges (additions, concatenations) may be missing.\n"
        )
    blocks = block_diagrams(trace)
    if blocks:
        parts.append("### Blocks\n")
        for caption, text in blocks:
            parts.append(f"{caption}:\n\n```mermaid\n{text}```\n")
    parts.append("### Whole network\n")
    parts.append(f"```mermaid\n{network_diagram(trace, depth, limits)}```\n")
    return "\n".join(parts)


def escape_md(text: str) -> str:
    """Escape text for a Markdown paragraph."""
    return re.sub(r"([\\`*_{}\[\]<>|])", r"\\\1", text)

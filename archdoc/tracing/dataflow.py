"""The dataflow graph of a model (torch.fx), each node with the shape of its output.

``torch.fx`` traces the model's ``forward`` symbolically into a graph of module
calls, functions and methods: what the diagrams draw, additions and
concatenations included. Shapes come from walking that graph once on meta
tensors. A leaf module's output is taken from the recorded forward pass rather
than computed again, so the walk only runs the cheap glue between modules.
"""

from __future__ import annotations

import re
import warnings
from collections import deque
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from archdoc.tracing.kinds import kind_of
from archdoc.tracing.metaops import FastMeta
from archdoc.tracing.record import FlowNode, Shape
from archdoc.tracing.recorder import Call, tensors

__all__ = ["dataflow"]


def dataflow(
    model: nn.Module, inputs: Sequence[torch.Tensor], calls: Sequence[Call] = ()
) -> tuple[tuple[FlowNode, ...] | None, str | None]:
    """The fx graph of ``model`` with each node's output shape, or ``(None, why fx cannot trace it)``.

    Args:
        model: The model, on the device ``inputs`` are on.
        inputs: The tensors of the recorded forward pass.
        calls: The recorded calls; leaf outputs kept on meta are reused when ``inputs`` are meta.
    """
    import torch.fx

    try:
        with warnings.catch_warnings():
            # fx compiles generated code; odd module names make it warn about escapes.
            warnings.simplefilter("ignore")
            graph = torch.fx.Tracer().trace(model)
    except Exception as exc:  # fx raises whatever the model's Python raises
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, f"{type(exc).__name__}: {first}"

    recorded: dict[int, deque[Any]] = {}
    if all(t.is_meta for t in inputs):
        for call in calls:
            if call.output is not None:
                recorded.setdefault(id(call.module), deque()).append(call.output)
    try:
        with torch.no_grad(), FastMeta():
            shapes = _walk(model, graph, inputs, recorded)
    except Exception:
        shapes = {}  # the graph stays useful without shapes

    kinds: dict[str, str] = {}
    nodes = []
    for node in graph.nodes:
        target = node.target
        if node.op == "call_function":
            target = getattr(target, "__name__", str(target))
        stack = list(node.meta.get("nn_module_stack", {}) or {})
        scope = re.sub(r"@\d+$", "", stack[-1]) if stack else ""
        kind = ""
        if node.op == "call_module":
            scope = str(target)
            if scope not in kinds:
                kinds[scope] = kind_of(model.get_submodule(scope))
            kind = kinds[scope]
        nodes.append(
            FlowNode(
                name=node.name,
                op=node.op,
                target=str(target),
                inputs=tuple(n.name for n in node.all_input_nodes),
                scope=scope,
                shape=shapes.get(node.name),
                kind=kind,
            )
        )
    return tuple(nodes), None


def _walk(
    model: nn.Module, graph: Any, inputs: Sequence[torch.Tensor], recorded: dict[int, deque[Any]]
) -> dict[str, Shape]:
    """Run the graph node by node; the shape of each node's first tensor output."""
    import torch.fx

    env: dict[Any, Any] = {}
    shapes: dict[str, Shape] = {}
    given = iter(inputs)
    for node in graph.nodes:
        if node.op == "output":
            break
        args = torch.fx.node.map_arg(node.args, env.__getitem__)
        kwargs = torch.fx.node.map_arg(node.kwargs, env.__getitem__)
        if node.op == "placeholder":
            value = next(given, args[0] if args else None)  # a parameter with a default gets it
        elif node.op == "get_attr":
            value = _attribute(model, str(node.target))
        elif node.op == "call_module":
            module = model.get_submodule(str(node.target))
            queue = recorded.get(id(module))
            value = queue.popleft() if queue else module(*args, **kwargs)
        elif node.op == "call_function":
            value = node.target(*args, **kwargs)
        else:  # call_method
            value = getattr(args[0], node.target)(*args[1:], **kwargs)
        env[node] = value
        first = next(tensors(value), None)
        if first is not None:
            shapes[node.name] = tuple(first.shape)
    return shapes


def _attribute(model: nn.Module, path: str) -> Any:
    value: Any = model
    for part in path.split("."):
        value = getattr(value, part)
    return value


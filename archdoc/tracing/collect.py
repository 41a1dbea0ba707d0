"""Freeze recorded calls into [`Layer`][archdoc.tracing.Layer] records, counting parameters.

Parameter counts are per module and its children, each tensor once; a tensor
held by more than one module (tied weights) is marked shared.
"""

from __future__ import annotations

from torch import nn

from archdoc.tracing.kinds import attrs_of, kind_of
from archdoc.tracing.record import Layer
from archdoc.tracing.recorder import Call

__all__ = ["collect_layers", "owners"]


def owners(model: nn.Module) -> dict[int, list[str]]:
    """Qualified names of the modules that hold each parameter tensor directly."""
    owners: dict[int, list[str]] = {}
    for name, module in model.named_modules(remove_duplicate=False):
        for param in module._parameters.values():
            if param is not None and name not in owners.setdefault(id(param), []):
                owners[id(param)].append(name)
    return owners


def _shared_outside(param: nn.Parameter, name: str, owners: dict[int, list[str]]) -> bool:
    """Whether a module outside ``name``'s subtree also holds ``param``."""
    holders = owners.get(id(param), [])
    if len(holders) < 2:
        return False
    inside = (lambda o: True) if name == "" else (lambda o: o == name or o.startswith(name + "."))
    return not all(inside(o) for o in holders)


def _counts(module: nn.Module, name: str, holders: dict[int, list[str]]) -> tuple[int, int, int, int]:
    """Parameters, trainable parameters, shared parameters and bytes of ``module`` and its children."""
    params = list(module.parameters())
    return (
        sum(p.numel() for p in params),
        sum(p.numel() for p in params if p.requires_grad),
        sum(p.numel() for p in params if _shared_outside(p, name, holders)),
        sum(p.numel() * p.element_size() for p in params),
    )


def _subtree_counts(model: nn.Module, holders: dict[int, list[str]]) -> dict[str, tuple[int, int, int, int]]:
    """`_counts` for every module of ``model`` by qualified name, in one pass over its parameters.

    A parameter belongs to the subtree of every prefix of every name holding it, once each;
    asking each module for its ``parameters()`` instead walks a deep tree once per level.
    """
    totals: dict[str, list[int]] = {}
    seen: set[int] = set()
    for module in model.modules():
        for param in module._parameters.values():
            if param is None or id(param) in seen:
                continue
            seen.add(id(param))
            held_by = holders[id(param)]
            prefixes = {""}
            for holder in held_by:
                parts = holder.split(".") if holder else []
                prefixes.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
            n = param.numel()
            for prefix in prefixes:
                inside = prefix == "" or all(h == prefix or h.startswith(prefix + ".") for h in held_by)
                total = totals.setdefault(prefix, [0, 0, 0, 0])
                total[0] += n
                total[1] += n if param.requires_grad else 0
                total[2] += 0 if inside else n
                total[3] += n * param.element_size()
    return {name: tuple(total) for name, total in totals.items()}


def collect_layers(model: nn.Module, calls: list[Call], holders: dict[int, list[str]]) -> tuple[Layer, ...]:
    """One [`Layer`][archdoc.tracing.Layer] per recorded call, in call order; ``holders`` is `owners()` of ``model``."""
    names: dict[int, str] = {}
    for name, module in model.named_modules(remove_duplicate=False):
        names.setdefault(id(module), name)
    subtrees = _subtree_counts(model, holders)
    counted: dict[int, tuple[int, int, int, int]] = {}  # a module called again has the same counts
    layers = []
    for call in calls:
        module = call.module
        name = names.get(id(module), "?")
        if id(module) not in counted:
            # A module outside the model's tree (made in forward) is counted on its own.
            counted[id(module)] = subtrees.get(name, (0, 0, 0, 0)) if id(module) in names else _counts(module, name, holders)
        params, trainable, shared, size = counted[id(module)]
        layers.append(
            Layer(
                index=call.index,
                name=name,
                type=type(module).__name__,
                kind=kind_of(module),
                depth=call.depth,
                parent=call.parent,
                is_leaf=next(iter(module.children()), None) is None,
                repeat_of=call.repeat_of,
                input_shapes=call.input_shapes,
                output_shapes=call.output_shapes,
                output_dtypes=call.output_dtypes,
                params=params,
                trainable_params=trainable,
                shared_params=shared,
                param_bytes=size,
                mult_adds=call.flops // 2,
                attrs=attrs_of(module),
            )
        )
    return tuple(layers)

"""Regression checks on architecture: record figures in a lock file, compare the code against it.

A lock file (``archdoc.lock.json``) holds, for each model configuration, how to
trace it and what the trace gave: parameters, trainable parameters, mult-adds,
output shapes, and every leaf layer (name, type, output shape, parameters) with a
digest of that table. :func:`check_lock` traces each configuration again and
describes what changed, naming the layers responsible::

    resnet18: params 11,689,512 → 11,689,000 (layer4.1.conv2: 2,359,296 → 2,358,784)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archdoc.errors import ArchdocError
from archdoc.shapes import format_shape

__all__ = ["LockEntry", "lock_record", "write_lock", "read_lock", "check_lock", "compare", "configured_entries"]

VERSION = 1


@dataclass(frozen=True)
class LockEntry:
    """How to trace one configuration: what ``archdoc render`` would be given."""

    name: str
    inputs: tuple[str, ...] | None = None
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    batch: int = 1
    device: str = "meta"

    @property
    def label(self) -> str:
        """``resnet18`` or ``resnet18 1x116x116 num_classes=2``: the key in the lock file."""
        parts = [self.name, *(self.inputs or ())]
        parts += [f"{k}={v!r}" for k, v in sorted(self.kwargs.items())]
        if self.batch != 1:
            parts.append(f"batch={self.batch}")
        if self.device != "meta":
            parts.append(f"device={self.device}")
        return " ".join(parts)

    def trace(self) -> Any:
        from archdoc.tracing import trace

        return trace(self.name, list(self.inputs) if self.inputs else None, batch=self.batch, device=self.device, **dict(self.kwargs))


def _layers(trace: Any) -> list[list[Any]]:
    return [
        [layer.name or "(model)", layer.type, list(layer.output_shape), layer.params]
        for layer in trace.layers
        if layer.is_leaf and layer.repeat_of is None
    ]


def lock_record(entry: LockEntry, trace: Any) -> dict[str, Any]:
    """What the lock file keeps for one configuration."""
    layers = _layers(trace)
    digest = hashlib.sha256(json.dumps(layers, separators=(",", ":")).encode()).hexdigest()
    return {
        "model": entry.name,
        "inputs": list(entry.inputs) if entry.inputs else None,
        "kwargs": dict(sorted(entry.kwargs.items())),
        "batch": entry.batch,
        "device": entry.device,
        "params": trace.total_params,
        "trainable_params": trace.trainable_params,
        "mult_adds": trace.mult_adds,
        "output_shapes": [list(s) for s in trace.output_shapes],
        "layers_sha256": digest,
        "layers": layers,
    }


def write_lock(entries: Sequence[LockEntry], path: str | Path) -> dict[str, Any]:
    """Trace each configuration and write the lock file atomically.

    Raises:
        ArchdocError: A configuration does not trace (nothing is written).
    """
    from archdoc.files import write_atomic

    models = {}
    for entry in entries:
        try:
            models[entry.label] = lock_record(entry, entry.trace())
        except ArchdocError as exc:
            raise ArchdocError(f"{entry.label}: {exc}") from exc
    document = {"archdoc_lock": VERSION, "models": models}
    write_atomic(path, format_lock(document))
    return document


def format_lock(document: Mapping[str, Any]) -> str:
    """JSON with one line per figure and per layer, so a changed layer is a one-line diff in review."""

    def dump(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    lines = ["{", f' "archdoc_lock": {dump(document["archdoc_lock"])},', ' "models": {']
    models = list(document["models"].items())
    for i, (label, record) in enumerate(models):
        lines.append(f"  {dump(label)}: {{")
        items = list(record.items())
        for j, (key, value) in enumerate(items):
            comma = "," if j < len(items) - 1 else ""
            if key == "layers":
                lines.append('   "layers": [')
                lines += [f"    {dump(row)}{',' if n < len(value) - 1 else ''}" for n, row in enumerate(value)]
                lines.append(f"   ]{comma}")
            else:
                lines.append(f"   {dump(key)}: {dump(value)}{comma}")
        lines.append("  }" + ("," if i < len(models) - 1 else ""))
    lines += [" }", "}"]
    return "\n".join(lines) + "\n"


def read_lock(path: str | Path) -> dict[str, Any]:
    """Read and check a lock file.

    Raises:
        ArchdocError: The file is missing, is not JSON, or is not an archdoc lock.
    """
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArchdocError(f"{path}: no such lock file; create it with `archdoc lock -o {path}`") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArchdocError(f"{path}: not a readable JSON lock file ({exc})") from None
    if not isinstance(document, dict) or document.get("archdoc_lock") != VERSION or not isinstance(document.get("models"), dict):
        raise ArchdocError(f"{path}: not an archdoc lock file (version {VERSION})")
    return document


def configured_entries(config: str | Path = "mkdocs.yml") -> list[LockEntry]:
    """The models configured for the ``archdoc`` plugin in an MkDocs configuration file.

    Raises:
        ArchdocError: The file is missing, unreadable, or configures no model.
    """
    import yaml

    from archdoc.site import parse_models

    class _Loader(yaml.SafeLoader):
        """Reads MkDocs' Python tags (``!!python/name:...``, ``!ENV``) as plain values."""

    _Loader.add_multi_constructor("", lambda loader, suffix, node: None)
    try:
        data = yaml.load(Path(config).read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 (a safe loader)
    except FileNotFoundError:
        raise ArchdocError(f"{config}: no such file; name models, or give --config") from None
    except (OSError, yaml.YAMLError) as exc:
        raise ArchdocError(f"{config}: cannot read it: {' '.join(str(exc).split())}") from None
    plugins = (data or {}).get("plugins") or []
    if isinstance(plugins, dict):
        plugins = [{key: value} for key, value in plugins.items()]
    for item in plugins:
        if isinstance(item, dict) and "archdoc" in item:
            models = parse_models((item["archdoc"] or {}).get("models") or [])
            if models:
                return [LockEntry(m.name, m.inputs, dict(m.kwargs), m.batch, m.device) for m in models]
    raise ArchdocError(f"{config}: the archdoc plugin configures no model; name models to lock")


def _entry(record: Mapping[str, Any]) -> LockEntry:
    return LockEntry(
        name=record["model"],
        inputs=tuple(record["inputs"]) if record.get("inputs") else None,
        kwargs=dict(record.get("kwargs") or {}),
        batch=int(record.get("batch", 1)),
        device=str(record.get("device", "meta")),
    )


def _n(value: int) -> str:
    return f"{value:,}"


def _shapes(shapes: Iterable[Sequence[int]]) -> str:
    return "; ".join(format_shape(s, "×") for s in shapes)


def compare(label: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Readable differences between two lock records of one configuration (empty when equal)."""
    before = {row[0]: row for row in old.get("layers", [])}
    after = {row[0]: row for row in new.get("layers", [])}
    param_changes = [
        f"{name}: {_n(before[name][3])} → {_n(after[name][3])}"
        for name in after
        if name in before and before[name][3] != after[name][3]
    ]
    added = [name for name in after if name not in before]
    removed = [name for name in before if name not in after]
    culprits = param_changes + [f"+{n}" for n in added if after[n][3]] + [f"−{n}" for n in removed if before[n][3]]

    def where(items: list[str]) -> str:
        if not items:
            return ""
        more = f", and {len(items) - 3} more" if len(items) > 3 else ""
        return f" ({', '.join(items[:3])}{more})"

    lines = []
    if old.get("params") != new.get("params"):
        lines.append(f"{label}: params {_n(old['params'])} → {_n(new['params'])}{where(culprits)}")
    frozen_before = old.get("params", 0) - old.get("trainable_params", 0)
    frozen_after = new.get("params", 0) - new.get("trainable_params", 0)
    if frozen_before != frozen_after:
        lines.append(f"{label}: trainable params {_n(old['trainable_params'])} → {_n(new['trainable_params'])}")
    if old.get("mult_adds") != new.get("mult_adds"):
        lines.append(f"{label}: mult-adds {_n(old['mult_adds'])} → {_n(new['mult_adds'])}")
    if old.get("output_shapes") != new.get("output_shapes"):
        lines.append(f"{label}: output {_shapes(old['output_shapes'])} → {_shapes(new['output_shapes'])}")
    if old.get("layers_sha256") != new.get("layers_sha256") and not lines:
        reshaped = [
            f"{name} {format_shape(before[name][2], '×')} → {format_shape(after[name][2], '×')}"
            for name in after
            if name in before and before[name][2] != after[name][2]
        ]
        retyped = [f"{name} {before[name][1]} → {after[name][1]}" for name in after if name in before and before[name][1] != after[name][1]]
        moved = [f"+{n}" for n in added] + [f"−{n}" for n in removed]
        lines.append(f"{label}: layer table changed{where(reshaped + retyped + moved)}")
    return lines


def check_lock(path: str | Path, only: Iterable[str] = ()) -> list[str]:
    """Trace every configuration of a lock file again; the differences, one line each.

    Args:
        path: The lock file.
        only: Labels or model names to check; all when empty.

    Returns:
        Lines such as ``resnet18: params 11,689,512 → 11,689,000 (layer4.1.conv2: ...)``,
        or an empty list when the code matches the lock.
    """
    document = read_lock(path)
    wanted = set(only)
    lines = []
    for label, record in document["models"].items():
        if wanted and label not in wanted and record.get("model") not in wanted:
            continue
        entry = _entry(record)
        try:
            current = lock_record(entry, entry.trace())
        except ArchdocError as exc:
            lines.append(f"{label}: no longer traces: {exc}")
            continue
        lines += compare(label, record, current)
    return lines

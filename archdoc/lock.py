"""Regression checks on architecture: record figures in a lock file, compare the code against it.

A lock file (``archdoc.lock.json``) holds, for each model configuration, how to
trace it and what the trace gave: parameters, trainable parameters, mult-adds,
output shapes, and every leaf layer (name, type, output shape, parameters) with a
digest of that table. [`check_lock()`][archdoc.lock.check_lock] traces each configuration again and
describes what changed, naming the layers responsible::

    resnet18: params 11,689,512 → 11,689,000 (layer4.1.conv2: 2,359,296 → 2,358,784)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from archdoc.ahead import TracesAhead, available_workers
from archdoc.calls import encode_value
from archdoc.errors import DEFAULT_TIMEOUT, ArchdocError, UntrustedCodeError
from archdoc.format import shape_text
from archdoc.request import ModelRequest, parse_site_entries

__all__ = ["lock_record", "write_lock", "read_lock", "check_lock", "compare", "configured_entries", "select"]

VERSION = 1


def _layers(trace: Any) -> list[list[Any]]:
    return [
        [layer.name or "(model)", layer.type, list(layer.output_shape), layer.params]
        for layer in trace.layers
        if layer.is_leaf and layer.repeat_of is None
    ]


def lock_record(entry: ModelRequest, trace: Any) -> dict[str, Any]:
    """What the lock file keeps for one configuration."""
    layers = _layers(trace)
    digest = _digest(layers)
    return {
        "model": entry.model,
        "inputs": list(entry.input_texts) if entry.input_texts else None,
        "kwargs": {key: encode_value(value) for key, value in sorted(entry.kwargs.items())},
        "batch": entry.batch,
        "device": entry.device,
        "params": trace.total_params,
        "trainable_params": trace.trainable_params,
        "mult_adds": trace.mult_adds,
        "output_shapes": [list(s) for s in trace.output_shapes],
        "layers_sha256": digest,
        "layers": layers,
    }


def write_lock(entries: Sequence[ModelRequest], path: str | Path, timeout: float | None = DEFAULT_TIMEOUT) -> dict[str, Any]:
    """Trace each configuration and write the lock file atomically.

    Raises:
        ArchdocError: A configuration does not trace (nothing is written).
    """
    from archdoc.files import write_atomic

    models = {}
    with TracesAhead(list(entries), timeout, available_workers(), input_range=False) as ahead:
        for entry in entries:
            try:
                models[entry.label] = lock_record(entry, ahead.trace(entry))
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
    from archdoc.files import read_text

    if not Path(path).exists():
        raise ArchdocError(f"{path}: no such lock file; create it with `archdoc lock -o {path}`")
    text, _ = read_text(path)
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ArchdocError(f"{path}: not a readable JSON lock file ({' '.join(str(exc).split())[:200]})") from None
    version = document.get("archdoc_lock") if isinstance(document, dict) else None
    if type(version) is not int or version != VERSION or not isinstance(document.get("models"), dict):
        raise ArchdocError(f"{path}: not an archdoc lock file (version {VERSION})")
    if not document["models"]:
        raise ArchdocError(f"{path}: the lock file records no model, so it checks nothing; run `archdoc lock`")
    for label, record in document["models"].items():
        problem = _record_problem(record)
        if problem:
            raise ArchdocError(f"{path}: {label}: {problem}; run `archdoc lock` again")
    return document


_FIELDS: dict[str, Any] = {
    "model": str,
    "batch": int,
    "device": str,
    "params": int,
    "trainable_params": int,
    "mult_adds": int,
    "output_shapes": list,
    "layers_sha256": str,
    "layers": list,
}


def _record_problem(record: Any) -> str:
    """What is wrong with one model's record of a lock file, or ``""``."""
    if not isinstance(record, dict):
        return "not a record"
    for key, kind in _FIELDS.items():
        if key not in record:
            return f"missing {key!r}"
        if not isinstance(record[key], kind) or (kind is int and isinstance(record[key], bool)):
            return f"{key!r} is not {'text' if kind is str else 'a list' if kind is list else 'an integer'}"
    inputs = record.get("inputs")
    if inputs is not None and not (isinstance(inputs, list) and all(isinstance(x, str) for x in inputs)):
        return "'inputs' is not a list of sizes such as \"1x116x116\""
    if not isinstance(record.get("kwargs", {}), dict):
        return "'kwargs' is not a mapping"
    if not all(isinstance(s, list) and all(type(d) is int for d in s) for s in record["output_shapes"]):
        return "'output_shapes' is not a list of shapes"
    for row in record["layers"]:
        if not (isinstance(row, list) and len(row) == 4 and isinstance(row[0], str) and isinstance(row[1], str)
                and isinstance(row[2], list) and type(row[3]) is int):
            return f"layer {row!r} is not [name, type, shape, params]"
    if _digest(record["layers"]) != record["layers_sha256"]:
        return "its layers do not match their layers_sha256 (edited by hand?)"
    return ""


def _digest(layers: Any) -> str:
    return hashlib.sha256(json.dumps(layers, separators=(",", ":")).encode()).hexdigest()


def configured_entries(config: str | Path = "mkdocs.yml", trusted: Sequence[str] = ()) -> list[ModelRequest]:
    """The models configured for the ``archdoc`` plugin in an MkDocs configuration file.

    Raises:
        ArchdocError: The file is missing, unreadable, or configures no model.
    """
    import yaml

    from archdoc.files import read_text

    class _Loader(yaml.SafeLoader):
        """Reads MkDocs' Python tags (``!!python/name:...``, ``!ENV``) as plain values."""

    _Loader.add_multi_constructor("", lambda loader, suffix, node: None)
    data: dict[str, Any] = {}
    path: Path | None = Path(config)
    seen = set()
    while path is not None and "plugins" not in data:  # MkDocs' INHERIT: the parent gives what the child lacks
        if path.resolve() in seen:
            raise ArchdocError(f"{config}: INHERIT loops back to {path}")
        seen.add(path.resolve())
        try:
            if not path.exists():
                raise ArchdocError(f"{path}: no such file; name models, or give --config")
            loaded = yaml.load(read_text(path)[0], Loader=_Loader) or {}  # noqa: S506 (a safe loader)
        except yaml.YAMLError as exc:
            raise ArchdocError(f"{path}: cannot read it: {' '.join(str(exc).split())}") from None
        if not isinstance(loaded, dict):
            raise ArchdocError(f"{path}: not an MkDocs configuration")
        data = {**loaded, **data}
        parent = loaded.get("INHERIT")
        path = (path.parent / parent) if isinstance(parent, str) else None
    plugins = data.get("plugins") or []
    if isinstance(plugins, dict):
        plugins = [{key: value} for key, value in plugins.items()]
    for item in plugins:
        if isinstance(item, dict) and "archdoc" in item:
            listed = (item["archdoc"] or {}).get("models") or []
            if not isinstance(listed, list):
                raise ArchdocError(f"{config}: the archdoc plugin's 'models' must be a list")
            trust = [*trusted, *((item["archdoc"] or {}).get("trust") or [])]
            models = parse_site_entries(listed, [str(t) for t in trust])
            if models:
                return [m.request for m in models]
    raise ArchdocError(f"{config}: the archdoc plugin configures no model; name models to lock")


def _n(value: int) -> str:
    return f"{value:,}"


def _shapes(shapes: Iterable[Sequence[int]]) -> str:
    return "; ".join(shape_text(s, "×") for s in shapes)


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
    # Trainable parameters are news only when they moved differently from all parameters.
    trainable_delta = new["trainable_params"] - old["trainable_params"]
    if trainable_delta and trainable_delta != new["params"] - old["params"]:
        lines.append(f"{label}: trainable params {_n(old['trainable_params'])} → {_n(new['trainable_params'])}")
    if old.get("mult_adds") != new.get("mult_adds"):
        lines.append(f"{label}: mult-adds {_n(old['mult_adds'])} → {_n(new['mult_adds'])}")
    if old.get("output_shapes") != new.get("output_shapes"):
        lines.append(f"{label}: output {_shapes(old['output_shapes'])} → {_shapes(new['output_shapes'])}")
    if old.get("layers_sha256") != new.get("layers_sha256") and not lines:
        reshaped = [
            f"{name} {shape_text(before[name][2], '×')} → {shape_text(after[name][2], '×')}"
            for name in after
            if name in before and before[name][2] != after[name][2]
        ]
        retyped = [f"{name} {before[name][1]} → {after[name][1]}" for name in after if name in before and before[name][1] != after[name][1]]
        moved = [f"+{n}" for n in added] + [f"−{n}" for n in removed]
        lines.append(f"{label}: layer table changed{where(reshaped + retyped + moved)}")
    return lines


def check_lock(
    path: str | Path, only: Iterable[str] | str = (), trusted: Sequence[str] = (), timeout: float | None = DEFAULT_TIMEOUT
) -> list[str]:
    """Trace every configuration of a lock file again; the differences, one line each.

    Args:
        path: The lock file.
        only: Labels or model names to check (one name or several); all when empty.
        trusted: Packages the lock's import paths may name besides the project's own code.

    Returns:
        Lines such as ``resnet18: params 11,689,512 → 11,689,000 (layer4.1.conv2: ...)``,
        or an empty list when the code matches the lock.

    Raises:
        ArchdocError: The lock file is unreadable, a name in ``only`` matches no entry, or an
            entry names code the lock file may not run (see ``trusted``).
    """
    document = read_lock(path)
    selected = select(document, only, path)
    entries: dict[str, ModelRequest | ArchdocError] = {}
    for label in selected:
        try:
            entries[label] = ModelRequest.from_record(document["models"][label], trusted)
        except UntrustedCodeError as exc:  # the check could not run: not a difference to fix by locking again
            raise ArchdocError(f"{label}: {exc}") from exc
        except ArchdocError as exc:
            entries[label] = exc
    requests = [e for e in entries.values() if isinstance(e, ModelRequest)]
    lines = []
    with TracesAhead(requests, timeout, available_workers(), input_range=False) as ahead:
        for label, entry in entries.items():
            if isinstance(entry, ArchdocError):
                lines.append(f"{label}: no longer traces: {entry}")
                continue
            try:
                current = lock_record(entry, ahead.trace(entry))
            except UntrustedCodeError as exc:
                raise ArchdocError(f"{label}: {exc}") from exc
            except ArchdocError as exc:
                lines.append(f"{label}: no longer traces: {exc}")
                continue
            lines += compare(label, document["models"][label], current)
    return lines


def select(document: Mapping[str, Any], only: Iterable[str] | str, path: str | Path = "the lock file") -> list[str]:
    """The labels of ``document`` that ``only`` names (by label or model name); all when empty.

    Raises:
        ArchdocError: A name matches no entry (a typo must not make a check pass).
    """
    wanted = [only] if isinstance(only, str) else list(only)
    models = document["models"]
    if not wanted:
        return list(models)
    unmatched = [w for w in wanted if w not in models and not any(r["model"] == w for r in models.values())]
    if unmatched:
        raise ArchdocError(f"{path} has no entry for {', '.join(map(repr, unmatched))}; its models: {', '.join(models)}")
    return [label for label, record in models.items() if label in wanted or record["model"] in wanted]

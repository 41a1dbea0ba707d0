"""A model at an input: what to trace, read once from wherever it is written.

The same request comes from four places, and each reads it here:

- the command line (``archdoc render resnet18 --input 1x116x116 --classes 2``),
  through `ModelRequest.from_options()`;
- an embed marker's arguments, through `archdoc.marker.parse_marker()`;
- a ``models:`` entry of the MkDocs plugin, through `parse_site_entries()`;
- a lock file record, through `ModelRequest.from_record()`.

Options become builder arguments in one place (``--classes`` is the builder's
``num_classes``), so every source accepts and rejects the same things.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from archdoc.calls import decode_value, looks_like_import_call, parse_import_call
from archdoc.errors import DEFAULT_TIMEOUT, ArchdocError
from archdoc.loading import Trust
from archdoc.shapes import InputSpec, as_input_specs, parse_input

__all__ = [
    "FORMATS",
    "ModelRequest",
    "OptionError",
    "RenderOptions",
    "SiteEntry",
    "parse_setting",
    "setting_value",
    "parse_site_entries",
    "slugify",
]

FORMATS = ("markdown", "table", "shapes", "json", "mermaid")
# Formats that show the range of input sizes; the others skip its extra passes.
_SHOWS_INPUT_RANGE = frozenset({"markdown", "json"})


class OptionError(ArchdocError, ValueError):
    """An option's value is malformed or contradicts another option (a usage error on the command line)."""


def parse_setting(text: str) -> tuple[str, Any]:
    """``key=value`` with a Python identifier as key.

    The value is read as a Python literal; else as an import path, called or not
    (``transformers:BertConfig(num_hidden_layers=6)``, see `archdoc.calls`); else kept as text.

    Raises:
        OptionError: There is no ``=``, the key is not an identifier, or an import call's
            arguments are not literals.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key.isidentifier():
        raise OptionError(f"expected key=value with a Python identifier as key, got {text!r}")
    return key, setting_value(raw.strip(), key)


def setting_value(raw: Any, key: str = "") -> Any:
    """A builder argument's value as written: text becomes a literal, an import call, or stays text.

    Raises:
        OptionError: An import call cannot be read.
    """
    if not isinstance(raw, str):
        return raw
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    if looks_like_import_call(raw):
        try:
            return parse_import_call(raw)
        except ArchdocError as exc:
            raise OptionError(f"{key}: {exc}" if key else str(exc)) from None
    return raw


@dataclass(frozen=True)
class ModelRequest:
    """What to trace: a model, its inputs, its builder arguments, the batch and the device.

    Attributes:
        model: A zoo name or ``package.module:attribute``.
        inputs: Input sizes without batch; ``None`` for the model's default.
        kwargs: Builder arguments (``num_classes`` for ``--classes``).
        batch: Batch size.
        device: ``"meta"`` or a real device such as ``"cpu"``.
        trust: Where the request was written, which decides what code an import path may name.
    """

    model: str
    inputs: tuple[InputSpec, ...] | None = None
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    batch: int = 1
    device: str = "meta"
    trust: Trust = field(default_factory=Trust, compare=False)

    @classmethod
    def from_options(
        cls,
        model: str,
        inputs: Iterable[InputSpec | str] = (),
        classes: int | None = None,
        settings: Iterable[tuple[str, Any]] = (),
        batch: int = 1,
        device: str = "meta",
        trust: Trust | None = None,
    ) -> ModelRequest:
        """The request that ``archdoc render`` options describe.

        Raises:
            OptionError: The number of classes is given twice or is not a positive integer.
            InputSpecError: An input size cannot be read.
        """
        kwargs = dict(settings)
        if classes is not None:
            if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
                raise OptionError(f"classes must be an integer ≥ 1, got {classes!r}")
            if "num_classes" in kwargs:
                raise OptionError("give the number of classes once: --classes or --set num_classes=...")
            kwargs["num_classes"] = classes
        specs = tuple(spec if isinstance(spec, InputSpec) else parse_input(spec) for spec in inputs)
        specs = as_input_specs(list(specs)) if specs else ()
        return cls(model, specs or None, kwargs, batch, device, trust or Trust("the command line"))

    @classmethod
    def from_record(cls, record: Mapping[str, Any], trusted: Sequence[str] = ()) -> ModelRequest:
        """The request a lock file record was traced from (its import path trusted as a lock file's)."""
        inputs = record.get("inputs")
        return cls(
            model=record["model"],
            inputs=tuple(parse_input(text) for text in inputs) if inputs else None,
            kwargs={key: decode_value(value) for key, value in (record.get("kwargs") or {}).items()},
            batch=int(record.get("batch", 1)),
            device=str(record.get("device", "meta")),
            trust=Trust("a lock file", tuple(trusted)),
        )

    @property
    def input_texts(self) -> tuple[str, ...] | None:
        """The inputs as written on the command line (``"1x116x116"``), or ``None``."""
        return tuple(str(spec) for spec in self.inputs) if self.inputs else None

    @property
    def label(self) -> str:
        """``resnet18`` or ``resnet18 1x116x116 num_classes=2``: the key in a lock file."""
        parts = [self.model, *(self.input_texts or ())]
        parts += [f"{k}={v!r}" for k, v in sorted(self.kwargs.items())]
        if self.batch != 1:
            parts.append(f"batch={self.batch}")
        if self.device != "meta":
            parts.append(f"device={self.device}")
        return " ".join(parts)

    def trace(self, input_range: bool = True, timeout: float | None = DEFAULT_TIMEOUT) -> Any:
        """Trace the model (see [`archdoc.trace()`][archdoc.tracing.trace])."""
        from archdoc.tracing import trace

        return trace(
            self.model,
            list(self.inputs) if self.inputs else None,
            batch=self.batch,
            device=self.device,
            input_range=input_range,
            timeout=timeout,
            trust=self.trust,
            **dict(self.kwargs),
        )


@dataclass(frozen=True)
class RenderOptions:
    """How to show a trace: the format and the depths of diagrams and tables."""

    fmt: str = "markdown"
    depth: int = 0
    table_depth: int = 2

    @property
    def needs_input_range(self) -> bool:
        """Whether the format shows the input sizes the model runs on."""
        return self.fmt in _SHOWS_INPUT_RANGE


# --------------------------------------------------------------------------- mkdocs.yml entries

_KEYS = ("name", "input", "classes", "set", "batch", "device", "title", "slug", "depth", "table_depth")


@dataclass(frozen=True)
class SiteEntry:
    """One ``models:`` entry of the MkDocs plugin's configuration, checked.

    Attributes:
        index: Position in the list, for messages.
        request: What to trace.
        title: Page and navigation title; ``None`` for the model's display name.
        slug: File name of the page, without ``.md``.
        depth: Levels of blocks expanded in the whole-network diagram.
        table_depth: Depth of the summary table.
    """

    index: int
    request: ModelRequest
    title: str | None = None
    slug: str = ""
    depth: int = 0
    table_depth: int = 2

    @property
    def name(self) -> str:
        """The zoo name or import path."""
        return self.request.model

    @property
    def label(self) -> str:
        """How messages name the entry: ``models[2] (resnet18)``."""
        return f"models[{self.index}] ({self.name})"


def slugify(text: str) -> str:
    """A lower-case file name: ``pkg.mod:Net`` → ``pkg-mod-net``; ``vgg11_bn`` and ``1x116x116`` stay."""
    return re.sub(r"[^a-z0-9_]+", "-", text.lower()).strip("-")


def _int(value: Any, what: str, label: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ArchdocError(f"{label}: {what} must be an integer ≥ {minimum}, got {value!r}")
    return value


def _site_entry(index: int, item: Any, trusted: Sequence[str]) -> SiteEntry:
    if isinstance(item, str):
        item = {"name": item}
    if not isinstance(item, Mapping):
        raise ArchdocError(f"models[{index}]: expected a model name or a mapping with 'name', got {item!r}")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ArchdocError(f"models[{index}]: 'name' is required (a zoo name or package.module:attribute)")
    label = f"models[{index}] ({name})"
    unknown = sorted(set(map(str, item)) - set(_KEYS))
    if unknown:
        raise ArchdocError(f"{label}: unknown key {unknown[0]!r} (expected one of: {', '.join(_KEYS)})")
    raw = item.get("input")
    inputs: list[InputSpec] = []
    if raw is not None:
        if isinstance(raw, (list, tuple)) and raw and all(type(x) is int for x in raw):
            raise ArchdocError(
                f"{label}: write the input size as text, input: {'x'.join(map(str, raw))} "
                "(a list is for several inputs, each like '3x224x224')"
            )
        if isinstance(raw, Mapping):  # inputs passed by name: {input_ids: 128:int64}
            texts = [f"{key}={value}" for key, value in raw.items()]
        else:
            texts = [str(text) for text in (raw if isinstance(raw, (list, tuple)) else [raw])]
        for text in texts:
            try:
                inputs.append(parse_input(text))
            except ArchdocError as exc:
                raise ArchdocError(f"{label}: bad input {text!r}: {exc}") from None
        try:
            as_input_specs(inputs)
        except ArchdocError as exc:
            raise ArchdocError(f"{label}: {exc}") from None
    settings = item.get("set") or {}
    if not isinstance(settings, Mapping) or not all(isinstance(k, str) and k.isidentifier() for k in settings):
        raise ArchdocError(f"{label}: 'set' must map builder argument names to values, e.g. {{aux_logits: true}}")
    if "classes" in item:
        _int(item["classes"], "classes", label, 1)
    device = item.get("device", "meta")
    if not isinstance(device, str):
        raise ArchdocError(f"{label}: 'device' must be text such as 'meta' or 'cpu'")
    try:
        # YAML has typed its values already; only text of an import call's form is read further.
        values = [
            (key, setting_value(value, key) if isinstance(value, str) and looks_like_import_call(value) else value)
            for key, value in settings.items()
        ]
        request = ModelRequest.from_options(
            name.strip(), inputs, item.get("classes"), values, _int(item.get("batch", 1), "batch", label, 1), device,
            Trust("mkdocs.yml", tuple(trusted)),
        )
    except OptionError as exc:
        message = str(exc).replace("--classes or --set num_classes=...", "as 'classes' or in 'set'")
        raise ArchdocError(f"{label}: {message}") from None
    title = item.get("title")
    if title is not None and not isinstance(title, str):
        raise ArchdocError(f"{label}: 'title' must be text")
    slug = item.get("slug")
    if slug is None:
        parts = [request.model, *(request.input_texts or ())]
        parts += [f"{v}-classes" if k == "num_classes" else f"{k}-{v}" for k, v in sorted(request.kwargs.items())]
        if request.batch != 1:
            parts.append(f"batch-{request.batch}")
        slug = slugify("-".join(str(p) for p in parts))
        if not slug or slug[0] in "-_":
            raise ArchdocError(f"{label}: no file name can be made from it; give a 'slug'")
    elif not isinstance(slug, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", slug):
        raise ArchdocError(f"{label}: 'slug' must be a file name of letters, digits, '.', '_' and '-'")
    return SiteEntry(
        index=index,
        request=request,
        title=title,
        slug=slug,
        depth=_int(item.get("depth", 0), "depth", label, 0),
        table_depth=_int(item.get("table_depth", 2), "table_depth", label, 0),
    )


def parse_site_entries(items: Sequence[Any], trusted: Sequence[str] = ()) -> list[SiteEntry]:
    """Check the plugin's ``models:`` list and give each entry a unique page.

    Raises:
        ArchdocError: An entry is malformed, naming it (``models[2] (resnet18): ...``),
            or two entries would write the same page.
    """
    entries = [_site_entry(i, item, trusted) for i, item in enumerate(items)]
    seen: dict[str, SiteEntry] = {}
    for entry in entries:
        other = seen.get(entry.slug.lower())
        if other is not None:
            raise ArchdocError(
                f"{entry.label}: its page {entry.slug}.md is already made by {other.label}; "
                "give one of them a different configuration or a 'slug'"
            )
        seen[entry.slug.lower()] = entry
    return entries

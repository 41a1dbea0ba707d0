"""Input specifications: parsing ``1x116x116``, ``128:int64`` and ``input_ids=128:int64`` without importing torch."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from archdoc.errors import InputSpecError

__all__ = ["InputSpec", "parse_input", "as_input_specs"]

DTYPES = (
    "float32",
    "float64",
    "float16",
    "bfloat16",
    "int64",
    "int32",
    "int16",
    "int8",
    "uint8",
    "bool",
)
DTYPE_BYTES = {
    "float32": 4,
    "float64": 8,
    "float16": 2,
    "bfloat16": 2,
    "int64": 8,
    "int32": 4,
    "int16": 2,
    "int8": 1,
    "uint8": 1,
    "bool": 1,
}
_ALIASES = {"float": "float32", "double": "float64", "half": "float16", "long": "int64", "int": "int32"}
_DIM = re.compile(r"^[+-]?\d+$")


@dataclass(frozen=True)
class InputSpec:
    """One model input: its shape without the batch dimension, its dtype and, for a keyword input, its name.

    Attributes:
        shape: Sizes without batch, e.g. ``(3, 224, 224)``.
        dtype: A torch dtype name such as ``"float32"`` or ``"int64"``.
        name: The ``forward`` parameter it is passed as (``decoder_input_ids``); ``""``
            for an input passed by position.
    """

    shape: tuple[int, ...]
    dtype: str = "float32"
    name: str = ""

    def __str__(self) -> str:
        text = "x".join(str(d) for d in self.shape)
        text = text if self.dtype == "float32" else f"{text}:{self.dtype}"
        return f"{self.name}={text}" if self.name else text

    @property
    def itemsize(self) -> int:
        """Bytes per element."""
        return DTYPE_BYTES[self.dtype]

    @property
    def is_float(self) -> bool:
        """Whether the input is a floating-point tensor (images, features)."""
        return self.dtype.startswith(("float", "bfloat"))


def parse_input(text: str) -> InputSpec:
    """Parse ``CxHxW`` (any number of dims) with an optional ``:dtype`` and an optional ``name=`` first.

    Examples:
        >>> parse_input("1x116x116")
        InputSpec(shape=(1, 116, 116), dtype='float32', name='')
        >>> parse_input("input_ids=128:int64")
        InputSpec(shape=(128,), dtype='int64', name='input_ids')

    Raises:
        InputSpecError: If a dimension is not a positive integer, the dtype is unknown or
            the name is not a Python identifier.
    """
    raw = text.strip()
    name = ""
    if "=" in raw:
        name, _, raw = raw.partition("=")
        name, raw = name.strip(), raw.strip()
        if not name.isidentifier():
            raise InputSpecError(text, f"{name!r} is not a parameter name; write name=SIZES, e.g. input_ids=128:int64")
    body, _, dtype = raw.partition(":")
    dtype = _ALIASES.get(dtype.strip().lower(), dtype.strip().lower()) or "float32"
    if dtype not in DTYPES:
        raise InputSpecError(text, f"unknown dtype {dtype!r}; use one of {', '.join(DTYPES)}")
    parts = [p.strip() for p in re.split(r"[x×,*]", body.strip().lower())] if body.strip() else []
    if not parts:
        raise InputSpecError(text, "expected sizes like 3x224x224")
    dims = []
    for part in parts:
        if not _DIM.match(part):
            raise InputSpecError(text, f"{part!r} is not a whole number; expected sizes like 3x224x224")
        value = int(part)
        if value <= 0:
            raise InputSpecError(text, f"every size must be at least 1, got {value}")
        dims.append(value)
    return InputSpec(tuple(dims), dtype, name)


def as_input_specs(value: object) -> tuple[InputSpec, ...]:
    """Normalise what users pass as an input size into a tuple of [`InputSpec`][archdoc.shapes.InputSpec].

    Accepts a string (``"3x224x224"``, ``"input_ids=128:int64"``), a tuple of ints (one
    input), an [`InputSpec`][archdoc.shapes.InputSpec], a list of any of these (several
    inputs), or a mapping of ``forward`` parameter names to any of these
    (``{"input_ids": "128:int64", "decoder_input_ids": "32:int64"}``), passed by keyword.
    Inputs passed by position come before those passed by name, and no name repeats.

    Raises:
        InputSpecError: If the value cannot be read as input sizes.
    """
    specs = _specs(value)
    named = [spec.name for spec in specs if spec.name]
    if any(not spec.name for spec in specs[len(specs) - len(named):]) or len(set(named)) != len(named):
        order = " ".join(str(spec) for spec in specs)
        raise InputSpecError(
            order, "inputs passed by position come first and each name once (e.g. 3x224x224 mask=1x224x224)"
        )
    return specs


def _specs(value: object) -> tuple[InputSpec, ...]:
    if isinstance(value, Mapping):
        if not value:
            raise InputSpecError("{}", "no inputs given")
        out = []
        for key, item in value.items():
            if not isinstance(key, str) or not key.isidentifier():
                raise InputSpecError(repr(key), "a mapping's keys name forward's parameters, e.g. input_ids")
            found = _specs(item) if not isinstance(item, Mapping) else ()
            if len(found) != 1 or found[0].name not in ("", key):
                raise InputSpecError(repr(item), f"expected one size for {key}, like '128:int64'")
            out.append(replace(found[0], name=key))
        return tuple(out)
    if isinstance(value, InputSpec):
        return (value,)
    if isinstance(value, str):
        return (parse_input(value),)
    if isinstance(value, Sequence) and value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        dims = tuple(int(v) for v in value)
        if any(d <= 0 for d in dims):
            raise InputSpecError(str(value), "every size must be at least 1")
        return (InputSpec(dims),)
    if isinstance(value, Iterable) and not isinstance(value, (bytes, dict)):
        items = list(value)
        if items:
            return tuple(spec for item in items for spec in _specs(item))
    raise InputSpecError(repr(value), "expected sizes like (3, 224, 224) or '3x224x224'")

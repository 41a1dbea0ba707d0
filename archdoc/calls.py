"""Builder arguments made by calling an import path: ``transformers:BertConfig(num_hidden_layers=6)``.

Some builders take an object rather than a number, most often a configuration
(``BertModel(config)``). Such an argument is written as an import path, optionally
called with Python literals, in every place a builder argument is written:

- ``--set 'config=transformers:BertConfig(num_hidden_layers=6)'`` on the command line
  and in embed markers;
- ``set: {config: "transformers:BertConfig(num_hidden_layers=6)"}`` in ``mkdocs.yml``;
- an [`ImportCall`][archdoc.calls.ImportCall] from Python.

The text is parsed, never evaluated: an import path (``package.module:Name``, the
name possibly dotted) and, in parentheses, positional and keyword arguments that
must each be a Python literal (numbers, strings, booleans, ``None``, and lists,
tuples, dicts and sets of them). The import is made when the model is built, under
the same rules as the model's own import path (see `archdoc.loading.Trust`).
This module imports neither torch nor the named code.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from archdoc.errors import ArchdocError

__all__ = ["ImportCall", "import_call", "parse_import_call", "looks_like_import_call", "encode_value", "decode_value"]

_PATH = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*"
_CALL = re.compile(rf"\s*({_PATH}):({_PATH})\s*(\((.*)\))?\s*", re.DOTALL)
_LOCK_KEY = "import_call"  # how a lock file marks such an argument: {"import_call": "pkg:Name(...)"}


@dataclass(frozen=True)
class ImportCall:
    """An object to build from an import path: ``pkg.module:Name`` itself, or called with literal arguments.

    Attributes:
        path: ``package.module:Name``.
        args: Positional arguments (Python literals).
        kwargs: Keyword arguments, in the order written.
        called: Whether the object is called (``Name(...)``) or passed as it is (``Name``).
    """

    path: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()
    called: bool = True

    def __repr__(self) -> str:
        if not self.called:
            return self.path
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs]
        return f"{self.path}({', '.join(parts)})"

    __str__ = __repr__

    def make(self, trust: Any = None, what: str = "") -> Any:
        """Import the path (if ``trust`` allows it) and call it with the arguments.

        Raises:
            UntrustedCodeError: The source of the text may not name that code.
            ModelImportError: The path cannot be imported.
            ArchdocError: The call raised (named with ``what``, e.g. ``config``).
        """
        from archdoc.loading import describe_error, import_object

        target = import_object(self.path, trust)
        if not self.called:
            return target
        if not callable(target):
            raise ArchdocError(f"{what or self.path}: {self.path} is {type(target).__name__}, which cannot be called")
        try:
            return target(*self.args, **dict(self.kwargs))
        except ArchdocError:
            raise
        except Exception as exc:  # the named code may raise anything
            raise ArchdocError(f"{what or 'argument'}={self!r} failed: {describe_error(exc)}") from exc


def import_call(text: str) -> ImportCall:
    """A builder argument from Python, written as on the command line.

    ``archdoc.trace("transformers:BertModel", {"input_ids": "128:int64"},
    config=archdoc.import_call("transformers:BertConfig(num_hidden_layers=6)"))``

    Raises:
        ArchdocError: The text is not an import path with literal arguments.
    """
    return parse_import_call(text)


def looks_like_import_call(text: str) -> bool:
    """Whether ``text`` has the form of an import path, called or not (``pkg.mod:Name(...)``)."""
    return _CALL.fullmatch(text) is not None


def parse_import_call(text: str) -> ImportCall:
    """Read ``pkg.module:Name`` or ``pkg.module:Name(literal, key=literal, ...)``.

    Raises:
        ArchdocError: The text is not of that form, or an argument is not a Python literal.
    """
    match = _CALL.fullmatch(text)
    if match is None:
        raise ArchdocError(f"expected package.module:Name or package.module:Name(key=literal, ...), got {text!r}")
    module, name, parens, inner = match.groups()
    path = f"{module}:{name}"
    if parens is None:
        return ImportCall(path, called=False)
    try:
        call = ast.parse(f"f({inner})", mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        raise ArchdocError(f"cannot read the arguments of {path}: {exc.msg if isinstance(exc, SyntaxError) else exc}") from None
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name) or call.func.id != "f":
        raise ArchdocError(f"cannot read the arguments of {path}: expected (literal, key=literal, ...)")
    args = tuple(_literal(node, path) for node in call.args)
    kwargs = []
    for keyword in call.keywords:
        if keyword.arg is None:
            raise ArchdocError(f"{path}: **mappings are not read; write each keyword argument out")
        kwargs.append((keyword.arg, _literal(keyword.value, path)))
    return ImportCall(path, args, tuple(kwargs))


def _literal(node: ast.AST, path: str) -> Any:
    if isinstance(node, ast.Starred):
        raise ArchdocError(f"{path}: *arguments are not read; write each argument out")
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise ArchdocError(
            f"{path}: {ast.unparse(node)!r} is not a Python literal; arguments may be numbers, strings, "
            "True/False/None, and lists, tuples, dicts or sets of them"
        ) from None


def encode_value(value: Any) -> Any:
    """A builder argument as a lock file keeps it: an import call as ``{"import_call": text}``."""
    return {_LOCK_KEY: repr(value)} if isinstance(value, ImportCall) else value


def decode_value(value: Any) -> Any:
    """The inverse of [`encode_value()`][archdoc.calls.encode_value]."""
    if isinstance(value, Mapping) and set(value) == {_LOCK_KEY} and isinstance(value[_LOCK_KEY], str):
        return parse_import_call(value[_LOCK_KEY])
    return value

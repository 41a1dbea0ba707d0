"""Errors raised by archdoc.

Every error a user can cause derives from [`ArchdocError`][archdoc.errors.ArchdocError]. Each carries
structured data (the offending name, the close matches, the layer and its
arithmetic) so that callers and tests can inspect it instead of parsing the
message. The CLI turns these into one-line messages and an exit code.
"""

from __future__ import annotations

from collections.abc import Sequence


class ArchdocError(Exception):
    """Base class of every error archdoc raises for bad models or input."""


class DuplicateModelError(ArchdocError):
    """A model name was registered twice.

    Attributes:
        name: The name that was already taken.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"model {name!r} is already registered")


class UnknownModelError(ArchdocError, LookupError):
    """No registered model has the requested name.

    Attributes:
        name: The name that was asked for.
        matches: Registered names close to it, best first.
    """

    def __init__(self, name: str, matches: Sequence[str]) -> None:
        self.name = name
        self.matches = tuple(matches)
        hint = f"; did you mean {', '.join(self.matches)}?" if self.matches else ""
        super().__init__(
            f"unknown model {name!r}{hint} (see `archdoc list`; for your own model, give package.module:Class)"
        )


class ModelArgumentError(ArchdocError, TypeError):
    """A builder was given keyword arguments it does not accept.

    Attributes:
        model: The model name.
        bad: The rejected argument names.
        accepted: The argument names the builder accepts.
    """

    def __init__(self, model: str, bad: Sequence[str], accepted: Sequence[str], detail: str = "") -> None:
        self.model = model
        self.bad = tuple(bad)
        self.accepted = tuple(accepted)
        what = ", ".join(self.bad) if self.bad else detail
        super().__init__(
            f"{model} does not accept {what}; it takes: {', '.join(self.accepted) or 'no arguments'}"
        )


class InputSpecError(ArchdocError, ValueError):
    """An input size could not be parsed or is not positive.

    Attributes:
        text: The text that was given.
    """

    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason
        super().__init__(f"bad input size {text!r}: {reason}")


class InputError(ArchdocError, ValueError):
    """The model cannot run on the given input (too small, wrong channels, ...).

    Attributes:
        layer: Qualified name of the layer that rejects the input, if known.
        minimum: The smallest spatial size the model accepts, if known: a square's side, or
            one size per axis where they differ (the frames, height and width of a clip).
    """

    def __init__(
        self, message: str, *, layer: str | None = None, minimum: int | tuple[int, ...] | None = None
    ) -> None:
        self.layer = layer
        self.minimum = minimum
        super().__init__(message)


class TraceError(ArchdocError, RuntimeError):
    """The model failed while it ran on the meta device.

    Attributes:
        layer: Qualified name of the last layer that started running.
        input_shapes: The shapes that layer received.
    """

    def __init__(self, message: str, *, layer: str | None = None, input_shapes: Sequence[object] = ()) -> None:
        self.layer = layer
        self.input_shapes = tuple(input_shapes)
        super().__init__(message)


class ArithmeticMismatchError(ArchdocError, AssertionError):
    """A shape computed from a layer's hyper-parameters differs from the traced one.

    This is a bug in archdoc's arithmetic, never the user's fault.
    """


class BuildError(ArchdocError):
    """A builder raised while constructing the model (bad argument values).

    Attributes:
        model: The model name.
        kwargs: The arguments it was called with.
    """

    def __init__(self, model: str, kwargs: dict[str, object], reason: str) -> None:
        self.model = model
        self.kwargs = dict(kwargs)
        args = ", ".join(f"{k}={v!r}" for k, v in sorted(self.kwargs.items()))
        super().__init__(f"{model}({args}) failed: {reason}")


class OutputError(ArchdocError, OSError):
    """An output file could not be written; nothing was written.

    Attributes:
        path: The path that was asked for.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        super().__init__(f"cannot write {path}: {reason}")


class InputFileError(ArchdocError, OSError):
    """A file archdoc reads (Markdown, a lock file) cannot be used; nothing was changed.

    Attributes:
        path: The path that was given.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        super().__init__(f"cannot read {path}: {reason}")


class UserCodeExit(ArchdocError, RuntimeError):
    """Model code called ``sys.exit()`` (or raised ``SystemExit``) while archdoc ran it.

    A check must never pass because the code it ran asked to stop, so this is an error.

    Attributes:
        code: The exit code it asked for.
        where: What archdoc was doing: importing, building or running the model.
    """

    def __init__(self, code: object, where: str) -> None:
        self.code = code
        self.where = where
        super().__init__(f"the model's code called sys.exit({code!r}) while {where}; archdoc stops here, and no check passes")


# Seconds a model's code may run in one trace before TimeLimitError (the CLI's --timeout default).
DEFAULT_TIMEOUT = 600.0


class TimeLimitError(ArchdocError, TimeoutError):
    """The model did not finish within the time limit.

    Attributes:
        seconds: The limit.
    """

    def __init__(self, seconds: float, what: str) -> None:
        self.seconds = seconds
        super().__init__(f"{what} did not finish within {seconds:g} s; raise the limit with --timeout if it needs longer")


class UntrustedCodeError(ArchdocError, PermissionError):
    """An import path names code archdoc will not call from this source.

    Attributes:
        spec: The import path.
        source: Where it came from: the command line, an embed marker, a lock file, mkdocs.yml.
    """

    def __init__(self, spec: str, source: str, reason: str) -> None:
        self.spec = spec
        self.source = source
        super().__init__(f"{spec}: {reason}")


class ModelImportError(ArchdocError, LookupError):
    """A model given as ``package.module:attribute`` could not be imported.

    Attributes:
        spec: The text that was given, e.g. ``"mymodels:Net"``.
        matches: Attribute names close to a missing one, best first.
    """

    def __init__(self, spec: str, reason: str, matches: Sequence[str] = ()) -> None:
        self.spec = spec
        self.matches = tuple(matches)
        hint = f"; did you mean {', '.join(self.matches)}?" if self.matches else ""
        super().__init__(f"{reason}{hint}")


class NotAModelError(ArchdocError, TypeError):
    """An import path names something that is not a model class or factory.

    Attributes:
        spec: The text that was given.
    """

    def __init__(self, spec: str, reason: str) -> None:
        self.spec = spec
        super().__init__(f"{spec} {reason}")


class EntryPointError(ArchdocError):
    """A third-party zoo registered under the ``archdoc.models`` entry points failed to load.

    Attributes:
        name: The entry point's name.
        value: What it points to, e.g. ``"mypkg.zoo"``.
    """

    def __init__(self, name: str, value: str, reason: str) -> None:
        self.name = name
        self.value = value
        super().__init__(f"the archdoc.models entry point {name!r} ({value}) failed to load: {reason}")

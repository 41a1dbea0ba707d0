"""The ``archdoc`` command line: a thin layer over the library.

Each command calls one library function. Library errors become one-line
messages with exit code 1; bad usage exits 2. Tracebacks only with ``--debug``.
torch is imported inside commands, never at import time, so ``--help`` is quick.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

import click

from archdoc import __version__
from archdoc.errors import DEFAULT_TIMEOUT, ArchdocError, InputSpecError
from archdoc.request import FORMATS, OptionError, parse_setting
from archdoc.shapes import InputSpec, parse_input


class InputType(click.ParamType):
    """``CxHxW`` (any number of dims), optionally ``:dtype``."""

    name = "CxHxW"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> InputSpec:
        if isinstance(value, InputSpec):
            return value
        try:
            return parse_input(str(value))
        except InputSpecError as exc:
            self.fail(f"{exc.reason} (got {value!r})", param, ctx)


class KeyValueType(click.ParamType):
    """``key=value``; the value is read as a Python literal, else kept as text."""

    name = "KEY=VALUE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, Any]:
        if isinstance(value, tuple):
            return value
        try:
            return parse_setting(str(value))
        except OptionError as exc:
            self.fail(str(exc), param, ctx)


def _timeout_option(function: Any) -> Any:
    return click.option(
        "--timeout", type=click.FloatRange(min=0), default=DEFAULT_TIMEOUT, show_default=True,
        help="Seconds a model's code may run before archdoc stops it with an error (0: no limit).",
    )(function)


def _trust_option(function: Any) -> Any:
    return click.option(
        "--trust", "trusted", multiple=True, metavar="PACKAGE",
        help="A package (e.g. timm) that import paths in the files may name besides this project's own code. Repeatable.",
    )(function)


_STANDALONE = False  # set by run(): this process is the `archdoc` command and ends with it


def _import_torch() -> None:
    """Import torch for a command that builds models and, in the `archdoc` process, freeze what the import made.

    The garbage collector would otherwise scan torch's hundreds of thousands of objects
    on every full collection during the trace (about 0.1 s of CPU in a ResNet-18 render).
    Only the command's own process does it: it ends with the command, so nothing frozen
    is ever missed (a host that calls `main` in-process keeps its collector as it was).
    """
    import gc

    import torch  # noqa: F401

    if _STANDALONE:
        gc.freeze()


def _limit(timeout: float) -> float | None:
    return timeout or None


def _complete_models(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    from archdoc.registry import list_models

    return [name for name in list_models() if name.startswith(incomplete)]


class ArchdocGroup(click.Group):
    """Turns library errors into one-line messages unless ``--debug`` is given."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except BrokenPipeError:
            # The reader went away (`archdoc list | head -1`): stop quietly, and never report success.
            if sys.stdout is sys.__stdout__:  # the real stdout, not a test's capture
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(141)
        except OptionError as exc:
            if ctx.meta.get("archdoc.debug"):
                raise
            raise click.UsageError(str(exc), ctx) from None
        except ArchdocError as exc:
            if ctx.meta.get("archdoc.debug"):
                raise
            raise click.ClickException(_one_line(exc)) from None
        except Exception as exc:  # an archdoc bug or a model's own failure
            if ctx.meta.get("archdoc.debug"):
                raise
            raise click.ClickException(
                f"{type(exc).__name__}: {_one_line(exc)} (run `archdoc --debug ...` for the traceback)"
            ) from None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 400 else text[:397] + "..."


@click.group(cls=ArchdocGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="archdoc")
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Architecture documentation for PyTorch models that cannot drift from the code.

    \b
    Examples:
      archdoc list
      archdoc render resnet18 --input 1x116x116 --classes 2
      archdoc render vgg16 --format table
      archdoc render alexnet --format json -o alexnet.json
    """
    ctx.meta["archdoc.debug"] = debug
    # torch warns on import when numpy is missing; archdoc never uses numpy, so say nothing.
    warnings.filterwarnings("ignore", message="Failed to initialize NumPy", category=UserWarning)


@main.command("list")
@click.argument("pattern", required=False)
def list_command(pattern: str | None) -> None:
    """List the zoo: name, family, parameters and default input.

    PATTERN is a shell wildcard, e.g. 'resnet*' or 'vgg*_bn'.

    \b
    Examples:
      archdoc list
      archdoc list 'vgg*'
    """
    from archdoc.render import zoo_rows

    rows = zoo_rows(pattern)
    if not rows:
        raise click.ClickException(f"no model matches {pattern!r}")
    header = ("name", "family", "params", "input")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(4)]
    for row in [header, *rows]:
        click.echo(
            f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]}".rstrip()
        )


@main.command("render")
@click.argument("model", shell_complete=_complete_models)
@click.option("--input", "inputs", type=InputType(), multiple=True, help="Input size without batch, e.g. 1x116x116. Default: the model's.")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True, help="Batch size.")
@click.option("--device", default="meta", show_default=True, help="Where to run the model: meta (shapes only, no memory) or cpu (real tensors, for models that branch on values).")
@click.option("--classes", type=click.IntRange(min=1), default=None, help="Number of classes (the builder's num_classes).")
@click.option("--set", "settings", type=KeyValueType(), multiple=True, help="Other builder argument, e.g. --set aux_logits=True. Repeatable.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="markdown", show_default=True, help="What to print.")
@click.option("--depth", type=click.IntRange(min=0), default=0, show_default=True, help="Levels of blocks to expand in diagrams (0: each block is one node).")
@click.option("--table-depth", type=click.IntRange(min=0), default=2, show_default=True, help="Depth of the summary table.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=False), default=None, help="Write to this file (atomically) instead of stdout.")
@_timeout_option
def render_command(
    model: str,
    inputs: tuple[InputSpec, ...],
    batch: int,
    device: str,
    classes: int | None,
    settings: tuple[tuple[str, Any], ...],
    fmt: str,
    depth: int,
    table_depth: int,
    output: str | None,
    timeout: float,
) -> None:
    """Trace MODEL once on the meta device and print its documentation.

    MODEL is a zoo name (see `archdoc list`) or an import path
    package.module:attribute naming an nn.Module class or a function that
    returns a module; --set and --classes become its keyword arguments. Modules
    in the current directory import too.

    \b
    Formats:
      markdown  the model page (default)
      table     the torchinfo-style summary table
      shapes    the shape arithmetic, as a Markdown table
      json      totals and every layer, for checks and scripts
      mermaid   the whole-network diagram, as a fenced block for a README

    \b
    Examples:
      archdoc render resnet18 --input 1x116x116 --classes 2
      archdoc render alexnet --format shapes
      archdoc render googlenet --set aux_logits=True --format table
      archdoc render resnet50 --format json -o resnet50.json
      archdoc render resnet18 --format mermaid --depth 1
      archdoc render mymodels:Net --input 3x32x32 --set width=16
      archdoc render mymodels:Branchy --input 8 --device cpu
    """
    from archdoc.render import render_request
    from archdoc.request import ModelRequest, RenderOptions

    _import_torch()
    request = ModelRequest.from_options(model, inputs, classes, settings, batch, device)
    text = render_request(request, RenderOptions(fmt, depth, table_depth), timeout=_limit(timeout))
    if output is None:
        click.echo(text, nl=False)
    else:
        from archdoc.files import write_atomic

        write_atomic(output, text)


@main.command("embed")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if any region is stale.")
@_trust_option
@_timeout_option
def embed_command(files: tuple[str, ...], check: bool, trusted: tuple[str, ...], timeout: float) -> None:
    """Regenerate the archdoc regions of Markdown FILES.

    A region is the text between a marker that carries `archdoc render`
    arguments and a closing marker, each on a line of its own:

    \b
      <!-- archdoc: resnet18 --input 1x116x116 --format mermaid -->
      ...generated...
      <!-- /archdoc -->

    Everything outside the markers stays byte for byte. With --check nothing is
    written and the exit code is 1 when a region is stale (for CI and pre-commit).

    \b
    Examples:
      archdoc embed README.md
      archdoc embed --check README.md docs/*.md
    """
    from archdoc.embed import embed_files

    stale, changed = embed_files(files, check=check, trusted=trusted, timeout=_limit(timeout))
    if check:
        if stale:
            for region in stale:
                click.echo(f"{region.path}:{region.line}: stale region ({region.args}); run `archdoc embed {region.path}`", err=True)
            raise SystemExit(1)
        click.echo(f"{len(files)} file(s) up to date", err=True)
        return
    for path in changed:
        click.echo(f"updated {path}", err=True)
    if not changed:
        click.echo(f"{len(files)} file(s) already up to date", err=True)


@main.command("lock")
@click.argument("models", nargs=-1, shell_complete=_complete_models)
@click.option("--input", "inputs", type=InputType(), multiple=True, help="Input size for the named models. Default: each model's.")
@click.option("--classes", type=click.IntRange(min=1), default=None, help="Number of classes for the named models.")
@click.option("--set", "settings", type=KeyValueType(), multiple=True, help="Other builder argument for the named models. Repeatable.")
@click.option("--config", "config", default="mkdocs.yml", show_default=True, type=click.Path(dir_okay=False), help="MkDocs configuration whose archdoc models are locked when no MODEL is named.")
@click.option("-o", "--output", default="archdoc.lock.json", show_default=True, type=click.Path(dir_okay=False), help="The lock file to write (atomically).")
@_trust_option
@_timeout_option
def lock_command(
    models: tuple[str, ...],
    inputs: tuple[InputSpec, ...],
    classes: int | None,
    settings: tuple[tuple[str, Any], ...],
    config: str,
    output: str,
    trusted: tuple[str, ...],
    timeout: float,
) -> None:
    """Record the architecture of MODELS in a lock file, for `archdoc check`.

    For each model: parameters, trainable parameters, mult-adds, output shapes
    and every layer (name, type, output shape, parameters) with a digest of that
    table. With no MODEL, the models configured for the archdoc plugin in
    mkdocs.yml are locked.

    \b
    Examples:
      archdoc lock                                   # the models of mkdocs.yml
      archdoc lock resnet18 resnet50 -o archdoc.lock.json
      archdoc lock resnet18 --input 1x116x116 --classes 2
      archdoc lock mymodels:Net --input 3x32x32 --set width=16
    """
    from archdoc.lock import configured_entries, write_lock
    from archdoc.request import ModelRequest

    _import_torch()
    if models:
        entries = [ModelRequest.from_options(name, inputs, classes, settings) for name in models]
    else:
        if inputs or classes or settings:
            raise click.UsageError("--input, --classes and --set apply to named models; name them")
        entries = configured_entries(config, trusted)
    document = write_lock(entries, output, timeout=_limit(timeout))
    click.echo(f"locked {len(document['models'])} model(s) in {output}", err=True)


@main.command("check")
@click.argument("models", nargs=-1)
@click.option("--lock", "lock", default="archdoc.lock.json", show_default=True, type=click.Path(dir_okay=False), help="The lock file written by `archdoc lock`.")
@_trust_option
@_timeout_option
def check_command(models: tuple[str, ...], lock: str, trusted: tuple[str, ...], timeout: float) -> None:
    """Trace every model of the lock file again; exit 1 if its architecture changed.

    Prints one line per difference, naming the layers responsible, e.g.

    \b
      resnet18: params 11,689,512 → 11,689,000 (layer4.1.conv2: 2,359,296 → 2,358,784)

    MODELS limits the check to those names or lock labels.

    \b
    Examples:
      archdoc check
      archdoc check --lock archdoc.lock.json resnet18
    """
    from archdoc.lock import check_lock, read_lock, select

    _import_torch()
    count = len(select(read_lock(lock), models, lock))
    differences = check_lock(lock, models, trusted, timeout=_limit(timeout))
    if differences:
        for line in differences:
            click.echo(line)
        click.echo(f"the architecture differs from {lock}; if intended, run `archdoc lock` again", err=True)
        raise SystemExit(1)
    click.echo(f"{count} model(s) match {lock}", err=True)


def run() -> None:
    """The `archdoc` console script and ``python -m archdoc``: `main` in a process of its own."""
    global _STANDALONE
    _STANDALONE = True
    main(prog_name="archdoc")

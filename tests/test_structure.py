"""The code's shape: no import circles, no private names across modules, files of readable size.

The import graph is read from the source (every ``import archdoc...`` and
``from archdoc... import``, at module level and inside functions alike), so a
circle hidden in a function-level import is found too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "archdoc"
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """``(module, names)`` for every archdoc import in the file (names empty for ``import x``)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("archdoc") and node.level == 0:
            out.append((node.module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            out += [(alias.name, []) for alias in node.names if alias.name.startswith("archdoc")]
    return out


def _target(module: str, names: list[str]) -> list[str]:
    """The archdoc modules an import statement loads (``from archdoc.x import y`` may load ``archdoc.x.y``)."""
    loaded = [module] if module in MODULES else []
    loaded += [f"{module}.{n}" for n in names if f"{module}.{n}" in MODULES]
    return loaded


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for module, names in _imports(path):
            for target in _target(module, names):
                if target != name and target != "archdoc":
                    graph[name].add(target)
    return graph


def test_the_import_graph_has_no_circles():
    graph = _graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []
    # The check can fail: a graph with a circle is reported.
    state.clear()
    graph["archdoc.errors"].add("archdoc.cli")
    try:
        for node in sorted(graph):
            if node not in state:
                visit(node, [node])
        assert cycles, "a circle through archdoc.errors was not found"
    finally:
        graph["archdoc.errors"].discard("archdoc.cli")


def test_the_library_never_imports_the_command_line():
    importers = sorted(name for name, targets in _graph().items() if "archdoc.cli" in targets and name != "archdoc.__main__")
    assert importers == []


def test_no_private_name_crosses_a_module():
    crossing = []
    for name, path in MODULES.items():
        for module, names in _imports(path):
            crossing += [f"{name} imports {module}.{n}" for n in names if n.startswith("_") and n != "__version__"]
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            # archdoc.something._private, or a module imported under its own name
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                base = ast.unparse(node.value)
                if base.startswith("archdoc.") and base in MODULES:
                    crossing.append(f"{name} uses {base}.{node.attr}")
    assert crossing == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_are_small_enough_to_read(name):
    lines = MODULES[name].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{name} has {lines} lines"


def test_the_tracer_is_one_module_per_job():
    jobs = {"build", "recorder", "collect", "dataflow", "input_range", "prediction", "layout", "diagnose", "record", "kinds", "metaops", "guard"}
    assert {n.rsplit(".", 1)[1] for n in MODULES if n.startswith("archdoc.tracing.")} == jobs


def test_every_package_directory_is_installed():
    # setuptools installs only the packages pyproject.toml lists; a subpackage left out works
    # in an editable checkout and breaks every installed copy.
    import tomllib

    config = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(p.parent.relative_to(PACKAGE.parent).parts) for p in PACKAGE.rglob("__init__.py")
    }
    assert on_disk | {"archdoc.zoo"} == listed

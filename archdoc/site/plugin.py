"""The MkDocs plugin ``archdoc``: one generated page per configured model, an overview, offline Mermaid.

Configure it in ``mkdocs.yml``::

    plugins:
      - search
      - archdoc:
          models:
            - resnet18
            - {name: resnet18, input: 1x116x116, classes: 2, title: "ResNet-18 (1×116×116, 2 classes)"}

Pages are generated in memory at build time (nothing is written to ``docs/``)
and added to the navigation under "Models", grouped by family. Each
configuration is traced once per build. A bad entry fails the build with a
message that names it.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority
from mkdocs.structure.files import File, Files
from mkdocs.utils import get_relative_url

from archdoc.ahead import TracesAhead, available_workers
from archdoc.errors import ArchdocError
from archdoc.request import SiteEntry, parse_site_entries
from archdoc.site.deferred import defer_blocks, restore_blocks
from archdoc.site.overview import family_title, overview_row, render_overview

__all__ = ["ArchdocPlugin", "ArchdocPluginConfig"]

log = logging.getLogger("mkdocs.plugins.archdoc")

ASSETS = Path(__file__).parent.parent / "assets"
# Served from the site itself, so no page asks a CDN for anything.
SCRIPTS = ("mermaid.min.js", "archdoc.js")
STYLES = ("archdoc.css",)
OVERVIEW_SCRIPT = "overview.js"  # sorting and the family filter, on the overview alone
# Mermaid's maxEdges and maxTextSize on the site; assets/archdoc.js sets the same numbers.
MERMAID_LIMITS = (2000, 300_000)
# A diagram archdoc.js draws, or one Material draws from a project's own ```mermaid fence.
_MERMAID_ON_PAGE = re.compile(r'class="(?:archdoc-diagram|mermaid)[" ]')


class ArchdocPluginConfig(base.Config):
    """Options of the ``archdoc`` plugin."""

    models = c.ListOfItems(c.Type((str, dict)), default=[])
    """Models to document: a name, or a mapping with ``name``, ``input``, ``classes``, ``set``,
    ``batch``, ``device``, ``title``, ``slug``, ``depth``, ``table_depth``."""
    directory = c.Type(str, default="models")
    """Folder (inside the site) of the generated pages."""
    section = c.Type(str, default="Models")
    """Title of the navigation section holding the pages."""
    overview = c.Type(bool, default=True)
    """Generate ``<directory>/index.md`` comparing every configured model."""
    templates = c.Optional(c.Dir(exists=True))
    """Folder of templates (``page.md.j2``, ``overview.md.j2``) that replace archdoc's own."""
    builder_docs = c.Type(bool, default=True)
    """Show each builder's docstring (through mkdocstrings when it is configured)."""
    mermaid = c.Type(bool, default=True)
    """Ship mermaid.js with the site and raise its size limits for large networks."""
    trust = c.ListOfItems(c.Type(str), default=[])
    """Packages (e.g. ``timm``) that import paths in ``models:`` may name besides the project's own code."""
    timeout = c.Type((int, float), default=600)
    """Seconds a model's code may run while it is traced (0: no limit)."""
    workers = c.Optional(c.Type(int))
    """Processes that trace zoo models while pages are made (default: one per CPU; 0 or 1: none)."""


class ArchdocPlugin(BasePlugin[ArchdocPluginConfig]):
    """Generates model pages from traces at build time."""

    supports_multiple_instances = False

    def __init__(self) -> None:
        self.entries: list[SiteEntry] = []
        self.traces: dict[str, Any] = {}
        self.pages: dict[str, SiteEntry] = {}
        self.deferred: dict[str, list[str]] = {}  # each generated page's HTML blocks, kept out of Markdown
        self.rows: list[tuple[str, str, str, str]] = []
        self._link_root: Path | None = None

    # ------------------------------------------------------------------ config

    # Before other plugins' on_config: mkdocstrings reads its search paths there.
    @event_priority(100)
    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        try:
            self.entries = parse_site_entries(self.config.models, self.config.trust)
        except ArchdocError as exc:
            raise PluginError(f"archdoc: {exc}") from None
        self.directory = self.config.directory.strip("/") or "models"
        if self.directory.startswith("/") or ".." in self.directory.split("/") or "\\" in self.directory:
            raise PluginError(f"archdoc: directory {self.config.directory!r} must be a folder inside docs, like 'models'")
        if self.config.overview:
            clash = next((e for e in self.entries if e.slug.lower() == "index"), None)
            if clash is not None:
                raise PluginError(f"archdoc: {clash.label}: slug 'index' is the overview page; choose another")
        if self.entries:
            for name in STYLES:
                config.extra_css.append(f"assets/archdoc/{name}")
            _check_markdown(config)
        self.has_mkdocstrings = "mkdocstrings" in config.plugins and self.config.builder_docs
        if self.has_mkdocstrings:
            self._expose_builders(config)
        return config

    def _expose_builders(self, config: MkDocsConfig) -> None:
        """Let mkdocstrings find the builders where Python imports them from.

        griffe, which mkdocstrings uses, finds modules by their files, searching the
        working directory first: ``archdoc.zoo.lenet`` must live at ``archdoc/zoo/lenet.py``.
        Neither an editable install that maps a folder into a package (as archdoc maps
        ``models/`` to ``archdoc.zoo``) nor a checkout next to an installed package is laid
        out that way. A temporary tree of links in the imported layout goes first on
        mkdocstrings' search path.
        """
        from archdoc.registry import get_entry

        modules = set()
        for entry in self.entries:
            try:
                modules.add(get_entry(entry.name).builder.__module__)
            except ArchdocError:
                continue
        if self._link_root is not None:
            shutil.rmtree(self._link_root, ignore_errors=True)
        self._link_root = _package_links(sorted(modules))
        if self._link_root is None:
            return
        handlers = config.plugins["mkdocstrings"].config.setdefault("handlers", {})
        python = handlers.setdefault("python", {})
        python["paths"] = [str(self._link_root), *python.get("paths", ["."])]

    def on_post_build(self, config: MkDocsConfig) -> None:
        """Add every layer's table row to the search index, so a search for a layer lands on its row."""
        index = Path(config.site_dir) / "search" / "search_index.json"
        if not self.rows or not index.is_file():
            return
        import json

        data = json.loads(index.read_text(encoding="utf-8"))
        data.setdefault("docs", []).extend(
            {"location": f"{url}#{anchor}", "title": name, "text": what} for url, anchor, name, what in self.rows
        )
        index.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")

    def on_shutdown(self) -> None:
        if self._link_root is not None:
            shutil.rmtree(self._link_root, ignore_errors=True)
            self._link_root = None

    # ------------------------------------------------------------------ files

    def on_files(self, files: Files, config: MkDocsConfig) -> Files:
        self.traces = {}  # once per build, and fresh on every rebuild of `mkdocs serve`
        self.pages = {}
        self.deferred = {}
        if not self.entries:
            return files
        for name in (*SCRIPTS, *STYLES, OVERVIEW_SCRIPT) if self.config.mermaid else (*STYLES, OVERVIEW_SCRIPT):
            files.append(File.generated(config, f"assets/archdoc/{name}", abs_src_path=str(ASSETS / name)))
        template_dirs = [self.config.templates] if self.config.templates else []
        rows = []
        urls = []
        groups: dict[str, list[dict[str, str]]] = {}
        overview_url = File.generated(config, f"{self.directory}/index.md", content="").url
        self.rows = []
        workers = available_workers(self.config.workers)
        with TracesAhead([e.request for e in self.entries], self.config.timeout or None, workers) as ahead:
            for entry in self.entries:
                result = self._trace(entry, ahead)
                uri = f"{self.directory}/{entry.slug}.md"
                if files.get_file_from_path(uri) is not None:
                    raise PluginError(f"archdoc: {entry.label}: docs/{uri} exists; generated pages are never stored in docs/")
                title = entry.title or result.display_name
                text, self.deferred[uri] = defer_blocks(self._page(entry, result, title, template_dirs))
                page_file = File.generated(config, uri, content=text)
                files.append(page_file)
                self.pages[uri] = entry
                self.rows += [(page_file.url, anchor, name, what) for anchor, name, what in _searchable_rows(result)]
                rows.append(overview_row(result, title, f"{entry.slug}.md"))
                urls.append(get_relative_url(page_file.url, overview_url))
                groups.setdefault(family_title(result), []).append({title: uri})
        log.debug(f"archdoc: {ahead.made} of {len(self.entries)} models traced by {workers} worker processes")
        section: list[Any] = []
        if self.config.overview:
            uri = f"{self.directory}/index.md"
            if files.get_file_from_path(uri) is None:
                try:
                    text = render_overview(rows, template_dirs, urls)
                except Exception as exc:  # a project's own template
                    raise PluginError(f"archdoc: overview page: {exc}") from None
                files.append(File.generated(config, uri, content=text))
            section.append({"Overview": uri})
        section += [{family: pages} for family, pages in groups.items()]
        config.nav = _with_section(config.nav, files, self.config.section, section, set(self.pages) | {f"{self.directory}/index.md"})
        return files

    def _trace(self, entry: SiteEntry, ahead: TracesAhead) -> Any:
        request = entry.request
        if request.label not in self.traces:
            try:
                self.traces[request.label] = ahead.trace(request)
            except ArchdocError as exc:
                raise PluginError(f"archdoc: {entry.label}: {exc}") from None
            except Exception as exc:  # the model's own code failed
                raise PluginError(f"archdoc: {entry.label}: {type(exc).__name__}: {exc}") from None
        return self.traces[request.label]

    def on_post_page(self, output: str, page: Any, config: MkDocsConfig) -> str:
        """Put back the page's HTML blocks; load mermaid.js (and archdoc.js, which draws with it) only
        on pages that have diagrams."""
        output = restore_blocks(output, self.deferred.get(page.file.src_uri, []))
        names = list(SCRIPTS) if self.config.mermaid and _MERMAID_ON_PAGE.search(output) else []
        if 'class="archdoc-overview"' in output:
            names.append(OVERVIEW_SCRIPT)
        if not names:
            return output
        tags = "".join(f'<script src="{get_relative_url(f"assets/archdoc/{name}", page.url)}"></script>' for name in names)
        # Before Material's own scripts, so Material finds mermaid and never asks a CDN for it.
        bundle = re.search(r'<script src="[^"]*assets/javascripts/bundle\.[^"]*"', output)
        at = bundle.start() if bundle else output.rfind("</body>")
        return output[:at] + tags + output[at:] if at >= 0 else output + tags

    def _page(self, entry: SiteEntry, result: Any, title: str, template_dirs: list[str]) -> str:
        from archdoc.page import render_page

        from archdoc.diagram import MAX_EDGES, MAX_TEXT
        from archdoc.diagram.section import structure_section

        extra = {"builder_doc": self._builder_doc(entry) if self.config.builder_docs else ""}
        # With the bundled mermaid.js the site's limits are raised (assets/archdoc.js), so deep diagrams fit.
        limits = MERMAID_LIMITS if self.config.mermaid else (MAX_EDGES, MAX_TEXT)
        try:
            return render_page(
                result,
                depth=entry.table_depth,
                diagrams=structure_section(result, entry.depth, limits, interactive=self.config.mermaid),
                template_dirs=template_dirs,
                title=title,
                extra=extra,
                site=True,
            )
        except ArchdocError as exc:
            raise PluginError(f"archdoc: {entry.label}: {exc}") from None
        except Exception as exc:  # a project's own template
            raise PluginError(f"archdoc: {entry.label}: page template: {type(exc).__name__}: {exc}") from None

    def _builder_doc(self, entry: SiteEntry) -> str:
        """The builder's docstring.

        A zoo builder's goes through mkdocstrings when that plugin runs (its
        signature and source too). A project's own model's is shown as it is
        written, in a text block: its text is the model's, and none of it may
        become live HTML on the page.
        """
        import inspect

        from archdoc.loading import import_model, is_import_path
        from archdoc.markdown import code_span
        from archdoc.registry import get_entry

        if is_import_path(entry.name):
            try:
                builder = import_model(entry.name, entry.request.trust).target
            except ArchdocError:
                return ""
            doc = inspect.getdoc(builder) or ""
            if not doc:
                return ""
            fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", doc)), default=0))
            return f"{code_span(entry.name)}\n\n{fence}text\n{doc}\n{fence}"
        try:
            builder = get_entry(entry.name).builder
        except ArchdocError:
            return ""
        path = f"{builder.__module__}.{builder.__qualname__}"
        if self.has_mkdocstrings:
            return "\n".join(
                [
                    f"::: {path}",
                    "    options:",
                    "      show_root_heading: true",
                    "      show_root_full_path: true",
                    "      heading_level: 3",
                    "      show_source: true",
                ]
            )
        doc = inspect.getdoc(builder) or ""
        return f"`{path}`\n\n{doc}" if doc else ""


def _package_links(modules: list[str]) -> Path | None:
    """A temporary folder where each module's file sits at the path its dotted name implies.

    It mirrors the packages where Python imports them from (``site-packages`` for an
    installed archdoc, the source folders for an editable one), so mkdocstrings reads
    the code that runs, not a same-named folder in the working directory (a checkout's
    ``archdoc/`` has no ``zoo``: the zoo is installed from ``models/``).

    Returns ``None`` when there is no module to document.
    """
    import importlib

    remapped: dict[str, Path] = {}  # package name -> its real folder, for packages not under their parent
    for name in modules:
        parts = name.split(".")
        for i in range(1, len(parts)):
            package = importlib.import_module(".".join(parts[:i]))
            folder = Path(getattr(package, "__file__", "") or "").parent
            remapped[".".join(parts[:i])] = folder
    if not remapped:
        return None
    root = Path(tempfile.mkdtemp(prefix="archdoc-griffe-"))
    for name in sorted(remapped, key=lambda n: n.count(".")):
        target = root.joinpath(*name.split("."))
        target.mkdir(parents=True, exist_ok=True)
        for child in sorted(remapped[name].iterdir()):
            link = target / child.name
            child_package = f"{name}.{child.name}"
            if child_package in remapped or link.exists() or child.name == "__pycache__":
                continue
            link.symlink_to(child, target_is_directory=child.is_dir())
    return root


def _searchable_rows(trace: Any) -> list[tuple[str, str, str]]:
    """``(anchor, layer name, what it does)`` for every row of a page's shape arithmetic."""
    from archdoc.arithmetic import arithmetic_rows, row_anchor

    try:
        rows = arithmetic_rows(trace)
    except ArchdocError:
        return []
    return [(row_anchor(r.layer), r.layer, f"{r.operation}: {r.formula}") for r in rows]


def _check_markdown(config: MkDocsConfig) -> None:
    """Warn when the Markdown extensions the pages rely on are missing (``--strict`` turns it into an error)."""
    extensions = config.markdown_extensions
    for name in ("tables", "footnotes", "attr_list"):
        if name not in extensions and "extra" not in extensions:
            log.warning(f"archdoc: model pages need the '{name}' Markdown extension")


def _with_section(nav: Any, files: Files, title: str, section: list[Any], ours: set[str]) -> list[Any]:
    """The nav with ``title`` holding the generated pages: in place of a section of that title, else last."""
    if nav is None:
        # No nav in mkdocs.yml: MkDocs would list every page; keep that, minus ours, then add the section.
        from mkdocs.utils import nest_paths

        nav = nest_paths(f.src_uri for f in files.documentation_pages() if f.src_uri not in ours and f.inclusion.is_in_nav())
    nav = list(nav)
    if not _fill(nav, title, section):
        nav.append({title: section})
    return nav


def _fill(items: list[Any], title: str, section: list[Any]) -> bool:
    """Put ``section`` into the first entry called ``title``, at any depth, after what it lists; False if none."""
    for i, item in enumerate(items):
        if not isinstance(item, dict) or len(item) != 1:
            continue
        (key, value), = item.items()
        if key == title:
            existing = value if isinstance(value, list) else [{title: value}] if value else []
            items[i] = {title: [*existing, *section]}
            return True
        if isinstance(value, list):
            children = list(value)
            if _fill(children, title, section):
                items[i] = {key: children}
                return True
    return False

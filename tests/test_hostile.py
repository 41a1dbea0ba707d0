"""Hostile input and faults: nothing lost, nothing run that the user did not name, no check that passes by accident.

Each test reproduces a way a file, a marker, a lock file, a site configuration or
a model's own code can go wrong, and checks the outcome: a one-line error and a
non-zero exit, the files as they were, no code run that a data file may not name,
no model text turned into live HTML.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import markdown
import pytest
import torch
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import archdoc
import hostile_models as hm
from archdoc.cli import main
from archdoc.embed import EmbedError, embed_text, find_regions
from archdoc.errors import ArchdocError, InputFileError, OutputError, TimeLimitError, TraceError, UntrustedCodeError, UserCodeExit
from archdoc.files import Planned, write_all, write_atomic
from archdoc.marker import parse_marker
from archdoc.request import OptionError

TESTS = Path(__file__).resolve().parent
OPEN = "<!-- archdoc: lenet5 --format json -->"
CLOSE = "<!-- /archdoc -->"


def run(*args: str, cwd: Path | None = None):
    """The CLI in this process, from ``cwd``."""
    old = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        return CliRunner().invoke(main, list(args))
    finally:
        os.chdir(old)


def one_line_error(result) -> str:  # noqa: ANN001
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert lines, result.output
    return lines[0]


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --------------------------------------------------------------------------- embed: markers that must not run or pass


@pytest.mark.parametrize("args", ["lenet5 --help", "lenet5 -h", "--help", "lenet5 --version", "lenet5 -o out.md", "lenet5 --output=x"])
def test_help_or_output_in_a_marker_is_an_error_never_a_pass(tmp_path, args):
    page = tmp_path / "README.md"
    page.write_text(f"<!-- archdoc: {args} -->\nstale\n{CLOSE}\n", encoding="utf-8")
    before = page.read_bytes()
    result = run("embed", "--check", str(page))
    assert "no place in a marker" in one_line_error(result)
    assert page.read_bytes() == before


@pytest.mark.parametrize(
    "spec, reason",
    [
        ("subprocess:getoutput --input 1 --set 'cmd=id > out'", "standard library"),
        ("os:system --input 1 --set 'command=id'", "standard library"),
        ("builtins:exec --input 1", "standard library"),
        ("shutil:rmtree --input 1", "standard library"),
        ("torch.nn:Linear --input 4 --set in_features=4 --set out_features=2", "may name only this project's own code"),
        ("pytest:main --input 1", "may name only this project's own code"),
    ],
)
def test_markers_name_only_what_data_may_run(tmp_path, spec, reason):
    page = tmp_path / "README.md"
    page.write_text(f"<!-- archdoc: {spec} -->\n{CLOSE}\n", encoding="utf-8")
    before = page.read_bytes()
    for check in ([], ["--check"]):
        message = one_line_error(run("embed", *check, str(page), cwd=tmp_path))
        assert reason in message
    assert page.read_bytes() == before
    assert listing(tmp_path) == ["README.md"]  # the shell command never ran: no "out" file


def test_a_trusted_package_may_be_named(tmp_path):
    page = tmp_path / "README.md"
    page.write_text(f"<!-- archdoc: torch.nn:Linear --input 4 --set in_features=4 --set out_features=2 --format json -->\n{CLOSE}\n", encoding="utf-8")
    result = run("embed", "--trust", "torch", str(page), cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert '"total_params": 10' in page.read_text(encoding="utf-8")  # 4·2 + 2, by hand


@pytest.mark.parametrize("model", ["hostile_models:Exits --input 4", "hostile_models:exits_while_building --input 4"])
def test_sys_exit_in_model_code_fails_every_command(tmp_path, model):
    page = tmp_path / "README.md"
    page.write_text(f"<!-- archdoc: {model} -->\nstale\n{CLOSE}\n", encoding="utf-8")
    before = page.read_bytes()
    assert "sys.exit(0)" in one_line_error(run("embed", "--check", str(page)))
    assert "sys.exit(0)" in one_line_error(run("embed", str(page)))
    assert page.read_bytes() == before
    out = tmp_path / "page.md"
    assert "sys.exit(0)" in one_line_error(run("render", *model.split(), "-o", str(out)))
    assert not out.exists()


def test_a_model_that_never_returns_stops_at_the_time_limit():
    with pytest.raises(TimeLimitError, match=r"did not finish within 0\.4 s"):
        archdoc.trace(hm.Forever(), (4,), timeout=0.4)
    result = run("render", "hostile_models:Forever", "--input", "4", "--timeout", "0.4")
    assert "did not finish within 0.4 s" in one_line_error(result)


def test_the_time_limit_is_quiet_when_it_lands_in_a_garbage_collector_callback(monkeypatch):
    import gc

    def busy(phase: str, info: object) -> None:  # Python code run by every collection, as test tools add
        sum(range(2000))

    reports: list = []
    monkeypatch.setattr(sys, "unraisablehook", reports.append)
    gc.callbacks.append(busy)
    threshold = gc.get_threshold()
    gc.set_threshold(50)
    try:
        for _ in range(3):
            with pytest.raises(TimeLimitError):
                archdoc.trace(hm.ForeverMakingGarbage(), (4,), timeout=0.3)
    finally:
        gc.callbacks.remove(busy)
        gc.set_threshold(*threshold)
    assert reports == []


@pytest.mark.parametrize("model", [hm.ReturnsNone, hm.ReturnsText, hm.ReturnsGenerator])
def test_a_model_without_tensor_output_is_an_error(model):
    with pytest.raises(TraceError, match="not a tensor"):
        archdoc.trace(model(), (4,))


def test_torch_settings_changed_by_a_model_do_not_leak():
    assert torch.get_default_dtype() == torch.float32
    archdoc.trace(hm.ChangesDtype(), (4,))
    assert torch.get_default_dtype() == torch.float32
    before = (torch.get_default_device(), torch.is_grad_enabled(), torch.are_deterministic_algorithms_enabled(),
              torch.is_deterministic_algorithms_warn_only_enabled(), torch.get_num_threads())
    assert before[2:4] == (False, False)
    archdoc.trace(hm.ChangesTorchSettings(), (4,))
    after = (torch.get_default_device(), torch.is_grad_enabled(), torch.are_deterministic_algorithms_enabled(),
             torch.is_deterministic_algorithms_warn_only_enabled(), torch.get_num_threads())
    assert after == before and torch.get_default_dtype() == torch.float32
    assert archdoc.trace(hm.Small(), (4,)).layers[1].output_dtypes == ("float32",)


# --------------------------------------------------------------------------- embed: markers that are not markers


@pytest.mark.parametrize(
    "text",
    [
        f"- item\n\n    ```\n    {OPEN}\n    {CLOSE}\n    ```\n",  # a fence indented inside a list item
        f"Text\n\n    {OPEN}\n    {CLOSE}\n",  # an indented code block
        f"<!--\n{OPEN}\n{CLOSE}\n-->\n",  # inside a longer HTML comment
        f"~~~~\n{OPEN}\n{CLOSE}\n~~~~\n",
        f"````\n```\n{OPEN}\n```\n{CLOSE}\n````\n",  # a fence that holds a shorter fence
        f"\t```\n{OPEN}\n{CLOSE}\n\t```\n",
    ],
)
def test_markers_in_code_and_comments_are_left_alone(text):
    assert find_regions(text) == []
    assert embed_text(text, lambda args: pytest.fail("a marker in code ran"))[0] == text


@pytest.mark.parametrize("separator", ["\f", "\u2028", "\u2029", "\x85", "\v", "\x1c"])
def test_only_newline_ends_a_line(separator):
    text = f"before{separator}{OPEN}\n{CLOSE}\n"  # the marker shares its line with text: not a marker
    with pytest.raises(EmbedError, match="malformed archdoc marker"):
        find_regions(text)
    text = f"{OPEN}\nkeep{separator}this\n{CLOSE}\nafter{separator}\n"
    new, _ = embed_text(text, lambda args: "fresh\n")
    assert new == f"{OPEN}\nfresh\n{CLOSE}\nafter{separator}\n"


def test_generated_text_holding_a_marker_line_is_refused():
    text = f"{OPEN}\nold\n{CLOSE}\n"
    with pytest.raises(EmbedError, match="reads as an archdoc marker"):
        embed_text(text, lambda args: f"x\n{CLOSE}\ny\n")


# hypothesis: any text around a region survives byte for byte, whatever its line endings.
chunks = st.lists(
    st.sampled_from(["plain text", "", "# Heading", "```py\nx = 1\n```", "~~~\ny\n~~~", "<!-- note -->", "\u2028", "\f", "é ü ∑", "- list"]),
    max_size=6,
)
endings = st.sampled_from(["\n", "\r\n"])


@settings(max_examples=60, deadline=None)
@given(before=chunks, inside=chunks, after=chunks, eol=endings, final=st.booleans())
def test_bytes_outside_regions_never_change(before, inside, after, eol, final):
    head = eol.join(chunk.replace("\n", eol) for chunk in before)
    body = eol.join(chunk.replace("\n", eol) for chunk in inside)
    tail = eol.join(chunk.replace("\n", eol) for chunk in after)
    text = (head + eol if head else "") + OPEN + eol + (body + eol if body else "") + CLOSE + (eol + tail if tail else "") + (eol if final else "")
    new, _ = embed_text(text, lambda args: "fresh\n")
    start = text.index(OPEN) + len(OPEN) + len(eol)
    end = text.index(CLOSE)
    assert new[:start] == text[:start] and new[start:].endswith(text[end:])
    assert new[start : len(new) - len(text) + end] == "fresh" + eol


# --------------------------------------------------------------------------- writes


@pytest.fixture()
def fifo(tmp_path):
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("target", ["/dev/null", "fifo", "dir", "missing-dir"])
def test_non_regular_targets_are_refused(tmp_path, fifo, target):
    path = {"/dev/null": Path("/dev/null"), "fifo": fifo, "dir": tmp_path, "missing-dir": tmp_path / "no" / "x.md"}[target]
    before = listing(tmp_path)
    with pytest.raises(OutputError):
        write_atomic(path, "text")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)  # the device is still a device
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert listing(tmp_path) == before
    result = run("render", "lenet5", "--format", "json", "-o", str(path))
    one_line_error(result)
    assert listing(tmp_path) == before


def test_a_file_where_a_folder_must_be(tmp_path):
    (tmp_path / "blocked").write_text("a file, not a folder", encoding="utf-8")
    one_line_error(run("render", "lenet5", "--format", "json", "-o", str(tmp_path / "blocked" / "page.md")))
    assert (tmp_path / "blocked").read_text(encoding="utf-8") == "a file, not a folder"


def test_symlinks_are_followed_and_mode_and_owner_kept(tmp_path):
    real = tmp_path / "real.md"
    real.write_text(f"{OPEN}\nstale\n{CLOSE}\n", encoding="utf-8")
    os.chmod(real, 0o640)
    os.chown(real, 1234, 5678)  # as root, so the test can tell an owner kept from one reset
    link = tmp_path / "README.md"
    link.symlink_to(real)
    assert run("embed", str(link)).exit_code == 0
    assert link.is_symlink() and '"total_params": 61706' in real.read_text(encoding="utf-8")
    info = os.stat(real)
    assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (0o640, 1234, 5678)


def test_hard_links_are_refused_rather_than_split(tmp_path):
    page = tmp_path / "README.md"
    page.write_text(f"{OPEN}\nstale\n{CLOSE}\n", encoding="utf-8")
    os.link(page, tmp_path / "copy.md")
    assert "hard links" in one_line_error(run("embed", str(page)))
    assert (tmp_path / "copy.md").read_text(encoding="utf-8") == page.read_text(encoding="utf-8") == f"{OPEN}\nstale\n{CLOSE}\n"


def test_a_change_made_during_the_render_is_not_lost(tmp_path, monkeypatch):
    page = tmp_path / "README.md"
    page.write_text(f"{OPEN}\nstale\n{CLOSE}\n", encoding="utf-8")
    import archdoc.render

    real = archdoc.render.render_request

    def edit_meanwhile(*args, **kwargs):
        out = real(*args, **kwargs)
        page.write_text("the user's edit\n" + page.read_text(encoding="utf-8"), encoding="utf-8")
        return out

    monkeypatch.setattr(archdoc.render, "render_request", edit_meanwhile)
    assert "changed while archdoc was rendering" in one_line_error(run("embed", str(page)))
    assert page.read_text(encoding="utf-8").startswith("the user's edit\n")


def test_several_files_are_written_all_or_nothing(tmp_path):
    good, bad = tmp_path / "a.md", tmp_path / "b.md"
    good.write_text(f"{OPEN}\nstale\n{CLOSE}\n", encoding="utf-8")
    bad.write_text(f"{OPEN}\nstale\n{CLOSE}\n", encoding="utf-8")
    os.link(bad, tmp_path / "b-copy.md")  # the second file cannot be replaced
    one_line_error(run("embed", str(good), str(bad)))
    assert good.read_text(encoding="utf-8") == f"{OPEN}\nstale\n{CLOSE}\n"  # the first was not written either
    assert listing(tmp_path) == ["a.md", "b-copy.md", "b.md"]


def test_long_file_names_and_no_leftover_files(tmp_path):
    name = tmp_path / ("x" * 250 + ".md")
    write_atomic(name, "text")
    assert name.read_text(encoding="utf-8") == "text" and listing(tmp_path) == [name.name]


@pytest.mark.parametrize("failure", [KeyboardInterrupt, SystemExit, OSError])
def test_an_interrupted_write_leaves_nothing_behind(tmp_path, monkeypatch, failure):
    page = tmp_path / "README.md"
    page.write_text("old", encoding="utf-8")
    real_write = os.write

    def interrupted(fd, data):  # noqa: ANN001
        real_write(fd, bytes(data[:3]))
        raise failure()

    monkeypatch.setattr(os, "write", interrupted)
    with pytest.raises((failure, OutputError)):
        write_atomic(page, "new text " * 1000)
    monkeypatch.undo()
    assert listing(tmp_path) == ["README.md"] and page.read_text(encoding="utf-8") == "old"


def test_the_new_file_has_no_name_until_it_takes_its_place(tmp_path, monkeypatch):
    """kill -9 during a write leaves nothing: before the final rename no temporary file is visible."""
    import archdoc.files

    seen = []
    real = archdoc.files._Staged.commit

    def commit(self):  # noqa: ANN001
        seen.append(listing(tmp_path))
        return real(self)

    monkeypatch.setattr(archdoc.files._Staged, "commit", commit)
    write_atomic(tmp_path / "new.md", "x" * 1_000_000)
    assert seen == [[]]
    assert listing(tmp_path) == ["new.md"]


@pytest.mark.parametrize("source", ["/dev/zero", "fifo", "big"])
def test_inputs_that_are_not_text_files_are_refused(tmp_path, fifo, source):
    path = {"/dev/zero": "/dev/zero", "fifo": str(fifo), "big": str(tmp_path / "big.md")}[source]
    if source == "big":
        with open(path, "wb") as handle:
            handle.truncate(65 * 1024 * 1024)  # sparse: 65 MB of zeros, no disk used
    message = one_line_error(run("embed", "--check", path))
    assert "not a regular file" in message or "at most" in message


def test_invalid_utf8_is_refused_untouched(tmp_path):
    page = tmp_path / "README.md"
    page.write_bytes(b"\xff\xfe" + f"{OPEN}\n{CLOSE}\n".encode())
    before = page.read_bytes()
    assert "not UTF-8" in one_line_error(run("embed", str(page)))
    assert page.read_bytes() == before


@pytest.mark.slow
def test_a_closed_pipe_is_no_error_and_no_success():
    # `true` exits without reading, long before the page is ready: the write meets a closed pipe.
    result = subprocess.run(
        f"{sys.executable} -m archdoc render lenet5 | true; exit ${{PIPESTATUS[0]}}", shell=True, capture_output=True,
        text=True, cwd=TESTS.parent, executable="/bin/bash", env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert (result.returncode, result.stderr) == (141, "")  # quiet, and not a success (128 + SIGPIPE)


# --------------------------------------------------------------------------- lock files


def lock_of(tmp_path: Path, records: dict) -> Path:
    path = tmp_path / "archdoc.lock.json"
    path.write_text(json.dumps({"archdoc_lock": 1, "models": records}), encoding="utf-8")
    return path


def record(model: str, layers: list, **figures) -> dict:
    digest = hashlib.sha256(json.dumps(layers, separators=(",", ":")).encode()).hexdigest()
    base = {"model": model, "inputs": ["4"], "kwargs": {}, "batch": 1, "device": "meta", "params": 15,
            "trainable_params": 15, "mult_adds": 12, "output_shapes": [[1, 3]], "layers_sha256": digest, "layers": layers}
    return {**base, **figures}


SMALL_LAYERS = [["fc", "Linear", [1, 3], 15]]  # Linear(4, 3): 4·3 + 3 = 15 parameters, 12 mult-adds


@pytest.mark.parametrize(
    "document, message",
    [
        ({"archdoc_lock": 1, "models": {}}, "records no model"),
        ({"archdoc_lock": True, "models": {"a": {}}}, "not an archdoc lock file"),
        ({"archdoc_lock": 1.0, "models": {"a": {}}}, "not an archdoc lock file"),
        ({"archdoc_lock": "1", "models": {"a": {}}}, "not an archdoc lock file"),
        ({"archdoc_lock": 1, "models": []}, "not an archdoc lock file"),
        ([], "not an archdoc lock file"),
    ],
)
def test_lock_files_that_check_nothing_are_errors(tmp_path, document, message):
    path = tmp_path / "archdoc.lock.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert message in one_line_error(run("check", "--lock", str(path)))


def test_edited_layers_with_a_stale_digest_are_refused(tmp_path):
    good = record("hostile_models:Small", SMALL_LAYERS)
    good["layers"] = [["fc", "Linear", [1, 3], 99]]  # edited by hand, digest left as it was
    assert "layers_sha256" in one_line_error(run("check", "--lock", str(lock_of(tmp_path, {"small": good}))))


def test_a_lock_matches_then_catches_a_change(tmp_path, monkeypatch):
    path = lock_of(tmp_path, {"small": record("hostile_models:Small", SMALL_LAYERS)})
    assert run("check", "--lock", str(path)).exit_code == 0
    monkeypatch.setattr(hm.Small, "WIDTH", 5)  # Linear(4, 5): 25 parameters
    result = run("check", "--lock", str(path))
    assert result.exit_code == 1 and "params 15 → 25" in result.output


@pytest.mark.parametrize(
    "model, message",
    [("hostile_models:Exits", "sys.exit(0)"), ("os:system", "standard library"), ("torch.nn:Identity", "may name only")],
)
def test_lock_entries_that_exit_or_name_foreign_code_never_pass(tmp_path, model, message):
    path = lock_of(tmp_path, {"m": record(model, SMALL_LAYERS)})
    result = run("check", "--lock", str(path))
    assert result.exit_code == 1 and message in result.output
    if model != "hostile_models:Exits":  # refused before it ran: no advice to lock again
        assert "archdoc lock" not in result.output and "differs" not in result.output


# --------------------------------------------------------------------------- model text on pages


def html_of(page: str) -> str:
    return markdown.markdown(
        page, extensions=["tables", "footnotes", "attr_list", "md_in_html", "pymdownx.superfences", "toc"]
    )


_MADE_BY_MARKUP = {"script", "img", "svg", "iframe", "object", "embed", "style", "b", "em", "strong", "i"}


def live(html: str) -> list[str]:
    """Markup made from model text: elements the sentinel's text created, links to it, handlers holding it.

    Escaped text and quoted attribute values (a tooltip, a data attribute) are not live.
    """
    from html.parser import HTMLParser

    found: list[str] = []

    class Parser(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.open: list[str] = []

        def handle_starttag(self, tag, attrs):  # noqa: ANN001
            values = " ".join(f"{k}={v}" for k, v in attrs)
            if tag in _MADE_BY_MARKUP and hm.SENTINEL in values:
                found.append(f"<{tag} {values}>")
            if any(k.startswith("on") and hm.SENTINEL in (v or "") for k, v in attrs):
                found.append(f"<{tag} {values}>")
            if tag == "a" and hm.SENTINEL in (dict(attrs).get("href") or ""):
                found.append(f"<a {values}>")
            self.open.append(tag)

        def handle_endtag(self, tag):  # noqa: ANN001
            if tag in self.open:
                while self.open and self.open.pop() != tag:
                    pass

        def handle_data(self, data):  # noqa: ANN001
            if hm.SENTINEL in data and self.open and self.open[-1] in _MADE_BY_MARKUP:
                found.append(f"<{self.open[-1]}>{data[:60]}")

    Parser().feed(html)
    return found


@pytest.mark.parametrize("text", hm.HOSTILE_TEXTS)
def test_model_text_never_becomes_live_html_on_a_page(text):
    trace = archdoc.trace(hm.hostile_named(text), (3, 8, 8))
    page = archdoc.render_page(trace)
    html = html_of(page)
    assert live(html) == [], live(html)
    # The key-figures table keeps its two columns whatever the output keys hold.
    figures = html.split("<table>")[1].split("</table>")[0]
    assert all(row.count("<td") == 2 for row in figures.split("<tr>")[2:])
    # And the text table's fence is never closed early.
    assert page.count("\n## Summary\n") == 1 and "Total params:" in page


@pytest.mark.parametrize("text", hm.HOSTILE_TEXTS)
def test_model_text_in_diagrams_and_json(text, mermaid):
    trace = archdoc.trace(hm.hostile_named(text), (3, 8, 8))
    from archdoc.diagram import block_figures, network_diagram

    for diagram in [network_diagram(trace), *(b.figure.text for b in block_figures(trace))]:
        ok, error = mermaid.parse(diagram)
        assert ok, error
        assert "<script" not in diagram and "<img" not in diagram
    assert json.loads(archdoc.render_json(trace))["output_names"][0] == text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20).map(lambda t: t + hm.SENTINEL))
def test_any_output_key_is_escaped(text):
    from torch import nn

    class Keys(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            return {text: self.fc(x)}

    page = archdoc.render_page(archdoc.trace(Keys(), (4,)))
    assert live(html_of(page)) == []


@pytest.mark.slow
def test_hostile_models_on_the_built_site(tmp_path, monkeypatch):
    """The same texts through the MkDocs plugin and Material: names, keys and docstrings stay text."""
    from sites import build, project

    (tmp_path / "hostile_site_models.py").write_text(
        "import hostile_models\n"
        + "".join(f"def m{i}():\n    return hostile_models.hostile_named({text!r})\n" for i, text in enumerate(hm.HOSTILE_TEXTS)),
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(TESTS))
    entries = "".join(f'        - {{name: "hostile_site_models:m{i}", input: 3x8x8}}\n' for i in range(len(hm.HOSTILE_TEXTS)))
    build(project(tmp_path, "  - archdoc:\n      models:\n" + entries), tmp_path / "site")
    pages = list((tmp_path / "site" / "models").rglob("index.html"))
    assert len(pages) == len(hm.HOSTILE_TEXTS) + 1
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert live(html) == [], (page, live(html))


# --------------------------------------------------------------------------- requests that cannot be read


@pytest.mark.parametrize(
    "args",
    ["lenet5 --input", "lenet5 --input abc", "lenet5 --classes 0", "lenet5 --batch -1", "lenet5 --format pdf", "a b",
     "lenet5 --set 'x", "lenet5 --set =1", "lenet5 --depth 1.5", "lenet5 --table-depth x", "lenet5 --classes 2 --classes 3",
     "lenet5 --unknown 1", "", "lenet5 --classes 2 --set num_classes=2"],
)
def test_unreadable_marker_arguments_are_named(args):
    with pytest.raises(OptionError, match="bad marker arguments"):
        parse_marker(args)


@pytest.mark.parametrize(
    "args",
    [
        ["render", "resnet19"], ["render", "lenet5", "--input", "0x32x32"], ["render", "lenet5", "--set", "x"],
        ["render", "nosuch.module:Net", "--input", "3"], ["render", "lenet5", "--device", "quantum"],
        ["render", "hostile_models:ReturnsNone", "--input", "4"], ["check", "--lock", "/nonexistent.json"],
        ["lock", "resnet19"], ["embed", "/nonexistent.md"], ["render", "lenet5", "--input", "1x2x2"],
        ["render", "os:system", "--input", "1"], ["render", "archdoc.errors:ArchdocError", "--input", "1"],
    ],
)
def test_cli_errors_are_one_line(args, tmp_path):
    one_line_error(run(*args, cwd=None))


def test_errors_carry_structured_data():
    with pytest.raises(UntrustedCodeError) as info:
        archdoc.trace("os:system", "1")
    assert info.value.spec == "os:system"
    with pytest.raises(UserCodeExit) as exited:
        archdoc.trace(hm.Exits(), (4,))
    assert exited.value.code == 0
    with pytest.raises(InputFileError):
        from archdoc.files import read_text

        read_text("/dev/zero")
    assert issubclass(TimeLimitError, ArchdocError)


def test_write_all_refuses_every_file_when_one_changed(tmp_path):
    a, b = tmp_path / "a.md", tmp_path / "b.md"
    a.write_text("a", encoding="utf-8")
    b.write_text("b", encoding="utf-8")
    with pytest.raises(OutputError, match="changed while"):
        write_all([Planned(str(a), "A", b"a"), Planned(str(b), "B", b"not what it held")])
    assert (a.read_text(encoding="utf-8"), b.read_text(encoding="utf-8")) == ("a", "b")
    assert listing(tmp_path) == ["a.md", "b.md"]


def test_the_live_html_detector_can_fail():
    assert live(f"<p><img src=x onerror={hm.SENTINEL}></p>")
    assert live(f"<script>{hm.SENTINEL}</script>")
    assert live(f'<a href="{hm.SENTINEL}:x">click</a>')
    assert live(f"<p>&lt;img src=x onerror={hm.SENTINEL}&gt;</p>") == []
    assert live(f'<tr title="&lt;b&gt;{hm.SENTINEL}"><td>x</td></tr>') == []

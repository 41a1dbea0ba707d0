"""README embedding: regions regenerate, everything else stays byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from archdoc.cli import main
from archdoc.embed import EmbedError, embed_text, find_regions

ROOT = Path(__file__).resolve().parents[1]
OPEN = "<!-- archdoc: lenet5 --format mermaid -->"
CLOSE = "<!-- /archdoc -->"


def fake(args: str) -> str:
    return f"generated for {args}\nsecond line\n"


# Text that contains no marker of its own and opens no code fence (a fence left open before a
# marker makes it an example, test_markers_inside_code_fences_are_examples): anything but '<!--',
# '```' and '~~~'.
outside = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200).filter(
    lambda t: not any(mark in t for mark in ("<!--", "```", "~~~"))
)
newline = st.sampled_from(["\n", "\r\n"])


def _with_line_break(text: str, nl: str) -> str:
    return text if text == "" or text.endswith(("\n", "\r")) else text + nl


@settings(max_examples=200, deadline=None)
@given(before=outside, after=outside, inner=outside, nl=newline)
def test_outside_bytes_unchanged_and_second_embed_is_a_no_op(before, after, inner, nl):
    before = _with_line_break(before, nl)
    text = f"{before}{OPEN}{nl}{inner}{nl}{CLOSE}{nl}{after}"
    once, _ = embed_text(text, fake)
    head, _, rest = once.partition(OPEN + nl)
    assert head == before
    assert rest.endswith(f"{CLOSE}{nl}{after}")
    twice, stale = embed_text(once, fake)
    assert twice == once and stale == []


def test_generated_lines_follow_the_markers_line_endings():
    text = f"a\r\n{OPEN}\r\nold\r\n{CLOSE}\r\nz"
    new, stale = embed_text(text, fake)
    assert new == f"a\r\n{OPEN}\r\ngenerated for lenet5 --format mermaid\r\nsecond line\r\n{CLOSE}\r\nz"
    assert [r.line for r in stale] == [2]


def test_markers_inside_code_fences_are_examples():
    text = f"```markdown\n{OPEN}\nexample\n{CLOSE}\n```\n"
    assert find_regions(text) == []
    assert embed_text(text, fake)[0] == text


@pytest.mark.parametrize(
    "text, line, fragment",
    [
        (f"{OPEN}\nno end\n", 1, "never closed"),
        (f"x\n{CLOSE}\n", 2, "closes nothing"),
        (f"{OPEN}\n{OPEN}\n{CLOSE}\n", 2, "before the one on line 1"),
        ("<!-- archdoc: -->\n<!-- /archdoc -->\n", 1, "names no model"),
        ("text <!-- archdoc: lenet5 --> inline\n", 1, "malformed"),
    ],
)
def test_malformed_markers(text, line, fragment):
    with pytest.raises(EmbedError, match=fragment) as info:
        find_regions(text, "f.md")
    assert info.value.line == line


def test_cli_embed_check_then_write(tmp_path: Path):
    path = tmp_path / "README.md"
    original = f"# Title\r\n\r\n{OPEN}\r\nstale\r\n{CLOSE}\r\nend without newline"
    path.write_bytes(original.encode())
    runner = CliRunner()
    check = runner.invoke(main, ["embed", "--check", str(path)])
    assert check.exit_code == 1 and "stale region" in check.output
    assert path.read_bytes() == original.encode()  # --check writes nothing
    write = runner.invoke(main, ["embed", str(path)])
    assert write.exit_code == 0, write.output
    data = path.read_bytes().decode()
    assert data.startswith(f"# Title\r\n\r\n{OPEN}\r\n```mermaid\r\nflowchart TD\r\n")
    assert data.endswith(f"```\r\n{CLOSE}\r\nend without newline")
    again = runner.invoke(main, ["embed", "--check", str(path)])
    assert again.exit_code == 0
    before = path.stat().st_mtime_ns
    runner.invoke(main, ["embed", str(path)])
    assert path.stat().st_mtime_ns == before  # nothing to write, nothing written


@pytest.mark.parametrize(
    "marker, fragment",
    [
        ("<!-- archdoc: nosuchmodel -->", "unknown model"),
        ("<!-- archdoc: lenet5 --input abc -->", "bad marker arguments"),
        ("<!-- archdoc: lenet5 -o out.md -->", "no place in a marker"),
        ("<!-- archdoc: alexnet --input 3x10x10 -->", "too small"),
    ],
)
def test_cli_embed_errors_leave_every_file_untouched(tmp_path: Path, marker, fragment):
    good = tmp_path / "good.md"
    bad = tmp_path / "bad.md"
    good.write_text(f"{OPEN}\nstale\n{CLOSE}\n")
    bad.write_text(f"{marker}\nold\n{CLOSE}\n")
    result = CliRunner().invoke(main, ["embed", str(good), str(bad)])
    assert result.exit_code == 1
    assert fragment in result.output and "bad.md:1" in result.output
    assert "Traceback" not in result.output
    assert good.read_text() == f"{OPEN}\nstale\n{CLOSE}\n"
    assert bad.read_text() == f"{marker}\nold\n{CLOSE}\n"


def test_missing_file_is_a_clean_error(tmp_path: Path):
    result = CliRunner().invoke(main, ["embed", str(tmp_path / "nope.md")])
    assert result.exit_code == 1 and "Traceback" not in result.output


def test_project_readme_is_current(monkeypatch):
    """CI's `archdoc embed --check README.md`: the README's diagram matches the code."""
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["embed", "--check", "README.md"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "1 file(s) up to date\n")
    assert "<!-- archdoc:" in (ROOT / "README.md").read_text()


def test_pre_commit_hooks_are_declared():
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert "entry: archdoc embed --check" in text and "id: archdoc-embed-check" in text

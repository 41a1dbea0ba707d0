"""The command line: formats, the bad-input matrix, exit codes and atomic output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from archdoc.cli import main


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def assert_clean_error(result, code: int) -> None:
    assert result.exit_code == code, result.output
    text = result.output.strip()
    assert "Traceback" not in text
    error_lines = [line for line in text.splitlines() if line.strip()]
    # click prints up to "Usage:" + "Try ..." + "Error: ..." for usage errors.
    assert len(error_lines) <= 3, text
    assert any(line.startswith("Error:") for line in error_lines), text


# ------------------------------------------------------------------ success paths


def test_render_markdown_is_the_seed_page():
    result = run("render", "resnet18", "--input", "1x116x116", "--classes", "2")
    assert result.exit_code == 0, result.output
    page = result.output
    headings = [line for line in page.splitlines() if line.startswith("## ")]
    assert headings == [
        "## Key figures",
        "## Model structure",
        "## Summary",
        "## Shape arithmetic",
        "## Deviations from the paper",
        "## Reproduce this page",
    ]
    assert page.startswith("# ResNet-18\n")
    assert "[^He-2016]" in page and "https://doi.org/10.1109/CVPR.2016.90" in page
    assert "| Parameters | 11,171,266 (all trainable) |" in page
    assert "archdoc render resnet18 --input 1x116x116 --classes 2" in page


def test_render_json():
    result = run("render", "alexnet", "--format", "json")
    data = json.loads(result.output)
    # torchvision's published figures: 61,100,840 params, 0.714 GFLOPS (mult-adds).
    assert data["total_params"] == 61_100_840
    assert round(data["mult_adds"] / 1e9, 3) == 0.714
    assert data["input_size"] == [3, 224, 224] and data["output_shape"] == [1, 1000]
    for layer in data["layers"]:
        assert {"name", "type", "input_shape", "output_shape", "params", "mult_adds"} <= set(layer)


def test_render_table_and_shapes():
    table = run("render", "vgg16", "--format", "table").output
    assert "Total params: 138,357,544" in table  # torchvision's published count
    assert "Total mult-adds (G): 15.47" in table  # torchvision: 15.47 GFLOPS
    shapes = run("render", "alexnet", "--format", "shapes").output
    assert "⌊(224 + 2·2 − 11) / 4⌋ + 1 = 55" in shapes  # torchvision AlexNet conv1


def test_batch_and_set():
    result = run("render", "googlenet", "--set", "aux_logits=True", "--batch", "2", "--format", "json")
    data = json.loads(result.output)
    assert data["total_params"] == 13_004_888  # torchvision GoogLeNet with aux classifiers
    assert data["output_shape"] == [2, 1000]
    assert data["builder_kwargs"]["aux_logits"] is True


def test_list():
    result = run("list")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == ["name", "family", "params", "input"]
    names = [line.split()[0] for line in lines[1:]]
    assert names.index("resnet18") < names.index("resnet101")
    assert any(line.split()[:3] == ["lenet5", "lenet", "61,706"] for line in lines)
    assert run("list", "vgg*_bn").output.count("_bn") == 4


def test_output_file_is_written(tmp_path: Path):
    target = tmp_path / "page.md"
    result = run("render", "lenet5", "-o", str(target))
    assert result.exit_code == 0 and result.output == ""
    assert target.read_text(encoding="utf-8").startswith("# LeNet-5\n")
    assert [p.name for p in tmp_path.iterdir()] == ["page.md"]


def test_every_command_has_help_with_examples():
    from archdoc.cli import main

    assert sorted(main.commands) == ["check", "embed", "list", "lock", "render"]
    for command in [[], *([name] for name in main.commands)]:
        result = run(*command, "--help")
        assert result.exit_code == 0
        assert "Examples:" in result.output


def test_every_command_is_in_the_cli_guide():
    from archdoc.cli import main

    guide = (Path(__file__).resolve().parents[1] / "docs" / "guide" / "cli.md").read_text(encoding="utf-8")
    for name in main.commands:
        assert f"`archdoc {name}`" in guide or f"`archdoc {name}" in guide, name


def test_help_does_not_import_torch():
    code = (
        "import sys\n"
        "from archdoc.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


# ------------------------------------------------------------------ bad input matrix


@pytest.mark.parametrize("shape", ["abc", "0x116x116", "-3x2x2", "3x2.5x7", "3x", "3x224x224:float99"])
def test_unparseable_shapes_are_usage_errors(shape):
    assert_clean_error(run("render", "resnet18", "--input", shape), 2)


@pytest.mark.parametrize(
    "args, code, fragment",
    [
        (["render", "resnet18", "--input", "116x116"], 1, "3-dimensional"),
        (["render", "alexnet", "--input", "3x62x62"], 1, "minimum input is 63×63"),
        (["render", "vgg16", "--input", "3x31x31"], 1, "minimum input is 32×32"),
        (["render", "googlenet", "--input", "3x14x14"], 1, "minimum input is 15×15"),
        (["render", "lenet5", "--input", "1x40x40"], 1, "32–35"),
        (["render", "resnet18", "--set", "in_channels=3", "--input", "1x64x64"], 1, "expects 3 input channels"),
        (["render", "resnet-18"], 1, "did you mean resnet18"),
        (["render", "nosuchmodel"], 1, "unknown model"),
        (["render", "resnet18", "--set", "foo=1"], 1, "does not accept foo"),
        (["render", "resnet18", "--set", "num_classes='abc'"], 1, "failed"),
        (["render", "resnet18", "--set", "foo"], 2, "key=value"),
        (["render", "resnet18", "--set", "1x=2"], 2, "key=value"),
        (["render", "resnet18", "--classes", "abc"], 2, "--classes"),
        (["render", "resnet18", "--classes", "0"], 2, "--classes"),
        (["render", "resnet18", "--batch", "0"], 2, "--batch"),
        (["render", "resnet18", "--format", "pdf"], 2, "--format"),
        (["render", "resnet18", "--classes", "2", "--set", "num_classes=3"], 2, "once"),
    ],
)
def test_bad_input_matrix(args, code, fragment):
    result = run(*args)
    assert_clean_error(result, code)
    assert fragment in result.output


def test_missing_output_directory_creates_nothing(tmp_path: Path):
    target = tmp_path / "missing" / "page.md"
    result = run("render", "lenet5", "-o", str(target))
    assert_clean_error(result, 1)
    assert "does not exist" in result.output
    assert list(tmp_path.iterdir()) == []


def test_output_under_a_file_is_refused(tmp_path: Path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("keep")
    result = run("render", "lenet5", "-o", str(blocker / "page.md"))
    assert_clean_error(result, 1)
    assert blocker.read_text() == "keep"


def test_failed_render_leaves_existing_file_untouched(tmp_path: Path):
    target = tmp_path / "page.md"
    target.write_bytes(b"old content\r\n")
    result = run("render", "alexnet", "--input", "3x10x10", "-o", str(target))
    assert_clean_error(result, 1)
    assert target.read_bytes() == b"old content\r\n"
    assert [p.name for p in tmp_path.iterdir()] == ["page.md"]


def test_debug_shows_the_traceback():
    result = CliRunner().invoke(main, ["--debug", "render", "nosuchmodel"])
    assert result.exit_code != 0
    assert result.exc_info is not None and type(result.exc_info[1]).__name__ == "UnknownModelError"

"""Models by import path and third-party zoos: the CLI, the API and their one-line errors."""

from __future__ import annotations

import json
import sys
import textwrap
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

import archdoc
from archdoc import registry
from archdoc.errors import EntryPointError, ModelImportError
from test_cli import assert_clean_error, run

TESTS = Path(__file__).parent


def write_module(folder: Path, name: str, source: str) -> None:
    (folder / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")


# ------------------------------------------------------------------ success paths


def test_cli_renders_an_import_path_with_arguments():
    result = run("render", "user_models:Factories.tiny_unet", "--input", "1x16x16", "--set", "width=2", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["model"] == "user_models:Factories.tiny_unet"
    assert data["display_name"] == "Factories.tiny_unet"
    assert data["builder_kwargs"] == {"width": 2}
    assert data["output_shape"] == [1, 1, 16, 16]


def test_cli_several_inputs():
    result = run("render", "user_models:ImageAndVector", "--input", "3x32x32", "--input", "10", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["inputs"] == [{"shape": [3, 32, 32], "dtype": "float32"}, {"shape": [10], "dtype": "float32"}]
    assert data["output_shape"] == [1, 2]


def test_cli_device_cpu_for_a_model_that_branches_on_values():
    failed = run("render", "user_models:Branchy", "--input", "8")
    assert_clean_error(failed, 1)
    assert "cannot run on the meta device" in failed.output and "--device cpu" in failed.output
    result = run("render", "user_models:Branchy", "--input", "8", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "archdoc render user_models:Branchy --input 8 --device cpu\n" in result.output


def test_cli_module_called_three_times_tied_weights_and_a_branch_on_values():
    unrolled = run("render", "user_models:Unrolled", "--input", "6", "--format", "json")
    data = json.loads(unrolled.output)
    # One Linear(6, 6) with bias, 6·6 + 6 parameters, run three times: 3·6·6 mult-adds.
    assert data["total_params"] == 6 * 6 + 6 and data["mult_adds"] == 3 * 6 * 6
    assert [layer["repeat_of"] is not None for layer in data["layers"] if layer["name"] == "block"] == [False, True, True]
    tied = run("render", "user_models:TiedLM", "--input", "8:int64", "--format", "table").output
    assert tied.count("(shared)") == 2 and "Shared params (counted once): 1,600" in tied  # the 100×16 matrix
    flow = run("render", "user_models:Branchy", "--input", "8", "--device", "cpu", "--format", "mermaid").output
    assert flow.count("Linear") == 2 and "Output" in flow  # drawn from what ran


def test_current_directory_is_importable(tmp_path, monkeypatch):
    write_module(
        tmp_path,
        "cwd_models_a1",
        """
        from torch import nn

        class Net(nn.Module):
            default_input = (6,)

            def __init__(self, width: int = 4) -> None:
                super().__init__()
                self.fc = nn.Linear(6, width)

            def forward(self, x):
                return self.fc(x)

        built = Net(width=3)
        """,
    )
    monkeypatch.chdir(tmp_path)
    before = list(sys.path)
    result = run("render", "cwd_models_a1:Net", "--set", "width=5", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["total_params"] == 6 * 5 + 5
    assert sys.path == before  # the working directory was only added for the import
    # A module-level instance works too, copied, with no builder arguments.
    trace = archdoc.trace("cwd_models_a1:built")
    assert trace.total_params == 6 * 3 + 3 and trace.display_name == "built"


def test_installed_console_script_imports_from_the_working_directory():
    script = Path(sys.executable).with_name("archdoc")
    if not script.exists():
        pytest.skip("the archdoc console script is not installed next to this Python")
    import subprocess

    out = subprocess.run(
        [str(script), "render", "user_models:TwoHeads", "--input", "20", "--format", "json"],
        cwd=TESTS, capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["output_shapes"] == [[1, 5], [1, 1]]


def test_embed_marker_with_an_import_path(tmp_path, monkeypatch):
    monkeypatch.chdir(TESTS)
    page = tmp_path / "README.md"
    page.write_text(
        "<!-- archdoc: user_models:Branchy --input 8 --device cpu --format table -->\n<!-- /archdoc -->\n",
        encoding="utf-8",
    )
    result = run("embed", str(page))
    assert result.exit_code == 0, result.output
    assert "Total params: 90" in page.read_text(encoding="utf-8")  # (8·8 + 8) + (8·2 + 2)


# ------------------------------------------------------------------ one-line errors


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["nosuch.mod:Net"], "cannot import 'nosuch.mod': no module named 'nosuch'"),
        (["user_models:Unet", "--input", "3x32x32"], "module 'user_models' has no attribute 'Unet'; did you mean UNet?"),
        (["user_models:Factories.tiny", "--input", "1x8x8"], "has no attribute 'tiny'; did you mean tiny_unet?"),
        (["user_models:NOT_A_MODEL", "--input", "3"], "is int, not an nn.Module class or a function"),
        (["user_models:make_list", "--input", "3"], "user_models:make_list returned list, not a torch.nn.Module"),
        (["user_models:UNet", "--input", "3x32x32", "--set", "widht=3"], "does not accept widht; it takes: in_channels, num_classes, width"),
        (["user_models:TiedLM", "--input", "8:int64", "--classes", "3"], "does not accept num_classes; it takes: vocab, dim"),
        (["user_models:double_conv", "--input", "3x8x8"], "missing required arguments cin, cout"),
        (["user_models:UNet"], "needs an input size: give --input"),
        (["user_models:", "--input", "3"], "expected package.module:attribute"),
        (["user_models:UNet", "--input", "3x32x32", "--device", "gpu"], "unknown device 'gpu'"),
        (["user_models:Branchy", "--input", "8"], "aten._local_scalar_dense"),
    ],
)
def test_import_path_errors_are_one_line(args, fragment):
    result = run("render", *args)
    assert_clean_error(result, 1)
    assert fragment in result.output


def test_errors_raised_inside_the_users_module(tmp_path, monkeypatch):
    write_module(tmp_path, "cwd_broken_b1", "x = 1 / 0\n")
    write_module(tmp_path, "cwd_missing_dep_b1", "import no_such_dependency_b1\n")
    write_module(
        tmp_path,
        "cwd_factory_b1",
        """
        def make(width=2):
            raise ValueError("width must be even")
        """,
    )
    monkeypatch.chdir(tmp_path)
    cases = [
        ("cwd_broken_b1:Net", "importing 'cwd_broken_b1' failed: ZeroDivisionError: division by zero (cwd_broken_b1.py:1)"),
        ("cwd_missing_dep_b1:Net", "failed: ModuleNotFoundError: No module named 'no_such_dependency_b1'"),
        ("cwd_factory_b1:make", "cwd_factory_b1:make() failed: ValueError: width must be even (cwd_factory_b1.py:3)"),
    ]
    for spec, fragment in cases:
        result = run("render", spec, "--input", "3")
        assert_clean_error(result, 1)
        assert fragment in result.output, result.output


def test_errors_carry_their_data():
    with pytest.raises(ModelImportError) as info:
        archdoc.trace("user_models:Unet", "3x32x32")
    assert info.value.spec == "user_models:Unet" and info.value.matches == ("UNet",)


# ------------------------------------------------------------------ entry points


@pytest.fixture
def fresh_plugins(monkeypatch, tmp_path):
    """A registry copy with no third-party zoo loaded yet, and a folder for fake zoo modules."""
    archdoc.list_models()  # the built-in zoo registers into the real registry first
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    monkeypatch.setattr(registry, "_PLUGINS_LOADED", False)
    monkeypatch.setattr(registry, "_PLUGIN_FAILURE", None)
    monkeypatch.syspath_prepend(str(tmp_path))

    def install(*points: tuple[str, str]) -> None:
        found = [EntryPoint(name, value, registry.ENTRY_POINT_GROUP) for name, value in points]
        monkeypatch.setattr(
            "importlib.metadata.entry_points", lambda group=None, **_: found if group == registry.ENTRY_POINT_GROUP else []
        )

    return tmp_path, install


THIRD_PARTY_ZOO = """
    from torch import nn
    from archdoc import PaperCard, register_model

    CARD = PaperCard(title="Tiny", authors=("A. Author",), year=2024, venue="arXiv", description="A tiny net.")

    @register_model(card=CARD, display_name="Tiny Net", default_input=(4,))
    def {name}(num_classes: int = 2):
        return nn.Linear(4, num_classes)
"""


def test_entry_point_modules_and_callables_register_models(fresh_plugins):
    folder, install = fresh_plugins
    write_module(folder, "thirdzoo_c1", THIRD_PARTY_ZOO.format(name="tinynet_c1"))
    write_module(
        folder,
        "thirdzoo_c2",
        "def register():\n    import thirdzoo_c2_models\n",
    )
    write_module(folder, "thirdzoo_c2_models", THIRD_PARTY_ZOO.format(name="tinynet_c2"))
    install(("tiny", "thirdzoo_c1"), ("tiny2", "thirdzoo_c2:register"))
    assert {"tinynet_c1", "tinynet_c2", "resnet18"} <= set(archdoc.list_models())
    result = run("render", "tinynet_c1", "--classes", "3", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["total_params"] == 4 * 3 + 3


def test_failing_entry_point_is_named(fresh_plugins):
    _, install = fresh_plugins
    install(("broken", "no_such_zoo_package_d1"))
    result = run("render", "resnet18")
    assert_clean_error(result, 1)
    assert "the archdoc.models entry point 'broken' (no_such_zoo_package_d1) failed to load" in result.output
    assert "ModuleNotFoundError" in result.output
    with pytest.raises(EntryPointError) as info:  # raised again, not forgotten
        archdoc.list_models()
    assert info.value.name == "broken"


def test_an_entry_point_calling_sys_exit_is_named_not_obeyed(fresh_plugins):
    folder, install = fresh_plugins
    write_module(folder, "exiting_zoo_e1", "import sys\nsys.exit(3)\n")
    install(("exiting", "exiting_zoo_e1"))
    result = run("list")
    assert_clean_error(result, 1)
    assert "the archdoc.models entry point 'exiting' (exiting_zoo_e1) failed to load: it called sys.exit(3)" in result.output


def test_a_package_named_like_torch_is_the_users_code_not_torchs(tmp_path, monkeypatch):
    """torchvision lives beside torch (site-packages/torchvision vs site-packages/torch): its frames are shown."""
    import types

    from archdoc.loading import user_frame, user_source

    (tmp_path / "torch").mkdir()
    (tmp_path / "torchvision").mkdir()
    source = tmp_path / "torchvision" / "regnet.py"
    source.write_text("def build():\n    widths = [1, 2]\n    raise RuntimeError('Cannot copy out of meta tensor')\n", encoding="utf-8")
    namespace: dict = {}
    exec(compile(source.read_text(encoding="utf-8"), str(source), "exec"), namespace)
    fake_torch = types.ModuleType("torch")
    fake_torch.__file__ = str(tmp_path / "torch" / "__init__.py")
    monkeypatch.setitem(sys.modules, "torch", fake_torch)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RuntimeError) as info:
        namespace["build"]()
    assert user_frame(info.value) == "torchvision/regnet.py:3"
    assert user_source(info.value) == "torchvision/regnet.py:3 (raise RuntimeError('Cannot copy out of meta tensor'))"

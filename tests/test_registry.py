"""The registry: natural sort, wildcards, duplicates, close matches."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import archdoc
from archdoc import registry
from archdoc.errors import BuildError, DuplicateModelError, ModelArgumentError, UnknownModelError
from archdoc.registry import PaperCard, register_model

CARD = PaperCard(title="T", authors=("A B",), year=2000, venue="V", description="d")


def test_natural_sort():
    assert archdoc.list_models("resnet*") == ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]


def test_wildcards():
    assert archdoc.list_models("vgg*_bn") == ["vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn"]
    assert archdoc.list_models("alexnet*") == ["alexnet", "alexnet_2012", "alexnet_bn"]
    assert archdoc.list_models("nothing*") == []


def test_duplicate_name_raises(monkeypatch):
    # Load the zoo first: otherwise it would register into the throwaway copy (and resnet18
    # would not be taken yet) when this test runs alone.
    archdoc.list_models()
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    @register_model(card=CARD, display_name="X", default_input=(1,), name="tmp_model")
    def tmp_model():
        return None

    with pytest.raises(DuplicateModelError) as info:
        register_model(card=CARD, display_name="X", default_input=(1,), name="tmp_model")(tmp_model)
    assert info.value.name == "tmp_model"
    with pytest.raises(DuplicateModelError):
        register_model(card=CARD, display_name="R", default_input=(1,), name="resnet18")(tmp_model)


@pytest.mark.parametrize("asked, expected", [("resnet-18", "resnet18"), ("vgg61", "vgg16"), ("GoogleNet", "googlenet")])
def test_unknown_name_carries_close_matches(asked, expected):
    with pytest.raises(UnknownModelError) as info:
        archdoc.get_model(asked)
    assert expected in info.value.matches
    assert info.value.name == asked


def test_bad_keyword_and_bad_value():
    with pytest.raises(ModelArgumentError) as info:
        archdoc.get_model("resnet18", width=2)
    assert info.value.bad == ("width",) and "num_classes" in info.value.accepted
    with pytest.raises(BuildError):
        archdoc.get_model("lenet5", num_classes="ten")


def test_installed_package_has_no_bare_models(tmp_path: Path):
    """Run from elsewhere: `import models` fails while the zoo imports as archdoc.zoo."""
    code = (
        "import importlib.util, archdoc\n"
        "assert importlib.util.find_spec('models') is None, 'a bare models package is importable'\n"
        "import archdoc.zoo.resnet\n"
        "print(len(archdoc.list_models()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    # The whole zoo, as registered in this process from the source tree.
    assert int(out.stdout) == len(archdoc.list_models())

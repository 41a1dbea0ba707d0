"""Regression checks: `archdoc lock`, `archdoc check` and archdoc.testing, on the zoo and on a model that changes."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from archdoc.cli import main
from archdoc.lock import read_lock
from archdoc.testing import assert_architecture, assert_matches_lock
from conftest import cached_trace
from test_zoo import PUBLISHED
from test_zoo_catalogue_a import PUBLISHED as ZOO_A
from test_zoo_catalogue_b import PUBLISHED as ZOO_B
from test_zoo_catalogue_c import PUBLISHED as ZOO_C
from test_zoo_catalogue_d import PUBLISHED as ZOO_D

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "archdoc.lock.json"
ARCHDOC = Path(sys.executable).parent / "archdoc"

# The seed configurations: seed 000 (ResNet-18 and -50 at 1×116×116, 2 classes), seed 001 (AlexNet-BN, 3 classes).
SEEDS = {
    "resnet18 1x116x116 num_classes=2": 11_171_266,
    "resnet50 1x116x116 num_classes=2": 23_505_858,
    "alexnet_bn 3x224x224 num_classes=3": 46_762_051,
}


def test_the_repository_lock_holds_published_figures():
    """archdoc.lock.json was written by `archdoc lock`; its counts are checked here against outside figures."""
    models = read_lock(LOCK)["models"]
    for name, (params, gmacs, digits) in PUBLISHED.items():
        assert models[name]["params"] == params, name
        if gmacs is not None:
            assert round(models[name]["mult_adds"] / 1e9, digits) == gmacs, name
        classes = 10 if name == "lenet5" else 1000
        assert models[name]["output_shapes"] == [[1, classes]], name
    # torchvision's published figures for the rest of the catalogue: parameters exactly, GMACs within
    # 0.5 % or half the last published digit (0.040 stands for 0.0395 to 0.0405).
    for name, (params, gmacs, *_) in {**ZOO_A, **ZOO_B, **ZOO_C, **ZOO_D}.items():
        assert models[name]["params"] == params, name
        assert abs(models[name]["mult_adds"] / 1e9 - gmacs) <= max(0.005 * gmacs, 0.0005), name
    for label, params in SEEDS.items():
        assert models[label]["params"] == params, label


def test_the_zoo_matches_the_lock():
    """This project's own regression check: the lock of mkdocs.yml's models, traced now, is the committed file.

    Any change to a zoo model fails here, and the file is deterministic (byte for byte).
    The traces are the session's, shared with the other zoo tests.
    """
    from archdoc.lock import configured_entries, format_lock, lock_record

    models = {}
    for request in configured_entries(ROOT / "mkdocs.yml"):
        inputs = " ".join(request.input_texts) if request.input_texts else None
        models[request.label] = lock_record(request, cached_trace(request.model, inputs, **dict(request.kwargs)))
    fresh = format_lock({"archdoc_lock": 1, "models": models})
    assert fresh == LOCK.read_text(encoding="utf-8")


@pytest.mark.slow
def test_lock_command_writes_the_committed_lock(tmp_path, monkeypatch):
    """`archdoc lock` with no model locks the configured ones: the same records, byte for byte, as the committed file's.

    A small configuration (two of this site's entries) keeps it quick; the whole zoo's
    currency is the test above, and `archdoc check` in CI.
    """
    config = tmp_path / "mkdocs.yml"
    config.write_text(
        "site_name: t\nplugins:\n  - archdoc:\n      models:\n        - lenet5\n"
        '        - {name: resnet18, input: 1x116x116, classes: 2, title: "ResNet-18 (seed)"}\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(ROOT)
    out = tmp_path / "fresh.lock.json"
    result = CliRunner().invoke(main, ["lock", "--config", str(config), "-o", str(out)])
    assert result.exit_code == 0, result.output
    fresh = json.loads(out.read_text(encoding="utf-8"))["models"]
    committed = json.loads(LOCK.read_text(encoding="utf-8"))["models"]
    assert list(fresh) == ["lenet5", "resnet18 1x116x116 num_classes=2"]
    assert all(fresh[label] == committed[label] for label in fresh)
    again = tmp_path / "again.lock.json"
    assert CliRunner().invoke(main, ["lock", "--config", str(config), "-o", str(again)]).exit_code == 0
    assert again.read_bytes() == out.read_bytes()  # deterministic
    assert_matches_lock(out, ["lenet5", "resnet18"])


NET = """import torch.nn as nn


class Net(nn.Sequential):
    def __init__(self, width=16):
        super().__init__(
            nn.Conv2d(3, width, 3, padding=1), nn.ReLU(),
            nn.Conv2d(width, width, KERNEL, padding=PAD),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 10),
        )
"""


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ARCHDOC), *args], cwd=cwd, capture_output=True, text=True, env={**os.environ}, timeout=120)


@pytest.mark.slow
def test_check_from_the_command_line_traces_in_workers_as_in_one_process(tmp_path):
    """`archdoc check` on the console traces zoo models in forked workers; the records are the committed
    ones, and a model that fails there is traced again by the command, which reports it."""
    committed = json.loads(LOCK.read_text(encoding="utf-8"))["models"]
    labels = ["lenet5", "alexnet", "squeezenet1_1", "resnet18 1x116x116 num_classes=2"]
    models = {label: committed[label] for label in labels}
    models["alexnet 3x62x62"] = {**committed["alexnet"], "inputs": ["3x62x62"]}  # too small: 63 is AlexNet's least
    (tmp_path / "four.lock.json").write_text(json.dumps({"archdoc_lock": 1, "models": models}), encoding="utf-8")
    result = run("check", "--lock", "four.lock.json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    # By hand at 62: conv 11×11/4 pad 2 gives ⌊55/4⌋ + 1 = 14, the pools 6 and 2, and the last pool 0.
    assert result.stdout.splitlines() == [
        "alexnet 3x62x62: no longer traces: input 3x62x62 is too small for alexnet: features.12 (MaxPool2d) "
        "gets 2×2: ⌊(2 − 3) / 2⌋ + 1 = 0; the minimum input is 63×63"
    ]
    assert "Traceback" not in result.stderr


def invoke(*args: str):  # noqa: ANN201
    """One console command, in-process: a fresh import of the user's module, as a new process would make."""
    sys.modules.pop("mynet", None)
    return CliRunner().invoke(main, list(args))


def test_check_names_the_layer_that_changed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the user's module is found in the working directory
    (tmp_path / "mynet.py").write_text(NET.replace("KERNEL", "3").replace("PAD", "1"), encoding="utf-8")
    locked = invoke("lock", "mynet:Net", "--input", "3x32x32", "-o", "archdoc.lock.json")
    assert locked.exit_code == 0, locked.output
    # By hand: conv 3·16·9 + 16 = 448, conv 16·16·9 + 16 = 2,320, linear 16·10 + 10 = 170.
    assert json.loads((tmp_path / "archdoc.lock.json").read_text())["models"]["mynet:Net 3x32x32"]["params"] == 2_938
    same = invoke("check")
    assert (same.exit_code, same.stdout, same.stderr) == (0, "", "1 model(s) match archdoc.lock.json\n")

    # Someone widens the second convolution to 5×5: 16·16·25 + 16 = 6,416; total 448 + 6,416 + 170 = 7,034.
    (tmp_path / "mynet.py").write_text(NET.replace("KERNEL", "5").replace("PAD", "2"), encoding="utf-8")
    # Python's bytecode cache goes by a source's size and mtime in whole seconds: both can match
    # here, where a real edit comes seconds later. Dating the edit a few seconds on keeps the cache honest.
    later = (tmp_path / "mynet.py").stat().st_mtime + 5
    os.utime(tmp_path / "mynet.py", (later, later))
    changed = invoke("check", "--lock", "archdoc.lock.json")
    assert changed.exit_code == 1
    lines = changed.stdout.splitlines()
    assert lines[0] == "mynet:Net 3x32x32: params 2,938 → 7,034 (2: 2,320 → 6,416)"
    # Mult-adds at 32×32: the convolution's 1,024 positions × 16·16·9 = 2,359,296 become × 16·16·25 = 6,553,600.
    old, new = (int(x.replace(",", "")) for x in lines[1].split("mult-adds ")[1].split(" → "))
    assert new - old == 1024 * 16 * 16 * (25 - 9)
    assert isinstance(changed.exception, SystemExit) and "Traceback" not in changed.output


def test_check_reports_a_model_that_no_longer_exists(tmp_path):
    empty = hashlib.sha256(b"[]").hexdigest()  # the digest of an empty layer table
    lock = {"archdoc_lock": 1, "models": {"resnet9": {"model": "resnet9", "inputs": None, "kwargs": {}, "batch": 1, "device": "meta", "params": 1, "trainable_params": 1, "mult_adds": 1, "output_shapes": [[1, 2]], "layers_sha256": empty, "layers": []}}}
    (tmp_path / "archdoc.lock.json").write_text(json.dumps(lock), encoding="utf-8")
    result = CliRunner().invoke(main, ["check", "--lock", str(tmp_path / "archdoc.lock.json")])
    assert result.exit_code == 1
    assert result.output.startswith("resnet9: no longer traces: unknown model 'resnet9'")


@pytest.mark.parametrize("content, message", [(None, "no such lock file"), ("{", "not a readable JSON lock file"), ('{"models": []}', "not an archdoc lock file")])
def test_bad_lock_files_get_one_line(tmp_path, content, message):
    path = tmp_path / "x.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(main, ["check", "--lock", str(path)])
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output


def test_lock_refuses_options_without_models(tmp_path):
    result = CliRunner().invoke(main, ["lock", "--classes", "2", "-o", str(tmp_path / "l.json")])
    assert result.exit_code == 2 and "name them" in result.output
    assert not (tmp_path / "l.json").exists()


def test_lock_writes_nothing_when_a_model_fails(tmp_path):
    out = tmp_path / "l.json"
    out.write_text("keep", encoding="utf-8")
    result = CliRunner().invoke(main, ["lock", "resnet18", "resnet19", "-o", str(out)])
    assert result.exit_code == 1 and "resnet19" in result.output
    assert out.read_text(encoding="utf-8") == "keep"


def test_assert_architecture_pins_a_model_in_one_line():
    # Seed 000: 11,171,266 parameters, 2 outputs.
    trace = assert_architecture("resnet18", "1x116x116", num_classes=2, params=11_171_266, output_shape=(1, 2))
    assert trace.total_params == 11_171_266
    with pytest.raises(AssertionError) as info:
        assert_architecture("resnet18", "1x116x116", num_classes=2, params=11_171_000, output_shape=(1, 3))
    assert str(info.value).splitlines() == [
        "resnet18: params 11,171,266, expected 11,171,000",
        "resnet18: output shape (1, 2), expected (1, 3)",
    ]


def test_a_name_the_lock_lacks_is_an_error_not_a_pass():
    from archdoc.errors import ArchdocError

    result = CliRunner().invoke(main, ["check", "--lock", str(LOCK), "lenet"])  # a typo for lenet5
    assert result.exit_code == 1 and "has no entry for 'lenet'" in result.output
    with pytest.raises(ArchdocError, match="has no entry for 'lenet'"):
        assert_matches_lock(LOCK, "lenet")
    assert_matches_lock(LOCK, "lenet5")  # one name as a string, not a set of letters


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda r: r.pop("model"), "lenet5: missing 'model'"),
        (lambda r: r.update(params=None), "lenet5: 'params' is not an integer"),
        (lambda r: r.update(inputs="1x32x32"), "lenet5: 'inputs' is not a list"),
        (lambda r: r["layers"].__setitem__(0, ["x"]), "lenet5: layer ['x'] is not [name, type, shape, params]"),
    ],
)
def test_a_damaged_lock_is_named_in_one_line(tmp_path, damage, message):
    document = json.loads(LOCK.read_text(encoding="utf-8"))
    document["models"] = {"lenet5": document["models"]["lenet5"]}
    damage(document["models"]["lenet5"])
    path = tmp_path / "l.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    result = CliRunner().invoke(main, ["check", "--lock", str(path)])
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output


def test_lock_reads_inherited_mkdocs_configuration(tmp_path, monkeypatch):
    (tmp_path / "base.yml").write_text("site_name: s\nplugins:\n  - archdoc:\n      models: [lenet5]\n", encoding="utf-8")
    (tmp_path / "mkdocs.yml").write_text("INHERIT: base.yml\nsite_name: child\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["lock"])
    assert result.exit_code == 0, result.output
    assert list(json.loads((tmp_path / "archdoc.lock.json").read_text())["models"]) == ["lenet5"]

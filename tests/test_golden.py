"""Golden files for the seed configurations, reviewed by eye against the seed pages.

Regenerate with ``pytest --update-golden`` and review the diff before committing.
"""

from __future__ import annotations

import pytest

import archdoc
from archdoc.arithmetic import render_arithmetic
from archdoc.table import render_table
from conftest import cached_trace

SEEDS = [("resnet18", "1x116x116", 2), ("resnet50", "1x116x116", 2), ("alexnet_bn", "3x224x224", 3)]


@pytest.mark.parametrize("name, size, classes", SEEDS)
def test_table(golden, name, size, classes):
    golden(f"{name}_{size}_c{classes}.table.out", render_table(cached_trace(name, size, num_classes=classes), depth=2))


@pytest.mark.parametrize("name, size, classes", SEEDS)
def test_shapes(golden, name, size, classes):
    golden(f"{name}_{size}_c{classes}.shapes.md", render_arithmetic(cached_trace(name, size, num_classes=classes)))


@pytest.mark.parametrize("name, size, classes", SEEDS)
def test_page(golden, name, size, classes):
    golden(f"{name}_{size}_c{classes}.page.md", archdoc.render_page(cached_trace(name, size, num_classes=classes)))

"""The summary table against torchinfo itself, run on the same models on meta.

torchinfo is the layout the tables follow and an independent count: it walks the
module tree with its own hooks. Row by row, every zoo model must agree on the
class, depth, output shape and parameters, and on what a container holds outside
its children. Where torchinfo 1.8 is known to be wrong, the tests name it.
"""

from __future__ import annotations

import warnings

import pytest
import torch
import torchinfo
from torch import nn

import archdoc
from archdoc.page import torchinfo_mult_adds
from archdoc.table import own_params, render_table
from conftest import cached_trace
from oracles import torchinfo_rows, zoo_oracle


@pytest.mark.parametrize("name", archdoc.list_models())
def test_every_row_agrees_with_torchinfo(name):
    theirs = zoo_oracle(name).rows
    trace = cached_trace(name)
    own = own_params(trace.layers)
    ours = [
        (layer.type, layer.depth, tuple(layer.output_shape), layer.params, own[layer.index])
        for layer in trace.layers
    ]
    assert ours == theirs
    assert (trace.total_params, torchinfo_mult_adds(trace)) == (zoo_oracle(name).torchinfo_params, zoo_oracle(name).torchinfo_mult_adds)


class Tied(nn.Module):
    """An embedding whose matrix the output layer reuses: 10·4 parameters, held twice."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.out = nn.Linear(4, 10, bias=False)
        self.out.weight = self.embed.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.embed(x))


def test_torchinfo_counts_a_shared_matrix_twice_archdoc_once():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = torchinfo.summary(Tied(), input_data=torch.zeros(1, 3, dtype=torch.long), verbose=0)
    trace = archdoc.trace(Tied(), "3:int64")
    assert trace.total_params == 10 * 4  # by hand: one 10×4 matrix
    assert sum(r.num_params for r in stats.summary_list if r.depth == 1) == 2 * 10 * 4  # torchinfo's rows: twice
    assert "Shared params (counted once): 40" in render_table(trace)


def test_torchinfo_prints_an_enum_for_the_unit_archdoc_a_letter():
    with torch.device("meta"):
        model = archdoc.get_model("resnet18").eval()
    _, stats = torchinfo_rows(model, (3, 224, 224))
    text = str(stats)
    assert "Total mult-adds (Units.GIGABYTES): 1.81" in text  # torchinfo 1.8 on Python 3.11
    assert "Total mult-adds (G): 1.81" in render_table(cached_trace("resnet18"))


def test_torchinfo_moves_the_model_archdoc_does_not():
    model = nn.Sequential(nn.Linear(3, 2))
    archdoc.trace(model, (3,))
    assert model[0].weight.device.type == "cpu"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torchinfo.summary(model, (1, 3), device="meta", verbose=0)
    assert model[0].weight.device.type == "meta"  # torchinfo moved the caller's model


class TokenMixer(nn.Module):
    """Tokens of some width: a bias-free Linear per token, then attention scores q·kᵀ outside any layer."""

    def __init__(self, width: int = 4) -> None:
        super().__init__()
        self.proj = nn.Linear(width, width, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = self.proj(x)
        return q @ x.transpose(1, 2)


def test_the_page_says_why_torchinfo_differs_in_each_direction():
    from archdoc.page import torchinfo_differences

    trace = archdoc.trace(TokenMixer(), (8, 4))
    # By hand: the Linear is 8 tokens · 4 · 4 = 128 mult-adds, the scores 8 · 8 · 4 = 256; torchinfo: 16 params × 1 sample.
    assert trace.mult_adds == 128 + 256
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = torchinfo.summary(TokenMixer(), (1, 8, 4), device="meta", verbose=0)
    assert torchinfo_mult_adds(trace) == stats.total_mult_adds == 16
    assert torchinfo_differences(trace) == [
        "counts each linear layer once per sample rather than once per token",
        "misses products computed outside layers with parameters (such as attention's)",
    ]
    # By hand at 128 tokens of 64: 128·64·64 + 128·128·64 = 1,572,864 (1.57 M); torchinfo 64·64 = 4,096 (0.00 M).
    page = archdoc.render_page(archdoc.trace(TokenMixer(64), (128, 64)))
    assert "| Mult-adds | 1.57 M (1,572,864) at batch 1 |" in page
    assert ("torchinfo 1.8 reports 0.00 M for this model because it counts each linear layer once per sample "
            "rather than once per token and misses products computed outside layers with parameters (such as attention's).") in page
    # ResNet-18 (seed): only BatchNorm's scales and shifts, which torchinfo adds.
    assert torchinfo_differences(cached_trace("resnet18", "1x116x116", num_classes=2)) == [
        "also counts bias and normalisation parameters as mult-adds"
    ]

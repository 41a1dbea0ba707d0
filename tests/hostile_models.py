"""Models written to break things: hostile names, odd outputs, code that exits, loops or changes torch's settings.

Used by ``test_hostile.py``, directly and through import paths (``hostile_models:Exits``).
"""

from __future__ import annotations

import sys

import torch
from torch import nn

SENTINEL = "archdocXSS"
# Text that would become live HTML, a broken table or a closed code fence if it reached a page unescaped.
HOSTILE_TEXTS = [
    f"<img src=x onerror={SENTINEL}>",
    f"<script>{SENTINEL}</script>",
    f"`<img src=x onerror={SENTINEL}>`",
    f"a|b<b>{SENTINEL}</b>",
    f"x\n```\n<script>{SENTINEL}</script>\n```",
    f"[click]({SENTINEL}:alert)",
    f"<!-- /archdoc --> {SENTINEL}",
    f"*{SENTINEL}* _{SENTINEL}_ {{#{SENTINEL}}}",
    f"&lt;script&gt;{SENTINEL}",
    f"\u2028<svg onload={SENTINEL}>",
]


def hostile_named(text: str) -> nn.Module:
    """A small CNN whose module names, class name and output keys all carry ``text``."""
    safe = text.replace(".", "·") or "·"  # torch refuses dots and empty names in module names
    block_type = type(f"Block{text}", (nn.Module,), {"__doc__": f"A block. {text}"})
    block = block_type()
    block.add_module("conv", nn.Conv2d(3, 4, 3, padding=1))
    block.add_module("proj", nn.Conv2d(3, 4, 1))
    block.forward = lambda x: block.conv(x) + block.proj(x)  # type: ignore[method-assign]

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stage = nn.ModuleDict({safe: block})
            self.add_module(safe + "_head", nn.Linear(4, 2))

        def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
            x = self.stage[safe](x).mean((2, 3))
            return {text: getattr(self, safe + "_head")(x), "plain": x}

    Net.__name__ = f"Net{text}"
    Net.__doc__ = f"A hostile model. {text}"
    return Net()


class Exits(nn.Module):
    """Calls sys.exit(0) in forward, as if everything were fine."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sys.exit(0)


def exits_while_building() -> nn.Module:
    """A factory that exits before returning a model."""
    raise SystemExit(0)


class Forever(nn.Module):
    """Never returns."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        while True:
            x = x + 0


class ReturnsNone(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> None:
        self.fc(x)


class ReturnsText(ReturnsNone):
    def forward(self, x: torch.Tensor) -> str:  # type: ignore[override]
        return "done"


class ReturnsGenerator(ReturnsNone):
    def forward(self, x: torch.Tensor):  # type: ignore[override]
        yield self.fc(x)


class ChangesDtype(nn.Module):
    """Switches torch's default dtype to float64 in forward and leaves it so."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        torch.set_default_dtype(torch.float64)
        return self.fc(x)


class ChangesTorchSettings(ChangesDtype):
    """Leaves every process-wide torch setting it can changed: dtype, default device, grad, determinism, threads."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        torch.set_default_device("meta")
        torch.set_grad_enabled(True)
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.set_num_threads(1)
        return super().forward(x)


class Small(nn.Module):
    """A plain model the lock and embed tests change between runs (its width comes from WIDTH)."""

    WIDTH = 3

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, self.WIDTH)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


class ForeverMakingGarbage(nn.Module):
    """Never returns, and keeps the garbage collector (and its callbacks) busy."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        while True:
            cycle: list = []
            cycle.append(cycle)
            x = x + 0

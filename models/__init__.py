"""The reference zoo, installed as ``archdoc.zoo``.

One file per family, each read top to bottom: paper card, blocks, model,
configurations in the paper's terms, builders. Importing this package
registers every builder with :mod:`archdoc.registry`.
"""

from archdoc.zoo import (  # noqa: F401 (registers)
    alexnet,
    convnext,
    googlenet,
    lenet,
    maxvit,
    resnet,
    swin_transformer,
    vgg,
    vision_transformer,
)

__all__ = [
    "alexnet",
    "convnext",
    "googlenet",
    "lenet",
    "maxvit",
    "resnet",
    "swin_transformer",
    "vgg",
    "vision_transformer",
]

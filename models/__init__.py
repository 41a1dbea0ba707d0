"""The reference zoo, installed as ``archdoc.zoo``.

One file per family, each read top to bottom: paper card, blocks, model,
configurations in the paper's terms, builders. Importing this package
registers every builder with `archdoc.registry`.
"""

from archdoc.zoo import alexnet, googlenet, lenet, regnet, resnet, resnext, vgg, wide_resnet  # noqa: F401 (registers)

__all__ = ["alexnet", "googlenet", "lenet", "regnet", "resnet", "resnext", "vgg", "wide_resnet"]

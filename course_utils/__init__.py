"""Utilidades del curso «Clasificación de imágenes con CNN».

Submodules are imported on demand so that the data helpers work without
TensorFlow installed (``import course_utils.data`` never imports TensorFlow).
"""

__version__ = "0.1.0"

__all__ = [
    "config",
    "schema",
    "params",
    "layout",
    "backbones",
    "levels",
    "setup",
    "data",
    "synthetic",
    "inspection",
    "pipelines",
    "models",
    "course_model",
    "evaluation",
    "embeddings",
    "visualization",
    "artifacts",
]

"""Utilidades del curso «Clasificación de imágenes con CNN».

Submodules are imported on demand so that the data helpers work without
TensorFlow installed (``import course_utils.data`` never imports TensorFlow).
"""

__version__ = "0.1.0"

__all__ = [
    "config", "params", "setup", "data", "synthetic", "inspection", "pipelines",
    "models", "evaluation", "embeddings", "visualization", "artifacts",
]

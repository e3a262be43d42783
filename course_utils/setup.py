"""The one call at the top of every notebook: seeds, versions, GPU check, paths, plot defaults."""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

from . import config


def in_colab() -> bool:
    """True inside Google Colab."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def set_seed(seed: int = 42) -> None:
    """Seed Python, NumPy and the Keras backend (``keras.utils.set_random_seed``)."""
    import keras

    keras.utils.set_random_seed(int(seed))


GPU_HINT_COLAB = (
    "No hay GPU. En Colab: menú «Entorno de ejecución» → «Cambiar tipo de entorno de ejecución» → "
    "«GPU (T4)», y vuelve a ejecutar desde el principio. Sin GPU el cuaderno funciona con el "
    "conjunto de parámetros 'cpu', pero entrenar tarda varias veces más (minutos en lugar de segundos por época).")
GPU_HINT_LOCAL = (
    "No hay GPU: se usará la CPU con el conjunto de parámetros 'cpu' (cada cuaderno tarda a lo sumo "
    "unos 15 minutos en 2 núcleos).")


def gpu_hint(colab: bool, param_set: str) -> str:
    """What to do without a GPU, naming the parameter set actually in effect."""
    if colab:
        return GPU_HINT_COLAB.replace("'cpu'", f"'{param_set}'") if param_set != "gpu" else GPU_HINT_COLAB
    if param_set == "gpu":
        return ("No hay GPU y el conjunto de parámetros es 'gpu': en CPU tardará horas. "
                "Pon PARAM_SET = \"cpu\" en la celda de parámetros.")
    if param_set == "cpu":
        return GPU_HINT_LOCAL
    return f"No hay GPU: se usa la CPU con el conjunto de parámetros '{param_set}'."


@dataclass(frozen=True)
class SetupInfo:
    """What :func:`setup_notebook` found."""

    seed: int
    colab: bool
    gpus: tuple[str, ...]
    versions: dict[str, str]
    artifacts_dir: Path
    cache_dir: Path

    @property
    def gpu(self) -> bool:
        return bool(self.gpus)


def library_versions() -> dict[str, str]:
    """Versions of Python and of the libraries the course uses."""
    out = {"python": platform.python_version()}
    for name in ("tensorflow", "keras", "numpy", "sklearn", "matplotlib", "seaborn", "PIL"):
        try:
            mod = __import__(name)
            out[name] = getattr(mod, "__version__", "?")
        except ImportError:
            out[name] = "no instalado"
    return out


def plot_defaults() -> None:
    """Matplotlib defaults for the course: readable sizes, grid, no stray outputs."""
    import matplotlib as mpl

    mpl.rcParams.update({"figure.figsize": (8, 4.5), "figure.dpi": 90, "axes.grid": False,
                         "axes.titlesize": 12, "axes.labelsize": 11, "legend.fontsize": 9,
                         "image.cmap": "viridis"})


def setup_notebook(seed: int = 42, *, artifacts_dir: str | os.PathLike | None = None,
                   quiet: bool = False) -> SetupInfo:
    """Seed everything, print library versions and GPU status (with a hint), set paths and plots."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import warnings

    import tensorflow as tf

    # Keras warns on every fit() that a tf.data dataset ignores shuffle=True: ours shuffle themselves.
    warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")

    tf.get_logger().setLevel("ERROR")  # no retracing chatter in the lessons
    set_seed(seed)
    plot_defaults()
    gpus = tuple(d.name for d in tf.config.list_physical_devices("GPU"))
    info = SetupInfo(seed=seed, colab=in_colab(), gpus=gpus, versions=library_versions(),
                     artifacts_dir=config.artifacts_dir(artifacts_dir), cache_dir=config.cache_dir())
    if not quiet:
        print("Versiones: " + ", ".join(f"{k} {v}" for k, v in info.versions.items()))
        print(f"Entorno: {'Google Colab' if info.colab else 'local'}")
        if gpus:
            print(f"GPU disponible: {', '.join(gpus)}")
        else:
            from .params import default_param_set

            print(gpu_hint(info.colab, default_param_set(gpu_available=False)))
        print(f"Artefactos (modelos, resultados): {info.artifacts_dir}")
        print(f"Caché de datos: {info.cache_dir}")
    return info

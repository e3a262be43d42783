"""The one call at the top of every notebook: seeds, versions, GPU check, paths, plot defaults."""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

from . import config
from .params import ParameterError


def in_colab() -> bool:
    """True inside Google Colab."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


#: Where Colab mounts Google Drive (used only when ``ARTIFACTS_DIR = "drive"`` runs in Colab).
COLAB_DRIVE_MOUNT = Path("/content/drive")


def drive_artifacts_dir() -> Path:
    """Mount the student's Google Drive (Colab only) and return the course's artifacts folder in it.

    This is ``ARTIFACTS_DIR = "drive"``: notebooks 06 and 08, each in its own Colab
    runtime, then find the models that 03 and 05 saved.  Outside Colab it raises
    :class:`~course_utils.params.ParameterError`; a failed mount raises ``RuntimeError``;
    both in Spanish, before anything is written to the Drive.
    """
    if not in_colab():
        raise ParameterError(
            f'ARTIFACTS_DIR = "{config.DRIVE}" solo funciona en Google Colab (guarda los modelos en tu '
            "Google Drive). Fuera de Colab (JupyterLab, tu computadora) borra esa línea de la celda de "
            "parámetros o pon ARTIFACTS_DIR = None (carpeta artifacts/ del repositorio, que comparten todos "
            'los cuadernos), o la ruta de una carpeta tuya, p. ej. ARTIFACTS_DIR = "mis_modelos".'
        )
    try:
        from google.colab import drive

        drive.mount(str(COLAB_DRIVE_MOUNT))
    except Exception as exc:  # noqa: BLE001 - refused authorization, timeout, ...
        raise RuntimeError(
            f"No se pudo conectar tu Google Drive ({type(exc).__name__}: {exc}). Si rechazaste el permiso "
            "o tardaste en darlo, vuelve a ejecutar esta celda y acepta el acceso a Google Drive. O borra "
            f'ARTIFACTS_DIR = "{config.DRIVE}" de la celda de parámetros: los modelos se guardarán solo en '
            "este entorno de Colab y se pierden al cerrarlo. No se ha escrito nada en tu Drive."
        ) from exc
    my_drive = COLAB_DRIVE_MOUNT / "MyDrive"
    if not my_drive.is_dir():
        raise RuntimeError(
            f"Google Drive no muestra la carpeta {my_drive} (tu unidad). Reinicia la sesión («Entorno de "
            "ejecución» → «Reiniciar sesión») y vuelve a ejecutar el cuaderno; no se ha escrito nada en tu Drive."
        )
    return config.artifacts_dir(my_drive / config.DRIVE_ARTIFACTS_SUBFOLDER)


def set_seed(seed: int = 42) -> None:
    """Seed Python, NumPy and the Keras backend (``keras.utils.set_random_seed``)."""
    import keras

    keras.utils.set_random_seed(int(seed))


GPU_HINT_COLAB = (
    "No hay GPU. En Colab: menú «Entorno de ejecución» → «Cambiar tipo de entorno de ejecución» → "
    "«GPU (T4)», y vuelve a ejecutar desde el principio. Sin GPU el cuaderno funciona con el "
    "conjunto de parámetros 'cpu', pero entrenar tarda varias veces más (minutos en lugar de segundos por época)."
)
GPU_HINT_LOCAL = (
    "No hay GPU: se usará la CPU con el conjunto de parámetros 'cpu' (cada cuaderno tarda a lo sumo "
    "unos 15 minutos en 2 núcleos)."
)


def gpu_hint(colab: bool, param_set: str) -> str:
    """What to do without a GPU, naming the parameter set actually in effect."""
    if colab:
        return GPU_HINT_COLAB.replace("'cpu'", f"'{param_set}'") if param_set != "gpu" else GPU_HINT_COLAB
    if param_set == "gpu":
        return (
            "No hay GPU y el conjunto de parámetros es 'gpu': en CPU tardará horas. "
            'Pon PARAM_SET = "cpu" en la celda de parámetros.'
        )
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


#: First TensorFlow release built for NumPy 2 (older ones need numpy<2).
TF_NUMPY2 = (2, 18)


def _major_minor(version: str) -> tuple[int, int]:
    parts = (version.split(".") + ["0"])[:2]
    return tuple(int("".join(c for c in p if c.isdigit()) or 0) for p in parts)  # type: ignore[return-value]


def numpy_conflict(versions: dict[str, str] | None = None) -> str | None:
    """A Spanish explanation when the installed TensorFlow cannot load the installed NumPy, else None.

    ``versions`` (``{"tensorflow": ..., "numpy": ...}``) defaults to the installed
    distributions; read from their metadata, without importing either.
    """
    if versions is None:
        from importlib import metadata

        try:
            versions = {name: metadata.version(name) for name in ("tensorflow", "numpy")}
        except metadata.PackageNotFoundError:
            return None
    tf_v, np_v = versions["tensorflow"], versions["numpy"]
    if _major_minor(tf_v) < TF_NUMPY2 and _major_minor(np_v)[0] >= 2:
        return (
            f"TensorFlow {tf_v} necesita NumPy 1.x, pero hay instalado NumPy {np_v} (lo habrá actualizado "
            f'otro `pip install`). Arréglalo con `pip install "numpy<2"` (en Colab, en una celda: '
            f'`!pip install "numpy<2"`), reinicia el núcleo (en Colab: «Entorno de ejecución» → '
            f"«Reiniciar sesión») y vuelve a ejecutar el cuaderno desde el principio. O usa TensorFlow 2.18 "
            f"o posterior, que funciona con NumPy 2."
        )
    return None


def plot_defaults() -> None:
    """Matplotlib defaults for the course: readable sizes, grid, no stray outputs."""
    import matplotlib as mpl

    mpl.rcParams.update(
        {
            "figure.figsize": (8, 4.5),
            "figure.dpi": 90,
            "axes.grid": False,
            "axes.titlesize": 12,
            "axes.labelsize": 11,
            "legend.fontsize": 9,
            "image.cmap": "viridis",
        }
    )


def setup_notebook(seed: int = 42, *, artifacts_dir: str | os.PathLike | None = None, quiet: bool = False) -> SetupInfo:
    """Seed everything, print library versions and GPU status (with a hint), set paths and plots."""
    import warnings

    from .quiet import import_tensorflow

    problem = numpy_conflict()
    if problem:
        raise RuntimeError(problem)

    tf = import_tensorflow()  # without TensorFlow's C++ start-up lines in the first cell

    # Keras warns on every fit() that a tf.data dataset ignores shuffle=True: ours shuffle themselves.
    warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")

    tf.get_logger().setLevel("ERROR")  # no retracing chatter in the lessons
    set_seed(seed)
    plot_defaults()
    gpus = tuple(d.name for d in tf.config.list_physical_devices("GPU"))
    info = SetupInfo(
        seed=seed,
        colab=in_colab(),
        gpus=gpus,
        versions=library_versions(),
        artifacts_dir=config.artifacts_dir(artifacts_dir),
        cache_dir=config.cache_dir(),
    )
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

"""The one call after a notebook's ``parameters`` cell: parameters, seeds, folders, data, one small table.

``P, DATA, ART = start("02_mlp", globals())`` reads the upper-case parameters the
``parameters`` cell (or papermill) defined, fills the rest from the parameter set
(:func:`course_utils.params.resolve.resolve`), checks the folder where models go
(Google Drive with ``ARTIFACTS_DIR = "drive"`` in Colab), sets the seeds and plot
defaults, finds the data and prints what is in use: the values, how long the notebook
takes (from the series runs recorded with the course, ``recorded/series_times.json``:
per parameter set and precision; the student sees the minutes and the kind of machine,
the hardware details and the load stay in the record and the README), the data, and
what to do without a GPU.  The notebook's Colab install line stays in the cell itself
(the package is not there yet when it runs).
"""

from __future__ import annotations

import errno
import os
import platform
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

from . import config
from .artifacts import recorded, shown_path
from .data import course_data
from .data.course_data import DataInfo
from .data.loaders import memory_warning
from .hardware import choose_precision, default_param_set
from .params.resolve import ParameterError, Params, namespace_values, resolve
from .params.schema import BY_NAME, DRIVE, DRIVE_ARTIFACTS_SUBFOLDER
from .quiet import import_tensorflow

SMOKE_NOTE = (
    "Conjunto 'smoke': muy pocas imágenes y épocas para comprobar en segundos que todo funciona; "
    "sus resultados no significan nada."
)


class Course(NamedTuple):
    """What :func:`start` returns: ``P, DATA, ART = start(...)``."""

    params: Params
    data: DataInfo
    artifacts: Path


def artifacts_folder(value: str | None) -> Path:
    """The folder ``ARTIFACTS_DIR`` names: ``"drive"`` mounts Google Drive (Colab), else :func:`config.artifacts_dir`,
    checked to be a folder where files can be written (before any training)."""
    return drive_artifacts_dir() if value == DRIVE else writable_artifacts_dir(value)


#: The precision in a student's words (the machine's details stay in the records).
PRECISION_WORDS = {
    "float32": "float32",
    "mixed_bfloat16": "mixed_bfloat16 (cálculos en 16 bits: esta CPU los hace rápido)",
    "mixed_float16": "mixed_float16 (cálculos en 16 bits en la GPU)",
}


def table(p: Params, info: DataInfo, art: Path) -> str:
    """What the student needs: the cell's values, how long the notebook takes, the data and where models go."""
    shown = ("param_set", *BY_NAME[p.notebook].cell_parameters)
    rows = [(name.upper(), repr(p[name])) for name in shown]
    policy = p.extra["precision"] if "precision" in p.extra else choose_precision().policy
    if "precision" in p.extra:
        rows.append(("Precisión", PRECISION_WORDS.get(policy, policy)))
    if p.param_set != "smoke":
        rows.append(("Duración", expected_minutes(p.notebook, p.param_set, policy) or "no medida todavía"))
    where = "" if info.kind == "local" else f", en {shown_path(config.cache_dir(), from_home=True)}"
    rows.append(("Datos", f"{info.description}{where}" + (f". Aviso: {info.note}" if info.note else "")))
    rows.append(("Modelos", shown_path(art)))
    if p.values.get("main_backbone", "auto") != "auto":
        from .models.backbones import weights_description

        rows.append(("Modelo base", weights_description(p.main_backbone, p.weights)))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def start(notebook: str, namespace: Mapping[str, Any] | None = None, *, quiet: bool = False) -> Course:
    """Resolve ``notebook``'s parameters from ``namespace``, seed, fetch the data, print one table."""
    import_tensorflow()  # first, so that no TensorFlow start-up line reaches the cell
    p = resolve(notebook, **namespace_values(notebook, namespace))
    art = artifacts_folder(p.artifacts_dir)  # before the data: a Drive mount asks the student first
    info = setup_notebook(p.seed, artifacts_dir=art, quiet=True)
    data_info = course_data.get_course_data(p.data_source)
    p = with_main_backbone(p)
    if not quiet:
        print(table(p, data_info, art))
        hint = gpu_hint(info.colab, p.param_set) if not info.gpu else f"GPU: {', '.join(info.gpus)}"
        print(hint)
        if p.param_set == "smoke":
            print(SMOKE_NOTE)
        if "epochs" in BY_NAME[notebook].uses and (too_big := memory_warning(p.img_size, p.batch_size)):
            print(too_big)
    return Course(p, data_info, art)


# --------------------------------------------------------------------------- the notebook's machine: seeds, versions, GPU, Drive, plots


def with_main_backbone(p: Params) -> Params:
    """``p`` with ``main_backbone="auto"`` replaced by the backbone whose weights this machine can have.

    :func:`course_utils.models.backbones.choose_main_backbone`: EfficientNetB0 when Keras can
    download (or a mirror has) its ImageNet weights, else EfficientNet-Lite0 (a pip package).
    Notebooks without that parameter are returned as they are.
    """
    if p.values.get("main_backbone") != "auto":
        return p
    from .models.backbones import choose_main_backbone

    side = p.values.get("img_size", 224)
    chosen = choose_main_backbone("auto", p.weights, (side, side, 3))
    return replace(p, values={**p.values, "main_backbone": chosen})


def in_colab() -> bool:
    """True inside Google Colab."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def drive_artifacts_dir() -> Path:
    """Mount the student's Google Drive (Colab only) and return the course's artifacts folder in it.

    This is ``ARTIFACTS_DIR = "drive"``: notebooks 06 and 08, each in its own Colab
    runtime, then find the models that 03 and 05 saved.  Outside Colab it raises
    :class:`~course_utils.params.resolve.ParameterError`; a failed mount raises ``RuntimeError``;
    both in Spanish, before anything is written to the Drive.
    """
    if not in_colab():
        raise ParameterError(
            f'ARTIFACTS_DIR = "{DRIVE}" solo funciona en Google Colab (guarda los modelos en tu '
            "Google Drive). Fuera de Colab (JupyterLab, tu computadora) borra esa línea de la celda de "
            "parámetros o pon ARTIFACTS_DIR = None (carpeta artifacts/ del repositorio, que comparten todos "
            'los cuadernos), o la ruta de una carpeta tuya, p. ej. ARTIFACTS_DIR = "mis_modelos".'
        )
    try:
        from google.colab import drive

        drive.mount(str(config.COLAB_DRIVE_MOUNT))
    except Exception as exc:  # noqa: BLE001 - refused authorization, timeout, ...
        raise RuntimeError(
            f"No se pudo conectar tu Google Drive ({type(exc).__name__}: {exc}). Si rechazaste el permiso "
            "o tardaste en darlo, vuelve a ejecutar esta celda y acepta el acceso a Google Drive. O borra "
            f'ARTIFACTS_DIR = "{DRIVE}" de la celda de parámetros: los modelos se guardarán solo en '
            "este entorno de Colab y se pierden al cerrarlo. No se ha escrito nada en tu Drive."
        ) from exc
    my_drive = config.COLAB_DRIVE_MOUNT / "MyDrive"
    if not my_drive.is_dir():
        raise RuntimeError(
            f"Google Drive no muestra la carpeta {my_drive} (tu unidad). Reinicia la sesión («Entorno de "
            "ejecución» → «Reiniciar sesión») y vuelve a ejecutar el cuaderno; no se ha escrito nada en tu Drive."
        )
    return config.artifacts_dir(my_drive / DRIVE_ARTIFACTS_SUBFOLDER)


def set_seed(seed: int) -> None:
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


def setup_notebook(seed: int, *, artifacts_dir: str | os.PathLike | None = None, quiet: bool = False) -> SetupInfo:
    """Seed everything, print library versions and GPU status (with a hint), set paths and plots."""
    import warnings

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
            print(gpu_hint(info.colab, default_param_set(gpu_available=False)))
        print(f"Artefactos (modelos, resultados): {info.artifacts_dir}")
        print(f"Caché de datos: {info.cache_dir}")
    return info


# --------------------------------------------------------------------------- the artifacts folder, checked before any training


class FolderNotWritableError(ValueError):
    """A folder the notebook must write to cannot be created or written (a file, read-only, no permission)."""


def _fail(value: object, path: Path, why: str) -> FolderNotWritableError:
    return FolderNotWritableError(
        f"ARTIFACTS_DIR={value!r}: {why}. Los modelos y resultados no se podrían guardar al terminar de "
        f"entrenar. Pon en ARTIFACTS_DIR una carpeta donde puedas escribir (o deja None; también puedes "
        f"definir {config.ENV_ARTIFACTS_DIR}) y vuelve a ejecutar la celda. No se modificó nada."
    )


def writable_artifacts_dir(value: str | os.PathLike | None) -> Path:
    """The artifacts folder ``value`` names (see :func:`course_utils.config.artifacts_dir`), created and
    proven writable by writing and deleting a small file; :class:`FolderNotWritableError` otherwise."""
    try:
        path = config.artifacts_dir(value)
    except (FileExistsError, NotADirectoryError) as exc:
        where = Path(exc.filename or str(value))
        raise _fail(value, where, f"{where} es un archivo, no una carpeta") from exc
    except OSError as exc:
        raise _fail(value, Path(str(value)), f"no se puede crear la carpeta ({exc.strerror})") from exc
    if not path.is_dir():
        raise _fail(value, path, f"{path} no es una carpeta")
    probe = path / f".escritura-{os.getpid()}.partial.tmp"
    try:
        fd = os.open(probe, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
        os.close(fd)
    except OSError as exc:
        why = "el disco está lleno" if exc.errno == errno.ENOSPC else exc.strerror
        raise _fail(value, path, f"no se puede escribir en {path} ({why})") from exc
    finally:
        if probe.exists():
            probe.unlink()
    return path


# --------------------------------------------------------------------------- how long a notebook takes

#: The recorded series times (``course_utils/recorded/<name>.json``, written by ``python -m course_tools.series_times``).
SERIES_TIMES = "series_times"
#: The machine of the recorded ``cpu`` series, in a student's words.
CPU_MACHINE = "una computadora de 2 núcleos sin GPU"


def _minutes(seconds: float) -> str:
    minutes = seconds / 60
    return f"{minutes:.0f}" if minutes >= 1.5 else f"{minutes:.1f}".replace(".", ",")


def expected_minutes(notebook: str, param_set: str, precision: str, times: dict | None = None) -> str | None:
    """``"≈ 7 min en una computadora de 2 núcleos sin GPU"``, or None when no run of this set was recorded.

    The record of ``precision`` is used when there is one, else the float32 record (a CPU
    without bf16 units: the slower case, so the student's run is not longer than said).
    """
    times = recorded(SERIES_TIMES) if times is None else times
    by_precision = (times or {}).get(param_set) or {}
    entry = by_precision.get(precision) or by_precision.get("float32")
    if not entry or notebook not in entry.get("seconds", {}):
        return None
    where = CPU_MACHINE if param_set == "cpu" else f"con el conjunto '{param_set}'"
    return f"≈ {_minutes(entry['seconds'][notebook])} min en {where}"

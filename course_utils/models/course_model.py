"""The CNN that notebooks 06 and 08 build on: saved by 03/05, downloaded, or trained briefly.

:func:`find_course_cnn` finds (or makes) its ``.keras`` file; the notebooks load it themselves
with ``keras.models.load_model``.  The model builders live in :mod:`course_utils.models.networks`.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, NamedTuple

from ..artifacts import ModelLoadError, load_model, save_model, shown_path
from ..data.course_data import fetch
from ..data.download import DownloadError
from ..data.loaders import load_datasets
from ..params.schema import MAX_IMG_SIZE, SEED
from .networks import build_cnn_improved

#: Where notebooks 03 and 05 save their CNNs, relative to the artifacts folder.
SAVED_MODELS = {
    "cnn": "models/03_cnn.keras",
    "cnn_aumento": "models/04_cnn_aumento.keras",
    "cnn_mejorada": "models/05_cnn_mejorada.keras",
    "cnn_mejorada_fotos": "models/05_cnn_mejorada_fotos.keras",
}
#: Smallest input side accepted for a saved model (the smallest IMG_SIZE of any notebook).
MIN_MODEL_SIZE = 8
#: Where :func:`find_course_cnn` keeps the CNN of its short fallback training run.
FALLBACK_MODEL = "models/cnn_entrenamiento_corto.keras"


class FoundModel(NamedTuple):
    """Where the course CNN is (a ``.keras`` file) and a Spanish sentence saying where it came from."""

    path: Path
    source: str


def find_course_cnn(
    artifacts_dir: Any,
    data_root: Any = None,
    *,
    prefer: tuple[str, ...] = ("cnn_mejorada", "cnn"),
    img_size: int = 128,
    batch_size: int = 32,
    max_per_class: int | None = None,
    seed: int = SEED,
    fallback_epochs: int = 5,
    allow_download: bool = True,
) -> FoundModel:
    """The ``.keras`` file of the CNN a later notebook builds on (load it with ``keras.models.load_model``).

    Tries, in order: the models saved by notebooks 05 and 03 in ``artifacts_dir``; the CNN of
    a short run made before; the course's trained model (downloaded, ``cnn_improved_model``);
    and, when ``data_root`` is given, a short training run of
    :func:`~course_utils.models.networks.build_cnn_improved` on its ``train``/``validation`` splits at
    ``img_size`` (saved where the next notebook finds it).  A file that does not load, or is not
    a dog/cat CNN the course can use (:func:`checked_course_model`), is skipped with a warning
    and left where it is.  The model expects pixels rescaled to [0, 1] at its own input size
    (``model.input_shape``), and keeps the precision policy it was trained under.
    """
    art = Path(artifacts_dir)
    saved = [(art / SAVED_MODELS[key], "modelo guardado por el cuaderno {nb} ({path})") for key in prefer]
    saved.append((art / FALLBACK_MODEL, "CNN de un entrenamiento corto hecho antes ({path})"))
    for path, source in saved:
        if path.exists():
            try:
                checked_course_model(load_model(path), path)
                return FoundModel(path, source.format(nb=path.stem[:2], path=shown_path(path)))
            except ModelLoadError as exc:
                warnings.warn(str(exc), stacklevel=2)
    print(f"No se encontró el modelo de los cuadernos 03/05 en {shown_path(art / 'models')}.")
    if allow_download:
        try:
            return FoundModel(_downloaded_model_path(), "modelo entrenado del curso (descargado)")
        except (DownloadError, ModelLoadError) as exc:
            print("Tampoco se pudo descargar el modelo entrenado del curso:\n" + str(exc).splitlines()[0])
    if data_root is None:
        raise ModelLoadError(
            "No hay modelo disponible: ejecuta primero 05_hacia_el_90.ipynb (o 03_cnn.ipynb), "
            "o conéctate a internet para descargar el modelo entrenado del curso."
        )
    path = _train_fallback(art / FALLBACK_MODEL, data_root, img_size, batch_size, max_per_class, seed, fallback_epochs)
    return FoundModel(path, f"CNN entrenada aquí mismo durante {fallback_epochs} épocas (entrenamiento corto)")


def _train_fallback(
    path: Path, data_root: Any, img_size: int, batch_size: int, max_per_class: int | None, seed: int, epochs: int
) -> Path:
    """Train :func:`~course_utils.models.networks.build_cnn_improved` for a few epochs and save it to ``path``."""
    import keras

    splits = load_datasets(
        data_root, img_size, batch_size, max_per_class=max_per_class, seed=seed, splits=("train", "validation")
    )
    print(f"Se entrena una CNN corta ({epochs} épocas) para poder seguir con la lección.")
    model = build_cnn_improved((img_size, img_size, 3))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(splits["train"].dataset, validation_data=splits["validation"].dataset, epochs=epochs, verbose=2)
    return save_model(model, path)


def _downloaded_model_path() -> Path:
    """The course's trained CNN from the cache or a mirror, checked; a cached copy that does not load (an HTML
    page saved as ``.keras``) is set aside as ``<name>.damaged`` and fetched once more."""
    import os

    for attempt in range(2):
        path = fetch("cnn_improved_model", progress=True)
        try:
            checked_course_model(load_model(path), path)
            return Path(path)
        except ModelLoadError:
            os.replace(path, path.with_name(f"{path.name}.damaged"))  # one copy aside; the next fetch is fresh
            if attempt:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def checked_course_model(model: Any, path: Any) -> Any:
    """``model`` if notebooks 06 and 08 can use it (square RGB input of a fixed size the course accepts,
    one output: dog or cat), else :class:`ModelLoadError` saying why and what to do."""
    shape = tuple(getattr(model, "input_shape", ()) or ())
    out = tuple(getattr(model, "output_shape", ()) or ())
    why = None
    if len(shape) != 4 or shape[1] is None or shape[2] is None:
        why = f"su entrada {shape} no tiene un tamaño fijo de imagen (los cuadernos 06 y 08 lo necesitan)"
    elif shape[3] != 3:
        why = f"espera imágenes de {shape[3]} canal(es) {shape[1:]} y las del curso son RGB (3 canales)"
    elif shape[1] != shape[2] or not MIN_MODEL_SIZE <= shape[1] <= MAX_IMG_SIZE:
        why = (
            f"espera imágenes de {shape[1]}x{shape[2]} px; el curso usa imágenes cuadradas de "
            f"{MIN_MODEL_SIZE} a {MAX_IMG_SIZE} px"
        )
    elif out[-1:] != (1,):
        why = f"da {out[-1] if out else '?'} salidas y el curso clasifica en dos clases con una sola (perro o gato)"
    if why:
        raise ModelLoadError(
            f"El modelo {path} no sirve para este cuaderno: {why}. No se borró; se ignora. Vuelve a ejecutar "
            "05_hacia_el_90.ipynb (o 03_cnn.ipynb) para guardar ahí el modelo del curso, o mueve ese archivo."
        )
    return model

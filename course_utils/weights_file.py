"""``WEIGHTS`` given as a path: the file exists, is a Keras weights file and fits the backbone it loads into."""

from __future__ import annotations

import os
from pathlib import Path


class WeightsFileError(ValueError):
    """A weights file does not exist, is not a Keras weights file, or belongs to another model."""


#: ``WEIGHTS`` values that are not paths.
NAMED_WEIGHTS = (None, "imagenet", "random", "auto")


def is_weights_path(value: object) -> bool:
    """True when ``WEIGHTS`` names a file rather than ``'imagenet'``/``None``."""
    return isinstance(value, (str, os.PathLike)) and value not in NAMED_WEIGHTS


def weights_file_problem(value: str | os.PathLike, backbones: tuple[str, ...] | list[str] | str = ()) -> str | None:
    """What is wrong with ``WEIGHTS=value`` as a path, in Spanish, or None when it can be tried."""
    import h5py

    path = Path(value).expanduser()
    ways = "Usa WEIGHTS='imagenet', WEIGHTS=None (pesos aleatorios) o la ruta de un archivo .weights.h5"
    if not path.is_file():
        what = "es una carpeta" if path.is_dir() else "no existe"
        return f"WEIGHTS={str(value)!r}: ese archivo {what}. {ways} que exista."
    try:
        ok = h5py.is_hdf5(path)
        if ok:
            with h5py.File(path, "r") as f:
                ok = "layers" in f or "layer_names" in f.attrs or "model_weights" in f
    except OSError:
        ok = False
    if not ok:
        return (
            f"WEIGHTS={str(value)!r} no es un archivo de pesos de Keras (se guarda con "
            f"modelo.save_weights('nombre.weights.h5')). {ways}."
        )
    names = [backbones] if isinstance(backbones, str) else list(dict.fromkeys(backbones or ()))
    if len(names) > 1:
        return (
            f"WEIGHTS={str(value)!r} es un archivo de pesos, que sirve para un solo modelo base, pero BACKBONES "
            f"tiene {len(names)}: {', '.join(names)}. Deja en BACKBONES solo el modelo base de ese archivo "
            f"(p. ej. BACKBONES=({names[0]!r},)) o usa WEIGHTS='imagenet' o None."
        )
    return None


def weights_mismatch(constructor: str, value: str | os.PathLike, exc: BaseException) -> WeightsFileError:
    """The Spanish error when Keras cannot load ``value`` into ``constructor``."""
    problem = weights_file_problem(value)
    if problem:
        return WeightsFileError(problem)
    detail = str(exc).splitlines()[0][:200]
    return WeightsFileError(
        f"Los pesos de {value} no corresponden a {constructor} ({type(exc).__name__}: {detail}). Un archivo de "
        f"pesos sirve solo para el modelo base con el que se guardó: elige ese modelo en BACKBONES, o usa "
        "WEIGHTS='imagenet' o WEIGHTS=None."
    )

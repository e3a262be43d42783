"""Resolving and checking a notebook's parameters: the values of a set, the cell's changes, Spanish errors.

What each parameter is and accepts lives in :mod:`course_utils.params.schema`; this
module fills a notebook's parameters from the chosen set (:func:`resolve`), checks them
(:func:`check`, raising :class:`ParameterError` in Spanish on a bad value), and checks a
``WEIGHTS`` given as a path: the file exists, is a Keras weights file and fits the one
backbone it loads into (:func:`weights_file_problem`).

* ``smoke``: CI. The whole series in a few minutes on 2 CPU cores; checks that
  everything runs, not what a model can learn.
* ``cpu``: a student without GPU. Each notebook in about 15 minutes at most on
  2 cores, still teaching the lesson's point.
* ``gpu``: the lesson's full settings or better.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import ENV_PARAM_SET
from ..hardware import choose_precision, default_param_set, forced_precision
from .schema import (
    BACKBONES,
    BY_NAME,
    COMMON,
    MAX_IMG_SIZE,
    PARAM_SET_NAMES,
    PARAMETERS,
    SETS,
    WEIGHTS_CHOICES,
    Param,
    suggest,
    weights_ways,
)

NOTEBOOKS: tuple[str, ...] = tuple(BY_NAME)
#: Smallest image side each notebook's model accepts (from the schema).
MIN_IMG_SIZE: dict[str, int] = {name: nb.min_img_size for name, nb in BY_NAME.items()}


class ParameterError(ValueError):
    """A notebook parameter has a value the notebook cannot use."""


@dataclass(frozen=True)
class Params:
    """Resolved parameters of one notebook run: every parameter its schema entry has, none declared here.

    Every value can be read as ``P.name`` or ``P["name"]``; :attr:`extra` holds the
    notebook's own parameters (those outside :data:`~course_utils.params.schema.COMMON`).
    """

    notebook: str
    param_set: str
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.img_size, self.img_size, 3)

    @property
    def extra(self) -> dict[str, Any]:
        """The notebook's own parameters (not common to every notebook)."""
        return {k: v for k, v in self.values.items() if k not in COMMON}

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("values", {})
        if name in values:
            return values[name]
        raise AttributeError(f"{type(self).__name__} no tiene el parámetro {name!r}")

    def __getitem__(self, key: str) -> Any:
        """``P["fine_tune_epochs"]`` or ``P["img_size"]``."""
        values = self.as_dict()
        if key not in values:
            raise KeyError(key)
        return values[key]

    def as_dict(self) -> dict[str, Any]:
        return {"notebook": self.notebook, "param_set": self.param_set, **self.values}


def resolve(notebook: str, param_set: str | None = "auto", **given: Any) -> Params:
    """Fill ``notebook``'s parameters from ``param_set`` and check them all.

    ``given`` holds any parameter of the notebook's schema entry (the common ones and its
    own).  ``None`` means "the set's value" for every parameter (:data:`~course_utils.params.schema.NONE_MEANS`),
    and a parameter the set does not give takes its ``Param.default``.  ``precision="auto"``
    becomes the policy :func:`course_utils.hardware.choose_precision` picks for this machine.
    """
    if notebook not in BY_NAME:
        raise ParameterError(f"Cuaderno desconocido: {notebook!r}. Opciones: {', '.join(NOTEBOOKS)}.")
    try:
        forced_precision()  # a bad $COURSE_PRECISION stops every notebook here, before any data is fetched
    except ValueError as exc:
        raise ParameterError(str(exc)) from None
    if param_set in (None, "auto"):
        param_set = default_param_set()
        if param_set not in PARAM_SET_NAMES:  # only $COURSE_PARAM_SET gives a name that is not a set
            like = (
                f" (¿quisiste decir {param_set.strip().lower()!r}?)"
                if param_set.strip().lower() in PARAM_SET_NAMES
                else ""
            )
            raise ParameterError(
                f"La variable de entorno {ENV_PARAM_SET}={param_set!r}{like}, que decide PARAM_SET='auto', no es un "
                f"conjunto de parámetros. Pon en ella uno de: {', '.join(PARAM_SET_NAMES)}; o quítala (`unset "
                f"{ENV_PARAM_SET}`, o del entorno del cuaderno) para que 'auto' elija según la máquina; o escribe "
                "el conjunto en la celda (PARAM_SET='cpu')."
            )
    if param_set not in PARAM_SET_NAMES:
        raise ParameterError(f"PARAM_SET={param_set!r} no existe. Usa uno de: {', '.join(PARAM_SET_NAMES)} (o 'auto').")
    entry = BY_NAME[notebook]
    names = (*COMMON, *entry.parameters)
    unknown = set(given) - set(names)
    if unknown:
        raise ParameterError(
            f"Parámetro(s) desconocido(s) para {notebook}: {', '.join(sorted(unknown))}. "
            f"Este cuaderno acepta: {', '.join(sorted(entry.parameters)) or 'ninguno adicional'}."
        )
    from_set = {**SETS[param_set], **entry.values[param_set]}
    values = {name: PARAMETERS[name].default for name in names} | from_set
    values |= {k: v for k, v in given.items() if v is not None}
    if values.get("precision") == "auto":
        values["precision"] = choose_precision().policy
    params = Params(notebook=notebook, param_set=param_set, values=values)
    check(params)
    return params


def namespace_values(notebook: str, namespace: Mapping[str, Any] | None) -> dict[str, Any]:
    """The arguments of :func:`resolve` that a notebook's cell defined (upper-case names in ``namespace``).

    Every parameter of the notebook's schema entry is looked up; one the cell does not define
    is ``None`` (the set's value), as if the cell said ``NAME = None``.
    """
    ns = dict(namespace or {})
    if notebook not in BY_NAME:
        raise ParameterError(f"Cuaderno desconocido: {notebook!r}. Opciones: {', '.join(NOTEBOOKS)}.")
    names = (*COMMON, *BY_NAME[notebook].parameters)
    return {"param_set": ns.get("PARAM_SET", "auto")} | {name: ns.get(name.upper()) for name in names}


def _readable(n: int) -> str:
    """``4294967295`` as ``2**32 - 1``; other numbers as they are."""
    k = (n + 1).bit_length() - 1
    return f"2**{k} - 1" if n > 10**6 and n + 1 == 2**k else str(n)


def check_value(name: str, spec: Param, value: Any, example: Any = None) -> None:
    """Raise :class:`ParameterError` (Spanish, saying what to write) unless ``value`` fits ``spec``.

    ``example`` (a value that works, e.g. the ``cpu`` set's) is suggested where it helps.
    """
    label = name.upper()
    if spec.kind in ("int", "optional_int"):
        if value is None and spec.kind == "optional_int":
            return
        if isinstance(value, bool) or not isinstance(value, int) or value < spec.minimum:
            if spec.minimum == 1:
                what = "un entero positivo"
                if spec.maximum is not None:
                    what += f" de {_readable(spec.maximum)} como máximo"
            elif spec.maximum is not None:
                what = f"un entero entre {spec.minimum} y {_readable(spec.maximum)}"
            else:
                what = f"un entero mayor o igual que {spec.minimum}"
            hint = (
                f" Deja {suggest(name, None)}."
                if spec.kind == "optional_int"
                else f" Prueba con {label}={example}."
                if example is not None
                else ""
            )
            raise ParameterError(f"{label}={value!r} no es válido: debe ser {what} ({spec.help}).{hint}")
        if spec.maximum is not None and value > spec.maximum:
            if spec.maximum == MAX_IMG_SIZE:
                why = (
                    f"cada imagen en memoria ocuparía {value * value * 12 / 1e6:,.0f} MB. "
                    f"Usa {label}=150, o 224 para los modelos preentrenados"
                )
            else:
                why = f"Prueba con {label}={example}" if example is not None else "usa un valor menor"
            raise ParameterError(
                f"{label}={value!r} es demasiado grande: el máximo es {_readable(spec.maximum)} ({spec.help}); {why}."
            )
    elif spec.kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise ParameterError(f"{label}={value!r} no es válido: debe ser un número ({spec.help}).")
        if value < spec.minimum or (spec.maximum is not None and value > spec.maximum):
            top = f" y {spec.maximum}" if spec.maximum is not None else " o más"
            raise ParameterError(
                f"{label}={value!r} está fuera de rango: debe estar entre {spec.minimum}{top} ({spec.help})."
            )
    elif spec.kind == "bool":
        if not isinstance(value, bool):
            raise ParameterError(f"{label}={value!r} debe ser True o False ({spec.help}).")
    elif spec.kind == "choice":
        if value not in spec.choices:
            raise ParameterError(f"{label}={value!r} no existe. Opciones: {', '.join(spec.choices)}.")
    elif spec.kind == "choices":
        items = [value] if isinstance(value, str) else list(value or ())
        if not items:
            raise ParameterError(f"{label} está vacío. Opciones: {', '.join(spec.choices)}.")
        for item in items:
            if item not in spec.choices:
                raise ParameterError(
                    f"Modelo base desconocido: {item!r} en {label}. Opciones: {', '.join(spec.choices)}."
                )
    elif spec.kind == "text":
        if value is not None and (not isinstance(value, (str, os.PathLike)) or not str(value).strip()):
            like = f"p. ej. {label}={example!r}, " if isinstance(example, str) else ""
            raise ParameterError(
                f"{label}={value!r} no es válido ({spec.help}): escribe el valor como texto entre comillas "
                f"({like}o la ruta de una carpeta) o deja None."
            )
    elif spec.kind == "weights":
        if value not in spec.choices and not str(value).endswith(".h5"):
            raise ParameterError(f"{label}={value!r} no es válido. {weights_ways()}.")
    elif spec.kind != "text":
        raise ParameterError(f"{label}: el esquema declara el tipo {spec.kind!r}, que params.check no sabe comprobar.")


def check(p: Params) -> None:
    """Raise :class:`ParameterError` with a Spanish hint if a value cannot work."""
    entry = BY_NAME[p.notebook]
    values = p.as_dict()
    examples = {k: v.default for k, v in PARAMETERS.items()} | SETS["cpu"] | entry.values["cpu"]
    for name in (*COMMON, *entry.parameters):
        check_value(name, PARAMETERS[name], values[name], examples.get(name))
    if is_weights_path(p.weights) and (problem := weights_file_problem(p.weights, values.get("backbones", ()))):
        raise ParameterError(problem)
    minimum = MIN_IMG_SIZE[p.notebook]
    if p.img_size < minimum:
        raise ParameterError(
            f"IMG_SIZE={p.img_size} es demasiado pequeño para el modelo de {p.notebook}: "
            f"las capas de convolución y pooling necesitan al menos {minimum} px. Usa IMG_SIZE>={minimum}."
        )


def table(p: Params) -> str:
    """The parameters as a small two-column text table."""
    rows = [(k, repr(v)) for k, v in p.as_dict().items()]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


# --------------------------------------------------------------------------- WEIGHTS as a path


class WeightsFileError(ValueError):
    """A weights file does not exist, is not a Keras weights file, or belongs to another model."""


def is_weights_path(value: object) -> bool:
    """True when ``WEIGHTS`` names a file rather than one of :data:`~course_utils.params.schema.WEIGHTS_CHOICES`."""
    return isinstance(value, (str, os.PathLike)) and value not in WEIGHTS_CHOICES


def weights_file_problem(value: str | os.PathLike, backbones: tuple[str, ...] | list[str] | str = ()) -> str | None:
    """What is wrong with ``WEIGHTS=value`` as a path, in Spanish, or None when it can be tried."""
    import h5py

    path = Path(value).expanduser()
    ways = weights_ways()
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
    others = " o ".join(suggest("weights", v) for v in WEIGHTS_CHOICES)
    if len(names) > 1:
        return (
            f"WEIGHTS={str(value)!r} es un archivo de pesos, que sirve para un solo modelo base, pero BACKBONES "
            f"tiene {len(names)}: {', '.join(names)}. Deja en BACKBONES solo el modelo base de ese archivo "
            f"({_which_backbone(path)}) o usa {others}."
        )
    return None


def _which_backbone(path: Path) -> str:
    """``BACKBONES=('name',)`` for the backbone whose weights ``path`` holds, or how to find it out."""
    found = saved_backbone(path)
    if found is None:
        return "el mismo con el que lo guardaste; no se reconoce como ninguno de " + ", ".join(BACKBONES)
    return f"el archivo tiene los pesos de {BACKBONES[found].constructor}: BACKBONES=({found!r},)"


def saved_backbone(path: str | os.PathLike) -> str | None:
    """The backbone of :data:`~course_utils.params.schema.BACKBONES` whose weights ``path`` holds, or None.

    Compared by the shapes of the variables (a file saved from a model with a head on the
    backbone holds the backbone's variables and a few more); the backbone with most variables
    that all appear in the file wins.
    """
    from collections import Counter

    import h5py

    shapes: Counter = Counter()
    try:
        with h5py.File(path, "r") as f:
            f.visititems(lambda _name, obj: shapes.update([obj.shape]) if isinstance(obj, h5py.Dataset) else None)
    except OSError:
        return None
    fits = [(sum(want.values()), name) for name, want in _backbone_shapes().items() if not want - shapes]
    return max(fits)[1] if fits else None


@functools.cache
def _backbone_shapes() -> dict[str, Any]:
    """For each backbone, the shapes of its variables without its top (random weights, built once)."""
    import importlib
    from collections import Counter

    out = {}
    for name, backbone in BACKBONES.items():  # keras.applications, or the course's module (EfficientNet-Lite0)
        model = getattr(importlib.import_module(backbone.module), backbone.constructor)(
            weights=None, include_top=False, input_shape=(96, 96, 3)
        )
        out[name] = Counter(tuple(v.shape) for v in model.weights)
    return out


def weights_mismatch(constructor: str, value: str | os.PathLike, exc: BaseException) -> WeightsFileError:
    """The Spanish error when Keras cannot load ``value`` into ``constructor``."""
    problem = weights_file_problem(value)
    if problem:
        return WeightsFileError(problem)
    detail = str(exc).splitlines()[0][:200]
    return WeightsFileError(
        f"Los pesos de {value} no corresponden a {constructor} ({type(exc).__name__}: {detail}). Un archivo de "
        f"pesos sirve solo para el modelo base con el que se guardó: elige ese modelo en BACKBONES "
        f"({_which_backbone(Path(value))}), o usa " + " o ".join(suggest("weights", v) for v in WEIGHTS_CHOICES) + "."
    )

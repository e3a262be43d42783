"""Named parameter sets (``smoke``, ``cpu``, ``gpu``) for every notebook.

The values and what each parameter accepts live in :mod:`course_utils.schema`;
this module resolves and checks them.  A notebook's ``parameters`` cell holds
``None``/``"auto"`` placeholders; the cell after it calls :func:`resolve`,
which fills them from the chosen set and checks them, raising
:class:`ParameterError` (in Spanish) on a bad value.

* ``smoke``: CI. The whole series in a few minutes on 2 CPU cores; checks that
  everything runs, not what a model can learn.
* ``cpu``: a student without GPU. Each notebook in about 15 minutes at most on
  2 cores, still teaching the lesson's point.
* ``gpu``: the lesson's full settings or better.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

from .config import ENV_PARAM_SET
from .schema import BY_NAME, COMMON, LABELS, MAX_IMG_SIZE, MAX_SEED, PARAM_SET_NAMES, PARAMETERS, SETS, Param
from .weights_file import is_weights_path, weights_file_problem

NOTEBOOKS: tuple[str, ...] = tuple(BY_NAME)
#: Smallest image side each notebook's model accepts (from the schema).
MIN_IMG_SIZE: dict[str, int] = {name: nb.min_img_size for name, nb in BY_NAME.items()}
__all__ = [
    "NOTEBOOKS",
    "PARAM_SET_NAMES",
    "MIN_IMG_SIZE",
    "MAX_IMG_SIZE",
    "MAX_SEED",
    "ParameterError",
    "Params",
    "default_param_set",
    "resolve",
    "check",
    "table",
    "label",
]


class ParameterError(ValueError):
    """A notebook parameter has a value the notebook cannot use."""


@dataclass(frozen=True)
class Params:
    """Resolved parameters of one notebook run.

    Every value can be read as ``P.name`` or ``P["name"]``; the notebook's own
    parameters are also in ``extra``.
    """

    notebook: str
    param_set: str
    data_source: str = "auto"
    img_size: int = 150
    epochs: int = 10
    batch_size: int = 32
    max_per_class: int | None = None
    weights: str = "imagenet"
    seed: int = 42
    artifacts_dir: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.img_size, self.img_size, 3)

    def __getattr__(self, name: str) -> Any:
        extra = self.__dict__.get("extra", {})
        if name in extra:
            return extra[name]
        raise AttributeError(f"{type(self).__name__} no tiene el parámetro {name!r}")

    def __getitem__(self, key: str) -> Any:
        """``P["fine_tune_epochs"]`` or ``P["img_size"]``."""
        values = self.as_dict()
        if key not in values:
            raise KeyError(key)
        return values[key]

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(out.pop("extra"))
        return out


def default_param_set(gpu_available: bool | None = None) -> str:
    """``$COURSE_PARAM_SET`` if set, else ``gpu`` when a GPU is visible, else ``cpu``."""
    env = os.environ.get(ENV_PARAM_SET)
    if env:
        return env
    if gpu_available is None:
        try:
            import tensorflow as tf

            gpu_available = bool(tf.config.list_physical_devices("GPU"))
        except ImportError:
            gpu_available = False
    return "gpu" if gpu_available else "cpu"


def resolve(
    notebook: str,
    param_set: str = "auto",
    *,
    data_source: str = "auto",
    img_size: int | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    max_per_class: int | None = None,
    weights: str | None = None,
    seed: int = 42,
    artifacts_dir: str | None = None,
    **extra: Any,
) -> Params:
    """Fill the ``None``/``"auto"`` placeholders of ``notebook`` from ``param_set`` and check all values.

    ``None`` always means "the set's value", for every parameter (``weights="random"``
    asks for random weights).  ``extra`` overrides notebook-specific values
    (``augmentation=...``, ``backbones=...``).  ``precision="auto"`` becomes
    the policy :func:`course_utils.hardware.choose_precision` picks for this machine.
    """
    if notebook not in BY_NAME:
        raise ParameterError(f"Cuaderno desconocido: {notebook!r}. Opciones: {', '.join(NOTEBOOKS)}.")
    if param_set in (None, "auto"):
        param_set = default_param_set()
    if param_set not in PARAM_SET_NAMES:
        raise ParameterError(f"PARAM_SET={param_set!r} no existe. Usa uno de: {', '.join(PARAM_SET_NAMES)} (o 'auto').")
    entry = BY_NAME[notebook]
    values: dict[str, Any] = {**SETS[param_set], **entry.values[param_set]}
    unknown = set(extra) - set(entry.parameters)
    if unknown:
        raise ParameterError(
            f"Parámetro(s) desconocido(s) para {notebook}: {', '.join(sorted(unknown))}. "
            f"Este cuaderno acepta: {', '.join(sorted(entry.parameters)) or 'ninguno adicional'}."
        )
    overrides = dict(img_size=img_size, epochs=epochs, batch_size=batch_size, max_per_class=max_per_class, **extra)
    values.update({k: v for k, v in overrides.items() if v is not None})
    if weights not in (None, "auto"):
        values["weights"] = weights
    own = {k: values.pop(k) for k in entry.parameters}
    if own.get("precision") == "auto":
        from .hardware import choose_precision

        own["precision"] = choose_precision().policy
    params = Params(
        notebook=notebook,
        param_set=param_set,
        data_source=data_source,
        seed=seed,
        artifacts_dir=artifacts_dir,
        extra=own,
        **values,
    )
    check(params)
    return params


def _readable(n: int) -> str:
    """``4294967295`` as ``2**32 - 1``; other numbers as they are."""
    k = (n + 1).bit_length() - 1
    return f"2**{k} - 1" if n > 10**6 and n + 1 == 2**k else str(n)


def _check_value(name: str, spec: Param, value: Any, example: Any = None) -> None:
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
                " Usa None para todas las imágenes."
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
        if value not in ("imagenet", "random") and not str(value).endswith(".h5"):
            raise ParameterError(
                f"{label}={value!r} no es válido: usa 'imagenet', 'random' (pesos aleatorios) "
                "o la ruta a un archivo .weights.h5."
            )
    elif spec.kind != "text":
        raise ParameterError(f"{label}: el esquema declara el tipo {spec.kind!r}, que params.check no sabe comprobar.")


def check(p: Params) -> None:
    """Raise :class:`ParameterError` with a Spanish hint if a value cannot work."""
    entry = BY_NAME[p.notebook]
    values = p.as_dict()
    examples = {k: v.default for k, v in PARAMETERS.items()} | SETS["cpu"] | entry.values["cpu"]
    for name in (*COMMON, *entry.parameters):
        _check_value(name, PARAMETERS[name], values[name], examples.get(name))
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


def label(value: str) -> str:
    """The Spanish name of a parameter value, for titles (``label("improved") == "mejorada"``)."""
    return LABELS.get(value, value)

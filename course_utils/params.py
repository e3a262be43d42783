"""Named parameter sets (``smoke``, ``cpu``, ``gpu``) for every notebook, in one place.

A notebook's ``parameters`` cell holds ``None``/``"auto"`` placeholders; the cell
after it calls :func:`resolve`, which fills them from the chosen set and checks
them, raising :class:`ParameterError` (in Spanish) on a bad value.

* ``smoke``: CI. The whole series in a few minutes on 2 CPU cores; checks that
  everything runs, not what a model can learn.
* ``cpu``: a student without GPU. Each notebook in about 15 minutes at most on
  2 cores, still teaching the lesson's point.
* ``gpu``: the lesson's full settings or better.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from .config import ENV_PARAM_SET

NOTEBOOKS = (
    "01_exploracion_datos",
    "02_mlp",
    "03_cnn",
    "04_aumento_datos",
    "05_embeddings",
    "06_modelos_preentrenados",
    "07_mapas_caracteristicas",
)
PARAM_SET_NAMES = ("smoke", "cpu", "gpu")
BACKBONES = ("efficientnetb0", "mobilenetv2", "resnet50")
RECIPES = ("original", "mejorada")
#: Smallest image side each notebook's model accepts.  Four blocks of 3x3 conv with
#: "valid" padding + 2x2 pooling (the lesson's CNN, in 03 and in 04's "original"
#: recipe, and the course's improved CNN that 05 and 07 may train as a fallback) need 46 px
#: (46 -> 22 -> 10 -> 4 -> 1).
MIN_IMG_SIZE = {"02_mlp": 8, "03_cnn": 46, "04_aumento_datos": 46, "05_embeddings": 46,
                "06_modelos_preentrenados": 32, "07_mapas_caracteristicas": 46,
                "01_exploracion_datos": 8}
#: Largest image side (IMG_SIZE, TRANSFER_IMG_SIZE) and the seed range Keras/NumPy accept.
#: At 512 px a cached float32 image takes 3 MB (10000 px would take 1.2 GB).
MAX_IMG_SIZE = 512
MAX_SEED = 2**32 - 1


class ParameterError(ValueError):
    """A notebook parameter has a value the notebook cannot use."""


@dataclass(frozen=True)
class Params:
    """Resolved parameters of one notebook run."""

    notebook: str
    param_set: str
    data_source: str = "auto"
    img_size: int = 150
    epochs: int = 10
    batch_size: int = 32
    max_per_class: int | None = None
    weights: str | None = "imagenet"
    seed: int = 42
    artifacts_dir: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.img_size, self.img_size, 3)

    def __getitem__(self, key: str) -> Any:
        """``P["fine_tune_epochs"]``: a notebook-specific value from ``extra``."""
        return self.extra[key]

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(out.pop("extra"))
        return out


# Values common to a set, then per-notebook overrides.  Keep these tables
# small: they are what the README documents and what instructors change.
_BASE = {
    "smoke": dict(epochs=2, batch_size=32, max_per_class=40, weights=None),
    "cpu": dict(epochs=30, batch_size=32, max_per_class=None, weights="imagenet"),
    "gpu": dict(epochs=30, batch_size=32, max_per_class=None, weights="imagenet"),
}
_NOTEBOOK = {
    "01_exploracion_datos": {
        "smoke": dict(img_size=64, extra=dict(n_sample_images=6)),
        "cpu": dict(img_size=150, extra=dict(n_sample_images=10)),
        "gpu": dict(img_size=150, extra=dict(n_sample_images=10)),
    },
    "02_mlp": {
        "smoke": dict(img_size=16, epochs=3),
        "cpu": dict(img_size=16, epochs=60, batch_size=64),
        "gpu": dict(img_size=16, epochs=60, batch_size=64),
    },
    "03_cnn": {
        "smoke": dict(img_size=64, epochs=2, extra=dict(mixed_precision=False, jit_compile=False)),
        "cpu": dict(img_size=150, epochs=12, extra=dict(mixed_precision=False, jit_compile=False)),
        "gpu": dict(img_size=150, epochs=30, extra=dict(mixed_precision=False, jit_compile=False)),
    },
    "04_aumento_datos": {
        "smoke": dict(img_size=64, epochs=2, extra=dict(recipe="mejorada", compare_pipelines_batches=3, augmentation="moderado", mixed_precision=False, jit_compile=False)),
        "cpu": dict(img_size=96, epochs=40, extra=dict(recipe="mejorada", compare_pipelines_batches=20, augmentation="moderado", mixed_precision=False, jit_compile=False)),
        "gpu": dict(img_size=150, epochs=100, extra=dict(recipe="mejorada", compare_pipelines_batches=50, augmentation="fuerte", mixed_precision=False, jit_compile=False)),
    },
    "05_embeddings": {
        "smoke": dict(img_size=64, extra=dict(tsne_points=80, fallback_epochs=2)),
        "cpu": dict(img_size=128, extra=dict(tsne_points=1000, fallback_epochs=10)),
        "gpu": dict(img_size=150, extra=dict(tsne_points=2000, fallback_epochs=30)),
    },
    "06_modelos_preentrenados": {
        "smoke": dict(img_size=64, epochs=1, extra=dict(
            backbones=("efficientnetb0", "mobilenetv2"), fine_tune_epochs=1, fine_tune_layers=20,
            pca_components=20, transfer_img_size=64, transfer_max_per_class=40)),
        "cpu": dict(img_size=224, epochs=3, extra=dict(
            backbones=("efficientnetb0", "mobilenetv2"), fine_tune_epochs=2, fine_tune_layers=20,
            pca_components=100, transfer_img_size=160, transfer_max_per_class=500)),
        "gpu": dict(img_size=224, epochs=10, extra=dict(
            backbones=("efficientnetb0", "mobilenetv2", "resnet50"), fine_tune_epochs=10,
            fine_tune_layers=20, pca_components=100, transfer_img_size=224,
            transfer_max_per_class=None)),
    },
    "07_mapas_caracteristicas": {
        "smoke": dict(img_size=64, extra=dict(filter_steps=5, n_filters=4, gradcam_images=2, fallback_epochs=2)),
        "cpu": dict(img_size=128, extra=dict(filter_steps=40, n_filters=8, gradcam_images=6, fallback_epochs=10)),
        "gpu": dict(img_size=150, extra=dict(filter_steps=60, n_filters=16, gradcam_images=8, fallback_epochs=30)),
    },
}


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


def resolve(notebook: str, param_set: str = "auto", *, data_source: str = "auto",
            img_size: int | None = None, epochs: int | None = None,
            batch_size: int | None = None, max_per_class: int | None = None,
            weights: str | None = "auto", seed: int = 42,
            artifacts_dir: str | None = None, **extra: Any) -> Params:
    """Fill the ``None``/``"auto"`` placeholders of ``notebook`` from ``param_set`` and check all values.

    ``extra`` overrides notebook-specific values (``recipe=...``, ``backbones=...``);
    an ``extra`` value of ``None`` keeps the set's value.
    """
    if notebook not in _NOTEBOOK:
        raise ParameterError(f"Cuaderno desconocido: {notebook!r}. Opciones: {', '.join(NOTEBOOKS)}.")
    if param_set in (None, "auto"):
        param_set = default_param_set()
    if param_set not in PARAM_SET_NAMES:
        raise ParameterError(
            f"PARAM_SET={param_set!r} no existe. Usa uno de: {', '.join(PARAM_SET_NAMES)} (o 'auto').")
    values: dict[str, Any] = dict(_BASE[param_set])
    nb = dict(_NOTEBOOK[notebook][param_set])
    nb_extra = dict(nb.pop("extra", {}))
    values.update(nb)
    unknown = set(extra) - set(nb_extra)
    if unknown:
        raise ParameterError(
            f"Parámetro(s) desconocido(s) para {notebook}: {', '.join(sorted(unknown))}. "
            f"Este cuaderno acepta: {', '.join(sorted(nb_extra)) or 'ninguno adicional'}.")
    nb_extra.update({k: v for k, v in extra.items() if v is not None})
    overrides = dict(img_size=img_size, epochs=epochs, batch_size=batch_size,
                     max_per_class=max_per_class)
    values.update({k: v for k, v in overrides.items() if v is not None})
    if weights != "auto":
        values["weights"] = weights
    params = Params(notebook=notebook, param_set=param_set, data_source=data_source,
                    seed=seed, artifacts_dir=artifacts_dir, extra=nb_extra, **values)
    check(params)
    return params


def _positive_int(name: str, value: Any, hint: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ParameterError(f"{name}={value!r} no es válido: debe ser un entero positivo. {hint}")


def check(p: Params) -> None:
    """Raise :class:`ParameterError` with a Spanish hint if a value cannot work."""
    _positive_int("EPOCHS", p.epochs, "Prueba con EPOCHS=10.")
    _positive_int("BATCH_SIZE", p.batch_size, "Prueba con BATCH_SIZE=32.")
    _positive_int("IMG_SIZE", p.img_size, "Prueba con IMG_SIZE=150.")
    minimum = MIN_IMG_SIZE[p.notebook]
    if p.img_size < minimum:
        raise ParameterError(
            f"IMG_SIZE={p.img_size} es demasiado pequeño para el modelo de {p.notebook}: "
            f"las capas de convolución y pooling necesitan al menos {minimum} px. Usa IMG_SIZE>={minimum}.")
    for key, value in (("IMG_SIZE", p.img_size), ("TRANSFER_IMG_SIZE", p.extra.get("transfer_img_size", 0))):
        if isinstance(value, int) and value > MAX_IMG_SIZE:
            raise ParameterError(
                f"{key}={value} es demasiado grande: el máximo es {MAX_IMG_SIZE} px (cada imagen en memoria "
                f"ocuparía {value * value * 12 / 1e6:,.0f} MB). Usa {key}=150, o 224 para los modelos "
                "preentrenados.")
    if p.max_per_class is not None:
        _positive_int("MAX_PER_CLASS", p.max_per_class, "Usa None para todas las imágenes.")
    if isinstance(p.seed, bool) or not isinstance(p.seed, int) or not 0 <= p.seed <= MAX_SEED:
        raise ParameterError(f"SEED={p.seed!r} no es válido: debe ser un entero entre 0 y {MAX_SEED} "
                             "(2**32 - 1). Prueba con SEED=42.")
    if p.weights not in (None, "imagenet") and not str(p.weights).endswith((".h5", ".weights.h5")):
        raise ParameterError(
            f"WEIGHTS={p.weights!r} no es válido: usa 'imagenet', None (pesos aleatorios) "
            "o la ruta a un archivo .weights.h5.")
    for name in p.extra.get("backbones", ()):
        if name not in BACKBONES:
            raise ParameterError(
                f"Modelo base desconocido: {name!r}. Opciones: {', '.join(BACKBONES)}.")
    for key in ("mixed_precision", "jit_compile"):
        if key in p.extra and not isinstance(p.extra[key], bool):
            raise ParameterError(f"{key.upper()}={p.extra[key]!r} debe ser True o False.")
    if p.extra.get("augmentation", "moderado") not in ("moderado", "fuerte"):
        raise ParameterError(f"AUGMENTATION={p.extra['augmentation']!r} no existe. Opciones: moderado, fuerte.")
    recipe = p.extra.get("recipe")
    if recipe is not None and recipe not in RECIPES:
        raise ParameterError(f"RECIPE={recipe!r} no existe. Opciones: {', '.join(RECIPES)}.")
    for key in ("fine_tune_epochs", "filter_steps", "n_filters", "gradcam_images", "tsne_points",
                "pca_components", "transfer_img_size", "fallback_epochs", "n_sample_images"):
        if key in p.extra:
            _positive_int(key.upper(), p.extra[key], "")


def with_overrides(p: Params, **changes: Any) -> Params:
    """Return a checked copy of ``p`` with ``changes`` applied."""
    new = replace(p, **changes)
    check(new)
    return new


def table(p: Params) -> str:
    """The parameters as a small two-column text table."""
    rows = [(k, repr(v)) for k, v in p.as_dict().items()]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)

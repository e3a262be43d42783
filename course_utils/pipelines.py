"""Input pipelines: fast ``tf.data`` loaders, and the lesson's legacy generators.

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

The legacy path (:func:`get_generators`) is the lesson's ``ImageDataGenerator``
recipe, kept for comparison: it decodes every JPEG again in every epoch.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .augmentation import (  # noqa: F401 (re-exported: part of this module's interface)
    LESSON_AUGMENTATION,
    lesson_augment,
    make_augmentation,
)
from .backbones import BACKBONES
from .caching import (  # noqa: F401 (re-exported: part of this module's interface)
    DEFAULT_BUDGET_FRACTION,
    ENV_CACHE_BUDGET,
    FILE_CACHE_SUBDIR,
    cached_bytes,
    choose_cache,
    file_cache_prefix,
    free_disk_bytes,
    memory_budget_bytes,
)
from .inspection import check_class_names, list_images
from .layout import MAX_IMG_SIZE, SPLITS

#: Preprocessing modes: pixel scaling that the model expects.
PREPROCESSING_MODES = ("rescale", "efficientnet", "resnet", "mobilenet_v2", "none")
#: Which preprocessing each backbone needs (from the backbone registry).
BACKBONE_PREPROCESSING = {name: b.preprocessing for name, b in BACKBONES.items()}
#: PIL modes of 16-bit images: Keras' ``load_img`` (the legacy generators) clips them to almost white,
#: so the legacy path leaves them out with a warning; the modern loader decodes them correctly.
SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I", "F")


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
    seed: int = 42,
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
    are skipped with a warning (see :func:`course_utils.inspection.list_images`).
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
    seed: int = 42,
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
    from .inspection import class_names

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
    skips (broken, unsupported formats such as WebP, too large) are skipped
    here too, with a warning; so are 16-bit images, which Keras' legacy
    loading would turn almost white.
    """
    import pandas as pd
    from tensorflow.keras.preprocessing.image import ImageDataGenerator

    from .inspection import class_names

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
        paths, labels, names = list_images(d, class_order=found["train"], refuse_modes=SIXTEEN_BIT_MODES)
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

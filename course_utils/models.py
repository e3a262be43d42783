"""Model builders of the lesson, feature extractors and pretrained backbones.

The notebooks write their models out in full (that is the lesson); these
builders make the same models for the benchmark, the tests and the fallback
"short training run" of later notebooks.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .backbones import BACKBONES
from .submodels import _layer, conv_layers, sub_model  # noqa: F401 (re-exported: notebooks call models.sub_model)
from .weights_file import is_weights_path, weights_mismatch


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights could not be downloaded."""


def build_mlp(
    input_shape: tuple[int, int, int] = (16, 16, 3), units: Sequence[int] = (256, 512, 512, 256), dropout: float = 0.5
) -> Any:
    """The lesson's MLP: Flatten, Dense blocks with Dropout, sigmoid output."""
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input(shape=input_shape), layers.Flatten()], name="mlp")
    for n in units:
        model.add(layers.Dense(n, activation="relu"))
        model.add(layers.Dropout(dropout))
    model.add(layers.Dense(1, activation="sigmoid", dtype="float32"))  # float32 under mixed precision
    return model


def build_cnn(
    input_shape: tuple[int, int, int] = (150, 150, 3), dropout: float | None = None, dense_units: int = 512
) -> Any:
    """The lesson's CNN: Conv2D 32-64-128-128 with MaxPooling, Dense 512, sigmoid.

    With ``dropout`` it is the lesson's "CNN with Dropout" (Dropout after Flatten).
    """
    import keras
    from keras import layers

    model = keras.Sequential(name="cnn_dropout" if dropout else "cnn")
    model.add(keras.Input(shape=input_shape))
    for i, filters in enumerate((32, 64, 128, 128), start=1):
        model.add(layers.Conv2D(filters, 3, activation="relu", name=f"conv{i}"))
        model.add(layers.MaxPooling2D(name=f"pool{i}"))
    model.add(layers.Flatten(name="flatten"))
    if dropout:
        model.add(layers.Dropout(dropout, name="dropout"))
    model.add(layers.Dense(dense_units, activation="relu", name="dense"))
    model.add(layers.Dense(1, activation="sigmoid", name="output", dtype="float32"))
    return model


def conv_bn_block(x: Any, filters: int, suffix: str | None = None) -> Any:
    """Exercise 5.1's block: Conv2D 3x3 without bias ("valid"), BatchNormalization, ReLU, MaxPooling2D.

    ``suffix`` names the layers ``conv<suffix>``, ``bn<suffix>``, ``relu<suffix>``, ``pool<suffix>``.
    """
    from keras import layers

    def name(kind: str) -> str | None:
        return f"{kind}{suffix}" if suffix is not None else None

    x = layers.Conv2D(filters, 3, use_bias=False, name=name("conv"))(x)
    x = layers.BatchNormalization(name=name("bn"))(x)
    x = layers.ReLU(name=name("relu"))(x)
    return layers.MaxPooling2D(name=name("pool"))(x)


#: BatchNorm's momentum in 05's residual CNN: its running averages follow the weights within a few
#: dozen steps (Keras' default 0.99 lags behind for hundreds, too many for a 48-epoch run).
BN_MOMENTUM = 0.9


def residual_block(x: Any, filters: int, suffix: str | None = None) -> Any:
    """Exercise 5.1's block, pre-activation residual: half the size, ``filters`` channels.

    Shortcut: a 1x1 ``Conv2D(filters, strides=2)`` of the input.  Main path: twice
    BatchNormalization (momentum :data:`BN_MOMENTUM`), ReLU, ``Conv2D(filters, 3, "same")``
    without bias; then ``MaxPooling2D(3, strides=2, "same")``.  Returns their sum.
    ``suffix`` names the layers ``b<suffix>_proj``, ``b<suffix>_bn1``, ... ``b<suffix>_add``.
    """
    from keras import layers

    def name(kind: str) -> str | None:
        return f"b{suffix}_{kind}" if suffix is not None else None

    shortcut = layers.Conv2D(filters, 1, strides=2, padding="same", use_bias=False, name=name("proj"))(x)
    for i in (1, 2):
        x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=name(f"bn{i}"))(x)
        x = layers.ReLU(name=name(f"relu{i}"))(x)
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=name(f"conv{i}"))(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name=name("pool"))(x)
    return layers.add([x, shortcut], name=name("add"))


def build_cnn_improved(
    input_shape: tuple[int, int, int] = (96, 96, 3), dropout: float = 0.5, dense_units: int = 256
) -> Any:
    """The course's CPU recipe: the lesson's conv widths with BatchNorm and global pooling.

    Conv2D(3x3, "valid" padding as in the lesson) + BatchNorm + ReLU + MaxPooling per block, then
    GlobalAveragePooling2D instead of Flatten (a few thousand weights instead
    of millions in the dense layer), Dropout and a sigmoid output.
    """
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="imagen")
    x = inputs
    for i, filters in enumerate((32, 64, 128, 128), start=1):
        x = conv_bn_block(x, filters, suffix=str(i))
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Dense(dense_units, activation="relu", name="dense")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="output", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="cnn_mejorada")


def with_photo_preprocessing(model: Any, name: str | None = None) -> Any:
    """``model`` (pixels in [0, 1] at a fixed size) wrapped to take raw photos of any size.

    The wrapper resizes with antialiasing (as the course loader does) and rescales to
    [0, 1] inside the model, so ``keras.utils.load_img`` with default arguments,
    ``image_dataset_from_directory`` and the course loader give the same predictions.
    At the training size the resizing is a no-op.  The wrapped model shares ``model``'s weights.
    """
    import keras
    from keras import layers

    height, width = (int(d) for d in model.input_shape[1:3])
    return keras.Sequential(
        [
            keras.Input(shape=(None, None, 3), name="foto"),
            layers.Resizing(height, width, antialias=True, name="redimensionar"),
            layers.Rescaling(1 / 255, name="reescalar"),
            model,
        ],
        name=name or f"{model.name}_fotos",
    )


def as_float32(model: Any) -> Any:
    """``model`` computing in ``float32``: itself if it already does, else a copy with the same weights.

    A model trained under ``mixed_bfloat16`` or ``mixed_float16`` keeps that policy
    when loaded; its activations then come out as bf16/fp16 tensors, which
    scikit-learn, matplotlib and hand-written ``tf.matmul`` calls do not accept.
    Later notebooks analyse models, they do not train them, so they use float32.
    """
    import keras

    def mixed(m: Any) -> bool:
        return any(
            (mixed(layer) if isinstance(layer, keras.Model) else layer.dtype_policy.compute_dtype != "float32")
            for layer in m.layers
        )

    if not mixed(model):
        return model

    def clone(layer: Any) -> Any:
        if isinstance(layer, keras.Model):
            return keras.models.clone_model(layer, clone_function=clone)
        return layer.__class__.from_config({**layer.get_config(), "dtype": "float32"})

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    return copy


def backbone_weights(
    name: str, weights: str | None = "imagenet", input_shape: tuple[int, int, int] = (224, 224, 3)
) -> str | None:
    """The ``weights=`` argument for ``keras.applications``' constructor of backbone ``name``.

    ``"random"`` or None gives None (random weights); a ``.weights.h5`` path is
    returned as it is.  For ``"imagenet"`` the notop file is put in Keras' cache
    first (from the mirrors of ``$COURSE_DATA_MIRROR`` when set, see
    :mod:`course_utils.weights`, else downloaded by Keras from its official URL
    with its checksum), so the constructor then reads it without any download;
    when that fails, :class:`WeightsUnavailableError` explains how to go on.
    """
    return _prepare_weights(name, weights, input_shape)[0]


def _prepare_weights(
    name: str, weights: str | None, input_shape: tuple[int, int, int]
) -> tuple[str | None, Path | None]:
    """``backbone_weights``' value and the file just copied from a mirror (None if nothing was copied)."""
    if name not in BACKBONES:
        raise ValueError(f"Modelo base desconocido: {name!r}. Opciones: {', '.join(BACKBONES)}.")
    if weights in ("random", None):
        return None, None
    if weights != "imagenet":
        return weights, None
    if len(input_shape) != 3 or input_shape[-1] != 3:  # Keras checks this too, but only after the download
        raise ValueError(
            f"Los pesos ImageNet de {BACKBONES[name].constructor} son para imágenes en color: "
            f"input_shape=(alto, ancho, 3), no {tuple(input_shape)}."
        )
    import keras

    from .weights import keras_models_dir, spec_for

    mirror_error, copied = _weights_from_mirror(name, input_shape)
    spec = spec_for(name, input_shape)
    if spec is not None and not (keras_models_dir() / spec.filename).exists():
        try:
            keras.utils.get_file(spec.filename, spec.url, cache_subdir="models", file_hash=spec.md5)
        except Exception as exc:
            network = _network_error(exc)
            if network is None:
                raise
            raise _unavailable(BACKBONES[name].constructor, network, mirror_error) from exc
    return "imagenet", copied


def _unavailable(constructor: str, network: BaseException, mirror_error: str | None) -> WeightsUnavailableError:
    """The Spanish error when neither the mirror nor the network gives the ImageNet weights."""
    return WeightsUnavailableError(
        f"No se pudieron descargar los pesos ImageNet de {constructor} "
        f"({type(network).__name__}: {network}).\n"
        + (f"Tampoco del espejo local: {mirror_error}\n" if mirror_error else "")
        + "Qué puedes hacer: revisa tu conexión y vuelve a ejecutar; o copia el archivo de "
        "pesos a ~/.keras/models/ (o pon en COURSE_DATA_MIRROR una carpeta con él: README, «Para "
        'instructores»); o usa WEIGHTS="random" para seguir con pesos ALEATORIOS '
        "(el cuaderno corre, pero sus resultados no son los de un modelo preentrenado)."
    )


def load_backbone(
    name: str,
    weights: str | None = "imagenet",
    input_shape: tuple[int, int, int] = (224, 224, 3),
    pooling: str | None = "avg",
    trainable: bool = False,
) -> Any:
    """A ``keras.applications`` backbone without its top, frozen by default.

    ``weights`` as in :func:`backbone_weights` (``"imagenet"``, ``"random"``/None
    or a ``.weights.h5`` path): with random weights the model runs, but its
    features are not pretrained features.  A weights file that does not fit the
    backbone gets a Spanish :class:`~course_utils.weights_file.WeightsFileError`.
    """
    import keras

    keras_weights, copied = _prepare_weights(name, weights, input_shape)
    constructor = BACKBONES[name].constructor
    cls = getattr(keras.applications, constructor)
    try:
        model = cls(weights=keras_weights, include_top=False, input_shape=input_shape, pooling=pooling)
    except Exception as exc:
        if is_weights_path(keras_weights):
            raise weights_mismatch(constructor, keras_weights, exc) from exc
        if copied is not None:  # Keras would take it again next time: set it aside, never delete it
            aside = copied.with_name(f"{copied.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
            os.replace(copied, aside)
            warnings.warn(
                f"Keras no pudo usar el archivo de pesos que se acaba de copiar del espejo ({exc}); se "
                f"apartó como {aside} (no se borró). Si el error es del archivo, revisa el espejo.",
                stacklevel=2,
            )
        network = _network_error(exc)
        if keras_weights == "imagenet" and network is not None:  # a backbone without a registered file
            raise _unavailable(constructor, network, None) from exc
        raise
    model.trainable = trainable
    return model


def _weights_from_mirror(name: str, input_shape: tuple[int, int, int]) -> tuple[str | None, Path | None]:
    """Copy ``name``'s ImageNet file from ``$COURSE_DATA_MIRROR`` into Keras' cache.

    Returns the mirror's error message (or None) and the path just copied (None if
    nothing was copied).  Without a mirror nothing happens (Keras downloads from
    the official URL, as before).
    """
    from .data import DownloadError
    from .weights import from_mirror, keras_models_dir, spec_for

    spec = spec_for(name, input_shape)
    if spec is None or (keras_models_dir() / spec.filename).exists():
        return None, None
    try:
        return None, from_mirror(spec)
    except DownloadError as exc:
        lines = str(exc).splitlines()
        short = "\n".join([lines[0], *(s for s in lines if s.startswith("  - "))])
        absent = ("FileNotFoundError", "HTTP Error 404")
        if not all(any(a in s for a in absent) for s in lines if s.startswith("  - ")):  # a bad copy, not a gap
            warnings.warn(f"los pesos del espejo local no sirven; Keras los descargará.\n{short}", stacklevel=3)
        return short, None


def _network_error(exc: BaseException) -> BaseException | None:
    """The network error (``URLError`` or an ``OSError`` such as a refused connection) behind ``exc``.

    ``keras.utils.get_file`` re-raises download failures as a plain
    ``Exception`` while handling the ``URLError``, so the chain of causes and
    contexts is searched by exception type.
    """
    import urllib.error

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (urllib.error.URLError, ConnectionError, TimeoutError)):
            return current
        current = current.__cause__ or current.__context__
    return None


def count_params(model: Any) -> dict[str, int]:
    """Trainable and non-trainable parameter counts."""
    import numpy as np

    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    frozen = int(sum(np.prod(w.shape) for w in model.non_trainable_weights))
    return {"trainable": trainable, "non_trainable": frozen, "total": trainable + frozen}

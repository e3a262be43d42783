"""The course's networks and blocks, and what reaches inside a model.

The notebooks write their models out in full (that is the lesson); these builders make
the same models, declared once, for the benchmark, the tests, the exercises' checks and
the fallback "short training run" of later notebooks: the lesson's MLP and CNN (with
augmentation, Dropout and 03's compile as options), exercise 5.1's blocks, the course's
improved CNN.  :func:`sub_model`, :func:`conv_layers` and :func:`find_layer` reach inside
a model (the feature maps, filters and Grad-CAM of :mod:`course_utils.visualization`);
:func:`as_float32`, :func:`with_photo_preprocessing` and :func:`count_params` adapt and
describe one.  The pretrained backbones are :mod:`course_utils.models.backbones`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


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
    input_shape: tuple[int, int, int] = (150, 150, 3),
    dropout: float | None = None,
    dense_units: int = 512,
    *,
    augmenter: Any = None,
    compile: bool = False,
    learning_rate: float = 1e-4,
) -> Any:
    """The lesson's CNN: Conv2D 32-64-128-128 with MaxPooling, Dense 512, sigmoid.

    With ``dropout`` it is the lesson's "CNN with Dropout" (Dropout after Flatten); with
    ``augmenter`` (Keras preprocessing layers, e.g. :func:`course_utils.data.loaders.make_augmentation`)
    the augmentation is the model's first stage (active only in training); ``compile``
    compiles it as notebook 03 does (Adam ``learning_rate``, 03's 1e-4; binary cross-entropy, accuracy).
    """
    import keras
    from keras import layers

    name = "cnn_con_aumento" if augmenter is not None else "cnn_dropout" if dropout else "cnn"
    model = keras.Sequential(name=name)
    model.add(keras.Input(shape=input_shape))
    if augmenter is not None:
        model.add(augmenter)
    for i, filters in enumerate((32, 64, 128, 128), start=1):
        model.add(layers.Conv2D(filters, 3, activation="relu", name=f"conv{i}"))
        model.add(layers.MaxPooling2D(name=f"pool{i}"))
    model.add(layers.Flatten(name="flatten"))
    if dropout:
        model.add(layers.Dropout(dropout, name="dropout"))
    model.add(layers.Dense(dense_units, activation="relu", name="dense"))
    model.add(layers.Dense(1, activation="sigmoid", name="output", dtype="float32"))
    if compile:
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
            loss="binary_crossentropy",
            metrics=["accuracy"],
        )
    return model


#: Adam's learning rate in both arms of notebook 04's experiment (exercise 4.2, the recorded seeds): Keras's
#: default, ten times 03's 1e-4; chosen on validation (benchmarks/results/augmentation_trials.json).
AUGMENTATION_LEARNING_RATE = 1e-3


def course_build_cnn(
    image_shape: tuple[int, int, int], learning_rate: float = AUGMENTATION_LEARNING_RATE
) -> Callable[..., Any]:
    """Exercise 4.2's answer: ``build_cnn(augmenter=None, dropout=0.0)``, 03's CNN compiled with Adam(learning_rate)."""

    def build(augmenter: Any = None, dropout: float = 0.0) -> Any:
        return build_cnn(image_shape, dropout, augmenter=augmenter, compile=True, learning_rate=learning_rate)

    return build


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


def projection_shortcut(x: Any, filters: int, name: str | None = None) -> Any:
    """Exercise 5.1's shortcut: a 1x1 ``Conv2D(filters, strides=2, "same")`` without bias of ``x``.

    It gives the block's input the main path's shape (half the size, rounded up,
    and ``filters`` channels) without looking at neighbouring pixels.
    """
    from keras import layers

    return layers.Conv2D(filters, 1, strides=2, padding="same", use_bias=False, name=name)(x)


def residual_block(
    x: Any, filters: int, suffix: str | None = None, *, momentum: float = BN_MOMENTUM, separable: bool = False
) -> Any:
    """Notebook 05's block, pre-activation residual: half the size, ``filters`` channels.

    Shortcut: :func:`projection_shortcut` of the input (exercise 5.1).  Main path: twice
    BatchNormalization (``momentum``, :data:`BN_MOMENTUM` in the lesson), ReLU,
    ``Conv2D(filters, 3, "same")`` without bias (``SeparableConv2D`` with ``separable``,
    as in Xception); then ``MaxPooling2D(3, strides=2, "same")``.  Returns their sum.
    ``suffix`` names the layers ``b<suffix>_proj``, ``b<suffix>_bn1``, ... ``b<suffix>_add``.
    """
    from keras import layers

    def name(kind: str) -> str | None:
        return f"b{suffix}_{kind}" if suffix is not None else None

    conv = layers.SeparableConv2D if separable else layers.Conv2D
    shortcut = projection_shortcut(x, filters, name=name("proj"))
    for i in (1, 2):
        x = layers.BatchNormalization(momentum=momentum, name=name(f"bn{i}"))(x)
        x = layers.ReLU(name=name(f"relu{i}"))(x)
        x = conv(filters, 3, padding="same", use_bias=False, name=name(f"conv{i}"))(x)
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


def count_params(model: Any) -> dict[str, int]:
    """Trainable and non-trainable parameter counts."""
    import numpy as np

    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    frozen = int(sum(np.prod(w.shape) for w in model.non_trainable_weights))
    return {"trainable": trainable, "non_trainable": frozen, "total": trainable + frozen}


# --------------------------------------------------------------------------- inside a model


def find_layer(model: Any, layer: Any) -> Any:
    """``model``'s layer given by name, index or the layer itself (a Spanish ``ValueError`` naming the layers if absent)."""
    if isinstance(layer, int):
        return model.layers[layer]
    if isinstance(layer, str):
        try:
            return model.get_layer(layer)
        except ValueError as exc:
            names = ", ".join(layer.name for layer in model.layers)
            raise ValueError(f"El modelo no tiene una capa llamada {layer!r}. Capas: {names}.") from exc
    return layer


def sub_model(model: Any, outputs: Any, name: str = "submodelo") -> Any:
    """A model from ``model``'s input to one layer (or a list of layers): name, index or layer.

    Works for Sequential and functional models, including models loaded from
    disk; the new model shares the original's weights.
    """
    import keras

    many = isinstance(outputs, (list, tuple))
    targets = [find_layer(model, o) for o in (outputs if many else [outputs])]
    if isinstance(model, keras.Sequential):
        inputs = keras.Input(shape=model.input_shape[1:])
        x, found = inputs, {}
        for lyr in model.layers:
            x = lyr(x)
            if any(lyr is t for t in targets):
                found[id(lyr)] = x
            if len(found) == len(targets):
                break
        outs = [found[id(t)] for t in targets]
        return keras.Model(inputs, outs if many else outs[0], name=name)
    outs = [t.output for t in targets]
    # One input as a tensor, not a one-item list: the sub-model is then called with a bare
    # tensor (``grad_model(images)``) without Keras warning that the input structure differs.
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(inputs, outs if many else outs[0], name=name)


def conv_layers(model: Any, include_pooling: bool = False, spatial_only: bool = False) -> list[Any]:
    """The model's convolution (and optionally pooling) layers, found by type, not by name.

    ``spatial_only`` leaves out 1x1 convolutions (a residual network's shortcuts): they mix
    channels, they do not look at neighbouring pixels.
    """
    from keras import layers

    kinds: tuple = (layers.Conv2D,)
    if include_pooling:
        kinds += (layers.MaxPooling2D, layers.AveragePooling2D)
    return [
        layer
        for layer in model.layers
        if isinstance(layer, kinds)
        and not (spatial_only and isinstance(layer, layers.Conv2D) and tuple(layer.kernel_size) == (1, 1))
    ]

"""Small residual CNNs for the from-scratch search (notebook 05, issue 19), and their optimizer.

:func:`residual_cnn` with ``chollet_xception()``'s settings is the mini-Xception of *Deep
Learning with Python* (ch. 9: 721,857 parameters at 180 px); the cpu candidates change its
stem (a stride-2 convolution halves the resolution before the blocks, 4x less compute) and
its widths.  Its blocks are the course's (:func:`course_utils.models.networks.residual_block`,
exercise 5.1's block), with the momentum and the convolution each recipe asks for; the layer
names, and so the order of the variables that ``benchmarks.resumable``'s checkpoints list,
are those of the blocks written here before (``b<i>_bn1`` ... ``b<i>_add``).
"""

from __future__ import annotations

from typing import Any

#: The book's mini-Xception (ch. 9): 5x5 stem without BatchNorm, five blocks, no final BatchNorm.
CHOLLET_XCEPTION = dict(
    stem_filters=32,
    stem_kernel=5,
    stem_stride=1,
    stem_padding="valid",
    stem_bn=False,
    widths=(32, 64, 128, 256, 512),
    separable=True,
    final_bn=False,
    dropout=0.5,
    bn_momentum=0.99,
)


def residual_cnn(img_size: int, **cfg: Any):
    """A pre-activation residual CNN: stem, then per width one block

    ``BN-ReLU-Conv3x3 (x2) -> MaxPool 3/2`` plus a strided 1x1 projection of the block's input,
    then (``final_bn``) BN-ReLU, global average pooling, dropout and one sigmoid unit.
    ``separable``: SeparableConv2D (Xception) or Conv2D (ResNet-like) in the blocks.
    The output is float32 so that the model trains under mixed precision.
    """
    import keras
    from keras import layers

    from course_utils.models.networks import residual_block

    c = dict(CHOLLET_XCEPTION, **cfg)
    bn = lambda name: layers.BatchNormalization(momentum=c["bn_momentum"], name=name)  # noqa: E731
    inputs = keras.Input(shape=(img_size, img_size, 3))
    x = layers.Conv2D(
        c["stem_filters"],
        c["stem_kernel"],
        strides=c["stem_stride"],
        padding=c["stem_padding"],
        use_bias=False,
        name="stem",
    )(inputs)
    if c["stem_bn"]:
        x = layers.ReLU(name="stem_relu")(bn("stem_bn")(x))
    for i, size in enumerate(c["widths"], start=1):
        x = residual_block(x, size, suffix=str(i), momentum=c["bn_momentum"], separable=c["separable"])
    if c["final_bn"]:
        x = layers.ReLU(name="final_relu")(bn("final_bn")(x))
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(c["dropout"], name="dropout")(x)
    outputs = layers.Dense(1, activation="sigmoid", dtype="float32", name="output")(x)
    return keras.Model(inputs, outputs)


def optimizer_for(cfg: dict[str, Any], steps_per_epoch: int, epochs: int):
    """``cfg["optimizer"]``: ``rmsprop`` (1e-4), ``adam`` (constant ``learning_rate``),
    ``adam_cosine`` (cosine decay from ``learning_rate``) or ``adamw_warmup_cosine``
    (linear warm-up over ``warmup_epochs`` to ``learning_rate``, then cosine decay to 0;
    ``weight_decay``)."""
    import keras

    kind, lr = cfg["optimizer"], cfg["learning_rate"]
    total = epochs * steps_per_epoch
    if kind == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=1e-4)
    if kind == "adam":
        return keras.optimizers.Adam(learning_rate=lr)
    if kind == "adam_cosine":
        return keras.optimizers.Adam(learning_rate=keras.optimizers.schedules.CosineDecay(lr, total))
    if kind == "adamw_warmup_cosine":
        warmup = min(int(cfg.get("warmup_epochs", 2) * steps_per_epoch), total - 1)  # short test runs
        schedule = keras.optimizers.schedules.CosineDecay(
            lr / 20, total - warmup, warmup_target=lr, warmup_steps=warmup
        )
        return keras.optimizers.AdamW(learning_rate=schedule, weight_decay=cfg.get("weight_decay", 1e-4))
    raise ValueError(f"Optimizador desconocido: {kind!r} (rmsprop, adam, adam_cosine, adamw_warmup_cosine).")

"""The lesson's data augmentation, two modern ways: Keras preprocessing layers, and one warp per image.

Both take the lesson's ``ImageDataGenerator`` ranges (:data:`LESSON_AUGMENTATION`):
:func:`make_augmentation` as layers that live inside a model (active only in
training), :func:`lesson_augment` as a single random affine warp per image for
the ``tf.data`` loaders (``augment="lesson"``), which resamples each image once.
"""

from __future__ import annotations

from collections.abc import Callable

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
#: one), as keyword arguments of :func:`make_augmentation` and :func:`lesson_augment`.
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

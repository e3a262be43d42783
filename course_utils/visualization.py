"""Figures of the course: image grids, class balance, sizes, augmentation, activations, filters, Grad-CAM."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .models.networks import find_layer, sub_model


def load_thumbnails(paths: Sequence[str], size: int = 160) -> list[np.ndarray]:
    """``uint8`` RGB arrays (longest side ``size``) for ``paths``: what ipyplot needs.

    ipyplot 1.1.2 with NumPy 2 fails on PIL images ("Cannot handle this data
    type"); it works with file paths or ``uint8`` arrays, and arrays are embedded
    in the notebook, so they show in Colab, JupyterLab and exported HTML alike.
    A file the course's loaders leave out is a grey square (one warning names it).
    """
    from PIL import Image

    out = []
    for p, ok in zip(paths, _readable(paths), strict=True):
        if not ok:
            out.append(np.full((size, size, 3), 128, dtype=np.uint8))
            continue
        with Image.open(p) as im:
            im = im.convert("RGB")
            im.thumbnail((size, size))
            out.append(np.asarray(im, dtype=np.uint8))
    return out


def _readable(paths: Sequence[str | Path]) -> list[bool]:
    """Whether each file is an image the loaders read (:func:`~course_utils.data.image_files.check_image`,
    the one verdict per file); the others are named in one warning and drawn as a grey square."""
    import warnings

    from .data.image_files import SKIP_REASONS, check_images

    found = check_images(paths)
    bad = [f"{Path(p).name} ({SKIP_REASONS.get(s, s)})" for p, (s, _) in zip(paths, found, strict=True) if s != "ok"]
    if bad:
        warnings.warn(
            f"No se muestran {len(bad)} archivo(s) que los cargadores del curso tampoco leen: {', '.join(bad[:5])}. "
            "Aparecen como un cuadrado gris; revísalos con image_files.validate_dataset.",
            stacklevel=3,
        )
    return [s == "ok" for s, _ in found]


def show_images(
    paths: Sequence[str], labels: Sequence[str] | None = None, *, img_width: int = 130, max_images: int = 20
) -> None:
    """Grid of images with ipyplot (embedded ``uint8`` arrays, never PIL objects)."""
    import ipyplot

    paths = list(paths)[:max_images]
    # A 1-D object array: ipyplot calls np.asarray() on a list, which fails for
    # thumbnails of different shapes ("inhomogeneous shape").
    images = np.empty(len(paths), dtype=object)
    for i, thumb in enumerate(load_thumbnails(paths)):
        images[i] = thumb
    ipyplot.plot_images(
        images,
        labels=list(labels)[:max_images] if labels is not None else None,
        img_width=img_width,
        show_url=False,
        max_images=max_images,
    )


def plot_image_grid(
    images: Sequence[Any], titles: Sequence[str] | None = None, cols: int = 5, title: str = "", size: float = 2.2
):
    """Matplotlib grid of images (arrays in [0,1] or [0,255], or file paths)."""
    import matplotlib.pyplot as plt
    from PIL import Image

    n = len(images)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows + 0.4), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for k, (ax, img) in enumerate(zip(axes.flat, images, strict=False)):
        if isinstance(img, (str, Path)):
            if not _readable([img])[0]:
                img = np.full((8, 8, 3), 128, dtype=np.uint8)
            else:
                with Image.open(img) as im:
                    img = np.asarray(im.convert("RGB"))
        img = np.asarray(img)
        if img.dtype != np.uint8:
            img = np.clip(img / 255.0 if img.max() > 1.5 else img, 0, 1)
        ax.imshow(img)
        if titles is not None:
            ax.set_title(titles[k], fontsize=9)
    if title:
        fig.suptitle(title)
    plt.tight_layout()
    plt.show()
    return fig


def plot_class_balance(counts: Any, title: str = "Imágenes por clase y partición"):
    """Bars per split and class, with the ratio of the second class in each split's label."""
    import matplotlib.pyplot as plt

    classes = [c for c in counts.columns if c != "total"]
    fig, ax = plt.subplots(figsize=(7, 3.8))
    pos = np.arange(len(counts))
    width = 0.8 / len(classes)
    for k, cls in enumerate(classes):
        bars = ax.bar(pos + k * width, counts[cls], width, label=cls)
        ax.bar_label(bars, fontsize=8)
    ratios = counts[classes[-1]] / counts[classes].sum(axis=1)
    ax.set_xticks(pos + width * (len(classes) - 1) / 2)
    ax.set_xticklabels([f"{s}\n({classes[-1]}: {r:.0%})" for s, r in zip(counts.index, ratios, strict=True)])
    ax.set_xlabel("Partición")
    ax.set_ylabel("Número de imágenes")
    ax.set_title(title)
    ax.legend(title="Clase")
    plt.tight_layout()
    plt.show()
    return fig


def plot_size_histograms(sizes: Any, bins: int = 20, title: str = "Dimensiones de las imágenes"):
    """Width and height histograms, and their 2-D histogram with a colour bar."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    axes[0].hist(sizes["width"], bins=bins, alpha=0.6, label="ancho")
    axes[0].hist(sizes["height"], bins=bins, alpha=0.6, label="alto")
    axes[0].set_xlabel("Píxeles")
    axes[0].set_ylabel("Número de imágenes")
    axes[0].set_title("Ancho y alto")
    axes[0].legend()
    h = axes[1].hist2d(sizes["width"], sizes["height"], bins=bins, cmap="Blues")
    fig.colorbar(h[3], ax=axes[1], label="Número de imágenes")
    axes[1].set_xlabel("Ancho (px)")
    axes[1].set_ylabel("Alto (px)")
    axes[1].set_title("Histograma 2-D ancho × alto")
    fig.suptitle(title)
    plt.tight_layout()
    plt.show()
    return fig


def plot_augmentations(
    image: np.ndarray,
    augmenter: Any,
    n: int = 25,
    cols: int = 5,
    title: str = "Versiones aumentadas de una misma imagen",
):
    """``n`` random augmentations of one image (``uint8`` or float in [0,255])."""
    x = np.repeat(np.asarray(image, dtype="float32")[None], n, axis=0)
    out = np.asarray(augmenter(x, training=True))
    return plot_image_grid([np.clip(o, 0, 255).astype(np.uint8) for o in out], cols=cols, title=title)


def pre_activation(layer: Any, inputs: Any) -> Any:
    """What a ``Conv2D`` or ``Dense`` ``layer`` computes from ``inputs`` before its activation."""
    from keras import layers, ops

    if isinstance(layer, layers.Conv2D):
        out = ops.conv(
            inputs,
            layer.kernel,
            strides=layer.strides,
            padding=layer.padding,
            data_format=layer.data_format,
            dilation_rate=layer.dilation_rate,
        )
    elif isinstance(layer, layers.Dense):
        out = ops.matmul(inputs, layer.kernel)
    else:
        raise ValueError(f"La capa {layer.name!r} ({type(layer).__name__}) no es Conv2D ni Dense.")
    return out + layer.bias if layer.use_bias else out


def filter_response(model: Any, layer: Any) -> Any:
    """A function from images to what ``layer`` of ``model`` computes, **before** its activation for a ``Conv2D``.

    A ReLU output that is zero everywhere on an image has a zero gradient: gradient ascent
    on it would never leave its start.  The convolution's linear output never is.
    """
    from keras import layers

    layer = find_layer(model, layer)
    if not isinstance(layer, layers.Conv2D):
        extractor = sub_model(model, layer, name="filtro")
        return lambda images: extractor(images, training=False)
    inputs = _input_model(model, layer)
    return lambda images: pre_activation(layer, inputs(images, training=False))


def pattern_image(x: np.ndarray) -> np.ndarray:
    """An image made by gradient ascent as ``uint8`` for display: centred on grey with a fixed contrast."""
    x = np.asarray(x, dtype="float32")
    x = (x - x.mean()) / (x.std() + 1e-5) * 0.15 + 0.5
    return (np.clip(x, 0, 1) * 255).astype(np.uint8)


def filter_pattern(
    model: Any,
    layer: Any,
    filter_index: int,
    *,
    img_size: int = 128,
    steps: int = 40,
    learning_rate: float = 10.0,
    seed: int = 0,
) -> np.ndarray:
    """The input that maximises one filter's mean response, by gradient ascent (``uint8``).

    Starts from grey noise and climbs the gradient of the filter's mean response
    (:func:`filter_response`, excluding borders) with respect to the input image; notebook 08
    writes the same loop.  A model with a fixed input size (e.g. the lesson's 150 px CNN) is
    fed images of that size, whatever ``img_size`` says.
    """
    import tensorflow as tf

    response = filter_response(model, layer)
    fixed = tuple(model.input_shape[1:3])
    height, width = (img_size, img_size) if None in fixed else fixed
    rng = np.random.default_rng(seed)
    img = tf.Variable(rng.uniform(0.4, 0.6, (1, height, width, 3)).astype("float32"))
    for _ in range(steps):
        with tf.GradientTape() as tape:
            maps = response(img)[..., filter_index]
            loss = tf.reduce_mean(maps[:, 2:-2, 2:-2] if maps.shape[1] > 4 else maps)
        grads = tape.gradient(loss, img)
        # Normalise by the gradient's RMS so that each step moves a pixel by about
        # learning_rate/255 whatever the image size (a global L2 norm made the steps
        # ~1/sqrt(pixels) small, and the result stayed the starting noise).
        grads = grads / (tf.sqrt(tf.reduce_mean(tf.square(grads))) + 1e-8)
        img.assign_add(learning_rate / 255.0 * grads)
    return pattern_image(img.numpy()[0])


def _input_model(model: Any, layer: Any) -> Any:
    """A model (or identity) from ``model``'s input to what ``layer`` receives (its input tensor)."""
    import keras

    index = next(i for i, lyr in enumerate(model.layers) if lyr is layer)
    if isinstance(model, keras.Sequential):
        if index == 0:
            return lambda x, training=False: x
        return sub_model(model, model.layers[index - 1], name="entrada_capa")
    return keras.Model(model.inputs, layer.input, name="entrada_capa")


def last_spatial_layer(model: Any) -> Any:
    """The last layer with a 4-D output that is not pooling or dropout: where Grad-CAM looks.

    For the lesson's CNN that is the last ``Conv2D`` (its ReLU is inside); for a
    model with ``Conv2D -> BatchNormalization -> ReLU`` blocks it is the last
    ReLU, since the raw convolution output before BatchNorm gives empty maps.
    """
    from keras import layers

    def rank(layer: Any) -> int:
        try:
            return len(layer.output.shape)
        except (AttributeError, ValueError):
            return 0

    skip = (layers.MaxPooling2D, layers.AveragePooling2D, layers.Dropout, layers.SpatialDropout2D, layers.InputLayer)
    spatial = [layer for layer in model.layers if not isinstance(layer, skip) and rank(layer) == 4]
    if not spatial:
        raise ValueError("El modelo no tiene capas convolucionales (salida 4-D) para Grad-CAM.")
    return spatial[-1]


def grad_cam(model: Any, image: np.ndarray, conv_layer: Any = None) -> tuple[np.ndarray, float]:
    """Grad-CAM heatmap in [0, 1] (conv-layer resolution) and the model's score for one image.

    The gradient is that of the class **logit** (the last ``Dense`` layer before its
    sigmoid or softmax), not of the probability: a confident sigmoid saturates
    (``p = 1.0`` in float32), its gradient is zero and the map would be empty.
    For a sigmoid output the class is "dog" (logit) when the score > 0.5 and
    "cat" (minus the logit) otherwise; the heatmap explains the predicted class.
    """
    import tensorflow as tf

    layer = conv_layer if conv_layer is not None else last_spatial_layer(model)
    if isinstance(layer, str):
        layer = model.get_layer(layer)
    last = model.layers[-1]
    grad_model = sub_model(model, [layer, model.layers[-2]], name="gradcam")
    x = tf.convert_to_tensor(np.asarray(image, dtype="float32")[None])
    with tf.GradientTape() as tape:
        conv_out, features = grad_model(x, training=False)
        logits = pre_activation(last, features)
        if logits.shape[-1] == 1:
            score = tf.sigmoid(logits[:, 0])
            target = logits[:, 0] if float(score[0]) > 0.5 else -logits[:, 0]
        else:
            score = tf.reduce_max(tf.nn.softmax(logits), axis=-1)
            target = tf.reduce_max(logits, axis=-1)
    grads = tape.gradient(target, conv_out)
    weights = tf.reduce_mean(grads, axis=(0, 1, 2))
    cam = tf.nn.relu(tf.reduce_sum(conv_out[0] * weights, axis=-1)).numpy()
    peak = cam.max()
    cam = cam / peak if peak > 0 else cam
    return cam.astype("float32"), float(score[0])


def overlay_heatmap(image: np.ndarray, heatmap: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """The heatmap (resized, coloured with 'jet') over a ``uint8`` or [0,1] image, as ``uint8``."""
    import matplotlib as mpl
    from PIL import Image

    img = np.asarray(image, dtype="float32")
    img = img / 255.0 if img.max() > 1.5 else img
    h, w = img.shape[:2]
    hm = np.asarray(Image.fromarray((heatmap * 255).astype(np.uint8)).resize((w, h), Image.BILINEAR)) / 255.0
    colored = mpl.colormaps["jet"](hm)[..., :3]
    return (np.clip((1 - alpha) * img + alpha * colored, 0, 1) * 255).astype(np.uint8)


def scatter_by_class(
    ax: Any,
    points: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    title: str,
    xlabel: str = "",
    ylabel: str = "",
) -> Any:
    """A 2-D point cloud per class on ``ax`` (label ``k`` is ``class_names[k]``), with counts in the legend."""
    points, labels = np.asarray(points), np.asarray(labels)
    for k, name in enumerate(class_names):
        mask = labels == k
        ax.scatter(points[mask, 0], points[mask, 1], s=14, alpha=0.7, label=f"{name} ({mask.sum()})")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(title="Clase")
    return ax

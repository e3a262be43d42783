"""Embeddings: the activations of a layer for every image, with their labels, aligned."""

from __future__ import annotations

from typing import Any

import numpy as np


def _n_images(data: Any) -> int | None:
    """How many images ``data`` yields, when it says so (a SplitData or a legacy generator)."""
    if hasattr(data, "paths"):
        return len(data.paths)
    samples = getattr(data, "samples", None)
    return samples if isinstance(samples, int) else None


def extract_embeddings(
    model: Any, data: Any, *, progress: bool = True, desc: str = "Extrayendo embeddings"
) -> tuple[np.ndarray, np.ndarray]:
    """``(features, labels)`` for every image of ``data``, in one pass; features in ``float32``.

    ``data`` is a SplitData, a tf.data dataset of ``(images, labels)`` or a
    legacy ``DirectoryIterator``.  Features and labels come from the same batch,
    so they match even when the data is shuffled (the original lesson fitted its
    classifiers on ``train_generator.classes`` with features from a shuffled
    generator, which pairs images with the wrong labels).  When ``data`` knows
    its number of images, the features go batch by batch into one preallocated
    array; they are ``float32`` whatever the model's precision policy (a
    ``mixed_bfloat16`` model outputs ``bfloat16``, which scikit-learn does not take).
    """
    from tqdm.auto import tqdm

    from .evaluation import iter_batches

    dataset = getattr(data, "dataset", data)
    total = None
    try:
        total = len(dataset)
    except TypeError:
        pass
    n = _n_images(data)
    chunks: list[np.ndarray] = []  # when the number of images is unknown
    feats: np.ndarray | None = None  # when it is known: filled batch by batch
    labels: list[np.ndarray] = []
    filled = 0
    for xb, yb in tqdm(iter_batches(data), total=total, desc=desc, unit="lote", disable=not progress):
        out = model.predict(xb, verbose=0) if hasattr(model, "layers") else model(xb)
        out = np.asarray(out)
        out = out.reshape(len(out), -1)
        if n is None:
            chunks.append(out.astype(np.float32))
        else:
            if feats is None:
                feats = np.empty((n, out.shape[1]), dtype=np.float32)
            if filled + len(out) > n:
                raise ValueError(f"Los datos dan más imágenes de las {n} que anuncian.")
            feats[filled : filled + len(out)] = out
        filled += len(out)
        labels.append(np.asarray(yb).reshape(-1))
    if n is None:
        feats = np.concatenate(chunks) if chunks else np.empty((0, 0), dtype=np.float32)
    elif feats is None or filled != n:
        raise ValueError(f"Los datos anuncian {n} imágenes y dieron {filled}.")
    return feats, np.concatenate(labels).astype(int)

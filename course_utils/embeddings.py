"""Embeddings: the activations of a layer for every image, with their labels, aligned."""

from __future__ import annotations

from typing import Any

import numpy as np


def extract_embeddings(
    model: Any, data: Any, *, progress: bool = True, desc: str = "Extrayendo embeddings"
) -> tuple[np.ndarray, np.ndarray]:
    """``(features, labels)`` for every image of ``data``, in one pass.

    ``data`` is a SplitData, a tf.data dataset of ``(images, labels)`` or a
    legacy ``DirectoryIterator``.  Features and labels come from the same batch,
    so they match even when the data is shuffled (the original lesson fitted its
    classifiers on ``train_generator.classes`` with features from a shuffled
    generator, which pairs images with the wrong labels).
    """
    from tqdm.auto import tqdm

    from .evaluation import iter_batches

    dataset = getattr(data, "dataset", data)
    total = None
    try:
        total = len(dataset)
    except TypeError:
        pass
    feats, labels = [], []
    for xb, yb in tqdm(iter_batches(data), total=total, desc=desc, unit="lote", disable=not progress):
        out = model.predict(xb, verbose=0) if hasattr(model, "layers") else model(xb)
        out = np.asarray(out)
        feats.append(out.reshape(len(out), -1))
        labels.append(np.asarray(yb).reshape(-1))
    return np.concatenate(feats), np.concatenate(labels).astype(int)

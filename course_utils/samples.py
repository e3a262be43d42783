"""A few example photos per class for a notebook to show: only files that are good images."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .image_check import check_images
from .inspection import IMAGE_EXTENSIONS, _candidates, class_names


def sample_images(split_dir: str | os.PathLike, n_images: int, seed: int = 42) -> tuple[list[str], list[str]]:
    """``(paths, labels)`` of about ``n_images`` random photos of ``split_dir``, half of each class.

    Only files that decode as images are drawn (no ``.DS_Store``, text or empty
    files); a class with fewer good photos than asked gives all it has, and a
    line says so.  Labels read ``"<class>: <file name>"``.  The same seed gives
    the same photos.
    """
    split_dir = Path(split_dir)
    rng = np.random.default_rng(seed)
    names = class_names(split_dir)
    per_class = max(1, int(n_images) // max(1, len(names)))
    paths: list[str] = []
    labels: list[str] = []
    for cls in names:
        files = [p for p in _candidates(split_dir / cls) if p.suffix.lower() in IMAGE_EXTENSIONS]
        good = [p for p, (status, _) in zip(files, check_images(files), strict=True) if status == "ok"]
        if len(good) < per_class:
            print(
                f"{split_dir.name}/{cls} tiene {len(good)} fotos válidas: se muestran todas (se pidieron {per_class})."
            )
        for path in rng.choice(np.array(good, dtype=object), size=min(per_class, len(good)), replace=False):
            paths.append(str(path))
            labels.append(f"{cls}: {Path(path).name}")
    return paths, labels

"""A deterministic, learnable two-class image set in the course's folder layout.

Cats are drawn as round shapes (ellipses with two triangular "ears") on warm
backgrounds, dogs as long rounded rectangles with floppy "ears" on cool
backgrounds, with noise, random sizes, positions and image sizes, so that a
small CNN learns them well above chance while an MLP on 16x16 pixels finds it
harder.  The same arguments always give the same files.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .cache_io import locked
from .layout import CLASSES, SPLITS

DEFAULT_COUNTS = {"train": 150, "validation": 100, "test": 100}
_FORMAT_VERSION = 1


def _draw(rng: np.random.Generator, label: int) -> Image.Image:
    w, h = int(rng.integers(96, 320)), int(rng.integers(96, 300))
    warm = np.array([200, 140, 90]) if label == 0 else np.array([90, 140, 200])
    base = np.clip(warm + rng.normal(0, 35, 3), 0, 255)
    xx = np.mgrid[0:h, 0:w][1]
    grad = (xx / w)[..., None] * rng.normal(0, 40, 3)
    pixels = np.clip(base + grad + rng.normal(0, 18, (h, w, 3)), 0, 255).astype(np.uint8)
    img = Image.fromarray(pixels)
    d = ImageDraw.Draw(img)
    s = min(w, h)
    cx, cy = rng.uniform(0.3, 0.7) * w, rng.uniform(0.35, 0.7) * h
    r = rng.uniform(0.18, 0.3) * s
    fill = tuple(int(v) for v in rng.integers(20, 235, 3))
    if label == 0:  # cat: round face, pointy ears
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
        for sign in (-1, 1):
            ex = cx + sign * 0.6 * r
            d.polygon(
                [(ex - 0.35 * r, cy - 0.6 * r), (ex + 0.35 * r, cy - 0.6 * r), (ex + sign * 0.1 * r, cy - 1.5 * r)],
                fill=fill,
            )
    else:  # dog: long snout, floppy ears
        d.rounded_rectangle([cx - 1.3 * r, cy - 0.7 * r, cx + 1.3 * r, cy + 0.7 * r], radius=0.3 * r, fill=fill)
        for sign in (-1, 1):
            ex = cx + sign * 1.3 * r
            d.ellipse(
                [ex - 0.35 * r, cy - 0.5 * r, ex + 0.35 * r, cy + 0.9 * r], fill=tuple(max(0, c - 40) for c in fill)
            )
    for _ in range(int(rng.integers(0, 4))):  # clutter common to both classes
        x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
        d.line(
            [x0, y0, x0 + rng.normal(0, s / 4), y0 + rng.normal(0, s / 4)],
            fill=tuple(int(v) for v in rng.integers(0, 255, 3)),
            width=int(rng.integers(1, 4)),
        )
    return img.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0, 1.2))))


def make_synthetic_dataset(root: str | os.PathLike, counts: dict[str, int] | None = None, seed: int = 0) -> Path:
    """Write (once) the synthetic set under ``root`` and return ``root``.

    ``counts`` gives images per class for each split.  An existing complete set
    made with the same arguments is reused; a different one is never touched
    (a :class:`FileExistsError` says so).  Several processes at once take turns
    (a lock file beside ``root``); staging folders of a killed run are removed.
    """
    root = Path(root)
    counts = {**DEFAULT_COUNTS, **(counts or {})}
    stamp = {"version": _FORMAT_VERSION, "counts": counts, "seed": seed}
    if _finished(root, stamp):
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    # One process writes it while the others wait; staging folders left by a killed run go first.
    with locked(root.parent / f".{root.name}.lock", root.parent):
        for stale in root.parent.glob(f".{root.name}.*"):
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
        if _finished(root, stamp):
            return root  # another process wrote it meanwhile
        if root.exists() and any(root.iterdir()):
            raise FileExistsError(f"{root} existe y no está vacía; no se sobrescribe. Usa otra carpeta.")
        _write(root, counts, seed, stamp)
    return root


def _finished(root: Path, stamp: dict) -> bool:
    """True when ``root`` holds the set of ``stamp``; FileExistsError when it holds another one."""
    marker = root / ".complete"
    if not marker.exists():
        return False
    if json.loads(marker.read_text()) == stamp:
        return True
    raise FileExistsError(f"{root} ya contiene un conjunto sintético con otros parámetros; usa otra carpeta.")


def _write(root: Path, counts: dict[str, int], seed: int, stamp: dict) -> None:
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=root.parent))
    try:
        for s_idx, split in enumerate(SPLITS):
            for label, cls in enumerate(CLASSES):
                folder = staging / split / cls
                folder.mkdir(parents=True)
                rng = np.random.default_rng([seed, s_idx, label])
                stem = cls[:-1]
                for i in range(counts[split]):
                    _draw(rng, label).save(folder / f"{stem}.{i + 1}.jpg", quality=90)
        (staging / ".complete").write_text(json.dumps(stamp))
        if root.exists():
            root.rmdir()
        os.replace(staging, root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

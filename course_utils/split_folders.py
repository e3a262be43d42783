"""A split folder ready for ``keras.utils.image_dataset_from_directory``: only readable images, capped per class.

``image_dataset_from_directory`` reads every file it finds and stops at the first
broken one, and it has no per-class cap.  :func:`split_folder` returns the split
itself when every file is a readable image and no cap is asked for; otherwise a
folder of links (copies where links are not allowed) to the files that
:func:`course_utils.inspection.list_images` keeps.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from .config import cache_dir
from .inspection import list_images


def _view_dir(split_dir: Path, max_per_class: int | None, kept: list[str]) -> Path:
    digest = hashlib.sha256("\n".join([str(split_dir.resolve()), str(max_per_class), *kept]).encode()).hexdigest()
    return cache_dir() / "vistas" / f"{split_dir.name}-{digest[:16]}"


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.symlink(src.resolve(), dst)
    except OSError:  # Windows without the right to create links, some network drives
        shutil.copy2(src, dst)


def split_folder(root: str | os.PathLike, split: str, max_per_class: int | None = None) -> Path:
    """``root/split``, or a folder of links to its readable images (at most ``max_per_class`` per class).

    The view is built once per content (its name carries a hash of the files kept) in the
    course's cache folder, and written under a temporary name first, so that an interrupted
    run or two notebooks at once never leave a half-built view in use.
    """
    split_dir = Path(root) / split
    if not split_dir.is_dir():
        raise FileNotFoundError(
            f"No existe la carpeta {split_dir}: los datos deben tener {split}/<clase>/*.jpg. "
            "Vuelve a ejecutar la celda de puesta en marcha (descarga o localiza los datos)."
        )
    paths, labels, names = list_images(split_dir, max_per_class=max_per_class)
    every = sum(1 for cls in names for f in (split_dir / cls).iterdir() if f.is_file())
    if max_per_class is None and len(paths) == every:
        return split_dir
    view = _view_dir(split_dir, max_per_class, paths)
    if view.is_dir():
        return view
    tmp = view.with_name(f"{view.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    for cls in names:
        (tmp / cls).mkdir(parents=True, exist_ok=True)
    for path, label in zip(paths, labels, strict=True):
        src = Path(path)
        _link_or_copy(src, tmp / names[int(label)] / src.name)
    try:
        tmp.rename(view)
    except OSError:  # another process finished the same view first
        shutil.rmtree(tmp, ignore_errors=True)
    return view

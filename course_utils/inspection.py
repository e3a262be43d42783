"""Look at a dataset folder: counts, image sizes and a validation pass.

Nothing here deletes, moves or rewrites a file: problems are reported, and
:func:`list_images` leaves the bad files out of what the loaders see.  Both use
the same decode check (:mod:`course_utils.image_check`).
"""

from __future__ import annotations

import contextlib
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .image_check import LOADER_FORMATS, MAX_IMAGE_PIXELS, check_image, check_images  # noqa: F401 (re-exported)
from .layout import IMAGE_EXTENSIONS, SPLITS  # IMAGE_EXTENSIONS re-exported

#: How many skipped files the loaders' warning names.
NAMED_SKIPS = 5
#: Files that operating systems leave behind; ignored silently.
IGNORED_FILES = {".ds_store", "thumbs.db", "desktop.ini", ".complete"}
#: Why :func:`list_images` leaves a file out, by :func:`check_image` status (Spanish, for the warning).
SKIP_REASONS = {
    "not_image": "no es una imagen",
    "unreadable": "ilegible o dañada",
    "truncated": "truncada",
    "unsupported": "formato no admitido: conviértela a JPEG o PNG",
    "too_large": f"más de {MAX_IMAGE_PIXELS // 1_000_000} megapíxeles: redúcela",
    "skip": "excluida",
    "mode": "16 bits por canal, que el generador antiguo ve casi blancas: usa load_datasets o conviértelas a 8 bits",
}


def check_class_names(names: list[str], where: str | os.PathLike) -> None:
    """Raise ``ValueError`` if a class folder name starts or ends with spaces (invisible in messages)."""
    odd = [n for n in names if n != n.strip()]
    if odd:
        raise ValueError(
            f"En {where} hay carpetas de clase con espacios al principio o al final del nombre: "
            f"{', '.join(repr(n) for n in odd)}. Renómbralas (p. ej. {odd[0]!r} -> {odd[0].strip()!r}); "
            "no se modificó ningún archivo."
        )


def class_names(split_dir: str | os.PathLike) -> list[str]:
    """Sorted class folder names of a split (their order gives the label index)."""
    split_dir = Path(split_dir)
    if not split_dir.is_dir():
        raise FileNotFoundError(
            f"No existe la carpeta {split_dir}. Revisa DATA_SOURCE: debe apuntar a la carpeta que "
            "contiene train/, validation/ y test/."
        )
    return sorted(p.name for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def _candidates(folder: Path) -> list[Path]:
    return sorted(
        (
            p
            for p in folder.iterdir()
            if p.is_file() and p.name.lower() not in IGNORED_FILES and not p.name.startswith(".")
        ),
        key=lambda p: p.name,
    )


def count_images(root: str | os.PathLike, splits: tuple[str, ...] = SPLITS):
    """A pandas DataFrame with one row per split and one column per class (file counts)."""
    import pandas as pd

    root = Path(root)
    rows = {}
    for split in splits:
        names = class_names(root / split)
        rows[split] = {
            c: len([p for p in _candidates(root / split / c) if p.suffix.lower() in IMAGE_EXTENSIONS]) for c in names
        }
    table = pd.DataFrame(rows).T.fillna(0).astype(int)
    table["total"] = table.sum(axis=1)
    return table


def image_sizes(split_dir: str | os.PathLike, max_per_class: int | None = None):
    """DataFrame of ``path, class, width, height`` read from the image headers."""
    import pandas as pd

    rows = []
    for cls in class_names(split_dir):
        files = [p for p in _candidates(Path(split_dir) / cls) if p.suffix.lower() in IMAGE_EXTENSIONS]
        for p in files[:max_per_class]:
            try:
                with Image.open(p) as im:
                    rows.append((str(p), cls, im.width, im.height))
            except (UnidentifiedImageError, OSError):
                continue
    return pd.DataFrame(rows, columns=["path", "class", "width", "height"])


@dataclass
class ValidationReport:
    """What :func:`validate_dataset` found, file by file."""

    checked: int = 0
    not_images: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    truncated: list[str] = field(default_factory=list)
    non_rgb: dict[str, str] = field(default_factory=dict)  # path -> mode (L, RGBA, CMYK, P...)
    empty_classes: list[str] = field(default_factory=list)
    missing_splits: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    class_mismatch: dict[str, list[str]] = field(default_factory=dict)
    unsupported: dict[str, str] = field(default_factory=dict)  # path -> format the loaders cannot decode
    too_large: list[str] = field(default_factory=list)

    @property
    def bad_files(self) -> set[str]:
        """Files a loader must skip (non-RGB images are fine: loaders convert them)."""
        return (
            set(self.not_images)
            | set(self.unreadable)
            | set(self.truncated)
            | set(self.unsupported)
            | set(self.too_large)
        )

    @property
    def ok(self) -> bool:
        return not (self.bad_files or self.empty_classes or self.missing_splits or self.class_mismatch)

    def summary(self) -> str:
        """A short Spanish summary table."""
        lines = [
            f"Archivos revisados: {self.checked}",
            f"No son imágenes: {len(self.not_images)}",
            f"Ilegibles: {len(self.unreadable)}",
            f"Truncadas: {len(self.truncated)}",
            f"Formato no admitido (conviértelas a JPEG o PNG): {len(self.unsupported)}",
            f"Demasiado grandes (más de {MAX_IMAGE_PIXELS // 1_000_000} MP): {len(self.too_large)}",
            f"No RGB (se convierten a RGB al cargar): {len(self.non_rgb)}",
            f"Carpetas de clase vacías: {len(self.empty_classes)}",
            f"Particiones que faltan: {', '.join(self.missing_splits) or 'ninguna'}",
            f"Archivos de sistema ignorados: {len(self.ignored)}",
        ]
        for split, names in self.class_mismatch.items():
            lines.append(f"Clases distintas en {split}: {', '.join(names)}")
        lines.append(
            "Sin problemas." if self.ok else "Los archivos con problemas se omiten al cargar; no se borra nada."
        )
        return "\n".join(lines)


def validate_dataset(
    root: str | os.PathLike, splits: tuple[str, ...] = SPLITS, progress: bool = True
) -> ValidationReport:
    """Check every file of every split; never raises for a bad file, never deletes one."""
    from tqdm.auto import tqdm

    root = Path(root)
    report = ValidationReport()
    reference: list[str] | None = None
    files: list[Path] = []
    for split in splits:
        if not (root / split).is_dir():
            report.missing_splits.append(split)
            continue
        names = class_names(root / split)
        if reference is None:
            reference = names
        elif names != reference:
            report.class_mismatch[split] = names
        for cls in names:
            folder = root / split / cls
            every = [p for p in folder.iterdir() if p.is_file()]
            report.ignored += [str(p) for p in every if p.name.lower() in IGNORED_FILES or p.name.startswith(".")]
            cands = _candidates(folder)
            if not cands:
                report.empty_classes.append(f"{split}/{cls}")
            files += cands
    statuses: list = []
    with tqdm(total=len(files), desc="Validando imágenes", unit="img", disable=not progress, leave=False) as bar:
        for i in range(0, len(files), 256):
            statuses += check_images(files[i : i + 256])
            bar.update(len(files[i : i + 256]))
    for p, (status, mode) in zip(files, statuses, strict=True):
        report.checked += 1
        if status == "not_image":
            report.not_images.append(str(p))
        elif status == "unreadable":
            report.unreadable.append(str(p))
        elif status == "truncated":
            report.truncated.append(str(p))
        elif status == "unsupported":
            with contextlib.suppress(Exception), Image.open(p) as im:
                mode = im.format
            report.unsupported[str(p)] = mode or "?"
        elif status == "too_large":
            report.too_large.append(str(p))
        elif mode != "RGB":
            report.non_rgb[str(p)] = mode
    return report


def list_images(
    split_dir: str | os.PathLike,
    *,
    max_per_class: int | None = None,
    skip: set[str] | None = None,
    class_order: list[str] | None = None,
    check: bool = True,
    refuse_modes: tuple[str, ...] = (),
) -> tuple[list[str], np.ndarray, list[str]]:
    """``(paths, labels, class_names)`` of a split, in a stable order.

    Labels follow the sorted class folder names (as ``image_dataset_from_directory``).
    Files in ``skip``, files in a colour mode of ``refuse_modes`` and, with
    ``check=True``, files that are not complete images of a format the loaders
    read (see :func:`check_image`) are left out with one warning that counts
    them by reason and names one.  ``max_per_class`` (a positive integer or
    None) keeps the first N files of each class (sorted by name), so every run
    sees the same subset.
    """
    if max_per_class is not None and (
        isinstance(max_per_class, bool) or not isinstance(max_per_class, int) or max_per_class < 1
    ):
        raise ValueError(
            f"max_per_class={max_per_class!r} no es válido: usa un entero positivo, o None para todas las imágenes."
        )
    split_dir = Path(split_dir)
    names = class_order or class_names(split_dir)
    if not names:
        raise FileNotFoundError(f"{split_dir} no tiene carpetas de clase (p. ej. cats/ y dogs/).")
    check_class_names(names, split_dir)
    skip = skip or set()
    paths, labels, skipped = [], [], []
    for label, cls in enumerate(names):
        folder = split_dir / cls
        every = _candidates(folder) if folder.is_dir() else []
        cands = [p for p in every if str(p) not in skip]
        skipped += [(str(p), "skip") for p in every if str(p) in skip]
        kept: list[str] = []
        step = 1024 if max_per_class is None else max(8, max_per_class)
        for i in range(0, len(cands), step):
            chunk = cands[i : i + step]
            found = check_images(chunk) if check or refuse_modes else [("ok", None)] * len(chunk)
            for p, (status, mode) in zip(chunk, found, strict=True):
                if status == "ok" and refuse_modes and mode in refuse_modes:
                    status = "mode"
                if status != "ok":
                    skipped.append((str(p), status))
                elif max_per_class is None or len(kept) < max_per_class:
                    kept.append(str(p))
            if max_per_class is not None and len(kept) >= max_per_class:
                break
        if not kept:
            raise ValueError(
                f"La clase '{cls}' de {split_dir} no tiene imágenes válidas. Añade imágenes o quita la carpeta."
            )
        paths += kept
        labels += [label] * len(kept)
    if skipped:
        counts: dict[str, int] = {}
        for _, status in skipped:
            counts[SKIP_REASONS[status]] = counts.get(SKIP_REASONS[status], 0) + 1
        reasons = "; ".join(f"{n} {why}" for why, n in counts.items())
        named = ", ".join(f"{Path(p).parent.name}/{Path(p).name}" for p, _ in skipped[:NAMED_SKIPS])
        more = f" y {len(skipped) - NAMED_SKIPS} más" if len(skipped) > NAMED_SKIPS else ""
        warnings.warn(
            f"{split_dir.name}: se omitieron {len(skipped)} archivo(s) que no son imágenes "
            f"válidas para el cargador ({reasons}): {named}{more}. No se borró ninguno; "
            "revísalos con inspection.validate_dataset o sácalos del conjunto.",
            stacklevel=2,
        )
    return paths, np.asarray(labels, dtype="int32"), names

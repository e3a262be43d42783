"""Look at a dataset folder: counts, image sizes and a validation pass.

Nothing here deletes, moves or rewrites a file: problems are reported, and
:func:`list_images` leaves the bad files out of what the loaders see.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .layout import SPLITS

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
#: Formats the loaders decode (by content, whatever the extension says).  Every one of them has a
#: quick completeness check (:func:`check_image` with ``full=False``).  Any other format (WebP,
#: TIFF, ...) is left out by both loaders, modern and legacy, with a message: convert it to JPEG/PNG.
LOADER_FORMATS = ("JPEG", "PNG", "BMP", "GIF")
#: Largest image the loaders decode, in pixels (50 MP: a 48 MP phone photo fits; the course's photos
#: are under 1 MP).  Larger files are left out before decoding, whatever PIL's own limit says.
MAX_IMAGE_PIXELS = 50_000_000
#: Files that operating systems leave behind; ignored silently.
IGNORED_FILES = {".ds_store", "thumbs.db", "desktop.ini", ".complete"}
#: Why :func:`list_images` leaves a file out, by :func:`check_image` status (Spanish, for the warning).
SKIP_REASONS = {
    "not_image": "no es una imagen",
    "unreadable": "ilegible",
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


def _jpeg_complete(data: bytes) -> bool:
    """Walk the JPEG's segments to its EOI marker (bytes after it, e.g. a motion photo's video, are fine)."""
    n, i = len(data), 2
    if data[:2] != b"\xff\xd8":
        return False
    while i < n:
        if data[i] != 0xFF:
            return False
        while i < n and data[i] == 0xFF:
            i += 1
        if i >= n:
            return False
        marker = data[i]
        i += 1
        if marker == 0xD9:
            return True
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            continue
        if i + 2 > n:
            return False
        i += int.from_bytes(data[i : i + 2], "big")
        if marker == 0xDA:  # entropy-coded data up to the next marker that is not RSTn or a stuffed 0xFF00
            while True:
                j = data.find(b"\xff", i)
                if j < 0 or j + 1 >= n:
                    return False
                if data[j + 1] == 0x00 or 0xD0 <= data[j + 1] <= 0xD7 or data[j + 1] == 0xFF:
                    i = j + 1
                    continue
                i = j
                break
    return False


def _png_complete(f, size: int) -> bool:
    """Walk the PNG's chunks (by their lengths) to IEND."""
    pos = 8
    while pos + 8 <= size:
        f.seek(pos)
        head = f.read(8)
        length, kind = int.from_bytes(head[:4], "big"), head[4:]
        if kind == b"IEND":
            return pos + 12 <= size
        pos += 12 + length
    return False


def _gif_complete(data: bytes) -> bool:
    """Walk the GIF's blocks to its trailer (0x3B)."""
    n = len(data)

    def sub_blocks(i: int) -> int:
        while i < n and data[i]:
            i += data[i] + 1
        return i + 1

    if n < 13:
        return False
    i = 13 + (3 * 2 ** ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    while i < n:
        block = data[i]
        if block == 0x3B:
            return True
        if block == 0x21:  # extension: label, then sub-blocks
            i = sub_blocks(i + 2)
        elif block == 0x2C:  # image: descriptor, local colour table, LZW code size, sub-blocks
            if i + 10 > n:
                return False
            flags = data[i + 9]
            i += 10 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
            i = sub_blocks(i + 1)
        else:
            return False
    return False


def _bmp_status(f, size: int) -> str:
    """``ok``, ``truncated`` or ``unsupported`` (the loaders read uncompressed 24/32-bit BMP only)."""
    f.seek(0)
    head = f.read(34)
    if len(head) < 26:
        return "truncated"
    offset, dib = int.from_bytes(head[10:14], "little"), int.from_bytes(head[14:18], "little")
    if dib == 12:
        width, height = int.from_bytes(head[18:20], "little"), int.from_bytes(head[20:22], "little")
        bpp, compression = int.from_bytes(head[24:26], "little"), 0
    elif len(head) >= 34:
        width = int.from_bytes(head[18:22], "little", signed=True)
        height = int.from_bytes(head[22:26], "little", signed=True)
        bpp, compression = int.from_bytes(head[28:30], "little"), int.from_bytes(head[30:34], "little")
    else:
        return "truncated"
    if bpp not in (24, 32) or compression not in ((0,) if bpp == 24 else (0, 3)):
        return "unsupported"
    stride = (abs(width) * bpp + 31) // 32 * 4
    return "ok" if size >= offset + stride * abs(height) else "truncated"


def _quick_status(path: Path, fmt: str | None) -> str:
    """Completeness of an image of a format the loaders read, from its structure (no decoding)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        if fmt == "BMP":
            return _bmp_status(f, size)
        f.seek(max(0, size - 1024))
        tail = f.read()
        if fmt == "JPEG":
            if b"\xff\xd9" in tail:
                return "ok"
            f.seek(0)
            return "ok" if _jpeg_complete(f.read()) else "truncated"
        if fmt == "PNG":
            return "ok" if b"IEND" in tail[-32:] or _png_complete(f, size) else "truncated"
        if fmt == "GIF":
            f.seek(0)
            return "ok" if _gif_complete(f.read()) else "truncated"
    return "unsupported"


def check_image(path: str | os.PathLike, full: bool = True) -> tuple[str, str | None]:
    """Classify one file: ``("ok"|"not_image"|"unreadable"|"truncated"|"unsupported"|"too_large", mode)``.

    ``full=True`` decodes the whole image (the validation report); ``full=False``
    reads only the header and checks from the file's structure that it is
    complete (JPEG segments to the end marker, PNG chunks to IEND, BMP pixel
    array size, GIF blocks to the trailer), which is what the loaders do before
    every run: ~50x faster.  Both agree: a JPEG followed by extra bytes (a
    phone's "motion photo") is ``ok``.  Formats the loaders cannot decode
    (WebP, TIFF, palette or compressed BMP) are ``unsupported``; images over
    :data:`MAX_IMAGE_PIXELS` are ``too_large`` and never decoded.
    """
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            return "unreadable", None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
        with im:
            mode, fmt = im.mode, im.format
            if fmt not in LOADER_FORMATS:
                return "unsupported", mode
            if im.width * im.height > MAX_IMAGE_PIXELS:
                return "too_large", mode
            if not full:
                status = _quick_status(path, fmt)
                if status != "ok":
                    return status, (mode if status == "unsupported" else None)
            else:
                if fmt == "BMP" and _quick_status(path, fmt) == "unsupported":
                    return "unsupported", mode
                if fmt == "JPEG":  # decode at 1/8 scale: every byte is still read, 10x faster
                    im.draft(im.mode, (max(1, im.width // 8), max(1, im.height // 8)))
                im.load()
    except UnidentifiedImageError:
        return "not_image", None
    except Image.DecompressionBombError:
        return "too_large", None
    except OSError as exc:
        return ("truncated" if "truncated" in str(exc).lower() else "unreadable"), None
    except Exception:  # noqa: BLE001 - any decoder failure means unreadable
        return "unreadable", None
    return "ok", mode


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
    for p in tqdm(files, desc="Validando imágenes", unit="img", disable=not progress, leave=False):
        report.checked += 1
        status, mode = check_image(p)
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
        cands = _candidates(folder) if folder.is_dir() else []
        kept = []
        for p in cands:
            status, mode = (
                ("skip", None)
                if str(p) in skip
                else (check_image(p, full=False) if check or refuse_modes else ("ok", None))
            )
            if status == "ok" and refuse_modes and mode in refuse_modes:
                status = "mode"
            if status != "ok":
                skipped.append((str(p), status))
                continue
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
        warnings.warn(
            f"{split_dir.name}: se omitieron {len(skipped)} archivo(s) que no son imágenes "
            f"válidas para el cargador ({reasons}; p. ej. {Path(skipped[0][0]).name}). "
            "No se borró ninguno.",
            stacklevel=2,
        )
    return paths, np.asarray(labels, dtype="int32"), names

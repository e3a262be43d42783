"""The image files of a dataset folder: one decode check per image, counts, sizes, validation, samples, split views.

Nothing here deletes, moves or rewrites a file: problems are reported, and
:func:`list_images` leaves the bad files out of what the loaders see.

* :func:`check_image` opens a file and decodes all of it (JPEGs at 1/8 scale: every byte
  is still read, ~10x faster), so a file that is complete in its structure but corrupt
  inside (a PNG cut short with ``IEND`` appended, garbage in the compressed data, a GIF
  with broken LZW codes, a JPEG with a bad Huffman table or frame header) is caught before
  TensorFlow would fail on it mid-epoch.  :func:`check_images` runs it on many files in
  threads and remembers each result by file size and modification time (in memory, and in
  a small JSON file per folder under the course's cache; the key adds the inode), so the
  next run of a notebook only decodes files it has not seen.  The validation report and
  both loaders use this one check.
* :func:`count_images`, :func:`image_sizes`, :func:`validate_dataset`: a folder at a glance.
* :func:`list_images`: the files a loader reads, in a stable order; :func:`sample_images`:
  a few good photos per class to show.
* :func:`split_folder`: a split folder ready for ``keras.utils.image_dataset_from_directory``,
  which reads every file it finds, stops at the first broken one and has no per-class cap:
  the split itself when every file is a readable image and no cap is asked for, otherwise a
  folder of links (copies where links are not allowed) to the files :func:`list_images` keeps.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import warnings
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..config import IMAGE_EXTENSIONS, SPLITS, cache_dir

# --------------------------------------------------------------------------- one decode check per image


#: Formats the loaders decode (by content, whatever the extension says).  Any other format (WebP,
#: TIFF, ...) is left out by both loaders, modern and legacy, with a message: convert it to JPEG/PNG.
LOADER_FORMATS = ("JPEG", "PNG", "BMP", "GIF")
#: Largest image the loaders decode, in pixels (50 MP: a 48 MP phone photo fits; the course's photos
#: are under 1 MP).  Larger files are left out before decoding, whatever PIL's own limit says.
MAX_IMAGE_PIXELS = 50_000_000
#: Folder of the cache that remembers each file's check (by size and modification time).
CHECKS_SUBDIR = "image-checks"
#: Bumped when the check changes, so that older remembered results are not trusted.
CHECK_VERSION = 3
#: PIL modes of 16-bit images.  TensorFlow reads them, Keras' ``load_img`` (the legacy generators) and PIL's
#: ``convert("RGB")`` (the figures) clip them to almost white: every loader leaves them out (one verdict).
SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I", "F")
#: JPEG frame markers of arithmetic coding (SOF9-11, SOF13-15), which TensorFlow and PIL decode differently.
ARITHMETIC_JPEG_MARKERS = (0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF)

Status = tuple[str, "str | None"]
_memory: dict[tuple[str, int, int, int], Status] = {}


def _bmp_status(path: Path) -> str:
    """``ok``, ``truncated`` or ``unsupported`` (the loaders read uncompressed 24/32-bit BMP only)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
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


def _jpeg_status(path: Path) -> str:
    """``ok``; ``unsupported`` for arithmetic coding; ``truncated`` when the file is too short for its frame.

    Every 8x8 block of a Huffman-coded JPEG takes at least one bit, so a file smaller than
    (blocks of its first component) / 8 bytes cannot hold the image its header announces (a
    lying header, which decoders would fill with flat grey).
    """
    size = path.stat().st_size
    with open(path, "rb") as f:
        data = f.read(1 << 18)  # the frame header follows the metadata segments (EXIF, ICC: up to 64 KB each)
    i = 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker, length = data[i + 1], int.from_bytes(data[i + 2 : i + 4], "big")
        if marker in ARITHMETIC_JPEG_MARKERS:
            return "unsupported"
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC) and i + 9 <= len(data):
            height, width = int.from_bytes(data[i + 5 : i + 7], "big"), int.from_bytes(data[i + 7 : i + 9], "big")
            blocks = -(-height // 8) * -(-width // 8)
            return "truncated" if size < blocks / 8 else "ok"
        if marker == 0xDA:  # start of scan before any frame header
            break
        i += 2 + length
    return "ok"


def _gif_status(path: Path) -> str:
    """``ok``, or ``unsupported`` when the first frame does not fill the logical screen (decoders differ there)."""
    with open(path, "rb") as f:
        data = f.read(1 << 16)
    if len(data) < 13:
        return "ok"  # too short: the decode says how
    screen = (int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little"))
    i = 13 + (3 * 2 ** ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    while i < len(data) and data[i] == 0x21:  # extensions: label, then sub-blocks up to a zero
        i += 2
        while i < len(data) and data[i]:
            i += data[i] + 1
        i += 1
    if i + 9 > len(data) or data[i] != 0x2C:
        return "ok"
    left, top, width, height = (int.from_bytes(data[i + k : i + k + 2], "little") for k in (1, 3, 5, 7))
    return "ok" if (left, top, (width, height)) == (0, 0, screen) else "unsupported"


def check_image(path: str | os.PathLike) -> Status:
    """Classify one file: ``("ok"|"not_image"|"unreadable"|"truncated"|"unsupported"|"too_large"|"sixteen_bit", mode)``.

    Decodes the whole image.  A JPEG followed by extra bytes (a phone's "motion
    photo") is ``ok``; formats the loaders cannot decode (WebP, TIFF, palette or
    compressed BMP) are ``unsupported``, and so are files that TensorFlow and PIL
    decode differently (arithmetic-coded JPEGs, GIFs whose first frame does not
    fill their logical screen); 16-bit images are ``sixteen_bit``; images over
    :data:`MAX_IMAGE_PIXELS` are ``too_large`` and never decoded; a file that is
    complete but corrupt inside is ``unreadable`` (or ``truncated`` when its pixel
    data ends early, or is too short for the size its header announces).  Every
    loader leaves out whatever is not ``ok``: one verdict per file.
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
            if fmt == "BMP" and (status := _bmp_status(path)) != "ok":
                return status, (mode if status == "unsupported" else None)
            if fmt == "JPEG" and (status := _jpeg_status(path)) != "ok":
                return status, (mode if status == "unsupported" else None)
            if fmt == "GIF" and (status := _gif_status(path)) != "ok":
                return status, mode
            if mode in SIXTEEN_BIT_MODES:
                return "sixteen_bit", mode
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


def _key(path: Path) -> tuple[str, int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return str(path), st.st_size, st.st_mtime_ns, st.st_ino


def _store(folder: Path, cache: Path | None) -> Path | None:
    if cache is None:
        return None
    digest = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:20]
    return cache / CHECKS_SUBDIR / f"{digest}.json"


def _load_store(store: Path | None) -> dict:
    try:
        data = json.loads(store.read_text()) if store is not None and store.exists() else {}
    except (OSError, ValueError):
        return {}
    return data.get("files", {}) if isinstance(data, dict) and data.get("version") == CHECK_VERSION else {}


def _save_store(store: Path | None, files: dict) -> None:
    """Write the remembered checks (atomically); a read-only or full cache only costs speed."""
    if store is None:
        return
    tmp = store.with_name(f".{store.name}.{os.getpid()}.tmp")
    try:
        store.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps({"version": CHECK_VERSION, "files": files}))
        os.replace(tmp, store)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def forget_checks() -> None:
    """Forget the checks this process remembers (the next :func:`check_images` reads the cache's files, as a new process)."""
    _memory.clear()


def default_cache() -> Path | None:
    """The course's cache folder, or None when it cannot be named."""
    try:
        return cache_dir()
    except (OSError, RuntimeError):
        return None


def check_images(
    paths: Iterable[str | os.PathLike], *, cache: Path | None | bool = True, workers: int | None = None
) -> list[Status]:
    """:func:`check_image` of every path, in order, decoding in threads only what was not checked before.

    ``cache``: ``True`` remembers results under the course's cache folder, a
    folder remembers them there, ``False``/``None`` only in this process.
    """
    paths = [Path(p) for p in paths]
    cache_root = default_cache() if cache is True else (Path(cache) if cache else None)
    out: list[Status | None] = [None] * len(paths)
    todo: list[int] = []
    stores: dict[Path, tuple[Path | None, dict]] = {}
    for i, p in enumerate(paths):
        key = _key(p)
        if key is None:
            out[i] = ("unreadable", None)
            continue
        if key in _memory:
            out[i] = _memory[key]
            continue
        if p.parent not in stores:
            store = _store(p.parent, cache_root)
            stores[p.parent] = (store, _load_store(store))
        seen = stores[p.parent][1].get(p.name)
        if isinstance(seen, list) and len(seen) == 5 and seen[:3] == list(key[1:]):
            out[i] = _memory[key] = (seen[3], seen[4])
        else:
            todo.append(i)
    if todo:
        with ThreadPoolExecutor(workers or min(8, os.cpu_count() or 1)) as pool:
            for i, status in zip(todo, pool.map(lambda i: check_image(paths[i]), todo), strict=True):
                out[i] = status
                key = _key(paths[i])
                if key is not None:
                    _memory[key] = status
                    stores[paths[i].parent][1][paths[i].name] = [*key[1:], *status]
        for folder in {paths[i].parent for i in todo}:
            _save_store(*stores[folder])
    return out  # type: ignore[return-value]


# --------------------------------------------------------------------------- a dataset folder at a glance


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
    "sixteen_bit": "16 bits por canal, que el generador antiguo y las figuras ven casi blancas: conviértelas a 8 bits",
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
        elif status == "sixteen_bit":
            report.unsupported[str(p)] = f"16 bits ({mode})"
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
) -> tuple[list[str], np.ndarray, list[str]]:
    """``(paths, labels, class_names)`` of a split, in a stable order.

    Labels follow the sorted class folder names (as ``image_dataset_from_directory``).
    Files in ``skip`` and, with ``check=True``, files that :func:`check_image`
    does not find ``ok`` (the one verdict every loader follows) are left out with
    one warning that counts them by reason and names one.  ``max_per_class`` (a positive integer or
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
            found = check_images(chunk) if check else [("ok", None)] * len(chunk)
            for p, (status, _mode) in zip(chunk, found, strict=True):
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
            "revísalos con image_files.validate_dataset o sácalos del conjunto.",
            stacklevel=2,
        )
    return paths, np.asarray(labels, dtype="int32"), names


# --------------------------------------------------------------------------- example photos


def sample_images(split_dir: str | os.PathLike, n_images: int, seed: int) -> tuple[list[str], list[str]]:
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


# --------------------------------------------------------------------------- a split folder for image_dataset_from_directory


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

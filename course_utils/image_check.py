"""One decode check per image, shared by the validation report and both loaders.

:func:`check_image` opens a file and decodes all of it (JPEGs at 1/8 scale:
every byte is still read, ~10x faster), so a file that is complete in its
structure but corrupt inside (a PNG cut short with ``IEND`` appended, garbage
in the compressed data, a GIF with broken LZW codes, a JPEG with a bad Huffman
table or frame header) is caught before TensorFlow would fail on it mid-epoch.
:func:`check_images` runs it on many files in threads and remembers each
result by file size and modification time (in memory, and in a small JSON
file per folder under the course's cache; the key adds the inode), so the next run of a notebook
only decodes files it has not seen.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import warnings
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image, UnidentifiedImageError

#: Formats the loaders decode (by content, whatever the extension says).  Any other format (WebP,
#: TIFF, ...) is left out by both loaders, modern and legacy, with a message: convert it to JPEG/PNG.
LOADER_FORMATS = ("JPEG", "PNG", "BMP", "GIF")
#: Largest image the loaders decode, in pixels (50 MP: a 48 MP phone photo fits; the course's photos
#: are under 1 MP).  Larger files are left out before decoding, whatever PIL's own limit says.
MAX_IMAGE_PIXELS = 50_000_000
#: Folder of the cache that remembers each file's check (by size and modification time).
CHECKS_SUBDIR = "image-checks"
#: Bumped when the check changes, so that older remembered results are not trusted.
CHECK_VERSION = 2

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


def check_image(path: str | os.PathLike) -> Status:
    """Classify one file: ``("ok"|"not_image"|"unreadable"|"truncated"|"unsupported"|"too_large", mode)``.

    Decodes the whole image.  A JPEG followed by extra bytes (a phone's "motion
    photo") is ``ok``; formats the loaders cannot decode (WebP, TIFF, palette or
    compressed BMP) are ``unsupported``; images over :data:`MAX_IMAGE_PIXELS` are
    ``too_large`` and never decoded; a file that is complete but corrupt inside
    is ``unreadable`` (or ``truncated`` when its pixel data ends early).
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


def default_cache() -> Path | None:
    """The course's cache folder, or None when it cannot be named."""
    from .config import cache_dir

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

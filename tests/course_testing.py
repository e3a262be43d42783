"""Plain helpers shared by the tests (fixtures live in conftest.py).

Import them with ``from course_testing import ...``: a module with its own name,
so that it never depends on which ``conftest`` module pytest loaded last.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import numpy as np
from PIL import Image

#: Where the real course data lives on the development machines and in CI (optional).
SHARED_DATA = Path(os.environ.get("COURSE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
#: Counts of the session-wide tiny synthetic data set (images per class).
TINY_COUNTS = {"train": 6, "validation": 3, "test": 3}


def sha256_of(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def snapshot_tree(root: str | os.PathLike) -> dict[str, str]:
    """``{relative path: sha256}`` of every file (hidden ones too) and ``{"dir/": "dir"}`` of every folder.

    Lock files (``*.lock``, empty files the downloader uses to take turns) are not data and are left out.
    """
    root = Path(root)
    out: dict[str, str] = {}
    if not root.exists():
        return out
    for p in sorted(root.rglob("*")):
        if p.name.endswith(".lock") and p.is_file():
            continue
        rel = p.relative_to(root).as_posix()
        out[rel + "/" if p.is_dir() else rel] = "dir" if p.is_dir() else sha256_of(p)
    return out


def temp_leftovers(root: str | os.PathLike) -> list[str]:
    """Names under ``root`` that look like unfinished downloads, extractions or atomic writes."""
    root = Path(root)
    if not root.exists():
        return []
    bad = []
    for p in root.rglob("*"):
        n = p.name
        if n.endswith((".part", ".tmp", ".extracting")) or ".extracting" in n:
            bad.append(p.relative_to(root).as_posix())
    return sorted(bad)


def write_solid_image(path: Path, rgb: tuple[int, int, int], size: tuple[int, int] = (12, 10)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, tuple(int(c) for c in rgb)).save(path)
    return path


def jpeg_bytes(seed: int = 0, size: tuple[int, int] = (24, 20), mode: str = "RGB") -> bytes:
    """A small noisy JPEG (in ``mode``: RGB, L or CMYK) as bytes."""
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).convert(mode).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def huge_png_bytes(width: int, height: int) -> bytes:
    """A valid grayscale PNG of ``width`` x ``height`` black pixels: tiny on disk, huge once decoded."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    comp = zlib.compressobj(9)
    row = bytes(width + 1)  # filter byte + pixels
    idat = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def fetch_at(start_time: float, name: str, cache: str, mirrors: str, spec_changes: dict) -> str:
    """Child-process worker: patch the registry entry, wait until ``start_time``, then ``fetch``.

    For tests that start several real processes at once (``multiprocessing`` with ``spawn``).
    """
    import dataclasses
    import time

    from course_utils import data

    known = {f.name for f in dataclasses.fields(data.DatasetSpec)}
    data.DATASETS[name] = dataclasses.replace(
        data.DATASETS[name], **{k: v for k, v in spec_changes.items() if k in known}
    )
    time.sleep(max(0.0, start_time - time.time()))
    return str(data.fetch(name, cache, mirrors=mirrors, progress=False))

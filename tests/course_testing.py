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

    from course_utils.data import catalog, course_data

    known = {f.name for f in dataclasses.fields(catalog.DatasetSpec)}
    catalog.DATASETS[name] = dataclasses.replace(
        catalog.DATASETS[name], **{k: v for k, v in spec_changes.items() if k in known}
    )
    time.sleep(max(0.0, start_time - time.time()))
    return str(course_data.fetch(name, cache, mirrors=mirrors, progress=False))


# --------------------------------------------------------------------------- corrupt but complete images


def _noise_image(size: tuple[int, int] = (60, 40), seed: int = 0) -> Image.Image:
    arr = np.random.default_rng(seed).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(arr)


def _encoded(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    out, pos = [], 8
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        out.append((data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return out


def _png(chunks: list[tuple[bytes, bytes]]) -> bytes:
    import struct
    import zlib

    body = b"".join(struct.pack(">I", len(b)) + k + b + struct.pack(">I", zlib.crc32(k + b)) for k, b in chunks)
    return b"\x89PNG\r\n\x1a\n" + body


def png_truncated_with_iend() -> bytes:
    """A PNG cut in the middle of its pixel data, with a valid ``IEND`` chunk appended (every chunk CRC ok)."""
    chunks = _png_chunks(_encoded(_noise_image(), "PNG"))
    return _png([(k, b[: len(b) // 2] if k == b"IDAT" else b) for k, b in chunks])


def png_corrupt_idat() -> bytes:
    """A complete PNG whose compressed pixel data is garbage in the middle (its CRC recomputed: looks fine)."""
    chunks = _png_chunks(_encoded(_noise_image(), "PNG"))

    def spoil(b: bytes) -> bytes:
        mid = len(b) // 3
        return b[:mid] + bytes((x * 7 + 13) & 0xFF for x in b[mid : mid + 200]) + b[mid + 200 :]

    return _png([(k, spoil(b) if k == b"IDAT" else b) for k, b in chunks])


def gif_corrupt_lzw() -> bytes:
    """A GIF with all its blocks and trailer, whose LZW image data is garbage."""
    data = bytearray(_encoded(_noise_image().convert("P"), "GIF"))
    i = 13 + (3 * 2 ** ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    while data[i] == 0x21:  # extensions
        i += 2
        while data[i]:
            i += data[i] + 1
        i += 1
    flags = data[i + 9]
    i += 10 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0) + 1  # descriptor, table, LZW code size
    while data[i]:
        n = data[i]
        data[i + 1 : i + 1 + n] = bytes([0xFF]) * n
        i += n + 1
    return bytes(data)


def _jpeg_segment(data: bytes, marker: int) -> int:
    """Offset of the first segment ``0xFF marker`` (its length field follows)."""
    i = 2
    while data[i + 1] != marker:
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return i


def jpeg_bad_dht() -> bytes:
    """A complete JPEG whose first Huffman table declares no codes (every count zero)."""
    data = bytearray(jpeg_bytes(3, (64, 48)))
    i = _jpeg_segment(bytes(data), 0xC4)
    data[i + 5 : i + 5 + 16] = bytes(16)
    return bytes(data)


def jpeg_patched_sof() -> bytes:
    """A complete JPEG whose frame header (SOF0) gives its first component impossible sampling factors."""
    data = bytearray(jpeg_bytes(4, (64, 48)))
    i = _jpeg_segment(bytes(data), 0xC0)
    data[i + 11] = 0x44  # 4x4 sampling: too large for an interleaved scan
    return bytes(data)


def gif_without_trailer() -> bytes:
    """A GIF with its whole image but without the final trailer byte (0x3B)."""
    return _encoded(_noise_image().convert("P"), "GIF")[:-1]


def jpeg_arithmetic_sof9() -> bytes:
    """A JPEG whose frame header says arithmetic coding (SOF9), which TensorFlow and PIL decode differently."""
    data = bytearray(jpeg_bytes(5, (64, 48)))
    data[_jpeg_segment(bytes(data), 0xC0) + 1] = 0xC9
    return bytes(data)


def jpeg_lying_header(side: int = 7000) -> bytes:
    """A small JPEG whose frame header claims ``side`` x ``side`` pixels (decoders fill the rest with grey)."""
    data = bytearray(jpeg_bytes(6, (64, 48)))
    i = _jpeg_segment(bytes(data), 0xC0)
    data[i + 5 : i + 9] = side.to_bytes(2, "big") * 2
    return bytes(data)


def gif_large_screen(side: int = 7000) -> bytes:
    """A 40x30 GIF on a ``side`` x ``side`` logical screen (TensorFlow and PIL fill the screen differently)."""
    data = bytearray(_encoded(_noise_image((40, 30)).convert("P"), "GIF"))
    data[6:10] = side.to_bytes(2, "little") * 2
    return bytes(data)


def png_sixteen_bit_grey(value: int = 30000, side: int = 14) -> bytes:
    """A 16-bit grey PNG (PIL mode I;16), every pixel ``value`` of 65535."""
    return _encoded(Image.fromarray(np.full((side, side), value, dtype=np.uint16)), "PNG")


CORRUPT_IMAGES = {
    "png_truncated_with_iend": ("png", png_truncated_with_iend),
    "png_corrupt_idat": ("png", png_corrupt_idat),
    "gif_corrupt_lzw": ("gif", gif_corrupt_lzw),
    "jpeg_bad_dht": ("jpg", jpeg_bad_dht),
    "jpeg_patched_sof": ("jpg", jpeg_patched_sof),
}


#: The user's own caches (the course's data and Keras' weights). A test run uses build folders instead
#: (the repository's conftest.py), so that what passes here passes on a new machine; ``tests/conftest.py``
#: watches file reads and fails the run when one reaches these folders.
HOME_CACHES = tuple(str(Path(p).expanduser().resolve()) + os.sep for p in ("~/.cache/curso-cnn", "~/.keras"))
#: Reads of :data:`HOME_CACHES` seen during this run (``"open <path>"``).
HOME_CACHE_READS: list[str] = []


def home_cache_read(path: object) -> bool:
    """True when ``path`` lies in one of the user's home caches (:data:`HOME_CACHES`)."""
    try:
        text = os.path.abspath(os.fsdecode(path))
    except (TypeError, ValueError):
        return False
    return any(text.startswith(root) or text + os.sep == root for root in HOME_CACHES)


def record_keys_at(start_time: float, folder: str, notebook: str, prefix: str, n: int) -> None:
    """Child-process worker: wait until ``start_time``, then record ``n`` keys ``<prefix><i>`` one call each."""
    import time

    from course_utils import artifacts

    time.sleep(max(0.0, start_time - time.time()))
    for i in range(n):
        artifacts.record_results(folder, notebook, **{f"{prefix}{i}": i})


def applications_weights_file(path: Path, constructor: str, size: int = 96, trained: bool = True) -> Path:
    """A notop weights file laid out as ``keras.applications``' own (legacy HDF5) with random weights.

    ``trained``: BatchNormalization statistics moved away from their initial 0 and 1, as in any
    trained file (the weights are still random: not ImageNet's, which cannot be had offline).
    """
    import h5py
    import keras

    model = getattr(keras.applications, constructor)(weights=None, include_top=False, input_shape=(size, size, 3))
    if trained:
        rng = np.random.default_rng(0)
        for layer in model.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.moving_mean.assign(rng.normal(0, 0.1, layer.moving_mean.shape).astype("float32"))
                layer.moving_variance.assign(rng.uniform(0.5, 2, layer.moving_variance.shape).astype("float32"))
    # The legacy layout the published files have (Keras 2's ``save_weights``): the root lists the
    # layers; each layer's group lists its weights (trainable first) and holds one dataset each.
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [layer.name.encode() for layer in model.layers]
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = keras.__version__.encode()
        for layer in model.layers:
            group = f.create_group(layer.name)
            weights = layer.trainable_weights + layer.non_trainable_weights
            names = [f"{layer.name}/{w.name}:0".encode() for w in weights]
            group.attrs["weight_names"] = names
            for name, w in zip(names, weights, strict=True):
                group.create_dataset(name, data=keras.ops.convert_to_numpy(w))
    return path

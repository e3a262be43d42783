"""Downloading one file carefully: mirrors first, a temporary file, a verification, a rename.

Nothing already in the cache is deleted or overwritten by a failed attempt; a
full disk or a read-only cache gives a Spanish message saying what to do.
"""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from .cache_io import DownloadError, cache_error, share_like_umask
from .config import ENV_MIRROR
from .datasets import DatasetSpec


def sha256sum(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def mirror_sources(filename: str, mirrors: str | None = None) -> list[str]:
    """Sources for ``filename`` in the mirrors of ``$COURSE_DATA_MIRROR`` (comma-separated).

    A mirror is a local folder, a ``file://`` URL or an ``http(s)://`` base URL.
    """
    spec = mirrors if mirrors is not None else os.environ.get(ENV_MIRROR, "")
    out = []
    for m in filter(None, (s.strip() for s in spec.split(","))):
        if "://" in m:
            out.append(m.rstrip("/") + "/" + urllib.parse.quote(filename))
        else:
            out.append(str(Path(m).expanduser() / filename))
    return out


def sources_for(spec: DatasetSpec, mirrors: str | None = None) -> list[tuple[str, str | None]]:
    """``(source, expected_sha256)`` pairs in the order :func:`fetch` tries them."""
    out: list[tuple[str, str | None]] = [(s, spec.mirror_sha256) for s in mirror_sources(spec.filename, mirrors)]
    out += [(u, None) for u in spec.extra_urls]
    out += [(f"gdrive:{i}", spec.drive_sha256) for i in spec.drive_ids]
    return out


def _progress(total: int | None, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc, disable=not enabled, leave=False)


def _copy_stream(src, dst, total: int | None, desc: str, progress: bool) -> int:
    written = 0
    with _progress(total, desc, progress) as bar:
        while block := src.read(1 << 20):
            dst.write(block)
            written += len(block)
            bar.update(len(block))
    return written


def download_to(source: str, tmp: Path, progress: bool, timeout: float) -> None:
    """Write ``source`` to ``tmp``; raise on any failure (including a short read)."""
    if source.startswith("gdrive:"):
        import gdown

        out = gdown.download(id=source[len("gdrive:") :], output=str(tmp), quiet=not progress)
        if not out or not tmp.exists():
            raise OSError("gdown no pudo descargar el archivo")
        return
    if "://" not in source:  # plain local path
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"no existe {path}")
        with open(path, "rb") as src, open(tmp, "wb") as dst:
            _copy_stream(src, dst, path.stat().st_size, path.name, progress)
        return
    with urllib.request.urlopen(source, timeout=timeout) as resp:  # noqa: S310 (file/http by design)
        length = resp.headers.get("Content-Length")
        total = int(length) if length else None
        with open(tmp, "wb") as dst:
            written = _copy_stream(resp, dst, total, Path(urllib.parse.urlparse(source).path).name, progress)
        if total is not None and written != total:
            raise OSError(f"descarga incompleta: {written} de {total} bytes")


def download_first(
    root: Path,
    target: Path,
    attempts: list[tuple[str, Callable[[Path], None]]],
    *,
    progress: bool,
    timeout: float,
    failure: Callable[[str], str],
) -> Path:
    """Write ``target`` from the first ``(source, verify)`` attempt whose file passes ``verify``.

    Each attempt downloads to a temporary file in ``root``, calls ``verify`` on it
    (which raises when the file is wrong) and only then renames it to ``target``.
    When every attempt fails, raises :class:`DownloadError` with ``failure(tried)``,
    ``tried`` listing each source and why it failed.
    """
    errors = []
    for source, verify in attempts:
        try:
            fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=root)
        except OSError as exc:
            raise cache_error(root, exc) from exc
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            download_to(source, tmp, progress, timeout)
            verify(tmp)
            share_like_umask(tmp)
            os.replace(tmp, target)
            return target
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise cache_error(root, exc) from exc
            errors.append(f"  - {source}: {type(exc).__name__}: {exc}")
        except Exception as exc:  # noqa: BLE001 - every failure is reported
            errors.append(f"  - {source}: {type(exc).__name__}: {exc}")
        finally:
            tmp.unlink(missing_ok=True)
    raise DownloadError(failure("\n".join(errors) or "  (ninguna fuente configurada)"))

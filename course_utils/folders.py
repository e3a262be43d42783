"""Folders a notebook writes to, checked before any training: they exist, are folders and take files."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from .config import ENV_ARTIFACTS_DIR
from .config import artifacts_dir as _artifacts_dir


class FolderNotWritableError(ValueError):
    """A folder the notebook must write to cannot be created or written (a file, read-only, no permission)."""


def _fail(value: object, path: Path, why: str) -> FolderNotWritableError:
    return FolderNotWritableError(
        f"ARTIFACTS_DIR={value!r}: {why}. Los modelos y resultados no se podrían guardar al terminar de "
        f"entrenar. Pon en ARTIFACTS_DIR una carpeta donde puedas escribir (o deja None; también puedes "
        f"definir {ENV_ARTIFACTS_DIR}) y vuelve a ejecutar la celda. No se modificó nada."
    )


def writable_artifacts_dir(value: str | os.PathLike | None) -> Path:
    """The artifacts folder ``value`` names (see :func:`course_utils.config.artifacts_dir`), created and
    proven writable by writing and deleting a small file; :class:`FolderNotWritableError` otherwise."""
    try:
        path = _artifacts_dir(value)
    except (FileExistsError, NotADirectoryError) as exc:
        where = Path(exc.filename or str(value))
        raise _fail(value, where, f"{where} es un archivo, no una carpeta") from exc
    except OSError as exc:
        raise _fail(value, Path(str(value)), f"no se puede crear la carpeta ({exc.strerror})") from exc
    if not path.is_dir():
        raise _fail(value, path, f"{path} no es una carpeta")
    probe = path / f".escritura-{os.getpid()}.partial.tmp"
    try:
        fd = os.open(probe, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
        os.close(fd)
    except OSError as exc:
        why = "el disco está lleno" if exc.errno == errno.ENOSPC else exc.strerror
        raise _fail(value, path, f"no se puede escribir en {path} ({why})") from exc
    finally:
        if probe.exists():
            probe.unlink()
    return path

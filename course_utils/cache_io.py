"""Writing into the course's cache: errors, permissions, lock files and leftovers of killed runs.

Several processes take turns with a lock file (:func:`locked`): a process that
has to wait says so once, and a lock that cannot be taken gives a Spanish
message.  A read-only cache or a full disk becomes :class:`CacheNotWritableError`
or :class:`NoSpaceError`, saying what to do.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .config import ENV_CACHE_DIR


class DownloadError(RuntimeError):
    """No source of a dataset could be fetched and verified."""


class CacheNotWritableError(DownloadError):
    """The cache folder cannot be written (read-only disk, no permission)."""


class NoSpaceError(DownloadError):
    """The disk of the cache is full."""


#: Seconds a process waits for another one that is downloading or extracting the same file.
LOCK_TIMEOUT = 3600
#: Seconds of waiting for a lock after which the wait is announced (once).
WAIT_NOTICE_SECONDS = 2.0


def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def share_like_umask(path: Path, directory: bool = False) -> None:
    """Give ``path`` the permissions of a normally created file (``mkstemp`` makes them 0600)."""
    os.chmod(path, (0o777 if directory else 0o666) & ~umask())


def not_writable(exc: OSError) -> bool:
    return exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS)


def cache_error(root: Path, exc: OSError) -> DownloadError:
    if exc.errno == errno.ENOSPC:
        return NoSpaceError(
            f"No queda espacio en disco en {root} ({exc.strerror}). Libera espacio o define "
            f"{ENV_CACHE_DIR}=<carpeta en otro disco> y vuelve a ejecutar la celda. "
            "No quedó ningún archivo a medias en la caché."
        )
    return CacheNotWritableError(
        f"No se puede escribir en la caché {root} ({exc.strerror}). Define "
        f"{ENV_CACHE_DIR}=<carpeta donde puedas escribir> (o usa DATA_SOURCE='synthetic') y vuelve a "
        "ejecutar la celda. No se modificó nada."
    )


class LockPathError(DownloadError):
    """The path of a lock file is taken by something that is not a file (a folder)."""


def _acquire(lock_path: Path, timeout: float, notice: str) -> object:
    """Take the lock file; after ``WAIT_NOTICE_SECONDS`` of waiting, print ``notice`` once and keep waiting."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(lock_path), timeout=timeout)
    try:
        lock.acquire(timeout=min(WAIT_NOTICE_SECONDS, timeout))
    except Timeout:
        print(notice, flush=True)
        lock.acquire(timeout=max(0.0, timeout - WAIT_NOTICE_SECONDS))
    return lock


@contextmanager
def locked(lock_path: Path, root: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold an inter-process lock file (other processes wait, up to ``LOCK_TIMEOUT`` seconds, and say so)."""
    from filelock import Timeout

    timeout = LOCK_TIMEOUT if timeout is None else timeout
    notice = (
        f"Esperando a otro proceso que está preparando {lock_path.parent} (candado {lock_path.name})... "
        "Si no hay otro cuaderno ni terminal usando el curso, puede ser un proceso detenido o colgado: "
        "termínalo (o reinicia el entorno de ejecución) y esta celda seguirá sola."
    )
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        if lock_path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "es una carpeta", str(lock_path))
        lock = _acquire(lock_path, timeout, notice)
    except Timeout as exc:
        raise DownloadError(
            f"Otro proceso lleva más de {timeout:.0f} s preparando {lock_path.parent}. Espera a que "
            f"termine, o si ya no existe, borra {lock_path} y vuelve a ejecutar la celda."
        ) from exc
    except OSError as exc:
        if exc.errno == errno.EISDIR:
            raise LockPathError(
                f"{lock_path} debería ser el archivo de candado del curso, pero es una carpeta. No es parte "
                "de ningún conjunto: muévela o bórrala y vuelve a ejecutar la celda. No se modificó nada."
            ) from exc
        if not_writable(exc) or exc.errno == errno.ENOSPC:
            raise cache_error(root, exc) from exc
        raise
    try:
        yield
    finally:
        lock.release()


def remove_orphans(folder: Path, pattern: str) -> list[str]:
    """Delete leftovers of a killed run matching ``pattern`` (call it holding the folder's lock)."""
    removed = []
    for p in folder.glob(pattern) if folder.is_dir() else ():
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        removed.append(p.name)
    return removed

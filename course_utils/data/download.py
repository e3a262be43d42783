"""Getting a file into the course's cache safely: locks, careful downloads and safe extraction.

Nothing already in the cache is deleted or overwritten by a failed attempt:

* **Locks and errors** (:func:`locked`, :func:`cache_error`): several processes take turns
  with a lock file; a process that has to wait says so once, and a lock that cannot be taken
  gives a Spanish message.  A read-only cache or a full disk becomes
  :class:`CacheNotWritableError` or :class:`NoSpaceError`, saying what to do.
* **Downloads** (:func:`download_first`): mirrors first, each to a temporary file, verified,
  renamed only then.
* **Extraction** (:func:`check_archive`, :func:`safe_extract`): a zip's directory is read
  first, and members that would land outside the destination, links, repeated names, names
  too long for the disk, zip bombs and an unexpected layout are refused before anything is
  written; the zip is extracted into a temporary folder, renamed when complete.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import stat
import tempfile
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from ..artifacts import shown_path
from ..config import ENV_CACHE_DIR, ENV_MIRROR, IMAGE_EXTENSIONS

# --------------------------------------------------------------------------- locks and cache errors


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
    where = shown_path(lock_path.parent, from_home=True)
    notice = (
        f"Esperando a otro proceso que está preparando {where} (candado {lock_path.name})... "
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


# --------------------------------------------------------------------------- downloads


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
        if path.is_dir():
            raise IsADirectoryError(
                f"{path} es una carpeta, no un archivo: pon en su lugar el archivo {path.name} (no una carpeta con su nombre)"
            )
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


# --------------------------------------------------------------------------- zip archives


class ArchiveError(RuntimeError):
    """An archive is corrupt, unsafe or not laid out as expected."""


class FolderConflictError(ArchiveError):
    """The folder an archive extracts to already exists and is not a finished extraction."""


#: Largest total size a zip may unpack to when the registry does not say (local zips): 20 GB.
DEFAULT_MAX_UNPACKED_BYTES = 20_000_000_000
#: Unpacked/packed size above which a zip (of more than ``BOMB_MIN_BYTES``) is taken for a zip bomb.
#: Photos barely compress (about 1x); even flat synthetic images stay far below this.
MAX_COMPRESSION_RATIO = 200
BOMB_MIN_BYTES = 10_000_000
#: Longest file or folder name most disks accept, in bytes.
MAX_NAME_BYTES = 255


def _member_target(dest: Path, member: str) -> Path:
    pure = PurePosixPath(member.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or (pure.parts and ":" in pure.parts[0]):
        raise ArchiveError(
            f"El archivo comprimido contiene una ruta insegura: {member!r} (saldría de {dest}). "
            "No se extrajo nada; descarga el archivo de nuevo desde una fuente confiable."
        )
    out = (dest / pure).resolve()
    if dest.resolve() not in out.parents and out != dest.resolve():
        raise ArchiveError(f"Ruta insegura en el archivo comprimido: {member!r}.")
    return out


def _open_zip(zip_path: Path, display_name: str, user_file: bool = False) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        if user_file:
            raise ArchiveError(
                f"DATA_SOURCE={str(zip_path)!r} no es un zip válido ({exc}). Pon en DATA_SOURCE la ruta "
                "a un .zip del conjunto o a una carpeta con train/validation/test (o 'auto'). Tu "
                "archivo no se modificó."
            ) from exc
        raise ArchiveError(
            f"'{display_name}' ({zip_path}) no es un zip válido ({exc}). Puede estar incompleto: "
            "vuelve a ejecutar la celda para descargarlo otra vez."
        ) from exc


def _is_symlink(m: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(m.external_attr >> 16)


def _checked_members(
    zf: zipfile.ZipFile,
    dest: Path,
    display_name: str,
    expected_top: str | None,
    expected_images: int | None = None,
    max_unpacked_bytes: int | None = None,
) -> tuple[list[zipfile.ZipInfo], set[str]]:
    """The members to extract and their top folders; ArchiveError if unsafe or unexpected.

    Reads only the zip's directory: paths, duplicates, links, sizes (zip bombs) and counts.
    """
    members = [m for m in zf.infolist() if not m.filename.startswith("__MACOSX/")]
    for m in members:
        _member_target(dest, m.filename)
    links = [m.filename for m in members if _is_symlink(m)]
    if links:
        raise ArchiveError(
            f"'{display_name}' contiene enlaces simbólicos ({', '.join(links[:3])}), que un conjunto de "
            "imágenes no necesita. No se extrajo nada; vuelve a crear el zip sin enlaces."
        )
    names = [m.filename.replace("\\", "/").rstrip("/") for m in members]
    seen, dups = set(), []
    for n in names:
        if n in seen:
            dups.append(n)
        seen.add(n)
    if dups:
        raise ArchiveError(
            f"'{display_name}' contiene nombres repetidos ({', '.join(sorted(set(dups))[:3])}): no se "
            "sabe cuál usar. No se extrajo nada; vuelve a crear el zip."
        )
    files = {n for n, m in zip(names, members, strict=True) if not m.is_dir()}
    for n in names:
        parents = PurePosixPath(n).parents
        clash = next((str(p) for p in parents if str(p) in files), None)
        if clash:
            raise ArchiveError(
                f"'{display_name}' usa '{clash}' como archivo y como carpeta (en '{n}'). No se extrajo "
                "nada; vuelve a crear el zip."
            )
    total = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members)
    limit = max_unpacked_bytes or DEFAULT_MAX_UNPACKED_BYTES
    ratio = total / max(packed, 1)
    if total > limit or (total > BOMB_MIN_BYTES and ratio > MAX_COMPRESSION_RATIO):
        raise ArchiveError(
            f"'{display_name}' ocuparía {total / 1e6:,.0f} MB al descomprimirse ({ratio:,.0f} veces su "
            f"tamaño comprimido; límite {limit / 1e6:,.0f} MB y {MAX_COMPRESSION_RATIO}x). Parece una "
            "bomba zip o el archivo equivocado. No se extrajo nada: descarga el conjunto de una fuente "
            "confiable."
        )
    too_long = next(
        (n for n in names if any(len(part.encode()) > MAX_NAME_BYTES for part in PurePosixPath(n).parts)), None
    )
    if too_long:
        raise ArchiveError(
            f"'{display_name}' contiene un nombre de más de {MAX_NAME_BYTES} bytes, que el disco no admite: "
            f"{too_long[:80]!r}... No se extrajo nada; acorta ese nombre y vuelve a crear el zip."
        )
    if files and all(n.lower().endswith(".zip") for n in files):
        raise ArchiveError(
            f"'{display_name}' solo contiene otro zip ({', '.join(sorted(files)[:3])}). No se extrajo nada: "
            "descomprímelo primero y pon en DATA_SOURCE la ruta del zip de dentro (o de su carpeta)."
        )
    tops = {PurePosixPath(n).parts[0] for n in names if n}
    if expected_top is not None and tops != {expected_top}:
        raise ArchiveError(
            f"'{display_name}' debería contener una sola carpeta '{expected_top}/', pero contiene: "
            f"{', '.join(sorted(tops)) or 'nada'}. ¿Es el archivo correcto?"
        )
    if expected_images is not None:
        found = sum(
            1 for n in files if not PurePosixPath(n).name.startswith(".") and n.lower().endswith(IMAGE_EXTENSIONS)
        )
        if found != expected_images:
            raise ArchiveError(
                f"'{display_name}' contiene {found} imágenes y deberían ser {expected_images}. "
                "¿Es el archivo correcto? No se extrajo nada."
            )
    return members, tops


def check_archive(
    zip_path: str | os.PathLike,
    *,
    expected_top: str | None = None,
    display_name: str | None = None,
    expected_images: int | None = None,
    max_unpacked_bytes: int | None = None,
    user_file: bool = False,
) -> None:
    """Raise :class:`ArchiveError` unless ``zip_path`` is a zip that :func:`safe_extract` accepts.

    Reads only the zip's directory: no member is written anywhere.  ``user_file``:
    the zip is the user's own ``DATA_SOURCE`` (the message says so).
    """
    zip_path = Path(zip_path)
    with _open_zip(zip_path, display_name or zip_path.name, user_file) as zf:
        _checked_members(
            zf, zip_path.parent, display_name or zip_path.name, expected_top, expected_images, max_unpacked_bytes
        )


def safe_extract(
    zip_path: str | os.PathLike,
    dest: str | os.PathLike,
    *,
    expected_top: str | None = None,
    progress: bool = True,
    expected_images: int | None = None,
    max_unpacked_bytes: int | None = None,
) -> Path:
    """Extract ``zip_path`` into ``dest`` and return the top folder.

    Refuses, before writing anything, members that would land outside ``dest``,
    links, repeated names, archives that would unpack to more than
    ``max_unpacked_bytes`` (or a suspicious compression ratio) and archives
    whose single top folder is not ``expected_top``.  Extracts into a temporary
    folder and renames it when complete (holding ``dest/.lock``), so an
    interrupted run leaves no half-extracted dataset (its leftovers are removed
    the next time); an existing complete folder is reused.
    """
    zip_path, dest = Path(zip_path), Path(dest)
    zf = _open_zip(zip_path, zip_path.name)
    with zf:
        members, tops = _checked_members(zf, dest, zip_path.name, expected_top, expected_images, max_unpacked_bytes)
        single = len(tops) == 1 and next(iter(tops)) not in {m.filename.rstrip("/") for m in members if not m.is_dir()}
        top = next(iter(tops)) if single else zip_path.stem
        final = dest / top
        if (final / ".complete").exists():
            return final
        try:
            dest.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise cache_error(dest, exc) from exc
        with locked(dest / ".lock", dest):
            remove_orphans(dest, ".*.extracting")
            if (final / ".complete").exists():
                return final  # another process finished it meanwhile
            if final.exists():
                raise FolderConflictError(
                    f"La carpeta {final} ya existe pero no está completa (¿archivos propios?). No se "
                    "tocó nada: muévela o bórrala y vuelve a intentarlo."
                )
            need = sum(m.file_size for m in members)
            if shutil.disk_usage(dest).free < need:
                raise cache_error(dest, OSError(errno.ENOSPC, f"hacen falta {need / 1e6:,.0f} MB"))
            staging = Path(tempfile.mkdtemp(prefix=f".{top}.", suffix=".extracting", dir=dest))
            try:
                from tqdm.auto import tqdm

                for m in tqdm(
                    members, desc=f"Extrayendo {zip_path.name}", unit="archivo", disable=not progress, leave=False
                ):
                    out = _member_target(staging, m.filename)
                    if m.is_dir():
                        out.mkdir(parents=True, exist_ok=True)
                        continue
                    out.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(m) as src, open(out, "wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
                inner = staging / top if single else staging
                inner.mkdir(exist_ok=True)
                share_like_umask(inner, directory=True)
                (inner / ".complete").write_text("ok\n")
                os.replace(inner, final)
            except (zipfile.BadZipFile, EOFError) as exc:
                raise ArchiveError(
                    f"'{zip_path.name}' ({zip_path}) está dañado ({exc}). Vuelve a descargarlo. No quedó nada a medias."
                ) from exc
            except OSError as exc:
                if exc.errno == errno.ENOSPC or not_writable(exc):
                    raise cache_error(dest, exc) from exc
                raise
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    return final

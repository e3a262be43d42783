"""Checking and extracting zip archives safely.

:func:`check_archive` reads only a zip's directory and refuses, before anything
is written, members that would land outside the destination, links, repeated
names, names too long for the disk, zip bombs and an unexpected layout;
:func:`safe_extract` extracts into a temporary folder and renames it when
complete, holding a lock file.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from .cache_io import cache_error, locked, not_writable, remove_orphans, share_like_umask


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
    from .layout import IMAGE_EXTENSIONS

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

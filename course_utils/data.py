"""Dataset registry and a careful downloader.

:func:`fetch` tries each source of a registry entry in turn (local mirrors
first, then Google Drive), shows a progress bar, writes to a temporary file,
checks the sha256 where it is known, renames only then, extracts safely, and
does nothing the second time.  Offline it raises :class:`DownloadError` naming
every source tried and the ways out.  Nothing already in the cache is ever
deleted or overwritten by a failed attempt.

Each archive of the registry extracts to its own folder ``<cache>/<name>/``,
checked against the registry's image count; several processes take turns with
a lock file; zip bombs, links and repeated names are refused from the zip's
directory before anything is written; a read-only cache or a full disk gives a
Spanish message saying what to do.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import stat
import tempfile
import time
import urllib.parse
import urllib.request
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .config import ENV_CACHE_DIR, ENV_MIRROR
from .config import cache_dir as _cache_dir
from .layout import SPLITS


class DownloadError(RuntimeError):
    """No source of a dataset could be fetched and verified."""


class CacheNotWritableError(DownloadError):
    """The cache folder cannot be written (read-only disk, no permission)."""


class NoSpaceError(DownloadError):
    """The disk of the cache is full."""


class ArchiveError(RuntimeError):
    """An archive is corrupt, unsafe or not laid out as expected."""


class FolderConflictError(ArchiveError):
    """The folder an archive extracts to already exists and is not a finished extraction."""


#: Seconds a process waits for another one that is downloading or extracting the same file.
LOCK_TIMEOUT = 3600
#: Largest total size a zip may unpack to when the registry does not say (local zips): 20 GB.
DEFAULT_MAX_UNPACKED_BYTES = 20_000_000_000
#: Unpacked/packed size above which a zip (of more than ``BOMB_MIN_BYTES``) is taken for a zip bomb.
#: Photos barely compress (about 1x); even flat synthetic images stay far below this.
MAX_COMPRESSION_RATIO = 200
BOMB_MIN_BYTES = 10_000_000


@dataclass(frozen=True)
class DatasetSpec:
    """One downloadable file of the course."""

    name: str
    filename: str
    drive_ids: tuple[str, ...]
    description: str
    #: sha256 of the file as the course mirrors it, or None where unknown.
    mirror_sha256: str | None = None
    #: sha256 of the Google Drive copy, where known (verified before use).
    drive_sha256: str | None = None
    #: For archives: the single top folder it must extract to.
    top_folder: str | None = None
    size_bytes: int | None = None
    extra_urls: tuple[str, ...] = field(default_factory=tuple)
    #: For archives: how many image files it holds (checked before extracting and in the cache).
    expected_images: int | None = None
    #: For archives: the most it may unpack to (a zip bomb is refused before extracting).
    max_unpacked_bytes: int | None = None

    @property
    def is_archive(self) -> bool:
        return self.filename.endswith(".zip")

    @property
    def cache_folder(self) -> str:
        """The folder of the cache that holds this archive's extraction (one per dataset)."""
        return self.name


DATASETS: dict[str, DatasetSpec] = {
    "cats_dogs_small": DatasetSpec(
        name="cats_dogs_small",
        filename="cnn_perros_gatos-small.zip",
        drive_ids=("1Ce3u8dwYYriLkz5OpcGn72xIQENIHZX5", "1NK9LvrVwsEQM0UHkFHq_GYCF2fjGrwAP"),
        description="Conjunto reducido: 1000/500/500 imágenes por clase (train/validation/test).",
        mirror_sha256="be4e0a8f9c2acb211ea6378ad3056e5dd3392f199d11ed0d245dee4eefd8d8ce",
        top_folder="cnn_perros_gatos",
        size_bytes=180_915_107,
        expected_images=4000,
        max_unpacked_bytes=200_000_000,
    ),  # unpacks to 180,287,513 bytes
    "cats_dogs_full": DatasetSpec(
        name="cats_dogs_full",
        filename="cnn_perros_gatos.zip",
        drive_ids=("1Q3xOfn2Up9uIOLviS66oYH_oFFK-IGpW", "1hchhNQ_3WNncaXVD3kX58EIppcYFt-E2"),
        description="Conjunto completo de Kaggle (25,000 imágenes, 543 MB).",
        top_folder="cnn_perros_gatos",
        expected_images=25_000,
        max_unpacked_bytes=1_500_000_000,
    ),
    "external_cat": DatasetSpec(
        name="external_cat",
        filename="dc_cat.jpg",
        drive_ids=("1OEUZgYKM_brFUwjNi1RmMCOLzctdimYK",),
        description="Foto externa de un gato (abisinio).",
        mirror_sha256="66df6f98a87886321741a253f892448094d293760c1e14d1c309c74113d7b84c",
    ),
    "external_dog": DatasetSpec(
        name="external_dog",
        filename="dc_dog.jpg",
        drive_ids=("1eSWPCWL-mc4ekrjbh5BN25IKlNZfAECF",),
        description="Foto externa de un perro (Boston terrier).",
        mirror_sha256="463609fb7df913652f546ed84f497f9afba7607132f224152b34795ffdeeaea4",
    ),
    "cnn_improved_model": DatasetSpec(
        name="cnn_improved_model",
        filename="cnn_perros_gatos_improved.keras",
        drive_ids=("13L5oCFXIgw22FR8irsuwNHvnzekA7bGd",),
        description="CNN del curso entrenada con el conjunto completo (87 % en prueba según la lección 06-CNN-II).",
    ),
}


def registry_records() -> list[dict]:
    """The registry as plain records (what ``data/datasets.json`` in the repository holds)."""
    from dataclasses import asdict

    out = []
    for spec in DATASETS.values():
        rec = asdict(spec)
        rec["drive_ids"] = list(spec.drive_ids)
        rec["extra_urls"] = list(spec.extra_urls)
        rec["urls"] = [f"https://drive.google.com/uc?id={i}" for i in spec.drive_ids]
        out.append(rec)
    return out


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


def _download_to(source: str, tmp: Path, progress: bool, timeout: float) -> None:
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


def _ways_out(spec: DatasetSpec) -> str:
    return (
        "Qué puedes hacer:\n"
        f"  1. Revisa tu conexión a internet y vuelve a ejecutar la celda.\n"
        f"  2. Descarga '{spec.filename}' a mano (Google Drive id {spec.drive_ids[0]}) y pon la "
        "ruta del archivo (o de la carpeta ya descomprimida) en DATA_SOURCE.\n"
        f"  3. Define {ENV_MIRROR}=<carpeta o URL> con una copia local del archivo.\n"
        "  4. Usa DATA_SOURCE='synthetic' para seguir con el conjunto sintético del curso."
    )


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _share_like_umask(path: Path, directory: bool = False) -> None:
    """Give ``path`` the permissions of a normally created file (``mkstemp`` makes them 0600)."""
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


def _not_writable(exc: OSError) -> bool:
    return exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS)


def _cache_error(root: Path, exc: OSError) -> DownloadError:
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


@contextmanager
def _locked(lock_path: Path, root: Path) -> Iterator[None]:
    """Hold an inter-process lock file (other processes wait, up to ``LOCK_TIMEOUT`` seconds)."""
    from filelock import FileLock, Timeout

    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(lock_path), timeout=LOCK_TIMEOUT)
        lock.acquire()
    except Timeout as exc:
        raise DownloadError(
            f"Otro proceso lleva más de {LOCK_TIMEOUT} s preparando {lock_path.parent}. Espera a que "
            f"termine, o si ya no existe, borra {lock_path} y vuelve a ejecutar la celda."
        ) from exc
    except OSError as exc:
        if _not_writable(exc) or exc.errno == errno.ENOSPC:
            raise _cache_error(root, exc) from exc
        raise
    try:
        yield
    finally:
        lock.release()


def _remove_orphans(folder: Path, pattern: str) -> list[str]:
    """Delete leftovers of a killed run matching ``pattern`` (call it holding the folder's lock)."""
    removed = []
    for p in folder.glob(pattern) if folder.is_dir() else ():
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        removed.append(p.name)
    return removed


def count_dataset_images(folder: str | os.PathLike) -> int:
    """Image files of an extracted dataset (hidden files and ``__MACOSX`` not counted)."""
    from .inspection import IMAGE_EXTENSIONS

    n = 0
    for _dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d != "__MACOSX"]
        n += sum(1 for f in filenames if not f.startswith(".") and f.lower().endswith(IMAGE_EXTENSIONS))
    return n


def _usable(spec: DatasetSpec, folder: Path) -> Path | None:
    """``folder`` if it is a complete extraction with the registry's image count, else None."""
    if not (folder / ".complete").exists():
        return None
    if spec.expected_images is not None:
        found = count_dataset_images(folder)
        if found != spec.expected_images:
            raise ArchiveError(
                f"La carpeta {folder} de '{spec.name}' tiene {found} imágenes y deberían ser "
                f"{spec.expected_images}. No se tocó nada: muévela o bórrala y vuelve a ejecutar la "
                "celda para extraerla de nuevo."
            )
    return folder


def _migrate_legacy_folder(spec: DatasetSpec, root: Path, home: Path) -> Path | None:
    """Move a complete extraction from the old shared folder (``<cache>/<top>``) to ``home``.

    Only when its image count is this dataset's; otherwise it is left where it is.
    """
    old = root / (spec.top_folder or "")
    if not spec.top_folder or not (old / ".complete").exists() or spec.expected_images is None:
        return None
    if count_dataset_images(old) != spec.expected_images:
        return None
    home.mkdir(parents=True, exist_ok=True)
    final = home / spec.top_folder
    if final.exists():
        return None
    os.replace(old, final)
    return final


def _download(
    spec: DatasetSpec,
    root: Path,
    target: Path,
    candidates: list[tuple[str, str | None]],
    progress: bool,
    timeout: float,
) -> None:
    errors = []
    for source, expected in candidates:
        try:
            fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.filename}.", suffix=".part", dir=root)
        except OSError as exc:
            raise _cache_error(root, exc) from exc
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            _download_to(source, tmp, progress, timeout)
            if expected is not None:
                got = sha256sum(tmp)
                if got != expected:
                    raise OSError(f"sha256 no coincide (esperado {expected[:12]}…, obtenido {got[:12]}…)")
            if spec.is_archive:  # an unusable archive never takes the cache's name
                check_archive(
                    tmp,
                    expected_top=spec.top_folder,
                    display_name=spec.filename,
                    expected_images=spec.expected_images,
                    max_unpacked_bytes=spec.max_unpacked_bytes,
                )
            _share_like_umask(tmp)
            os.replace(tmp, target)
            return
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise _cache_error(root, exc) from exc
            errors.append(f"  - {source}: {type(exc).__name__}: {exc}")
        except Exception as exc:  # noqa: BLE001 - every failure is reported below
            errors.append(f"  - {source}: {type(exc).__name__}: {exc}")
        finally:
            tmp.unlink(missing_ok=True)
    tried = "\n".join(errors) or "  (ninguna fuente configurada)"
    raise DownloadError(
        f"No se pudo obtener '{spec.filename}' ({spec.description}).\nFuentes probadas:\n{tried}\n{_ways_out(spec)}"
    )


def fetch(
    name: str,
    cache_dir: str | os.PathLike | None = None,
    *,
    mirrors: str | None = None,
    sources: list[str] | None = None,
    progress: bool = True,
    timeout: float = 30.0,
    extract: bool = True,
) -> Path:
    """Fetch registry entry ``name`` into the cache and return its path.

    For an archive, the path of the extracted top folder, inside the dataset's
    own folder ``<cache>/<name>/`` (extracted once, checked against the
    registry's image count); otherwise the path of the file.  ``sources``
    replaces the registry's list (each checked against ``mirror_sha256``).

    Safe with several processes at once (a lock file per file of the cache);
    leftovers of a killed run are removed; a cached archive that turns out
    damaged is set aside (``<name>.damaged-<time>``, never deleted) and fetched again.
    """
    if name not in DATASETS:
        raise KeyError(f"Conjunto desconocido: {name!r}. Opciones: {', '.join(DATASETS)}.")
    spec = DATASETS[name]
    root = _cache_dir(cache_dir)
    target = root / spec.filename
    unpack = spec.is_archive and extract
    home = root / spec.cache_folder
    if unpack and (done := _usable(spec, home / (spec.top_folder or target.stem))):
        return done  # nothing to write: works in a read-only cache too
    if not unpack and target.exists():
        return target
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _cache_error(root, exc) from exc
    candidates = [(s, spec.mirror_sha256) for s in sources] if sources is not None else sources_for(spec, mirrors)
    with _locked(root / f".{spec.filename}.lock", root):
        _remove_orphans(root, f".{spec.filename}.*.part")
        if unpack and spec.top_folder:  # staging folders of the old shared layout
            _remove_orphans(root, f".{spec.top_folder}.*.extracting")
        if unpack:
            if done := _usable(spec, home / (spec.top_folder or target.stem)):
                return done  # another process finished it meanwhile
            if moved := _migrate_legacy_folder(spec, root, home):
                return moved
        fresh = not target.exists()
        if fresh:
            _download(spec, root, target, candidates, progress, timeout)
        if not unpack:
            return target
        try:
            return _extract_dataset(spec, target, home, progress)
        except FolderConflictError:
            raise
        except ArchiveError as exc:
            if fresh:
                raise
            aside = target.with_name(f"{target.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
            os.replace(target, aside)
            try:
                _download(spec, root, target, candidates, progress, timeout)
            except DownloadError as again:
                raise DownloadError(
                    f"El archivo de la caché {target} estaba dañado ({exc}); se apartó como {aside} "
                    f"(no se borró) y no se pudo descargar de nuevo.\n{again}"
                ) from again
            return _extract_dataset(spec, target, home, progress)


def _extract_dataset(spec: DatasetSpec, target: Path, home: Path, progress: bool) -> Path:
    root = safe_extract(
        target,
        home,
        expected_top=spec.top_folder,
        progress=progress,
        expected_images=spec.expected_images,
        max_unpacked_bytes=spec.max_unpacked_bytes,
    )
    if _usable(spec, root) is None:  # pragma: no cover - safe_extract always marks it complete
        raise ArchiveError(f"No se pudo completar la extracción de {target}.")
    return root


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
    from .inspection import IMAGE_EXTENSIONS

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
        single = len(tops) == 1
        top = next(iter(tops)) if single else zip_path.stem
        final = dest / top
        if (final / ".complete").exists():
            return final
        try:
            dest.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _cache_error(dest, exc) from exc
        with _locked(dest / ".lock", dest):
            _remove_orphans(dest, ".*.extracting")
            if (final / ".complete").exists():
                return final  # another process finished it meanwhile
            if final.exists():
                raise FolderConflictError(
                    f"La carpeta {final} ya existe pero no está completa (¿archivos propios?). No se "
                    "tocó nada: muévela o bórrala y vuelve a intentarlo."
                )
            need = sum(m.file_size for m in members)
            if shutil.disk_usage(dest).free < need:
                raise _cache_error(dest, OSError(errno.ENOSPC, f"hacen falta {need / 1e6:,.0f} MB"))
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
                _share_like_umask(inner, directory=True)
                (inner / ".complete").write_text("ok\n")
                os.replace(inner, final)
            except (zipfile.BadZipFile, EOFError) as exc:
                raise ArchiveError(
                    f"'{zip_path.name}' ({zip_path}) está dañado ({exc}). Vuelve a descargarlo. No quedó nada a medias."
                ) from exc
            except OSError as exc:
                if exc.errno == errno.ENOSPC or _not_writable(exc):
                    raise _cache_error(dest, exc) from exc
                raise
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    return final


@dataclass(frozen=True)
class DataInfo:
    """Where a notebook's data came from."""

    root: Path
    kind: str  # "real", "synthetic" or "local"
    description: str


def _check_layout(root: Path) -> None:
    missing = [s for s in SPLITS if not (root / s).is_dir()]
    if missing:
        raise FileNotFoundError(
            f"En {root} faltan las carpetas: {', '.join(missing)}. El conjunto debe tener "
            f"{'/'.join(SPLITS)}, cada una con una subcarpeta por clase (p. ej. cats/ y dogs/)."
        )


#: ``DATA_SOURCE`` values that name a registry dataset: ``value -> (registry name, description)``.
COURSE_SOURCES = {
    "course": ("cats_dogs_small", "Conjunto reducido del curso (fotos reales de Kaggle)"),
    "course_full": ("cats_dogs_full", "Conjunto completo del curso (25,000 fotos reales de Kaggle)"),
}


def _synthetic(cache_dir: str | os.PathLike | None) -> Path:
    """The synthetic set in the cache, or in the system's temporary folder if the cache is read-only."""
    from .synthetic import make_synthetic_dataset

    try:
        return make_synthetic_dataset(_cache_dir(cache_dir) / "sintetico")
    except OSError as exc:
        if not _not_writable(exc):
            raise
        elsewhere = Path(tempfile.gettempdir()) / f"curso-cnn-{os.getuid()}" / "sintetico"
        warnings.warn(
            f"la caché {_cache_dir(cache_dir)} no se puede escribir; el conjunto sintético "
            f"se crea en {elsewhere}. Define {ENV_CACHE_DIR} para elegir otra carpeta.",
            stacklevel=3,
        )
        return make_synthetic_dataset(elsewhere)


def get_course_data(
    source: str = "auto",
    cache_dir: str | os.PathLike | None = None,
    *,
    progress: bool = True,
    mirrors: str | None = None,
) -> DataInfo:
    """Resolve a notebook's ``DATA_SOURCE`` to a dataset folder.

    ``"course"``: the course's reduced set (mirror, then Google Drive).
    ``"course_full"``: the full set (25,000 images), in its own cache folder.
    ``"synthetic"``: the deterministic synthetic set (generated once in the cache).
    ``"auto"``: ``"course"``, falling back to ``"synthetic"`` with a warning when offline
    or when the cache cannot be written.
    Any other value: a folder with ``train/validation/test`` or a ``.zip`` of one.
    """
    if source in ("auto", *COURSE_SOURCES):
        name, description = COURSE_SOURCES.get(source, COURSE_SOURCES["course"])
        try:
            root = fetch(name, cache_dir, progress=progress, mirrors=mirrors)
            return DataInfo(root, "real", description)
        except DownloadError as exc:
            if source != "auto":
                raise
            warnings.warn(
                "no se pudo obtener el conjunto real; se usa el conjunto SINTÉTICO.\n" + str(exc).splitlines()[0],
                stacklevel=2,
            )
            source = "synthetic"
    if source == "synthetic":
        return DataInfo(_synthetic(cache_dir), "synthetic", "Conjunto sintético del curso (figuras generadas)")
    path = Path(source).expanduser()
    if not path.exists():
        raise FileNotFoundError(
            f"DATA_SOURCE={source!r}: esa ruta no existe. Usa 'auto', 'course', 'course_full', "
            "'synthetic', o la ruta a una carpeta con train/validation/test o a un .zip del conjunto."
        )
    if path.is_file():
        check_archive(path, user_file=True)  # before the cache gets a folder for it
        # One folder per archive name, so that two zips with the same top folder never mix.
        root = safe_extract(path, _cache_dir(cache_dir) / "local" / path.stem, progress=progress)
        inner = [p for p in root.iterdir() if not p.name.startswith(".")]
        if not (root / "train").is_dir() and len(inner) == 1 and inner[0].is_dir():
            root = inner[0]
        _check_layout(root)
        return DataInfo(root, "local", f"Archivo local {path.name}")
    _check_layout(path)
    return DataInfo(path.resolve(), "local", f"Carpeta local {path}")


def external_images(
    cache_dir: str | os.PathLike | None = None, *, progress: bool = True, mirrors: str | None = None
) -> dict[str, Path]:
    """The two photos from outside the dataset, as ``{"cat": path, "dog": path}``."""
    return {
        "cat": fetch("external_cat", cache_dir, progress=progress, mirrors=mirrors),
        "dog": fetch("external_dog", cache_dir, progress=progress, mirrors=mirrors),
    }

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
import tempfile
import urllib.parse
import urllib.request
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from .archives import (  # noqa: F401 (re-exported: part of this module's interface)
    BOMB_MIN_BYTES,
    DEFAULT_MAX_UNPACKED_BYTES,
    MAX_COMPRESSION_RATIO,
    ArchiveError,
    FolderConflictError,
    check_archive,
    safe_extract,
)
from .cache_io import (  # noqa: F401 (re-exported)
    LOCK_TIMEOUT,
    CacheNotWritableError,
    DownloadError,
    NoSpaceError,
    cache_error,
    locked,
    not_writable,
    remove_orphans,
    share_like_umask,
)
from .config import ENV_CACHE_DIR, ENV_MIRROR
from .config import cache_dir as _cache_dir
from .layout import SPLITS


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
            raise cache_error(root, exc) from exc
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
            share_like_umask(tmp)
            os.replace(tmp, target)
            return
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise cache_error(root, exc) from exc
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
    damaged is set aside as ``<name>.damaged`` (one copy: a later damaged one replaces it) and
    fetched again.
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
        raise cache_error(root, exc) from exc
    candidates = [(s, spec.mirror_sha256) for s in sources] if sources is not None else sources_for(spec, mirrors)
    with locked(root / f".{spec.filename}.lock", root):
        remove_orphans(root, f".{spec.filename}.*.part")
        if unpack and spec.top_folder:  # staging folders of the old shared layout
            remove_orphans(root, f".{spec.top_folder}.*.extracting")
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
            aside = target.with_name(f"{target.name}.damaged")  # one copy, however many retries
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
    except (OSError, CacheNotWritableError) as exc:
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            raise cache_error(_cache_dir(cache_dir), exc) from exc
        if isinstance(exc, OSError) and not not_writable(exc):
            raise
        elsewhere = Path(tempfile.gettempdir()) / f"curso-cnn-{os.getuid()}" / "sintetico"
        warnings.warn(
            f"la caché {_cache_dir(cache_dir)} no se puede escribir; el conjunto sintético "
            f"se crea en {elsewhere}. Define {ENV_CACHE_DIR} para elegir otra carpeta.",
            stacklevel=3,
        )
        try:
            return make_synthetic_dataset(elsewhere)
        except OSError as again:
            if again.errno == errno.ENOSPC or not_writable(again):
                raise cache_error(elsewhere.parent, again) from again
            raise


def local_zip_folder(path: str | os.PathLike) -> str:
    """Name of the cache folder a local zip extracts to: its name and the start of its sha256."""
    return f"{Path(path).stem}-{sha256sum(path)[:16]}"


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
    if source is None:  # the parameters cell's placeholder
        source = "auto"
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
    if not isinstance(source, (str, os.PathLike)) or not str(source).strip():
        raise FileNotFoundError(
            f"DATA_SOURCE={source!r} no es válido: usa 'auto', 'course', 'course_full', 'synthetic', o "
            "la ruta (entre comillas) a una carpeta con train/validation/test o a un .zip del conjunto."
        )
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
        # One folder per archive content, so that two zips (or two versions of one) never mix.
        root = safe_extract(path, _cache_dir(cache_dir) / "local" / local_zip_folder(path), progress=progress)
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

"""The course data: ``DATA_SOURCE`` resolved to a dataset folder, the catalog's files fetched, the synthetic set.

:func:`get_course_data` is the one entry point (``start`` calls it).  :func:`fetch`
tries each source of a :mod:`~course_utils.data.catalog` entry in turn (local mirrors
first, then Google Drive), shows a progress bar, writes to a temporary file, checks the
sha256 where it is known, renames only then, extracts safely, and does nothing the second
time (:mod:`course_utils.data.download` does each of those steps).  Offline it raises
:class:`~course_utils.data.download.DownloadError` naming every source tried and the ways
out; ``DATA_SOURCE="auto"`` then falls back to the synthetic set (:func:`make_synthetic_dataset`).
Nothing already in the cache is ever deleted or overwritten by a failed attempt.

Each archive of the catalog extracts to its own folder ``<cache>/<name>/``, checked
against the catalog's image count; several processes take turns with a lock file; zip
bombs, links and repeated names are refused from the zip's directory before anything is
written; a read-only cache or a full disk gives a Spanish message saying what to do.

The synthetic set: cats are drawn as round shapes (ellipses with two triangular "ears")
on warm backgrounds, dogs as long rounded rectangles with floppy "ears" on cool
backgrounds, with noise, random sizes, positions and image sizes, so that a small CNN
learns them well above chance while an MLP on 16x16 pixels finds it harder.  The same
arguments always give the same files.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from ..config import CLASSES, ENV_CACHE_DIR, ENV_MIRROR, IMAGE_EXTENSIONS, SPLITS
from ..config import cache_dir as _cache_dir
from .catalog import DATASETS, DatasetSpec
from .download import (
    ArchiveError,
    CacheNotWritableError,
    DownloadError,
    FolderConflictError,
    cache_error,
    check_archive,
    download_first,
    locked,
    mirror_sources,
    not_writable,
    remove_orphans,
    safe_extract,
    sha256sum,
    share_like_umask,
)


def sources_for(spec: DatasetSpec, mirrors: str | None = None) -> list[tuple[str, str | None]]:
    """``(source, expected_sha256)`` pairs in the order :func:`fetch` tries them."""
    out: list[tuple[str, str | None]] = [(s, spec.mirror_sha256) for s in mirror_sources(spec.filename, mirrors)]
    out += [(u, None) for u in spec.extra_urls]
    out += [(f"gdrive:{i}", spec.drive_sha256) for i in spec.drive_ids]
    return out


def count_dataset_images(folder: str | os.PathLike) -> int:
    """Image files of an extracted dataset (hidden files and ``__MACOSX`` not counted)."""
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
    empty = empty_images(folder)
    if empty:
        raise ArchiveError(
            f"La carpeta {folder} de '{spec.name}' tiene {len(empty)} imagen(es) vacía(s) (0 bytes), p. ej. "
            f"{', '.join(empty[:3])}: la extracción se dañó después de terminar. No se tocó nada: muévela o bórrala "
            "y vuelve a ejecutar la celda para extraerla de nuevo."
        )
    return folder


def empty_images(folder: str | os.PathLike) -> list[str]:
    """Image files of an extracted dataset that have 0 bytes (paths relative to ``folder``, sorted)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d != "__MACOSX"]
        for f in filenames:
            path = Path(dirpath) / f
            if not f.startswith(".") and f.lower().endswith(IMAGE_EXTENSIONS) and path.stat().st_size == 0:
                out.append(str(path.relative_to(folder)))
    return sorted(out)


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


def _ways_out(spec: DatasetSpec) -> str:
    return (
        "Qué puedes hacer:\n"
        f"  1. Revisa tu conexión a internet y vuelve a ejecutar la celda.\n"
        f"  2. Descarga '{spec.filename}' a mano (Google Drive id {spec.drive_ids[0]}) y pon la "
        "ruta del archivo (o de la carpeta ya descomprimida) en DATA_SOURCE.\n"
        f"  3. Define {ENV_MIRROR}=<carpeta o URL> con una copia local del archivo.\n"
        "  4. Usa DATA_SOURCE='synthetic' para seguir con el conjunto sintético del curso."
    )


def _verify_download(spec: DatasetSpec, expected: str | None, tmp: Path) -> None:
    """Raise unless ``tmp`` has the ``expected`` sha256 (when known) and, for an archive, is usable."""
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


def _download(
    spec: DatasetSpec,
    root: Path,
    target: Path,
    candidates: list[tuple[str, str | None]],
    progress: bool,
    timeout: float,
) -> None:
    download_first(
        root,
        target,
        [(source, partial(_verify_download, spec, expected)) for source, expected in candidates],
        progress=progress,
        timeout=timeout,
        failure=lambda tried: (
            f"No se pudo obtener '{spec.filename}' ({spec.description}).\nFuentes probadas:\n{tried}\n{_ways_out(spec)}"
        ),
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
    """Where a notebook's data came from.

    ``note`` says in one Spanish sentence why this source was used when it is not the one
    asked for (the offline fallback); ``error`` keeps the failed download's whole report.
    """

    root: Path
    kind: str  # "real", "synthetic" or "local"
    description: str
    note: str = ""
    error: str = ""


def _check_layout(root: Path) -> None:
    missing = [s for s in SPLITS if not (root / s).is_dir()]
    if missing:
        raise FileNotFoundError(
            f"En {root} faltan las carpetas: {', '.join(missing)}. El conjunto debe tener "
            f"{'/'.join(SPLITS)}, cada una con una subcarpeta por clase (p. ej. cats/ y dogs/)."
        )


#: ``DATA_SOURCE`` values that name a registry dataset: ``value -> (registry name, description)``.
COURSE_SOURCES = {
    "course": ("cats_dogs_small", "fotos reales de Kaggle, conjunto reducido del curso (4000 fotos)"),
    "course_full": ("cats_dogs_full", "fotos reales de Kaggle, conjunto completo del curso (25 000 fotos)"),
}
SYNTHETIC_DESCRIPTION = "conjunto sintético del curso (figuras generadas, no fotos)"
#: Why ``DATA_SOURCE="auto"`` fell back to the synthetic set (the start table shows it).
OFFLINE_NOTE = (
    "sin conexión no se pudo descargar el conjunto real; el cuaderno funciona, pero sus números no son los "
    "de las fotos (vuelve a ejecutarlo con conexión; el motivo completo está en DATA.error)"
)
CACHE_NOTE = (
    "no se pudo guardar el conjunto real en la caché (disco lleno o sin permiso); se usa el sintético. "
    "El motivo y qué hacer están en DATA.error"
)


def _synthetic(cache_dir: str | os.PathLike | None) -> Path:
    """The synthetic set in the cache, or in the system's temporary folder if the cache is read-only."""
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
            # Information for the start table, not an error block (DATA.error keeps the whole report).
            note = CACHE_NOTE if isinstance(exc, CacheNotWritableError) else OFFLINE_NOTE
            return DataInfo(_synthetic(cache_dir), "synthetic", SYNTHETIC_DESCRIPTION, note=note, error=str(exc))
    if not isinstance(source, (str, os.PathLike)) or not str(source).strip():
        raise FileNotFoundError(
            f"DATA_SOURCE={source!r} no es válido: usa 'auto', 'course', 'course_full', 'synthetic', o "
            "la ruta (entre comillas) a una carpeta con train/validation/test o a un .zip del conjunto."
        )
    if source == "synthetic":
        return DataInfo(_synthetic(cache_dir), "synthetic", SYNTHETIC_DESCRIPTION)
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


# --------------------------------------------------------------------------- the synthetic set

DEFAULT_COUNTS = {"train": 150, "validation": 100, "test": 100}
_FORMAT_VERSION = 1


def _draw(rng: np.random.Generator, label: int) -> Image.Image:
    w, h = int(rng.integers(96, 320)), int(rng.integers(96, 300))
    warm = np.array([200, 140, 90]) if label == 0 else np.array([90, 140, 200])
    base = np.clip(warm + rng.normal(0, 35, 3), 0, 255)
    xx = np.mgrid[0:h, 0:w][1]
    grad = (xx / w)[..., None] * rng.normal(0, 40, 3)
    pixels = np.clip(base + grad + rng.normal(0, 18, (h, w, 3)), 0, 255).astype(np.uint8)
    img = Image.fromarray(pixels)
    d = ImageDraw.Draw(img)
    s = min(w, h)
    cx, cy = rng.uniform(0.3, 0.7) * w, rng.uniform(0.35, 0.7) * h
    r = rng.uniform(0.18, 0.3) * s
    fill = tuple(int(v) for v in rng.integers(20, 235, 3))
    if label == 0:  # cat: round face, pointy ears
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
        for sign in (-1, 1):
            ex = cx + sign * 0.6 * r
            d.polygon(
                [(ex - 0.35 * r, cy - 0.6 * r), (ex + 0.35 * r, cy - 0.6 * r), (ex + sign * 0.1 * r, cy - 1.5 * r)],
                fill=fill,
            )
    else:  # dog: long snout, floppy ears
        d.rounded_rectangle([cx - 1.3 * r, cy - 0.7 * r, cx + 1.3 * r, cy + 0.7 * r], radius=0.3 * r, fill=fill)
        for sign in (-1, 1):
            ex = cx + sign * 1.3 * r
            d.ellipse(
                [ex - 0.35 * r, cy - 0.5 * r, ex + 0.35 * r, cy + 0.9 * r], fill=tuple(max(0, c - 40) for c in fill)
            )
    for _ in range(int(rng.integers(0, 4))):  # clutter common to both classes
        x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
        d.line(
            [x0, y0, x0 + rng.normal(0, s / 4), y0 + rng.normal(0, s / 4)],
            fill=tuple(int(v) for v in rng.integers(0, 255, 3)),
            width=int(rng.integers(1, 4)),
        )
    return img.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0, 1.2))))


def make_synthetic_dataset(root: str | os.PathLike, counts: dict[str, int] | None = None, seed: int = 0) -> Path:
    """Write (once) the synthetic set under ``root`` and return ``root``.

    ``counts`` gives images per class for each split.  An existing complete set
    made with the same arguments is reused; a different one is never touched
    (a :class:`FileExistsError` says so).  Several processes at once take turns
    (a lock file beside ``root``); staging folders of a killed run are removed.
    """
    root = Path(root)
    counts = {**DEFAULT_COUNTS, **(counts or {})}
    stamp = {"version": _FORMAT_VERSION, "counts": counts, "seed": seed}
    if _finished(root, stamp):
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    # One process writes it while the others wait; staging folders left by a killed run go first.
    with locked(root.parent / f".{root.name}.lock", root.parent):
        for stale in root.parent.glob(f".{root.name}.*"):
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
        if _finished(root, stamp):
            return root  # another process wrote it meanwhile
        if root.exists() and any(root.iterdir()):
            raise FileExistsError(f"{root} existe y no está vacía; no se sobrescribe. Usa otra carpeta.")
        _write(root, counts, seed, stamp)
    return root


def _finished(root: Path, stamp: dict) -> bool:
    """True when ``root`` holds the set of ``stamp``; FileExistsError when it holds another one."""
    marker = root / ".complete"
    if not marker.exists():
        return False
    if json.loads(marker.read_text()) == stamp:
        return True
    raise FileExistsError(f"{root} ya contiene un conjunto sintético con otros parámetros; usa otra carpeta.")


def _write(root: Path, counts: dict[str, int], seed: int, stamp: dict) -> None:
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=root.parent))
    share_like_umask(staging, directory=True)  # mkdtemp makes it 0700: others sharing the cache could not read it
    try:
        for s_idx, split in enumerate(SPLITS):
            for label, cls in enumerate(CLASSES):
                folder = staging / split / cls
                folder.mkdir(parents=True)
                rng = np.random.default_rng([seed, s_idx, label])
                stem = cls[:-1]
                for i in range(counts[split]):
                    _draw(rng, label).save(folder / f"{stem}.{i + 1}.jpg", quality=90)
        (staging / ".complete").write_text(json.dumps(stamp))
        if root.exists():
            root.rmdir()
        os.replace(staging, root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

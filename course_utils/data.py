"""Dataset registry and a careful downloader.

:func:`fetch` tries each source of a registry entry in turn (local mirrors
first, then Google Drive), shows a progress bar, writes to a temporary file,
checks the sha256 where it is known, renames only then, extracts safely, and
does nothing the second time.  Offline it raises :class:`DownloadError` naming
every source tried and the ways out.  Nothing already in the cache is ever
deleted or overwritten by a failed attempt.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.parse
import urllib.request
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .config import ENV_MIRROR
from .config import cache_dir as _cache_dir
from .layout import SPLITS


class DownloadError(RuntimeError):
    """No source of a dataset could be fetched and verified."""


class ArchiveError(RuntimeError):
    """An archive is corrupt, unsafe or not laid out as expected."""


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

    @property
    def is_archive(self) -> bool:
        return self.filename.endswith(".zip")


DATASETS: dict[str, DatasetSpec] = {
    "cats_dogs_small": DatasetSpec(
        name="cats_dogs_small", filename="cnn_perros_gatos-small.zip",
        drive_ids=("1Ce3u8dwYYriLkz5OpcGn72xIQENIHZX5", "1NK9LvrVwsEQM0UHkFHq_GYCF2fjGrwAP"),
        description="Conjunto reducido: 1000/500/500 imágenes por clase (train/validation/test).",
        mirror_sha256="be4e0a8f9c2acb211ea6378ad3056e5dd3392f199d11ed0d245dee4eefd8d8ce",
        top_folder="cnn_perros_gatos", size_bytes=180_915_107),
    "cats_dogs_full": DatasetSpec(
        name="cats_dogs_full", filename="cnn_perros_gatos.zip",
        drive_ids=("1Q3xOfn2Up9uIOLviS66oYH_oFFK-IGpW", "1hchhNQ_3WNncaXVD3kX58EIppcYFt-E2"),
        description="Conjunto completo de Kaggle (25,000 imágenes, 543 MB).",
        top_folder="cnn_perros_gatos"),
    "external_cat": DatasetSpec(
        name="external_cat", filename="dc_cat.jpg",
        drive_ids=("1OEUZgYKM_brFUwjNi1RmMCOLzctdimYK",),
        description="Foto externa de un gato (abisinio).",
        mirror_sha256="66df6f98a87886321741a253f892448094d293760c1e14d1c309c74113d7b84c"),
    "external_dog": DatasetSpec(
        name="external_dog", filename="dc_dog.jpg",
        drive_ids=("1eSWPCWL-mc4ekrjbh5BN25IKlNZfAECF",),
        description="Foto externa de un perro (Boston terrier).",
        mirror_sha256="463609fb7df913652f546ed84f497f9afba7607132f224152b34795ffdeeaea4"),
    "cnn_improved_model": DatasetSpec(
        name="cnn_improved_model", filename="cnn_perros_gatos_improved.keras",
        drive_ids=("13L5oCFXIgw22FR8irsuwNHvnzekA7bGd",),
        description="CNN del curso entrenada con el conjunto completo (~87% en prueba)."),
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

    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc,
                disable=not enabled, leave=False)


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

        out = gdown.download(id=source[len("gdrive:"):], output=str(tmp), quiet=not progress)
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
        "  4. Usa DATA_SOURCE='synthetic' para seguir con el conjunto sintético del curso.")


def fetch(name: str, cache_dir: str | os.PathLike | None = None, *, mirrors: str | None = None,
          sources: list[str] | None = None, progress: bool = True, timeout: float = 30.0,
          extract: bool = True) -> Path:
    """Fetch registry entry ``name`` into the cache and return its path.

    For an archive, the path of the extracted top folder (extracted once);
    otherwise the path of the file.  ``sources`` replaces the registry's list
    (each checked against ``mirror_sha256``).
    """
    if name not in DATASETS:
        raise KeyError(f"Conjunto desconocido: {name!r}. Opciones: {', '.join(DATASETS)}.")
    spec = DATASETS[name]
    root = _cache_dir(cache_dir)
    root.mkdir(parents=True, exist_ok=True)
    target = root / spec.filename
    if spec.is_archive and extract:
        extracted = root / (spec.top_folder or target.stem)
        if (extracted / ".complete").exists():
            return extracted
    if not target.exists():
        candidates = ([(s, spec.mirror_sha256) for s in sources] if sources is not None
                      else sources_for(spec, mirrors))
        errors = []
        for source, expected in candidates:
            fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.filename}.", suffix=".part", dir=root)
            os.close(fd)
            tmp = Path(tmp_name)
            try:
                _download_to(source, tmp, progress, timeout)
                if expected is not None:
                    got = sha256sum(tmp)
                    if got != expected:
                        raise OSError(f"sha256 no coincide (esperado {expected[:12]}…, obtenido {got[:12]}…)")
                if spec.is_archive:  # an unusable archive never takes the cache's name
                    check_archive(tmp, expected_top=spec.top_folder, display_name=spec.filename)
                os.replace(tmp, target)
                break
            except Exception as exc:  # noqa: BLE001 - every failure is reported below
                errors.append(f"  - {source}: {type(exc).__name__}: {exc}")
            finally:
                tmp.unlink(missing_ok=True)
        else:
            tried = "\n".join(errors) or "  (ninguna fuente configurada)"
            raise DownloadError(
                f"No se pudo obtener '{spec.filename}' ({spec.description}).\n"
                f"Fuentes probadas:\n{tried}\n{_ways_out(spec)}")
    if spec.is_archive and extract:
        return safe_extract(target, root, expected_top=spec.top_folder, progress=progress)
    return target


def _member_target(dest: Path, member: str) -> Path:
    pure = PurePosixPath(member.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or (pure.parts and ":" in pure.parts[0]):
        raise ArchiveError(
            f"El archivo comprimido contiene una ruta insegura: {member!r} (saldría de {dest}). "
            "No se extrajo nada; descarga el archivo de nuevo desde una fuente confiable.")
    out = (dest / pure).resolve()
    if dest.resolve() not in out.parents and out != dest.resolve():
        raise ArchiveError(f"Ruta insegura en el archivo comprimido: {member!r}.")
    return out


def _open_zip(zip_path: Path, display_name: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(
            f"'{display_name}' no es un zip válido ({exc}). Puede estar incompleto: bórralo "
            "de la caché y descárgalo otra vez.") from exc


def _checked_members(zf: zipfile.ZipFile, dest: Path, display_name: str,
                     expected_top: str | None) -> tuple[list[zipfile.ZipInfo], set[str]]:
    """The members to extract and their top folders; ArchiveError if unsafe or unexpected."""
    members = [m for m in zf.infolist() if not m.filename.startswith("__MACOSX/")]
    for m in members:
        _member_target(dest, m.filename)
    tops = {PurePosixPath(m.filename).parts[0] for m in members if m.filename.strip("/")}
    if expected_top is not None and tops != {expected_top}:
        raise ArchiveError(
            f"'{display_name}' debería contener una sola carpeta '{expected_top}/', pero contiene: "
            f"{', '.join(sorted(tops)) or 'nada'}. ¿Es el archivo correcto?")
    return members, tops


def check_archive(zip_path: str | os.PathLike, *, expected_top: str | None = None,
                  display_name: str | None = None) -> None:
    """Raise :class:`ArchiveError` unless ``zip_path`` is a zip that :func:`safe_extract` accepts.

    Reads only the zip's directory: no member is written anywhere.
    """
    zip_path = Path(zip_path)
    with _open_zip(zip_path, display_name or zip_path.name) as zf:
        _checked_members(zf, zip_path.parent, display_name or zip_path.name, expected_top)


def safe_extract(zip_path: str | os.PathLike, dest: str | os.PathLike, *,
                 expected_top: str | None = None, progress: bool = True) -> Path:
    """Extract ``zip_path`` into ``dest`` and return the top folder.

    Refuses members that would land outside ``dest`` and archives whose single
    top folder is not ``expected_top``, before writing anything.  Extracts into
    a temporary folder and renames it when complete, so an interrupted run
    leaves no half-extracted dataset; an existing complete folder is reused.
    """
    zip_path, dest = Path(zip_path), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    zf = _open_zip(zip_path, zip_path.name)
    with zf:
        members, tops = _checked_members(zf, dest, zip_path.name, expected_top)
        single = len(tops) == 1
        top = next(iter(tops)) if single else zip_path.stem
        final = dest / top
        if (final / ".complete").exists():
            return final
        if final.exists():
            raise ArchiveError(
                f"La carpeta {final} ya existe pero no está completa (¿extracción interrumpida o "
                "archivos propios?). No se tocó nada: muévela o bórrala y vuelve a intentarlo.")
        staging = Path(tempfile.mkdtemp(prefix=f".{top}.", suffix=".extracting", dir=dest))
        try:
            from tqdm.auto import tqdm

            for m in tqdm(members, desc=f"Extrayendo {zip_path.name}", unit="archivo",
                          disable=not progress, leave=False):
                out = _member_target(staging, m.filename)
                if m.is_dir():
                    out.mkdir(parents=True, exist_ok=True)
                    continue
                out.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(m) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
            inner = staging / top if single else staging
            inner.mkdir(exist_ok=True)
            (inner / ".complete").write_text("ok\n")
            os.replace(inner, final)
        except zipfile.BadZipFile as exc:
            raise ArchiveError(f"'{zip_path.name}' está dañado ({exc}). Descárgalo de nuevo.") from exc
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
            f"{'/'.join(SPLITS)}, cada una con una subcarpeta por clase (p. ej. cats/ y dogs/).")


def get_course_data(source: str = "auto", cache_dir: str | os.PathLike | None = None, *,
                    progress: bool = True, mirrors: str | None = None) -> DataInfo:
    """Resolve a notebook's ``DATA_SOURCE`` to a dataset folder.

    ``"course"``: the course's reduced set (mirror, then Google Drive).
    ``"synthetic"``: the deterministic synthetic set (generated once in the cache).
    ``"auto"``: ``"course"``, falling back to ``"synthetic"`` with a warning when offline.
    Any other value: a folder with ``train/validation/test`` or a ``.zip`` of one.
    """
    from .synthetic import make_synthetic_dataset

    if source in ("auto", "course"):
        try:
            root = fetch("cats_dogs_small", cache_dir, progress=progress, mirrors=mirrors)
            return DataInfo(root, "real", "Conjunto reducido del curso (fotos reales de Kaggle)")
        except DownloadError as exc:
            if source == "course":
                raise
            warnings.warn("no se pudo obtener el conjunto real; se usa el conjunto SINTÉTICO.\n"
                          + str(exc).splitlines()[0], stacklevel=2)
            source = "synthetic"
    if source == "synthetic":
        root = make_synthetic_dataset(_cache_dir(cache_dir) / "sintetico")
        return DataInfo(root, "synthetic", "Conjunto sintético del curso (figuras generadas)")
    path = Path(source).expanduser()
    if not path.exists():
        raise FileNotFoundError(
            f"DATA_SOURCE={source!r}: esa ruta no existe. Usa 'auto', 'course', 'synthetic', "
            "o la ruta a una carpeta con train/validation/test o a un .zip del conjunto.")
    if path.is_file():
        # One folder per archive name, so that two zips with the same top folder never mix.
        root = safe_extract(path, _cache_dir(cache_dir) / "local" / path.stem, progress=progress)
        inner = [p for p in root.iterdir() if not p.name.startswith(".")]
        if not (root / "train").is_dir() and len(inner) == 1 and inner[0].is_dir():
            root = inner[0]
        _check_layout(root)
        return DataInfo(root, "local", f"Archivo local {path.name}")
    _check_layout(path)
    return DataInfo(path.resolve(), "local", f"Carpeta local {path}")


def external_images(cache_dir: str | os.PathLike | None = None, *, progress: bool = True,
                    mirrors: str | None = None) -> dict[str, Path]:
    """The two photos from outside the dataset, as ``{"cat": path, "dog": path}``."""
    return {"cat": fetch("external_cat", cache_dir, progress=progress, mirrors=mirrors),
            "dog": fetch("external_dog", cache_dir, progress=progress, mirrors=mirrors)}

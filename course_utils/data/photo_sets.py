"""Sets of loose photos listed file by file in a manifest (URL, sha256, class), fetched into the cache.

The course's own data come as one zip (:mod:`course_utils.data.course_data`); a photo set is a list of
files, each downloaded (a ``COURSE_DATA_MIRROR`` folder or URL first, then the manifest's URL),
checked against its sha256 and renamed into ``<cache>/<set>/<class>/<file>`` only then
(:func:`course_utils.data.download.download_first`).  Files already in the cache are checked and
kept, so an interrupted run carries on where it stopped; several processes take turns with a
lock file.  ``data/other_source_photos.json`` is the set the course ships: cat and dog photos
from outside the course's data set (``benchmarks/other_source.py`` evaluates models on it).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..config import ENV_MIRROR, IMAGE_EXTENSIONS, PROJECT_ROOT
from ..config import cache_dir as _cache_dir
from .download import DownloadError, cache_error, download_first, locked, mirror_sources, remove_orphans, sha256sum

#: The photo set the repository ships (cats and dogs from the Oxford-IIIT Pet dataset).
DEFAULT_MANIFEST = PROJECT_ROOT / "data" / "other_source_photos.json"


class ManifestError(ValueError):
    """A manifest that cannot be used (its message, in Spanish, says why)."""


@dataclass(frozen=True)
class PhotoFile:
    """One photo of a set: where it goes (``<class>/<name>``), its class, sha256 and URL."""

    file: str
    label: str
    sha256: str
    url: str


@dataclass(frozen=True)
class PhotoSet:
    """A manifest: the set's name (its cache folder), licence and files."""

    name: str
    files: tuple[PhotoFile, ...]
    license: dict
    description: str = ""

    @property
    def class_names(self) -> list[str]:
        return sorted({f.label for f in self.files})


def _bad(path: object, what: str) -> ManifestError:
    return ManifestError(f"El manifiesto {path} no sirve: {what}. Vuelve a generarlo o descárgalo de nuevo.")


def _safe_part(text: str) -> bool:
    return bool(text) and text not in (".", "..") and "/" not in text and "\\" not in text


def load_manifest(path: str | os.PathLike = DEFAULT_MANIFEST) -> PhotoSet:
    """Read and check a photo-set manifest (JSON with ``name``, ``license`` and ``files``).

    Each file needs ``file`` (``<class>/<name>``, no other folders), ``class`` (its folder),
    a 64-hex-digit ``sha256`` and an ``http(s)`` ``url``; names must not repeat.
    """
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise _bad(path, f"no se pudo leer ({exc})") from exc
    if not isinstance(record, dict) or not isinstance(record.get("files"), list) or not record["files"]:
        raise _bad(path, "le falta la lista 'files'")
    name = record.get("name")
    if not isinstance(name, str) or not _safe_part(name):
        raise _bad(path, f"el nombre {name!r} no vale como carpeta")
    if not isinstance(record.get("license"), dict) or not record["license"].get("name"):
        raise _bad(path, "no dice la licencia de las fotos ('license')")
    files, seen = [], set()
    for i, item in enumerate(record["files"]):
        try:
            file, label, sha, url = item["file"], item["class"], item["sha256"], item["url"]
        except (KeyError, TypeError) as exc:
            raise _bad(path, f"la entrada {i} no tiene file, class, sha256 y url") from exc
        parts = PurePosixPath(str(file)).parts
        if len(parts) != 2 or not all(_safe_part(p) for p in parts) or parts[0] != label:
            raise _bad(path, f"la entrada {i} ({file!r}) debe ser '<clase>/<archivo>' con la clase {label!r}")
        if not (isinstance(sha, str) and len(sha) == 64 and all(c in "0123456789abcdef" for c in sha)):
            raise _bad(path, f"la entrada {i} ({file}) no tiene un sha256 de 64 cifras hexadecimales")
        if not (isinstance(url, str) and url.startswith(("https://", "http://"))):
            raise _bad(path, f"la entrada {i} ({file}) no tiene una URL http(s)")
        if file in seen:
            raise _bad(path, f"el archivo {file} aparece dos veces")
        seen.add(file)
        files.append(PhotoFile(file, label, sha, url))
    return PhotoSet(name, tuple(files), record["license"], str(record.get("description", "")))


def _verifier(expected: str):
    def verify(tmp: Path) -> None:
        got = sha256sum(tmp)
        if got != expected:
            raise OSError(f"sha256 no coincide (esperado {expected[:12]}…, obtenido {got[:12]}…)")

    return verify


def _ways_out(photo_set: PhotoSet) -> str:
    return (
        "Qué puedes hacer:\n"
        "  1. Revisa tu conexión a internet y vuelve a ejecutar la orden: las fotos ya descargadas se conservan.\n"
        f"  2. Define {ENV_MIRROR}=<carpeta o URL> con una copia de las fotos en "
        f"<carpeta>/{photo_set.name}/<clase>/<archivo> (las sumas sha256 del manifiesto se comprueban)."
    )


def fetch_photo_set(
    manifest: str | os.PathLike | PhotoSet = DEFAULT_MANIFEST,
    cache_dir: str | os.PathLike | None = None,
    *,
    mirrors: str | None = None,
    progress: bool = True,
    timeout: float = 30.0,
) -> Path:
    """Download the photos of ``manifest`` into ``<cache>/<name>/<class>/`` and return that folder.

    Tries each mirror of ``mirrors`` (default ``$COURSE_DATA_MIRROR``) at
    ``<mirror>/<name>/<class>/<file>``, then the manifest's URL; a file takes its place in the
    cache only when its sha256 is the manifest's.  Files already there are checked: a damaged
    one is set aside as ``<file>.damaged`` and downloaded again.  Image files that the manifest
    does not list are refused (they would change the measurement).  Raises
    :class:`~course_utils.data.download.DownloadError` naming each file that could not be had.
    """
    photo_set = manifest if isinstance(manifest, PhotoSet) else load_manifest(manifest)
    root = _cache_dir(cache_dir)
    home = root / photo_set.name
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise cache_error(root, exc) from exc
    from tqdm.auto import tqdm

    failures = []
    with locked(root / f".{photo_set.name}.lock", root):
        for label in photo_set.class_names:
            (home / label).mkdir(exist_ok=True)
            remove_orphans(home / label, ".*.part")
        for item in tqdm(photo_set.files, desc=f"Fotos de {photo_set.name}", unit="foto", disable=not progress):
            target = home / item.file
            if target.is_file():
                if sha256sum(target) == item.sha256:
                    continue
                os.replace(target, target.with_name(target.name + ".damaged"))
            attempts = [(s, _verifier(item.sha256)) for s in mirror_sources(f"{photo_set.name}/{item.file}", mirrors)]
            attempts.append((item.url, _verifier(item.sha256)))
            try:
                download_first(target.parent, target, attempts, progress=False, timeout=timeout, failure=str)
            except DownloadError as exc:
                failures.append(f"- {item.file}:\n{exc}")
        listed = {f.file for f in photo_set.files}
        extra = sorted(
            p.relative_to(home).as_posix()
            for p in home.glob("*/*")
            if p.suffix.lower() in IMAGE_EXTENSIONS
            and not p.name.startswith(".")
            and p.relative_to(home).as_posix() not in listed
        )
    if failures:
        raise DownloadError(
            f"Faltan {len(failures)} de las {len(photo_set.files)} fotos de '{photo_set.name}' en {home} "
            "(las demás están y se conservan).\n"
            + "\n".join(failures[:5])
            + ("\n  ..." if len(failures) > 5 else "")
            + "\n"
            + _ways_out(photo_set)
        )
    if extra:
        raise ManifestError(
            f"La carpeta {home} tiene {len(extra)} archivos que el manifiesto no lista ({', '.join(extra[:3])}"
            f"{'...' if len(extra) > 3 else ''}); cambiarían la medida. Muévelos a otra carpeta y vuelve a "
            "ejecutar la orden."
        )
    return home

"""Saving and loading what notebooks produce: models, figures and results, atomically.

Every writer here writes to a temporary file in the target folder and renames
it into place only when complete, so an interrupted run never leaves a
half-written model or results file behind, and a failed save keeps the old one.
A process killed mid-write leaves only a file named ``.<name>.<pid>.*.partial*``,
which the next write to the same folder removes; a full disk or a folder that cannot be
written (read-only, no permission) gives a Spanish message.  :func:`record_results` reads,
changes and writes its JSON holding a lock (``filelock``, a file in the system's temporary
folder), so processes writing the same results file at once keep every key.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import re
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from . import config

#: errno values of a folder that cannot be written (read-only disk, no permission).
NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)
#: Seconds :func:`record_results` waits for another process writing the same results file.
RESULTS_LOCK_TIMEOUT = 120


class ModelLoadError(RuntimeError):
    """A saved model is missing, corrupt or unsafe to load."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_partial_files(folder: str | os.PathLike) -> list[str]:
    """Delete the partial files that killed processes left in ``folder`` (live writers' are kept)."""
    removed = []
    for p in Path(folder).glob(".*.partial*"):
        found = re.search(r"\.(\d+)\.[A-Za-z0-9_]+\.partial", p.name)
        if found and not _alive(int(found.group(1))):
            p.unlink(missing_ok=True)
            removed.append(p.name)
    return removed


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds.

    The temporary file is named ``.<name>.<pid>.<random>.partial<suffix>``, so it never
    looks like a finished file; leftovers of killed processes are removed first.  A full
    disk raises ``OSError(ENOSPC)`` with a Spanish message; the previous file stays.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_partial_files(path.parent)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{path.name}.{os.getpid()}.",
            suffix=".partial" + (suffix or path.suffix or ".tmp"),
            dir=path.parent,
        )
    except OSError as exc:
        _raise_write_error(path, exc)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes it 0600
        os.replace(tmp_path, path)
    except OSError as exc:
        _raise_write_error(path, exc)
    finally:
        tmp_path.unlink(missing_ok=True)


class ArtifactWriteError(OSError):
    """A file of the artifacts folder could not be written (full disk, read-only folder); Spanish message."""


def _raise_write_error(path: Path, exc: OSError) -> NoReturn:
    """Raise :class:`ArtifactWriteError` (Spanish) for a full disk or a folder that cannot be written; else ``exc``."""
    if isinstance(exc, ArtifactWriteError):
        raise exc
    if exc.errno == errno.ENOSPC:
        raise ArtifactWriteError(
            errno.ENOSPC,
            f"No queda espacio en disco para guardar {path.name} en {path.parent}. Libera "
            "espacio (o usa otra carpeta de artefactos, COURSE_ARTIFACTS_DIR) y vuelve a "
            "ejecutar la celda; el archivo anterior, si lo había, sigue intacto.",
        ) from exc
    if exc.errno in NOT_WRITABLE:
        raise ArtifactWriteError(
            exc.errno,
            f"No se puede guardar {path.name} en {path.parent} ({exc.strerror or exc}): la carpeta es de solo "
            "lectura o no tienes permiso (¿se desmontó el disco o cambió de permisos después de start?). Pon en "
            "ARTIFACTS_DIR una carpeta donde puedas escribir (o define COURSE_ARTIFACTS_DIR), vuelve a ejecutar la "
            "celda de puesta en marcha y luego esta; el archivo anterior, si lo había, sigue intacto.",
        ) from exc
    raise exc


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as indented JSON, atomically."""
    with atomic_path(path, ".json") as tmp:
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=_jsonable) + "\n")
    return Path(path)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} no se puede guardar en JSON")


def shown_path(path: str | os.PathLike, *, from_home: bool = False) -> str:
    """``path`` as a student finds it: in their Google Drive, from ``~`` (``from_home``, for caches), or
    relative to the notebook's folder or its parent (the repository), else from ``~``, else whole.

    A folder ends in ``/``; a file (a saved model, a results file, or a path with a suffix that does
    not exist yet) does not.  Notebooks print this, never the absolute path of the machine that ran them.
    """
    path, here, home = Path(path).resolve(), Path.cwd().resolve(), Path.home().resolve()
    end = "/" if path.is_dir() or not (path.exists() or path.suffix) else ""
    drive = Path(config.COLAB_DRIVE_MOUNT).resolve() / "MyDrive"
    if path.is_relative_to(drive):
        return f"tu Google Drive: {path.relative_to(drive)}{end}"
    if from_home and path.is_relative_to(home):
        return f"~/{path.relative_to(home)}{end}"
    for base in (here, here.parent):
        if path.is_relative_to(base):
            return os.path.relpath(path, here) + end
    return f"~/{path.relative_to(home)}{end}" if path.is_relative_to(home) else f"{path}{end}"


def save_model(model: Any, path: str | os.PathLike) -> Path:
    """Save a Keras model to ``path`` (``.keras``) atomically; return the path."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"Guarda el modelo con extensión .keras (recibido: {path.name}).")
    with atomic_path(path, ".keras") as tmp:
        model.save(tmp)
    return path


def load_model(path: str | os.PathLike, *, safe_mode: bool = True, compile: bool = True) -> Any:
    """Load a ``.keras`` model with Keras' safe mode on; clear Spanish errors otherwise.

    ``safe_mode=True`` refuses models that embed arbitrary Python code (``Lambda``
    layers with bytecode): only turn it off for files you made yourself.
    """
    import keras

    path = Path(path)
    if not path.exists():
        raise ModelLoadError(
            f"No existe el modelo {path}. Ejecuta antes el cuaderno que lo entrena y lo guarda, "
            "o descarga el modelo entrenado del curso (course_utils.data.course_data.fetch('cnn_improved_model'))."
        )
    if path.stat().st_size == 0:
        raise ModelLoadError(f"El modelo {path} está vacío (0 bytes): vuelve a entrenarlo o descargarlo.")
    try:
        return keras.models.load_model(path, safe_mode=safe_mode, compile=compile)
    except (TypeError, ValueError) as exc:
        custom = re.search(
            r"(?:Could not locate (?:class|function)|Unknown (?:layer|object))[:\s]*'?([\w.]+)", str(exc)
        )
        if custom:
            raise ModelLoadError(
                f"{path.name} no está dañado: usa una capa o función propia ({custom.group(1)}) que Keras no "
                "conoce en esta sesión. Ejecuta antes la celda que la define (con "
                "@keras.saving.register_keras_serializable()) o pásala en custom_objects; o vuelve a "
                "entrenarlo con las capas del curso."
            ) from exc
        if isinstance(exc, TypeError):
            raise ModelLoadError(
                f"El archivo {path.name} está dañado o no es un modelo Keras "
                f"({type(exc).__name__}: {exc}). Vuelve a entrenarlo o descargarlo."
            ) from exc
        if "safe_mode" in str(exc) or "unsafe" in str(exc).lower() or "lambda" in str(exc).lower():
            raise ModelLoadError(
                f"Keras se negó a cargar {path.name} en modo seguro: contiene código Python "
                "(p. ej. una capa Lambda) que podría ejecutar cualquier cosa. Cárgalo con "
                "safe_mode=False solo si tú creaste ese archivo."
            ) from exc
        raise ModelLoadError(
            f"No se pudo cargar {path.name}: {exc}. ¿Archivo dañado? Vuelve a entrenarlo o descargarlo."
        ) from exc
    except Exception as exc:  # noqa: BLE001 - zip/h5 errors of a corrupt file
        raise ModelLoadError(
            f"El archivo {path.name} está dañado o no es un modelo Keras "
            f"({type(exc).__name__}: {exc}). Vuelve a entrenarlo o descargarlo."
        ) from exc


def _clean(value: Any) -> Any:
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def record_results(artifacts_dir: str | os.PathLike, notebook: str, **metrics: Any) -> Path:
    """Merge ``metrics`` into ``<artifacts>/results/<notebook>.json`` (atomically, under a lock).

    Notebooks call this with their headline numbers; tests and the results
    summary read these files.  Processes writing the same file take turns
    (a lock file in the system's temporary folder), so none loses another's keys.
    """
    from filelock import FileLock, Timeout

    path = Path(artifacts_dir) / "results" / f"{notebook}.json"
    lock = FileLock(str(_lock_file(path)), timeout=RESULTS_LOCK_TIMEOUT, mode=0o666)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with lock:
            return _merge_results(path, notebook, metrics)
    except Timeout as exc:
        raise TimeoutError(
            f"Otro proceso lleva más de {RESULTS_LOCK_TIMEOUT} s escribiendo {path}. Espera a que termine (o, si ya "
            f"no existe, borra {lock.lock_file}) y vuelve a ejecutar la celda; los resultados no se guardaron."
        ) from exc
    except OSError as exc:
        _raise_write_error(path, exc)


def _lock_file(path: Path) -> Path:
    """The lock file of ``path``: in the system's temporary folder, so that the artifacts folder (perhaps on
    Google Drive, where file locks may not work) gets no extra file."""
    folder = Path(tempfile.gettempdir()) / "curso-cnn-locks"
    if not folder.is_dir():
        folder.mkdir(exist_ok=True)
        with contextlib.suppress(OSError):
            os.chmod(folder, 0o1777)  # shared by every user of the machine, like /tmp itself
    return folder / f"results-{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:24]}.lock"


def _merge_results(path: Path, notebook: str, metrics: dict[str, Any]) -> Path:
    """Read ``path``, add ``metrics`` and write it back (call it holding the results file's lock)."""
    data = _read_json_dict(path) if path.exists() else {}
    if data is None:  # unreadable: kept aside, never lost, and the new results are written
        aside = path.with_name(f"{path.name}.damaged")
        os.replace(path, aside)
        warnings.warn(
            f"{path} estaba dañado o no era un diccionario JSON: se apartó como {aside.name} (no se borró) y "
            "se escriben los resultados nuevos. Si te sirve, recupera de él lo que necesites a mano.",
            stacklevel=4,
        )
        data = {}
    data.update(_clean(metrics))
    data["notebook"] = notebook
    data["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    return write_json(path, data)


def recorded(name: str) -> dict | None:
    """A result measured once and shipped with the package (``course_utils/recorded/<name>.json``), or None."""
    path = Path(__file__).parent / "recorded" / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def read_results(artifacts_dir: str | os.PathLike) -> dict[str, dict]:
    """All recorded results, keyed by notebook name."""
    folder = Path(artifacts_dir) / "results"
    out, bad = {}, []
    for p in sorted(folder.glob("*.json")):
        data = _read_json_dict(p)
        if data is None:
            bad.append(p.name)
        else:
            out[p.stem] = data
    if bad:
        warnings.warn(
            f"Se omitieron resultados ilegibles en {folder}: {', '.join(bad)} (no se borraron). Vuelve a "
            "ejecutar esos cuadernos para escribirlos de nuevo.",
            stacklevel=2,
        )
    return out


def _read_json_dict(path: Path) -> dict | None:
    """The JSON object in ``path``, or None when it is half-written, empty, not UTF-8 or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``."""

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: Any) -> None:
        self.seconds = time.perf_counter() - self.start

"""Where the loaders keep decoded images between epochs: memory within a budget, else a file, else nothing.

The budget is a fraction of the memory this process may really use: the
machine's RAM, or the container's limit when there is one (cgroup v1 or v2:
Docker, JupyterHub, Binder), whichever is smaller.  File caches live in one
folder per process under ``<cache>/tfdata-cache/``, marked with the owner's
pid and start time; the folders of processes that are gone (a killed kernel)
are removed by the next process that makes one.  A file cache that would not
fit on the disk is not made: the loader decodes every epoch instead, and says so.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

#: Where a cache goes when it does not fit the memory budget (under the course's cache folder).
FILE_CACHE_SUBDIR = "tfdata-cache"
#: Environment variable with the memory budget for cached images, in GB.
ENV_CACHE_BUDGET = "COURSE_CACHE_BUDGET_GB"
#: Default budget: this fraction of the memory available (4 GB where it cannot be read).
DEFAULT_BUDGET_FRACTION = 0.4
#: The owner mark of a per-process cache folder.
OWNER_FILE = "owner.json"
#: cgroup v1 writes "no limit" as a number near 2**63.
_NO_LIMIT = 2**60
#: Peak memory of training, measured with notebook 03's CNN: 1.51 GB at 150 px and batch 32
#: (results/cpu/summary.json) and 8.9 GB at 512 px and batch 32 (issue 21), fitted as a fixed
#: part plus a part proportional to batch x pixels.
TRAIN_BASE_BYTES = 820_000_000
TRAIN_BYTES_PER_BATCH_PIXEL = 964


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None


def cgroup_memory_limit(root: str | os.PathLike = "/") -> int | None:
    """This process's cgroup memory limit in bytes (v2 ``memory.max`` or v1 ``memory.limit_in_bytes``), or None.

    ``root`` is where ``/proc`` and ``/sys`` are read from (tests give a fake tree).
    """
    root = Path(root)
    groups = _read(root / "proc" / "self" / "cgroup") or ""
    v1, v2 = [], []
    for line in groups.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3 and parts[0] == "0" and not parts[1]:
            v2.append(parts[2])
        elif len(parts) == 3 and "memory" in parts[1].split(","):
            v1.append(parts[2])
    candidates = [root / "sys/fs/cgroup" / p.lstrip("/") / "memory.max" for p in v2]
    candidates.append(root / "sys/fs/cgroup/memory.max")
    candidates += [root / "sys/fs/cgroup/memory" / p.lstrip("/") / "memory.limit_in_bytes" for p in v1]
    candidates.append(root / "sys/fs/cgroup/memory/memory.limit_in_bytes")
    for path in candidates:
        text = _read(path)
        if text is None:
            continue
        if text == "max":
            return None
        try:
            value = int(text)
        except ValueError:
            continue
        return value if 0 < value < _NO_LIMIT else None
    return None


def available_memory_bytes(root: str | os.PathLike = "/") -> int:
    """The machine's physical memory, or the container's limit if smaller (10 GB where neither can be read)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 10 * 10**9
    limit = cgroup_memory_limit(root)
    return min(total, limit) if limit else total


def memory_budget_bytes(budget_gb: float | None = None, root: str | os.PathLike = "/") -> int:
    """Bytes the loaders may use to cache images: ``budget_gb``, else ``$COURSE_CACHE_BUDGET_GB``,
    else 40 % of :func:`available_memory_bytes` (the container's limit counts)."""
    if budget_gb is None and os.environ.get(ENV_CACHE_BUDGET):
        try:
            budget_gb = float(os.environ[ENV_CACHE_BUDGET])
        except ValueError as exc:
            raise ValueError(
                f"{ENV_CACHE_BUDGET}={os.environ[ENV_CACHE_BUDGET]!r} no es un número: "
                "indica el presupuesto de memoria en GB, p. ej. 4 o 2.5."
            ) from exc
    if budget_gb is not None:
        if budget_gb < 0:
            raise ValueError(f"El presupuesto de memoria debe ser >= 0 GB (se pidió {budget_gb}).")
        return int(budget_gb * 1e9)
    return int(DEFAULT_BUDGET_FRACTION * available_memory_bytes(root))


def cached_bytes(n_images: int, img_size: int) -> int:
    """Memory of ``n_images`` cached as ``uint8`` (3 bytes per pixel)."""
    return n_images * img_size * img_size * 3


def _gb(b: float) -> str:
    return f"{b / 1e9:.2f} GB"


def choose_cache(n_images: int, img_size: int, budget_bytes: int, free_disk: int | None = None) -> tuple[str, str]:
    """``("memory"|"file"|"none", Spanish message)``: memory when the ``uint8`` images fit the budget,
    else a file when they fit ``free_disk`` (bytes free in the cache folder; None: not checked), else none."""
    need = cached_bytes(n_images, img_size)
    if need <= budget_bytes:
        return "memory", (
            f"Caché en memoria: {n_images} imágenes {img_size}x{img_size} en uint8 ocupan "
            f"{_gb(need)} (presupuesto {_gb(budget_bytes)})."
        )
    if free_disk is not None and need * 1.1 > free_disk:
        return "none", (
            f"Sin caché: {n_images} imágenes {img_size}x{img_size} ({_gb(need)}) no caben en el presupuesto de "
            f"memoria ({_gb(budget_bytes)}) ni en el disco de la caché ({_gb(free_disk)} libres), así que cada "
            "época decodifica las imágenes otra vez (más lento). Libera espacio en disco, o define "
            "COURSE_CACHE_DIR=<carpeta en otro disco>, o baja IMG_SIZE o MAX_PER_CLASS."
        )
    return "file", (
        f"Caché en disco: {n_images} imágenes {img_size}x{img_size} necesitarían {_gb(need)} "
        f"de memoria, más que el presupuesto de {_gb(budget_bytes)} ({ENV_CACHE_BUDGET}); "
        "se guardan decodificadas en la carpeta de caché del curso."
    )


def file_cache_base() -> Path:
    """The folder that holds the per-process file caches."""
    from .config import cache_dir

    return cache_dir() / FILE_CACHE_SUBDIR


def free_disk_bytes() -> int | None:
    """Bytes free on the disk of :func:`file_cache_base` (None when it cannot be read)."""
    base = file_cache_base()
    probe = next((p for p in (base, *base.parents) if p.exists()), None)
    try:
        return shutil.disk_usage(probe).free if probe is not None else None
    except OSError:
        return None


def _owner() -> dict:
    import psutil

    return {"pid": os.getpid(), "started": psutil.Process().create_time()}


def _alive(owner: dict) -> bool:
    import psutil

    try:
        return abs(psutil.Process(int(owner["pid"])).create_time() - float(owner["started"])) < 1.0
    except (psutil.NoSuchProcess, psutil.AccessDenied, KeyError, TypeError, ValueError):
        return False


def remove_stale_caches(base: Path | None = None) -> list[str]:
    """Delete the file-cache folders of processes that no longer run (and unmarked leftovers); return their names."""
    base = base or file_cache_base()
    removed = []
    for folder in sorted(base.iterdir()) if base.is_dir() else ():
        if not folder.is_dir():
            continue
        try:
            owner = json.loads((folder / OWNER_FILE).read_text())
        except (OSError, ValueError):
            owner = {}
        if not isinstance(owner, dict) or not _alive(owner):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    return removed


_process_folder: Path | None = None


def file_cache_prefix() -> str:
    """A fresh file prefix in this process's cache folder (removed when the process ends, or by the next
    process after a kill)."""
    import atexit

    global _process_folder
    base = file_cache_base()
    base.mkdir(parents=True, exist_ok=True)
    if _process_folder is None or not _process_folder.is_dir():
        remove_stale_caches(base)
        _process_folder = Path(tempfile.mkdtemp(prefix=f"proc_{os.getpid()}_", dir=base))
        (_process_folder / OWNER_FILE).write_text(json.dumps(_owner()))
        atexit.register(shutil.rmtree, _process_folder, True)
    return str(Path(tempfile.mkdtemp(prefix="split_", dir=_process_folder)) / "cache")


def training_memory_bytes(img_size: int, batch_size: int) -> int:
    """Rough peak memory of training a course CNN on ``img_size`` images in batches of ``batch_size``."""
    return TRAIN_BASE_BYTES + TRAIN_BYTES_PER_BATCH_PIXEL * batch_size * img_size * img_size


def memory_warning(img_size: int, batch_size: int, root: str | os.PathLike = "/") -> str | None:
    """A Spanish warning when training at this size and batch would need more memory than there is, else None."""
    need, have = training_memory_bytes(img_size, batch_size), available_memory_bytes(root)
    if need <= have:
        return None
    fits = max(1, int((have - TRAIN_BASE_BYTES) / (TRAIN_BYTES_PER_BATCH_PIXEL * img_size * img_size)))
    batch = min(max(1, batch_size // 2), 1 << (fits.bit_length() - 1))
    return (
        f"AVISO: IMG_SIZE={img_size} con BATCH_SIZE={batch_size} necesitaría unos {_gb(need)} de memoria al "
        f"entrenar, y aquí hay {_gb(have)}: el kernel podría morir sin mensaje. Baja BATCH_SIZE "
        f"(p. ej. BATCH_SIZE={batch}) o IMG_SIZE (p. ej. IMG_SIZE=150)."
    )

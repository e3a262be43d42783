"""The one call after a notebook's ``parameters`` cell: seeds, parameter set, data, one small table.

``P, DATA, ART = start("02_mlp", globals())`` reads the upper-case parameters
the ``parameters`` cell (or papermill) defined, fills the rest from the
parameter set, sets the seeds and plot defaults, finds the data and prints
what is in use.  The notebook's Colab install line stays in the cell itself
(the package is not there yet when it runs).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from . import config, data, params, setup
from .caching import memory_warning
from .folders import writable_artifacts_dir
from .schema import BY_NAME, COMMON
from .setup import drive_artifacts_dir, gpu_hint, setup_notebook

#: Values a notebook gets for a common parameter its cell does not define.
PLACEHOLDERS: dict[str, Any] = {
    "data_source": "auto",
    "img_size": None,
    "epochs": None,
    "batch_size": None,
    "max_per_class": None,
    "weights": None,
    "seed": 42,
    "artifacts_dir": None,
}
SMOKE_NOTE = (
    "Conjunto 'smoke': muy pocas imágenes y épocas para comprobar en segundos que todo funciona; "
    "sus resultados no significan nada."
)


class Course(NamedTuple):
    """What :func:`start` returns: ``P, DATA, ART = start(...)``."""

    params: params.Params
    data: data.DataInfo
    artifacts: Path


def notebook_values(notebook: str, namespace: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``resolve`` arguments found in ``namespace`` (upper-case names), placeholders for the rest."""
    ns = dict(namespace or {})
    if notebook not in BY_NAME:
        raise params.ParameterError(f"Cuaderno desconocido: {notebook!r}. Opciones: {', '.join(params.NOTEBOOKS)}.")
    out = {"param_set": ns.get("PARAM_SET", "auto")}
    out |= {name: ns.get(name.upper(), PLACEHOLDERS[name]) for name in COMMON}
    out |= {name: ns.get(name.upper()) for name in BY_NAME[notebook].parameters}
    return out


def artifacts_folder(value: str | None) -> Path:
    """The folder ``ARTIFACTS_DIR`` names: ``"drive"`` mounts Google Drive (Colab), else :func:`config.artifacts_dir`,
    checked to be a folder where files can be written (before any training)."""
    return drive_artifacts_dir() if value == config.DRIVE else writable_artifacts_dir(value)


#: The precision in a student's words (the machine's details stay in the records).
PRECISION_WORDS = {
    "float32": "float32",
    "mixed_bfloat16": "mixed_bfloat16 (cálculos en 16 bits: esta CPU los hace rápido)",
    "mixed_float16": "mixed_float16 (cálculos en 16 bits en la GPU)",
}


def shown_path(path: Path, *, from_home: bool = False) -> str:
    """``path`` as a student finds it: from ``~`` (``from_home``, for caches) or relative to the notebook's
    folder or its parent (the repository), else from ``~``, else whole."""
    path, here, home = Path(path).resolve(), Path.cwd().resolve(), Path.home().resolve()
    drive = Path(setup.COLAB_DRIVE_MOUNT).resolve() / "MyDrive"
    if path.is_relative_to(drive):
        return f"tu Google Drive: {path.relative_to(drive)}/"
    if from_home and path.is_relative_to(home):
        return f"~/{path.relative_to(home)}/"
    for base in (here, here.parent):
        if path.is_relative_to(base):
            return os.path.relpath(path, here) + "/"
    return f"~/{path.relative_to(home)}/" if path.is_relative_to(home) else f"{path}/"


def table(p: params.Params, info: data.DataInfo, art: Path) -> str:
    """What the student needs: the cell's values, how long the notebook takes, the data and where models go."""
    from .expected_time import expected_minutes
    from .hardware import choose_precision

    shown = ("param_set", *BY_NAME[p.notebook].cell_parameters)
    rows = [(name.upper(), repr(p[name])) for name in shown]
    policy = p.extra.get("precision", choose_precision().policy)
    if "precision" in p.extra:
        rows.append(("Precisión", PRECISION_WORDS.get(policy, policy)))
    if p.param_set != "smoke":
        rows.append(("Duración", expected_minutes(p.notebook, p.param_set, policy) or "no medida todavía"))
    where = "" if info.kind == "local" else f", en {shown_path(config.cache_dir(), from_home=True)}"
    rows.append(("Datos", f"{info.description}{where}" + (f". Aviso: {info.note}" if info.note else "")))
    rows.append(("Modelos", shown_path(art)))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def start(notebook: str, namespace: Mapping[str, Any] | None = None, *, quiet: bool = False) -> Course:
    """Resolve ``notebook``'s parameters from ``namespace``, seed, fetch the data, print one table."""
    from .quiet import import_tensorflow

    import_tensorflow()  # first, so that no TensorFlow start-up line reaches the cell
    values = notebook_values(notebook, namespace)
    p = params.resolve(notebook, **values)
    art = artifacts_folder(p.artifacts_dir)  # before the data: a Drive mount asks the student first
    info = setup_notebook(p.seed, artifacts_dir=art, quiet=True)
    course_data = data.get_course_data(p.data_source)
    if not quiet:
        print(table(p, course_data, art))
        hint = gpu_hint(info.colab, p.param_set) if not info.gpu else f"GPU: {', '.join(info.gpus)}"
        print(hint)
        if p.param_set == "smoke":
            print(SMOKE_NOTE)
        if "epochs" in BY_NAME[notebook].uses and (too_big := memory_warning(p.img_size, p.batch_size)):
            print(too_big)
    return Course(p, course_data, art)

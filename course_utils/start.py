"""The one call after a notebook's ``parameters`` cell: seeds, parameter set, data, one small table.

``P, DATA, ART = start("02_mlp", globals())`` reads the upper-case parameters
the ``parameters`` cell (or papermill) defined, fills the rest from the
parameter set, sets the seeds and plot defaults, finds the data and prints
what is in use.  The notebook's Colab install line stays in the cell itself
(the package is not there yet when it runs).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from . import config, data, params
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


def table(p: params.Params, info: data.DataInfo, art: Path) -> str:
    """The values the notebook's cell shows (as the student would write them), data and artifacts folder."""
    shown = ("param_set", *BY_NAME[p.notebook].cell_parameters)
    rows = [(name.upper(), repr(p[name])) for name in shown]
    from .expected_time import expected_minutes
    from .hardware import choose_precision

    choice = choose_precision()
    if "precision" in p.extra:
        why = choice.description if p.precision == choice.policy else f"{p.precision} (elegida en los parámetros)"
        rows.append(("Precisión", why))
    policy = p.extra.get("precision", choice.policy)
    rows.append(("Duración", expected_minutes(p.notebook, p.param_set, policy) or "no medida con esta precisión"))
    rows += [("Datos", f"{info.description} ({info.kind})"), ("Artefactos", str(art))]
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

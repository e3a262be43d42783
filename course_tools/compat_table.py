"""The README's compatibility table, from the runs recorded in ``ci/results/compat.json``.

``ci/compat.py --record`` (``make compat``) writes one entry per stack and Python
version; :func:`compat_section` turns them into the Markdown block that
``python -m course_tools.readme`` puts between ``<!-- generado: compatibilidad -->``
and its end marker.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from course_utils.config import PROJECT_ROOT

from . import report

COMPAT_RECORD = PROJECT_ROOT / "ci" / "results" / "compat.json"
HEADER = [
    "pila",
    "Python",
    "TensorFlow",
    "Keras",
    "NumPy",
    "`pip install -e .` deja TF intacto",
    "pruebas unitarias",
    "serie smoke",
    "resultado",
    "total",
    "fecha",
    "CPU",
]


def _step(entry: dict[str, Any], name: str, ok: bool | None) -> str:
    if ok is None:
        return "—"
    seconds = (entry.get("step_seconds") or {}).get(name)
    return ("ok" if ok else "falla") + ("" if seconds is None else f" ({seconds:.0f} s)")


def _unit(entry: dict[str, Any]) -> str:
    u = entry.get("unit_tests") or {}
    if not u:
        return "—"
    text = f"{u.get('passed', 0)} ok, {u.get('failed', 0)} fallos, {u.get('errors', 0)} errores"
    if u.get("skipped"):
        text += f", {u['skipped']} omitidas"
    seconds = (entry.get("step_seconds") or {}).get("unit-tests")
    return text + ("" if seconds is None else f" ({seconds:.0f} s)")


def _cpu(entry: dict[str, Any]) -> str:
    cores = f"{entry['cores']} núcleos" if entry.get("cores") else ""
    flags = entry.get("cpu_flags")
    shown = "sin registrar" if flags is None else (", ".join(flags) or "sin AVX2")
    return f"{cores}; {shown}" if cores else shown


def compat_rows(entries: list[dict[str, Any]]) -> list[list[str]]:
    """One table row per recorded run."""
    rows = []
    for e in entries:
        outcome = e["outcome"] + (f" ({', '.join(e['failed_steps'])})" if e.get("failed_steps") else "")
        total = "—" if e.get("seconds") is None else f"{e['seconds'] / 60:.1f} min"
        rows.append(
            [
                e["stack"],
                e["python"],
                e["tensorflow"],
                e["keras"],
                e["numpy"],
                _step(e, "install-keeps-tf", e.get("install_keeps_tf")),
                _unit(e),
                _step(e, "smoke-series", e.get("smoke_series")),
                outcome,
                total,
                (e.get("date") or "—")[:10],
                _cpu(e),
            ]
        )
    return rows


def compat_section(path: Path = COMPAT_RECORD) -> str:
    """The compatibility block: the table of recorded runs, or a note saying how to record one."""
    shown = path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path
    if not path.is_file():
        return f"Todavía no hay corridas registradas en `{shown}`: `make compat` las añade.\n"
    entries = json.loads(path.read_text())["runs"]
    table = report.markdown_table(HEADER, compat_rows(entries), [False] * 9 + [True])
    return (
        f"Corridas registradas en `{shown}` (`make compat` las añade; `make readme` escribe esta tabla):\n\n{table}\n"
    )

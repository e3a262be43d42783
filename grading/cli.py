"""Command line of the grader: ``python -m grading SUBMISSIONS [--out DIR] [--timeout S] [--params SET] [--jobs N]``.

Grades every ``*.ipynb`` under SUBMISSIONS, each in its own kernel (``--jobs``
at once), and writes ``grades.csv`` (one row per student) and ``summary.md``.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

from .run import CRASHED, MISSING, NO_CHECK, NOT_RUN, OK, RIGHT, TIMEOUT, UNREADABLE, WRONG, Submission, grade

OUTCOMES = (RIGHT, WRONG, MISSING, NO_CHECK, NOT_RUN)
STATUSES = (OK, TIMEOUT, CRASHED, UNREADABLE)
#: Spanish meaning of each value, for the summary.
MEANING = {
    RIGHT: "correcto",
    WRONG: "incorrecto",
    MISSING: "sin respuesta (quedó `...`)",
    NO_CHECK: "sin celda de comprobación (borrada)",
    NOT_RUN: "no llegó a ejecutarse (tiempo agotado o núcleo caído antes)",
    OK: "se ejecutó entero",
    TIMEOUT: "superó el límite de tiempo",
    CRASHED: "el núcleo se cerró",
    UNREADABLE: "no es un cuaderno legible",
}


def find_submissions(folder: Path) -> list[tuple[str, Path]]:
    """``(student, path)`` of every notebook under ``folder`` (checkpoints skipped), by name."""
    out = []
    for path in sorted(folder.rglob("*.ipynb")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue
        out.append((rel.with_suffix("").as_posix(), path))
    return out


def write_csv(rows: list[Submission], path: Path) -> list[str]:
    """One row per student: status, seconds, right/total, each exercise's outcome; returns the exercise keys."""
    keys = sorted({k for r in rows for k in r.outcomes})
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["student", "notebook", "status", "seconds", "right", "total", *keys, "cell_errors", "detail"])
        for r in rows:
            w.writerow(
                [
                    r.student,
                    r.notebook,
                    r.status,
                    f"{r.seconds:.1f}",
                    r.right,
                    len(r.outcomes),
                    *(r.outcomes.get(k, "") for k in keys),
                    r.cell_errors,
                    r.detail,
                ]
            )
    return keys


def summary(rows: list[Submission], keys: list[str], timeout: float) -> str:
    """The Markdown summary (Spanish): notebooks by status, each exercise's outcomes, rows to look at."""
    status = Counter(r.status for r in rows)
    lines = [
        "# Calificación de entregas",
        "",
        f"{len(rows)} entregas, límite de {timeout:g} s por cuaderno.",
        "",
        "| Estado | Entregas |",
        "|---|---|",
        *(f"| `{s}` ({MEANING[s]}) | {status[s]} |" for s in STATUSES if status[s]),
        "",
        "| Ejercicio | " + " | ".join(f"`{o}`" for o in OUTCOMES) + " |",
        "|---|" + "---|" * len(OUTCOMES),
    ]
    for k in keys:
        c = Counter(r.outcomes.get(k) for r in rows)
        lines.append(f"| {k} | " + " | ".join(str(c[o]) for o in OUTCOMES) + " |")
    lines += ["", "Valores: " + "; ".join(f"`{o}` = {MEANING[o]}" for o in OUTCOMES) + "."]
    look = [r for r in rows if r.status != OK or r.cell_errors]
    if look:
        lines += ["", "Para revisar a mano:", ""]
        lines += [f"- {r.student}: `{r.status}`, {r.cell_errors} celdas con error. {r.detail}".rstrip() for r in look]
    return "\n".join(lines) + "\n"


def _safe(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grading",
        description="Califica una carpeta de cuadernos entregados con las comprobaciones que ven los estudiantes: "
        "cada cuaderno en su propio núcleo, con límite de tiempo; escribe grades.csv y summary.md.",
    )
    parser.add_argument("submissions", type=Path, help="carpeta con los cuadernos entregados (*.ipynb)")
    parser.add_argument("--out", type=Path, default=Path("build/grading"), help="carpeta de resultados")
    parser.add_argument("--timeout", type=float, default=600, help="segundos por cuaderno (600)")
    parser.add_argument("--params", default="smoke", help="conjunto de parámetros de los cuadernos (smoke)")
    parser.add_argument("--notebook", help="número del cuaderno (02) si los nombres de archivo no lo dicen")
    parser.add_argument(
        "--jobs", type=int, default=1, help="cuadernos a la vez (1; cada uno con su núcleo y su memoria)"
    )
    parser.add_argument("--kernel", default="python3", help="núcleo de Jupyter (python3)")
    args = parser.parse_args(argv)
    if not args.submissions.is_dir():
        print(f"No existe la carpeta de entregas {args.submissions}. Pon en SUBMISSIONS una carpeta con los "
              "cuadernos (.ipynb) de los estudiantes.", file=sys.stderr)  # fmt: skip
        return 2
    found = find_submissions(args.submissions)
    if not found:
        print(f"No hay cuadernos (.ipynb) en {args.submissions}. No se escribió nada.", file=sys.stderr)
        return 2
    jobs = []
    for i, (student, path) in enumerate(found, 1):
        work = args.out / "work" / f"{i:03d}_{_safe(student)}"
        env = {"COURSE_PARAM_SET": args.params, "COURSE_ARTIFACTS_DIR": str((work / "artifacts").resolve())}
        jobs.append((path, student, work, {"timeout": args.timeout, "notebook": args.notebook, "env": env}))
    rows = []
    # Each notebook has its own kernel either way; --jobs N runs N of them at once (N worker processes).
    with ProcessPoolExecutor(max_workers=max(1, args.jobs), mp_context=get_context("spawn")) as pool:
        futures = {
            pool.submit(grade, path, student, work, kernel_name=args.kernel, **kw): (student, path)
            for path, student, work, kw in jobs
        }
        for i, future in enumerate(as_completed(futures), 1):
            try:
                row = future.result()
            except Exception as exc:  # noqa: BLE001 - a worker killed (e.g. out of memory) is that student's row
                student, path = futures[future]
                row = Submission(student, path, args.notebook or "", CRASHED, detail=f"{type(exc).__name__}: {exc}")
            rows.append(row)
            marks = " ".join(f"{k}:{v}" for k, v in row.outcomes.items())
            print(f"[{i}/{len(found)}] {row.student}: {row.status} ({row.seconds:.0f} s) {marks}", flush=True)
    rows.sort(key=lambda r: r.student)
    keys = write_csv(rows, args.out / "grades.csv")
    (args.out / "summary.md").write_text(summary(rows, keys, args.timeout), encoding="utf-8")
    print(f"Notas: {args.out / 'grades.csv'}; resumen: {args.out / 'summary.md'}")
    return 0

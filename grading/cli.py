"""Command line of the grader: ``python -m grading SUBMISSIONS [--out DIR] [--timeout S] [--params SET] [--jobs N]``.

Grades every ``*.ipynb`` under SUBMISSIONS, each in its own sandbox (``--jobs``
at once), its verdicts computed by the judge; appends each row to ``grades.csv``
as it finishes (a rerun skips the rows already there for the same file), and at
the end writes ``grades.csv`` sorted, ``summary.md`` and ``moodle.csv``.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import psutil

from . import points, sandbox, trusted
from .run import (
    CRASHED,
    MISSING,
    NO_CHECK,
    NO_RECORD,
    NOT_RUN,
    OK,
    RIGHT,
    TIMEOUT,
    TOO_LARGE,
    UNREADABLE,
    WRONG,
    Judge,
    Setup,
    Submission,
    exercise_keys,
    grade,
    notebook_number,
    read_notebook,
)

OUTCOMES = (RIGHT, WRONG, MISSING, NO_CHECK, NOT_RUN, NO_RECORD)
STATUSES = (OK, TIMEOUT, CRASHED, TOO_LARGE, UNREADABLE)
#: Spanish meaning of each value, for the summary.
MEANING = {
    RIGHT: "correcto",
    WRONG: "incorrecto",
    MISSING: "sin respuesta (quedó `...`)",
    NO_CHECK: "sin celda de comprobación (borrada)",
    NOT_RUN: "no llegó a ejecutarse: el cuaderno se detuvo antes (tiempo agotado o núcleo caído)",
    NO_RECORD: "la celda de comprobación está y el cuaderno terminó, pero no dejó respuesta (revisar a mano)",
    OK: "se ejecutó entero",
    TIMEOUT: "superó el límite de tiempo",
    CRASHED: "el núcleo o su proceso se cerró",
    TOO_LARGE: "superó un límite de memoria, disco o salida",
    UNREADABLE: "no es un cuaderno legible",
}
#: Memory a submission of the smoke set needed at most here (notebook 02: kernel and its runner), in GB.
DEFAULT_MEMORY_GB = 3.0
FIXED = ["student", "notebook", "status", "review", "seconds", "peak_mb"]


def find_submissions(folder: Path) -> list[tuple[str, Path]]:
    """``(student, path)`` of every notebook under ``folder`` (checkpoints and hidden folders skipped), by name."""
    out = []
    for path in sorted(folder.rglob("*.ipynb")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue
        out.append((rel.with_suffix("").as_posix(), path))
    return out


def student_id(student: str) -> str:
    """The identifier a learning platform knows: ``<id>/NN_*.ipynb`` -> ``id``; ``<id>_NN_*.ipynb`` -> ``id``; else the name."""
    parts = student.split("/")
    if len(parts) > 1:
        return parts[0]
    match = re.match(r"(.+?)_\d\d_", parts[0] + "_")
    return match.group(1) if match else parts[0]


def columns(keys: list[str]) -> list[str]:
    """The header of grades.csv: fixed columns, each exercise's outcome and points, the totals."""
    per = [c for k in keys for c in (k, f"{k} puntos")]
    return [*FIXED, *per, "points", "max_points", "right", "total", "cell_errors", "added_cells", "detail", "sha256"]


def row(r: Submission, keys: list[str]) -> list[str]:
    per = [v for k in keys for v in (r.outcomes.get(k, ""), _num(r.scores[k]) if k in r.scores else "")]
    return [
        r.student,
        r.notebook,
        r.status,
        " | ".join(r.review),
        f"{r.seconds:.1f}",
        f"{r.peak_mb:.0f}",
        *per,
        _num(r.points),
        _num(r.max_points),
        r.right,
        len(r.outcomes),
        r.cell_errors,
        r.added_cells,
        r.detail,
        r.sha256,
    ]


def _num(x: float) -> str:
    return f"{x:g}"


def write_csv(rows: list[Submission], path: Path, keys: list[str] | None = None) -> list[str]:
    """All rows, sorted by student, written at once (atomically); returns the exercise keys."""
    keys = keys if keys is not None else sorted({k for r in rows for k in r.outcomes})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.part")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(columns(keys))
        for r in sorted(rows, key=lambda r: r.student):
            w.writerow(row(r, keys))
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)
    return keys


class RowLog:
    """grades.csv while grading: each row appended and fsync'd as it finishes, so a killed grader keeps them."""

    def __init__(self, path: Path, keys: list[str]) -> None:
        self.path, self.keys, self.lock = path, keys, threading.Lock()
        self.done: dict[tuple[str, str], dict] = {}
        if path.exists():
            with open(path, newline="", encoding="utf-8") as f:
                reader = csv.reader(f)
                header = next(reader, None)
                if header == columns(keys):
                    for values in reader:
                        rec = dict(zip(header, values, strict=False))
                        self.done[(rec.get("student", ""), rec.get("sha256", ""))] = rec
        if not self.done:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "w", newline="", encoding="utf-8") as f:
                csv.writer(f).writerow(columns(keys))

    def append(self, r: Submission) -> None:
        with self.lock, open(self.path, "a", newline="", encoding="utf-8") as f:
            csv.writer(f).writerow(row(r, self.keys))
            f.flush()
            os.fsync(f.fileno())


def from_csv(rec: dict, keys: list[str], path: Path) -> Submission:
    """A row read back from grades.csv (a resumed run keeps it as it was)."""
    sub = Submission(rec["student"], path, rec["notebook"], rec["status"], float(rec["seconds"] or 0))
    sub.outcomes = {k: rec[k] for k in keys if rec.get(k)}
    sub.scores = {k: float(rec[f"{k} puntos"]) for k in keys if rec.get(f"{k} puntos")}
    sub.review = [x for x in rec.get("review", "").split(" | ") if x]
    sub.cell_errors, sub.added_cells = int(rec["cell_errors"] or 0), int(rec["added_cells"] or 0)
    sub.detail, sub.sha256, sub.peak_mb = rec["detail"], rec["sha256"], float(rec["peak_mb"] or 0)
    return sub


def needs_review(r: Submission) -> bool:
    return r.status != OK or bool(r.review) or bool(r.cell_errors)


def summary(rows: list[Submission], keys: list[str], timeout: float, run: dict | None = None) -> str:
    """The Markdown summary (Spanish): how the run went, notebooks by status, each exercise's outcomes, rows to look at."""
    run = run or {}
    status = Counter(r.status for r in rows)
    lines = ["# Calificación de entregas", "", f"{len(rows)} entregas, límite de {timeout:g} s por cuaderno."]
    if run:
        peaks = sorted(r.peak_mb for r in rows if r.peak_mb)
        lines += [
            "",
            f"- Duración de la clase: {run['seconds'] / 60:.1f} min ({run['jobs']} a la vez; {run['cpus']} núcleos; "
            f"carga al terminar {run['load']:.1f}).",
            f"- Memoria por entrega (pico del núcleo y su proceso): mediana {_median(peaks):.0f} MB, "
            f"máximo {max(peaks, default=0):.0f} MB; límite {run['memory_gb']:g} GB.",
            f"- Aislamiento: {run['isolation']}.",
        ]
        if run.get("warnings"):
            lines += [f"- Aviso: {w}" for w in run["warnings"]]
    lines += [
        "",
        "| Estado | Entregas |",
        "|---|---|",
        *(f"| `{s}` ({MEANING[s]}) | {status[s]} |" for s in STATUSES if status[s]),
        "",
        "| Ejercicio | Puntos | " + " | ".join(f"`{o}`" for o in OUTCOMES) + " |",
        "|---|---|" + "---|" * len(OUTCOMES),
    ]
    for k in keys:
        c = Counter(r.outcomes.get(k) for r in rows)
        lines.append(f"| {k} | {_num(points.POINTS.get(k, 1))} | " + " | ".join(str(c[o]) for o in OUTCOMES) + " |")
    lines += ["", "Valores: " + "; ".join(f"`{o}` = {MEANING[o]}" for o in OUTCOMES) + "."]
    look = [r for r in rows if needs_review(r)]
    if look:
        lines += ["", "Para revisar a mano:", ""]
        for r in look:
            why = " ".join([f"{r.cell_errors} celdas con error." if r.cell_errors else "", r.detail, *r.review])
            lines.append(f"- {r.student}: `{r.status}`. {why.strip()}".rstrip())
    return "\n".join(lines) + "\n"


def _median(xs: list[float]) -> float:
    return xs[len(xs) // 2] if xs else 0.0


def moodle_csv(rows: list[Submission], path: Path) -> None:
    """Moodle's grade import (CSV): one row per student identifier, per notebook its points and a feedback column."""
    notebooks = sorted({r.notebook for r in rows if r.notebook})
    by_id: dict[str, dict[str, Submission]] = {}
    for r in sorted(rows, key=lambda r: r.student):
        by_id.setdefault(student_id(r.student), {})[r.notebook] = r
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["identificador", *(c for nb in notebooks for c in (f"cuaderno {nb}", f"cuaderno {nb} comentario"))])
        for ident, subs in by_id.items():
            values = []
            for nb in notebooks:
                r = subs.get(nb)
                if r is None:
                    values += ["", ""]
                    continue
                marks = ", ".join(f"{k}: {o}" for k, o in r.outcomes.items())
                note = f"{_num(r.points)} de {_num(r.max_points)} ({marks})" + (
                    " - en revisión" if needs_review(r) else ""
                )
                values += [_num(r.points), note]
            w.writerow([ident, *values])


def _hidden(folders: list[Path]) -> list[Path]:
    home = Path(os.path.expanduser("~")).resolve()
    out = [p.resolve() for p in folders]
    if home != Path("/"):
        out.append(home)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grading",
        description="Califica una carpeta de cuadernos entregados: cada cuaderno en su propio entorno aislado, con "
        "límites de tiempo y memoria; un juez aparte, que no ejecuta código de estudiantes, decide cada ejercicio "
        "con las mismas comprobaciones que ven los estudiantes. Escribe grades.csv, summary.md y moodle.csv.",
    )
    parser.add_argument("submissions", type=Path, help="carpeta con los cuadernos entregados (*.ipynb)")
    parser.add_argument("--out", type=Path, default=Path("build/grading"), help="carpeta de resultados")
    parser.add_argument("--timeout", type=float, default=600, help="segundos por cuaderno (600)")
    parser.add_argument("--params", default="smoke", help="conjunto de parámetros de los cuadernos (smoke)")
    parser.add_argument("--notebook", help="número del cuaderno (02) si los nombres de archivo no lo dicen")
    parser.add_argument("--jobs", "-j", type=int, default=1, help="cuadernos a la vez (1), dentro de la memoria libre")
    parser.add_argument(
        "--memory", type=float, default=DEFAULT_MEMORY_GB, help=f"GB por entrega como máximo ({DEFAULT_MEMORY_GB:g})"
    )
    parser.add_argument("--disk", type=float, default=2.0, help="GB de disco por entrega como máximo (2)")
    parser.add_argument("--kernel", default="python3", help="núcleo de Jupyter (python3)")
    parser.add_argument("--again", action="store_true", help="calificar de nuevo todo (sin reanudar grades.csv)")
    args = parser.parse_args(argv)
    if not args.submissions.is_dir():
        print(f"No existe la carpeta de entregas {args.submissions}. Pon en SUBMISSIONS una carpeta con los "
              "cuadernos (.ipynb) de los estudiantes.", file=sys.stderr)  # fmt: skip
        return 2
    found = find_submissions(args.submissions)
    if not found:
        print(f"No hay cuadernos (.ipynb) en {args.submissions}. No se escribió nada.", file=sys.stderr)
        return 2
    return grade_all(args, found)


def _keys_of(found: list[tuple[str, Path]], notebook: str | None) -> list[str]:
    numbers = set()
    for _, path in found:
        try:
            nb = read_notebook(path)
        except Exception:  # noqa: BLE001 - an unreadable file adds no exercises
            nb = None
        number = notebook or notebook_number(path, nb)
        if number:
            numbers.add(number)
    return sorted(k for n in numbers for k in exercise_keys(n))


def grade_all(args: argparse.Namespace, found: list[tuple[str, Path]]) -> int:
    from course_utils.config import PROJECT_ROOT

    start = time.monotonic()
    repo = Path(PROJECT_ROOT).resolve()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    warnings = [
        f"archivos del curso con cambios sin confirmar en git: {', '.join(e[:3])}"
        for e in [trusted.local_edits(repo)]
        if e
    ]
    keys = _keys_of(found, args.notebook)
    if args.again and (out / "grades.csv").exists():
        (out / "grades.csv").unlink()
    log = RowLog(out / "grades.csv", keys)
    private = Path(tempfile.mkdtemp(prefix="curso-calificar-"))
    private.chmod(0o711)
    copy = private / "confianza"
    trusted.make_copy(repo, copy)
    copy.chmod(0o700)
    cache = _prepare_data()
    hidden = _hidden([args.submissions, out, private])
    level, own_uid = sandbox.choose_isolation(repo, private / "sonda", hidden)
    isolation = {
        (sandbox.NAMESPACES, True): "espacios de nombres de Linux y un usuario propio por entrega",
        (sandbox.NAMESPACES, False): "espacios de nombres de Linux (mismo usuario)",
    }.get((level, own_uid), "básico (mismo usuario, sin espacios de nombres): ver INSTRUCTORES.md")
    if level == sandbox.BASIC:
        warnings.append("aislamiento básico: una entrega hostil podría leer otras o afectar al calificador")
    jobs = max(1, args.jobs)
    free_gb = psutil.virtual_memory().available / 2**30
    fit = max(1, int(free_gb // args.memory))
    if jobs > fit:
        warnings.append(
            f"--jobs {jobs} no cabe en {free_gb:.1f} GB libres a {args.memory:g} GB por entrega: {fit} a la vez"
        )
        jobs = fit
    reaper = sandbox.Reaper()
    judge = Judge(copy, private / "juez", reaper)
    limits = sandbox.Limits(args.timeout, int(args.memory * 2**30), int(args.disk * 2**30))
    setup = Setup(
        repo, copy, private, out, level, own_uid, limits, judge, reaper, args.params, args.kernel, cache, hidden
    )
    print(f"Aislamiento: {isolation}. {len(found)} entregas, {jobs} a la vez.", flush=True)
    rows: list[Submission] = []
    todo = []
    for student, path in found:
        import hashlib

        rec = log.done.get((student, hashlib.sha256(path.read_bytes()).hexdigest()))
        if rec is not None:
            rows.append(from_csv(rec, keys, path))
        else:
            todo.append((student, path))
    if rows:
        print(f"Se reanuda: {len(rows)} entregas ya calificadas en {out / 'grades.csv'} (--again para repetirlas).")
    slots = list(range(jobs))
    slot_lock = threading.Lock()

    def one(student: str, path: Path) -> Submission:
        with slot_lock:
            slot = slots.pop()
        try:
            return grade(setup, path, student, slot, args.notebook)
        except Exception as exc:  # noqa: BLE001 - the grader's own failure on one row is that row, said so
            return Submission(student, path, args.notebook or "", CRASHED, detail=f"{type(exc).__name__}: {exc}")
        finally:
            with slot_lock:
                slots.append(slot)

    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(one, s, p) for s, p in todo]
            for i, future in enumerate(as_completed(futures), 1):
                r = future.result()
                log.append(r)
                rows.append(r)
                marks = " ".join(f"{k}:{v}" for k, v in r.outcomes.items())
                print(f"[{i}/{len(todo)}] {r.student}: {r.status} ({r.seconds:.0f} s) {marks}", flush=True)
    finally:
        judge.stop()
        shutil.rmtree(private, ignore_errors=True)
    write_csv(rows, out / "grades.csv", keys)
    run = {
        "seconds": time.monotonic() - start,
        "jobs": jobs,
        "cpus": os.cpu_count(),
        "load": os.getloadavg()[0],
        "memory_gb": args.memory,
        "isolation": isolation,
        "warnings": warnings,
    }
    (out / "summary.md").write_text(summary(rows, keys, args.timeout, run), encoding="utf-8")
    moodle_csv(rows, out / "moodle.csv")
    print(f"Notas: {out / 'grades.csv'}; resumen: {out / 'summary.md'}; para Moodle: {out / 'moodle.csv'}")
    return 0


def _prepare_data() -> Path | None:
    """Fill the course data cache before any submission runs (the sandboxes get it read-only)."""
    from course_utils.config import cache_dir
    from course_utils.data import course_data

    try:
        course_data.get_course_data("auto", progress=False)
    except Exception as exc:  # noqa: BLE001 - the notebooks will say what is missing
        print(f"Aviso: no se pudieron preparar los datos del curso ({type(exc).__name__}: {exc}).", file=sys.stderr)
    root = cache_dir()
    return root if root.is_dir() else None

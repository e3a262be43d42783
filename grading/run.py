"""Grade one submission: run it in a sandbox, then have the judge compute each exercise's verdict from its records.

The student's kernel only records values (:mod:`grading.record`); the verdicts
come from :mod:`grading.judge`, a process that runs no student code.  A check
whose call is not in the notebook is ``no_check`` (the cell was deleted); one
that is there but left no record is ``not_run`` when the notebook stopped before
it (time limit, dead kernel) and ``no_record`` when the notebook ran to its end
(the check was replaced, or its cell raised): the latter goes to manual review.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import select
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from course_utils.checks.registry import EXERCISES
from course_utils.exercises import NOT_ANSWERED, RIGHT, WRONG_ANSWER

from . import cells, points, sandbox, trusted

#: What a row says about one exercise: the judge's verdict, or why there is none.
WRONG, MISSING = WRONG_ANSWER, NOT_ANSWERED
NO_CHECK, NOT_RUN, NO_RECORD = "no_check", "not_run", "no_record"
#: What a row says about the whole notebook.
OK, TIMEOUT, CRASHED, TOO_LARGE, UNREADABLE = "ok", "timeout", "crashed", "too_large", "unreadable"

_CHECK_CALL = re.compile(r"""check\(\s*["']([\d.]+)["']""")


@dataclass
class Submission:
    """The grade of one student's notebook."""

    student: str
    path: Path
    notebook: str  # "02": the exercises of this notebook are graded
    status: str = OK
    seconds: float = 0.0
    outcomes: dict[str, str] = field(default_factory=dict)  # exercise key -> RIGHT, WRONG, ...
    cell_errors: int = 0  # cells that raised (the run goes on after them)
    detail: str = ""
    scores: dict[str, float] = field(default_factory=dict)  # exercise key -> points earned
    review: list[str] = field(default_factory=list)  # why a person should look at it (Spanish)
    added_cells: int = 0
    peak_mb: float = 0.0
    sha256: str = ""

    @property
    def right(self) -> int:
        return sum(o == RIGHT for o in self.outcomes.values())

    @property
    def points(self) -> float:
        return round(sum(self.scores.values()), 2)

    @property
    def max_points(self) -> float:
        return points.max_points(list(self.outcomes))


def exercise_keys(notebook: str) -> list[str]:
    """The registered exercises of notebook ``"02"`` (``["02.1", "02.2"]``)."""
    return sorted(k for k in EXERCISES if k.split(".")[0] == notebook)


def notebook_number(path: Path, nb: dict | None = None) -> str | None:
    """Which course notebook a submission is: from its file name (``02_mlp*.ipynb``) or its check calls."""
    match = re.search(r"(?:^|_)(\d\d)_", path.name)
    if match:
        return match.group(1)
    keys = check_calls(nb) if nb else set()
    numbers = {k.split(".")[0] for k in keys}
    return numbers.pop() if len(numbers) == 1 else None


def check_calls(nb: dict) -> set[str]:
    """Exercise keys whose ``check("NN.K", ...)`` call is in a code cell of ``nb``."""
    keys: set[str] = set()
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            keys.update(_CHECK_CALL.findall(cells.source(cell)))
    return keys


def read_notebook(path: Path) -> dict:
    """The notebook as JSON, validated by nbformat (raises on anything else)."""
    import nbformat

    return nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)


class Judge:
    """The judge process (:mod:`grading.judge`), started from the grader's private copy; restarted when it fails."""

    def __init__(self, copy: Path, home: Path, reaper: sandbox.Reaper) -> None:
        self.copy, self.home, self.reaper = copy, home, reaper
        self.lock = threading.Lock()
        self.proc: subprocess.Popen | None = None

    def _start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        read, write = os.pipe()
        env = {
            k: os.environ[k] for k in ("PATH", "LANG", "TF_CPP_MIN_LOG_LEVEL", "COURSE_PRECISION") if k in os.environ
        }
        env |= {"HOME": str(self.home), "KERAS_HOME": str(self.home / ".keras"), "GRADING_JUDGE_FD": str(write)}
        env |= {"MPLCONFIGDIR": str(self.home / "mpl"), "PYTHONNOUSERSITE": "1", "CUDA_VISIBLE_DEVICES": ""}
        code = f"import sys; sys.path.insert(0, {str(self.copy)!r}); from grading.judge import main; main()"
        log = open(self.home / "judge.log", "ab")  # noqa: SIM115 - the child keeps it
        with self.reaper.lock:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-c", code],
                cwd=self.home,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=log,
                pass_fds=(write,),
                text=True,
            )
            self.reaper.trusted.add(self.proc.pid)
        os.close(write)
        log.close()
        self.answers = os.fdopen(read, "r", encoding="utf-8")
        ready = self._read(300)
        where = Path(str((ready or {}).get("course_utils", ""))).resolve()
        if not ready or where.parent != self.copy.resolve():
            self.stop()
            raise RuntimeError(f"el juez no arrancó desde la copia del calificador ({where})")

    def _read(self, timeout: float) -> dict | None:
        ready, _, _ = select.select([self.answers], [], [], timeout)
        line = self.answers.readline() if ready else ""
        return json.loads(line) if line else None

    def ask(self, folder: Path, keys: list[str], timeout: float) -> dict | None:
        """The verdicts on ``keys`` from the records in ``folder``; None if the judge failed or took too long."""
        with self.lock:
            if self.proc is None or self.proc.poll() is not None:
                self._start()
            self.proc.stdin.write(json.dumps({"folder": str(folder), "keys": keys}) + "\n")
            self.proc.stdin.flush()
            answer = self._read(timeout)
            if answer is None:
                self.stop()
            return answer

    def stop(self) -> None:
        if self.proc is not None:
            self.reaper.trusted.discard(self.proc.pid)
            self.reaper.kill_tree(self.proc.pid)
            self.proc.wait()
            self.proc = None


@dataclass
class Setup:
    """What every submission of one grading run shares."""

    repo: Path
    copy: Path  # the grader's private copy (packages and shipped notebooks)
    private: Path  # where sandboxes are made
    out: Path
    level: str
    own_uid: bool
    limits: sandbox.Limits
    judge: Judge
    reaper: sandbox.Reaper
    params: str
    kernel: str
    cache: Path | None
    hidden: list[Path]
    judge_timeout: float = 600


def shipped_notebook(copy: Path, notebook: str) -> dict | None:
    found = sorted((copy / "notebooks").glob(f"{notebook}_*.ipynb"))
    return json.loads(found[0].read_text(encoding="utf-8")) if found else None


def grade(setup: Setup, path: Path, student: str, slot: int, notebook: str | None = None) -> Submission:
    """Run ``path`` in a sandbox and judge its records; every way a submission can fail is its own row."""
    sub = Submission(student, path, notebook or "")
    data = path.read_bytes()
    sub.sha256 = hashlib.sha256(data).hexdigest()
    try:
        nb = read_notebook(path)
    except Exception as exc:  # noqa: BLE001 - any unreadable file becomes a row
        sub.status, sub.detail = UNREADABLE, f"no se pudo leer el cuaderno ({type(exc).__name__}: {exc})"
        return sub
    sub.notebook = notebook or notebook_number(path, nb) or ""
    keys = exercise_keys(sub.notebook)
    if not keys:
        sub.detail = "no se reconoce qué cuaderno del curso es (usa --notebook NN)"
        sub.review.append(sub.detail)
        return sub
    shipped = shipped_notebook(setup.copy, sub.notebook)
    if shipped is not None:
        report = cells.compare(nb, shipped)
        sub.added_cells = report.added
        if report.changed:
            sub.review.append("celdas fijas cambiadas o borradas: " + "; ".join(report.changed))
        if report.suspicious:
            sub.review.append("código sospechoso: " + "; ".join(report.suspicious))
    box = setup.private / f"s{slot}-{hashlib.sha256(os.urandom(16)).hexdigest()[:12]}"
    box.mkdir(mode=0o700)
    (box / "submission.ipynb").write_bytes(data)
    from course_utils.quiet import KERNEL_ARGUMENTS

    job = {"timeout": setup.limits.timeout, "repo": str(setup.repo), "kernel": setup.kernel}
    (box / "job.json").write_text(json.dumps(job | {"kernel_arguments": KERNEL_ARGUMENTS}), encoding="utf-8")
    # With namespaces the repository and the environment are read-only to the sandbox; otherwise they are
    # fingerprinted before and after (a change made meanwhile by anyone is put back and flagged).
    basic = setup.level == sandbox.BASIC
    before = trusted.snapshot(setup.repo) if basic else None
    seen = sandbox.run(
        box,
        setup.repo,
        setup.level,
        sandbox.UID_BASE + slot if setup.own_uid else None,
        setup.limits,
        setup.reaper,
        cache=setup.cache,
        hidden=setup.hidden,
        extra_env={"COURSE_PARAM_SET": setup.params},
    )
    changed = trusted.changes(before, trusted.snapshot(setup.repo)) if before is not None else []
    if changed:
        trusted.restore(setup.repo, setup.copy, changed)
        sub.review.append(
            "cambió archivos del curso o del entorno (restaurados los del curso): " + ", ".join(changed[:5])
        )
    sub.seconds, sub.peak_mb = seen.seconds, seen.peak_bytes / 2**20
    status = _read_status(box)
    sub.cell_errors = int(status.get("cell_errors", 0)) if isinstance(status.get("cell_errors"), int) else 0
    if seen.status:
        sub.status, sub.detail = seen.status, seen.detail
    elif status.get("status") in (TIMEOUT, CRASHED):
        sub.status, sub.detail = status["status"], str(status.get("detail", ""))[:300]
    elif not status:
        sub.status, sub.detail = CRASHED, "el proceso que ejecutaba el cuaderno terminó sin informe"
    if status.get("too_large") is True and sub.status == OK:
        sub.status, sub.detail = TOO_LARGE, "imprimió demasiado: salidas recortadas"
    if sub.status == TIMEOUT and "límite" not in sub.detail:
        sub.detail = f"superó el límite de {setup.limits.timeout:g} s y se detuvo"
    verdicts = setup.judge.ask(box / "records", keys, setup.judge_timeout)
    if verdicts is None or "verdicts" not in verdicts:
        sub.review.append(
            "el juez no pudo calificar sus respuestas " + str((verdicts or {}).get("error", "(tiempo agotado)"))
        )
        verdicts = {"verdicts": {}}
    found = verdicts["verdicts"]
    for problem in found.pop("_malformed", {}).get("problems", [])[:3]:
        sub.review.append(f"grabación no válida: {problem}")
    present = check_calls(nb)
    for key in keys:
        v = found.get(key)
        if isinstance(v, dict) and v.get("outcome") in (RIGHT, WRONG, MISSING):
            sub.outcomes[key] = v["outcome"]
            sub.scores[key] = points.points(key, float(v.get("score", 0)))
            for problem in v.get("problems", [])[:3]:
                sub.review.append(f"{key}: {problem}")
        else:
            sub.outcomes[key] = NO_CHECK if key not in present else NOT_RUN if sub.status != OK else NO_RECORD
            sub.scores[key] = 0.0
            if sub.outcomes[key] == NO_RECORD:
                sub.review.append(f"{key}: la celda de comprobación está pero no dejó respuesta grabada")
    _keep_executed(box, setup.out / "work" / _safe(student))
    shutil.rmtree(box, ignore_errors=True)
    return sub


def _read_status(box: Path) -> dict:
    path = box / "status.json"
    try:
        if path.is_file() and not path.is_symlink() and path.stat().st_size < 1_000_000:
            data = json.loads(path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        pass
    return {}


def _keep_executed(box: Path, dest: Path) -> None:
    """Copy the executed notebook (at most 50 MB, not a link) for the teacher to look at."""
    src = box / "executed.ipynb"
    try:
        if src.is_file() and not src.is_symlink() and src.stat().st_size <= 50 * 2**20:
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest / "executed.ipynb")
    except OSError:
        pass


def _safe(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name)

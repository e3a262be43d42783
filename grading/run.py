"""Execute one submission in its own kernel and read the outcome of each of its exercises.

The checks the students see (``course_utils.exercises.check``) append each
outcome to the JSON-lines file named by ``$COURSE_EXERCISE_OUTCOMES``; the
grader sets it for every kernel, so a grade is exactly what the student saw
printed.  A check whose call is not in the notebook is ``no_check`` (the cell
was deleted); one that is there but never ran (the notebook timed out, or its
kernel died, before it) is ``not_run``.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from course_utils.checks.registry import EXERCISES
from course_utils.exercises import ENV_OUTCOMES, NOT_ANSWERED, RIGHT, WRONG_ANSWER

#: What a row says about one exercise: the check's own verdict, or why there is none.
WRONG, MISSING = WRONG_ANSWER, NOT_ANSWERED
NO_CHECK, NOT_RUN = "no_check", "not_run"
#: What a row says about the whole notebook.
OK, TIMEOUT, CRASHED, UNREADABLE = "ok", "timeout", "crashed", "unreadable"

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

    @property
    def right(self) -> int:
        return sum(o == RIGHT for o in self.outcomes.values())


def exercise_keys(notebook: str) -> list[str]:
    """The registered exercises of notebook ``"02"`` (``["02.1", "02.2"]``)."""
    return sorted(k for k in EXERCISES if k.split(".")[0] == notebook)


def notebook_number(path: Path, nb: dict | None = None) -> str | None:
    """Which course notebook a submission is: from its file name (``02_mlp*.ipynb``) or its check calls."""
    match = re.match(r"(\d\d)_", path.name)
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
            src = cell.get("source", "")
            keys.update(_CHECK_CALL.findall(src if isinstance(src, str) else "".join(src)))
    return keys


def read_outcomes(path: Path) -> dict[str, str]:
    """The last outcome of each exercise in a JSON-lines file written by the checks (malformed lines skipped)."""
    out: dict[str, str] = {}
    if not path.exists():
        return out
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            rec = json.loads(line)
            out[str(rec["key"])] = str(rec["outcome"])
        except (ValueError, KeyError, TypeError):
            continue
    return out


def grade(
    path: str | os.PathLike,
    student: str,
    workdir: str | os.PathLike,
    *,
    timeout: float = 600,
    notebook: str | None = None,
    env: dict[str, str] | None = None,
    kernel_name: str = "python3",
) -> Submission:
    """Execute ``path`` in a fresh kernel (cwd ``workdir``) for at most ``timeout`` seconds; grade it.

    Cells that raise do not stop the run (later exercises are still graded);
    a notebook over its time limit is stopped (``timeout``), a dead kernel is
    ``crashed``; either way the exercises checked before count.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    from course_utils.quiet import KERNEL_ARGUMENTS

    path, workdir = Path(path), Path(workdir)
    sub = Submission(student, path, notebook or "")
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # noqa: BLE001 - any unreadable file becomes a row
        sub.status, sub.detail = UNREADABLE, f"no se pudo leer el cuaderno ({type(exc).__name__}: {exc})"
        return sub
    sub.notebook = notebook or notebook_number(path, nb) or ""
    keys = exercise_keys(sub.notebook)
    present = check_calls(nb)
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "outcomes.jsonl"
    log.unlink(missing_ok=True)
    kernel_env = {**os.environ, **(env or {}), ENV_OUTCOMES: str(log.resolve())}
    start = time.monotonic()
    deadline = start + timeout
    client = NotebookClient(
        nb,
        kernel_name=kernel_name,
        allow_errors=True,
        extra_arguments=list(KERNEL_ARGUMENTS),
        timeout_func=lambda cell: max(1, int(deadline - time.monotonic())),
        resources={"metadata": {"path": str(workdir)}},
    )
    try:
        client.execute(env=kernel_env)
    except CellTimeoutError:
        sub.status, sub.detail = TIMEOUT, f"superó el límite de {timeout:g} s y se detuvo"
    except DeadKernelError as exc:
        sub.status, sub.detail = CRASHED, f"el núcleo se cerró ({exc})"
    except Exception as exc:  # noqa: BLE001 - a broken notebook is a row, not a stopped grading run
        sub.status, sub.detail = CRASHED, f"{type(exc).__name__}: {exc}"
    sub.seconds = time.monotonic() - start
    sub.cell_errors = sum(
        1
        for c in nb.cells
        if c.cell_type == "code" and any(o.get("output_type") == "error" for o in c.get("outputs", []))
    )
    recorded = read_outcomes(log)
    for key in keys:
        if key in recorded:
            sub.outcomes[key] = recorded[key] if recorded[key] in (RIGHT, WRONG, MISSING) else WRONG
        else:
            sub.outcomes[key] = NOT_RUN if key in present else NO_CHECK
    if not keys and sub.status == OK:
        sub.detail = "no se reconoce qué cuaderno del curso es (usa --notebook NN)"
    try:
        nbformat.write(nb, workdir / "executed.ipynb")
    except Exception:  # noqa: BLE001, S110 - the executed copy is a convenience only
        pass
    return sub

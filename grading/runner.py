"""Inside the sandbox: execute one submission in its own kernel, recording each ``check`` call as data.

``python -m grading.runner FOLDER`` reads ``FOLDER/job.json`` (written by the
grader: the notebook, time limit, kernel), executes ``FOLDER/submission.ipynb``
with a first cell the grader adds (:func:`grading.record.install`), caps what the
kernel may print, and writes ``FOLDER/executed.ipynb`` and ``FOLDER/status.json``.
Everything here runs beside student code, so the grader trusts none of it:
verdicts come from the judge, limits from the grader.
"""

from __future__ import annotations

import ctypes
import json
import sys
import time
from pathlib import Path

#: Bytes of output (text, images) kept per notebook; beyond it outputs are dropped and the row says ``too_large``.
MAX_OUTPUT_BYTES = 5 * 2**20
PR_SET_CHILD_SUBREAPER = 36
#: Largest file a submission may write (RLIMIT_FSIZE, soft and hard: the kernel cannot raise it).
MAX_FILE_BYTES = 1 * 2**30


def limit_files() -> None:
    """No file larger than MAX_FILE_BYTES, no core dumps, for this process and everything it starts."""
    import resource

    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def become_subreaper() -> None:
    """Orphaned descendants (a child of the kernel that starts a new session) stay under this process."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def setup_cell(records: Path, repo: Path) -> str:
    """The grader's first cell: install the recording ``check`` (not part of the student's file)."""
    return (
        "import sys as _grading_sys\n"
        f"_grading_sys.path.insert(0, {str(repo)!r})\n"
        "from grading import record as _grading_record\n"
        f"_grading_record.install({str(records)!r})\n"
        "_grading_sys.path.remove(" + repr(str(repo)) + ")\n"
        "del _grading_sys, _grading_record"
    )


def main(folder: str) -> int:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    become_subreaper()
    limit_files()
    root = Path(folder)
    job = json.loads((root / "job.json").read_text(encoding="utf-8"))
    nb = nbformat.read(root / "submission.ipynb", as_version=4)
    records = root / "records"
    records.mkdir(exist_ok=True)
    nb.cells.insert(0, nbformat.v4.new_code_cell(setup_cell(records, Path(job["repo"]))))
    status = {"status": "ok", "detail": "", "too_large": False}
    printed = {"bytes": 0}

    class CappedClient(NotebookClient):
        """A client that keeps at most MAX_OUTPUT_BYTES of outputs (a 100 MB print does not reach memory twice)."""

        def output(self, outs, msg, display_id, cell_index):  # noqa: ANN001, D102
            size = len(json.dumps(msg.get("content", {}), default=str))
            printed["bytes"] += size
            if printed["bytes"] > MAX_OUTPUT_BYTES:
                if not status["too_large"]:
                    status["too_large"] = True
                    outs.append(
                        nbformat.v4.new_output(
                            "stream", name="stderr", text="[calificador: salida recortada, demasiado grande]\n"
                        )
                    )
                return None
            return super().output(outs, msg, display_id, cell_index)

    deadline = time.monotonic() + float(job["timeout"])
    client = CappedClient(
        nb,
        kernel_name=job.get("kernel", "python3"),
        allow_errors=True,
        extra_arguments=list(job.get("kernel_arguments", [])),
        timeout_func=lambda cell: max(1, int(deadline - time.monotonic())),
        resources={"metadata": {"path": str(root / "cwd")}},
    )
    try:
        client.execute()
    except CellTimeoutError:
        status["status"], status["detail"] = "timeout", "superó el límite de tiempo y se detuvo"
    except DeadKernelError as exc:
        status["status"], status["detail"] = "crashed", f"el núcleo se cerró ({exc})"
    except Exception as exc:  # noqa: BLE001 - a broken notebook is a row
        status["status"], status["detail"] = "crashed", f"{type(exc).__name__}: {exc}"
    del nb.cells[0]
    status["cell_errors"] = sum(
        1
        for c in nb.cells
        if c.cell_type == "code" and any(o.get("output_type") == "error" for o in c.get("outputs", []))
    )
    status["executed"] = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.get("execution_count")]
    try:
        nbformat.write(nb, root / "executed.ipynb")
    except Exception:  # noqa: BLE001, S110 - the executed copy is a convenience only
        pass
    (root / "status.json").write_text(json.dumps(status), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

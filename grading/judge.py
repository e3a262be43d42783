"""The judge: a process that runs no student code and computes each exercise's verdict from recorded data.

It is started by the grader from a private copy of ``course_utils`` and
``grading`` made at the grader's start (:func:`grading.trusted.make_copy`), reads
one request per line on its standard input (``{"folder": ..., "keys": [...]}``:
the records a sandbox left, :mod:`grading.record`) and answers one JSON line per
request on the descriptor it was given: for each exercise the last recorded
call's verdict by the same ``evaluate`` the student sees, its score (a check may
return the fraction of its parts that are right) and what looked wrong.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from .record import RECORD_FILE, ReplayMismatch, load_call

#: A record file bigger than this is not read (the sandbox's own limit is lower).
MAX_FILE_BYTES = 512 * 2**20


def _evaluate(key: str, answers: tuple, context: dict) -> tuple[str, str, float]:
    """``(status, message, score)`` of the trusted check; ``score`` is the fraction a check returns, else 1 or 0."""
    from course_utils.checks.registry import EXERCISES
    from course_utils.exercises import RIGHT, evaluate

    ex = EXERCISES.get(key)
    returned: dict[str, Any] = {}
    if ex is not None:

        def capture(*args: Any, **kwargs: Any) -> Any:
            returned["value"] = ex.check(*args, **kwargs)
            return returned["value"]

        EXERCISES[key] = dataclasses.replace(ex, check=capture)
    try:
        outcome = evaluate(key, *answers, **context)
    finally:
        if ex is not None:
            EXERCISES[key] = ex
    score = 1.0 if outcome.status == RIGHT else 0.0
    value = returned.get("value")
    if score and isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1:
        score = float(value)
    return outcome.status, outcome.message, score


def _safe_folder(folder: Path) -> bool:
    """A call folder whose files are plain, not links, and not huge."""
    if folder.is_symlink() or not folder.is_dir():
        return False
    for entry in folder.iterdir():
        if entry.is_symlink() or not entry.is_file() or entry.stat().st_size > MAX_FILE_BYTES:
            return False
    return (folder / RECORD_FILE).is_file()


def judge(folder: Path, keys: list[str]) -> dict[str, dict]:
    """The verdict on each exercise of ``keys`` from the calls recorded under ``folder`` (the last call wins)."""
    verdicts: dict[str, dict] = {}
    calls = sorted(p for p in folder.iterdir() if p.name.isdigit()) if folder.is_dir() else []
    for call in calls:
        if not _safe_folder(call):
            continue
        try:
            key, answers, context, decoder = load_call(call)
        except Exception as exc:  # noqa: BLE001 - a malformed record is the submission's problem, said so
            verdicts.setdefault("_malformed", {"problems": []})["problems"].append(f"{call.name}: {exc}")
            continue
        if key not in keys:
            continue
        try:
            status, message, score = _evaluate(key, answers, context)
        except ReplayMismatch:
            status, message, score = "wrong", "la grabación no corresponde a la comprobación", 0.0
        problems = list(dict.fromkeys(decoder.problems))
        verdicts[key] = {"outcome": status, "message": message, "score": score, "problems": problems}
    return verdicts


def main() -> None:
    """Serve requests from stdin; answer on the descriptor in ``$GRADING_JUDGE_FD`` (stdout goes to stderr)."""
    out = os.fdopen(int(os.environ["GRADING_JUDGE_FD"]), "w", encoding="utf-8")
    os.dup2(2, 1)  # whatever the libraries print stays out of the answers
    import course_utils

    out.write(json.dumps({"ready": True, "course_utils": str(Path(course_utils.__file__).parent)}) + "\n")
    out.flush()
    for line in sys.stdin:
        try:
            request = json.loads(line)
            answer = {"verdicts": judge(Path(request["folder"]), list(request["keys"]))}
        except Exception as exc:  # noqa: BLE001 - an answer always comes back
            answer = {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc(limit=3)}
        out.write(json.dumps(answer) + "\n")
        out.flush()
        if "keras" in sys.modules:
            sys.modules["keras"].backend.clear_session()
        gc.collect()


if __name__ == "__main__":
    main()

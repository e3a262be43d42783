"""Exercises with automatic feedback: the checks (Spanish messages) and the student/solution split.

In a source notebook (``source/*.ipynb``) a solution is written between
``# BEGIN SOLUTION`` and ``# END SOLUTION`` lines, or on one line ending in
``# SOLUTION`` (``x = 3  # SOLUTION``).  :func:`blank_solutions` turns that into
the student's version (``...`` in place of a one-line solution, ``pass`` in
place of a block); the check cell calls :func:`check`, which prints whether the
answer is right, with a hint when not, returns nothing (the cell shows only the
message) and never raises, so the student notebook runs top to bottom unanswered.
:func:`evaluate` gives the same verdict as data, for tests and grading.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from . import exercise_checks, exercise_checks_features  # noqa: F401  (register every notebook's checks)
from .exercise_registry import EXERCISES, Exercise, NotAnswered, exercise, expect  # noqa: F401  (re-exported)

BEGIN, END, ONE_LINE = "# BEGIN SOLUTION", "# END SOLUTION", "# SOLUTION"
PLACEHOLDER = "...  # ✏️ tu código aquí"
#: What a solution block becomes: a statement, so that a cell ending in it shows no ``Ellipsis``.
BLOCK_PLACEHOLDER = "pass  # ✏️ tu código aquí"
_ASSIGN = re.compile(r"^(\s*)([\w.\[\]\"', ]+?)\s*=(?!=).*?#\s*SOLUTION\s*$")

#: What :func:`check` prints first: right, wrong, missing.
OK, WRONG, MISSING = "✅", "❌", "✏️"
#: :attr:`Outcome.status` values.
RIGHT, WRONG_ANSWER, NOT_ANSWERED = "right", "wrong", "missing"


def blank_solutions(source: str) -> str:
    """The student's version of a cell: each solution replaced by ``...``, markers removed."""
    out: list[str] = []
    inside = False
    for line in source.split("\n"):
        stripped = line.strip()
        if stripped == BEGIN:
            inside = True
            out.append(line[: len(line) - len(line.lstrip())] + BLOCK_PLACEHOLDER)
            continue
        if stripped == END:
            if not inside:
                raise ValueError(f"{END} sin {BEGIN}")
            inside = False
            continue
        if inside:
            continue
        match = _ASSIGN.match(line)
        if match:
            out.append(f"{match.group(1)}{match.group(2)} = {PLACEHOLDER}")
            continue
        out.append(line)
    if inside:
        raise ValueError(f"{BEGIN} sin {END}")
    return "\n".join(out)


def has_solution(source: str) -> bool:
    """True when a cell carries a solution block or line."""
    return blank_solutions(source) != source


def missing(*answers: Any) -> bool:
    """True when an answer is still ``...`` (or ``None``)."""
    return any(a is Ellipsis or a is None for a in answers)


class Outcome(NamedTuple):
    """The verdict on one answer: ``status`` (:data:`RIGHT`, :data:`WRONG_ANSWER`, :data:`NOT_ANSWERED`) and the message."""

    status: str
    message: str


def evaluate(key: str, *answers: Any, **context: Any) -> Outcome:
    """The verdict on the answer to exercise ``key``, with its Spanish message; never raises."""
    ex = EXERCISES.get(key)
    if ex is None:
        return Outcome(
            WRONG_ANSWER, f"{WRONG} No existe el ejercicio {key!r}. Ejercicios: {', '.join(sorted(EXERCISES))}."
        )
    head = f"Ejercicio {key} ({ex.title})"
    try:
        if missing(*answers):
            raise NotAnswered
        ex.check(*answers, **context)
    except NotAnswered:
        return Outcome(
            NOT_ANSWERED,
            f"{MISSING} {head}: falta tu respuesta. Sustituye `...` por tu código y ejecuta otra vez "
            "la celda del ejercicio y esta.",
        )
    except AssertionError as exc:
        return Outcome(WRONG_ANSWER, f"{WRONG} {head}: todavía no. {exc}\n   Pista: {ex.hint}")
    except Exception as exc:  # noqa: BLE001 - a student's answer may fail in any way
        return Outcome(
            WRONG_ANSWER,
            f"{WRONG} {head}: tu respuesta produjo un error ({type(exc).__name__}: {exc}).\n   Pista: {ex.hint}",
        )
    return Outcome(RIGHT, f"{OK} {head}: ¡correcto!")


def check(key: str, *answers: Any, **context: Any) -> None:
    """Print whether the answer to exercise ``key`` is right (Spanish, with a hint); never raises.

    It returns nothing, so that the exercise's cell shows the message only (no ``True``/``False``).
    """
    outcome = evaluate(key, *answers, **context)
    print(outcome.message)

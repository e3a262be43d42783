"""What an exercise's check cell calls: :func:`check` prints the verdict in Spanish; :func:`evaluate` gives it as data.

In a source notebook (``source/*.ipynb``) a solution is written between ``# BEGIN SOLUTION``
and ``# END SOLUTION`` lines, or on one line ending in ``# SOLUTION``; ``make student``
(``course_tools.nbtools``) blanks it in the student's version.  The check cell calls
:func:`check`, which prints whether the answer is right, with a hint when not, returns
nothing (the cell shows only the message) and never raises, so the student notebook runs
top to bottom unanswered.  :func:`evaluate` gives the same verdict as data, for tests and
grading.  The checks themselves are registered in :mod:`course_utils.checks`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .checks import features, lessons  # noqa: F401  (register every notebook's checks)
from .checks.registry import EXERCISES, NotAnswered

#: What :func:`check` prints first: right, wrong, missing.
OK, WRONG, MISSING = "✅", "❌", "✏️"
#: :attr:`Outcome.status` values.
RIGHT, WRONG_ANSWER, NOT_ANSWERED = "right", "wrong", "missing"


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

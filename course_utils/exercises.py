"""What an exercise's check cell calls: :func:`check` prints the verdict in Spanish; :func:`evaluate` gives it as data.

In a source notebook (``source/*.ipynb``) a solution is written between ``# BEGIN SOLUTION``
and ``# END SOLUTION`` lines, or on one line ending in ``# SOLUTION``; ``make student``
(``course_tools.nbtools``) blanks it in the student's version.  The check cell calls
:func:`check`, which prints whether the answer is right, with a hint (a nudge, never the
answer) when not, returns nothing (the cell shows only the message) and never raises, so the
student notebook runs top to bottom unanswered.  Help comes in steps, as the student asks:
:func:`hint` repeats the nudge, :func:`solution` shows the full answer.  :func:`evaluate` gives
the same verdict as data, for tests and grading.  The checks themselves are registered in
:mod:`course_utils.checks`.
"""

from __future__ import annotations

import sys
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


def _failed_name() -> str | None:
    """The name of the last ``NameError`` IPython recorded (``sys.last_value``), if the last failure was one."""
    error = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
    return getattr(error, "name", None) if isinstance(error, NameError) else None


def _more_help(key: str) -> str:
    """The line that tells where the next step of help is (the solution only when the student asks)."""
    if not EXERCISES[key].solution:
        return ""
    return f'\n   ¿Sigues sin verlo? exercises.solution("{key}") muestra la solución completa.'


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
        message = (
            f"{MISSING} {head}: falta tu respuesta. Sustituye `...` por tu código y ejecuta otra vez "
            "la celda del ejercicio y esta."
        )
        name = _failed_name()
        if name:
            message += (
                f"\n   Si la celda del ejercicio terminó con «NameError: name '{name}' is not defined», "
                f"define {name} primero: ejecuta antes la celda que lo crea (o créalo en la tuya) y repite."
            )
        return Outcome(NOT_ANSWERED, message)
    except AssertionError as exc:
        return Outcome(WRONG_ANSWER, f"{WRONG} {head}: todavía no. {exc}\n   Pista: {ex.hint}{_more_help(key)}")
    except Exception as exc:  # noqa: BLE001 - a student's answer may fail in any way
        return Outcome(
            WRONG_ANSWER,
            f"{WRONG} {head}: tu respuesta produjo un error ({type(exc).__name__}: {exc}).\n   Pista: {ex.hint}"
            f"{_more_help(key)}",
        )
    return Outcome(RIGHT, f"{OK} {head}: ¡correcto!")


def check(key: str, *answers: Any, **context: Any) -> None:
    """Print whether the answer to exercise ``key`` is right (Spanish, with a hint); never raises.

    It returns nothing, so that the exercise's cell shows the message only (no ``True``/``False``).
    """
    outcome = evaluate(key, *answers, **context)
    print(outcome.message)


def _exercise_or_list(key: str) -> Any:
    ex = EXERCISES.get(key)
    if ex is None:
        print(f"{WRONG} No existe el ejercicio {key!r}. Ejercicios: {', '.join(sorted(EXERCISES))}.")
    return ex


def hint(key: str) -> None:
    """Print the hint of exercise ``key``: a nudge, not the answer (the first step of help)."""
    ex = _exercise_or_list(key)
    if ex is not None:
        print(f"💡 Ejercicio {key} ({ex.title}). Pista: {ex.hint}{_more_help(key)}")


def solution(key: str) -> None:
    """Print the full solution of exercise ``key`` (the last step of help: only when the student asks)."""
    ex = _exercise_or_list(key)
    if ex is not None:
        print(f"📖 Ejercicio {key} ({ex.title}). Solución:\n{ex.solution or ex.hint}")

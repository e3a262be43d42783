"""The registry of exercise checks: each check is declared with :func:`exercise` and fails with :func:`expect`.

:mod:`course_utils.exercise_checks` and :mod:`course_utils.exercise_checks_features` register every notebook's checks here, and
:mod:`course_utils.exercises` (what a notebook calls) reads them; neither imports the other back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


class NotAnswered(Exception):
    """The answer still holds the placeholder (``...``)."""


@dataclass(frozen=True)
class Exercise:
    """One exercise: its number, what it asks, its check and the hint shown when the answer is wrong.

    ``check(answer, **context)`` raises :class:`AssertionError` with a Spanish
    explanation when the answer is wrong (``NotAnswered`` when it is missing).
    """

    key: str
    title: str
    check: Callable[..., None]
    hint: str


EXERCISES: dict[str, Exercise] = {}


def exercise(key: str, title: str, hint: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register a check function under ``key`` (``"02.1"``: notebook 02, exercise 1)."""

    def register(fn: Callable[..., None]) -> Callable[..., None]:
        EXERCISES[key] = Exercise(key, title, fn, hint)
        return fn

    return register


def expect(condition: bool, message: str) -> None:
    """Fail a check with a Spanish ``message`` unless ``condition`` holds."""
    if not condition:
        raise AssertionError(message)

"""The registry of exercise checks (:func:`exercise`, :func:`expect`) and the small helpers the checks share.

:mod:`course_utils.checks.lessons` (notebooks 01-05) and :mod:`course_utils.checks.features`
(06-08) register every notebook's checks here, and :mod:`course_utils.exercises` (what a
notebook calls) reads them; neither imports the other back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


class NotAnswered(Exception):
    """The answer still holds the placeholder (``...``)."""


@dataclass(frozen=True)
class Exercise:
    """One exercise: its number, what it asks, its check, a hint and its solution.

    ``check(answer, **context)`` raises :class:`AssertionError` with a Spanish
    explanation when the answer is wrong (``NotAnswered`` when it is missing).
    ``hint`` is a nudge, shown with every wrong answer; ``solution`` is the full
    answer, shown only when the student asks for it (``exercises.solution(key)``).
    """

    key: str
    title: str
    check: Callable[..., None]
    hint: str
    solution: str = ""


EXERCISES: dict[str, Exercise] = {}


def exercise(
    key: str, title: str, hint: str, solution: str = ""
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register a check function under ``key`` (``"02.1"``: notebook 02, exercise 1), with its hint and solution."""

    def register(fn: Callable[..., None]) -> Callable[..., None]:
        EXERCISES[key] = Exercise(key, title, fn, hint, solution)
        return fn

    return register


def expect(condition: bool, message: str) -> None:
    """Fail a check with a Spanish ``message`` unless ``condition`` holds."""
    if not condition:
        raise AssertionError(message)


# Helpers the checks share: each turns an answer into what a check compares, or explains in Spanish.


def whole_number(answer: Any, name: str) -> int:
    """``answer`` as an int, or a Spanish explanation of what type was expected."""
    expect(
        isinstance(answer, (int, np.integer)) and not isinstance(answer, bool),
        f"{name} debe ser un número entero, sin comillas (es {type(answer).__name__}: {answer!r}).",
    )
    return int(answer)


def numbers(answer: Any, name: str, count: int) -> tuple[float, ...]:
    """``answer`` as a tuple of ``count`` numbers, or a Spanish explanation of what was expected."""
    expect(
        not isinstance(answer, str),
        f"{name} debe ser una tupla de {count} números, sin comillas: escribe ({', '.join(['...'] * count)}), "
        f"no el texto {answer!r}.",
    )
    expect(
        isinstance(answer, (tuple, list)) and len(answer) == count,
        f"{name} debe ser una tupla de {count} números, como ({', '.join(['...'] * count)}) "
        f"(es {type(answer).__name__}: {answer!r}).",
    )
    expect(
        all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in answer),
        f"Cada elemento de {name} debe ser un número, sin comillas (tienes {answer!r}).",
    )
    return tuple(float(v) for v in answer)


def close(a: float, b: float) -> bool:
    """Equal up to float rounding (relative 1e-4)."""
    return abs(a - b) <= 1e-4 * max(1.0, abs(b))


def to_numpy(x: Any) -> np.ndarray:
    """A Keras or TensorFlow tensor (or anything array-like) as a NumPy array."""
    import keras

    return np.asarray(keras.ops.convert_to_numpy(x))

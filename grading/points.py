"""Points per exercise: the one table a teacher edits (keys are the exercise ids of ``check``)."""

from __future__ import annotations

#: Points of each exercise.  A check that returns a fraction (0-1) of its parts right earns that share.
POINTS: dict[str, float] = {
    "01.1": 1,
    "01.2": 2,
    "02.1": 1,
    "02.2": 1,
    "03.1": 1,
    "03.2": 1,
    "03.3": 2,
    "04.1": 1,
    "04.2": 2,
    "05.1": 2,
    "05.2": 1,
    "06.1": 2,
    "06.2": 2,
    "06.3": 1,
    "07.1": 1,
    "07.2": 1,
    "07.3": 2,
    "07.4": 2,
    "08.1": 1,
    "08.2": 2,
    "08.3": 2,
}


def points(key: str, score: float) -> float:
    """Points earned on exercise ``key`` with ``score`` (the fraction right, 0-1)."""
    return round(POINTS.get(key, 1) * max(0.0, min(1.0, score)), 2)


def max_points(keys: list[str]) -> float:
    """The most a notebook with exercises ``keys`` can earn."""
    return float(sum(POINTS.get(k, 1) for k in keys))

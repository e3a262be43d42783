"""Help in steps (issue 27): a wrong answer gets the check's message and a nudge; the solution only on request."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils import exercises
from course_utils.checks import registry

#: Exercises whose old hint was the whole solution, a wrong answer for each and a line of their solution.
WRONG_ANSWERS = {
    "03.3": (("mi cnn",), {"image_shape": (8, 8, 3), "images": None, "labels": None}, "layers.Conv2D(16, 3"),
    "05.1": (("bloque",), {}, "Conv2D(filters, 1, strides=2"),
    "07.3": (("cabeza",), {"base": None}, "head_base.trainable = False"),
    "08.3": ((np.zeros((2, 2)),), {"model": None, "image": np.zeros((4, 4, 3))}, "tape.gradient(p_dog, image)"),
}


@pytest.mark.parametrize("key", sorted(WRONG_ANSWERS))
def test_a_wrong_answer_gets_a_nudge_and_the_solution_only_on_request(key, capsys):
    answers, context, solution_line = WRONG_ANSWERS[key]
    outcome = exercises.evaluate(key, *answers, **context)
    assert outcome.status == exercises.WRONG_ANSWER
    assert "Pista:" in outcome.message and solution_line not in outcome.message, outcome.message
    assert f'exercises.solution("{key}")' in outcome.message, "the message says where the solution is"
    exercises.hint(key)
    shown = capsys.readouterr().out
    assert "Pista:" in shown and solution_line not in shown
    exercises.solution(key)
    assert solution_line in capsys.readouterr().out


def test_every_exercise_has_a_hint_that_is_not_its_solution():
    for key, ex in registry.EXERCISES.items():
        assert ex.solution, f"{key}: sin solución para exercises.solution"
        code = [line.strip() for line in ex.solution.splitlines() if len(line.strip()) > 20]
        assert not any(line in ex.hint for line in code), f"{key}: la pista contiene la solución"


def test_help_for_an_unknown_exercise_lists_the_exercises(capsys):
    exercises.hint("00.0")
    exercises.solution("00.0")
    out = capsys.readouterr().out
    assert out.count("No existe el ejercicio '00.0'") == 2 and "03.3" in out

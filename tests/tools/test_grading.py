"""grading (instructor tool): the checks' recorded outcomes, the CSV and summary, and a run over planted submissions.

The planted submissions are made from the real notebook 02 (its source, with the
solutions, and its student version, read as plain JSON): right, blank, wrong with a deleted check
cell (both outcomes from one run), an infinite loop and a kernel crash, plus a file that is not a notebook.
"""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path

import pytest

from course_utils import exercises
from course_utils.config import PROJECT_ROOT
from grading import cli, run


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _text(cell: dict) -> str:
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def test_checks_record_their_outcome_when_the_grader_asks(demo_exercise, tmp_path, monkeypatch, capsys):
    log = tmp_path / "outcomes.jsonl"
    exercises.check(demo_exercise, 4)  # no variable: nothing is written anywhere
    monkeypatch.setenv(exercises.ENV_OUTCOMES, str(log))
    exercises.check(demo_exercise, 4)
    exercises.check(demo_exercise, 5)
    exercises.check(demo_exercise, ...)
    exercises.check(demo_exercise, "x", "y")  # an answer that raises
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert [(r["key"], r["outcome"]) for r in records] == [
        ("99.1", "right"),
        ("99.1", "wrong"),
        ("99.1", "missing"),
        ("99.1", "wrong"),
    ]
    assert "5 no es 4." in records[1]["message"]
    printed = capsys.readouterr().out
    assert printed.count("¡correcto!") == 2, "the student sees the same messages as before"


def test_read_outcomes_keeps_the_last_and_skips_malformed_lines(tmp_path):
    log = tmp_path / "o.jsonl"
    log.write_text('{"key": "02.1", "outcome": "wrong"}\nbasura\n{"key": "02.1", "outcome": "right"}\n{"key": 3}\n')
    assert run.read_outcomes(log) == {"02.1": "right"}
    assert run.read_outcomes(tmp_path / "no_existe.jsonl") == {}


def test_check_calls_and_notebook_number():
    nb = _read(PROJECT_ROOT / "notebooks" / "02_mlp.ipynb")
    assert run.check_calls(nb) == {"02.1", "02.2"}
    assert run.exercise_keys("02") == ["02.1", "02.2"]
    assert run.notebook_number(Path("02_mlp (1).ipynb")) == "02"
    assert run.notebook_number(Path("ana.ipynb"), nb) == "02"
    assert run.notebook_number(Path("ana.ipynb"), {"cells": []}) is None


def test_find_submissions_skips_checkpoints(tmp_path):
    (tmp_path / "ana").mkdir()
    (tmp_path / "ana" / "02_mlp.ipynb").write_text("{}")
    (tmp_path / "luis.ipynb").write_text("{}")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "luis-checkpoint.ipynb").write_text("{}")
    assert [s for s, _ in cli.find_submissions(tmp_path)] == ["ana/02_mlp", "luis"]


def test_csv_and_summary_say_what_happened_to_each_student(tmp_path):
    rows = [
        run.Submission("ana", Path("a"), "02", outcomes={"02.1": "right", "02.2": "right"}, seconds=20),
        run.Submission("luis", Path("l"), "02", run.TIMEOUT, 60, {"02.1": "right", "02.2": "not_run"}, 1, "límite"),
    ]
    keys = cli.write_csv(rows, tmp_path / "grades.csv")
    assert keys == ["02.1", "02.2"]
    with open(tmp_path / "grades.csv", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    assert [(r["student"], r["status"], r["right"], r["total"], r["02.2"]) for r in table] == [
        ("ana", "ok", "2", "2", "right"),
        ("luis", "timeout", "1", "2", "not_run"),
    ]
    text = cli.summary(rows, keys, 60)
    assert "| 02.2 | 1 | 0 | 0 | 0 | 1 |" in text
    assert "- luis: `timeout`" in text and "ana:" not in text


def test_cli_refuses_a_missing_or_empty_folder_in_spanish(tmp_path, capsys):
    assert cli.main([str(tmp_path / "no_existe"), "--out", str(tmp_path / "out")]) == 2
    assert "No existe la carpeta de entregas" in capsys.readouterr().err
    (tmp_path / "vacia").mkdir()
    assert cli.main([str(tmp_path / "vacia"), "--out", str(tmp_path / "out")]) == 2
    assert "No hay cuadernos" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_an_unreadable_notebook_gets_a_row_without_a_kernel(tmp_path):
    bad = tmp_path / "02_mlp.ipynb"
    bad.write_text("esto no es un cuaderno")
    sub = run.grade(bad, "pepe", tmp_path / "work", timeout=5)
    assert sub.status == run.UNREADABLE and "no se pudo leer" in sub.detail and sub.outcomes == {}


def _planted(folder: Path) -> dict[str, tuple[str, str, str]]:
    """Write the planted submissions of notebook 02; return ``{student: (status, 02.1, 02.2)}`` expected."""
    right = _read(PROJECT_ROOT / "source" / "02_mlp.ipynb")  # the source: solutions in place
    student = _read(PROJECT_ROOT / "notebooks" / "02_mlp.ipynb")

    def cell(nb, needle):
        return next(i for i, c in enumerate(nb["cells"]) if needle in _text(c))

    answer_1, answer_2 = cell(right, "first_dense_params ="), cell(right, "model.evaluate(")
    check_2 = cell(right, 'check("02.2"')
    wrong, loop, crash = (copy.deepcopy(right) for _ in range(3))
    wrong["cells"][answer_1]["source"] = "first_dense_params = n_inputs * 256  # sin los sesgos"
    del wrong["cells"][check_2]  # one run of 02 less: 02.1 wrong and 02.2 without its check
    # An infinite loop that sleeps: the time limit is what is tested, without a core busy until it.
    loop["cells"][answer_2]["source"] = "import time\nwhile True:\n    time.sleep(0.2)"
    crash["cells"][answer_2]["source"] = "import os\nos._exit(1)"
    for name, nb in {
        "correcta": right,
        "incorrecta_sin_comprobacion": wrong,
        "en_blanco": student,
        "bucle_infinito": loop,
        "nucleo_caido": crash,
    }.items():
        (folder / f"{name}_02_mlp.ipynb").write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")
    (folder / "roto_02_mlp.ipynb").write_text("{ no es json")
    return {
        "correcta_02_mlp": ("ok", "right", "right"),
        "incorrecta_sin_comprobacion_02_mlp": ("ok", "wrong", "no_check"),
        "en_blanco_02_mlp": ("ok", "missing", "missing"),
        "bucle_infinito_02_mlp": ("timeout", "right", "not_run"),
        "nucleo_caido_02_mlp": ("crashed", "right", "not_run"),
        "roto_02_mlp": ("unreadable", "", ""),
    }


@pytest.mark.notebooks
def test_grading_planted_submissions_gives_the_expected_csv(tmp_path, capsys):
    submissions = tmp_path / "entregas"
    submissions.mkdir()
    expected = _planted(submissions)
    out = tmp_path / "notas"
    # 60 s per notebook: a smoke run of 02 took 20-35 s alone on 2 busy cores; only the loop reaches the limit
    # (and sets the test's length: the other five share the second worker meanwhile).
    args = [str(submissions), "--out", str(out), "--timeout", "60", "--params", "smoke", "--jobs", "2"]
    assert cli.main(args) == 0
    with open(out / "grades.csv", encoding="utf-8") as f:
        table = {r["student"]: r for r in csv.DictReader(f)}
    assert {s: (r["status"], r["02.1"], r["02.2"]) for s, r in table.items()} == expected
    assert table["correcta_02_mlp"]["right"] == "2" and table["en_blanco_02_mlp"]["right"] == "0"
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "6 entregas" in summary and "| 02.1 | 3 | 1 | 1 | 0 | 0 |" in summary
    assert "bucle_infinito_02_mlp: `timeout`" in summary and "nucleo_caido_02_mlp: `crashed`" in summary

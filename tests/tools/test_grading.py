"""grading (instructor tool): answers recorded as data and judged apart, shipped cells, points, exports, and a class.

The class (``test_a_planted_class_grades_to_the_expected_csv``) is made from the
real notebook 02 (its source with the solutions, its student version) plus small
hostile notebooks named like 02, one per attack a student wanting a better grade
tried on the first grader: forging the outcomes file or ``evaluate``, leaving a
changed package or an IPython start-up file for later students, a child that
outlives its kernel to tamper with other rows and copy the other notebooks,
killing the grader, printing 100 MB, and replacing ``check`` with a no-op.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from course_utils import exercises
from course_utils.checks import registry
from course_utils.config import PROJECT_ROOT
from grading import cells, cli, judge, planted, points, record, run, sandbox, trusted


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _text(cell: dict) -> str:
    return cells.source(cell)


def _record(folder: Path, monkeypatch, key: str, *answers, **context) -> None:
    """One ``check`` call as the sandbox's recording check makes it."""
    monkeypatch.setattr(exercises, "check", exercises.check)
    folder.mkdir(parents=True, exist_ok=True)
    record.install(folder)
    exercises.check(key, *answers, **context)


def test_plain_answers_are_rebuilt_as_they_were(tmp_path, monkeypatch, demo_exercise, capsys):
    values = (4, 2.5, float("nan"), ..., (1, [2, "tres"]), {"a": None}, Path("x/y"), np.arange(6.0).reshape(2, 3))
    _record(tmp_path, monkeypatch, demo_exercise, *values, parts=np.int64(3))
    assert "Ejercicio 99.1" in capsys.readouterr().out, "the student still sees the check's message"
    key, answers, context, _ = record.load_call(tmp_path / "0000")
    assert key == "99.1" and answers[:2] == (4, 2.5) and np.isnan(answers[2]) and answers[3] is Ellipsis
    assert answers[4:7] == ((1, [2, "tres"]), {"a": None}, Path("x/y"))
    assert np.array_equal(answers[7], values[7]) and type(context["parts"]) is np.int64


def test_the_judge_uses_its_own_check_and_a_returned_fraction(tmp_path, monkeypatch, demo_exercise):
    _record(tmp_path, monkeypatch, demo_exercise, 4, parts=0.5)
    _record(tmp_path, monkeypatch, demo_exercise, 5)  # the last call wins
    assert judge.judge(tmp_path, ["99.1"])["99.1"]["outcome"] == "wrong"
    (tmp_path / "0001" / record.RECORD_FILE).unlink()  # a half-written record is not read
    verdict = judge.judge(tmp_path, ["99.1"])["99.1"]
    assert (verdict["outcome"], verdict["score"]) == ("right", 0.5)
    assert points.points("99.1", verdict["score"]) == 0.5 and points.points("03.3", 1.0) == 2


def test_a_forged_record_needs_the_right_value_and_links_are_refused(tmp_path, monkeypatch, demo_exercise):
    _record(tmp_path, monkeypatch, demo_exercise, np.arange(3))
    call = tmp_path / "0000"
    rec = _read(call / record.RECORD_FILE)
    rec["answers"] = [{"$": "obj", "id": "0"}]
    rec["objects"] = {"0": {"$": "array", "file": "../../etc/passwd"}}
    (call / record.RECORD_FILE).write_text(json.dumps(rec))
    assert "_malformed" in judge.judge(tmp_path, ["99.1"]), "a file outside the call's folder is not read"
    rec["answers"] = [{"$": "dataclass", "module": "os", "class": "system", "fields": {}}]
    (call / record.RECORD_FILE).write_text(json.dumps(rec))
    assert "_malformed" in judge.judge(tmp_path, ["99.1"]), "only course_utils dataclasses are rebuilt"
    rec["answers"] = [4]
    (call / record.RECORD_FILE).write_text(json.dumps(rec))
    assert judge.judge(tmp_path, ["99.1"])["99.1"]["outcome"] == "right", "forging = writing the right answer"


def _shortcut(x, filters):
    from keras import layers

    return layers.Conv2D(filters, 1, strides=2, padding="same", use_bias=False)(x)


def test_keras_answers_functions_and_identity_are_judged_from_data(tmp_path, monkeypatch):
    import keras

    _record(tmp_path / "a", monkeypatch, "05.1", _shortcut)
    _record(tmp_path / "b", monkeypatch, "05.1", lambda x, filters: keras.layers.Conv2D(filters, 1)(x))
    assert judge.judge(tmp_path / "a", ["05.1"])["05.1"]["outcome"] == "right", "record/replay of a function"
    assert judge.judge(tmp_path / "b", ["05.1"])["05.1"]["outcome"] == "wrong"
    rec = _read(tmp_path / "a" / "0000" / record.RECORD_FILE)
    rec["objects"]["0"]["calls"][0]["args"] = "otra llamada"
    (tmp_path / "a" / "0000" / record.RECORD_FILE).write_text(json.dumps(rec))
    mismatch = judge.judge(tmp_path / "a", ["05.1"])["05.1"]
    assert mismatch["outcome"] == "wrong" and mismatch["problems"], "a replay that does not match is flagged"

    model = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Conv2D(2, 3), keras.layers.Flatten()])
    images = np.random.default_rng(0).random((2, 4, 4, 3)).astype("float32")
    _record(tmp_path / "c", monkeypatch, "03.2", model, model=model, images=images)  # the same object: wrong
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    _record(tmp_path / "d", monkeypatch, "03.2", clone, model=model, images=images)
    _record(tmp_path / "e", monkeypatch, "08.1", 27, layer=model.layers[0])  # a layer of a recorded model
    assert judge.judge(tmp_path / "c", ["03.2"])["03.2"]["outcome"] == "wrong"
    assert judge.judge(tmp_path / "d", ["03.2"])["03.2"]["outcome"] == "right"
    assert judge.judge(tmp_path / "e", ["08.1"])["08.1"]["outcome"] == "right"


def test_shipped_cells_are_checked_and_added_code_is_reported():
    shipped = _read(PROJECT_ROOT / "notebooks" / "02_mlp.ipynb")
    solved = _read(PROJECT_ROOT / "source" / "02_mlp.ipynb")
    assert cells.compare(solved, shipped).changed == [], "filling the exercise cells changes no fixed cell"
    assert cells.compare(shipped, shipped).added == 0
    tampered = copy.deepcopy(solved)
    check = next(i for i, c in enumerate(tampered["cells"]) if 'check("02.2"' in _text(c))
    del tampered["cells"][check]
    tampered["cells"].insert(
        3, {"cell_type": "code", "metadata": {}, "source": "exercises.check = print", "outputs": []}
    )
    report = cells.compare(tampered, shipped)
    assert len(report.changed) == 1 and 'exercises.check("02.2"' in report.changed[0]
    assert report.added == 1 and report.suspicious


def test_points_cover_every_exercise():
    assert set(points.POINTS) == set(registry.EXERCISES)
    assert points.max_points(["02.1", "02.2"]) == 2


def test_student_ids_rows_resume_and_exports(tmp_path):
    assert cli.student_id("ana_02_mlp") == "ana" and cli.student_id("ana.perez/02_mlp") == "ana.perez"
    assert cli.student_id("luis") == "luis"
    keys = ["02.1", "02.2"]
    ana = run.Submission("ana_02_mlp", Path("a"), "02", outcomes={"02.1": "right", "02.2": "wrong"}, seconds=20)
    ana.scores, ana.sha256 = {"02.1": 1.0, "02.2": 0.0}, "abc"
    luis = run.Submission("luis_02_mlp", Path("l"), "02", "ok", 5, {"02.1": "no_record", "02.2": "not_run"})
    luis.scores, luis.review = (
        {"02.1": 0.0, "02.2": 0.0},
        ["02.1: la celda de comprobación está pero no dejó respuesta"],
    )
    log = cli.RowLog(tmp_path / "grades.csv", keys)
    log.append(ana)
    again = cli.RowLog(tmp_path / "grades.csv", keys)
    assert list(again.done) == [("ana_02_mlp", "abc")], "a rerun finds the rows already written"
    assert cli.from_csv(again.done[("ana_02_mlp", "abc")], keys, Path("a")).scores == ana.scores
    cli.write_csv([luis, ana], tmp_path / "grades.csv", keys)
    with open(tmp_path / "grades.csv", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    assert [(r["student"], r["02.1"], r["02.1 puntos"], r["points"], r["max_points"]) for r in table] == [
        ("ana_02_mlp", "right", "1", "1", "2"),
        ("luis_02_mlp", "no_record", "0", "0", "2"),
    ]
    text = cli.summary([ana, luis], keys, 60)
    assert "- luis_02_mlp: `ok`" in text and "- ana" not in text
    assert "tiempo agotado" not in cli.MEANING["no_record"]
    cli.moodle_csv([ana, luis], tmp_path / "moodle.csv")
    with open(tmp_path / "moodle.csv", encoding="utf-8") as f:
        moodle = list(csv.reader(f))
    assert moodle[0] == ["identificador", "cuaderno 02", "cuaderno 02 comentario"]
    assert moodle[1][:2] == ["ana", "1"] and "en revisión" in moodle[2][2]


def test_cli_refuses_a_missing_or_empty_folder_in_spanish(tmp_path, capsys):
    assert cli.main([str(tmp_path / "no_existe"), "--out", str(tmp_path / "out")]) == 2
    assert "No existe la carpeta de entregas" in capsys.readouterr().err
    (tmp_path / "vacia").mkdir()
    assert cli.main([str(tmp_path / "vacia"), "--out", str(tmp_path / "out")]) == 2
    assert "No hay cuadernos" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_folder_bytes_stops_at_its_limit(tmp_path):
    (tmp_path / "a").write_bytes(b"x" * 100_000)
    assert sandbox.folder_bytes(tmp_path, 10**9) >= 100_000
    assert sandbox.folder_bytes(tmp_path, 1000) > 1000


# ---------------------------------------------------------------- a planted class, attacks included


def _grade(submissions: Path, out: Path, home: Path, timeout: int = 60) -> subprocess.CompletedProcess:
    """The grader as a teacher runs it: its own process (and session), the folder on its command line."""
    env = {**os.environ, "HOME": str(home)}
    args = [sys.executable, "-m", "grading", str(submissions), "--out", str(out), "--timeout", str(timeout)]
    return subprocess.run(
        [*args, "--jobs", "2"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, start_new_session=True
    )


def _table(out: Path) -> dict[str, dict]:
    with open(out / "grades.csv", encoding="utf-8") as f:
        return {r["student"].removesuffix("_02_mlp"): r for r in csv.DictReader(f)}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.notebooks
def test_a_planted_class_grades_to_the_expected_csv(tmp_path):
    submissions, out, home, loot = tmp_path / "entregas", tmp_path / "notas", tmp_path / "casa", tmp_path / "botin"
    submissions.mkdir()
    home.mkdir()
    expected = planted.plant(submissions, loot)
    package = Path(exercises.__file__)
    package_before = _sha(package)
    # 60 s per notebook: a smoke run of 02 took 30-90 s on 2 busy cores; only the loop is meant to reach it.
    done = _grade(submissions, out, home)
    assert done.returncode == 0, done.stderr[-3000:]
    grades_after = _sha(out / "grades.csv")
    table = _table(out)
    got = {s: (r["status"], r["02.1"], r["02.2"]) for s, r in table.items()}
    for name, (status, first, second, _review) in expected.items():
        statuses = status if isinstance(status, tuple) else (status,)
        assert got[name][0] in statuses, (name, got[name])
        if first is not None:
            assert got[name][1:] == (first, second), (name, got[name])
    assert table["correcta"]["points"] == "2" and table["en_blanco"]["points"] == "0"
    summary = (out / "summary.md").read_text(encoding="utf-8")
    look = summary.split("Para revisar a mano:")[1]
    for name, (*_, review) in expected.items():
        assert (f"- {name}_02_mlp:" in look) == review, name
    if os.geteuid() == 0 and shutil.which("unshare"):  # CI: root on Linux gets the strongest isolation
        assert "un usuario propio por entrega" in summary
    assert "celdas fijas cambiadas" in table["incorrecta_sin_comprobacion"]["review"]
    assert "no dejó respuesta grabada" in table["sin_check"]["review"]
    assert (out / "work" / "grita_02_mlp" / "executed.ipynb").stat().st_size < 10 * 2**20
    moodle = (out / "moodle.csv").read_text(encoding="utf-8")
    assert "\ncorrecta,2," in moodle

    # Nothing outlives the run: the rows, the package, the home folder and the other notebooks stay as they were.
    time.sleep(3)
    assert _sha(out / "grades.csv") == grades_after, "grades.csv rewritten after the grader exited"
    assert _sha(package) == package_before, "a submission changed course_utils"
    assert not list(home.rglob("00-x.py")), "a submission wrote an IPython start-up file in the real home"
    assert not (loot.exists() and list(loot.iterdir())), "a submission copied the other notebooks"


def test_sandbox_kills_every_process_it_started(tmp_path):
    """A child in a new session is gone when its sandbox ends (namespaces or the subreaper fallback)."""
    repo = Path(PROJECT_ROOT)
    box = tmp_path / "caja"
    box.mkdir()
    code = (
        "import subprocess, sys\n"
        "subprocess.Popen([sys.executable, '-c', 'import time, os\\nwhile True: time.sleep(0.2)'], start_new_session=True)\n"
        "open('hijo_lanzado', 'w').write('1')\n"
    )
    (box / "job.json").write_text("{}")
    reaper = sandbox.Reaper()
    # The runner is replaced by a short script: this tests the process handling, not a notebook.
    monkey_bootstrap = sandbox._bootstrap
    sandbox._bootstrap = lambda repo_, folder: code
    try:
        seen = sandbox.run(box, repo, sandbox.BASIC, None, sandbox.Limits(20, 2**31, 2**30), reaper)
    finally:
        sandbox._bootstrap = monkey_bootstrap
    assert (box / "hijo_lanzado").exists() and seen.status == ""
    import psutil

    stray = [
        p
        for p in psutil.process_iter(["cmdline"])
        if "while True: time.sleep(0.2)" in " ".join(p.info["cmdline"] or [])
    ]
    assert not stray, "a child in a new session outlived its sandbox"


def test_a_changed_package_is_found_and_put_back(tmp_path):
    repo, copy_ = tmp_path / "repo", tmp_path / "copia"
    for name in ("course_utils", "grading"):
        (repo / name).mkdir(parents=True)
        (repo / name / "a.py").write_text("x = 1\n")
    (repo / "notebooks").mkdir()
    trusted.make_copy(repo, copy_)
    before = trusted.snapshot(repo, environment=False)
    (repo / "course_utils" / "a.py").write_text("x = 1\ndef evaluate(*a): return 'right'\n")
    (repo / "grading" / "new.py").write_text("")
    changed = trusted.changes(before, trusted.snapshot(repo, environment=False))
    assert changed == ["course_utils/a.py", "grading/new.py"]
    trusted.restore(repo, copy_, changed)
    assert trusted.changes(before, trusted.snapshot(repo, environment=False)) == []

"""benchmarks/test_times.py: a test target timed as on a new user's machine, appended to its record."""

import json
import sys
from pathlib import Path

import pytest

from benchmarks import test_times


def test_pytest_summaries_reads_both_closing_line_forms():
    output = (
        "........\n===== 70 passed, 2 skipped in 250.61s (0:04:10) =====\n"
        "968 passed, 3 skipped in 240.93s (0:04:00)\n"
        "1 failed, 2 passed, 1 warning in 3.00s\nno tests ran in 0.12s\n"
    )
    assert test_times.pytest_summaries(output) == [
        "70 passed, 2 skipped",
        "968 passed, 3 skipped",
        "1 failed, 2 passed, 1 warning",
        "no tests ran",
    ]


def test_run_timed_keeps_the_output_and_the_exit_status(tmp_path, capsys):
    code = "import sys; print('hola'); sum(range(10_000_000)); sys.exit(3)"
    run = test_times.run_timed([sys.executable, "-c", code], env={}, cwd=tmp_path)
    assert run["returncode"] == 3
    assert run["output"] == "hola\n"
    assert "hola" in capsys.readouterr().out
    assert run["user_seconds"] > 0 and run["wall_seconds"] >= run["user_seconds"] - 0.1


def test_fresh_home_env_drops_the_course_caches_and_forces_the_precision(monkeypatch, tmp_path):
    for name in ("COURSE_DATA_MIRROR", "COURSE_CACHE_DIR", "KERAS_HOME", "XDG_CACHE_HOME", "COURSE_PRECISION"):
        monkeypatch.setenv(name, "/somewhere")
    env = test_times.fresh_home_env(tmp_path, "float32")
    assert env["HOME"] == str(tmp_path) and env["COURSE_PRECISION"] == "float32"
    assert not {"COURSE_DATA_MIRROR", "COURSE_CACHE_DIR", "KERAS_HOME", "XDG_CACHE_HOME"} & set(env)
    assert "COURSE_PRECISION" not in test_times.fresh_home_env(tmp_path, "auto")


MAKEFILE = """\
venv:
\tmkdir -p .venv && touch .venv/.installed
test:
\techo "$$HOME" > home.txt
\ttest -z "$$(ls -A $$HOME)"
\ttest "$$COURSE_PRECISION" = float32
\techo "3 passed, 1 skipped in 0.01s"
"""


def test_time_target_runs_make_with_a_new_empty_home_and_times_the_venv_apart(tmp_path, capsys):
    clone = tmp_path / "clone"
    clone.mkdir()
    (clone / "Makefile").write_text(MAKEFILE)
    entry = test_times.time_target("test", cwd=clone)
    assert entry["result"] == "rc 0: 3 passed, 1 skipped", entry
    assert entry["target"] == "make test" and entry["precision"] == "float32"
    assert "venv_seconds" in entry and entry["shared_data"] is False
    assert not Path((clone / "home.txt").read_text().strip()).exists()  # the new home is removed afterwards
    again = test_times.time_target("test", cwd=clone)  # .venv exists now: not timed again
    assert "venv_seconds" not in again


def test_append_run_keeps_the_runs_already_recorded(tmp_path):
    record = tmp_path / "test_times.json"
    record.write_text(json.dumps({"limits_minutes": {"make test": 5}, "runs": [{"target": "make test"}]}))
    test_times.append_run({"target": "make test-fast"}, record)
    assert [r["target"] for r in json.loads(record.read_text())["runs"]] == ["make test", "make test-fast"]


def test_append_run_to_a_broken_record_says_what_to_do_and_writes_nothing(tmp_path):
    record = tmp_path / "test_times.json"
    record.write_text('{"runs": [')
    with pytest.raises(SystemExit, match="git checkout"):
        test_times.append_run({"target": "make test"}, record)
    assert record.read_text() == '{"runs": ['


def test_main_regenerates_the_readme_after_recording_in_the_courses_record(monkeypatch, tmp_path):
    """Otherwise the next test run fails on a stale README block (seen: test-fast after test)."""
    calls = []
    monkeypatch.setattr(test_times, "time_target", lambda *a: {"result": "rc 0: 1 passed", "wall_seconds": 1.0})
    monkeypatch.setattr(test_times, "append_run", lambda entry, record: calls.append(("append", record)))
    monkeypatch.setattr(test_times.subprocess, "run", lambda args, **kw: calls.append(tuple(args)))
    assert test_times.main(["test-fast"]) == 0
    assert calls == [("append", test_times.RECORD), ("make", "-s", "readme")]
    calls.clear()
    assert test_times.main(["test-fast", "--record", str(tmp_path / "other.json")]) == 0
    assert calls == [("append", tmp_path / "other.json")]

"""The Makefile, read through `make -n`: which commands each target runs, and that they parse."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess

import pytest

from course_tools import readme, series
from course_utils.config import PROJECT_ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make no está instalado")


def _dry_run(*targets: str, **variables: str) -> list[list[str]]:
    """The commands ``make -n`` prints for ``targets`` (the venv is taken as installed)."""
    args = ["make", "-n", "-o", ".venv/.installed", *targets, *(f"{k}={v}" for k, v in variables.items())]
    out = subprocess.run(args, cwd=PROJECT_ROOT, capture_output=True, text=True, check=True).stdout
    commands: list[list[str]] = []
    for line in out.replace("\\\n", " ").splitlines():  # join continued recipe lines
        if not line.strip() or line.startswith("make"):
            continue
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";|&")
        lexer.whitespace_split = True
        current: list[str] = []
        for token in lexer:  # one shell line may chain several commands
            if token in (";", "||", "&&", "|"):
                commands.append(current)
                current = []
            else:
                current.append(token)
        commands.append(current)
    return [c for c in commands if c]


def _module_calls(commands, module):
    return [cmd[cmd.index(module) + 1 :] for cmd in commands if module in cmd and "-m" in cmd]


def test_make_test_lints_before_running_pytest():
    commands = _dry_run("test")
    names = [" ".join(c[1:3]) for c in commands]
    lint = names.index("-m ruff")
    pytest_at = names.index("-m pytest")
    assert lint < pytest_at and ["check", "."] == commands[lint][3:]
    assert _module_calls(commands, "course_tools.readme") == [["--check"]]
    assert _module_calls(commands, "course_tools.nbtools")[0][0] == "check"


def test_readme_target_regenerates_and_its_arguments_parse():
    calls = _module_calls(_dry_run("readme"), "course_tools.readme")
    assert calls == [[]]
    assert readme.parser().parse_args(calls[0]).check is False


@pytest.mark.parametrize("params", ["smoke", "gpu"])
def test_gpu_ci_runs_the_series_then_checks_its_levels(params):
    calls = _module_calls(_dry_run("gpu-ci", PARAMS=params, REQUIRE_GPU="0"), "course_tools.series")
    run, check = (series.parser().parse_args(c) for c in calls)
    assert run.params == params and run.keep_going and run.html and not run.check_levels
    assert check.check_levels == f"build/{params}/summary.json"


def test_notebooks_target_passes_params_and_args_to_the_series():
    (call,) = _module_calls(
        _dry_run("notebooks", PARAMS="smoke", ARGS="--notebooks 04 -p EPOCHS=1"), "course_tools.series"
    )
    args = series.parser().parse_args(call)
    assert args.params == "smoke" and args.notebooks == ["04"] and args.param == ["EPOCHS=1"]


def test_make_test_runs_no_notebook_through_nbval_and_make_nbval_runs_every_source():
    """Each notebook executes once in `make test` (tests/notebooks/test_notebooks.py); nbval itself is `make nbval`."""
    commands = _dry_run("test")
    *slow_calls, plain_call = _module_calls(commands, "pytest")
    assert not [a for a in plain_call if a.endswith(".ipynb")] and "not notebooks and not slow" in plain_call
    for pytest_call in slow_calls:
        assert not [a for a in pytest_call if a.endswith(".ipynb") or "nbval" in a], pytest_call
    (nbval,) = _module_calls(_dry_run("nbval"), "pytest")
    notebooks = [a for a in nbval if a.endswith(".ipynb")]
    assert "--nbval-lax" in nbval and "tests/notebooks/nbval_sanitize.cfg" in nbval
    assert len(notebooks) == len(list((PROJECT_ROOT / "source").glob("*.ipynb"))) > 0
    assert all(a.startswith("source/") for a in notebooks), notebooks
    check = _module_calls(commands, "course_tools.nbtools")[0]
    assert {a.split("/")[0] for a in check[1:]} == {"source", "notebooks"}
    (build,) = _module_calls(_dry_run("student"), "course_tools.nbtools")
    assert build[0] == "build" and all(a.startswith("source/") for a in build[1:])


def test_make_test_runs_each_test_once_the_unit_tests_as_a_plain_clone():
    """The first pass runs what the second leaves out, or what needs the files at hand; the second, the rest.

    The second pass runs in a copy with no ../shared beside it and no COURSE_DATA_MIRROR.
    """
    commands = _dry_run("test")
    *slow_calls, plain_call = _module_calls(commands, "pytest")
    first = [c[c.index("-m") + 1] for c in slow_calls]
    plain = plain_call[plain_call.index("-m") + 1]
    assert set(first) == {"notebooks or slow or local_files"} and plain == "not notebooks and not slow"
    # The slow tests split by file over processes: each file in exactly one of them, every file in one.
    paths = [[a for a in c if a.startswith("tests")] for c in slow_calls]
    ignored = [[a.split("=", 1)[1] for a in c if a.startswith("--ignore=")] for c in slow_calls]
    assert sorted(p for c in paths for p in c if p != "tests") == sorted(p for c in ignored for p in c), slow_calls
    assert [c for c in paths if c == ["tests"]], "one slow pass collects the whole tests folder, less what it ignores"
    (fast,) = _module_calls(_dry_run("test-fast"), "pytest")
    assert fast[fast.index("-m") + 1] == plain, "test-fast runs what the plain copy runs"
    env = next(c for c in commands if c[:1] == ["env"])
    assert ["-u", "COURSE_DATA_MIRROR"] == env[1:3]
    unset = {env[i + 1] for i, a in enumerate(env) if a == "-u"}
    assert {"COURSE_CACHE_DIR", "KERAS_HOME", "COURSE_DATA_MIRROR"} <= unset, "a new user has none of these"
    home = next(a for a in env if a.startswith("HOME="))[len("HOME=") :]
    assert home.endswith("/home") and home != os.path.expanduser("~"), "the plain pass has its own empty home"
    made = next(c for c in commands if "mkdir" in c)
    assert home in made, "the empty home folder is created for the plain pass"
    cd = next(c for c in commands if c[:1] == ["cd"] and c[1].endswith("/repo"))
    assert not cd[1].startswith(str(PROJECT_ROOT)), "la copia no debe estar dentro del repositorio"


def _exported(variable: str, **variables: str) -> str:
    """The value the Makefile exports to its recipes' environment as ``variable``."""
    show = f'show-env:\n\t@echo "$${variable}"'
    args = ["make", "-s", "--eval", show, "show-env", *(f"{k}={v}" for k, v in variables.items())]
    return subprocess.run(args, cwd=PROJECT_ROOT, capture_output=True, text=True, check=True).stdout.strip()


def test_nb_selects_one_notebook_for_test_notebooks_and_refresh():
    assert _exported("COURSE_TEST_NOTEBOOKS", NB="03") == "03"  # tests/notebooks/test_notebooks.py runs only those
    assert _exported("COURSE_TEST_NOTEBOOKS") == ""
    (nbval,) = _module_calls(_dry_run("nbval", NB="03"), "pytest")
    assert [a for a in nbval if a.endswith(".ipynb")] == ["source/03_cnn.ipynb"]
    (series_call,) = _module_calls(_dry_run("notebooks", NB="03"), "course_tools.series")
    assert series_call[series_call.index("--notebooks") + 1] == "03"
    (refresh,) = _module_calls(_dry_run("refresh-outputs", NB="03"), "course_tools.nbtools")
    assert refresh == ["refresh", "source/03_cnn.ipynb"]


def test_grade_runs_the_grader_on_the_submissions_folder():
    calls = _module_calls(_dry_run("grade", SUBMISSIONS="entregas", ARGS="--timeout 300 --jobs 2"), "grading")
    assert calls == [["entregas", "--timeout", "300", "--jobs", "2"]]
    missing = subprocess.run(["make", "-s", "-o", ".venv/.installed", "grade"], cwd=PROJECT_ROOT, capture_output=True)
    assert missing.returncode != 0 and "Falta la carpeta" in missing.stdout.decode()


FAKE_PYTEST = """#!/bin/sh
case "$*" in
  *"not notebooks"*) exit $PLAIN_RC;;
  *--ignore=*) exit $SLOW_RC;;
  *test_grading.py*) exit $GRADING_RC;;
  *) exit 99;;
esac
"""


@pytest.mark.parametrize(
    ("slow", "grading", "plain", "passes"),
    [
        (0, 0, 0, True),
        (5, 5, 0, True),  # ARGS selects only unit tests: the slow processes collect nothing
        (0, 5, 5, True),  # ARGS selects only slow tests: the plain pass collects nothing
        (5, 5, 5, False),  # ARGS selects nothing at all
        (1, 0, 0, False),
        (0, 2, 0, False),
        (0, 0, 1, False),
    ],
)
def test_make_test_fails_when_a_pass_fails_or_when_no_pass_ran_a_test(tmp_path, slow, grading, plain, passes):
    """pytest's status 5 (nothing collected, as with ``ARGS=-k ...``) passes in any process, but not in all three."""
    fake = tmp_path / "python"
    fake.write_text(FAKE_PYTEST)
    fake.chmod(0o755)
    env = dict(os.environ, SLOW_RC=str(slow), GRADING_RC=str(grading), PLAIN_RC=str(plain))
    args = ["make", "-s", "-o", ".venv/.installed", "-o", "check-notebooks", "-o", "lint", "test", f"PY={fake}"]
    done = subprocess.run(args, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    assert (done.returncode == 0) is passes, done.stdout + done.stderr

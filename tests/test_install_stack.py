"""Installing beside the user's TensorFlow: the NumPy conflict is named in Spanish; the compatibility
matrix script (ci/compat.py) reads its stacks and reports its results."""

from __future__ import annotations

import importlib.util
import sys
from importlib import metadata
from pathlib import Path

import pytest

from course_utils import setup

ROOT = Path(__file__).resolve().parents[1]


def _compat():
    spec = importlib.util.spec_from_file_location("compat", ROOT / "ci" / "compat.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["compat"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "tf_v, np_v, conflict",
    [
        ("2.16.1", "2.4.6", True),
        ("2.17.1", "2.0.2", True),
        ("2.16.2", "1.26.4", False),
        ("2.18.0", "2.1.3", False),
        ("2.20.0", "2.1.3", False),
        ("2.21.0", "1.26.4", False),
    ],
)
def test_numpy_conflict_only_for_tensorflow_built_for_numpy1(tf_v, np_v, conflict):
    msg = setup.numpy_conflict({"tensorflow": tf_v, "numpy": np_v})
    assert (msg is not None) == conflict
    if conflict:
        assert tf_v in msg and np_v in msg and 'pip install "numpy<2"' in msg and "reinicia" in msg


def test_setup_notebook_stops_before_importing_a_broken_tensorflow(monkeypatch):
    real = metadata.version
    fake = {"tensorflow": "2.16.1", "numpy": "2.4.6"}
    monkeypatch.setattr(metadata, "version", lambda name: fake.get(name) or real(name))
    with pytest.raises(RuntimeError, match=r"numpy<2"):
        setup.setup_notebook(quiet=True)


def test_installed_stack_has_no_conflict():
    assert setup.numpy_conflict() is None


def test_compat_stacks_and_report(tmp_path):
    compat = _compat()
    assert compat.stacks() == ["colab", "floor", "pins"]
    junit = tmp_path / "unit.xml"
    junit.write_text(
        '<?xml version="1.0"?><testsuites><testsuite name="pytest" tests="10" failures="1" '
        'errors="2" skipped="3"></testsuite></testsuites>'
    )
    counts = compat.junit_counts(junit)
    assert counts == {"passed": 4, "failed": 1, "errors": 2, "skipped": 3}
    record = {
        "stack": "floor",
        "seconds": 120.0,
        "versions": "3.11.7 2.16.1 3.8.0 1.26.4",
        "unit_tests": counts,
        "steps": [
            {"step": "install-keeps-tf", "ok": False, "seconds": 42.0},
            {"step": "unit-tests", "ok": False, "seconds": 60.0},
        ],
    }
    row = compat.markdown([record]).splitlines()[2]
    assert row.startswith("| floor | 3.11.7 2.16.1 3.8.0 1.26.4 | falla (42 s) | 4 ok, 1 fallos, 2 errores")
    assert row.endswith("| — | 2.0 min |")
    (tmp_path / "floor").mkdir()
    (tmp_path / "floor" / "result.json").write_text(__import__("json").dumps({**record, "ok": False}))
    assert compat.main(["--report", "--out", str(tmp_path)]) == 1
    assert (tmp_path / "summary.md").read_text().splitlines()[2] == row
    with pytest.raises(SystemExit, match="Pila desconocida"):
        compat.run_stack("nada", python=sys.executable, venv_root=tmp_path, out_root=tmp_path)

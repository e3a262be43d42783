"""Installing beside the user's TensorFlow: the NumPy conflict is named in Spanish; the compatibility
matrix script (ci/compat.py) reads its stacks and reports its results."""

from __future__ import annotations

import importlib.util
import sys
from importlib import metadata
from pathlib import Path

import pytest

from course_utils import start

ROOT = Path(__file__).resolve().parents[2]


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
    msg = start.numpy_conflict({"tensorflow": tf_v, "numpy": np_v})
    assert (msg is not None) == conflict
    if conflict:
        assert tf_v in msg and np_v in msg and 'pip install "numpy<2"' in msg and "reinicia" in msg


def test_setup_notebook_stops_before_importing_a_broken_tensorflow(monkeypatch):
    real = metadata.version
    fake = {"tensorflow": "2.16.1", "numpy": "2.4.6"}
    monkeypatch.setattr(metadata, "version", lambda name: fake.get(name) or real(name))
    with pytest.raises(RuntimeError, match=r"numpy<2"):
        start.setup_notebook(42, quiet=True)


def test_installed_stack_has_no_conflict():
    assert start.numpy_conflict() is None


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


def _fake_python(root, version):
    exe = root / "versions" / version / "bin" / f"python{version.rsplit('.', 1)[0]}"
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    return exe


def test_find_python_takes_pyenvs_newest_patch_then_path_and_says_how_to_install(tmp_path):
    compat = _compat()
    root = tmp_path / "pyenv"
    _fake_python(root, "3.13.0")
    newest = _fake_python(root, "3.13.10")
    _fake_python(root, "3.12.1")
    (root / "versions" / "3.13-dev").mkdir()  # not a release: ignored
    empty_path = str(tmp_path / "nothing")
    assert compat.find_python("3.13", pyenv_root=root, path=empty_path) == str(newest)
    on_path = tmp_path / "bin"
    on_path.mkdir()
    exe = on_path / "python3.14"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    assert compat.find_python("3.14", pyenv_root=root, path=str(on_path)) == str(exe)
    with pytest.raises(SystemExit, match=r"No encuentro Python 3\.15.*pyenv install 3\.15.*COMPAT_PYTHON"):
        compat.find_python("3.15", pyenv_root=root, path=str(on_path))
    assert compat.find_python(None) == sys.executable
    with pytest.raises(SystemExit, match="No encuentro el intérprete"):
        compat.find_python(str(tmp_path / "no-such-python"))


def test_stack_pythons_are_colabs_and_the_oldest_supported(tmp_path):
    compat = _compat()
    assert compat.STACK_PYTHON["colab"] == "3.13"
    assert compat.STACK_PYTHON["floor"] == compat.oldest_python() == "3.11"
    bad = tmp_path / "pyproject.toml"
    bad.write_text('[project]\nname = "x"\n')
    with pytest.raises(SystemExit, match="requires-python"):
        compat.oldest_python(bad)


def test_a_missing_interpreter_stops_before_any_stack_runs(tmp_path, monkeypatch):
    compat = _compat()
    ran = []
    monkeypatch.setattr(compat, "run_stack", lambda *a, **k: ran.append(a))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SystemExit, match="No encuentro Python 3.99"):
        compat.main(["colab", "floor", "--python", "3.99", "--out", str(tmp_path)])
    assert ran == []


def test_cpu_flags_from_cpuinfo():
    compat = _compat()
    info = "processor: 0\nflags\t\t: fpu avx2 fma avx512f avx512_bf16 sse\n\nprocessor: 1\nflags: fpu\n"
    assert compat.cpu_flags(info) == ["avx2", "avx512f", "avx512_bf16", "fma"]
    assert compat.cpu_flags("") == []


def _result(stack, versions, ok=True, date="2026-12-02T01:00:00Z"):
    return {
        "stack": stack,
        "versions": versions,
        "ok": ok,
        "seconds": 600.0,
        "date": date,
        "cpu_flags": ["avx2"],
        "cores": 2,
        "unit_tests": {"passed": 9, "failed": 0 if ok else 1, "errors": 0, "skipped": 1},
        "steps": [
            {"step": "install-keeps-tf", "ok": True, "seconds": 40.0},
            {"step": "unit-tests", "ok": ok, "seconds": 70.0},
            {"step": "smoke-series", "ok": True, "seconds": 300.0},
        ],
    }


def test_record_keeps_one_entry_per_stack_and_python_and_the_readme_table_shows_it(tmp_path):
    from course_tools import compat_table

    compat = _compat()
    path = tmp_path / "compat.json"
    compat.record_results([_result("colab", "3.13.0 2.20.0 3.13.2 2.1.3", ok=False)], path)
    compat.record_results([_result("floor", "3.11.7 2.16.1 3.8.0 1.26.4")], path)
    entries = compat.record_results([_result("colab", "3.13.1 2.20.0 3.13.2 2.1.3", date="2026-12-03T00:00:00Z")], path)
    assert [(e["stack"], e["python"], e["outcome"]) for e in entries] == [
        ("colab", "3.13.1", "ok"),
        ("floor", "3.11.7", "ok"),
    ]
    compat.record_results([_result("colab", "3.12.1 2.20.0 3.13.2 2.1.3", ok=False)], path)
    section = compat_table.compat_section(path)
    rows = [line for line in section.splitlines() if line.startswith("| colab") or line.startswith("| floor")]
    assert rows[0].startswith("| colab | 3.12.1 | 2.20.0 | 3.13.2 | 2.1.3 | ok (40 s) | 9 ok, 1 fallos, 0 errores")
    assert "| falla (unit-tests) |" in rows[0]
    assert rows[1].startswith("| colab | 3.13.1 |") and "| ok | 10.0 min | 2026-12-03 | 2 núcleos; avx2 |" in rows[1]
    assert rows[2].startswith("| floor | 3.11.7 | 2.16.1 | 3.8.0 | 1.26.4 |")
    assert "make compat" in compat_table.compat_section(tmp_path / "none.json")


def test_record_from_a_folder_of_results(tmp_path):
    compat = _compat()
    (tmp_path / "colab").mkdir()
    (tmp_path / "colab" / "result.json").write_text(
        __import__("json").dumps(_result("colab", "3.13.0 2.20.0 3.13.2 2.1.3"))
    )
    record = tmp_path / "compat.json"
    assert compat.main(["--record-from", str(tmp_path), "--record", str(record)]) == 0
    assert __import__("json").loads(record.read_text())["runs"][0]["python"] == "3.13.0"
    with pytest.raises(SystemExit, match="No hay ningún"):
        compat.main(["--record-from", str(tmp_path / "vacío"), "--record", str(record)])


def test_readme_compat_table_is_the_recorded_one():
    from course_tools import compat_table

    readme = (ROOT / "README.md").read_text()
    assert compat_table.compat_section().strip() in readme
    runs = __import__("json").loads(compat_table.COMPAT_RECORD.read_text())["runs"]
    assert {r["stack"] for r in runs} <= set(_compat().stacks()) and all(r["python"][0].isdigit() for r in runs)

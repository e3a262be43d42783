"""course_tools.nbtools: sources and student versions, stripping outputs, the house rules and the CLI."""

from __future__ import annotations

import json

import nbformat
import pytest

from course_tools import nbtools


def _notebook(*cells, kernelspec=None):
    """A notebook from ``(kind, source, tags)`` triples, with the standard kernelspec."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = dict(kernelspec or nbtools.KERNELSPEC)
    nb.metadata["language_info"] = json.loads(json.dumps(nbtools.LANGUAGE_INFO))
    make = {"md": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell}
    nb.cells = [make[kind](source, metadata={"tags": list(tags)} if tags else {}) for kind, source, tags in cells]
    return json.loads(nbformat.writes(nb))


CELLS = [
    ("md", "# Título\nTexto con **negrita**.", ()),
    ("code", 'PARAM_SET = "auto"', ("parameters",)),
    ("code", "print(1 + 1)", ("nbval-check-output",)),
    ("code", "x = 3  # SOLUTION\ndef f():\n    # BEGIN SOLUTION\n    return x\n    # END SOLUTION", ()),
]


def _sample(without_parameters_tag=False, extra=()):
    cells = [(k, s, tuple(x for x in t if not (without_parameters_tag and x == "parameters"))) for k, s, t in CELLS]
    return _notebook(*cells, *extra)


def _executed(nb):
    """Pretend the notebook ran: outputs, counts and papermill metadata everywhere."""
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            cell["execution_count"] = i
            cell["outputs"] = [nbformat.v4.new_output("stream", name="stdout", text=f"salida {i}\n")]
            cell["metadata"]["papermill"] = {"duration": 1.0}
            cell["metadata"]["execution"] = {"iopub.status.busy": "x"}
    nb["metadata"]["papermill"] = {"parameters": {}}
    return nb


def test_is_checked_by_tag_only():
    nb = _sample()
    assert nbtools.is_checked(nb["cells"][2]) and not nbtools.is_checked(nb["cells"][3])
    assert not nbtools.is_checked(nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(1)"))


def test_strip_keeps_only_checked_outputs_and_sets_the_standard_kernelspec():
    nb = nbtools.strip(
        _executed(_notebook(*CELLS, kernelspec={"name": "python3", "display_name": "Python 3", "language": "python"}))
    )
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    # Checked cells keep their reference output (with the constant count nbval needs).
    assert [c["execution_count"] for c in code] == [None, nbtools.CHECKED_EXECUTION_COUNT, None]
    assert [bool(c["outputs"]) for c in code] == [False, True, False]
    assert all(o.get("execution_count") is None for o in code[1]["outputs"])
    assert all("papermill" not in c["metadata"] and "execution" not in c["metadata"] for c in code)
    assert "papermill" not in nb["metadata"]
    assert nb["metadata"]["kernelspec"] == nbtools.KERNELSPEC
    nb2 = nbtools.strip(_executed(_sample()), keep_checked=False)
    assert not any(c["outputs"] for c in nb2["cells"] if c["cell_type"] == "code")


def test_student_version_has_no_outputs_and_no_solutions():
    student = nbtools.student_version(nbtools.strip(_executed(_sample())))
    code = [c for c in student["cells"] if c["cell_type"] == "code"]
    assert not any(c["outputs"] or c["execution_count"] for c in code)
    text = "".join(code[2]["source"])
    assert "SOLUTION" not in text and "return x" not in text
    assert text.startswith("x = ...") and "\n    pass  #" in text
    solution = nbtools.solution_version(_executed(_sample()))
    assert "return x" in "".join(solution["cells"][3]["source"])
    assert not any(c.get("outputs") for c in solution["cells"])


def _write(path, nb):
    path.write_text(nbtools.dumps(nb))
    return path


def test_source_problems_clean_and_dirty(tmp_path):
    src = tmp_path / "source"
    src.mkdir()
    clean = nbtools.strip(_executed(_sample()))
    assert nbtools.source_problems(_write(src / "ok.ipynb", clean)) == []

    dirty = _executed(
        _sample(
            without_parameters_tag=True,
            extra=[("code", 'open("/content/drive/x")', ()), ("code", "# NBVAL_CHECK_OUTPUT\n1", ())],
        )
    )
    dirty["cells"][2]["outputs"] = []
    dirty["metadata"]["kernelspec"]["display_name"] = "Python 3"
    text = "\n".join(nbtools.problems(_write(src / "sucio.ipynb", dirty)))
    for expected in (
        "etiqueta 'parameters'",
        "ruta /content/ fija",
        "guarda execution_count",
        "guarda salidas que nbval no revisa",
        "no tiene salida de referencia",
        "usa el comentario NBVAL_CHECK_OUTPUT",
        "kernelspec",
    ):
        assert expected in text, expected

    broken = src / "roto.ipynb"
    broken.write_text("{no es json")
    assert "no es JSON válido" in nbtools.problems(broken)[0]


def test_student_problems_catch_outputs_solutions_and_drift(tmp_path):
    source = _write(tmp_path / "fuente.ipynb", nbtools.strip(_executed(_sample())))
    student = tmp_path / "alumno.ipynb"
    student.write_text(nbtools.dumps(nbtools.student_version(nbtools.read(source))))
    assert nbtools.student_problems(student, source) == []
    with_outputs = _write(tmp_path / "b.ipynb", nbtools.strip(_executed(_sample())))
    text = "\n".join(nbtools.student_problems(with_outputs, source))
    assert "guarda salidas" in text and "contiene una solución" in text and "no coincide" in text


def test_build_check_and_solutions_cli(tmp_path, monkeypatch, capsys):
    src_dir, student_dir = tmp_path / "source", tmp_path / "notebooks"
    src_dir.mkdir()
    student_dir.mkdir()
    monkeypatch.setattr(nbtools, "SOURCE_DIR", src_dir)
    monkeypatch.setattr(nbtools, "STUDENT_DIR", student_dir)
    source = _write(src_dir / "a.ipynb", nbtools.strip(_executed(_sample())))
    assert nbtools.main(["build", str(source)]) == 0
    assert nbtools.main(["check", str(source), str(student_dir / "a.ipynb")]) == 0
    assert "2 cuadernos en orden" in capsys.readouterr().out
    (student_dir / "a.ipynb").write_text(nbtools.dumps(nbtools.read(source)))
    assert nbtools.main(["check", str(student_dir / "a.ipynb")]) == 1
    assert nbtools.main(["solutions", str(tmp_path / "sol"), str(source)]) == 0
    assert "return x" in (tmp_path / "sol" / "a.ipynb").read_text()
    assert nbtools.main([]) == 2 and nbtools.main(["borrar"]) == 2 and nbtools.main(["solutions"]) == 2
    assert "uso:" in capsys.readouterr().out


def test_refresh_reexecutes_keeps_only_checked_outputs_and_builds(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_PARAM_SET", "gpu")
    src_dir, student_dir = tmp_path / "source", tmp_path / "notebooks"
    src_dir.mkdir()
    student_dir.mkdir()
    monkeypatch.setattr(nbtools, "STUDENT_DIR", student_dir)
    path = _write(
        src_dir / "mini.ipynb",
        _notebook(
            ("code", 'import os\nprint("sin comprobar")', ("parameters",)),
            ("code", 'print(os.environ["COURSE_PARAM_SET"], 6 * 7)', ("nbval-check-output",)),
        ),
    )
    nbtools.refresh([path], artifacts_dir=tmp_path / "art")
    first, checked = nbtools.read(path)["cells"]
    assert first["outputs"] == [] and first["execution_count"] is None
    assert checked["outputs"] and "".join(checked["outputs"][0]["text"]) == "smoke 42\n", (
        "refresh runs with the smoke set"
    )
    assert nbtools.source_problems(path) == []
    assert nbtools.student_problems(student_dir / "mini.ipynb", path) == []
    import os

    assert os.environ["COURSE_PARAM_SET"] == "gpu", "the caller's environment is restored"


def test_stored_notebooks_follow_the_rules_and_students_match_their_sources():
    sources = sorted(nbtools.SOURCE_DIR.glob("*.ipynb"))
    students = sorted(nbtools.STUDENT_DIR.glob("*.ipynb"))
    assert [p.name for p in sources] == [p.name for p in students]
    assert [m for p in (*sources, *students) for m in nbtools.problems(p)] == []


def test_stored_kernelspec_is_what_a_standard_install_registers():
    """JupyterLab marks a notebook modified when its stored kernelspec differs from the installed one."""
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    assert {"name": "python3", "display_name": spec.display_name, "language": spec.language} == nbtools.KERNELSPEC


def test_stored_notebooks_carry_the_language_version_jupyterlab_compares():
    """Without ``language_info.version`` JupyterLab marks every notebook modified when its kernel connects."""
    for path in (*sorted(nbtools.SOURCE_DIR.glob("*.ipynb")), *sorted(nbtools.STUDENT_DIR.glob("*.ipynb"))):
        info = nbtools.read(path)["metadata"].get("language_info", {})
        assert info.get("version") == nbtools.REFERENCE_PYTHON, (
            f"{path.name}: language_info.version = {info.get('version')!r}"
        )


def test_blank_solutions_blocks_and_lines():
    src = "a = 1\nn = 3 * 4  # SOLUTION\ndef f(x):\n    # BEGIN SOLUTION\n    y = x + 1\n    return y\n    # END SOLUTION\n"
    blank = nbtools.blank_solutions(src)
    assert blank == f"a = 1\nn = {nbtools.PLACEHOLDER}\ndef f(x):\n    {nbtools.BLOCK_PLACEHOLDER}\n"
    namespace = {}
    exec(blank, namespace)  # the student version runs
    assert namespace["n"] is Ellipsis and namespace["f"](1) is None
    assert nbtools.has_solution(src) and not nbtools.has_solution(blank)
    with pytest.raises(ValueError, match="END SOLUTION"):
        nbtools.blank_solutions("# BEGIN SOLUTION\nx = 1")

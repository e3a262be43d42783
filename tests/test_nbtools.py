"""course_utils.nbtools: stripping outputs, the house rules and the CLI."""

from __future__ import annotations

import json

import nbformat

from course_utils import nbtools


def _notebook(*cells):
    """A notebook from ``(kind, source, tags)`` triples, with a Python 3 kernelspec."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    make = {"md": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell}
    nb.cells = [make[kind](source, metadata={"tags": list(tags)} if tags else {}) for kind, source, tags in cells]
    return nb


CELLS = [("md", "# Título\nTexto con **negrita**.", ()),
         ("code", 'PARAM_SET = "auto"', ("parameters",)),
         ("code", "# NBVAL_CHECK_OUTPUT\nprint(1 + 1)", ()),
         ("code", "x = 3", ())]


def _sample(without_parameters_tag=False, extra=()):
    cells = [(k, s, () if without_parameters_tag else t) for k, s, t in CELLS]
    return _notebook(*cells, *extra)


def _executed(nb):
    """Pretend the notebook ran: outputs, counts and papermill metadata everywhere."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.execution_count = i
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"salida {i}\n")]
            cell.metadata["papermill"] = {"duration": 1.0}
            cell.metadata["execution"] = {"iopub.status.busy": "x"}
    nb.metadata["papermill"] = {"parameters": {}}
    return nb


def test_is_checked_by_mark():
    nb = _sample()
    assert nbtools.is_checked(nb.cells[2]) and not nbtools.is_checked(nb.cells[3])


def test_is_checked_by_tag():
    cell = nbformat.v4.new_code_cell("print(1)", metadata={"tags": ["nbval-check-output"]})
    assert nbtools.is_checked(cell)


def test_strip_keeps_only_checked_outputs():
    nb = _executed(_sample())
    nbtools.strip(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    # Checked cells keep their reference output (with the constant count nbval needs, where defined).
    assert [c.execution_count for c in code] == [None, nbtools.CHECKED_EXECUTION_COUNT, None]
    assert [bool(c.outputs) for c in code] == [False, True, False]
    assert all(o.get("execution_count") is None for o in code[1].outputs)
    assert all("papermill" not in c.metadata and "execution" not in c.metadata for c in code)
    assert "papermill" not in nb.metadata
    nb2 = _executed(_sample())
    nbtools.strip(nb2, keep_checked=False)
    assert not any(c.outputs for c in nb2.cells if c.cell_type == "code")


def _write(path, nb):
    path.write_text(json.dumps(nb, indent=1))
    return path


def test_problems_clean_and_dirty(tmp_path):
    clean = nbtools.strip(_executed(_sample()))
    assert nbtools.problems(_write(tmp_path / "ok.ipynb", clean)) == []

    dirty = _executed(_sample(without_parameters_tag=True, extra=[("code", 'open("/content/drive/x")', ())]))
    dirty.cells[2].outputs = []
    msgs = nbtools.problems(_write(tmp_path / "sucio.ipynb", dirty))
    text = "\n".join(msgs)
    assert "ninguna celda tiene la etiqueta 'parameters'" in text
    assert "ruta /content/ fija" in text
    assert "guarda execution_count" in text
    assert "guarda salidas que nbval no revisa" in text
    assert "no tiene salida de referencia" in text

    broken = tmp_path / "roto.ipynb"
    broken.write_text("{no es json")
    assert "no es JSON válido" in nbtools.problems(broken)[0]


def test_main_check_strip_and_usage(tmp_path, capsys):
    path = _write(tmp_path / "a.ipynb", _executed(_sample()))
    assert nbtools.main(["check", str(path)]) == 1
    assert "a.ipynb" in capsys.readouterr().out
    assert nbtools.main(["strip", str(path)]) == 0
    assert nbtools.main(["check", str(path)]) == 0
    assert "1 cuadernos sin salidas sueltas" in capsys.readouterr().out
    nbformat.validate(nbformat.read(path, as_version=4))
    assert nbtools.main([]) == 2 and nbtools.main(["borrar"]) == 2
    assert "uso:" in capsys.readouterr().out


def test_refresh_reexecutes_and_keeps_only_checked_outputs(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_PARAM_SET", "gpu")
    path = tmp_path / "mini.ipynb"
    nbformat.write(_notebook(("code", 'import os\nprint("sin comprobar")', ()),
                             ("code", '# NBVAL_CHECK_OUTPUT\nprint(os.environ["COURSE_PARAM_SET"], 6 * 7)', ())), path)
    nbtools.refresh([path], artifacts_dir=tmp_path / "art")
    nb = nbformat.read(path, as_version=4)
    first, checked = nb.cells
    assert first.outputs == [] and first.execution_count is None
    assert checked.outputs and checked.outputs[0]["text"] == "smoke 42\n", "refresh runs with the smoke set"
    assert nbtools.problems(path) == ["mini.ipynb: ninguna celda tiene la etiqueta 'parameters'"]
    import os

    assert os.environ["COURSE_PARAM_SET"] == "gpu", "the caller's environment is restored"

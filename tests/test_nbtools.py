"""course_utils.nbtools: percent-format notebooks, stripping outputs, the house rules and the CLI."""

from __future__ import annotations

import json

import nbformat

from course_utils import nbtools

PERCENT = '''# %% [markdown]
# # Título
# Texto con **negrita**.

# %% tags=["parameters"]
PARAM_SET = "auto"

# %%
# NBVAL_CHECK_OUTPUT
print(1 + 1)

# %%
x = 3
'''


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


def test_from_percent_builds_cells_tags_and_ids():
    nb = nbtools.from_percent(PERCENT)
    nbformat.validate(nb)
    assert [c.cell_type for c in nb.cells] == ["markdown", "code", "code", "code"]
    assert nb.cells[0].source == "# Título\nTexto con **negrita**."
    assert nb.cells[1].metadata["tags"] == ["parameters"] and nb.cells[1].source == 'PARAM_SET = "auto"'
    assert [c["id"] for c in nb.cells] == ["c00", "c01", "c02", "c03"]
    assert nbtools.is_checked(nb.cells[2]) and not nbtools.is_checked(nb.cells[3])
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_is_checked_by_tag():
    cell = nbformat.v4.new_code_cell("print(1)", metadata={"tags": ["nbval-check-output"]})
    assert nbtools.is_checked(cell)


def test_strip_keeps_only_checked_outputs():
    nb = _executed(nbtools.from_percent(PERCENT))
    nbtools.strip(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    # Checked cells keep their reference output (with the constant count nbval needs, where defined).
    reference_count = getattr(nbtools, "CHECKED_EXECUTION_COUNT", None)
    assert [c.execution_count for c in code] == [None, reference_count, None]
    assert [bool(c.outputs) for c in code] == [False, True, False]
    assert all(o.get("execution_count") is None for o in code[1].outputs)
    assert all("papermill" not in c.metadata and "execution" not in c.metadata for c in code)
    assert "papermill" not in nb.metadata
    nb2 = _executed(nbtools.from_percent(PERCENT))
    nbtools.strip(nb2, keep_checked=False)
    assert not any(c.outputs for c in nb2.cells if c.cell_type == "code")


def _write(path, nb):
    path.write_text(json.dumps(nb, indent=1))
    return path


def test_problems_clean_and_dirty(tmp_path):
    clean = nbtools.strip(_executed(nbtools.from_percent(PERCENT)))
    assert nbtools.problems(_write(tmp_path / "ok.ipynb", clean)) == []

    dirty = _executed(nbtools.from_percent(PERCENT.replace('tags=["parameters"]', "") +
                                           '\n# %%\nopen("/content/drive/x")\n'))
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
    path = _write(tmp_path / "a.ipynb", _executed(nbtools.from_percent(PERCENT)))
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
    text = ('# %%\nimport os\nprint("sin comprobar")\n\n'
            '# %%\n# NBVAL_CHECK_OUTPUT\nprint(os.environ["COURSE_PARAM_SET"], 6 * 7)\n')
    path = tmp_path / "mini.ipynb"
    nbformat.write(nbtools.from_percent(text), path)
    nbtools.refresh([path], artifacts_dir=tmp_path / "art")
    nb = nbformat.read(path, as_version=4)
    first, checked = nb.cells
    assert first.outputs == [] and first.execution_count is None
    assert checked.outputs and checked.outputs[0]["text"] == "smoke 42\n", "refresh runs with the smoke set"
    assert nbtools.problems(path) == ["mini.ipynb: ninguna celda tiene la etiqueta 'parameters'"]
    import os

    assert os.environ["COURSE_PARAM_SET"] == "gpu", "the caller's environment is restored"

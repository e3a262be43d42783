"""The parameter schema agrees with the notebooks: every parameters cell and resolve call, both ways."""

from __future__ import annotations

import ast
import json

import pytest

from course_utils.config import PROJECT_ROOT as ROOT
from course_utils.params import schema
from course_utils.params.resolve import NOTEBOOKS

NOTEBOOK_DIR = ROOT / "notebooks"


def _cells(name):
    nb = json.loads((NOTEBOOK_DIR / f"{name}.ipynb").read_text())
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def _parameters_cell(name):
    cells = _cells(name)
    (index,) = [i for i, c in enumerate(cells) if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert index == 0, f"{name}: the parameters cell is the first code cell"
    return ast.parse("".join(cells[index]["source"])), ast.parse("".join(cells[index + 1]["source"]))


def _expected(name):
    return {"PARAM_SET"} | {p.upper() for p in schema.notebook(name).cell_parameters}


def test_every_notebook_file_has_a_schema_entry_and_back():
    on_disk = sorted(p.stem for p in NOTEBOOK_DIR.glob("*.ipynb"))
    assert on_disk == sorted(NOTEBOOKS)
    assert list(NOTEBOOKS) == sorted(NOTEBOOKS), "the schema lists the notebooks in their order"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_parameters_cell_matches_the_schema(name):
    cell, _ = _parameters_cell(name)
    assigned = {t.id for node in cell.body if isinstance(node, ast.Assign) for t in node.targets}
    expected = _expected(name)
    assert not assigned - expected, f"{name}: in the parameters cell but not in the schema"
    assert not expected - assigned, f"{name}: in the schema but not in the parameters cell"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_start_call_follows_the_parameters_cell(name):
    _, start_cell = _parameters_cell(name)
    calls = [
        n
        for n in ast.walk(start_cell)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "start"
    ]
    assert len(calls) == 1, f"{name}: the cell after the parameters cell calls start once"
    (call,) = calls
    assert ast.literal_eval(call.args[0]) == name
    assert ast.unparse(call.args[1]) == "globals()"


def test_hardware_options_stay_out_of_the_students_cell():
    for nb in schema.NOTEBOOKS:
        assert not set(nb.cell_parameters) & set(schema.HARDWARE_ONLY), nb.name
        assert set(nb.uses) <= set(schema.COMMON), nb.name


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_papermill_reads_the_parameters_cell_despite_colab_annotations(name):
    import papermill

    found = papermill.inspect_notebook(str(NOTEBOOK_DIR / f"{name}.ipynb"))
    assert set(found) == _expected(name)
    assert found["PARAM_SET"]["default"] == '"auto"'
    assert all(p["default"] == "None" for k, p in found.items() if k != "PARAM_SET")


def test_every_declared_parameter_is_used_and_every_used_one_declared():
    used = set(schema.COMMON) | {p for nb in schema.NOTEBOOKS for p in nb.parameters}
    assert used == set(schema.PARAMETERS)
    for nb in schema.NOTEBOOKS:
        for param_set in schema.PARAM_SET_NAMES:
            own = {k for k in nb.values[param_set] if k not in schema.COMMON}
            assert own == set(nb.parameters), f"{nb.name}/{param_set}: every set gives every own parameter"


def test_every_parameter_has_spanish_help_and_a_known_kind():
    kinds = set(schema.KINDS)
    for name, spec in schema.PARAMETERS.items():
        assert spec.kind in kinds and spec.help, name
        assert bool(spec.choices) == (spec.kind in schema.CHOICE_KINDS), name

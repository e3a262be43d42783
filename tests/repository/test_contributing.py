"""CONTRIBUTING's recipes, as written: the schema snippets of "Añadir un cuaderno" work when pasted."""

from __future__ import annotations

import dataclasses
import re

import pytest

from course_utils.config import PROJECT_ROOT
from course_utils.params import resolve, schema

CONTRIBUTING = PROJECT_ROOT / "CONTRIBUTING.md"


def python_blocks(section: str) -> list[str]:
    """The ```python blocks of the CONTRIBUTING section whose heading starts with ``section``."""
    text = CONTRIBUTING.read_text(encoding="utf-8")
    start = text.index(f"## {section}")
    end = text.find("\n## ", start + 3)
    body = text[start : end if end > 0 else None]
    return [re.sub(r"(?m)^ {3}", "", b) for b in re.findall(r"```python\n(.*?)```", body, re.S)]


def pasted(block: str):
    """The value of a snippet pasted as an element of a tuple or a dict (its trailing comma dropped)."""
    namespace = {"Notebook": schema.Notebook, "Param": schema.Param}
    return eval(block.strip().rstrip(","), namespace)  # noqa: S307 - our own documentation


def test_the_notebook_snippet_pasted_as_written_gives_a_valid_entry():
    entry_block, param_block = python_blocks("Añadir un cuaderno")
    entry = pasted(entry_block)
    assert isinstance(entry, schema.Notebook), "el fragmento debe ser un Notebook(...), no una tupla"
    name, param = pasted("{" + param_block.strip().rstrip(",") + "}").popitem()
    schema.validate((*schema.NOTEBOOKS, entry), schema.PARAMETERS | {name: param})
    assert entry.parameters == (name,)


def test_a_forgotten_param_is_named_with_what_to_do():
    entry_block, param_block = python_blocks("Añadir un cuaderno")
    name, _ = pasted("{" + param_block.strip().rstrip(",") + "}").popitem()
    # Without the snippet's Param, even once a contributor has declared it in the schema as the recipe says.
    parameters = {k: v for k, v in schema.PARAMETERS.items() if k != name}
    with pytest.raises(ValueError, match=f"{name}.*Param"):
        schema.validate((*schema.NOTEBOOKS, pasted(entry_block)), parameters)


def test_a_notebook_wrapped_in_a_tuple_is_refused_with_a_clear_message():
    entry_block, _ = python_blocks("Añadir un cuaderno")
    with pytest.raises(ValueError, match="Notebook"):
        schema.validate((*schema.NOTEBOOKS, (pasted(entry_block),)), schema.PARAMETERS)


def test_unknown_kinds_are_refused_and_float_exists():
    with pytest.raises(ValueError, match="desconocido"):
        schema.Param("entero", "x")
    assert "float" in schema.KINDS


def test_the_float_parameter_snippet_accepts_a_learning_rate_and_lands_in_02():
    (param_block,) = python_blocks("Añadir un parámetro")
    name, param = pasted("{" + param_block.strip().rstrip(",") + "}").popitem()
    assert (name, param.kind, param.minimum) == ("learning_rate", "float", 0)
    resolve.check_value(name, param, 3e-4)
    with pytest.raises(resolve.ParameterError, match="fuera de rango"):
        resolve.check_value(name, param, 2.0)
    mlp = schema.notebook("02_mlp")
    values = {s: {**v, name: 3e-4} for s, v in mlp.values.items()}
    entry = dataclasses.replace(mlp, values=values)
    notebooks = tuple(entry if nb.name == "02_mlp" else nb for nb in schema.NOTEBOOKS)
    schema.validate(notebooks, schema.PARAMETERS | {name: param})
    assert name in entry.cell_parameters


def test_a_set_value_outside_its_params_range_is_refused_at_import_with_what_to_fix():
    mlp = schema.notebook("02_mlp")
    entry = dataclasses.replace(mlp, values={**mlp.values, "cpu": {**mlp.values["cpu"], "epochs": 0}})
    with pytest.raises(ValueError, match="02_mlp.*'cpu'.*epochs=0.*PARAMETERS"):
        schema.validate((entry,), schema.PARAMETERS)
    with pytest.raises(ValueError, match="minimum=2 es mayor que maximum=1"):
        schema.Param("int", "x", minimum=2, maximum=1)


def test_out_of_range_only_judges_numbers_of_numeric_kinds():
    rate = schema.Param("float", "x", maximum=1.0)
    count = schema.Param("optional_int", "x", maximum=8)
    assert [rate.out_of_range(v) for v in (0, 3e-4, 1.0, -1e-9, 1.5)] == [False, False, False, True, True]
    assert [count.out_of_range(v) for v in (None, 1, 8, 0, 9, True)] == [False, False, False, True, True, False]
    assert not schema.Param("text", "x").out_of_range(-1)

"""CONTRIBUTING's recipes, as written: the schema snippets of "Añadir un cuaderno" work when pasted."""

from __future__ import annotations

import re

import pytest

from course_utils import schema
from course_utils.config import PROJECT_ROOT

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
    entry_block, _ = python_blocks("Añadir un cuaderno")
    with pytest.raises(ValueError, match="n_examples.*Param"):
        schema.validate((*schema.NOTEBOOKS, pasted(entry_block)), schema.PARAMETERS)


def test_a_notebook_wrapped_in_a_tuple_is_refused_with_a_clear_message():
    entry_block, _ = python_blocks("Añadir un cuaderno")
    with pytest.raises(ValueError, match="Notebook"):
        schema.validate((*schema.NOTEBOOKS, (pasted(entry_block),)), schema.PARAMETERS)


def test_unknown_kinds_are_refused_and_float_exists():
    with pytest.raises(ValueError, match="desconocido"):
        schema.Param("entero", "x")
    assert "float" in schema.KINDS

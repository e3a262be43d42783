"""Each student notebook, as shipped, resolves exactly the schema's values of every parameter set.

The parameters cell of ``notebooks/<nb>.ipynb`` is executed as Colab or JupyterLab
would, then :func:`course_utils.start.start` runs on it with only ``PARAM_SET``
chosen (no overrides).  A placeholder that means something else than "the set's
value" (as ``WEIGHTS = None`` once meant random weights) fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from course_tools import nbtools
from course_utils import hardware, start
from course_utils.data import course_data
from course_utils.params.resolve import NOTEBOOKS
from course_utils.params.schema import BY_NAME, COMMON, PARAM_SET_NAMES, PARAMETERS, SETS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _main_backbone_as_the_set_says(monkeypatch):
    """Which backbone MAIN_BACKBONE='auto' becomes depends on the network (tests/unit/test_start.py): not here."""
    monkeypatch.setattr(start, "with_main_backbone", lambda p: p)


def parameters_cell(notebook: str) -> str:
    nb = nbtools.read(ROOT / "notebooks" / f"{notebook}.ipynb")
    cells = [c for c in nb["cells"] if "parameters" in nbtools.tags(c)]
    assert len(cells) == 1, f"{notebook}: debe tener exactamente una celda con la etiqueta 'parameters'"
    return nbtools.source_text(cells[0])


def expected_values(notebook: str, param_set: str) -> dict:
    """What the README promises: the set's values, the notebook's own values, the schema's defaults."""
    values = {name: PARAMETERS[name].default for name in COMMON} | SETS[param_set]
    values |= BY_NAME[notebook].values[param_set]
    if values.get("precision") == "auto":
        values["precision"] = hardware.choose_precision().policy
    return values


@pytest.mark.parametrize("param_set", PARAM_SET_NAMES)
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_notebook_as_shipped_resolves_the_sets_values(notebook, param_set, isolated_course_env, monkeypatch):
    namespace: dict = {}
    exec(parameters_cell(notebook), namespace)  # noqa: S102 - the notebook's own cell, as the kernel runs it
    namespace["PARAM_SET"] = param_set
    fake = course_data.DataInfo(isolated_course_env.cache, "synthetic", "sin datos (prueba)")
    monkeypatch.setattr(course_data, "get_course_data", lambda source: fake)

    p, _, _ = start.start(notebook, namespace, quiet=True)

    expected = expected_values(notebook, param_set)
    wrong = {name: (p[name], value) for name, value in expected.items() if p[name] != value}
    assert not wrong, f"{notebook} ({param_set}) tal como se distribuye: {{parámetro: (resuelto, esquema)}} = {wrong}"


def test_pretrained_notebook_as_shipped_uses_imagenet_weights_on_the_student_sets(isolated_course_env, monkeypatch):
    """06 opened in Colab and run as it is must load ImageNet weights (cpu and gpu), not random ones."""
    namespace: dict = {}
    exec(parameters_cell("07_modelos_preentrenados"), namespace)  # noqa: S102
    fake = course_data.DataInfo(isolated_course_env.cache, "synthetic", "sin datos (prueba)")
    monkeypatch.setattr(course_data, "get_course_data", lambda source: fake)
    for param_set in ("cpu", "gpu"):
        p, _, _ = start.start("07_modelos_preentrenados", namespace | {"PARAM_SET": param_set}, quiet=True)
        assert p.weights == "imagenet"

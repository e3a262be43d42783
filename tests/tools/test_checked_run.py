"""course_tools.checked_run: the merged notebook `make test` executes once, and nbval's comparison without nbval."""

from __future__ import annotations

import copy

import nbformat
import pytest

from course_tools import checked_run, nbtools
from course_tools.checked_run import ROLE_KEY, cells_by_role, compare_checked, compare_outputs, merged_version
from course_tools.nbtools import BLOCK_PLACEHOLDER, PLACEHOLDER
from course_utils.config import PROJECT_ROOT

SANITIZERS = checked_run.read_sanitizers(PROJECT_ROOT / "tests" / "notebooks" / "nbval_sanitize.cfg")
SOURCES = sorted(nbtools.SOURCE_DIR.glob("*.ipynb"))


def _stream(text: str, name: str = "stdout") -> dict:
    return {"output_type": "stream", "name": name, "text": text}


def _code(source: str, tags=(), outputs=(), count=None) -> dict:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = list(tags)
    cell.outputs, cell.execution_count = list(outputs), count
    return cell


def _sample() -> dict:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        _code("PARAM_SET = 'auto'", tags=["parameters"]),
        nbformat.v4.new_markdown_cell("#### Ejercicio 1.1"),
        _code("answer = None\n# BEGIN SOLUTION\nanswer = 4\n# END SOLUTION"),
        _code('exercises.check("01.1", answer)', ["nbval-check-output"], [_stream("✅ bien\n")], 1),
        _code("print(answer * 2)", ["nbval-check-output"], [_stream("8\n")], 1),
        _code("n = 3  # SOLUTION"),
    ]
    for k, cell in enumerate(nb.cells):
        cell.id = f"c{k}"
    return nbformat.from_dict(nbtools.strip(nbformat.from_dict(nb)))


def test_merged_version_puts_the_students_blank_cell_and_check_before_each_solution():
    src = _sample()
    merged = merged_version(src)
    roles = [c["metadata"][ROLE_KEY] for c in merged["cells"]]
    assert roles == [
        {"cell": 0},
        {"cell": 1},
        {"student": 2},
        {"student": 3},
        {"cell": 2},
        {"cell": 3},
        {"cell": 4},
        {"student": 5},
        {"cell": 5},
    ]
    text = [nbtools.source_text(c) for c in merged["cells"]]
    assert BLOCK_PLACEHOLDER in text[2] and "answer = 4" not in text[2] and "answer = 4" in text[4]
    assert text[3] == text[5] == 'exercises.check("01.1", answer)'
    assert text[7] == f"n = {PLACEHOLDER}" and text[8] == "n = 3  # SOLUTION"
    assert all(not c.get("outputs") for c in merged["cells"] if c["cell_type"] == "code"), "executes from scratch"
    assert "nbval-check-output" not in nbtools.tags(merged["cells"][3]), "the student's copy is not compared"
    assert "parameters" in nbtools.tags(merged["cells"][0]), "papermill still finds the parameters cell"
    assert len({c["id"] for c in merged["cells"]}) == len(merged["cells"])
    nbformat.validate(nbformat.from_dict(merged))
    assert src == _sample(), "the source is left as it was"


def _as_executed(source: dict) -> dict:
    """The merged version with the source's reference outputs in place: what a faithful run produces."""
    merged = merged_version(source)
    for cell in merged["cells"]:
        i = cell["metadata"][ROLE_KEY].get("cell")
        if i is not None and cell["cell_type"] == "code":
            cell["outputs"] = copy.deepcopy(source["cells"][i].get("outputs", []))
    return merged


@pytest.mark.parametrize("path", SOURCES, ids=[p.stem for p in SOURCES])
def test_every_sources_references_are_compared_and_a_changed_one_fails(path):
    source = nbtools.read(path)
    executed = _as_executed(source)
    assert compare_checked(executed, source, SANITIZERS) == []
    checked = [i for i, c in enumerate(source["cells"]) if nbtools.is_checked(c) and c.get("execution_count")]
    assert checked, f"{path.name}: sin celdas comprobadas"
    first = cells_by_role(executed, "cell")[checked[0]][0]
    first["outputs"][0]["text"] = "Z" + "".join(first["outputs"][0]["text"])
    problems = compare_checked(executed, source, SANITIZERS)
    assert len(problems) == 1 and problems[0].startswith(f"celda {checked[0]} "), problems
    del executed["cells"][executed["cells"].index(first)]
    assert "no está" in compare_checked(executed, source, SANITIZERS)[0]


def _abs(*parts: str) -> str:
    """An absolute POSIX path such as a kernel prints, from its parts."""
    return "/" + "/".join(parts)


@pytest.mark.parametrize(
    "executed, reference, same",
    [
        ([_stream("a 1.5 s\n"), _stream("b\n")], [_stream("a 3.25 s\nb\n")], True),  # streams merged, time sanitized
        # paths sanitized (two machines' folders, built so that no machine path is written in the repository)
        ([_stream(f"en {_abs('tmp', 'x')}/y.keras\n")], [_stream(f"en {_abs('home', 'a')}/y.keras\n")], True),
        ([_stream("0.81234\n")], [_stream("0.81299\n")], True),  # float noise past 3 decimals
        ([_stream("0.812\n")], [_stream("0.813\n")], False),
        ([_stream("x\n"), _stream("aviso\n", "stderr")], [_stream("x\n")], False),  # an extra stderr field
        ([_stream("10%|##  \r100%|####\n")], [_stream("100%|####\n")], True),  # \r processed, bars sanitized
        (
            [{"output_type": "display_data", "data": {"image/png": "AAA", "text/plain": "<Figure>"}, "metadata": {}}],
            [{"output_type": "display_data", "data": {"image/png": "BBB", "text/plain": "<Figure>"}, "metadata": {}}],
            True,
        ),  # images are not compared
        (
            [{"output_type": "execute_result", "data": {"text/plain": "2"}, "metadata": {}, "execution_count": 7}],
            [{"output_type": "execute_result", "data": {"text/plain": ["3"]}, "metadata": {}, "execution_count": 1}],
            False,
        ),
    ],
)
def test_compare_outputs_follows_nbval(executed, reference, same):
    assert (compare_outputs(executed, reference, SANITIZERS) is None) is same


def test_a_reference_without_execution_count_is_not_compared_as_in_nbval():
    source = _sample()
    source["cells"][4]["execution_count"] = None
    executed = _as_executed(source)
    cells_by_role(executed, "cell")[4][0]["outputs"] = [_stream("otra cosa\n")]
    assert compare_checked(executed, source, SANITIZERS) == []
    source["cells"][4]["execution_count"] = 1
    assert len(compare_checked(executed, source, SANITIZERS)) == 1


def test_write_merged_versions(tmp_path):
    path = tmp_path / "src" / "01_x.ipynb"
    path.parent.mkdir()
    path.write_text(nbtools.dumps(_sample()))
    (out,) = checked_run.write_merged_versions([path], tmp_path / "merged")
    assert out.name == "01_x.ipynb" and nbformat.read(out, as_version=4) == merged_version(_sample())

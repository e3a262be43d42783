"""The one execution of each notebook in ``make test``, and nbval's comparison of its checked outputs.

``make test`` used to run each notebook twice: the student version in the papermill series
(exercises unanswered) and the source in nbval (solutions, reference outputs compared).
:func:`merged_version` merges both into one notebook: the source's cells in order, and before
each cell with a solution, the student's blanked version of that cell and of the exercise
checks right after it (which must say the answer is missing).  Then the solution and its
checks run, so every later cell sees what the source sees and every reference output applies.

:func:`compare_checked` then compares, as ``pytest --nbval-lax --nbval-sanitize-with`` does, the
outputs of each cell tagged ``nbval-check-output`` with the source's stored reference (streams
merged by name, ``\\r``/backspace processed, images and metadata skipped, the sanitizers' regexes
applied), without executing anything again.  ``make nbval`` still runs nbval itself.
"""

from __future__ import annotations

import copy
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import nbformat
from nbval.plugin import coalesce_streams, get_sanitize_patterns, transform_streams_for_comparison

from .nbtools import blank_solutions, has_solution, is_checked, read, source_text, strip

#: Metadata key of every cell of a :func:`merged_version`: ``{"cell": i}`` for the source's cell ``i``,
#: ``{"student": i}`` for the student's copy of it (blanked solution or its check, before the source's).
ROLE_KEY = "course_test"
#: The call that makes a code cell an exercise check.
CHECK_CALL = "exercises.check("
#: What nbval leaves out of the comparison (nbval's ``IPyNbFile.skip_compare`` without ``--nbdime``).
SKIP_COMPARE = (
    "metadata",
    "traceback",
    "prompt_number",
    "output_type",
    "name",
    "execution_count",
    "application/vnd.jupyter.widget-view+json",
    "image/png",
    "image/jpeg",
)


def is_check(cell: dict) -> bool:
    """True for a code cell that calls ``exercises.check``."""
    return cell.get("cell_type") == "code" and CHECK_CALL in source_text(cell)


def _student_copy(cell: dict, index: int) -> dict:
    new = copy.deepcopy(cell)
    new.pop("id", None)
    new["metadata"] = {ROLE_KEY: {"student": index}}
    new["outputs"], new["execution_count"] = [], None
    text = blank_solutions(source_text(cell))
    new["source"] = text
    return new


def merged_version(nb: dict) -> dict:
    """The notebook ``make test`` executes: the source, each solution preceded by the student's blank cell and checks."""
    nb = strip(copy.deepcopy(nb), keep_checked=False)
    cells = nb["cells"]
    out = []
    for i, cell in enumerate(cells):
        if cell.get("cell_type") == "code" and has_solution(source_text(cell)):
            out.append(_student_copy(cell, i))
            j = i + 1
            while j < len(cells) and is_check(cells[j]):
                out.append(_student_copy(cells[j], j))
                j += 1
        cell.setdefault("metadata", {})[ROLE_KEY] = {"cell": i}
        out.append(cell)
    for k, cell in enumerate(out):  # fresh, unique ids (nbformat 4.5)
        if nb.get("nbformat_minor", 0) >= 5:
            cell["id"] = f"t{k:03d}"
    nb["cells"] = out
    return nb


def write_merged_versions(sources: list[str | os.PathLike], out_dir: str | os.PathLike) -> list[Path]:
    """Write :func:`merged_version` of each source into ``out_dir`` (same file names)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for src in sources:
        path = out_dir / Path(src).name
        nbformat.write(nbformat.from_dict(merged_version(read(src))), path)
        written.append(path)
    return written


def cells_by_role(executed: dict, role: str) -> dict[int, list[dict]]:
    """``{source cell index: [executed cells]}`` of one role (``"cell"`` or ``"student"``) of an executed merged version."""
    found: dict[int, list[dict]] = defaultdict(list)
    for cell in executed["cells"]:
        mark = cell.get("metadata", {}).get(ROLE_KEY, {})
        if role in mark:
            found[mark[role]].append(cell)
    return dict(found)


def read_sanitizers(path: str | os.PathLike) -> list[tuple[str, str]]:
    """The ``(regex, replacement)`` pairs of an nbval sanitize file, read by nbval's own parser."""
    return list(get_sanitize_patterns(Path(path).read_text()))


def _sanitize(value: Any, patterns: list[tuple[str, str]]) -> Any:
    import re

    if not isinstance(value, str):
        return value
    for regex, replacement in patterns:
        value = re.sub(regex, replacement, value)
    return value


def _joined(output: dict) -> dict:
    """A copy of ``output`` whose multiline strings (stored as lists of lines) are joined, as nbformat reads them."""
    out = copy.deepcopy(output)
    if isinstance(out.get("text"), list):
        out["text"] = "".join(out["text"])
    for mime, value in out.get("data", {}).items():
        if isinstance(value, list):
            out["data"][mime] = "".join(value)
    return out


def _flatten(outputs: list[dict], patterns: list[tuple[str, str]]) -> dict[str, list[Any]]:
    """nbval's form: streams merged and keyed by name, ``data`` flattened by MIME type, skipped keys left out."""
    nodes = coalesce_streams([nbformat.from_dict(_joined(o)) for o in outputs])
    flat: dict[str, list[Any]] = defaultdict(list)
    for out in transform_streams_for_comparison(nodes):
        for key, value in out.items():
            if key in SKIP_COMPARE:
                continue
            if key == "data":
                for mime, data in value.items():
                    if mime not in SKIP_COMPARE:
                        flat[mime].append(_sanitize(data, patterns))
            else:
                flat[key].append(_sanitize(value, patterns))
    return dict(flat)


def compare_outputs(executed: list[dict], reference: list[dict], patterns: list[tuple[str, str]]) -> str | None:
    """``None`` when nbval would accept ``executed`` against ``reference``; else what differs."""
    test, ref = _flatten(executed, patterns), _flatten(reference, patterns)
    if set(ref) != set(test):
        return f"campos de salida distintos: referencia {sorted(ref)}, ejecución {sorted(test)}"
    for key, ref_values in ref.items():
        if ref_values != test[key]:
            return f"{key} distinto:\n--- referencia\n{ref_values}\n--- ejecución\n{test[key]}"
    return None


def compare_checked(executed: dict, source: dict, patterns: list[tuple[str, str]]) -> list[str]:
    """One message per checked cell of ``source`` whose output in ``executed`` differs (nbval ``--nbval-lax``).

    A checked cell without a reference (no execution count) is not compared, as in nbval;
    a checked cell missing from ``executed`` is reported.
    """
    ran = cells_by_role(executed, "cell")
    problems = []
    for i, cell in enumerate(source["cells"]):
        if cell.get("cell_type") != "code" or not is_checked(cell) or cell.get("execution_count") is None:
            continue
        if len(ran.get(i, [])) != 1:
            problems.append(f"celda {i}: no está (una vez) en el cuaderno ejecutado")
            continue
        diff = compare_outputs(ran[i][0].get("outputs", []), cell.get("outputs", []), patterns)
        if diff:
            problems.append(f"celda {i} ({source_text(cell)[:80]!r}): {diff}")
    return problems

"""Is the submission the shipped notebook with only its exercise cells filled? (nbgrader's checksummed cells, by content).

The shipped student notebook (``notebooks/NN_*.ipynb``) has exercise cells (with
the ``✏️ tu código aquí`` placeholder), the parameters cell (the student may
change it) and everything else: context and check cells, which must reach the
grader unchanged and in order.  Cells the student added are counted; code in
added or exercise cells that reaches for the grading machinery is reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MARK = "tu código aquí"  # the placeholder's text in every exercise cell of the student version
#: Code a solution never needs: reaching the grader, the checks, other processes or the kernel's start-up.
SUSPICIOUS = re.compile(
    r"COURSE_EXERCISE_OUTCOMES|exercises\.(check|evaluate)\s*=|EXERCISES|exercise_checks|exercise_registry|checks\.(registry|lessons|features)"
    r"|os\.kill|killpg|getppid|/proc/|subprocess|Popen|os\.fork|setsid|start_new_session|ctypes"
    r"|__import__|\bexec\(|\beval\(|globals\(\)|\.ipython|site-packages|startup|grading"
)


def source(cell: dict) -> str:
    src = cell.get("source", "")
    return src if isinstance(src, str) else "".join(src)


def _norm(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def _first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip() and not line.lstrip().startswith("#")]
    lines = [line for line in lines if "check(" in line] or lines  # a check cell is named by its call
    return (lines[0] if lines else text.strip()[:60])[:70]


@dataclass
class CellReport:
    """What differs from the shipped notebook: changed or deleted fixed cells, added cells, suspicious code."""

    changed: list[str] = field(default_factory=list)  # "celda 12 (exercises.check(...))"
    added: int = 0
    suspicious: list[str] = field(default_factory=list)


def _editable(cell: dict) -> bool:
    return MARK in source(cell) or "parameters" in cell.get("metadata", {}).get("tags", [])


def compare(submitted: dict, shipped: dict) -> CellReport:
    """Match the shipped notebook's fixed code cells, in order, against the submission's code cells."""
    report = CellReport()
    code = [c for c in submitted.get("cells", []) if c.get("cell_type") == "code"]
    texts = [_norm(source(c)) for c in code]
    used: set[int] = set()
    pos = 0
    for number, cell in enumerate(shipped.get("cells", []), 1):
        if cell.get("cell_type") != "code":
            continue
        text = source(cell)
        if _editable(cell):
            continue
        want = _norm(text)
        found = next((i for i in range(pos, len(texts)) if texts[i] == want and i not in used), None)
        if found is None:
            report.changed.append(f"celda {number} ({_first_line(text)})")
        else:
            used.add(found)
            pos = found + 1
    editable = sum(1 for c in shipped.get("cells", []) if c.get("cell_type") == "code" and _editable(c))
    report.added = max(0, len(code) - len(used) - editable)
    for i, cell in enumerate(code):
        hit = None if i in used else SUSPICIOUS.search(source(cell))
        if hit:
            report.suspicious.append(f"`{hit.group(0)}` en la celda de código {i + 1}")
    return report

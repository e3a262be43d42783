"""Notebook maintenance: the student notebooks are generated from one source per notebook.

``source/<name>.ipynb`` is the one source: the instructor's version, with the
exercises' solutions between ``# BEGIN SOLUTION``/``# END SOLUTION`` markers and
the reference outputs nbval compares (only in cells tagged ``nbval-check-output``).
``notebooks/<name>.ipynb`` is the student version Colab and JupyterLab open:
written from the source by ``build`` (solutions blanked, no outputs at all):
:func:`blank_solutions` turns each solution into ``...`` (a one-line solution, a line
ending in ``# SOLUTION``) or ``pass`` (a block between the markers).

``python -m course_tools.nbtools build``      write notebooks/ from source/
``python -m course_tools.nbtools check``      fail on drift, stray outputs or house-rule problems
``python -m course_tools.nbtools refresh``    re-execute the sources (smoke set), keep checked outputs, build
``python -m course_tools.nbtools solutions D`` write the instructor's versions (no outputs) to folder D
"""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path

from course_utils.config import PROJECT_ROOT

BEGIN, END, ONE_LINE = "# BEGIN SOLUTION", "# END SOLUTION", "# SOLUTION"
PLACEHOLDER = "...  # ✏️ tu código aquí"
#: What a solution block becomes: a statement, so that a cell ending in it shows no ``Ellipsis``.
BLOCK_PLACEHOLDER = "pass  # ✏️ tu código aquí"
_ASSIGN = re.compile(r"^(\s*)([\w.\[\]\"', ]+?)\s*=(?!=).*?#\s*SOLUTION\s*$")


def blank_solutions(source: str) -> str:
    """The student's version of a cell: each solution replaced by ``...``, markers removed."""
    out: list[str] = []
    inside = False
    for line in source.split("\n"):
        stripped = line.strip()
        if stripped == BEGIN:
            inside = True
            out.append(line[: len(line) - len(line.lstrip())] + BLOCK_PLACEHOLDER)
            continue
        if stripped == END:
            if not inside:
                raise ValueError(f"{END} sin {BEGIN}")
            inside = False
            continue
        if inside:
            continue
        match = _ASSIGN.match(line)
        if match:
            out.append(f"{match.group(1)}{match.group(2)} = {PLACEHOLDER}")
            continue
        out.append(line)
    if inside:
        raise ValueError(f"{BEGIN} sin {END}")
    return "\n".join(out)


def has_solution(source: str) -> bool:
    """True when a cell carries a solution block or line."""
    return blank_solutions(source) != source


SOURCE_DIR = PROJECT_ROOT / "source"
STUDENT_DIR = PROJECT_ROOT / "notebooks"
#: Tag of a code cell whose output nbval compares.
CHECK_TAG = "nbval-check-output"
#: The comment that used to mark checked cells; no longer allowed.
OLD_CHECK_MARK = "NBVAL_CHECK_OUTPUT"
#: What a standard ``pip install ipykernel`` registers; JupyterLab rewrites any other value
#: when it opens the notebook, which marks it modified.
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
#: The Python of the course's reference environment (Makefile ``python3.11``, environment.yml, CI).
REFERENCE_PYTHON = "3.11.7"
#: The language_info that ipykernel reports on :data:`REFERENCE_PYTHON`.  JupyterLab compares the
#: stored value with the kernel's whole ``language_info`` and marks the notebook modified when they
#: differ: seen in Chromium with JupyterLab 4.6 and a 3.11.7 kernel, clean with "3.11.7", modified
#: with no version, "3.11.0" or "3.12.1" (scripts/jupyterlab_clean_open.py).  A kernel on another
#: Python version still marks it modified on open: harmless, nothing is lost.
LANGUAGE_INFO = {
    "codemirror_mode": {"name": "ipython", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "name": "python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
    "version": REFERENCE_PYTHON,
}

#: Execution count stored on checked cells that keep a reference output.  nbval
#: refuses a cell with outputs and no execution count ("Unrun reference cell has
#: outputs"); a constant keeps re-runs from producing spurious diffs.
CHECKED_EXECUTION_COUNT = 1


def tags(cell: dict) -> list[str]:
    """The cell's metadata tags."""
    return list(cell.get("metadata", {}).get("tags", []))


def is_checked(cell: dict) -> bool:
    """True for a code cell whose output nbval compares (tag ``nbval-check-output``)."""
    return CHECK_TAG in tags(cell)


def source_text(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _set_source(cell: dict, text: str) -> None:
    lines = text.split("\n")
    cell["source"] = [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])


def normalize_metadata(nb: dict) -> dict:
    """Standard kernelspec and language_info; no run metadata."""
    meta = nb.setdefault("metadata", {})
    for key in ("papermill", "widgets"):
        meta.pop(key, None)
    meta["kernelspec"] = dict(KERNELSPEC)
    meta["language_info"] = copy.deepcopy(LANGUAGE_INFO)
    return nb


def strip(nb: dict, keep_checked: bool = True) -> dict:
    """Remove outputs (except checked cells' when ``keep_checked``), execution counts and run metadata.

    A checked cell that keeps its outputs gets ``CHECKED_EXECUTION_COUNT``
    (nbval only compares, and only accepts outputs of, cells that have a count).
    """
    for i, cell in enumerate(nb["cells"]):
        if nb.get("nbformat_minor", 0) >= 5:
            cell.setdefault("id", f"c{i:03d}")  # nbformat 4.5 requires ids; existing ones are kept
        if cell.get("cell_type") != "code":
            continue
        cell["execution_count"] = None
        if not (keep_checked and is_checked(cell)):
            cell["outputs"] = []
        else:
            for out in cell["outputs"]:
                if "execution_count" in out:
                    out["execution_count"] = None
            if cell["outputs"]:
                cell["execution_count"] = CHECKED_EXECUTION_COUNT
        for key in ("execution", "papermill", "collapsed", "scrolled"):
            cell.get("metadata", {}).pop(key, None)
    return normalize_metadata(nb)


def student_version(nb: dict) -> dict:
    """The student's notebook: solutions blanked, no outputs, standard metadata."""
    nb = strip(copy.deepcopy(nb), keep_checked=False)
    for cell in nb["cells"]:
        if cell.get("cell_type") == "code":
            _set_source(cell, blank_solutions(source_text(cell)))
    return nb


def solution_version(nb: dict) -> dict:
    """The instructor's notebook: the source with solutions, without outputs."""
    return strip(copy.deepcopy(nb), keep_checked=False)


def dumps(nb: dict) -> str:
    """The stored form of a notebook (stable, diff-friendly)."""
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def read(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())


def build(sources: list[str | Path], student_dir: str | Path | None = None) -> list[Path]:
    """Write the student version of each source into ``student_dir`` (default ``notebooks/``)."""
    written = []
    for src in sources:
        out = Path(student_dir or STUDENT_DIR) / Path(src).name
        out.write_text(dumps(student_version(read(src))))
        written.append(out)
    return written


def write_solutions(sources: list[str | Path], out_dir: str | Path) -> list[Path]:
    """Write the instructor's versions (solutions, no outputs) into ``out_dir``."""
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    written = []
    for src in sources:
        out = Path(out_dir) / Path(src).name
        out.write_text(dumps(solution_version(read(src))))
        written.append(out)
    return written


def _common_problems(name: str, nb: dict) -> list[str]:
    out = []
    code = [c for c in nb["cells"] if c.get("cell_type") == "code"]
    if not code or "parameters" not in tags(code[0]):
        out.append(f"{name}: la primera celda de código debe ser la de parámetros (etiqueta 'parameters')")
    meta = nb.get("metadata", {})
    if meta.get("kernelspec") != KERNELSPEC:
        out.append(
            f"{name}: kernelspec {meta.get('kernelspec')} distinto del estándar {KERNELSPEC} "
            "(JupyterLab lo marcaría como modificado)"
        )
    if meta.get("language_info") != LANGUAGE_INFO:
        out.append(f"{name}: language_info distinto de {LANGUAGE_INFO}")
    for i, c in enumerate(nb["cells"]):
        src = source_text(c)
        if "/content/" in src:
            out.append(f"{name}: celda {i} usa una ruta /content/ fija")
        if OLD_CHECK_MARK in src:
            out.append(f"{name}: celda {i} usa el comentario {OLD_CHECK_MARK}; usa la etiqueta {CHECK_TAG}")
    return out


def source_problems(path: str | Path) -> list[str]:
    """House-rule problems of one source notebook (empty when clean)."""
    path = Path(path)
    try:
        nb = read(path)
    except json.JSONDecodeError as exc:
        return [f"{path}: no es JSON válido ({exc})"]
    out = _common_problems(f"source/{path.name}", nb)
    for i, c in enumerate(nb["cells"]):
        if c.get("cell_type") != "code":
            continue
        reference = is_checked(c) and bool(c.get("outputs"))
        if c.get("execution_count") is not None and not reference:
            out.append(f"source/{path.name}: celda {i} guarda execution_count")
        if reference and c.get("execution_count") is None:
            out.append(
                f"source/{path.name}: celda {i} tiene salida de referencia sin execution_count "
                "(nbval la rechaza: «Unrun reference cell has outputs»)"
            )
        if c.get("outputs") and not is_checked(c):
            out.append(f"source/{path.name}: celda {i} guarda salidas que nbval no revisa")
        if is_checked(c) and not c.get("outputs"):
            out.append(
                f"source/{path.name}: celda {i} tiene la etiqueta {CHECK_TAG} pero no tiene salida de "
                "referencia (make refresh-outputs)"
            )
        try:
            blank_solutions(source_text(c))
        except ValueError as exc:
            out.append(f"source/{path.name}: celda {i}: {exc}")
    return out


def student_problems(path: str | Path, source: str | Path | None = None) -> list[str]:
    """Problems of one student notebook: any output, solutions, drift from its source."""
    path = Path(path)
    try:
        nb = read(path)
    except json.JSONDecodeError as exc:
        return [f"{path}: no es JSON válido ({exc})"]
    name = f"notebooks/{path.name}"
    out = _common_problems(name, nb)
    for i, c in enumerate(nb["cells"]):
        if c.get("cell_type") != "code":
            continue
        if c.get("outputs") or c.get("execution_count") is not None:
            out.append(f"{name}: celda {i} guarda salidas o execution_count (el cuaderno del alumno va sin salidas)")
        src = source_text(c)
        if BEGIN in src or any(line.rstrip().endswith(ONE_LINE) for line in src.splitlines()):
            out.append(f"{name}: celda {i} contiene una solución")
    source = Path(source) if source else SOURCE_DIR / path.name
    if not source.exists():
        out.append(f"{name}: no existe su fuente {source}")
    elif path.read_text() != dumps(student_version(read(source))):
        out.append(f"{name}: no coincide con source/{path.name}: edita la fuente y ejecuta `make student`")
    return out


def problems(path: str | Path) -> list[str]:
    """Problems of a source (``source/``) or student (any other folder) notebook."""
    path = Path(path)
    return source_problems(path) if path.parent.name == SOURCE_DIR.name else student_problems(path)


def refresh(paths: list[str | Path], artifacts_dir: str | Path | None = None, timeout: int = 1800) -> None:
    """Re-execute source notebooks in order with the smoke set; keep only checked outputs; build students.

    This is the deliberate way to change nbval's reference outputs
    (``make refresh-outputs``); review the diff before committing it.
    """
    import os
    import tempfile

    import nbformat
    from nbclient import NotebookClient

    art = Path(artifacts_dir or tempfile.mkdtemp(prefix="refresh-artifacts-"))
    env = {"COURSE_PARAM_SET": "smoke", "COURSE_ARTIFACTS_DIR": str(art)}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        for p in sorted(Path(x) for x in paths):
            nb = nbformat.read(p, as_version=4)
            NotebookClient(
                nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(p.parent)}}
            ).execute()
            p.write_text(dumps(strip(json.loads(nbformat.writes(nb)))))
            build([p])
            print(f"{p.name}: salidas de referencia actualizadas")
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


#: Text in an executed cell's output that a student should never see (a red block, a library's warning).
WARNING_TEXT = re.compile(r"\b[A-Z]\w*Warning\b|site-packages|Traceback")
#: stderr or warning text a cell may show, by exact text, with the reason (none needed today).
ALLOWED_OUTPUTS: dict[str, str] = {}


def problem_outputs(nb: dict) -> list[str]:
    """Each stderr stream and each output with warning text of an executed notebook, as "celda N: text"."""
    found = []
    for i, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            text = "".join(out.get("text", "")) or "".join(out.get("data", {}).get("text/plain", ""))
            if text in ALLOWED_OUTPUTS:
                continue
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                found.append(f"celda {i} (stderr): {text[:300]!r}")
            elif WARNING_TEXT.search(text):
                found.append(f"celda {i}: {text[:300]!r}")
    return found


USAGE = "uso: python -m course_tools.nbtools {check|outputs|strip|build|refresh|solutions CARPETA} [NOTEBOOK...]"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("check", "outputs", "strip", "build", "refresh", "solutions"):
        print(USAGE)
        return 2
    cmd, paths = argv[0], argv[1:]
    if cmd == "solutions":
        if not paths:
            print(USAGE)
            return 2
        out = write_solutions(paths[1:] or sorted(SOURCE_DIR.glob("*.ipynb")), paths[0])
        print(f"{len(out)} cuadernos con soluciones en {paths[0]}")
        return 0
    paths = paths or [str(p) for p in sorted(SOURCE_DIR.glob("*.ipynb"))]
    if cmd == "refresh":
        refresh(paths)
        return 0
    if cmd == "build":
        out = build(paths)
        print(f"{len(out)} cuadernos del alumno escritos en {STUDENT_DIR}")
        return 0
    if cmd == "outputs":  # executed copies (build/<set>/notebooks/*.ipynb): stderr or warnings in a cell
        found = [f"{p}: {msg}" for p in paths for msg in problem_outputs(read(p))]
        print("\n".join(found) if found else f"{len(paths)} cuadernos sin stderr ni avisos.")
        return 1 if found else 0
    if cmd == "strip":
        for p in paths:
            Path(p).write_text(dumps(strip(read(p))))
        return 0
    found = [msg for p in paths for msg in problems(p)]
    print("\n".join(found) if found else f"{len(paths)} cuadernos en orden.")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())

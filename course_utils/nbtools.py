"""Notebook maintenance: strip stray outputs, check the house rules.

``python -m course_utils.nbtools check notebooks/*.ipynb`` fails when a stored
notebook carries outputs or execution counts that nbval does not use, lacks a
``parameters`` cell, or hard-codes ``/content/`` paths.
``python -m course_utils.nbtools strip notebooks/*.ipynb`` removes them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

CHECK_MARK = "NBVAL_CHECK_OUTPUT"


def is_checked(cell: dict) -> bool:
    """True for a code cell whose output nbval compares (``# NBVAL_CHECK_OUTPUT``)."""
    src = "".join(cell.get("source", ""))
    tags = cell.get("metadata", {}).get("tags", [])
    return CHECK_MARK in src or "nbval-check-output" in tags


#: Execution count stored on checked cells that keep a reference output.  nbval
#: refuses a cell with outputs and no execution count ("Unrun reference cell has
#: outputs"); a constant keeps re-runs from producing spurious diffs.
CHECKED_EXECUTION_COUNT = 1


def strip(nb: dict, keep_checked: bool = True) -> dict:
    """Remove outputs (except checked cells'), execution counts and run metadata.

    A checked cell that keeps its outputs gets ``CHECKED_EXECUTION_COUNT``
    (nbval only compares, and only accepts outputs of, cells that have a count).
    """
    for cell in nb["cells"]:
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
    for key in ("papermill", "widgets"):
        nb.get("metadata", {}).pop(key, None)
    return nb


def problems(path: str | Path) -> list[str]:
    """House-rule problems of one stored notebook (empty when clean)."""
    path = Path(path)
    try:
        nb = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        return [f"{path}: no es JSON válido ({exc})"]
    out = []
    code = [c for c in nb["cells"] if c.get("cell_type") == "code"]
    if not any("parameters" in c.get("metadata", {}).get("tags", []) for c in code):
        out.append(f"{path.name}: ninguna celda tiene la etiqueta 'parameters'")
    for i, c in enumerate(nb["cells"]):
        src = "".join(c.get("source", ""))
        if "/content/" in src:
            out.append(f"{path.name}: celda {i} usa una ruta /content/ fija")
        if c.get("cell_type") != "code":
            continue
        reference = is_checked(c) and bool(c.get("outputs"))
        if c.get("execution_count") is not None and not reference:
            out.append(f"{path.name}: celda {i} guarda execution_count")
        if reference and c.get("execution_count") is None:
            out.append(f"{path.name}: celda {i} tiene salida de referencia sin execution_count "
                       "(nbval la rechaza: «Unrun reference cell has outputs»)")
        if c.get("outputs") and not is_checked(c):
            out.append(f"{path.name}: celda {i} guarda salidas que nbval no revisa")
        if is_checked(c) and not c.get("outputs"):
            out.append(f"{path.name}: celda {i} está marcada {CHECK_MARK} pero no tiene salida de referencia")
    return out


def refresh(paths: list[str | Path], artifacts_dir: str | Path | None = None, timeout: int = 1800) -> None:
    """Re-execute stored notebooks in order with the smoke set; keep only checked outputs.

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
            NotebookClient(nb, timeout=timeout, kernel_name="python3",
                           resources={"metadata": {"path": str(p.parent)}}).execute()
            nbformat.write(nbformat.from_dict(strip(nb)), p)
            print(f"{p.name}: salidas de referencia actualizadas")
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("check", "strip", "refresh"):
        print("uso: python -m course_utils.nbtools {check|strip|refresh} NOTEBOOK...")
        return 2
    cmd, paths = argv[0], argv[1:]
    if cmd == "refresh":
        refresh(paths)
        return 0
    if cmd == "strip":
        for p in paths:
            nb = json.loads(Path(p).read_text())
            Path(p).write_text(json.dumps(strip(nb), indent=1, ensure_ascii=False) + "\n")
        return 0
    found = [msg for p in paths for msg in problems(p)]
    print("\n".join(found) if found else f"{len(paths)} cuadernos sin salidas sueltas.")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())

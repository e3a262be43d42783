"""Print the import graph of course_utils and course_tools, their import cycles and their modules' sizes.

    python scripts/import_graph.py

Reads the source with ``ast`` (nothing is imported), subpackages included; an import inside a
function counts as an arrow too.  Ends with course_utils' counts: modules (``__init__.py`` files
included), lines, internal arrows and floors (the longest chain of imports, a module that imports
nothing of the package being floor 1).  Exit code 1 when a cycle exists, or when course_utils
imports course_tools, benchmarks or grading.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("course_utils", "course_tools")
#: What course_utils (the package the notebooks import) must never import: the maintainer's tools.
ABOVE = ("course_tools", "benchmarks", "grading")


def module_name(path: Path) -> str:
    """``course_utils/data/loaders.py`` -> ``course_utils.data.loaders`` (a package's ``__init__.py``: the package)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_imports(path: Path) -> set[str]:
    """The modules of PACKAGES (and of ABOVE) that ``path`` imports (at any depth)."""
    name = module_name(path)
    here = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if not mod.startswith(PACKAGES + ABOVE):
                continue
            for alias in node.names:  # from . import a, b: modules; from .x import f: the module x
                sub = f"{mod}.{alias.name}"
                found.add(sub if _exists(sub) else mod)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith(PACKAGES + ABOVE)}
    return {m for m in found if _exists(m) or m.startswith(ABOVE)}


def _exists(module: str) -> bool:
    base = ROOT / module.replace(".", "/")
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def graph() -> dict[str, set[str]]:
    g = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            node = module_name(path)
            g[node] = module_imports(path) - {node}
    return g


def source(node: str) -> Path:
    base = ROOT / node.replace(".", "/")
    return base / "__init__.py" if (base / "__init__.py").exists() else base.with_suffix(".py")


def floors(g: dict[str, set[str]], package: str) -> dict[str, int]:
    """Each module of ``package``'s floor: 1 + the highest floor it imports from ``package`` (1 if none)."""
    out: dict[str, int] = {}

    def floor(node: str) -> int:
        if node not in out:
            out[node] = 0  # a cycle is reported apart
            deps = [d for d in g[node] if d.startswith(package + ".") or d == package]
            out[node] = 1 + max((floor(d) for d in deps), default=0)
        return out[node]

    for node in g:
        if node == package or node.startswith(package + "."):
            floor(node)
    return out


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    found, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(g.get(node, ())):
            if state.get(nxt) == 1:
                found.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for node in sorted(g):
        if node not in state:
            visit(node, [node])
    return found


def main() -> int:
    g = graph()
    for node, deps in g.items():
        lines = len(source(node).read_text(encoding="utf-8").splitlines())
        print(f"{node} ({lines} líneas) -> {', '.join(sorted(deps)) or '-'}")
    back = [
        f"{a} -> {b}" for a, deps in g.items() for b in deps if a.startswith("course_utils") and b.startswith(ABOVE)
    ]
    found = cycles(g)
    print("\nCiclos:", "; ".join(" -> ".join(c) for c in found) or "ninguno")
    print("course_utils -> course_tools, benchmarks, grading:", "; ".join(back) or "ninguna")
    ours = [n for n in g if n == "course_utils" or n.startswith("course_utils.")]
    lines = sum(len(source(n).read_text(encoding="utf-8").splitlines()) for n in ours)
    arrows = sum(1 for n in ours for d in g[n] if d.startswith("course_utils"))
    print(
        f"course_utils: {len(ours)} módulos (con los __init__.py), {lines} líneas, {arrows} flechas internas, "
        f"{max(floors(g, 'course_utils').values())} pisos"
    )
    return 1 if found or back else 0


if __name__ == "__main__":
    sys.exit(main())

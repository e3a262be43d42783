"""Print the import graph of course_utils and course_tools, their import cycles and their modules' sizes.

    python scripts/import_graph.py

Reads the source with ``ast`` (nothing is imported); exit code 1 when a cycle exists.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("course_utils", "course_tools")


def module_imports(path: Path, package: str) -> set[str]:
    """The package-qualified modules of PACKAGES that ``path`` imports (at any depth)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package if node.level == 1 else (node.module or "").split(".")[0]
            mod = node.module if node.level == 0 else f"{package}.{node.module}" if node.module else package
            if base not in PACKAGES and not (mod or "").startswith(PACKAGES):
                continue
            if mod in PACKAGES:  # from . import a, b
                found |= {f"{mod}.{a.name}" for a in node.names}
            else:
                found.add(mod)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith(PACKAGES)}
    return {m for m in found if (ROOT / (m.replace(".", "/") + ".py")).exists()}


def graph() -> dict[str, set[str]]:
    g = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).glob("*.py")):
            if path.name != "__init__.py":
                g[f"{package}.{path.stem}"] = module_imports(path, package) - {f"{package}.{path.stem}"}
    return g


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
        lines = len((ROOT / (node.replace(".", "/") + ".py")).read_text(encoding="utf-8").splitlines())
        print(f"{node} ({lines} líneas) -> {', '.join(sorted(deps)) or '-'}")
    back = [
        f"{a} -> {b}"
        for a, deps in g.items()
        for b in deps
        if a.startswith("course_utils") and b.startswith("course_tools")
    ]
    found = cycles(g)
    print("\nCiclos:", "; ".join(" -> ".join(c) for c in found) or "ninguno")
    print("course_utils -> course_tools:", "; ".join(back) or "ninguna")
    return 1 if found or back else 0


if __name__ == "__main__":
    sys.exit(main())

"""The package's layout: what the notebooks import is ``__all__``, one route to each module, no cycle, no
arrow against the grain, no two files with one name, and tests that use only the package's public names."""

from __future__ import annotations

import ast
import importlib.util
import json
from pathlib import Path

import course_utils
from course_utils.config import PROJECT_ROOT

PACKAGES = ("course_utils", "course_tools", "benchmarks")


def _notebook_imports() -> set[str]:
    """The names ``source/*.ipynb`` import from ``course_utils``: ``from course_utils import a`` gives ``a``,
    ``from course_utils.b.c import d`` gives ``b``."""
    found = set()
    for path in sorted((PROJECT_ROOT / "source").glob("*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] != "code":
                continue
            for node in ast.walk(ast.parse("".join(cell["source"]))):
                if isinstance(node, ast.ImportFrom) and node.module == "course_utils":
                    found |= {alias.name for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("course_utils."):
                    found.add(node.module.split(".")[1])
    return found


def test_all_lists_exactly_what_the_notebooks_import():
    assert sorted(course_utils.__all__) == sorted(_notebook_imports())


def test_subpackages_hold_a_docstring_only():
    for init in (PROJECT_ROOT / "course_utils").glob("*/__init__.py"):
        body = ast.parse(init.read_text(encoding="utf-8")).body
        assert len(body) == 1 and isinstance(body[0], ast.Expr), f"{init}: solo un docstring, sin importaciones"


def _load_import_graph():
    spec = importlib.util.spec_from_file_location("import_graph", PROJECT_ROOT / "scripts" / "import_graph.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_cycle_and_course_utils_never_imports_the_maintainers_tools():
    graph_tool = _load_import_graph()
    graph = graph_tool.graph()
    assert graph_tool.cycles(graph) == []
    above = [
        (a, b)
        for a, deps in graph.items()
        for b in deps
        if a.startswith("course_utils") and b.startswith(graph_tool.ABOVE)
    ]
    assert above == []


def test_no_two_files_share_a_name_across_the_packages():
    seen: dict[str, list[str]] = {}
    for package in PACKAGES:
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            if path.name not in ("__init__.py", "__main__.py"):
                seen.setdefault(path.name, []).append(str(path.relative_to(PROJECT_ROOT)))
    assert {name: where for name, where in seen.items() if len(where) > 1} == {}


def _private_uses(path: Path) -> list[str]:
    """``_name``s of course_utils that a test file imports or reads as an attribute of a course_utils module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules, out = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("course_utils"):
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    out.append(f"from {node.module} import {alias.name}")
                modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            modules |= {a.asname or a.name for a in node.names if a.name.startswith("course_utils")}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
        ):
            out.append(f"{node.value.id}.{node.attr}")
    return out


def test_tests_use_only_public_names_of_the_package():
    found = {
        str(p.relative_to(PROJECT_ROOT)): uses
        for p in (PROJECT_ROOT / "tests").rglob("*.py")
        if (uses := _private_uses(p))
    }
    assert found == {}, "las pruebas usan nombres privados (_x) de course_utils: prueba la función pública"


def test_every_notebook_links_to_its_page_on_the_course_site():
    """'Así debería verse': the first cell links to the notebook's page of the cpu run on the site."""
    from course_utils.config import SITE_URL
    from course_utils.params.schema import NOTEBOOKS

    for nb in NOTEBOOKS:
        for folder in ("source", "notebooks"):
            first = json.loads((PROJECT_ROOT / folder / nb.filename).read_text())["cells"][0]
            text = "".join(first["source"])
            assert f"({SITE_URL}notebooks/{nb.name}.html)" in text, f"{folder}/{nb.filename}: falta el enlace al sitio"

"""The course site (course_tools.course_site): README pages, staging of a run, and the built HTML's links."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag

import nbformat
import pytest

from course_tools import course_site
from course_utils.config import BRANCH, REPO_URL, binder_url, colab_url
from course_utils.params.schema import NOTEBOOKS

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "build" / "site" / "html"


def test_slug_is_the_heading_anchor():
    assert course_site.slug("Versiones soportadas y matriz de compatibilidad") == (
        "versiones-soportadas-y-matriz-de-compatibilidad"
    )
    assert course_site.slug("Datos: ¿de dónde salen?") == "datos-de-dónde-salen"


def test_site_markdown_keeps_notebook_links_sends_files_to_github_and_anchors_to_the_other_page():
    text = (
        "# Uno\n\n## Datos\n\n"
        "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://x/nb.ipynb) "
        "[![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/a/b/main) "
        "[01](notebooks/01_exploracion_datos.ipynb) [guía](CONTRIBUTING.md) [ci](ci/stacks/) "
        "[aquí](#datos) [allá](#resultados) [nadie](#ninguna) [web](https://example.org/a.md)\n"
    )
    out = course_site.site_markdown(text, prefix="", other_page="instructores", other_anchors={"resultados"})
    assert "[![Open In Colab](_static/colab-badge.svg)](https://x/nb.ipynb)" in out
    assert "[![Binder](_static/binder-badge.svg)](https://mybinder.org/v2/gh/a/b/main)" in out
    assert "[01](notebooks/01_exploracion_datos.ipynb)" in out
    assert f"[guía]({REPO_URL}/blob/{BRANCH}/CONTRIBUTING.md)" in out
    assert f"[ci]({REPO_URL}/tree/{BRANCH}/ci/stacks/)" in out
    assert "[aquí](#datos)" in out and "[allá](instructores.md#resultados)" in out and "[nadie](#ninguna)" in out
    assert "[web](https://example.org/a.md)" in out


def test_readme_pages_split_at_the_instructors_section():
    home, instructors = course_site.readme_pages((ROOT / "README.md").read_text())
    assert home.startswith("# ") and "## Cuadernos" in home and "## Para instructores" not in home
    assert instructors.startswith("# Material para instructores") and "English summary" not in instructors
    assert "compatibilidad" in instructors  # the generated tables come along
    assert "](instructores.md#resultados)" in home  # the home page's link to the results, now on the other page
    with pytest.raises(ValueError, match="Para instructores"):
        course_site.readme_pages("# Sin secciones\n")


def _fake_run(tmp_path: Path, failed: str | None = None, skip: str | None = None) -> Path:
    run = tmp_path / "smoke"
    (run / "notebooks").mkdir(parents=True)
    rows = []
    for nb in NOTEBOOKS:
        rows.append({"notebook": nb.name, "status": "failed" if nb.name == failed else "ok"})
        if nb.name == skip:
            continue
        book = nbformat.v4.new_notebook()
        injected = nbformat.v4.new_code_cell("PARAM_SET = 'smoke'\nARTIFACTS_DIR = '/runner/path'")
        injected.metadata["tags"] = ["injected-parameters"]
        book.cells = [nbformat.v4.new_markdown_cell(f"# {nb.title}"), injected, nbformat.v4.new_code_cell("1 + 1")]
        nbformat.write(book, run / "notebooks" / f"{nb.name}.ipynb")
    (run / "summary.json").write_text(json.dumps({"param_set": "smoke", "rows": rows}))
    (run / "summary.md").write_text("# Resumen\n\n| cuaderno | estado |\n|---|---|\n| 01 | ok |\n")
    return run


def test_stage_writes_home_notebooks_and_instructors_without_injected_parameters(tmp_path):
    run = _fake_run(tmp_path)
    src = tmp_path / "src"
    names = course_site.stage(run, src)
    assert names == [nb.name for nb in NOTEBOOKS]
    index = (src / "index.md").read_text()
    assert index.startswith("# ") and "```{toctree}" in index and "notebooks/08_mapas_caracteristicas" in index
    assert "`smoke`" in index and "_static/binder-badge.svg" in index
    first = json.loads((src / "notebooks" / f"{names[0]}.ipynb").read_text())
    assert len(first["cells"]) == 2 and "/runner/path" not in json.dumps(first)
    instructors = (src / "instructores.md").read_text()
    assert "La corrida que muestra este sitio (`smoke`)" in instructors and "| 01 | ok |" in instructors
    assert (src / "_static" / "colab-badge.svg").is_file()


@pytest.mark.parametrize("kind", ["failed", "missing", "no-run"])
def test_stage_refuses_an_incomplete_run_in_spanish(tmp_path, kind):
    if kind == "no-run":
        run, match = tmp_path / "cpu", r"make notebooks PARAMS=cpu"
    elif kind == "failed":
        run, match = _fake_run(tmp_path, failed="04_aumento_datos"), r"fallaron: 04_aumento_datos"
    else:
        run, match = _fake_run(tmp_path, skip="02_mlp"), r"faltan: 02_mlp"
    with pytest.raises(SystemExit, match=match):
        course_site.stage(run, tmp_path / "src")
    assert not (tmp_path / "src" / "index.md").exists()


def test_launch_urls_are_colab_and_binder_of_the_student_notebook():
    assert course_site.launch_urls("03_cnn.ipynb") == {
        "colab": colab_url("03_cnn.ipynb"),
        "binder": binder_url("03_cnn.ipynb"),
    }


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()
        self.images: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"])
        if tag == "img" and a.get("src"):
            self.images.append(a["src"])


def _parse(path: Path) -> _Links:
    p = _Links()
    p.feed(path.read_text())
    return p


@pytest.mark.local_files
@pytest.mark.skipif(not (SITE / "index.html").is_file(), reason="sitio no construido (make site PARAMS=smoke)")
def test_built_site_internal_links_images_and_launch_buttons():
    pages = [SITE / "index.html", SITE / "instructores.html"] + [
        SITE / "notebooks" / f"{nb.name}.html" for nb in NOTEBOOKS
    ]
    parsed = {p.resolve(): _parse(p) for p in pages}
    broken = []
    for page, links in parsed.items():
        for href in links.hrefs + links.images:
            if re.match(r"^[a-z]+:", href) or href.startswith("//"):
                continue
            target, anchor = urldefrag(href)
            anchor = "" if anchor == "!" else anchor  # ipyplot's lightbox "close" links
            path = (page.parent / unquote(target)).resolve() if target else page
            if not path.is_file():
                broken.append(f"{page.name}: {href}")
            elif anchor and path in parsed and unquote(anchor) not in parsed[path].ids:
                broken.append(f"{page.name}: #{anchor}")
    assert not broken, broken
    for nb in NOTEBOOKS:
        hrefs = parsed[(SITE / "notebooks" / f"{nb.name}.html").resolve()].hrefs
        for url in course_site.launch_urls(nb.filename).values():
            assert url in hrefs, (nb.name, url)

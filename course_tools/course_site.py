"""Build the course site from the executed notebooks of a series run.

``python -m course_tools.course_site --params cpu`` (``make site``) stages, under
``build/site/src``: a home page (the Spanish part of the README up to its
instructors' section), one page per executed notebook of ``build/<params>/notebooks``
(the copies ``python -m course_tools.series`` writes, with their outputs and figures)
and the instructors' page (the README's instructor and maintainer sections, with the
generated tables, plus the run's summary).  Sphinx + MyST-NB then render it with
sphinx-book-theme (``docs/conf.py``) into ``build/site/html``: each notebook page has
Colab and Binder buttons that open the student version in ``notebooks/``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from course_utils.config import BRANCH, PROJECT_ROOT, REPO_URL, binder_url, colab_url
from course_utils.params.schema import NOTEBOOKS

SITE_DIR = PROJECT_ROOT / "build" / "site"
CONF_DIR = PROJECT_ROOT / "docs"
README = PROJECT_ROOT / "README.md"
#: Where the README's Spanish part splits: the home page before, the instructors' page from here.
INSTRUCTORS_HEADING = "## Para instructores"
ENGLISH_HEADING = "## English summary"
INSTRUCTORS_PAGE = "instructores"
_BADGE = re.compile(r"\[!\[(?P<alt>[^\]]*)\]\((?P<img>[^)]*)\)\]\((?P<url>[^)]*)\)")
_LINK = re.compile(r"(?<!!)\[(?P<text>[^\[\]]*)\]\((?P<target>[^)\s]+)\)")
#: Local images that replace the external badges (the site loads nothing from other hosts).
LOCAL_BADGES = {"colab": "_static/colab-badge.svg", "binder": "_static/binder-badge.svg"}


def slug(heading: str) -> str:
    """The anchor MyST (and GitHub) give a heading: lower case, punctuation dropped, spaces as dashes."""
    text = re.sub(r"[^\w\s-]", "", heading.strip().lower())
    return re.sub(r"\s", "-", text)


def _anchors(markdown: str) -> set[str]:
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.*)$", markdown, re.M)}


def site_markdown(
    text: str, *, prefix: str, other_page: str | None = None, other_anchors: set[str] = frozenset()
) -> str:
    """The README text ``text`` made fit for a site page at ``prefix`` (``""`` or ``"../"``).

    Badges become local images; links to notebooks stay (they are site pages); links to
    other repository files go to GitHub; ``#anchor`` links to the other page get its name.
    """

    own = _anchors(text)

    def badge(m: re.Match) -> str:
        kind = "binder" if "binder" in m.group("img") else "colab"
        return f"[![{m.group('alt')}]({prefix}{LOCAL_BADGES[kind]})]({m.group('url')})"

    def link(m: re.Match) -> str:
        text, target = m.group("text"), m.group("target")
        if re.match(r"^[a-z]+:", target):
            return m.group(0)
        if target.startswith("#"):
            if other_page and target[1:] not in own and target[1:] in other_anchors:
                return f"[{text}]({other_page}.md{target})"
            return m.group(0)
        path = target.split("#")[0]
        if path.startswith("notebooks/") and path.endswith(".ipynb"):
            return f"[{text}]({prefix}{target})"
        kind = "tree" if path.endswith("/") or "." not in Path(path).name else "blob"
        return f"[{text}]({REPO_URL}/{kind}/{BRANCH}/{target})"

    text = _BADGE.sub(badge, text)
    return _LINK.sub(link, text)


def readme_pages(readme: str) -> tuple[str, str]:
    """The home page and the instructors' page from the README's Spanish part."""
    spanish = readme.split(ENGLISH_HEADING)[0]
    if INSTRUCTORS_HEADING not in spanish:
        raise ValueError(f"El README no tiene la sección {INSTRUCTORS_HEADING!r}: no sé dónde partirlo.")
    home, instructors = spanish.split(INSTRUCTORS_HEADING, 1)
    home = home.replace("*(English summary below.)*\n", "")
    instructors = "# Material para instructores\n\n## Uso en clase" + instructors
    home_md = site_markdown(home, prefix="", other_page=INSTRUCTORS_PAGE, other_anchors=_anchors(instructors))
    instructors_md = site_markdown(instructors, prefix="", other_page="index", other_anchors=_anchors(home))
    return home_md, instructors_md


def _strip_injected(nb_path: Path, dest: Path) -> None:
    """Copy an executed notebook without papermill's injected-parameters cell (it holds runner paths)."""
    nb = json.loads(nb_path.read_text())
    nb["cells"] = [c for c in nb["cells"] if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    dest.write_text(json.dumps(nb, ensure_ascii=False, indent=1))


def stage(run_dir: Path, src: Path, readme: Path = README) -> list[str]:
    """Write the site's sources to ``src`` from the series run in ``run_dir``; return the notebook names.

    Raises ``SystemExit`` with a Spanish message when the run is missing, incomplete or failed.
    """
    summary = run_dir / "summary.json"
    if not summary.is_file():
        raise SystemExit(
            f"No hay una serie ejecutada en {run_dir} (falta summary.json): "
            f"ejecútala antes con `make notebooks PARAMS={run_dir.name}`."
        )
    rows = json.loads(summary.read_text())["rows"]
    bad = [r["notebook"] for r in rows if r.get("status") != "ok"]
    missing = [nb.name for nb in NOTEBOOKS if not (run_dir / "notebooks" / f"{nb.name}.ipynb").is_file()]
    if bad or missing:
        raise SystemExit(
            f"La serie de {run_dir} no está completa (fallaron: {', '.join(bad) or 'ninguno'}; "
            f"faltan: {', '.join(missing) or 'ninguno'}): corrígela y vuelve a ejecutarla antes de publicar el sitio."
        )
    shutil.rmtree(src, ignore_errors=True)
    (src / "notebooks").mkdir(parents=True)
    shutil.copytree(CONF_DIR / "_static", src / "_static")
    names = [nb.name for nb in NOTEBOOKS]
    for name in names:
        _strip_injected(run_dir / "notebooks" / f"{name}.ipynb", src / "notebooks" / f"{name}.ipynb")
    home, instructors = readme_pages(readme.read_text())
    param_set = run_dir.name
    launch = (
        f"[![Abrir en Binder]({LOCAL_BADGES['binder']})]({binder_url()}) "
        f"Las páginas muestran los cuadernos ejecutados con el conjunto `{param_set}`; "
        "los botones de arriba de cada página (Colab, Binder) abren la versión del alumno, sin salidas."
    )
    title_end = home.index("\n") + 1
    toc = "\n".join(["```{toctree}", ":maxdepth: 1", ":caption: Cuadernos", ""] + [f"notebooks/{n}" for n in names])
    toc += "\n```\n\n```{toctree}\n:maxdepth: 1\n:caption: Instructores\n\n" + INSTRUCTORS_PAGE + "\n```\n"
    (src / "index.md").write_text(home[:title_end] + "\n" + launch + "\n" + home[title_end:] + "\n" + toc)
    run_summary = (run_dir / "summary.md").read_text() if (run_dir / "summary.md").is_file() else ""
    run_summary = re.sub(r"^#+ .*\n", "", run_summary, count=1)
    (src / f"{INSTRUCTORS_PAGE}.md").write_text(
        instructors + f"\n## La corrida que muestra este sitio (`{param_set}`)\n\n" + run_summary
    )
    return names


def build(run_dir: Path, out: Path = SITE_DIR) -> Path:
    """Stage and render the site; return the folder of its HTML (``out/html``)."""
    src, html = out / "src", out / "html"
    stage(run_dir, src)
    shutil.rmtree(html, ignore_errors=True)
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", "--keep-going", "-c", str(CONF_DIR)]
    subprocess.run([*cmd, str(src), str(html)], check=True)
    return html


def launch_urls(notebook: str) -> dict[str, str]:
    """The Colab and Binder addresses a notebook page's buttons must have."""
    return {"colab": colab_url(notebook), "binder": binder_url(notebook)}


def main(argv: list[str] | None = None) -> int:
    """Build the site from ``build/<params>``."""
    ap = argparse.ArgumentParser(prog="python -m course_tools.course_site", description=__doc__.splitlines()[0])
    ap.add_argument("--params", default="cpu", help="conjunto de la serie ya ejecutada (build/<conjunto>)")
    ap.add_argument("--run", type=Path, help="carpeta de la serie (por defecto build/<conjunto>)")
    ap.add_argument("--out", type=Path, default=SITE_DIR)
    args = ap.parse_args(argv)
    html = build(args.run or PROJECT_ROOT / "build" / args.params, args.out)
    print(f"Sitio en {html / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Open the built course site in a real browser and check it (``make check-site``).

    python scripts/check_site.py [--site build/site/html] [--chromium PATH]

Serves ``build/site/html`` on a local port and, with Playwright's Python API driving the
system's Chromium (no browser download: ``--chromium`` names the executable, by default
``chromium`` or ``chromium-browser`` on ``PATH``), checks that:

- every page renders (HTTP 200, a title, text in the article);
- every image from the site itself is loaded (``naturalWidth > 0``), and each notebook
  page that has figures in its outputs shows them;
- every internal link leads to a page that exists, and its ``#anchor`` to an element there;
- each notebook page's launch buttons open the student version of that notebook in Colab
  and in Binder (the addresses of ``course_tools.course_site.launch_urls``).

Screenshots go to ``build/site/screenshots/``. Exit code 1, with the problems listed, when
something fails. Needs ``pip install playwright`` (the package only) and a Chromium.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import shutil
import sys
import threading
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course_tools.course_site import launch_urls  # noqa: E402
from course_utils.params.schema import NOTEBOOKS  # noqa: E402


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # noqa: D102 - keep the output to the findings
        pass


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve ``folder`` on a free local port; return the server and its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


PAGE_FACTS = """() => ({
  title: document.title,
  text: (document.querySelector('article') || document.body).innerText.length,
  ids: Array.from(document.querySelectorAll('[id]')).map(e => e.id),
  links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
  images: Array.from(document.images).map(i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0,
                                                  w: i.naturalWidth, output: !!i.closest('.cell_output')})),
  launch: Array.from(document.querySelectorAll('a[href*="colab.research.google.com"], a[href*="mybinder.org"]'))
               .map(a => a.href),
})"""


def check(site: Path, chromium: str, shots: Path) -> list[str]:
    """Visit every page of ``site``; return the problems found (empty when all is right)."""
    from playwright.sync_api import sync_playwright

    pages = ["index.html", "instructores.html"] + [f"notebooks/{nb.name}.html" for nb in NOTEBOOKS]
    problems: list[str] = []
    server, base = serve(site)
    shots.mkdir(parents=True, exist_ok=True)
    facts: dict[str, dict] = {}
    external: set[str] = set()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("pageerror", lambda exc: problems.append(f"{page.url[len(base) :]}: error de JavaScript: {exc}"))
            # Scripts from CDNs (MathJax, require.js and the widgets' manager, added by MyST-NB where a page
            # needs them) are not part of the site: without internet they fail, which is reported, not failed.
            page.on(
                "requestfailed",
                lambda req: (
                    external.add(req.url)
                    if not req.url.startswith(base)
                    else problems.append(f"{page.url[len(base) :]}: no se pudo cargar {req.url}")
                ),
            )
            for rel in pages:
                url = urljoin(base, rel)
                response = page.goto(url, wait_until="load")
                if response is None or response.status != 200:
                    problems.append(f"{rel}: no carga (HTTP {response.status if response else '—'})")
                    continue
                page.wait_for_load_state("networkidle")
                f = page.evaluate(PAGE_FACTS)
                facts[url] = f
                if not f["title"] or f["text"] < 200:
                    problems.append(f"{rel}: página vacía (título {f['title']!r}, {f['text']} caracteres)")
                # The site's own files and images embedded in the outputs (data: URIs, as ipyplot writes them).
                local = [i for i in f["images"] if i["src"].startswith((base, "data:"))]
                problems += [f"{rel}: imagen sin cargar {i['src'][:120]}" for i in local if not i["ok"]]
                problems += [f"{rel}: imagen de otro sitio {i['src']}" for i in f["images"] if i not in local]
                figures = [i for i in local if i["output"]]
                name = Path(rel).stem
                print(
                    f"{rel}: «{f['title']}», {f['text']} caracteres, {len(local)} imágenes locales "
                    f"({len(figures)} figuras de salidas), {len(f['links'])} enlaces"
                )
                if rel.startswith("notebooks/"):
                    nb_json = site.parent / "src" / "notebooks" / f"{name}.ipynb"
                    if nb_json.is_file() and '"image/png"' in nb_json.read_text() and not figures:
                        problems.append(
                            f"{rel}: el cuaderno tiene figuras en sus salidas y la página no muestra ninguna"
                        )
                    want = launch_urls(f"{name}.ipynb")
                    for kind, expected in want.items():
                        if expected not in f["launch"]:
                            problems.append(f"{rel}: falta el botón {kind} {expected} (hay: {f['launch']})")
                page.screenshot(path=str(shots / f"{name}.png"))
                if figures:
                    first = page.locator(".cell_output img").first
                    first.scroll_into_view_if_needed()
                    page.screenshot(path=str(shots / f"{name}-figura.png"))
            if facts:  # the launch menu opened on the first notebook page, as a reader would
                first_nb = urljoin(base, pages[2])
                page.goto(first_nb, wait_until="load")
                menu = page.locator(".dropdown-launch-buttons button").first
                if menu.count():
                    menu.click()
                    page.wait_for_timeout(300)
                    page.screenshot(path=str(shots / "launch-menu.png"))
            browser.close()
    finally:
        server.shutdown()
    for url in sorted(external):
        print(f"aviso: recurso externo sin cargar (¿sin internet?): {url}")
    for url, f in facts.items():
        for link in f["links"]:
            if not link.startswith(base):
                continue
            target, anchor = urldefrag(link)
            anchor = anchor if anchor != "!" else ""  # ipyplot's lightbox "close" links: a no-op on purpose
            path = urlparse(target).path.lstrip("/") or "index.html"
            if path.endswith("/"):
                path += "index.html"
            if not (site / path).is_file():
                problems.append(f"{url[len(base) :]}: enlace roto a {link[len(base) :]}")
            elif anchor and target in facts and anchor not in facts[target]["ids"]:
                problems.append(f"{url[len(base) :]}: el ancla #{anchor} no existe en {path}")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Check the built site; exit code 1 when something is wrong."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--site", type=Path, default=ROOT / "build" / "site" / "html")
    ap.add_argument(
        "--chromium",
        default=shutil.which("chromium") or shutil.which("chromium-browser"),
        help="ejecutable de Chromium (apt-get install chromium); por defecto, el del PATH",
    )
    ap.add_argument("--shots", type=Path, default=ROOT / "build" / "site" / "screenshots")
    args = ap.parse_args(argv)
    if not (args.site / "index.html").is_file():
        print(f"No hay sitio en {args.site}: constrúyelo antes con `make site PARAMS=...`.", file=sys.stderr)
        return 2
    if not args.chromium or not Path(args.chromium).is_file():
        print(
            f"No encuentro Chromium ({args.chromium or 'no está en el PATH'}): instálalo "
            "(`apt-get install chromium`) o indica el ejecutable con --chromium RUTA.",
            file=sys.stderr,
        )
        return 2
    problems = check(args.site, args.chromium, args.shots)
    for p in problems:
        print("PROBLEMA:", p)
    print(f"{len(problems)} problemas; capturas en {args.shots}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

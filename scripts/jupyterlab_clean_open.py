"""Open notebooks in a real JupyterLab in headless Chromium and report which ones show as modified.

JupyterLab marks a notebook modified (● on its tab) when something rewrites its
metadata on open, e.g. a ``language_info`` that differs from what the kernel
reports.  This opens each notebook, waits for its kernel to connect, waits a
few seconds more, and reads the tab's ``jp-mod-dirty`` class; a screenshot of
each goes to ``--shots``.

Needs Playwright's Python package and a Chromium binary (Debian: ``apt-get
install chromium``; no browser download)::

    pip install playwright
    python scripts/jupyterlab_clean_open.py notebooks/*.ipynb --chromium /usr/bin/chromium

Exit code 1 when any notebook opens modified.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float = 60) -> None:
    end = time.time() + seconds
    while time.time() < end:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"JupyterLab no respondió en {url}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="+", type=Path)
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    ap.add_argument("--jupyter", default=str(Path(sys.executable).with_name("jupyter")))
    ap.add_argument("--shots", type=Path, default=Path("build/browser"))
    ap.add_argument("--settle", type=float, default=8.0, help="seconds to wait after the kernel is idle")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="lab-"))
    for nb in args.notebooks:
        shutil.copy(nb, work / nb.name)
    args.shots.mkdir(parents=True, exist_ok=True)
    port, token = free_port(), "prueba"
    lab = subprocess.Popen(
        [args.jupyter, "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={work}", "--LabApp.news_url=", "--ServerApp.disable_check_xsrf=True", "--allow-root"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    dirty = []
    try:
        wait_for(f"http://127.0.0.1:{port}/api/status?token={token}")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=args.chromium)
            for nb in args.notebooks:
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.goto(f"http://127.0.0.1:{port}/lab/tree/{nb.name}?token={token}&reset")
                page.wait_for_selector(".jp-Notebook", timeout=60_000)
                page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
                time.sleep(args.settle)
                modified = page.locator(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty").count() > 0
                shot = args.shots / f"{nb.stem}.png"
                page.screenshot(path=str(shot))
                print(f"{nb.name}: {'MODIFICADO al abrir' if modified else 'limpio'} ({shot})")
                if modified:
                    dirty.append(nb.name)
                page.close()
            browser.close()
    finally:
        lab.terminate()
        lab.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    return 1 if dirty else 0


if __name__ == "__main__":
    sys.exit(main())

"""Configuration: repository address, environment variables, default folders and the data's folder names.

This module is the only place where the course's repository address lives; the
README's Colab and Binder badges are generated from it (``course_tools.readme``) and the
notebooks' Colab install cell is checked against it (``tests/repository/test_packaging.py``).
The data's layout, ``<root>/<split>/<class>/*.jpg``, is named here once too: the loaders,
the synthetic set and the checks read :data:`SPLITS`, :data:`CLASSES` and :data:`IMAGE_EXTENSIONS`.
"""

from __future__ import annotations

import os
from pathlib import Path

#: GitHub ``owner/name`` of the course; badges and the Colab install cell use it.
REPO = "curso-cnn/cnn-perros-gatos"
#: Branch that Colab badges and the install cell point to.
BRANCH = "main"
REPO_URL = f"https://github.com/{REPO}"
#: The course site (GitHub Pages, ``.github/workflows/site.yml``): each notebook executed with the ``cpu``
#: set on the real data; every notebook links to its page ("así debería verse").
SITE_URL = f"https://{REPO.split('/')[0]}.github.io/{REPO.split('/')[1]}/"
#: What ``pip install`` receives in Colab (no extras: Colab keeps its TensorFlow).
PIP_SPEC = f"git+{REPO_URL}@{BRANCH}"

#: Where Colab mounts Google Drive (used only when ``ARTIFACTS_DIR = "drive"`` runs in Colab).
COLAB_DRIVE_MOUNT = Path("/content/drive")

#: Environment variables understood by the package.
ENV_CACHE_DIR = "COURSE_CACHE_DIR"  # where downloads and extracted data go
ENV_MIRROR = "COURSE_DATA_MIRROR"  # local folder(s) or URL(s) tried before Google Drive
ENV_ARTIFACTS_DIR = "COURSE_ARTIFACTS_DIR"  # where notebooks save models and results
ENV_PARAM_SET = "COURSE_PARAM_SET"  # default parameter set for notebooks
ENV_PRECISION = "COURSE_PRECISION"  # what PRECISION="auto" becomes (e.g. float32 to test as on a CPU without bf16)

#: Split folders, in the order the course uses them.
SPLITS: tuple[str, ...] = ("train", "validation", "test")
#: Class folders; the index is the label (0 = cats, 1 = dogs).
CLASSES: tuple[str, ...] = ("cats", "dogs")
#: File endings of the images the course reads (the loaders also check each file's content).
IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".gif")

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def portable(text: str | os.PathLike) -> str:
    """``text`` (a path or a command) with this repository's folder removed and the home folder as ``~``.

    Recorded results keep paths relative to the repository, so that no machine's
    folders reach the README, the notebooks or the students.
    """
    out = str(text)
    for folder, short in ((PROJECT_ROOT, ""), (Path.home(), "~/")):
        out = out.replace(f"{folder}{os.sep}", short)
    return out


def colab_url(notebook: str) -> str:
    """Return the "Open in Colab" address of ``notebooks/<notebook>``."""
    return f"https://colab.research.google.com/github/{REPO}/blob/{BRANCH}/notebooks/{notebook}"


def binder_url(notebook: str | None = None) -> str:
    """Return the Binder address of the repository, opening ``notebooks/<notebook>`` (or the folder) in JupyterLab."""
    target = f"notebooks/{notebook}" if notebook else "notebooks"
    return f"https://mybinder.org/v2/gh/{REPO}/{BRANCH}?urlpath=lab/tree/{target}"


def cache_dir(path: str | os.PathLike | None = None) -> Path:
    """Folder for downloads: ``path``, else ``$COURSE_CACHE_DIR``, else ``~/.cache/curso-cnn``."""
    chosen = path or os.environ.get(ENV_CACHE_DIR) or Path.home() / ".cache" / "curso-cnn"
    return Path(chosen).expanduser().resolve()


def artifacts_dir(path: str | os.PathLike | None = None) -> Path:
    """Folder for models and results: ``path``, else ``$COURSE_ARTIFACTS_DIR``, else ``./artifacts``.

    In the repository the default is ``<repo>/artifacts`` (git-ignored) so that
    notebooks run from ``notebooks/`` and from the repository root share it.
    """
    if path:
        chosen = Path(path)
    elif os.environ.get(ENV_ARTIFACTS_DIR):
        chosen = Path(os.environ[ENV_ARTIFACTS_DIR])
    elif (PROJECT_ROOT / "pyproject.toml").exists() and (PROJECT_ROOT / "notebooks").is_dir():
        chosen = PROJECT_ROOT / "artifacts"
    else:
        chosen = Path.cwd() / "artifacts"
    chosen = chosen.expanduser().resolve()
    chosen.mkdir(parents=True, exist_ok=True)
    return chosen

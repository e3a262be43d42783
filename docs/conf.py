"""Sphinx configuration of the course site (``make site``; see scripts/build_site.py).

Sphinx + MyST-NB + sphinx-book-theme: the executed notebooks are rendered with their stored
outputs (nothing is executed here) and every notebook page gets Colab and Binder launch
buttons that open the student version, ``notebooks/<name>.ipynb``, of the repository.
The pages are staged by ``scripts/build_site.py``; this file only configures the build.
"""

from __future__ import annotations

from course_utils import __version__
from course_utils.config import BRANCH, REPO_URL

project = "Clasificación de imágenes con CNN · perros vs. gatos"
author = "curso-cnn"
release = __version__
language = "es"
extensions = ["myst_nb"]
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
# The executed copies of the series carry their outputs: render them as they are.
nb_execution_mode = "off"
nb_merge_streams = True
# Headings get anchors, so the README's links to its own sections (#resultados) keep working.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence", "dollarmath"]
suppress_warnings = ["myst.header"]

html_theme = "sphinx_book_theme"
html_title = "Curso CNN · perros vs. gatos"
# The download button offers the page's source: for a notebook page, the executed notebook.
html_copy_source = True
html_sourcelink_suffix = ""
html_theme_options = {
    "repository_url": REPO_URL,
    "repository_branch": BRANCH,
    # Notebook pages are staged as notebooks/<name>: the buttons open the student version there.
    "path_to_docs": "",
    "use_repository_button": True,
    "launch_buttons": {
        "colab_url": "https://colab.research.google.com",
        "binderhub_url": "https://mybinder.org",
        "notebook_interface": "jupyterlab",
    },
    "show_toc_level": 2,
}

"""course_tools.report: Markdown and HTML tables, pages, figures taken from executed notebooks."""

from __future__ import annotations

import json

from course_tools import report


def test_fmt():
    assert report.fmt(0.81234) == "0.812" and report.fmt(0.5, digits=1) == "0.5"
    assert report.fmt(None) == "—" and report.fmt(True) == "True" and report.fmt(12) == "12"


def test_markdown_table_aligns_and_escapes():
    text = report.markdown_table(["a", "b"], [["x|y", 0.25], [None, 3]], numeric=[False, True])
    assert text.splitlines() == ["| a | b |", "|---|---:|", "| x\\|y | 0.250 |", "| — | 3 |"]


def test_html_table_and_page_escape():
    page = report.html_page([report.html_table(["<h>"], [["<b>"]])])
    assert "&lt;h&gt;" in page and "&lt;b&gt;" in page and "<b>" not in page
    assert page.startswith("<!doctype html>")


def test_png_figures_takes_the_last_ones(tmp_path):
    cells = [{"cell_type": "code", "outputs": [{"data": {"image/png": f"PNG{i}"}}]} for i in range(3)]
    cells.append({"cell_type": "code", "outputs": [{"data": {"text/plain": "x"}}]})
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": cells}))
    assert report.png_figures(path, limit=2) == ["PNG1", "PNG2"]
    assert report.png_figures(path, limit=0) == []
    assert report.png_figures(tmp_path / "falta.ipynb") == []
    assert report.img_tags(["AAA"]) == ['<img style="max-width:48%" src="data:image/png;base64,AAA"/>']


def test_export_html(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Hola")]
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    (written,) = report.export_html([path], tmp_path / "html")
    assert written.name == "n.html" and "Hola" in written.read_text()

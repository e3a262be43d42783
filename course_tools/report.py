"""Rendering results as Markdown, HTML and JSON: tables, pages, embedded figures, notebook export.

Pure formatting, shared by the series summary and the README generator (and
by the benchmark when it wants Markdown/HTML tables): no training, no exit codes.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def fmt(value: Any, digits: int = 3) -> str:
    """A table cell: floats with ``digits`` decimals, ``None`` as an em dash."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return "—" if value is None else str(value)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Sequence[bool] = ()) -> str:
    """A Markdown table; columns flagged in ``numeric`` are right-aligned."""
    align = ["---:" if i < len(numeric) and numeric[i] else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(fmt(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def html_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """An HTML table with escaped cells."""
    out = ["<table border=1 cellpadding=4>", "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>"]
    out += ["<tr>" + "".join(f"<td>{html.escape(fmt(c))}</td>" for c in row) + "</tr>" for row in rows]
    return "\n".join(out + ["</table>"])


def html_page(body: Sequence[str]) -> str:
    """A standalone UTF-8 HTML page from body fragments."""
    return "<!doctype html><meta charset=utf-8><body>" + "\n".join(body) + "</body>"


def png_figures(nb_path: str | Path, limit: int = 2) -> list[str]:
    """The last ``limit`` PNG outputs of an executed notebook, base64-encoded (empty if it is missing)."""
    nb_path = Path(nb_path)
    if not nb_path.is_file():
        return []
    nb = json.loads(nb_path.read_text())
    pngs = [
        o["data"]["image/png"]
        for c in nb["cells"]
        if c.get("cell_type") == "code"
        for o in c.get("outputs", [])
        if "image/png" in o.get("data", {})
    ]
    return [p if isinstance(p, str) else "".join(p) for p in pngs[-limit:]] if limit > 0 else []


def img_tags(figures: Sequence[str]) -> list[str]:
    """``<img>`` tags for base64 PNG figures, two per row."""
    return [f'<img style="max-width:48%" src="data:image/png;base64,{f}"/>' for f in figures]


def export_html(notebooks: Sequence[Path], out: Path) -> list[Path]:
    """Export executed notebooks to standalone HTML pages (for publishing)."""
    from nbconvert import HTMLExporter

    out.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter()
    written = []
    for nb in notebooks:
        body, _ = exporter.from_filename(str(nb))
        target = out / f"{Path(nb).stem}.html"
        target.write_text(body)
        written.append(target)
    return written


#: The series summary's columns (``summary.md``, the README's results table).
SUMMARY_HEADER = (
    "Cuaderno",
    "Estado",
    "Tiempo (s)",
    "Memoria pico (GB)",
    "Datos",
    "Métrica",
    "Valor",
    "Nivel de la lección",
    "Épocas",
)
SUMMARY_NUMERIC = (False, False, True, True, False, False, True, True, True)


def table_cells(row: dict[str, Any]) -> list[Any]:
    """The cells of one summary row, in :data:`SUMMARY_HEADER` order."""
    return [
        row["notebook"],
        row["status"],
        f"{row['seconds']:.0f}",
        row.get("peak_memory_gb"),
        row["data"],
        row["metric"],
        row["value"],
        row["lesson_level"],
        row["epochs"],
    ]

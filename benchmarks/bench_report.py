"""Benchmark rows, the Markdown table and the machine-readable ``bench.json``.

``bench.json`` is a JSON list of rows, each with at least ``name``, ``label``,
``unit``, ``original``, ``course``, ``ratio``, ``target`` and ``met`` (``null``
where a row has no target or the target does not apply); the settings, the
machine and its load go to ``bench.meta.json`` beside it.
"""

from __future__ import annotations

import json
import os
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Row:
    """One measurement for both sides ("original": the lesson's recipe or float32; "course": ours)."""

    name: str
    label: str
    unit: str
    original: float | None
    course: float
    #: The figure that counts: course/original throughput, original/course time, the accuracy
    #: difference (course - original, percentage points), or the value itself (kind "value").
    ratio: float | None
    ratio_kind: str = "x"  # "x", "pp" or "value"
    target: str = ""
    met: bool | None = None
    #: The ratio of each interleaved repeat (its spread shows how noisy the machine was).
    runs: list[float] = field(default_factory=list)
    #: Load average (1 min) seen during the repeats.
    loads: list[float] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def ratio_text(self) -> str:
        if self.ratio is None:
            return ""
        if self.ratio_kind == "pp":
            return f"{self.ratio:+.1f} pp"
        if self.ratio_kind == "value":
            return ""
        return f"{self.ratio:.2f}x" if self.ratio < 10 else f"{self.ratio:.1f}x"

    def spread_text(self) -> str:
        """``"0.9x-1.3x"`` over the repeats, and the load average range."""
        parts = []
        if len(self.runs) > 1:
            fmt = (lambda v: f"{v:.2f}x") if self.ratio_kind == "x" else (lambda v: f"{v:.1f}")
            parts.append(f"{fmt(min(self.runs))}–{fmt(max(self.runs))} ({len(self.runs)} runs)")
        if self.loads:
            lo, hi = min(self.loads), max(self.loads)
            parts.append(f"load {lo:.1f}" + (f"–{hi:.1f}" if hi - lo >= 0.05 else ""))
        return "; ".join(parts)

    def noisy(self) -> bool:
        """Repeats disagree by more than 25 % around their median: read the figure with care."""
        if len(self.runs) < 2 or self.ratio_kind != "x":
            return False
        mid = statistics.median(self.runs)
        return mid > 0 and (max(self.runs) - min(self.runs)) / mid > 0.25


@dataclass
class BenchResult:
    """Rows plus what is needed to read them (data, settings, machine, wall time)."""

    rows: list[Row]
    meta: dict[str, Any]


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "img/s":
        return f"{value:,.0f}"
    return f"{value:.2f}" if unit == "GB" else f"{value:.1f}"


def target_text(row: Row) -> str:
    if not row.target:
        return ""
    verdict = {True: "MET", False: "NOT MET", None: "not measured in this mode"}[row.met]
    return f"{row.target}: {verdict}"


def render_markdown(result: BenchResult, title: str = "Benchmark") -> str:
    """The table (Markdown), under the header lines of ``meta["header"]``."""
    m = result.meta
    lines = (
        [f"# {title}", ""]
        + [f"- {h}" for h in m.get("header", [])]
        + [
            f"- Machine: {m.get('cpu_count')} CPU cores, load average (1/5/15 min) "
            f"{m.get('load_average_start', 'n/a')} at start, {m.get('load_average_end', 'n/a')} at end; "
            f"TensorFlow {m.get('tensorflow')}, Keras {m.get('keras')}; {m.get('date')}. "
            f"Total wall time {m.get('wall_time_s', 0):.0f} s.",
            "- Spread: the ratio of each interleaved repeat and the load average during them; "
            "**noisy** marks repeats more than 25 % apart (a loaded machine, not a regression).",
            "",
            "| Measurement | Unit | Original | course_utils | Ratio | Spread | Target |",
            "|---|---|---:|---:|---:|---|---|",
        ]
    )
    for r in result.rows:
        spread = r.spread_text() + (" **noisy**" if r.noisy() else "")
        lines.append(
            f"| {r.label} | {r.unit} | {_fmt(r.original, r.unit)} | {_fmt(r.course, r.unit)} | "
            f"{r.ratio_text()} | {spread} | {target_text(r)} |"
        )
    return "\n".join(lines) + "\n"


def write_outputs(result: BenchResult, out: str | os.PathLike, title: str = "Benchmark") -> tuple[Path, Path]:
    """Write the Markdown table to ``out``, the rows to ``<out>.json`` and the meta to ``<out>.meta.json``."""
    md = Path(out)
    md.parent.mkdir(parents=True, exist_ok=True)
    md.write_text(render_markdown(result, title), encoding="utf-8")
    js = md.with_suffix(".json")
    js.write_text(
        json.dumps([asdict(r) for r in result.rows], indent=2, ensure_ascii=False, default=str), encoding="utf-8"
    )
    md.with_suffix(".meta.json").write_text(
        json.dumps(result.meta, indent=2, ensure_ascii=False, default=str), encoding="utf-8"
    )
    return md, js

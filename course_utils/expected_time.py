"""How long a notebook takes, from the series runs recorded with the course (``recorded/series_times.json``).

``python -m course_tools.series_times SUMMARY.json ...`` writes that file from the
summaries of ``make notebooks``; :func:`expected_minutes` reads it for
:func:`course_utils.start.start`'s table.  Times are per parameter set and
precision (float32 on CPUs without bf16 units, mixed_bfloat16 on those with them).
"""

from __future__ import annotations

from .artifacts import recorded

#: The recorded file (``course_utils/recorded/<name>.json``).
RECORDED = "series_times"


def expected_minutes(notebook: str, param_set: str, precision: str, times: dict | None = None) -> str | None:
    """``"≈ 7 min (float32, medido en 2 núcleos AVX-512, carga 3,1)"`` or None when nothing was recorded."""
    times = recorded(RECORDED) if times is None else times
    entry = ((times or {}).get(param_set) or {}).get(precision)
    if not entry or notebook not in entry.get("seconds", {}):
        return None
    minutes = entry["seconds"][notebook] / 60
    shown = f"{minutes:.0f}" if minutes >= 1.5 else f"{minutes:.1f}".replace(".", ",")
    return f"≈ {shown} min ({precision}, medido en {entry['where']})"

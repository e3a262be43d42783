"""How long a notebook takes, from the series runs recorded with the course (``recorded/series_times.json``).

``python -m course_tools.series_times SUMMARY.json ...`` writes that file from the
summaries of ``make notebooks``; :func:`expected_minutes` reads it for
:func:`course_utils.start.start`'s table.  Times are per parameter set and
precision (float32 on CPUs without bf16 units, mixed_bfloat16 on those with them).
The student sees the minutes and the kind of machine; the hardware details and the
load stay in the record and the README.
"""

from __future__ import annotations

from .artifacts import recorded

#: The recorded file (``course_utils/recorded/<name>.json``).
RECORDED = "series_times"
#: The machine of the recorded ``cpu`` series, in a student's words.
CPU_MACHINE = "una computadora de 2 núcleos sin GPU"


def _minutes(seconds: float) -> str:
    minutes = seconds / 60
    return f"{minutes:.0f}" if minutes >= 1.5 else f"{minutes:.1f}".replace(".", ",")


def expected_minutes(notebook: str, param_set: str, precision: str, times: dict | None = None) -> str | None:
    """``"≈ 7 min en una computadora de 2 núcleos sin GPU"``, or None when no run of this set was recorded.

    The record of ``precision`` is used when there is one, else the float32 record (a CPU
    without bf16 units: the slower case, so the student's run is not longer than said).
    """
    times = recorded(RECORDED) if times is None else times
    by_precision = (times or {}).get(param_set) or {}
    entry = by_precision.get(precision) or by_precision.get("float32")
    if not entry or notebook not in entry.get("seconds", {}):
        return None
    where = CPU_MACHINE if param_set == "cpu" else f"con el conjunto '{param_set}'"
    return f"≈ {_minutes(entry['seconds'][notebook])} min en {where}"

"""The machine a benchmark ran on: load average, peak memory, versions."""

from __future__ import annotations

import os
import platform
import resource
import sys
import time
from typing import Any

from course_utils.config import portable


def load_average() -> tuple[float, float, float] | None:
    """1, 5 and 15-minute load averages (``None`` where the system has none)."""
    try:
        return tuple(round(v, 2) for v in os.getloadavg())  # type: ignore[return-value]
    except (OSError, AttributeError):
        return None


def load_text(load: tuple[float, float, float] | None = None) -> str:
    """``"1.21 / 0.71 / 0.31"`` (or ``"n/a"``)."""
    load = load_average() if load is None else load
    return " / ".join(f"{v:.2f}" for v in load) if load else "n/a"


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far (bytes; ``ru_maxrss`` is KB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def describe() -> dict[str, Any]:
    """CPU count, Python/TensorFlow/Keras versions, platform, date, load and the command that ran."""
    import keras
    import tensorflow as tf

    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "platform": platform.platform(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "load_average": load_text(),
        "command": portable("python " + " ".join(sys.argv)),
    }


def cpu_flags_summary() -> str:
    """Which of the CPU flags that decide the course's speed this machine has (course_utils.hardware.cpu_summary)."""
    from course_utils.hardware import cpu_summary

    return cpu_summary()

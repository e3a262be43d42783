"""Peak memory of child processes (the notebook kernels that papermill starts).

:class:`PeakMemory` samples, in a background thread, the resident set size
(RSS) of every live child process of this process, summed, and keeps the
largest value seen.  The series runner wraps each notebook in one, so the
summary can show each notebook's peak memory.
"""

from __future__ import annotations

import threading
from types import TracebackType

import psutil


def children_rss(process: psutil.Process | None = None) -> int:
    """Summed resident set size, in bytes, of the live descendants of ``process``."""
    process = process or psutil.Process()
    total = 0
    for child in process.children(recursive=True):
        try:
            total += child.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return total


class PeakMemory:
    """Context manager: ``with PeakMemory() as m: ...`` then ``m.peak_bytes``.

    ``interval`` is the sampling period in seconds; a spike shorter than it can
    be missed, so the figure is a lower bound of the true peak.
    """

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        me = psutil.Process()
        while True:
            self.peak_bytes = max(self.peak_bytes, children_rss(me))
            if self._stop.wait(self.interval):
                break

    def __enter__(self) -> PeakMemory:
        self._thread = threading.Thread(target=self._sample, name="peak-memory", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    @property
    def peak_gb(self) -> float:
        """The peak in GB (10**9 bytes), as the summary shows it."""
        return self.peak_bytes / 1e9

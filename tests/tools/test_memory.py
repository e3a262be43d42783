"""Peak memory sampling of child processes."""

import subprocess
import sys
import time

from course_tools.memory import PeakMemory, children_rss

ALLOCATE = "import time; b = bytearray(300 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); time.sleep(1.5)"


def test_children_rss_counts_a_live_child_and_forgets_it_when_it_ends():
    before = children_rss()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3)"])
    try:
        time.sleep(0.5)
        assert children_rss() > before
    finally:
        child.kill()
        child.wait()
    assert children_rss() == before


def test_peak_memory_sees_a_child_that_allocates_300_mb():
    before = children_rss()
    with PeakMemory(interval=0.1) as mem:
        subprocess.run([sys.executable, "-c", ALLOCATE], check=True)
    assert mem.peak_bytes - before > 250 * 1024 * 1024
    assert mem.peak_gb == mem.peak_bytes / 1e9


def test_peak_memory_stops_sampling_on_exit():
    with PeakMemory(interval=0.05) as mem:
        pass
    thread = mem._thread
    time.sleep(0.1)
    assert thread is not None and not thread.is_alive()
